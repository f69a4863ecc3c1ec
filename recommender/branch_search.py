"""A search with no trusted source in a space with branches: one GP per branch.

In a conditional space a categorical parent (``learner``, say) switches each branch's own
parameters on and off. One GP over the whole encoding does poorly there with few
observations: on the conditional benchmark's off-pool search (`benchmarks/bench_continuous.py`)
it locked onto the branch of its first good observation and trailed uniform random draws
from t = 10, and neither a floor on its lengthscales, BoTorch's mixed categorical kernel,
UCB, nor a bandit choosing the branch for it helped (docs/limitations.md).

Here the branch is chosen first, by UCB1 over each branch's best observation (branches
never tried first; in a batch, the picks already chosen count as tries), then the pick
within it maximises LogEI under a GP of that branch's observations alone, on the columns
that vary among its candidates (its own parameters and the shared ones): a tree-structured
search, as SMAC's and TPE's, with a GP per leaf. A branch with fewer than
`MIN_BRANCH_POINTS` observations, or with no parameter of its own, gets a random candidate
of its own. On three draws of that benchmark the cold search is then at or below random
search from t = 5 (`benchmarks/results/continuous_cold/`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from recommender.ensemble import ensemble_scores
from recommender.surrogate import fit_gp, predict

__all__ = [
    "MIN_BRANCH_POINTS",
    "best_free",
    "branch_of",
    "branch_pick",
    "branch_support",
    "choose_branch",
    "hedge_branch",
    "plateau_branches",
    "stalled_branch",
    "starved_incumbent_branch",
]

#: Observations a branch needs before its GP picks (fewer: a random candidate of it).
MIN_BRANCH_POINTS = 3


def branch_of(X: np.ndarray, columns: Sequence[int]) -> np.ndarray:
    """The branch (index of the choice) of each encoded row, from its one-hot columns."""
    return np.asarray(X)[:, list(columns)].argmax(axis=1)


def choose_branch(
    cand_branch: np.ndarray,
    obs_branch: np.ndarray,
    obs_y: np.ndarray,
    free: np.ndarray,
    n_branches: int,
    *,
    exploration: float = 0.5,
    pending_branch: np.ndarray | None = None,
) -> int:
    """The branch to search next: UCB1 on each branch's best observation.

    A branch with a free candidate and neither an observation nor a pending pick comes
    first (lowest index first); otherwise the branch maximising ``best_b + exploration *
    sd(y) * sqrt(log t / n_b)`` (larger ``y`` is better), where ``n_b`` and ``t`` count the
    batch's pending picks as well as the observations, so that a batch spreads over the
    branches whose bounds are close instead of repeating one. A branch whose only picks
    are pending has no best yet and takes the lowest observation as its best.

    Args:
        cand_branch: ``(n,)`` branch of each candidate.
        obs_branch: ``(t,)`` branch of each observation.
        obs_y: ``(t,)`` observations, larger is better.
        free: ``(n,)`` candidates that may be picked.
        n_branches: number of branches.
        exploration: weight of the exploration term, in standard deviations of ``obs_y``.
        pending_branch: branch of each pick chosen earlier in this batch (not observed yet).

    Returns:
        The branch index.

    Raises:
        ValueError: no candidate is free.
    """
    pending_branch = np.asarray([] if pending_branch is None else pending_branch, dtype=int)
    scale = float(obs_y.std()) or 1.0
    log_t = math.log(len(obs_y) + len(pending_branch))
    scores = np.full(n_branches, -np.inf)
    for b in range(n_branches):
        if not (free & (cand_branch == b)).any():
            continue
        observed = obs_y[obs_branch == b]
        n_b = len(observed) + int((pending_branch == b).sum())
        if n_b == 0:
            scores[b] = np.inf
        else:
            best = float(observed.max()) if len(observed) else float(obs_y.min())
            scores[b] = best + exploration * scale * math.sqrt(log_t / n_b)
    if np.all(scores == -np.inf):
        raise ValueError("no free candidate in any branch")
    return int(np.argmax(scores))


def branch_pick(
    cand_X: np.ndarray,
    free: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    columns: Sequence[int],
    rng: np.random.Generator,
    *,
    exploration: float = 0.5,
    pending: Sequence[int] = (),
) -> tuple[int, float, str]:
    """The next candidate of a search with branches and no trusted source (see the module).

    Args:
        cand_X: ``n x d`` encoded candidates.
        free: ``(n,)`` candidates that may be picked (at least one).
        obs_X: ``t x d`` encoded observations (``t >= 1``).
        obs_y: ``(t,)`` observations, larger is better.
        columns: the branching parameter's one-hot columns (`Space.branching_columns`).
        rng: draws the random candidate of a branch with too few observations.
        exploration: `choose_branch`'s exploration weight.
        pending: candidates chosen earlier in this batch, counted in `choose_branch`.

    Returns:
        ``(index, score, note)``: the candidate, its LogEI under the branch's GP (0 for a
        random candidate) and a sentence for the explanation.
    """
    cand_branch, obs_branch = branch_of(cand_X, columns), branch_of(obs_X, columns)
    branch = choose_branch(
        cand_branch,
        obs_branch,
        obs_y,
        free,
        len(columns),
        exploration=exploration,
        pending_branch=cand_branch[list(pending)],
    )
    pickable = np.flatnonzero(free & (cand_branch == branch))
    inside = obs_branch == branch
    active = np.flatnonzero(cand_X[cand_branch == branch].std(axis=0) > 0)
    if inside.sum() < MIN_BRANCH_POINTS or not len(active):  # no GP yet, or nothing to model
        index = int(rng.choice(pickable))
        return index, 0.0, f"branch {branch}: a random candidate ({int(inside.sum())} observed)"
    model = fit_gp(obs_X[inside][:, active], obs_y[inside])
    mean, std = predict(model, cand_X[pickable][:, active])
    score = ensemble_scores(mean[None], std[None], np.ones(1), float(obs_y.max()))
    best = int(np.argmax(score))
    note = f"branch {branch}: LogEI under a GP of its {int(inside.sum())} observations"
    return int(pickable[best]), float(score[best]), note


def branch_support(
    cand_mean: np.ndarray,
    weights: np.ndarray,
    cand_branch: np.ndarray,
    free: np.ndarray,
    n_branches: int,
    best: np.ndarray | None = None,
) -> np.ndarray:
    """The weighted share of the sources whose best free candidate lies in each branch.

    Args:
        cand_mean: ``S x n`` source predictions at the candidates (larger is better).
        weights: ``(S,)`` source weights, summing to 1.
        cand_branch: ``(n,)`` branch of each candidate (`branch_of`).
        free: ``(n,)`` candidates that may be picked (at least one).
        n_branches: number of branches.
        best: ``best_free(cand_mean, free)`` when the caller has it already.

    Returns:
        ``(n_branches,)`` support, summing to the weights' total.
    """
    if best is None:
        best = best_free(cand_mean, free)
    return np.bincount(cand_branch[best], weights=weights, minlength=n_branches)


def best_free(cand_mean: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Each source's best free candidate: the index of its largest prediction among
    ``free`` (the first one on ties).

    Args:
        cand_mean: ``S x n`` source predictions at the candidates (larger is better).
        free: ``(n,)`` candidates that may be picked (at least one).

    Returns:
        ``(S,)`` candidate indices.
    """
    return np.where(free[None, :], cand_mean, -np.inf).argmax(axis=1)


def hedge_branch(
    support: np.ndarray,
    covered: np.ndarray,
    cand_branch: np.ndarray,
    free: np.ndarray,
    share: float,
) -> int | None:
    """The branch a hedge pick should try, or ``None``.

    The sources' best configurations can lie in different branches (an SVM is best on one
    dataset, a forest on another), and a target whose picks all lie in one branch gives
    the ranking weights no evidence about the others. A branch that at least ``share`` of
    the (weighted) sources put their best in, untried by the target so far, gets one pick:
    the most supported such branch first.

    Args:
        support: ``(n_branches,)`` from `branch_support`.
        covered: ``(n_branches,)`` booleans, branches the target has tried (or has a
            pending pick in).
        cand_branch: ``(n,)`` branch of each candidate.
        free: ``(n,)`` candidates that may be picked.
        share: the support a branch needs.

    Returns:
        The branch index, or ``None`` when every supported branch was tried.
    """
    for branch in np.argsort(-support, kind="stable"):
        if support[branch] < share:
            return None
        if not covered[branch] and (free & (cand_branch == branch)).any():
            return int(branch)
    return None


def starved_incumbent_branch(
    branch_sequence: np.ndarray, obs_y: np.ndarray, patience: int
) -> int | None:
    """The branch of the target's best observation, when the last picks all left it.

    A transfer search follows the sources' favourite branch. When the target's best
    observation lies in another branch (found by a hedge pick, say) and ``patience``
    picks in a row went elsewhere without beating it, the sources keep outvoting the
    target's own evidence; the next pick should look in the incumbent's branch again.
    The incumbent's branch thus gets at least one pick in ``patience + 1`` while it holds
    the best observation, and none when the picks that left it improved on it.

    Args:
        branch_sequence: the branch of each observation in the order observed, then of
            each pending pick (`branch_of`).
        obs_y: the observations (larger is better), aligned with the first ``len(obs_y)``
            entries of ``branch_sequence``.
        patience: picks outside the incumbent's branch that are tolerated (at least 1).

    Returns:
        The incumbent's branch, or ``None`` (too few picks yet, or one of the last
        ``patience`` picks lies in it).
    """
    if patience < 1:
        raise ValueError(f"patience must be at least 1, got {patience}")
    if len(obs_y) == 0 or len(branch_sequence) <= patience:
        return None
    incumbent = int(branch_sequence[int(np.argmax(obs_y))])
    if (np.asarray(branch_sequence[-patience:]) == incumbent).any():
        return None
    return incumbent


def plateau_branches(obs_branch: np.ndarray, obs_y: np.ndarray, ties: int) -> tuple[int, ...]:
    """The branches where at least ``ties`` observations equal the target's best value.

    A metric measured at a finite resolution (the error on a few hundred validation rows,
    say) is flat over much of a branch: every configuration there scores the same. Once
    several of the branch's configurations have returned the target's best value exactly,
    more of them will most likely return it again, while the sources, which rank that
    branch first and are never contradicted by tied observations, keep pointing there.
    Such a branch is flat at the incumbent; a better value, if any, lies in another branch.
    A continuous metric never ties, so nothing is named there.

    Args:
        obs_branch: the branch of each observation (`branch_of`).
        obs_y: the observations (larger is better), aligned with ``obs_branch``.
        ties: observations at the best value that make a branch flat (at least 2).

    Returns:
        The flat branches, in increasing order (empty when none).

    Raises:
        ValueError: ``ties`` below 2.
    """
    if ties < 2:
        raise ValueError(f"ties must be at least 2, got {ties}")
    obs_y = np.asarray(obs_y, dtype=np.float64)
    if len(obs_y) < ties or not np.isfinite(obs_y).any():
        return ()
    at_best = obs_y == np.nanmax(obs_y)
    counts = np.bincount(np.asarray(obs_branch)[at_best])
    return tuple(int(b) for b in np.flatnonzero(counts >= ties))


def stalled_branch(branch_sequence: np.ndarray, obs_y: np.ndarray, patience: int) -> int | None:
    """The branch the last picks all went to without beating the best before them.

    The mirror of `starved_incumbent_branch`: a transfer search that has found the best
    of the sources' favourite branch keeps refining it, though the target's optimum may
    lie in a branch it tried once or never. When ``patience`` picks in a row lie in one
    branch and none of them improved on the target's best so far, the next pick should
    look outside it. A branch that keeps improving is never named.

    Args:
        branch_sequence: the branch of each observation in the order observed, then of
            each pending pick (`branch_of`).
        obs_y: the observations (larger is better), aligned with the first ``len(obs_y)``
            entries of ``branch_sequence``; pending picks count as picks that did not
            improve.
        patience: picks in one branch without an improvement that are tolerated (at
            least 1).

    Returns:
        That branch, or ``None`` (too few picks yet, the last ``patience`` picks span
        several branches, or one of them holds the best observation).
    """
    if patience < 1:
        raise ValueError(f"patience must be at least 1, got {patience}")
    if len(obs_y) == 0 or len(branch_sequence) <= patience:
        return None
    window = np.asarray(branch_sequence[-patience:])
    if (window != window[0]).any() or int(np.argmax(obs_y)) >= len(branch_sequence) - patience:
        return None
    return int(window[0])
