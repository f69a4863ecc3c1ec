"""`benchmarks/build_rbv2_xgboost.py`: the committed YAHPO ``rbv2_xgboost`` build is a
conditional, minimised benchmark in the shared format that the transfer harness runs;
the builder's sampling keeps each booster's children and only them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from library.benchmark_writer import write_benchmark
from library.importers import read_benchmark
from recommender.space import Space
from tests.benchmarks.conftest import BENCHMARKS

COMMITTED = BENCHMARKS / "data" / "rbv2_xgboost"
TREE_CHILDREN = {"eta", "gamma", "max_depth", "min_child_weight", "colsample_bytree",
                 "colsample_bylevel"}  # fmt: skip
DART_CHILDREN = {"rate_drop", "skip_drop"}


def _children_follow_the_booster(trials: object) -> None:
    for booster in ("gblinear", "gbtree", "dart"):
        rows = trials[trials["booster"] == booster]  # type: ignore[index]
        assert len(rows), booster
        active = (TREE_CHILDREN if booster != "gblinear" else set()) | (
            DART_CHILDREN if booster == "dart" else set()
        )
        for name in TREE_CHILDREN | DART_CHILDREN:
            assert rows[name].notna().all() if name in active else rows[name].isna().all()


def test_the_committed_build_is_a_conditional_minimised_benchmark() -> None:
    benchmark = read_benchmark(COMMITTED)
    assert benchmark.direction == "minimize" and benchmark.objective == "mmce"
    assert len(benchmark.task_ids) == 30 and benchmark.fidelity_max == 1.0
    space = Space.from_dict(benchmark.space)
    assert space.dim == 18  # 12 numeric parameters, two categoricals one-hot (3 + 3)
    full = benchmark.trials[benchmark.trials["trainsize"] == 1.0]
    assert (full.groupby("task_id").size() == 1000).all()
    _children_follow_the_booster(full)
    assert full["mmce"].between(0.0, 1.0).all()
    # the surrogate's error depends on the configuration: every task has a spread
    spread = full.groupby("task_id")["mmce"].agg(lambda e: e.quantile(0.9) - e.quantile(0.1))
    assert (spread > 0.01).all()
    # each task samples its own configurations (FORMAT.md)
    first, other = (benchmark.task_table(t)["subsample"].to_numpy() for t in benchmark.task_ids[:2])
    assert not np.isin(first, other).any()


def test_sampling_draws_every_booster_and_its_children_only() -> None:
    import build_rbv2_xgboost as build

    config_space = json.loads((COMMITTED / "space.json").read_text())
    configs = build.sample_configs(config_space, 600, np.random.default_rng(0))
    _children_follow_the_booster(configs)
    shares = configs["booster"].value_counts(normalize=True)
    assert (shares > 0.25).all()
    depth = configs["max_depth"].dropna().astype(float)
    assert (depth == np.round(depth)).all() and depth.min() == 1 and depth.max() == 15
    nrounds = configs["nrounds"].astype(float)
    assert (np.log(nrounds) < np.log(7 * 2981) / 2).mean() == pytest.approx(0.5, abs=0.08)
    Space.from_dict(config_space).encode(configs)  # every sampled row is valid


def test_the_harness_runs_on_a_slice_of_it(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from recommender.cli import cli

    benchmark = read_benchmark(COMMITTED)
    tasks = list(benchmark.task_ids[:3])
    trials = benchmark.trials[benchmark.trials["task_id"].isin(tasks)]
    trials = trials[trials["config_id"] < 60]
    write_benchmark(tmp_path / "slice", benchmark.space, trials)
    done = CliRunner().invoke(
        cli,
        ["bench", "transfer", "--benchmark", str(tmp_path / "slice"), "--budget", "3",
         "--seeds", "1", "--targets", "1", "--methods", "random,rgpe,ours",
         "--out", str(tmp_path / "results"), "--stem", "tiny"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    written = json.loads((tmp_path / "results" / "tiny.json").read_text())
    assert set(written["summary"]) == {"random", "rgpe", "ours"}
