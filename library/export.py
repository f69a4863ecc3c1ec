"""Export a library table to one Parquet, CSV or JSON-lines file (atomically)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from library.exceptions import LibraryError, UnknownTaskError
from library.query import sql
from library.store import Library

__all__ = ["export_table"]

_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_COPY_OPTIONS = {
    "parquet": "(FORMAT parquet)",
    "csv": "(FORMAT csv, HEADER)",
    "jsonl": "(FORMAT json)",
}


def export_table(
    library: Library,
    output: str | Path,
    *,
    table: str = "trials",
    file_format: str | None = None,
    task_ids: Sequence[str] | None = None,
) -> int:
    """Write ``table`` (optionally only ``task_ids``) to ``output``.

    Args:
        library: the library.
        output: destination file; written as ``<output>.tmp`` then renamed.
        table: ``"trials"`` or ``"tasks"``.
        file_format: ``"parquet"``, ``"csv"`` or ``"jsonl"``; default from the extension.
        task_ids: restrict to these tasks.

    Returns:
        Number of rows written.

    Raises:
        UnknownTaskError: a requested task is not in the library.
        LibraryError: the table is empty or the output cannot be written.
    """
    output = Path(output)
    fmt = file_format or _FORMATS.get(output.suffix.lower(), "parquet")
    if fmt not in _COPY_OPTIONS:
        raise LibraryError(f"export format must be parquet, csv or jsonl, got {fmt!r}")
    if not library.files(table):
        raise LibraryError(f"no {table} in {library.location} to export")
    where = ""
    if task_ids:
        known = set(library.task_ids())
        missing = sorted(set(task_ids) - known)
        if missing:
            raise UnknownTaskError(f"unknown task(s) {missing[:5]} in {library.location}")
        listed = ", ".join("'" + task.replace("'", "''") + "'" for task in task_ids)
        where = f"WHERE task_id IN ({listed})"
    tmp = output.with_name(output.name + ".tmp")
    target = "'" + str(tmp).replace("'", "''") + "'"
    try:
        result = sql(
            library,
            f"COPY (SELECT * FROM {{source}} {where} ORDER BY task_id) TO {target} "
            f"{_COPY_OPTIONS[fmt]}",
            table=table,
        )
        os.replace(tmp, output)
    except OSError as error:
        raise LibraryError(f"cannot write {output}: {error}") from error
    except Exception as error:  # DuckDB raises its own IOException for unwritable paths
        with contextlib.suppress(OSError):
            tmp.unlink()
        if type(error).__module__.startswith("duckdb"):
            raise LibraryError(f"cannot write {output}: {error}") from error
        raise
    if result.num_columns and result.num_rows:
        return int(result.column(0)[0].as_py())
    return int(
        sql(library, f"SELECT count(*) AS n FROM {{source}} {where}", table=table)["n"][0].as_py()
    )
