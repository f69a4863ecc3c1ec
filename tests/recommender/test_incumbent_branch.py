"""The incumbent's branch: a transfer search returns to the branch of the target's best
observation when the sources have led it elsewhere for ``incumbent_patience`` picks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from library import Library, import_benchmark, read_benchmark
from recommender.bench import write_conditional_benchmark
from recommender.branch_search import starved_incumbent_branch
from recommender.recommend import Recommender
from recommender.space import Space
from recommender.surrogate import SourceModel
from recommender.transfer import Proposal, TransferOptions
from tests.recommender.test_branch_hedge import SPACE, _pick, _sources


def test_the_incumbent_branch_is_named_only_after_patience_picks_left_it() -> None:
    y = np.array([0.1, 0.9, 0.2, 0.3, 0.4])
    assert starved_incumbent_branch(np.array([0, 2, 1, 1, 1]), y, 3) == 2
    assert starved_incumbent_branch(np.array([0, 2, 1, 1, 1]), y, 4) is None  # pick 2 is in it
    assert starved_incumbent_branch(np.array([0, 2, 1, 2, 1]), y, 3) is None
    # a pending pick counts as a pick: one in the incumbent's branch, or one more outside
    assert starved_incumbent_branch(np.array([0, 2, 1, 1, 1, 2]), y, 3) is None
    assert starved_incumbent_branch(np.array([2, 0, 1, 1, 1]), y[[1, 0, 2, 3, 4]], 4) == 2
    assert starved_incumbent_branch(np.array([0, 1]), y[:2], 3) is None  # too few picks
    with pytest.raises(ValueError, match="patience must be at least 1"):
        starved_incumbent_branch(np.array([0, 1]), y[:2], 0)


@pytest.fixture(scope="module")
def majority_a() -> list[SourceModel]:
    """Four sources that all put their best in learner a."""
    return _sources(["a"] * 4, first_seed=20)


def _propose(
    models: list[SourceModel],
    learners: list[str],
    patience: int | None,
    pending: tuple = (),
    best: str = "c",
    max_target_points: int = 1000,
) -> tuple[Proposal, np.ndarray]:
    """A pick after one observation per learner in ``learners`` (in that order) of a
    target whose best learner is ``best``."""
    rng = np.random.default_rng(3)
    observed = []
    for learner in learners:
        config = SPACE.sample(1, seed=int(rng.integers(1 << 30)))[0]
        config = {"model": learner, "shared": config["shared"], f"{learner}_x": 0.6}
        observed.append(SPACE.validate(config))
    options = TransferOptions(incumbent_patience=patience, max_target_points=max_target_points)
    return _pick(models, observed, best, options, pending)


def test_a_search_led_away_from_the_target_best_branch_returns_to_it(
    majority_a: list[SourceModel],
) -> None:
    c = 2  # the branch of learner c (the third choice of "model")
    learners = ["a", "c", "a", "b", "a"]  # the best (c) was the second pick; three left it
    proposal, cand_branch = _propose(majority_a, learners, patience=3)
    assert cand_branch[proposal.index] == c
    assert "stays in branch 2" in proposal.decision.reason

    # without the rule the sources' majority keeps the search in learner a
    plain, cand_branch = _propose(majority_a, learners, patience=None)
    assert cand_branch[plain.index] != c and "stays in branch" not in plain.decision.reason

    # patience 4 tolerates the three picks; a pending pick in c is a pick in c
    for patience, pending in ((4, ()), (3, (int(np.flatnonzero(cand_branch == c)[0]),))):
        other, _ = _propose(majority_a, learners, patience, pending)
        assert "stays in branch" not in other.decision.reason

    # the incumbent's branch is the sources' favourite: the picks that left it were the
    # target's own GP exploring, not the sources outvoting it
    own, _ = _propose(majority_a, ["b", "a", "b", "c", "b"], 3, best="a")
    assert "stays in branch" not in own.decision.reason


def test_the_rule_reads_every_pick_when_the_target_gp_keeps_a_subsample(
    majority_a: list[SourceModel],
) -> None:
    """Past ``max_target_points`` the target GP keeps the best observations and a random
    spread; the last picks are still the last picks for the rule."""
    learners = ["a", "b", "a", "c", "a", "b", "a"]  # c best, the last three left it
    proposal, cand_branch = _propose(majority_a, learners, 3, max_target_points=5)
    assert cand_branch[proposal.index] == 2
    assert "stays in branch 2" in proposal.decision.reason


def test_incumbent_patience_must_be_positive() -> None:
    with pytest.raises(ValueError, match="incumbent_patience must be at least 1"):
        TransferOptions(incumbent_patience=0)


def test_recommender_suggest_off_pool_keeps_a_confined_pick_in_its_branch(
    tmp_path: Path,
) -> None:
    """Through the public API, off the pools (where GP-phase picks use gradients over
    every branch): the confined pick is a configuration of the incumbent's learner."""
    bench_dir = write_conditional_benchmark(tmp_path / "bench", n_tasks=6, n_configs=150, seed=4)
    bench = read_benchmark(bench_dir)
    library = Library.open(tmp_path / "lib")
    import_benchmark(library, bench_dir)
    space = Space.from_dict(bench.space)
    options = TransferOptions(branch_hedge_share=None)  # the default incumbent_patience
    recommender = Recommender(library, cache_dir=None, n_candidates=512, options=options)
    configs = space.sample(200, seed=1)
    learners = [c["learner"] for c in configs]
    best = configs[0]
    others = [c for c in configs if c["learner"] != best["learner"]][:3]
    observed = [(best, 0.1)] + [(c, 0.5 + 0.1 * i) for i, c in enumerate(others)]
    assert len(set(learners)) > 1
    pick = recommender.suggest(None, space, n=1, observed=observed, direction="minimize")[0]
    assert "stays in branch" in pick.reason, pick.reason
    assert pick.config["learner"] == best["learner"]
