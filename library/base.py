"""The `Store` contract every trial store honours (Parquet `Library`, `InMemoryStore`).

Contract:

* **Atomicity.** One ``append_*`` call is one batch: after it returns, every new row of
  the batch is visible; if it raises, none is, and the store is unchanged.
* **Immutability.** Stored rows are never modified; only compaction may rewrite storage,
  without adding, losing or changing a row (duplicates of one id collapse to one).
* **Dedupe.** Trials are keyed by the content hash ``trial_id`` and tasks by ``task_id``;
  rows already present (or repeated in the batch) are skipped and counted.
* **Validation at the boundary.** Batches are checked before anything is written.

Raises (from ``append_trials``): `SchemaError` (missing/unknown column, wrong type, NaN
objective on an ``ok`` trial, bad enum value, parameter type change), `UnknownTaskError`
(task never added), `SpaceError` (parameter unknown to or outside the task's declared
space). `LibraryError` for storage failures.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from library.schema import Direction
    from library.store import AppendResult

__all__ = ["Store"]


class Store(ABC):
    """Abstract trial store; see the module docstring for the contract."""

    __slots__ = ()

    @abstractmethod
    def append_tasks(self, tasks: pa.Table | Any) -> AppendResult:
        """Add tasks (rows of `TASKS_SCHEMA`; ``space`` may be a dict); skip known ids."""

    @abstractmethod
    def append_trials(
        self,
        trials: pa.Table | Any,
        *,
        objective_name: str | None = None,
        direction: str | Direction | None = None,
        source: str | None = None,
        fidelity_name: str | None = None,
    ) -> AppendResult:
        """Append one batch of trials atomically, deduplicated by ``trial_id``."""

    @abstractmethod
    def read_tasks(self) -> pa.Table:
        """All task rows."""

    @abstractmethod
    def read_trials(self, *, task_ids: Sequence[str] | None = None) -> pa.Table:
        """Trial rows, all or of ``task_ids``."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """``{"n_tasks", "n_trials", "by_status", "by_source", "files", "bytes", "path"}``."""

    def task_ids(self) -> list[str]:
        """Ids of every task, sorted."""
        return sorted(set(self.read_tasks()["task_id"].to_pylist()))

    def task_spaces(self) -> dict[str, dict[str, Any]]:
        """Declared space (space.json-style dict) of each task that stored one."""
        tasks = self.read_tasks()
        return {
            task: json.loads(text)
            for task, text in zip(
                tasks["task_id"].to_pylist(), tasks["space_json"].to_pylist(), strict=True
            )
            if text
        }
