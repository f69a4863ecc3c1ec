"""Session 47 (scratch): which of draw 5 task_02's first 12 picks (seed 0) were hedge picks, with and without
the hedge, and the regret after each. Needs the draw-5 screen cache and benchmark directory (paths below)."""
import sys, pickle, json
sys.path.insert(0, 'benchmarks')
import screen_transfer_options as S
from recommender.space import Space
cache = pickle.loads(open('/tmp/s47/d5.pkl', 'rb').read())
cache['branch_columns'] = Space.from_dict(json.load(open('/tmp/s45/syn/d5/space.json'))).branching_columns()
S._init(cache)
for name, opts in [('h', {}), ('no', {'branch_hedge_share': None})]:
    reg, tr = S.search(opts, 'task_02', 0, 12)
    for i, d in enumerate(tr.decisions[:12]):
        print(name, i + 1, d.mode, 'HEDGE' if 'hedge pick' in d.reason else '', round(reg[i], 3))
