"""Many appenders + a compaction, and writers killed with SIGKILL mid-ingest."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np

from library import Library, validate
from tests.library.conftest import make_trials

_CTX = multiprocessing.get_context("fork")


def _appender(root: str, worker: int, n_trials: int, batch_size: int) -> None:
    library = Library(Path(root))
    offset = worker * n_trials
    for start in range(0, n_trials, batch_size):
        batch = make_trials(batch_size, task_id="t0", seed=worker, start=offset + start)
        library.append_trials(batch, objective_name="loss", direction="minimize")


def _compactor(root: str, stop_at: float) -> None:
    library = Library(Path(root))
    while time.monotonic() < stop_at:
        library.compact(wait=True)
        time.sleep(0.05)


def _run_appenders(tmp_path: Path, n_workers: int, n_trials: int, batch_size: int) -> None:
    library = Library.open(tmp_path / "lib")
    library.append_tasks([{"task_id": "t0"}])
    workers = [
        _CTX.Process(target=_appender, args=(str(library.root), w, n_trials, batch_size))
        for w in range(n_workers)
    ]
    for process in workers:
        process.start()
    compactor = _CTX.Process(target=_compactor, args=(str(library.root), time.monotonic() + 600))
    compactor.start()
    for process in workers:
        process.join(timeout=240)
        assert process.exitcode == 0
    compactor.terminate()  # SIGTERM mid-compaction is allowed: it must not lose rows either
    compactor.join()
    library.compact(wait=True)
    ids = library.read_trials()["trial_id"].to_pylist()
    assert len(ids) == n_workers * n_trials and len(set(ids)) == len(ids)
    assert library.stats()["n_trials"] == n_workers * n_trials
    assert validate(library) == []


def test_four_appenders_with_compaction(tmp_path: Path) -> None:
    _run_appenders(tmp_path, n_workers=4, n_trials=2_000, batch_size=500)


def test_eight_appenders_10k_each_with_compaction(tmp_path: Path) -> None:
    _run_appenders(tmp_path, n_workers=8, n_trials=10_000, batch_size=1_000)


def _endless_writer(root: str, batch_size: int, first: int) -> None:
    library = Library(Path(root))
    start = first
    while True:
        library.append_trials(
            make_trials(batch_size, start=start, seed=start),
            objective_name="l",
            direction="minimize",
        )
        start += batch_size


def _kill_when_writing(directory: Path, pid: int, timeout_s: float) -> bool:
    """SIGKILL ``pid`` as soon as a ``.parquet.tmp`` appears; True if killed mid-write."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(entry.name.endswith(".tmp") for entry in os.scandir(directory)):
            os.kill(pid, signal.SIGKILL)
            return True
        time.sleep(0.0005)
    os.kill(pid, signal.SIGKILL)
    return False


def test_sigkill_mid_ingest_keeps_whole_batches(tmp_path: Path) -> None:
    batch_size = 4_999
    library = Library.open(tmp_path / "lib")
    library.append_tasks([{"task_id": "t0"}])
    rng = np.random.default_rng(0)
    killed_mid_write = 0
    for round_index in range(20):
        first = 10_000_000 * round_index  # fresh ids for every writer
        writer = _CTX.Process(target=_endless_writer, args=(str(library.root), batch_size, first))
        writer.start()
        if round_index % 2 == 0:  # even rounds: kill while a part file is being written
            stale = {p.name for p in library.trials_dir.glob("*.tmp")}
            time.sleep(float(rng.uniform(0.0, 0.3)))
            for name in stale:
                (library.trials_dir / name).unlink()  # only ours: our writers are dead
            killed_mid_write += _kill_when_writing(library.trials_dir, writer.pid, 10.0)
        else:  # odd rounds: kill at a random moment
            time.sleep(float(rng.uniform(0.05, 0.6)))
            os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        assert writer.exitcode == -signal.SIGKILL
        reopened = Library.open(library.root, create=False)
        n_trials = reopened.stats()["n_trials"]
        assert n_trials % batch_size == 0
    assert killed_mid_write >= 5
    assert any(library.trials_dir.glob("*.parquet.tmp"))  # torn writes existed...
    final = Library.open(library.root, create=False)
    assert validate(final) == []  # ...yet only whole batches are visible
    assert final.stats()["n_trials"] > 0
