"""Write a copy of a shared-format benchmark whose tasks keep only N configurations each.

Used to ask how transfer results depend on the size of each task's table (the starter
library scores 51 configurations per dataset; LCBench has 2000 per task). Every task keeps
``--configs`` of its ``config_id`` values (drawn without replacement, seeded), with all
their fidelity rows; ``space.json`` is copied with ``name`` and ``configs_per_task``
updated (columns the source's ``space.json`` does not declare are left out). Example::

    .venv/bin/python benchmarks/subsample_pools.py ../shared/benchmarks/lcbench \
        build/lcbench51 --configs 51
    .venv/bin/recommend bench transfer --benchmark build/lcbench51 --budget 10 --seeds 3 \
        --methods random,portfolio,rgpe,ours --out benchmarks/results/screens --stem lcbench_pool51
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from library import read_benchmark, write_benchmark


def subsample_pools(source: Path, target: Path, *, n_configs: int, seed: int = 0) -> int:
    """Copy benchmark ``source`` to ``target`` with at most ``n_configs`` configurations per task.

    Returns:
        The number of rows written.
    """
    benchmark = read_benchmark(source, allow_missing_objective=True, allow_extra_columns=True)
    trials = benchmark.trials
    rng = np.random.default_rng(seed)
    kept = []
    for _, rows in trials.groupby("task_id", sort=True):
        ids = np.sort(rows["config_id"].unique())
        chosen = rng.choice(ids, size=min(n_configs, ids.size), replace=False)
        kept.append(rows[rows["config_id"].isin(chosen)])
    out = pd.concat(kept, ignore_index=True)
    space = {**benchmark.space, "name": f"{benchmark.name}-{n_configs}"}
    space["configs_per_task"] = n_configs
    write_benchmark(target, space, out, allow_missing_objective=True)
    return len(out)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--configs", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = subsample_pools(args.source, args.target, n_configs=args.configs, seed=args.seed)
    print(f"wrote {rows} rows to {args.target}")


if __name__ == "__main__":
    main()
