"""The zero-shot pick's criteria and the leave-one-source-out test between them."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from recommender.first_pick import (
    cached_choose_first_pick,
    choice_cache_key,
    choose_first_pick,
    cross_predictions,
    first_pick_argmax,
    first_pick_scores,
    paired_t_statistic,
    sign_statistic,
    source_typicality,
    zero_shot_scores,
)
from recommender.gp_cache import prune_cache
from recommender.surrogate import LazySourceStd, SourceModel, fit_source_model, predict_sources
from recommender.transfer import TransferOptions, run_pool_search

GRID = np.linspace(0.0, 1.0, 160)[:, None]


def _bump(center: float, width: float) -> np.ndarray:
    return np.exp(-(((GRID[:, 0] - center) / width) ** 2))


def _task(name: str, *, outlier: bool, shift: float) -> SourceModel:
    """A sharp peak at 0.2 and a broad second best at 0.8; an outlier has a pit at 0.2."""
    peak = (-0.3 if outlier else 0.7) * _bump(0.2 + shift, 0.04)
    score = 0.3 + peak + 0.3 * _bump(0.8 + shift, 0.1)
    return fit_source_model(name, GRID, score, n_fit=80, n_condition=160)


@pytest.fixture(scope="module")
def library() -> list[SourceModel]:
    """Ten tasks whose best is a sharp peak that two outlier tasks have as their worst.

    On the regret scale the peak wins despite the outliers (the regret LCB picks it); on
    the copula scale the broad second best ranks nearly as high as the peak on every task,
    so the copula mean picks the second best, about half of the ten tasks' range below their peak.
    """
    return [_task(f"t{i}", outlier=i >= 10, shift=0.004 * (i % 5)) for i in range(12)]


def test_unknown_criterion_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="zero-shot criterion"):
        first_pick_scores("median", np.zeros((2, 3)), np.zeros((2, 3)), None)
    with pytest.raises(ValueError, match="zero_shot_criterion"):
        TransferOptions(zero_shot_criterion="median")


def test_copula_mean_is_the_plain_mean_and_regret_lcb_penalises_disagreement() -> None:
    # candidate 0: better on average (0.7 vs 0.6), but the two sources disagree about it
    mean = np.array([[1.4, 0.6], [0.0, 0.6]])
    std = np.zeros_like(mean)
    assert int(np.argmax(first_pick_scores("copula-mean", mean, std, None))) == 0
    assert int(np.argmax(first_pick_scores("regret-lcb", mean, std, None))) == 1
    np.testing.assert_allclose(
        first_pick_scores("regret-lcb", mean, std, None), zero_shot_scores(mean, std, kappa=1.0)
    )


@pytest.mark.parametrize("criterion", ["regret-lcb", "copula-mean", "typical-copula"])
@pytest.mark.parametrize("kappa", [1.0, 0.0, -0.5])
def test_argmax_equals_the_dense_argmax_and_reads_few_deviations(
    library: list[SourceModel], criterion: str, kappa: float, predicted_rows: list[int]
) -> None:
    cand = np.random.default_rng(3).random((2000, 1))
    mean, std = predict_sources(library, cand)
    quantiles = np.stack([m.quantiles for m in library])
    weights = np.random.default_rng(4).dirichlet(np.ones(len(library)))
    free = np.random.default_rng(5).random(2000) > 0.2
    dense = first_pick_scores(criterion, mean, std, quantiles, weights, kappa=kappa)
    dense = np.where(free, dense, -np.inf)
    predicted_rows.clear()  # the predictions above
    lazy = LazySourceStd(library, cand)
    index, score = first_pick_argmax(
        criterion, mean, lazy, quantiles, weights, free, kappa=kappa, block=64
    )

    assert index == int(np.argmax(dense)) and score == pytest.approx(dense.max(), abs=1e-12)
    if criterion == "regret-lcb" and kappa > 0:  # a few blocks of candidates
        assert 0 < sum(predicted_rows) < 0.5 * 2000 * len(library)
    elif kappa >= 0:  # the copula criteria and kappa = 0 need no standard deviation
        assert predicted_rows == []
    arrays = first_pick_argmax(criterion, mean, std, quantiles, weights, free, kappa=kappa)
    assert arrays == (int(np.argmax(dense)), float(dense.max()))


def test_typicality_discounts_a_source_that_agrees_with_no_other() -> None:
    # three sources rank candidate 0 first and 1 second; the fourth ranks them last and first
    majority = np.array([1.0, 0.9, 0.0, -0.5, -1.0])
    mean = np.stack([majority, majority + 0.01, majority - 0.01, [-3.0, 3.0, 1.0, 0.5, 0.0]])
    std = np.zeros_like(mean)
    weights = source_typicality(mean)
    np.testing.assert_allclose(weights, [1 / 3, 1 / 3, 1 / 3, 0.0])
    # the plain copula mean follows the contrarian's large value, the typical mean does not
    assert int(np.argmax(first_pick_scores("copula-mean", mean, std, None))) == 1
    assert int(np.argmax(first_pick_scores("typical-copula", mean, std, None))) == 0


def test_typicality_is_uniform_when_nothing_agrees() -> None:
    mean = np.array([[1.0, 0.0, 2.0], [2.0, 0.0, 1.0]])
    np.testing.assert_allclose(source_typicality(mean[:, :1]), [0.5, 0.5])  # one candidate
    np.testing.assert_allclose(source_typicality(np.array([[1.0, 2.0], [2.0, 1.0]])), [0.5, 0.5])
    np.testing.assert_allclose(source_typicality(np.array([[1.0, 2.0]])), [1.0])


def test_leave_one_source_out_measures_the_alternative_against_the_lcb(library) -> None:
    choice = choose_first_pick(library)
    # negative: discounting the two outlier tasks (their pit is the others' peak) lets the
    # typical copula mean pick the peak, so its left-out regret is lower than the LCB's;
    # the default threshold asks for more evidence than twelve tasks give here
    assert choice.t_statistic < 0
    either = min(choice.t_statistic, choice.sign_statistic)
    expected = "typical-copula" if either < -1.645 else "regret-lcb"
    assert choice.criterion == expected
    assert choice.n_sources == 12
    assert f"t = {choice.t_statistic:.2f}" in choice.reason
    assert f"sign statistic {choice.sign_statistic:.2f}" in choice.reason


def test_switch_threshold_decides_on_the_lower_of_the_two_statistics(library) -> None:
    choice = choose_first_pick(library)
    lower = min(choice.t_statistic, choice.sign_statistic)
    assert choose_first_pick(library, switch_t=-(lower + 1.0)).criterion == "typical-copula"
    assert choose_first_pick(library, switch_t=-(lower - 1.0)).criterion == "regret-lcb"


def test_sign_statistic_counts_tasks_not_sizes() -> None:
    # better by a little on twelve tasks, far worse on two: t says no, the count says yes
    broad = [-0.01] * 12 + [0.5, 0.5]
    assert paired_t_statistic(broad) > 0
    assert sign_statistic(broad) == pytest.approx((2 - 12) / math.sqrt(14))
    assert sign_statistic(broad) < -1.645
    # ties (both criteria picked equally well) are left out; nothing left is no evidence
    assert sign_statistic([0.0, 0.0, -0.2, 0.1]) == 0.0
    assert sign_statistic([0.0, 0.0]) == 0.0
    assert sign_statistic([-0.1, -0.3, -0.2]) == pytest.approx(-math.sqrt(3))


def test_too_few_sources_keep_the_default_without_a_test(library) -> None:
    choice = choose_first_pick(library[:3], min_sources=5)
    assert choice.criterion == "regret-lcb"
    assert math.isnan(choice.t_statistic)
    assert "5 needed" in choice.reason


def test_cross_predictions_are_reused(library) -> None:
    cache = cross_predictions(library[:4])
    assert len(cache) == 4 * 3
    first = cache[("t0", "t1")][0]
    again = cross_predictions(library[:4], cache)
    assert again is cache and again[("t0", "t1")][0] is first


def test_search_logs_the_choice_and_follows_it(library) -> None:
    pool_y = 0.3 + 0.7 * _bump(0.2, 0.04) + 0.3 * _bump(0.8, 0.1)
    runs = {}
    for name, options in {
        "auto": TransferOptions(),
        "auto, forced switch": TransferOptions(zero_shot_switch_t=-100.0),
        "regret-lcb": TransferOptions(zero_shot_criterion="regret-lcb"),
        "copula-mean": TransferOptions(zero_shot_criterion="copula-mean"),
        "typical-copula": TransferOptions(zero_shot_criterion="typical-copula"),
    }.items():
        runs[name] = run_pool_search(
            pool_X=GRID,
            source_models=library,
            evaluate=lambda i: float(pool_y[i]),
            budget=1,
            options=options,
        )
    assert "zero-shot pick: regret-scale LCB" in runs["auto"].decisions[0].reason
    forced = runs["auto, forced switch"].decisions[0].reason
    assert "zero-shot pick: typicality-weighted copula mean" in forced
    assert runs["auto"].picks == runs["regret-lcb"].picks
    assert runs["auto, forced switch"].picks == runs["typical-copula"].picks
    # the risk-averse bound goes for the shared peak, the rank mean for the broad second best
    assert abs(GRID[runs["regret-lcb"].picks[0], 0] - 0.2) < 0.03
    assert abs(GRID[runs["copula-mean"].picks[0], 0] - 0.8) < 0.05


def test_choice_is_cached_on_disk_by_content(library, tmp_path, monkeypatch) -> None:
    fresh = cached_choose_first_pick(library, cache_dir=tmp_path)
    entries = list(tmp_path.glob("*.json"))
    assert len(entries) == 1 and fresh == choose_first_pick(library)

    def no_test(*args, **kwargs):
        raise AssertionError("the cached choice was recomputed")

    monkeypatch.setattr("recommender.first_pick.choose_first_pick", no_test)
    cached = cached_choose_first_pick(list(reversed(library)), cache_dir=tmp_path)
    assert (cached.criterion, cached.t_statistic, cached.n_sources, cached.sign_statistic) == (
        fresh.criterion,
        fresh.t_statistic,
        fresh.n_sources,
        fresh.sign_statistic,
    )
    assert cached.reason == fresh.reason + " (cached)"
    # the entry belongs to the cache: pruning by age knows it
    assert prune_cache(tmp_path, max_age_days=1.0).n_kept == 1


def test_cache_key_follows_the_sources_and_the_test(library) -> None:
    key = choice_cache_key(library, kappa=1.0, switch_t=1.645)
    assert key == choice_cache_key(list(reversed(library)), kappa=1.0, switch_t=1.645)
    assert key != choice_cache_key(library[1:], kappa=1.0, switch_t=1.645)
    assert key != choice_cache_key(library, kappa=1.0, switch_t=1.0)
    changed = [replace(library[0], data_key="0" * 32), *library[1:]]
    assert key != choice_cache_key(changed, kappa=1.0, switch_t=1.645)
    unknown = [replace(library[0], data_key=None), *library[1:]]
    assert choice_cache_key(unknown, kappa=1.0, switch_t=1.645) is None


def test_torn_cache_entry_is_recomputed_and_replaced(library, tmp_path) -> None:
    key = choice_cache_key(library, kappa=1.0, switch_t=1.645)
    entry = tmp_path / f"{key}.json"
    entry.write_text('{"criterion": "copula-me')
    choice = cached_choose_first_pick(library, cache_dir=tmp_path)
    assert choice == choose_first_pick(library)
    assert '"regret-lcb"' in entry.read_text()


def test_no_test_no_cache_entry(library, tmp_path) -> None:
    choice = cached_choose_first_pick(library[:3], cache_dir=tmp_path)
    assert math.isnan(choice.t_statistic) and not list(tmp_path.iterdir())


def test_unwritable_cache_costs_only_the_speed_up(library, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cached_choose_first_pick(library, cache_dir=blocker / "cache") == choose_first_pick(
        library
    )
