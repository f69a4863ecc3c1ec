"""Which candidates `Recommender.suggest` may propose: the filters applied before a pick.

Each is a pure function of the encoded candidates (``n x d``, unit cube) and a boolean
``free`` mask: never an observed pool row (`free_candidates`, `matching_rows`), the box around a trusted
default (`default_box`, `inside_box`), the cost cap (`under_cap`), and the same checks
composed for the gradient search (`all_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from library.exceptions import SpaceError
from recommender.cost_cap import CostCap
from recommender.default_box import DefaultBox
from recommender.space import Space

__all__ = [
    "all_of",
    "default_box",
    "far_from",
    "free_candidates",
    "inside_box",
    "matching_rows",
    "under_cap",
]


def matching_rows(X: np.ndarray, rows: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """``(len(X),)`` mask: which rows of ``X`` equal some row of ``rows`` (max-norm within
    ``tol``), e.g. which encoded candidates are already observed."""
    if not len(X) or not len(rows):
        return np.zeros(len(X), dtype=bool)
    return (np.abs(X[:, None, :] - rows[None, :, :]).max(axis=-1) < tol).any(axis=1)


def free_candidates(
    cand_X: np.ndarray, obs_X: np.ndarray, is_pool: bool, min_distance: float = 0.0
) -> np.ndarray:
    """Candidates that may be proposed.

    In pool mode never an observed configuration. Otherwise none closer than
    ``min_distance`` (Euclidean, encoded unit cube) to an observed one, unless that leaves
    nothing (a space too small for the search: then any candidate may repeat one).
    """
    free = np.ones(len(cand_X), dtype=bool)
    if is_pool and len(obs_X):
        free &= ~matching_rows(cand_X, obs_X)
        if not free.any():
            raise SpaceError(
                f"every one of the {len(cand_X)} pool configurations is already observed; "
                "nothing left to suggest (enlarge the pool or drop `pool=`)"
            )
    elif min_distance > 0 and len(obs_X):
        far = far_from(cand_X, obs_X, min_distance)
        if far.any():
            free &= far
    return free


def default_box(
    space: Space, default: Mapping[str, Any] | None, max_deviation: float | None
) -> DefaultBox | None:
    """The box `suggest`'s ``default`` and ``max_deviation`` ask for, or ``None``."""
    if default is None and max_deviation is None:
        return None
    if default is None or max_deviation is None:
        given, missing = (
            ("max_deviation", "default") if default is None else ("default", "max_deviation")
        )
        raise SpaceError(
            f"`{given}=` needs `{missing}=` as well: proposals are kept within max_deviation "
            "of the default configuration"
        )
    return DefaultBox.around(space, default, max_deviation)


def inside_box(box: DefaultBox, cand_X: np.ndarray, free: np.ndarray, is_pool: bool) -> np.ndarray:
    """``free`` restricted to ``box``. Off a pool, when the box holds no free candidate
    (all near observations), any candidate in the box may repeat one; in pool mode that is
    an error, as is a pool with no row in the box."""
    inside = box.contains(cand_X)
    if (free & inside).any():
        return free & inside
    if is_pool:
        what = "unobserved " if inside.any() else ""
        raise SpaceError(
            f"no {what}pool configuration lies within max_deviation={box.max_deviation:g} of "
            f"the default ({inside.sum()} of {len(cand_X)} in the box); widen max_deviation "
            "or add pool rows near the default"
        )
    return inside


def under_cap(
    cap: CostCap, cand_X: np.ndarray, free: np.ndarray, n: int
) -> tuple[np.ndarray, CostCap]:
    """``free`` restricted to the candidates ``cap`` admits, and the cap applied: relaxed
    when too few free candidates are admitted (`CostCap.relaxed`: the cheapest 1 %, at
    least ``n``), so some always are."""
    if not free.any():
        return free, cap
    cap = cap.relaxed(cand_X[free], max(n, int(np.ceil(0.01 * free.sum()))))
    return free & cap.admissible(cand_X), cap


def all_of(
    *checks: Callable[[np.ndarray], np.ndarray] | None,
) -> Callable[[np.ndarray], np.ndarray] | None:
    """The points every given check admits (``None``: no check given)."""
    given = [check for check in checks if check is not None]
    if not given:
        return None
    if len(given) == 1:
        return given[0]
    return lambda X: np.logical_and.reduce([check(X) for check in given])


def far_from(X: np.ndarray, rows: np.ndarray, distance: float) -> np.ndarray:
    """``(len(X),)`` mask: rows of ``X`` at least ``distance`` (Euclidean) from every row
    of ``rows``."""
    from scipy.spatial import cKDTree

    nearest, _ = cKDTree(rows).query(X, k=1)
    return np.asarray(nearest >= distance)
