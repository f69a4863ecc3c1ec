"""Guardrails against negative transfer: ranking-loss weights, source dropping, fallback.

Each model (every source GP and the target-only GP) is scored by how often it orders
pairs of the target's observations wrongly, over posterior samples (RGPE, Feurer et al.,
2018; the target GP is scored leave-one-out so it cannot win by memorising). A model's
weight is the share of samples in which it has the lowest ranking loss. With guardrails
on:

* from ``min_evidence`` (3) observations on, a source that mis-orders more than half of
  the target's pairs (median over samples) is dropped: it is worse than a coin flip
  (opt-in, ``chance_z``: from ``chance_from`` observations on it must also beat a coin
  flip by ``chance_z`` standard errors, so that sources that are mere noise go too);
* a source whose median loss exceeds the 95th percentile of the target GP's losses is
  dropped (weight 0): it mis-ranks the target;
* when every source is dropped, or the target GP alone takes at least
  ``fallback_share`` of the weight, the search falls back to ``target-only``;
* when at least half of a library of >= 5 sources mis-orders most of the target's pairs,
  and the library's mean mis-ordered share is significant against a permutation null
  (`refuted_consensus`), or when the sources agree with no peer at all (`no_consensus`),
  no source is trusted until it beats a coin flip by 2 standard errors of Kendall's tau:
  the search restarts cold (the caller, `recommender.transfer.propose`, applies this);
* before the target has 2 observations no ranking evidence exists: sources keep their
  prior (uniform) weights, and the decision says so.

Every decision, with its reason and the weights, is returned as a `GuardrailDecision`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from botorch.models import SingleTaskGP

__all__ = [
    "GuardrailDecision",
    "loo_predictions",
    "no_consensus",
    "rank_correlations",
    "rank_weights",
    "ranking_losses",
    "refuted_consensus",
    "source_consensus",
]


@dataclass(frozen=True, slots=True)
class GuardrailDecision:
    """One step's transfer decision.

    Attributes:
        step: number of target observations when the decision was taken.
        mode: ``"zero-shot"``, ``"transfer"``, ``"target-only"`` or ``"random-init"``.
        weights: source index -> weight (sources with weight 0 omitted).
        reason: a human-readable explanation.
        dropped: indices of the sources dropped at this step.
        target_weight: weight of the target-only GP in the ensemble.
    """

    step: int
    mode: str
    weights: dict[int, float]
    reason: str
    dropped: tuple[int, ...] = ()
    target_weight: float = 0.0
    n_sources: int = field(default=0)

    @property
    def source_weights(self) -> np.ndarray:
        """Weights as a dense ``(n_sources,)`` array."""
        out = np.zeros(self.n_sources)
        for index, weight in self.weights.items():
            out[index] = weight
        return out


def source_consensus(cand_mean: np.ndarray, *, peers: int = 1) -> np.ndarray:
    """Each source's agreement with its ``peers``-th closest peer over the candidates.

    Sources of related tasks rank candidates alike; sources that carry no signal (a
    shuffled objective, unrelated tasks) agree with no other source. This needs no target
    data, so it is known before the first pick.

    Args:
        cand_mean: ``S x n`` source predictions at ``n`` candidates.
        peers: 1: the closest peer; 2: the second closest (a source then needs two peers
            to count as agreeing: a group, which two noise sources that happen to correlate
            do not make).

    Returns:
        ``(S,)`` the ``peers``-th highest Spearman correlation of each source with another
        one (``nan`` with two candidates or fewer than ``peers + 1`` sources).

    Raises:
        ValueError: ``peers < 1``.
    """
    if peers < 1:
        raise ValueError(f"peers must be at least 1, got {peers}")
    n_src, n = cand_mean.shape
    if n_src < peers + 1 or n < 2:
        return np.full(n_src, np.nan)
    corr = rank_correlations(cand_mean)
    np.fill_diagonal(corr, -np.inf)
    return np.sort(corr, axis=1)[:, -peers]


def rank_correlations(cand_mean: np.ndarray) -> np.ndarray:
    """``S x S`` Spearman correlations of the sources' predictions over the candidates.

    Ranks are ordinal (ties broken by position). A source whose prediction is constant
    correlates 0 with every source, itself included: it agrees with nothing.

    Args:
        cand_mean: ``S x n`` source predictions at ``n >= 2`` candidates.
    """
    ranks = np.argsort(np.argsort(cand_mean, axis=1), axis=1).astype(np.float64)
    ranks -= ranks.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(ranks, axis=1)
    flat = np.ptp(cand_mean, axis=1) == 0
    corr = (ranks @ ranks.T) / np.outer(np.where(flat, 1.0, norms), np.where(flat, 1.0, norms))
    corr[flat, :] = 0.0
    corr[:, flat] = 0.0
    return corr


def no_consensus(
    cand_mean: np.ndarray,
    *,
    rho: float,
    isolated_share: float,
    min_sources: int,
    peers: int = 1,
) -> tuple[bool, str]:
    """Whether the library as a whole has no agreeing sources (then none is trusted yet).

    Args:
        cand_mean: ``S x n`` source predictions at the candidates.
        rho: a source agrees with a peer when their Spearman correlation is at least this.
        isolated_share: the library has no consensus when at least this share of its
            sources is isolated (agrees with fewer than ``peers`` other sources).
        min_sources: smaller libraries are never judged (two unrelated tasks disagree
            without being noise).
        peers: the other sources a source must agree with (`source_consensus`).

    Returns:
        ``(flag, reason)``.
    """
    if rho <= 0 or len(cand_mean) < max(min_sources, peers + 1):
        return False, ""
    agreement = source_consensus(cand_mean, peers=peers)
    isolated = int((agreement < rho).sum())
    if isolated < isolated_share * len(cand_mean):
        return False, ""
    which = "no other source" if peers == 1 else f"fewer than {peers} other sources"
    return True, (
        f"{isolated} of {len(cand_mean)} sources agree with {which} (Spearman "
        f"< {rho:g} over the candidates; median peer {np.median(agreement):.2f}): "
        "the library carries no shared signal"
    )


def refuted_consensus(
    obs_mean: np.ndarray,
    y: np.ndarray,
    *,
    share: float,
    min_sources: int,
    min_evidence: int = 3,
    p_value: float = 1.0,
    permutations: int = 500,
) -> tuple[bool, str]:
    """Whether the target's data refute the library's consensus (then none is trusted yet).

    When most of a library mis-orders the target's observed pairs, the library as a whole
    points the wrong way for this target (e.g. its objectives are negated), and the few
    sources that survive the per-source ranking test are the ones that disagree with the
    rest: outliers, not evidence. They should earn trust like sources of a library with no
    consensus (`no_consensus`).

    Args:
        obs_mean: ``S x m`` source predictions at the ``m`` observed target points.
        y: ``(m,)`` observed target scores.
        share: the consensus is refuted when at least this share of the sources mis-orders
            more than half of the target's pairs (0 disables).
        min_sources: smaller libraries are never judged.
        min_evidence: observations needed before judging.
        p_value: below 1, the library's mean mis-ordered share must also be significant
            against its permutation null (the target's scores shuffled over the observed
            points, ``permutations`` times, seeded by the number of observations): the
            share of shuffles that mis-order at least as many pairs must be at most
            ``p_value``. Sources of related tasks agree with each other, so on a few
            clustered observations they mis-order most pairs together by chance far more
            often than independent sources would; the null keeps that correlation.

    Returns:
        ``(flag, reason)``.

    Raises:
        ValueError: ``p_value`` outside ``(0, 1]`` (at 0 or below the test could never fire).
    """
    if not 0.0 < p_value <= 1.0:
        raise ValueError(f"p_value must be in (0, 1] (1: no permutation test), got {p_value!r}")
    n_src = len(obs_mean)
    if share <= 0 or n_src < min_sources or len(y) < min_evidence:
        return False, ""
    n_pairs = len(y) * (len(y) - 1) / 2
    losses = ranking_losses(obs_mean, y)
    anti = int((losses > 0.5 * n_pairs).sum())
    if anti < share * n_src:
        return False, ""
    significance = ""
    if p_value < 1.0:
        p = _permutation_p(obs_mean, y, permutations)
        if p > p_value:
            return False, ""
        significance = f" (permutation p = {p:.3f})"
    return True, (
        f"{anti} of {n_src} sources mis-order most pairs of the target's {len(y)} "
        f"observations{significance}: the target refutes the library's consensus"
    )


def _permutation_p(obs_mean: np.ndarray, y: np.ndarray, permutations: int) -> float:
    """One-sided p-value of the sources' total mis-ordered pairs under shuffles of ``y``.

    ``below[a, b]`` counts the sources that predict point ``a`` below point ``b``, so a
    shuffle's total is a sum over the target's ordered pairs of that ``m x m`` table: the
    cost is ``permutations x pairs``, whatever the number of sources (a ``sources x
    permutations x pairs`` array took 1.7 GB at 100 observations and 33 sources).
    """
    better, worse = _ordered_pairs(y)
    below = (obs_mean[:, :, None] < obs_mean[:, None, :]).sum(axis=0)
    order = np.argsort(np.random.default_rng(len(y)).random((permutations, len(y))), axis=1)
    null = below[order[:, better], order[:, worse]].sum(axis=1)
    return float((1 + (null >= below[better, worse].sum()).sum()) / (1 + permutations))


def _ordered_pairs(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of every untied pair of ``y``, oriented better-first."""
    first, second = np.triu_indices(len(y), k=1)  # each pair once
    gap = y[first] - y[second]
    untied = gap != 0
    first, second, ahead = first[untied], second[untied], gap[untied] > 0
    return np.where(ahead, first, second), np.where(ahead, second, first)


def ranking_losses(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Number of mis-ordered pairs of ``y`` for each sample.

    Args:
        samples: ``... x n`` sampled predictions at the ``n`` observed points.
        y: ``(n,)`` observed scores.

    Returns:
        ``...`` loss counts.
    """
    better, worse = _ordered_pairs(y)  # a sample mis-orders a pair when better < worse
    return (samples[..., better] < samples[..., worse]).sum(axis=-1).astype(np.float64)


def loo_predictions(model: SingleTaskGP) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form leave-one-out mean and std of a fitted GP at its training points.

    Uses mu_i = y_i - [K^-1 (y - m)]_i / [K^-1]_ii and var_i = 1 / [K^-1]_ii on the
    model's (standardised) training targets ``y`` and its prior mean ``m`` there (the fitted
    constant: far from 0 when the GP's prior sits below the observations), with the
    hyperparameters held fixed.
    """
    (train_X,) = model.train_inputs
    train_y = model.train_targets
    with torch.no_grad():
        K = model.covar_module(train_X).to_dense() + model.likelihood.noise * torch.eye(
            len(train_y), dtype=train_y.dtype, device=train_y.device
        )
        K_inv = torch.cholesky_inverse(torch.linalg.cholesky(K))
        alpha = K_inv @ (train_y - model.mean_module(train_X))
        diag = torch.diagonal(K_inv)
        mean = train_y - alpha / diag
        std = (1.0 / diag).clamp_min(1e-12).sqrt()
    return mean.cpu().numpy(), std.cpu().numpy()


def rank_weights(
    src_mean: np.ndarray,
    src_std: np.ndarray,
    y: np.ndarray,
    *,
    target_model: SingleTaskGP | None,
    target_X: np.ndarray | None,
    guardrails: bool,
    n_samples: int,
    rng: np.random.Generator,
    step: int,
    fallback_share: float = 1.0,
    min_evidence: int = 3,
    target_subset: np.ndarray | None = None,
    chance_z: float = 0.0,
    chance_from: int = 8,
) -> GuardrailDecision:
    """Weights of the sources (and the target GP) from ranking losses on the target's data.

    Args:
        src_mean: ``S x n`` source predictions at the ``n`` observed target points.
        src_std: ``S x n`` their standard deviations.
        y: ``(n,)`` observed target scores.
        target_model: target-only GP on those points, or ``None`` (too few points).
        target_X: its inputs (unused beyond presence; kept for explanations).
        guardrails: apply the dropping and fallback rules.
        n_samples: posterior samples.
        rng: random generator.
        step: number of target observations.
        fallback_share: target-GP weight from which the search falls back to target-only.
        min_evidence: observations needed before a source can be dropped for mis-ranking.
        target_subset: indices of the target GP's training points that ``y`` holds (when
            the ranking uses a subset of the observations); all of them when ``None``.
        chance_z: from ``chance_from`` observations on, a source must also be better than
            chance by ``chance_z`` standard errors of Kendall's tau under independence
            (``sqrt(2 (2n + 5) / (9 n (n - 1)))``), or it is dropped as noise. 0 (default)
            keeps the plain coin-flip rule.
        chance_from: observations from which ``chance_z`` applies.

    Returns:
        The `GuardrailDecision`.
    """
    n_src = len(src_mean)
    if n_src == 0:
        return GuardrailDecision(
            step, "target-only", {}, "no source tasks", target_weight=1.0, n_sources=0
        )
    if len(y) < 2:
        uniform = {i: 1.0 / n_src for i in range(n_src)}
        return GuardrailDecision(
            step,
            "zero-shot",
            uniform,
            f"{len(y)} target observation(s): sources weighted equally",
            n_sources=n_src,
        )
    src_samples = src_mean[None] + src_std[None] * rng.standard_normal((n_samples, *src_mean.shape))
    losses = ranking_losses(src_samples, y)  # n_samples x S
    target_losses = None
    if target_model is not None:
        loo_mean, loo_std = loo_predictions(target_model)
        if target_subset is not None:
            loo_mean, loo_std = loo_mean[target_subset], loo_std[target_subset]
        t_samples = loo_mean[None] + loo_std[None] * rng.standard_normal((n_samples, len(y)))
        target_losses = ranking_losses(t_samples, y)
        losses = np.concatenate([losses, target_losses[:, None]], axis=1)
    best = losses == losses.min(axis=1, keepdims=True)
    share = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    w_src, w_target = share[:n_src], (share[n_src] if target_losses is not None else 0.0)
    dropped: tuple[int, ...] = ()
    reason = f"ranking-loss weights over {n_samples} samples on {len(y)} observations"
    n_pairs = len(y) * (len(y) - 1) / 2
    if guardrails and len(y) >= min_evidence:
        # worse than a coin flip on the target's pairs: the source is anti-informative
        limit = 0.5
        if chance_z > 0 and len(y) >= chance_from:
            n = len(y)
            se_tau = np.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))
            limit = 0.5 - chance_z * se_tau / 2
        anti = np.median(losses[:, :n_src], axis=0) > limit * n_pairs
        if anti.any():
            dropped = tuple(int(i) for i in np.flatnonzero(anti))
            w_src = np.where(anti, 0.0, w_src)
            reason += (
                f"; dropped {len(dropped)} source(s) that mis-rank most target pairs"
                if limit == 0.5
                else f"; dropped {len(dropped)} source(s) not better than chance by "
                f"{chance_z:g} standard errors (mis-ranked share above {limit:.2f})"
            )
        if not (~anti).any():
            return GuardrailDecision(
                step,
                "target-only",
                {},
                reason
                + "; no source ranks the target better than chance: transfer falls back to target-only",
                dropped=tuple(range(n_src)),
                target_weight=1.0,
                n_sources=n_src,
            )
    if guardrails and target_losses is not None:
        threshold = np.percentile(target_losses, 95)
        median = np.median(losses[:, :n_src], axis=0)
        drop = (median > threshold) & (w_src > 0)
        if drop.any():
            dropped = tuple(sorted(set(dropped) | {int(i) for i in np.flatnonzero(drop)}))
            w_src = np.where(drop, 0.0, w_src)
            reason += f"; dropped {int(drop.sum())} source(s) ranking worse than the target GP"
        total = w_src.sum() + w_target
        if total > 0:
            w_src, w_target = w_src / total, w_target / total
        if w_src.sum() <= 0 or w_target >= fallback_share:
            unweighted = n_src - len(dropped)
            if w_src.sum() <= 0 and unweighted:  # the decision drops them all: say why
                reason += f"; the other {unweighted} source(s) won no sample"
            return GuardrailDecision(
                step,
                "target-only",
                {},
                reason
                + f"; target GP holds {w_target:.2f} of the weight: transfer falls back to target-only",
                dropped=tuple(range(n_src)) if w_src.sum() <= 0 else dropped,
                target_weight=1.0,
                n_sources=n_src,
            )
    weights = {int(i): float(w_src[i]) for i in np.flatnonzero(w_src > 0)}
    if not weights:  # no guardrails and no source won a single sample: keep them equal
        weights = {i: 1.0 / n_src for i in range(n_src)}
    return GuardrailDecision(
        step,
        "transfer",
        weights,
        reason,
        dropped=dropped,
        target_weight=float(w_target),
        n_sources=n_src,
    )
