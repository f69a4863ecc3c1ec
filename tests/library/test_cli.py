"""`recommend library ...` through click's CliRunner and one real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import fsspec
import pytest
from click.testing import CliRunner

from library import Library
from recommender.cli import cli
from tests.library.conftest import make_trials, tree_digest


def _run(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, ["library", *args])
    return result.exit_code, result.stdout, result.stderr


def test_init_ingest_stats_validate_compact_export(tmp_path: Path, synthetic_dir: Path) -> None:
    lib = str(tmp_path / "lib")
    assert _run("init", "--library", lib, "--json")[0] == 0
    code, out, _ = _run("ingest", str(synthetic_dir), "--library", lib, "--json")
    assert code == 0 and json.loads(out)["n_written"] == 720
    code, out, _ = _run("stats", "--library", lib, "--json")
    stats = json.loads(out)
    assert code == 0 and stats["n_tasks"] == 6 and stats["n_trials"] == 720
    code, out, _ = _run("stats", "--library", lib)
    assert code == 0 and "720" in out
    assert _run("validate", "--library", lib)[0] == 0
    code, out, _ = _run("compact", "--library", lib, "--json")
    assert code == 0 and {row["table"] for row in json.loads(out)} == {"tasks", "trials"}
    exported = tmp_path / "out.csv"
    code, out, _ = _run(
        "export", str(exported), "--library", lib, "--task", "synthetic/task_1", "--json"
    )
    assert code == 0 and json.loads(out)["n_rows"] == 120
    assert len(exported.read_text().splitlines()) == 121


def test_validate_exit_code_3(tmp_path: Path, synthetic_dir: Path) -> None:
    lib = tmp_path / "lib"
    _run("ingest", str(synthetic_dir), "--library", str(lib))
    victim = sorted((lib / "trials").glob("*.parquet"))[0]
    shutil.copy(victim, lib / "trials" / "part-copy.parquet")
    code, out, _ = _run("validate", "--library", str(lib), "--json")
    assert code == 3
    assert {p["kind"] for p in json.loads(out)["problems"]} == {"duplicate_trial_id"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["stats"], "LibraryError"),
        (["ingest", "{bad_bench}"], "BenchmarkFormatError"),
        (["ingest", "{csv}", "--objective", "acc", "--direction", "maximize"], "UnknownTaskError"),
        (["ingest", "{csv}", "--objective", "nope", "--direction", "maximize"], "SchemaError"),
        (
            ["ingest", "{empty}", "--objective", "acc", "--direction", "maximize"],
            "CorruptFileError",
        ),
        (["stats", "CORRUPT"], "CorruptFileError"),
    ],
)
def test_errors_are_one_line_and_leave_files_identical(
    tmp_path: Path, synthetic_dir: Path, args: list[str], needle: str
) -> None:
    lib = tmp_path / "lib"
    if args != ["stats"]:
        assert _run("ingest", str(synthetic_dir), "--library", str(lib))[0] == 0
    bad_bench = tmp_path / "bad"
    shutil.copytree(synthetic_dir, bad_bench)
    (bad_bench / "space.json").write_text("{}")
    csv = tmp_path / "runs.csv"
    csv.write_text("task_id,param_lr,acc\nghost,0.1,0.5\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    if "CORRUPT" in args:
        args = ["stats"]
        part = sorted((lib / "trials").glob("*.parquet"))[0]
        part.write_bytes(part.read_bytes()[:200])
    before = tree_digest(lib) if lib.exists() else {}
    filled = [a.format(bad_bench=bad_bench, csv=csv, empty=empty) for a in args]
    code, out, err = _run(*filled, "--library", str(lib))
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], err
    assert (tree_digest(lib) if lib.exists() else {}) == before


def test_help_mentions_exit_codes() -> None:
    code, out, _ = _run("--help")
    assert code == 0 and "3 validation problems" in " ".join(out.split())
    for command in ("init", "ingest", "stats", "validate", "compact", "export"):
        code, out, _ = _run(command, "--help")
        assert code == 0 and "--library" in out and "--json" in out


def test_recommend_entry_point_subprocess(tmp_path: Path, synthetic_dir: Path) -> None:
    executable = Path(sys.executable).parent / "recommend"
    command = (
        [str(executable)] if executable.exists() else [sys.executable, "-m", "recommender.cli"]
    )
    env = {**os.environ, "HPWS_LIBRARY": str(tmp_path / "lib")}
    done = subprocess.run(
        [*command, "library", "ingest", str(synthetic_dir), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_written"] == 720
    failed = subprocess.run(
        [*command, "library", "ingest", str(tmp_path / "missing.csv")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode != 0
    assert len(failed.stderr.strip().splitlines()) == 1


def test_library_commands_take_a_uri(synthetic_dir: Path) -> None:
    root = f"/hpws-cli-{uuid.uuid4().hex}"
    uri = f"memory://{root}/lib"
    try:
        assert _run("init", "--library", uri, "--json")[0] == 0
        code, out, _ = _run("ingest", str(synthetic_dir), "--library", uri, "--json")
        assert code == 0 and json.loads(out)["n_written"] == 720
        code, out, _ = _run("stats", "--library", uri, "--json")
        stats = json.loads(out)
        assert code == 0 and stats["path"] == uri and stats["n_trials"] == 720
        assert _run("validate", "--library", uri)[0] == 0
        code, out, _ = _run("tasks", "--library", uri, "--json")
        assert code == 0 and sum(row["n_trials"] for row in json.loads(out)["tasks"]) == 720
    finally:
        memory = fsspec.filesystem("memory")
        if memory.exists(root):
            memory.rm(root, recursive=True)
    code, _, err = _run("stats", "--library", "nosuchfs://bucket/lib")
    assert code == 1 and "UnsupportedStorageError" in err


def test_tasks_lists_ids_with_their_best_full_fidelity_value(
    tmp_path: Path, synthetic_dir: Path
) -> None:
    import pandas as pd

    lib = str(tmp_path / "lib")
    _run("ingest", str(synthetic_dir), "--library", lib)
    space = json.loads((synthetic_dir / "space.json").read_text())
    trials = pd.read_parquet(synthetic_dir / "trials.parquet")
    full = trials[trials["epoch"] == space["fidelity"]["max"]]
    objective = space["objective"]["name"]
    assert space["objective"]["direction"] == "minimize"
    expected = full.groupby("task_id")[objective].min()  # lower epochs are never counted

    code, out, _ = _run("tasks", "--library", lib, "--json")
    assert code == 0
    rows = {row["task_id"]: row for row in json.loads(out)["tasks"]}
    assert sorted(rows) == [f"synthetic/{task}" for task in sorted(expected.index)]
    for task, best in expected.items():
        row = rows[f"synthetic/{task}"]
        assert row["best"] == pytest.approx(float(best), rel=1e-6)
        assert row["n_trials"] == row["n_ok"] == 120 and row["direction"] == "minimize"
        assert row["top_fidelity"] == space["fidelity"]["max"] and row["fingerprint"] is False

    code, out, _ = _run("tasks", "--library", lib, "--match", "TASK_1")
    assert code == 0 and "synthetic/task_1" in out and "synthetic/task_2" not in out
    code, out, _ = _run("tasks", "--library", str(tmp_path / "missing"))
    assert code == 1


def test_tasks_shows_a_task_without_trials_as_a_dash_and_null(library: Library) -> None:
    library.append_trials(make_trials(8, task_id="t1"), objective_name="acc", direction="maximize")
    code, out, _ = _run("tasks", "--library", library.location)
    assert code == 0 and "t0" in out and "nan" not in out.lower() and "None" not in out
    code, out, _ = _run("tasks", "--library", library.location, "--json")
    rows = {row["task_id"]: row for row in json.loads(out)["tasks"]}
    assert rows["t0"]["best"] is None and rows["t0"]["n_trials"] == 0
    assert rows["t1"]["n_ok"] == 8 and rows["t1"]["best"] is not None


def test_tasks_with_starter_lists_the_bundled_ids_below_yours(library: Library) -> None:
    code, out, _ = _run("tasks", "--library", library.location, "--with-starter", "--json")
    ids = [row["task_id"] for row in json.loads(out)["tasks"]]
    assert code == 0 and ids[:3] == ["t0", "t1", "t2"] and len(ids) > 3
    assert all(task.startswith("starter/") for task in ids[3:])
    code, out, _ = _run("tasks", "--library", library.location, "--json")
    assert [row["task_id"] for row in json.loads(out)["tasks"]] == ["t0", "t1", "t2"]
    code, out, _ = _run("tasks", "--library", library.location, "--with-starter", "--match", "iris")
    assert code == 0 and "0 tasks in" in out and "in the bundled starter library" in out
    assert "starter/sklearn/iris/" in out
