"""Draws 1-5 pooled: session 57's draws 1, 4, 5 with session 60's reruns of draws 2 and 3."""
import json, numpy as np, sys
from pathlib import Path
ROOT = Path(__file__).resolve().parents[3]
old = {f"seed{g}": json.load(open(ROOT / f"benchmarks/results/family_s57/synthetic_family/seed{g}.json")) for g in (1, 2, 3, 4, 5)}
new = {f"seed{g}": json.load(open(ROOT / f"benchmarks/results/family_s60_draws23/synthetic_family/seed{g}.json")) for g in (2, 3)}
methods = ["random", "cold-gp", "portfolio", "rgpe", "ours"]
for g in new:
    N = {t["target"]: t["runs"] for t in new[g]["per_target"]}; O = {t["target"]: t["runs"] for t in old[g]["per_target"]}
    for m in methods:
        same = sum(all(a["regret"] == b["regret"] for a, b in zip(N[t][m], O[t][m])) for t in N)
        print(g, m, "identical", same, "/", len(N))
draws = {**{g: old[g] for g in ("seed1", "seed4", "seed5")}, **new}
curves = {m: [] for m in methods}
for g in sorted(draws):
    for t in draws[g]["per_target"]:
        for m in methods:
            curves[m].append(np.mean([r["regret"] for r in t["runs"][m]], 0))
C = {m: np.array(v) for m, v in curves.items()}
idx = [0, 4, 9, 19, 29]
for m in methods: print(m, np.round(C[m].mean(0)[idx], 4))
for i in idx:
    refs = {m: C[m].mean(0)[i] for m in methods if m != "ours"}
    best = min(refs, key=refs.get)
    d = C["ours"][:, i] - C[best][:, i]
    print(f"t={i+1}: ours {C['ours'][:, i].mean():.4f} best {best} {refs[best]:.4f} paired {d.mean():+.4f} ± {d.std(ddof=1)/np.sqrt(len(d)):.4f}")
# per draw 2 and 3
for g in new:
    o = np.array([np.mean([r['regret'] for r in t['runs']['ours']], 0) for t in new[g]['per_target']]); p = np.array([np.mean([r['regret'] for r in t['runs']['ours']], 0) for t in old[g]['per_target']])
    print(g, 'ours new', np.round(o.mean(0)[idx], 4), 'old', np.round(p.mean(0)[idx], 4))
