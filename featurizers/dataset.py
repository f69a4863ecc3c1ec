"""Dataset meta-features: the fingerprint of a supervised tabular task.

`featurize_dataset` turns a table and its target into a `Fingerprint` of kind ``"dataset"``
with four groups of meta-features:

* **general**: log rows, log columns, log rows per column, numeric/categorical/text shares,
  missing and infinite shares, constant and all-missing column shares, categorical
  cardinality; for classification also log classes, majority/minority shares, imbalance;
* **statistical** (numeric columns): skewness, kurtosis, zero and outlier shares, absolute
  correlations, PCA spectrum of the correlation matrix (first share, components for 95 %,
  spectral entropy); for regression also target skewness/kurtosis and feature-target
  correlations;
* **information-theoretic**: target entropy, attribute entropy, mutual information with the
  target, equivalent number of attributes, noise-to-signal ratio (columns discretised in
  equal-frequency bins, so these are invariant to monotone rescaling);
* **landmarking**: out-of-fold accuracy (classification) or R² (regression) of 1-NN, a
  decision stump, a depth-3 tree, Gaussian naive Bayes and shrinkage LDA (classification) or
  ridge (regression), with 3-fold CV on a stratified subsample of ``landmark_rows`` rows.

The names are fixed for a given `FEATURIZER_VERSION` and task kind (`dataset_feature_names`);
a feature that cannot be computed is NaN, never dropped.

**Invariances.** Rows are subsampled and ordered by a seeded content hash of each row, classes
are ordered by frequency (ties by content) and columns by a content hash, so the fingerprint
is exactly the same after shuffling rows, permuting columns or renaming class labels. The
general, statistical and information-theoretic features are scale-free (multiplying a column
by a constant leaves them unchanged); landmarkers are computed on standardised columns but
their folds depend on the row hash, so they are only statistically (not bitwise) invariant
to rescaling.

**Cost.** Only a few vectorised passes touch all rows (missing/infinite counts, row hashes);
everything else runs on at most ``max_rows`` rows (stratified for classification) and
landmarkers on at most ``landmark_rows`` rows, so the cost is flat in the number of rows.

**pymfe decision.** pymfe 0.4.4 installs cleanly next to numpy 2 and was tried first
(2026-11-25, this machine, 2 shared cores): general+statistical+info-theory took 1.8 s on
breast_cancer (569 x 30, 73 features, with RuntimeWarnings and 3 NaN) and 3.7 s on
10k x 100; its landmarking group took 0.4 s on 569 x 30 but 40 s on 10k x 100. It also needs
imputed, fully numeric input, runs its own CV (row-order dependent) and its output names
depend on options. That misses the 2 s budget for 1M x 100 and the invariance requirements,
so the features here are hand-written in numpy/scikit-learn (same definitions as pymfe /
Rivolli et al. 2022 where they overlap) and pymfe is not imported at run time.

**Bad inputs** (all `FeaturizeError` unless stated): empty table, no feature column, fewer
than 2 rows with a target, target column missing or all missing, a classification target
with one class, no usable column left. Documented handling: rows with a missing target are
dropped; infinities count as missing (``infinite_share``); all-missing columns are dropped
(``all_missing_column_share``); high-cardinality string columns are dropped as text
(``text_share``); constant columns are kept for general features and ignored by statistics.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from featurizers import _tabular
from featurizers.fingerprint import FEATURIZER_VERSION, Fingerprint
from library.exceptions import FeaturizeError

__all__ = [
    "TASK_KINDS",
    "dataset_feature_names",
    "featurize_dataset",
]

TASK_KINDS: tuple[str, ...] = ("classification", "regression")

_N_BINS = 10
_N_FOLDS = 3
_MIN_LANDMARK_ROWS = 6
_OUTLIER_Z = 3.5
_HIGH_CORR = 0.9

_GENERAL = (
    "task_is_classification",
    "log_n_rows",
    "log_n_columns",
    "log_rows_per_column",
    "numeric_share",
    "categorical_share",
    "text_share",
    "missing_share",
    "rows_with_missing_share",
    "columns_with_missing_share",
    "infinite_share",
    "all_missing_column_share",
    "constant_column_share",
    "log_mean_cardinality",
)
_GENERAL_CLASSIFICATION = (
    "log_n_classes",
    "majority_class_share",
    "minority_class_share",
    "log_imbalance_ratio",
)
_STATISTICAL = (
    "skewness_mean",
    "skewness_sd",
    "skewness_abs_max",
    "high_skew_column_share",
    "log_kurtosis_mean",
    "log_kurtosis_sd",
    "zero_share",
    "outlier_share",
    "abs_corr_mean",
    "abs_corr_max",
    "high_corr_pair_share",
    "pca_first_share",
    "pca_n95_share",
    "pca_entropy",
)
_STATISTICAL_REGRESSION = (
    "target_skewness",
    "target_log_kurtosis",
    "target_abs_corr_mean",
    "target_abs_corr_max",
)
_INFO = (
    "target_entropy",
    "target_entropy_normalized",
    "attr_entropy_mean",
    "mutual_info_mean",
    "mutual_info_max",
    "log_equivalent_attributes",
    "log_noise_signal_ratio",
)
_LANDMARK_CLASSIFICATION = (
    "lm_1nn_accuracy",
    "lm_stump_accuracy",
    "lm_tree_accuracy",
    "lm_naive_bayes_accuracy",
    "lm_lda_accuracy",
)
_LANDMARK_REGRESSION = (
    "lm_1nn_r2",
    "lm_stump_r2",
    "lm_tree_r2",
    "lm_linear_r2",
)


def dataset_feature_names(task: str) -> tuple[str, ...]:
    """The fixed feature names of a dataset fingerprint for one task kind.

    Args:
        task: ``"classification"`` or ``"regression"``.

    Returns:
        The names, in fingerprint order.

    Raises:
        FeaturizeError: If ``task`` is not a known task kind.
    """
    if task == "classification":
        return _GENERAL + _GENERAL_CLASSIFICATION + _STATISTICAL + _INFO + _LANDMARK_CLASSIFICATION
    if task == "regression":
        return _GENERAL + _STATISTICAL + _STATISTICAL_REGRESSION + _INFO + _LANDMARK_REGRESSION
    raise FeaturizeError(f"task must be one of {TASK_KINDS} or None (infer), got task={task!r}")


def featurize_dataset(
    data: Any,
    *,
    target: str | None = None,
    y: Any = None,
    task: str | None = None,
    max_rows: int = 10_000,
    landmark_rows: int = 2_000,
    seed: int = 0,
) -> Fingerprint:
    """Fingerprint a supervised tabular dataset.

    Args:
        data: A 2-D numpy array (with ``y``), a pandas DataFrame or pyarrow Table (with
            ``target`` or ``y``), or a path to a ``.csv``/``.tsv``/``.parquet`` file (with
            ``target``).
        target: Name of the target column of a table or file.
        y: Target values, one per row, when ``data`` holds the features only.
        task: ``"classification"`` or ``"regression"``; inferred when None (non-numeric or at
            most 20 integer levels -> classification).
        max_rows: Rows used for statistical and information-theoretic features (stratified
            for classification; every class keeps at least 2 rows when it has them).
        landmark_rows: Rows used for the landmarkers (a stratified subset of the above).
        seed: Chooses the subsample and the CV folds; same seed, same fingerprint.

    Returns:
        A `Fingerprint` of kind ``"dataset"`` whose names are `dataset_feature_names(task)`.

    Raises:
        FeaturizeError: For the bad inputs listed in the module docstring.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> fp = featurize_dataset(X, y=y)
        >>> fp.as_series()["log_n_classes"].round(3)
        1.099
    """
    if max_rows < 10 or landmark_rows < 10:
        raise FeaturizeError(
            f"max_rows and landmark_rows must be >= 10, got {max_rows=}, {landmark_rows=}"
        )
    features, target_values = _tabular.load_input(data, target=target, y=y)
    n_given = len(features)
    n_columns_given = features.shape[1]
    if n_given == 0 or n_columns_given == 0:
        raise FeaturizeError(
            f"empty dataset ({n_given} rows x {n_columns_given} feature columns); "
            "need at least 2 rows and 1 feature column"
        )
    missing_target = _tabular.target_missing_mask(target_values)
    keep = ~missing_target if missing_target.any() else None
    if keep is not None and not keep.any():
        raise FeaturizeError("every target value is missing; check the target column")
    table = _tabular.split_columns(features, target_values, keep)
    del features
    n_rows = len(table.target)
    if n_rows < 2:
        raise FeaturizeError(f"dataset has {n_rows} row(s) with a target; need at least 2")
    if table.numeric.shape[1] + table.categorical.shape[1] == 0:
        raise FeaturizeError(
            f"no usable feature column: {table.n_text_columns} text and "
            f"{table.n_all_missing_columns} all-missing column(s) were dropped"
        )
    task_kind = task if task is not None else _tabular.infer_task(table.target)
    names = dataset_feature_names(task_kind)
    rng = np.random.default_rng(seed)
    seed_bits = int(rng.integers(0, 2**63 - 1))
    keys = _tabular.row_keys(table.numeric, table.categorical, seed=seed_bits)

    if task_kind == "classification":
        y_full, class_counts = _canonical_classes(table.target, keys)
        if len(class_counts) < 2:
            raise FeaturizeError(
                "classification target has a single class; a task needs at least 2 classes "
                "(or pass task='regression' for a numeric target)"
            )
    else:
        try:
            y_full = np.asarray(table.target, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise FeaturizeError(f"task='regression' needs a numeric target: {error}") from error
        class_counts = np.zeros(0, np.int64)

    sample = _select_rows(keys, y_full if task_kind == "classification" else None, max_rows)
    sample = sample[np.lexsort((y_full[sample], keys[sample]))]  # canonical row order
    numeric = table.numeric[sample]
    categorical = table.categorical[sample]
    y_sample = y_full[sample]
    numeric_keys, categorical_keys = _tabular.column_keys(numeric, categorical)
    numeric = numeric[:, np.argsort(numeric_keys, kind="stable")]
    categorical = categorical[:, np.argsort(categorical_keys, kind="stable")]

    values: dict[str, float] = {}
    values.update(_general(table, numeric, categorical, n_rows, task_kind, class_counts))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        statistical, varying = _statistical(numeric)
        values.update(statistical)
        if task_kind == "regression":
            values.update(_target_statistics(numeric[:, varying], y_sample))
        values.update(_information(numeric, categorical, y_sample, task_kind))
    landmark_subset = _select_rows(
        keys[sample], y_sample if task_kind == "classification" else None, landmark_rows
    )
    landmark_subset.sort()  # keep the canonical order
    values.update(
        _landmarks(
            numeric[landmark_subset],
            categorical[landmark_subset],
            y_sample[landmark_subset],
            task_kind,
        )
    )
    return Fingerprint.from_values(
        names,
        [values.get(name, math.nan) for name in names],
        kind="dataset",
        version=FEATURIZER_VERSION,
    )


def _canonical_classes(target: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class codes ordered by frequency (desc), ties broken by content, not by label."""
    import pandas as pd

    raw_codes, _ = pd.factorize(target, use_na_sentinel=True)
    n_classes = int(raw_codes.max()) + 1 if len(raw_codes) else 0
    counts = np.bincount(raw_codes, minlength=n_classes)
    min_keys = np.full(n_classes, np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(min_keys, raw_codes, keys)
    order = np.lexsort((min_keys, -counts))
    rank = np.empty(n_classes, np.int64)
    rank[order] = np.arange(n_classes)
    return rank[raw_codes], counts[order]


def _select_rows(keys: np.ndarray, classes: np.ndarray | None, budget: int) -> np.ndarray:
    """Indices of the rows with the smallest keys, per class in proportion (at least 2)."""
    n_rows = len(keys)
    if n_rows <= budget:
        return np.arange(n_rows)
    if classes is None:
        return np.argpartition(keys, budget - 1)[:budget]
    chosen: list[np.ndarray] = []
    counts = np.bincount(classes)
    for label, count in enumerate(counts):
        members = np.flatnonzero(classes == label)
        take = min(count, max(2, int(round(count * budget / n_rows))))
        if take >= count:
            chosen.append(members)
        else:
            chosen.append(members[np.argpartition(keys[members], take - 1)[:take]])
    return np.concatenate(chosen)


def _general(
    table: _tabular.RawTable,
    numeric: np.ndarray,
    categorical: np.ndarray,
    n_rows: int,
    task_kind: str,
    class_counts: np.ndarray,
) -> dict[str, float]:
    n_columns = table.n_input_columns
    cells = n_rows * n_columns
    n_numeric, n_categorical = numeric.shape[1], categorical.shape[1]
    constant = sum(
        1
        for j in range(n_numeric)
        if np.unique(numeric[:, j][np.isfinite(numeric[:, j])]).size <= 1
    ) + sum(
        1
        for j in range(n_categorical)
        if np.unique(categorical[:, j][categorical[:, j] >= 0]).size <= 1
    )
    cardinality = [int(categorical[:, j].max()) + 1 for j in range(n_categorical)]
    out = {
        "task_is_classification": 1.0 if task_kind == "classification" else 0.0,
        "log_n_rows": math.log(n_rows),
        "log_n_columns": math.log(n_columns),
        "log_rows_per_column": math.log(n_rows / n_columns),
        "numeric_share": n_numeric / n_columns,
        "categorical_share": n_categorical / n_columns,
        "text_share": table.n_text_columns / n_columns,
        "missing_share": table.missing_cells / cells,
        "rows_with_missing_share": table.rows_with_missing / n_rows,
        "columns_with_missing_share": table.columns_with_missing / n_columns,
        "infinite_share": table.infinite_cells / cells,
        "all_missing_column_share": table.n_all_missing_columns / n_columns,
        "constant_column_share": constant / n_columns,
        "log_mean_cardinality": math.log(float(np.mean(cardinality))) if cardinality else math.nan,
    }
    if task_kind == "classification":
        total = float(class_counts.sum())
        out.update(
            {
                "log_n_classes": math.log(len(class_counts)),
                "majority_class_share": class_counts.max() / total,
                "minority_class_share": class_counts.min() / total,
                "log_imbalance_ratio": math.log(class_counts.max() / class_counts.min()),
            }
        )
    return out


def _statistical(numeric: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
    """Scale-free statistics of the numeric columns; also returns the non-constant mask."""
    out: dict[str, float] = {}
    if numeric.shape[1] == 0:
        return out, np.zeros(0, bool)
    mean = np.nanmean(numeric, axis=0)
    centered = numeric - mean
    m2 = np.nanmean(centered**2, axis=0)
    varying = np.isfinite(m2) & (m2 > 1e-12 * np.maximum(1.0, mean**2))
    if not varying.any():
        return out, varying
    x = numeric[:, varying]
    c = centered[:, varying]
    m2 = m2[varying]
    skew = np.nanmean(c**3, axis=0) / m2**1.5
    kurt = np.nanmean(c**4, axis=0) / m2**2  # Pearson kurtosis, >= 1
    out["skewness_mean"] = float(np.mean(skew))
    out["skewness_sd"] = float(np.std(skew))
    out["skewness_abs_max"] = float(np.max(np.abs(skew)))
    out["high_skew_column_share"] = float(np.mean(np.abs(skew) > 1.0))
    out["log_kurtosis_mean"] = float(np.mean(np.log(kurt)))
    out["log_kurtosis_sd"] = float(np.std(np.log(kurt)))
    observed = np.isfinite(x)
    out["zero_share"] = float(np.sum(x == 0.0) / max(1, observed.sum()))
    median = np.nanmedian(x, axis=0)
    mad = np.nanmedian(np.abs(x - median), axis=0) * 1.4826
    spread = np.where(mad > 0, mad, np.sqrt(m2))
    out["outlier_share"] = float(
        np.sum(np.abs(x - median) > _OUTLIER_Z * spread) / max(1, observed.sum())
    )
    imputed = np.where(observed, x, median)
    p = imputed.shape[1]
    if p >= 2:
        corr = np.corrcoef(imputed, rowvar=False)
        corr = np.nan_to_num(corr, nan=0.0)
        upper = np.abs(corr[np.triu_indices(p, k=1)])
        out["abs_corr_mean"] = float(upper.mean())
        out["abs_corr_max"] = float(upper.max())
        out["high_corr_pair_share"] = float(np.mean(upper > _HIGH_CORR))
        eigenvalues = np.clip(np.linalg.eigvalsh(corr)[::-1], 0.0, None)
        share = eigenvalues / eigenvalues.sum()
        out["pca_first_share"] = float(share[0])
        out["pca_n95_share"] = float((np.searchsorted(np.cumsum(share), 0.95) + 1) / p)
        nonzero = share[share > 0]
        out["pca_entropy"] = float(-(nonzero * np.log(nonzero)).sum() / math.log(p))
    else:
        out["pca_first_share"] = 1.0
        out["pca_n95_share"] = 1.0
    return out, varying


def _target_statistics(numeric: np.ndarray, y: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    centered = y - y.mean()
    m2 = float(np.mean(centered**2))
    if m2 <= 0:
        return out
    out["target_skewness"] = float(np.mean(centered**3) / m2**1.5)
    out["target_log_kurtosis"] = float(np.log(np.mean(centered**4) / m2**2))
    if numeric.shape[1]:
        imputed = np.where(np.isfinite(numeric), numeric, np.nanmedian(numeric, axis=0))
        z = (imputed - imputed.mean(axis=0)) / imputed.std(axis=0)
        corr = np.abs(np.nan_to_num(z.T @ (centered / math.sqrt(m2)) / len(y)))
        out["target_abs_corr_mean"] = float(corr.mean())
        out["target_abs_corr_max"] = float(corr.max())
    return out


def _discretize(numeric: np.ndarray) -> np.ndarray:
    """Equal-frequency bins per column (0.._N_BINS-1), missing -> its own bin _N_BINS."""
    n_rows = numeric.shape[0]
    codes = np.full(numeric.shape, _N_BINS, dtype=np.int64)
    for j in range(numeric.shape[1]):
        column = numeric[:, j]
        observed = np.isfinite(column)
        if not observed.any():
            continue
        values = column[observed]
        uniques, inverse = np.unique(values, return_inverse=True)
        counts = np.bincount(inverse)
        midrank = np.cumsum(counts) - (counts - 1) / 2.0 - 1.0  # 0-based average ranks
        bins = np.floor(midrank * _N_BINS / len(values)).astype(np.int64)
        codes[observed, j] = np.minimum(bins[inverse], _N_BINS - 1)
    del n_rows
    return codes


def _entropy(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    total = counts.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = counts / total
        terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=axis)


def _information(
    numeric: np.ndarray, categorical: np.ndarray, y: np.ndarray, task_kind: str
) -> dict[str, float]:
    if task_kind == "classification":
        y_codes = y.astype(np.int64)
    else:
        y_codes = _discretize(y.reshape(-1, 1))[:, 0]
    n_y = int(y_codes.max()) + 1
    target_counts = np.bincount(y_codes, minlength=n_y).astype(float)
    h_y = float(_entropy(target_counts))
    n_distinct_y = int((target_counts > 0).sum())
    out = {
        "target_entropy": h_y,
        "target_entropy_normalized": h_y / math.log(n_distinct_y) if n_distinct_y > 1 else 0.0,
    }
    cat = np.where(categorical >= 0, categorical, -1)
    columns = [_discretize(numeric)] if numeric.shape[1] else []
    if cat.shape[1]:
        columns.append(cat + 1)  # missing -> 0
    if not columns:
        return out
    codes = np.concatenate(columns, axis=1)
    n_rows, p = codes.shape
    n_levels = int(codes.max()) + 1
    joint_index = (np.arange(p)[None, :] * n_levels + codes) * n_y + y_codes[:, None]
    joint = np.bincount(joint_index.ravel(), minlength=p * n_levels * n_y).reshape(p, n_levels, n_y)
    h_x = _entropy(joint.sum(axis=2).astype(float))
    h_xy = _entropy(joint.reshape(p, -1).astype(float))
    mutual = np.clip(h_x + h_y - h_xy, 0.0, None)
    levels = np.maximum(2, (joint.sum(axis=2) > 0).sum(axis=1))
    out["attr_entropy_mean"] = float(np.mean(h_x / np.log(levels)))
    mi_mean = float(mutual.mean())
    out["mutual_info_mean"] = mi_mean
    out["mutual_info_max"] = float(mutual.max())
    if mi_mean > 1e-12:
        out["log_equivalent_attributes"] = math.log(h_y / mi_mean) if h_y > 0 else math.nan
        noise = (float(h_x.mean()) - mi_mean) / mi_mean
        out["log_noise_signal_ratio"] = math.log(noise) if noise > 0 else math.nan
    return out


def _landmark_matrix(numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    parts = []
    if numeric.shape[1]:
        median = np.nanmedian(numeric, axis=0)
        parts.append(np.where(np.isfinite(numeric), numeric, np.nan_to_num(median)))
    if categorical.shape[1]:
        parts.append(np.where(categorical >= 0, categorical, -1).astype(np.float64))
    x = np.concatenate(parts, axis=1)
    std = x.std(axis=0)
    keep = std > 1e-12 * np.maximum(1.0, np.abs(x.mean(axis=0)))
    x = x[:, keep]
    return (x - x.mean(axis=0)) / std[keep]


def _fold_ids(y: np.ndarray | None, n_rows: int) -> np.ndarray:
    """Deterministic stratified folds from the canonical row order."""
    if y is None:
        return np.arange(n_rows) % _N_FOLDS
    folds = np.empty(n_rows, np.int64)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        folds[members] = np.arange(len(members)) % _N_FOLDS
    return folds


def _landmarks(
    numeric: np.ndarray, categorical: np.ndarray, y: np.ndarray, task_kind: str
) -> dict[str, float]:
    if len(y) < _MIN_LANDMARK_ROWS:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = _landmark_matrix(numeric, categorical)
    if x.shape[1] == 0:
        return {}
    classification = task_kind == "classification"
    folds = _fold_ids(y if classification else None, len(y))
    if classification:
        models: dict[str, Any] = {
            "lm_1nn_accuracy": KNeighborsClassifier(n_neighbors=1, algorithm="brute"),
            "lm_stump_accuracy": DecisionTreeClassifier(max_depth=1, random_state=0),
            "lm_tree_accuracy": DecisionTreeClassifier(max_depth=3, random_state=0),
            "lm_naive_bayes_accuracy": GaussianNB(),
            "lm_lda_accuracy": LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
        }
    else:
        models = {
            "lm_1nn_r2": KNeighborsRegressor(n_neighbors=1, algorithm="brute"),
            "lm_stump_r2": DecisionTreeRegressor(max_depth=1, random_state=0),
            "lm_tree_r2": DecisionTreeRegressor(max_depth=3, random_state=0),
            "lm_linear_r2": Ridge(alpha=1.0),
        }
    out: dict[str, float] = {}
    for name, model in models.items():
        predictions = np.empty(len(y), dtype=np.float64)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (RuntimeWarning, ConvergenceWarning, UserWarning))
                for fold in range(_N_FOLDS):
                    test = folds == fold
                    train = ~test
                    if not test.any() or len(np.unique(y[train])) < (2 if classification else 1):
                        raise ValueError("degenerate fold")
                    predictions[test] = model.fit(x[train], y[train]).predict(x[test])
        except (ValueError, np.linalg.LinAlgError):
            continue  # documented: the landmark becomes NaN
        if classification:
            out[name] = float(np.mean(predictions == y))
        else:
            total = float(np.sum((y - y.mean()) ** 2))
            r2 = 1.0 - float(np.sum((y - predictions) ** 2)) / total if total > 0 else math.nan
            out[name] = max(-1.0, r2)
    return out
