"""The filters `Recommender.suggest` applies to candidates before a pick."""

from __future__ import annotations

import numpy as np
import pytest

from library.exceptions import SpaceError
from recommender.candidate_filters import (
    all_of,
    default_box,
    far_from,
    free_candidates,
    inside_box,
    matching_rows,
)
from recommender.space import Space

SPACE = Space.from_dict(
    {
        "parameters": [
            {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "y", "type": "float", "low": 0.0, "high": 1.0},
        ]
    }
)


def test_matching_rows_finds_rows_equal_up_to_rounding_and_nothing_in_empty_inputs() -> None:
    X = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    rows = np.array([[0.3 + 1e-12, 0.4], [0.5, 0.6001]])
    assert matching_rows(X, rows).tolist() == [False, True, False]
    assert matching_rows(X, np.empty((0, 2))).tolist() == [False] * 3
    assert matching_rows(np.empty((0, 2)), rows).shape == (0,)


def test_a_pool_never_offers_an_observed_row_and_says_when_nothing_is_left() -> None:
    pool = np.array([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]])
    free = free_candidates(pool, pool[[0, 2]], is_pool=True)
    assert free.tolist() == [False, True, False]
    with pytest.raises(SpaceError, match="every one of the 3 pool configurations"):
        free_candidates(pool, pool, is_pool=True)


def test_off_a_pool_the_distance_applies_unless_it_leaves_nothing() -> None:
    cand = np.array([[0.0, 0.0], [0.05, 0.0], [1.0, 1.0]])
    observed = np.array([[0.0, 0.0]])
    assert free_candidates(cand, observed, False, 0.1).tolist() == [False, False, True]
    assert free_candidates(cand, observed, False, 0.0).all()  # no distance: repeats allowed
    assert free_candidates(cand, cand, False, 0.1).all()  # nothing far enough: any may repeat


def test_far_from_measures_euclidean_distance_to_the_nearest_row() -> None:
    X = np.array([[0.0, 0.0], [0.3, 0.4], [1.0, 1.0]])
    assert far_from(X, np.array([[0.0, 0.0]]), 0.5).tolist() == [False, True, True]
    assert far_from(X, np.array([[0.0, 0.0]]), 0.51).tolist() == [False, False, True]


def test_a_default_box_needs_both_the_default_and_the_deviation() -> None:
    assert default_box(SPACE, None, None) is None
    with pytest.raises(SpaceError, match="`max_deviation=` needs `default=`"):
        default_box(SPACE, None, 0.2)
    with pytest.raises(SpaceError, match="`default=` needs `max_deviation=`"):
        default_box(SPACE, {"x": 0.5, "y": 0.5}, None)
    assert default_box(SPACE, {"x": 0.5, "y": 0.5}, 0.2) is not None


def test_inside_the_box_off_a_pool_may_repeat_but_a_pool_outside_it_is_an_error() -> None:
    box = default_box(SPACE, {"x": 0.5, "y": 0.5}, 0.1)
    assert box is not None
    cand = np.array([[0.5, 0.5], [0.52, 0.48], [0.9, 0.9]])
    free = np.array([True, True, True])
    assert inside_box(box, cand, free, is_pool=True).tolist() == [True, True, False]
    taken = np.array([False, False, True])  # the only free row is outside the box
    assert inside_box(box, cand, taken, is_pool=False).tolist() == [True, True, False]
    with pytest.raises(SpaceError, match="no unobserved pool configuration lies within"):
        inside_box(box, cand, taken, is_pool=True)
    with pytest.raises(SpaceError, match=r"no pool configuration lies within .*0 of 1"):
        inside_box(box, cand[2:], free[2:], is_pool=True)


def test_all_of_admits_what_every_check_admits() -> None:
    X = np.array([[0.1], [0.5], [0.9]])
    low = lambda X: X[:, 0] < 0.7  # noqa: E731
    high = lambda X: X[:, 0] > 0.3  # noqa: E731
    assert all_of(None, None) is None
    assert all_of(None, low) is low
    both = all_of(low, None, high)
    assert both is not None and both(X).tolist() == [False, True, False]
