"""Do a task's costs stray from the cost model's shape smoothly? (session 54, a screen)

For each LCBench task, the shape is fitted on the other 33 tasks (`fit_cost_shape`); the
task's residuals ``log time - f(x)`` at 300 random configurations train a Matérn 5/2 GP
with its hyperparameters fitted on them (scikit-learn), which predicts the residuals of
500 other configurations. Compared with the mean of the 300 residuals (a level alone), and
with 10 random residuals, where the GP's hyperparameters cannot be fitted from the task
itself (the product takes them from the sources instead, `recommender.cost_residual`).
Run from the repository root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/results/screens/cost_residual/smoothness.py
"""

import json
import warnings
from pathlib import Path

import numpy as np
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

from library import read_benchmark
from recommender.cost_cap import fit_cost_shape
from recommender.space import Space

warnings.filterwarnings("ignore")
HERE = Path(__file__).resolve().parent
bench = read_benchmark(HERE.parents[3].parent / "shared" / "benchmarks" / "lcbench")
space = Space.from_dict(bench.space)
tables = {}
for task in bench.task_ids:
    table = bench.task_table(task)
    tables[task] = table[list(bench.parameter_names)].assign(value=table["time"].to_numpy(float))
rng = np.random.default_rng(0)


def gp(dim: int) -> GaussianProcessRegressor:
    kernel = ConstantKernel(0.1) * Matern(np.full(dim, 0.5), (1e-2, 1e2), nu=2.5)
    return GaussianProcessRegressor(kernel + WhiteKernel(0.05), normalize_y=True, random_state=0)


rows = []
for task in bench.task_ids:
    shape = fit_cost_shape(space, {k: v for k, v in tables.items() if k != task}, "time")
    X = space.encode(tables[task].drop(columns=["value"]))
    r = np.log(tables[task]["value"].to_numpy()) - shape.log_shape(X)
    train = rng.choice(len(r), 300, replace=False)
    test = np.setdiff1d(np.arange(len(r)), train)[:500]
    row = {"task": task}
    for n in (300, 10):
        seen = train[:n]
        fitted = gp(X.shape[1]).fit(X[seen], r[seen])
        row[f"gp_{n}"] = float(np.std(r[test] - fitted.predict(X[test])))
        row[f"level_{n}"] = float(np.std(r[test] - r[seen].mean()))
    rows.append(row)
    print(row, flush=True)
summary = {k: float(np.mean([row[k] for row in rows])) for k in rows[0] if k != "task"}
(HERE / "smoothness.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
print(json.dumps(summary, indent=1))
