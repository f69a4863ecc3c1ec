import json, numpy as np
for d in "bc":
    t = json.load(open(f"/tmp/s59/tall_100{d}.json")); r = json.load(open(f"/tmp/s59/fp100{d}.json"))
    T = np.array(list(t.values())); l = np.array(r["lcb_regret"]); ty = np.array(r["typical_copula"]); h = np.array(r["harness"])
    ch = np.array(r["harness_choice"]) != "lcb_regret"
    print(f"draw {'78' if d=='b' else '79'}: screen switch@1.645 {np.sum(T < -1.645)} harness switched {ch.sum()} agree {np.mean((T < -1.645) == ch):.2f}; t range [{T.min():.2f},{T.max():.2f}]")
    for z in (1.645, 1.28, 1.0, 0.5, 0.0):
        sw = T < -z
        print(f"   z={z:5.3f} switched {sw.sum():3d} regret {np.where(sw, ty, l).mean():.4f}")
    print("   harness", h.mean().round(4), "lcb", l.mean().round(4), "typ", ty.mean().round(4), "copula", np.mean(r["mean_copula"]).round(4))
