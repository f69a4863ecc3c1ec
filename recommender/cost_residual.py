"""Where a task's costs stray from the cost model's shape: a Gaussian process on the residuals.

The cost model (`recommender.cost_cap`) writes ``log cost(x, task) = f(x) + b_task``, the
shape ``f`` shared by every task. A task's costs do not follow the shape everywhere: on
LCBench, a task's own residuals ``log cost - f(x)`` vary smoothly over the configurations
(a Matérn GP on 300 of a task's residuals predicts the rest with log-scale error 0.16,
against 0.35 for the mean residual), and which configurations a task makes dearer than
the shape says is its own. A few observed costs can say where, if the GP knows how smooth
the residuals are: that is what the sources tell.

`fit_residual_kernel` learns it from the sources' held-out residuals (each task's
residuals from a shape not fitted on it, standardised): the Matérn 5/2 lengthscales and
the share of the residual variance that is smooth rather than noise, shared by all tasks,
by maximum marginal likelihood (each task an independent GP). `ResidualKernel.posterior`
then conditions a target's GP on its observed residuals: a random level (the sources'
level spread as its prior) plus the smooth part and the noise, scaled by the target's own
shape error. Far from the target's observations its prediction is close to the
level-only model's; near them it follows the target's deviations, and its error shrinks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

__all__ = ["MAX_CONDITIONING", "MIN_RESIDUALS", "ResidualKernel", "fit_residual_kernel"]

#: a source task needs this many held-out residuals to inform the kernel
MIN_RESIDUALS = 10

#: the target's observed costs a residual GP conditions on at most (a seeded subsample
#: beyond: the GP's cost grows with their cube, and a library task may hold thousands)
MAX_CONDITIONING = 256


@dataclass(frozen=True, eq=False)
class ResidualKernel:
    """How a task's log costs stray from the shape, in common across tasks.

    Attributes:
        lengthscales: the Matérn 5/2 lengthscales (one per encoded dimension, unit cube).
        smooth_share: the share of the residual variance that is smooth (the rest is
            independent noise), in ``(0, 1)``.
        n_tasks: source tasks the fit used.
    """

    lengthscales: np.ndarray
    smooth_share: float
    n_tasks: int

    def posterior(
        self, X: np.ndarray, residuals: np.ndarray, *, error: float, level_var: float
    ) -> GaussianProcessRegressor:
        """The target's residual GP conditioned on its observed ``residuals`` at ``X``.

        Args:
            X: ``n x d`` encoded configurations with observed costs.
            residuals: their ``log cost - f(x)`` less the prior level (the sources'
                median level).
            error: the target's shape error (log scale): the smooth part's and the
                noise's variances sum to its square.
            level_var: the prior variance of the target's level about the prior level.

        Returns:
            A fitted scikit-learn GP (no hyperparameter search) on at most
            `MAX_CONDITIONING` of the observations (a seeded subsample); its ``predict(X,
            return_std=True)`` is the residual's mean and the standard deviation of a new
            cost's residual (noise included).
        """
        if len(residuals) > MAX_CONDITIONING:
            rng = np.random.default_rng(0)
            keep = np.sort(rng.choice(len(residuals), MAX_CONDITIONING, replace=False))
            X, residuals = X[keep], residuals[keep]
        variance = error**2
        kernel = (
            ConstantKernel(max(level_var, 1e-12), "fixed")
            + ConstantKernel(variance * self.smooth_share, "fixed")
            * Matern(self.lengthscales, "fixed", nu=2.5)
            + WhiteKernel(variance * (1.0 - self.smooth_share), "fixed")
        )
        return GaussianProcessRegressor(kernel, optimizer=None).fit(X, residuals)


def fit_residual_kernel(
    X: np.ndarray,
    residuals: np.ndarray,
    groups: np.ndarray,
    *,
    seed: int = 0,
    max_tasks: int = 8,
    per_task: int = 100,
) -> ResidualKernel | None:
    """Fit the residual kernel on the sources' held-out residuals.

    Each task's residuals (centred on their mean) are divided by their standard
    deviation, so that tasks whose costs follow the shape loosely do not outweigh the
    others; the lengthscales, the smooth part's variance and the noise's maximise the
    summed marginal likelihood of the tasks (each an independent GP), and the smooth
    share is the smooth part's share of their sum. Bounded: at most
    ``max_tasks`` tasks (a seeded choice) of ``per_task`` residuals each.

    Args:
        X: ``n x d`` encoded configurations.
        residuals: ``(n,)`` held-out residuals, each task's centred.
        groups: ``(n,)`` task of each row.
        seed: seed of the subsample.
        max_tasks: tasks used at most.
        per_task: residuals per task at most.

    Returns:
        The kernel, or ``None`` with fewer than two tasks of `MIN_RESIDUALS` residuals
        that vary.
    """
    rng = np.random.default_rng(seed)
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        spread = float(np.std(residuals[rows]))
        if len(rows) < MIN_RESIDUALS or spread <= 0:
            continue
        if len(rows) > per_task:
            rows = np.sort(rng.choice(rows, size=per_task, replace=False))
        parts.append((X[rows], (residuals[rows] - residuals[rows].mean()) / spread))
    if len(parts) < 2:
        return None
    if len(parts) > max_tasks:
        parts = [parts[i] for i in sorted(rng.choice(len(parts), size=max_tasks, replace=False))]
    dim = X.shape[1]
    kernel = ConstantKernel(0.8, (1e-2, 10.0)) * Matern(
        np.full(dim, 0.5), (1e-2, 1e2), nu=2.5
    ) + WhiteKernel(0.2, (1e-3, 10.0))
    models = [GaussianProcessRegressor(kernel, optimizer=None).fit(x, y) for x, y in parts]

    def negative_likelihood(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = 0.0, np.zeros_like(theta)
        for model in models:
            lml, grad = model.log_marginal_likelihood(theta, eval_gradient=True)
            value, gradient = value - lml, gradient - grad
        return float(value), gradient

    result = minimize(
        negative_likelihood, kernel.theta, jac=True, method="L-BFGS-B", bounds=kernel.bounds
    )
    params = np.exp(result.x)
    smooth, noise = float(params[0]), float(params[-1])
    return ResidualKernel(params[1:-1].copy(), smooth / (smooth + noise), len(parts))
