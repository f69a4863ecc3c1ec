"""The CLI's shared progress bar: drawn on a terminal only."""

from __future__ import annotations

import io
import sys

import pytest

from recommender._cli_common import progress_bar


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
