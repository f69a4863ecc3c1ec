"""The width/lr GP of the scale-transfer experiment on synthetic loss surfaces."""

from __future__ import annotations

import math

import pytest
import torch
from gpytorch.kernels import RBFKernel

from library.exceptions import RunnerError
from recommender.runner.scale_surrogate import (
    ShearedKernel,
    argmin_at_width,
    fit_width_lr_gp,
    minimise_at_width,
)

SMALL_LOG2_WIDTHS = (6.0, 7.0, 8.0)  # 64, 128, 256
TARGET_LOG2_WIDTH = 10.0  # 1024
LR_RANGE = (-15.0, -3.0)
DTYPES = [torch.float32, torch.float64]


def _log_loss(log2_width: float, log2_lr: float, drift: float) -> float:
    """A bowl near the optimum, chance-level loss far from it; the optimum moves with width."""
    centre = -8.0 + drift * (log2_width - 6.0)
    return math.log(0.08 + 2.2 * (1.0 - math.exp(-((log2_lr - centre) ** 2) / 6.0)))


def _small_width_data(
    drift: float, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    points = [
        (w, float(lr), _log_loss(w, float(lr), drift))
        for w in SMALL_LOG2_WIDTHS
        for lr in range(int(LR_RANGE[0]), int(LR_RANGE[1]) + 1)
    ]
    widths, lrs, losses = (
        torch.tensor(column, dtype=dtype) for column in zip(*points, strict=True)
    )
    bounds = torch.tensor(
        [[SMALL_LOG2_WIDTHS[0], LR_RANGE[0]], [TARGET_LOG2_WIDTH, LR_RANGE[1]]], dtype=dtype
    )
    return widths, lrs, losses, bounds


@pytest.mark.parametrize("dtype", DTYPES)
def test_sheared_kernel_correlates_along_the_drift_line(dtype: torch.dtype) -> None:
    base = RBFKernel(ard_num_dims=2).to(dtype)
    kernel = ShearedKernel(base, initial_shear=0.5).to(dtype)
    origin = torch.zeros(1, 2, dtype=dtype)
    on_line = torch.tensor([[1.0, 0.5]], dtype=dtype)  # one width step along the drift
    off_line = torch.tensor([[1.0, 0.0]], dtype=dtype)  # same lr, one width step
    with torch.no_grad():
        along = kernel(origin, on_line).to_dense()
        across = kernel(origin, off_line).to_dense()
        expected = base(origin, off_line).to_dense()  # lr offset removed by the shear
    torch.testing.assert_close(along, expected)
    assert float(along) > float(across)
    assert along.dtype == dtype


@pytest.mark.filterwarnings("ignore::botorch.exceptions.InputDataWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_trend_gp_recovers_an_optimum_that_moves_with_width(dtype: torch.dtype) -> None:
    # SP-like: the optimum drops one lr octave per width octave: -8 at 64 -> -12 at 1024
    widths, lrs, losses, bounds = _small_width_data(drift=-1.0, dtype=dtype)
    trend = fit_width_lr_gp(widths, lrs, losses, bounds=bounds, trend=True)
    stationary = fit_width_lr_gp(widths, lrs, losses, bounds=bounds, trend=False)
    assert trend.drift == pytest.approx(-1.0, abs=0.2)
    assert minimise_at_width(trend, TARGET_LOG2_WIDTH, LR_RANGE) == pytest.approx(-12.0, abs=0.5)
    # the stationary GP stays short of the moved optimum (reverts to the observed widths')
    assert stationary.drift == 0.0
    assert minimise_at_width(stationary, TARGET_LOG2_WIDTH, LR_RANGE) > -11.5


def test_trend_gp_keeps_a_width_independent_optimum() -> None:
    # muP-like: the optimum stays at -8; the shear must not invent a drift
    widths, lrs, losses, bounds = _small_width_data(drift=0.0, dtype=torch.float64)
    fit = fit_width_lr_gp(widths, lrs, losses, bounds=bounds, trend=True)
    assert fit.drift == pytest.approx(0.0, abs=0.2)
    assert minimise_at_width(fit, TARGET_LOG2_WIDTH, LR_RANGE) == pytest.approx(-8.0, abs=0.5)


def test_fit_rejects_bad_inputs() -> None:
    widths, lrs, losses, bounds = _small_width_data(drift=0.0, dtype=torch.float64)
    with pytest.raises(RunnerError, match="one length"):
        fit_width_lr_gp(widths, lrs[:-1], losses, bounds=bounds)
    one_width = torch.full_like(widths, 6.0)
    with pytest.raises(RunnerError, match="distinct widths"):
        fit_width_lr_gp(one_width, lrs, losses, bounds=bounds, trend=True)


@pytest.mark.filterwarnings("ignore::botorch.exceptions.InputDataWarning")
def test_an_extra_input_is_minimised_jointly_without_drift() -> None:
    # lr optimum drifts one octave per width octave; the init optimum sits at +1 everywhere
    points = [
        (w, float(lr), init, _log_loss(w, float(lr), -1.0) + 0.3 * (init - 1.0) ** 2)
        for w in SMALL_LOG2_WIDTHS
        for lr in range(int(LR_RANGE[0]), int(LR_RANGE[1]) + 1)
        for init in (-1.0, 0.0, 1.0, 2.0)
    ]
    widths, lrs, inits, losses = (
        torch.tensor(column, dtype=torch.float64) for column in zip(*points, strict=True)
    )
    bounds = torch.tensor(
        [[SMALL_LOG2_WIDTHS[0], LR_RANGE[0], -1.0], [TARGET_LOG2_WIDTH, LR_RANGE[1], 2.0]],
        dtype=torch.float64,
    )
    fit = fit_width_lr_gp(widths, lrs, losses, bounds=bounds, extra=inits)
    lr, (init,) = argmin_at_width(
        fit, TARGET_LOG2_WIDTH, LR_RANGE, extra_values=torch.linspace(-1.0, 2.0, 13)
    )
    assert fit.drift == pytest.approx(-1.0, abs=0.25)
    assert lr == pytest.approx(-12.0, abs=0.6) and init == pytest.approx(1.0, abs=0.3)
    with pytest.raises(RunnerError, match="bounds must be 2 x 3"):
        fit_width_lr_gp(widths, lrs, losses, bounds=bounds[:, :2], extra=inits)
