"""The cost cap with and without the target's residual GP (session 54, a screen).

For each LCBench target (leave one task out, cap = the target's ``--cap-quantile`` of
`time`), the cost model is fitted on the other 33 tasks and conditioned on 10 of the
target's costs, drawn two ways: ``random`` (uniform over the pool) and ``search`` (one at
a time, the best objective among 300 random rows that the level-only cap at 0.8 admits:
a search that keeps to the cap's good region). At confidence 0.8 and 0.95, over the rest of
the pool: the share admitted, the share of admitted rows over the cap, the "floor" (the
regret of the best admitted row that truly fits: no search inside the filter does better),
the log-scale error of the predicted cost, and whether the best admitted row by objective
is over the cap. ``gp`` is the product's cap (`CostCap.for_target`), ``level`` the same
with ``residual=None`` (the session-53 model: one level and one error for the target). 3
draws per regime and target. Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/results/screens/cost_residual/screen.py 0.5
"""

import json
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from library import read_benchmark
from recommender.cost_cap import CostCap, fit_cost_shape
from recommender.space import Space

warnings.filterwarnings("ignore")
HERE = Path(__file__).resolve().parent
QUANTILE = float(sys.argv[1])
bench = read_benchmark(HERE.parents[3].parent / "shared" / "benchmarks" / "lcbench")
space = Space.from_dict(bench.space)
tables, objective = {}, {}
for task in bench.task_ids:
    table = bench.task_table(task)
    tables[task] = table[list(bench.parameter_names)].assign(value=table["time"].to_numpy(float))
    objective[task] = table[bench.objective].to_numpy(float)
rng = np.random.default_rng(1)
rows, kernels, fit_seconds = [], {}, []
for task in bench.task_ids:
    X = space.encode(tables[task].drop(columns=["value"]))
    cost, y = tables[task]["value"].to_numpy(), objective[task]
    start = time.perf_counter()
    shape = fit_cost_shape(space, {k: v for k, v in tables.items() if k != task}, "time")
    fit_seconds.append(time.perf_counter() - start)
    kernel = shape.residual_kernel
    kernels[task] = {"lengthscales": kernel.lengthscales.tolist(), "smooth_share": kernel.smooth_share}
    cap = float(np.quantile(cost, QUANTILE))
    feasible = cost <= cap
    best, worst = y[feasible].max(), y.min()

    def caps(seen, confidence):
        gp = CostCap.for_target(cap, shape, X[seen], cost[seen], confidence=confidence)
        return {"gp": gp, "level": replace(gp, residual=None)}

    for regime in ("random", "search"):
        for draw in range(3):
            if regime == "random":
                seen = rng.choice(len(cost), 10, replace=False)
            else:
                seen = []
                candidates = rng.choice(len(cost), 300, replace=False)
                for _ in range(10):
                    model = caps(seen, 0.8)["level"] if seen else CostCap.for_target(cap, shape)
                    ok = model.admissible(X[candidates]) & ~np.isin(candidates, seen)
                    ok = ok if ok.any() else ~np.isin(candidates, seen)
                    seen.append(int(candidates[ok][np.argmax(y[candidates[ok]])]))
                seen = np.array(seen)
            rest = np.setdiff1d(np.arange(len(cost)), seen)
            for confidence in (0.8, 0.95):
                for name, model in caps(seen, confidence).items():
                    admitted = model.admissible(X[rest])
                    fits = admitted & feasible[rest]
                    floor = (best - y[rest][fits].max()) / (best - worst) if fits.any() else 1.0
                    top = rest[admitted][np.argmax(y[rest][admitted])] if admitted.any() else None
                    rows.append(
                        {
                            "task": task,
                            "regime": regime,
                            "confidence": confidence,
                            "model": name,
                            "admitted": float(admitted.mean()),
                            "over_cap_among_admitted": float(
                                (admitted & ~feasible[rest]).sum() / max(admitted.sum(), 1)
                            ),
                            "floor": float(floor),
                            "log_error": float(
                                np.sqrt(np.mean((np.log(cost[rest] / model.predict(X[rest]))) ** 2))
                            ),
                            "best_admitted_over": None if top is None else bool(cost[top] > cap),
                        }
                    )
keys = ("admitted", "over_cap_among_admitted", "floor", "log_error", "best_admitted_over")
summary = {}
for regime in ("random", "search"):
    for confidence in (0.8, 0.95):
        for name in ("level", "gp"):
            mine = [r for r in rows if (r["regime"], r["confidence"], r["model"]) == (regime, confidence, name)]
            summary[f"{regime}/{confidence}/{name}"] = {
                k: float(np.mean([float(r[k]) for r in mine if r[k] is not None])) for k in keys
            }
        gp = [r["floor"] for r in rows if (r["regime"], r["confidence"], r["model"]) == (regime, confidence, "gp")]
        level = [r["floor"] for r in rows if (r["regime"], r["confidence"], r["model"]) == (regime, confidence, "level")]
        per_task = np.array(gp).reshape(34, 3).mean(1) - np.array(level).reshape(34, 3).mean(1)
        summary[f"{regime}/{confidence}/floor_gp_minus_level"] = {
            "mean": float(per_task.mean()),
            "stderr": float(per_task.std(ddof=1) / np.sqrt(len(per_task))),
        }
out = {
    "cap_quantile": QUANTILE,
    "fit_cost_shape_seconds_median": float(np.median(fit_seconds)),
    "summary": summary,
    "kernels": kernels,
    "rows": rows,
}
(HERE / f"screen_q{round(QUANTILE * 100)}.json").write_text(json.dumps(out, indent=1))
print(json.dumps({"fit_s": out["fit_cost_shape_seconds_median"], **summary}, indent=1))
