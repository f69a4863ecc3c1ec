"""Load a tabular dataset file into arrays the trainers accept.

The runner validates the dataset once, at the boundary: the file must exist and be
readable as CSV or Parquet, and the target column must be present.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import pandas as pd

from library.exceptions import RunnerError

__all__ = ["TaskKind", "TabularData", "load_tabular"]

_MAX_CLASSES = 50


class TaskKind(str, Enum):
    """Whether the target is a class label or a real number."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclass(frozen=True, slots=True)
class TabularData:
    """A dataset ready for training.

    Attributes:
        features: ``n x d`` float32 matrix (categoricals one-hot encoded, NaN kept).
        target: ``n`` labels (int64 class codes) or float64 values.
        kind: classification or regression.
        feature_names: ``d`` column names after encoding.
        n_classes: number of classes (0 for regression).
        source: path the data came from.
        content_hash: sha256 of the file bytes and the target name (stable task key).
    """

    features: np.ndarray
    target: np.ndarray
    kind: TaskKind
    feature_names: tuple[str, ...]
    n_classes: int
    source: str
    content_hash: str

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.features.shape[0])


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise RunnerError(
            f"dataset file {str(path)!r} does not exist; pass an existing CSV or Parquet file"
        )
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise RunnerError(
            f"cannot read dataset {str(path)!r} ({type(error).__name__}: {error}); "
            "pass a CSV with a header row or a Parquet file"
        ) from error


def _infer_kind(target: pd.Series) -> TaskKind:
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return TaskKind.CLASSIFICATION
    values = target.dropna().to_numpy()
    is_integral = bool(np.all(np.equal(np.mod(values, 1), 0)))
    if is_integral and np.unique(values).size <= _MAX_CLASSES:
        return TaskKind.CLASSIFICATION
    return TaskKind.REGRESSION


def load_tabular(path: str | Path, target: str, *, kind: TaskKind | None = None) -> TabularData:
    """Read ``path`` and split it into features and ``target``.

    Args:
        path: CSV (header row) or Parquet file.
        target: name of the target column.
        kind: force classification or regression; inferred when None (non-numeric or
            integral with at most 50 distinct values -> classification).

    Returns:
        The validated `TabularData`.

    Raises:
        RunnerError: the file is missing or unreadable, the target column is absent,
            the target has missing values, or fewer than 10 rows remain.
    """
    path = Path(path)
    frame = _read_table(path)
    if target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:20]))
        raise RunnerError(
            f"target column {target!r} missing in {str(path)!r}; columns are: {shown}; "
            "pass one of them with --target"
        )
    target_series = frame[target]
    if target_series.isna().any():
        raise RunnerError(
            f"target column {target!r} in {str(path)!r} has {int(target_series.isna().sum())} "
            "missing values; drop those rows first"
        )
    if len(frame) < 10:
        raise RunnerError(f"dataset {str(path)!r} has {len(frame)} rows; need at least 10")
    task_kind = kind or _infer_kind(target_series)
    features_frame = pd.get_dummies(frame.drop(columns=[target]), dummy_na=False, dtype=float)
    features = features_frame.to_numpy(dtype=np.float32)
    if task_kind is TaskKind.CLASSIFICATION:
        codes, classes = pd.factorize(target_series, sort=True)
        labels = codes.astype(np.int64)
        n_classes = len(classes)
        if n_classes < 2:
            raise RunnerError(
                f"target {target!r} in {str(path)!r} has a single class; nothing to learn"
            )
    else:
        labels = target_series.to_numpy(dtype=np.float64)
        n_classes = 0
    digest = hashlib.sha256()
    digest.update(path.read_bytes())
    digest.update(target.encode())
    return TabularData(
        features=features,
        target=labels,
        kind=task_kind,
        feature_names=tuple(map(str, features_frame.columns)),
        n_classes=n_classes,
        source=str(path.resolve()),
        content_hash=digest.hexdigest(),
    )
