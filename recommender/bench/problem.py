"""The leave-one-task-out transfer problem of the shared benchmark format (FORMAT.md).

Each task of a benchmark is encoded once as `SourceData`; in the leave-one-task-out loop one
of them is the target (its scores are the hidden oracle) and the others are the history.
Objectives are turned into *scores to maximise* once, here, so every method and the
regret computation see the same orientation whatever the benchmark's direction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from library.importers import Benchmark
from recommender.space import Space

__all__ = [
    "SourceData",
    "build_problems",
    "normalized_regret",
    "perturb_sources",
]


@dataclass(frozen=True, slots=True)
class SourceData:
    """One history task at full fidelity.

    Attributes:
        task_id: the benchmark's task id.
        configs: one column per parameter (NaN when inactive), ``n`` rows.
        X: ``n x d`` encoded configurations in the unit cube.
        score: ``(n,)`` objective oriented so that larger is better.
    """

    task_id: str
    configs: pd.DataFrame
    X: np.ndarray
    score: np.ndarray


def _task_data(benchmark: Benchmark, space: Space, task_id: str) -> SourceData:
    table = benchmark.task_table(task_id, full_fidelity=True)
    configs = table[list(space.names)]
    raw = table[benchmark.objective].to_numpy(dtype=np.float64)
    score = raw if benchmark.direction == "maximize" else -raw
    keep = np.isfinite(score)
    configs = configs.loc[keep].reset_index(drop=True)
    return SourceData(task_id, configs, space.encode(configs), score[keep])


def build_problems(benchmark: Benchmark, space: Space) -> dict[str, SourceData]:
    """Encode every task of a benchmark once (full fidelity, finite objectives only).

    Returns:
        task_id -> `SourceData`, in the benchmark's task order.
    """
    return {task_id: _task_data(benchmark, space, task_id) for task_id in benchmark.task_ids}


def perturb_sources(
    tasks: dict[str, SourceData], *, mode: str | None, share: float, seed: int
) -> dict[str, SourceData]:
    """Make a share of the tasks adversarial, for negative-transfer experiments.

    Args:
        tasks: task_id -> data.
        mode: ``None`` (unchanged), ``"negate"`` (score -> -score), ``"shuffle"`` (scores
            permuted across configurations) or ``"mixed"`` (half negated, half shuffled).
        share: fraction of tasks perturbed (chosen with ``seed``).
        seed: seed of the choice and of the shuffles.

    Returns:
        A new mapping; the same task ids, some with perturbed scores. A perturbed task is
        only ever used as a *source*: targets always keep their true scores.
    """
    if mode is None:
        return dict(tasks)
    if mode not in ("negate", "shuffle", "mixed"):
        raise ValueError(f"adversarial mode must be negate|shuffle|mixed, got {mode!r}")
    rng = np.random.default_rng(seed)
    ids = list(tasks)
    chosen = rng.permutation(len(ids))[: int(round(share * len(ids)))]
    out = dict(tasks)
    for rank, index in enumerate(chosen):
        task = tasks[ids[index]]
        how = mode if mode != "mixed" else ("negate" if rank % 2 == 0 else "shuffle")
        score = -task.score if how == "negate" else rng.permutation(task.score)
        out[task.task_id] = SourceData(task.task_id, task.configs, task.X, score)
    return out


def normalized_regret(score: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Normalized regret of the best-so-far after each pick (FORMAT.md protocol).

    Args:
        score: ``(n,)`` pool scores (larger is better).
        picks: ``(t,)`` pool indices in the order they were chosen.

    Returns:
        ``(t,)`` values in [0, 1]: (best - best found) / (best - worst).
    """
    best_found = np.maximum.accumulate(score[picks])
    span = score.max() - score.min()
    if span <= 0:
        return np.zeros(len(picks))
    return (score.max() - best_found) / span
