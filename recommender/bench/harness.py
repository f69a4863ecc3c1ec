"""`run_transfer_benchmark`: leave-one-task-out over a benchmark directory, all methods,
same seeds, in one invocation (FORMAT.md protocol).

Source GPs depend only on the source task (and on the adversarial perturbation), never on
the target, so they are fitted once per task in the parent process and shared with the
worker processes (fork); their one-off cost is reported separately from the per-suggestion
times. Workers run one target each, every method and seed on it.
"""

from __future__ import annotations

import inspect
import json
import logging
import multiprocessing
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from library.exceptions import BenchmarkFormatError, UnknownTaskError
from library.importers import Benchmark, read_benchmark
from library.provenance import code_version
from recommender.bench.methods import METHODS, MethodInput, run_method
from recommender.bench.problem import SourceData, build_problems, normalized_regret, perturb_sources
from recommender.first_pick import cross_predictions
from recommender.space import Space
from recommender.surrogate import SourceModel, fit_source_model, predict_sources

__all__ = [
    "BenchConfig",
    "PERTURB_SEED",
    "REPORT_BUDGETS",
    "load_problems",
    "machine_info",
    "run_transfer_benchmark",
    "summarise_runs",
]

_LOG = logging.getLogger(__name__)
REPORT_BUDGETS = (1, 5, 10, 20, 30)
PERTURB_SEED = 12345  # which sources an adversarial library perturbs, and how

# Worker globals, set in the parent before forking (read-only in workers).
_SHARED: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """Settings of one benchmark invocation.

    Attributes:
        benchmark: directory in the shared format.
        methods: method names (keys of `METHODS`).
        budget: picks per run.
        seeds: seeds ``0 .. seeds-1``.
        targets: ``None`` for every task, else the first ``targets`` tasks (sorted ids)
            — or an explicit tuple of task ids.
        adversarial: ``None``, ``"negate"``, ``"shuffle"`` or ``"mixed"``.
        adversarial_share: share of source tasks perturbed.
        workers: parallel processes (over targets).
    """

    benchmark: Path
    methods: tuple[str, ...] = ("random", "cold-gp", "portfolio", "rgpe", "ours")
    budget: int = 30
    seeds: int = 5
    targets: int | tuple[str, ...] | None = None
    adversarial: str | None = None
    adversarial_share: float = 0.5
    workers: int = 2

    def record(self, targets: Sequence[str]) -> dict[str, Any]:
        """The settings as a results file records them, for the given target ids."""
        return {
            "methods": list(self.methods),
            "budget": self.budget,
            "seeds": list(range(self.seeds)),
            "targets": list(targets),
            "adversarial": self.adversarial,
            "adversarial_share": self.adversarial_share if self.adversarial else 0.0,
            "workers": self.workers,
        }

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {sorted(METHODS)}")
        if self.budget < 1 or self.seeds < 1 or self.workers < 1:
            raise ValueError(
                f"budget, seeds and workers must be >= 1, got {self.budget=}, {self.seeds=}, {self.workers=}"
            )


# Source GPs of each kind: ours (`fit_source_model`'s defaults) and the ANCHORS reference
# used by `portfolio` and `rgpe` (Gaussian-copula ranks, 250 trials: 50 best + 200 random);
# kinds whose settings resolve equal share one set of GPs.
_MODEL_KINDS: dict[str, dict[str, Any]] = {
    "ours": {},
    "reference": {"normalization": "copula", "n_fit": 250, "n_condition": 250},
}


def _model_kinds(methods: Sequence[str]) -> list[str]:
    kinds = []
    if any(m in ("ours", "ours-no-guardrails") for m in methods):
        kinds.append("ours")
    if any(m in ("portfolio", "rgpe") for m in methods):
        kinds.append("reference")
    return kinds


def _fit_models(
    tasks: dict[str, SourceData],
    kinds: Sequence[str],
    progress: Callable[[str, int, int], None] | None,
) -> tuple[dict[str, dict[str, SourceModel]], float]:
    start = time.perf_counter()
    models: dict[str, dict[str, SourceModel]] = {}
    defaults = {
        name: p.default
        for name, p in inspect.signature(fit_source_model).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    settings = {kind: {**defaults, **_MODEL_KINDS[kind]} for kind in kinds}
    total = len(tasks) * len(kinds)
    done = 0
    for kind in kinds:
        same = next((k for k in models if settings[k] == settings[kind]), None)
        if same is not None:  # identical settings: the same GPs, fitted once
            models[kind] = models[same]
            done += len(tasks)
            continue
        models[kind] = {}
        for task_id, data in tasks.items():
            models[kind][task_id] = fit_source_model(
                task_id, data.X, data.score, seed=0, **_MODEL_KINDS[kind]
            )
            done += 1
            if progress:
                progress("fit source GPs", done, total)
    return models, time.perf_counter() - start


def _run_target(target_id: str) -> dict[str, Any]:
    cfg: BenchConfig = _SHARED["config"]
    truth: dict[str, SourceData] = _SHARED["truth"]
    history: dict[str, SourceData] = _SHARED["history"]
    models: dict[str, dict[str, SourceModel]] = _SHARED["models"]
    space: Space = _SHARED["space"]
    target = truth[target_id]
    sources = tuple(history[t] for t in history if t != target_id)
    out: dict[str, Any] = {"target": target_id, "runs": {}}
    # every seed and method of this target shares one prediction of each source GP on the
    # pool (the source GPs never see the target); its cost is reported on its own
    start = time.perf_counter()
    predictions: dict[str, tuple[Any, Any]] = {}
    for kind, kind_models in models.items():
        same = next((k for k in predictions if models[k] is kind_models), None)
        predictions[kind] = (
            predictions[same]
            if same is not None
            else predict_sources([kind_models[s.task_id] for s in sources], target.X)
        )
    out["pool_prediction_seconds"] = time.perf_counter() - start
    for method in cfg.methods:
        runs = []
        for seed in range(cfg.seeds):
            inp = MethodInput(
                space=space,
                pool_X=target.X,
                pool_configs=target.configs,
                sources=sources,
                source_models=models.get("ours", {}),
                reference_models=models.get("reference", {}),
                budget=min(cfg.budget, len(target.score)),
                seed=seed,
                source_predictions=predictions.get("ours"),
                reference_predictions=predictions.get("reference"),
                cross_predictions=_SHARED["cross"],
            )
            oracle = run_method(method, inp, target.score)
            regret = normalized_regret(target.score, np.array(oracle.picks))
            # a pool smaller than the budget is exhausted early: its regret stays final
            regret = np.pad(regret, (0, cfg.budget - len(regret)), mode="edge")
            runs.append(
                {
                    "seed": seed,
                    "picks": oracle.picks,
                    "regret": regret.tolist(),
                    "suggest_seconds": oracle.suggest_seconds,
                }
            )
        out["runs"][method] = runs
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def single_threaded() -> None:
    """One torch thread per worker: ``workers`` processes each running torch's default
    thread pool oversubscribe the cores (measured: a 30-pick rgpe run took 39 s instead
    of 3 s with 2 workers on 2 cores)."""
    import torch

    torch.set_num_threads(1)


def _append_partial(path: Path | None, result: dict[str, Any]) -> None:
    if path is None:
        return
    with open(path, "a") as handle:
        handle.write(json.dumps(result) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def summarise_runs(results: list[dict[str, Any]], cfg: BenchConfig) -> dict[str, Any]:
    """Per-method summary of finished targets: mean regret +/- SE, curve, mean rank, time.

    Args:
        results: one dict per target as `run_transfer_benchmark` returns them under
            ``per_target`` (any set of targets, e.g. pooled over several benchmarks).
        cfg: the methods and budget the runs used.

    Returns:
        ``{method: {"mean_regret", "stderr", "curve", "per_target_regret_at",
        "seconds_per_suggestion", "mean_rank"}}``.
    """
    methods = cfg.methods
    # regret[method] : (targets, seeds, budget)
    regret = {
        m: np.array([[r["regret"] for r in res["runs"][m]] for res in results]) for m in methods
    }
    summary: dict[str, Any] = {}
    budgets = [t for t in REPORT_BUDGETS if t <= cfg.budget]
    for m in methods:
        # two quantities: `per_target` averages each target's seeds (what paired comparisons
        # over targets read, `compare.standard_error`); `flat` keeps every (target, seed) run,
        # and "stderr" is the SE over those runs (0.0 for a single run)
        per_target = regret[m].mean(axis=1)
        flat = regret[m].reshape(-1, regret[m].shape[-1])
        seconds = [s for res in results for r in res["runs"][m] for s in r["suggest_seconds"]]
        summary[m] = {
            "mean_regret": {str(t): float(flat[:, t - 1].mean()) for t in budgets},
            "stderr": {
                str(t): float(flat[:, t - 1].std(ddof=1) / np.sqrt(len(flat)))
                if len(flat) > 1
                else 0.0
                for t in budgets
            },
            "curve": flat.mean(axis=0).tolist(),
            "per_target_regret_at": {str(t): per_target[:, t - 1].tolist() for t in budgets},
            "seconds_per_suggestion": float(np.mean(seconds)) if seconds else 0.0,
        }
    # mean rank at each reported budget: rank methods per (target, seed), ties averaged
    from scipy.stats import rankdata

    for t in budgets:
        stacked = np.stack(
            [regret[m][:, :, t - 1] for m in methods], axis=-1
        )  # targets, seeds, methods
        ranks = rankdata(stacked, axis=-1)
        for i, m in enumerate(methods):
            summary[m].setdefault("mean_rank", {})[str(t)] = float(ranks[..., i].mean())
    return summary


def write_script_results(
    path: Path, config: dict[str, Any], started: float, **sections: Any
) -> dict[str, Any]:
    """Write a benchmark script's results JSON: ``config``, `machine_info`, the wall
    seconds since ``started`` (a ``time.perf_counter()``), then ``sections``.

    Returns:
        The payload written.
    """
    payload = {
        "config": config,
        "machine": machine_info(),
        "wall_seconds": round(time.perf_counter() - started, 1),
        **sections,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1))
    return payload


def machine_info() -> dict[str, Any]:
    """The machine and library versions a run used (recorded in every results file)."""
    import botorch
    import gpytorch
    import torch

    return {
        # ``git describe --always --dirty``: a run on uncommitted changes says so
        "commit": code_version() or "",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "botorch": botorch.__version__,
        "gpytorch": gpytorch.__version__,
        # the source GPs are fitted in this process: their hyperparameters (and so a
        # first pick) can change with the thread count
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }


def left_out_tasks(benchmark: Benchmark, truth: Mapping[str, SourceData]) -> list[str]:
    """The benchmark's tasks that are not in ``truth`` (no 2 scored configurations at
    full fidelity), in the benchmark's order."""
    return [task for task in benchmark.task_ids if task not in truth]


def load_problems(
    benchmark_dir: Path, adversarial: str | None, adversarial_share: float
) -> tuple[Benchmark, Space, dict[str, SourceData], dict[str, SourceData]]:
    """Read a shared-format benchmark into target problems and the (perturbed) source history.

    Returns:
        ``(benchmark, space, truth, history)``: ``truth`` maps task id -> the task as it
        is (the targets), ``history`` the same tasks as sources (perturbed when
        ``adversarial`` is set, with `PERTURB_SEED`).

    Raises:
        BenchmarkFormatError: the directory does not follow FORMAT.md, or fewer than 2
            tasks have 2 or more configurations with a finite objective. Columns that
            space.json does not declare are left out with a warning, not an error.
    """
    benchmark = read_benchmark(
        benchmark_dir, allow_missing_objective=True, allow_extra_columns=True
    )
    if benchmark.ignored_columns:
        _LOG.warning(
            "%s: columns not declared in space.json left out: %s",
            benchmark_dir,
            ", ".join(benchmark.ignored_columns),
        )
    space = Space.from_dict(benchmark.space)
    # failed evaluations (null objective) are left out of pools and histories; a task
    # with fewer than 2 scored configurations is no use as a target or a source
    truth = {k: v for k, v in build_problems(benchmark, space).items() if len(v.score) >= 2}
    left_out = left_out_tasks(benchmark, truth)
    if left_out and truth:
        _LOG.warning(
            "%s: %d task(s) with fewer than 2 scored full-fidelity configurations left out "
            "(neither targets nor sources): %s",
            benchmark_dir,
            len(left_out),
            ", ".join(left_out[:5]) + (", ..." if len(left_out) > 5 else ""),
        )
    if not truth:
        raise BenchmarkFormatError(
            f"{benchmark_dir}: no task has 2 or more configurations with a finite objective"
        )
    if len(truth) < 2:
        raise BenchmarkFormatError(
            f"{benchmark_dir}: leave one task out needs 2 or more tasks with 2 or more scored "
            f"configurations, found only {next(iter(truth))!r}"
        )
    history = perturb_sources(truth, mode=adversarial, share=adversarial_share, seed=PERTURB_SEED)
    return benchmark, space, truth, history


def _named_targets(
    named: Sequence[str], benchmark: Benchmark, truth: Mapping[str, SourceData]
) -> list[str]:
    """The targets named on the command line, each checked.

    Raises:
        UnknownTaskError: a name that is no task of the benchmark.
        BenchmarkFormatError: a task without 2 scored full-fidelity configurations.
    """
    for task in named:
        if task not in benchmark.task_ids:
            raise UnknownTaskError.among(
                task, benchmark.task_ids, f"benchmark {benchmark.name!r}", listing=None
            )
        if task not in truth:
            raise BenchmarkFormatError(
                f"task {task!r} has fewer than 2 scored configurations at full fidelity; it "
                "cannot be a target"
            )
    return list(named)


def run_transfer_benchmark(
    cfg: BenchConfig,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    argv: Sequence[str] | None = None,
    partial_path: Path | None = None,
) -> dict[str, Any]:
    """Run the leave-one-task-out protocol and return the results document.

    Args:
        cfg: what to run.
        progress: ``progress(stage, done, total)`` callback (the CLI passes a rich bar).
        argv: the command line, recorded in the results.
        partial_path: if given, each finished target's runs are appended there as one
            JSON line, so an interrupted run still leaves its finished targets behind.

    Returns:
        A JSON-serialisable dict: config, machine, per-method summary and per-target runs.

    Raises:
        BenchmarkFormatError: the directory does not follow FORMAT.md.
    """
    wall_start = time.perf_counter()
    benchmark, space, truth, history = load_problems(
        cfg.benchmark, cfg.adversarial, cfg.adversarial_share
    )
    missing = int(benchmark.trials[benchmark.objective].isna().sum())
    task_ids = list(truth)
    if isinstance(cfg.targets, int):
        targets = task_ids[: cfg.targets]
    elif cfg.targets is None:
        targets = task_ids
    else:
        targets = _named_targets(cfg.targets, benchmark, truth)
    models, fit_seconds = _fit_models(history, _model_kinds(cfg.methods), progress)
    # ours' zero-shot criterion test compares sources with each other: every pair is
    # predicted once here (each target's test reads the pairs without it), like the fits
    start = time.perf_counter()
    cross = cross_predictions(list(models["ours"].values())) if "ours" in models else None
    cross_seconds = time.perf_counter() - start
    _SHARED.update(
        config=cfg, truth=truth, history=history, models=models, space=space, cross=cross
    )
    results: list[dict[str, Any]] = []
    if cfg.workers > 1 and len(targets) > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(cfg.workers, initializer=single_threaded) as pool:
            for done, res in enumerate(pool.imap_unordered(_run_target, targets)):
                results.append(res)
                _append_partial(partial_path, res)
                if progress:
                    progress("targets", done + 1, len(targets))
    else:
        for done, target_id in enumerate(targets):
            results.append(_run_target(target_id))
            _append_partial(partial_path, results[-1])
            if progress:
                progress("targets", done + 1, len(targets))
    results.sort(key=lambda r: targets.index(r["target"]))
    return {
        "benchmark": benchmark.name,
        "benchmark_dir": str(cfg.benchmark),
        "argv": list(argv) if argv is not None else None,
        "config": cfg.record(targets),
        "machine": machine_info(),
        "missing_objective_rows": missing,
        "ignored_columns": list(benchmark.ignored_columns),
        "left_out_tasks": left_out_tasks(benchmark, truth),
        "source_model_fit_seconds": fit_seconds,
        "source_cross_prediction_seconds": cross_seconds,
        "wall_seconds": time.perf_counter() - wall_start,
        "peak_rss_mb": max(
            [r["peak_rss_mb"] for r in results]
            + [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]
        ),
        "summary": summarise_runs(results, cfg),
        "per_target": results,
    }
