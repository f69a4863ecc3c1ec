"""The ensemble's argmax: the dense answer, with fewer source standard deviations."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.ensemble import (
    LazyMemberStd,
    ensemble_argmax,
    ensemble_scores,
    loc_scale,
    member_std,
    normalised_weights,
)
from recommender.surrogate import LazySourceStd, fit_source_model, predict_sources


def _sources(n_sources: int = 4, d: int = 3) -> list:
    models = []
    for s in range(n_sources):
        rng = np.random.default_rng(100 + s)
        X = rng.random((60, d))
        optimum = rng.random(d)
        models.append(fit_source_model(f"s{s}", X, -((X - optimum) ** 2).sum(1), n_fit=40))
    return models


@pytest.fixture(scope="module")
def sources() -> list:
    return _sources()


def _members(
    models: list, cand: np.ndarray, lazy: bool, seed: int
) -> tuple[np.ndarray, list, np.ndarray]:
    """A target member (exact) plus every source, standardised over the candidates."""
    rng = np.random.default_rng(seed)
    means, std = predict_sources(models, cand)
    source_std = LazySourceStd(models, cand) if lazy else std
    mean_rows = [rng.normal(size=len(cand))]
    std_rows: list = [rng.uniform(0.2, 1.0, size=len(cand))]
    for s in range(len(models)):
        sd = float(means[s].std())
        mean_rows.append((means[s] - means[s].mean()) / sd)
        std_rows.append(member_std(source_std, s, sd))
    weights = rng.dirichlet(np.ones(len(std_rows)))
    return np.stack(mean_rows), std_rows, weights


def _dense(std_rows: list) -> np.ndarray:
    return np.stack([s.dense() if isinstance(s, LazyMemberStd) else s for s in std_rows])


@pytest.mark.parametrize("mixture", [False, True])
@pytest.mark.parametrize("variance", ["within", "independent"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_argmax_equals_the_dense_argmax(
    sources: list, mixture: bool, variance: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    cand = rng.random((3000, 3))
    free = rng.random(3000) > 0.1
    mean, lazy_rows, weights = _members(sources, cand, lazy=True, seed=seed)
    best = float(np.quantile(weights @ mean, 0.9))
    index, score = ensemble_argmax(
        mean, lazy_rows, weights, best, free, mixture=mixture, variance=variance, block=64
    )
    dense = ensemble_scores(
        mean, _dense(lazy_rows), weights, best, mixture=mixture, variance=variance
    )
    dense = np.where(free, dense, -np.inf)
    assert index == int(np.argmax(dense)) and free[index]
    assert score == pytest.approx(float(dense.max()), abs=1e-12)


def test_argmax_computes_few_source_deviations(sources: list, predicted_rows: list[int]) -> None:
    cand = np.random.default_rng(5).random((4000, 3))
    mean, rows, weights = _members(sources, cand, lazy=True, seed=5)
    predicted_rows.clear()  # the means above
    ensemble_argmax(mean, rows, weights, float((weights @ mean).max()), np.ones(4000, bool))
    assert 0 < sum(predicted_rows) < 0.5 * 4000 * len(sources)


def test_ties_keep_the_first_index_and_arrays_score_densely(sources: list) -> None:
    cand = np.random.default_rng(9).random((500, 3))
    cand = np.vstack([cand, cand])  # every candidate twice: equal scores
    mean, lazy_rows, weights = _members(sources, cand, lazy=True, seed=9)
    mean[:, 500:] = mean[:, :500]
    lazy_rows[0] = np.tile(lazy_rows[0][:500], 2)
    free = np.ones(1000, bool)
    free[:250] = False
    index, _ = ensemble_argmax(mean, lazy_rows, weights, 0.0, free, block=32)
    dense = np.where(free, ensemble_scores(mean, _dense(lazy_rows), weights, 0.0), -np.inf)
    assert index == int(np.argmax(dense))
    _, array_rows, _ = _members(sources, cand, lazy=False, seed=9)
    array_rows[0] = lazy_rows[0]
    assert ensemble_argmax(mean, array_rows, weights, 0.0, free)[0] == index


def test_nothing_free_gives_minus_infinity(sources: list) -> None:
    cand = np.random.default_rng(11).random((50, 3))
    mean, rows, weights = _members(sources, cand, lazy=True, seed=11)
    index, score = ensemble_argmax(mean, rows, weights, 0.0, np.zeros(50, bool))
    assert index == 0 and score == -np.inf


def test_loc_scale_standardises_rows_and_keeps_a_constant_row_constant() -> None:
    values = np.array([[1.0, 3.0], [2.0, 2.0]])
    loc, scale = loc_scale(values)
    np.testing.assert_allclose(loc, [2.0, 2.0])
    np.testing.assert_allclose(scale, [1.0, 1.0])  # the constant row's 0 becomes 1
    np.testing.assert_allclose((values - loc[:, None]) / scale[:, None], [[-1, 1], [0, 0]])


def test_normalised_weights_sum_to_one_and_are_uniform_when_all_zero() -> None:
    np.testing.assert_allclose(normalised_weights(np.array([1.0, 3.0])), [0.25, 0.75])
    np.testing.assert_allclose(normalised_weights(np.zeros(4)), np.full(4, 0.25))
