"""`WarmStartSampler` and `import_study` against real Optuna studies and storages."""

from __future__ import annotations

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from optuna.trial import TrialState  # noqa: E402

from library.exceptions import LibraryError, SpaceError  # noqa: E402
from library.query import task_evaluations  # noqa: E402
from library.store import Library  # noqa: E402
from recommender.integrations.optuna import (  # noqa: E402
    WarmStartSampler,
    import_study,
    to_optuna_distributions,
)
from recommender.space import Space  # noqa: E402
from tests.integrations.conftest import SVC_SPACE, source_score  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _objective(trial: optuna.Trial) -> float:
    c = trial.suggest_float("C", 1e-3, 1e3, log=True)
    gamma = trial.suggest_float("gamma", 1e-4, 1e1, log=True)
    return source_score({"C": c, "gamma": gamma}, 0.1)


def _near_source_optimum(params: dict) -> bool:
    return 0.0 <= np.log10(params["C"]) <= 2.0 and -3.0 <= np.log10(params["gamma"]) <= -1.0


def test_warm_trials_come_from_the_library_then_tpe_takes_over(source_library):
    sampler = WarmStartSampler(source_library, n_warm_trials=3, space=SVC_SPACE, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_objective, n_trials=5)
    assert sorted(sampler.explanations) == [0, 1, 2]  # warm phase only, then handed over
    first = sampler.explanations[0]
    assert first.suggestions[0].mode == "zero-shot"
    assert set(first.sources) == {"src/0", "src/1", "src/2"}
    assert _near_source_optimum(study.trials[0].params), study.trials[0].params
    # the recommender saw the completed warm trials as observations
    assert sampler.explanations[2].n_observed == 2
    # warm-started trials beat what random search reaches in the same budget
    random_study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0)
    )
    random_study.optimize(_objective, n_trials=3)
    assert max(t.value for t in study.trials[:3]) > max(t.value for t in random_study.trials)


def test_space_is_inferred_from_completed_trials_when_not_given(source_library):
    sampler = WarmStartSampler(source_library, n_warm_trials=3, seed=1)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_objective, n_trials=3)
    # trial 0 has no known space (sampled by the base sampler); trials 1-2 are warm
    assert sorted(sampler.explanations) == [1, 2]
    assert sampler.explanations[1].n_observed == 1


def test_pending_trials_get_distinct_configurations(source_library):
    sampler = WarmStartSampler(source_library, n_warm_trials=4, space=SVC_SPACE, seed=0)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    first, second = study.ask(), study.ask()  # two workers, nothing told yet
    a = {k: first.suggest_float(k, *b, log=True) for k, b in _BOUNDS.items()}
    b = {k: second.suggest_float(k, *b, log=True) for k, b in _BOUNDS.items()}
    assert a != b


_BOUNDS = {"C": (1e-3, 1e3), "gamma": (1e-4, 1e1)}


def _conditional_study(storage, name: str, n_trials: int = 12) -> optuna.Study:
    study = optuna.create_study(
        study_name=name, storage=storage, direction="minimize",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )  # fmt: skip

    def objective(trial: optuna.Trial) -> float:
        kind = trial.suggest_categorical("kind", ["a", "b"])
        x = trial.suggest_float("x", -2.0, 2.0)
        if kind == "b":
            depth = trial.suggest_int("depth", 1, 8)
            x += 0.1 * depth
        if trial.number == 3:
            raise optuna.TrialPruned()
        if trial.number == 4:
            raise ValueError("boom")
        return x**2

    study.optimize(objective, n_trials=n_trials, catch=(ValueError,))
    return study


@pytest.mark.parametrize("backend", ["sqlite", "journal"])
def test_import_study_from_storage_is_complete_and_idempotent(tmp_path, backend):
    if backend == "sqlite":
        location = f"sqlite:///{tmp_path / 'study.db'}"
        storage = location
    else:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        location = tmp_path / "journal.log"
        storage = JournalStorage(JournalFileBackend(str(location)))
    study = _conditional_study(storage, "cond")
    library = Library.open(tmp_path / "lib")
    result = import_study(library, location)
    assert result.task_id == "optuna/cond" and result.created_task
    assert result.n_trials == 12
    trials = library.read_trials(task_ids=["optuna/cond"]).to_pandas()
    status = trials.set_index(trials["params_json"])["status"]
    assert sorted(status.value_counts().items()) == [("failed", 1), ("ok", 10), ("pruned", 1)]
    ok = trials[trials["status"] == "ok"]
    expected = sorted(t.value for t in study.trials if t.state == TrialState.COMPLETE)
    assert sorted(ok["objective_value"]) == pytest.approx(expected)
    # inactive conditional parameter stored as null
    a_rows = trials[trials["param_kind"] == "a"]
    assert a_rows["param_depth"].isna().all() and len(a_rows) > 0
    space = Space.from_dict(library.task_spaces()["optuna/cond"])
    assert set(space.names) == {"kind", "x", "depth"}
    assert (
        library.read_tasks().to_pandas().set_index("task_id").loc["optuna/cond", "direction"]
        == "minimize"
    )
    again = import_study(library, location)
    assert again.n_written == 0 and not again.created_task
    assert len(task_evaluations(library)["optuna/cond"].objective) == 10


def test_import_study_errors_name_the_fix(tmp_path):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    for name in ("one", "two"):
        optuna.create_study(study_name=name, storage=url).optimize(
            lambda t: t.suggest_float("x", 0, 1), n_trials=1
        )
    library = Library.open(tmp_path / "lib")
    with pytest.raises(LibraryError, match="study_name"):
        import_study(library, url)
    with pytest.raises(LibraryError, match="no study 'three'"):
        import_study(library, url, study_name="three")
    with pytest.raises(LibraryError, match="neither an RDB URL"):
        import_study(library, tmp_path / "missing.log")
    multi = optuna.create_study(directions=["minimize", "minimize"])
    multi.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)
    with pytest.raises(SpaceError, match="objectives"):
        import_study(library, multi)
    assert import_study(library, url, study_name="two", task_id="mine").task_id == "mine"


def test_imported_study_becomes_a_transfer_source(tmp_path):
    library = Library.open(tmp_path / "lib")
    for shift in (-0.2, 0.0, 0.2):
        study = optuna.create_study(
            study_name=f"past{shift}", direction="maximize",
            sampler=optuna.samplers.RandomSampler(seed=int(10 * shift) + 5),
        )  # fmt: skip
        study.optimize(
            lambda t, s=shift: source_score(
                {"C": t.suggest_float("C", 1e-3, 1e3, log=True),
                 "gamma": t.suggest_float("gamma", 1e-4, 1e1, log=True)}, s,
            ),
            n_trials=30,
        )  # fmt: skip
        import_study(library, study)
    sampler = WarmStartSampler(library, n_warm_trials=1, space=SVC_SPACE, seed=0)
    new = optuna.create_study(direction="maximize", sampler=sampler)
    new.optimize(_objective, n_trials=1)
    assert len(sampler.explanations[0].sources) == 3
    assert _near_source_optimum(new.trials[0].params), new.trials[0].params


def test_space_conversion_round_trips_and_rejects_conditions():
    space = Space.from_dict(
        {"parameters": [*SVC_SPACE["parameters"],
                        {"name": "k", "type": "categorical", "choices": ["rbf", "poly"]},
                        {"name": "d", "type": "int", "low": 1, "high": 5}]}
    )  # fmt: skip
    assert Space.from_optuna(to_optuna_distributions(space)) == space
    conditional = Space.from_dict(
        {"parameters": [{"name": "k", "type": "categorical", "choices": ["a", "b"]},
                        {"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
         "conditions": [{"child": "x", "parent": "k", "values": ["a"]}]}
    )  # fmt: skip
    with pytest.raises(SpaceError, match="conditional"):
        to_optuna_distributions(conditional)
    with pytest.raises(SpaceError, match="n_warm_trials"):
        WarmStartSampler(None, n_warm_trials=-1)


def test_suggest_options_reach_the_recommender_and_costs_level_the_cap(tmp_path):
    """A budget cap on a library whose trials recorded a cost: the warm trials stay under
    it, levelled on the completed trials' user attribute named like the metric."""
    from tests.integrations.conftest import write_source_library

    library = write_source_library(tmp_path / "lib")
    rows = [  # the same tasks again with a cost that grows with C
        {**row, "metric_energy": float(row["param_C"]) ** 0.5}
        for row in library.read_trials().to_pylist()
    ]
    costly = Library.open(tmp_path / "costly")
    costly.append_tasks(library.read_tasks())
    costly.append_trials(
        [
            {
                k: v
                for k, v in r.items()
                if k in ("task_id", "objective_value", "param_C", "param_gamma", "metric_energy")
            }
            for r in rows
        ],
        objective_name="accuracy",
        direction="maximize",
        source="test",
    )
    options = {"max_cost": 1.0, "cost_metric": "energy", "cost_confidence": 0.5}
    sampler = WarmStartSampler(
        costly, n_warm_trials=4, space=SVC_SPACE, seed=0, suggest_options=options
    )

    def objective(trial: optuna.Trial) -> float:
        value = _objective(trial)
        trial.set_user_attr("energy", trial.params["C"] ** 0.5)
        return value

    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=4)
    assert all(t.params["C"] <= 1.5 for t in study.trials)  # sqrt(C) <= 1, give or take
    assert "3 observed target trials" in sampler.explanations[3].limits[0]
    with pytest.raises(SpaceError, match="not passed through"):
        WarmStartSampler(costly, suggest_options={"direction": "minimize"})
