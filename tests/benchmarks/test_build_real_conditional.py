"""`benchmarks/build_real_conditional.py` measures a conditional benchmark in the shared
format that the reader and the transfer harness accept; the committed build is one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from library.importers import read_benchmark
from recommender.space import Space
from tests.benchmarks.conftest import BENCHMARKS, run_script

COMMITTED = BENCHMARKS / "data" / "keel_conditional"


def _check_conditional(directory: Path) -> None:
    """Every row holds its learner's children and only them; errors are in [0, 1]."""
    benchmark = read_benchmark(directory)
    assert benchmark.direction == "minimize"
    space = Space.from_dict(benchmark.space)
    trials = benchmark.trials
    for learner in ("logreg", "svm", "hgb", "rf"):
        rows = trials[trials["learner"] == learner]
        assert len(rows), learner
        for name in benchmark.parameter_names[1:]:
            active = name.startswith(f"{learner}_")
            assert rows[name].notna().all() if active else rows[name].isna().all(), name
    errors = trials["error"].dropna()
    assert ((errors >= 0) & (errors <= 1)).all()
    assert (trials["time"] > 0).all()
    configs = trials.drop(columns=["task_id", "config_id", "train_fraction", "error", "time"])
    space.validate(configs.iloc[0].dropna().to_dict())


def test_a_small_build_is_a_conditional_benchmark_the_harness_runs(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    names = "sklearn/iris,sklearn/wine,sklearn/breast_cancer"
    run_script(
        "build_real_conditional.py",
        ["--work", str(tmp_path / "work"), "--out", str(out), "--names", names,
         "--configs", "16", "--max-rows", "120", "--workers", "1"],
    )  # fmt: skip
    _check_conditional(out)
    benchmark = read_benchmark(out)
    assert benchmark.task_ids == ("sklearn-breast_cancer", "sklearn-iris", "sklearn-wine")
    assert (benchmark.trials.groupby("task_id").size() == 16).all()
    # each task samples its own configurations (FORMAT.md)
    first = benchmark.task_table("sklearn-iris")["logreg_C"].dropna().to_numpy()
    other = benchmark.task_table("sklearn-wine")["logreg_C"].dropna().to_numpy()
    assert not np.isin(first, other).any()
    # the errors are measured, not drawn: some learners beat others on every dataset
    spread = benchmark.trials.groupby("task_id")["error"].agg(lambda e: e.max() - e.min())
    assert (spread > 0.05).all()
    # the transfer harness runs on it with a reference and ours
    results = tmp_path / "results"
    from click.testing import CliRunner

    from recommender.cli import cli

    done = CliRunner().invoke(
        cli,
        ["bench", "transfer", "--benchmark", str(out), "--budget", "3", "--seeds", "1",
         "--targets", "1", "--methods", "random,ours", "--out", str(results),
         "--stem", "tiny"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    written = json.loads((results / "tiny.json").read_text())
    assert set(written["summary"]) >= {"random", "ours"}


def test_a_regression_dataset_is_refused() -> None:
    import build_real_conditional

    with pytest.raises(ValueError, match="regression"):
        build_real_conditional.evaluate_task(
            "sklearn/diabetes", 0, n_configs=2, max_rows=50, seed=0
        )


def test_the_committed_build_is_a_conditional_benchmark() -> None:
    _check_conditional(COMMITTED)
    space = json.loads((COMMITTED / "space.json").read_text())
    assert space["n_tasks"] >= 16 and space["configs_per_task"] >= 300
