"""DuckDB helpers shared by the library modules (private)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

# process id -> that process's in-memory DuckDB database. Opening one costs about 13 ms,
# as much as the best-10-per-task query's unnesting and sorting together; a cursor on it
# costs microseconds. A forked child (the benchmark harness forks its workers) gets its
# own and never touches, or frees, the one it inherited.
_DATABASES: dict[int, Any] = {}


def connect(tables: Mapping[str, pa.Table] | None = None) -> Any:
    """A DuckDB connection with ``tables`` registered by name; close it after use.

    It is a cursor on this process's in-memory database: the registered tables are the
    cursor's own (another cursor does not see them) and closing it leaves the database
    open for the next query.
    """
    import duckdb

    database = _DATABASES.get(os.getpid())
    if database is None:  # two threads may both open one: the first stored is kept
        database = _DATABASES.setdefault(os.getpid(), duckdb.connect())
    connection = database.cursor()
    for name, table in (tables or {}).items():
        connection.register(name, table)
    return connection


def query_arrow(connection: Any, query: str, params: Mapping[str, Any] | None = None) -> pa.Table:
    """Run ``query`` and return an Arrow table (DuckDB 1.x and 2.x APIs)."""
    relation = connection.sql(query, params=dict(params)) if params else connection.sql(query)
    if relation is None:
        return pa.table({})
    if hasattr(relation, "to_arrow_table"):
        return relation.to_arrow_table()
    return relation.arrow()  # DuckDB < 1.4
