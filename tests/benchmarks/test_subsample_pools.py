"""`benchmarks/subsample_pools.py`: a shared-format copy with smaller pools."""

from __future__ import annotations

import json
from pathlib import Path

from library import read_benchmark
from tests.synthetic import write_synthetic_benchmark


def test_every_task_keeps_n_configurations_with_all_fidelities(tmp_path: Path) -> None:
    from subsample_pools import subsample_pools

    source = write_synthetic_benchmark(tmp_path / "src", n_tasks=4, n_configs=30, seed=1)
    rows = subsample_pools(source, tmp_path / "small", n_configs=7, seed=3)

    small, full = read_benchmark(tmp_path / "small"), read_benchmark(source)
    assert small.task_ids == full.task_ids
    assert rows == len(small.trials)
    for task in small.task_ids:
        kept = small.trials[small.trials["task_id"] == task]
        assert kept["config_id"].nunique() == 7
        # every fidelity row of a kept configuration is kept, values unchanged
        original = full.trials[
            (full.trials["task_id"] == task) & full.trials["config_id"].isin(kept["config_id"])
        ]
        assert len(kept) == len(original)
        assert len(small.task_table(task)) == 7
    space = json.loads((tmp_path / "small" / "space.json").read_text())
    assert space["configs_per_task"] == 7 and space["name"].endswith("-7")


def test_same_seed_same_pools_and_small_tasks_kept_whole(tmp_path: Path) -> None:
    from subsample_pools import subsample_pools

    source = write_synthetic_benchmark(tmp_path / "src", n_tasks=3, n_configs=12, seed=2)
    subsample_pools(source, tmp_path / "a", n_configs=5, seed=0)
    subsample_pools(source, tmp_path / "b", n_configs=5, seed=0)
    subsample_pools(source, tmp_path / "whole", n_configs=50, seed=0)
    a, b = read_benchmark(tmp_path / "a").trials, read_benchmark(tmp_path / "b").trials
    assert a.equals(b)
    assert read_benchmark(tmp_path / "whole").trials["config_id"].nunique() == 12
