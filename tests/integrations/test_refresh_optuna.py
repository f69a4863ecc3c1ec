"""Optuna storages in the refresh drop folder: `import_study_file` with real studies."""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from library import Library
from library.refresh import RefreshExitCode, refresh
from recommender.integrations.optuna_files import import_study_file
from tests.library.conftest import tree_digest

needs_optuna = pytest.mark.skipif(
    importlib.util.find_spec("optuna") is None, reason="optuna is an optional extra"
)


def _objective(trial: Any) -> float:  # an optuna.Trial (optuna is imported lazily)
    x = trial.suggest_float("x", -2.0, 2.0)
    depth = trial.suggest_int("depth", 1, 6)
    return (x - 0.5) ** 2 + 0.1 * depth


def _study(storage: Any, name: str, *, n_trials: int = 8, multi_objective: bool = False) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.RandomSampler(seed=len(name))
    if multi_objective:
        study = optuna.create_study(
            study_name=name, storage=storage, directions=["minimize", "minimize"], sampler=sampler
        )
        study.optimize(lambda t: (_objective(t), 1.0), n_trials=n_trials)
    else:
        study = optuna.create_study(
            study_name=name, storage=storage, direction="minimize", sampler=sampler
        )
        study.optimize(_objective, n_trials=n_trials)


def _sqlite_storage(path: Path, *studies: tuple[str, bool]) -> None:
    url = f"sqlite:///{path}"
    for name, multi in studies:
        _study(url, name, multi_objective=multi)


def _journal_storage(path: Path, name: str) -> None:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    _study(JournalStorage(JournalFileBackend(str(path))), name, n_trials=6)


def _stage(directory: Path, name: str) -> Path:
    """Where a storage is written before being renamed into the drop folder."""
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name


def _drop_in(staged: Path, drop: Path) -> None:
    drop.mkdir(exist_ok=True)
    os.replace(staged, drop / staged.name)


@needs_optuna
def test_sqlite_and_journal_studies_are_imported_once(tmp_path: Path) -> None:
    staging, drop = tmp_path / "staging", tmp_path / "drop"
    _sqlite_storage(_stage(staging, "runs.db"), ("alpha", False), ("pareto", True))
    _journal_storage(_stage(staging, "gamma.optuna.log"), "gamma")
    for path in sorted(staging.iterdir()):
        _drop_in(path, drop)
    library = Library.open(tmp_path / "lib")

    report = refresh(library, drop_dir=drop, study_importer=import_study_file)

    assert report.exit_code is RefreshExitCode.OK
    outcomes = {o.name: o for o in report.files}
    assert {name: o.status for name, o in outcomes.items()} == {
        "gamma.optuna.log": "ingested",
        "runs.db": "ingested",
    }
    assert outcomes["runs.db"].kind == "study"
    assert outcomes["runs.db"].task_ids == ("optuna/alpha",)
    assert set(outcomes["runs.db"].skipped) == {"pareto"}
    assert "objectives" in outcomes["runs.db"].skipped["pareto"]
    assert outcomes["gamma.optuna.log"].task_ids == ("optuna/gamma",)
    assert report.n_trials_written == outcomes["runs.db"].n_written + 6 > 6
    assert {"optuna/alpha", "optuna/gamma"} <= set(library.task_ids())
    assert "optuna/pareto" not in library.task_ids()
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["gamma.optuna.log", "runs.db"]
    assert json.loads(report.to_json())["files"][1]["skipped"]["pareto"]
    before = tree_digest(tmp_path / "lib")

    second = refresh(library, drop_dir=drop, study_importer=import_study_file)

    assert second.files == () and tree_digest(tmp_path / "lib") == before
    # the same storages dropped again import nothing new
    for path in sorted((drop / "done").iterdir()):
        os.replace(path, drop / path.name)
    third = refresh(library, drop_dir=drop, study_importer=import_study_file)
    assert third.n_ingested == 2 and third.n_trials_written == 0
    assert tree_digest(tmp_path / "lib") == before


@needs_optuna
def test_bad_storages_are_quarantined_with_a_reason_and_the_rest_ingested(
    tmp_path: Path,
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    _journal_storage(drop / "good.journal", "good")
    (drop / "corrupt.db").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    (drop / "garbage.sqlite").write_bytes(b"not a database at all")
    other = drop / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE runs (x REAL)")
    other_digest = tree_digest(drop)["other.db"]
    _sqlite_storage(drop / "only-pareto.db", ("pareto", True))
    library = Library.open(tmp_path / "lib")

    report = refresh(library, drop_dir=drop, study_importer=import_study_file)

    assert report.exit_code is RefreshExitCode.OK
    status = {o.name: o.status for o in report.files}
    assert status == {
        "corrupt.db": "quarantined",
        "garbage.sqlite": "quarantined",
        "good.journal": "ingested",
        "only-pareto.db": "quarantined",
        "other.db": "quarantined",
    }
    reasons = {
        path.name.removesuffix(".reason.txt"): path.read_text()
        for path in (drop / "quarantine").glob("*.reason.txt")
    }
    assert set(reasons) == {"corrupt.db", "garbage.sqlite", "only-pareto.db", "other.db"}
    assert all("CorruptFileError" in reasons[n] for n in ("corrupt.db", "garbage.sqlite"))
    assert "without Optuna tables" in reasons["other.db"]
    assert "pareto" in reasons["only-pareto.db"] and "objectives" in reasons["only-pareto.db"]
    # a database that is not Optuna's is left as it was (no tables created in it)
    assert tree_digest(drop / "quarantine")["other.db"] == other_digest
    assert library.task_ids() == ["optuna/good"]
    assert [p.name for p in (drop / "done").iterdir()] == ["good.journal"]


def test_without_optuna_a_study_file_is_quarantined_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` now fails
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "study.db").write_bytes(b"SQLite format 3\x00")
    (drop / "trials.csv").write_text("task_id,objective,param_x\nt,0.5,1.0\n")
    library = Library.open(tmp_path / "lib")

    report = refresh(library, drop_dir=drop, study_importer=import_study_file)

    assert {o.name: o.status for o in report.files} == {
        "study.db": "quarantined",
        "trials.csv": "ingested",
    }
    reason = (drop / "quarantine" / "study.db.reason.txt").read_text()
    assert "install optuna to ingest Optuna studies" in reason
    assert "MissingDependencyError" in reason


@needs_optuna
def test_cli_ingests_a_study_and_warms_the_cache_for_it(tmp_path: Path) -> None:
    from recommender._cli_refresh import refresh_command

    drop, cache = tmp_path / "drop", tmp_path / "cache"
    _sqlite_storage(_stage(tmp_path / "staging", "s.db"), ("alpha", False))
    _drop_in(tmp_path / "staging" / "s.db", drop)
    library = Library.open(tmp_path / "lib")
    args = ["--library", str(library.root), "--drop", str(drop), "--cache-dir", str(cache)]

    result = CliRunner().invoke(refresh_command, [*args, "--no-starter", "--json"])

    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["files"][0]["task_ids"] == ["optuna/alpha"]
    assert payload["cache"]["fitted"] == ["optuna/alpha"]
    assert len(list(cache.glob("*.pt"))) == 1
