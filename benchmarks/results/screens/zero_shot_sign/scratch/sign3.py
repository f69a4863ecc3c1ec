import json, glob, sys, numpy as np
def sign_z(d, eps=1e-9):
    d = np.asarray(d); neg = (d < -eps).sum(); pos = (d > eps).sum()
    return (pos - neg) / np.sqrt(pos + neg) if pos + neg else 0.0
def tstat(d):
    d = np.asarray(d); s = d.std(ddof=1) / np.sqrt(d.size)
    return d.mean() / s if s > 0 else (0.0 if d.mean() == 0 else np.sign(d.mean()) * np.inf)
rules = {
  "union1.645": lambda d: tstat(d) < -1.645 or sign_z(d) < -1.645,
  "union1.96": lambda d: tstat(d) < -1.96 or sign_z(d) < -1.96,
  "default_t1.645": lambda d: tstat(d) < -1.645,
  "sign1.645": lambda d: sign_z(d) < -1.645,
  "sign1.645_and_mean<0": lambda d: sign_z(d) < -1.645 and np.mean(d) < 0,
  "sign1.28_and_mean<0": lambda d: sign_z(d) < -1.28 and np.mean(d) < 0,
}
files = sys.argv[1:] or sorted(glob.glob("/tmp/s60/geo_*.json"))
agg = {r: [] for r in rules}; aggn = {r: 0 for r in rules}
for f in files:
    name = f.split("geo_")[1][:-5]; T = json.load(open(f))["targets"]
    line = f"{name:9s} n={len(T):3d} lcb {np.mean([v['own']['1.0'][0] for v in T.values()]):.4f} typ {np.mean([v['own']['1.0'][1] for v in T.values()]):.4f} |"
    for r, fn in rules.items():
        ch = [fn(v["diffs"]["1.0"]) for v in T.values()]
        reg = [v["own"]["1.0"][1] if c else v["own"]["1.0"][0] for c, v in zip(ch, T.values())]
        line += f" {r} {np.mean(reg):.4f} ({sum(ch)})"
        if name not in ("lcbench", "keel", "syn100b", "syn100c"): agg[r] += reg
    print(line)
print("pooled synthetic (16/8-task)", len(agg["sign1.645"]), {r: round(float(np.mean(v)), 4) for r, v in agg.items()})
