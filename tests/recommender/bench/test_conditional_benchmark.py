"""The conditional, minimised synthetic benchmark and the ANCHORS reference methods on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from library.importers import read_benchmark
from recommender.bench import BenchConfig, run_transfer_benchmark, write_conditional_benchmark
from recommender.bench.synthetic import conditional_outlier_tasks
from recommender.space import Space


@pytest.fixture(scope="module")
def conditional_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_conditional_benchmark(
        tmp_path_factory.mktemp("cond") / "bench", n_tasks=6, n_configs=200, seed=11
    )


def test_generator_writes_a_conditional_minimised_benchmark(conditional_dir: Path):
    benchmark = read_benchmark(conditional_dir)
    space = Space.from_dict(benchmark.space)
    assert benchmark.direction == "minimize"
    assert space.dim == 21  # one-hot categoricals + numeric children
    table = benchmark.task_table(benchmark.task_ids[0], full_fidelity=True)
    svm = table["learner"] == "svm"
    # children are null exactly when their parent switches them off (nested for gamma)
    assert table.loc[~svm, "svm_cost"].isna().all() and table.loc[svm, "svm_cost"].notna().all()
    radial = svm & (table["svm_kernel"] == "radial")
    assert table.loc[radial, "svm_gamma"].notna().all()
    assert table.loc[~radial, "svm_gamma"].isna().all()
    assert table.loc[table["learner"] != "xgb", "xgb_eta"].isna().all()
    encoded = space.encode(table[list(space.names)])
    assert encoded.shape == (len(table), 21) and np.isfinite(encoded).all()


def test_training_time_follows_the_configuration_and_the_task(conditional_dir: Path):
    """The `time` metric has a shape the tasks share, so a cost cap can be measured on this
    space: a cost model fitted on the other tasks ranks a held-out task's times; each task
    sits at its own level, and time scales with the fidelity."""
    from scipy.stats import spearmanr

    from recommender.cost_cap import fit_cost_shape

    benchmark = read_benchmark(conditional_dir)
    space = Space.from_dict(benchmark.space)
    tables = {}
    for task in benchmark.task_ids:
        table = benchmark.task_table(task, full_fidelity=True)
        tables[task] = table[list(space.names)].assign(value=table["time"].to_numpy(float))
    held_out, *sources = benchmark.task_ids
    shape = fit_cost_shape(space, {task: tables[task] for task in sources}, "time")
    assert shape is not None
    table = tables[held_out]
    predicted = shape.log_shape(space.encode(table[list(space.names)]))
    assert spearmanr(predicted, table["value"]).statistic > 0.7
    levels = [np.log(t["value"]).mean() for t in tables.values()]
    assert np.ptp(levels) > 0.3
    trials = benchmark.task_table(held_out, full_fidelity=False)
    half = trials[trials[benchmark.fidelity_name] == 0.5]["time"].to_numpy()
    full = trials[trials[benchmark.fidelity_name] == 1.0]["time"].to_numpy()
    assert 0.3 < np.median(half / full) < 0.7


def test_generator_is_deterministic(tmp_path: Path):
    first = write_conditional_benchmark(tmp_path / "a", n_tasks=2, n_configs=30, seed=5)
    second = write_conditional_benchmark(tmp_path / "b", n_tasks=2, n_configs=30, seed=5)
    assert (first / "trials.parquet").read_bytes() == (second / "trials.parquet").read_bytes()


def test_the_outlier_tasks_are_listed_and_known_without_writing(tmp_path: Path):
    written = write_conditional_benchmark(tmp_path / "a", n_tasks=10, n_configs=20, seed=7)
    listed = json.loads((written / "space.json").read_text())["outlier_tasks"]
    assert len(listed) == 2 and set(listed) <= set(read_benchmark(written).task_ids)
    assert tuple(listed) == conditional_outlier_tasks(n_tasks=10, seed=7)
    assert conditional_outlier_tasks(n_tasks=10, seed=8) != tuple(listed)  # seed-dependent
    assert conditional_outlier_tasks(n_tasks=10, outlier_share=0.0, seed=7) == ()


def test_the_tasks_replayed_score_the_written_configurations(tmp_path: Path):
    """`conditional_tasks` returns the very tasks written (noise 0: the written full-fidelity
    error is the task's scaled clean error), evaluable at configurations off the pools."""
    from recommender.bench import conditional_tasks

    written = write_conditional_benchmark(
        tmp_path / "a", n_tasks=4, n_configs=50, noise=0.0, seed=9
    )
    bench = read_benchmark(written)
    tasks = conditional_tasks(n_tasks=4, n_configs=50, noise=0.0, seed=9)
    assert [t.task_id for t in tasks] == list(bench.task_ids)
    assert [t.task_id for t in tasks if t.outlier] == list(
        conditional_outlier_tasks(n_tasks=4, seed=9)
    )
    for task in tasks:
        rows = bench.trials[
            (bench.trials["task_id"] == task.task_id) & (bench.trials["train_fraction"] == 1.0)
        ]
        configs = rows[list(bench.parameter_names)].reset_index(drop=True)
        expected = (task.offset + task.scale * task.clean_error(configs)).astype(np.float32)
        np.testing.assert_array_equal(rows["error"].to_numpy(), expected)
        assert task.best_clean_error() <= task.clean_error(configs).min()
    # another seed draws other tasks
    assert conditional_tasks(n_tasks=4, n_configs=50, seed=10)[0].offset != tasks[0].offset


def test_independent_preferences_redraw_each_task_best_learner_and_keep_the_optima() -> None:
    """With ``preference="independent"`` each task's learner preference is drawn anew (the
    best learner varies more across tasks) while the learners' optima are the family's."""
    from recommender.bench import conditional_tasks

    family = conditional_tasks(n_tasks=40, n_configs=10, outlier_share=0.0, seed=3)
    independent = conditional_tasks(
        n_tasks=40, n_configs=10, outlier_share=0.0, seed=3, preference="independent"
    )
    # the first task's draws come before any extra one: the same latent and optima
    np.testing.assert_array_equal(family[0].latent, independent[0].latent)
    for name, optimum in family[0].optima.items():
        np.testing.assert_array_equal(optimum, independent[0].optima[name])
    assert not np.array_equal(family[0].preference, independent[0].preference)

    def best_learners(tasks: list) -> np.ndarray:  # tasks whose best learner is each
        return np.bincount([int(np.argmin(t.preference)) for t in tasks], minlength=4)

    assert best_learners(family).max() >= 20  # the family mostly shares a best learner
    assert best_learners(independent).min() >= 5  # every learner is best for some tasks
    with pytest.raises(ValueError, match="preference must be one of"):
        conditional_tasks(n_tasks=2, n_configs=10, preference="shuffled")


def test_transfer_methods_beat_random_on_the_conditional_benchmark(conditional_dir: Path):
    doc = run_transfer_benchmark(
        BenchConfig(
            benchmark=conditional_dir,
            methods=("random", "rgpe", "ours"),
            budget=6,
            seeds=2,
            targets=3,
            workers=1,
        )
    )
    summary = doc["summary"]
    for method in ("rgpe", "ours"):
        for t in ("1", "5"):
            assert summary[method]["mean_regret"][t] < summary["random"]["mean_regret"][t], (
                method,
                t,
            )
    for run in doc["per_target"][0]["runs"]["rgpe"]:
        assert len(set(run["picks"])) == 6  # the reference never repeats a pool row
