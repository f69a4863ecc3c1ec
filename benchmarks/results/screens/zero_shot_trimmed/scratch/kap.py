import sys, json, pickle
import numpy as np
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
from recommender.first_pick import pick_regret, zero_shot_scores
from recommender.surrogate import regret_scale
"""Scratch (session 59): the regret LCB's kappa and its spread term, first picks only.

Reads the cases (benchmark caches under /tmp/s5x) from trim.py beside it."""
src = open("/tmp/s59/trim.py").read()
exec(src[src.index("CASES = dict("):src.index("out = {}")])
out = {}
for name, path in CASES.items():
    cache = pickle.load(open(path, "rb"))
    res = {}
    for target, (_, score) in cache["truth"].items():
        (mean, std), q = cache["preds"][target]
        q = np.stack(q)
        rm, rs = regret_scale(mean, std, q)
        z = np.zeros_like(rs)
        vals = {
            "lcb1": zero_shot_scores(rm, rs, kappa=1.0),
            "lcb0.5": zero_shot_scores(rm, rs, kappa=0.5),
            "lcb2": zero_shot_scores(rm, rs, kappa=2.0),
            "lcb1_nostd": zero_shot_scores(rm, z, kappa=1.0),
            "lcb0.5_nostd": zero_shot_scores(rm, z, kappa=0.5),
            "cop_lcb_nostd": zero_shot_scores(mean, np.zeros_like(std), kappa=1.0),
            "cop_mean": zero_shot_scores(mean, std, kappa=0.0),
        }
        for kk, v in vals.items(): res.setdefault(kk, []).append(pick_regret(score, v))
    out[name] = res
    print(name, {k: round(float(np.mean(v)), 4) for k, v in res.items()}, flush=True)
syn = [k for k in out if k.startswith("syn") or k.startswith("s8")]
print("POOLED syn", {k: round(float(np.mean(np.concatenate([out[c][k] for c in syn]))), 4) for k in out["lcbench"]})
json.dump(out, open("/tmp/s59/kap.json", "w"))
