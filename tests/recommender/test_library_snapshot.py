"""`cached_task_evaluations`: a new process reads a snapshot, never a stale one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from library import Library, TaskEvaluations, task_evaluations
from library.exceptions import EmptyLibraryError
from recommender.library_snapshot import cached_task_evaluations, library_version

SPACE = {
    "name": "mixed",
    "parameters": [
        {"name": "lr", "type": "float", "low": 1e-4, "high": 1.0, "log": True},
        {"name": "kind", "type": "categorical", "choices": ["a", "b"]},
        {"name": "depth", "type": "int", "low": 1, "high": 8},
    ],
}


def _rows(task_id: str, n_rows: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {
            "task_id": task_id,
            "objective_value": float(rng.random()),
            "param_lr": float(rng.uniform(1e-4, 1.0)),
            "param_kind": str(rng.choice(["a", "b"])),
            "param_depth": int(rng.integers(1, 9)),
            "fidelity": float(fidelity),
        }
        for _ in range(n_rows)
        for fidelity in (1.0, 3.0)
    ]


def _library(root: Path) -> Library:
    library = Library.open(root)
    library.append_tasks(
        [
            {"task_id": "t0", "space": SPACE, "direction": "maximize"},
            {
                "task_id": "t1",
                "space": SPACE,
                "direction": "maximize",
                "fingerprint_names": ["n", "d"],
                "fingerprint_values": [100.0, 4.0],
            },
        ]
    )
    rows = _rows("t0", 6, 0) + _rows("t1", 5, 1)
    library.append_trials(rows, objective_name="score", direction="maximize")
    return library


def _assert_same(got: dict[str, TaskEvaluations], want: dict[str, TaskEvaluations]) -> None:
    assert list(got) == list(want)
    for task, evals in want.items():
        pd.testing.assert_frame_equal(got[task].configs, evals.configs)
        for name in ("objective", "fidelity"):
            assert np.array_equal(getattr(got[task], name), getattr(evals, name))
        for name in ("objective_name", "direction", "fingerprint"):
            assert getattr(got[task], name) == getattr(evals, name)


def test_a_snapshot_reads_back_what_the_library_query_returns(tmp_path: Path) -> None:
    library, cache = _library(tmp_path / "lib"), tmp_path / "cache"
    first = cached_task_evaluations(library, cache)
    (snapshot,) = cache.glob("*.arrow")
    written = snapshot.stat().st_mtime_ns

    again = cached_task_evaluations(library, cache)

    want = task_evaluations(library)
    assert want["t1"].fingerprint == {"n": 100.0, "d": 4.0} and len(want["t0"].objective) == 6
    _assert_same(first, want)
    _assert_same(again, want)
    assert snapshot.stat().st_mtime_ns == written  # read, not rewritten


def test_an_append_or_a_compaction_is_a_new_version(tmp_path: Path) -> None:
    library, cache = _library(tmp_path / "lib"), tmp_path / "cache"
    before = library_version(library)
    cached_task_evaluations(library, cache)

    library.append_trials(_rows("t0", 2, 9), objective_name="score", direction="maximize")
    appended = cached_task_evaluations(library, cache)
    library.compact()
    compacted = cached_task_evaluations(library, cache)

    assert len(appended["t0"].objective) == 8  # the new trials, not the old snapshot
    _assert_same(appended, task_evaluations(library))
    _assert_same(compacted, task_evaluations(library))
    assert len({before, library_version(library)}) == 2
    assert len(list(cache.glob("*.arrow"))) == 1  # one per library: replaced, not added
    other = _library(tmp_path / "other")
    cached_task_evaluations(other, cache)
    assert len(list(cache.glob("*.arrow"))) == 2


def test_a_torn_snapshot_is_ignored_and_replaced(tmp_path: Path) -> None:
    library, cache = _library(tmp_path / "lib"), tmp_path / "cache"
    cached_task_evaluations(library, cache)
    (snapshot,) = cache.glob("*.arrow")
    snapshot.write_bytes(b"torn")

    healed = cached_task_evaluations(library, cache)

    _assert_same(healed, task_evaluations(library))
    assert snapshot.read_bytes() != b"torn"


def test_without_a_cache_nothing_is_written_and_an_empty_library_still_says_so(
    tmp_path: Path,
) -> None:
    library = _library(tmp_path / "lib")
    _assert_same(cached_task_evaluations(library, None), task_evaluations(library))
    empty = Library.open(tmp_path / "empty")
    with pytest.raises(EmptyLibraryError, match="no trials"):
        cached_task_evaluations(empty, tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
