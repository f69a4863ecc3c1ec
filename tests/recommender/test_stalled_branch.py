"""The stalled branch: a transfer search whose last picks all went to one branch without
beating the target's best looks outside that branch next."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.branch_search import branch_of, stalled_branch
from recommender.surrogate import SourceModel, predict_sources
from recommender.transfer import Proposal, TransferOptions, propose, source_quantiles
from tests.recommender.test_branch_hedge import SPACE, _score, _sources


def test_a_branch_stalls_after_patience_picks_in_it_without_an_improvement() -> None:
    y = np.array([0.1, 0.9, 0.2, 0.3, 0.4])
    assert stalled_branch(np.array([1, 0, 0, 0, 0]), y, 3) == 0
    assert stalled_branch(np.array([1, 0, 0, 0, 0]), y, 4) is None  # pick 2 improved
    assert stalled_branch(np.array([1, 0, 0, 2, 0]), y, 3) is None  # two branches
    improved = np.array([0.1, 0.2, 0.3, 0.9, 0.4])  # pick 4, in the window, is the best
    assert stalled_branch(np.array([0, 1, 1, 1, 1]), improved, 3) is None
    assert stalled_branch(np.array([0, 1, 1, 1, 1]), improved, 1) == 1
    # a pending pick counts as a pick that did not improve
    assert stalled_branch(np.array([1, 0, 0, 0, 0, 0]), y, 4) == 0
    assert stalled_branch(np.array([1, 0, 0, 0, 0, 2]), y, 3) is None
    assert stalled_branch(np.array([0, 0]), y[:2], 3) is None  # too few picks
    with pytest.raises(ValueError, match="patience must be at least 1"):
        stalled_branch(np.array([0, 1]), y[:2], 0)


def test_stall_patience_must_be_positive() -> None:
    with pytest.raises(ValueError, match="stall_patience must be at least 1"):
        TransferOptions(stall_patience=0)


@pytest.fixture(scope="module")
def majority_a() -> list[SourceModel]:
    """Four sources that all put their best in learner a."""
    return _sources(["a", "a", "a", "a"])


def _propose(models: list[SourceModel], a_x: list[float], patience: int | None) -> Proposal:
    """A pick after one observation of learner b, then one of learner a per ``a_x``, for a
    target that agrees with the sources (a is best, its optimum at a_x = 0.3)."""
    observed = [SPACE.validate({"model": "b", "shared": 0.5, "b_x": 0.3})]
    observed += [SPACE.validate({"model": "a", "shared": 0.5, "a_x": x}) for x in a_x]
    obs_X = SPACE.encode(observed)
    cand_X = SPACE.encode(SPACE.sample(300, seed=5))
    cand_mean, cand_std = predict_sources(models, cand_X)
    obs_mean, obs_std = predict_sources(models, obs_X)
    return propose(
        cand_X=cand_X,
        cand_mean=cand_mean,
        cand_std=cand_std,
        free=np.ones(len(cand_X), dtype=bool),
        obs_X=obs_X,
        obs_y=_score(observed, "a"),
        obs_mean=obs_mean,
        obs_std=obs_std,
        options=TransferOptions(stall_patience=patience),
        rng=np.random.default_rng(0),
        gp_state={},
        quantiles=source_quantiles(models),
        branch_columns=SPACE.branching_columns(),
    )


def test_a_search_stalled_in_the_sources_favourite_branch_looks_elsewhere(
    majority_a: list[SourceModel],
) -> None:
    cand_branch = branch_of(SPACE.encode(SPACE.sample(300, seed=5)), SPACE.branching_columns())
    stalled = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9]  # a's optimum first, then five picks no better
    proposal = _propose(majority_a, stalled, patience=5)
    assert cand_branch[proposal.index] != 0 and proposal.avoided == 0
    assert "leaves branch 0" in proposal.decision.reason

    # without the rule the sources and the target agree: the search stays in a
    plain = _propose(majority_a, stalled, patience=None)
    assert cand_branch[plain.index] == 0 and plain.avoided is None

    # a branch that keeps improving is not stalled
    improving = _propose(majority_a, [0.9, 0.8, 0.7, 0.6, 0.5, 0.3], patience=5)
    assert cand_branch[improving.index] == 0 and improving.avoided is None
