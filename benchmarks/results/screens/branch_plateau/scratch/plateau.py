"""Session 57 scratch, kept as the record of what ran: three forms of the flat-branch rule
on keel_conditional, by wrapping `recommender.transfer.propose` (before the rule was an
option: the unwrapped propose was then the rule off; to rerun, pass
``TransferOptions(branch_plateau_ties=None)`` through `screen.search`).

    python plateau.py CACHE.pkl BENCHMARK_DIR K FORM [--on] > out.json

FORM ``box``: the last K picks tied the incumbent's value (no improvement); leave the box
around each branch's tied points (``pl_on.json``). ``branch``: the same trigger, leave the
tied points' branches (``plb_on.json``). ``count``: more than K observations of a branch
equal the best value; leave that branch (``plc_on.json``, the adopted form with K = 3, i.e.
``branch_plateau_ties=4``). Without ``--on``: the unwrapped search (``pl_off.json``).
``cmp.py OFF.json ON.json`` pairs two outputs over targets.
"""
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
K, FORM = int(sys.argv[3]), sys.argv[4]
orig = transfer.propose
hits = []


def veto_of(y, X, cand):
    """Candidates the form takes out, or None when it does not fire."""
    n, v = len(y), y.max()
    cb = branch_of(cand, cols)
    veto = np.zeros(len(cand), bool)
    if FORM == "count":
        pb = branch_of(X[y == v], cols)
        for b in np.unique(pb):
            if (pb == b).sum() > K:
                veto |= cb == b
        return veto
    if not (np.all(y[n - K:] == v) and y[: n - K].max() == v):
        return None
    plateau = X[y == v]
    pb = branch_of(plateau, cols)
    for b in np.unique(pb):
        P = plateau[pb == b]
        if len(P) < 2:
            continue
        inside = np.all((cand >= P.min(0) - 1e-12) & (cand <= P.max(0) + 1e-12), axis=1)
        veto |= (cb == b) & (inside if FORM == "box" else True)
    return veto


def patched(**kw):
    y, X, free = kw["obs_y"], kw["obs_X"], kw["free"]
    if len(y) > K and len(cols):
        veto = veto_of(y, X, kw["cand_X"])
        if veto is not None and (free & ~veto).any() and (free & veto).any():
            hits.append(int((free & veto).sum()))
            kw = {**kw, "free": free & ~veto}
    return orig(**kw)


transfer.propose = patched if "--on" in sys.argv else orig
out = {}
for tgt in cache["truth"]:
    for seed in range(3):
        out[f"{tgt}/{seed}"] = screen.search({}, tgt, seed, 30)[0]
print(json.dumps({"hits": len(hits), "regret": out}))
