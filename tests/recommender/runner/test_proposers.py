"""The run loop with its default proposer: the transfer Recommender over the library."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from recommender.runner import run_search


def test_library_run_uses_the_recommender_after_a_random_start(
    breast_cancer_csv: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from library import Library

    with caplog.at_level(logging.WARNING, logger="recommender.runner.run"):
        result = run_search(
            dataset=breast_cancer_csv, target="label", model="logreg", budget=3, cv_folds=2,
            validate_final=False, n_jobs=1, library=tmp_path / "lib", runs_dir=tmp_path / "runs",
        )  # fmt: skip
    fallbacks = [r for r in caplog.records if "nothing to transfer" in r.getMessage()]
    # empty library + nothing observed: the first batch is random, later ones transfer
    assert len(fallbacks) == 1
    assert [t.status for t in result.trials] == ["ok", "ok", "ok"]
    stored = Library.open(tmp_path / "lib").read_trials().to_pylist()
    assert len(stored) == 3 and {row["task_id"] for row in stored} == {result.task_id}
