"""`bounded_argmax`: the argmax of the exact scores, read only where a bound can win."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.bounded_argmax import bounded_argmax


@pytest.mark.parametrize("seed", range(5))
def test_equals_the_argmax_and_scores_few_candidates(seed: int) -> None:
    rng = np.random.default_rng(seed)
    exact_all = rng.normal(size=5000)
    upper = exact_all + rng.exponential(0.05, size=5000)  # a bound, loose by a little
    candidates = np.arange(5000)
    scored: list[int] = []

    def exact(rows: np.ndarray) -> np.ndarray:
        scored.extend(rows.tolist())
        return exact_all[rows]

    index, score = bounded_argmax(upper, candidates, exact, block=32)

    assert index == int(np.argmax(exact_all)) and score == exact_all.max()
    assert 0 < len(scored) <= 5 * 32


def test_ties_go_to_the_smallest_index_and_indices_map_through_candidates() -> None:
    candidates = np.array([7, 3, 9, 4])
    values = {7: 1.0, 3: 2.0, 9: 2.0, 4: 0.5}

    index, score = bounded_argmax(
        np.array([2.0, 2.0, 2.5, 3.0]),
        candidates,
        lambda rows: np.array([values[int(r)] for r in rows]),
        block=1,
    )

    assert (index, score) == (3, 2.0)
