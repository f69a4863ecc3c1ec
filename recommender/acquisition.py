"""Gradient-based proposals: the transfer ensemble's LogEI as a BoTorch acquisition.

`recommender.transfer.propose` scores a candidate matrix with numpy
(`recommender.ensemble.ensemble_scores`). This module evaluates the *same* acquisition
differentiably in torch, so BoTorch can maximise it over the unit cube:

* `EnsembleLogEI`: LogEI of a weighted ensemble of GPs, each member standardised with its
  own ``(loc, scale)``. Mean ``mu(x) = sum_m w_m mu_m(x)``; variance RGPE's
  ``sum_m w_m^2 s_m(x)^2``, with ``variance="within"`` ``sum_m w_m s_m(x)^2``, or, with
  ``mixture=True``, the mixture's
  ``sum_m w_m (s_m(x)^2 + (mu_m(x) - mu(x))^2)``. On the same members it gives the same
  numbers as `ensemble_scores` on `recommender.surrogate.predict` outputs.
* `ensemble_acquisition`: builds that ensemble from the inputs of `propose`'s GP phase
  (guardrail decision, source GPs, target GP, candidate predictions), mirroring how
  `propose` builds ``members_mean``/``members_std``/``member_obs``.
* `optimize_ensemble_acqf`: multi-start L-BFGS-B (`botorch.optim.optimize_acqf`) on the
  unit cube, one run per fixed one-hot combination of the categoricals in mixed spaces,
  then a round trip through `Space.decode`/`Space.encode` (integer rounding, argmax of
  one-hot blocks, inactive conditional children zeroed). The best random candidate is
  always a contender, so the result is never worse in acquisition value than the
  candidate-set argmax that `propose` takes.

Batches (``q > 1``) use a *kriging believer* (`EnsembleLogEI.fantasize_pending`): every
member is conditioned on its own posterior mean at the pending points, which leaves the
means unchanged and shrinks the variances there, and the incumbent becomes the larger of
the incumbent and the ensemble mean at the pending points; the next pick maximises the
fantasised acquisition (sequential greedy).

Example:
    >>> acqf = ensemble_acquisition(decision=proposal.decision, source_models=models,
    ...     cand_mean=cand_mean, obs_y=obs_y, obs_mean=obs_mean, target=target_gp,
    ...     mixture=False)
    >>> result = optimize_ensemble_acqf(acqf, space, fixed_candidates=cand_X, seed=0)
    >>> space.decode(result.x[None])
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gpytorch
import numpy as np
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.analytic import _log_ei_helper
from botorch.models import ModelListGP, SingleTaskGP
from botorch.optim import optimize_acqf
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from library.exceptions import SpaceError
from recommender.ensemble import check_ensemble_variance, loc_scale
from recommender.guardrails import GuardrailDecision
from recommender.space import CategoricalParam, Space
from recommender.stacking import stacked_prior
from recommender.surrogate import SourceModel, gp_from_state
from recommender.transfer import Proposal
from recommender.transfer_options import TARGET_SCALES, TransferOptions

__all__ = [
    "EnsembleLogEI",
    "EnsembleMember",
    "OptimizedCandidate",
    "ensemble_acquisition",
    "optimize_ensemble_acqf",
    "proposal_acquisition",
    "restore_gp",
    "stacked_acquisition",
]

_LOG = logging.getLogger(__name__)
_MAX_CHOLESKY = 20_000  # as `recommender.surrogate.predict`: exact Cholesky, never CG
_MIN_VARIANCE = 1e-12  # `predict` clamps the posterior variance here
_MIN_SIGMA = 1e-9  # `ensemble_scores` clips the ensemble's standard deviation here
_CHUNK = 1024  # candidates scored per forward pass


@dataclass(frozen=True, slots=True)
class EnsembleMember:
    """One GP of the ensemble and the affine map to the ensemble's common scale.

    The member's standardised prediction at ``x`` is ``(mu(x) - loc) / scale`` with
    standard deviation ``s(x) / scale``, where ``mu``/``s`` are the model's posterior mean
    and standard deviation (outcome transform undone).

    Attributes:
        model: a fitted single-output GP in eval mode (inputs in the unit cube).
        loc: subtracted from the posterior mean.
        scale: divides mean and standard deviation (``> 0``).
    """

    model: SingleTaskGP
    loc: float
    scale: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"`scale > 0` must hold for an ensemble member, got {self.scale}")
        if not math.isfinite(self.loc):
            raise ValueError(f"an ensemble member's loc must be finite, got {self.loc}")


class EnsembleLogEI(AcquisitionFunction):
    """Log expected improvement of a weighted ensemble of GPs (analytic, ``q = 1``).

    The torch counterpart of `recommender.ensemble.ensemble_scores`: with member means and
    standard deviations taken from the members' posteriors it returns the same values.

    Args:
        members: the ensemble's `EnsembleMember`s.
        weights: ``(M,)`` non-negative weights, one per member (used as given, like
            `ensemble_scores`; `ensemble_acquisition` normalises them to sum to 1).
        best: the incumbent on the common (standardised) scale.
        mixture: ``False``: RGPE variance ``sum_m w_m^2 s_m^2``; ``True``: the mixture
            variance ``sum_m w_m (s_m^2 + (mu_m - mu)^2)``.
        floor: with ``mixture``, points whose RGPE-variance LogEI is below ``floor`` keep
            that LogEI, the others get the mixture's (`ensemble_scores`' ``floor``,
            `TransferOptions.mixture_top`); ``None``: no restriction.
        variance: without ``mixture``, ``"independent"`` (RGPE's variance) or ``"within"``
            (``sum_m w_m s_m^2``; `ensemble_scores`' ``variance``,
            `TransferOptions.ensemble_variance`).

    Raises:
        ValueError: no member, a weight count that does not match, or negative / all-zero
            / non-finite weights, or a non-finite incumbent.
    """

    weights: Tensor
    locs: Tensor
    scales: Tensor

    def __init__(
        self,
        members: Sequence[EnsembleMember],
        weights: Sequence[float] | np.ndarray | Tensor,
        best: float,
        *,
        mixture: bool = False,
        floor: float | None = None,
        variance: str = "independent",
    ) -> None:
        if not members:
            raise ValueError("EnsembleLogEI needs at least one member")
        w = torch.as_tensor(np.asarray(weights, dtype=np.float64)).reshape(-1)
        if len(w) != len(members):
            raise ValueError(f"got {len(w)} weights for {len(members)} members; give one each")
        if not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights must be finite, >= 0 and not all 0, got {w.tolist()}")
        if not math.isfinite(best):
            raise ValueError(f"the incumbent must be finite, got {best}")
        super().__init__(model=ModelListGP(*[m.model for m in members]))
        first = next(members[0].model.parameters())
        self.members = tuple(members)
        self.best = float(best)
        self.mixture = bool(mixture)
        self.floor = None if floor is None else float(floor)
        self.variance_kind = check_ensemble_variance(variance)
        self.register_buffer("weights", w.to(device=first.device, dtype=first.dtype))
        self.register_buffer("locs", self.weights.new_tensor([m.loc for m in members]))
        self.register_buffer("scales", self.weights.new_tensor([m.scale for m in members]))

    def member_moments(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """Standardised means and variances of every member.

        Args:
            X: ``batch_shape x d`` points (no q dimension).

        Returns:
            ``(mean, variance)``, each ``M x batch_shape``.
        """
        means, variances = [], []
        with gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY):
            for member in self.members:
                posterior = member.model.posterior(X.unsqueeze(-2))
                means.append(posterior.mean[..., 0, 0])
                variances.append(posterior.variance[..., 0, 0].clamp_min(_MIN_VARIANCE))
        shape = (-1,) + (1,) * (X.dim() - 1)
        mean = (torch.stack(means) - self.locs.view(shape)) / self.scales.view(shape)
        variance = torch.stack(variances) / self.scales.view(shape) ** 2
        return mean, variance

    def ensemble_moments(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """Ensemble mean and standard deviation (``batch_shape`` each) at ``X`` (``batch_shape x d``)."""
        return self._combine(*self.member_moments(X), self.mixture)

    def _combine(self, mean: Tensor, variance: Tensor, mixture: bool) -> tuple[Tensor, Tensor]:
        """Ensemble mean and standard deviation from the members' (`member_moments`)."""
        w = self.weights.view((-1,) + (1,) * (mean.dim() - 1))
        mu = (w * mean).sum(0)
        if mixture:
            total = (w * (variance + (mean - mu) ** 2)).sum(0)
        elif self.variance_kind == "within":
            total = (w * variance).sum(0)
        else:
            total = (w**2 * variance).sum(0)
        return mu, total.sqrt().clamp_min(_MIN_SIGMA)

    def _log_ei(self, mu: Tensor, sigma: Tensor) -> Tensor:
        return _log_ei_helper((mu - self.best) / sigma) + sigma.log()

    @t_batch_mode_transform(expected_q=1)  # type: ignore[arg-type]
    def forward(self, X: Tensor) -> Tensor:
        """LogEI at ``X`` (``batch_shape x 1 x d``); returns ``batch_shape``."""
        mean, variance = self.member_moments(X.squeeze(-2))  # once, for both variances
        value = self._log_ei(*self._combine(mean, variance, self.mixture))
        if not self.mixture or self.floor is None:
            return value
        plain = self._log_ei(*self._combine(mean, variance, False))
        return torch.where(plain >= self.floor, value, plain)

    def fantasize_pending(self, X_pending: Tensor | np.ndarray) -> EnsembleLogEI:
        """Kriging believer: the acquisition after pretending ``X_pending`` was observed.

        Each member is conditioned on its own posterior mean at the pending points (means
        unchanged, variances shrink there) and the incumbent becomes
        ``max(best, ensemble mean at the pending points)``.

        Args:
            X_pending: ``p x d`` points already chosen in this batch (``p = 0``: no change).

        Returns:
            A new `EnsembleLogEI`; this one is left unchanged.
        """
        first = next(self.members[0].model.parameters())
        X = torch.as_tensor(X_pending, device=first.device, dtype=first.dtype)
        X = X.reshape(-1, self._dim())
        if len(X) == 0:
            return self
        members = []
        with torch.no_grad(), gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY):
            mu, _ = self.ensemble_moments(X)
            for member in self.members:
                model = member.model
                believed = model.posterior(X).mean  # p x 1, original scale
                fantasy = model.condition_on_observations(X, believed)
                members.append(EnsembleMember(fantasy, member.loc, member.scale))  # type: ignore[arg-type]
        best = max(self.best, float(mu.max()))
        return EnsembleLogEI(
            members,
            self.weights.cpu().numpy(),
            best,
            mixture=self.mixture,
            floor=self.floor,
            variance=self.variance_kind,
        )

    def _dim(self) -> int:
        (train_X,) = self.members[0].model.train_inputs
        return int(train_X.shape[-1])

    def score(self, X: np.ndarray) -> np.ndarray:
        """LogEI at ``n x d`` encoded points as a ``(n,)`` numpy array (no gradients)."""
        first = next(self.members[0].model.parameters())
        X_t = torch.as_tensor(X, device=first.device, dtype=first.dtype)
        out = []
        with torch.no_grad():
            for start in range(0, len(X_t), _CHUNK):
                out.append(self(X_t[start : start + _CHUNK].unsqueeze(-2)))
        if not out:
            return np.empty(0)
        return torch.cat(out).cpu().numpy().astype(np.float64)


def restore_gp(X: np.ndarray, y: np.ndarray, state: dict[str, Tensor]) -> SingleTaskGP:
    """The target GP `recommender.surrogate.fit_gp` returned, rebuilt from its ``state_dict``.

    `propose` keeps only the fitted hyperparameters (``gp_state["state"]``); a
    `SingleTaskGP` with a `Standardize` outcome transform on the same ``(X, y)`` with
    that state loaded is the same model, without refitting.

    Args:
        X: ``n x d`` training inputs the state was fitted on.
        y: ``(n,)`` training targets.
        state: the fitted model's ``state_dict``.

    Returns:
        The model in eval mode, on the state's device and dtype.
    """
    reference = next(v for v in state.values() if torch.is_floating_point(v))
    tkwargs: dict[str, Any] = {"device": reference.device, "dtype": reference.dtype}
    return gp_from_state(X, y, state, tkwargs)


def proposal_acquisition(
    proposal: Proposal,
    *,
    source_models: Sequence[SourceModel],
    cand_mean: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    obs_mean: np.ndarray,
    gp_state: Mapping[str, Any],
    options: TransferOptions,
) -> EnsembleLogEI:
    """`ensemble_acquisition` of a `transfer.propose` step, from that step's ``gp_state``.

    A ``"stacked"`` step (`Proposal.phase`) gets `stacked_acquisition` instead.

    Args:
        proposal: the step's `Proposal` (its guardrail decision and phase).
        source_models: the source GPs, in the order of ``cand_mean``'s rows.
        cand_mean: ``S x n`` source means at the candidate set.
        obs_X: ``m x d`` observed configurations; ``obs_y`` their ``(m,)`` scores, on
            their own scale (the target GP's, ``gp_state["scale"]``, is applied here).
        obs_mean: ``S x m`` source means at the observations.
        gp_state: the ``gp_state`` `propose` filled (its target GP's hyperparameters).
        options: the `TransferOptions` `propose` ran with (its ``min_target_points``,
            ``mixture_variance_steps`` and ``ensemble_variance`` shape the acquisition).

    Returns:
        The `EnsembleLogEI` that `propose` maximised over the candidates.
    """
    decision = proposal.decision
    if proposal.phase == "stacked":
        scale = gp_state.get("stack_scale", gp_state.get("scale", "raw"))
        obs_y = TARGET_SCALES[scale](obs_y)
        return stacked_acquisition(
            decision=decision,
            source_models=source_models,
            cand_mean=cand_mean,
            obs_X=obs_X,
            obs_y=obs_y,
            obs_mean=obs_mean,
            residual_state=gp_state["stack_state"],
        )
    obs_y = TARGET_SCALES[gp_state.get("scale", "raw")](obs_y)
    target = None
    if len(obs_y) >= options.min_target_points and "state" in gp_state:
        target = restore_gp(obs_X, obs_y, gp_state["state"])
    return ensemble_acquisition(
        decision=decision,
        source_models=source_models,
        cand_mean=cand_mean,
        obs_y=obs_y,
        obs_mean=obs_mean,
        target=target,
        mixture=len(obs_y) < options.mixture_variance_steps,
        floor=gp_state.get("mixture_floor"),
        variance=options.ensemble_variance,
    )


def ensemble_acquisition(
    *,
    decision: GuardrailDecision,
    source_models: Sequence[SourceModel],
    cand_mean: np.ndarray,
    obs_y: np.ndarray,
    obs_mean: np.ndarray,
    target: SingleTaskGP | None,
    mixture: bool,
    floor: float | None = None,
    variance: str = "independent",
) -> EnsembleLogEI:
    """The acquisition `transfer.propose` maximises in its GP phase, as an `EnsembleLogEI`.

    Mirrors `propose`: the target GP (when fitted) is standardised by the observations'
    mean and standard deviation and weighted by ``decision.target_weight``; unless the
    decision is ``target-only``, every source with a positive weight (all sources, equally,
    when no weight is positive) is standardised by the mean and standard deviation of its
    predictions over the candidate set; weights are normalised to sum to 1; the incumbent
    is the best weighted standardised observation.

    Args:
        decision: the guardrail decision of the step (`Proposal.decision`).
        source_models: the ``S`` source GPs, in the order of ``cand_mean``'s rows.
        cand_mean: ``S x n`` source means at the candidate set `propose` scored.
        obs_y: ``(m,)`` target observations (larger is better).
        obs_mean: ``S x m`` source means at the observations.
        target: the target GP (`restore_gp`), or ``None`` when `propose` fitted none.
        mixture: use the mixture variance (`propose`: ``m < mixture_variance_steps``).
        floor: `EnsembleLogEI`'s ``floor`` (`propose` leaves it in
            ``gp_state["mixture_floor"]``).
        variance: `EnsembleLogEI`'s ``variance`` (`TransferOptions.ensemble_variance`).

    Returns:
        The `EnsembleLogEI`.

    Raises:
        ValueError: the ensemble would have no member (no target GP and no trusted source:
            `propose` explores instead of entering its GP phase).
    """
    n_src = len(source_models)
    members: list[EnsembleMember] = []
    member_obs: list[np.ndarray] = []
    weights: list[float] = []
    if target is not None:
        y_mu, y_sd = map(float, loc_scale(obs_y))
        members.append(EnsembleMember(target, y_mu, y_sd))
        member_obs.append((obs_y - y_mu) / y_sd)
        weights.append(decision.target_weight)
    if decision.mode != "target-only" and n_src > 0:
        w_src = decision.source_weights
        if w_src.sum() <= 0:
            w_src = np.full(n_src, 1.0 / n_src)
        for s in np.flatnonzero(w_src > 0).tolist():
            loc, scale = map(float, loc_scale(cand_mean[s]))
            members.append(EnsembleMember(source_models[s].model, loc, scale))
            member_obs.append((obs_mean[s] - loc) / scale)
            weights.append(float(w_src[s]))
    if not members:
        raise ValueError(
            "no ensemble member: no target GP and no trusted source; this step is not in "
            "propose's GP phase (check Proposal.phase == 'gp' first)"
        )
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    best = float(np.max(w @ np.stack(member_obs)))
    return EnsembleLogEI(members, w, best, mixture=mixture, floor=floor, variance=variance)


def stacked_acquisition(
    *,
    decision: GuardrailDecision,
    source_models: Sequence[SourceModel],
    cand_mean: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    obs_mean: np.ndarray,
    residual_state: Mapping[str, Tensor],
) -> EnsembleLogEI:
    """The residual-stacked LogEI of a ``"stacked"`` `transfer.propose` step, in torch.

    Mirrors `propose`'s stacked pick: the residual GP (rebuilt from ``residual_state`` on
    the `stacked_prior` residuals), shifted by the prior's offset, with weight 1; each
    source with a positive weight, standardised over the candidates, with weight ``slope x
    w_s`` (none when the slope is 0); the incumbent is the best standardised observation.

    Args:
        decision: the step's guardrail decision (its source weights).
        source_models: the source GPs, in the order of ``cand_mean``'s rows.
        cand_mean: ``S x n`` source means at the candidate set `propose` scored.
        obs_X: ``m x d`` observed configurations; ``obs_y`` their ``(m,)`` scores.
        obs_mean: ``S x m`` source means at the observations.
        residual_state: ``gp_state["stack_state"]`` of that step.

    Returns:
        The `EnsembleLogEI`.
    """
    prior = stacked_prior(cand_mean, obs_mean, obs_y, decision.source_weights)
    residual = restore_gp(obs_X, prior.residual, dict(residual_state))
    members = [EnsembleMember(residual, -prior.offset, 1.0)]
    weights = [1.0]
    if prior.slope > 0:
        for s in np.flatnonzero(prior.weights > 0).tolist():
            members.append(EnsembleMember(source_models[s].model, prior.loc[s], prior.scale[s]))
            weights.append(prior.slope * float(prior.weights[s]))
    return EnsembleLogEI(members, weights, float(prior.target.max()))


@dataclass(frozen=True, slots=True)
class OptimizedCandidate:
    """The result of `optimize_ensemble_acqf`.

    Attributes:
        x: ``(d,)`` encoded point, a valid configuration's encoding (decode/encode round
            trip done).
        value: the acquisition at ``x``.
        source: ``"gradient"`` (an L-BFGS-B result won) or ``"candidates"`` (the best
            random candidate was at least as good).
        candidate_index: row of the candidate matrix when ``source == "candidates"``.
        candidate_value: the best candidate's acquisition (``-inf`` without candidates).
        n_combinations: fixed one-hot combinations optimised over (1 without categoricals).
    """

    x: np.ndarray
    value: float
    source: str
    candidate_index: int | None
    candidate_value: float
    n_combinations: int


def _combination_columns(space: Space) -> tuple[list[int], list[tuple[int, str]]]:
    """Encoded columns fixed per combination: one-hot columns, and numeric columns whose
    parameter only depends on categorical parents (zero when that parameter is inactive)."""
    categorical = [c for block in space.categorical_slices() for c in block]
    kinds = {p.name: isinstance(p, CategoricalParam) for p in space.parameters}
    parents: dict[str, list[str]] = {}
    for condition in space.conditions:
        parents.setdefault(condition.child, []).append(condition.parent)
    columns = space.column_names
    numeric = [
        (columns.index(p.name), p.name)
        for p in space.parameters
        if not kinds[p.name] and p.name in parents and all(kinds[q] for q in parents[p.name])
    ]
    return categorical, numeric


def _candidate_combinations(space: Space, X: np.ndarray) -> list[dict[int, float]]:
    """The fixed-feature combination each encoded row ``X[i]`` lies in."""
    categorical, numeric = _combination_columns(space)
    active = space.active_mask(space.decode(X)) if numeric else None
    position = {name: i for i, name in enumerate(space.names)}
    combos = []
    for i, row in enumerate(X):
        combo = {c: float(row[c]) for c in categorical}
        for column, name in numeric:
            if active is not None and not active[i, position[name]]:
                combo[column] = 0.0
        combos.append(dict(sorted(combo.items())))
    return combos


def _matches(X: np.ndarray, combo: dict[int, float]) -> np.ndarray:
    """Rows of ``X`` that lie in the fixed-feature combination ``combo``."""
    if not combo:
        return np.ones(len(X), dtype=bool)
    return np.all([np.abs(X[:, c] - v) < 1e-9 for c, v in combo.items()], axis=0)


def _select_combinations(
    space: Space,
    cand_X: np.ndarray,
    cand_values: np.ndarray,
    *,
    max_combinations: int,
    n_best_combinations: int,
    rng: np.random.Generator,
) -> list[dict[int, float]]:
    """At most ``max_combinations`` one-hot combinations, the candidates' best first.

    Every combination (`Space.fixed_feature_combinations`) when there are at most
    ``max_combinations``; otherwise the ``n_best_combinations`` combinations holding the
    best random candidates plus others drawn at random among those the candidates cover.
    """
    if not space.categorical_slices():
        return [{}]
    cand_combos = _candidate_combinations(space, cand_X)
    best_value: dict[tuple, float] = {}
    by_key: dict[tuple, dict[int, float]] = {}
    for combo, value in zip(cand_combos, cand_values, strict=True):
        key = tuple(combo.items())
        by_key[key] = combo
        best_value[key] = max(best_value.get(key, -math.inf), float(value))
    ranked = sorted(by_key, key=lambda k: -best_value[k])
    try:
        everything = space.fixed_feature_combinations(max_combinations=max_combinations)
    except SpaceError:
        everything = None
    if everything is not None:
        order = {k: i for i, k in enumerate(ranked)}
        return sorted(everything, key=lambda c: order.get(tuple(c.items()), len(order)))
    n_best = min(n_best_combinations, max_combinations)
    chosen, rest = ranked[:n_best], ranked[n_best:]
    n_more = min(len(rest), max_combinations - len(chosen))
    if n_more > 0:
        chosen += [rest[i] for i in sorted(rng.choice(len(rest), size=n_more, replace=False))]
    return [by_key[k] for k in chosen]


def _round_trip(space: Space, X: np.ndarray) -> np.ndarray:
    """Encoded points snapped to valid configurations (decode, then encode)."""
    return space.encode(space.decode(X))


def optimize_ensemble_acqf(
    acqf: EnsembleLogEI,
    space: Space,
    *,
    raw_samples: int = 128,
    num_restarts: int = 2,
    seed: int | None = None,
    fixed_candidates: np.ndarray | None = None,
    exclude: np.ndarray | None = None,
    max_combinations: int = 32,
    n_best_combinations: int = 8,
    maxiter: int = 100,
    bounds: tuple[np.ndarray, np.ndarray] | None = None,
    admissible: Callable[[np.ndarray], np.ndarray] | None = None,
) -> OptimizedCandidate:
    """Maximise an `EnsembleLogEI` over a space: gradients, with random candidates as a floor.

    1. The ``fixed_candidates`` (the random candidate set of `Recommender.suggest`; when
       ``None``, 1,024 draws of `Space.sample`) are scored; their argmax is the floor.
    2. Without categoricals, one `optimize_acqf` run on the unit cube. With categoricals,
       one run per fixed one-hot combination (``fixed_features``; inactive conditional
       numeric children fixed to 0): every combination when there are at most
       ``max_combinations``, otherwise the ``n_best_combinations`` holding the best random
       candidates plus combinations drawn among the others the candidates cover, up to
       ``max_combinations``. This is the loop `optimize_acqf_mixed` runs for ``q = 1``,
       except that each combination starts from its own best points.
    3. Starts of a run: the best of ``raw_samples`` scrambled-Sobol points (with the
       combination's fixed columns set) and the best random candidates in that
       combination, ``num_restarts`` of each.
    4. Every run's end points are snapped to valid configurations (`Space.decode` then
       `Space.encode`: integer rounding, one-hot argmax, inactive children zeroed) and
       re-scored; points in ``exclude`` are dropped.
    5. The best snapped point wins if its acquisition exceeds the best candidate's;
       otherwise the best candidate is returned.

    Args:
        acqf: the acquisition (`ensemble_acquisition`).
        space: the search space whose encoding ``acqf``'s models use.
        raw_samples: Sobol points scored per combination to choose starts.
        num_restarts: starts per combination from the Sobol points (as many again from
            the candidates).
        seed: seed of the Sobol points and of the choice of combinations.
        fixed_candidates: ``n x d`` valid encoded candidates (the floor).
        exclude: ``k x d`` encoded points that must not be returned (observations,
            pending picks).
        max_combinations: cap on the one-hot combinations optimised.
        n_best_combinations: combinations kept for their best candidates when capping.
        maxiter: L-BFGS-B iterations per run.
        bounds: ``(lower, upper)`` arrays of ``d`` encoded-column bounds of the search
            (default: the unit cube), e.g. `DefaultBox.bounds`.
        admissible: ``X -> (n,) bool``: which encoded points may be returned (e.g.
            `DefaultBox.contains`). With it, only the one-hot combinations that hold an
            admissible candidate are optimised, and snapped points it rejects are dropped;
            the ``fixed_candidates`` must all be admissible.

    Returns:
        The `OptimizedCandidate`.

    Raises:
        ValueError: ``space.dim`` does not match the candidates, or bad counts.
    """
    if raw_samples < 1 or num_restarts < 1 or max_combinations < 1:
        raise ValueError(
            "`raw_samples >= 1`, `num_restarts >= 1` and `max_combinations >= 1` must hold, "
            f"got ({raw_samples=}, {num_restarts=}, {max_combinations=})"
        )
    rng = np.random.default_rng(seed)
    d = space.dim
    if fixed_candidates is None:
        fixed_candidates = space.encode(space.sample(1024, seed=int(rng.integers(2**31))))
    cand_X = np.asarray(fixed_candidates, dtype=np.float64).reshape(-1, d)
    excluded = np.empty((0, d)) if exclude is None else np.asarray(exclude).reshape(-1, d)
    cand_values = acqf.score(cand_X) if len(cand_X) else np.empty(0)
    if len(cand_X) and len(excluded):
        cand_values = np.where(_is_excluded(cand_X, excluded), -np.inf, cand_values)
    cand_best = int(np.argmax(cand_values)) if len(cand_X) else None
    cand_value = float(cand_values[cand_best]) if cand_best is not None else -math.inf

    combos = _select_combinations(
        space,
        cand_X,
        cand_values,
        max_combinations=max_combinations,
        n_best_combinations=n_best_combinations,
        rng=rng,
    )
    if admissible is not None:  # the combinations the admissible region reaches
        combos = [combo for combo in combos if _matches(cand_X, combo).any()]
    lower, upper = (np.zeros(d), np.ones(d)) if bounds is None else bounds
    first = next(acqf.members[0].model.parameters())
    tkwargs: dict[str, Any] = {"device": first.device, "dtype": first.dtype}
    box = torch.stack([torch.as_tensor(lower, **tkwargs), torch.as_tensor(upper, **tkwargs)])
    sobol = torch.quasirandom.SobolEngine(d, scramble=True, seed=int(rng.integers(2**31)))
    ends: list[np.ndarray] = [np.empty((0, d))]
    for combo in combos:
        starts = _starts(
            acqf, sobol, combo, cand_X, cand_values, raw_samples, num_restarts, (lower, upper)
        )
        batch = torch.as_tensor(starts, **tkwargs).unsqueeze(-2)
        X_opt, _ = optimize_acqf(
            acqf,
            bounds=box,
            q=1,
            num_restarts=len(starts),
            batch_initial_conditions=batch,
            fixed_features=combo or None,
            options={"maxiter": maxiter},
            return_best_only=False,
            retry_on_optimization_warning=False,
        )
        ends.append(X_opt.detach().reshape(-1, d).cpu().numpy())
    snapped = _round_trip(space, np.clip(np.concatenate(ends), 0.0, 1.0))
    values = acqf.score(snapped) if len(snapped) else np.full(1, -np.inf)
    if len(excluded) and len(snapped):
        values = np.where(_is_excluded(snapped, excluded), -np.inf, values)
    if admissible is not None and len(snapped):
        values = np.where(admissible(snapped), values, -np.inf)
    best = int(np.argmax(values))
    if cand_best is not None and cand_value >= values[best]:
        return OptimizedCandidate(
            cand_X[cand_best].copy(), cand_value, "candidates", cand_best, cand_value, len(combos)
        )
    if not np.isfinite(values[best]):
        raise ValueError(
            "no admissible point: every optimised point and candidate is excluded; "
            "pass fixed_candidates that are not all in `exclude`"
        )
    return OptimizedCandidate(
        snapped[best], float(values[best]), "gradient", None, cand_value, len(combos)
    )


def _is_excluded(X: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Rows of ``X`` equal (to 1e-9) to a row of ``excluded``."""
    if len(excluded) == 0:
        return np.zeros(len(X), dtype=bool)
    return (np.abs(X[:, None, :] - excluded[None, :, :]).max(axis=-1) < 1e-9).any(axis=1)


def _starts(
    acqf: EnsembleLogEI,
    sobol: torch.quasirandom.SobolEngine,
    combo: dict[int, float],
    cand_X: np.ndarray,
    cand_values: np.ndarray,
    raw_samples: int,
    num_restarts: int,
    bounds: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Start points of one run: best Sobol points (in ``bounds``) and best candidates in
    ``combo``."""
    lower, upper = bounds
    raw = lower + (upper - lower) * sobol.draw(raw_samples).to(torch.float64).numpy()
    for column, value in combo.items():
        raw[:, column] = value
    raw_values = acqf.score(raw)
    picks = [raw[np.argsort(-raw_values, kind="stable")[:num_restarts]]]
    if len(cand_X):
        inside = np.flatnonzero(_matches(cand_X, combo) & np.isfinite(cand_values))
        top = inside[np.argsort(-cand_values[inside], kind="stable")[:num_restarts]]
        picks.append(cand_X[top])
    return np.concatenate(picks)
