"""The argmax of an expensive score, found by scoring only where an upper bound can win."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["bounded_argmax"]

#: Candidates scored exactly at a time, best bounds first.
DEFAULT_BLOCK = 256


def bounded_argmax(
    upper: np.ndarray,
    candidates: np.ndarray,
    exact: Callable[[np.ndarray], np.ndarray],
    *,
    block: int = DEFAULT_BLOCK,
) -> tuple[int, float]:
    """The candidate of largest exact score, and that score, given upper bounds of it.

    Candidates are scored exactly in blocks of ``block``, in decreasing order of their
    bound, until the next bound is below the best exact score found: no candidate left can
    beat it. Among equal exact scores the smallest index wins, as with ``np.argmax``.

    Args:
        upper: ``(len(candidates),)`` upper bounds of the candidates' exact scores.
        candidates: the candidates' indices (non-empty).
        exact: maps an array of candidate indices to their exact scores.
        block: candidates scored exactly at a time.

    Returns:
        ``(index, score)`` of the best candidate.
    """
    order = np.argsort(-upper, kind="stable")
    best_index, best_score = -1, -np.inf
    for start in range(0, len(order), block):
        chunk = order[start : start + block]
        if upper[chunk[0]] < best_score:
            break
        rows = candidates[chunk]
        score = exact(rows)
        top = float(score.max())
        first = int(rows[score == top].min())
        if top > best_score or (top == best_score and first < best_index):
            best_index, best_score = first, top
    return best_index, best_score
