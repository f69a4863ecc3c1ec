"""The `Recommender` API on a real Parquet library built from a synthetic conditional benchmark."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from library import EmptyLibraryError, Library, UnknownTaskError, import_benchmark, read_benchmark
from library.exceptions import SpaceError
from recommender.recommend import Recommender
from recommender.space import Space
from tests.synthetic import write_synthetic_benchmark


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("rec")
    bench_dir = write_synthetic_benchmark(
        root / "bench", n_tasks=4, n_configs=40, seed=1, direction="minimize"
    )
    lib = Library.open(root / "lib")
    import_benchmark(lib, bench_dir)
    benchmark = read_benchmark(bench_dir)
    space = Space.from_dict(benchmark.space)
    rec = Recommender(lib, n_candidates=256)
    return lib, rec, space, sorted(lib.task_ids())


def test_zero_shot_returns_diverse_explained_suggestions(setup):
    _, rec, space, tasks = setup
    suggestions = rec.suggest(space=space, n=3)
    assert len(suggestions) == 3
    configs = [tuple(sorted(s.config.items())) for s in suggestions]
    assert len(set(configs)) == 3
    for s in suggestions:
        space.validate(s.config)
        assert math.isfinite(s.predicted) and s.interval[0] <= s.predicted <= s.interval[1]
        assert s.neighbours and all(t in tasks for t, _ in s.neighbours)
        assert s.mode == "zero-shot"
    explanation = rec.explain().to_dict()
    assert set(explanation["sources"]) == set(tasks)
    assert len(explanation["decisions"]) == 3
    # the first pick's criterion and why (4 sources: too few for the leave-one-out test)
    assert "zero-shot pick: regret-scale LCB" in explanation["decisions"][0]["reason"]
    assert "5 needed" in explanation["decisions"][0]["reason"]


def test_library_task_is_its_own_target_not_a_source(setup):
    _, rec, _, tasks = setup
    suggestions = rec.suggest(tasks[0], n=1)
    explanation = rec.explain()
    assert tasks[0] not in explanation.sources
    assert explanation.n_observed == 40
    assert suggestions[0].mode in {"transfer", "target-only"}


def test_observed_values_are_validated(setup):
    _, rec, space, _ = setup
    config = space.sample(1, seed=0)[0]
    with pytest.raises(SpaceError, match=r"finite; got 1 NaN/inf, at observation\(s\) \[1\]"):
        rec.suggest(space=space, observed=[(config, 0.5), (config, float("nan"))])
    with pytest.raises(SpaceError, match="unknown"):
        rec.suggest(space=space, observed=[({**config, "not_a_parameter": 1.0}, 0.5)])


def test_unknown_task_and_explain_before_suggest(setup):
    lib, _, _, _ = setup
    fresh = Recommender(lib)
    with pytest.raises(SpaceError):
        fresh.explain()
    with pytest.raises(UnknownTaskError, match="no-such-task"):
        fresh.suggest("no-such-task")


def test_fully_observed_pool_is_a_clear_error(setup):
    _, rec, space, _ = setup
    pool = space.sample(4, seed=3)
    observed = pd.DataFrame(pool).assign(value=[0.1, 0.2, 0.3, 0.4])
    with pytest.raises(SpaceError, match="already observed"):
        rec.suggest(space=space, observed=observed, pool=pool)


def test_empty_library_without_observations_is_a_clear_error(tmp_path: Path, setup):
    _, _, space, _ = setup
    with pytest.raises(EmptyLibraryError, match="ingest"):
        Recommender(Library.open(tmp_path / "empty")).suggest(space=space)


def test_observations_without_sources_run_a_target_only_search(tmp_path: Path, setup):
    _, _, space, _ = setup
    configs = space.sample(5, seed=7)
    observed = [(c, float(i)) for i, c in enumerate(configs)]
    suggestions = Recommender(Library.open(tmp_path / "empty2"), n_candidates=64).suggest(
        space=space, observed=observed, n=1
    )
    assert len(suggestions) == 1 and not suggestions[0].neighbours
    space.validate(suggestions[0].config)


def test_observe_records_a_suggested_configuration(setup):
    lib, rec, _, tasks = setup
    before = lib.stats()["n_trials"]
    suggestion = rec.suggest(tasks[1], n=1)[0]
    rec.observe(tasks[1], suggestion.config, 0.5, objective_name="loss", direction="minimize")
    assert lib.stats()["n_trials"] == before + 1


def test_sources_must_share_every_parameter_of_the_target_space(setup):
    _, rec, space, _ = setup
    wider = Space.from_dict(
        {
            **space.to_dict(),
            "parameters": [
                *space.to_dict()["parameters"],
                {"name": "extra", "type": "float", "low": 0, "high": 1},
            ],
        }
    )
    with pytest.raises(EmptyLibraryError):
        rec.suggest(space=wider)


def test_a_kept_recommender_sees_trials_appended_after_its_last_suggest(tmp_path: Path):
    bench_dir = write_synthetic_benchmark(
        tmp_path / "bench", n_tasks=3, n_configs=20, seed=2, direction="minimize"
    )
    lib = Library.open(tmp_path / "lib")
    import_benchmark(lib, bench_dir)
    task = sorted(lib.task_ids())[0]
    rec = Recommender(lib, n_candidates=64)
    config = rec.suggest(task, n=1)[0].config
    assert rec.explain().n_observed == 20
    rec.observe(task, config, 0.25, objective_name="loss", direction="minimize")
    rec.suggest(task, n=1)
    assert rec.explain().n_observed == 21


def test_a_task_whose_trials_all_scored_the_same_is_not_a_source(tmp_path: Path):
    bench_dir = write_synthetic_benchmark(
        tmp_path / "bench", n_tasks=3, n_configs=20, seed=3, direction="minimize"
    )
    benchmark = read_benchmark(bench_dir)
    trials = benchmark.trials.copy()
    flat = trials["task_id"] == benchmark.task_ids[0]
    trials.loc[flat, benchmark.objective] = 1.0
    trials.to_parquet(bench_dir / "trials.parquet", index=False)
    lib = Library.open(tmp_path / "lib")
    import_benchmark(lib, bench_dir)
    rec = Recommender(lib, n_candidates=64)
    rec.suggest(space=Space.from_dict(benchmark.space), n=1)
    sources = rec.explain().sources
    assert len(sources) == 2 and not any(s.endswith(benchmark.task_ids[0]) for s in sources)


def test_excluded_tasks_are_not_sources(setup):
    _, rec, space, tasks = setup
    rec.suggest(space=space, n=1, exclude=[tasks[0], "no-such-task"])
    assert set(rec.explain().sources) == set(tasks[1:])


def test_a_kept_recommender_answers_as_a_fresh_one(tmp_path: Path):
    """Asked again, or after a source gained trials, it agrees with a new `Recommender`."""
    bench_dir = write_synthetic_benchmark(
        tmp_path / "bench", n_tasks=4, n_configs=20, seed=4, direction="minimize"
    )
    lib = Library.open(tmp_path / "lib")
    import_benchmark(lib, bench_dir)
    space = Space.from_dict(read_benchmark(bench_dir).space)
    target, source = sorted(lib.task_ids())[:2]
    observed = [(c, float(i)) for i, c in enumerate(space.sample(4, seed=5))]

    def ask(rec: Recommender) -> list[tuple[dict, float]]:
        picks = rec.suggest(space=space, n=2, observed=observed, exclude=[target])
        return [(s.config, s.predicted) for s in picks]

    kept = Recommender(lib, n_candidates=64, cache_dir=None)
    first = ask(kept)
    assert ask(kept) == first == ask(Recommender(lib, n_candidates=64, cache_dir=None))
    # a source's best configurations are candidates: new, better trials must show up
    for config in space.sample(6, seed=11):
        kept.observe(source, config, -100.0, objective_name="loss", direction="minimize")
    assert ask(kept) == ask(Recommender(lib, n_candidates=64, cache_dir=None))


@pytest.mark.parametrize("fresh", [False, True], ids=["kept", "fresh-per-call"])
def test_restart_picks_after_a_fallback_end_when_called_once_per_pick(tmp_path: Path, fresh: bool):
    """Suggest / evaluate / suggest against a library that has the target upside down:
    the guardrail falls back with `min_target_points` (3) restart picks, and the calls
    after them search the target alone (one GP per branch of ``optimizer``, the space's
    branching parameter); with one kept `Recommender` and with a new one per call (a
    `recommend suggest` process each)."""
    bench_dir = write_synthetic_benchmark(tmp_path / "bench", n_tasks=7, n_configs=150, seed=1)
    lib = Library.open(tmp_path / "lib")
    import_benchmark(lib, bench_dir)
    space = Space.from_dict(read_benchmark(bench_dir).space)
    trials = pd.read_parquet(bench_dir / "trials.parquet")
    target = trials[(trials.task_id == "task_0") & (trials.epoch == trials.epoch.max())]
    names = ["learning_rate", "num_layers", "optimizer", "momentum", "beta1"]
    pool = target[names].reset_index(drop=True)
    negated = -target["loss"].to_numpy()  # the library's best is this target's worst

    def key(config: dict) -> tuple:
        return tuple(sorted((k, v) for k, v in config.items() if v is not None and v == v))

    row_of = {key(c): i for i, c in enumerate(pool.to_dict("records"))}
    rec = Recommender(lib, n_candidates=256)
    observed: list[tuple[dict, float]] = []
    picks = []
    for _ in range(11):
        kwargs = dict(space=space, pool=pool, direction="minimize", exclude=["synthetic/task_0"])
        rec = Recommender(lib, n_candidates=256) if fresh else rec
        (pick,) = rec.suggest(observed=observed, **kwargs)
        if "restart pick" in pick.reason:  # asking again before observing spends nothing
            (again,) = rec.suggest(observed=observed, **kwargs)
            assert again.config == pick.config and again.reason == pick.reason
        picks.append(pick)
        observed.append((pick.config, float(negated[row_of[key(pick.config)]])))
    restarts = [i for i, p in enumerate(picks) if "restart pick" in p.reason]
    assert [picks[i].reason.split("restart pick ")[1][:6] for i in restarts] == [
        "1 of 3",
        "2 of 3",
        "3 of 3",
    ]
    later = picks[restarts[-1] + 1 :]
    assert later and all(p.mode == "target-only" and p.phase == "branch" for p in later)


def test_progress_counts_the_source_gps_of_a_new_source_set(setup) -> None:
    lib, _, space, tasks = setup
    calls: list[tuple[str, int, int]] = []
    rec = Recommender(lib, n_candidates=64, cache_dir=None, progress=lambda *a: calls.append(a))
    rec.suggest(space=space)
    assert [(done, total) for _, done, total in calls] == [(i, 4) for i in range(1, 5)]
    assert "source GPs" in calls[0][0]
    rec.suggest(space=space, seed=1)  # the same sources: nothing fitted again, no progress
    assert len(calls) == 4
