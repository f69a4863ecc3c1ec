"""A seeded, conditional, minimised transfer benchmark in the shared format (FORMAT.md).

`write_conditional_benchmark` writes a benchmark shaped like the mixed spaces that stress
transfer methods: a categorical ``learner`` (4 choices) switches four groups of children
on and off, one child is itself a categorical parent (``svm_kernel`` switches
``svm_gamma``), and a shared categorical (``imputation``) is always active — 15
parameters, 21 encoded dimensions. The objective (``error``, minimised) is a sum of
smooth per-learner bowls whose optima drift with a per-task latent vector, plus a
per-task learner preference, per-task scale and offset, and evaluation noise.
A share of tasks are *outliers* whose optima are drawn independently of the family, so
some sources are unhelpful for some targets without any artificial negation.

Nothing here is tuned against: it is a generator, so every benchmark built with another
seed is a fresh check of a method (the README quotes the seed it used).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from library.benchmark_writer import write_benchmark

__all__ = [
    "PREFERENCES",
    "ConditionalTask",
    "conditional_outlier_tasks",
    "conditional_tasks",
    "write_conditional_benchmark",
]

_LEARNERS = ("svm", "rf", "xgb", "glmnet")
#: How the tasks' learner preferences are drawn (`write_conditional_benchmark`).
PREFERENCES = ("family", "independent")
_FIDELITIES = (0.25, 0.5, 1.0)
_PARAMETERS: list[dict[str, Any]] = [
    {"name": "learner", "type": "categorical", "choices": list(_LEARNERS)},
    {"name": "imputation", "type": "categorical", "choices": ["mean", "median", "hist"]},
    {"name": "svm_cost", "type": "float", "low": 1e-3, "high": 1e3, "log": True},
    {"name": "svm_kernel", "type": "categorical", "choices": ["linear", "radial"]},
    {"name": "svm_gamma", "type": "float", "low": 1e-4, "high": 1e1, "log": True},
    {"name": "rf_trees", "type": "int", "low": 10, "high": 1000, "log": True},
    {"name": "rf_mtry", "type": "float", "low": 0.05, "high": 1.0, "log": False},
    {"name": "rf_min_node", "type": "int", "low": 1, "high": 50, "log": True},
    {"name": "xgb_eta", "type": "float", "low": 1e-3, "high": 1.0, "log": True},
    {"name": "xgb_depth", "type": "int", "low": 1, "high": 15, "log": False},
    {"name": "xgb_subsample", "type": "float", "low": 0.3, "high": 1.0, "log": False},
    {"name": "xgb_colsample", "type": "float", "low": 0.3, "high": 1.0, "log": False},
    {"name": "xgb_lambda", "type": "float", "low": 1e-3, "high": 1e3, "log": True},
    {"name": "glmnet_alpha", "type": "float", "low": 0.0, "high": 1.0, "log": False},
    {"name": "glmnet_s", "type": "float", "low": 1e-4, "high": 1e3, "log": True},
]
_CHILDREN = {
    "svm": ("svm_cost", "svm_kernel"),
    "rf": ("rf_trees", "rf_mtry", "rf_min_node"),
    "xgb": ("xgb_eta", "xgb_depth", "xgb_subsample", "xgb_colsample", "xgb_lambda"),
    "glmnet": ("glmnet_alpha", "glmnet_s"),
}
# numeric children of each learner, in the order of their optimum coordinates
_NUMERIC = {
    "svm": ("svm_cost", "svm_gamma"),
    "rf": ("rf_trees", "rf_mtry", "rf_min_node"),
    "xgb": ("xgb_eta", "xgb_depth", "xgb_subsample", "xgb_colsample", "xgb_lambda"),
    "glmnet": ("glmnet_alpha", "glmnet_s"),
}


def _bounds(name: str) -> tuple[dict[str, Any], float, float]:
    spec = next(p for p in _PARAMETERS if p["name"] == name)
    return spec, float(spec["low"]), float(spec["high"])


def _unit(name: str, values: np.ndarray) -> np.ndarray:
    """The ANCHORS encoding of one numeric parameter (log, then min-max)."""
    spec, low, high = _bounds(name)
    if spec["log"]:
        return (np.log(values) - np.log(low)) / (np.log(high) - np.log(low))
    return (values - low) / (high - low)


def _from_unit(name: str, u: np.ndarray) -> np.ndarray:
    spec, low, high = _bounds(name)
    if spec["log"]:
        values = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
    else:
        values = low + u * (high - low)
    if spec["type"] == "int":
        values = np.clip(np.round(values), low, high)
    return values


def _sample_configs(rng: np.random.Generator, n: int) -> pd.DataFrame:
    frame: dict[str, np.ndarray] = {
        "learner": rng.choice(np.array(_LEARNERS, dtype=object), n),
        "imputation": rng.choice(np.array(["mean", "median", "hist"], dtype=object), n),
        "svm_kernel": rng.choice(np.array(["linear", "radial"], dtype=object), n),
    }
    for names in _NUMERIC.values():
        for name in names:
            frame[name] = _from_unit(name, rng.uniform(0.0, 1.0, n))
    configs = pd.DataFrame(frame)
    for learner, children in _CHILDREN.items():
        off = configs["learner"] != learner
        for child in children:
            configs.loc[off, child] = None if child == "svm_kernel" else np.nan
    gamma_off = configs["svm_kernel"] != "radial"
    configs.loc[gamma_off, "svm_gamma"] = np.nan
    return configs


#: each learner's size-like child: how much it costs differs from task to task
_SIZE_CHILD = {"svm": "svm_cost", "rf": "rf_trees", "xgb": "xgb_depth", "glmnet": "glmnet_s"}


def _log_time(configs: pd.DataFrame, latent: np.ndarray) -> np.ndarray:
    """Noise-free log training time (seconds, full data) of each configuration on a task.

    The learner and its size-like children set a shape every task shares (more trees,
    deeper boosting, a larger SVM cost, a radial kernel: slower); the task's latent sets
    its level (a larger dataset) and how much its learner's size-like child costs on it,
    a deviation from the shared shape that is the task's own.
    """

    def unit(name: str) -> np.ndarray:
        return np.nan_to_num(_unit(name, configs[name].to_numpy(dtype=np.float64)), nan=0.0)

    learner = configs["learner"].to_numpy()
    radial = (configs["svm_kernel"] == "radial").to_numpy()
    shape = {
        "svm": 1.0 + 1.5 * unit("svm_cost") + 0.7 * radial,
        "rf": 0.5 + 2.0 * unit("rf_trees") + 1.0 * unit("rf_mtry") - 0.5 * unit("rf_min_node"),
        "xgb": 0.5 + 1.5 * unit("xgb_depth") - 1.0 * unit("xgb_eta") + 0.5 * unit("xgb_subsample"),
        "glmnet": -0.5 + 0.8 * unit("glmnet_s"),
    }
    chosen = [learner == name for name in _LEARNERS]
    log_time = np.select(chosen, [shape[n] for n in _LEARNERS])
    size = np.select(chosen, [unit(_SIZE_CHILD[n]) for n in _LEARNERS])
    hist = (configs["imputation"] == "hist").to_numpy()
    return log_time + 0.2 * hist + 0.8 * latent[0] + 0.8 * latent[1] * size


def _task_objective(
    configs: pd.DataFrame,
    latent: np.ndarray,
    optima: dict[str, np.ndarray],
    preference: np.ndarray,
    imputation_effect: np.ndarray,
) -> np.ndarray:
    """Noise-free error (lower is better) of each configuration on one task."""
    error = np.zeros(len(configs))
    for index, learner in enumerate(_LEARNERS):
        rows = (configs["learner"] == learner).to_numpy()
        if not rows.any():
            continue
        part = np.full(rows.sum(), preference[index])
        for k, name in enumerate(_NUMERIC[learner]):
            values = configs.loc[rows, name].to_numpy(dtype=np.float64)
            active = np.isfinite(values)
            u = _unit(name, np.where(active, values, 1.0))
            # curvature differs per coordinate: some matter a lot, some barely
            curvature = 3.0 / (1.0 + k)
            part += np.where(active, curvature * (u - optima[learner][k]) ** 2, 0.0)
        if learner == "svm":  # the linear kernel pays a task-dependent price
            linear = (configs.loc[rows, "svm_kernel"] == "linear").to_numpy()
            part += np.where(linear, 0.3 + 0.3 * latent[0], 0.0)
        error[rows] = part
    imputation = configs["imputation"].map({"mean": 0, "median": 1, "hist": 2}).to_numpy()
    return error + imputation_effect[imputation.astype(int)]


def conditional_outlier_tasks(
    *, n_tasks: int = 16, outlier_share: float = 0.2, seed: int = 0
) -> tuple[str, ...]:
    """The outlier tasks of `write_conditional_benchmark` with these settings, unwritten.

    Outliers' optima and learner preferences are drawn independently of the family, so no
    source predicts them: a transfer method can at best match a cold start on them. The
    written ``space.json`` lists them too (``outlier_tasks``); this answers for a benchmark
    that is not on disk.

    Returns:
        Sorted task ids (``task_03`` ...).
    """
    *_, outliers = _draw_family(np.random.default_rng(seed), n_tasks, outlier_share)
    return tuple(_task_id(task) for task in sorted(outliers))


@dataclass(frozen=True, slots=True)
class ConditionalTask:
    """One task of the conditional benchmark, as a function that can be evaluated anywhere.

    The written benchmark holds each task's ``n_configs`` sampled configurations;
    `conditional_tasks` replays the same draws and returns the tasks themselves, so a
    method that proposes configurations outside the pools (``Recommender.suggest`` without
    a ``pool``, as `recommend run` uses it) can be scored on the same family.

    Attributes:
        task_id: ``task_00`` ...
        outlier: whether the task's optima ignore the family's latent structure.
        latent: the task's 2-d latent vector.
        optima: per learner, the unit-scale optimum of each numeric child.
        preference: per learner (`_LEARNERS` order), its error at its optimum.
        imputation_effect: the error added by each imputation (mean, median, hist).
        scale: the task's scale (the written ``error`` is ``offset + scale * (...)``).
        offset: the task's offset.
    """

    task_id: str
    outlier: bool
    latent: np.ndarray
    optima: dict[str, np.ndarray]
    preference: np.ndarray
    imputation_effect: np.ndarray
    scale: float
    offset: float

    def clean_error(self, configs: pd.DataFrame) -> np.ndarray:
        """Noise-free error of each configuration (rows in the benchmark's columns, inactive
        children null), before the task's scale and offset: lower is better."""
        return _task_objective(
            configs, self.latent, self.optima, self.preference, self.imputation_effect
        )

    def best_clean_error(self) -> float:
        """The lowest `clean_error` any configuration can reach (each learner's numeric
        children at its optimum, the radial kernel for the SVM, the best imputation;
        integer rounding can keep a configuration slightly above it)."""
        return float(self.preference.min() + self.imputation_effect.min())


def conditional_tasks(
    *,
    n_tasks: int = 16,
    n_configs: int = 1000,
    outlier_share: float = 0.2,
    noise: float = 0.02,
    seed: int = 0,
    preference: str = "family",
) -> list[ConditionalTask]:
    """The tasks `write_conditional_benchmark` with the same arguments writes, unwritten.

    Returns:
        One `ConditionalTask` per task, in task order.
    """
    drawn = _draw_tasks(n_tasks, n_configs, outlier_share, noise, seed, preference)
    return [task for task, _ in drawn]


def write_conditional_benchmark(
    path: str | Path,
    *,
    n_tasks: int = 16,
    n_configs: int = 1000,
    outlier_share: float = 0.2,
    noise: float = 0.02,
    seed: int = 0,
    preference: str = "family",
) -> Path:
    """Write the conditional benchmark directory and return its path.

    Args:
        path: directory to create (parents too).
        n_tasks: number of tasks (``task_00`` ...).
        n_configs: configurations per task, each evaluated at 3 fidelities, with an
            error (the objective) and a training ``time`` proportional to the fidelity
            (`_log_time`: the learner and its size-like children set it, the task its
            level and its own deviation; +-20 % jitter).
        outlier_share: share of tasks whose optima ignore the family's latent structure.
        noise: standard deviation of the evaluation noise, relative to the task's scale.
        seed: seed of every random draw.
        preference: ``"family"``: each task's learner preference (its error at each
            learner's optimum) follows the family's latent structure, as its optima do;
            ``"independent"``: it is drawn anew for every task, as an outlier's is, while
            the optima still follow the family: which learner is best varies from task to
            task as in algorithm selection, and only the learners' hyperparameters
            transfer. With the same seed, ``"family"`` gives the benchmarks written before
            this option existed.

    Returns:
        ``Path(path)``.

    Raises:
        ValueError: an unknown ``preference``.
    """
    directory = Path(path)
    drawn = list(_draw_tasks(n_tasks, n_configs, outlier_share, noise, seed, preference))
    trials = pd.concat([frame for _, frames in drawn for frame in frames], ignore_index=True)
    conditions = [
        {"child": child, "parent": "learner", "values": [learner]}
        for learner, children in _CHILDREN.items()
        for child in children
    ]
    conditions.append({"child": "svm_gamma", "parent": "svm_kernel", "values": ["radial"]})
    conditions.append({"child": "svm_gamma", "parent": "learner", "values": ["svm"]})
    suffix = "" if preference == "family" else f", preference={preference}"
    space = {
        "name": f"synthetic-conditional-{seed}"
        + ("" if preference == "family" else f"-{preference}"),
        "parameters": _PARAMETERS,
        "conditions": conditions,
        "objective": {"name": "error", "direction": "minimize"},
        "fidelity": {"name": "train_fraction", "values": list(_FIDELITIES), "max": 1.0},
        "metrics": ["error", "time"],
        "n_tasks": n_tasks,
        "configs_per_task": n_configs,
        "source": f"synthetic (recommender/bench/synthetic.py, seed={seed}{suffix})",
        "outlier_tasks": [task.task_id for task, _ in drawn if task.outlier],
    }
    write_benchmark(directory, space, trials)
    return directory


def _draw_tasks(
    n_tasks: int,
    n_configs: int,
    outlier_share: float,
    noise: float,
    seed: int,
    preference_mode: str = "family",
) -> Iterator[tuple[ConditionalTask, list[pd.DataFrame]]]:
    """Every random draw of a benchmark, in order: each task and its trial rows (one frame
    per fidelity). The task's rows draw from the same stream, so they are drawn even when
    only the tasks are wanted."""
    if preference_mode not in PREFERENCES:
        raise ValueError(
            f"preference must be one of {', '.join(PREFERENCES)}, got {preference_mode!r}"
        )
    rng = np.random.default_rng(seed)
    base_optima, drift, pref_base, pref_drift, outliers = _draw_family(rng, n_tasks, outlier_share)
    for task in range(n_tasks):
        latent = rng.uniform(-1.0, 1.0, 2)
        if task in outliers:
            optima = {name: rng.uniform(0.05, 0.95, len(v)) for name, v in base_optima.items()}
            preference = rng.uniform(0.0, 0.6, len(_LEARNERS))
        else:
            optima = {
                name: np.clip(base_optima[name] + drift[name] @ latent, 0.02, 0.98)
                for name in _LEARNERS
            }
            preference = pref_base + pref_drift @ latent
            if preference_mode == "independent":  # extra draws: "family" streams unchanged
                preference = rng.uniform(0.0, 0.6, len(_LEARNERS))
        drawn = ConditionalTask(
            task_id=_task_id(task),
            outlier=task in outliers,
            latent=latent,
            optima=optima,
            preference=preference,
            imputation_effect=rng.uniform(0.0, 0.1, 3),
            scale=float(np.exp(rng.uniform(np.log(0.02), np.log(0.5)))),
            offset=float(rng.uniform(0.02, 0.3)),
        )
        configs = _sample_configs(rng, n_configs)
        clean = drawn.clean_error(configs)
        full_time = np.exp(_log_time(configs, latent))
        frames = []
        for fidelity in _FIDELITIES:
            penalty = 0.3 * (1.0 - fidelity)
            value = drawn.offset + drawn.scale * (
                clean + penalty + rng.normal(0.0, noise * 5, n_configs)
            )
            frame = configs.copy()
            frame.insert(0, "config_id", np.arange(n_configs, dtype=np.int64))
            frame.insert(0, "task_id", drawn.task_id)
            frame["train_fraction"] = fidelity
            frame["error"] = value.astype(np.float32)
            # the same draw as before the cost structure (the objective's stream is kept),
            # shrunk to run-to-run jitter of about +-20 %
            jitter = rng.uniform(1.0, 10.0, n_configs) ** 0.15
            frame["time"] = (fidelity * full_time * jitter).astype(np.float32)
            frames.append(frame)
        yield drawn, frames


def _draw_family(
    rng: np.random.Generator, n_tasks: int, outlier_share: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, np.ndarray, set[int]]:
    """The family's shared draws (the first ``rng`` draws of a benchmark, in this order).

    Optima and learner preferences are smooth functions of a 2-d per-task latent: base
    optima and their drift per learner, base preferences and their drift; then the
    outlier tasks.
    """
    base_optima = {name: rng.uniform(0.2, 0.8, len(_NUMERIC[name])) for name in _LEARNERS}
    drift = {name: rng.normal(0.0, 0.15, (len(_NUMERIC[name]), 2)) for name in _LEARNERS}
    pref_base = rng.uniform(0.0, 0.4, len(_LEARNERS))
    pref_drift = rng.normal(0.0, 0.25, (len(_LEARNERS), 2))
    n_outliers = int(round(outlier_share * n_tasks))
    outliers = set(rng.permutation(n_tasks)[:n_outliers].tolist())
    return base_optima, drift, pref_base, pref_drift, outliers


def _task_id(task: int) -> str:
    return f"task_{task:02d}"
