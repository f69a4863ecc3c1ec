"""`benchmarks/bench_continuous.py` runs end to end on a small family of synthetic tasks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.benchmarks.conftest import run_script


def test_off_pool_searches_are_scored_against_the_tasks_true_optimum(tmp_path: Path) -> None:
    """Every method's proposals are evaluated off the pools: the simple regret never goes
    up, and never below 0, since no configuration beats the task's analytic optimum."""
    out = tmp_path / "continuous.json"
    args = ["--n-tasks", "5", "--n-configs", "80", "--targets", "2", "--seeds", "1"]
    args += ["--budget", "5", "--out", str(out)]
    run_script("bench_continuous.py", args)
    payload = json.loads(out.read_text())
    assert set(payload["per_target"]) == {"task_00", "task_01"}
    for entry in payload["per_target"].values():
        for method in ("ours", "ours-local", "cold", "random"):
            (curve,) = entry[method]["regret"]
            assert len(curve) == 5 and min(curve) >= 0.0
            assert np.all(np.diff(curve) <= 0.0)
    assert set(payload["summary"]["ratios"]) == {"ours/ours-local", "ours/cold", "ours/random"}
    assert out.with_suffix(".png").is_file()


def test_a_single_method_runs_without_ratios(tmp_path: Path) -> None:
    """Without ``ours`` there is no ratio to report; the run still ends cleanly."""
    out = tmp_path / "random.json"
    args = ["--n-tasks", "3", "--n-configs", "40", "--targets", "1", "--seeds", "1"]
    run_script(
        "bench_continuous.py", [*args, "--budget", "3", "--methods", "random", "--out", str(out)]
    )
    summary = json.loads(out.read_text())["summary"]
    assert set(summary["mean_regret"]) == {"random"} and "ratios" not in summary
