"""`Recommender(surrogate="multitask")` on a real Parquet library, and `recommend suggest
--surrogate multitask`."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from library import Library, import_benchmark, read_benchmark
from library.exceptions import SpaceError
from recommender.cli import cli
from recommender.recommend import Recommender
from recommender.space import Space
from tests.synthetic import write_synthetic_benchmark


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("rec-mt")
    bench_dir = write_synthetic_benchmark(
        root / "bench", n_tasks=4, n_configs=40, seed=1, direction="minimize"
    )
    lib = Library.open(root / "lib")
    import_benchmark(lib, bench_dir)
    space = Space.from_dict(read_benchmark(bench_dir).space)
    return lib, space, sorted(lib.task_ids()), bench_dir / "space.json"


def _rec(lib: Library) -> Recommender:
    return Recommender(lib, n_candidates=256, surrogate="multitask", cache_dir=None)


def test_zero_shot_batch_is_diverse_and_names_its_neighbours(setup) -> None:
    lib, space, tasks, _ = setup
    rec = _rec(lib)
    suggestions = rec.suggest(space=space, n=3)
    assert len({tuple(sorted(s.config.items())) for s in suggestions}) == 3
    for s in suggestions:
        space.validate(s.config)
        assert s.mode == "zero-shot" and s.phase == "multitask"
        assert math.isfinite(s.predicted) and s.interval[0] < s.predicted < s.interval[1]
        assert s.neighbours and {t for t, _ in s.neighbours} <= set(tasks)
    explanation = rec.explain().to_dict()
    assert len(explanation["decisions"]) == 1
    assert "multi-task GP's mixture of 4 of 4 sources" in explanation["decisions"][0]["reason"]


def test_a_library_task_is_judged_against_a_target_only_gp(setup) -> None:
    lib, _, tasks, _ = setup
    rec = _rec(lib)
    suggestion = rec.suggest(tasks[0], n=1)[0]
    explanation = rec.explain()
    assert tasks[0] not in explanation.sources and explanation.n_observed == 40
    assert suggestion.mode in {"transfer", "target-only"}
    assert "leave-one-out on 40 observations" in suggestion.reason
    # a second call with the same sources warm-starts from the kept fit and agrees
    assert rec.suggest(tasks[0], n=1)[0].config == suggestion.config


def test_pool_mode_never_reproposes_an_observed_configuration(setup) -> None:
    lib, space, _, _ = setup
    pool = space.sample(6, seed=3)
    observed = [(c, float(i)) for i, c in enumerate(pool[:4])]
    suggestions = _rec(lib).suggest(space=space, pool=pool, observed=observed, n=5)
    assert [s.config for s in suggestions] in (
        [space.validate(pool[4]), space.validate(pool[5])],
        [space.validate(pool[5]), space.validate(pool[4])],
    )


def test_bad_surrogate_and_gradient_optimizer_are_clear_errors(setup) -> None:
    lib, space, _, _ = setup
    with pytest.raises(SpaceError, match="surrogate must be one of"):
        Recommender(lib, surrogate="mtgp")
    with pytest.raises(SpaceError, match="multi-task surrogate"):
        _rec(lib).suggest(space=space, optimizer="gradient")


def test_cli_suggest_with_the_multitask_surrogate(setup) -> None:
    lib, _, _, space_json = setup
    result = CliRunner().invoke(
        cli,
        [
            "suggest",
            "--library",
            str(lib.root),
            "--no-starter",
            "--space",
            str(space_json),
            "--surrogate",
            "multitask",
            "-n",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [s["phase"] for s in doc["suggestions"]] == ["multitask", "multitask"]
