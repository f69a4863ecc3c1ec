"""Fixtures shared by the recommender tests."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.surrogate import SourceModel


@pytest.fixture
def predicted_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of inputs of every `SourceModel.predict` call made during the test."""
    rows: list[int] = []
    predict = SourceModel.predict

    def counted(self: SourceModel, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows.append(len(X))
        return predict(self, X)

    monkeypatch.setattr(SourceModel, "predict", counted)
    return rows
