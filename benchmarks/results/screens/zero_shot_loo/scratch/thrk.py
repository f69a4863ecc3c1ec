import json, numpy as np
import sys
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
for d in "bc":
    t1 = np.array(list(json.load(open(f"/tmp/s59/tall_100{d}.json")).values()))
    t5 = np.array(list(json.load(open(f"/tmp/s59/tall5_100{d}.json")).values()))
    r = json.load(open(f"/tmp/s59/fp100{d}.json"))
    l = np.array(r["lcb_regret"]); ty = np.array(r["typical_copula"])
    print(f"draw {'78' if d=='b' else '79'} top5 t range [{t5.min():.2f},{t5.max():.2f}] corr(t1,t5) {np.corrcoef(t1,t5)[0,1]:.2f}; corr(t1, typ-lcb) {np.corrcoef(t1, ty-l)[0,1]:+.2f}")
    for z in (1.645, 1.0, 0.0):
        sw = t5 < -z
        print(f"   top5 z={z}: switched {sw.sum()} regret {np.where(sw, ty, l).mean():.4f}")
