"""Tests of `featurize_dataset`: invariances, determinism, inputs and bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine

from featurizers import (
    FEATURIZER_VERSION,
    Fingerprint,
    dataset_feature_names,
    featurize_dataset,
)
from library.exceptions import FeaturizeError

LANDMARKS = ("lm_",)
SCALE_FREE_GROUPS = (
    "skewness",
    "kurtosis",
    "zero_share",
    "outlier_share",
    "abs_corr",
    "high_corr",
    "pca_",
    "target_",
    "attr_entropy",
    "mutual_info",
    "log_equivalent",
    "log_noise",
)


@pytest.fixture(scope="module")
def wine() -> tuple[np.ndarray, np.ndarray]:
    return load_wine(return_X_y=True)


def _mixed_frame(n_rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n_rows),
            "b": rng.exponential(size=n_rows),
            "color": rng.choice(["red", "green", "blue"], size=n_rows),
            "flag": rng.random(n_rows) > 0.3,
            "count": rng.integers(0, 5, size=n_rows),
        }
    )
    frame.loc[rng.random(n_rows) < 0.1, "a"] = np.nan
    frame.loc[rng.random(n_rows) < 0.05, "color"] = None
    frame["label"] = np.where(frame["b"] + rng.normal(size=n_rows) > 1.0, "yes", "no")
    return frame


def test_names_are_fixed_per_task_kind(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    fp = featurize_dataset(X, y=y)
    assert fp.names == dataset_feature_names("classification")
    assert fp.version == FEATURIZER_VERSION and fp.kind == "dataset"
    X_reg, y_reg = load_diabetes(return_X_y=True)
    fp_reg = featurize_dataset(X_reg, y=y_reg)
    assert fp_reg.names == dataset_feature_names("regression")
    assert fp_reg.as_series()["task_is_classification"] == 0.0
    # a fully numeric clean dataset has every statistical/landmark feature
    series = fp.as_series()
    assert series.drop("log_mean_cardinality").notna().all()


def test_known_values_on_iris() -> None:
    X, y = load_iris(return_X_y=True)
    s = featurize_dataset(X, y=y).as_series()
    assert s["log_n_rows"] == pytest.approx(np.log(150))
    assert s["log_n_columns"] == pytest.approx(np.log(4))
    assert s["log_n_classes"] == pytest.approx(np.log(3))
    assert s["target_entropy"] == pytest.approx(np.log(3))
    assert s["majority_class_share"] == pytest.approx(1 / 3)
    assert 0.85 < s["lm_lda_accuracy"] <= 1.0
    assert 0.5 < s["lm_stump_accuracy"] < 0.75  # a stump separates one class of three


def test_invariant_to_row_order_column_order_and_label_names(
    wine: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = wine
    rng = np.random.default_rng(3)
    rows, columns = rng.permutation(len(y)), rng.permutation(X.shape[1])
    renamed = np.array(["zeta", "alpha", "mid"])[y]
    reference = featurize_dataset(X, y=y, seed=5)
    shuffled = featurize_dataset(X[rows][:, columns], y=renamed[rows], seed=5)
    np.testing.assert_array_equal(reference.values, shuffled.values)


def test_invariant_to_row_order_when_subsampled() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 6))
    y = (X[:, 0] + rng.normal(size=3000) > 0.5).astype(int)
    rows = rng.permutation(3000)
    a = featurize_dataset(X, y=y, max_rows=500, landmark_rows=200)
    b = featurize_dataset(X[rows][:, ::-1], y=y[rows], max_rows=500, landmark_rows=200)
    np.testing.assert_array_equal(a.values, b.values)


def test_scale_free_features_ignore_column_rescaling(
    wine: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = wine
    scaled = X.copy()
    scaled[:, 0] *= 1000.0
    scaled[:, 3] = scaled[:, 3] * 1e-3 + 7.0
    a = featurize_dataset(X, y=y).as_series()
    b = featurize_dataset(scaled, y=y).as_series()
    scale_free = [n for n in a.index if n.startswith(SCALE_FREE_GROUPS)]
    assert len(scale_free) > 15
    np.testing.assert_allclose(b[scale_free], a[scale_free], rtol=1e-7, atol=1e-9)
    general = [n for n in a.index if not n.startswith(LANDMARKS) and n not in scale_free]
    np.testing.assert_allclose(b[general], a[general], rtol=1e-12, equal_nan=True)
    # landmarkers run on standardised columns: close, not bitwise equal
    landmarks = [n for n in a.index if n.startswith(LANDMARKS)]
    np.testing.assert_allclose(b[landmarks], a[landmarks], atol=0.1)


def test_deterministic_for_a_seed_and_seed_changes_subsample() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    a = featurize_dataset(X, y=y, seed=1, max_rows=200)
    b = featurize_dataset(X, y=y, seed=1, max_rows=200)
    c = featurize_dataset(X, y=y, seed=2, max_rows=200)
    assert a == b
    assert not np.array_equal(a.values, c.values, equal_nan=True)


def test_subsampled_features_stay_close_to_full_data() -> None:
    X, y = load_breast_cancer(return_X_y=True)
    full = featurize_dataset(X, y=y).as_series()
    sub = featurize_dataset(X, y=y, max_rows=300, landmark_rows=300).as_series()
    assert sub["log_n_rows"] == full["log_n_rows"]  # size features use all rows
    assert abs(sub["abs_corr_mean"] - full["abs_corr_mean"]) < 0.05
    assert abs(sub["lm_lda_accuracy"] - full["lm_lda_accuracy"]) < 0.08


def test_accepts_dataframe_arrow_csv_and_parquet(tmp_path) -> None:  # noqa: ANN001
    frame = _mixed_frame()
    from_frame = featurize_dataset(frame, target="label")
    s = from_frame.as_series()
    assert s["categorical_share"] == pytest.approx(1 / 5)
    assert s["missing_share"] > 0 and s["rows_with_missing_share"] > 0
    assert s["log_mean_cardinality"] == pytest.approx(np.log(3))
    assert np.isfinite(s["lm_1nn_accuracy"])
    from_arrow = featurize_dataset(pa.Table.from_pandas(frame), target="label")
    assert from_arrow == from_frame
    frame.to_parquet(tmp_path / "d.parquet")
    assert featurize_dataset(tmp_path / "d.parquet", target="label") == from_frame
    frame.to_csv(tmp_path / "d.csv", index=False)
    from_csv = featurize_dataset(str(tmp_path / "d.csv"), target="label")
    np.testing.assert_allclose(from_csv.values, from_frame.values, rtol=1e-9, equal_nan=True)


def test_y_or_target_for_a_frame_and_task_override() -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    a = featurize_dataset(X, y=y)
    b = featurize_dataset(X.assign(species=y), target="species")
    assert a == b
    as_regression = featurize_dataset(X, y=y.astype(float), task="regression")
    assert as_regression.names == dataset_feature_names("regression")


def test_fingerprint_round_trip(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    fp = featurize_dataset(X, y=y)
    import json

    again = Fingerprint.from_dict(json.loads(json.dumps(fp.to_dict())))
    assert again == fp
    assert list(fp.as_series().index) == list(fp.names)
    with pytest.raises(ValueError):
        fp.values[0] = 1.0  # read-only


# ---------------------------------------------------------------------------- bad inputs


def test_empty_table_is_an_error() -> None:
    with pytest.raises(FeaturizeError, match="empty dataset"):
        featurize_dataset(np.zeros((0, 3)), y=np.zeros(0))
    with pytest.raises(FeaturizeError, match="empty dataset"):
        featurize_dataset(pd.DataFrame({"y": [1, 2]}), target="y")


def test_one_row_is_an_error() -> None:
    with pytest.raises(FeaturizeError, match="at least 2"):
        featurize_dataset(np.ones((1, 3)), y=np.array([1]))


def test_one_class_is_an_error() -> None:
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(FeaturizeError, match="single class"):
        featurize_dataset(X, y=np.array(["a"] * 40))


def test_target_missing_is_an_error() -> None:
    frame = _mixed_frame()
    with pytest.raises(FeaturizeError, match="'nope' not found"):
        featurize_dataset(frame, target="nope")
    with pytest.raises(FeaturizeError, match="no target"):
        featurize_dataset(frame)
    with pytest.raises(FeaturizeError, match="no target"):
        featurize_dataset(np.ones((5, 2)))
    with pytest.raises(FeaturizeError, match="every target value is missing"):
        featurize_dataset(frame.assign(label=np.nan), target="label")


def test_rows_with_missing_target_are_dropped() -> None:
    frame = _mixed_frame()
    with_gaps = frame.astype({"label": object})
    with_gaps.loc[:9, "label"] = None
    a = featurize_dataset(with_gaps, target="label")
    b = featurize_dataset(frame.iloc[10:], target="label")
    assert a == b


def test_all_nan_column_is_dropped_and_counted(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    with_nan = np.column_stack([X, np.full(len(y), np.nan)])
    s = featurize_dataset(with_nan, y=y).as_series()
    assert s["all_missing_column_share"] == pytest.approx(1 / 14)
    assert np.isfinite(s["lm_lda_accuracy"])
    with pytest.raises(FeaturizeError, match="no usable feature column"):
        featurize_dataset(np.full((10, 2), np.nan), y=np.arange(10) % 2)


def test_infinities_count_as_missing(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wine
    with_inf = X.copy()
    with_inf[:5, 2] = np.inf
    with_inf[5:8, 4] = -np.inf
    s = featurize_dataset(with_inf, y=y).as_series()
    assert s["infinite_share"] == pytest.approx(8 / X.size)
    assert s["missing_share"] == 0.0
    assert s["columns_with_missing_share"] == pytest.approx(2 / 13)
    assert np.all(np.isfinite(s.drop("log_mean_cardinality")))


def test_text_column_is_dropped_and_counted() -> None:
    frame = _mixed_frame()
    frame["comment"] = [f"free text number {i}" for i in range(len(frame))]
    s = featurize_dataset(frame, target="label").as_series()
    assert s["text_share"] == pytest.approx(1 / 6)
    only_text = pd.DataFrame({"comment": frame["comment"], "label": frame["label"]})
    with pytest.raises(FeaturizeError, match="1 text"):
        featurize_dataset(only_text, target="label")


def test_constant_columns_are_counted() -> None:
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=100), np.ones(100), rng.normal(size=100)])
    s = featurize_dataset(X, y=(X[:, 0] > 0).astype(int)).as_series()
    assert s["constant_column_share"] == pytest.approx(1 / 3)
    assert np.isfinite(s["skewness_mean"])
    constant_only = featurize_dataset(np.ones((50, 2)), y=np.arange(50) % 2).as_series()
    assert np.isnan(constant_only["skewness_mean"]) and np.isnan(constant_only["lm_1nn_accuracy"])


def test_bad_files_and_types(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(FeaturizeError, match="does not exist"):
        featurize_dataset(tmp_path / "missing.csv", target="y")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(FeaturizeError, match="unsupported"):
        featurize_dataset(tmp_path / "x.json", target="y")
    with pytest.raises(FeaturizeError, match="cannot featurize"):
        featurize_dataset({"a": [1, 2]}, target="a")
    with pytest.raises(FeaturizeError, match="task must be one of"):
        featurize_dataset(np.ones((5, 2)), y=np.arange(5), task="ranking")


def test_datetime_columns_are_numeric() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "when": pd.date_range("2020-01-01", periods=200, freq="h"),
            "a": rng.normal(size=200),
            "y": rng.integers(0, 2, 200),
        }
    )
    frame.loc[3, "when"] = pd.NaT
    s = featurize_dataset(frame, target="y").as_series()
    assert s["numeric_share"] == 1.0 and s["text_share"] == 0.0
    assert s["missing_share"] == pytest.approx(1 / 400)


def test_mixed_frame_invariant_to_row_and_column_order() -> None:
    frame = _mixed_frame(400, seed=4)
    rng = np.random.default_rng(9)
    shuffled = frame.iloc[rng.permutation(len(frame))][
        ["label", "count", "color", "b", "flag", "a"]
    ]
    shuffled = shuffled.assign(label=shuffled["label"].map({"yes": "Y", "no": "N"}))
    a = featurize_dataset(frame, target="label", landmark_rows=100)
    b = featurize_dataset(shuffled, target="label", landmark_rows=100)
    np.testing.assert_array_equal(a.values, b.values)
