import sys, pickle, json, numpy as np
sys.path.insert(0, "/work/main")
from recommender.first_pick import first_pick_scores, zero_shot_scores
from recommender.surrogate import regret_scale
c = pickle.load(open(sys.argv[1], "rb"))
g = json.load(open(sys.argv[2]))["targets"]
d = {t: v["own"]["1.0"][1] - v["own"]["1.0"][0] for t, v in g.items()}
for t in sorted(d, key=lambda t: -abs(d[t]))[:int(sys.argv[3])]:
    (mean, std), q = c["preds"][t]; q = np.stack(q)
    rm, rs = regret_scale(mean, std, q)
    lcb = zero_shot_scores(rm, rs, kappa=1.0); typ = first_pick_scores("typical-copula", mean, std, q)
    truth = c["truth"][t][1]; span = truth.max() - truth.min()
    for name, s in (("lcb", lcb), ("typ", typ)):
        i = int(np.argmax(s)); r = rm[:, i]
        print(f"{t:>10s} {name} true regret {(truth.max()-truth[i])/span:.3f} | src regret mean {r.mean():.3f} median {np.median(r):.3f} max {r.max():.3f} q90 {np.quantile(r,0.9):.3f} frac>0.3 {np.mean(r>0.3):.2f} | src std mean {rs[:, i].mean():.3f}")
