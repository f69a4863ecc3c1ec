import sys, pickle, json, numpy as np
sys.path.insert(0, "/work/main")
from recommender.first_pick import first_pick_scores, zero_shot_scores, pick_regret
from recommender.surrogate import regret_scale
CASES = dict(lcbench="/tmp/s58/lc.pkl", keel="/tmp/s55/keel.pkl", syn1="/tmp/s55/syn1.pkl",
  syn2026="/tmp/s55/syn2026.pkl", synind="/tmp/s55/synind.pkl",
  **{f"syn{i}": f"/tmp/s56/syn{i}.pkl" for i in range(2, 7)},
  **{f"syn{i}": f"/tmp/s58/syn{i}.pkl" for i in range(7, 12)},
  s8_80="/tmp/s56/syn8_80.pkl", s8_81="/tmp/s56/syn8_81.pkl", s8_82="/tmp/s58/syn8_82.pkl", s8_83="/tmp/s58/syn8_83.pkl",
  syn100b="/tmp/s59/syn100b.pkl", syn100c="/tmp/s59/syn100c.pkl")
only = sys.argv[1].split(",")
res = {}
for name in only:
    c = pickle.load(open(CASES[name], "rb")); out = {}
    for target, (_, truth) in c["truth"].items():
        (mean, std), q = c["preds"][target]; q = np.stack(q)
        rm, rs = regret_scale(mean, std, q)
        lcb = zero_shot_scores(rm, rs, kappa=1.0); typ = first_pick_scores("typical-copula", mean, std, q)
        v = {"lcb": lcb, "typ": typ}
        lo = rm.min(0)
        srt = np.sort(rm, 0)
        for tau in (0.2, 0.3, 0.5):
            ok = lo >= tau
            v[f"typ_floor{tau}"] = np.where(ok, typ, -np.inf) if ok.any() else lcb
        # second-lowest source (one dissenter allowed)
        for tau in (0.3, 0.5):
            ok = srt[1] >= tau
            v[f"typ_floor2nd{tau}"] = np.where(ok, typ, -np.inf) if ok.any() else lcb
        # the typical pick unless its worst source is below the LCB pick's worst source by margin
        v["maximin"] = lo
        for k, s in v.items(): out.setdefault(k, []).append(pick_regret(truth, s))
    res[name] = {k: float(np.mean(x)) for k, x in out.items()}
    print(name, json.dumps({k: round(x, 4) for k, x in res[name].items()}), flush=True)
json.dump(res, open(f"/tmp/s60/floor_{sys.argv[2]}.json", "w"))
