"""`benchmarks/screen_transfer_options.py`: a variant is checked before the cache loads."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("opts", "expected"),
    [
        ({}, ""),
        ({"guardrails": False, "explore_steps": [5, 9]}, ""),
        ({"method": "rgpe"}, ""),
        ({"method": "tpe"}, "method must be 'rgpe'"),
        ({"method": "rgpe", "guardrails": False}, "takes no options, got guardrails"),
        ({"gaurdrails": False}, "gaurdrails"),
        ({"probe": "nowhere"}, "probe must be 'maximin' or 'contrast'"),
        (3, "must be a JSON object"),
    ],
)
def test_variant_problem(opts: object, expected: str) -> None:
    from screen_transfer_options import variant_problem

    problem = variant_problem(opts)
    assert (expected in problem) if expected else problem == ""
    assert bool(problem) == bool(expected)


def test_a_cache_of_other_source_gps_is_refused_not_reused(tmp_path: Path) -> None:
    from screen_transfer_options import CacheMismatchError, load_or_build_cache

    from recommender.bench import write_conditional_benchmark

    bench = write_conditional_benchmark(tmp_path / "bench", n_tasks=4, n_configs=60, seed=3)
    path = tmp_path / "cache.pkl"
    cache = load_or_build_cache(path, bench, None, 1.0, source_points=30)
    assert cache["source_points"] == 30
    written = path.read_bytes()
    with pytest.raises(CacheMismatchError, match="conditioned on 30 trials, not 250"):
        load_or_build_cache(path, bench, None, 1.0)
    assert path.read_bytes() == written
    again = load_or_build_cache(path, bench, None, 1.0, source_points=30)
    mean, _ = again["preds"]["task_00"][0]
    assert mean.shape == (3, 60)  # three sources predicted at the target's 60 candidates


def test_the_screen_makes_the_harness_first_pick_choice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache holds each target's `auto` zero-shot criterion; a cache written without it
    gets it on load; a variant that does not set the criterion uses the cached one."""
    import pickle

    import screen_transfer_options as screen

    from recommender.bench import write_conditional_benchmark
    from recommender.first_pick import FIRST_PICK_CRITERIA

    bench = write_conditional_benchmark(tmp_path / "bench", n_tasks=6, n_configs=60, seed=4)
    path = tmp_path / "cache.pkl"
    cache = screen.load_or_build_cache(path, bench, None, 1.0, source_points=30)
    assert set(cache["first_pick"]) == set(cache["truth"])
    assert set(cache["first_pick"].values()) <= set(FIRST_PICK_CRITERIA)

    old = {k: v for k, v in cache.items() if k != "first_pick"}
    path.write_bytes(pickle.dumps(old))
    upgraded = screen.load_or_build_cache(path, bench, None, 1.0, source_points=30)
    assert upgraded["first_pick"] == cache["first_pick"]
    assert pickle.loads(path.read_bytes())["first_pick"] == cache["first_pick"]

    forced = {**cache, "first_pick": {t: "copula-mean" for t in cache["truth"]}}
    # what a worker's `_init` holds, without `_init`'s process-wide torch thread setting
    monkeypatch.setattr(screen, "_CACHE", forced)
    _, trace = screen.search({}, "task_00", 0, 1)
    assert "copula-mean (set in the options)" in trace.decisions[0].reason
    _, trace = screen.search({"zero_shot_criterion": "regret-lcb"}, "task_00", 0, 1)
    assert "regret-lcb (set in the options)" in trace.decisions[0].reason
