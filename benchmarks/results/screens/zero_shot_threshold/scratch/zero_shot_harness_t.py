"""Per target, the t statistic of the harness's own leave-one-source-out test (choose_first_pick)."""
import json, sys
from pathlib import Path
sys.path.insert(0, "benchmarks")
from screen_transfer_options import _problems_and_models, SOURCE_POINTS
from recommender.first_pick import choose_first_pick, cross_predictions

out = {}
for spec in sys.argv[2:]:
    name, bench = spec.split("=")
    truth, models = _problems_and_models(Path(bench), None, 0.0, SOURCE_POINTS)
    cross = cross_predictions(list(models.values()))
    ts = {}
    for target in models:
        sources = [models[s] for s in models if s != target]
        ts[target] = choose_first_pick(sources, cross=cross).t_statistic
    out[name] = ts
    print(name, {k: round(v, 2) for k, v in ts.items()}, flush=True)
    Path(sys.argv[1]).write_text(json.dumps(out, indent=1))
