"""`benchmarks/bench_zero_shot.py`: leave-one-dataset-out rows and the hindsight bounds."""

from __future__ import annotations

from typing import Any

import numpy as np

from featurizers import Fingerprint


def _table(scores: np.ndarray) -> Any:
    """A `FamilyTable` (defined in the script) over ``scores``, with toy fingerprints."""
    from bench_zero_shot import FamilyTable

    n, m = scores.shape
    prints = tuple(
        Fingerprint.from_values(["rows", "cols"], [float(i), float(i % 2)], kind="dataset")
        for i in range(n)
    )
    return FamilyTable(
        family="svm",
        datasets=tuple(f"d{i}" for i in range(n)),
        kinds=("classification",) * n,
        configs=("default", *(str(j) for j in range(m - 1))),
        scores=scores,
        fold_std=np.full((n, m), 0.01),
        fingerprints=prints,
    )


def test_nearest_dataset_bound_copies_the_best_correlated_neighbour() -> None:
    from bench_zero_shot import BOUND, NEAREST_BOUND, evaluate_family

    up = np.array([0.1, 0.5, 0.9, 0.3, 0.2, 0.4])
    # two pairs of datasets with opposite responses: each dataset's twin is its neighbour
    scores = np.stack([up, up * 2.0, up[::-1], up[::-1] + 1.0])
    frame = evaluate_family(_table(scores), k=2, sensitivity_k=())

    assert frame[NEAREST_BOUND].tolist() == [0.0, 0.0, 0.0, 0.0]
    # no single configuration is best on both kinds of response
    assert (frame[BOUND] > 0.0).any()
    assert frame["random best-of-10"].between(0.0, 1.0).all()


def test_failed_configurations_count_as_the_worst() -> None:
    from bench_zero_shot import evaluate_family

    scores = np.array(
        [[0.5, 0.9, np.nan, 0.1], [0.4, 0.8, 0.7, 0.2], [0.6, 0.95, 0.9, 0.3], [0.5, 0.7, 0.6, 0.2]]
    )
    table = _table(scores)
    assert table.normalized()[0, 2] == 0.0
    frame = evaluate_family(table, k=2, sensitivity_k=())
    assert frame.loc[0, "default"] == (0.9 - 0.5) / (0.9 - 0.1)
