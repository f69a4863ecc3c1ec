import sys, json, pickle
import numpy as np
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
from screen_zero_shot import criteria
from recommender.first_pick import pick_regret
cache = pickle.load(open(sys.argv[1], "rb"))
fp = cache.get("first_pick")
print(type(fp), (list(fp.items())[:3] if isinstance(fp, dict) else fp))
res = {}
for target, (_, score) in cache["truth"].items():
    (mean, std), q = cache["preds"][target]
    vals = criteria(mean, std, np.stack(q))
    for k, v in vals.items(): res.setdefault(k, []).append(pick_regret(score, v))
    ch = fp[target] if isinstance(fp, dict) else None
    crit = {"regret-lcb": "lcb_regret", "typical-copula": "typical_copula", "copula-mean": "mean_copula"}.get(getattr(ch, "criterion", ch if isinstance(ch, str) else None))
    res.setdefault("harness_choice", []).append(crit)
    if crit: res.setdefault("harness", []).append(pick_regret(score, vals[crit]))
print({k: round(float(np.mean(v)), 4) for k, v in res.items() if k != "harness_choice"})
from collections import Counter; print(Counter(res["harness_choice"]))
json.dump(res, open(sys.argv[2], "w"))
