"""The CLI's shared helpers: the progress bar (drawn on a terminal only) and which
libraries a command reads."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from library import Library, import_benchmark
from library.exceptions import LibraryError
from library.store import default_library_path
from recommender._cli_common import open_libraries, progress_bar
from recommender.cli import cli
from recommender.starter import open_starter_library
from tests.synthetic import write_synthetic_benchmark


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_disabled_or_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    with progress_bar(False) as callback:
        assert callback is None
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # cron, a pipe
    with progress_bar(True) as callback:
        assert callback is None


def test_a_bar_per_stage_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(True) as callback:
        assert callback is not None
        for done in range(1, 4):
            callback("source GPs", done, 3)
        callback("another stage", 1, 2)
    drawn = terminal.getvalue()
    assert "source GPs" in drawn and "3/3" in drawn and "another stage" in drawn


def _default_library_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the user data directory at ``tmp_path`` (no ``$HPWS_LIBRARY``)."""
    monkeypatch.delenv("HPWS_LIBRARY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    return default_library_path()


def test_the_default_library_is_read_under_the_starter_once_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = _default_library_at(tmp_path, monkeypatch)
    assert str(where).startswith(str(tmp_path))
    starter = open_starter_library().location
    # a new user: no library of their own yet, the starter alone
    assert [lib.location for lib in open_libraries(None, with_starter=True)] == [starter]
    with pytest.raises(LibraryError, match="no library at"):
        open_libraries(None, with_starter=False)
    Library.open(where)  # `recommend run` / `library ingest` create it there
    assert [lib.location for lib in open_libraries(None, with_starter=True)] == [
        Library.open(where).location,
        starter,
    ]


def test_suggest_finds_a_task_of_the_default_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = _default_library_at(tmp_path / "data", monkeypatch)
    monkeypatch.setenv("HPWS_CACHE", str(tmp_path / "cache"))
    bench = write_synthetic_benchmark(tmp_path / "bench", n_tasks=2, n_configs=20, seed=3)
    import_benchmark(Library.open(where), bench)
    result = CliRunner().invoke(
        cli, ["suggest", "--task", "synthetic/task_0", "-n", "1", "--json", "--seed", "0"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["suggestions"] and doc["n_observed"] == 20
