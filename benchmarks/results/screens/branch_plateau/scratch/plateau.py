# Session 57 scratch, kept as the record of what ran (before the rule was adopted: the
# unpatched propose was then the rule off; rerun it with TransferOptions(branch_plateau_ties=None)).
# Usage: python plateau.py CACHE.pkl BENCHMARK_DIR 3 [--on] > out.json
"""Scratch: a plateau veto on keel (monkeypatched propose), paired with the default."""
import json, pickle, sys
import numpy as np
sys.path.insert(0, "/work/main/benchmarks")
import screen_transfer_options as screen
import recommender.transfer as transfer
from recommender.space import Space
from recommender.branch_search import branch_of

cache = pickle.loads(open(sys.argv[1], "rb").read())
space = Space.from_dict(json.load(open(sys.argv[2] + "/space.json")))
cache["branch_columns"] = space.branching_columns()
cols = list(cache["branch_columns"])
screen._init(cache)
K = int(sys.argv[3]) if len(sys.argv) > 3 else 3
orig = transfer.propose
hits = []

def patched(**kw):
    y, X, free = kw["obs_y"], kw["obs_X"], kw["free"]
    n = len(y)
    if n > K and not kw.get("pending"):
        v = y.max()
        if np.all(y[n - K:] == v) and y[: n - K].max() == v:
            plateau = X[y == v]
            cand = kw["cand_X"]
            pb = branch_of(plateau, cols) if cols else np.zeros(len(plateau), int)
            cb = branch_of(cand, cols) if cols else np.zeros(len(cand), int)
            veto = np.zeros(len(cand), bool)
            for b in np.unique(pb):
                P = plateau[pb == b]
                if len(P) < 2:
                    continue
                lo, hi = P.min(0), P.max(0)
                veto |= (cb == b) & np.all((cand >= lo - 1e-12) & (cand <= hi + 1e-12), axis=1)
            if (free & ~veto).any() and (free & veto).any():
                hits.append(int((free & veto).sum()))
                kw = {**kw, "free": free & ~veto}
    return orig(**kw)

transfer.propose = patched if "--on" in sys.argv else orig
targets = list(cache["truth"])
out = {}
for tgt in targets:
    for seed in range(3):
        r, _ = screen.search({}, tgt, seed, 30)
        out[f"{tgt}/{seed}"] = r
print(json.dumps({"hits": len(hits), "regret": out}))
