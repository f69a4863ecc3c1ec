"""Session 48 probe (scratch): the branch of every pick of one target's search with the
incumbent rule off (session 47's default) and on (the default since session 48), which picks were hedge
picks and which were confined, and the regret at t = 1 / 5 / 10 / 15 / 20 / 25 / 30, on a
cached screen (`screen_transfer_options.py --cache`).

    python trace_inc.py CACHE.pkl BENCHMARK_DIR task_15[,task_07...] SEED
"""
import json, pickle, sys
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
import screen_transfer_options as screen
from recommender.space import Space
cache = pickle.loads(open(sys.argv[1], "rb").read())
space = Space.from_dict(json.load(open(sys.argv[2] + "/space.json")))
cache["branch_columns"] = space.branching_columns()
columns = list(cache["branch_columns"])
screen._init(cache)
seed = int(sys.argv[4])
for target in sys.argv[3].split(","):
    X, score = cache["truth"][target]
    print(target, "best branch", X[np.argmax(score)][columns].argmax(), "branch bests (regret):",
          [round(float(score.max() - score[X[:, columns].argmax(1) == b].max()), 3) for b in range(len(columns))])
    for name, opts in [("off", {"incumbent_patience": None}), ("default", {})]:
        regret, trace = screen.search(opts, target, seed, 30)
        br = "".join(map(str, X[trace.picks][:, columns].argmax(1)))
        conf = [i + 1 for i, d in enumerate(trace.decisions) if "stays in branch" in d.reason]
        hedge = [i + 1 for i, d in enumerate(trace.decisions) if "hedge pick" in d.reason]
        print(f"  {name}: {br} hedge {hedge} confined {conf}")
        print("    regret", [round(r, 3) for r in np.asarray(regret)[[0, 4, 9, 14, 19, 24, 29]]])
