import json, pickle, numpy as np
o = json.load(open("/tmp/s59/trim.json"))
src = open("/tmp/s59/trim.py").read(); CASES = {}
exec(src[src.index("CASES = dict("):src.index("out = {}")])
tot = {"harness": [], "indep": [], "lcb": [], "typ": []}
for name, path in CASES.items():
    fp = pickle.load(open(path, "rb"))["first_pick"]
    targets = list(fp)
    sw = np.array([fp[t] != "regret-lcb" for t in targets])
    l, t = np.array(o[name]["lcb"]), np.array(o[name]["typical"])
    p = sw.mean()
    h = np.where(sw, t, l)
    ind = p * t + (1 - p) * l
    if 0 < p < 1:
        print(f"{name:8s} switched {sw.sum():2d}/{len(sw)}  harness {h.mean():.4f}  indep {ind.mean():.4f}  | switched: typ-lcb {np.mean(t[sw]-l[sw]):+.4f}  kept: typ-lcb {np.mean(t[~sw]-l[~sw]):+.4f}")
    for k, v in (("harness", h), ("indep", ind), ("lcb", l), ("typ", t)): tot[k].append(v)
for name, f in [("syn100b", "/tmp/s59/fp100b.json"), ("syn100c", "/tmp/s59/fp100c.json")]:
    r = json.load(open(f)); ch = np.array(r["harness_choice"]) != "lcb_regret"
    l, t = np.array(r["lcb_regret"]), np.array(r["typical_copula"]); p = ch.mean()
    print(f"{name:8s} switched {ch.sum()}/{len(ch)} harness {np.where(ch,t,l).mean():.4f} indep {(p*t+(1-p)*l).mean():.4f}")
