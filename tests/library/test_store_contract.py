"""Run the `Store` contract on the Parquet `Library` and on `InMemoryStore`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from library import InMemoryStore, Library
from library.base import Store
from tests.library.store_contract import CONTRACT


@pytest.fixture(params=["parquet", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "parquet":
        return Library.open(tmp_path / "lib")
    return InMemoryStore()


@pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__)
def test_store_contract(store: Store, check: Callable[[Store], None]) -> None:
    check(store)
