"""Build a conditional, minimised transfer benchmark from YAHPO Gym's ``rbv2_xgboost``.

LCBench (``../shared/benchmarks/lcbench``) comes from a YAHPO Gym surrogate and has no
conditional parameter. This one comes from the same source (YAHPO Gym v1.0, Pfisterer et
al., 2022; the surrogate of Binder, Pfisterer & Bischl's (2020) xgboost runs on OpenML
tasks) and has what LCBench lacks: a categorical parent, ``booster`` (gblinear, gbtree,
dart), switching eight children on and off (``eta``, ``gamma``, ``max_depth``,
``min_child_weight``, both ``colsample_*`` for the tree boosters, ``rate_drop`` and
``skip_drop`` for dart), a second categorical (``num.impute.selected.cpo``), log-scaled and
integer parameters: 14 parameters, 18 encoded dimensions. The objective is the
misclassification error ``mmce`` = 1 - accuracy, **minimised**; ``logloss``, ``auc`` and
``timetrain`` are kept as metrics. ``trainsize`` (0.25, 1.0) is the fidelity;
``repl`` (the surrogate's number of resampling replications) is fixed at 10.

Every task draws its own configurations (``--configs``, seeded per task), uniformly on each
parameter's (log) scale with the booster drawn uniformly, as FORMAT.md says. Tasks are a
seeded draw of ``--tasks`` of the surrogate's 119 OpenML tasks.

Needs ``onnxruntime`` (not a dependency of hp-warmstart: ``pip install onnxruntime``) and
the surrogate's files from https://github.com/slds-lmu/yahpo_data (Apache-2.0):
``rbv2_xgboost/model.onnx``, ``encoding.json`` and ``config_space.json``. Run::

    .venv/bin/python benchmarks/build_rbv2_xgboost.py --yahpo-dir PATH/rbv2_xgboost \
        --out benchmarks/data/rbv2_xgboost

The surrogate's inputs, as YAHPO Gym feeds them (``BenchmarkSet._config_to_xs``): the
integer codes of ``task_id``, ``booster`` and ``num.impute.selected.cpo`` (``encoding.json``;
0 for an inactive value) and the raw values of the numeric parameters, ``trainsize`` and
``repl`` in the order of ``CONT_NAMES`` (0 for an inactive one); its outputs are
``Y_NAMES``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from library.benchmark_writer import write_benchmark  # noqa: E402

#: The surrogate's numeric inputs, in its order (YAHPO Gym's ``rbv2_xgboost`` config).
CONT_NAMES: tuple[str, ...] = (
    "nrounds", "eta", "gamma", "lambda", "alpha", "subsample", "max_depth",
    "min_child_weight", "colsample_bytree", "colsample_bylevel", "rate_drop", "skip_drop",
    "trainsize", "repl",
)  # fmt: skip
#: Its categorical inputs, in its order.
CAT_NAMES: tuple[str, ...] = ("task_id", "booster", "num.impute.selected.cpo")
#: Its outputs, in its order.
Y_NAMES: tuple[str, ...] = (
    "acc", "bac", "auc", "brier", "f1", "logloss", "timetrain", "timepredict", "memory"
)  # fmt: skip
FIDELITIES: tuple[float, ...] = (0.25, 1.0)
REPL = 10


def shared_space(config_space: dict[str, Any]) -> dict[str, Any]:
    """The shared format's ``space.json`` fields of YAHPO's ConfigSpace JSON, without the
    instance (``task_id``) and fidelity (``trainsize``, ``repl``) parameters."""
    parameters = []
    for hp in config_space["hyperparameters"]:
        if hp["name"] in ("task_id", "trainsize", "repl"):
            continue
        if hp["type"] == "categorical":
            parameters.append({"name": hp["name"], "type": "categorical", "choices": hp["choices"]})
        else:
            kind = "int" if hp["type"] == "uniform_int" else "float"
            parameters.append(
                {
                    "name": hp["name"],
                    "type": kind,
                    "low": hp["lower"],
                    "high": hp["upper"],
                    "log": bool(hp["log"]),
                }
            )
    conditions = [
        {
            "child": c["child"],
            "parent": c["parent"],
            "values": list(c["values"]) if "values" in c else [c["value"]],
        }
        for c in config_space["conditions"]
    ]
    return {"parameters": parameters, "conditions": conditions}


def sample_configs(space: dict[str, Any], n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` configurations drawn uniformly on each parameter's (log) scale; a child whose
    condition does not hold is null."""
    frame: dict[str, Any] = {}
    for p in space["parameters"]:
        if p["type"] == "categorical":
            frame[p["name"]] = rng.choice(np.asarray(p["choices"], dtype=object), n)
            continue
        low, high = float(p["low"]), float(p["high"])
        if p["type"] == "int":
            low, high = low - 0.4999, high + 0.4999  # each integer equally likely
        if p["log"]:
            values = np.exp(rng.uniform(np.log(max(low, 1e-12)), np.log(high), n))
        else:
            values = rng.uniform(low, high, n)
        if p["type"] == "int":
            values = np.clip(np.round(values), p["low"], p["high"])
        frame[p["name"]] = values
    configs = pd.DataFrame(frame)
    for c in space["conditions"]:
        inactive = ~configs[c["parent"]].isin(c["values"])
        configs[c["child"]] = configs[c["child"]].astype(object).where(~inactive, None)
    return configs


def surrogate_inputs(
    configs: pd.DataFrame, task: str, trainsize: float, encoding: dict[str, dict[str, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """``(x_cat int32, x_cont float32)`` for the surrogate: integer codes (0 = inactive)
    and raw numeric values (0 = inactive)."""
    n = len(configs)
    cat = np.zeros((n, len(CAT_NAMES)), dtype=np.int32)
    cat[:, 0] = encoding["task_id"][task]
    for j, name in enumerate(CAT_NAMES[1:], start=1):
        cat[:, j] = [encoding[name].get(v, 0) if v is not None else 0 for v in configs[name]]
    cont = np.zeros((n, len(CONT_NAMES)), dtype=np.float32)
    for j, name in enumerate(CONT_NAMES):
        if name == "trainsize":
            cont[:, j] = trainsize
        elif name == "repl":
            cont[:, j] = REPL
        else:
            cont[:, j] = pd.to_numeric(configs[name]).fillna(0.0).to_numpy(np.float32)
    return cat, cont


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--yahpo-dir", type=Path, required=True, help="yahpo_data's rbv2_xgboost")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/data/rbv2_xgboost")
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import onnxruntime as rt

    config_space = json.loads((args.yahpo_dir / "config_space.json").read_text())
    encoding = json.loads((args.yahpo_dir / "encoding.json").read_text())
    options = rt.SessionOptions()
    options.intra_op_num_threads = 1
    session = rt.InferenceSession(str(args.yahpo_dir / "model.onnx"), sess_options=options)
    space = shared_space(config_space)
    instances = sorted((t for t in encoding["task_id"] if t != "#na#"), key=int)
    rng = np.random.default_rng(args.seed)
    tasks = sorted(rng.choice(instances, args.tasks, replace=False).tolist(), key=int)
    frames = []
    for task in tasks:
        configs = sample_configs(space, args.configs, np.random.default_rng([args.seed, int(task)]))
        for trainsize in FIDELITIES:
            x_cat, x_cont = surrogate_inputs(configs, task, trainsize, encoding)
            y = session.run(None, {"x_cat": x_cat, "x_cont": x_cont})[0]
            out = dict(zip(Y_NAMES, y.T, strict=True))
            frames.append(
                configs.assign(
                    task_id=task,
                    config_id=np.arange(len(configs)),
                    trainsize=trainsize,
                    mmce=np.clip(1.0 - out["acc"], 0.0, 1.0),
                    logloss=out["logloss"],
                    auc=out["auc"],
                    timetrain=out["timetrain"],
                )
            )
    trials = pd.concat(frames, ignore_index=True)
    names = [p["name"] for p in space["parameters"]]
    trials = trials[["task_id", "config_id", *names, "trainsize", "mmce", "logloss", "auc",
                     "timetrain"]]  # fmt: skip
    content = {
        "name": "rbv2_xgboost",
        **space,
        "objective": {"name": "mmce", "direction": "minimize"},
        "fidelity": {"name": "trainsize", "values": list(FIDELITIES), "max": 1.0},
        "metrics": ["mmce", "logloss", "auc", "timetrain"],
        "source": (
            "YAHPO Gym v1.0 surrogate rbv2_xgboost (Pfisterer et al., 2022; data of Binder, "
            "Pfisterer & Bischl, 2020), github.com/slds-lmu/yahpo_data, Apache-2.0; "
            f"{args.tasks} OpenML tasks drawn with seed {args.seed}, {args.configs} "
            "configurations per task drawn uniformly on each parameter's (log) scale, "
            f"repl = {REPL}; mmce = 1 - the surrogate's acc; built by "
            "benchmarks/build_rbv2_xgboost.py"
        ),
    }
    benchmark = write_benchmark(args.out, content, trials)
    print(f"wrote {args.out}: {len(benchmark.task_ids)} tasks, {len(trials)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
