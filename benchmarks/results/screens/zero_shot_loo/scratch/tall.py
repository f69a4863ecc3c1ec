import sys, pickle, json, numpy as np, time
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
from screen_zero_shot import loso_t_statistic
cache = pickle.load(open(sys.argv[1], "rb"))
out = {}
t0 = time.time()
for i, target in enumerate(cache["truth"]):
    out[target] = loso_t_statistic(cache, target, "lcb_regret", "typical_copula")
    if i % 10 == 0: print(i, target, round(out[target], 3), round(time.time() - t0), flush=True)
json.dump(out, open(sys.argv[2], "w"))
print("done", time.time() - t0)
