import json, glob, numpy as np
def sign_z(d, eps=1e-9):
    d = np.asarray(d); neg = (d < -eps).sum(); pos = (d > eps).sum()
    return (pos - neg) / np.sqrt(pos + neg) if pos + neg else 0.0
rows = {}
for f in sorted(glob.glob("/tmp/s60/geo_*.json")):
    name = f.split("geo_")[1][:-5]; T = json.load(open(f))["targets"]
    r = {}
    for p in ("1.0", "0.5"):
        zs = np.array([sign_z(v["diffs"][p]) for v in T.values()])
        for thr in (1.645, 1.0):
            r[f"sign_p{p}@{thr}"] = [v["own"]["1.0"][1] if z < -thr else v["own"]["1.0"][0] for z, v in zip(zs, T.values())]
        r[f"z_p{p}"] = zs
    r["lcb"] = [v["own"]["1.0"][0] for v in T.values()]; r["typ"] = [v["own"]["1.0"][1] for v in T.values()]
    b = np.array(r["lcb"]) - np.array(r["typ"])
    r["corr"] = np.corrcoef(r["z_p1.0"], b)[0, 1] if np.std(r["z_p1.0"]) > 0 else float("nan")
    rows[name] = r
syn = [k for k in rows if (k.startswith("syn") and not k.startswith("syn100")) or k.startswith("s8")]
for k in ("lcb", "typ", "sign_p1.0@1.645", "sign_p1.0@1.0", "sign_p0.5@1.645", "sign_p0.5@1.0"):
    pool = np.concatenate([rows[s][k] for s in syn])
    print(f"{k:16s} lc {np.mean(rows['lcbench'][k]):.4f} keel {np.mean(rows['keel'][k]):.4f} syn240 {pool.mean():.4f} d78 {np.mean(rows['syn100b'][k]):.4f} d79 {np.mean(rows['syn100c'][k]):.4f}")
for c in ("lcbench", "keel", "syn100b", "syn100c"):
    z = rows[c]["z_p1.0"]; print(c, "sign z range", round(z.min(), 2), round(np.median(z), 2), round(z.max(), 2), "corr with benefit", round(rows[c]["corr"], 2))
