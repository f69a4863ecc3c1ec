"""Proposals from the multi-task GP surrogate, with its guardrail against negative transfer.

The opt-in alternative to the RGPE-style transfer search (`recommender.transfer.propose`),
selected with ``Recommender(..., surrogate="multitask")``. One ICM multi-task GP
(`recommender.multitask.fit_multitask_gp`) over the K nearest sources and the target
proposes every pick:

* **no target data** (zero-shot): the best posterior mean of the target as the
  fingerprint-weighted (else uniform) mixture of the sources;
* **with target data**: LogEI under the multi-task GP's posterior of the target task
  (copula scale, the incumbent the best observed copula rank);
* **batches** (``n > 1``): sequential picks under a kriging believer: each pick is
  assumed to score its posterior mean, the joint posterior over the top candidates is
  conditioned on it, and LogEI is recomputed (it only shrinks the variance near pending
  picks, so the batch spreads out);
* **guardrail**: from ``min_evidence`` target observations on, the multi-task GP's
  leave-one-out means at the target's observations must order their pairs at least as
  well as a target-only GP's leave-one-out means; otherwise the pick falls back to the
  target-only GP's LogEI (mode ``"target-only"``). The sixth pick is a contrast probe (a
  configuration the sources agree is poor, far from the observations), the evidence that
  comparison needs when every source agrees and is wrong. When the multi-task GP orders
  most of those pairs backwards (an upside-down library), the first picks after the
  fallback are contrast picks (`MultiTaskOptions.refuted_restarts`). The learned task
  covariance is non-negative (BoTorch's `PositiveIndexKernel`), so a single upside-down
  source gets a correlation near zero rather than steering the pick; the leave-one-out comparison is
  what catches a library that hurts as a whole. Without sources the search is a cold GP
  (``min_target_points`` random picks first).

Every call returns one `GuardrailDecision` that names the sources' weights (the mixture
weights zero-shot, else each source's learned correlation with the target, clipped at 0
and normalised) and the reason.

Example:
    >>> picks, fit = propose_multitask(cand_X, free, obs_X, obs_y, sources, n=4, seed=0)
    >>> [p.index for p in picks], picks[0].decision.reason
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol, cast

import numpy as np
import torch
from botorch.models import SingleTaskGP
from botorch.posteriors import GPyTorchPosterior

from recommender.candidate_filters import matching_rows
from recommender.guardrails import GuardrailDecision, loo_predictions
from recommender.multitask import (
    MultiTaskFit,
    fit_multitask_gp,
    log_expected_improvement,
    predict,
    predict_joint,
    target_loo_means,
    task_correlations,
)
from recommender.surrogate import copula_normalize, fit_gp
from recommender.surrogate import predict as predict_single
from recommender.transfer import contrast_pick

__all__ = ["MultiTaskOptions", "MultiTaskPick", "gap_weighted_misorder", "propose_multitask"]


@dataclass(frozen=True, slots=True)
class MultiTaskOptions:
    """Options of the multi-task GP search.

    Attributes:
        k_nearest: sources in the model (nearest by fingerprint when both sides have one,
            else by rank agreement once the target has 3 observations, else a seeded
            random K; `recommender.multitask.select_sources`).
        n_per_source: trials kept per source (best fifth plus a spread): a fit costs at
            most ``k_nearest * n_per_source + n_target`` points whatever the library size.
        rank: rank of the learned task covariance.
        guardrails: compare with a target-only GP and fall back when transfer loses.
        min_evidence: target observations before that comparison judges.
        fallback_margin: the comparison falls back when the target-only GP's gap-weighted
            mis-ordered share (`gap_weighted_misorder`) is at least this much below the
            multi-task GP's (a near-tie is noise, not evidence of negative transfer).
        probe_step: with guardrails on, the pick made with this many target observations
            (default: the sixth) is a *contrast probe* while transfer is kept: among the
            lowest ``probe_share`` of the free candidates by the sources' mixture mean, the
            one farthest from the observations (of ``probe_candidates`` drawn). If the
            sources are right it scores badly; if they are upside down it scores well, and
            the next leave-one-out comparison sees a clearly mis-ordered pair. Without it a
            library that agrees and is wrong spends its first picks where the target is
            worst, whose near-tied scores no comparison can order (``None``: no probe).
        probe_share: the share of the candidates the probe chooses among.
        probe_candidates: candidates drawn for the probe's farthest-point choice.
        min_target_points: observations a target-only GP needs (fewer: random picks).
        refuted_restarts: when the guardrail falls back because the multi-task GP orders
            most of the target's pairs backwards (gap-weighted share above 0.5: the library
            is upside down, not merely less informative), the target-only GP's picks wait
            until this many observations lie in the *contrast set*, the lowest
            ``probe_share`` of the candidates by the sources' mixture mean; until then each
            pick is a contrast pick (the probe's rule). Picks there are where an upside-down
            library puts the target's good region, and they repair the design the sources
            biased (0: fall back straight to the target-only GP's LogEI). Counted from the
            observations, so a caller that asks once per pick needs no state; since the
            contrast set moves with each refit, restart picks come only while the target
            has fewer than ``min_evidence + 1 + refuted_restarts`` observations (an early
            refutation, when the sources chose the whole design).
        batch_candidates: candidates (best by the first pick's acquisition) over which a
            batch's kriging believer forms the joint posterior.
        maxiter: L-BFGS iterations of a fit from scratch.
        refit_maxiter: L-BFGS iterations of a fit warm-started from the previous one.
        device: ``None``/``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"`` for the
            multi-task GP (`recommender.surrogate.resolve_tkwargs`).
        dtype: its dtype (default float64 on CPU, float32 on CUDA).
    """

    k_nearest: int = 8
    n_per_source: int = 50
    rank: int = 3
    guardrails: bool = True
    min_evidence: int = 5
    fallback_margin: float = 0.2
    probe_step: int | None = 5
    probe_share: float = 0.1
    probe_candidates: int = 1024
    min_target_points: int = 3
    refuted_restarts: int = 3
    batch_candidates: int = 256
    maxiter: int = 100
    refit_maxiter: int = 20
    device: str | None = None
    dtype: torch.dtype | None = None

    def __post_init__(self) -> None:
        for name in ("k_nearest", "n_per_source", "rank", "min_target_points", "maxiter"):
            if getattr(self, name) < 1:
                raise ValueError(f"MultiTaskOptions.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.probe_share <= 1 or self.probe_candidates < 1:
            raise ValueError(
                "MultiTaskOptions needs 0 < probe_share <= 1 and probe_candidates >= 1, got "
                f"{self.probe_share=}, {self.probe_candidates=}"
            )
        if self.batch_candidates < 2:
            raise ValueError(
                f"MultiTaskOptions.batch_candidates must be >= 2, got {self.batch_candidates}"
            )


@dataclass(frozen=True, slots=True)
class MultiTaskPick:
    """One proposed candidate.

    Attributes:
        index: row of the candidate matrix.
        mean: posterior mean there (copula scale of the target under the multi-task GP;
            the target's own scale under the target-only fallback; NaN for random picks).
        std: posterior standard deviation (same scale; NaN for random picks).
        acquisition: the value the pick maximised (posterior mean zero-shot, else LogEI).
        phase: ``"multitask"``, ``"explore"`` (the contrast probe), ``"gp"`` (target-only
            GP) or ``"random"``.
        decision: the guardrail decision in force.
    """

    index: int
    mean: float
    std: float
    acquisition: float
    phase: str
    decision: GuardrailDecision


def propose_multitask(
    cand_X: np.ndarray,
    free: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    sources: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    n: int = 1,
    options: MultiTaskOptions | None = None,
    task_features: np.ndarray | None = None,
    seed: int = 0,
    warm_start: MultiTaskFit | None = None,
) -> tuple[list[MultiTaskPick], MultiTaskFit | None]:
    """Propose ``n`` candidates with the multi-task GP (or its fallback).

    Args:
        cand_X: ``m x d`` candidates in the unit cube.
        free: ``(m,)`` mask of the candidates that may be proposed.
        obs_X: ``n_t x d`` target observations (``n_t`` may be 0).
        obs_y: ``(n_t,)`` their scores, larger is better.
        sources: ``(X, y)`` per source task, larger is better.
        n: batch size (at most the number of free candidates).
        options: `MultiTaskOptions`.
        task_features: ``(len(sources) + 1) x f`` fingerprints, target last, or ``None``.
        seed: seed of the source choice, subsampling, task-factor start and random picks.
        warm_start: the previous call's fit, to start the hyperparameters from.

    Returns:
        The picks, best first, and the multi-task fit (``None`` when none was made: no
        sources), to warm-start the next call.

    Raises:
        ValueError: ``n < 1``, no free candidate, or shapes that do not match.
        SurrogateFitError: the multi-task GP could not be fitted.
    """
    options = options or MultiTaskOptions()
    free = np.asarray(free, dtype=bool)
    if n < 1 or not free.any():
        raise ValueError(f"need n >= 1 and a free candidate, got n={n}, {int(free.sum())} free")
    obs_y = np.asarray(obs_y, dtype=np.float64).reshape(-1)
    n_obs, n_src = len(obs_y), len(sources)
    n = min(n, int(free.sum()))
    if n_src == 0:
        return _cold(cand_X, free, obs_X, obs_y, n, options, seed), None
    fit = fit_multitask_gp(
        obs_X,
        obs_y,
        sources,
        k_nearest=options.k_nearest,
        n_per_source=options.n_per_source,
        task_features=task_features,
        seed=seed,
        rank=options.rank,
        device=options.device,
        dtype=options.dtype,
        warm_start=warm_start,
        maxiter=options.maxiter if warm_start is None else options.refit_maxiter,
    )
    weights = _source_weights(fit)
    fallback = None
    if options.guardrails and n_obs >= max(options.min_evidence, 2):
        fallback = _compare_with_target_only(fit, obs_X, obs_y, options.fallback_margin)
    if fallback is not None and (model := fallback[0]) is not None:
        decision = GuardrailDecision(
            n_obs, "target-only", {}, fallback[1], target_weight=1.0, n_sources=n_src
        )
        picks: list[MultiTaskPick] = []
        if fallback[2] > 0.5:
            picks = _refuted_restart(fit, cand_X, free, obs_X, options, seed, decision)
        rest = free.copy()
        rest[[p.index for p in picks]] = False
        if len(picks) < n and rest.any():
            picks += _gp_picks(
                cand_X, rest, obs_y, n - len(picks), options, _Single(model), "gp", decision
            )
        return picks, fit
    names = f"{len(fit.source_indices)} of {n_src} sources"
    if n_obs == 0:
        how = "fingerprint kernel" if task_features is not None else "uniform weights"
        decision = GuardrailDecision(
            0,
            "zero-shot",
            weights,
            f"no target data: the multi-task GP's mixture of {names} ({how})",
            n_sources=n_src,
        )
    else:
        judged = (
            fallback[1]
            if fallback is not None
            else (
                "guardrails off"
                if not options.guardrails
                else f"{n_obs} observation(s), fewer than {options.min_evidence}: "
                "not yet tested against a target-only GP"
            )
        )
        decision = GuardrailDecision(
            n_obs,
            "transfer",
            weights,
            f"multi-task GP over {names} (weights: learned task correlations); {judged}",
            n_sources=n_src,
        )
    scaled = copula_normalize(obs_y) if n_obs else obs_y
    posterior = _MultiTask(fit)
    if not (options.guardrails and n_obs == options.probe_step):
        return _gp_picks(cand_X, free, scaled, n, options, posterior, "multitask", decision), fit
    probe = _contrast_probe(_mixture_mean(fit, cand_X), cand_X, free, obs_X, options, seed)
    mean, std = posterior.marginal(cand_X[[probe]])
    decision = replace(
        decision,
        reason=f"{decision.reason}; contrast probe: a configuration the sources agree is poor",
    )
    picks = [MultiTaskPick(probe, float(mean[0]), float(std[0]), float("nan"), "explore", decision)]
    if n > 1:
        rest = free.copy()
        rest[probe] = False
        picks += _gp_picks(cand_X, rest, scaled, n - 1, options, posterior, "multitask", decision)
    return picks, fit


def _mixture_mean(fit: MultiTaskFit, cand_X: np.ndarray) -> np.ndarray:
    """The sources' uniform mixture mean at the candidates."""
    k = len(fit.source_indices)
    mixture = np.r_[np.full(k, 1.0 / k), 0.0]
    return predict(replace(fit, target_weights=mixture), cand_X)[0]


def _contrast_probe(
    sources_mean: np.ndarray,
    cand_X: np.ndarray,
    free: np.ndarray,
    obs_X: np.ndarray,
    options: MultiTaskOptions,
    seed: int,
) -> int:
    """Among the lowest ``probe_share`` of the free candidates by the sources' mixture
    mean (`_mixture_mean`), the one farthest from the observations (of
    ``probe_candidates``)."""
    return contrast_pick(
        cand_X,
        sources_mean[None],
        np.ones(1),
        free,
        obs_X,
        np.random.default_rng(seed),
        options.probe_share,
        options.probe_candidates,
    )


def _refuted_restart(
    fit: MultiTaskFit,
    cand_X: np.ndarray,
    free: np.ndarray,
    obs_X: np.ndarray,
    options: MultiTaskOptions,
    seed: int,
    decision: GuardrailDecision,
) -> list[MultiTaskPick]:
    """The next contrast pick after a refuted library (`MultiTaskOptions.refuted_restarts`),
    or none once that many observations lie in the contrast set."""
    if options.refuted_restarts < 1 or len(obs_X) >= (
        options.min_evidence + 1 + options.refuted_restarts
    ):
        return []
    sources_mean = _mixture_mean(fit, cand_X)
    cut = np.quantile(sources_mean, options.probe_share)
    inside = int(matching_rows(obs_X, cand_X[sources_mean <= cut]).sum())
    if inside >= options.refuted_restarts:
        return []
    pick = _contrast_probe(sources_mean, cand_X, free, obs_X, options, seed)
    note = (
        f"; restart pick {inside + 1} of {options.refuted_restarts}: a contrast pick, where "
        "the upside-down sources agree the target is poor"
    )
    nan = float("nan")
    restart = replace(decision, reason=decision.reason + note)
    return [MultiTaskPick(pick, nan, nan, nan, "explore", restart)]


# ------------------------------------------------------------------ guardrail
def _source_weights(fit: MultiTaskFit) -> dict[int, float]:
    """Source position -> weight: the zero-shot mixture, else clipped correlations."""
    chosen = fit.source_indices
    if fit.n_target == 0:
        raw = fit.target_weights[: len(chosen)]
    else:
        raw = np.clip(task_correlations(fit)[-1, :-1], 0.0, None)
    total = float(raw.sum())
    if total <= 0:
        return {}
    return {int(chosen[k]): float(raw[k] / total) for k in range(len(chosen)) if raw[k] > 0}


def _compare_with_target_only(
    fit: MultiTaskFit, obs_X: np.ndarray, obs_y: np.ndarray, margin: float
) -> tuple[SingleTaskGP | None, str, float]:
    """``(target GP, reason, share)`` when it orders the target's observations better than
    the multi-task GP, leave-one-out, by at least ``margin`` (fall back), else
    ``(None, reason, share)``; ``share``: the multi-task GP's gap-weighted mis-ordered
    share of the target's pairs."""
    model = fit_gp(obs_X, obs_y)
    target_loo, _ = loo_predictions(model)
    transfer = gap_weighted_misorder(target_loo_means(fit), obs_y)
    alone = gap_weighted_misorder(target_loo, obs_y)
    verdict = (
        f"leave-one-out on {len(obs_y)} observations, the multi-task GP mis-orders "
        f"{transfer:.0%} of the target's pairs (weighted by their gaps), a target-only GP "
        f"{alone:.0%}"
    )
    if transfer - alone >= margin:
        return model, f"{verdict}: transfer loses, falling back to the target-only GP", transfer
    return None, f"{verdict}: transfer kept", transfer


def gap_weighted_misorder(pred: np.ndarray, y: np.ndarray) -> float:
    """Share of the target's pairs that ``pred`` orders wrongly, each pair weighted by
    its gap ``|y_i - y_j|``: pairs the target separates clearly count most, near-ties
    (a search's picks clustered in a good region) hardly at all. 0: perfect, 1: reversed.

    Args:
        pred: ``(n,)`` predictions at the observations.
        y: ``(n,)`` observed scores.
    """
    first, second = np.triu_indices(len(y), k=1)
    gap = y[first] - y[second]
    total = float(np.abs(gap).sum())
    if total <= 0:
        return 0.0
    wrong = np.sign(pred[first] - pred[second]) != np.sign(gap)
    return float(np.abs(gap)[wrong].sum() / total)


# ------------------------------------------------------------------ picks
def _cold(
    cand_X: np.ndarray,
    free: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    n: int,
    options: MultiTaskOptions,
    seed: int,
) -> list[MultiTaskPick]:
    """No sources: a cold GP (random picks until it has ``min_target_points``)."""
    if len(obs_y) >= options.min_target_points:
        decision = GuardrailDecision(
            len(obs_y), "target-only", {}, "no source tasks", target_weight=1.0
        )
        model = fit_gp(obs_X, obs_y)
        return _gp_picks(cand_X, free, obs_y, n, options, _Single(model), "gp", decision)
    decision = GuardrailDecision(
        len(obs_y),
        "random-init",
        {},
        f"no source tasks and {len(obs_y)} observation(s): random design until "
        f"{options.min_target_points}",
    )
    order = np.random.default_rng(seed).permutation(np.flatnonzero(free))[:n]
    nan = float("nan")
    return [MultiTaskPick(int(i), nan, nan, nan, "random", decision) for i in order]


def _gp_picks(
    cand_X: np.ndarray,
    free: np.ndarray,
    obs_y: np.ndarray,
    n: int,
    options: MultiTaskOptions,
    posterior: _Posterior,
    phase: str,
    decision: GuardrailDecision,
) -> list[MultiTaskPick]:
    """LogEI picks (a kriging-believer batch) under ``posterior``; ``obs_y`` may be empty
    (zero-shot: the first pick is the best mean)."""
    best = float(obs_y.max()) if len(obs_y) else None
    picks = _believer(posterior, cand_X, free, best, n, options.batch_candidates)
    return [MultiTaskPick(i, m, s, a, phase, decision) for i, m, s, a in picks]


class _Posterior(Protocol):
    def marginal(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def joint(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]: ...


@dataclass(frozen=True, slots=True)
class _MultiTask:
    """The target task's posterior under the multi-task GP (copula scale)."""

    fit: MultiTaskFit

    def marginal(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return predict(self.fit, X)

    def joint(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        return predict_joint(self.fit, X)


@dataclass(frozen=True, slots=True)
class _Single:
    """A target-only GP's posterior (the target's own scale)."""

    model: SingleTaskGP

    def marginal(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return predict_single(self.model, X)

    def joint(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        first = next(self.model.parameters())
        test = torch.as_tensor(X, dtype=first.dtype, device=first.device)
        with torch.no_grad():
            posterior = cast(GPyTorchPosterior, self.model.posterior(test))
            noisy = self.model.posterior(test[:1], observation_noise=True)
            noise = float((noisy.variance - posterior.variance[:1]).reshape(-1)[0])
            mean = posterior.mean.reshape(-1)
            cov = posterior.distribution.covariance_matrix
        return (
            mean.cpu().numpy().astype(np.float64),
            cov.cpu().numpy().astype(np.float64),
            max(noise, 0.0),
        )


def _believer(
    posterior: _Posterior,
    cand_X: np.ndarray,
    free: np.ndarray,
    best: float | None,
    n: int,
    batch_candidates: int,
) -> list[tuple[int, float, float, float]]:
    """``n`` picks ``(index, mean, std, acquisition)``: LogEI over ``best`` (the best mean
    when ``best`` is ``None``), then, for a batch, a kriging believer over the top
    ``batch_candidates`` free candidates (each pick believed to score its mean)."""
    mean, std = posterior.marginal(cand_X)
    score = mean.copy() if best is None else log_expected_improvement(mean, std, best)
    score[~free] = -np.inf
    first = int(np.argmax(score))
    picks = [(first, float(mean[first]), float(std[first]), float(score[first]))]
    if n == 1:
        return picks
    top = np.argsort(-score, kind="stable")[: max(batch_candidates, n)]
    top = top[np.isfinite(score[top])]
    top = np.concatenate([[first], top[top != first]])
    m, cov, noise = posterior.joint(cand_X[top])
    taken = np.zeros(len(top), dtype=bool)
    j = 0
    incumbent = -np.inf if best is None else best
    while len(picks) < min(n, len(top)):
        taken[j] = True
        incumbent = max(incumbent, float(m[j]))  # the believer: pick j scores its mean
        cov = cov - np.outer(cov[:, j], cov[j, :]) / (cov[j, j] + max(noise, 1e-9))
        sd = np.sqrt(np.clip(np.diag(cov), 1e-18, None))
        acq = log_expected_improvement(m, sd, incumbent)
        acq[taken] = -np.inf
        j = int(np.argmax(acq))
        picks.append((int(top[j]), float(m[j]), float(sd[j]), float(acq[j])))
    return picks
