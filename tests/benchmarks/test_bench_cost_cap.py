"""`benchmarks/bench_cost_cap.py` runs end to end on a small benchmark in the shared format,
degenerate tasks included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from tests.benchmarks.conftest import run_script


def _write_benchmark(root: Path, constant_time: bool) -> Path:
    """Four tasks of 40 configurations; ``t3``'s objective is constant; costs grow with
    ``width`` (or are all 3.0 with ``constant_time``)."""
    rng = np.random.default_rng(0)
    rows = []
    for t in range(4):
        for c in range(40):
            lr, width = float(rng.uniform(-4, 0)), float(rng.integers(1, 9))
            value = 1.0 if t == 3 else -((lr + 2 + 0.3 * t) ** 2) + 0.1 * width
            time_ = 3.0 if constant_time else width * (1 + 0.5 * t) * float(rng.uniform(0.9, 1.1))
            rows.append(
                {
                    "task_id": f"t{t}",
                    "config_id": c,
                    "lr": lr,
                    "width": width,
                    "acc": np.float32(value),
                    "time": np.float32(time_),
                }
            )
    space = {
        "name": "tiny",
        "parameters": [
            {"name": "lr", "type": "float", "low": -4.0, "high": 0.0},
            {"name": "width", "type": "int", "low": 1, "high": 8},
        ],
        "conditions": [],
        "objective": {"name": "acc", "direction": "maximize"},
        "metrics": ["acc", "time"],
        "n_tasks": 4,
        "configs_per_task": 40,
        "source": "test",
    }
    root.mkdir()
    (root / "space.json").write_text(json.dumps(space))
    pd.DataFrame(rows).to_parquet(root / "trials.parquet", index=False)
    return root


def _no_nan(text: str) -> dict:
    def refuse(token: str) -> None:
        raise AssertionError(f"{token} in the JSON")

    return json.loads(text, parse_constant=refuse)


def test_capped_and_uncapped_searches_are_scored_on_a_small_benchmark(tmp_path: Path) -> None:
    """Every curve is a regret in [0, 1] that never goes up; a task whose configurations
    all score the same has regret 0 once a configuration within the cap is found."""
    bench = _write_benchmark(tmp_path / "tiny", constant_time=False)
    out = tmp_path / "cost_cap.json"
    args = ["--benchmark", str(bench), "--seeds", "1", "--budget", "3", "--workers", "1"]
    run_script("bench_cost_cap.py", [*args, "--confidences", "0.8", "--out", str(out)])
    payload = _no_nan(out.read_text())
    assert set(payload["per_target"]) == {"t0", "t1", "t2", "t3"}
    for target, entry in payload["per_target"].items():
        for method in ("ours-capped-0.8", "ours", "random-capped", "random"):
            (curve,) = entry[method]["regret"]
            assert len(curve) == 3 and 0.0 <= min(curve) and max(curve) <= 1.0
            assert np.all(np.diff(curve) <= 0.0)
            if target == "t3":
                assert curve[-1] in (0.0, 1.0)  # 1 only while nothing within the cap is found
    assert payload["summary"]["cost_model"]["zero_shot"]["spearman"] > 0.5
    assert out.with_suffix(".png").is_file()


def test_constant_costs_leave_the_cost_models_ranking_undefined(tmp_path: Path) -> None:
    """Every cost equal: the cap admits the whole pool and nothing goes over it; the
    Spearman correlation is reported as undefined (null), not NaN."""
    bench = _write_benchmark(tmp_path / "flat", constant_time=True)
    out = tmp_path / "flat.json"
    # two workers: the pool's processes start after the parent's GP fits
    args = ["--benchmark", str(bench), "--seeds", "1", "--budget", "2", "--workers", "2"]
    run_script("bench_cost_cap.py", [*args, "--confidences", "0.8", "--out", str(out)])
    summary = _no_nan(out.read_text())["summary"]
    assert summary["cost_model"]["zero_shot"]["spearman"] is None
    assert all(share == 0.0 for share in summary["violation_share"]["ours-capped-0.8"].values())
