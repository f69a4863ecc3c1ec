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
from pathlib import Path

import numpy as np
from botorch.models import SingleTaskGP

from recommender.branch_rules import (
    branch_sequence,
    flat_branches,
    flat_note,
    hedge_pick,
    incumbent_branch_mask,
    stalled_branch_mask,
)
from recommender.branch_search import branch_pick
from recommender.ensemble import (
    ENSEMBLE_VARIANCES,
    LazyMemberStd,
    check_ensemble_variance,
    ensemble_argmax,
    ensemble_scores,
    loc_scale,
    member_std,
    normalised_weights,
)
from recommender.first_pick import (
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
from recommender.portfolio import hypothesis_improvement, regret_hypotheses
from recommender.stacking import StackedPrior, stack_values, stacked_pick, stacked_prior
from recommender.surrogate import (
    LazySourceStd,
    SourceModel,
    fit_gp,
    predict,
    predict_sources,
    regret_mean,
    subsample_indices,
)
from recommender.transfer_options import TARGET_SCALES, TransferOptions

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


@dataclass
class SearchTrace:
    """What the search did, pick by pick (for explanations and benchmarks)."""

    picks: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    decisions: list[GuardrailDecision] = field(default_factory=list)


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
    score = normalised_weights(weights) @ z[:, among]  # the sources' weighted verdict
    return among[np.argsort(score, kind="stable")[: max(1, int(share * len(among)))]]


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

    The phases, in order; the first that has a pick makes it:

    1. ``free`` loses the branches flat at the target's best value
       (`TransferOptions.branch_plateau_ties`), unless nothing else is free.
    2. The target GP and the guardrails' weights of the sources on the target's
       observations (`_target_gp`, `_guarded_decision`); with no source and too few
       observations, a random initial design pick instead of what follows.
    3. A restart pick after the sources were rejected (`_restart_phase`), a probe pick
       (`_probe_phase`), the zero-shot / portfolio pick (`_portfolio_phase`), a hedge
       pick in a branch the target has not tried (`_hedge_phase`).
    4. The model's pick (`_model_phase`), kept inside or outside a branch by the branch
       rules (`_branch_rules`).

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

    Returns:
        The `Proposal`.
    """
    free, flat = flat_branches(
        cand_X, obs_X, obs_y, free, branch_columns, options.branch_plateau_ties
    )
    n_src, t = len(cand_mean), len(obs_y)
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
        decision = GuardrailDecision(
            step=t, mode="random-init", weights={}, reason="no source tasks: random initial design"
        )
        proposal = Proposal(_design_pick(free, gp_state, options), decision, "random", 0.0)
    else:
        # a target-only search of a branched space fits one GP per branch (`branch_pick`);
        # with sources the guardrails need the whole-space target GP even when branched
        branched = len(branch_columns) > 1 and bool(free.any()) and t >= options.min_target_points
        target, raw_y, scale_note = None, obs_y, ""
        if t >= options.min_target_points and not (branched and n_src == 0):
            target, obs_y, scale = _target_gp(obs_X, obs_y, options.target_scale, gp_state)
            if options.target_scale == "auto":
                scale_note = (
                    f"; target GP on the {scale} scale (fewer leave-one-out mis-ordered pairs)"
                )
        decision, untrusted, refuted = _guarded_decision(
            cand_mean,
            obs_X,
            obs_y,
            obs_mean,
            obs_std,
            target,
            t,
            options,
            rng,
            gp_state,
            scale_note,
        )
        step = _Step(
            cand_X=cand_X,
            cand_mean=cand_mean,
            cand_std=cand_std,
            free=free,
            obs_X=obs_X,
            obs_y=obs_y,
            raw_y=raw_y,
            obs_mean=obs_mean,
            obs_std=obs_std,
            picks_X=picks_X,
            picks_y=picks_y,
            options=options,
            rng=rng,
            gp_state=gp_state,
            pending=pending,
            quantiles=quantiles,
            branch_columns=branch_columns,
            target=target,
            decision=decision,
            untrusted=untrusted,
            refuted=refuted,
            branched=branched,
        )
        proposal = _phase_pick(step)
    if not flat:
        return proposal
    note = flat_note(flat, options.branch_plateau_ties or 0)
    decision = replace(proposal.decision, reason=f"{proposal.decision.reason}; {note}")
    return replace(proposal, decision=decision, flat=flat)


@dataclass(frozen=True, slots=True)
class _Step:
    """One `propose` call's inputs and the guardrails' verdict on them, read by each phase.

    ``obs_X``, ``obs_y``, ``obs_mean`` and ``obs_std`` are the observations the models use
    (at most ``max_target_points``, `subsample_indices`), ``obs_y`` on the target GP's
    scale once it is fitted and ``raw_y`` as given; ``picks_X`` / ``picks_y`` are every
    observation in order (the branch rules). ``target`` is the target GP (``None``: too
    few observations, or a target-only search with one GP per branch); ``untrusted`` says
    the library is on probation (no consensus, or refuted: ``refuted``); ``branched``
    that a target-only search would fit one GP per branch (`branch_pick`).
    """

    cand_X: np.ndarray
    cand_mean: np.ndarray
    cand_std: np.ndarray | LazySourceStd
    free: np.ndarray
    obs_X: np.ndarray
    obs_y: np.ndarray
    raw_y: np.ndarray
    obs_mean: np.ndarray
    obs_std: np.ndarray
    picks_X: np.ndarray
    picks_y: np.ndarray
    options: TransferOptions
    rng: np.random.Generator
    gp_state: dict
    pending: Sequence[int]
    quantiles: np.ndarray | None
    branch_columns: Sequence[int]
    target: SingleTaskGP | None
    decision: GuardrailDecision
    untrusted: bool
    refuted: bool
    branched: bool

    @property
    def n_src(self) -> int:
        """Number of source tasks."""
        return len(self.cand_mean)

    @property
    def t(self) -> int:
        """Number of target observations."""
        return len(self.picks_y)

    @property
    def trusted(self) -> bool:
        """Whether the sources are in use (not a target-only search)."""
        return self.decision.mode != "target-only" and self.n_src > 0

    def noted(self, note: str) -> GuardrailDecision:
        """The decision with ``note`` appended to its reason (``note`` starts with "; ")."""
        return replace(self.decision, reason=self.decision.reason + note)


def _guarded_decision(
    cand_mean: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    obs_mean: np.ndarray,
    obs_std: np.ndarray,
    target: SingleTaskGP | None,
    t: int,
    options: TransferOptions,
    rng: np.random.Generator,
    gp_state: dict,
    scale_note: str,
) -> tuple[GuardrailDecision, bool, bool]:
    """The guardrails' decision on the sources (`rank_weights`), whether the library is
    untrusted (no consensus among the sources, `no_consensus`, once per candidate set; or
    refuted by the target, `refuted_consensus`) and whether it was refuted. An untrusted
    library before ``chance_from`` observations gives a target-only decision."""
    n_src = len(cand_mean)
    rank_idx = np.arange(len(obs_y))
    if len(rank_idx) > options.max_rank_points:  # pairs grow quadratically: rank on a subset
        rank_idx = np.sort(rng.choice(rank_idx, size=options.max_rank_points, replace=False))
    untrusted, why, refuted = False, "", False
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
    if scale_note:
        decision = replace(decision, reason=decision.reason + scale_note)
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
    return decision, untrusted, refuted


def _phase_pick(step: _Step) -> Proposal:
    """The pick of the first phase that makes one; the model's pick otherwise."""
    for phase in (_restart_phase, _probe_phase, _portfolio_phase, _hedge_phase):
        proposal = phase(step)
        if proposal is not None:
            return proposal
    return _model_phase(*_branch_rules(step))


def _contrast(step: _Step, weights: np.ndarray) -> int:
    """`contrast_pick` among ``step``'s free candidates, weighing the sources by ``weights``."""
    options = step.options
    return contrast_pick(
        step.cand_X,
        step.cand_mean,
        weights,
        free=step.free,
        obs_X=step.obs_X,
        rng=step.rng,
        share=options.probe_share,
        draws=options.probe_candidates,
    )


def _restart_phase(step: _Step) -> Proposal | None:
    """A restart pick after the sources were rejected, or ``None``.

    The picks the sources drove are a biased design: spend ``min_target_points`` restart
    picks (contrast picks against a refuted library, the cold GP's random design
    otherwise) before trusting a target-only GP, so the worst case is a cold start that
    lost that many picks.
    """
    options, gp_state = step.options, step.gp_state
    if not (
        step.decision.mode == "target-only"
        and step.n_src
        and gp_state.get("explore", 0) < options.min_target_points
    ):
        return None
    gp_state["explore"] = gp_state.get("explore", 0) + 1
    if options.refuted_restart == "contrast" and step.refuted:
        index = _contrast(step, np.zeros(step.n_src))
        design = "a contrast pick, where the refuted sources agree the target is poor"
    else:
        index = _restart_pick(step.cand_X, step.free, step.obs_X, step.rng, options, gp_state)
        design = "random" if options.restart_candidates == 1 else "space-filling"
    note = f"; restart pick {gp_state['explore']} of {options.min_target_points}: {design}"
    return Proposal(index, step.noted(note), "explore", 0.0)


def _probe_phase(step: _Step) -> Proposal | None:
    """A probe pick at ``explore_steps`` (with guardrails, a trusted library, no batch),
    or ``None``: one pick from a region the sources did not choose gives the ranking
    guardrail evidence (negated sources then mis-rank it)."""
    options = step.options
    if not (
        options.guardrails
        and step.n_src
        and step.t in options.explore_steps
        and not step.pending
        and not step.untrusted
    ):
        return None
    if options.probe == "contrast":
        index = _contrast(step, step.decision.source_weights)
        note = "; this pick probes the sources where they agree the target is poor"
    else:
        index = _maximin(step.cand_X, step.free, step.obs_X, step.rng, options.probe_candidates)
        note = "; this pick probes the sources far from the observations"
    return Proposal(index, step.noted(note), "explore", 0.0)


def _portfolio_phase(step: _Step) -> Proposal | None:
    """The zero-shot pick and the portfolio over source hypotheses (the first
    ``portfolio_picks`` picks of a library in use), or ``None``."""
    options, decision, free = step.options, step.decision, step.free
    if not (step.n_src and step.t < options.portfolio_picks and decision.mode != "target-only"):
        return None
    weights = normalised_weights(decision.source_weights)
    first_choice: FirstPickChoice | None = step.gp_state.get("first_pick")
    criterion = first_choice.criterion if first_choice is not None else options.zero_shot_criterion
    criterion = "regret-lcb" if criterion == "auto" else criterion

    def first() -> tuple[int, float]:
        return first_pick_argmax(
            criterion,
            step.cand_mean,
            step.cand_std,
            step.quantiles,
            weights,
            free,
            kappa=options.kappa,
        )

    if not step.obs_mean.shape[1] and not step.pending:  # nothing chosen yet: the first pick
        index, best_score = first()
        if first_choice is not None:
            decision = step.noted("; " + first_choice.reason)
        return Proposal(index, decision, "portfolio", best_score)
    reg_mean, chosen_mean = regret_hypotheses(
        step.cand_mean, step.obs_mean, step.quantiles, step.pending
    )
    score = hypothesis_improvement(reg_mean, chosen_mean, weights)
    if score[free].max() <= 1e-12:
        index, best_score = first()
        return Proposal(index, decision, "portfolio", best_score)
    score = np.where(free, score, -np.inf)
    index = int(np.argmax(score))
    return Proposal(index, decision, "portfolio", float(score[index]))


def _hedge_phase(step: _Step) -> Proposal | None:
    """A hedge pick of a library in use in a space with branches (`hedge_pick`): an
    untried supported branch during the first ``branch_hedge_until`` picks, then the
    second look (`TransferOptions.branch_second_look`); ``None`` when there is none."""
    options, n_src = step.options, step.n_src
    if not (
        len(step.branch_columns) > 1 and step.trusted and options.branch_hedge_share is not None
    ):
        return None
    rounds: list[int | None] = []
    if step.t < options.branch_hedge_until:
        rounds.append(None)
    if options.branch_second_look is not None and step.t >= options.branch_second_look:
        rounds.append(options.branch_hedge_until)
    # equal weights: a branch's support is (its sources) / n_src, so "at least
    # min_sources sources" is a support above (min_sources - 0.5) / n_src
    share = max(options.branch_hedge_share, (options.branch_hedge_min_sources - 0.5) / n_src)
    for revisit in rounds:
        hedge = hedge_pick(
            step.cand_X,
            step.cand_mean,
            step.quantiles,
            np.full(n_src, 1.0 / n_src),
            step.free,
            step.picks_X,
            step.obs_mean,
            step.pending,
            step.branch_columns,
            share,
            revisit=revisit,
            margin=options.branch_hedge_margin,
        )
        if hedge is not None:
            index, score_at, note = hedge
            return Proposal(index, step.noted(f"; {note}"), "hedge", score_at)
    return None


def _branch_rules(step: _Step) -> tuple[_Step, int | None, int | None]:
    """The model pick's branch rules in a space with branches and a library: with the
    library in use, the incumbent's branch when the sources outvote the target
    (`incumbent_branch_mask`, ``incumbent_patience``); otherwise, out of a stalled
    branch (`stalled_branch_mask`, ``stall_patience``; target-only fallbacks included).
    """
    options = step.options
    if not (len(step.branch_columns) > 1 and step.n_src > 0):
        return step, None, None
    cand_branch, sequence = branch_sequence(
        step.cand_X, step.picks_X, step.pending, step.branch_columns
    )
    free, confined, avoided, note = step.free, None, None, ""
    if step.trusted and options.incumbent_patience is not None:
        free, confined, note = incumbent_branch_mask(
            cand_branch,
            sequence,
            step.picks_y,
            free,
            step.cand_mean,
            step.decision.source_weights,
            options.incumbent_patience,
        )
    if confined is None and options.stall_patience is not None:
        free, avoided, note = stalled_branch_mask(
            cand_branch, sequence, step.picks_y, free, options.stall_patience
        )
    if note:
        step = replace(step, free=free, decision=step.noted(f"; {note}"))
    return step, confined, avoided


def _model_phase(step: _Step, branch: int | None, avoided: int | None) -> Proposal:
    """The pick of the model in force: the augmented GP (``surrogate="augmented"``), the
    residual-stacked GP (``stack_from`` to ``stack_until``), one GP per branch (a
    target-only search of a branched space), a restart pick (no GP yet and no trusted
    source), or LogEI under the ensemble of the target GP and the weighted sources.
    ``branch`` and ``avoided`` are `_branch_rules`' verdict, recorded in the `Proposal`."""
    options, decision = step.options, step.decision
    w_src = decision.source_weights
    if options.surrogate == "augmented" and decision.mode != "target-only" and w_src.sum() > 0:
        index, score = _augmented_pick(step)
        return Proposal(index, decision, "gp", score, branch, avoided)
    stacking = (options.stack_from is not None and step.t >= options.stack_from) and (
        options.stack_until is None or step.t < options.stack_until
    )
    if step.trusted and step.target is not None and stacking:
        index, score, note = stacked_pick(
            w_src,
            step.cand_X,
            step.cand_mean,
            step.cand_std,
            step.free,
            step.obs_X,
            stack_values(step.obs_y, step.raw_y, options.stack_scale, step.gp_state),
            step.obs_mean,
            step.gp_state,
            refit=options.stack_refit,
            stack_scale=options.stack_scale,
        )
        return Proposal(index, step.noted(note), "stacked", score, branch, avoided)
    if step.branched and not step.trusted:
        index, logei, note = branch_pick(
            step.cand_X,
            step.free,
            step.obs_X,
            step.raw_y,
            step.branch_columns,
            step.rng,
            pending=step.pending,
        )
        return Proposal(
            index, step.noted(f"; one GP per branch, {note}"), "branch", logei, avoided=avoided
        )
    if step.target is None and not step.trusted:  # too few points, no trusted source
        index = _restart_pick(step.cand_X, step.free, step.obs_X, step.rng, options, step.gp_state)
        return Proposal(index, decision, "explore", 0.0, avoided=avoided)
    index, score = _ensemble_pick(step)
    return Proposal(index, decision, "gp", score, branch, avoided)


def _augmented_pick(step: _Step) -> tuple[int, float]:
    """LogEI of a target GP over ``[x, m(x)]``, ``m`` the ranking-weighted source mean on
    the regret scale: the GP learns (through m's lengthscale) how far to trust it, and
    corrects it where it is wrong (``surrogate="augmented"``)."""
    w_src = step.decision.source_weights
    w = w_src / w_src.sum()
    reg_cand = regret_mean(step.cand_mean, step.quantiles)
    reg_obs = regret_mean(step.obs_mean, step.quantiles)
    cand_aug = np.hstack([step.cand_X, np.clip(w @ reg_cand, 0, 1)[:, None]])
    obs_aug = np.hstack([step.obs_X, np.clip(w @ reg_obs, 0, 1)[:, None]])
    model = fit_gp(obs_aug, step.obs_y, init_state=step.gp_state.get("aug_state"))
    step.gp_state["aug_state"] = model.state_dict()
    mean, std = predict(model, cand_aug)
    score = ensemble_scores(mean[None], std[None], np.ones(1), float(step.obs_y.max()))
    score = np.where(step.free, score, -np.inf)
    index = int(np.argmax(score))
    return index, float(score[index])


def _ensemble_pick(step: _Step) -> tuple[int, float]:
    """LogEI under the ensemble of the target GP (weight ``target_weight``) and the
    weighted sources (all of them, equally, when every weight is 0), each standardised on
    its predictions; with the mixture variance while the target has fewer than
    ``mixture_variance_steps`` observations, among the top ``mixture_top`` share only."""
    options, decision, obs_y = step.options, step.decision, step.obs_y
    members_mean: list[np.ndarray] = []
    members_std: list[np.ndarray | LazyMemberStd] = []
    member_obs: list[np.ndarray] = []
    member_weights: list[float] = []
    if step.target is not None:
        t_mean, t_std = predict(step.target, step.cand_X)
        y_mu, y_sd = loc_scale(obs_y)
        members_mean.append((t_mean - y_mu) / y_sd)
        members_std.append(t_std / y_sd)
        member_obs.append((obs_y - y_mu) / y_sd)
        member_weights.append(decision.target_weight)
    if step.trusted:
        w_src = decision.source_weights
        if w_src.sum() <= 0:
            w_src = np.full(step.n_src, 1.0 / step.n_src)
        for s in np.flatnonzero(w_src > 0):
            mu_s, sd_s = loc_scale(step.cand_mean[s])
            members_mean.append((step.cand_mean[s] - mu_s) / sd_s)
            members_std.append(member_std(step.cand_std, s, float(sd_s)))
            member_obs.append((step.obs_mean[s] - mu_s) / sd_s)
            member_weights.append(float(w_src[s]))
    w = np.asarray(member_weights, dtype=np.float64)
    w = w / w.sum()
    best = float(np.max(w @ np.stack(member_obs)))
    mean = np.stack(members_mean)
    mixture = step.t < options.mixture_variance_steps
    step.gp_state.pop("mixture_floor", None)  # a floor belongs to the step that computed it
    if not (mixture and options.mixture_top < 1.0):
        return ensemble_argmax(
            mean,
            members_std,
            w,
            best,
            step.free,
            mixture=mixture,
            variance=options.ensemble_variance,
        )
    # explore disagreement among plausible picks: the floor needs every candidate's score
    std = np.stack([s.dense() if isinstance(s, LazyMemberStd) else s for s in members_std])
    plain = ensemble_scores(mean, std, w, best)
    floor = float(np.quantile(plain[step.free], 1.0 - options.mixture_top))
    step.gp_state["mixture_floor"] = floor
    score = ensemble_scores(
        mean, std, w, best, mixture=mixture, floor=floor, variance=options.ensemble_variance
    )
    score = np.where(step.free, score, -np.inf)
    index = int(np.argmax(score))
    return index, float(score[index])
