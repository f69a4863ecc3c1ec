import sys, pickle, numpy as np, time
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
from screen_zero_shot import loso_t_statistic
cache = pickle.load(open("/tmp/s59/syn100b.pkl", "rb"))
t0=time.time()
for target in ["task_00", "task_37", "task_81"]:
    print(target, round(loso_t_statistic(cache, target, "lcb_regret", "typical_copula"), 3), round(loso_t_statistic(cache, target, "lcb_regret", "mean_copula"), 3), round(time.time()-t0,1), flush=True)
