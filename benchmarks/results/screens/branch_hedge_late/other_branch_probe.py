"""Session 47 probe (scratch, kept for the record): do a few observations in other branches
distort the target GP inside the best branch?

The guess in docs/transfer_options.md (section `branch_hedge_share`) was that the hedge
picks' poor values in other branches are jumps that the stationary target GP fits with
shorter lengthscales. For every target of a cached screen (`screen_transfer_options.py
--cache`), three times: 17 random pool configurations of the target's best branch (A), and
A plus 3 random configurations of other branches (B). A GP is fitted on each (`fit_gp`, as
the target GP is), and its predictions at the rest of the best branch's pool are compared
with the truth (Spearman rho); the geometric mean lengthscale of the branch's active
non-branching columns is reported too.

    python other_branch_probe.py CACHE.pkl BENCHMARK_DIR
"""

import json
import pickle
import sys

import numpy as np
import torch
from scipy.stats import spearmanr

from recommender.space import Space
from recommender.surrogate import fit_gp

torch.set_num_threads(1)
cache = pickle.loads(open(sys.argv[1], "rb").read())
columns = list(Space.from_dict(json.load(open(sys.argv[2] + "/space.json"))).branching_columns())
rng = np.random.default_rng(0)
rows = []
for target in sorted(cache["truth"]):
    X, score = cache["truth"][target]
    branch = X[:, columns].argmax(1)
    best = branch[np.argmax(score)]
    inside, outside = np.flatnonzero(branch == best), np.flatnonzero(branch != best)
    active = [c for c in np.flatnonzero(X[inside].std(0) > 0) if c not in columns]
    for rep in range(3):
        a = rng.choice(inside, 17, replace=False)
        b = np.concatenate([a, rng.choice(outside, 3, replace=False)])
        test = np.setdiff1d(inside, a)
        result = []
        for idx in (a, b):
            model = fit_gp(X[idx], score[idx])
            with torch.no_grad():
                mean = model.posterior(torch.as_tensor(X[test])).mean.squeeze(-1).numpy()
            lengthscale = model.covar_module.lengthscale.detach().numpy().ravel()
            result += [spearmanr(mean, score[test])[0], np.exp(np.log(lengthscale[active]).mean())]
        rows.append(result)
        print(target, rep, "best branch only: rho %.3f ls %.3f | + 3 elsewhere: rho %.3f ls %.3f" % tuple(result), flush=True)
r = np.array(rows)
diff = r[:, 2] - r[:, 0]
print(
    "mean rho %.3f (best branch only) vs %.3f (+ 3 elsewhere); paired %+.3f +- %.3f; "
    "geometric mean lengthscale %.3f vs %.3f"
    % (r[:, 0].mean(), r[:, 2].mean(), diff.mean(), diff.std(ddof=1) / np.sqrt(len(r)),
       np.exp(np.log(r[:, 1]).mean()), np.exp(np.log(r[:, 3]).mean()))
)
