"""Scratch: trimmed regret-LCB first picks on cached source predictions."""
import sys, json, pickle
import numpy as np
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
from screen_zero_shot import criteria, loso_t_statistic
from recommender.first_pick import pick_regret, zero_shot_scores
from recommender.surrogate import regret_scale

def trimmed(reg_mean, reg_std, k):
    S, n = reg_mean.shape
    k = min(k, S - 1)
    if k <= 0:
        return zero_shot_scores(reg_mean, reg_std, kappa=1.0)
    order = np.argsort(reg_mean, axis=0)  # ascending: worst first
    keep = np.ones_like(reg_mean, dtype=bool)
    np.put_along_axis(keep, order[:k], False, axis=0)
    w = keep / keep.sum(0)
    m = (w * reg_mean).sum(0)
    v = (w * ((reg_mean - m) ** 2 + reg_std**2)).sum(0)
    return m - np.sqrt(v)

CASES = dict(
    lcbench="/tmp/s58/lc.pkl", keel="/tmp/s55/keel.pkl",
    syn1="/tmp/s55/syn1.pkl", syn2="/tmp/s56/syn2.pkl", syn3="/tmp/s56/syn3.pkl",
    syn4="/tmp/s56/syn4.pkl", syn5="/tmp/s56/syn5.pkl", syn6="/tmp/s56/syn6.pkl",
    syn7="/tmp/s58/syn7.pkl", syn8="/tmp/s58/syn8.pkl", syn9="/tmp/s58/syn9.pkl",
    syn10="/tmp/s58/syn10.pkl", syn11="/tmp/s58/syn11.pkl", syn2026="/tmp/s55/syn2026.pkl",
    synind="/tmp/s55/synind.pkl", s8_80="/tmp/s56/syn8_80.pkl", s8_81="/tmp/s56/syn8_81.pkl",
    s8_82="/tmp/s58/syn8_82.pkl", s8_83="/tmp/s58/syn8_83.pkl",
)
out = {}
for name, path in CASES.items():
    cache = pickle.load(open(path, "rb"))
    res = {}
    for target, (_, score) in cache["truth"].items():
        (mean, std), q = cache["preds"][target]
        q = np.stack(q)
        base = criteria(mean, std, q)
        rm, rs = regret_scale(mean, std, q)
        S = len(mean)
        vals = {"lcb": base["lcb_regret"], "copula": base["mean_copula"], "typical": base["typical_copula"]}
        for k in (1, 2): vals[f"trim{k}"] = trimmed(rm, rs, k)
        for f in (0.1, 0.2): vals[f"trimf{f}"] = trimmed(rm, rs, int(np.floor(f * S)))
        t = loso_t_statistic(cache, target, "lcb_regret", "typical_copula")
        vals["default"] = vals["typical"] if t < -1.645 else vals["lcb"]
        for kk, v in vals.items(): res.setdefault(kk, []).append(pick_regret(score, v))
    out[name] = res
    print(name, len(cache["truth"]), {k: round(float(np.mean(v)), 4) for k, v in res.items()}, flush=True)
json.dump(out, open("/tmp/s59/trim.json", "w"))
