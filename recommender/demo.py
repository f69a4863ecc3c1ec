"""`make demo`: zero-shot recommendations for a dataset the starter library has never seen.

Run as ``python -m recommender.demo`` (``--json`` for machine output). Steps:

1. open the bundled starter library read-only and print its stats;
2. load a real dataset that is not in the starter library (scikit-learn's ``digits`` by
   default), subsample it to at most ``--max-rows`` rows (seeded) and fingerprint it with
   `featurizers.featurize_dataset`;
3. ask `Recommender.suggest` for ``--n`` zero-shot configurations of a runner model family
   (HistGradientBoosting by default) and print them with the guardrail explanation;
4. score the top recommendation and the family's default configuration for real with the
   runner's evaluation (`recommender.runner.evaluate_config`, 3-fold CV);
5. if the shared LCBench benchmark is present, print one line about it (no heavy work).

Takes well under two minutes on a loaded 2-core machine (one thread per fit).

Example:
    >>> main(["--json"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recommender.json_text import to_json

__all__ = ["DemoDataset", "load_demo_dataset", "main", "run_demo"]

#: scikit-learn loaders the demo accepts by short name (digits is not in the starter library).
_SKLEARN_LOADERS = ("digits", "iris", "wine", "breast_cancer", "diabetes")
_LCBENCH = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "lcbench"


@dataclass(frozen=True, slots=True)
class DemoDataset:
    """A subsampled, encoded dataset ready for the runner.

    Attributes:
        name: the name the user gave.
        features: ``n x d`` float32 matrix.
        target: ``n`` int64 class codes or float64 values.
        kind: ``"classification"`` or ``"regression"``.
        n_rows_total: rows before subsampling.
    """

    name: str
    features: np.ndarray
    target: np.ndarray
    kind: str
    n_rows_total: int


def load_demo_dataset(name: str, *, max_rows: int, seed: int) -> DemoDataset:
    """Load ``name`` and keep at most ``max_rows`` rows (uniform, seeded, order kept).

    Args:
        name: a scikit-learn toy dataset (``digits``, ``iris``, ``wine``,
            ``breast_cancer``, ``diabetes``) or a dataset reference understood by
            `library.refresh.load_dataset_reference` (``builtin:keel/pima``,
            ``file:data.csv?target=y``).
        max_rows: subsample size cap.
        seed: subsampling seed.

    Raises:
        FeaturizeError: an unknown dataset or reference.
    """
    import pandas as pd

    from library.exceptions import FeaturizeError

    if name in _SKLEARN_LOADERS:
        import sklearn.datasets

        features_all, target_all = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
        kind = "regression" if name == "diabetes" else "classification"
        frame = pd.DataFrame(features_all)
    elif ":" in name:
        from library.refresh import load_dataset_reference

        frame, target_all, inferred = load_dataset_reference(name)
        kind = inferred or (
            "classification"
            if not np.issubdtype(np.asarray(target_all).dtype, np.floating)
            else "regression"
        )
    else:
        raise FeaturizeError(
            f"unknown demo dataset {name!r}; use one of {', '.join(_SKLEARN_LOADERS)} or a "
            "reference such as builtin:keel/pima or file:data.csv?target=y"
        )
    n_total = len(frame)
    rows = np.arange(n_total)
    if n_total > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(n_total, size=max_rows, replace=False))
    frame = frame.iloc[rows].reset_index(drop=True)
    target = np.asarray(target_all)[rows]
    matrix = pd.get_dummies(frame, dummy_na=False, dtype=float).to_numpy(dtype=np.float32)
    if kind == "classification":
        codes, _ = pd.factorize(pd.Series(target).astype(str), sort=True)
        target = codes.astype(np.int64)
    else:
        target = target.astype(np.float64)
    return DemoDataset(name, matrix, target, kind, n_total)


def _lcbench_line(path: Path) -> str | None:
    """One line about the shared LCBench benchmark, from the Parquet footer only."""
    trials = path / "trials.parquet"
    if not trials.is_file():
        return None
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(trials).metadata
    return (
        f"LCBench benchmark found at {path}: {meta.num_rows:,} learning-curve rows, "
        f"{trials.stat().st_size / 1e6:.1f} MB; import it with "
        f"`recommend library ingest {path}` and measure transfer with `make bench`."
    )


def run_demo(
    *,
    dataset: str = "digits",
    family: str = "hgb",
    n: int = 5,
    max_rows: int = 1000,
    cv_folds: int = 3,
    seed: int = 0,
    lcbench: Path | None = _LCBENCH,
) -> dict[str, Any]:
    """Run every step of the demo and return the results as a JSON-friendly dict.

    Args:
        dataset: see `load_demo_dataset`.
        family: runner model family (``hgb``, ``rf``, ``logreg``, ``svm``, ``mlp``).
        n: number of suggestions.
        max_rows: subsample cap for fingerprinting and the CV runs.
        cv_folds: folds of the real evaluation.
        seed: subsampling, fingerprint, suggestion and training seed.
        lcbench: where to look for the shared LCBench benchmark (``None`` skips it).

    Raises:
        WarmstartError: a bad dataset/family, a missing starter library, ...
    """
    from featurizers import featurize_dataset
    from recommender.recommend import Recommender
    from recommender.runner import (
        EvalSettings,
        ModelFamily,
        TaskKind,
        default_config,
        default_space,
        evaluate_config,
    )
    from recommender.runner.evaluate import default_metric
    from recommender.space import Space
    from recommender.starter import STARTER_TASK_PREFIX, open_starter_library

    timings: dict[str, float] = {}
    started = time.perf_counter()
    model = ModelFamily.parse(family)
    starter = open_starter_library()
    stats = starter.stats()
    starter_ids = starter.task_ids()
    short = dataset.split("?")[0].split(":")[-1].split("/")[-1]
    in_starter = sorted(
        t for t in starter_ids if t.removeprefix(STARTER_TASK_PREFIX).split("/")[-2] == short
    )
    family_tasks = [t for t in starter_ids if t.endswith(f"/{model.value}")]
    timings["open_library_s"] = time.perf_counter() - started

    mark = time.perf_counter()
    data = load_demo_dataset(dataset, max_rows=max_rows, seed=seed)
    fingerprint = featurize_dataset(data.features, y=data.target, task=data.kind, seed=seed)
    timings["featurize_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    space = Space.from_dict(default_space(model))
    recommender = Recommender([starter])
    suggestions = recommender.suggest(space=space, n=n, fingerprint=fingerprint, seed=seed)
    explanation = recommender.explain()
    timings["suggest_s"] = time.perf_counter() - mark

    kind = TaskKind(data.kind)
    settings = EvalSettings(metric=default_metric(kind), cv_folds=cv_folds, split_seed=seed)
    default = space.validate(default_config(model, n_features=data.features.shape[1]))
    runs: dict[str, Any] = {}
    for label, config in (("recommended", suggestions[0].config), ("default", default)):
        mark = time.perf_counter()
        outcome = evaluate_config(
            model,
            dict(config),
            data.features,
            data.target,
            kind=kind,
            settings=settings,
            fidelity=1.0,
            seed=seed,
        )
        timings[f"train_{label}_s"] = time.perf_counter() - mark
        runs[label] = {
            "config": dict(config),
            "cv_score": outcome.value,
            "fold_scores": list(outcome.fold_values),
            "fit_seconds": outcome.fit_seconds,
        }
    timings["total_s"] = time.perf_counter() - started
    line = _lcbench_line(lcbench) if lcbench is not None else None
    return {
        "starter_library": {
            "path": str(starter.root),
            "n_tasks": stats["n_tasks"],
            "n_trials": stats["n_trials"],
            "bytes": stats.get("bytes"),
            "n_tasks_of_family": len(family_tasks),
        },
        "dataset": {
            "name": data.name,
            "kind": data.kind,
            "n_rows_total": data.n_rows_total,
            "n_rows_used": int(data.features.shape[0]),
            "n_features": int(data.features.shape[1]),
            "in_starter_library": in_starter,
            "fingerprint": {k: float(v) for k, v in fingerprint.as_series().items()},
        },
        "family": model.value,
        "metric": settings.metric,
        "cv_folds": cv_folds,
        "suggestions": [s.to_dict() for s in suggestions],
        "explanation": explanation.to_dict(),
        "runs": runs,
        "recommended_minus_default": runs["recommended"]["cv_score"] - runs["default"]["cv_score"],
        "lcbench": line,
        "timings": timings,
    }


def _fmt_config(config: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items()
    )


def _print_rich(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    console = Console()
    lib = result["starter_library"]
    console.print(
        Panel.fit(
            f"[bold]{lib['n_tasks']}[/bold] tasks, [bold]{lib['n_trials']:,}[/bold] trials, "
            f"{(lib['bytes'] or 0) / 1e3:.0f} kB on disk, "
            f"{lib['n_tasks_of_family']} tasks of family '{result['family']}'\n"
            f"[dim]{lib['path']} (opened read-only)[/dim]",
            title="Bundled starter library",
        )
    )
    ds = result["dataset"]
    note = (
        "[red]also in the starter library: " + ", ".join(ds["in_starter_library"]) + "[/red]"
        if ds["in_starter_library"]
        else "[green]not in the starter library (a genuinely new task)[/green]"
    )
    console.print(
        f"Dataset [bold]{ds['name']}[/bold] ({ds['kind']}): {ds['n_rows_used']} of "
        f"{ds['n_rows_total']} rows, {ds['n_features']} features; {note}; fingerprinted "
        f"({len(ds['fingerprint'])} meta-features) in {result['timings']['featurize_s']:.1f} s"
    )
    table = Table(
        title=f"Zero-shot suggestions for '{result['family']}' on {ds['name']} "
        f"({result['timings']['suggest_s']:.1f} s)"
    )
    table.add_column("#", justify="right")
    table.add_column("configuration", overflow="fold")
    table.add_column("predicted ± 95% CI", justify="right")
    table.add_column("neighbour tasks (weight)", overflow="fold")
    for rank, s in enumerate(result["suggestions"], 1):
        low, high = s["interval"]
        table.add_row(
            str(rank),
            _fmt_config(s["config"]),
            "-" if s["predicted"] is None else f"{s['predicted']:.3f} ± {(high - low) / 2:.3f}",
            "\n".join(f"{nb['task_id']} ({nb['weight']:.2f})" for nb in s["neighbours"]),
        )
    console.print(table)
    console.print(
        "[dim]predicted = normalised score on the neighbour tasks "
        "(1 = their best trial, 0 = their worst)[/dim]"
    )
    explanation = result["explanation"]
    decisions = explanation["decisions"]
    last = decisions[-1] if decisions else None
    if last is not None:
        dropped = ", ".join(last["dropped"]) or "none"
        console.print(
            Panel.fit(
                f"mode [bold]{last['mode']}[/bold], {len(explanation['sources'])} source tasks "
                f"(nearest by fingerprint), dropped: {dropped}\n{last['reason']}",
                title="Guardrails (rec.explain())",
            )
        )
    runs = result["runs"]
    scores = Table(title=f"Real training: {result['cv_folds']}-fold CV {result['metric']}")
    scores.add_column("configuration", overflow="fold")
    scores.add_column("CV score", justify="right")
    scores.add_column("folds")
    scores.add_column("seconds", justify="right")
    for label in ("recommended", "default"):
        run = runs[label]
        scores.add_row(
            f"{label}: {_fmt_config(run['config'])}",
            f"{run['cv_score']:.4f}",
            ", ".join(f"{v:.3f}" for v in run["fold_scores"]),
            f"{result['timings'][f'train_{label}_s']:.1f}",
        )
    console.print(scores)
    diff = result["recommended_minus_default"]
    colour = "green" if diff > 0 else "yellow" if diff == 0 else "red"
    console.print(
        f"recommended - default = [{colour}]{diff:+.4f}[/{colour}] "
        f"(one dataset, one seed: an illustration, not a benchmark; see README)"
    )
    if result["lcbench"]:
        console.print(f"[dim]{result['lcbench']}[/dim]")
    console.print(f"[dim]total {result['timings']['total_s']:.1f} s[/dim]")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m recommender.demo",
        description="Zero-shot hyperparameter recommendations from the bundled starter "
        "library for a dataset it has never seen, checked by real training.",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--dataset",
        default="digits",
        help="sklearn toy dataset (digits, iris, wine, breast_cancer, diabetes) or a "
        "reference such as builtin:keel/pima (default: digits, not in the starter library)",
    )
    parser.add_argument(
        "--family", default="hgb", help="runner model family: hgb, rf, logreg, svm, mlp"
    )
    parser.add_argument("-n", type=int, default=5, help="number of suggestions (default 5)")
    parser.add_argument("--max-rows", type=int, default=1000, help="subsample cap (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m recommender.demo``; returns the exit code.

    Exit codes: 0 ok, 1 a `WarmstartError` (message on stderr), 2 bad arguments.
    """
    from library.exceptions import WarmstartError

    args = _parse(argv)
    try:
        result = run_demo(
            dataset=args.dataset,
            family=args.family,
            n=args.n,
            max_rows=args.max_rows,
            seed=args.seed,
        )
    except WarmstartError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(to_json(result, indent=1))
    else:
        _print_rich(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
