"""The residual-stacked model (Golovin et al., 2017, Google Vizier's transfer stack).

The weighted source mean, mapped onto the target's scale by a fitted line
(`stacked_prior`), is the prior mean of a GP on the target's residuals, so the target's
data correct the sources where they are wrong and keep their shape elsewhere. The transfer
search picks with it from `TransferOptions.stack_from` observations on (`stacked_pick`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.ensemble import ensemble_argmax, loc_scale, member_std, normalised_weights
from recommender.surrogate import LazySourceStd, fit_gp, gp_from_state, predict, resolve_tkwargs
from recommender.transfer_options import TARGET_SCALES

__all__ = ["StackedPrior", "stack_values", "stacked_pick", "stacked_prior"]


@dataclass(frozen=True, slots=True)
class StackedPrior:
    """The weighted source mean as a prior mean of the target (`stacked_prior`).

    Scales: each source standardised by its predictions over the candidates (``loc``,
    ``scale``, as in the ensemble), the target by its observations' mean and standard
    deviation (``target``). On these scales the prior is ``offset + slope * sum_s w_s z_s(x)``.

    Attributes:
        weights: ``(S,)`` the source weights, normalised (equal when none is positive).
        loc: ``(S,)`` each source's mean over the candidates.
        scale: ``(S,)`` its standard deviation there (1 where it is 0).
        offset: intercept of the line.
        slope: its slope, at least 0 (0: the sources say nothing about the target).
        target: ``(m,)`` the standardised observations.
        residual: ``(m,)`` the standardised observations minus the prior at them.
    """

    weights: np.ndarray
    loc: np.ndarray
    scale: np.ndarray
    offset: float
    slope: float
    target: np.ndarray
    residual: np.ndarray


def stacked_prior(
    cand_mean: np.ndarray, obs_mean: np.ndarray, obs_y: np.ndarray, weights: np.ndarray
) -> StackedPrior:
    """Fit the line from the sources' weighted standardised mean to the target's data.

    Least squares with the slope clipped at 0 (a source that predicts the target backwards
    is the guardrails' business, not the prior's).

    Args:
        cand_mean: ``S x n`` source means at the candidates (their standardisation).
        obs_mean: ``S x m`` source means at the target's observations.
        obs_y: ``(m,)`` the observations.
        weights: ``(S,)`` source weights (normalised here; all 0: equal weights).

    Returns:
        The `StackedPrior`.
    """
    weights = normalised_weights(np.asarray(weights, dtype=np.float64))
    loc, scale = loc_scale(cand_mean)
    prior_obs = weights @ ((obs_mean - loc[:, None]) / scale[:, None])
    y_loc, y_scale = loc_scale(obs_y)
    target = (obs_y - y_loc) / y_scale
    centred = prior_obs - prior_obs.mean()
    spread = float(centred @ centred)
    slope = max(float(centred @ (target - target.mean())) / spread, 0.0) if spread > 0 else 0.0
    offset = float(target.mean() - slope * prior_obs.mean())
    residual = target - offset - slope * prior_obs
    if np.ptp(residual) <= 1e-9:  # the line explains the data: a constant, exactly
        residual = np.zeros_like(residual)
    return StackedPrior(weights, loc, scale, offset, slope, target, residual)


def stacked_pick(
    weights: np.ndarray,
    cand_X: np.ndarray,
    cand_mean: np.ndarray,
    cand_std: np.ndarray | LazySourceStd,
    free: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    obs_mean: np.ndarray,
    gp_state: dict,
    *,
    refit: bool,
    stack_scale: str = "target",
) -> tuple[int, float, str]:
    """LogEI of the residual-stacked model (`TransferOptions.stack_from`): the best free
    candidate, its score and the explanation's note (starting with "; ").

    The prior (`stacked_prior`) plus a GP on the residuals, as an ensemble whose members
    are the residual GP (weight 1, shifted by the offset) and each weighted source
    (weight ``slope * w_s``): mean ``offset + r(x) + slope sum_s w_s z_s(x)``, variance
    ``s_r(x)^2 + slope^2 sum_s w_s^2 s_s(x)^2`` (independent members, as RGPE). The
    residual GP is fitted (``refit``) or takes the target GP's hyperparameters from
    ``gp_state["state"]`` (`TransferOptions.stack_refit`). ``obs_y`` is on
    ``stack_scale`` (`TransferOptions.stack_scale`), which the explanation names unless it
    is the target GP's; ``weights`` are the sources' (`stacked_prior`).
    """
    prior = stacked_prior(cand_mean, obs_mean, obs_y, weights)
    w = prior.weights
    if refit:
        residual = fit_gp(obs_X, prior.residual, init_state=gp_state.get("stack_state"))
    else:
        residual = gp_from_state(obs_X, prior.residual, gp_state["state"], resolve_tkwargs())
    gp_state["stack_state"] = residual.state_dict()
    r_mean, r_std = predict(residual, cand_X)
    used = np.flatnonzero(w > 0) if prior.slope > 0 else np.array([], dtype=int)
    means = [r_mean + prior.offset]
    means += [(cand_mean[s] - prior.loc[s]) / prior.scale[s] for s in used]
    stds = [r_std] + [member_std(cand_std, s, prior.scale[s]) for s in used]
    member_weights = np.array([1.0, *(prior.slope * w[used])])
    index, score = ensemble_argmax(
        np.stack(means), stds, member_weights, float(prior.target.max()), free
    )
    note = (
        f"; residual-stacked GP: a GP on the target's residuals from its line on the "
        f"weighted sources (slope {prior.slope:.2f} on standardised scales)"
    )
    if stack_scale != "target":
        note += f"; the line and its residual GP on the {stack_scale} scale of the target"
    return index, score, note


def stack_values(
    obs_y: np.ndarray, raw_y: np.ndarray, stack_scale: str, gp_state: dict
) -> np.ndarray:
    """The target's values for the stacked line (`TransferOptions.stack_scale`): the target
    GP's (``obs_y``) or ``raw_y`` on ``stack_scale``, named in ``gp_state["stack_scale"]``
    so `acquisition.proposal_acquisition` rebuilds the same model."""
    name = gp_state.get("scale", "raw") if stack_scale == "target" else stack_scale
    gp_state["stack_scale"] = name
    return obs_y if stack_scale == "target" else TARGET_SCALES[stack_scale](raw_y)
