"""Every schema version keeps a Parquet fixture that the current code must still read."""

from __future__ import annotations

import shutil
from pathlib import Path

from library import Library, best_k_per_task, task_evaluations, trial_id, validate

FIXTURES = Path(__file__).parent / "fixtures"


def test_schema_v1_fixture_still_reads_and_validates(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    shutil.copytree(FIXTURES / "schema_v1", root)
    library = Library.open(root, create=False)
    assert validate(library) == []
    stats = library.stats()
    assert stats["n_tasks"] == 3 and stats["n_trials"] == 26
    assert stats["by_status"] == {"ok": 25, "failed": 1}
    fp_ok = [r for r in library.read_trials(task_ids=["fp"]).to_pylist() if r["status"] == "ok"]
    assert fp_ok[0]["trial_id"] == trial_id("fp", {"x": 1.0}, None, 1)
    evaluations = task_evaluations(library)
    assert evaluations["fp"].fingerprint == {"n_rows": 150.0}
    assert set(evaluations) == {"fp", "synthetic/task_0", "synthetic/task_1"}
    assert best_k_per_task(library, 2).num_rows == 2 + 2 + 1  # fp has one ok trial
