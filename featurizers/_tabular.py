"""Turn user input (numpy, pandas, pyarrow, CSV/Parquet path) into clean numeric arrays.

Private helper of `featurizers.dataset`. It validates at the boundary and does the only
full-data passes of the featurizer (missing/infinite counts and a content hash per row);
everything else works on a bounded subsample.

Handling of awkward input, as documented in `featurize_dataset`:

* rows whose target is missing are dropped; no row left -> `FeaturizeError`;
* infinities become missing values and are counted in ``infinite_share``;
* all-missing columns are dropped and counted in ``all_missing_column_share``;
* text columns (strings with more than 50 distinct values covering more than half of the
  non-missing rows) are dropped and counted in ``text_share``;
* other non-numeric columns are categorical: codes sorted by category value, -1 for missing;
* booleans are numeric 0/1; datetimes and durations are numeric (nanoseconds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from library.exceptions import FeaturizeError

TEXT_MIN_DISTINCT = 50
TEXT_MIN_DISTINCT_SHARE = 0.5
CLASSIFICATION_MAX_INT_LEVELS = 20

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_CHUNK_ROWS = 2_048


@dataclass(frozen=True, slots=True)
class RawTable:
    """Features and target after column typing, before subsampling (all rows)."""

    numeric: np.ndarray  # n x p_num float64, NaN = missing (infinities included)
    categorical: np.ndarray  # n x p_cat int64 codes, -1 = missing
    target: np.ndarray  # n, object or float (rows with a missing target already dropped)
    n_input_columns: int
    n_text_columns: int
    n_all_missing_columns: int
    missing_cells: int
    infinite_cells: int
    rows_with_missing: int
    columns_with_missing: int


def load_input(data: Any, *, target: str | None, y: Any) -> tuple[Any, Any]:
    """Return ``(features, target_values)`` where features is a 2-D ndarray or a DataFrame."""
    if isinstance(data, str | os.PathLike):
        data = _read_path(Path(data))
    try:
        import pyarrow as pa

        if isinstance(data, pa.Table | pa.RecordBatch):
            data = data.to_pandas()
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    if isinstance(data, pd.DataFrame):
        if target is not None:
            if y is not None:
                raise FeaturizeError("pass either target= (a column name) or y=, not both")
            if target not in data.columns:
                shown = [str(c) for c in list(data.columns)[:20]]
                raise FeaturizeError(
                    f"target column {target!r} not found; the table has columns {shown}; "
                    "pass --target/target= with one of them"
                )
            return data.drop(columns=[target]), data[target].to_numpy()
        if y is None:
            raise FeaturizeError(
                "no target: pass target='<column>' for a table or y=<labels> for arrays"
            )
        return data, _as_1d(y, len(data))
    if isinstance(data, np.ndarray | list | tuple):
        features = np.asarray(data)
        if features.ndim == 1:
            features = features.reshape(-1, 1)
        if features.ndim != 2:
            raise FeaturizeError(f"X must be 2-D (rows x columns), got shape {features.shape}")
        if target is not None:
            raise FeaturizeError("target= names a column of a table; for arrays pass y=")
        if y is None:
            raise FeaturizeError("no target: pass y=<labels> together with the X array")
        if features.dtype.kind not in "biuf":
            return pd.DataFrame(features), _as_1d(y, len(features))
        return features, _as_1d(y, len(features))
    raise FeaturizeError(
        f"cannot featurize an object of type {type(data).__name__}; pass a numpy array with y=, "
        "a pandas DataFrame, a pyarrow Table, or a CSV/Parquet path"
    )


def _read_path(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FeaturizeError(f"dataset file {path} does not exist")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    try:
        if suffix in (".csv", ".csv.gz", ".tsv"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pandas()
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise FeaturizeError(f"cannot read dataset file {path}: {error}") from error
    raise FeaturizeError(f"unsupported dataset file {path}: use .csv, .csv.gz, .tsv or .parquet")


def _as_1d(values: Any, n_rows: int) -> np.ndarray:
    array = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    array = array.reshape(-1) if array.ndim == 2 and 1 in array.shape else array
    if array.ndim != 1 or len(array) != n_rows:
        raise FeaturizeError(
            f"y must be 1-D with one value per row ({n_rows}), got shape {np.shape(array)}"
        )
    return array


def target_missing_mask(target: np.ndarray) -> np.ndarray:
    """True where a target value is missing (None, NaN, NaT) or infinite."""
    if target.dtype.kind in "fc":
        return ~np.isfinite(target)
    if target.dtype.kind in "biu":
        return np.zeros(len(target), dtype=bool)
    return pd.isna(target)


def infer_task(target: np.ndarray) -> str:
    """``classification`` for non-numeric or few-integer targets, else ``regression``."""
    if target.dtype.kind in "bOUSM" or target.dtype.kind not in "iuf":
        return "classification"
    if target.dtype.kind in "iu":
        return (
            "classification"
            if len(np.unique(target)) <= CLASSIFICATION_MAX_INT_LEVELS
            else "regression"
        )
    integral = bool(np.all(np.mod(target, 1.0) == 0.0))
    if integral and len(np.unique(target)) <= CLASSIFICATION_MAX_INT_LEVELS:
        return "classification"
    return "regression"


def split_columns(features: Any, target: np.ndarray, keep: np.ndarray | None) -> RawTable:
    """Type the columns and count missing/infinite cells over all rows with a target."""
    if isinstance(features, np.ndarray):
        numeric = features if keep is None else features[keep]
        numeric = np.asarray(numeric, dtype=np.float64)
        target = target if keep is None else target[keep]
        n_input = numeric.shape[1]
        return _finish(numeric, np.zeros((len(numeric), 0), np.int64), target, n_input, 0)
    frame: pd.DataFrame = features if keep is None else features.loc[keep]
    target = target if keep is None else target[keep]
    numeric_columns: list[np.ndarray] = []
    categorical_columns: list[np.ndarray] = []
    n_text = 0
    for _, column in frame.items():
        kind = column.dtype.kind
        if kind == "b":
            numeric_columns.append(column.to_numpy(dtype=np.float64))
        elif kind in "iuf" and not isinstance(column.dtype, pd.CategoricalDtype):
            numeric_columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
        elif kind in "mM":  # datetimes and durations: numeric (ns), NaT -> NaN
            numbers = column.to_numpy().view(np.int64).astype(np.float64)
            numbers[column.isna().to_numpy()] = np.nan
            numeric_columns.append(numbers)
        elif str(column.dtype) == "boolean":
            numeric_columns.append(column.astype("Float64").to_numpy(np.float64, na_value=np.nan))
        else:
            n_valid = int(column.notna().sum())
            n_distinct = int(column.nunique(dropna=True))
            is_category = isinstance(column.dtype, pd.CategoricalDtype)
            if (
                not is_category
                and n_distinct > TEXT_MIN_DISTINCT
                and n_distinct > TEXT_MIN_DISTINCT_SHARE * n_valid
            ):
                n_text += 1
                continue
            categorical_columns.append(_sorted_codes(column))
    n_rows = len(frame)
    numeric = (
        np.column_stack(numeric_columns) if numeric_columns else np.zeros((n_rows, 0), np.float64)
    )
    categorical = (
        np.column_stack(categorical_columns)
        if categorical_columns
        else np.zeros((n_rows, 0), np.int64)
    )
    return _finish(numeric, categorical, target, frame.shape[1], n_text)


def _sorted_codes(column: pd.Series) -> np.ndarray:
    try:
        codes, _ = pd.factorize(column, sort=True, use_na_sentinel=True)
    except TypeError:  # mixed, unorderable types
        codes, _ = pd.factorize(column.astype(str).where(column.notna()), sort=True)
    return codes.astype(np.int64)


def _finish(
    numeric: np.ndarray,
    categorical: np.ndarray,
    target: np.ndarray,
    n_input_columns: int,
    n_text: int,
) -> RawTable:
    n_rows, n_numeric = numeric.shape
    has_finite = np.zeros(n_numeric, bool)
    col_missing = np.zeros(n_numeric, bool)
    row_missing = np.zeros(n_rows, bool)
    missing_cells = infinite_cells = 0
    any_bad = False
    for start in range(0, n_rows, _CHUNK_ROWS):  # cache-sized blocks: one cheap pass
        block = numeric[start : start + _CHUNK_ROWS]
        finite = np.isfinite(block)
        if finite.all():
            has_finite[:] = True
            continue
        any_bad = True
        infinite = int(np.isinf(block).sum())
        infinite_cells += infinite
        missing_cells += int((~finite).sum()) - infinite
        has_finite |= finite.any(axis=0)
        col_missing |= ~finite.all(axis=0)
        row_missing[start : start + _CHUNK_ROWS] = ~finite.all(axis=1)
    if any_bad:
        numeric = np.where(np.isfinite(numeric), numeric, np.nan)  # one canonical NaN
    all_missing_numeric = ~has_finite
    if categorical.shape[1]:
        cat_missing = categorical < 0
        missing_cells += int(cat_missing.sum())
        row_missing = row_missing | cat_missing.any(axis=1)
        col_missing = np.concatenate([col_missing, cat_missing.any(axis=0)])
    all_missing_categorical = (
        np.all(categorical < 0, axis=0) if len(categorical) else np.ones(categorical.shape[1], bool)
    )
    n_all_missing = int(all_missing_numeric.sum() + all_missing_categorical.sum())
    return RawTable(
        numeric=numeric[:, ~all_missing_numeric] if all_missing_numeric.any() else numeric,
        categorical=categorical[:, ~all_missing_categorical]
        if all_missing_categorical.any()
        else categorical,
        target=target,
        n_input_columns=n_input_columns,
        n_text_columns=n_text,
        n_all_missing_columns=n_all_missing,
        missing_cells=missing_cells,
        infinite_cells=infinite_cells,
        rows_with_missing=int(row_missing.sum()),
        columns_with_missing=int(col_missing.sum()),
    )


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, elementwise on uint64 (wrapping arithmetic)."""
    values = values ^ (values >> np.uint64(30))
    values = values * _M1
    values ^= values >> np.uint64(27)
    values *= _M2
    values ^= values >> np.uint64(31)
    return values


def _float_bits(block: np.ndarray) -> np.ndarray:
    normalized = block + 0.0  # copy; turns -0.0 into +0.0
    normalized[np.isnan(normalized)] = np.nan  # one canonical NaN bit pattern
    return normalized.view(np.uint64)


def _as_bits(values: np.ndarray) -> np.ndarray:
    """uint64 view of float data (NaN already canonical) or shifted categorical codes."""
    if values.dtype == np.float64:
        return np.ascontiguousarray(values).view(np.uint64)
    return (values + 2).astype(np.uint64) * _GOLDEN


def row_keys(numeric: np.ndarray, categorical: np.ndarray, *, seed: int) -> np.ndarray:
    """A seeded 64-bit content hash per row, invariant to the order of rows and columns.

    Every column gets a salt from an order-free digest of its own content (the wrapping sum
    of its bit patterns); a cell's hash mixes its bits with its column's salt, and the row key
    is the wrapping sum over columns. So permuting columns leaves the keys unchanged, and
    permuting rows permutes them. Two passes over the data, in cache-sized blocks.
    """
    n_rows = numeric.shape[0]
    seed_salt = _mix(np.array([np.uint64(seed & 0xFFFFFFFFFFFFFFFF) ^ _GOLDEN], np.uint64))[0]
    keys = np.zeros(n_rows, dtype=np.uint64)
    for part in (numeric, categorical):
        if part.shape[1] == 0:
            continue
        column_sums = np.zeros(part.shape[1], np.uint64)
        for start in range(0, n_rows, _CHUNK_ROWS):
            column_sums += _as_bits(part[start : start + _CHUNK_ROWS]).sum(axis=0, dtype=np.uint64)
        salts = _mix(column_sums ^ seed_salt)
        for start in range(0, n_rows, _CHUNK_ROWS):
            cells = _as_bits(part[start : start + _CHUNK_ROWS]) ^ salts
            cells *= _M1
            cells ^= cells >> np.uint64(32)
            keys[start : start + _CHUNK_ROWS] += cells.sum(axis=1, dtype=np.uint64)
    return _mix(keys ^ seed_salt)


def column_keys(numeric: np.ndarray, categorical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Content hash per column (order-free over rows) used to put columns in canonical order."""
    numeric_keys = (
        _mix(_float_bits(numeric)).sum(axis=0, dtype=np.uint64)
        if numeric.size
        else np.zeros(numeric.shape[1], np.uint64)
    )
    categorical_keys = (
        _mix((categorical + 2).astype(np.uint64) * _GOLDEN).sum(axis=0, dtype=np.uint64)
        if categorical.size
        else np.zeros(categorical.shape[1], np.uint64)
    )
    return numeric_keys, categorical_keys
