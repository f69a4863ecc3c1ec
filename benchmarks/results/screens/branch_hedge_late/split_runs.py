"""Session 47 (scratch): session 46 against session 40 on draws 1-5, runs split by whether
the first ten picks hold more configurations outside the target's best learner.

    python split_runs.py DRAWS_DIR   (DRAWS_DIR/seed1 ... seed5: the benchmark directories)
"""
import sys
import json, numpy as np, pandas as pd
R='benchmarks/results/'
rows=[]
for s in range(1,6):
    t=pd.read_parquet(f'{sys.argv[1]}/seed{s}/trials.parquet')
    t=t[t.train_fraction==t.train_fraction.max()]
    a=json.load(open(R+f'family_s46/synthetic_family/seed{s}.json'))
    b=json.load(open(R+f'family_s40/synthetic_family/seed{s}.json'))
    bt={p['target']:p for p in b['per_target']}
    # majority learner across tasks
    bestl=t.loc[t.groupby('task_id').error.idxmin()].set_index('task_id').learner
    for p in a['per_target']:
        tk=p['target']; pool=t[t.task_id==tk].set_index('config_id')
        maj=bestl.drop(tk).value_counts()
        for i,run in enumerate(p['runs']['ours']):
            old=bt[tk]['runs']['ours'][i]; rg=bt[tk]['runs']['rgpe'][i]
            L=[pool.learner.loc[k] for k in run['picks'][:10]]
            Lo=[pool.learner.loc[k] for k in old['picks'][:10]]
            rows.append(dict(draw=s,target=tk,seed=run['seed'],best=bestl[tk],majshare=maj.iloc[0]/maj.sum(),
              inmaj=bestl[tk]==maj.index[0],nl=len(set(L)),nlo=len(set(Lo)),
              offbest=sum(l!=bestl[tk] for l in L), offbest_old=sum(l!=bestl[tk] for l in Lo),
              **{f'n{t_}':run['regret'][t_-1] for t_ in (5,10,20,30)},
              **{f'o{t_}':old['regret'][t_-1] for t_ in (5,10,20,30)},
              **{f'r{t_}':rg['regret'][t_-1] for t_ in (5,10,20,30)}))
df=pd.DataFrame(rows)
pd.set_option('display.width',200)
for t_ in (5,10,20,30): df[f'd{t_}']=df[f'n{t_}']-df[f'o{t_}']; df[f'g{t_}']=df[f'n{t_}']-df[f'r{t_}']
def se(x): return f"{x.mean():+.4f}±{x.std(ddof=1)/np.sqrt(len(x)):.4f}"
df['extra']=df.offbest-df.offbest_old
for name,g in [('all',df),('inmaj',df[df.inmaj]),('notmaj',df[~df.inmaj]),('extra>0',df[df.extra>0]),('extra<=0',df[df.extra<=0])]:
    print(name,len(g),'s46-s40',[se(g[f'd{t}']) for t in (5,10,20,30)],' vs rgpe',[se(g[f'g{t}']) for t in (5,10,20,30)])
print(df.groupby('inmaj')[['nl','nlo','offbest','offbest_old']].mean())
