"""A small seeded benchmark directory in the shared format (FORMAT.md), for tests.

`write_synthetic_benchmark` writes ``space.json`` + ``trials.parquet`` with a categorical
parent (``optimizer``) that switches conditional children on and off (``momentum`` only
for ``sgd``, ``beta1`` only for ``adam``; null when inactive), three fidelity levels and
an objective whose optimum moves smoothly from task to task, so transfer helps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from library import write_benchmark

__all__ = ["write_synthetic_benchmark", "synthetic_library"]

_EPOCHS = (1, 3, 9)


def write_synthetic_benchmark(
    path: str | Path,
    *,
    n_tasks: int = 6,
    n_configs: int = 200,
    seed: int = 0,
    conditional: bool = True,
    direction: str = "minimize",
) -> Path:
    """Write a synthetic benchmark directory and return its path.

    Args:
        path: directory to create (parents too).
        n_tasks: number of tasks (``task_0`` ...).
        n_configs: configurations per task (each evaluated at epochs 1, 3, 9).
        seed: seed of every random draw.
        conditional: with ``True`` the children of ``optimizer`` are null when inactive;
            with ``False`` there are no conditions and every parameter is always set.
        direction: ``"minimize"`` (objective ``loss``) or ``"maximize"`` (``score``).

    Returns:
        ``Path(path)``.
    """
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")
    rng = np.random.default_rng(seed)
    directory = Path(path)
    objective = "loss" if direction == "minimize" else "score"
    space = {
        "name": "synthetic",
        "parameters": [
            {"name": "learning_rate", "type": "float", "low": 1e-4, "high": 1e-1, "log": True},
            {"name": "num_layers", "type": "int", "low": 1, "high": 4, "log": False},
            {"name": "optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
            {"name": "momentum", "type": "float", "low": 0.0, "high": 0.99, "log": False},
            {"name": "beta1", "type": "float", "low": 0.8, "high": 0.999, "log": False},
        ],
        "conditions": (
            [
                {"child": "momentum", "parent": "optimizer", "values": ["sgd"]},
                {"child": "beta1", "parent": "optimizer", "values": ["adam"]},
            ]
            if conditional
            else []
        ),
        "objective": {"name": objective, "direction": direction},
        "fidelity": {"name": "epoch", "values": list(_EPOCHS), "max": _EPOCHS[-1]},
        "metrics": [objective, "time"],
        "n_tasks": n_tasks,
        "configs_per_task": n_configs,
        "source": f"synthetic (tests/synthetic.py, seed={seed})",
    }
    frames = []
    for task in range(n_tasks):
        shift = task / max(n_tasks - 1, 1)  # optimum drifts smoothly across tasks
        log_lr = rng.uniform(np.log(1e-4), np.log(1e-1), n_configs)
        layers = rng.integers(1, 5, n_configs).astype(np.float64)
        optimizer = rng.choice(np.array(["sgd", "adam"], dtype=object), n_configs)
        momentum = rng.uniform(0.0, 0.99, n_configs)
        beta1 = rng.uniform(0.8, 0.999, n_configs)
        if conditional:
            momentum = np.where(optimizer == "sgd", momentum, np.nan)
            beta1 = np.where(optimizer == "adam", beta1, np.nan)
        best_log_lr = np.log(1e-3) + 2.0 * shift
        quality = (
            (log_lr - best_log_lr) ** 2 / 4.0
            + 0.1 * (layers - 1 - 2 * shift) ** 2
            + np.where(optimizer == "adam", 0.0, 0.3)
            + np.where(np.isnan(momentum), 0.0, 0.5 * (np.nan_to_num(momentum) - 0.9) ** 2)
            + np.where(np.isnan(beta1), 0.0, 2.0 * (np.nan_to_num(beta1) - 0.9) ** 2)
        )
        for epoch in _EPOCHS:
            noise = rng.normal(0.0, 0.02, n_configs)
            loss = quality + 1.0 / epoch + noise + 0.5 * task
            value = loss if direction == "minimize" else -loss
            frames.append(
                pd.DataFrame(
                    {
                        "task_id": f"task_{task}",
                        "config_id": np.arange(n_configs, dtype=np.int64),
                        "learning_rate": np.exp(log_lr),
                        "num_layers": layers,
                        "optimizer": optimizer,
                        "momentum": momentum,
                        "beta1": beta1,
                        "epoch": float(epoch),
                        objective: value.astype(np.float32),
                        "time": (epoch * layers * 0.1 + rng.uniform(0, 0.01, n_configs)).astype(
                            np.float32
                        ),
                    }
                )
            )
    write_benchmark(directory, space, pd.concat(frames, ignore_index=True))
    return directory


def synthetic_library(root: Path, **benchmark: Any) -> tuple[Any, Any, list[str]]:
    """A library at ``root / "lib"`` holding `write_synthetic_benchmark(root / "bench",
    **benchmark)`: ``(library, space, sorted task ids)``."""
    from library import Library, import_benchmark, read_benchmark
    from recommender.space import Space

    bench_dir = write_synthetic_benchmark(root / "bench", **benchmark)
    library = Library.open(root / "lib")
    import_benchmark(library, bench_dir)
    return library, Space.from_dict(read_benchmark(bench_dir).space), sorted(library.task_ids())
