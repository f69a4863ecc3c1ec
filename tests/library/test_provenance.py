"""Provenance of recorded rows and results: which code produced them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from library.provenance import code_version


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_the_code_version_marks_uncommitted_changes(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    _git(tmp_path, "add", "a.py")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "a")
    clean = code_version(tmp_path)
    assert clean is not None and not clean.endswith("-dirty")
    (tmp_path / "a.py").write_text("x = 2\n")
    assert code_version(tmp_path) == f"{clean}-dirty"
    assert code_version(tmp_path / "no-such-dir") is None
