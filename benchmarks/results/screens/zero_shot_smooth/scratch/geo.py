"""Per target: the LOSO paired differences (typical copula minus regret LCB) under top-1
and geometric rank-weighted (smooth) regrets; saved so any statistic can be computed later."""
import sys, pickle, json, numpy as np, time
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
from recommender.first_pick import first_pick_scores, zero_shot_scores
from recommender.surrogate import regret_scale
PS = (1.0, 0.5, 0.25, 0.1)   # p = 1 is top-1
def two(mean, std, q):
    rm, rs = regret_scale(mean, std, q)
    return zero_shot_scores(rm, rs, kappa=1.0), first_pick_scores("typical-copula", mean, std, q)
def smooth(truth, scores, p):
    span = float(truth.max() - truth.min())
    if span <= 0: return 0.0
    order = np.argsort(-scores, kind="stable")
    reg = (truth.max() - truth[order]) / span
    if p >= 1: return float(reg[0])
    w = p * (1 - p) ** np.arange(len(reg)); w /= w.sum()
    return float(w @ reg)
cache = pickle.load(open(sys.argv[1], "rb"))
tasks = list(cache["truth"])
out = {"targets": {}, "ps": PS}
t0 = time.time()
for i, target in enumerate(tasks):
    diffs = {p: [] for p in PS}
    for source in tasks:
        if source == target: continue
        others = [t for t in tasks if t != source]
        keep = [k for k, t in enumerate(others) if t != target]
        (mean, std), q = cache["preds"][source]
        lcb, typ = two(mean[keep], std[keep], np.stack([q[k] for k in keep]))
        truth = cache["truth"][source][1]
        for p in PS: diffs[p].append(smooth(truth, typ, p) - smooth(truth, lcb, p))
    (mean, std), q = cache["preds"][target]
    lcb, typ = two(mean, std, np.stack(q))
    truth = cache["truth"][target][1]
    own = {p: [smooth(truth, lcb, p), smooth(truth, typ, p)] for p in PS}
    out["targets"][target] = {"diffs": {str(p): diffs[p] for p in PS}, "own": {str(p): own[p] for p in PS}}
    if i % 10 == 0: print(i, round(time.time() - t0), flush=True)
json.dump(out, open(sys.argv[2], "w"))
print("done", time.time() - t0)
