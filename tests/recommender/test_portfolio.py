"""The portfolio over source hypotheses: improvement under each source's view."""

from __future__ import annotations

import numpy as np

from recommender.portfolio import hypothesis_improvement, regret_hypotheses


def test_improvement_counts_only_gains_over_each_sources_own_incumbent() -> None:
    # source 0 already has its best (0.9) chosen; source 1's chosen best is 0.2
    mean = np.array([[0.5, 0.95, 0.1], [0.8, 0.1, 0.3]])
    chosen = np.array([[0.9, 0.0], [0.2, 0.1]])
    weights = np.array([0.5, 0.5])
    np.testing.assert_allclose(
        hypothesis_improvement(mean, chosen, weights), [0.5 * 0.6, 0.5 * 0.05, 0.5 * 0.1]
    )
    # a candidate that helps only the source with no weight is worth nothing
    np.testing.assert_allclose(hypothesis_improvement(mean, chosen, np.array([0.0, 1.0]))[1], 0.0)


def test_a_diverse_pick_beats_a_second_copy_of_the_majoritys_optimum() -> None:
    """Two sources favour candidate 0, one favours candidate 2: once 0 is chosen, the
    portfolio's next pick is 2, not 1 (almost as good as 0 for the majority)."""
    mean = np.array([[1.0, 0.95, 0.0], [1.0, 0.95, 0.0], [0.0, 0.1, 1.0]])
    score = hypothesis_improvement(mean, mean[:, [0]], np.full(3, 1 / 3))
    assert int(np.argmax(score)) == 2


def test_regret_hypotheses_chain_the_observations_and_the_pending_picks() -> None:
    cand = np.array([[0.1, 0.7, 0.4], [0.3, 0.2, 0.9]])
    obs = np.array([[0.5], [0.6]])
    reg, chosen = regret_hypotheses(cand, obs, None, pending=[2])
    np.testing.assert_array_equal(reg, cand)  # no quantile tables: already on one scale
    np.testing.assert_array_equal(chosen, [[0.5, 0.4], [0.6, 0.9]])
    # copula-scale means through each source's quantile table: monotone, within its range
    tables = np.array([np.linspace(0.0, 1.0, 201), np.linspace(0.2, 0.8, 201)])
    reg, chosen = regret_hypotheses(cand, obs, tables, pending=[])
    assert chosen.shape == (2, 1)
    assert np.all(np.diff(reg[0, np.argsort(cand[0])]) > 0)
    assert reg[1].min() >= 0.2 and reg[1].max() <= 0.8
