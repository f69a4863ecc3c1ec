"""The options of the transfer search (`recommender.transfer.propose`).

One frozen dataclass, validated on construction, whose attribute docs carry the evidence
behind each default (the screens and harness runs, in ``docs/transfer_options.md``), and
the scales the target's observations can be fitted on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recommender.ensemble import check_ensemble_variance
from recommender.first_pick import FIRST_PICK_CRITERIA
from recommender.surrogate import copula_normalize

__all__ = ["TARGET_SCALES", "TransferOptions"]

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
            prefers the typicality-weighted copula mean, on average or on most of its
            tasks, by ``zero_shot_switch_t``; `choose_first_pick`). Evidence:
            ``docs/transfer_options.md``.
        zero_shot_switch_t: the test's threshold for its t and sign statistics (1.645,
            one-sided 5 %).
        stack_from: from this many target observations on (``None``: never), GP-phase picks
            of a trusted library maximise LogEI under the residual-stacked model
            (`stacked_prior`, `recommender.stacking.stacked_pick`) instead of the RGPE ensemble: the residual GP
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
        branch_hedge_margin: a source counts towards a hedged branch's support only when
            its best candidate there beats its best in every other branch the target has
            tried by more than this, on its regret scale (1 = its best, 0 = its worst;
            `recommender.branch_rules.hedge_gains`). 0: any margin. 0.02 (the default,
            session 63): a branch that a source scores like a tried one (gbtree and dart
            in xgboost, say) is no insurance. On cached predictions of ten conditional
            libraries (170 targets) regret fell by 0.0013 +/- 0.0027 / 0.0003 +/- 0.0025 /
            0.0016 +/- 0.0013 at t = 5 / 10 / 30 pooled, most on the two real-data ones
            (harness: `keel_conditional` t = 10 0.0709 -> 0.0566, `rbv2_xgboost` t = 20
            0.0148 -> 0.0103); a wash on the synthetic draws. Evidence:
            ``docs/transfer_options.md``.
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
    branch_hedge_margin: float = 0.02
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
        if not 0 <= self.branch_hedge_margin < 1:
            raise ValueError(
                f"branch_hedge_margin must be in [0, 1), got {self.branch_hedge_margin}"
            )
        if self.branch_hedge_min_sources < 1:
            raise ValueError(
                f"branch_hedge_min_sources must be at least 1, got {self.branch_hedge_min_sources}"
            )
