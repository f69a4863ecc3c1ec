"""The stalled branch: a transfer search whose last picks all went to one branch without
beating the target's best looks outside that branch next."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.branch_search import stalled_branch
from recommender.surrogate import SourceModel
from recommender.transfer import Proposal, TransferOptions
from tests.recommender.test_branch_hedge import SPACE, _pick, _sources


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


def _propose(
    models: list[SourceModel], a_x: list[float], patience: int | None
) -> tuple[Proposal, np.ndarray]:
    """A pick after one observation of learner b, then one of learner a per ``a_x``, for a
    target that agrees with the sources (a is best, its optimum at a_x = 0.3)."""
    observed = [SPACE.validate({"model": "b", "shared": 0.5, "b_x": 0.3})]
    observed += [SPACE.validate({"model": "a", "shared": 0.5, "a_x": x}) for x in a_x]
    return _pick(models, observed, "a", TransferOptions(stall_patience=patience))


def test_a_search_stalled_in_the_sources_favourite_branch_looks_elsewhere(
    majority_a: list[SourceModel],
) -> None:
    stalled = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9]  # a's optimum first, then five picks no better
    proposal, cand_branch = _propose(majority_a, stalled, patience=5)
    assert cand_branch[proposal.index] != 0 and proposal.avoided == 0
    assert "leaves branch 0" in proposal.decision.reason

    # without the rule the sources and the target agree: the search stays in a
    plain, _ = _propose(majority_a, stalled, patience=None)
    assert cand_branch[plain.index] == 0 and plain.avoided is None

    # a branch that keeps improving is not stalled
    improving, _ = _propose(majority_a, [0.9, 0.8, 0.7, 0.6, 0.5, 0.3], patience=5)
    assert cand_branch[improving.index] == 0 and improving.avoided is None
