"""Odd-shaped benchmarks in the shared format, for a robustness sweep."""
import json, sys
from pathlib import Path
import numpy as np, pandas as pd

def write(d, space, df):
    d = Path(d); d.mkdir(parents=True, exist_ok=True)
    (d / "space.json").write_text(json.dumps(space, indent=1))
    df.to_parquet(d / "trials.parquet", index=False)

rng = np.random.default_rng(0)

def variant_a(d):
    """no fidelity, numeric categorical choices, nested conditions, dotted names, minimize, NaN rows, 3 tasks"""
    params = [
        {"name": "model.kind", "type": "categorical", "choices": ["mlp", "tree", "linear"]},
        {"name": "mlp.width", "type": "int", "low": 8, "high": 512, "log": True},
        {"name": "mlp.act", "type": "categorical", "choices": ["relu", "tanh"]},
        {"name": "mlp.slope", "type": "float", "low": 0.0, "high": 0.5, "log": False},
        {"name": "tree.depth", "type": "int", "low": 1, "high": 12, "log": False},
        {"name": "batch", "type": "categorical", "choices": [16, 32, 64]},
        {"name": "lr", "type": "float", "low": 1e-5, "high": 1.0, "log": True},
    ]
    conds = [
        {"child": "mlp.width", "parent": "model.kind", "values": ["mlp"]},
        {"child": "mlp.act", "parent": "model.kind", "values": ["mlp"]},
        {"child": "mlp.slope", "parent": "mlp.act", "values": ["relu"]},
        {"child": "tree.depth", "parent": "model.kind", "values": ["tree"]},
    ]
    rows = []
    for t in range(3):
        n = [150, 90, 200][t]
        for c in range(n):
            kind = rng.choice(["mlp", "tree", "linear"])
            r = {"task_id": str(1000 + t), "config_id": c, "model.kind": kind,
                 "mlp.width": np.nan, "mlp.act": None, "mlp.slope": np.nan, "tree.depth": np.nan,
                 "batch": str(rng.choice([16, 32, 64])), "lr": float(np.exp(rng.uniform(np.log(1e-5), 0)))}
            loss = (np.log10(r["lr"]) + 2 + 0.3 * t) ** 2
            if kind == "mlp":
                r["mlp.width"] = float(np.round(np.exp(rng.uniform(np.log(8), np.log(512)))))
                r["mlp.act"] = rng.choice(["relu", "tanh"])
                if r["mlp.act"] == "relu":
                    r["mlp.slope"] = rng.uniform(0, .5); loss += r["mlp.slope"]
                loss += abs(np.log2(r["mlp.width"]) - 6) * 0.1
            elif kind == "tree":
                r["tree.depth"] = float(rng.integers(1, 13)); loss += abs(r["tree.depth"] - 6) * 0.2 - 0.3
            r["err"] = np.float32(loss + rng.normal(0, .05))
            if rng.random() < 0.03: r["err"] = np.float32("nan")
            rows.append(r)
    df = pd.DataFrame(rows)
    space = {"name": "fuzz_a", "parameters": params, "conditions": conds,
             "objective": {"name": "err", "direction": "minimize"}, "metrics": ["err"],
             "n_tasks": 3, "configs_per_task": 150, "source": "synthetic"}
    write(d, space, df)

def variant_b(d):
    """fidelity with fractional values, boolean-ish categorical, constant-objective task, 2 metrics, maximize"""
    params = [
        {"name": "x", "type": "float", "low": -5, "high": 5},
        {"name": "n", "type": "int", "low": 1, "high": 3},
        {"name": "flag", "type": "categorical", "choices": ["true", "false"]},
    ]
    rows = []
    for t in range(5):
        for c in range(60):
            x = rng.uniform(-5, 5); n = int(rng.integers(1, 4)); flag = rng.choice(["true", "false"])
            for f in (0.25, 0.5, 1.0):
                v = -(x - t + 2) ** 2 + n + (flag == "true") + f
                if t == 4: v = 1.0
                rows.append({"task_id": f"t{t}", "config_id": c, "x": x, "n": float(n), "flag": flag,
                             "frac": f, "acc": np.float32(v), "time": np.float32(f * 3)})
    space = {"name": "fuzz_b", "parameters": params,
             "objective": {"name": "acc", "direction": "maximize"},
             "fidelity": {"name": "frac", "values": [0.25, 0.5, 1.0], "max": 1.0},
             "metrics": ["acc", "time"], "n_tasks": 5, "configs_per_task": 60, "source": "synthetic"}
    write(d, space, pd.DataFrame(rows))

def variant_c(d):
    """~20 encoded dims: categorical parent with 4 learners each with 3-4 children (cat + num), minimize"""
    learners = {"svm": [("svm.C", "float", 1e-3, 1e3, True), ("svm.gamma", "float", 1e-4, 10, True), ("svm.kernel", "cat", ["rbf", "poly", "sigmoid"])],
                "rf": [("rf.n", "int", 10, 500, True), ("rf.depth", "int", 2, 30, False), ("rf.crit", "cat", ["gini", "entropy"])],
                "knn": [("knn.k", "int", 1, 50, True), ("knn.w", "cat", ["uniform", "distance"])],
                "gb": [("gb.lr", "float", 1e-3, 1, True), ("gb.n", "int", 10, 300, False), ("gb.sub", "float", 0.5, 1.0, False)]}
    params = [{"name": "learner", "type": "categorical", "choices": list(learners)}]
    conds = []
    for l, ch in learners.items():
        for spec in ch:
            if spec[1] == "cat":
                params.append({"name": spec[0], "type": "categorical", "choices": spec[2]})
            else:
                params.append({"name": spec[0], "type": spec[1], "low": spec[2], "high": spec[3], "log": spec[4]})
            conds.append({"child": spec[0], "parent": "learner", "values": [l]})
    params.append({"name": "scale", "type": "categorical", "choices": ["none", "std", "minmax"]})
    rows = []
    for t in range(10):
        off = rng.normal(size=4)
        for c in range(300):
            l = rng.choice(list(learners)); r = {"task_id": f"task-{t:02d}", "config_id": c, "learner": l, "scale": rng.choice(["none", "std", "minmax"])}
            for ll, ch in learners.items():
                for spec in ch:
                    r[spec[0]] = None if spec[1] == "cat" else np.nan
            loss = off[list(learners).index(l)]
            for spec in learners[l]:
                if spec[1] == "cat":
                    r[spec[0]] = rng.choice(spec[2]); loss += 0.2 * (r[spec[0]] != spec[2][0])
                else:
                    lo, hi = (np.log(spec[2]), np.log(spec[3])) if spec[4] else (spec[2], spec[3])
                    u = rng.uniform(lo, hi); v = np.exp(u) if spec[4] else u
                    if spec[1] == "int": v = float(np.round(v))
                    r[spec[0]] = v; loss += ((u - lo) / (hi - lo) - 0.3 - 0.04 * t) ** 2
            r["loss"] = np.float32(loss); rows.append(r)
    space = {"name": "fuzz_c", "parameters": params, "conditions": conds,
             "objective": {"name": "loss", "direction": "minimize"}, "metrics": ["loss"],
             "n_tasks": 10, "configs_per_task": 300, "source": "synthetic"}
    write(d, space, pd.DataFrame(rows))

for name, fn in [("a", variant_a), ("b", variant_b), ("c", variant_c)]:
    fn(Path(sys.argv[1]) / name)
