"""Library.open / append / dedupe / compaction, and every bad input leaving no trace."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from library import (
    CorruptFileError,
    Library,
    LibraryError,
    LibraryLockedError,
    SchemaError,
    UnknownTaskError,
    trial_id,
)
from library.exceptions import SpaceError
from tests.library.conftest import make_trials, tree_digest


def test_open_default_path_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPWS_LIBRARY", str(tmp_path / "envlib"))
    lib = Library.open()
    assert lib.root == tmp_path / "envlib"
    assert (lib.root / "trials").is_dir() and (lib.root / "tasks").is_dir()
    with pytest.raises(LibraryError, match="no library"):
        Library.open(tmp_path / "missing", create=False)


def test_append_dedupes_within_and_across_batches(library: Library) -> None:
    batch = make_trials(100)
    doubled = pa.concat_tables([batch, batch.slice(0, 10)])
    first = library.append_trials(doubled, objective_name="loss", direction="minimize")
    assert (first.n_input, first.n_written, first.n_duplicates) == (110, 100, 10)
    again = library.append_trials(batch, objective_name="loss", direction="minimize")
    assert again.n_written == 0 and again.path is None
    assert library.stats()["n_trials"] == 100
    stored = library.read_trials()
    row = stored.filter(pa.compute.equal(stored["param_index"], 7)).to_pylist()[0]
    params = json.loads(row["params_json"])
    assert params["index"] == 7 and params["optimizer"] == row["param_optimizer"]
    assert row["trial_id"] == trial_id("t0", params, 10.0, 0)
    assert row["status"] == "ok" and row["schema_version"] == 1


def test_read_only_complete_files(library: Library) -> None:
    library.append_trials(make_trials(20), objective_name="loss", direction="minimize")
    (library.trials_dir / "part-dead.parquet.tmp").write_bytes(b"half a file")
    assert library.stats()["n_trials"] == 20


def test_compaction_merges_without_loss(library: Library) -> None:
    for index in range(5):
        library.append_trials(
            make_trials(50, start=index * 50, seed=index),
            objective_name="loss",
            direction="minimize",
        )
    before = sorted(library.read_trials()["trial_id"].to_pylist())
    results = {r.table: r for r in library.compact()}
    assert results["trials"].n_files_merged == 5
    assert len(library.files("trials")) == 1
    assert sorted(library.read_trials()["trial_id"].to_pylist()) == before


def test_compaction_finishes_an_interrupted_one(library: Library) -> None:
    for index in range(3):
        library.append_trials(
            make_trials(30, start=index * 30), objective_name="l", direction="minimize"
        )
    inputs = library.files("trials")
    # simulate a compaction killed after writing its output but before deleting inputs
    merged = pa.concat_tables([pq.read_table(p) for p in inputs])
    metadata = {b"hpws.compacted_from": json.dumps([p.name for p in inputs]).encode()}
    pq.write_table(merged.replace_schema_metadata(metadata), library.trials_dir / "part-z.parquet")
    assert library.stats()["n_trials"] == 180  # duplicates visible until the next compaction
    library.compact()
    assert library.stats()["n_trials"] == 90


def test_lock_blocks_a_second_compaction(library: Library) -> None:
    with library.lock(), pytest.raises(LibraryLockedError):
        library.compact()


# ---------------------------------------------------------------- bad input, no trace
def _bad_inputs() -> list[tuple[str, object, type[Exception]]]:
    good = make_trials(10)
    nan_objective = good.set_column(1, "objective_value", pa.array([float("nan")] + [1.0] * 9))
    wrong_type = good.set_column(1, "objective_value", pa.array(["high"] * 10))
    return [
        ("missing column", good.drop(["objective_value"]), SchemaError),
        ("wrong type", wrong_type, SchemaError),
        ("NaN objective", nan_objective, SchemaError),
        ("unknown task", make_trials(10, task_id="nope"), UnknownTaskError),
        ("unknown column", good.append_column("lr", pa.array([0.1] * 10)), SchemaError),
        ("bad status", good.append_column("status", pa.array(["great"] * 10)), SchemaError),
        (
            "param type change",
            good.set_column(2, "param_index", pa.array([str(i) for i in range(10)])),
            SchemaError,
        ),
    ]


@pytest.mark.parametrize("case", _bad_inputs(), ids=lambda case: case[0])
def test_bad_batches_raise_named_errors_and_leave_files_identical(
    library: Library, case: tuple[str, object, type[Exception]]
) -> None:
    library.append_trials(make_trials(10, start=100), objective_name="loss", direction="minimize")
    before = tree_digest(library.root)
    _, batch, error = case
    with pytest.raises(error):  # the dry run an importer makes before adding tasks
        library.check_trials(batch, objective_name="loss", direction="minimize")
    with pytest.raises(error):
        library.append_trials(batch, objective_name="loss", direction="minimize")
    assert tree_digest(library.root) == before


def test_check_trials_counts_the_tasks_about_to_be_added(library: Library) -> None:
    batch = make_trials(4, task_id="new")
    with pytest.raises(UnknownTaskError):
        library.check_trials(batch, objective_name="loss", direction="minimize")
    library.check_trials(
        batch, objective_name="loss", direction="minimize", new_tasks=[{"task_id": "new"}]
    )
    space = {"name": "s", "parameters": [{"name": "index", "type": "int", "low": 0, "high": 2}]}
    with pytest.raises(SpaceError, match="task new: 'index' outside"):
        library.check_trials(
            batch,
            objective_name="loss",
            direction="minimize",
            new_tasks=[{"task_id": "new", "space_json": json.dumps(space)}],
        )
    assert library.stats()["n_trials"] == 0


def test_unknown_parameter_against_declared_space(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    space = {"name": "s", "parameters": [{"name": "index", "type": "int", "low": 0, "high": 5}]}
    lib.append_tasks([{"task_id": "t0", "space": space}])
    before = tree_digest(lib.root)
    with pytest.raises(SpaceError, match="unknown_parameter"):
        lib.append_trials(make_trials(3), objective_name="loss", direction="minimize")
    only_index = make_trials(10).select(["task_id", "objective_value", "param_index"])
    with pytest.raises(SpaceError, match="out_of_range"):
        lib.append_trials(only_index, objective_name="loss", direction="minimize")
    assert tree_digest(lib.root) == before
    lib.append_trials(only_index.slice(0, 6), objective_name="loss", direction="minimize")
    assert lib.stats()["n_trials"] == 6


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_part_file_is_named(library: Library, damage: str) -> None:
    result = library.append_trials(make_trials(50), objective_name="loss", direction="minimize")
    path = result.path
    assert path is not None
    data = path.read_bytes()
    path.write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": b"x" * 100, "empty": b""}[damage]
    )
    before = tree_digest(library.root)
    with pytest.raises(CorruptFileError, match=path.name):
        library.append_trials(make_trials(5, start=500), objective_name="l", direction="minimize")
    with pytest.raises(CorruptFileError):
        library.stats()
    with pytest.raises(CorruptFileError):
        library.compact()
    assert tree_digest(library.root) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory(library: Library, tmp_path: Path) -> None:
    library.append_trials(make_trials(5), objective_name="loss", direction="minimize")
    before = tree_digest(library.root)
    library.trials_dir.chmod(0o500)
    try:
        with pytest.raises(LibraryError, match="not writable"):
            library.append_trials(make_trials(5, start=9), objective_name="l", direction="minimize")
    finally:
        library.trials_dir.chmod(0o700)
    assert tree_digest(library.root) == before
    locked_parent = tmp_path / "ro"
    locked_parent.mkdir(mode=0o500)
    try:
        with pytest.raises(LibraryError, match="cannot create library"):
            Library.open(locked_parent / "lib")
    finally:
        locked_parent.chmod(0o700)


def test_unwritable_location_even_for_root() -> None:
    with pytest.raises(LibraryError, match="cannot create library"):
        Library.open("/proc/hp-warmstart-test/lib")


def test_provenance_columns_round_trip(library: Library) -> None:
    from library.provenance import code_version, environment, environment_json, hardware

    batch = make_trials(3).append_column("environment_json", pa.array([environment_json()] * 3))
    batch = batch.append_column("hardware", pa.array([hardware()] * 3))
    batch = batch.append_column("code_version", pa.array([code_version()] * 3, pa.string()))
    library.append_trials(batch, objective_name="loss", direction="minimize")
    row = library.read_trials().to_pylist()[0]
    assert json.loads(row["environment_json"]) == environment()
    assert "python" in environment() and row["hardware"] == hardware()
