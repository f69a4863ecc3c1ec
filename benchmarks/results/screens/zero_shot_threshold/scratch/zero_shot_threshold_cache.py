"""Scratch (session 58): give the targets whose harness t statistic lies in [-1.645, -z) the
typical copula mean as first pick in a copy of each screen cache (paths of that session)."""
import json, pickle, sys
from pathlib import Path
ht = json.load(open('/tmp/s58/harness_t.json'))
caches = {'syn2': '/tmp/s56/syn2', 'syn3': '/tmp/s56/syn3', 'syn4': '/tmp/s56/syn4', 'syn6': '/tmp/s56/syn6',
          'syn2026': '/tmp/s55/syn2026', 'synind': '/tmp/s55/synind'}
z = float(sys.argv[1])
plan = {}
for case, d in caches.items():
    cache = pickle.loads(Path(d + '.pkl').read_bytes())
    changed = [t for t, v in ht[case].items() if -1.645 <= v < -z]
    for t in changed:
        assert cache['first_pick'][t] == 'regret-lcb', (case, t, cache['first_pick'][t])
        cache['first_pick'][t] = 'typical-copula'
    Path(f'/tmp/s58/zc/{case}.pkl').write_bytes(pickle.dumps(cache))
    plan[case] = (d, changed)
    print(case, changed)
Path('/tmp/s58/zc/plan.json').write_text(json.dumps(plan))
