"""Session 47 probe (scratch, kept for the record): one target's search with and without
the hedge picks, on a cached screen (`screen_transfer_options.py --cache`), seed 0.

Prints the branch of every pick, the target's best branch, the regret at t = 20 / 30, which
picks were hedge picks (their decision's reason names the hedge), the regret after each of
the first 12 picks, and at some steps the guardrail decision (step, observations, mode, target-GP weight, sources
weighted, sources dropped), recorded by wrapping `recommender.transfer.rank_weights`.

    python trace_probe.py CACHE.pkl BENCHMARK_DIR task_02[,task_03...] [SEED [VARIANTS]]

SEED (default 0) is the run seed; VARIANTS, a JSON object name -> `TransferOptions`
overrides, replaces the two searches (session 47's default and the same without the hedge;
the incumbent rule of session 48 is off in both, so the log reproduces). Session 48 used it
with the incumbent rule off and on (`screens/incumbent_branch/`); the picks confined to the
incumbent's branch are listed too.
"""

import json
import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
import screen_transfer_options as screen  # noqa: E402

import recommender.transfer as transfer  # noqa: E402
from recommender.space import Space  # noqa: E402

cache = pickle.loads(open(sys.argv[1], "rb").read())
space = Space.from_dict(json.load(open(sys.argv[2] + "/space.json")))
cache["branch_columns"] = space.branching_columns()
columns = list(cache["branch_columns"])
screen._init(cache)
original, log = transfer.rank_weights, []


def recorded(src_mean, src_std, y, **kwargs):
    decision = original(src_mean, src_std, y, **kwargs)
    log.append(
        (kwargs["step"], len(y), decision.mode, round(decision.target_weight, 2),
         len(decision.weights), len(decision.dropped))
    )
    return decision


transfer.rank_weights = recorded
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
variants = (
    json.loads(sys.argv[5])
    if len(sys.argv) > 5
    else {
        "hedge (default)": {"incumbent_patience": None},
        "no hedge": {"branch_hedge_share": None, "incumbent_patience": None},
    }
)
for target in sys.argv[3].split(","):
    X, score = cache["truth"][target]
    for name, opts in variants.items():
        log.clear()
        regret, trace = screen.search(opts, target, seed, 30)
        branches = "".join(map(str, X[trace.picks][:, columns].argmax(1)))
        print(f"{target} {name}: branches of the picks {branches}; best branch "
              f"{X[np.argmax(score)][columns].argmax()}; regret t=20 {regret[19]:.4f} t=30 {regret[29]:.4f}")
        hedge = [i + 1 for i, d in enumerate(trace.decisions) if "hedge pick" in d.reason]
        confined = [i + 1 for i, d in enumerate(trace.decisions) if "stays in branch" in d.reason]
        print(f"   hedge picks {hedge}; confined picks {confined}")
        print(f"   regret after picks 1-12 {[round(r, 3) for r in regret[:12]]}")
        for record in log:
            if record[0] in (5, 8, 10, 12, 14, 16, 18, 20, 22, 25):
                print("   step, n, mode, target weight, weighted, dropped:", record)
