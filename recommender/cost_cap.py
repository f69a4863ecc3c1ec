"""A cap on each proposal's predicted cost: the transfer core's budget cap.

`Recommender.suggest(max_cost=..., cost_metric="runtime_s")` proposes only configurations
whose cost the library predicts at or below ``max_cost``: by default each trial's recorded
wall time (``runtime_s``, which the runner, the integrations and runtime-mapped imports
fill), or any metric the trials record (``metric_<name>``, e.g. LCBench's ``time``). The
cost model is ``log cost(x, task) = f(x) + b_task``:

* the shape ``f`` is learned from the source tasks' recorded metric, each task's log costs
  centred on their mean, so tasks on larger datasets or slower machines share one shape
  (scikit-learn's `HistGradientBoostingRegressor`, at most ``max_per_task`` trials per
  task, so the fit does not grow with the library);
* the target's level ``b`` is the mean residual of its own observed costs when it has any
  (the runner's finished trials, an ``--observed`` file's cost column), else the median
  level of the sources: zero-shot, the cap is the library's guess for a typical task.

A configuration is admitted when the cost it stays below with probability ``confidence``
is within the cap: ``exp(f(x) + b + z * sigma) <= max_cost``, ``z`` the normal quantile of
``confidence``, ``sigma`` the log-scale error of the prediction: the shape's error on the
target plus the level's. Zero-shot the shape's error is its out-of-fold error on tasks it
was not fitted on (`CostShape.error`) and the level's the spread of the sources' levels.
With observed costs the level's error is the shape's over the square root of their count,
and the shape's error is the target's own: how far its observed costs stray from the
shape, shrunk towards the out-of-fold error as a scaled inverse-chi-squared prior would
(the shape fits some tasks far better than others: on LCBench its error on a held-out
task ranges from 0.21 to 0.84; the prior's strength, `CostShape.prior_strength`, comes
from how much the held-out sources' errors differ).

A task's costs stray from the shape smoothly, not independently: where the target's
observed costs sit above the shape, its neighbours' costs do too. So, with observed
costs, ``b`` is a Gaussian process over the configurations instead of one number
(`recommender.cost_residual`): a random level, with the sources' level spread as its
prior, plus a smooth deviation and noise whose variances sum to the target's shape error
squared, in proportions and with Matérn lengthscales learned from the sources' held-out
residuals (`CostShape.residual_kernel`). Near the target's observed costs its prediction
follows them and its error shrinks; far from them it is close to the level-only model. On
LCBench (`benchmarks/results/screens/cost_residual/`) it halves the regret that the cap's
filter alone leaves, with about as many admitted configurations over the cap (fewer at
confidence 0.8; at 0.95 with a tight cap, up to 3 points more).

``confidence=0.5`` admits by the point prediction. When too few candidates are admitted
(zero-shot on a library of tasks whose costs differ widely), the confidence is lowered,
not below 0.5, until the cheapest 1 % of the candidates by prediction are
(`CostCap.relaxed`). If even the point prediction puts them over the cap, the cheapest 1 %
by prediction are proposed (zero-shot the target may be a far cheaper task than the
library's typical one; with its own costs, the model's predictions are drawn towards the
task's mean), unless, with the target's costs, the point prediction admits a few. The
explanation shows what was applied.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import polygamma
from scipy.stats import norm
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.model_selection import GroupKFold

from library.exceptions import CostCapError
from library.query import metric_values
from library.store import Library
from recommender.cost_residual import ResidualKernel, fit_residual_kernel
from recommender.space import Space

#: the default probability that an admitted configuration's cost is within the cap
DEFAULT_CONFIDENCE = 0.8

__all__ = [
    "DEFAULT_CONFIDENCE",
    "CostShape",
    "CostCap",
    "check_limit",
    "fit_cost_shape",
    "positive_costs",
    "read_costs",
    "split_observed_costs",
]


@dataclass(frozen=True, eq=False)
class CostShape:
    """The shape ``f`` of the cost model, fitted on the sources' recorded costs.

    Attributes:
        metric: the library metric it models (`library.metric_column` names its column).
        regressor: ``f``: encoded configuration -> log cost minus its task's level.
        levels: task_id -> the task's mean log cost (its level ``b``).
        n_trials: trials the fit used.
        error: standard deviation of ``f``'s log-scale error on a task left out of its
            fit (each held-out task levelled on its own costs; grouped 3-fold by task), or
            the in-sample error when fewer than two tasks have costs.
        prior_strength: how many of a target's observed costs weigh as much as ``error``
            in its own shape error (`fit_target`): the degrees of freedom of the scaled
            inverse-chi-squared law the held-out sources' error variances follow (fitted
            to the spread of their logarithms); ``inf`` (``error`` for every task) with
            fewer than three tasks or no spread beyond their sampling noise.
        residual_kernel: how smoothly a task's costs stray from the shape
            (`recommender.cost_residual`), learned from the sources' held-out residuals;
            ``None`` (each cost strays independently) with fewer than two such tasks.
    """

    metric: str
    regressor: HistGradientBoostingRegressor
    levels: Mapping[str, float]
    n_trials: int
    error: float
    prior_strength: float = math.inf
    residual_kernel: ResidualKernel | None = None

    def log_shape(self, X: np.ndarray) -> np.ndarray:
        """``f`` at encoded configurations ``X`` (``n x d``)."""
        return self.regressor.predict(np.asarray(X, dtype=np.float64))

    def learns_error(self, n_costs: int) -> bool:
        """Whether a task's ``n_costs`` observed costs set its own shape error (two or
        more, and a prior of finite strength), else the pooled ``error`` stands."""
        return n_costs >= 2 and math.isfinite(self.prior_strength)

    def fit_target(self, X: np.ndarray, costs: np.ndarray) -> tuple[float, float]:
        """The level ``b`` and the shape's log-scale error of a task with observed
        ``costs`` at encoded ``X``.

        The level is the costs' mean residual from the shape. The error is the posterior
        scale of the error variance under a scaled inverse-chi-squared prior with
        ``prior_strength`` degrees of freedom and scale ``error**2``, after the residuals
        about their mean (``n - 1`` degrees of freedom): ``(nu * error**2 + SS) / (nu + n
        - 1)``; ``error`` itself unless `learns_error`.
        """
        residuals = np.log(costs) - self.log_shape(X)
        level = float(residuals.mean())
        if not self.learns_error(len(residuals)):
            return level, self.error
        squares = float(np.sum((residuals - level) ** 2))
        nu = self.prior_strength
        return level, math.sqrt((nu * self.error**2 + squares) / (nu + len(residuals) - 1))


def check_limit(limit: Any) -> None:
    """Raise `CostCapError` unless ``limit`` (``max_cost``) is a positive number."""
    number = isinstance(limit, numbers.Real) and not isinstance(limit, bool)
    if not (number and math.isfinite(limit) and limit > 0):
        raise CostCapError(f"max_cost must be a positive number, got {limit!r}")


def positive_costs(costs: np.ndarray, what: str) -> np.ndarray:
    """``costs`` as float64, checked: finite and > 0 (NaN marks an unrecorded cost).

    Raises:
        CostCapError: a cost that is not a positive number.
    """
    values = np.asarray(costs, dtype=np.float64)
    bad = np.flatnonzero(~np.isnan(values) & ~(np.isfinite(values) & (values > 0)))
    if len(bad):
        raise CostCapError(
            f"{what} costs must be positive numbers (NaN: not recorded); got "
            f"{float(values[bad[0]]):g} at row {int(bad[0])} (0-based), {len(bad)} bad in all"
        )
    return values


def fit_cost_shape(
    space: Space,
    tables: Mapping[str, pd.DataFrame],
    metric: str,
    *,
    max_per_task: int = 400,
    seed: int = 0,
) -> CostShape | None:
    """Fit the cost model's shape on each task's recorded costs.

    Args:
        space: the search space (configurations are encoded in it).
        tables: task_id -> parameter columns plus a ``value`` column of costs
            (`library.metric_values`); rows with a non-positive or missing cost are skipped.
        metric: the metric's name (kept for the explanation).
        max_per_task: trials used per task at most (a seeded uniform subsample).
        seed: seed of the subsample and of the regressor.

    Returns:
        The shape, or ``None`` when no task has a usable cost.
    """
    rng = np.random.default_rng(seed)
    X_parts: list[np.ndarray] = []
    y_parts: list[np.ndarray] = []
    levels: dict[str, float] = {}
    for task, table in sorted(tables.items()):
        costs = table["value"].to_numpy(dtype=np.float64)
        keep = np.flatnonzero(np.isfinite(costs) & (costs > 0))
        if len(keep) == 0:
            continue
        if len(keep) > max_per_task:
            keep = np.sort(rng.choice(keep, size=max_per_task, replace=False))
        logs = np.log(costs[keep])
        levels[task] = float(logs.mean())
        X_parts.append(space.encode(table.drop(columns=["value"]).iloc[keep]))
        y_parts.append(logs - levels[task])
    if not levels:
        return None
    X, y = np.vstack(X_parts), np.concatenate(y_parts)
    sizes = np.array([len(part) for part in y_parts])
    groups = np.repeat(np.arange(len(y_parts)), sizes)
    regressor = _regressor(seed).fit(X, y)
    residuals = _held_out_residuals(X, y, groups, seed)
    if residuals is None:  # one task: its in-sample error
        error = float(np.std(y - regressor.predict(X)))
        return CostShape(metric, regressor, levels, len(y), error)
    task_errors = np.array([np.std(residuals[groups == g]) for g in range(len(sizes))])
    strength = _prior_strength(task_errors, sizes)
    kernel = fit_residual_kernel(X, residuals, groups, seed=seed)
    return CostShape(metric, regressor, levels, len(y), float(np.std(residuals)), strength, kernel)


def _regressor(seed: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(max_iter=100, random_state=seed)


def _held_out_residuals(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int
) -> np.ndarray | None:
    """The shape's residuals on tasks left out of its fit (grouped 3-fold by task), each
    task's centred (its level is estimated apart); ``None`` with one task."""
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        return None
    residuals = np.empty_like(y)
    for train, test in GroupKFold(n_splits=min(3, n_groups)).split(X, y, groups):
        residuals[test] = y[test] - _regressor(seed).fit(X[train], y[train]).predict(X[test])
    for group in np.unique(groups):
        mine = groups == group
        residuals[mine] -= residuals[mine].mean()
    return residuals


def _prior_strength(task_errors: np.ndarray, sizes: np.ndarray) -> float:
    """Degrees of freedom ``nu`` of a scaled inverse-chi-squared law of the tasks' error
    variances, from the variance of their logarithms (``trigamma(nu / 2)`` under that
    law) less each estimate's sampling variance (about ``2 / (n - 1)`` from ``n``
    residuals); ``inf`` with fewer than three tasks or no spread left."""
    usable = (task_errors > 0) & (sizes > 2)
    if usable.sum() < 3:
        return math.inf
    logs = np.log(task_errors[usable] ** 2)
    spread = float(np.var(logs, ddof=1) - np.mean(2.0 / (sizes[usable] - 1)))
    if spread <= 0:
        return math.inf
    low, high = 1e-3, 1e6  # trigamma falls from ~1e6 to ~1e-6 between them
    if float(polygamma(1, high / 2)) >= spread:
        return math.inf
    return float(brentq(lambda nu: float(polygamma(1, nu / 2)) - spread, low, high))


@dataclass(frozen=True, eq=False)
class CostCap:
    """Keep proposals whose predicted cost is at most ``limit``.

    Attributes:
        limit: the largest predicted cost allowed (the metric's unit).
        shape: the fitted shape `fit_cost_shape` returned.
        level: the target's level ``b`` (log scale).
        n_observed: the target's observed costs that gave ``level`` (0: zero-shot, the
            sources' median level).
        sigma: the log-scale error of a prediction (shape and level) away from the
            target's observed costs.
        confidence: the probability, under that error, that an admitted configuration's
            cost is within ``limit``.
        cheapest: set by `relaxed` when too few configurations are predicted within
            ``limit``: those predicted at or below this cost (the cheapest) are admitted.
        residual: with observed costs and the shape's `ResidualKernel`, the target's
            residual GP (`ResidualKernel.posterior`, about ``prior_level``): predictions
            follow the target's deviations from the shape near its observed costs, and
            their error shrinks there; ``None``: the level ``level`` and the error
            ``sigma`` everywhere.
        prior_level: the level the residual GP is centred on (the sources' median).
    """

    limit: float
    shape: CostShape
    level: float
    n_observed: int
    sigma: float
    confidence: float
    cheapest: float | None = None
    residual: GaussianProcessRegressor | None = None
    prior_level: float = 0.0

    @classmethod
    def for_target(
        cls,
        limit: float,
        shape: CostShape,
        target_X: np.ndarray | None = None,
        target_costs: np.ndarray | None = None,
        *,
        confidence: float = DEFAULT_CONFIDENCE,
    ) -> CostCap:
        """The cap for a target with observed costs (``target_costs`` at ``target_X``,
        NaN where not recorded) or none.

        Raises:
            CostCapError: ``limit`` is not a positive number, or ``confidence`` is not in
                ``[0.5, 1)``.
        """
        check_limit(limit)
        if not 0.5 <= confidence < 1.0:
            raise CostCapError(f"cost confidence must be in [0.5, 1), got {confidence!r}")
        levels = np.array(list(shape.levels.values()))
        prior_level = float(np.median(levels))
        if target_costs is not None and target_X is not None:
            known = np.isfinite(target_costs)
            if known.any():
                X, costs = target_X[known], target_costs[known]
                level, error = shape.fit_target(X, costs)
                n_known = int(known.sum())
                sigma = error * math.sqrt(1.0 + 1.0 / n_known)
                residual = None
                if shape.residual_kernel is not None:
                    residual = shape.residual_kernel.posterior(
                        X,
                        np.log(costs) - shape.log_shape(X) - prior_level,
                        error=error,
                        level_var=float(np.var(levels)),
                    )
                return cls(
                    float(limit),
                    shape,
                    level,
                    n_known,
                    sigma,
                    confidence,
                    residual=residual,
                    prior_level=prior_level,
                )
        sigma = float(math.hypot(shape.error, np.std(levels)))
        return cls(float(limit), shape, prior_level, 0, sigma, confidence)

    def _log_prediction(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the log cost at encoded ``X``."""
        shape = self.shape.log_shape(X)
        if self.residual is None:
            return shape + self.level, np.full(len(shape), self.sigma)
        mean, std = self.residual.predict(np.asarray(X, dtype=np.float64), return_std=True)
        return shape + self.prior_level + mean, std

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted (median) cost of encoded configurations ``X`` (``n x d``)."""
        return np.exp(self._log_prediction(X)[0])

    def upper(self, X: np.ndarray) -> np.ndarray:
        """The cost each configuration stays below with probability ``confidence``."""
        return self._upper(*self._log_prediction(X))

    def within(self, X: np.ndarray) -> np.ndarray:
        """``(n,)`` probability that each encoded configuration's cost is within ``limit``."""
        return self._chance(*self._log_prediction(X))

    def admissible(self, X: np.ndarray) -> np.ndarray:
        """``(n,)`` mask: which encoded configurations are within the cap at ``confidence``
        (or, after a zero-shot `relaxed`, among the cheapest by prediction)."""
        return self._admitted(*self._log_prediction(X))

    def _chance(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        gap = math.log(self.limit) - mean
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(std > 0, norm.cdf(gap / np.where(std > 0, std, 1.0)), gap >= 0)

    def _upper(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        return np.exp(mean + float(norm.ppf(self.confidence)) * std)

    def _admitted(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        if self.cheapest is not None:
            return np.exp(mean) <= self.cheapest
        return self._upper(mean, std) <= self.limit

    def relaxed(self, X: np.ndarray, minimum: int) -> CostCap:
        """This cap, or one that admits ``minimum`` of the encoded configurations ``X``:
        the same at a lower confidence, not below 0.5 (the point prediction). Below that,
        the ``minimum`` cheapest by prediction: zero-shot the level is only the sources'
        median (the target may be a far cheaper task than the library's typical one, and
        the cap the user's knowledge of that), and with the target's own costs the
        model's predictions are drawn towards the task's mean (a cap near the cheapest
        configurations can be predicted out of reach when it is not). With the target's
        costs, the cap at 0.5 is kept when it admits any."""
        mean, std = self._log_prediction(X)  # one prediction for every test below
        if self._admitted(mean, std).sum() >= minimum:
            return self
        k = min(minimum, len(X))
        kth = float(np.sort(np.exp(mean))[k - 1])
        if kth > self.limit:
            point = replace(self, confidence=0.5)
            if self.n_observed and point._admitted(mean, std).any():
                return point
            return replace(self, cheapest=kth)
        # the k-th most likely to fit passes, a hair inside against rounding
        chance = float(np.sort(self._chance(mean, std))[::-1][k - 1]) - 1e-9
        return replace(self, confidence=min(self.confidence, max(0.5, chance)))

    def _level_from(self) -> str:
        if self.n_observed:
            trials = "trial" if self.n_observed == 1 else "trials"
            return f"{self.n_observed} observed target {trials}"
        return f"median of {len(self.shape.levels)} source task(s)"

    def _error_from(self) -> str:
        source = (
            "the target's costs, shrunk towards the sources'"
            if self.shape.learns_error(self.n_observed)
            else "the sources'"
        )
        if self.residual is not None:
            return f"{source}; less near its observed costs, which the prediction follows"
        return source

    def describe(self) -> str:
        """The cap in words, for the explanation."""
        if self.cheapest is not None:
            return (
                f"no configuration is predicted to cost <= {self.limit:g} "
                f"({self.shape.metric}; level from the {self._level_from()}): the cheapest "
                f"by prediction instead, predicted <= {self.cheapest:.4g}"
            )
        return (
            f"predicted {self.shape.metric} <= {self.limit:g} with probability "
            f"{self.confidence:g} (cost model on {len(self.shape.levels)} task(s), "
            f"{self.shape.n_trials} trials, log-scale error {self.sigma:.2f} from "
            f"{self._error_from()}; target level from the {self._level_from()})"
        )


def read_costs(
    libraries: Sequence[Library], metric: str, task_ids: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """`library.metric_values` of ``task_ids`` over layered libraries (the first library
    holding a task's costs wins, as for its trials)."""
    out: dict[str, pd.DataFrame] = {}
    for library in libraries:
        todo = [task for task in task_ids if task not in out]
        if todo:
            out.update(metric_values(library, metric, task_ids=todo))
    return out


def split_observed_costs(
    observed: pd.DataFrame | Sequence[tuple[Mapping[str, Any], float]] | None,
    observed_costs: Sequence[float] | None,
    max_cost: float | None,
    metric: str,
) -> tuple[Any, np.ndarray | None]:
    """`Recommender.suggest`'s observations and their costs, apart.

    A DataFrame's ``metric`` column holds the costs when a cap is asked for and
    ``observed_costs`` is not given; it is dropped from the observations.

    Returns:
        ``(observed, costs)``: ``costs`` is ``None`` without a cap or without costs, else
        one per observation (NaN: not recorded).

    Raises:
        CostCapError: ``observed_costs`` without ``max_cost``, a ``max_cost`` that is not a
            positive number, costs of another length than the observations, or a cost
            that is not a positive number.
    """
    if max_cost is None:
        if observed_costs is not None:
            raise CostCapError("`observed_costs=` needs `max_cost=`: costs only serve the cap")
        return observed, None
    check_limit(max_cost)
    if isinstance(observed, pd.DataFrame) and metric in observed.columns:
        if observed_costs is None:
            observed_costs = observed[metric].to_numpy(dtype=np.float64)
        observed = observed.drop(columns=[metric])
    if observed_costs is None:
        return observed, None
    n_observed = 0 if observed is None else len(observed)
    if len(observed_costs) != n_observed:
        raise CostCapError(
            f"observed_costs has {len(observed_costs)} value(s) for {n_observed} observation(s); "
            "give one cost per observation, NaN where it was not recorded"
        )
    return observed, positive_costs(np.asarray(observed_costs, dtype=np.float64), "observed")
