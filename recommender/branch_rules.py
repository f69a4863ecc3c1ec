"""The transfer search's rules for a space with branches (a categorical parent, such as
``learner``, switching each branch's parameters on and off).

With a library in use the sources decide which branch the picks go to; these rules keep
the target's own evidence in the loop (`recommender.transfer.propose` applies them):

* `hedge_pick`: an early pick in a branch that enough sources put their best in and the
  target has not tried, and a second look at one tried once
  (`TransferOptions.branch_hedge_share`, `TransferOptions.branch_second_look`);
* `incumbent_branch_mask`: back to the incumbent's branch when the last picks all left it
  for the sources' favourite (`TransferOptions.incumbent_patience`);
* `stalled_branch_mask`: out of a branch whose last picks did not beat the target's best
  (`TransferOptions.stall_patience`, off by default);
* `flat_branches`: out of a branch whose observations tie the target's best value
  (`TransferOptions.branch_plateau_ties`).

The branch decisions themselves are pure functions of `recommender.branch_search`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommender.branch_search import (
    best_free,
    branch_of,
    branch_support,
    hedge_branch,
    plateau_branches,
    stalled_branch,
    starved_incumbent_branch,
)
from recommender.portfolio import hypothesis_improvement, regret_hypotheses

__all__ = [
    "branch_sequence",
    "flat_branches",
    "flat_note",
    "hedge_gains",
    "hedge_pick",
    "incumbent_branch_mask",
    "stalled_branch_mask",
]


def hedge_pick(
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
    margin: float = 0.0,
) -> tuple[int, float, str] | None:
    """A pick in a branch that enough sources put their best in and the target has not
    tried (`recommender.branch_search.hedge_branch`), or ``None``. With ``revisit`` (the
    second look, `TransferOptions.branch_second_look`): in such a branch that the target
    has tried exactly once, within its first ``revisit`` picks.

    ``picks_X`` are all the target's observations in order (which branches it tried, and
    when); ``obs_mean`` the sources' predictions at the (possibly subsampled) ones the
    models use.

    With ``margin`` above 0 a source counts towards a branch's support only when its best
    candidate there beats its best in every other branch the target has tried by more than
    ``margin`` on its regret scale (`hedge_gains`): a branch that a source scores the same
    as one already tried (two flavours of the same learner, say) is no insurance. The
    sources left out of the support are left out of placing the pick too.

    Within that branch, the pick maximises the weighted improvement over the target's
    observations (and pending picks) under each source hypothesis, on the regret scale:
    the portfolio's criterion (`hypothesis_improvement`), so the sources that favour the
    branch choose where in it to look.
    """
    n_branches = len(branch_columns)
    cand_branch, tried = branch_sequence(cand_X, picks_X, pending, branch_columns)
    counts = np.bincount(tried, minlength=n_branches)
    if revisit is None:
        covered = counts > 0
    else:  # only a one-shot verdict of the first picks is looked at again
        covered = (counts != 1) | (np.bincount(tried[:revisit], minlength=n_branches) == 0)
    reg_mean, chosen = regret_hypotheses(cand_mean, obs_mean, quantiles, pending)
    best = best_free(cand_mean, free)  # one argmax for the gains and the support
    if margin > 0:
        gains = hedge_gains(reg_mean, cand_branch, best, counts > 0, n_branches)
        weights = np.where(gains > margin, weights, 0.0)
    support = branch_support(cand_mean, weights, cand_branch, free, n_branches, best=best)
    branch = hedge_branch(support, covered, cand_branch, free, share)
    if branch is None:
        return None
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
    ahead = f", ahead of the tried branches by more than {margin:g}" if margin > 0 else ""
    note = (
        f"a hedge pick in branch {branch}, {tried_note}, where {support[branch]:.0%} of the "
        f"sources put their best configuration{ahead}"
    )
    return index, float(score[index]), note


def hedge_gains(
    reg_mean: np.ndarray,
    cand_branch: np.ndarray,
    best: np.ndarray,
    tried: np.ndarray,
    n_branches: int,
) -> np.ndarray:
    """How much each source's best free candidate beats its best candidate in the other
    branches the target has tried, on its regret scale (``inf`` when no other branch has
    been tried; negative when a tried branch holds something better).

    Args:
        reg_mean: ``S x n`` source predictions on the regret scale (1 = a source's best).
        cand_branch: ``(n,)`` branch of each candidate.
        best: ``(S,)`` each source's best free candidate (`best_free` on its
            predictions), the same one `branch_support` counts, so a source's gain is
            measured for the branch it supports even where the regret scale ties its top.
        tried: ``(n_branches,)`` booleans, branches the target has an observation or a
            pending pick in.
        n_branches: number of branches.

    Returns:
        ``(S,)`` gains.
    """
    top = reg_mean[np.arange(len(reg_mean)), best]
    gains = np.full(len(reg_mean), np.inf)
    for b in range(n_branches):
        inside = cand_branch == b
        if not tried[b] or not inside.any():
            continue
        level = reg_mean[:, inside].max(axis=1)
        gains = np.where(cand_branch[best] != b, np.minimum(gains, top - level), gains)
    return gains


def branch_sequence(
    cand_X: np.ndarray, obs_X: np.ndarray, pending: Sequence[int], branch_columns: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The branch of every candidate, and of the target's picks in order: its
    observations, then the pending picks."""
    cand_branch = branch_of(cand_X, branch_columns)
    return cand_branch, np.concatenate(
        [branch_of(obs_X, branch_columns), cand_branch[list(pending)]]
    )


def incumbent_branch_mask(
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
    ``cand_branch`` and ``sequence`` come from `branch_sequence`.

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


def stalled_branch_mask(
    cand_branch: np.ndarray,
    sequence: np.ndarray,
    obs_y: np.ndarray,
    free: np.ndarray,
    patience: int,
) -> tuple[np.ndarray, int | None, str]:
    """``free`` without the branch the last ``patience`` picks all went to without beating
    the target's best (`recommender.branch_search.stalled_branch`), that branch and a
    note; ``free`` unchanged, ``None``, ``""`` when there is none or no free candidate
    lies outside it. ``cand_branch`` and ``sequence`` come from `branch_sequence`."""
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


def flat_branches(
    cand_X: np.ndarray,
    obs_X: np.ndarray,
    obs_y: np.ndarray,
    free: np.ndarray,
    branch_columns: Sequence[int],
    ties: int | None,
) -> tuple[np.ndarray, tuple[int, ...]]:
    """``free`` without the branches whose ``ties`` or more observations equal the
    target's best value (`recommender.branch_search.plateau_branches`), and those branches;
    ``free`` unchanged and ``()`` when there are none, or nothing else (or nothing in
    them) is free."""
    if ties is None or len(branch_columns) < 2 or not len(obs_y):
        return free, ()
    flat = plateau_branches(branch_of(obs_X, branch_columns), obs_y, ties)
    outside = free & ~np.isin(branch_of(cand_X, branch_columns), flat)
    if flat and outside.any() and (free & ~outside).any():
        return outside, flat
    return free, ()


def flat_note(flat: tuple[int, ...], ties: int) -> str:
    """The explanation's note on the branches `flat_branches` took out."""
    one = len(flat) == 1
    names = ("branch " if one else "branches ") + ", ".join(map(str, flat))
    return (
        f"{names} left, flat at the incumbent: {ties} or more observations in "
        f"{'it' if one else 'each'} equal the target's best value"
    )
