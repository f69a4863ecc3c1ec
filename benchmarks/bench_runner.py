"""Benchmark: runner overhead per trial relative to training time (goal <= 5% at ~10 s).

Runs `run_search` with a fixed proposer (the same HistGradientBoosting configuration on
a seeded synthetic dataset, sized so one trial trains for about 10 s on one core), with
and without library recording, and splits the wall time into

* training: ``train_seconds`` measured inside the worker around fit + scoring;
* per-trial overhead: the time from one finished trial to the next minus the next one's
  training (task transfer over the pipe, row indexing, journal fsync, library Parquet
  append, proposer, plan record), averaged over trials 2..n;
* one-off: reading and hashing the dataset and starting the worker (process spawn +
  imports), paid once per run session (also reported as a share of the whole session).

Writes ``benchmarks/results/runner.json``. Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_runner.py
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from library.provenance import code_version  # noqa: E402

pytestmark = pytest.mark.slow

RESULTS = Path(__file__).resolve().parent / "results"


class _SameConfig:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def suggest(self, n: int) -> list[dict[str, Any]]:
        return [dict(self.config) for _ in range(n)]

    def observe(self, config: dict[str, Any], value: float) -> None:
        pass


def _one_setting(
    csv: Path, workdir: Path, *, trials: int, library: bool, config: dict[str, Any]
) -> dict[str, Any]:
    from recommender.runner import run_search

    finished_at: list[float] = []
    started = time.perf_counter()
    result = run_search(
        dataset=csv,
        target="y",
        model="hgb",
        budget=trials,
        cv_folds=0,
        validate_final=False,
        n_jobs=1,
        runs_dir=workdir / "runs",
        library=(workdir / "lib") if library else None,
        proposer=_SameConfig(config),
        progress=lambda *_: finished_at.append(time.perf_counter()),
    )
    wall = time.perf_counter() - started
    train = [t.train_seconds for t in result.trials]
    runtime = [t.runtime_s for t in result.trials]
    # steady state: the cycle from one finished trial to the next, minus its training
    cycles = [b - a for a, b in zip(finished_at, finished_at[1:], strict=False)]
    per_trial = [cycle - t for cycle, t in zip(cycles, train[1:], strict=True)]
    per_trial_overhead = sum(per_trial) / len(per_trial)
    mean_train = sum(train) / len(train)
    first_start = finished_at[0] - runtime[0]
    return {
        "library_recording": library,
        "n_trials": len(train),
        "train_seconds": train,
        "trial_runtime_seconds": runtime,
        "mean_train_seconds": mean_train,
        "in_trial_overhead_seconds": sum(r - t for r, t in zip(runtime, train, strict=True))
        / len(train),
        "per_trial_overhead_seconds": per_trial_overhead,
        "per_trial_overhead_each_seconds": per_trial,
        "one_off_setup_seconds": first_start - started,
        "per_trial_overhead_fraction": per_trial_overhead / mean_train,
        "worker_startup_seconds": result.worker_startup_s,
        "overhead_fraction_incl_startup": (wall - sum(train)) / sum(train),
        "session_wall_seconds": wall,
        "statuses": [t.status for t in result.trials],
    }


def main(argv: list[str] | None = None) -> None:
    """Measure and write the JSON."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    from recommender.runner.provenance import capture_environment, capture_hardware

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS / "runner.json")
    args = parser.parse_args(argv)
    features, target = make_classification(
        n_samples=args.rows, n_features=40, n_informative=20, random_state=0
    )
    frame = pd.DataFrame(features.astype(np.float32), columns=[f"x{i}" for i in range(40)])
    frame["y"] = target
    config = {
        "learning_rate": 0.05,
        "max_iter": args.max_iter,
        "max_leaf_nodes": 63,
        "min_samples_leaf": 20,
        "l2_regularization": 1e-3,
    }
    settings = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        csv = workdir / "synthetic.csv"
        frame.to_csv(csv, index=False)
        for library in (False, True):
            settings.append(
                _one_setting(csv, workdir, trials=args.trials, library=library, config=config)
            )
    output = {
        "benchmark": "runner_overhead",
        "goal": "per-trial overhead <= 5% of training time for a ~10 s trial",
        "dataset": {"kind": "make_classification", "rows": args.rows, "features": 40, "seed": 0},
        "model": "hgb",
        "config": config,
        "settings": settings,
        "meta": {
            "commit": (code_version() or "unknown"),
            "hardware": capture_hardware("cpu"),
            "environment": capture_environment(),
            "note": "shared 2-core machine under load from other jobs; CPU only, no GPU",
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2, sort_keys=True))
    for row in settings:
        print(
            f"library={row['library_recording']!s:5} train={row['mean_train_seconds']:.2f} s "
            f"per-trial overhead={row['per_trial_overhead_seconds']:.3f} s "
            f"({row['per_trial_overhead_fraction']:.2%}); worker start "
            f"{row['worker_startup_seconds']:.1f} s once; incl. start "
            f"{row['overhead_fraction_incl_startup']:.2%}"
        )


def test_runner_overhead_benchmark(tmp_path: Path) -> None:
    """Slow: about a minute of training."""
    main(["--out", str(tmp_path / "runner.json")])


if __name__ == "__main__":
    main()
