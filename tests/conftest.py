"""Session-wide test settings: never touch the user's real library or cache."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root: Path = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("HPWS_CACHE", str(root / "hpws-cache"))  # shared: fits are reused
    # the default library (`recommend run` records there) is each test's own
    monkeypatch.delenv("HPWS_LIBRARY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("user-data")))
