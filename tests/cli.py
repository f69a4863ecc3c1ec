"""Run the `recommend` entry point inside a test, as a shell would."""

from __future__ import annotations

import pytest

from recommender.cli import main

__all__ = ["recommend"]


def recommend(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``recommend ARGS``: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err
