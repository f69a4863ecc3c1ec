"""How much regret the cost cap's filter alone leaves (session 53, a screen).

For each LCBench target (leave one task out, cap = the target's median `time`), the cost
model is fitted on the other 33 tasks and levelled on 10 random costs of the target; at
each confidence, the "floor" is the normalized regret of the best configuration that the
cap admits and that is truly within the cap (best and worst over the feasible pool and the
whole pool): no search restricted to the admitted set can do better. Run from the
repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/results/screens/cost_cap_floor/floor.py
"""

import json
from pathlib import Path

import numpy as np

from library import read_benchmark
from recommender.cost_cap import CostCap, fit_cost_shape
from recommender.space import Space

HERE = Path(__file__).resolve().parent
bench = read_benchmark(HERE.parents[3].parent / "shared" / "benchmarks" / "lcbench")
space = Space.from_dict(bench.space)
tables, values = {}, {}
for task in bench.task_ids:
    table = bench.task_table(task)
    tables[task] = table[list(bench.parameter_names)].assign(value=table["time"].to_numpy(float))
    values[task] = table[bench.objective].to_numpy(float)
rng = np.random.default_rng(0)
rows = []
for task in bench.task_ids:
    shape = fit_cost_shape(space, {k: v for k, v in tables.items() if k != task}, "time")
    X = space.encode(tables[task].drop(columns=["value"]))
    cost, y = tables[task]["value"].to_numpy(), values[task]
    cap = float(np.quantile(cost, 0.5))
    feasible = cost <= cap
    best, worst = y[feasible].max(), y.min()
    seen = rng.choice(len(cost), 10, replace=False)
    for confidence in (0.5, 0.65, 0.8, 0.95):
        admitted = CostCap.for_target(cap, shape, X[seen], cost[seen], confidence=confidence)
        mask = admitted.admissible(X)
        ok = mask & feasible
        floor = float((best - y[ok].max()) / (best - worst)) if ok.any() else 1.0
        rows.append(
            {
                "task": task,
                "confidence": confidence,
                "floor": floor,
                "admitted_share": float(mask.mean()),
                "over_cap_among_admitted": float((mask & ~feasible).sum() / max(mask.sum(), 1)),
            }
        )
summary = {
    str(c): {
        key: float(np.mean([r[key] for r in rows if r["confidence"] == c]))
        for key in ("floor", "admitted_share", "over_cap_among_admitted")
    }
    for c in (0.5, 0.65, 0.8, 0.95)
}
(HERE / "floor.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
print(json.dumps(summary, indent=1))
