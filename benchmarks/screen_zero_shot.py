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
- ``median_copula``: the median over sources on the copula scale;
- ``typical_copula``: ``mean_copula`` with each source weighted by its typicality
  (`recommender.first_pick.source_typicality`), the product's ``"typical-copula"``;
- ``loso_switch`` (with ``--loso``): ``lcb_regret`` unless a leave-one-source-out test on
  the target's library says the ``--alternative`` (default ``typical_copula``, the
  product's test since session 25; before it ``mean_copula``) is better: every other task ``s`` of the
  library (the target left out) is treated as a target of the remaining sources, both
  criteria pick from ``s``'s pool, and their paired regrets on ``s``'s real scores give a
  t statistic; the switch needs t < -1.645 (one-sided 5 %). Source-on-source predictions
  come from the cache (row of the target dropped). The adversarial caches hold the real
  scores of each task, not the perturbed ones, so this criterion is screened on clean
  libraries only.
- ``loso_top{k}_t{z}`` (with ``--loso-variants k@z,...``): the same switch, but the test
  compares the criteria's mean regret over their ``k`` best-scored candidates (less
  sensitive to which single candidate tops the list than the top-1 regret) and switches
  at t < -z. ``1@1.645`` is ``loso_switch``.

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

from recommender.first_pick import (  # noqa: E402
    first_pick_scores,
    paired_t_statistic,
    pick_regret,
)
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
        "typical_copula": first_pick_scores("typical-copula", mean, std, quantiles),
    }


def top_k_regret(truth: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Mean normalised regret, on ``truth``, of the ``k`` highest ``scores``."""
    if k == 1:
        return pick_regret(truth, scores)
    span = float(truth.max() - truth.min())
    best = np.argsort(-scores, kind="stable")[:k]
    return float((truth.max() - truth[best]).mean() / span) if span > 0 else 0.0


def loso_t_statistic(cache: dict, target: str, first: str, second: str, k: int = 1) -> float:
    """Paired t statistic of ``second``'s minus ``first``'s regret, leave one source out.

    Every task ``s`` other than ``target`` becomes a target of the tasks left (``target``
    excluded): negative values mean ``second`` picks better on the library's own tasks.
    The regret is of the top-``k`` candidates of each criterion (`top_k_regret`).
    """
    tasks = list(cache["truth"])
    differences = []
    for source in tasks:
        if source == target:
            continue
        others = [task for task in tasks if task != source]
        keep = [i for i, task in enumerate(others) if task != target]
        (mean, std), quantiles = cache["preds"][source]
        scores = criteria(mean[keep], std[keep], np.stack([quantiles[i] for i in keep]))
        truth = cache["truth"][source][1]
        differences.append(
            top_k_regret(truth, scores[second], k) - top_k_regret(truth, scores[first], k)
        )
    return paired_t_statistic(differences)


def screen(
    cache: dict,
    *,
    loso: bool = False,
    variants: tuple[tuple[int, float], ...] = (),
    alternative: str = "typical_copula",
) -> dict[str, list[float]]:
    """Per criterion, the normalized regret of its pick on every target of one cache.

    ``loso`` adds ``loso_switch`` (and its t statistics as ``loso_t``); ``variants``, as
    ``(k, z)`` pairs, add ``loso_top{k}_t{z}``; ``alternative`` is the criterion the
    test weighs against ``lcb_regret``.
    """
    out: dict[str, list[float]] = {}
    for target, (_, score) in cache["truth"].items():
        (mean, std), quantiles = cache["preds"][target]
        values = criteria(mean, std, np.stack(quantiles))
        for name, value in values.items():
            out.setdefault(name, []).append(pick_regret(score, value))
        t_by_k: dict[int, float] = {}  # the test on top-k regret, once per k
        if loso:
            t = t_by_k[1] = loso_t_statistic(cache, target, "lcb_regret", alternative)
            chosen = alternative if t < -1.645 else "lcb_regret"
            out.setdefault("loso_switch", []).append(pick_regret(score, values[chosen]))
            out.setdefault("loso_t", []).append(t)
        for k, z in variants:
            if k not in t_by_k:
                t_by_k[k] = loso_t_statistic(cache, target, "lcb_regret", alternative, k)
            chosen = alternative if t_by_k[k] < -z else "lcb_regret"
            out.setdefault(f"loso_top{k}_t{z:g}", []).append(pick_regret(score, values[chosen]))
    return out


def _variants(text: str) -> tuple[tuple[int, float], ...]:
    """``"3@1.0,5@1.645"`` -> ``((3, 1.0), (5, 1.645))``."""
    pairs = (item.split("@") for item in text.split(",") if item)
    return tuple((int(k), float(z)) for k, z in pairs)


def main(argv: list[str] | None = None) -> int:
    """Screen every case, print the means and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case", action="append", required=True, help="NAME=BENCHMARK_DIR:CACHE_PICKLE"
    )
    parser.add_argument("--pool-prefix", default="syn")
    parser.add_argument("--loso", action="store_true", help="add the loso_switch criterion")
    parser.add_argument(
        "--loso-variants",
        type=_variants,
        default=(),
        help="k@z,...: add loso_top{k}_t{z} (the test on top-k regret, switch at t < -z)",
    )
    parser.add_argument(
        "--alternative",
        default="typical_copula",
        choices=["mean_regret", "mean_copula", "lcb_copula", "median_copula", "typical_copula"],
        help="the criterion the leave-one-source-out test weighs against lcb_regret",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}
    for case in args.case:
        name, paths = case.split("=", 1)
        bench_dir, cache_path = (Path(p) for p in paths.split(":", 1))
        regrets = screen(
            load_or_build_cache(cache_path, bench_dir, None, 0.0),
            loso=args.loso,
            variants=args.loso_variants,
            alternative=args.alternative,
        )
        t_statistics = regrets.pop("loso_t", None)
        results[name] = {
            "benchmark": str(bench_dir),
            "mean_regret": {k: float(np.mean(v)) for k, v in regrets.items()},
            "per_target": regrets,
        }
        if t_statistics is not None:
            results[name]["loso_t_per_target"] = t_statistics
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
