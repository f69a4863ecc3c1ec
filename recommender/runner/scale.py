"""Scale transfer: tune the learning rate at small widths, recommend it for a large width.

The experiment trains `MLPNet` (through `TorchMLPEstimator`) on a small real dataset
(scikit-learn's digits) for a fixed number of epochs, on a grid of learning rates, at
small widths (64-256) and at large target widths (1024 and 2048 by default), in the standard
parameterisation (SP) and in muP. It then compares learning-rate recommendations for the
target width, each scored by the target width's loss at that learning rate:

* ``naive_copy``: the SP optimum at the largest small width, used unchanged in SP.
* ``mup_transfer``: the muP optimum at the largest small width, used unchanged in muP.
* ``gp_surrogate_sp`` / ``gp_surrogate_mup``: our surrogate with the scale descriptor as an
  input: a botorch ``SingleTaskGP`` on (log2 width, log2 lr) -> log loss over all
  small-width runs, whose kernel is stationary along a line ``log2 lr = c + drift * log2
  width`` with ``drift`` fitted by the marginal likelihood
  (`recommender.runner.scale_surrogate.ShearedKernel`, which explains the choice), minimised
  over lr at the target width (snapped to the grid, whose losses are known).
* ``gp_surrogate_stationary_sp`` / ``_mup``: the same GP with the default stationary kernel
  (``drift = 0``), kept for comparison: it reverts to its mean when extrapolating, so its
  optimum cannot move past the observed widths'.
* ``scaling_law_sp``: the per-width SP optima fitted by a line in (log width, log lr),
  extrapolated to the target width (snapped to the grid).

Each recommendation's loss is reported relative to the target width's own tuned optimum
(the best grid point), in the same parameterisation and over both.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from library.exceptions import RunnerError
from recommender.runner.errors import DivergenceError

__all__ = ["ScaleTransferConfig", "run_scale_transfer", "recommend_from_results"]


@dataclass(frozen=True, slots=True)
class ScaleTransferConfig:
    """Settings of the scale-transfer experiment.

    Attributes:
        small_widths: widths to tune at.
        target_widths: widths to recommend for (and tune, for the reference optimum).
        log2_lr_grid: learning rates as powers of two; it must bracket every target width's
            optimum (SP's moves down about one octave per doubling of width).
        depth: hidden layers.
        epochs: fixed training epochs (no early stopping).
        batch_size: minibatch size.
        base_width: muP base width.
        seeds: training seeds (losses are averaged over them).
        n_train: training rows of digits (the rest is validation).
        objective: ``val_loss`` (held-out cross-entropy) or ``train_loss``.
        device: training device of every run (``cpu``, ``cuda`` or ``auto``; CUDA trains
            under bfloat16 autocast, so its losses differ slightly from CPU's).
    """

    small_widths: tuple[int, ...] = (64, 128, 256)
    target_widths: tuple[int, ...] = (1024, 2048)
    log2_lr_grid: tuple[float, ...] = tuple(float(k) for k in range(-15, -2))
    depth: int = 3
    epochs: int = 8
    batch_size: int = 128
    base_width: int = 64
    seeds: tuple[int, ...] = (0, 1)
    n_train: int = 1200
    objective: str = "val_loss"
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.objective not in {"val_loss", "train_loss"}:
            raise RunnerError(f"objective must be val_loss or train_loss, got {self.objective!r}")
        if not self.small_widths or not self.target_widths or len(self.log2_lr_grid) < 3:
            raise RunnerError("need small widths, target widths and >= 3 learning rates")


_DIVERGED_LOSS = math.log(10.0) * 10  # worse than chance on 10 classes, finite for the GP


def _train_one(
    features: np.ndarray,
    target: np.ndarray,
    valid: tuple[np.ndarray, np.ndarray],
    *,
    width: int,
    log2_lr: float,
    mup: bool,
    seed: int,
    config: ScaleTransferConfig,
) -> dict[str, float]:
    from recommender.runner.torch_mlp import TorchMLPEstimator

    model = TorchMLPEstimator(
        kind="classification",
        learning_rate=2.0**log2_lr,
        width=width,
        depth=config.depth,
        weight_decay=0.0,
        batch_size=config.batch_size,
        epochs=config.epochs,
        mup=mup,
        base_width=config.base_width,
        patience=0,
        validation_fraction=0.0,
        device=config.device,
        seed=seed,
    )
    started = time.perf_counter()
    try:
        model.fit(features, target)
    except DivergenceError:
        return {
            "train_loss": _DIVERGED_LOSS,
            "val_loss": _DIVERGED_LOSS,
            "diverged": 1.0,
            "seconds": time.perf_counter() - started,
        }
    import torch

    logits = torch.as_tensor(model._raw_outputs(valid[0]), dtype=torch.float64)
    labels = torch.as_tensor(np.searchsorted(model.classes_, valid[1]), dtype=torch.int64)
    val_loss = float(torch.nn.functional.cross_entropy(logits, labels))
    train_loss = float(model.history_[-1]["train_loss"])
    if not math.isfinite(val_loss):
        val_loss = _DIVERGED_LOSS
    return {
        "train_loss": min(train_loss, _DIVERGED_LOSS),
        "val_loss": min(val_loss, _DIVERGED_LOSS),
        "diverged": 0.0,
        "seconds": time.perf_counter() - started,
    }


def _grid_losses(
    results: list[dict[str, Any]], width: int, mup: bool, objective: str
) -> dict[float, float]:
    losses: dict[float, list[float]] = {}
    for row in results:
        if row["width"] == width and row["mup"] == mup:
            losses.setdefault(row["log2_lr"], []).append(row[objective])
    return {lr: float(np.mean(values)) for lr, values in sorted(losses.items())}


def _argmin(losses: dict[float, float]) -> float:
    return min(losses, key=lambda lr: (losses[lr], lr))


def _snap(log2_lr: float, grid: tuple[float, ...]) -> float:
    return min(grid, key=lambda g: abs(g - log2_lr))


def _gp_recommend(
    results: list[dict[str, Any]],
    widths: tuple[int, ...],
    target_width: int,
    *,
    mup: bool,
    objective: str,
    grid: tuple[float, ...],
    trend: bool,
) -> tuple[float, float]:
    """(recommended log2 lr, fitted drift) from the small-width runs of one parameterisation."""
    import torch

    from recommender.runner.scale_surrogate import fit_width_lr_gp, minimise_at_width

    rows = [r for r in results if r["mup"] == mup and r["width"] in widths]
    bounds = torch.tensor(
        [[math.log2(min(widths)), min(grid)], [math.log2(target_width), max(grid)]],
        dtype=torch.float64,
    )
    fit = fit_width_lr_gp(
        torch.tensor([math.log2(r["width"]) for r in rows], dtype=torch.float64),
        torch.tensor([r["log2_lr"] for r in rows], dtype=torch.float64),
        torch.tensor([math.log(r[objective]) for r in rows], dtype=torch.float64),
        bounds=bounds,
        trend=trend,
    )
    return minimise_at_width(fit, math.log2(target_width), (min(grid), max(grid))), fit.drift


def _scaling_law_recommend(
    results: list[dict[str, Any]], widths: tuple[int, ...], target_width: int, objective: str
) -> float:
    optima = [_argmin(_grid_losses(results, w, False, objective)) for w in widths]
    slope, intercept = np.polyfit([math.log2(w) for w in widths], optima, 1)
    return float(slope * math.log2(target_width) + intercept)


def recommend_from_results(
    results: list[dict[str, Any]], config: ScaleTransferConfig
) -> dict[str, Any]:
    """Turn the grid results into recommendations and relative losses per target width.

    Args:
        results: rows with ``width``, ``mup``, ``log2_lr``, ``seed`` and the losses.
        config: the experiment settings.

    Returns:
        ``{str(target_width): {...}}`` with each method's learning rate, loss and loss
        relative to the tuned optimum (``loss / optimum - 1``).
    """
    objective = config.objective
    grid = config.log2_lr_grid
    largest_small = max(config.small_widths)
    report: dict[str, Any] = {}
    for target in config.target_widths:
        sp = _grid_losses(results, target, False, objective)
        mup = _grid_losses(results, target, True, objective)
        optimum = {"sp": min(sp.values()), "mup": min(mup.values())}
        optimum["any"] = min(optimum["sp"], optimum["mup"])
        methods: dict[str, tuple[str, float]] = {
            "naive_copy": ("sp", _argmin(_grid_losses(results, largest_small, False, objective))),
            "mup_transfer": ("mup", _argmin(_grid_losses(results, largest_small, True, objective))),
            "scaling_law_sp": (
                "sp",
                _scaling_law_recommend(results, config.small_widths, target, objective),
            ),
        }
        drifts: dict[str, float] = {}
        for trend, suffix in ((True, ""), (False, "_stationary")):
            for param in ("sp", "mup"):
                name = f"gp_surrogate{suffix}_{param}"
                log2_lr, drifts[name] = _gp_recommend(
                    results,
                    config.small_widths,
                    target,
                    mup=param == "mup",
                    objective=objective,
                    grid=grid,
                    trend=trend,
                )
                methods[name] = (param, log2_lr)
        rows = {}
        for name, (param, log2_lr) in methods.items():
            snapped = _snap(log2_lr, grid)
            loss = (sp if param == "sp" else mup)[snapped]
            rows[name] = {
                "parameterisation": param,
                "log2_lr_raw": log2_lr,
                "log2_lr": snapped,
                "lr": 2.0**snapped,
                "loss": loss,
                "rel_to_same_param_optimum": loss / optimum[param] - 1.0,
                "rel_to_best_optimum": loss / optimum["any"] - 1.0,
            }
            if name in drifts:
                rows[name]["fitted_drift"] = drifts[name]
        report[str(target)] = {
            "tuned_optimum": {
                "sp": {"log2_lr": _argmin(sp), "loss": optimum["sp"]},
                "mup": {"log2_lr": _argmin(mup), "loss": optimum["mup"]},
            },
            "recommendations": rows,
            "small_width_optima": {
                str(w): {
                    "sp": _argmin(_grid_losses(results, w, False, objective)),
                    "mup": _argmin(_grid_losses(results, w, True, objective)),
                }
                for w in config.small_widths
            },
        }
    return report


def run_scale_transfer(
    config: ScaleTransferConfig | None = None,
    *,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the grid at every width/parameterisation/seed and build the comparison.

    CPU only (threads as set by the caller through ``torch.set_num_threads``).

    Returns:
        JSON-ready dict: ``config``, ``runs`` (every grid point) and ``report``.
    """
    from sklearn.datasets import load_digits

    config = config or ScaleTransferConfig()
    features, target = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(target))
    features = features[order].astype(np.float32)
    target = target[order]
    train = (features[: config.n_train], target[: config.n_train])
    valid = (features[config.n_train :], target[config.n_train :])
    results: list[dict[str, Any]] = []
    for width in (*config.small_widths, *config.target_widths):
        for mup in (False, True):
            for log2_lr in config.log2_lr_grid:
                for seed in config.seeds:
                    row = {"width": width, "mup": mup, "log2_lr": log2_lr, "seed": seed}
                    row.update(
                        _train_one(
                            *train,
                            valid,
                            width=width,
                            log2_lr=log2_lr,
                            mup=mup,
                            seed=seed,
                            config=config,
                        )
                    )
                    results.append(row)
                    if progress is not None:
                        progress(row)
    return {
        "config": asdict(config),
        "runs": results,
        "report": recommend_from_results(results, config),
    }
