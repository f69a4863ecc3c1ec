"""`make demo`: zero-shot recommendations for a dataset the starter library has never seen.

Run as ``python -m recommender.demo`` (``--json`` for machine output). Steps:

1. open the bundled starter library read-only and print its stats;
2. load a real dataset that is not in the starter library (scikit-learn's ``digits`` by
   default), subsample it to at most ``--max-rows`` rows (seeded) and fingerprint it with
   `featurizers.featurize_dataset`;
3. ask `Recommender.suggest` for ``--n`` zero-shot configurations of a runner model family
   (HistGradientBoosting by default) and print them with the guardrail explanation;
4. train the suggestions, as many random configurations of the same space (the same
   budget) and the family's default configuration for real with the runner's evaluation
   (`recommender.runner.evaluate_config`, 3-fold CV), and compare them (`compare_runs`);
5. if the shared LCBench benchmark is present, print one line about it (no heavy work).

Takes well under two minutes on a loaded 2-core machine (one thread per fit).

Example:
    >>> main(["--json"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender._cli_tables import config_text
from recommender.json_text import to_json

if TYPE_CHECKING:
    from rich.console import Console

    from recommender.runner import EvalSettings, ModelFamily, TaskKind

__all__ = ["DemoDataset", "compare_runs", "load_demo_dataset", "main", "run_demo"]

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
    train: int | None = None,
    lcbench: Path | None = _LCBENCH,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Run every step of the demo and return the results as a JSON-friendly dict.

    Args:
        dataset: see `load_demo_dataset`.
        family: runner model family (``hgb``, ``rf``, ``logreg``, ``svm``, ``mlp``).
        n: number of suggestions.
        max_rows: subsample cap for fingerprinting and the CV runs.
        cv_folds: folds of the real evaluation.
        seed: subsampling, fingerprint, suggestion, random-configuration and training seed.
        train: how many of the suggestions to train, best first, and how many random
            configurations of the same space to train beside them (the same budget;
            default ``n``).
        lcbench: where to look for the shared LCBench benchmark (``None`` skips it).
        progress: ``callback(stage, done, total)`` over the training runs.

    Returns:
        The starter library's stats, the dataset and its fingerprint, the suggestions and
        the explanation, the real runs (``runs``: ``recommended``, ``random``,
        ``default``), `compare_runs` of them (``comparison``) and timings.

    Raises:
        CLIUsageError: ``train`` below 1.
        WarmstartError: a bad dataset/family, a missing starter library, ...
    """
    from featurizers import featurize_dataset
    from library.exceptions import CLIUsageError
    from recommender.recommend import Recommender
    from recommender.runner import (
        EvalSettings,
        ModelFamily,
        TaskKind,
        default_config,
        default_space,
    )
    from recommender.runner.evaluate import default_metric
    from recommender.space import Space
    from recommender.starter import STARTER_TASK_PREFIX, open_starter_library

    if train is not None and train < 1:
        raise CLIUsageError(f"--train must be at least 1 (got {train})")
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
    k = min(len(suggestions), n if train is None else train)  # random gets as many
    plan = [("recommended", s.config) for s in suggestions[:k]]
    plan += [("random", config) for config in space.sample(k, seed=seed)]
    plan.append(("default", default))
    trained: list[dict[str, Any]] = []
    mark = time.perf_counter()
    for done, (label, config) in enumerate(plan):
        if progress is not None:
            progress("training (CV)", done, len(plan))
        trained.append({"label": label, **_train(model, dict(config), data, kind, settings, seed)})
    if progress is not None:
        progress("training (CV)", len(plan), len(plan))
    timings["train_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    runs = {
        "recommended": [r for r in trained if r["label"] == "recommended"],
        "random": [r for r in trained if r["label"] == "random"],
        "default": trained[-1],
    }
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
        "comparison": compare_runs(runs),
        "lcbench": line,
        "timings": timings,
    }


def _train(
    model: ModelFamily,
    config: dict[str, Any],
    data: DemoDataset,
    kind: TaskKind,
    settings: EvalSettings,
    seed: int,
) -> dict[str, Any]:
    """One real CV run of ``config``; a diverged run has ``cv_score`` ``None``."""
    from recommender.runner import DivergenceError, evaluate_config

    mark = time.perf_counter()
    try:
        outcome = evaluate_config(
            model,
            config,
            data.features,
            data.target,
            kind=kind,
            settings=settings,
            fidelity=1.0,
            seed=seed,
        )
    except DivergenceError as error:
        return {
            "config": config,
            "status": "diverged",
            "reason": str(error),
            "cv_score": None,
            "fold_scores": [],
            "seconds": time.perf_counter() - mark,
        }
    return {
        "config": config,
        "status": "ok",
        "cv_score": outcome.value,
        "fold_scores": list(outcome.fold_values),
        "seconds": time.perf_counter() - mark,
    }


def compare_runs(runs: Mapping[str, Any]) -> dict[str, float | None]:
    """The demo's three comparisons, on the CV score (greater is better).

    ``top1_minus_default`` (the first suggestion against the family's default),
    ``best_recommended_minus_default`` and ``best_recommended_minus_best_random`` (the
    best of the trained suggestions against the best of as many random configurations:
    the same budget). A side whose runs all diverged makes its comparison ``None``.

    Args:
        runs: ``recommended`` and ``random`` (lists of runs) and ``default`` (one run),
            each run with a ``cv_score`` (``None`` when it diverged).
    """

    def best(items: Sequence[Mapping[str, Any]]) -> float | None:
        scores = [r["cv_score"] for r in items if r["cv_score"] is not None]
        return max(scores) if scores else None

    def minus(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    top1 = runs["recommended"][0]["cv_score"] if runs["recommended"] else None
    default = runs["default"]["cv_score"]
    return {
        "n_trained": len(runs["recommended"]),
        "top1_minus_default": minus(top1, default),
        "best_recommended_minus_default": minus(best(runs["recommended"]), default),
        "best_recommended_minus_best_random": minus(
            best(runs["recommended"]), best(runs["random"])
        ),
    }


def _short_task(task_id: str, family: str) -> str:
    """``starter/keel/pima/hgb`` -> ``keel/pima`` (the family is in the table's title)."""
    from recommender.starter import STARTER_TASK_PREFIX

    return task_id.removeprefix(STARTER_TASK_PREFIX).removesuffix(f"/{family}")


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
    table.add_column("configuration", no_wrap=True)
    table.add_column("predicted ± 95% CI", justify="right")
    table.add_column("neighbour tasks (weight)", overflow="fold")
    for rank, s in enumerate(result["suggestions"], 1):
        low, high = s["interval"]
        table.add_row(
            str(rank),
            config_text(s["config"], digits=3),
            "-" if s["predicted"] is None else f"{s['predicted']:.3f} ± {(high - low) / 2:.3f}",
            "\n".join(
                f"{_short_task(nb['task_id'], result['family'])} ({nb['weight']:.2f})"
                for nb in s["neighbours"]
            ),
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
    _print_runs(console, result)
    if result["lcbench"]:
        console.print(f"[dim]{result['lcbench']}[/dim]")
    console.print(f"[dim]total {result['timings']['total_s']:.1f} s[/dim]")


def _print_runs(console: Console, result: dict[str, Any]) -> None:
    """The real CV runs, best of each group in bold, and the three comparisons."""
    from rich.table import Table

    runs = result["runs"]
    table = Table(title=f"Real training: {result['cv_folds']}-fold CV {result['metric']}")
    table.add_column("run")
    table.add_column("configuration", overflow="fold")
    table.add_column("CV score", justify="right")
    table.add_column("seconds", justify="right")
    groups = [("suggestion", runs["recommended"]), ("random", runs["random"])]
    groups.append(("default", [runs["default"]]))
    for name, items in groups:
        scores = [r["cv_score"] for r in items if r["cv_score"] is not None]
        for i, run in enumerate(items, 1):
            score = run["cv_score"]
            text = run["status"] if score is None else f"{score:.4f}"
            if score is not None and len(items) > 1 and score == max(scores):
                text = f"[bold]{text}[/bold]"
            label = name if name == "default" else f"{name} #{i}"
            table.add_row(
                label, config_text(run["config"], ", ", digits=3), text, f"{run['seconds']:.1f}"
            )
    console.print(table)
    comparison = result["comparison"]
    k = comparison["n_trained"]
    lines = [
        ("first suggestion - default", comparison["top1_minus_default"]),
        (f"best of {k} suggestions - default", comparison["best_recommended_minus_default"]),
        (
            f"best of {k} suggestions - best of {k} random (same budget)",
            comparison["best_recommended_minus_best_random"],
        ),
    ]
    for text, diff in lines:
        if diff is None:
            console.print(f"{text}: [yellow]n/a (every run of one side diverged)[/yellow]")
            continue
        colour = "green" if diff > 0 else "yellow" if diff == 0 else "red"
        console.print(f"{text} = [{colour}]{diff:+.4f}[/{colour}]")
    console.print(
        "[dim](one dataset, one seed: an illustration, not a benchmark; docs/benchmarks.md, "
        "*Zero-shot on the starter library*, has the leave-one-dataset-out figures)[/dim]"
    )


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
    parser.add_argument(
        "--train",
        type=int,
        default=None,
        help="train the best K suggestions and K random configurations (default: all -n)",
    )
    parser.add_argument("--max-rows", type=int, default=1000, help="subsample cap (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m recommender.demo``; returns the exit code.

    Exit codes: 0 ok, 1 a `WarmstartError` (message on stderr), 2 bad arguments.
    """
    from library.exceptions import WarmstartError
    from recommender._cli_common import progress_bar

    args = _parse(argv)
    try:
        with progress_bar(not args.json, transient=True) as progress:
            result = run_demo(
                dataset=args.dataset,
                family=args.family,
                n=args.n,
                max_rows=args.max_rows,
                seed=args.seed,
                train=args.train,
                progress=progress,
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
