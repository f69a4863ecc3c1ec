"""One GP per branch for a target-only search of a conditional space."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from library import Library
from recommender.branch_search import branch_of, branch_pick, choose_branch
from recommender.recommend import Recommender
from recommender.space import Space

SPACE = {
    "name": "branches",
    "parameters": [
        {"name": "model", "type": "categorical", "choices": ["a", "b", "c"]},
        {"name": "shared", "type": "float", "low": 0.0, "high": 1.0},
        {"name": "a_x", "type": "float", "low": 0.0, "high": 1.0},
        {"name": "a_kind", "type": "categorical", "choices": ["p", "q"]},
        {"name": "b_x", "type": "float", "low": 0.0, "high": 1.0},
        {"name": "c_x", "type": "float", "low": 0.0, "high": 1.0},
    ],
    "conditions": [
        {"child": "a_x", "parent": "model", "values": ["a"]},
        {"child": "a_kind", "parent": "model", "values": ["a"]},
        {"child": "b_x", "parent": "model", "values": ["b"]},
        {"child": "c_x", "parent": "model", "values": ["c"]},
    ],
}


def _error(config: dict) -> float:
    """Branch c holds the optimum, in a narrow well; a and b are flat and mediocre."""
    if config["model"] == "c":
        return 0.2 + 2.0 * (config["c_x"] - 0.7) ** 2 + 0.1 * config["shared"]
    return 0.5 + 0.05 * config["shared"]


def test_branching_columns_are_the_always_active_parent() -> None:
    space = Space.from_dict(SPACE)
    assert space.branching_columns() == (0, 1, 2)
    nested = {
        **SPACE,
        "conditions": [*SPACE["conditions"], {"child": "b_x", "parent": "a_kind", "values": ["p"]}],
    }
    assert Space.from_dict(nested).branching_columns() == (0, 1, 2)  # a_kind is itself a child
    flat = {"name": "flat", "parameters": SPACE["parameters"][:2]}
    assert Space.from_dict(flat).branching_columns() == ()


def test_untried_branches_come_first_then_ucb1() -> None:
    cand = np.array([0, 1, 2, 0, 1, 2])
    free = np.ones(6, bool)
    assert choose_branch(cand, np.array([0, 0, 1]), np.array([1.0, 0.0, 0.5]), free, 3) == 2
    free[[2, 5]] = False  # branch 2 has nothing left to pick
    assert choose_branch(cand, np.array([0, 0, 1]), np.array([1.0, 0.0, 0.5]), free, 3) == 0
    # a large exploration weight favours the branch with fewer observations
    obs = np.array([0, 0, 0, 0, 1])
    y = np.array([1.0, 0.9, 0.8, 0.7, 0.6])
    assert choose_branch(cand, obs, y, np.ones(6, bool), 3, exploration=0.0) == 2
    assert choose_branch(cand[:4], obs, y, np.ones(4, bool), 2, exploration=0.0) == 0
    assert choose_branch(cand[:4], obs, y, np.ones(4, bool), 2, exploration=10.0) == 1
    with pytest.raises(ValueError, match="no free candidate"):
        choose_branch(cand, obs, y, np.zeros(6, bool), 3)


def test_a_branch_pick_stays_in_its_branch_and_uses_its_own_gp() -> None:
    space = Space.from_dict(SPACE)
    cand = space.sample(600, seed=1)
    cand_X = space.encode(cand)
    columns = space.branching_columns()
    observed = [c for c in space.sample(60, seed=2) if c["model"] != "b"][:12]
    obs_X = space.encode(observed)
    y = -np.array([_error(c) for c in observed])
    rng = np.random.default_rng(0)

    index, score, note = branch_pick(cand_X, np.ones(600, bool), obs_X, y, columns, rng)
    assert branch_of(cand_X[[index]], columns)[0] == 1  # b: never tried
    assert "random candidate" in note and score == 0.0

    free = branch_of(cand_X, columns) != 1
    index, score, note = branch_pick(cand_X, free, obs_X, y, columns, rng, exploration=0.0)
    assert cand[index]["model"] == "c" and "GP of its" in note  # the best observed branch
    assert abs(cand[index]["c_x"] - 0.7) < 0.25 and np.isfinite(score)


def test_a_cold_search_of_a_branched_space_finds_the_narrow_branch() -> None:
    """Without a library the search reaches branch c's well within 20 trials."""
    space = Space.from_dict(SPACE)
    with tempfile.TemporaryDirectory() as tmp:
        recommender = Recommender(
            Library.open(Path(tmp) / "empty"), cache_dir=None, n_candidates=512
        )
        observed: list[tuple[dict, float]] = []
        for pick in range(20):
            first = space.sample(1, seed=100)[0] if not observed else None
            config = first or dict(
                recommender.suggest(
                    None, space, observed=observed, direction="minimize", seed=pick
                )[0].config
            )
            observed.append((config, _error(config)))
        reasons = recommender.explain().decisions[-1].reason
        last = recommender.suggest(None, space, observed=observed, direction="minimize", seed=99)
    best = min(v for _, v in observed)
    assert best < 0.25  # the well's floor is 0.2; branches a and b never go below 0.5
    assert {c["model"] for c, _ in observed} == {"a", "b", "c"}
    assert "one GP per branch" in reasons and last[0].phase == "branch"


def test_a_branch_without_parameters_of_its_own_gets_random_picks() -> None:
    space = Space.from_dict(
        {
            "name": "bare",
            "parameters": [
                {"name": "model", "type": "categorical", "choices": ["none", "tuned"]},
                {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
            ],
            "conditions": [{"child": "x", "parent": "model", "values": ["tuned"]}],
        }
    )
    cand_X = space.encode(space.sample(200, seed=3))
    observed = [{"model": "none"}] * 3 + [{"model": "tuned", "x": v} for v in (0.1, 0.5, 0.9)]
    y = np.array([1.0, 1.0, 1.0, 0.0, 0.2, 0.1])  # "none" is best: the search stays there
    index, score, note = branch_pick(
        cand_X,
        np.ones(200, bool),
        space.encode(observed),
        y,
        (0, 1),
        np.random.default_rng(0),
        exploration=0.0,
    )
    assert branch_of(cand_X[[index]], (0, 1))[0] == 0 and "random candidate" in note


def test_a_batchs_pending_picks_count_in_the_branch_choice() -> None:
    cand = np.array([0, 1, 2, 0, 1, 2])
    free = np.ones(6, bool)
    obs, y = np.array([0, 0, 1, 1]), np.array([1.0, 0.2, 1.0, 0.3])  # branches 0 and 1 tie
    assert choose_branch(cand[:4], obs, y, free[:4], 2, exploration=1.0) == 0
    pending = np.array([0])
    assert (
        choose_branch(cand[:4], obs, y, free[:4], 2, exploration=1.0, pending_branch=pending) == 1
    )
    # a branch whose only pick is pending is no longer untried: the next untried one goes first
    assert choose_branch(cand, obs, y, free, 3, pending_branch=np.array([2])) == 0
    assert choose_branch(cand, obs[:2], y[:2], free, 3, pending_branch=np.array([1])) == 2


def test_a_cold_batch_spreads_over_branches_whose_bounds_are_close() -> None:
    """A batch of 3 with a and c observed as good as each other and b untried: one pick
    each, where the picks used to ignore each other and all went to the first choice."""
    space = Space.from_dict(SPACE)
    observed = [
        ({"model": "a", "shared": 0.1, "a_x": x, "a_kind": "p"}, e)
        for x, e in ((0.2, 0.30), (0.5, 0.40), (0.8, 0.45))
    ] + [({"model": "c", "shared": 0.1, "c_x": x}, e) for x, e in ((0.1, 0.30), (0.9, 0.42))]
    with tempfile.TemporaryDirectory() as tmp:
        recommender = Recommender(Library.open(Path(tmp) / "empty"), cache_dir=None)
        batch = recommender.suggest(None, space, n=3, observed=observed, direction="minimize")
    assert sorted(s.config["model"] for s in batch) == ["a", "b", "c"]
    assert all(s.phase == "branch" for s in batch)
