"""DuckDB helpers shared by the library modules (private)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa


def connect(tables: Mapping[str, pa.Table] | None = None) -> Any:
    """A fresh in-memory DuckDB connection with ``tables`` registered by name."""
    import duckdb

    connection = duckdb.connect()
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
