"""Multi-task GP proposals: transfer from a related family, fallback from a negated one,
diverse batches, a cold start without sources."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.multitask_search import (
    MultiTaskOptions,
    MultiTaskPick,
    gap_weighted_misorder,
    propose_multitask,
)
from tests.recommender.test_multitask import D, _family, _truth

CANDIDATES = np.random.default_rng(0).random((1500, D))
EMPTY_X, EMPTY_Y = np.empty((0, D)), np.empty(0)


def _search_picks(
    sources: list[tuple[np.ndarray, np.ndarray]], steps: int, options: MultiTaskOptions
) -> tuple[np.ndarray, list[MultiTaskPick]]:
    """``steps`` sequential picks on `_truth`, one call each; the values found and picks."""
    free = np.ones(len(CANDIDATES), dtype=bool)
    X, y, fit, chosen = EMPTY_X, EMPTY_Y, None, []
    for _ in range(steps):
        picks, fit = propose_multitask(
            CANDIDATES, free, X, y, sources, options=options, seed=0, warm_start=fit
        )
        i = picks[0].index
        chosen.append(picks[0])
        free[i] = False
        X = np.vstack([X, CANDIDATES[[i]]])
        y = np.append(y, _truth(CANDIDATES[[i]]))
    return y, chosen


def _search(
    sources: list[tuple[np.ndarray, np.ndarray]], steps: int, options: MultiTaskOptions
) -> tuple[np.ndarray, list[str]]:
    """``steps`` sequential picks on `_truth`; the values found and each pick's mode."""
    y, picks = _search_picks(sources, steps, options)
    return y, [p.decision.mode for p in picks]


def _regret(y: np.ndarray) -> float:
    return float(_truth(CANDIDATES).max() - y.max())


def test_related_sources_find_the_shared_optimum_faster_than_a_cold_start() -> None:
    options = MultiTaskOptions(n_per_source=40)
    warm, modes = _search(_family(1), 6, options)
    cold, cold_modes = _search([], 6, options)
    assert modes[0] == "zero-shot" and "transfer" in modes
    assert cold_modes[:3] == ["random-init"] * 3 and cold_modes[3] == "target-only"
    assert _regret(warm[:1]) < 0.02  # the zero-shot pick is already near the optimum
    assert _regret(warm) < _regret(cold)


def test_negated_sources_are_caught_and_the_search_falls_back() -> None:
    negated = [(X, -y) for X, y in _family(1)]
    options = MultiTaskOptions(n_per_source=40)
    y, modes = _search(negated, 10, options)
    assert set(modes[:5]) <= {"zero-shot", "transfer"}  # no evidence yet
    assert modes[5:] == ["target-only"] * 5
    unguarded, off_modes = _search(negated, 10, MultiTaskOptions(n_per_source=40, guardrails=False))
    assert "target-only" not in off_modes
    assert _regret(y) < _regret(unguarded)


def test_an_upside_down_library_gets_contrast_restart_picks_then_the_target_gp() -> None:
    negated = [(X, -y) for X, y in _family(1)]
    y, picks = _search_picks(negated, 12, MultiTaskOptions(n_per_source=40))
    fallback = [i for i, p in enumerate(picks) if p.decision.mode == "target-only"]
    restarts = [i for i, p in enumerate(picks) if "restart pick" in p.decision.reason]
    assert fallback and restarts and restarts[0] == fallback[0]
    assert all(picks[i].phase == "explore" for i in restarts)
    assert 1 <= len(restarts) <= 4 and restarts == list(range(restarts[0], restarts[-1] + 1))
    assert all(p.phase == "gp" for p in picks[restarts[-1] + 1 :])  # then the target GP
    # where the upside-down sources agree the target is poor, it is good
    assert max(y[i] for i in restarts) >= np.quantile(_truth(CANDIDATES), 0.9)
    plain, plain_picks = _search_picks(
        negated, 12, MultiTaskOptions(n_per_source=40, refuted_restarts=0)
    )
    assert not any("restart pick" in p.decision.reason for p in plain_picks)
    first = restarts[0] + 1  # the first restart pick reaches the good region sooner
    assert y[:first].max() > plain[:first].max()


def test_the_sixth_pick_is_a_contrast_probe_where_the_sources_agree_it_is_poor() -> None:
    X, y = CANDIDATES[:5], _truth(CANDIDATES[:5])
    free = np.ones(len(CANDIDATES), bool)
    free[:5] = False
    keep = dict(n_per_source=40, fallback_margin=1.0)  # transfer kept whatever the evidence
    picks, _ = propose_multitask(
        CANDIDATES, free, X, y, _family(1), n=2, options=MultiTaskOptions(**keep), seed=0
    )
    assert [p.phase for p in picks] == ["explore", "multitask"]
    assert "contrast probe" in picks[0].decision.reason
    truth = _truth(CANDIDATES)
    assert truth[picks[0].index] <= np.quantile(truth, 0.2)  # related sources: it is poor
    assert truth[picks[1].index] >= np.quantile(truth, 0.9)
    off, _ = propose_multitask(
        CANDIDATES, free, X, y, _family(1), options=MultiTaskOptions(**keep, probe_step=None)
    )
    assert off[0].phase == "multitask"


def test_a_batch_is_diverse_and_explained() -> None:
    sources = _family(1)
    picks, fit = propose_multitask(
        CANDIDATES, np.ones(len(CANDIDATES), bool), EMPTY_X, EMPTY_Y, sources, n=4, seed=0
    )
    assert fit is not None and len(picks) == 4
    assert len({p.index for p in picks}) == 4
    # the believer shrinks the variance near a pending pick: the others move away from it
    first = CANDIDATES[picks[0].index]
    top_by_mean = np.argsort(-_mean_at(fit))[:4]
    spread = np.linalg.norm(CANDIDATES[[p.index for p in picks[1:]]] - first, axis=1).min()
    naive = np.linalg.norm(CANDIDATES[top_by_mean[1:]] - CANDIDATES[top_by_mean[0]], axis=1).min()
    assert spread >= naive
    decision = picks[0].decision
    assert decision.mode == "zero-shot" and "uniform weights" in decision.reason
    assert sum(decision.weights.values()) == pytest.approx(1.0)
    assert all(np.isfinite([p.mean, p.std, p.acquisition]).all() for p in picks)


def _mean_at(fit) -> np.ndarray:
    from recommender.multitask import predict

    return predict(fit, CANDIDATES)[0]


def test_only_free_candidates_are_proposed() -> None:
    free = np.zeros(len(CANDIDATES), bool)
    free[[3, 7, 11]] = True
    picks, _ = propose_multitask(CANDIDATES, free, EMPTY_X, EMPTY_Y, _family(1), n=5, seed=0)
    assert sorted(p.index for p in picks) == [3, 7, 11]
    with pytest.raises(ValueError, match="free candidate"):
        propose_multitask(CANDIDATES, np.zeros(len(CANDIDATES), bool), EMPTY_X, EMPTY_Y, [])


def test_gap_weighted_misorder() -> None:
    y = np.array([0.0, 1.0, 2.0, 10.0])
    assert gap_weighted_misorder(y, y) == 0.0
    assert gap_weighted_misorder(-y, y) == 1.0
    # swapping the near-tied pair (0, 1) costs little, swapping the far pair (2, 10) a lot
    near = gap_weighted_misorder(np.array([1.0, 0.0, 2.0, 10.0]), y)
    far = gap_weighted_misorder(np.array([0.0, 1.0, 10.0, 2.0]), y)
    assert 0 < near < far
    assert gap_weighted_misorder(np.zeros(3), np.ones(3)) == 0.0  # no gap, no evidence


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="k_nearest"):
        MultiTaskOptions(k_nearest=0)
    with pytest.raises(ValueError, match="probe_share"):
        MultiTaskOptions(probe_share=0.0)
    with pytest.raises(ValueError, match="batch_candidates"):
        MultiTaskOptions(batch_candidates=1)
