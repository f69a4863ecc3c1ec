"""Benchmark: warm-started `recommend run` against random search, on real datasets.

The end-to-end loop a user runs (`recommender.runner.run_search`: suggest -> train in a
guarded worker -> 3-fold CV -> journal and library), on scikit-learn datasets (default
``digits``, ``breast_cancer``, ``iris`` and ``wine``), leave one dataset out: each run gets a
private copy of the bundled starter library without that dataset's tasks (``digits`` is
not in it at all), for the model families named (default ``hgb`` and ``logreg``). For
every (dataset, family, seed):

* **transfer**: ``proposer="auto"`` over the library copy, so each
  suggestion comes from `Recommender.suggest` with the run's results so far as the
  observations; the run fingerprints its dataset (`recommender.runner.dataset_fingerprint`),
  so the sources are the 8 starter tasks of the same family (same space) nearest to it.
* **random**: ``proposer="random"``, the same run settings and seed.
* **default**: the family's default configuration, one trial (the same for every seed
  up to the CV split).

Both run twice: as ``recommend run`` does by default, with the family default as the first
trial (`run_search`'s ``default_first``; their t = 1 is then the default's), and with the
proposer's first pick instead (**transfer-first**, **random-first**).

Each dataset is subsampled (seeded) to ``--max-rows`` rows, as the starter library's
tasks were built on small subsamples. Score: the run's mean CV score (accuracy), greater is
better. Normalized regret of a run at trial ``t``: ``(best - best_so_far(t)) / (best -
worst)`` with ``best`` / ``worst`` over every successful trial of every run of that
(dataset, family); averaged over seeds, then over (dataset, family) cases. The summary
also gives the transfer / random ratio of mean regret at each budget.

Writes ``benchmarks/results/warm_run.json`` and ``warm_run.png``. Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_warm_run.py
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from library import Library  # noqa: E402
from library.provenance import code_version  # noqa: E402
from recommender.demo import load_demo_dataset  # noqa: E402
from recommender.runner import RunResult, run_search  # noqa: E402
from recommender.starter import starter_library_path  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
#: method -> (``run_search`` proposer, ``default_first``)
METHODS = {
    "transfer": ("auto", True),
    "random": ("random", True),
    "transfer-first": ("auto", False),
    "random-first": ("random", False),
}


def _write_dataset(name: str, max_rows: int, seed: int, folder: Path) -> Path:
    """``name`` as a CSV with a ``target`` column (its path)."""
    data = load_demo_dataset(name, max_rows=max_rows, seed=seed)
    frame = pd.DataFrame(data.features, columns=[f"x{i}" for i in range(data.features.shape[1])])
    frame["target"] = data.target
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def held_out_library(name: str, path: Path) -> int:
    """A copy of the starter library at ``path`` without the tasks of dataset ``name``.

    The copy's part files are rewritten without the held-out rows (benchmark data
    preparation on a private copy; the library API appends, it does not delete).

    Returns:
        The number of tasks left out (0 when the library never had the dataset).
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    shutil.copytree(starter_library_path(), path)
    prefix = f"starter/sklearn/{name}/"
    removed = 0
    for table in ("tasks", "trials"):
        for part in sorted((path / table).glob("part-*.parquet")):
            rows = pq.read_table(part)
            held = pc.starts_with(rows.column("task_id"), prefix)
            if table == "tasks":
                removed += int(pc.sum(held).as_py() or 0)
            pq.write_table(rows.filter(pc.invert(held)), part)
    Library.open(path, create=False)  # still a library
    return removed


def _curve(result: RunResult, budget: int) -> list[float | None]:
    """Best-so-far full-fidelity score after each trial (``None`` before the first success)."""
    best: float | None = None
    curve: list[float | None] = []
    for record in result.trials[:budget]:
        if record.status == "ok" and record.value is not None and record.full_fidelity:
            best = record.value if best is None else max(best, record.value)
        curve.append(best)
    curve += [best] * (budget - len(curve))
    return curve


def run_case(
    csv: Path,
    model: str,
    *,
    template: Path,
    seeds: list[int],
    budget: int,
    work: Path,
) -> dict[str, Any]:
    """Every method and seed on one (dataset, family); raw scores, no normalisation.

    Each transfer or random run gets its own copy of the library ``template``.
    """
    case: dict[str, Any] = {"curves": {m: [] for m in METHODS}, "default": [], "seconds": {}}
    for method, (proposer, default_first) in METHODS.items():
        started = time.perf_counter()
        for seed in seeds:
            library = work / f"lib-{method}-{model}-{csv.stem}-{seed}"
            shutil.copytree(template, library)
            result = run_search(
                dataset=csv,
                target="target",
                model=model,
                budget=budget,
                seed=seed,
                library=library,
                runs_dir=work / "runs",
                proposer=proposer,
                default_first=default_first,
                validate_final=False,
                n_jobs=1,
            )
            case["curves"][method].append(_curve(result, budget))
        case["seconds"][method] = time.perf_counter() - started
    for seed in seeds:  # the run's first trial is the family default: one trial of it
        result = run_search(
            dataset=csv,
            target="target",
            model=model,
            budget=1,
            seed=seed,
            runs_dir=work / "runs",
            proposer="random",
            default_first=True,
            validate_final=False,
            n_jobs=1,
        )
        case["default"].append(result.best_value)
    return case


def normalized_regret(case: dict[str, Any]) -> dict[str, np.ndarray]:
    """Seeds x budget regret per method, on the case's best and worst successful score."""
    values = [v for m in METHODS for curve in case["curves"][m] for v in curve if v is not None]
    values += [v for v in case["default"] if v is not None]
    best, worst = max(values), min(values)
    span = best - worst if best > worst else 1.0
    out = {}
    for method in METHODS:
        curves = np.array(
            [[worst if v is None else v for v in curve] for curve in case["curves"][method]],
            dtype=np.float64,
        )
        out[method] = (best - curves) / span
    defaults = np.array([worst if v is None else v for v in case["default"]], dtype=np.float64)
    out["default"] = (best - defaults) / span
    return out


def summarize(cases: dict[str, dict[str, Any]], budgets: list[int]) -> dict[str, Any]:
    """Mean normalized regret per method at ``budgets`` (cases averaged), and the ratio."""
    per_case = {name: normalized_regret(case) for name, case in cases.items()}
    summary: dict[str, Any] = {"budgets": budgets, "mean_regret": {}, "per_case": {}}
    for method in METHODS:
        curve = np.mean([r[method].mean(axis=0) for r in per_case.values()], axis=0)
        summary["mean_regret"][method] = {str(t): round(float(curve[t - 1]), 4) for t in budgets}
    summary["mean_regret"]["default"] = round(
        float(np.mean([r["default"].mean() for r in per_case.values()])), 4
    )
    mean = summary["mean_regret"]
    for key, (num, den) in {
        "transfer_over_random": ("transfer", "random"),
        "transfer_first_over_random_first": ("transfer-first", "random-first"),
    }.items():
        summary[key] = {
            str(t): round(mean[num][str(t)] / mean[den][str(t)], 3)
            if mean[den][str(t)] > 0
            else None
            for t in budgets
        }
    for name, r in per_case.items():
        summary["per_case"][name] = {
            m: [round(float(v), 4) for v in r[m].mean(axis=0)] for m in METHODS
        } | {"default": round(float(r["default"].mean()), 4)}
    return summary


def _plot(summary: dict[str, Any], budget: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    trials = np.arange(1, budget + 1)
    for method in METHODS:
        curve = np.mean([c[method] for c in summary["per_case"].values()], axis=0)
        axis.plot(
            trials,
            curve,
            marker="o",
            ls="-" if method in ("transfer", "random") else ":",
            label=method,
        )
    axis.axhline(summary["mean_regret"]["default"], color="grey", ls="--", label="default")
    axis.set_xlabel("trials")
    axis.set_ylabel("mean normalized regret")
    axis.set_title("recommend run: transfer from the starter library vs random")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the JSON and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="digits,breast_cancer,iris,wine")
    parser.add_argument("--models", default="hgb,logreg")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--max-rows", type=int, default=500)
    parser.add_argument("--out", type=Path, default=RESULTS / "warm_run.json")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    seeds = list(range(args.seeds))
    cases: dict[str, dict[str, Any]] = {}
    held_out: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.datasets.split(","):
            csv = _write_dataset(name, args.max_rows, 0, work)
            template = work / f"lib-{name}"
            held_out[name] = held_out_library(name, template)
            for model in args.models.split(","):
                key = f"{name}/{model}"
                cases[key] = run_case(
                    csv,
                    model,
                    template=template,
                    seeds=seeds,
                    budget=args.budget,
                    work=work,
                )
                print(key, {m: cases[key]["curves"][m] for m in METHODS}, flush=True)
    budgets = [t for t in (1, 2, 3, 5, 10, 20) if t <= args.budget]
    summary = summarize(cases, budgets)
    payload = {
        "config": vars(args) | {"out": str(args.out)},
        "machine": {
            "commit": code_version(),
            "python": platform.python_version(),
        },
        "wall_seconds": round(time.perf_counter() - started, 1),
        "held_out_tasks": held_out,
        "summary": summary,
        "cases": cases,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    _plot(summary, args.budget, args.out.with_suffix(".png"))
    print(json.dumps(summary["mean_regret"]), json.dumps(summary["transfer_over_random"]))
    print(json.dumps(summary["transfer_first_over_random_first"]))


if __name__ == "__main__":
    main()
