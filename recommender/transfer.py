"""Warm-started search over a target task from per-source GPs, with guardrails.

The model of the target is a ranking-weighted ensemble (RGPE, Feurer, Letham & Bakshy,
2018) of the source GPs and a target-only GP, with changes that the benchmarks motivated:

1. Sources are modelled on Gaussian-copula ranks (`fit_source_model`); each keeps a
   quantile table so the zero-shot and portfolio phases compare sources on the regret
   scale (`recommender.surrogate.regret_scale`).
2. The zero-shot pick maximises a lower confidence bound of the sources' mixture on the
   regret scale, or the copula-scale mean with sources weighted by their typicality when a
   leave-one-source-out test on the library says so (`recommender.first_pick`); the rest of a zero-shot batch comes from a *portfolio over source
   hypotheses*: each source says "the target looks like me"; the next pick maximises the
   weighted improvement over the batch so far *under each hypothesis*, so picks stay
   diverse instead of clustering on one optimum (auto-sklearn 2.0 / Wistuba et al., 2015).
3. From the first observation on: LogEI under the ensemble; while the target has few
   observations the ensemble's variance includes the sources' disagreement
   (`TransferOptions.mixture_variance_steps`). Optionally (off by default since session
   38) a contrast probe replaces a pick (`TransferOptions.explore_steps`,
   `TransferOptions.probe`): a hedge that gives the guardrails evidence from the region
   every source agrees is poor. From
   `TransferOptions.stack_from` observations on, LogEI under a residual-stacked model
   instead (Golovin et al., 2017, Google Vizier's transfer stack): the weighted source mean,
   mapped onto the target's scale by a fitted line, is the prior mean of a GP on the
   target's residuals, so the target's data correct the sources where they are wrong.
   From `TransferOptions.stack_until` observations on, the ensemble again (its target GP
   member has the data by then).
4. Guardrails (`recommender.guardrails`): a source whose ranking of the target's
   observations is worse than chance or than the target-only GP's gets weight 0; when the
   target GP (leave-one-out) wins every ranking sample, the search falls back to it; when
   most of the library mis-orders the target's observations, significantly against a
   permutation null, or its sources agree with no peer, it restarts cold. Every decision
   is logged in the returned `SearchTrace`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
from botorch.models import SingleTaskGP

from recommender.branch_search import (
    branch_of,
    branch_pick,
    branch_support,
    hedge_branch,
    plateau_branches,
    stalled_branch,
    starved_incumbent_branch,
)
from recommender.ensemble import (
    ENSEMBLE_VARIANCES,
    LazyMemberStd,
    check_ensemble_variance,
    ensemble_argmax,
    ensemble_scores,
    member_std,
)
from recommender.first_pick import (
    FIRST_PICK_CRITERIA,
    CrossPredictions,
    FirstPickChoice,
    cached_choose_first_pick,
    first_pick_argmax,
    zero_shot_scores,
)
from recommender.guardrails import (
    GuardrailDecision,
    loo_predictions,
    no_consensus,
    rank_weights,
    ranking_losses,
    refuted_consensus,
)
from recommender.surrogate import (
    LazySourceStd,
    SourceModel,
    copula_normalize,
    fit_gp,
    gp_from_state,
    predict,
    predict_sources,
    regret_mean,
    resolve_tkwargs,
    subsample_indices,
)

__all__ = [
    "ENSEMBLE_VARIANCES",
    "Proposal",
    "SearchTrace",
    "contrast_pick",
    "StackedPrior",
    "TransferOptions",
    "check_ensemble_variance",
    "ensemble_scores",
    "first_pick_choice",
    "hypothesis_improvement",
    "propose",
    "run_pool_search",
    "seeded_order",
    "source_quantiles",
    "loc_scale",
    "stacked_prior",
    "zero_shot_scores",
]

_LOG = logging.getLogger(__name__)

# how the target's observations are scaled before its GP and the stacked line see them
TARGET_SCALES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "raw": lambda y: y,
    "copula": copula_normalize,
}


@dataclass(frozen=True, slots=True)
class TransferOptions:
    """Options of the transfer search.

    Attributes:
        guardrails: drop mis-ranking sources and fall back to the target GP when transfer
            loses.
        seed: seed of the ranking-loss samples.
        n_samples: posterior samples for the ranking-loss weights.
        portfolio_picks: picks made by the hypothesis portfolio before the GP ensemble takes
            over (1: only the zero-shot pick and the rest of a zero-shot batch). Evidence:
            ``docs/transfer_options.md``.
        mixture_variance_steps: while the target has fewer observations than this, the
            ensemble's LogEI uses the mixture variance (members' disagreement included:
            explore where the sources disagree); afterwards ``ensemble_variance``.
            Evidence: ``docs/transfer_options.md``.
        mixture_top: while the mixture variance is in use, its LogEI ranks only the
            candidates in this top share by the independent-member LogEI (explore the
            members' disagreement among picks the ensemble already finds plausible); the
            rest keep their independent-member LogEI, which ranks them below (1: no
            restriction). Evidence: ``docs/transfer_options.md``.
        min_target_points: target points needed before the target GP joins the ensemble.
        kappa: risk aversion of the zero-shot pick (see `zero_shot_scores`; the regret scale
            of each source's quantile table). Evidence: ``docs/transfer_options.md``.
        fallback_share: target-GP weight from which the guardrail falls back to target-only
            (1.0, the default since session 38: only when the target GP wins every ranking
            sample, as in RGPE; 0.5 fell back on chance with small libraries and clustered
            observations). Evidence: ``docs/transfer_options.md``.
        explore_steps: steps (numbers of target observations) at which, with guardrails on
            and a trusted library, one probe pick (``probe``) replaces the transfer pick
            (e.g. ``(5,)``, the default until session 38: the sixth pick): evidence for the
            guardrail when every source agrees and is wrong, since the first picks then land
            where the target is worst and its scores there are ordered near randomly
            relative to the sources. Off by default (``()``): the refuted-consensus test
            holds a negated library without it, and it cost picks on related ones.
            Evidence: ``docs/transfer_options.md``.
        max_target_points: target observations kept for the target GP (best fifth plus a
            random spread) so a fully observed task stays cheap.
        max_rank_points: observations used for the ranking-loss weights (pairs grow as n^2).
        chance_z: opt-in noise-source rule (`rank_weights`): from ``chance_from`` target
            observations on, drop a source whose ranking of them does not beat a coin flip
            by ``chance_z`` standard errors of Kendall's tau. Off by default. Evidence:
            ``docs/transfer_options.md``.
        chance_from: observations from which ``chance_z`` applies (8).
        consensus_rho, consensus_isolated_share, consensus_min_sources, consensus_peers,
            consensus_z: the no-consensus guardrail (`guardrails.no_consensus`). When at
            least ``consensus_isolated_share`` (0.9) of a library of at least
            ``consensus_min_sources`` (5) sources agrees with fewer than
            ``consensus_peers`` (1: no) other sources (Spearman correlation over the
            candidates below ``consensus_rho``, 0.5; 0 disables), no source is trusted
            yet: the search starts cold and from ``chance_from`` observations admits only
            sources that beat a coin flip by ``consensus_z`` (2) standard errors of
            Kendall's tau. It needs no target data.
            Evidence: ``docs/transfer_options.md``.
        refute_share: the refuted-consensus guardrail (`guardrails.refuted_consensus`): when
            at least this share (0.5; 0 disables) of a library of at least
            ``consensus_min_sources`` sources mis-orders most of the target's observed
            pairs, the library is untrusted as under no consensus (cold start until
            ``chance_from`` observations, then only sources that beat a coin flip by
            ``consensus_z`` standard errors). Evidence: ``docs/transfer_options.md``.
        refute_p: below 1, the refuted-consensus guardrail also needs the library's mean
            mis-ordered share to be significant at this level against its permutation null
            (`guardrails.refuted_consensus`; 0.1, the default since session 38; 1: no such
            test): related sources agree with each other, so on a few clustered
            observations they mis-order most pairs together by chance. Evidence:
            ``docs/transfer_options.md``.
        probe_candidates: probe and contrast-restart picks are the free candidate farthest
            from the observations among this many drawn at random from their candidate set
            (1,024: a maximin pick). Evidence: ``docs/transfer_options.md``.
        restart_candidates: the picks of a cold restart that has no contrast to test (a
            library without consensus) and of a search with neither a target GP nor a
            trusted source: the farthest from the observations among this many random free
            candidates. 1 (default): the next free candidate of a seeded random order
            (`_design_pick`), exactly the initial design of a cold GP with the same seed,
            so a rejected library costs at most a cold start. Evidence:
            ``docs/transfer_options.md``.
        probe: what the ``explore_steps`` pick is. ``"contrast"`` (default, `contrast_pick`):
            among the lowest ``probe_share`` of the candidates by the sources' weighted
            mean, the one farthest from the observations (a related library is confirmed, a
            negated one scores well there). ``"maximin"``: a space-filling pick. Evidence:
            ``docs/transfer_options.md``.
        probe_share: the share of the candidates the contrast probe chooses among (0.1).
        refute_min_evidence: observations before the refuted-consensus guardrail judges (5;
            with three observations in the sources' favourite region their order is near a
            coin flip). Evidence: ``docs/transfer_options.md``.
        refuted_restart: the design of the cold restart after the refuted-consensus
            guardrail fired. ``"contrast"`` (default): contrast picks (`contrast_pick`, equal
            source weights), since when most sources get the target's pairs backwards its
            good region is more likely where they agree it is poor. ``"maximin"``:
            space-filling picks. A library without consensus restarts with
            ``restart_candidates`` picks. Evidence: ``docs/transfer_options.md``.
        zero_shot_criterion: the first pick's criterion (`recommender.first_pick`):
            ``"regret-lcb"``, ``"copula-mean"``, ``"typical-copula"`` or ``"auto"``
            (default: the regret LCB unless a leave-one-source-out test on the library
            prefers the typicality-weighted copula mean by ``zero_shot_switch_t`` standard
            errors; `choose_first_pick`). Evidence: ``docs/transfer_options.md``.
        zero_shot_switch_t: the test's threshold (1.645, one-sided 5 %).
        stack_from: from this many target observations on (``None``: never), GP-phase picks
            of a trusted library maximise LogEI under the residual-stacked model
            (`stacked_prior`, `_stacked_pick`) instead of the RGPE ensemble: the residual GP
            moves the prediction where the target disagrees with the sources and keeps their
            shape elsewhere (in the ensemble the target's data act only through the
            weights). Evidence: ``docs/transfer_options.md``.
        stack_until: from this many target observations on (``None``: never) the GP phase
            returns to the RGPE ensemble: by then the target GP is a member with enough
            data to earn its weight, and one global line on the sources no longer helps
            (LCBench t = 21-30 regret -0.0004 to -0.0007, about two standard errors; the
            synthetic family level). Must exceed ``stack_from``. Evidence:
            ``docs/transfer_options.md``.
        stack_refit: fit the residual GP by marginal likelihood (``True``) or give it the
            target GP's fitted kernel and noise, standardised on the residuals (``False``,
            `surrogate.gp_from_state`: no second fit). Evidence:
            ``docs/transfer_options.md``.
        target_scale: the scale of the target's observations for its GP and the stacked line
            (`TARGET_SCALES`, `_target_gp`): ``"raw"`` (standardised, the default),
            ``"copula"`` (Gaussian-copula ranks, as the sources) or ``"auto"`` (raw or
            copula, whichever GP's leave-one-out means mis-order fewer observed pairs; fits
            two GPs per pick). Ranking weights and guardrails only see the order, so they do
            not change. Evidence: ``docs/transfer_options.md``.
        stack_scale: the scale of the target's observations for the stacked line and its
            residual GP: ``"target"`` (the target GP's, ``target_scale``) or one of
            `TARGET_SCALES` (``"copula"``: ranks, the scale of the source means the line
            regresses on). Evidence: ``docs/transfer_options.md``.
        ensemble_variance: the ensemble's variance after the mixture-variance steps
            (`ENSEMBLE_VARIANCES`, `ensemble_scores`): ``"within"`` (default since session
            40: ``sum_m w_m s_m^2``) or ``"independent"`` (RGPE's ``sum_m w_m^2 s_m^2``,
            the default before). Evidence: ``docs/transfer_options.md``.
        branch_hedge_share: in a space with a branching parameter (``branch_columns`` of
            `propose`), a branch that at least this share of the sources (weighted
            equally) put their best candidate in, and that the target has not tried, gets
            a pick (phase ``"hedge"``) before the ensemble's, most supported first, while
            the target has fewer than ``branch_hedge_until`` observations: the target's
            best learner may be one that few sources prefer, and picks all in one branch
            tell the ranking weights nothing about the others (`recommender.branch_search.
            hedge_branch`). ``None``: no hedge picks. 0.1 (the default): on four draws
            of the conditional benchmark, regret at t = 5 / 10 fell by 0.008 / 0.012 on
            average, and by 0.25 / 0.18 on a benchmark whose tasks disagree on the best
            learner. Evidence: ``docs/transfer_options.md``.
        branch_hedge_until: observations after which no hedge pick is made.
        branch_hedge_min_sources: the number of sources a hedged branch needs besides
            ``branch_hedge_share``: in a small library one source is a large share, and a
            branch only it prefers is an anecdote.
        incumbent_patience: in a space with a branching parameter, when the target's best
            observation lies in a branch that the weighted sources do not favour and the
            last ``incumbent_patience`` picks all went to other branches without beating
            it, the next pick is confined to the incumbent's branch (the ensemble's or the
            stacked model's best candidate there; off the pools, the best of the candidate
            set, as for hedge picks). One observation in the right branch, even the best so
            far, did not keep a search there while the sources' favourite branch kept
            improving a little (`recommender.branch_search.starved_incumbent_branch`).
            ``None``: no such pick. 3 (the default, chosen before screening: at least one
            pick in four while the incumbent's branch holds the best): on cached
            predictions of 18 conditional libraries it changed 54 of 548 runs, no group
            of held-out libraries worse pooled by more than a standard error, and took
            the one target that carried draw 5's late cost from 0.162 to 0.066 at
            t = 30. Evidence: ``docs/transfer_options.md``.
        stall_patience: in a space with a branching parameter, in a search with source
            tasks (its target-only fallbacks included; a cold search is unchanged), when
            the last ``stall_patience`` picks all lie in one branch and none of them
            beat the target's best so far, the next pick avoids that branch (the
            ensemble's, the stacked model's or the per-branch search's best candidate in
            the others; off the pools, the best of the candidate set). A search that has
            found the best of the sources' favourite branch otherwise keeps refining it
            while the target's optimum lies in another (`recommender.branch_search.stalled_branch`). ``None``
            (the default): no such pick. Not adopted as the default: with 5, on cached
            predictions of 11 held-out conditional libraries it changed 103 of 336 runs,
            as many for the better as for the worse at t = 30 (-0.0005 +/- 0.0006), and
            cost t = 10 (+0.0005 +/- 0.0003). Evidence: ``docs/transfer_options.md``.
        branch_second_look: in a space with a branching parameter, from this many target
            observations on (``None``: never), a branch the hedge supports (as for
            ``branch_hedge_share``) whose one pick so far was among the first
            ``branch_hedge_until`` gets a second (phase ``"hedge"``, most supported
            first): one configuration can miss a good branch on a noisy target, and a
            search that then follows the sources' favourite branch does not return to
            it. At most one extra pick per branch, after the early picks; a branch first
            tried later, by the search's own choice, is not revisited. 10 (the default,
            session 56): the budgets up to 10 are unchanged by construction; on cached
            predictions of the real conditional benchmark and ten synthetic draws (164
            targets) regret at t = 20 / 30 fell by 0.0017 +/- 0.0010 / 0.0018 +/- 0.0015
            pooled, at a cost of 0.0036 +/- 0.0008 at t = 11. Evidence:
            ``docs/transfer_options.md``.
        branch_plateau_ties: in a space with a branching parameter, once this many target
            observations in one branch equal the target's best value exactly, the picks
            leave that branch while the value stays the best (``None``: never; the note
            says "flat at the incumbent"). A metric measured at a finite resolution is
            flat over much of a branch, and the sources, never contradicted by tied
            observations, keep the search there: on the real conditional benchmark one
            target spent 22 of 30 picks on logistic regressions that all scored 0.1867
            (`recommender.branch_search.plateau_branches`). A continuous metric never ties,
            so nothing changes there. 4 (the default, session 57): on cached predictions of
            the real conditional benchmark (20 targets x 3 seeds) regret at t = 10 / 20 /
            30 fell by 0.0037 / 0.0073 +/- 0.0045 / 0.0060 +/- 0.0048 (five targets moved,
            four for the better). Evidence: ``docs/transfer_options.md``.
        surrogate: ``"ensemble"`` (RGPE-style weighted ensemble, the default) or
            ``"augmented"`` (target GP over ``[x, weighted source mean]``; measured worse on
            LCBench, kept for experiments).
    """

    guardrails: bool = True
    seed: int = 0
    n_samples: int = 256
    portfolio_picks: int = 1
    min_target_points: int = 3
    kappa: float = 1.0
    fallback_share: float = 1.0
    surrogate: str = "ensemble"
    max_target_points: int = 1000
    explore_steps: tuple[int, ...] = ()
    max_rank_points: int = 100
    mixture_variance_steps: int = 10
    chance_z: float = 0.0
    chance_from: int = 8
    consensus_rho: float = 0.5
    consensus_isolated_share: float = 0.9
    consensus_min_sources: int = 5
    consensus_peers: int = 1
    consensus_z: float = 2.0
    refute_share: float = 0.5
    refute_p: float = 0.1
    probe_candidates: int = 1024
    restart_candidates: int = 1
    probe: str = "contrast"
    probe_share: float = 0.1
    refute_min_evidence: int = 5
    refuted_restart: str = "contrast"
    zero_shot_criterion: str = "auto"
    zero_shot_switch_t: float = 1.645
    stack_from: int | None = 10
    stack_refit: bool = False
    stack_until: int | None = 20
    target_scale: str = "raw"
    mixture_top: float = 1.0
    stack_scale: str = "target"
    ensemble_variance: str = "within"
    branch_hedge_share: float | None = 0.1
    branch_hedge_until: int = 10
    branch_hedge_min_sources: int = 1
    incumbent_patience: int | None = 3
    stall_patience: int | None = None
    branch_second_look: int | None = 10
    branch_plateau_ties: int | None = 4

    def __post_init__(self) -> None:
        if self.zero_shot_criterion not in ("auto", *FIRST_PICK_CRITERIA):
            raise ValueError(
                "zero_shot_criterion must be 'auto' or one of "
                f"{', '.join(FIRST_PICK_CRITERIA)}, got {self.zero_shot_criterion!r}"
            )
        if not 0.0 < self.mixture_top <= 1.0:
            raise ValueError(f"mixture_top must be in (0, 1], got {self.mixture_top!r}")
        if not 0.0 < self.refute_p <= 1.0:
            raise ValueError(
                f"refute_p must be in (0, 1] (1: no permutation test), got {self.refute_p!r}"
            )
        if self.probe not in ("maximin", "contrast"):
            raise ValueError(f"probe must be 'maximin' or 'contrast', got {self.probe!r}")
        if self.refuted_restart not in ("maximin", "contrast"):
            raise ValueError(
                f"refuted_restart must be 'maximin' or 'contrast', got {self.refuted_restart!r}"
            )
        if self.stack_scale not in ("target", *TARGET_SCALES):
            raise ValueError(
                f"stack_scale must be 'target' or one of {', '.join(TARGET_SCALES)}, got "
                f"{self.stack_scale!r}"
            )
        if (
            self.stack_from is not None
            and self.stack_until is not None
            and self.stack_until <= self.stack_from
        ):
            raise ValueError(
                f"stack_until ({self.stack_until}) must exceed stack_from ({self.stack_from}), "
                "or be None to stack to the end of the search"
            )
        if self.target_scale not in ("auto", *TARGET_SCALES):
            raise ValueError(
                f"target_scale must be 'auto' or one of {', '.join(TARGET_SCALES)}, got "
                f"{self.target_scale!r}"
            )
        check_ensemble_variance(self.ensemble_variance, name="ensemble_variance")
        if self.consensus_peers < 1:
            raise ValueError(f"consensus_peers must be at least 1, got {self.consensus_peers}")
        if not 0 < self.probe_share <= 1:
            raise ValueError(f"probe_share must be in (0, 1], got {self.probe_share}")
        if self.branch_hedge_share is not None and not 0 < self.branch_hedge_share <= 1:
            raise ValueError(
                f"branch_hedge_share must be in (0, 1] or None, got {self.branch_hedge_share}"
            )
        if self.incumbent_patience is not None and self.incumbent_patience < 1:
            raise ValueError(
                f"incumbent_patience must be at least 1 or None, got {self.incumbent_patience}"
            )
        if self.stall_patience is not None and self.stall_patience < 1:
            raise ValueError(
                f"stall_patience must be at least 1 or None, got {self.stall_patience}"
            )
        if self.branch_second_look is not None and self.branch_second_look < 1:
            raise ValueError(
                f"branch_second_look must be at least 1 or None, got {self.branch_second_look}"
            )
        if self.branch_plateau_ties is not None and self.branch_plateau_ties < 2:
            raise ValueError(
                f"branch_plateau_ties must be at least 2 or None, got {self.branch_plateau_ties}"
            )
        if self.branch_hedge_min_sources < 1:
            raise ValueError(
                f"branch_hedge_min_sources must be at least 1, got {self.branch_hedge_min_sources}"
            )


@dataclass
class SearchTrace:
    """What the search did, pick by pick (for explanations and benchmarks)."""

    picks: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    decisions: list[GuardrailDecision] = field(default_factory=list)


def hypothesis_improvement(
    mean: np.ndarray, chosen_mean: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Weighted improvement over the best chosen candidate under each source hypothesis.

    Args:
        mean: ``S x n`` source predictions at the candidates.
        chosen_mean: ``S x k`` source predictions at the ``k >= 1`` points chosen so far.
        weights: ``(S,)`` source weights.

    Returns:
        ``(n,)``: sum_s w_s * max(0, mean[s, i] - max_j chosen_mean[s, j]).
    """
    incumbent = chosen_mean.max(axis=1, keepdims=True)
    return weights @ np.maximum(mean - incumbent, 0.0)


def loc_scale(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the last axis, the scale 1 where it is 0.

    How the ensemble puts sources (over the candidates) and the target (over its
    observations) on one standardised scale; a constant row stays constant instead of
    dividing by zero.
    """
    sd = values.std(axis=-1)
    return values.mean(axis=-1), np.where(sd > 0, sd, 1.0)


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
    weights = _normalised(np.asarray(weights, dtype=np.float64))
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


def _stacked_pick(
    decision: GuardrailDecision,
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
) -> Proposal:
    """LogEI of the residual-stacked model (`TransferOptions.stack_from`).

    The prior (`stacked_prior`) plus a GP on the residuals, as an ensemble whose members
    are the residual GP (weight 1, shifted by the offset) and each weighted source
    (weight ``slope * w_s``): mean ``offset + r(x) + slope sum_s w_s z_s(x)``, variance
    ``s_r(x)^2 + slope^2 sum_s w_s^2 s_s(x)^2`` (independent members, as RGPE). The
    residual GP is fitted (``refit``) or takes the target GP's hyperparameters from
    ``gp_state["state"]`` (`TransferOptions.stack_refit`). ``obs_y`` is on
    ``stack_scale`` (`TransferOptions.stack_scale`), which the explanation names unless it
    is the target GP's.
    """
    prior = stacked_prior(cand_mean, obs_mean, obs_y, decision.source_weights)
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
    weights = np.array([1.0, *(prior.slope * w[used])])
    index, score = ensemble_argmax(np.stack(means), stds, weights, float(prior.target.max()), free)
    note = (
        f"; residual-stacked GP: a GP on the target's residuals from its line on the "
        f"weighted sources (slope {prior.slope:.2f} on standardised scales)"
    )
    if stack_scale != "target":
        note += f"; the line and its residual GP on the {stack_scale} scale of the target"
    decision = replace(decision, reason=decision.reason + note)
    return Proposal(index, decision, "stacked", score)


def source_quantiles(source_models: Sequence[SourceModel]) -> np.ndarray | None:
    """``S x Q`` quantile tables of the sources, or ``None`` when they are min-max models."""
    tables = [m.quantiles for m in source_models]
    if not tables or any(t is None for t in tables):
        return None
    return np.stack(tables)  # type: ignore[arg-type]


def _maximin(
    cand_X: np.ndarray,
    free: np.ndarray,
    obs_X: np.ndarray,
    rng: np.random.Generator,
    draws: int,
) -> int:
    """The free candidate farthest from every observation among ``draws`` drawn at random.

    Many draws give a maximin design, which in a high-dimensional unit cube means corners
    (extreme settings); few draws keep the pick typical of the candidates.
    """
    options = np.flatnonzero(free)
    if len(options) > draws:
        options = rng.choice(options, size=draws, replace=False)
    if len(obs_X) == 0:
        return int(rng.choice(options))
    distance = ((cand_X[options, None, :] - obs_X[None, :, :]) ** 2).sum(axis=-1).min(axis=1)
    return int(options[np.argmax(distance)])


def seeded_order(n: int, seed: int) -> np.ndarray:
    """A random order of ``n`` candidates that depends on ``seed`` and ``n`` only.

    The random design of a cold start: the harness's ``random`` and ``cold-gp`` take their
    picks from it, and our cold restarts take the next free candidate of it
    (`_design_pick`), so both pick alike given the same seed.
    """
    return np.random.default_rng(seed).permutation(n)


def _design_pick(free: np.ndarray, gp_state: dict, options: TransferOptions) -> int:
    """The first free candidate of `seeded_order` (seed: ``gp_state["design_seed"]``,
    else ``options.seed``; among ``gp_state["design_eligible"]`` when given), not a draw
    from the search's shared generator, whose state depends on how much randomness the
    search drew before: in a paired comparison a rejected library then costs nothing by
    chance."""
    order = gp_state.get("design_order")
    if order is None or len(order) != len(free):
        order = seeded_order(len(free), gp_state.get("design_seed", options.seed))
        gp_state["design_order"] = order
    eligible = gp_state.get("design_eligible")  # e.g. not the local candidates
    if eligible is not None and (free & eligible).any():
        free = free & eligible
    return int(order[free[order]][0])


def _restart_pick(
    cand_X: np.ndarray,
    free: np.ndarray,
    obs_X: np.ndarray,
    rng: np.random.Generator,
    options: TransferOptions,
    gp_state: dict,
) -> int:
    """A cold restart's pick: the random design (`_design_pick`) or a maximin pick."""
    if options.restart_candidates == 1:
        return _design_pick(free, gp_state, options)
    return _maximin(cand_X, free, obs_X, rng, options.restart_candidates)


def _normalised(weights: np.ndarray) -> np.ndarray:
    """``weights`` scaled to sum to 1; uniform when they are all 0."""
    total = weights.sum()
    return weights / total if total > 0 else np.full(len(weights), 1.0 / len(weights))


def contrast_pick(
    cand_X: np.ndarray,
    cand_mean: np.ndarray,
    weights: np.ndarray,
    free: np.ndarray,
    obs_X: np.ndarray,
    rng: np.random.Generator,
    share: float,
    draws: int,
) -> int:
    """A free candidate the sources agree is poor, spread away from the observations.

    Among the lowest ``share`` of the free candidates by the weighted mean of the
    standardised source predictions, the one farthest from the observations (`_maximin`).
    If the sources are right it scores badly and confirms their ranking; if they are
    anti-correlated with the target it scores well: the strongest test of the sources that
    one observation can give.
    """
    mask = np.zeros(len(free), dtype=bool)
    mask[contrast_set(cand_mean, weights, np.flatnonzero(free), share)] = True
    return _maximin(cand_X, mask, obs_X, rng, draws)


def contrast_set(
    cand_mean: np.ndarray, weights: np.ndarray, among: np.ndarray, share: float
) -> np.ndarray:
    """The lowest ``share`` (at least one) of the candidates ``among`` by the weighted
    mean of the standardised source predictions ``cand_mean`` (``S x n``): where the
    sources agree the target is poor (`contrast_pick`'s choice set).

    Returns:
        Candidate indices, lowest first.
    """
    loc, scale = loc_scale(cand_mean)
    z = (cand_mean - loc[:, None]) / scale[:, None]
    score = _normalised(weights) @ z[:, among]  # the sources' weighted verdict
    return among[np.argsort(score, kind="stable")[: max(1, int(share * len(among)))]]


def matching_rows(X: np.ndarray, rows: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """``(len(X),)`` mask: which rows of ``X`` equal some row of ``rows`` (max-norm within
    ``tol``), e.g. which encoded candidates are already observed."""
    if not len(X) or not len(rows):
        return np.zeros(len(X), dtype=bool)
    return (np.abs(X[:, None, :] - rows[None, :, :]).max(axis=-1) < tol).any(axis=1)


def first_pick_choice(
    options: TransferOptions,
    source_models: Sequence[SourceModel],
    cross: CrossPredictions | None = None,
    cache_dir: str | Path | None = None,
) -> FirstPickChoice | None:
    """The zero-shot criterion of a search over ``source_models`` (``None``: no sources).

    A fixed ``options.zero_shot_criterion`` is taken as is; ``"auto"`` runs the
    leave-one-source-out test (`choose_first_pick`, reusing and filling ``cross``; with
    ``cache_dir`` its answer is remembered on disk, `cached_choose_first_pick`). Pass the
    result to `propose` through ``gp_state["first_pick"]``.
    """
    if not source_models:
        return None
    if options.zero_shot_criterion != "auto":
        return FirstPickChoice(
            options.zero_shot_criterion,
            float("nan"),
            0,
            f"zero-shot pick: {options.zero_shot_criterion} (set in the options)",
        )
    return cached_choose_first_pick(
        source_models,
        kappa=options.kappa,
        switch_t=options.zero_shot_switch_t,
        cross=cross,
        cache_dir=cache_dir,
    )


def run_pool_search(
    *,
    pool_X: np.ndarray,
    source_models: Sequence[SourceModel],
    evaluate: Callable[[int], float],
    budget: int,
    options: TransferOptions | None = None,
    source_predictions: tuple[np.ndarray, np.ndarray] | None = None,
    cross_predictions: CrossPredictions | None = None,
    branch_columns: Sequence[int] = (),
) -> SearchTrace:
    """Pick ``budget`` pool rows one at a time, observing each score (larger is better).

    Args:
        pool_X: ``n x d`` encoded candidate configurations.
        source_models: fitted source GPs (may be empty: then this is a cold GP search).
        evaluate: returns the target score of a pool row.
        budget: number of picks.
        options: `TransferOptions`.
        source_predictions: precomputed ``(mean, std)``, each ``S x n``, of the source
            models at ``pool_X`` (skips predicting again).
        cross_predictions: source-on-source predictions for the zero-shot criterion's
            test (`recommender.first_pick.cross_predictions`), reused and filled.
        branch_columns: the one-hot columns of the space's branching parameter
            (`Space.branching_columns`; see `propose`), ``()`` for none.

    Returns:
        The `SearchTrace`.
    """
    options = options or TransferOptions()
    rng = np.random.default_rng(options.seed)
    trace = SearchTrace()
    n = len(pool_X)
    src_mean, src_std = source_predictions or predict_sources(source_models, pool_X)
    quantiles = source_quantiles(source_models)
    gp_state: dict = {"first_pick": first_pick_choice(options, source_models, cross_predictions)}
    for _ in range(min(budget, n)):
        free = np.ones(n, dtype=bool)
        free[trace.picks] = False
        picks = trace.picks
        proposal = propose(
            cand_X=pool_X,
            cand_mean=src_mean,
            cand_std=src_std,
            free=free,
            obs_X=pool_X[picks],
            obs_y=np.asarray(trace.values),
            obs_mean=src_mean[:, picks],
            obs_std=src_std[:, picks],
            options=options,
            rng=rng,
            gp_state=gp_state,
            quantiles=quantiles,
            branch_columns=branch_columns,
        )
        trace.decisions.append(proposal.decision)
        trace.picks.append(proposal.index)
        trace.values.append(float(evaluate(proposal.index)))
    return trace


@dataclass(frozen=True, slots=True)
class Proposal:
    """One proposed candidate and why.

    Attributes:
        index: row of the candidate matrix.
        decision: the guardrail decision in force.
        phase: ``"portfolio"`` (source hypotheses), ``"gp"`` (ensemble / target GP LogEI),
            ``"stacked"`` (residual-stacked LogEI, `TransferOptions.stack_from`),
            ``"branch"`` (one GP per branch, `recommender.branch_search`), ``"hedge"``
            (a branch the target has not tried, `TransferOptions.branch_hedge_share`), or
            ``"explore"`` / ``"random"`` (probe, restart and initial-design picks).
        acquisition: the acquisition value of the pick.
        branch: the branch a ``"gp"`` or ``"stacked"`` pick was confined to
            (`TransferOptions.incumbent_patience`), ``None`` when it was free to go anywhere.
        avoided: the branch a GP-phase pick (``"gp"``, ``"stacked"``, ``"branch"`` or
            ``"explore"``) was kept out of (`TransferOptions.stall_patience`), ``None``
            when none was.
        flat: the branches the pick was kept out of because the target's observations
            there tie its best value (`TransferOptions.branch_plateau_ties`).
    """

    index: int
    decision: GuardrailDecision
    phase: str
    acquisition: float
    branch: int | None = None
    avoided: int | None = None
    flat: tuple[int, ...] = ()


def _regret_hypotheses(
    cand_mean: np.ndarray,
    obs_mean: np.ndarray,
    quantiles: np.ndarray | None,
    pending: Sequence[int],
) -> tuple[np.ndarray, np.ndarray]:
    """The sources' predictions on the regret scale (1 = a source's best, 0 = its worst) at
    the candidates, and at what is chosen so far (the observations, then the pending
    picks): what the portfolio and the hedge picks compare hypotheses on."""
    reg_mean = regret_mean(cand_mean, quantiles)
    chosen = np.concatenate([regret_mean(obs_mean, quantiles), reg_mean[:, list(pending)]], axis=1)
    return reg_mean, chosen


def _hedge_pick(
    cand_X: np.ndarray,
    cand_mean: np.ndarray,
    quantiles: np.ndarray | None,
    weights: np.ndarray,
    free: np.ndarray,
    picks_X: np.ndarray,
    obs_mean: np.ndarray,
    pending: Sequence[int],
    branch_columns: Sequence[int],
    share: float,
    revisit: int | None = None,
) -> tuple[int, float, str] | None:
    """A pick in a branch that enough sources put their best in and the target has not
    tried (`recommender.branch_search.hedge_branch`), or ``None``. With ``revisit`` (the
    second look, `TransferOptions.branch_second_look`): in such a branch that the target
    has tried exactly once, within its first ``revisit`` picks.

    ``picks_X`` are all the target's observations in order (which branches it tried, and
    when); ``obs_mean`` the sources' predictions at the (possibly subsampled) ones the
    models use.

    Within that branch, the pick maximises the weighted improvement over the target's
    observations (and pending picks) under each source hypothesis, on the regret scale:
    the portfolio's criterion (`hypothesis_improvement`), so the sources that favour the
    branch choose where in it to look.
    """
    n_branches = len(branch_columns)
    cand_branch, tried = _branch_sequence(cand_X, picks_X, pending, branch_columns)
    counts = np.bincount(tried, minlength=n_branches)
    if revisit is None:
        covered = counts > 0
    else:  # only a one-shot verdict of the first picks is looked at again
        covered = (counts != 1) | (np.bincount(tried[:revisit], minlength=n_branches) == 0)
    support = branch_support(cand_mean, weights, cand_branch, free, n_branches)
    branch = hedge_branch(support, covered, cand_branch, free, share)
    if branch is None:
        return None
    reg_mean, chosen = _regret_hypotheses(cand_mean, obs_mean, quantiles, pending)
    inside = free & (cand_branch == branch)
    if chosen.shape[1]:
        score = hypothesis_improvement(reg_mean, chosen, weights)
    else:
        score = weights @ reg_mean
    if score[inside].max() <= 1e-12:  # every hypothesis is satisfied: the best mean in it
        score = weights @ reg_mean
    score = np.where(inside, score, -np.inf)
    index = int(np.argmax(score))
    tried_note = "untried" if counts[branch] == 0 else "a second look after one pick"
    note = (
        f"a hedge pick in branch {branch}, {tried_note}, where {support[branch]:.0%} of the "
        "sources put their best configuration"
    )
    return index, float(score[index]), note


def _branch_sequence(
    cand_X: np.ndarray, obs_X: np.ndarray, pending: Sequence[int], branch_columns: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The branch of every candidate, and of the target's picks in order: its
    observations, then the pending picks."""
    cand_branch = branch_of(cand_X, branch_columns)
    return cand_branch, np.concatenate(
        [branch_of(obs_X, branch_columns), cand_branch[list(pending)]]
    )


def _incumbent_branch_mask(
    cand_branch: np.ndarray,
    sequence: np.ndarray,
    obs_y: np.ndarray,
    free: np.ndarray,
    cand_mean: np.ndarray,
    w_src: np.ndarray,
    patience: int,
) -> tuple[np.ndarray, int | None, str]:
    """``free`` restricted to the incumbent's branch, the branch and a note, when the last
    ``patience`` picks all left it (`recommender.branch_search.starved_incumbent_branch`)
    and the weighted sources put their best elsewhere (`branch_support`): the sources are
    outvoting the target's evidence. Otherwise ``free`` unchanged, ``None``, ``""``.
    ``cand_branch`` and ``sequence`` come from `_branch_sequence`.

    When the sources' favourite *is* the incumbent's branch, the picks that left it were
    the target's own evidence at work (its GP exploring), and are left alone."""
    branch = starved_incumbent_branch(sequence, obs_y, patience)
    if branch is None or w_src.sum() <= 0:
        return free, None, ""
    inside = free & (cand_branch == branch)
    if not inside.any():
        return free, None, ""
    support = branch_support(
        cand_mean, w_src / w_src.sum(), cand_branch, free, int(cand_branch.max()) + 1
    )
    favourite = int(np.argmax(support))
    if favourite == branch:
        return free, None, ""
    note = (
        f"this pick stays in branch {branch}, the target's best so far, which the last "
        f"{patience} picks left without beating it for branch {favourite}, the weighted "
        "sources' favourite"
    )
    return inside, branch, note


def _stalled_branch_mask(
    cand_branch: np.ndarray,
    sequence: np.ndarray,
    obs_y: np.ndarray,
    free: np.ndarray,
    patience: int,
) -> tuple[np.ndarray, int | None, str]:
    """``free`` without the branch the last ``patience`` picks all went to without beating
    the target's best (`recommender.branch_search.stalled_branch`), that branch and a
    note; ``free`` unchanged, ``None``, ``""`` when there is none or no free candidate
    lies outside it. ``cand_branch`` and ``sequence`` come from `_branch_sequence`."""
    branch = stalled_branch(sequence, obs_y, patience)
    if branch is None:
        return free, None, ""
    outside = free & (cand_branch != branch)
    if not outside.any():
        return free, None, ""
    note = (
        f"this pick leaves branch {branch}: the last {patience} picks went there without "
        "beating the target's best"
    )
    return outside, branch, note


def _stack_values(
    obs_y: np.ndarray, raw_y: np.ndarray, stack_scale: str, gp_state: dict
) -> np.ndarray:
    """The target's values for the stacked line (`TransferOptions.stack_scale`): the target
    GP's (``obs_y``) or ``raw_y`` on ``stack_scale``, named in ``gp_state["stack_scale"]``
    so `acquisition.proposal_acquisition` rebuilds the same model."""
    name = gp_state.get("scale", "raw") if stack_scale == "target" else stack_scale
    gp_state["stack_scale"] = name
    return obs_y if stack_scale == "target" else TARGET_SCALES[stack_scale](raw_y)


def _target_gp(
    obs_X: np.ndarray, obs_y: np.ndarray, scale: str, gp_state: dict
) -> tuple[SingleTaskGP, np.ndarray, str]:
    """The target GP on ``obs_y`` in ``scale`` (`TransferOptions.target_scale`).

    ``"auto"`` fits the GP on the raw and on the copula scale and keeps the one whose
    leave-one-out means mis-order fewer of the observed pairs (ties: raw), the ranking
    loss that weighs every ensemble member. Each scale's hyperparameters warm-start its
    next refit (``gp_state["state:<scale>"]``); ``gp_state["state"]`` and
    ``gp_state["scale"]`` name the kept model, so `acquisition.proposal_acquisition`
    rebuilds it on the same values.

    Returns:
        The model, the values it was fitted on, and the name of their scale.
    """
    names = ("raw", "copula") if scale == "auto" else (scale,)
    best: tuple[float, SingleTaskGP, np.ndarray, str] | None = None
    for name in names:
        y = TARGET_SCALES[name](obs_y)
        model = fit_gp(obs_X, y, init_state=gp_state.get(f"state:{name}"))
        gp_state[f"state:{name}"] = model.state_dict()
        loss = float(ranking_losses(loo_predictions(model)[0], obs_y)) if len(names) > 1 else 0.0
        if best is None or loss < best[0]:
            best = (loss, model, y, name)
    assert best is not None
    _, model, y, name = best
    gp_state["state"], gp_state["scale"] = gp_state[f"state:{name}"], name
    return model, y, name


def propose(
    *,
    cand_X: np.ndarray,
    cand_mean: np.ndarray,
    cand_std: np.ndarray | LazySourceStd,
    free: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    obs_mean: np.ndarray,
    obs_std: np.ndarray,
    options: TransferOptions,
    rng: np.random.Generator,
    gp_state: dict,
    pending: Sequence[int] = (),
    quantiles: np.ndarray | None = None,
    branch_columns: Sequence[int] = (),
) -> Proposal:
    """Choose the next candidate given the target's observations.

    Args:
        cand_X: ``n x d`` encoded candidates.
        cand_mean: ``S x n`` source predictions at the candidates (``cand_std`` likewise;
            a `LazySourceStd` computes only the rows a pick needs).
        free: ``(n,)`` candidates still allowed.
        obs_X: ``m x d`` observed target configurations; ``obs_y`` their ``(m,)`` scores.
        obs_mean: ``S x m`` source predictions at the observations (``obs_std`` likewise).
        options: `TransferOptions`.
        rng: random generator (ranking-loss samples, maximin and contrast draws).
        gp_state: mutable cache of the target GP's hyperparameters between calls; its
            ``"first_pick"`` entry (`first_pick_choice`) sets the zero-shot criterion
            (absent: ``options.zero_shot_criterion``, the regret LCB for ``"auto"``) and
            its ``"design_seed"`` entry the seed of the random design (`_design_pick`;
            absent: ``options.seed``).
        pending: candidates already chosen in this batch (diversity in the portfolio phase
            and in the branch choice of a target-only search with branches).
        quantiles: ``S x Q`` quantile tables of copula-scale sources (`source_quantiles`):
            the zero-shot and portfolio phases compare sources on the regret scale.
        branch_columns: the one-hot columns of a categorical whose choice switches other
            parameters on and off (`Space.branching_columns`). With two or more, a GP-phase
            pick without a trusted source searches one branch at a time, with one GP per
            branch (`recommender.branch_search`), and early picks may hedge across
            branches (`TransferOptions.branch_hedge_share`); ``()``: one GP over the whole
            encoding, no hedge.

    In a space with branches, a branch flat at the target's best value
    (`TransferOptions.branch_plateau_ties`) is taken out of ``free`` first, unless
    nothing else is free.

    Returns:
        The `Proposal`.
    """
    flat: tuple[int, ...] = ()
    if options.branch_plateau_ties is not None and len(branch_columns) > 1 and len(obs_y):
        flat = plateau_branches(
            branch_of(obs_X, branch_columns), obs_y, options.branch_plateau_ties
        )
        outside = free & ~np.isin(branch_of(cand_X, branch_columns), flat)
        if flat and outside.any() and (free & ~outside).any():
            free = outside
        else:
            flat = ()
    proposal = _propose(
        cand_X=cand_X,
        cand_mean=cand_mean,
        cand_std=cand_std,
        free=free,
        obs_X=obs_X,
        obs_y=obs_y,
        obs_mean=obs_mean,
        obs_std=obs_std,
        options=options,
        rng=rng,
        gp_state=gp_state,
        pending=pending,
        quantiles=quantiles,
        branch_columns=branch_columns,
    )
    if not flat:
        return proposal
    names = ("branch " if len(flat) == 1 else "branches ") + ", ".join(map(str, flat))
    note = (
        f"{names} left, flat at the incumbent: {options.branch_plateau_ties} or more "
        f"observations in {'it' if len(flat) == 1 else 'each'} equal the target's best value"
    )
    decision = replace(proposal.decision, reason=f"{proposal.decision.reason}; {note}")
    return replace(proposal, decision=decision, flat=flat)


def _propose(
    *,
    cand_X: np.ndarray,
    cand_mean: np.ndarray,
    cand_std: np.ndarray | LazySourceStd,
    free: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    obs_mean: np.ndarray,
    obs_std: np.ndarray,
    options: TransferOptions,
    rng: np.random.Generator,
    gp_state: dict,
    pending: Sequence[int] = (),
    quantiles: np.ndarray | None = None,
    branch_columns: Sequence[int] = (),
) -> Proposal:
    """`propose` after the flat branches are taken out of ``free``."""
    n_src = len(cand_mean)
    t = len(obs_y)
    picks_X, picks_y = obs_X, obs_y  # every observation in order (the branch rules)
    if t > options.max_target_points:  # bounded cost: keep the best region and a spread
        keep = subsample_indices(
            obs_y, options.max_target_points // 5, options.max_target_points, rng
        )
        obs_X, obs_y, obs_mean, obs_std = (
            obs_X[keep],
            obs_y[keep],
            obs_mean[:, keep],
            obs_std[:, keep],
        )
    if n_src == 0 and t < options.min_target_points:
        choice = _design_pick(free, gp_state, options)
        decision = GuardrailDecision(
            step=t, mode="random-init", weights={}, reason="no source tasks: random initial design"
        )
        return Proposal(choice, decision, "random", 0.0)
    # a target-only search of a branched space fits one GP per branch (`branch_pick`)
    branched = len(branch_columns) > 1 and bool(free.any()) and t >= options.min_target_points
    target, scale, raw_y = None, options.target_scale, obs_y
    if t >= options.min_target_points and not (branched and n_src == 0):
        # (with sources the guardrails need the whole-space target GP even when branched)
        target, obs_y, scale = _target_gp(obs_X, obs_y, options.target_scale, gp_state)
    rank_idx = np.arange(len(obs_y))
    if len(rank_idx) > options.max_rank_points:  # pairs grow quadratically: rank on a subset
        rank_idx = np.sort(rng.choice(rank_idx, size=options.max_rank_points, replace=False))
    untrusted, why = False, ""
    refuted = False
    if options.guardrails and n_src:
        if gp_state.get("consensus_of") is not cand_mean:  # once per candidate set
            gp_state["consensus_of"] = cand_mean
            gp_state["consensus"] = no_consensus(
                cand_mean,
                rho=options.consensus_rho,
                isolated_share=options.consensus_isolated_share,
                min_sources=options.consensus_min_sources,
                peers=options.consensus_peers,
            )
        untrusted, why = gp_state["consensus"]
        if not untrusted:
            untrusted, why = refuted_consensus(
                obs_mean[:, rank_idx],
                obs_y[rank_idx],
                share=options.refute_share,
                min_sources=options.consensus_min_sources,
                min_evidence=options.refute_min_evidence,
                p_value=options.refute_p,
            )
            refuted = untrusted
    decision = rank_weights(
        obs_mean[:, rank_idx],
        obs_std[:, rank_idx],
        obs_y[rank_idx],
        target_model=target,
        target_X=obs_X if target is not None else None,
        target_subset=rank_idx,
        guardrails=options.guardrails,
        n_samples=options.n_samples,
        rng=rng,
        step=t,
        fallback_share=options.fallback_share,
        chance_z=max(options.chance_z, options.consensus_z) if untrusted else options.chance_z,
        chance_from=options.chance_from,
    )
    if target is not None and options.target_scale == "auto":
        note = f"; target GP on the {scale} scale (fewer leave-one-out mis-ordered pairs)"
        decision = replace(decision, reason=decision.reason + note)
    if untrusted and t < options.chance_from:
        # no source agrees with another, or the target refutes what most of them say:
        # start cold (restart design, then the target GP) and admit a source only
        # once it beats chance on the target's data
        decision = GuardrailDecision(
            t,
            "target-only",
            {},
            why + f"; cold start until {options.chance_from} observations let the ranking "
            f"test judge each source (it must beat a coin flip by {options.consensus_z:g} "
            "standard errors)",
            dropped=tuple(range(n_src)),
            target_weight=1.0,
            n_sources=n_src,
        )
    w_src = decision.source_weights
    contrast = partial(
        contrast_pick, cand_X, cand_mean, free=free, obs_X=obs_X, rng=rng, share=options.probe_share
    )
    if (
        decision.mode == "target-only"
        and n_src
        and gp_state.get("explore", 0) < options.min_target_points
    ):
        # The sources were rejected: the picks they drove are a biased design. Spend
        # `min_target_points` restart picks (contrast picks against a refuted library,
        # cold GP's random design otherwise) before trusting a target-only GP, so the
        # worst case is a cold start that lost that many picks.
        gp_state["explore"] = gp_state.get("explore", 0) + 1
        if options.refuted_restart == "contrast" and refuted:
            index = contrast(np.zeros(n_src), draws=options.probe_candidates)
            design = "a contrast pick, where the refuted sources agree the target is poor"
        else:
            index = _restart_pick(cand_X, free, obs_X, rng, options, gp_state)
            design = "random" if options.restart_candidates == 1 else "space-filling"
        note = f"; restart pick {gp_state['explore']} of {options.min_target_points}: {design}"
        return Proposal(index, replace(decision, reason=decision.reason + note), "explore", 0.0)
    if (
        options.guardrails
        and n_src
        and t in options.explore_steps
        and not pending
        and not untrusted
    ):
        # hedge: one probe pick gives the ranking guardrail evidence from a region the
        # sources did not choose (negated sources then mis-rank it); an untrusted library
        # needs no test
        if options.probe == "contrast":
            index = contrast(w_src, draws=options.probe_candidates)
            note = "; this pick probes the sources where they agree the target is poor"
        else:
            index = _maximin(cand_X, free, obs_X, rng, options.probe_candidates)
            note = "; this pick probes the sources far from the observations"
        return Proposal(index, replace(decision, reason=decision.reason + note), "explore", 0.0)
    if n_src and t < options.portfolio_picks and decision.mode != "target-only":
        weights = _normalised(w_src)
        reg_mean, chosen_mean = _regret_hypotheses(cand_mean, obs_mean, quantiles, pending)
        first_choice: FirstPickChoice | None = gp_state.get("first_pick")
        criterion = (
            first_choice.criterion if first_choice is not None else options.zero_shot_criterion
        )
        criterion = "regret-lcb" if criterion == "auto" else criterion

        def first() -> tuple[int, float]:
            return first_pick_argmax(
                criterion, cand_mean, cand_std, quantiles, weights, free, kappa=options.kappa
            )

        if chosen_mean.shape[1] == 0:
            index, best_score = first()
            if first_choice is not None:
                decision = replace(decision, reason=decision.reason + "; " + first_choice.reason)
            return Proposal(index, decision, "portfolio", best_score)
        score = hypothesis_improvement(reg_mean, chosen_mean, weights)
        if score[free].max() <= 1e-12:
            index, best_score = first()
            return Proposal(index, decision, "portfolio", best_score)
        score = np.where(free, score, -np.inf)
        index = int(np.argmax(score))
        return Proposal(index, decision, "portfolio", float(score[index]))
    # a space with branches searched with source tasks (the stall rule, target-only
    # fallbacks included), and with the sources in use (the hedge and incumbent picks)
    branched_with_sources = len(branch_columns) > 1 and n_src > 0
    branch_transfer = branched_with_sources and decision.mode != "target-only"
    # hedge rounds: untried supported branches during the early picks, then the second look
    rounds: list[int | None] = []
    if branch_transfer and options.branch_hedge_share is not None:
        if t < options.branch_hedge_until:
            rounds.append(None)
        if options.branch_second_look is not None and t >= options.branch_second_look:
            rounds.append(options.branch_hedge_until)
    for revisit in rounds:
        hedge = _hedge_pick(
            cand_X,
            cand_mean,
            quantiles,
            np.full(n_src, 1.0 / n_src),
            free,
            picks_X,
            obs_mean,
            pending,
            branch_columns,
            # equal weights: a branch's support is (its sources) / n_src, so "at least
            # min_sources sources" is a support above (min_sources - 0.5) / n_src
            max(
                options.branch_hedge_share or 0.0, (options.branch_hedge_min_sources - 0.5) / n_src
            ),
            revisit=revisit,
        )
        if hedge is not None:
            index, score_at, note = hedge
            decision = replace(decision, reason=f"{decision.reason}; {note}")
            return Proposal(index, decision, "hedge", score_at)
    confined: int | None = None
    avoided: int | None = None
    if branched_with_sources:
        cand_branch, sequence = _branch_sequence(cand_X, picks_X, pending, branch_columns)
        note = ""
        if branch_transfer and options.incumbent_patience is not None:
            free, confined, note = _incumbent_branch_mask(
                cand_branch, sequence, picks_y, free, cand_mean, w_src, options.incumbent_patience
            )
        if confined is None and options.stall_patience is not None:
            free, avoided, note = _stalled_branch_mask(
                cand_branch, sequence, picks_y, free, options.stall_patience
            )
        if note:
            decision = replace(decision, reason=f"{decision.reason}; {note}")
    if options.surrogate == "augmented" and decision.mode != "target-only" and w_src.sum() > 0:
        # target GP over [x, m(x)]: m is the ranking-weighted source mean; the GP learns
        # (through m's lengthscale) how far to trust it, and corrects it where it is wrong.
        w = w_src / w_src.sum()
        reg_cand = regret_mean(cand_mean, quantiles)
        reg_obs = regret_mean(obs_mean, quantiles)
        cand_aug = np.hstack([cand_X, np.clip(w @ reg_cand, 0, 1)[:, None]])
        obs_aug = np.hstack([obs_X, np.clip(w @ reg_obs, 0, 1)[:, None]])
        model = fit_gp(obs_aug, obs_y, init_state=gp_state.get("aug_state"))
        gp_state["aug_state"] = model.state_dict()
        mean, std = predict(model, cand_aug)
        score = ensemble_scores(mean[None], std[None], np.ones(1), float(obs_y.max()))
        score = np.where(free, score, -np.inf)
        index = int(np.argmax(score))
        return Proposal(index, decision, "gp", float(score[index]), confined, avoided)
    trusted = decision.mode != "target-only" and n_src > 0
    stacking = (options.stack_from is not None and t >= options.stack_from) and (
        options.stack_until is None or t < options.stack_until
    )
    if trusted and target is not None and stacking:
        stacked = _stacked_pick(
            decision,
            cand_X,
            cand_mean,
            cand_std,
            free,
            obs_X,
            _stack_values(obs_y, raw_y, options.stack_scale, gp_state),
            obs_mean,
            gp_state,
            refit=options.stack_refit,
            stack_scale=options.stack_scale,
        )
        return replace(stacked, branch=confined, avoided=avoided)
    if branched and not trusted:
        index, logei, note = branch_pick(
            cand_X, free, obs_X, raw_y, branch_columns, rng, pending=pending
        )
        decision = replace(decision, reason=f"{decision.reason}; one GP per branch, {note}")
        return Proposal(index, decision, "branch", logei, avoided=avoided)
    if target is None and not trusted:  # too few points for a GP, no trusted source: explore
        return Proposal(
            _restart_pick(cand_X, free, obs_X, rng, options, gp_state),
            decision,
            "explore",
            0.0,
            avoided=avoided,
        )
    members_mean: list[np.ndarray] = []
    members_std: list[np.ndarray | LazyMemberStd] = []
    member_obs: list[np.ndarray] = []
    member_weights: list[float] = []
    if target is not None:
        t_mean, t_std = predict(target, cand_X)
        y_mu, y_sd = loc_scale(obs_y)
        members_mean.append((t_mean - y_mu) / y_sd)
        members_std.append(t_std / y_sd)
        member_obs.append((obs_y - y_mu) / y_sd)
        member_weights.append(decision.target_weight)
    if trusted:
        if w_src.sum() <= 0:
            w_src = np.full(n_src, 1.0 / n_src)
        for s in np.flatnonzero(w_src > 0):
            mu_s, sd_s = loc_scale(cand_mean[s])
            members_mean.append((cand_mean[s] - mu_s) / sd_s)
            members_std.append(member_std(cand_std, s, float(sd_s)))
            member_obs.append((obs_mean[s] - mu_s) / sd_s)
            member_weights.append(float(w_src[s]))
    w = np.asarray(member_weights, dtype=np.float64)
    w = w / w.sum()
    best = float(np.max(w @ np.stack(member_obs)))
    mean = np.stack(members_mean)
    mixture = t < options.mixture_variance_steps
    gp_state.pop("mixture_floor", None)  # a floor belongs to the step that computed it
    if not (mixture and options.mixture_top < 1.0):
        index, best_score = ensemble_argmax(
            mean, members_std, w, best, free, mixture=mixture, variance=options.ensemble_variance
        )
        return Proposal(index, decision, "gp", best_score, confined, avoided)
    # explore disagreement among plausible picks: the floor needs every candidate's score
    std = np.stack([s.dense() if isinstance(s, LazyMemberStd) else s for s in members_std])
    plain = ensemble_scores(mean, std, w, best)
    floor = gp_state["mixture_floor"] = float(np.quantile(plain[free], 1.0 - options.mixture_top))
    score = ensemble_scores(
        mean, std, w, best, mixture=mixture, floor=floor, variance=options.ensemble_variance
    )
    score = np.where(free, score, -np.inf)
    index = int(np.argmax(score))
    return Proposal(index, decision, "gp", float(score[index]), confined, avoided)
