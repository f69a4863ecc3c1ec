"""Benchmark: the cost cap (``suggest(max_cost=...)``) on a benchmark's recorded costs.

A team with a per-trial budget ("nothing that trains longer than the median") wants
proposals that fit it. `Recommender.suggest(max_cost=, cost_metric=)` (`recommender.cost_cap`)
keeps the candidates whose cost a model learned from the library predicts within the
cap. This benchmark measures it on a shared-format benchmark whose metrics include a cost
(LCBench: ``time``, seconds of training at full fidelity), leave one task out: every other
task is the library, the target's 2,000 full-fidelity configurations are the pool, and
the cap is the ``--cap-quantile`` of the target's own costs (0.5: half the pool is over).

For each target and seed, each method proposes ``--budget`` pool configurations one at a
time and sees each one's objective and cost:

* **ours-capped-<c>**: ``suggest(pool=..., max_cost=cap, cost_confidence=c)`` for each
  ``--confidences`` value (default 0.5, 0.65, 0.8 = the product's default, 0.95), observed
  costs passed back;
* **ours**: ``suggest(pool=...)``, no cap (what a user without the cap gets);
* **random-capped**: uniform among the pool rows the same cost model admits at 0.8 (the
  cap's filter without the transfer search);
* **random**: uniform over the pool.

Reported per method and budget: the share of proposals over the cap (violations), and the
constrained regret: (best feasible objective in the pool - best feasible found) / (best
feasible - worst in the pool), 1 until a feasible configuration is found. Also the cost
model's accuracy on each target's pool: Spearman correlation of predicted and true cost,
and the median ratio predicted / true, zero-shot (level from the sources' median) and
after the first five observations (level from the target).

Writes ``benchmarks/results/cost_cap.json`` and ``cost_cap.png``. Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_cost_cap.py   # ~25 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from library import Library, import_benchmark, read_benchmark
from library.importers import Benchmark
from recommender.bench import single_threaded, write_script_results
from recommender.cost_cap import DEFAULT_CONFIDENCE, CostCap, CostShape, fit_cost_shape, read_costs
from recommender.gp_cache import warm_cache
from recommender.recommend import Recommender
from recommender.space import Space

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_BENCHMARK = ROOT.parent / "shared" / "benchmarks" / "lcbench"


def methods(confidences: list[float]) -> dict[str, float | None]:
    """Method name -> the cost confidence of its cap (``None``: no cap)."""
    capped: dict[str, float | None] = {f"ours-capped-{c:g}": c for c in confidences}
    return capped | {"ours": None, "random-capped": DEFAULT_CONFIDENCE, "random": None}


BUDGETS = (1, 2, 3, 5, 10, 20, 30)


def _pool(
    bench: Benchmark, target: str, cost_metric: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The target's full-fidelity configurations, objective (maximised) and cost."""
    table = bench.task_table(target)
    configs = table[list(bench.parameter_names)]
    value = table[bench.objective].to_numpy(dtype=np.float64)
    value = value if bench.direction == "maximize" else -value
    return configs, value, table[cost_metric].to_numpy(dtype=np.float64)


def _cap_for(
    space: Space, shape: CostShape, cap: float, observed: pd.DataFrame, costs: list[float]
) -> CostCap:
    """The cost cap `Recommender.suggest` builds for this target, outside a suggest call."""
    if not costs:
        return CostCap.for_target(cap, shape)
    return CostCap.for_target(cap, shape, space.encode(observed), np.asarray(costs))


def run_target(job: dict[str, Any]) -> dict[str, Any]:
    """Every method and seed on one target (one worker process)."""
    bench = read_benchmark(Path(job["benchmark"]))
    space = Space.from_dict(bench.space)
    library = Library.open(Path(job["library"]), create=False)
    target, metric, budget = job["target"], job["cost_metric"], job["budget"]
    # the library names a benchmark's tasks "<benchmark>/<task_id>"
    held_out = f"{bench.name}/{target}"
    sources = [t for t in library.task_ids() if t != held_out]
    if len(sources) != len(bench.task_ids) - 1:
        raise SystemExit(f"{held_out} is not among the library's tasks")
    configs, value, cost = _pool(bench, target, metric)
    cap = float(np.quantile(cost, job["cap_quantile"]))
    feasible = cost <= cap
    best, worst = float(value[feasible].max()), float(value.min())
    out: dict[str, Any] = {"cap": cap, "share_feasible": float(feasible.mean())}
    encoded = space.encode(configs)
    shape = fit_cost_shape(space, read_costs([library], metric, sources), metric)
    if shape is None:
        raise SystemExit(f"no source task records the metric {metric!r}")
    # as `suggest` applies it to the pool: relaxed when too few pass (1 %, `CostCap.relaxed`)
    zero = _cap_for(space, shape, cap, configs.iloc[:0], []).relaxed(encoded, len(configs) // 100)
    out["model"] = {"zero_shot": _accuracy(zero, encoded, cost), "shape_error": shape.error}
    for method, confidence in methods(job["confidences"]).items():
        curves, violations, seconds = [], [], []
        for seed in range(job["seeds"]):
            rng = np.random.default_rng([seed, bench.task_ids.index(target)])
            recommender = Recommender(library, cache_dir=Path(job["cache"]), max_sources=10_000)
            picked: list[int] = []
            started = time.perf_counter()
            for step in range(budget):
                observed = configs.iloc[picked].reset_index(drop=True)
                if method.startswith("random"):
                    left = np.setdiff1d(np.arange(len(configs)), picked)
                    if confidence is not None:
                        model = _cap_for(space, shape, cap, observed, list(cost[picked]))
                        # the product's rule: the confidence lowered if too few are admitted
                        minimum = max(1, int(np.ceil(0.01 * len(left))))
                        model = model.relaxed(encoded[left], minimum)
                        inside = left[model.admissible(encoded[left])]
                        left = inside if len(inside) else left
                    picked.append(int(rng.choice(left)))
                    continue
                frame = observed.assign(value=value[picked])
                if (
                    confidence is not None
                ):  # the costs seen so far level the cost model on the target
                    frame[metric] = cost[picked]
                (suggestion,) = recommender.suggest(
                    None,
                    space,
                    observed=frame if picked else None,
                    pool=configs,
                    seed=seed * 1000 + step,
                    exclude=(held_out,),
                    max_cost=None if confidence is None else cap,
                    cost_metric=metric,
                    cost_confidence=confidence or DEFAULT_CONFIDENCE,
                )
                picked.append(_row_of(encoded, space.encode([suggestion.config])[0]))
            seconds.append((time.perf_counter() - started) / budget)
            if (
                confidence == DEFAULT_CONFIDENCE
                and method != "random-capped"
                and seed == 0
                and budget >= 5
            ):
                five = configs.iloc[picked[:5]]
                levelled = _cap_for(space, shape, cap, five, list(cost[picked[:5]]))
                out["model"]["after_5"] = _accuracy(levelled, encoded, cost)
            found = np.where(feasible[picked], value[picked], -np.inf)
            curves.append(_constrained_regret(np.maximum.accumulate(found), best, worst))
            violations.append((~feasible[picked]).astype(float).tolist())
        out[method] = {
            "regret": curves,
            "violations": violations,
            "seconds_per_pick": float(np.mean(seconds)),
        }
    return out


def _constrained_regret(so_far: np.ndarray, best: float, worst: float) -> list[float]:
    """(best feasible - best feasible found) / (best feasible - worst): 1 until a feasible
    configuration is found, 0 once one is where every configuration scores the same."""
    span = best - worst
    return [1.0 if not np.isfinite(v) else (best - v) / span if span > 0 else 0.0 for v in so_far]


def _row_of(encoded: np.ndarray, x: np.ndarray) -> int:
    """The row of the encoded pool a suggestion (encoded ``x``) names (pool mode returns
    pool rows)."""
    return int(np.argmin(np.abs(encoded - x).sum(axis=1)))


def _accuracy(cap: CostCap, encoded: np.ndarray, cost: np.ndarray) -> dict[str, float | None]:
    """How well ``cap``'s model predicts a pool's costs."""
    predicted, admitted = cap.predict(encoded), cap.admissible(encoded)
    constant = np.ptp(predicted) == 0 or np.ptp(cost) == 0  # no ranking to compare
    return {
        "spearman": None if constant else round(float(spearmanr(predicted, cost).statistic), 4),
        "median_ratio": round(float(np.median(predicted / cost)), 4),
        "share_admitted": round(float(admitted.mean()), 4),
        "share_admitted_over_cap": round(
            float((admitted & (cost > cap.limit)).sum() / max(1, admitted.sum())), 4
        ),
    }


def summarize(runs: dict[str, dict[str, Any]], budget: int, names: list[str]) -> dict[str, Any]:
    """Means over targets (of each target's seed mean) per method and budget."""
    budgets = [t for t in BUDGETS if t <= budget]
    summary: dict[str, Any] = {"budgets": budgets, "regret": {}, "violation_share": {}, "curve": {}}
    for m in names:
        regret = np.array([np.mean(r[m]["regret"], axis=0) for r in runs.values()])
        cumulative = np.array(
            [
                np.mean(np.cumsum(r[m]["violations"], axis=1) / np.arange(1, budget + 1), axis=0)
                for r in runs.values()
            ]
        )
        summary["curve"][m] = [round(float(v), 5) for v in regret.mean(axis=0)]
        summary["regret"][m] = {
            str(t): [
                round(float(regret[:, t - 1].mean()), 4),
                round(float(regret[:, t - 1].std(ddof=1) / np.sqrt(len(regret))), 4),
            ]
            for t in budgets
        }
        summary["violation_share"][m] = {
            str(t): round(float(cumulative[:, t - 1].mean()), 4) for t in budgets
        }
        summary.setdefault("seconds_per_pick", {})[m] = round(
            float(np.mean([r[m]["seconds_per_pick"] for r in runs.values()])), 3
        )
    for stage in ("zero_shot", "after_5"):
        rows = [r["model"][stage] for r in runs.values() if stage in r["model"]]
        if rows:
            summary.setdefault("cost_model", {})[stage] = {
                k: _median([row[k] for row in rows]) for k in rows[0]
            }
    return summary


def _median(values: list[float | None]) -> float | None:
    """The median of the defined values (``None``: undefined, e.g. a constant cost)."""
    defined = [v for v in values if v is not None]
    return round(float(np.median(defined)), 4) if defined else None


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the JSON and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT_BENCHMARK)
    parser.add_argument("--cost-metric", default="time")
    parser.add_argument("--cap-quantile", type=float, default=0.5)
    parser.add_argument("--targets", type=int, default=0, help="first N targets (0: all)")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--confidences", default="0.5,0.65,0.8,0.95", help="cost confidences of ours-capped-<c>"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "cost_cap.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    bench = read_benchmark(args.benchmark)
    if args.cost_metric not in bench.trials.columns:
        raise SystemExit(f"{args.benchmark}: no metric column {args.cost_metric!r}")
    targets = list(bench.task_ids[: args.targets] if args.targets else bench.task_ids)
    confidences = [float(c) for c in args.confidences.split(",")]
    names = list(methods(confidences))
    with tempfile.TemporaryDirectory() as tmp:
        library_dir, cache = Path(tmp) / "lib", Path(tmp) / "cache"
        import_benchmark(Library.open(library_dir), bench)
        # fit every source GP once, here, so the workers only read the cache
        warm_cache(Library.open(library_dir), cache_dir=cache)
        jobs = [
            {
                "benchmark": str(args.benchmark),
                "library": str(library_dir),
                "cache": str(cache),
                "target": t,
                "cost_metric": args.cost_metric,
                "cap_quantile": args.cap_quantile,
                "seeds": args.seeds,
                "confidences": confidences,
                "budget": args.budget,
            }
            for t in targets
        ]
        runs: dict[str, dict[str, Any]] = {}
        with ExitStack() as stack:
            if args.workers > 1:  # spawned, one torch thread each: a fork after the GP fits'
                # OpenMP threads can deadlock (it did without OMP_NUM_THREADS=1)
                pool = ProcessPoolExecutor(
                    args.workers, mp_context=get_context("spawn"), initializer=single_threaded
                )
                results = stack.enter_context(pool).map(run_target, jobs)
            else:
                results = map(run_target, jobs)
            for target, result in zip(targets, results, strict=True):
                runs[target] = result
                print(
                    target,
                    {
                        m: round(float(np.mean([c[-1] for c in result[m]["regret"]])), 4)
                        for m in names
                    },
                    {m: round(float(np.mean(result[m]["violations"])), 2) for m in names},
                    flush=True,
                )
    summary = summarize(runs, args.budget, names)
    config = vars(args) | {"out": str(args.out), "benchmark": str(args.benchmark)}
    write_script_results(args.out, config, started, summary=summary, per_target=runs)
    _plot(summary, args.out.with_suffix(".png"))
    print(
        json.dumps(
            {k: summary.get(k) for k in ("regret", "violation_share", "cost_model")}, indent=1
        )
    )


def _plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for m in summary["curve"]:
        curve = summary["curve"][m]
        left.plot(np.arange(1, len(curve) + 1), curve, marker="o", ms=3, label=m)
    left.set_yscale("log")
    left.set_xlabel("proposals")
    left.set_ylabel("constrained regret (feasible picks only)")
    left.legend()
    budgets = summary["budgets"]
    for m in summary["curve"]:
        right.plot(
            budgets, [summary["violation_share"][m][str(t)] for t in budgets], marker="o", label=m
        )
    right.set_xlabel("proposals")
    right.set_ylabel("share of proposals over the cap")
    right.set_ylim(0, 1)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    main()
