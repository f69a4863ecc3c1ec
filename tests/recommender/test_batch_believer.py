"""`Recommender(batch_believer=True)`: a batch's later picks on the candidate path are
chosen given the earlier ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from library import Library
from recommender.recommend import Recommender
from recommender.space import Space

SPACE = Space.from_dict(
    {
        "parameters": [
            {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "y", "type": "float", "low": 0.0, "high": 1.0},
        ]
    }
)


def _observed(n: int = 8) -> list[tuple[dict[str, float], float]]:
    """A single smooth peak at (0.7, 0.3), seen at ``n`` random points."""
    points = np.random.default_rng(0).uniform(size=(n, 2))
    return [
        ({"x": float(a), "y": float(b)}, float(-((a - 0.7) ** 2) - (b - 0.3) ** 2))
        for a, b in points
    ]


def _batch(tmp_path: Path, believer: bool, pool: list | None = None) -> np.ndarray:
    rec = Recommender(Library.open(tmp_path / "empty"), n_candidates=2048, batch_believer=believer)
    picks = rec.suggest(space=SPACE, observed=_observed(), n=4, seed=0, pool=pool)
    assert [p.phase for p in picks] == ["gp"] * 4  # the target GP's LogEI picks them all
    return np.array([[p.config["x"], p.config["y"]] for p in picks])


def _spread(X: np.ndarray) -> float:
    """Mean distance between two picks of the batch."""
    distance = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    return float(distance[~np.eye(len(X), dtype=bool)].mean())


@pytest.mark.parametrize("with_pool", [False, True])
def test_the_believer_spreads_the_batch_and_keeps_the_first_pick(
    tmp_path: Path, with_pool: bool
) -> None:
    pool = SPACE.sample(600, seed=1) if with_pool else None
    believed, greedy = _batch(tmp_path, True, pool), _batch(tmp_path, False, pool)
    np.testing.assert_array_equal(believed[0], greedy[0])  # nothing pending: one acquisition
    # without the believer the later picks crowd the first (next-best LogEI, the same peak)
    assert _spread(believed) > 1.3 * _spread(greedy)
    assert np.abs(believed - [0.7, 0.3]).max() < 0.25  # still around the peak
