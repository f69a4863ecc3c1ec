"""Session 49 (scratch, kept for the record): paired difference of method A in harness file FA
and method B in harness file FB, over the targets both hold, each target's seeds averaged.
usage: python pair_runs.py FA A FB B
"""
import json, sys, numpy as np
fa, ma, fb, mb = sys.argv[1:5]
def per(f, m):
    d = json.load(open(f)); out = {}
    for row in d['per_target']:
        runs = row['runs'][m]; out[row['target']] = np.mean([r['regret'] for r in runs], axis=0)
    return out
A, B = per(fa, ma), per(fb, mb)
keys = sorted(set(A) & set(B))
for t in (1, 2, 3, 5, 10, 20, 30):
    d = np.array([A[k][t-1] - B[k][t-1] for k in keys])
    print(f"t={t}: {np.mean([A[k][t-1] for k in keys]):.4f} vs {np.mean([B[k][t-1] for k in keys]):.4f}  diff {d.mean():+.4f} ± {d.std(ddof=1)/np.sqrt(len(d)):.4f}  changed {np.sum(np.abs(d)>1e-12)}/{len(d)}")
