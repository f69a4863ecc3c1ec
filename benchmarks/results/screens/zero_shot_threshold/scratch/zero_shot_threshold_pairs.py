"""Scratch (session 58): paired regret of the search with the changed first picks against the
default, over the changed targets of each draw (screen_transfer_options outputs in trajectories/)."""
import json, numpy as np
from pathlib import Path
plan = json.load(open('/tmp/s58/zc/plan.json'))
n_targets = {'syn2': 16, 'syn3': 16, 'syn4': 16, 'syn6': 16, 'syn2026': 16, 'synind': 16}
allD = []
for case in plan:
    o, n = Path(f'/tmp/s58/zc/{case}_old.json'), Path(f'/tmp/s58/zc/{case}_new.json')
    if not n.exists(): continue
    O = json.loads(o.read_text())['curves']['default']; N = json.loads(n.read_text())['curves']['default']
    D = np.array([np.mean(N[t], 0) - np.mean(O[t], 0) for t in O])  # per target, mean over seeds
    allD.append(D)
    per_draw = D.sum(0) / n_targets[case]
    print(case, len(D), 'changed-target mean diff', ' '.join(f't{b}={D[:, b-1].mean():+.4f}' for b in (1, 5, 10, 20, 30)),
          '| per-draw', ' '.join(f'{per_draw[b-1]:+.4f}' for b in (1, 5, 10, 20, 30)))
A = np.concatenate(allD)
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))
print('pooled changed targets', len(A), ' '.join(f't{b}={A[:, b-1].mean():+.4f}±{se(A[:, b-1]):.4f}' for b in (1, 2, 3, 5, 10, 15, 20, 30)))
