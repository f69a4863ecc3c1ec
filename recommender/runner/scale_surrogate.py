"""A GP over (log2 width, log2 lr[, other hyperparameters]) whose lr optimum may drift with width.

Why a sheared kernel. A stationary kernel on (log2 width, log2 lr) reverts to its constant
mean away from the data, so when it extrapolates from widths 64-256 to 1024 the predicted
loss bowl at the target width is a shrunk copy of the bowl at the largest observed widths:
its centre cannot move past what was seen. In the standard parameterisation the optimal
Adam learning rate of hidden layers scales like a power of the width (muP theory: ``lr ~
1/width``), so the centre *does* move, linearly in log2 width. `ShearedKernel` encodes exactly
that, and nothing more: it is a stationary base kernel evaluated in the coordinates

    (log2 width, log2 lr - drift * log2 width),

with ``drift`` (octaves of lr per octave of width) a kernel hyperparameter fitted by the
marginal likelihood together with the lengthscales, on every grid point rather than on the
per-width argmins. When the loss surfaces at different widths are the same bowl shifted
along that line, the surface is constant along the width axis in the sheared coordinates,
the fitted width lengthscale is long, and the posterior at the target width carries the
bowl forward along the line; with ``drift = 0`` the model is the stationary one. No bowl
shape is assumed (unlike a quadratic mean function), the tails (chance-level loss, divergence)
need not fit a parabola, and muP data simply yields ``drift`` near 0. Further tuned
hyperparameters (the initialisation scale) enter as extra input columns after the learning
rate; the kernel is stationary in them (no drift), with its own ARD lengthscale each.

The marginal likelihood can be multimodal in ``drift``, so the fit starts from a few drifts
(`DRIFT_STARTS`: no drift, the muP-theory value -1 and both sides of it) and keeps the fit
with the highest marginal likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms import Normalize, Standardize
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from gpytorch.kernels import Kernel
from gpytorch.mlls import ExactMarginalLogLikelihood

from library.exceptions import RunnerError
from recommender.surrogate import seeded_torch

__all__ = [
    "DRIFT_STARTS",
    "ShearedKernel",
    "WidthLrGP",
    "argmin_at_width",
    "fit_width_lr_gp",
    "minimise_at_width",
]

WIDTH_DIM = 0
LR_DIM = 1
DRIFT_STARTS: tuple[float, ...] = (-2.0, -1.0, 0.0, 1.0)
"""Initial drifts (octaves of lr per octave of width) of the multi-start fit."""


class ShearedKernel(Kernel):
    """A base kernel on (w, l - shear * w): stationary along a line whose slope is learned.

    Inputs are ``batch_shape x n x d`` with the (normalised) log2 width in column 0, the
    (normalised) log2 learning rate in column 1 and any further hyperparameters after them
    (left unsheared). ``shear`` is in normalised units; see
    `WidthLrGP.drift` for octaves of lr per octave of width.

    Args:
        base_kernel: the stationary kernel applied to the sheared inputs (ARD over 2 dims).
        initial_shear: the starting value of ``shear``.

    Example:
        >>> from gpytorch.kernels import RBFKernel
        >>> kernel = ShearedKernel(RBFKernel(ard_num_dims=2), initial_shear=-0.4)
    """

    has_lengthscale = False

    def __init__(self, base_kernel: Kernel, *, initial_shear: float = 0.0) -> None:
        super().__init__()
        self.base_kernel = base_kernel
        self.register_parameter("shear", torch.nn.Parameter(torch.tensor(float(initial_shear))))

    def _sheared(self, x: torch.Tensor) -> torch.Tensor:
        shift = torch.zeros_like(x)
        shift[..., LR_DIM] = self.shear * x[..., WIDTH_DIM]
        return x - shift

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, **params: Any
    ) -> torch.Tensor:
        """Evaluate the base kernel on the sheared inputs (``n x m``, or ``n`` if diag)."""
        return self.base_kernel.forward(self._sheared(x1), self._sheared(x2), diag=diag, **params)


@dataclass(frozen=True, slots=True)
class WidthLrGP:
    """A fitted GP over (log2 width, log2 lr[, extra columns]) -> log loss.

    Attributes:
        model: the botorch model (inputs in raw units, outcome log loss).
        drift: fitted octaves of lr per octave of width (0 for the stationary model).
        mll: the marginal log likelihood per point at the fitted hyperparameters.
    """

    model: SingleTaskGP
    drift: float
    mll: float


def _fit_once(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    bounds: torch.Tensor,
    initial_shear: float | None,
) -> tuple[SingleTaskGP, float]:
    dims = train_x.shape[-1]
    base = get_covar_module_with_dim_scaled_prior(ard_num_dims=dims)
    covar = None if initial_shear is None else ShearedKernel(base, initial_shear=initial_shear)
    model = SingleTaskGP(
        train_x,
        train_y,
        covar_module=covar,
        input_transform=Normalize(d=dims, bounds=bounds),
        outcome_transform=Standardize(m=1),
    )
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with seeded_torch(0, train_x.device):
        fit_gpytorch_mll(mll)
    model.train()
    with torch.no_grad():
        value = float(mll(model(*model.train_inputs), model.train_targets))
    model.eval()
    return model, value


def fit_width_lr_gp(
    log2_width: torch.Tensor,
    log2_lr: torch.Tensor,
    log_loss: torch.Tensor,
    *,
    bounds: torch.Tensor,
    trend: bool = True,
    drift_starts: tuple[float, ...] = DRIFT_STARTS,
    extra: torch.Tensor | None = None,
) -> WidthLrGP:
    """Fit the GP, with the width-drift shear (``trend=True``) or stationary.

    Args:
        log2_width: ``n`` training widths (log2).
        log2_lr: ``n`` training learning rates (log2).
        log_loss: ``n`` log losses.
        bounds: ``2 x d`` normalisation bounds, rows min/max, columns (log2 width, log2 lr,
            extra columns); include the target width so that extrapolation stays inside
            ``[0, 1]``.
        trend: fit `ShearedKernel` (multi-start over ``drift_starts``) if True, else the
            default stationary kernel.
        drift_starts: initial drifts in octaves of lr per octave of width.
        extra: ``n x k`` further hyperparameters (e.g. log2 init scale), or ``None``.

    Returns:
        The fit with the highest marginal likelihood.

    Raises:
        RunnerError: inputs of different lengths, fewer than 3 points or one width only
            with ``trend``.
    """
    if not (log2_width.shape == log2_lr.shape == log_loss.shape) or log2_width.dim() != 1:
        raise RunnerError(
            "log2_width, log2_lr and log_loss must be 1-d of one length, got shapes "
            f"{tuple(log2_width.shape)}, {tuple(log2_lr.shape)}, {tuple(log_loss.shape)}"
        )
    if log2_width.numel() < 3:
        raise RunnerError(f"need >= 3 points to fit the width/lr GP, got {log2_width.numel()}")
    if trend and torch.unique(log2_width).numel() < 2:
        raise RunnerError("a width drift needs >= 2 distinct widths; use trend=False")
    train_x = torch.stack([log2_width, log2_lr], dim=-1)
    if extra is not None:
        extra = extra.reshape(len(log2_width), -1).to(train_x)
        train_x = torch.cat([train_x, extra], dim=-1)
    if bounds.shape != (2, train_x.shape[-1]):
        raise RunnerError(
            f"bounds must be 2 x {train_x.shape[-1]} (min/max of every input column), "
            f"got {tuple(bounds.shape)}"
        )
    train_y = log_loss.unsqueeze(-1)
    # a drift of 1 lr octave per width octave is this shear in normalised units
    span = bounds[1] - bounds[0]
    scale = float(span[WIDTH_DIM] / span[LR_DIM])
    if not trend:
        model, value = _fit_once(train_x, train_y, bounds, None)
        return WidthLrGP(model=model, drift=0.0, mll=value)
    fits = [_fit_once(train_x, train_y, bounds, drift * scale) for drift in drift_starts]
    model, value = max(fits, key=lambda fit: fit[1])
    shear = float(model.covar_module.shear.detach())
    return WidthLrGP(model=model, drift=shear / scale, mll=value)


def minimise_at_width(
    fit: WidthLrGP, log2_width: float, lr_range: tuple[float, float], *, n_points: int = 201
) -> float:
    """The log2 learning rate minimising the posterior mean at one width.

    Args:
        fit: the fitted GP.
        log2_width: where to recommend (log2).
        lr_range: (low, high) log2 learning rates to search, on an even grid.
        n_points: grid size.

    Returns:
        The minimising log2 learning rate.
    """
    lr, _ = argmin_at_width(fit, log2_width, lr_range, n_points=n_points)
    return lr


def argmin_at_width(
    fit: WidthLrGP,
    log2_width: float,
    lr_range: tuple[float, float],
    *,
    extra_values: torch.Tensor | None = None,
    n_points: int = 201,
) -> tuple[float, tuple[float, ...]]:
    """The (log2 lr, extra hyperparameters) minimising the posterior mean at one width.

    Args:
        fit: the fitted GP.
        log2_width: where to recommend (log2).
        lr_range: (low, high) log2 learning rates to search, on an even grid.
        extra_values: ``m x k`` candidate values of the extra columns (every lr is tried
            with every row); ``None`` when the GP has none.
        n_points: learning-rate grid size.

    Returns:
        The minimising log2 learning rate and the extra columns' values (``()`` if none).
    """
    dtype = fit.model.train_targets.dtype
    lrs = torch.linspace(lr_range[0], lr_range[1], n_points, dtype=dtype)
    query = torch.stack([torch.full_like(lrs, log2_width), lrs], dim=-1)
    if extra_values is not None:
        extra_values = extra_values.to(dtype).reshape(len(extra_values), -1)
        query = torch.cat(
            [
                query.repeat_interleave(len(extra_values), dim=0),
                extra_values.repeat(n_points, 1),
            ],
            dim=-1,
        )
    with torch.no_grad():
        mean = fit.model.posterior(query).mean.squeeze(-1)
    best = query[int(torch.argmin(mean))]
    return float(best[LR_DIM]), tuple(float(v) for v in best[2:])
