import json, sys, numpy as np
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
print("hits", a["hits"], b["hits"])
keys = sorted(a["regret"])
A = np.array([a["regret"][k] for k in keys]); B = np.array([b["regret"][k] for k in keys])
tg = sorted({k.split("/")[0] for k in keys})
for t in [1, 5, 10, 15, 20, 30]:
    d = (B[:, t-1] - A[:, t-1]).reshape(len(tg), -1).mean(1)
    print(t, round(A[:, t-1].mean(), 4), round(B[:, t-1].mean(), 4), f"{d.mean():+.4f} +- {d.std(ddof=1)/np.sqrt(len(d)):.4f}")
for i, k in enumerate(tg):
    d = (B[:, 19] - A[:, 19]).reshape(len(tg), -1).mean(1)[i]; e = (B[:, 29] - A[:, 29]).reshape(len(tg), -1).mean(1)[i]
    if abs(d) > 1e-9 or abs(e) > 1e-9: print("  ", k, f"{d:+.3f} {e:+.3f}")
