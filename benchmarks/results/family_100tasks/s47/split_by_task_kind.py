# Session 47: ours and rgpe on the family and the outlier tasks of both 100-task draws.
# python split_by_task_kind.py BENCHMARK_DRAW77 BENCHMARK_DRAW78 (run from the repository root)
import json,sys,numpy as np
def se(x): return f"{x.mean():+.4f} ± {x.std(ddof=1)/np.sqrt(len(x)):.4f}"
T=(1,5,10,20,30)
acc={'family':{'o':[],'r':[]},'outlier':{'o':[],'r':[]}}
for f,b in [('syn100_all',sys.argv[1]),('syn100b_all',sys.argv[2])]:
    out=set(json.load(open(b+'/space.json'))['outlier_tasks'])
    d=json.load(open(f'benchmarks/results/family_100tasks/s47/{f}.json'))
    for p in d['per_target']:
        k='outlier' if p['target'] in out else 'family'
        acc[k]['o'].append(p['runs']['ours'][0]['regret']); acc[k]['r'].append(p['runs']['rgpe'][0]['regret'])
for k,v in acc.items():
    o,r=np.array(v['o']),np.array(v['r'])
    print(k,len(o),'ours',np.round(o[:,[t-1 for t in T]].mean(0),4),'rgpe',np.round(r[:,[t-1 for t in T]].mean(0),4),[se(o[:,t-1]-r[:,t-1]) for t in T])
