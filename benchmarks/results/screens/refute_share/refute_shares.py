import sys, pickle, json
sys.path.insert(0, "/work/main/benchmarks")
import numpy as np
import screen_transfer_options as S
import recommender.transfer as T
from recommender.guardrails import ranking_losses
log = []
orig = T.refuted_consensus
def wrapped(obs_mean, y, **kw):
    n_pairs = len(y) * (len(y) - 1) / 2
    if len(y) >= 5 and len(y) <= 12:
        anti = (ranking_losses(obs_mean, y) > 0.5 * n_pairs).mean()
        log.append((len(y), float(anti)))
    return orig(obs_mean, y, **kw)
T.refuted_consensus = wrapped
cache = pickle.load(open(sys.argv[1], "rb"))
S._init(cache)
seeds = [int(s) for s in sys.argv[2].split(",")]
for target in cache["truth"]:
    for seed in seeds:
        S.search({}, target, seed, 12)
arr = np.array(log)
for t in range(5, 13):
    a = arr[arr[:, 0] == t, 1]
    if len(a): print(t, len(a), "share>=0.5: %.2f >=0.67: %.2f >=0.75: %.2f" % ((a >= 0.5).mean(), (a >= 2/3).mean(), (a >= 0.75).mean()), "quartiles", np.quantile(a, [0.1, 0.25, 0.5, 0.75]).round(2))
