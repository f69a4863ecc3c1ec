"""A multi-task GP surrogate over (configuration, task): BoTorch `MultiTaskGP` with ICM.

An optional alternative to the RGPE-style ensemble of `recommender.transfer`: one exact
GP over the K nearest source tasks and the target, with kernel
``k((x, s), (x', s')) = k_x(x, x') * B[s, s']`` where ``k_x`` is BoTorch's RBF ARD kernel
(dimension-scaled priors) and ``B`` the learned task covariance (BoTorch's
`PositiveIndexKernel`, low rank, correlations constrained to be non-negative, so a source
that disagrees with the target gets a correlation near zero, never a negative one).

Pipeline of `fit_multitask_gp`:

1. **Choose K sources** (`select_sources`): nearest by fingerprint distance when
   ``task_features`` are given; otherwise, once the target has at least 3 observations,
   the K sources whose scores at the configurations nearest to the target's observed
   points rank them most like the target does (Kendall tau); with fewer target
   observations and no fingerprints, a seeded random K.
2. **Subsample** each source to ``n_per_source`` trials (its best 20% plus a random spread,
   `recommender.surrogate.subsample_indices`), so a fit costs the same whatever the library
   size: at most ``k_nearest * n_per_source + n_target`` points.
3. **Normalise per task**: every task's scores become Gaussian-copula ranks
   (`copula_normalize`, on all of a source's trials before subsampling), so tasks whose
   scores differ by orders of magnitude share one model. Predictions are on this scale.
4. **Fit** the ICM model by marginal likelihood (`fit_gpytorch_mll`), with bounded retries.

**A target without trials.** Its own row of ``B`` cannot be learned from data, so it is
modelled as a *mixture task* ``f_T = sum_k w_k f_k`` of the sources: its covariance with
source ``s`` is ``(B w)[s]`` and its variance ``w' B w``. With ``task_features`` the
weights are an RBF kernel over fingerprint vectors (median-distance bandwidth), i.e. a
kernel over task fingerprints that lets an unseen task borrow from the sources it looks
like; without them the weights are uniform, i.e. the target is the average source task.
Once the target has observations it is a task of its own in the ICM; its factor row is
initialised at the mixture (when warm-started from a fit without target data) and then
learned. This is the mixture construction, not an additive fingerprint kernel on ``B``:
the learned ICM rows of observed tasks are not tied to their fingerprints.

Example:
    >>> fit = fit_multitask_gp(target_X, target_y, [(X1, y1), (X2, y2)], k_nearest=2,
    ...                        n_per_source=100, seed=0)
    >>> mean, std = predict(fit, pool_X)  # target task, copula scale
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import gpytorch
import numpy as np
import torch
from botorch.acquisition.analytic import _log_ei_helper
from botorch.models import MultiTaskGP

from library.exceptions import SurrogateFitError
from recommender.surrogate import copula_normalize, fit_mll, resolve_tkwargs, subsample_indices

__all__ = [
    "MultiTaskFit",
    "fingerprint_weights",
    "fit_multitask_gp",
    "log_expected_improvement",
    "predict",
    "predict_joint",
    "select_sources",
    "target_loo_means",
    "task_correlations",
]

_LOG = logging.getLogger(__name__)
_MAX_CHOLESKY = 20_000  # exact Cholesky up to this many points (gpytorch defaults to 800)
_MIN_TARGET_FOR_RANKING = 3
_DATA_KERNEL_PREFIX = "covar_module.kernels.0."


@dataclass(frozen=True, slots=True)
class MultiTaskFit:
    """A fitted multi-task GP and how its tasks map to the caller's sources.

    Attributes:
        model: the BoTorch `MultiTaskGP` (eval mode); tasks ``0 .. K-1`` are the chosen
            sources, task ``K`` the target (absent from the data when ``n_target == 0``).
        source_indices: positions, in the caller's ``sources``, of the K chosen sources,
            in task order.
        target_weights: ``(K + 1,)`` weights of the target's prediction over the tasks:
            one-hot on task ``K`` when the target has observations, else the mixture
            weights over the sources (fingerprint kernel or uniform; 0 on task ``K``).
        n_target: target observations in the fit.
        n_train: training points in all (bounded by ``K * n_per_source + n_target``).
    """

    model: MultiTaskGP
    source_indices: tuple[int, ...]
    target_weights: np.ndarray
    n_target: int
    n_train: int

    @property
    def target_task(self) -> int:
        """Index of the target task in the model."""
        return len(self.source_indices)


def fingerprint_weights(task_features: np.ndarray, chosen: Sequence[int]) -> np.ndarray:
    """Mixture weights of the target over the chosen sources from fingerprint similarity.

    An RBF kernel ``exp(-|f_T - f_s|^2 / (2 h^2))`` on column-standardised fingerprints,
    with ``h`` the median distance among the chosen sources and the target, normalised to
    sum to 1.

    Args:
        task_features: ``(S + 1) x f`` fingerprints, one row per source, target last.
        chosen: the chosen sources' rows.

    Returns:
        ``(len(chosen),)`` non-negative weights summing to 1.
    """
    z = _standardise_columns(task_features)
    rows = np.concatenate([z[list(chosen)], z[-1:]])
    dist = np.sqrt(((rows[:, None] - rows[None]) ** 2).sum(-1))
    upper = dist[np.triu_indices(len(rows), k=1)]
    bandwidth = float(np.median(upper)) if upper.size and np.median(upper) > 0 else 1.0
    weights = np.exp(-(dist[-1, :-1] ** 2) / (2 * bandwidth**2))
    if weights.sum() <= 0:  # every source infinitely far: fall back to uniform
        return np.full(len(chosen), 1.0 / len(chosen))
    return weights / weights.sum()


def select_sources(
    target_X: np.ndarray,
    target_y: np.ndarray,
    sources: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    k_nearest: int,
    task_features: np.ndarray | None = None,
    rng: np.random.Generator,
) -> tuple[int, ...]:
    """Positions of the (at most) ``k_nearest`` sources the multi-task GP is fitted on.

    Rules, in order: (1) ``task_features`` given: the nearest by Euclidean distance of
    column-standardised fingerprints; (2) at least 3 target observations: the largest
    Kendall tau between the target's scores and each source's score at its configuration
    nearest to each observed point (a cheap rank agreement that needs no source GP);
    (3) otherwise a random ``k_nearest`` drawn with ``rng``.

    Returns:
        Sorted positions into ``sources``.
    """
    n_sources = len(sources)
    k = min(k_nearest, n_sources)
    if k == n_sources:
        return tuple(range(n_sources))
    if task_features is not None:
        z = _standardise_columns(task_features)
        distance = np.sqrt(((z[:-1] - z[-1]) ** 2).sum(axis=1))
        return tuple(sorted(np.argsort(distance, kind="stable")[:k].tolist()))
    if len(target_y) >= _MIN_TARGET_FOR_RANKING:
        taus = np.array([_nearest_neighbour_tau(target_X, target_y, X, y) for X, y in sources])
        return tuple(sorted(np.argsort(-taus, kind="stable")[:k].tolist()))
    return tuple(sorted(rng.choice(n_sources, size=k, replace=False).tolist()))


def fit_multitask_gp(
    target_X: np.ndarray,
    target_y: np.ndarray,
    sources: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    k_nearest: int = 8,
    n_per_source: int = 100,
    task_features: np.ndarray | None = None,
    seed: int | None = 0,
    rank: int = 3,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    warm_start: MultiTaskFit | None = None,
    maxiter: int = 100,
    max_attempts: int = 3,
) -> MultiTaskFit:
    """Fit an ICM multi-task GP on the K nearest sources (subsampled) and the target.

    Args:
        target_X: ``n_t x d`` target configurations in the unit cube (``n_t`` may be 0).
        target_y: ``(n_t,)`` target scores, larger is better, any scale.
        sources: ``(X, y)`` per source task: ``n_s x d`` configurations and ``(n_s,)``
            scores (larger is better, any scale).
        k_nearest: sources kept (see `select_sources`).
        n_per_source: trials kept per source (best 20% plus a random spread).
        task_features: ``(len(sources) + 1) x f`` fingerprints, target last, or ``None``.
        seed: seed of the source choice (without target data), of the subsampling and of
            the task kernel's random initial factors (``None``: fresh entropy).
        rank: rank of the learned task covariance (capped at the number of tasks).
        device: ``"auto"``/``None`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        dtype: defaults to float64 on CPU and float32 on CUDA (`resolve_tkwargs`).
        warm_start: a previous fit; its hyperparameters are the first attempt's start
            (all of them when it chose the same sources, else the data kernel only).
        maxiter: L-BFGS iterations per attempt.
        max_attempts: bounded retries; later attempts start from the defaults.

    Returns:
        The fitted model with its source mapping and target weights.

    Raises:
        ValueError: no sources, mismatched shapes or non-positive sizes.
        SurrogateFitError: every fit attempt failed or gave non-finite hyperparameters.
    """
    target_y = np.asarray(target_y, dtype=np.float64).reshape(-1)
    target_X = np.asarray(target_X, dtype=np.float64)
    if not len(target_y):
        target_X = np.empty((0, np.asarray(sources[0][0]).shape[1]) if sources else (0, 0))
    _validate(target_X, target_y, sources, k_nearest, n_per_source, task_features)
    tkwargs = resolve_tkwargs(device, dtype)
    root = np.random.SeedSequence(seed)
    choice_seed, *source_seeds = root.spawn(len(sources) + 1)  # a source's subsample
    chosen = select_sources(  # stays the same from call to call, whatever else is drawn
        target_X,
        target_y,
        sources,
        k_nearest=k_nearest,
        task_features=task_features,
        rng=np.random.default_rng(choice_seed),
    )
    n_target = len(target_y)
    blocks_X, blocks_y = [], []
    for task, position in enumerate(chosen):
        X, y = sources[position]
        normalised = copula_normalize(np.asarray(y, dtype=np.float64))
        keep = subsample_indices(
            normalised,
            max(1, n_per_source // 5),
            n_per_source,
            np.random.default_rng(source_seeds[position]),
        )
        blocks_X.append(_with_task(np.asarray(X, dtype=np.float64)[keep], task))
        blocks_y.append(normalised[keep])
    n_tasks = len(chosen) + 1
    if n_target:
        blocks_X.append(_with_task(target_X, len(chosen)))
        blocks_y.append(copula_normalize(target_y))
    mixture = (
        fingerprint_weights(task_features, chosen)
        if task_features is not None
        else np.full(len(chosen), 1.0 / len(chosen))
    )
    target_weights = np.zeros(n_tasks)
    if n_target:
        target_weights[-1] = 1.0
    else:
        target_weights[:-1] = mixture
    train_X = torch.as_tensor(np.concatenate(blocks_X), **tkwargs)
    train_Y = torch.as_tensor(np.concatenate(blocks_y), **tkwargs).unsqueeze(-1)
    init_state = _warm_state(warm_start, chosen)
    last_error: Exception | None = None
    init_seed = int(root.generate_state(1)[0])
    for attempt in range(max_attempts):
        # the task kernel's factors start random (torch's global RNG): draw them from a
        # generator seeded by ``seed`` and leave the caller's RNG state untouched
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed + attempt)
            model = MultiTaskGP(
                train_X,
                train_Y,
                task_feature=-1,
                all_tasks=list(range(n_tasks)),
                outcome_transform=None,  # outputs are copula ranks already
                rank=min(rank, n_tasks),
            )
        if attempt == 0 and init_state is not None:
            try:
                model.load_state_dict(init_state, strict=False)
            except RuntimeError:  # shapes changed: keep the defaults
                pass
            if n_target and warm_start is not None and warm_start.n_target == 0:
                _start_target_at_mixture(model, mixture)
        last_error = fit_mll(model, maxiter=maxiter, seed=attempt)
        if last_error is not None:
            _LOG.debug("multi-task GP fit attempt %d failed: %s", attempt, last_error)
        else:
            model.eval()
            return MultiTaskFit(
                model=model,
                source_indices=chosen,
                target_weights=target_weights,
                n_target=n_target,
                n_train=len(train_Y),
            )
    raise SurrogateFitError(
        f"multi-task GP fit failed after {max_attempts} attempts on n={len(train_Y)} points "
        f"({len(chosen)} sources, {n_target} target rows): {last_error}; "
        "try a smaller n_per_source or float64"
    )


@dataclass(frozen=True, slots=True)
class _Posterior:
    """What every target prediction of a fit shares: the training Cholesky and weights."""

    data_kernel: Any
    train_X: torch.Tensor
    L: torch.Tensor
    alpha: torch.Tensor
    cross_task: torch.Tensor  # (B w)[task of each training point]
    prior_scale: torch.Tensor  # w' B w
    target_constant: torch.Tensor  # w' constants
    noise: torch.Tensor  # w' noise: the target's observation noise
    tkwargs: dict[str, Any]


def _posterior(fit: MultiTaskFit) -> _Posterior:
    model = cast(Any, fit.model)  # gpytorch's module attributes are typed as Tensor | Module
    first = next(model.parameters())
    tkwargs: dict[str, Any] = {"device": first.device, "dtype": first.dtype}
    (train_X,) = model.train_inputs
    train_y = model.train_targets
    tasks = train_X[:, -1].long()
    data_kernel = model.covar_module.kernels[0]
    weights = torch.as_tensor(fit.target_weights, **tkwargs)
    with torch.no_grad(), gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY):
        B = _task_covariance(model)
        constants = torch.stack([m.constant.reshape(()) for m in model.mean_module.base_means])
        noise = model.likelihood.noise.reshape(-1)
        if len(noise) == 1:
            noise = noise.expand(len(weights))
        K = data_kernel(train_X).to_dense() * B[tasks][:, tasks]
        K = K + torch.diag(noise[tasks])
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve((train_y - constants[tasks]).unsqueeze(-1), L)
        return _Posterior(
            data_kernel=data_kernel,
            train_X=train_X,
            L=L,
            alpha=alpha,
            cross_task=(B @ weights)[tasks],
            prior_scale=weights @ B @ weights,
            target_constant=weights @ constants,
            noise=weights @ noise,
            tkwargs=tkwargs,
        )


def _test_inputs(post: _Posterior, X: np.ndarray) -> torch.Tensor:
    test = torch.as_tensor(np.asarray(X, dtype=np.float64), **post.tkwargs)
    return torch.cat([test, torch.zeros(len(test), 1, **post.tkwargs)], dim=-1)


def predict(
    fit: MultiTaskFit, X: np.ndarray, *, chunk: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of the target task at ``X``, copula scale.

    The target is the weighted task ``sum_t w_t f_t`` with ``w = fit.target_weights``
    (one-hot on the target once it has data, which gives BoTorch's own posterior), so
    its cross-covariance with a training point of task ``s`` is
    ``k_x(x, x_i) (B w)[s]`` and its prior variance ``k_x(x, x) w' B w``. Only the
    diagonal of the posterior covariance is formed, in chunks of ``chunk`` rows.

    Args:
        fit: a `fit_multitask_gp` result.
        X: ``n x d`` configurations in the unit cube.

    Returns:
        ``(mean, std)``, each ``(n,)`` float64.
    """
    post = _posterior(fit)
    test_all = _test_inputs(post, X)
    means, variances = [], []
    with torch.no_grad(), gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY):
        for start in range(0, len(test_all), chunk):
            test = test_all[start : start + chunk]
            cross = post.data_kernel(post.train_X, test).to_dense() * post.cross_task.unsqueeze(-1)
            means.append(post.target_constant + (cross * post.alpha).sum(0))
            v = torch.linalg.solve_triangular(post.L, cross, upper=False)
            prior_var = post.data_kernel(test, diag=True) * post.prior_scale
            variances.append((prior_var - (v * v).sum(0)).clamp_min(1e-12))
    mean = torch.cat(means) if means else torch.empty(0, **post.tkwargs)
    var = torch.cat(variances) if variances else torch.empty(0, **post.tkwargs)
    return mean.cpu().numpy().astype(np.float64), var.sqrt().cpu().numpy().astype(np.float64)


def predict_joint(fit: MultiTaskFit, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Joint posterior of the target task at a few configurations, copula scale.

    Args:
        fit: a `fit_multitask_gp` result.
        X: ``m x d`` configurations (``m`` small: the covariance is ``m x m``).

    Returns:
        ``(mean, cov, noise)``: ``(m,)`` means, the ``m x m`` posterior covariance and the
        target's observation-noise variance (the weighted sources' when it has no data),
        what a kriging believer needs to condition on a pending pick.
    """
    post = _posterior(fit)
    test = _test_inputs(post, X)
    with torch.no_grad(), gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY):
        cross = post.data_kernel(post.train_X, test).to_dense() * post.cross_task.unsqueeze(-1)
        mean = post.target_constant + (cross * post.alpha).sum(0)
        v = torch.linalg.solve_triangular(post.L, cross, upper=False)
        cov = post.data_kernel(test, test).to_dense() * post.prior_scale - v.T @ v
    return (
        mean.cpu().numpy().astype(np.float64),
        cov.cpu().numpy().astype(np.float64),
        float(post.noise),
    )


def target_loo_means(fit: MultiTaskFit) -> np.ndarray:
    """Leave-one-out posterior means at the target's own observations, copula scale.

    Closed form with the hyperparameters held fixed: ``mu_i = y_i - [K^-1 r]_i /
    [K^-1]_ii`` over all training points (sources included), ``r`` the residuals from the
    task means. The sources' data stay in; only the target point itself is left out, so
    the multi-task GP's ordering of the target's observations can be compared with a
    target-only GP's leave-one-out ordering (`recommender.multitask_search`).

    Returns:
        ``(n_target,)`` means, in the order of the target's observations (empty without
        target data).
    """
    if fit.n_target == 0:
        return np.empty(0)
    model = cast(Any, fit.model)
    post = _posterior(fit)
    rows = torch.arange(fit.n_train - fit.n_target, fit.n_train, device=post.L.device)
    with torch.no_grad():
        K_inv = torch.cholesky_inverse(post.L)
        diag = K_inv.diagonal()[rows]
        loo = model.train_targets[rows] - post.alpha[rows, 0] / diag
    return loo.cpu().numpy().astype(np.float64)


def task_correlations(fit: MultiTaskFit) -> np.ndarray:
    """The learned task correlation matrix ``(K + 1) x (K + 1)`` (target last)."""
    with torch.no_grad():
        B = _task_covariance(fit.model)
        scale = B.diagonal().sqrt()
        corr = B / (scale[:, None] * scale[None, :])
    return corr.cpu().numpy().astype(np.float64)


def log_expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Analytic log expected improvement over ``best`` (maximisation), numerically stable
    (BoTorch's LogEI, as `recommender.ensemble.ensemble_scores` uses)."""
    sigma = np.maximum(std, 1e-12)
    u = torch.as_tensor((mean - best) / sigma)
    return (_log_ei_helper(u) + torch.log(torch.as_tensor(sigma))).numpy()


def _validate(
    target_X: np.ndarray,
    target_y: np.ndarray,
    sources: Sequence[tuple[np.ndarray, np.ndarray]],
    k_nearest: int,
    n_per_source: int,
    task_features: np.ndarray | None,
) -> None:
    if not sources:
        raise ValueError("fit_multitask_gp needs at least one source task, got 0")
    if k_nearest < 1 or n_per_source < 1:
        raise ValueError(
            f"`k_nearest >= 1` and `n_per_source >= 1` must hold, got {k_nearest=}, {n_per_source=}"
        )
    d = np.asarray(sources[0][0]).shape[1]
    for position, (X, y) in enumerate(sources):
        if np.asarray(X).shape != (len(y), d):
            raise ValueError(
                f"source {position}: X must be (len(y), {d}), got {np.asarray(X).shape} for {len(y)} scores"
            )
    if len(target_y) and target_X.shape[1] != d:
        raise ValueError(f"target_X has {target_X.shape[1]} columns, the sources {d}")
    if task_features is not None and (
        np.ndim(task_features) != 2 or len(task_features) != len(sources) + 1
    ):
        raise ValueError(
            "task_features must be (len(sources) + 1) x f (one row per source, target last), "
            f"got shape {np.shape(task_features)} for {len(sources)} sources"
        )


def _with_task(X: np.ndarray, task: int) -> np.ndarray:
    return np.concatenate([X, np.full((len(X), 1), float(task))], axis=1)


def _standardise_columns(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    scale = features.std(axis=0)
    return (features - features.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def _nearest_neighbour_tau(
    target_X: np.ndarray, target_y: np.ndarray, source_X: np.ndarray, source_y: np.ndarray
) -> float:
    from scipy.stats import kendalltau

    distance = ((target_X[:, None, :] - np.asarray(source_X)[None]) ** 2).sum(-1)
    values = np.asarray(source_y)[np.argmin(distance, axis=1)]
    tau = kendalltau(values, target_y).statistic
    return float(tau) if np.isfinite(tau) else 0.0


def _warm_state(
    warm_start: MultiTaskFit | None, chosen: tuple[int, ...]
) -> dict[str, torch.Tensor] | None:
    if warm_start is None:
        return None
    state = warm_start.model.state_dict()
    if warm_start.source_indices == chosen:
        return state
    return {k: v for k, v in state.items() if k.startswith(_DATA_KERNEL_PREFIX)}


def _task_covariance(model: MultiTaskGP) -> torch.Tensor:
    """The task covariance ``B`` (``T x T``) as a dense tensor."""
    covar = model.covar_module.kernels[1].covar_matrix
    return covar.to_dense() if hasattr(covar, "to_dense") else covar


def _start_target_at_mixture(model: MultiTaskGP, mixture: np.ndarray) -> None:
    """Set the target's task-factor row to the mixture of the sources' rows."""
    task_kernel = model.covar_module.kernels[1]
    with torch.no_grad():
        factor = task_kernel.covar_factor.clone()
        w = torch.as_tensor(mixture, dtype=factor.dtype, device=factor.device)
        factor[-1] = (w @ factor[:-1]).clamp_min(1e-6)
        task_kernel._set_covar_factor(factor)
