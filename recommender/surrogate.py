"""GP surrogates: the target-only GP and the per-source GPs of the transfer ensemble.

All models are BoTorch `SingleTaskGP`s in the unit cube with a `Standardize` outcome
transform. Fitting follows BoTorch's `_fit_fallback` idea: bounded retries from the
previous hyperparameters or the defaults, narrow catches, one named error at the end.

Exact GP inference costs O(n^3); source GPs therefore learn their hyperparameters on a
small subsample (the task's best region plus a random spread) and are then *conditioned*
on a bounded set of at most ``n_condition`` points, so the cost of a library task never
grows with its number of trials.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import gpytorch
import numpy as np
import torch
from botorch.exceptions.warnings import InputDataWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from gpytorch.mlls import ExactMarginalLogLikelihood
from gpytorch.models import ExactGP

from library.exceptions import SurrogateFitError
from recommender.cache_entry import mark_used, write_atomic

__all__ = [
    "LazySourceStd",
    "PosteriorFactors",
    "SourceModel",
    "dense_std",
    "fit_gp",
    "fit_source_model",
    "copula_normalize",
    "minmax_normalize",
    "predict",
    "predict_mean",
    "posterior_factors",
    "predict_source_means",
    "predict_sources",
    "regret_mean",
    "regret_scale",
    "resolve_tkwargs",
    "seeded_torch",
    "subsample_indices",
]

_OUTCOME_TRANSFORM = "outcome_transform."  # data statistics in a GP's state_dict, not fitted

_LOG = logging.getLogger(__name__)
_CACHE_VERSION = "source-gp-2"
_MAX_CHOLESKY = 20_000  # exact Cholesky up to this many points (gpytorch defaults to 800)


def resolve_tkwargs(
    device: str | torch.device | None = None, dtype: torch.dtype | None = None
) -> dict[str, Any]:
    """Tensor options used at the API boundary.

    Args:
        device: ``"auto"``/``None`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda"``.
        dtype: defaults to float64 on CPU and float32 on CUDA.

    Raises:
        SurrogateFitError: CUDA requested but not available.
    """
    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SurrogateFitError(
            "device='cuda' requested but torch sees no GPU; use device='auto' or 'cpu'"
        )
    if dtype is None:
        dtype = torch.float64 if device.type == "cpu" else torch.float32
    return {"device": device, "dtype": dtype}


def copula_normalize(score: np.ndarray) -> np.ndarray:
    """Gaussian-copula ranks of a task's scores (best = largest): ``Phi^-1(rank / (n + 1))``.

    The per-task normalisation of Salinas et al. (2020) and of the ANCHORS `rgpe`
    reference; ties share their average rank.
    """
    from scipy.stats import norm, rankdata

    score = np.asarray(score, dtype=np.float64)
    return norm.ppf(rankdata(score) / (len(score) + 1))


def minmax_normalize(score: np.ndarray) -> np.ndarray:
    """Map a task's scores to [0, 1] (best = 1), the scale the regret metric uses."""
    low, high = float(np.min(score)), float(np.max(score))
    if high - low <= 0:
        return np.full_like(score, 0.5, dtype=np.float64)
    return (score - low) / (high - low)


@contextmanager
def seeded_torch(seed: int, device: torch.device) -> Iterator[None]:
    """Run the block on torch generators seeded with ``seed`` (the CPU one and, on CUDA,
    ``device``'s), restored to their previous states afterwards.

    Args:
        seed: the seed.
        device: where the block's tensors live.
    """
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        for index in cuda:
            torch.cuda.default_generators[index].manual_seed(seed)
        yield


def fit_mll(model: ExactGP, *, maxiter: int, seed: int = 0) -> Exception | None:
    """Fit ``model``'s hyperparameters by exact marginal likelihood (L-BFGS, ``maxiter``).

    BoTorch retries an attempt that stops abnormally from hyperparameters drawn from their
    priors. Those draws come from a forked torch generator seeded with ``seed``, so a fit
    depends on its data alone, not on what ran before in the process, and the caller's
    random stream is left as it was.

    Returns:
        ``None`` on success; the error when the fit hit numerical trouble (not-PSD, NaN) or
        left a non-finite hyperparameter, so callers can retry from other starting values.
    """
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    try:
        with (
            seeded_torch(seed, next(model.parameters()).device),
            warnings.catch_warnings(),
            gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY),
        ):
            warnings.simplefilter("ignore")
            fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": maxiter}})
    except (RuntimeError, ValueError) as error:
        return error
    if not all(torch.isfinite(p).all() for p in model.parameters()):
        return ValueError("the fit left a non-finite hyperparameter")
    return None


def gp_from_state(
    X: np.ndarray, y: np.ndarray, state: dict[str, torch.Tensor], tkwargs: dict[str, Any]
) -> SingleTaskGP:
    """The `SingleTaskGP` of `fit_gp` on ``(X, y)`` with given hyperparameters (no fit).

    The outcome transform is standardised on ``y`` itself, whatever data ``state`` was
    fitted on: on the same data that is the fitted model again; on other data (the
    residual GP of a stacked pick borrowing the target GP's kernel) it is that kernel and
    noise on this data's scale.

    Args:
        X: ``n x d`` inputs.
        y: ``(n,)`` targets.
        state: a `fit_gp` model's ``state_dict``.
        tkwargs: device/dtype of the rebuilt model.

    Returns:
        The model in eval mode.

    Raises:
        RuntimeError: ``state`` lacks a hyperparameter of the model or has extra ones.
    """
    model = _standardized_gp(
        torch.as_tensor(X, **tkwargs), torch.as_tensor(y, **tkwargs).reshape(-1, 1)
    )
    hyperparameters = _hyperparameters(state)
    expected = _hyperparameters(model.state_dict())
    if hyperparameters.keys() != expected.keys():
        missing = sorted(expected.keys() - hyperparameters.keys())
        unexpected = sorted(hyperparameters.keys() - expected.keys())
        raise RuntimeError(f"GP state mismatch: missing {missing}, unexpected {unexpected}")
    model.load_state_dict(hyperparameters, strict=False)
    return model.eval()


def _standardized_gp(train_X: torch.Tensor, train_Y: torch.Tensor) -> SingleTaskGP:
    """`SingleTaskGP` with a `Standardize` outcome transform.

    Constant outcomes (a plateau, every trial failed alike) are valid data: `Standardize`
    then uses a unit scale, and BoTorch's "not standardized" warning, once per fit, is noise.
    """
    with warnings.catch_warnings():
        if train_Y.numel() and bool((train_Y == train_Y.reshape(-1)[0]).all()):
            warnings.filterwarnings("ignore", category=InputDataWarning)
        return SingleTaskGP(train_X, train_Y, outcome_transform=Standardize(m=1))


def fit_gp(
    X: np.ndarray,
    y: np.ndarray,
    *,
    tkwargs: dict[str, Any] | None = None,
    init_state: dict[str, torch.Tensor] | None = None,
    max_attempts: int = 3,
    maxiter: int = 150,
) -> SingleTaskGP:
    """Fit a `SingleTaskGP` (RBF ARD, BoTorch default priors) by marginal likelihood.

    Args:
        X: ``n x d`` inputs in the unit cube.
        y: ``(n,)`` targets (standardised internally).
        tkwargs: device/dtype, from `resolve_tkwargs`.
        init_state: a previous model's ``state_dict`` to start from (warm refits). Its
            outcome-transform statistics are ignored: they belong to the previous data, and
            loading them would de-standardise this model's predictions with the wrong mean
            and scale.
        max_attempts: bounded retries; later attempts start from the defaults.
        maxiter: L-BFGS iterations per attempt.

    Returns:
        The fitted model in eval mode.

    Raises:
        SurrogateFitError: every attempt failed or produced non-finite hyperparameters.
    """
    tkwargs = tkwargs or resolve_tkwargs()
    train_X = torch.as_tensor(X, **tkwargs)
    train_Y = torch.as_tensor(y, **tkwargs).reshape(-1, 1)
    last_error: Exception | None = None
    for attempt in range(max_attempts):
        model = _standardized_gp(train_X, train_Y)
        if init_state is not None and attempt == 0:
            try:
                model.load_state_dict(_hyperparameters(init_state), strict=False)
            except RuntimeError:  # shapes changed (new points): keep defaults
                pass
        last_error = fit_mll(model, maxiter=maxiter, seed=attempt)
        if last_error is None:
            return model.eval()
        _LOG.debug("GP fit attempt %d failed: %s", attempt, last_error)
    raise SurrogateFitError(
        f"GP fit failed after {max_attempts} attempts on n={len(y)} points: {last_error}"
    )


def _hyperparameters(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A GP's ``state_dict`` without its outcome transform (data statistics, not fitted)."""
    return {k: v for k, v in state.items() if not k.startswith(_OUTCOME_TRANSFORM)}


@dataclass(frozen=True, slots=True)
class PosteriorFactors:
    """What a fitted RBF-kernel GP's predictions need, computed once per model.

    ``K = k(X, X) + noise I = L L^T`` gives ``alpha = K^-1 (y - c)`` and ``L^-1``; then the
    standardised posterior at test points ``T`` is ``c + alpha^T k(X, T)`` and
    ``1 - |L^-1 k(X, T)|^2``: two matrix products, no solve per call.

    Attributes:
        scaled_X: ``n x d`` training inputs divided by the lengthscales, centred.
        centre: ``(d,)`` the centre subtracted (of the scaled inputs; keeps the squared
            distances accurate).
        inv_lengthscale: ``(d,)``.
        alpha: ``(n,)``.
        l_inv: ``n x n``, the inverse of the Cholesky factor.
        constant: the constant prior mean (standardised scale).
        y_mean, y_sd: the `Standardize` outcome transform (0 and 1 without one).
    """

    scaled_X: torch.Tensor
    centre: torch.Tensor
    inv_lengthscale: torch.Tensor
    alpha: torch.Tensor
    l_inv: torch.Tensor
    constant: float
    y_mean: float
    y_sd: float


def posterior_factors(model: SingleTaskGP) -> PosteriorFactors | None:
    """`PosteriorFactors` of a fitted `SingleTaskGP`, or ``None`` for another structure.

    Only the model `fit_gp` builds qualifies: an ARD ``RBFKernel`` on every input (no
    ``ScaleKernel``), a ``ConstantMean``, a Gaussian likelihood with one noise level and an
    optional ``Standardize`` transform, no input transform; `predict` falls back to
    gpytorch's modules otherwise.
    """
    covar, mean = model.covar_module, model.mean_module
    if not (
        type(covar) is gpytorch.kernels.RBFKernel
        and covar.active_dims is None
        and type(mean) is gpytorch.means.ConstantMean
        and isinstance(model.likelihood, gpytorch.likelihoods.GaussianLikelihood)
    ):
        return None
    transform = getattr(model, "outcome_transform", None)
    if transform is not None and not isinstance(transform, Standardize):
        return None
    if getattr(model, "input_transform", None) is not None:
        return None
    (train_X,) = model.train_inputs
    train_y = model.train_targets
    with torch.no_grad():
        inv_ls = 1.0 / covar.lengthscale.reshape(-1)
        if inv_ls.numel() == 1:
            inv_ls = inv_ls.expand(train_X.shape[-1])
        scaled = train_X * inv_ls
        centre = scaled.mean(0)
        scaled = scaled - centre
        K = torch.exp(_log_rbf(scaled, scaled))
        K = K + model.likelihood.noise.reshape(-1)[0] * torch.eye(
            len(train_y), dtype=K.dtype, device=K.device
        )
        L = torch.linalg.cholesky(K)
        constant = float(mean.constant.reshape(-1)[0])
        alpha = torch.cholesky_solve((train_y - constant).unsqueeze(-1), L).squeeze(-1)
        l_inv = torch.linalg.solve_triangular(
            L, torch.eye(len(train_y), dtype=L.dtype, device=L.device), upper=False
        )
    y_mean, y_sd = 0.0, 1.0
    if transform is not None:
        y_mean = float(transform.means.reshape(-1)[0])
        y_sd = float(transform.stdvs.reshape(-1)[0])
    return PosteriorFactors(scaled, centre, inv_ls, alpha, l_inv, constant, y_mean, y_sd)


def _log_rbf(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``-|a_i - b_j|^2 / 2`` (``len(a) x len(b)``, at most 0) as one matrix product.

    ``a . b - |a|^2 / 2 - |b|^2 / 2`` with the norms folded into two extra columns, so no
    ``len(a) x len(b)`` temporary is made besides the result.
    """
    ones_a = torch.ones(len(a), 1, dtype=a.dtype, device=a.device)
    ones_b = torch.ones(len(b), 1, dtype=b.dtype, device=b.device)
    left = torch.cat([a, -0.5 * (a * a).sum(-1, keepdim=True), ones_a], dim=-1)
    right = torch.cat([b, ones_b, -0.5 * (b * b).sum(-1, keepdim=True)], dim=-1)
    return (left @ right.T).clamp_max_(0.0)


_PREDICT_CHUNK = 1024


def predict(
    model: SingleTaskGP,
    X: np.ndarray,
    *,
    chunk: int = _PREDICT_CHUNK,
    factors: PosteriorFactors | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation (``(n,)`` each) of a fitted GP, as numpy.

    Only the diagonal of the posterior covariance is formed (``k(x, x) - |L^-1 k(X, x)|^2``
    with ``L`` the Cholesky factor of the training covariance), in chunks of ``chunk``
    candidates: the same numbers as ``model.posterior(X).variance`` without building the
    ``n x n`` test covariance, which dominated the cost of scoring a 2,000-row pool.

    Args:
        model: a fitted GP in eval mode.
        X: ``m x d`` test inputs.
        chunk: test points per block (1,024: a 250-point GP's cross-covariance block
            then fits in cache; 33 LCBench source GPs at 4,426 candidates took 0.27 s
            against 0.40 s with 4,096).
        factors: `posterior_factors` of ``model`` when the caller keeps them (a source
            GP predicted many times); computed here otherwise. Models they do not cover
            go through gpytorch's kernel modules.
    """
    factors = factors if factors is not None else posterior_factors(model)
    return _predict(factors, lambda: model, X, chunk=chunk, with_std=True)


def predict_mean(
    model: SingleTaskGP,
    X: np.ndarray,
    *,
    chunk: int = _PREDICT_CHUNK,
    factors: PosteriorFactors | None = None,
) -> np.ndarray:
    """The posterior mean of `predict` alone (``(n,)``).

    With the factors it skips the variance, two thirds of the work (an ``n_train x
    n_train`` product per input).
    """
    factors = factors if factors is not None else posterior_factors(model)
    return _predict(factors, lambda: model, X, chunk=chunk, with_std=False)[0]


def _predict(
    factors: PosteriorFactors | None,
    model: Callable[[], SingleTaskGP],
    X: np.ndarray,
    *,
    chunk: int,
    with_std: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """From the factors when there are any, else through the modules of ``model()``.

    ``model`` is called only then, so a lazily built model is not built for nothing.
    Without ``with_std`` the std may be an empty array.
    """
    if factors is not None:
        return _predict_factors(factors, X, chunk=chunk, with_std=with_std)
    return _predict_modules(model(), X, chunk=chunk)


def _predict_factors(
    f: PosteriorFactors, X: np.ndarray, *, chunk: int, with_std: bool
) -> tuple[np.ndarray, np.ndarray]:
    """`predict` from the factors; without ``with_std`` the std is an empty array."""
    test_all = torch.as_tensor(X, device=f.alpha.device, dtype=f.alpha.dtype)
    means, variances = [], []
    with torch.no_grad():
        for start in range(0, len(test_all), chunk):
            test = test_all[start : start + chunk] * f.inv_lengthscale - f.centre
            cross = _log_rbf(f.scaled_X, test).exp_()  # n_train x n_test
            means.append(f.constant + f.alpha @ cross)
            if with_std:
                v = f.l_inv @ cross
                variances.append((1.0 - (v * v).sum(0)).clamp_min(1e-12))
        mean = torch.cat(means) if means else torch.empty(0, dtype=f.alpha.dtype)
        mean = f.y_mean + f.y_sd * mean
        if not with_std:
            return mean.cpu().numpy().astype(np.float64), np.empty(0)
        var = torch.cat(variances) if variances else torch.empty(0, dtype=f.alpha.dtype)
    var = var * f.y_sd**2
    return mean.cpu().numpy().astype(np.float64), var.sqrt().cpu().numpy().astype(np.float64)


def _predict_modules(
    model: SingleTaskGP, X: np.ndarray, *, chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """`predict` through gpytorch's kernel and mean modules (any kernel structure)."""
    first = next(model.parameters())
    tkwargs: dict[str, Any] = {"device": first.device, "dtype": first.dtype}
    (train_X,) = model.train_inputs
    train_y = model.train_targets
    with torch.no_grad(), gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY):
        K = model.covar_module(train_X).to_dense()
        K = K + model.likelihood.noise.reshape(-1)[0] * torch.eye(len(train_y), **tkwargs)
        L = torch.linalg.cholesky(K)
        prior_mean = model.mean_module(train_X)
        alpha = torch.cholesky_solve((train_y - prior_mean).unsqueeze(-1), L)
        means, variances = [], []
        test_all = torch.as_tensor(X, **tkwargs)
        for start in range(0, len(test_all), chunk):
            test = test_all[start : start + chunk]
            cross = model.covar_module(train_X, test).to_dense()  # n_train x n_test
            means.append(model.mean_module(test) + (cross * alpha).sum(0))
            v = torch.linalg.solve_triangular(L, cross, upper=False)
            prior_var = model.covar_module(test, diag=True)
            variances.append((prior_var - (v * v).sum(0)).clamp_min(1e-12))
        mean = torch.cat(means) if means else torch.empty(0, **tkwargs)
        var = torch.cat(variances) if variances else torch.empty(0, **tkwargs)
        transform = getattr(model, "outcome_transform", None)
        if transform is not None:  # Standardize: y = mu + sd * y_std
            sd = transform.stdvs.reshape(-1)[0]
            mean = transform.means.reshape(-1)[0] + sd * mean
            var = var * sd**2
    return mean.cpu().numpy().astype(np.float64), var.sqrt().cpu().numpy().astype(np.float64)


_QUANTILE_LEVELS = np.linspace(0.0, 1.0, 201)


@dataclass(frozen=True, slots=True)
class SourceModel:
    """A fitted GP of one library task on its normalised scores.

    Predictions need only the `PosteriorFactors`; the gpytorch model itself (for BoTorch
    acquisition functions and the gradient optimizer) is built on first use of `model`
    when the factors came from the on-disk cache (`fit_source_model`), which spares a new
    process rebuilding 33 BoTorch models it never reads.

    Attributes:
        task_id: the source task.
        gp: the GP, conditioned on ``n_condition`` of the task's trials, or a function
            that builds it (returning it and whether its hyperparameters came from the
            cache); read it through `model`.
        n_trials: trials the task had.
        quantiles: for copula-normalised models, the task's min-max normalised scores at
            201 evenly spaced quantile levels (maps a predicted rank back to the regret
            scale, see `regret_scale`); ``None`` for min-max models (already on it).
        from_cache: the hyperparameters came from the on-disk cache (no fit).
        sample_X: ``m x d`` encoded configurations drawn uniformly from the task's trials
            (``None`` when unknown); with ``sample_score`` the task's own data for
            leave-one-source-out tests (`recommender.first_pick.choose_first_pick`). Not
            the conditioning points: those over-represent the task's best fifth, where
            a test of first-pick criteria would compare near-ties.
        sample_score: their ``(m,)`` min-max normalised scores (1 = the task's best).
        data_key: hash of the trials and settings the GP was built from (32 hex digits;
            the name of its on-disk cache entry); ``None`` when unknown. Equal keys mean
            equal models, so caches of what is computed from the model can use it.
        factors: the model's `posterior_factors`; computed from the model on construction
            when not given (the model must not be changed afterwards).
    """

    task_id: str
    gp: SingleTaskGP | Callable[[], tuple[SingleTaskGP, bool]] = field(compare=False, repr=False)
    n_trials: int
    quantiles: np.ndarray | None = None
    from_cache: bool = False
    sample_X: np.ndarray | None = None
    sample_score: np.ndarray | None = None
    data_key: str | None = None
    factors: PosteriorFactors | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # computed once: a source GP is predicted at every suggestion's candidates
        if self.factors is None:
            object.__setattr__(self, "factors", posterior_factors(self.model))

    @property
    def model(self) -> SingleTaskGP:
        """The GP (built now if only its factors were loaded)."""
        if not isinstance(self.gp, SingleTaskGP):
            object.__setattr__(self, "gp", self.gp()[0])
        return cast(SingleTaskGP, self.gp)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of the normalised score (larger = better) at ``X`` (``n x d``)."""
        return _predict(self.factors, lambda: self.model, X, chunk=_PREDICT_CHUNK, with_std=True)

    def predict_mean(self, X: np.ndarray) -> np.ndarray:
        """The mean of `predict` alone (the variance is most of the cost)."""
        mean, _ = _predict(
            self.factors, lambda: self.model, X, chunk=_PREDICT_CHUNK, with_std=False
        )
        return mean


def predict_source_means(models: Sequence[SourceModel], X: np.ndarray) -> np.ndarray:
    """The ``S x n`` means of `predict_sources` alone (``0 x n`` without models)."""
    if not models:
        return np.empty((0, len(X)))
    return np.stack([m.predict_mean(X) for m in models])


class LazySourceStd:
    """Source GPs' predictive standard deviations at fixed inputs, one source at a time.

    The variance is two thirds of a source GP's prediction cost, and past the zero-shot
    pick only the sources with a ranking weight (often a third of them) need it at every
    candidate, so each source's row is computed on first use and kept.

    Args:
        models: the ``S`` source models.
        X: ``n x d`` encoded inputs.
    """

    def __init__(self, models: Sequence[SourceModel], X: np.ndarray) -> None:
        self._models = list(models)
        self._X = X
        self._rows: dict[int, np.ndarray] = {}
        self._partial: dict[int, np.ndarray] = {}  # NaN where not computed yet

    @property
    def shape(self) -> tuple[int, int]:
        """``(S, n)``, as the dense array's."""
        return len(self._models), len(self._X)

    def __len__(self) -> int:
        return len(self._models)

    def __getitem__(self, source: int | np.integer) -> np.ndarray:
        """The ``(n,)`` standard deviations of source ``source``."""
        source = int(source)
        if source not in self._rows:
            self._rows[source] = self._models[source].predict(self._X)[1]
            self._partial.pop(source, None)
        return self._rows[source]

    def bound(self, source: int | np.integer) -> float | None:
        """An upper bound of source ``source``'s standard deviations, or ``None``.

        A source GP of `fit_gp`'s structure (an RBF kernel without an output scale, so a
        prior variance of 1 on the standardised scale) never predicts a standard deviation
        above its outcome scale: the posterior variance is the prior's minus a square.
        ``None`` for a model without `PosteriorFactors`.
        """
        factors = self._models[int(source)].factors
        return None if factors is None else abs(factors.y_sd)

    def at(self, source: int | np.integer, index: np.ndarray) -> np.ndarray:
        """Source ``source``'s standard deviations at the inputs ``index`` only.

        What a pick that bounds the rest needs (`recommender.ensemble.ensemble_argmax`,
        `recommender.first_pick.first_pick_argmax`); values computed here are kept, and a
        full row computed before is reused.
        """
        source = int(source)
        if source in self._rows:
            return self._rows[source][index]
        row = self._partial.setdefault(source, np.full(len(self._X), np.nan))
        missing = index[np.isnan(row[index])]
        if len(missing):
            row[missing] = self._models[source].predict(self._X[missing])[1]
        return row[index]

    def column(self, index: int) -> np.ndarray:
        """The ``(S,)`` standard deviations at input ``index`` (rows computed so far reused)."""
        return np.array(
            [self.at(s, np.array([index])) for s in range(len(self._models))], dtype=np.float64
        ).reshape(-1)

    def dense(self) -> np.ndarray:
        """Every source's row, ``S x n``."""
        if not self._models:
            return np.empty((0, len(self._X)))
        return np.stack([self[s] for s in range(len(self._models))])


def dense_std(std: np.ndarray | LazySourceStd) -> np.ndarray:
    """``std`` as an ``S x n`` array (a `LazySourceStd` computes its missing rows)."""
    return std.dense() if isinstance(std, LazySourceStd) else std


def predict_sources(models: Sequence[SourceModel], X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations, each ``S x n``, of ``S`` source GPs at ``X``.

    ``S = 0`` gives two ``0 x n`` arrays, so callers need no special case.
    """
    if not models:
        return np.empty((0, len(X))), np.empty((0, len(X)))
    preds = [m.predict(X) for m in models]
    return np.stack([p[0] for p in preds]), np.stack([p[1] for p in preds])


def regret_mean(mean: np.ndarray, quantiles: np.ndarray | None) -> np.ndarray:
    """The mean of `regret_scale` alone (``S x n``)."""
    return mean if quantiles is None else _quantile_scores(mean, quantiles)


def _quantile_scores(z: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Copula-scale values ``z`` (``... x S x n``) through each source's quantile table."""
    if z.shape[-2] == 0:
        return z
    from scipy.stats import norm

    ranks = norm.cdf(z)
    return np.stack(
        [np.interp(ranks[..., s, :], _QUANTILE_LEVELS, table) for s, table in enumerate(quantiles)],
        axis=-2,
    )


def regret_scale(
    mean: np.ndarray, std: np.ndarray, quantiles: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Source predictions on the regret metric's scale (min-max: 1 = the task's best).

    A copula-scale prediction ``z`` is a predicted rank ``Phi(z)``; the task's empirical
    quantile function maps it to the min-max score a configuration of that rank had on
    that task. The standard deviation is mapped through ``(q(z + s) - q(z - s)) / 2``.

    Args:
        mean: ``S x n`` copula-scale means (``std`` likewise).
        quantiles: ``S x Q`` quantile tables (`SourceModel.quantiles`), or ``None`` when
            the predictions already are min-max scores (returned unchanged).

    Returns:
        ``(mean, std)``, each ``S x n``, in ``[0, 1]``.
    """
    if quantiles is None:
        return mean, std
    scores = _quantile_scores(np.stack([mean, mean - std, mean + std]), quantiles)  # 3 x S x n
    return scores[0], (scores[2] - scores[1]) / 2


def subsample_indices(
    score: np.ndarray, n_top: int, n_total: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of the ``n_top`` best points plus a random spread, ``n_total`` at most."""
    if len(score) <= n_total:
        return np.arange(len(score))
    order = np.argsort(-score, kind="stable")
    top = order[:n_top]
    rest = rng.choice(order[n_top:], size=n_total - n_top, replace=False)
    return np.sort(np.concatenate([top, rest]))


# what `torch.load` raises on a torn, truncated or foreign cache entry
_UNREADABLE_ENTRY = (
    OSError,
    RuntimeError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    pickle.UnpicklingError,
)


def _cached_gp(
    cache_file: Path | None, X: np.ndarray, y: np.ndarray, tkwargs: dict[str, Any] | None
) -> tuple[SingleTaskGP, bool]:
    """`fit_gp` on ``(X, y)``, or the same GP rebuilt from cached hyperparameters.

    Returns:
        The model, and whether it came from the cache (``False``: fitted, and cached when
        ``cache_file`` is given).
    """
    if cache_file is not None and cache_file.is_file():
        try:
            state = torch.load(cache_file, map_location="cpu", weights_only=True)
            model = gp_from_state(X, y, state, tkwargs or resolve_tkwargs())
            mark_used(cache_file)  # for `gp_cache.prune_cache`
            return model, True
        except _UNREADABLE_ENTRY as error:
            # a stale or torn cache entry: refit and overwrite it
            _LOG.info("ignoring cache entry %s: %s", cache_file, error)
    model = fit_gp(X, y, tkwargs=tkwargs, maxiter=100)
    if cache_file is not None:
        write_atomic(cache_file, lambda tmp: torch.save(model.state_dict(), tmp))
    return model, False


def _conditioned_gp(
    cache_file: Path | None,
    fit_X: np.ndarray,
    fit_y: np.ndarray,
    cond_X: np.ndarray,
    cond_y: np.ndarray,
    tkwargs: dict[str, Any] | None,
) -> tuple[SingleTaskGP, bool]:
    """A source GP: hyperparameters of ``(fit_X, fit_y)`` (`_cached_gp`), conditioned on
    ``(cond_X, cond_y)`` when that set is the larger.

    Returns:
        The model, and whether its hyperparameters came from the cache.
    """
    model, from_cache = _cached_gp(cache_file, fit_X, fit_y, tkwargs)
    if len(cond_y) > len(fit_y):
        first = next(model.parameters())
        train_X = torch.as_tensor(cond_X, device=first.device, dtype=first.dtype)
        train_Y = torch.as_tensor(cond_y, device=first.device, dtype=first.dtype).reshape(-1, 1)
        standardized, _ = model.outcome_transform(train_Y)  # eval mode: keeps the fitted scaling
        model.set_train_data(train_X, standardized.reshape(-1), strict=False)  # type: ignore[operator]
    return model, from_cache


def _factors_file(cache_file: Path) -> Path:
    """The cache entry of the posterior factors of the source GP whose hyperparameters are
    cached at ``cache_file`` (its own 32-hex name, so `gp_cache.prune_cache` treats it alike)."""
    key = hashlib.sha256(f"{cache_file.stem}:factors".encode()).hexdigest()[:32]
    return cache_file.with_name(f"{key}.npy")


def _save_factors(path: Path, factors: PosteriorFactors) -> None:
    """Cache ``factors`` at ``path`` as one flat NumPy array (``constant, y_mean, y_sd``,
    then ``scaled_X, centre, inv_lengthscale, alpha, l_inv`` raveled): one read and no
    unpickling to load, 0.7 ms against `torch.load`'s 2.5 ms under cProfile (best effort: an
    unwritable cache only costs time)."""
    parts = [factors.scaled_X, factors.centre, factors.inv_lengthscale, factors.alpha]
    flat = torch.cat(
        [
            torch.tensor(
                [factors.constant, factors.y_mean, factors.y_sd], dtype=factors.alpha.dtype
            ),
            *(t.detach().cpu().reshape(-1) for t in [*parts, factors.l_inv]),
        ]
    ).numpy()

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:  # a handle: `np.save` would append ".npy" to a path
            np.save(handle, flat, allow_pickle=False)

    try:
        write_atomic(path, write)
    except OSError as error:
        _LOG.info("cannot write cache entry %s: %s", path, error)


def _load_factors(
    path: Path | None, dim: int, n_points: int, tkwargs: dict[str, Any] | None
) -> PosteriorFactors | None:
    """The `PosteriorFactors` cached at ``path`` for a GP of ``n_points`` points in ``dim``
    dimensions, or ``None`` (no entry, or one that is torn or of another size)."""
    if path is None or not path.is_file():
        return None
    n, d = n_points, dim
    try:
        flat = np.load(path, allow_pickle=False)
        if flat.shape != (3 + n * d + 2 * d + n + n * n,):
            raise ValueError(f"{flat.shape} is not the layout of {n} points x {d} inputs")
    except (OSError, ValueError, EOFError) as error:
        _LOG.info("ignoring cache entry %s: %s", path, error)
        return None
    values = torch.as_tensor(flat, **(tkwargs or resolve_tkwargs()))
    scaled_X, centre, inv_ls, alpha, l_inv = torch.split(values[3:], [n * d, d, d, n, n * n])
    mark_used(path)
    return PosteriorFactors(
        scaled_X=scaled_X.reshape(n, d),
        centre=centre,
        inv_lengthscale=inv_ls,
        alpha=alpha,
        l_inv=l_inv.reshape(n, n),
        constant=float(flat[0]),
        y_mean=float(flat[1]),
        y_sd=float(flat[2]),
    )


def fit_source_model(
    task_id: str,
    X: np.ndarray,
    score: np.ndarray,
    *,
    n_fit: int = 250,
    n_condition: int = 250,
    seed: int = 0,
    tkwargs: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    normalization: str = "copula",
    n_sample: int = 2000,
) -> SourceModel:
    """Fit one source task's GP with bounded cost.

    Hyperparameters are learned on ``n_fit`` points (its top 20% plus a random spread);
    the GP is then conditioned on ``n_condition`` points chosen the same way.

    Args:
        task_id: the source task id.
        X: ``n x d`` encoded configurations.
        score: ``(n,)`` scores, larger is better (any scale: min-max normalised here).
        n_fit: points used to learn hyperparameters.
        n_condition: points the final GP is conditioned on.
        seed: subsampling seed.
        tkwargs: device/dtype.
        cache_dir: where learned hyperparameters are cached, keyed by a hash of the data
            and settings (a later call on the same task skips the fit). ``None``: no cache.
        normalization: ``"copula"`` (Gaussian-copula ranks: robust to skewed scores
            and outliers; the model keeps a quantile table to map back to the regret
            scale) or ``"minmax"`` (best = 1, worst = 0: the regret metric's own scale).
            On LCBench (34 targets, 1 seed) copula sources cut the ensemble's regret at
            t = 10 / 20 from 0.0114 / 0.0090 to 0.0094 / 0.0022 and, mapped back through
            the quantile table, the zero-shot regret from 0.113 to 0.093.
        n_sample: trials kept, drawn uniformly (`SourceModel.sample_X`), for the
            leave-one-source-out choice of the zero-shot criterion. The test is only as
            good as its sample: for LCBench target 126025 its t statistic was -0.3 to
            -1.8 over four random samples of 250 trials per task, +1.2 with every trial
            (2000), and one 250-trial sample switched 18 of the 34 targets; hence up to
            2000.

    Raises:
        SurrogateFitError: the GP could not be fitted.
    """
    if normalization not in ("minmax", "copula"):
        raise ValueError(f"normalization must be 'minmax' or 'copula', got {normalization!r}")
    rng = np.random.default_rng(seed)
    normalize = minmax_normalize if normalization == "minmax" else copula_normalize
    y = normalize(np.asarray(score, dtype=np.float64))
    fit_idx = subsample_indices(y, max(1, n_fit // 5), n_fit, rng)
    key = hashlib.sha256()
    for part in (
        np.ascontiguousarray(X, dtype=np.float64),
        y,
        np.array([n_fit, n_condition, seed]),
    ):
        key.update(part.tobytes())
    key.update(f"{_CACHE_VERSION}:{tkwargs}".encode())
    data_key = key.hexdigest()[:32]
    cache_file = None if cache_dir is None else Path(cache_dir) / f"{data_key}.pt"
    cond_idx = subsample_indices(y, max(1, n_condition // 5), n_condition, rng)
    build = partial(
        _conditioned_gp, cache_file, X[fit_idx], y[fit_idx], X[cond_idx], y[cond_idx], tkwargs
    )
    factors_file = None if cache_file is None else _factors_file(cache_file)
    n_points = max(len(fit_idx), len(cond_idx))
    factors = _load_factors(factors_file, X.shape[1], n_points, tkwargs)
    gp: SingleTaskGP | Callable[[], tuple[SingleTaskGP, bool]]
    if factors is not None:
        gp, from_cache = build, True  # the model itself is built only if asked for
        mark_used(cast(Path, cache_file))  # its hyperparameters are in use too: not pruned
    else:
        gp, from_cache = build()
        factors = posterior_factors(gp)
        if factors_file is not None and factors is not None:
            _save_factors(factors_file, factors)
    sample = np.sort(
        np.random.default_rng([seed, 1]).choice(len(y), size=min(n_sample, len(y)), replace=False)
    )
    regret_scale_score = minmax_normalize(np.asarray(score, dtype=np.float64))
    quantiles = (
        np.quantile(regret_scale_score, _QUANTILE_LEVELS) if normalization == "copula" else None
    )
    return SourceModel(
        task_id=task_id,
        gp=gp,
        n_trials=len(y),
        quantiles=quantiles,
        from_cache=from_cache,
        sample_X=np.asarray(X[sample], dtype=np.float64),
        sample_score=regret_scale_score[sample],
        data_key=data_key,
        factors=factors,
    )
