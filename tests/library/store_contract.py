"""The `Store` contract as reusable checks; `test_store_contract.py` runs them on every
store (Parquet `Library`, `InMemoryStore`), like optuna's ``pytest_storages``."""

from __future__ import annotations

import pyarrow as pa
import pytest

from library import SchemaError, UnknownTaskError, trial_id
from library.base import Store
from library.exceptions import SpaceError
from tests.library.conftest import make_trials

_SPACE = {"name": "s", "parameters": [{"name": "index", "type": "int", "low": 0, "high": 100}]}


def _snapshot(store: Store) -> tuple[int, int, list[str]]:
    trials = store.read_trials()
    return store.read_tasks().num_rows, trials.num_rows, sorted(trials["trial_id"].to_pylist())


def check_tasks_dedupe(store: Store) -> None:
    first = store.append_tasks([{"task_id": "a"}, {"task_id": "b"}, {"task_id": "a"}])
    assert (first.n_written, first.n_duplicates) == (2, 1)
    assert store.append_tasks([{"task_id": "b"}]).n_written == 0
    assert store.task_ids() == ["a", "b"]


def check_trials_dedupe_and_ids(store: Store) -> None:
    store.append_tasks([{"task_id": "t0"}])
    batch = make_trials(20)
    result = store.append_trials(
        pa.concat_tables([batch, batch.slice(0, 5)]), objective_name="l", direction="minimize"
    )
    assert (result.n_input, result.n_written, result.n_duplicates) == (25, 20, 5)
    assert store.append_trials(batch, objective_name="l", direction="minimize").n_written == 0
    row = store.read_trials().to_pylist()[0]
    params = {k[len("param_") :]: v for k, v in row.items() if k.startswith("param_")}
    assert row["trial_id"] == trial_id("t0", params, row["fidelity"], row["seed"])
    assert store.stats()["n_trials"] == 20 and store.stats()["by_status"] == {"ok": 20}


def check_bad_batches_change_nothing(store: Store) -> None:
    store.append_tasks([{"task_id": "t0"}, {"task_id": "s", "space": _SPACE}])
    store.append_trials(make_trials(5), objective_name="l", direction="minimize")
    before = _snapshot(store)
    good = make_trials(5, start=50)
    bad_batches: list[tuple[pa.Table, type[Exception], str]] = [
        (good.drop(["task_id"]), SchemaError, "minimize"),
        (make_trials(3, task_id="ghost"), UnknownTaskError, "minimize"),
        (good, SchemaError, "sideways"),
        (
            good.set_column(1, "objective_value", pa.array([float("nan")] * 5)),
            SchemaError,
            "minimize",
        ),
        (make_trials(3, task_id="s"), SpaceError, "minimize"),
    ]
    for batch, error, direction in bad_batches:
        with pytest.raises(error):
            store.append_trials(batch, objective_name="l", direction=direction)
    assert _snapshot(store) == before


def check_read_by_task(store: Store) -> None:
    store.append_tasks([{"task_id": "t0"}, {"task_id": "t1"}])
    store.append_trials(make_trials(4, task_id="t0"), objective_name="l", direction="minimize")
    store.append_trials(make_trials(6, task_id="t1"), objective_name="l", direction="minimize")
    assert store.read_trials(task_ids=["t1"]).num_rows == 6
    assert store.stats()["n_tasks"] == 2


CONTRACT = [
    check_tasks_dedupe,
    check_trials_dedupe_and_ids,
    check_bad_batches_change_nothing,
    check_read_by_task,
]
