"""Flat branches: a branch whose observations tie the target's best value is left."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from library import Library, import_benchmark, read_benchmark, write_benchmark
from recommender.bench import write_conditional_benchmark
from recommender.branch_rules import flat_branches, flat_note
from recommender.branch_search import branch_of, plateau_branches
from recommender.recommend import Recommender
from recommender.space import Space
from recommender.surrogate import SourceModel, fit_source_model, predict_sources
from recommender.transfer import Proposal, TransferOptions, propose, source_quantiles

SPACE = Space.from_dict(
    {
        "name": "learners",
        "parameters": [
            {"name": "model", "type": "categorical", "choices": ["a", "b", "c"]},
            {"name": "a_x", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "b_x", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "c_x", "type": "float", "low": 0.0, "high": 1.0},
        ],
        "conditions": [
            {"child": f"{m}_x", "parent": "model", "values": [m]} for m in ("a", "b", "c")
        ],
    }
)


def test_a_branch_is_flat_when_enough_observations_tie_the_best_value() -> None:
    branch = np.array([0, 0, 1, 0, 0, 2])
    y = np.array([0.8, 0.8, 0.5, 0.8, 0.8, 0.1])
    assert plateau_branches(branch, y, 4) == (0,)
    assert plateau_branches(branch, y, 5) == ()  # four ties are not five
    better = np.append(y, 0.9)  # another branch beat the tied value: nothing is flat
    assert plateau_branches(np.append(branch, 1), better, 4) == ()
    assert plateau_branches(np.array([0, 0, 1, 1]), np.full(4, 0.3), 2) == (0, 1)
    # one tie short of the threshold
    assert plateau_branches(np.array([0, 0, 0, 1]), np.array([1.0, 1.0, 1.0, 0.0]), 4) == ()
    nan = np.array([0.8, np.nan, 0.8, 0.8, 0.8])
    assert plateau_branches(np.zeros(5, int), nan, 4) == (0,)
    with pytest.raises(ValueError, match="ties must be at least 2"):
        plateau_branches(branch, y, 1)


def _favour_a(configs: list[dict]) -> np.ndarray:
    """Larger is better: learner a ahead of b and c, each branch best at x = 0.7."""
    return np.array(
        [(0.5 if c["model"] == "a" else 0.0) - (c[f"{c['model']}_x"] - 0.7) ** 2 for c in configs]
    )


def _source_trials() -> list[list[dict]]:
    """150 configurations of each of three source tasks scored by `_favour_a`."""
    return [SPACE.sample(150, seed=20 + i) for i in range(3)]


@pytest.fixture(scope="module")
def sources_for_a() -> list[SourceModel]:
    """Three sources that all put their best configuration in learner a."""
    return [
        fit_source_model(f"s{i}", SPACE.encode(configs), _favour_a(configs), seed=0)
        for i, configs in enumerate(_source_trials())
    ]


def _in_branch(model: str, n: int, seed: int) -> list[dict]:
    return [c for c in SPACE.sample(300, seed=seed) if c["model"] == model][:n]


def _pick(
    models: list[SourceModel],
    observed: list[dict],
    values: list[float],
    options: TransferOptions,
    only: str | None = None,
) -> tuple[Proposal, np.ndarray]:
    """`propose`'s next pick among 300 candidates (only learner ``only``'s when given)."""
    candidates = SPACE.sample(300, seed=5)
    if only is not None:
        candidates = [c for c in candidates if c["model"] == only]
    cand_X = SPACE.encode(candidates)
    obs_X = SPACE.encode(observed)
    cand_mean, cand_std = predict_sources(models, cand_X)
    obs_mean, obs_std = predict_sources(models, obs_X)
    proposal = propose(
        cand_X=cand_X,
        cand_mean=cand_mean,
        cand_std=cand_std,
        free=np.ones(len(cand_X), dtype=bool),
        obs_X=obs_X,
        obs_y=np.array(values),
        obs_mean=obs_mean,
        obs_std=obs_std,
        options=options,
        rng=np.random.default_rng(0),
        gp_state={},
        quantiles=source_quantiles(models),
        branch_columns=SPACE.branching_columns(),
    )
    return proposal, branch_of(cand_X, SPACE.branching_columns())


def test_the_search_leaves_the_sources_favourite_branch_once_it_is_flat(
    sources_for_a: list[SourceModel],
) -> None:
    """Every source favours learner a; the target scored four configurations of a at
    exactly 0.2 and one of b and one of c lower. The next pick leaves a, and says why;
    without the rule, or with one tie fewer, it stays in a."""
    observed = _in_branch("a", 4, seed=1) + _in_branch("b", 1, seed=2) + _in_branch("c", 1, 3)
    values = [0.2, 0.2, 0.2, 0.2, 0.1, 0.05]
    proposal, branch = _pick(sources_for_a, observed, values, TransferOptions())
    assert branch[proposal.index] != 0 and proposal.flat == (0,)
    assert "branch 0 left, flat at the incumbent" in proposal.decision.reason

    proposal, branch = _pick(
        sources_for_a, observed, values, TransferOptions(branch_plateau_ties=None)
    )
    assert branch[proposal.index] == 0 and proposal.flat == ()
    three = [0.2, 0.2, 0.2, 0.19, 0.1, 0.05]
    proposal, branch = _pick(sources_for_a, observed, three, TransferOptions())
    assert branch[proposal.index] == 0 and proposal.flat == ()

    # with nothing free outside the flat branch, the pick stays there
    proposal, branch = _pick(sources_for_a, observed, values, TransferOptions(), only="a")
    assert branch[proposal.index] == 0 and proposal.flat == ()
    assert "flat at the incumbent" not in proposal.decision.reason


def test_flat_ties_must_be_at_least_two() -> None:
    with pytest.raises(ValueError, match="branch_plateau_ties must be at least 2"):
        TransferOptions(branch_plateau_ties=1)


def test_recommender_batch_keeps_out_of_a_flat_branch(tmp_path: Path) -> None:
    """Through the public API, off the pools (random candidates): a library task replayed
    as a new one, its four best configurations of the sources' favourite learner set to
    the task's best value (a flat branch); both GP-phase picks of a batch avoid that
    learner and say why."""
    bench_dir = write_conditional_benchmark(tmp_path / "bench", n_tasks=6, n_configs=150, seed=3)
    bench = read_benchmark(bench_dir)
    library = Library.open(tmp_path / "lib")
    import_benchmark(library, bench_dir)
    space = Space.from_dict(bench.space)
    target = bench.task_ids[0]
    rows = bench.task_table(target).sort_values(bench.objective)  # minimised: best first
    recommender = Recommender(library, cache_dir=None, n_candidates=512)
    favourite = recommender.suggest(None, space, n=1, direction="minimize", exclude=[target])[
        0
    ].config["learner"]
    parts, flat = [], None
    for learner, group in rows.groupby("learner"):
        group = group.head(6) if learner == favourite else group.tail(2)  # others: poor
        parts.append(group.iloc[4:] if learner == favourite else group)
        flat = group.iloc[:4] if learner == favourite else flat
    best = pd.concat([*parts, flat])[bench.objective].min()  # the four tie the best seen
    observed = pd.concat([*parts, flat.assign(**{bench.objective: best})])
    observed = observed[list(space.names)].assign(value=observed[bench.objective])
    picks = recommender.suggest(
        None, space, n=2, observed=observed, direction="minimize", exclude=[target]
    )
    assert {p.phase for p in picks} <= {"gp", "stacked"}  # GP-phase picks
    assert [p.config["learner"] for p in picks].count(favourite) == 0
    assert all("flat at the incumbent" in p.reason for p in picks)


def test_the_gradient_search_keeps_out_of_a_flat_branch(tmp_path: Path) -> None:
    """The gradient search spans every branch, the flat one included: the scenario of
    `test_the_search_leaves_the_sources_favourite_branch_once_it_is_flat` through
    `Recommender.suggest` with ``optimizer="gradient"``, whose pick must still leave
    learner a (where the sources promise the most)."""
    tasks = [
        SPACE.to_frame(configs).assign(
            task_id=f"s{i}", config_id=range(150), score=_favour_a(configs)
        )
        for i, configs in enumerate(_source_trials())
    ]
    space = SPACE.to_dict() | {
        "name": "favour-a",
        "objective": {"name": "score", "direction": "maximize"},
        "metrics": ["score"],
    }
    write_benchmark(tmp_path / "bench", space, pd.concat(tasks, ignore_index=True))
    library = Library.open(tmp_path / "lib")
    import_benchmark(library, tmp_path / "bench")
    observed = _in_branch("a", 4, seed=1) + _in_branch("b", 1, seed=2) + _in_branch("c", 1, 3)
    frame = SPACE.to_frame(observed).assign(value=[0.2, 0.2, 0.2, 0.2, 0.1, 0.05])
    for ties, stays in ((4, False), (None, True)):
        options = TransferOptions(branch_plateau_ties=ties)
        recommender = Recommender(library, cache_dir=None, n_candidates=256, options=options)
        (pick,) = recommender.suggest(None, SPACE, n=1, observed=frame, optimizer="gradient")
        assert (pick.config["model"] == "a") is stays
        assert ("flat at the incumbent" in pick.reason) is not stays


def test_flat_branches_take_a_branch_out_of_the_free_candidates_only_when_it_helps() -> None:
    candidates = SPACE.sample(60, seed=7)
    cand_X, columns = SPACE.encode(candidates), SPACE.branching_columns()
    in_a = branch_of(cand_X, columns) == 0
    observed = _in_branch("a", 4, seed=1) + _in_branch("b", 1, seed=2)
    obs_X, y = SPACE.encode(observed), np.array([0.2, 0.2, 0.2, 0.2, 0.1])
    free = np.ones(len(cand_X), dtype=bool)
    kept, flat = flat_branches(cand_X, obs_X, y, free, columns, 4)
    assert flat == (0,) and np.array_equal(kept, free & ~in_a)
    for ties in (None, 5):  # the rule off, or one tie short
        kept, flat = flat_branches(cand_X, obs_X, y, free, columns, ties)
        assert flat == () and kept is free
    # nothing free outside the flat branch, or nothing free in it: nothing to leave
    for only in (in_a, ~in_a):
        kept, flat = flat_branches(cand_X, obs_X, y, only, columns, 4)
        assert flat == () and kept is only
    assert flat_note((0,), 4).startswith("branch 0 left, flat at the incumbent: 4 or more")
    assert "branches 0, 2 left" in flat_note((0, 2), 4) and "in each" in flat_note((0, 2), 4)
