"""The portfolio over source hypotheses.

Each source says "the target looks like me". A candidate's value under that hypothesis is
its improvement, on the source's regret scale (1 = the source's best, 0 = its worst), over
the best of what is chosen so far; weighting the hypotheses gives a score that keeps a
batch diverse instead of clustering on one optimum (auto-sklearn 2.0 / Wistuba et al.,
2015). The zero-shot batch (`recommender.transfer`) and the hedge picks
(`recommender.branch_rules.hedge_pick`) compare candidates with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommender.surrogate import regret_mean

__all__ = ["hypothesis_improvement", "regret_hypotheses"]


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


def regret_hypotheses(
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
