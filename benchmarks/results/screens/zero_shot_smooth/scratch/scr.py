import sys, pickle, json, numpy as np
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
from screen_zero_shot import criteria
from recommender.first_pick import source_typicality, pick_regret, zero_shot_scores
from recommender.surrogate import regret_scale
CASES = dict(lcbench="/tmp/s58/lc.pkl", keel="/tmp/s55/keel.pkl", syn1="/tmp/s55/syn1.pkl",
  syn2026="/tmp/s55/syn2026.pkl", synind="/tmp/s55/synind.pkl",
  **{f"syn{i}": f"/tmp/s56/syn{i}.pkl" for i in range(2, 7)},
  **{f"syn{i}": f"/tmp/s58/syn{i}.pkl" for i in range(7, 12)},
  s8_80="/tmp/s56/syn8_80.pkl", s8_81="/tmp/s56/syn8_81.pkl", s8_82="/tmp/s58/syn8_82.pkl", s8_83="/tmp/s58/syn8_83.pkl",
  syn100b="/tmp/s59/syn100b.pkl", syn100c="/tmp/s59/syn100c.pkl")
only = sys.argv[1].split(",") if len(sys.argv) > 1 else list(CASES)
def typ_raw(mean):
    from recommender.guardrails import rank_correlations
    c = rank_correlations(mean); np.fill_diagonal(c, 0); return c.sum(1) / (len(mean) - 1)
def lex(primary, secondary, share):
    k = max(1, int(np.ceil(share * primary.size)))
    top = np.argsort(-primary, kind="stable")[:k]
    s = np.full(primary.size, -np.inf); s[top] = secondary[top]; return s
res = {}
for name in only:
    c = pickle.load(open(CASES[name], "rb"))
    out = {}; tys = []
    for target, (_, truth) in c["truth"].items():
        (mean, std), q = c["preds"][target]; q = np.stack(q)
        v = criteria(mean, std, q)
        raw = typ_raw(mean); tys.append(np.sort(raw))
        q1, q3 = np.percentile(raw, [25, 75]); keep = raw >= q1 - 1.5 * (q3 - q1)
        rm, rs = regret_scale(mean[keep], std[keep], q[keep])
        v["lcb_tukey"] = zero_shot_scores(rm, rs, kappa=1.0)
        med = np.median(raw); keep2 = raw >= 0.5 * med
        rm, rs = regret_scale(mean[keep2], std[keep2], q[keep2])
        v["lcb_half_med"] = zero_shot_scores(rm, rs, kappa=1.0)
        for sh in (0.02, 0.05, 0.1):
            v[f"typ_in_lcb{sh}"] = lex(v["lcb_regret"], v["typical_copula"], sh)
            v[f"lcb_in_typ{sh}"] = lex(v["typical_copula"], v["lcb_regret"], sh)
        v["n_out_tukey"] = None
        for k, s in v.items():
            if s is None: out.setdefault(k, []).append(int((~keep).sum())); continue
            out.setdefault(k, []).append(pick_regret(truth, s))
    res[name] = {k: float(np.mean(x)) for k, x in out.items()}
    t = np.concatenate(tys); res[name]["typ_q"] = [round(float(x), 3) for x in np.percentile(t, [0, 5, 25, 50, 75, 100])]
    print(name, json.dumps({k: (round(x, 4) if isinstance(x, float) else x) for k, x in res[name].items()}), flush=True)
json.dump(res, open(f"/tmp/s60/scr_{sys.argv[2] if len(sys.argv)>2 else 'all'}.json", "w"))
