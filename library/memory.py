"""`InMemoryStore`: a fake `Store` for tests, with the same validation and dedupe rules
as the Parquet `Library` but no files (DuckDB queries need a `Library`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from library.base import Store
from library.schema import METRIC_PREFIX, PARAM_PREFIX, TASKS_SCHEMA, TRIALS_BASE_SCHEMA, Direction
from library.store import (
    AppendResult,
    check_batch,
    check_column_types,
    first_per_id,
    normalize_tasks,
    normalize_trials,
    trial_defaults,
)

__all__ = ["InMemoryStore"]


class InMemoryStore(Store):
    """Trial store held in memory (a list of immutable Arrow batches)."""

    __slots__ = ("_tasks", "_trials")

    def __init__(self) -> None:
        self._tasks: list[pa.Table] = []
        self._trials: list[pa.Table] = []

    def append_tasks(self, tasks: pa.Table | Any) -> AppendResult:
        """See `Store.append_tasks`."""
        table = normalize_tasks(tasks)
        n_input = table.num_rows
        table = first_per_id(table, "task_id")
        existing = self.read_tasks()["task_id"].combine_chunks()
        if len(existing):
            table = table.filter(pc.invert(pc.is_in(table["task_id"], value_set=existing)))
        if table.num_rows:
            self._tasks.append(table)
        return AppendResult(n_input, table.num_rows, n_input - table.num_rows, None)

    def append_trials(
        self,
        trials: pa.Table | Any,
        *,
        objective_name: str | None = None,
        direction: str | Direction | None = None,
        source: str | None = None,
        fidelity_name: str | None = None,
    ) -> AppendResult:
        """See `Store.append_trials`."""
        defaults = trial_defaults(objective_name, direction, source, fidelity_name)
        table = normalize_trials(trials, defaults)
        n_input = table.num_rows
        check_batch(table, known_tasks=set(self.task_ids()), spaces=self.task_spaces())
        known = {
            field.name: field.type
            for batch in self._trials
            for field in batch.schema
            if field.name.startswith((PARAM_PREFIX, METRIC_PREFIX))
        }
        table = check_column_types(table, known)
        table = first_per_id(table)
        if self._trials:
            existing = self.read_trials()["trial_id"].combine_chunks()
            table = table.filter(pc.invert(pc.is_in(table["trial_id"], value_set=existing)))
        if table.num_rows:
            self._trials.append(table)
        return AppendResult(n_input, table.num_rows, n_input - table.num_rows, None)

    def read_tasks(self) -> pa.Table:
        """See `Store.read_tasks`."""
        if not self._tasks:
            return TASKS_SCHEMA.empty_table()
        return pa.concat_tables(self._tasks)

    def read_trials(self, *, task_ids: Sequence[str] | None = None) -> pa.Table:
        """See `Store.read_trials`."""
        if not self._trials:
            return TRIALS_BASE_SCHEMA.empty_table()
        trials = pa.concat_tables(self._trials, promote_options="default")
        if task_ids is not None:
            trials = trials.filter(pc.is_in(trials["task_id"], pa.array(list(task_ids))))
        return trials

    def stats(self) -> dict[str, Any]:
        """See `Store.stats` (``files`` counts batches; ``bytes`` is Arrow memory)."""
        trials = self.read_trials()
        by_status: dict[str, int] = {}
        by_source: dict[str, int] = {}
        for status, source in zip(
            trials["status"].to_pylist(), trials["source"].to_pylist(), strict=True
        ):
            by_status[status or "unknown"] = by_status.get(status or "unknown", 0) + 1
            by_source[source or "unknown"] = by_source.get(source or "unknown", 0) + 1
        return {
            "path": ":memory:",
            "n_tasks": len(self.task_ids()),
            "n_trials": trials.num_rows,
            "by_status": by_status,
            "by_source": by_source,
            "files": {"tasks": len(self._tasks), "trials": len(self._trials)},
            "bytes": int(trials.nbytes + self.read_tasks().nbytes),
        }
