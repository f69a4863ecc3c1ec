"""Scale transfer: tune the learning rate (and init scale) at small widths, recommend for large.

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

With more than one value in ``log2_init_grid`` the initialisation scale is tuned jointly:
every grid point is an (lr, init scale) pair, the copy rules copy both, the scaling law
extrapolates the lr and copies the init scale, and the GP surrogates take the log2 init
scale as a third input (unsheared: its optimum is not assumed to move with width) and are
minimised over both.

Each recommendation's loss is reported relative to the target width's own tuned optimum
(the best grid point), in the same parameterisation and over both.
"""

from __future__ import annotations

import itertools
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
        log2_init_grid: initialisation scales as powers of two (weights start as
            ``N(0, init_scale^2 / fan_in)``), tuned jointly with the learning rate; the
            default ``(0.0,)`` keeps the standard initialisation and tunes the lr alone.
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
    log2_init_grid: tuple[float, ...] = (0.0,)
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
        if not self.log2_init_grid:
            raise RunnerError("log2_init_grid needs at least one value (0.0: standard init)")


_DIVERGED_LOSS = math.log(10.0) * 10  # worse than chance on 10 classes, finite for the GP


def _train_one(
    features: np.ndarray,
    target: np.ndarray,
    valid: tuple[np.ndarray, np.ndarray],
    *,
    width: int,
    log2_lr: float,
    log2_init: float,
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
        init_scale=2.0**log2_init,
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


Point = tuple[float, float]
"""(log2 learning rate, log2 init scale): one grid point."""


def _point(row: dict[str, Any]) -> Point:
    return (float(row["log2_lr"]), float(row.get("log2_init", 0.0)))


def _grid_losses(
    results: list[dict[str, Any]], width: int, mup: bool, objective: str
) -> dict[Point, float]:
    losses: dict[Point, list[float]] = {}
    for row in results:
        if row["width"] == width and row["mup"] == mup:
            losses.setdefault(_point(row), []).append(row[objective])
    return {point: float(np.mean(values)) for point, values in sorted(losses.items())}


def _argmin(losses: dict[Point, float]) -> Point:
    return min(losses, key=lambda point: (losses[point], point))


def _snap(point: Point, config: ScaleTransferConfig) -> Point:
    lr = min(config.log2_lr_grid, key=lambda g: abs(g - point[0]))
    init = min(config.log2_init_grid, key=lambda g: abs(g - point[1]))
    return (lr, init)


def _gp_recommend(
    results: list[dict[str, Any]],
    config: ScaleTransferConfig,
    target_width: int,
    *,
    mup: bool,
    trend: bool,
) -> tuple[Point, float]:
    """(recommended (log2 lr, log2 init), fitted drift) from the small-width runs."""
    import torch

    from recommender.runner.scale_surrogate import argmin_at_width, fit_width_lr_gp

    widths, grid, inits = config.small_widths, config.log2_lr_grid, config.log2_init_grid
    rows = [r for r in results if r["mup"] == mup and r["width"] in widths]
    low = [math.log2(min(widths)), min(grid)]
    high = [math.log2(target_width), max(grid)]
    extra = extra_values = None
    if len(inits) > 1:  # the init scale as a third, unsheared input
        low.append(min(inits))
        high.append(max(inits))
        extra = torch.tensor([_point(r)[1] for r in rows], dtype=torch.float64)
        # only the grid's init scales can be scored: choose among them (a continuous
        # minimiser can land between two, where snapping is a coin toss)
        extra_values = torch.tensor(sorted(inits), dtype=torch.float64)
    fit = fit_width_lr_gp(
        torch.tensor([math.log2(r["width"]) for r in rows], dtype=torch.float64),
        torch.tensor([r["log2_lr"] for r in rows], dtype=torch.float64),
        torch.tensor([math.log(r[config.objective]) for r in rows], dtype=torch.float64),
        bounds=torch.tensor([low, high], dtype=torch.float64),
        trend=trend,
        extra=extra,
    )
    lr, rest = argmin_at_width(
        fit, math.log2(target_width), (min(grid), max(grid)), extra_values=extra_values
    )
    return (lr, rest[0] if rest else inits[0]), fit.drift


def _scaling_law_recommend(
    results: list[dict[str, Any]], config: ScaleTransferConfig, target_width: int
) -> Point:
    """A line through the per-width SP lr optima; the init of the largest small width's."""
    widths = config.small_widths
    optima = [_argmin(_grid_losses(results, w, False, config.objective)) for w in widths]
    slope, intercept = np.polyfit([math.log2(w) for w in widths], [p[0] for p in optima], 1)
    return (float(slope * math.log2(target_width) + intercept), optima[-1][1])


def recommend_from_results(
    results: list[dict[str, Any]], config: ScaleTransferConfig
) -> dict[str, Any]:
    """Turn the grid results into recommendations and relative losses per target width.

    Args:
        results: rows with ``width``, ``mup``, ``log2_lr``, ``log2_init`` (0 when absent),
            ``seed`` and the losses.
        config: the experiment settings.

    Returns:
        ``{str(target_width): {...}}`` with each method's learning rate, init scale, loss
        and loss relative to the tuned optimum (``loss / optimum - 1``).
    """
    objective = config.objective
    largest_small = max(config.small_widths)
    report: dict[str, Any] = {}
    for target in config.target_widths:
        sp = _grid_losses(results, target, False, objective)
        mup = _grid_losses(results, target, True, objective)
        optimum = {"sp": min(sp.values()), "mup": min(mup.values())}
        optimum["any"] = min(optimum["sp"], optimum["mup"])
        methods: dict[str, tuple[str, Point]] = {
            "naive_copy": ("sp", _argmin(_grid_losses(results, largest_small, False, objective))),
            "mup_transfer": ("mup", _argmin(_grid_losses(results, largest_small, True, objective))),
            "scaling_law_sp": ("sp", _scaling_law_recommend(results, config, target)),
        }
        drifts: dict[str, float] = {}
        for trend, suffix in ((True, ""), (False, "_stationary")):
            for param in ("sp", "mup"):
                name = f"gp_surrogate{suffix}_{param}"
                point, drifts[name] = _gp_recommend(
                    results, config, target, mup=param == "mup", trend=trend
                )
                methods[name] = (param, point)
        rows = {}
        for name, (param, point) in methods.items():
            snapped = _snap(point, config)
            loss = (sp if param == "sp" else mup)[snapped]
            rows[name] = {
                "parameterisation": param,
                "log2_lr_raw": point[0],
                "log2_lr": snapped[0],
                "lr": 2.0 ** snapped[0],
                "log2_init_raw": point[1],
                "log2_init": snapped[1],
                "init_scale": 2.0 ** snapped[1],
                "loss": loss,
                "rel_to_same_param_optimum": loss / optimum[param] - 1.0,
                "rel_to_best_optimum": loss / optimum["any"] - 1.0,
            }
            if name in drifts:
                rows[name]["fitted_drift"] = drifts[name]
        tuned = {"sp": _argmin(sp), "mup": _argmin(mup)}
        small = {
            w: {p: _argmin(_grid_losses(results, w, p == "mup", objective)) for p in ("sp", "mup")}
            for w in config.small_widths
        }
        report[str(target)] = {
            "tuned_optimum": {
                p: {"log2_lr": tuned[p][0], "log2_init": tuned[p][1], "loss": optimum[p]}
                for p in ("sp", "mup")
            },
            "recommendations": rows,
            "small_width_optima": {
                str(w): {p: small[w][p][0] for p in ("sp", "mup")}
                | {f"{p}_log2_init": small[w][p][1] for p in ("sp", "mup")}
                for w in config.small_widths
            },
        }
    return report


def _digits(n_train: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits

    features, target = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(target))
    features = features[order].astype(np.float32)
    target = target[order]
    return (features[:n_train], target[:n_train]), (features[n_train:], target[n_train:])


def _run_point(job: tuple[dict[str, Any], ScaleTransferConfig]) -> dict[str, Any]:
    """Train one grid point (a picklable job for worker processes)."""
    row, config = job
    train, valid = _digits(config.n_train)
    keys = ("width", "log2_lr", "log2_init", "mup", "seed")
    return {**row, **_train_one(*train, valid, config=config, **{k: row[k] for k in keys})}


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def run_scale_transfer(
    config: ScaleTransferConfig | None = None,
    *,
    progress: Callable[[dict[str, Any]], None] | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Run the grid at every width/parameterisation/seed and build the comparison.

    On ``config.device`` (CPU threads as set by the caller through ``torch.set_num_threads``).

    Args:
        config: the experiment settings (defaults: `ScaleTransferConfig()`).
        progress: called with every finished grid point, in grid order.
        workers: processes training grid points side by side (one torch thread each;
            on a GPU they share it, which pays off because each small run is bound by
            kernel launches). Results do not depend on it.

    Returns:
        JSON-ready dict: ``config``, ``runs`` (every grid point) and ``report``.
    """
    config = config or ScaleTransferConfig()
    jobs = [
        (
            {"width": width, "mup": mup, "log2_lr": lr, "log2_init": init, "seed": seed},
            config,
        )
        for width in (*config.small_widths, *config.target_widths)
        for mup in (False, True)
        for lr, init in itertools.product(config.log2_lr_grid, config.log2_init_grid)
        for seed in config.seeds
    ]
    results: list[dict[str, Any]] = []
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")  # CUDA cannot follow a fork
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_one_thread) as pool:
            for row in pool.map(_run_point, jobs, chunksize=4):
                results.append(row)
                if progress is not None:
                    progress(row)
    else:
        for job in jobs:
            results.append(_run_point(job))
            if progress is not None:
                progress(results[-1])
    return {
        "config": asdict(config),
        "runs": results,
        "report": recommend_from_results(results, config),
    }
