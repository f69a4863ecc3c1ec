"""The ensemble's acquisition: LogEI of a weighted ensemble of Gaussian predictions.

`ensemble_scores` scores every candidate. `ensemble_argmax` finds the same best
candidate without computing every source's standard deviation there, the largest part of
a suggestion's cost with a large library: LogEI grows with the standard deviation, and a
source GP's never exceeds its prior's, so a candidate whose LogEI at those bounds is below
the best exact LogEI found so far cannot win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from botorch.acquisition.analytic import _log_ei_helper

from recommender.bounded_argmax import DEFAULT_BLOCK, bounded_argmax
from recommender.surrogate import LazySourceStd

__all__ = [
    "ENSEMBLE_VARIANCES",
    "LazyMemberStd",
    "check_ensemble_variance",
    "ensemble_argmax",
    "ensemble_scores",
    "loc_scale",
    "member_std",
    "normalised_weights",
]

#: The ensemble's variances after the mixture-variance steps (`ensemble_scores`).
ENSEMBLE_VARIANCES = ("within", "independent")


def check_ensemble_variance(variance: str, *, name: str = "variance") -> str:
    """``variance`` if it is one of `ENSEMBLE_VARIANCES`.

    Args:
        variance: the value to check.
        name: what the error message calls it (``"ensemble_variance"`` for the option).

    Raises:
        ValueError: any other value.
    """
    if variance not in ENSEMBLE_VARIANCES:
        raise ValueError(f"{name} must be one of {', '.join(ENSEMBLE_VARIANCES)}, got {variance!r}")
    return variance


def ensemble_scores(
    mean: np.ndarray,
    std: np.ndarray,
    weights: np.ndarray,
    best: float,
    *,
    mixture: bool = False,
    floor: float | None = None,
    variance: str = "independent",
) -> np.ndarray:
    """Log expected improvement of a weighted ensemble of Gaussian predictions.

    Args:
        mean: ``M x n`` means of the ensemble members (all on a standardised scale).
        std: ``M x n`` standard deviations.
        weights: ``(M,)`` ensemble weights.
        best: incumbent on the same scale.
        mixture: ``False``: RGPE's variance ``sum_m w_m^2 s_m^2`` (independent members);
            ``True``: the weighted mixture's variance ``sum_m w_m (s_m^2 + (mu_m - mu)^2)``,
            which adds the members' disagreement.
        floor: with ``mixture``, only points whose independent-member LogEI is at least
            ``floor`` get the mixture's LogEI; the others keep their independent-member
            LogEI, below ``floor`` and so below every point that gets the mixture's (whose
            variance, hence LogEI, is never smaller). ``None``: no restriction.
        variance: without ``mixture``, the variance of the members' errors:
            ``"independent"`` (RGPE's ``sum_m w_m^2 s_m^2``, which shrinks as the weight
            spreads over more members) or ``"within"`` (``sum_m w_m s_m^2``, the mixture's
            variance without the disagreement term: the members' errors are not assumed
            independent, so a spread of weight does not make the ensemble surer).

    Returns:
        ``(n,)`` LogEI values.

    Raises:
        ValueError: a ``variance`` not in `ENSEMBLE_VARIANCES`.
    """
    check_ensemble_variance(variance)
    mu = weights @ mean
    if variance == "within" and not mixture:
        return _log_ei(mu, np.sqrt(weights @ std**2), best)
    if mixture:
        mixed = _log_ei(mu, np.sqrt(weights @ (std**2 + (mean - mu) ** 2)), best)
        if floor is None:
            return mixed
    plain = _log_ei(mu, np.sqrt((weights**2) @ (std**2)), best)
    return np.where(plain >= floor, mixed, plain) if mixture else plain


def _log_ei(mu: np.ndarray, sigma: np.ndarray, best: float) -> np.ndarray:
    """LogEI of Gaussians ``N(mu, sigma^2)`` over the incumbent ``best``."""
    sigma = sigma.clip(1e-9)
    u = torch.as_tensor((mu - best) / sigma)
    return (_log_ei_helper(u) + torch.log(torch.as_tensor(sigma))).numpy()


@dataclass(frozen=True, slots=True)
class LazyMemberStd:
    """One source member's standard deviations at the candidates, computed on demand.

    Attributes:
        std: the sources' `LazySourceStd` at the candidates.
        source: the source's row in ``std``.
        scale: the member's standardisation (its standard deviations are ``std / scale``).
    """

    std: LazySourceStd
    source: int
    scale: float

    def bound(self) -> float | None:
        """An upper bound of every value (`LazySourceStd.bound`), or ``None``."""
        bound = self.std.bound(self.source)
        return None if bound is None else bound / self.scale

    def at(self, index: np.ndarray) -> np.ndarray:
        """The values at the candidates ``index``."""
        return self.std.at(self.source, index) / self.scale

    def dense(self) -> np.ndarray:
        """The values at every candidate."""
        return self.std[self.source] / self.scale


def member_std(
    std: np.ndarray | LazySourceStd, source: int | np.integer, scale: float
) -> np.ndarray | LazyMemberStd:
    """Source ``source``'s member standard deviations, ``std[source] / scale``.

    Lazy (`LazyMemberStd`) when ``std`` is, so `ensemble_argmax` computes only what it reads;
    an array otherwise (the transfer harness predicts every source at the pool once).
    """
    if isinstance(std, LazySourceStd):
        return LazyMemberStd(std, int(source), float(scale))
    return std[source] / scale


def _values(std: np.ndarray | LazyMemberStd, index: np.ndarray | None = None) -> np.ndarray:
    if isinstance(std, LazyMemberStd):
        return std.dense() if index is None else std.at(index)
    return std if index is None else std[index]


def ensemble_argmax(
    mean: np.ndarray,
    stds: Sequence[np.ndarray | LazyMemberStd],
    weights: np.ndarray,
    best: float,
    free: np.ndarray,
    *,
    mixture: bool = False,
    variance: str = "independent",
    block: int = DEFAULT_BLOCK,
) -> tuple[int, float]:
    """The free candidate of largest `ensemble_scores`, and its score.

    The answer of ``np.argmax(np.where(free, ensemble_scores(...), -inf))`` (the first
    index among equal maxima), with each lazy member's standard deviations computed only
    at the candidates that can still win: every candidate's LogEI is first bounded with the
    lazy members at their `LazyMemberStd.bound` (LogEI grows with the ensemble's variance,
    which grows with each member's), then candidates are scored exactly in blocks of
    ``block`` in decreasing order of that bound, until the next bound is below the best
    exact score. Members without a bound, or no free candidate, score densely.

    Args:
        mean: ``M x n`` member means.
        stds: ``M`` rows of ``n`` standard deviations, arrays or `LazyMemberStd`.
        weights: ``(M,)`` member weights.
        best: the incumbent.
        free: ``(n,)`` mask of the candidates that may be picked.
        mixture: as in `ensemble_scores` (no ``floor``: a floor needs every score).
        variance: as in `ensemble_scores`.
        block: candidates scored exactly at a time.

    Returns:
        ``(index, score)``; the score is ``-inf`` when no candidate is free.
    """
    scores = partial(
        ensemble_scores, weights=weights, best=best, mixture=mixture, variance=variance
    )
    bounds = [s.bound() if isinstance(s, LazyMemberStd) else 0.0 for s in stds]
    candidates = np.flatnonzero(free)
    lazy = any(isinstance(s, LazyMemberStd) for s in stds)
    if not lazy or not len(candidates) or any(b is None for b in bounds):
        score = np.where(free, scores(mean, np.stack([_values(s) for s in stds])), -np.inf)
        index = int(np.argmax(score))
        return index, float(score[index])
    upper_std = np.stack(
        [
            np.full(len(candidates), bound) if isinstance(s, LazyMemberStd) else s[candidates]
            for s, bound in zip(stds, bounds, strict=True)
        ]
    )
    upper = scores(mean[:, candidates], upper_std)
    return bounded_argmax(
        upper,
        candidates,
        lambda rows: scores(mean[:, rows], np.stack([_values(s, rows) for s in stds])),
        block=block,
    )


def loc_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the last axis, the scale 1 where it is 0.

    How the ensemble puts sources (over the candidates) and the target (over its
    observations) on one standardised scale; a constant row stays constant instead of
    dividing by zero.
    """
    sd = values.std(axis=-1)
    return values.mean(axis=-1), np.where(sd > 0, sd, 1.0)


def normalised_weights(weights: np.ndarray) -> np.ndarray:
    """``weights`` scaled to sum to 1; uniform when they are all 0."""
    total = weights.sum()
    return weights / total if total > 0 else np.full(len(weights), 1.0 / len(weights))
