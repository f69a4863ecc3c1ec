"""Tests of `TaskSimilarity`."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, load_wine

from featurizers import Fingerprint, TaskSimilarity, featurize_dataset
from library.exceptions import EmptyLibraryError, FeaturizeError

NAMES = tuple(f"f{i}" for i in range(6))


def _library(n_tasks: int, seed: int = 0) -> dict[str, Fingerprint]:
    rng = np.random.default_rng(seed)
    return {
        f"task{i}": Fingerprint.from_values(NAMES, rng.normal(size=len(NAMES)), kind="dataset")
        for i in range(n_tasks)
    }


def test_nearest_finds_itself_and_sorted() -> None:
    library = _library(50)
    sim = TaskSimilarity().fit(library)
    result = sim.nearest(library["task7"], k=4)
    assert result[0] == ("task7", 0.0)
    distances = [d for _, d in result]
    assert distances == sorted(distances) and len(result) == 4
    assert len(sim.nearest(library["task7"], k=500)) == 50
    np.testing.assert_allclose(sim.distance_matrix()[7], sim.distances(library["task7"]))


def test_nan_features_are_skipped_not_propagated() -> None:
    library = _library(20)
    query_values = library["task3"].values.copy()
    query_values[[0, 2]] = np.nan
    query = Fingerprint.from_values(NAMES, query_values, kind="dataset")
    sim = TaskSimilarity().fit(library)
    distances = sim.distances(query)
    assert np.all(np.isfinite(distances))
    assert sim.nearest(query, k=1)[0][0] == "task3"


def test_learned_weights_pick_the_feature_that_drives_the_response() -> None:
    library = _library(80, seed=1)
    values = np.vstack([fp.values for fp in library.values()])
    driver = values[:, 4]
    response = 1.0 - np.abs(driver[:, None] - driver[None, :])  # similar f4 -> similar response
    learned = TaskSimilarity().fit(library, response)
    assert learned.weights_learned_
    assert int(np.argmax(learned.weights_)) == 4
    uniform = TaskSimilarity().fit(library)
    assert not uniform.weights_learned_
    iu = np.triu_indices(80, k=1)
    corr_learned = np.corrcoef(learned.distance_matrix()[iu], response[iu])[0, 1]
    corr_uniform = np.corrcoef(uniform.distance_matrix()[iu], response[iu])[0, 1]
    assert corr_learned < corr_uniform < 0.0


def test_real_datasets_neighbours() -> None:
    data = {
        "iris": load_iris(return_X_y=True),
        "wine": load_wine(return_X_y=True),
        "cancer": load_breast_cancer(return_X_y=True),
    }
    library = {name: featurize_dataset(X, y=y, landmark_rows=300) for name, (X, y) in data.items()}
    sim = TaskSimilarity().fit(library)
    X, y = data["wine"]
    near_copy = featurize_dataset(X[:150], y=y[:150], landmark_rows=300)
    assert sim.nearest(near_copy, k=1)[0][0] == "wine"


def test_similarity_errors() -> None:
    with pytest.raises(EmptyLibraryError):
        TaskSimilarity().fit({})
    with pytest.raises(FeaturizeError, match="not fitted"):
        TaskSimilarity().nearest(next(iter(_library(1).values())))
    library = _library(5)
    with pytest.raises(FeaturizeError, match="must be 5 x 5"):
        TaskSimilarity().fit(library, np.eye(3))
    mixed = dict(library)
    mixed["other"] = Fingerprint.from_values(NAMES, np.zeros(6), kind="model")
    with pytest.raises(FeaturizeError, match="mix kinds"):
        TaskSimilarity().fit(mixed)
    sim = TaskSimilarity().fit(library)
    with pytest.raises(FeaturizeError, match="same version"):
        sim.distances(Fingerprint.from_values(NAMES, np.zeros(6), kind="dataset", version="0.0"))
    with pytest.raises(FeaturizeError, match="k must be"):
        sim.nearest(library["task0"], k=0)
