"""Session 48 (scratch): paired differences over targets (each target's seeds averaged) between
variant A of file FA and variant B of file FB, per case and pooled. usage:
    python paired.py A B case1:FA:FB case2:FA:FB ...
"""
import json, sys
import numpy as np
a, b = sys.argv[1], sys.argv[2]
budgets = [1, 2, 3, 5, 10, 20, 30]
pooled = []
for spec in sys.argv[3:]:
    name, fa, fb = spec.split(":")
    ca, cb = json.load(open(fa))["curves"][a], json.load(open(fb))["curves"][b]
    d = np.array([[np.mean(np.array(ca[t]), 0)[k - 1] - np.mean(np.array(cb[t]), 0)[k - 1] for k in budgets] for t in ca])
    pooled.append(d)
    print(f"{name:8s} n={len(d):3d} " + " ".join(f"{m:+.4f}±{s:.4f}" for m, s in zip(d.mean(0), d.std(0, ddof=1) / np.sqrt(len(d)))))
d = np.concatenate(pooled)
print(f"{'pooled':8s} n={len(d):3d} " + " ".join(f"{m:+.4f}±{s:.4f}" for m, s in zip(d.mean(0), d.std(0, ddof=1) / np.sqrt(len(d)))))
print("budgets", budgets)
