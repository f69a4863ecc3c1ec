"""Screen first-pick (zero-shot) criteria on shared-format benchmarks, fast.

The zero-shot pick sees no target data: it is a function of the source predictions at the
target's pool. This screen compares criteria for it on cached source predictions (the
cache of `screen_transfer_options.py`, built here when missing) and reports the mean
normalized regret of each criterion's pick per benchmark, plus the mean over every
benchmark whose name starts with ``--pool-prefix`` (several draws of the synthetic
generator).

Criteria (``S`` sources, ``mean``/``std`` on the sources' Gaussian-copula scale, ``reg``
the same predictions mapped to each source's regret scale by its quantile table):

- ``lcb_regret``: ours (`recommender.transfer.zero_shot_scores`, kappa 1 on the regret
  scale);
- ``mean_regret``: the same with kappa 0;
- ``mean_copula``: the equally weighted mean on the copula scale (the ANCHORS rgpe first
  pick);
- ``lcb_copula``: kappa 1 on the copula scale;
- ``median_copula``: the median over sources on the copula scale.

Example::

    python benchmarks/screen_zero_shot.py \\
        --case lcbench=../shared/benchmarks/lcbench:/tmp/lc.pkl \\
        --case syn1=/tmp/syn1:/tmp/syn1.pkl --out benchmarks/results/screens/zero_shot.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from screen_transfer_options import load_or_build_cache  # noqa: E402

from recommender.surrogate import regret_scale  # noqa: E402
from recommender.transfer import zero_shot_scores  # noqa: E402


def criteria(mean: np.ndarray, std: np.ndarray, quantiles: np.ndarray) -> dict[str, np.ndarray]:
    """Score of every candidate under each criterion (the pick is the argmax)."""
    reg_mean, reg_std = regret_scale(mean, std, quantiles)
    return {
        "lcb_regret": zero_shot_scores(reg_mean, reg_std, kappa=1.0),
        "mean_regret": zero_shot_scores(reg_mean, reg_std, kappa=0.0),
        "mean_copula": zero_shot_scores(mean, std, kappa=0.0),
        "lcb_copula": zero_shot_scores(mean, std, kappa=1.0),
        "median_copula": np.median(mean, axis=0),
    }


def screen(cache: dict) -> dict[str, list[float]]:
    """Per criterion, the normalized regret of its pick on every target of one cache."""
    out: dict[str, list[float]] = {}
    for target, (_, score) in cache["truth"].items():
        (mean, std), quantiles = cache["preds"][target]
        span = score.max() - score.min()
        for name, value in criteria(mean, std, np.stack(quantiles)).items():
            pick = int(np.argmax(value))
            out.setdefault(name, []).append(float((score.max() - score[pick]) / span))
    return out


def main(argv: list[str] | None = None) -> int:
    """Screen every case, print the means and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case", action="append", required=True, help="NAME=BENCHMARK_DIR:CACHE_PICKLE"
    )
    parser.add_argument("--pool-prefix", default="syn")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}
    for case in args.case:
        name, paths = case.split("=", 1)
        bench_dir, cache_path = (Path(p) for p in paths.split(":", 1))
        regrets = screen(load_or_build_cache(cache_path, bench_dir, None, 0.0))
        results[name] = {
            "benchmark": str(bench_dir),
            "mean_regret": {k: float(np.mean(v)) for k, v in regrets.items()},
            "per_target": regrets,
        }
        print(name, {k: round(v, 4) for k, v in results[name]["mean_regret"].items()})
    pooled_cases = [n for n in results if n.startswith(args.pool_prefix)]
    pooled = {}
    if pooled_cases:
        names = results[pooled_cases[0]]["per_target"]
        pooled = {
            k: float(np.mean([x for n in pooled_cases for x in results[n]["per_target"][k]]))
            for k in names
        }
        print(f"pooled over {len(pooled_cases)} {args.pool_prefix}* cases", pooled)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"argv": sys.argv, "cases": results, "pooled": {"cases": pooled_cases, **pooled}},
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
