"""Small real datasets written to CSV for the runner tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _write(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def breast_cancer_csv(tmp_path: Path) -> Path:
    """200 seeded rows of scikit-learn's breast cancer data, target column ``label``."""
    from sklearn.datasets import load_breast_cancer

    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = features.assign(label=target)
    rows = np.random.default_rng(0).choice(len(frame), size=200, replace=False)
    return _write(frame.iloc[np.sort(rows)], tmp_path / "breast_cancer.csv")


@pytest.fixture
def diabetes_csv(tmp_path: Path) -> Path:
    """scikit-learn's diabetes regression data, target column ``progression``."""
    from sklearn.datasets import load_diabetes

    features, target = load_diabetes(return_X_y=True, as_frame=True)
    return _write(features.assign(progression=target), tmp_path / "diabetes.csv")
