"""The run loop with its default proposer: the transfer Recommender over the library."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.runner import RunResult, run_search


def logreg_run(csv: Path, tmp_path: Path, *, budget: int, **options: Any) -> RunResult:
    """A small logistic-regression run recording to ``tmp_path / "lib"``."""
    return run_search(
        dataset=csv, target="label", model="logreg", budget=budget, cv_folds=2,
        validate_final=False, n_jobs=1, library=tmp_path / "lib", runs_dir=tmp_path / "runs",
        **options,
    )  # fmt: skip


def one_trial_run(csv: Path, tmp_path: Path) -> tuple[RunResult, dict[str, Any]]:
    """A one-trial `logreg_run` and the library row of its task."""
    from library import Library

    result = logreg_run(csv, tmp_path, budget=1)
    (task,) = [
        row
        for row in Library.open(tmp_path / "lib").read_tasks().to_pylist()
        if row["task_id"] == result.task_id
    ]
    return result, task


def test_library_run_uses_the_recommender_after_a_random_start(
    breast_cancer_csv: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from library import Library

    with caplog.at_level(logging.WARNING, logger="recommender.runner.run"):
        result = logreg_run(breast_cancer_csv, tmp_path, budget=3, default_first=False)
    fallbacks = [r for r in caplog.records if "nothing to transfer" in r.getMessage()]
    # empty library + nothing observed: the first batch is random, later ones transfer
    assert len(fallbacks) == 1
    assert [t.status for t in result.trials] == ["ok", "ok", "ok"]
    stored = Library.open(tmp_path / "lib").read_trials().to_pylist()
    assert len(stored) == 3 and {row["task_id"] for row in stored} == {result.task_id}


def test_the_runs_own_task_gives_observations_and_is_never_a_source(tmp_path: Path) -> None:
    from library import Library, import_benchmark, read_benchmark
    from recommender.recommend import Recommender
    from recommender.runner.run import RecommenderProposer
    from tests.synthetic import write_synthetic_benchmark

    bench = write_synthetic_benchmark(tmp_path / "bench", n_tasks=4, n_configs=30, seed=2)
    library = Library.open(tmp_path / "lib")
    import_benchmark(library, bench)
    space = read_benchmark(bench).space
    own, *others = sorted(library.task_ids())
    # the task is in the library (the run records its trials there): they are the
    # observations, and the task is not a source
    recommender = Recommender(library)
    proposer = RecommenderProposer(recommender, space, task_id=own)
    assert len(proposer.suggest(1)) == 1
    explanation = recommender.explain()
    assert explanation.n_observed == 30 and own not in explanation.sources
    assert set(explanation.sources) == set(others)
    # a task id the libraries do not hold: the observed results are passed instead
    stranger = RecommenderProposer(recommender, space, task_id="not-in-the-library")
    config = stranger.suggest(1)[0]
    stranger.observe(config, 0.5)
    stranger.suggest(1)
    assert recommender.explain().n_observed == 1
    assert set(recommender.explain().sources) == {own, *others}


def test_a_library_run_records_its_datasets_fingerprint(
    breast_cancer_csv: Path, tmp_path: Path
) -> None:
    from featurizers import featurize_dataset

    result, task = one_trial_run(breast_cancer_csv, tmp_path)
    expected = featurize_dataset(breast_cancer_csv, target="label", seed=0)
    assert task["fingerprint_names"] == list(expected.names)
    np.testing.assert_array_equal(task["fingerprint_values"], expected.values)  # NaNs included
    assert task["featurizer_version"] == expected.version


def test_a_runs_task_names_its_data_file_so_refresh_can_refeaturize_it(
    breast_cancer_csv: Path, tmp_path: Path
) -> None:
    """After a featurizer upgrade `refresh` recomputes a run's fingerprint from its file."""
    from library import Library, refresh
    from recommender.runner import dataset_fingerprint

    result, task = one_trial_run(breast_cancer_csv, tmp_path)
    assert task["source"] == f"dataset:file:{breast_cancer_csv.resolve()}?target=label"
    stale = Library.open(tmp_path / "stale")  # the same task, fingerprinted by an older version
    stale.append_tasks(
        [
            {
                "task_id": task["task_id"],
                "source": task["source"],
                "fingerprint_names": ["a"],
                "fingerprint_values": [1.0],
                "featurizer_version": "0",
            }
        ]
    )
    assert refresh(stale).refeaturized == (result.task_id,)
    (row,) = stale.read_tasks().to_pylist()
    expected = dataset_fingerprint(breast_cancer_csv, "label")
    assert expected is not None and row["fingerprint_names"] == list(expected.names)
    np.testing.assert_array_equal(row["fingerprint_values"], expected.values)


def test_with_a_fingerprint_the_sources_are_the_nearest_tasks(breast_cancer_csv: Path) -> None:
    from featurizers import featurize_dataset
    from recommender.recommend import Recommender
    from recommender.runner import default_space
    from recommender.runner.models import ModelFamily
    from recommender.runner.run import RecommenderProposer
    from recommender.starter import open_starter_library

    space = default_space(ModelFamily.LOGREG)
    fingerprint = featurize_dataset(breast_cancer_csv, target="label", seed=0)
    chosen = {}
    for label, fp in (("nearest", fingerprint), ("all", None)):
        recommender = Recommender(open_starter_library(), n_neighbours=3, cache_dir=None)
        RecommenderProposer(recommender, space, fingerprint=fp).suggest(1)
        chosen[label] = set(recommender.explain().sources)
    assert len(chosen["nearest"]) == 3 and chosen["nearest"] < chosen["all"]
    assert len(chosen["all"]) > 20  # every logistic-regression task of the starter library


def test_the_nearest_tasks_do_not_depend_on_max_sources(breast_cancer_csv: Path) -> None:
    """With a fingerprint the nearest are sought among every usable task, not only among
    the ``max_sources`` with the most trials (all 30 logistic-regression tasks of the
    starter library tie at 51 trials, so that cap alone would keep the first 5 by id)."""
    from featurizers import featurize_dataset
    from recommender.recommend import Recommender
    from recommender.runner import default_space
    from recommender.runner.models import ModelFamily
    from recommender.starter import open_starter_library

    space = default_space(ModelFamily.LOGREG)
    fingerprint = featurize_dataset(breast_cancer_csv, target="label", seed=0)
    chosen = []
    for max_sources in (5, 10_000):
        recommender = Recommender(
            open_starter_library(), n_neighbours=3, max_sources=max_sources, cache_dir=None
        )
        recommender.suggest(None, space, fingerprint=fingerprint, seed=0)
        chosen.append(set(recommender.explain().sources))
    assert len(chosen[0]) == 3 and chosen[0] == chosen[1]
    capped = Recommender(open_starter_library(), n_neighbours=3, max_sources=2, cache_dir=None)
    capped.suggest(None, space, fingerprint=fingerprint, seed=0)
    assert len(capped.explain().sources) == 2  # max_sources still caps the nearest


def test_a_run_starts_with_the_default_then_asks_the_proposer(
    breast_cancer_csv: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from recommender.runner import ModelFamily, default_config

    with caplog.at_level(logging.WARNING, logger="recommender"):
        result = logreg_run(breast_cancer_csv, tmp_path, budget=3)
    default = default_config(ModelFamily.LOGREG, n_features=30)
    assert [t.config for t in result.trials][0] == default
    assert all(t.config != default for t in result.trials[1:])
    # the default is an observation: even an empty library has something to search from
    assert not [r for r in caplog.records if "nothing to transfer" in r.getMessage()]
    assert not [r for r in caplog.records if "comparable fingerprint" in r.getMessage()]


def test_a_second_run_on_the_same_data_does_not_repeat_the_default(
    breast_cancer_csv: Path, tmp_path: Path
) -> None:
    from library import Library
    from recommender.runner import ModelFamily, default_config

    first = logreg_run(breast_cancer_csv, tmp_path, budget=2)
    second = logreg_run(breast_cancer_csv, tmp_path, budget=2)
    default = default_config(ModelFamily.LOGREG, n_features=30)
    assert second.task_id == first.task_id and first.trials[0].config == default
    assert all(t.config != default for t in second.trials)
    stored = Library.open(tmp_path / "lib").read_trials(task_ids=[first.task_id])
    assert len(stored) == 4
    assert sum(json.loads(p) == default for p in stored["params_json"].to_pylist()) == 1


def test_tasks_without_a_fingerprint_stay_sources_beside_the_nearest(
    breast_cancer_csv: Path, tmp_path: Path
) -> None:
    """Runs recorded before runs fingerprinted their data are not dropped as sources."""
    from featurizers import featurize_dataset
    from library import Library
    from recommender.recommend import Recommender
    from recommender.runner import default_space
    from recommender.runner.models import ModelFamily
    from recommender.starter import open_starter_library

    space = default_space(ModelFamily.LOGREG)
    starter = open_starter_library()
    kept = [t for t in starter.task_ids() if t.endswith("/logreg")][:4]
    library = Library.open(tmp_path / "lib")
    tasks = [r for r in starter.read_tasks().to_pylist() if r["task_id"] in kept]
    for i, row in enumerate(tasks):  # two of the four lose their fingerprint
        library.append_tasks(
            [
                {
                    "task_id": row["task_id"],
                    "space": space,
                    "direction": "maximize",
                    **(
                        {
                            "fingerprint_names": row["fingerprint_names"],
                            "fingerprint_values": row["fingerprint_values"],
                            "featurizer_version": row["featurizer_version"],
                        }
                        if i < 2
                        else {}
                    ),
                }
            ]
        )
    trials = starter.read_trials(task_ids=kept).to_pylist()
    library.append_trials(
        [
            {"task_id": r["task_id"], "objective_value": r["objective_value"]}
            | {f"param_{k}": v for k, v in json.loads(r["params_json"]).items()}
            for r in trials
            if r["status"] == "ok"
        ],
        objective_name="accuracy",
        direction="maximize",
    )
    fingerprint = featurize_dataset(breast_cancer_csv, target="label", seed=0)
    recommender = Recommender(library, n_neighbours=1, cache_dir=None)
    recommender.suggest(space=space, fingerprint=fingerprint)
    sources = set(recommender.explain().sources)
    assert len(sources) == 3 and set(kept[2:]) <= sources  # 1 nearest + 2 without one


def test_a_capped_run_searches_inside_the_box_instead_of_projecting(
    breast_cancer_csv: Path, tmp_path: Path
) -> None:
    """With ``max_deviation``, the transfer proposer's picks come from inside the box around
    the default (`Recommender.suggest(default=, max_deviation=)`), so the run never has to
    pull them in. The first batch (an empty library, nothing observed) starts at the
    default itself, then draws in its box."""
    from recommender.default_box import DefaultBox
    from recommender.runner import default_config, default_space
    from recommender.runner.models import ModelFamily
    from recommender.space import Space

    result = logreg_run(
        breast_cancer_csv, tmp_path, budget=4, max_deviation=0.1, default_first=False
    )
    space = Space.from_dict(default_space(ModelFamily.LOGREG))
    box = DefaultBox.around(space, default_config(ModelFamily.LOGREG, n_features=30), 0.1)
    assert box.contains(space.encode([t.config for t in result.trials])).all()
    assert [t.projected for t in result.trials] == [False] * 4
    assert result.trials[0].config == box.default


def test_the_transfer_proposer_keeps_to_its_cost_cap(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Under a per-trial cost cap the proposer asks for configurations predicted within
    it, levelled on the costs it observes; a library without the metric drops the cap."""
    from library import Library, import_benchmark, read_benchmark
    from recommender.recommend import Recommender
    from recommender.runner.run import RecommenderProposer
    from tests.synthetic import write_synthetic_benchmark

    bench = write_synthetic_benchmark(tmp_path / "bench", n_tasks=4, n_configs=30, seed=2)
    library = Library.open(tmp_path / "lib")
    import_benchmark(library, bench)
    space = read_benchmark(bench).space
    recommender = Recommender(library, cache_dir=tmp_path / "cache")
    # the library's time is 0.9 per layer at full fidelity: 1.0 admits one layer only
    proposer = RecommenderProposer(recommender, space, seed=1, cost_cap=(1.0, "time"))
    assert {c["num_layers"] for c in proposer.suggest(3)} == {1}
    # on a machine 4x slower than the library's, 4.0 admits one layer too, once seen
    slow = RecommenderProposer(recommender, space, seed=1, cost_cap=(4.0, "time"))
    for config in slow.suggest(3):
        slow.observe(config, -float(config["num_layers"]), cost=3.6 * config["num_layers"])
    slow.observe(config, -1.0)  # a cost not recorded
    assert {c["num_layers"] for c in slow.suggest(3)} == {1}
    explanation = recommender.explain()
    assert "3 observed target trials" in explanation.limits[0]
    assert all(3.0 < s.cost <= 4.0 for s in explanation.suggestions)
    uncapped = RecommenderProposer(recommender, space, seed=1, cost_cap=(1.0, "energy"))
    with caplog.at_level(logging.WARNING, logger="recommender.runner.run"):
        assert len(uncapped.suggest(2)) == 2
        uncapped.suggest(1)
    dropped = [r for r in caplog.records if "cost cap dropped" in r.getMessage()]
    assert len(dropped) == 1 and "metric_energy" in dropped[0].getMessage()


def test_a_runs_trial_time_limit_caps_its_transfer_proposals(
    breast_cancer_csv: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With a library task that recorded runtimes the cap holds; with none it is dropped."""
    import pandas as pd

    def dropped() -> list[str]:
        return [r.getMessage() for r in caplog.records if "cost cap dropped" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="recommender.runner.run"):
        logreg_run(breast_cancer_csv, tmp_path, budget=5, trial_time_limit_s=60.0)
        assert len(dropped()) == 1 and "no library task" in dropped()[0]  # no other task yet
        caplog.clear()
        subset = tmp_path / "subset.csv"
        pd.read_csv(breast_cancer_csv).iloc[:300].to_csv(subset, index=False)
        second = logreg_run(subset, tmp_path, budget=3, trial_time_limit_s=60.0)
    assert [t.status for t in second.trials] == ["ok"] * 3 and dropped() == []
