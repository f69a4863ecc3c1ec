"""The nightly refresh: drop-folder ingestion, quarantine, idempotence, kill safety, locks."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from library import Library, LibraryLockedError, validate
from library.refresh import RefreshExitCode, refresh
from tests.library.conftest import tree_digest

_CTX = multiprocessing.get_context("fork")
_SPACE = {
    "name": "toy",
    "parameters": [
        {"name": "lr", "type": "float", "low": 1e-4, "high": 1.0, "log": True},
        {"name": "depth", "type": "int", "low": 1, "high": 8},
    ],
}


def _trial_frame(task_id: str, n_rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "task_id": [task_id] * n_rows,
            "objective": rng.uniform(0.5, 1.0, n_rows),
            "param_lr": np.exp(rng.uniform(np.log(1e-4), 0.0, n_rows)),
            "param_depth": rng.integers(1, 9, n_rows),
            "seed": np.zeros(n_rows, dtype=np.int64),
        }
    )


def _make_drop(drop: Path, *, n_files: int = 6, n_rows: int = 40, seed: int = 0) -> None:
    """Tasks file + trial files in the three formats, one task per file."""
    drop.mkdir(parents=True, exist_ok=True)
    tasks = [
        {"task_id": f"task-{i}", "name": f"task {i}", "space": _SPACE, "direction": "maximize"}
        for i in range(n_files)
    ]
    (drop / "new.tasks.jsonl").write_text("\n".join(json.dumps(t) for t in tasks) + "\n")
    for index in range(n_files):
        frame = _trial_frame(f"task-{index}", n_rows, seed + index)
        stem = drop / f"trials-{index:02d}"
        if index % 3 == 0:
            frame.to_csv(stem.with_suffix(".csv"), index=False)
        elif index % 3 == 1:
            frame.to_parquet(stem.with_suffix(".parquet"), index=False)
        else:
            frame.to_json(stem.with_suffix(".jsonl"), orient="records", lines=True)


def _content(library: Library) -> tuple[list[str], list[str]]:
    return library.task_ids(), sorted(library.read_trials()["trial_id"].to_pylist())


def test_ingests_drop_folder_and_quarantines_a_bad_file(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    _make_drop(drop, n_files=3)
    (drop / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    frame = _trial_frame("task-1", 5, 99)
    frame["param_lr"] = 50.0  # outside the declared space [1e-4, 1]
    frame.to_csv(drop / "out-of-space.csv", index=False)
    library = Library.open(tmp_path / "lib")

    report = refresh(library, drop_dir=drop)

    assert report.exit_code is RefreshExitCode.OK
    assert {o.name for o in report.files if o.status == "quarantined"} == {
        "broken.parquet",
        "out-of-space.csv",
    }
    assert report.n_trials_written == 3 * 40
    assert sorted(p.name for p in (drop / "quarantine").iterdir()) == [
        "broken.parquet",
        "broken.parquet.reason.txt",
        "out-of-space.csv",
        "out-of-space.csv.reason.txt",
    ]
    assert "CorruptFileError" in (drop / "quarantine" / "broken.parquet.reason.txt").read_text()
    assert "SpaceError" in (drop / "quarantine" / "out-of-space.csv.reason.txt").read_text()
    assert sorted(p.name for p in (drop / "done").iterdir()) == [
        "new.tasks.jsonl",
        "trials-00.csv",
        "trials-01.parquet",
        "trials-02.jsonl",
    ]
    assert [p.name for p in drop.iterdir() if p.is_file()] == []
    assert library.stats()["n_trials"] == 120
    assert library.task_spaces()["task-0"]["parameters"][0]["name"] == "lr"
    assert validate(library) == []


def test_mapping_sidecar_overrides_the_default(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    frame = _trial_frame("runs", 10, 1).rename(columns={"objective": "val_loss", "task_id": "ds"})
    frame.to_csv(drop / "runs.csv", index=False)
    sidecar = {"objective": "val_loss", "direction": "minimize", "task_id": "ds"}
    (drop / "runs.csv.mapping.json").write_text(json.dumps(sidecar))
    library = Library.open(tmp_path / "lib")

    report = refresh(library, drop_dir=drop)

    assert report.n_trials_written == 10
    trials = library.read_trials()
    assert set(trials["direction"].to_pylist()) == {"minimize"}
    assert set(trials["objective_name"].to_pylist()) == {"val_loss"}
    assert (drop / "done" / "runs.csv.mapping.json").exists()


def test_refresh_twice_leaves_the_library_byte_identical(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    _make_drop(drop)
    library = Library.open(tmp_path / "lib")
    first = refresh(library, drop_dir=drop)
    assert first.n_trials_written == 6 * 40
    before = tree_digest(library.root)
    drop_before = tree_digest(drop)

    second = refresh(library, drop_dir=drop)

    assert tree_digest(library.root) == before
    assert tree_digest(drop) == drop_before
    assert second.files == () and second.n_trials_written == 0
    assert all(c["n_files_merged"] == 0 for c in second.compaction)
    # the same files dropped again are recognised as duplicates, nothing is written
    for path in sorted((drop / "done").iterdir()):
        os.replace(path, drop / path.name)
    third = refresh(library, drop_dir=drop)
    assert third.n_trials_written == 0 and third.n_ingested == 7
    assert tree_digest(library.root) == before


def _refresh_forever(root: str, drop: str) -> None:
    refresh(Library(Path(root)), drop_dir=drop)


def test_sigkill_during_refresh_then_rerun_loses_nothing(tmp_path: Path) -> None:
    expected_lib = Library.open(tmp_path / "expected")
    _make_drop(tmp_path / "expected-drop", n_files=12, n_rows=200)
    refresh(expected_lib, drop_dir=tmp_path / "expected-drop")
    expected = _content(expected_lib)

    rng = np.random.default_rng(0)
    for round_index in range(3):
        drop = tmp_path / f"drop-{round_index}"
        _make_drop(drop, n_files=12, n_rows=200)
        library = Library.open(tmp_path / f"lib-{round_index}")
        worker = _CTX.Process(target=_refresh_forever, args=(str(library.root), str(drop)))
        worker.start()
        # kill once ingestion is under way (some files already moved to done/)
        deadline = time.monotonic() + 30.0
        wanted = 1 + round_index * 4
        while time.monotonic() < deadline:
            done = drop / "done"
            if done.is_dir() and len(list(done.iterdir())) >= wanted:
                break
            time.sleep(0.002)
        time.sleep(float(rng.uniform(0.0, 0.05)))
        os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
        worker.join()
        assert worker.exitcode == -signal.SIGKILL

        report = refresh(library, drop_dir=drop)

        assert report.exit_code is RefreshExitCode.OK
        assert _content(library) == expected
        assert validate(library) == []
        assert [p.name for p in drop.iterdir() if p.is_file()] == []
        assert not (drop / "quarantine").exists()


def test_a_concurrent_refresh_is_refused(tmp_path: Path) -> None:
    from recommender._cli_refresh import refresh_command

    library = Library.open(tmp_path / "lib")
    with library.lock():
        with pytest.raises(LibraryLockedError, match="held by another"):
            refresh(library)
        result = CliRunner().invoke(refresh_command, ["--library", str(library.root)])
    assert result.exit_code == RefreshExitCode.LOCKED == 4
    assert "held by another" in result.output


def test_validation_failure_exits_3(tmp_path: Path) -> None:
    from recommender._cli_refresh import refresh_command

    drop = tmp_path / "drop"
    _make_drop(drop, n_files=1)
    library = Library.open(tmp_path / "lib")
    refresh(library, drop_dir=drop)
    # a part file written behind the library's back: an ok trial without objective
    trials = library.read_trials().slice(0, 1)
    index = trials.schema.get_field_index("objective_value")
    bad = trials.set_column(index, "objective_value", pa.nulls(1, pa.float64()))
    bad = bad.set_column(0, "trial_id", pa.array(["0" * 64], pa.string()))
    pq.write_table(bad, library.trials_dir / "part-zzzz.parquet")

    result = CliRunner().invoke(refresh_command, ["--library", str(library.root), "--json"])

    assert result.exit_code == RefreshExitCode.VALIDATION_FAILED == 3
    payload = json.loads(result.output)
    assert payload["exit_code"] == 3
    assert {p["kind"] for p in payload["problems"]} >= {"nan_objective"}


def test_stale_fingerprints_are_recomputed_when_the_dataset_is_known(tmp_path: Path) -> None:
    from featurizers import FEATURIZER_VERSION

    library = Library.open(tmp_path / "lib")
    stale = {"fingerprint_names": ["a"], "fingerprint_values": [1.0], "featurizer_version": "0"}
    library.append_tasks(
        [
            {"task_id": "iris", "source": "dataset:builtin:sklearn/iris?max_rows=100&seed=0"}
            | stale,
            {"task_id": "orphan", "source": "import:x.csv"} | stale,
            {"task_id": "fresh", "featurizer_version": FEATURIZER_VERSION},
        ]
    )
    library.append_tasks([{"task_id": "second-file"}])

    report = refresh(library)

    assert report.refeaturized == ("iris",)
    assert set(report.cannot_refeaturize) == {"orphan"}
    assert "no dataset reference" in report.cannot_refeaturize["orphan"]
    tasks = {row["task_id"]: row for row in library.read_tasks().to_pylist()}
    assert set(tasks) == {"iris", "orphan", "fresh", "second-file"}
    assert tasks["iris"]["featurizer_version"] == FEATURIZER_VERSION
    assert "log_n_rows" in tasks["iris"]["fingerprint_names"]
    assert tasks["orphan"]["featurizer_version"] == "0"
    assert len(library.files("tasks")) == 1
    before = tree_digest(library.root)
    again = refresh(library)
    assert again.refeaturized == ()
    assert tree_digest(library.root) == before


def test_missing_drop_folder_is_an_error(tmp_path: Path) -> None:
    from library.exceptions import LibraryError

    with pytest.raises(LibraryError, match="does not exist"):
        refresh(Library.open(tmp_path / "lib"), drop_dir=tmp_path / "nope")


@pytest.mark.parametrize("attempt", range(4))  # file names are random: vary their order
def test_a_task_rewrite_killed_before_cleanup_is_finished_by_the_next_refresh(
    tmp_path: Path, attempt: int
) -> None:
    from library.refresh import _rewrite_tasks

    library = Library.open(tmp_path / f"lib-{attempt}")
    library.append_tasks([{"task_id": "a", "featurizer_version": "old"}])
    library.append_tasks([{"task_id": "b", "featurizer_version": "old"}])
    old_files = library.files("tasks")
    tasks = library.read_tasks()
    index = tasks.schema.get_field_index("featurizer_version")
    updated = tasks.set_column(index, "featurizer_version", pa.array(["new", "new"]))
    # the state a SIGKILL leaves between writing the rewritten file and deleting the old ones
    saved = {path: path.read_bytes() for path in old_files}
    _rewrite_tasks(library, updated)
    for path, payload in saved.items():
        path.write_bytes(payload)
    assert len(library.read_tasks()) == 4  # duplicates visible until the rerun

    report = refresh(library)

    assert report.exit_code is RefreshExitCode.OK
    rows = library.read_tasks().to_pylist()
    assert sorted((r["task_id"], r["featurizer_version"]) for r in rows) == [
        ("a", "new"),
        ("b", "new"),
    ]
    assert not any(path.exists() for path in old_files)


def test_study_files_stay_in_the_drop_folder_without_an_importer(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    _make_drop(drop, n_files=1)
    (drop / "study.db").write_bytes(b"SQLite format 3\x00")
    (drop / "run.optuna.log").write_text("{}\n")
    (drop / "notes.log").write_text("not a study file\n")
    library = Library.open(tmp_path / "lib")

    report = refresh(library, drop_dir=drop)

    skipped = [o for o in report.files if o.status == "skipped"]
    assert [(o.name, o.kind) for o in skipped] == [
        ("run.optuna.log", "study"),
        ("study.db", "study"),
    ]
    assert all("no study importer" in (o.reason or "") for o in skipped)
    assert report.n_skipped == 2 and report.n_ingested == 2 and report.n_quarantined == 0
    assert sorted(p.name for p in drop.iterdir() if p.is_file()) == [
        "notes.log",
        "run.optuna.log",
        "study.db",
    ]
    assert json.loads(report.to_json())["n_skipped"] == 2


def test_a_study_file_without_an_importable_study_is_quarantined(tmp_path: Path) -> None:
    from library.refresh import StudyFileResult

    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "empty.journal").write_text("")
    (drop / "pareto.db").write_bytes(b"SQLite format 3\x00")

    def fake_importer(library: Library, path: Path) -> StudyFileResult:
        skipped = {"pareto": "SpaceError: 2 objectives"} if path.name == "pareto.db" else {}
        return StudyFileResult(task_ids=(), n_trials=0, n_written=0, skipped=skipped)

    report = refresh(Library.open(tmp_path / "lib"), drop_dir=drop, study_importer=fake_importer)

    assert {o.name: o.status for o in report.files} == {
        "empty.journal": "quarantined",
        "pareto.db": "quarantined",
    }
    quarantine = drop / "quarantine"
    assert "holds no study" in (quarantine / "empty.journal.reason.txt").read_text()
    assert "pareto: SpaceError: 2 objectives" in (quarantine / "pareto.db.reason.txt").read_text()


def test_a_file_reference_is_absolute_encodes_its_column_and_loads_back(tmp_path: Path) -> None:
    from library import file_reference, load_dataset_reference
    from library.exceptions import FeaturizeError

    data = tmp_path / "my data.csv"
    data.write_text("x,class & kind\n1,a\n2,b\n3,a\n")
    reference = file_reference(data, "class & kind")
    assert reference.startswith(f"dataset:file:{data.resolve()}?")
    features, target, _ = load_dataset_reference(reference.removeprefix("dataset:"))
    assert list(features.columns) == ["x"] and list(target) == ["a", "b", "a"]
    with pytest.raises(FeaturizeError, match="cannot hold"):
        file_reference(tmp_path / "what?.csv", "y")
