import json, glob, numpy as np
def tstat(d):
    d = np.asarray(d); s = d.std(ddof=1) / np.sqrt(d.size)
    return d.mean() / s if s > 0 else (0.0 if d.mean() == 0 else np.sign(d.mean()) * np.inf)
rows = {}
for f in sorted(glob.glob("/tmp/s60/geo_*.json")):
    name = f.split("geo_")[1][:-5]; g = json.load(open(f)); T = g["targets"]
    r = {"lcb": [v["own"]["1.0"][0] for v in T.values()], "typ": [v["own"]["1.0"][1] for v in T.values()]}
    for p in map(str, g["ps"]):
        ts = np.array([tstat(v["diffs"][p]) for v in T.values()])
        r[f"t_{p}"] = list(ts)
        for z in (1.645, 1.0):
            r[f"p{p}@{z}"] = [v["own"]["1.0"][1] if t < -z else v["own"]["1.0"][0] for t, v in zip(ts, T.values())]
    rows[name] = r
syn = [k for k in rows if k.startswith("syn") and not k.startswith("syn100") or k.startswith("s8")]
keys = [k for k in rows["lcbench"] if not k.startswith("t_")]
print(f"{'variant':12s} {'lcbench':>8s} {'keel':>8s} {'syn240':>8s} {'d78':>8s} {'d79':>8s}")
for k in keys:
    pool = np.concatenate([rows[s][k] for s in syn])
    print(f"{k:12s} " + " ".join(f"{np.mean(rows[c][k]):8.4f}" for c in ("lcbench", "keel")) + f" {pool.mean():8.4f} ({len(pool)}) " + " ".join(f"{np.mean(rows[c][k]):8.4f}" for c in ("syn100b", "syn100c")))
for c in ("lcbench", "keel"):
    for p in ("1.0", "0.5", "0.25", "0.1"):
        t = np.array(rows[c][f"t_{p}"]); print(c, p, "t range", round(t.min(), 2), round(t.max(), 2))
json.dump({k: {kk: [float(x) for x in vv] for kk, vv in v.items()} for k, v in rows.items()}, open("/tmp/s60/smooth_statistic.json", "w"))
