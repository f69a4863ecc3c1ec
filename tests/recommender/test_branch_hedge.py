"""Hedge picks: early picks in the branches the sources put their best configurations in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from library import Library, import_benchmark, read_benchmark
from recommender.bench import write_conditional_benchmark
from recommender.branch_rules import hedge_gains
from recommender.branch_search import best_free, branch_of, branch_support, hedge_branch
from recommender.recommend import Recommender
from recommender.space import Space
from recommender.surrogate import SourceModel, fit_source_model, predict_sources
from recommender.transfer import (
    Proposal,
    SearchTrace,
    TransferOptions,
    propose,
    run_pool_search,
    source_quantiles,
)

SPACE = Space.from_dict(
    {
        "name": "learners",
        "parameters": [
            {"name": "model", "type": "categorical", "choices": ["a", "b", "c"]},
            {"name": "shared", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "a_x", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "b_x", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "c_x", "type": "float", "low": 0.0, "high": 1.0},
        ],
        "conditions": [
            {"child": f"{m}_x", "parent": "model", "values": [m]} for m in ("a", "b", "c")
        ],
    }
)


def _score(configs: list[dict], best: str, *also_best: str) -> np.ndarray:
    """Larger is better: the ``best`` learner (and any of ``also_best``, its twins) is 0.5
    ahead of the others; in every branch the optimum of the learner's own parameter is at
    0.3."""
    ahead = {best, *also_best}
    return np.array(
        [
            (0.5 if c["model"] in ahead else 0.0)
            - (c[f"{c['model']}_x"] - 0.3) ** 2
            - 0.05 * c["shared"]
            for c in configs
        ]
    )


def _sources(preferences: list[str], first_seed: int = 10) -> list[SourceModel]:
    """One source per entry of ``preferences`` (its best learner), fitted on 150 samples."""
    models = []
    for i, best in enumerate(preferences):
        configs = SPACE.sample(150, seed=first_seed + i)
        models.append(
            fit_source_model(f"s{i}", SPACE.encode(configs), _score(configs, best), seed=0)
        )
    return models


def _pick(
    models: list[SourceModel],
    observed: list[dict],
    best: str,
    options: TransferOptions,
    pending: tuple = (),
) -> tuple[Proposal, np.ndarray]:
    """`propose`'s next pick among 300 candidates after ``observed`` (in that order) of a
    target whose best learner is ``best``, and the branch of every candidate."""
    cand_X = SPACE.encode(SPACE.sample(300, seed=5))
    obs_X = SPACE.encode(observed)
    cand_mean, cand_std = predict_sources(models, cand_X)
    obs_mean, obs_std = predict_sources(models, obs_X)
    proposal = propose(
        cand_X=cand_X,
        cand_mean=cand_mean,
        cand_std=cand_std,
        free=np.ones(len(cand_X), dtype=bool),
        obs_X=obs_X,
        obs_y=_score(observed, best),
        obs_mean=obs_mean,
        obs_std=obs_std,
        options=options,
        rng=np.random.default_rng(0),
        gp_state={},
        pending=pending,
        quantiles=source_quantiles(models),
        branch_columns=SPACE.branching_columns(),
    )
    return proposal, branch_of(cand_X, SPACE.branching_columns())


@pytest.fixture(scope="module")
def disagreeing_sources() -> list[SourceModel]:
    """Four sources: two put their best in learner a, one in b, one in c."""
    return _sources(["a", "a", "b", "c"])


def test_support_is_the_weighted_share_of_each_source_best() -> None:
    cand_mean = np.array([[0.9, 0.1, 0.2], [0.1, 0.8, 0.2], [0.1, 0.2, 0.7], [0.5, 0.9, 0.1]])
    cand_branch = np.array([0, 1, 2])
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    support = branch_support(cand_mean, weights, cand_branch, np.ones(3, bool), 3)
    assert support == pytest.approx([0.4, 0.4, 0.2])
    free = np.array([False, True, True])  # a source's best is its best *free* candidate
    support = branch_support(cand_mean, weights, cand_branch, free, 3)
    assert support == pytest.approx([0.0, 0.4, 0.6])


def test_hedge_branch_takes_the_most_supported_untried_branch() -> None:
    cand_branch = np.array([0, 1, 2, 3])
    free = np.ones(4, bool)
    support = np.array([0.5, 0.1, 0.3, 0.1])
    untried = np.zeros(4, bool)
    assert hedge_branch(support, untried, cand_branch, free, 0.1) == 0
    assert hedge_branch(support, np.array([1, 0, 0, 0], bool), cand_branch, free, 0.1) == 2
    assert hedge_branch(support, np.array([1, 0, 1, 0], bool), cand_branch, free, 0.1) == 1
    assert hedge_branch(support, np.array([1, 0, 1, 0], bool), cand_branch, free, 0.2) is None
    free[1] = False  # nothing left to pick in branch 1: the next one
    assert hedge_branch(support, np.array([1, 0, 1, 0], bool), cand_branch, free, 0.1) == 3


def _search(
    models: list[SourceModel],
    share: float | None,
    columns: tuple[int, ...],
    until: int = 10,
    min_sources: int = 1,
) -> tuple[SearchTrace, list[str], np.ndarray]:
    pool = SPACE.sample(400, seed=99)
    score = _score(pool, best="c")  # the target's best learner is a minority's (1 of 4)
    trace = run_pool_search(
        pool_X=SPACE.encode(pool),
        source_models=models,
        evaluate=lambda i: float(score[i]),
        budget=4,
        options=TransferOptions(
            branch_hedge_share=share,
            branch_hedge_until=until,
            branch_hedge_min_sources=min_sources,
        ),
        branch_columns=columns,
    )
    return trace, [pool[i]["model"] for i in trace.picks], score


def test_a_target_whose_best_learner_few_sources_share_tries_it_early(
    disagreeing_sources: list[SourceModel],
) -> None:
    columns = SPACE.branching_columns()
    trace, models, score = _search(disagreeing_sources, 0.2, columns)
    assert set(models[:3]) == {"a", "b", "c"}  # every branch with >= 20 % support, by pick 3
    hedges = [d.reason for d in trace.decisions if "hedge pick" in d.reason]
    assert len(hedges) == 2 and "25%" in hedges[0]
    assert max(trace.values[:3]) > score.max() - 0.5  # a pick of learner c beats every a, b

    # b and c (25 % each) are below a 30 % share, and one source each is below two
    # sources: no hedge; none without branches, and none from `branch_hedge_until`
    # observations on
    for share, cols, until, least in (
        (0.3, columns, 10, 1),
        (0.2, columns, 10, 2),
        (0.2, (), 10, 1),
        (0.2, columns, 1, 1),
    ):
        trace, _, _ = _search(disagreeing_sources, share, cols, until, least)
        assert not any("hedge pick" in d.reason for d in trace.decisions)


def test_recommender_suggest_shows_hedge_picks_in_a_library_that_disagrees(
    tmp_path: Path,
) -> None:
    """Through the public API: sources whose best learners differ get the new task's
    second suggestion into another learner, with phase ``hedge`` and a reason saying so."""
    bench_dir = write_conditional_benchmark(
        tmp_path / "bench", n_tasks=6, n_configs=150, seed=4, preference="independent"
    )
    bench = read_benchmark(bench_dir)
    library = Library.open(tmp_path / "lib")
    import_benchmark(library, bench_dir)
    space = Space.from_dict(bench.space)
    recommender = Recommender(library, cache_dir=None, n_candidates=512)
    first = recommender.suggest(None, space, n=1, direction="minimize", seed=0)[0]
    observed = [(dict(first.config), 0.5)]
    second = recommender.suggest(None, space, n=1, observed=observed, direction="minimize")[0]
    assert second.phase == "hedge" and "hedge pick" in second.reason
    assert second.config["learner"] != first.config["learner"]


def test_min_sources_must_be_positive() -> None:
    with pytest.raises(ValueError, match="branch_hedge_min_sources must be at least 1"):
        TransferOptions(branch_hedge_min_sources=0)


def _configs(models: list[str], seed: int) -> list[dict]:
    """One sampled configuration of each learner in ``models``, in that order."""
    pool = SPACE.sample(200, seed=seed)
    out, used = [], set()
    for model in models:
        index = next(i for i, c in enumerate(pool) if c["model"] == model and i not in used)
        used.add(index)
        out.append(pool[index])
    return out


def test_second_look_gives_a_supported_branch_tried_once_another_pick(
    disagreeing_sources: list[SourceModel],
) -> None:
    """After ten observations, eight in learner a and one each in b and c (both supported
    by a quarter of the sources), the second look picks b or c again; without it, or
    before its step, the ensemble picks; once every supported branch has two picks,
    there is no second look."""
    observed = _configs(["a"] * 8 + ["b", "c"], seed=3)
    options = TransferOptions(branch_hedge_share=0.2, branch_second_look=10)
    proposal, branch = _pick(disagreeing_sources, observed, "c", options)
    assert proposal.phase == "hedge" and "second look" in proposal.decision.reason
    assert branch[proposal.index] in (1, 2)

    for opts in (
        TransferOptions(branch_hedge_share=0.2, branch_second_look=None),
        TransferOptions(branch_hedge_share=0.2, branch_second_look=11),
    ):
        proposal, _ = _pick(disagreeing_sources, observed, "c", opts)
        assert proposal.phase != "hedge"

    twice = _configs(["a"] * 6 + ["b", "c", "b", "c"], seed=3)
    proposal, _ = _pick(disagreeing_sources, twice, "c", options)
    assert proposal.phase != "hedge"
    b_twice = _configs(["a"] * 7 + ["b", "c", "b"], seed=3)
    proposal, branch = _pick(disagreeing_sources, b_twice, "c", options)
    assert proposal.phase == "hedge" and branch[proposal.index] == 2  # c, tried once


def test_second_look_only_revisits_a_branch_first_tried_by_the_early_picks(
    disagreeing_sources: list[SourceModel],
) -> None:
    """A branch whose one pick came after the first ``branch_hedge_until`` observations
    (the search's own choice, not a one-shot verdict of the early picks) gets no second
    look, and an untried one no late first look; a branch tried once early does."""
    options = TransferOptions(branch_hedge_share=0.2, branch_second_look=10)
    observed = _configs(["a"] * 10 + ["b"], seed=3)  # b first tried at pick 11, c never
    proposal, _ = _pick(disagreeing_sources, observed, "c", options)
    assert proposal.phase != "hedge"
    observed = _configs(["a"] * 9 + ["c", "a", "b"], seed=3)  # c at pick 10, b at 12
    proposal, branch = _pick(disagreeing_sources, observed, "c", options)
    assert proposal.phase == "hedge" and "second look" in proposal.decision.reason
    assert branch[proposal.index] == 2


def test_second_look_must_be_positive() -> None:
    with pytest.raises(ValueError, match="branch_second_look must be at least 1"):
        TransferOptions(branch_second_look=0)


def test_second_look_counts_every_pick_when_the_target_gp_keeps_a_subsample(
    disagreeing_sources: list[SourceModel],
) -> None:
    """Branches b and c were tried four times each; the target GP keeping only 6 of the 16
    observations (`TransferOptions.max_target_points`) must not make one of them look
    tried once."""
    observed = _configs(["a"] * 2 + ["b", "c"] + ["b"] * 3 + ["c"] * 3 + ["a"] * 4, seed=3)
    for kept in (1000, 6):
        options = TransferOptions(branch_hedge_share=0.2, max_target_points=kept)
        proposal, _ = _pick(disagreeing_sources, observed, "c", options)
        assert proposal.phase != "hedge"


def test_hedge_gains_measure_a_source_best_against_the_other_tried_branches() -> None:
    """Each source's best free candidate against its best in the other tried branches, on
    its regret scale: ``inf`` with nothing else tried, negative when a tried branch holds
    something better."""
    reg_mean = np.array(
        [
            [0.90, 0.95, 0.50, 0.10],  # best in branch 1, 0.05 above branch 0
            [0.20, 0.30, 1.00, 0.10],  # best in branch 2, 0.80 above branch 0
            [1.00, 0.10, 0.20, 0.30],  # best in branch 0 (tried)
        ]
    )
    cand_branch = np.array([0, 1, 2, 2])
    free = np.ones(4, bool)
    tried = np.array([True, False, False])
    best = best_free(reg_mean, free)
    gains = hedge_gains(reg_mean, cand_branch, best, tried, 3)
    assert gains == pytest.approx([0.05, 0.80, np.inf])
    assert hedge_gains(reg_mean, cand_branch, best, np.zeros(3, bool), 3) == pytest.approx(
        [np.inf] * 3
    )
    free[0] = False  # source 2's best free candidate is now in branch 2, below its 1.00
    best = best_free(reg_mean, free)
    assert hedge_gains(reg_mean, cand_branch, best, tried, 3)[2] == pytest.approx(-0.70)


def test_a_source_tied_on_the_regret_scale_is_measured_for_the_branch_it_supports() -> None:
    """The regret scale can flatten a source's top into a tie across branches. Its gain is
    measured for the branch its best prediction lies in, the one `branch_support` counts it
    towards: tied with a tried branch, that gain is 0, not ``inf``."""
    cand_mean = np.array([[0.8, 0.9, 0.1]])  # best in branch 1 (untried)
    reg_mean = np.array([[1.0, 1.0, 0.0]])  # the regret scale ties it with branch 0
    cand_branch = np.array([0, 1, 2])
    free = np.ones(3, bool)
    tried = np.array([True, False, False])
    best = best_free(cand_mean, free)
    assert branch_support(cand_mean, np.ones(1), cand_branch, free, 3) == pytest.approx(
        [0.0, 1.0, 0.0]
    )
    assert hedge_gains(reg_mean, cand_branch, best, tried, 3) == pytest.approx([0.0])


def test_a_margin_keeps_hedges_out_of_branches_the_sources_score_like_a_tried_one(
    disagreeing_sources: list[SourceModel],
) -> None:
    """The sources that prefer learners b and c expect them 0.5 ahead of a: a margin well
    below that leaves the hedge as it was; a margin above it (on the regret scale) leaves
    no support, and no hedge."""
    observed = _configs(["a"], seed=3)
    for margin, hedged in ((0.0, True), (0.05, True), (0.9, False)):
        options = TransferOptions(branch_hedge_share=0.2, branch_hedge_margin=margin)
        proposal, branch = _pick(disagreeing_sources, observed, "c", options)
        assert (proposal.phase == "hedge") is hedged, margin
        if hedged:
            assert branch[proposal.index] in (1, 2)
            ahead = f"ahead of the tried branches by more than {margin:g}"
            assert (ahead in proposal.decision.reason) is (margin > 0)


def test_hedge_margin_must_lie_in_the_unit_interval() -> None:
    for margin in (-0.1, 1.0):
        with pytest.raises(ValueError, match="branch_hedge_margin must be in"):
            TransferOptions(branch_hedge_margin=margin)


def test_the_default_margin_skips_a_hedge_into_a_twin_of_the_tried_branch() -> None:
    """Sources that score learners b and c alike (twins, both 0.5 ahead of a) put their
    best in either, so each has the support of a share of them; after a pick in b, a hedge
    into c would insure against nothing. With no margin it is made; with the default
    margin it is not."""
    models = []
    for i in range(6):
        configs = SPACE.sample(150, seed=40 + i)
        models.append(
            fit_source_model(f"s{i}", SPACE.encode(configs), _score(configs, "b", "c"), seed=0)
        )
    observed = _configs(["b"], seed=3)
    cand_X = SPACE.encode(SPACE.sample(300, seed=5))
    branch = branch_of(cand_X, SPACE.branching_columns())
    cand_mean, _ = predict_sources(models, cand_X)
    support = branch_support(cand_mean, np.full(6, 1 / 6), branch, np.ones(300, bool), 3)
    assert support[2] >= 0.1  # c is some sources' favourite
    hedged, branch = _pick(models, observed, "b", TransferOptions(branch_hedge_margin=0.0))
    assert hedged.phase == "hedge" and branch[hedged.index] == 2
    assert "ahead of the tried branches" not in hedged.decision.reason
    default, _ = _pick(models, observed, "b", TransferOptions())
    assert default.phase != "hedge"
