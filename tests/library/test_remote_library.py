"""The library on fsspec filesystems: fsspec's real in-memory store and ``file://`` URIs."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from library import (
    Library,
    LibraryError,
    LibraryLockedError,
    SchemaError,
    UnknownTaskError,
    UnsupportedStorageError,
    best_k_per_task,
    task_evaluations,
    trial_counts,
    validate,
)
from library.remote import RemoteLibrary
from tests.library.conftest import make_trials

_TASKS = [{"task_id": f"t{i}", "name": f"task {i}", "objective_name": "loss"} for i in range(3)]
_APPEND = {"objective_name": "loss", "direction": "minimize"}


@pytest.fixture(params=["memory", "file"])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh library URI on fsspec's in-memory store (removed afterwards) or on disk."""
    if request.param == "file":
        yield f"file://{tmp_path / 'remote-lib'}"
        return
    root = f"/hpws-test-{uuid.uuid4().hex}"
    yield f"memory://{root}"
    memory = fsspec.filesystem("memory")
    if memory.exists(root):
        memory.rm(root, recursive=True)


def _objects(library: Library) -> dict[str, bytes]:
    """Every object under the library (path -> bytes), lock excluded."""
    assert isinstance(library, RemoteLibrary)
    fs = library.filesystem
    fs.invalidate_cache(str(library.root))
    return {path: fs.cat_file(path) for path in sorted(fs.find(str(library.root)))}


def _comparable(table: pa.Table) -> pa.Table:
    """Rows in ``trial_id`` order without the append-time timestamp."""
    key = "trial_id" if "trial_id" in table.column_names else "task_id"
    return table.drop(["created_at"]).sort_by(key)


def _filled(library: Library, n_batches: int = 3) -> Library:
    library.append_tasks(_TASKS)
    for batch in range(n_batches):
        library.append_trials(
            make_trials(10, task_id=f"t{batch % 3}", seed=batch, start=10 * batch), **_APPEND
        )
    return library


def test_open_creates_and_reopens(uri: str) -> None:
    with pytest.raises(LibraryError, match="recommend library init"):
        Library.open(uri, create=False)
    created = Library.open(uri)
    assert isinstance(created, RemoteLibrary) and created.is_remote
    assert created.location == uri and created.files("trials") == []
    reopened = Library.open(uri, create=False)
    assert reopened.stats()["path"] == uri and reopened.stats()["n_trials"] == 0


def test_rows_read_back_identical_to_a_local_library(uri: str, tmp_path: Path) -> None:
    remote = _filled(Library.open(uri))
    local = _filled(Library.open(tmp_path / "local"))
    assert _comparable(remote.read_trials()).equals(_comparable(local.read_trials()))
    assert _comparable(remote.read_tasks()).equals(_comparable(local.read_tasks()))
    assert remote.task_ids() == ["t0", "t1", "t2"]
    assert all(str(path).endswith(".parquet") for path in remote.files("trials"))


def test_queries_match_a_local_library(uri: str, tmp_path: Path) -> None:
    remote = _filled(Library.open(uri))
    local = _filled(Library.open(tmp_path / "local"))
    assert best_k_per_task(remote, 3).equals(best_k_per_task(local, 3))
    remote_counts, local_counts = trial_counts(remote), trial_counts(local)
    assert remote_counts["n_trials"] == local_counts["n_trials"] == 30
    assert remote_counts["files"] == local_counts["files"] == {"tasks": 1, "trials": 3}
    assert remote_counts["bytes"] > 0
    remote_evals, local_evals = task_evaluations(remote), task_evaluations(local)
    assert remote_evals.keys() == local_evals.keys()
    for task, evaluations in remote_evals.items():
        np.testing.assert_array_equal(evaluations.objective, local_evals[task].objective)
    assert validate(remote) == []


def test_reappend_writes_nothing(uri: str) -> None:
    library = _filled(Library.open(uri), n_batches=1)
    before = _objects(library)
    again = library.append_trials(make_trials(10, task_id="t0", seed=0), **_APPEND)
    tasks_again = library.append_tasks(_TASKS)
    assert (again.n_written, again.n_duplicates, again.path) == (0, 10, None)
    assert (tasks_again.n_written, tasks_again.path) == (0, None)
    assert _objects(library) == before


@pytest.mark.parametrize(
    ("batch", "error"),
    [
        (make_trials(5).drop(["objective_value"]), SchemaError),
        (make_trials(5, task_id="ghost"), UnknownTaskError),
    ],
)
def test_bad_batch_leaves_the_library_untouched(
    uri: str, batch: pa.Table, error: type[Exception]
) -> None:
    library = _filled(Library.open(uri), n_batches=1)
    before = _objects(library)
    with pytest.raises(error):
        library.append_trials(batch, **_APPEND)
    assert _objects(library) == before


def test_two_libraries_appending_from_threads_lose_nothing(uri: str) -> None:
    Library.open(uri).append_tasks(_TASKS)
    writers = [Library.open(uri, create=False) for _ in range(2)]
    failures: list[BaseException] = []

    def append(library: Library, writer: int) -> None:
        try:
            for batch in range(6):
                start = 1000 * writer + 10 * batch
                library.append_trials(make_trials(10, seed=batch, start=start), **_APPEND)
        except BaseException as error:  # reported below; a thread cannot fail the test
            failures.append(error)

    threads = [threading.Thread(target=append, args=(lib, i)) for i, lib in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    trials = Library.open(uri, create=False).read_trials()
    assert trials.num_rows == 120
    assert len(pc.unique(trials["trial_id"])) == 120


def test_interrupted_write_is_invisible(uri: str) -> None:
    library = _filled(Library.open(uri), n_batches=1)
    assert isinstance(library, RemoteLibrary)
    complete = library.files("trials")[0]
    torn = f"{complete}".replace(complete.name, "part-killed.parquet.tmp")
    library.filesystem.pipe_file(torn, library.filesystem.cat_file(str(complete))[:100])
    assert library.files("trials") == [complete]
    assert library.read_trials().num_rows == 10
    assert trial_counts(library)["n_trials"] == 10
    assert validate(library) == []


def test_compaction_merges_and_removes_stale_temporaries(tmp_path: Path) -> None:
    uri = f"file://{tmp_path / 'lib'}"
    library = _filled(Library.open(uri))
    expected = _comparable(library.read_trials())
    torn = tmp_path / "lib" / "trials" / "part-killed.parquet.tmp"
    torn.write_bytes(b"half a part")
    two_hours_ago = time.time() - 7200
    os.utime(torn, (two_hours_ago, two_hours_ago))
    results = library.compact()
    assert [r.n_files_merged for r in results] == [0, 3]
    assert len(library.files("trials")) == 1 and not torn.exists()
    assert _comparable(library.read_trials()).equals(expected)
    assert not (tmp_path / "lib" / "_lock.json").exists()  # released


def test_lock_blocks_a_second_compaction_and_stale_locks_are_taken_over(uri: str) -> None:
    library = _filled(Library.open(uri))
    other = Library.open(uri, create=False)
    with library.lock(), pytest.raises(LibraryLockedError, match="_lock.json"):
        other.compact()
    assert len(other.files("trials")) == 3
    assert isinstance(library, RemoteLibrary)
    stale = {"owner": "dead-host:1", "token": "x", "acquired_at": time.time() - 7200}
    library.filesystem.pipe_file(f"{library.root}/_lock.json", json.dumps(stale).encode())
    assert other.compact()[1].n_files_merged == 3
    assert other.read_trials().num_rows == 30


def test_local_library_is_readable_through_a_file_uri(tmp_path: Path) -> None:
    local = _filled(Library.open(tmp_path / "lib"))
    remote = Library.open(f"file://{tmp_path / 'lib'}", create=False)
    assert remote.is_remote
    assert _comparable(remote.read_trials()).equals(_comparable(local.read_trials()))
    remote.append_trials(make_trials(4, task_id="t2", start=500), **_APPEND)
    assert local.read_trials().num_rows == 34


def test_corrupt_remote_part_is_named_with_its_uri(uri: str) -> None:
    library = _filled(Library.open(uri), n_batches=1)
    assert isinstance(library, RemoteLibrary)
    path = f"{library.root}/trials/part-zzzz.parquet"
    library.filesystem.pipe_file(path, b"PAR1 not really")
    with pytest.raises(LibraryError, match=f"{uri}/trials/part-zzzz.parquet"):
        library.read_trials()
    assert [p.kind for p in validate(library)] == ["corrupt_file"]


def test_unknown_protocol_is_a_named_error() -> None:
    with pytest.raises(UnsupportedStorageError, match="unknown storage protocol 'nosuchfs'"):
        Library.open("nosuchfs://bucket/lib")


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is not None, reason="s3fs is installed")
def test_missing_filesystem_package_says_what_to_install() -> None:
    with pytest.raises(UnsupportedStorageError, match="pip install s3fs") as caught:
        Library.open("s3://bucket/lib")
    assert caught.value.protocol == "s3"


def test_env_var_may_hold_a_uri(uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPWS_LIBRARY", uri)
    assert Library.open().location == uri


def test_written_parts_are_plain_parquet(uri: str) -> None:
    library = _filled(Library.open(uri), n_batches=1)
    assert isinstance(library, RemoteLibrary)
    with library.filesystem.open(str(library.files("trials")[0]), "rb") as handle:
        assert pq.read_table(handle).num_rows == 10
