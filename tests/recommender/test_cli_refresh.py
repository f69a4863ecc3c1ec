"""`recommend refresh` cache warming: --cache-dir, --no-cache, idempotence, exit codes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from library import Library
from recommender._cli_refresh import refresh_command
from recommender.starter import open_starter_library
from tests.library.conftest import tree_digest
from tests.recommender.test_gp_cache import SPACE, cache_state, trial_rows


def _make_drop(drop: Path, n_tasks: int = 2) -> None:
    drop.mkdir(parents=True)
    tasks = [{"task_id": f"task-{i}", "space": SPACE} for i in range(n_tasks)]
    (drop / "new.tasks.jsonl").write_text("\n".join(json.dumps(t) for t in tasks) + "\n")
    for index in range(n_tasks):
        frame = pd.DataFrame(trial_rows(f"task-{index}", 12, index))
        frame.rename(columns={"objective_value": "objective"}).to_csv(
            drop / f"trials-{index}.csv", index=False
        )


def _invoke(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(refresh_command, [*args, "--json"])
    return result.exit_code, json.loads(result.output) if result.output else {}


def test_refresh_warms_the_cache_once_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    drop, cache, lib = tmp_path / "drop", tmp_path / "cache", tmp_path / "lib"
    _make_drop(drop)
    args = ("--library", str(lib), "--drop", str(drop), "--cache-dir", str(cache))
    args += ("--no-starter", "--warm-per-space", "0")  # 0: every usable task of a space

    code, first = _invoke(*args, "--report", str(tmp_path / "report.json"))

    assert code == 0
    assert first["cache"]["fitted"] == ["task-0", "task-1"]
    assert first["cache"]["n_fitted"] == 2 and first["cache"]["failures"] == []
    assert json.loads((tmp_path / "report.json").read_text())["cache"] == first["cache"]
    library_before, cache_before = tree_digest(lib), cache_state(cache)

    code, second = _invoke(*args)

    assert code == 0
    assert second["cache"]["n_fitted"] == 0 and second["cache"]["n_hits"] == 2
    assert tree_digest(lib) == library_before and cache_state(cache) == cache_before


def test_no_cache_skips_warming(tmp_path: Path) -> None:
    drop, cache = tmp_path / "drop", tmp_path / "cache"
    _make_drop(drop, n_tasks=1)

    code, payload = _invoke(
        "--library", str(tmp_path / "lib"), "--drop", str(drop), "--cache-dir", str(cache),
        "--no-cache",
    )  # fmt: skip

    assert code == 0 and payload["cache"] is None and payload["n_trials_written"] == 12
    assert not cache.exists()


def test_a_failed_validation_still_exits_3_and_warms_nothing(tmp_path: Path) -> None:
    drop, cache = tmp_path / "drop", tmp_path / "cache"
    _make_drop(drop, n_tasks=1)
    library = Library.open(tmp_path / "lib")
    _invoke("--library", str(library.root), "--drop", str(drop), "--no-cache")
    # a part file written behind the library's back: an ok trial without objective
    trials = library.read_trials().slice(0, 1)
    index = trials.schema.get_field_index("objective_value")
    bad = trials.set_column(index, "objective_value", pa.nulls(1, pa.float64()))
    bad = bad.set_column(0, "trial_id", pa.array(["0" * 64], pa.string()))
    pq.write_table(bad, library.trials_dir / "part-zzzz.parquet")

    code, payload = _invoke("--library", str(library.root), "--cache-dir", str(cache))

    assert code == 3 and payload["exit_code"] == 3 and payload["problems"]
    assert payload["cache"] is None and not cache.exists()


def test_human_summary_reports_the_cache(tmp_path: Path) -> None:
    drop, cache = tmp_path / "drop", tmp_path / "cache"
    _make_drop(drop, n_tasks=1)
    args = ["--library", str(tmp_path / "lib"), "--drop", str(drop), "--cache-dir", str(cache)]

    result = CliRunner().invoke(refresh_command, [*args, "--no-starter"])

    assert result.exit_code == 0, result.output
    summary = " ".join(result.output.split())  # rich wraps lines to the terminal width
    assert "source-GP cache" in summary and "1 GP(s) fitted for 1 task(s)" in summary


def test_refresh_warms_the_starter_sources_and_prunes_unused_entries(tmp_path: Path) -> None:
    drop, cache, lib = tmp_path / "drop", tmp_path / "cache", tmp_path / "lib"
    _make_drop(drop, n_tasks=1)
    cache.mkdir()
    unused = cache / ("ab" * 16 + ".pt")  # an entry of some other library, 40 days unused
    unused.write_bytes(b"x" * 10)
    old = time.time() - 40 * 86400
    os.utime(unused, (old, old))
    args = ("--library", str(lib), "--drop", str(drop), "--cache-dir", str(cache))

    code, first = _invoke(*args)

    assert code == 0 and first["cache"]["failures"] == []
    starter_tasks = set(open_starter_library().task_ids())
    assert len(set(first["cache"]["fitted"]) & starter_tasks) == len(starter_tasks)
    assert "task-0" in first["cache"]["fitted"]
    assert first["cache_pruned"]["n_removed"] == 1 and not unused.exists()
    # kept: the fitted GPs (hyperparameters and posterior factors), the zero-shot tests
    # run for the starter's spaces and a snapshot of each library (user, starter)
    assert first["cache"]["n_zero_shot_tests"] > 0
    assert first["cache_pruned"]["n_kept"] == (
        2 * first["cache"]["n_fitted"] + first["cache"]["n_zero_shot_tests"] + 2
    )
    assert len(list(cache.glob("*.arrow"))) == 2

    code, second = _invoke(*args)

    assert code == 0 and second["cache"]["n_fitted"] == 0
    assert second["cache"]["n_zero_shot_tests"] == 0
    assert second["cache"]["n_zero_shot_hits"] == first["cache"]["n_zero_shot_tests"]
    assert second["cache_pruned"]["n_removed"] == 0


def test_strict_exits_5_on_a_quarantined_file_and_the_good_files_still_land(
    tmp_path: Path,
) -> None:
    drop, lib = tmp_path / "drop", tmp_path / "lib"
    _make_drop(drop, n_tasks=1)
    (drop / "broken.parquet").write_bytes(b"not a parquet file")
    args = ["--library", str(lib), "--drop", str(drop), "--no-cache", "--strict"]

    code, payload = _invoke(*args)

    assert code == 5
    assert payload["n_quarantined"] == 1 and payload["n_trials_written"] == 12
    (broken,) = [f for f in payload["files"] if f["name"] == "broken.parquet"]
    assert broken["status"] == "quarantined" and "CorruptFileError" in broken["reason"]
    assert (drop / "quarantine" / "broken.parquet").exists()
    assert len(Library.open(lib).read_trials()) == 12  # the good file is in


def test_without_strict_a_quarantined_file_is_reported_by_its_error_name(
    tmp_path: Path,
) -> None:
    drop, lib = tmp_path / "drop", tmp_path / "lib"
    drop.mkdir()
    (drop / "broken.parquet").write_bytes(b"not a parquet file")

    result = CliRunner().invoke(
        refresh_command, ["--library", str(lib), "--drop", str(drop), "--no-cache"]
    )

    assert result.exit_code == 0, result.output
    assert "CorruptFileError" in result.output and "quarantined" in result.output
    assert "Parquet magic bytes" not in result.output  # the full text is on stderr
