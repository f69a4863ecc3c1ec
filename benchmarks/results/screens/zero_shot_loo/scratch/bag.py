"""Scratch (session 59): a bagged leave-one-source-out test for the zero-shot criterion.

Each pseudo-target's regret difference (typical copula mean minus regret LCB) is averaged
over B random halves of its sources, so that no one source moves the statistic much.
Usage: bag.py CACHE OUT B [targets-limit]"""
import sys, json, pickle, time
import numpy as np
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
from screen_zero_shot import criteria
from recommender.first_pick import paired_t_statistic, pick_regret

cache = pickle.load(open(sys.argv[1], "rb")); B = int(sys.argv[3])
tasks = list(cache["truth"])
def t_bagged(target):
    diffs = []
    for source in tasks:
        if source == target:
            continue
        others = [t for t in tasks if t != source]
        keep = np.array([i for i, t in enumerate(others) if t != target])
        (mean, std), q = cache["preds"][source]
        truth = cache["truth"][source][1]
        rng = np.random.default_rng(abs(hash((source, "bag"))) % 2**32)
        d = []
        for b in range(B):
            sub = np.sort(rng.choice(keep, size=max(2, len(keep) // 2), replace=False))
            sc = criteria(mean[sub], std[sub], np.stack([q[i] for i in sub]))
            d.append(pick_regret(truth, sc["typical_copula"]) - pick_regret(truth, sc["lcb_regret"]))
        diffs.append(np.mean(d))
    return paired_t_statistic(diffs)
out = {}; t0 = time.time()
for i, target in enumerate(tasks):
    out[target] = t_bagged(target)
json.dump(out, open(sys.argv[2], "w"))
print("done", round(time.time() - t0), flush=True)
