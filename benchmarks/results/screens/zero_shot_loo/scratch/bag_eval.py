import json, os, numpy as np
o = json.load(open("/tmp/s59/trim.json"))
for name, f in [("syn100b", "/tmp/s59/fp100b.json"), ("syn100c", "/tmp/s59/fp100c.json")]:
    r = json.load(open(f)); o[name] = {"lcb": r["lcb_regret"], "typical": r["typical_copula"], "default": r["harness"]}
pool = {z: [] for z in ("default", 1.645, 1.0)}; pool_lcb = []; pool_typ = []
for name, v in o.items():
    f = f"/tmp/s59/bag_{name}.json"
    if not os.path.exists(f): continue
    t = np.array(list(json.load(open(f)).values())); l = np.array(v["lcb"]); ty = np.array(v["typical"])
    line = f"{name:8s} t [{t.min():+.2f},{t.max():+.2f}] harness {np.mean(v['default']):.4f}"
    for z in (1.645, 1.0):
        sw = t < -z; reg = np.where(sw, ty, l)
        line += f" | bag@{z}: {sw.sum():3d} sw {reg.mean():.4f}"
        if name.startswith(("syn", "s8")): pool[z].extend(reg)
    if name.startswith(("syn", "s8")): pool["default"].extend(v["default"]); pool_lcb.extend(l); pool_typ.extend(ty)
    print(line + f" | lcb {l.mean():.4f} typ {ty.mean():.4f}")
print("synthetic pooled", {k: round(float(np.mean(x)), 4) for k, x in pool.items() if x}, "lcb", round(float(np.mean(pool_lcb)), 4), "typ", round(float(np.mean(pool_typ)), 4))
