"""`Recommender.local_share` (opt-in): outside pool mode, warm searches also score candidates drawn
around the best observed configurations; the cold search (no source) is left as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from library import Library
from library.exceptions import SpaceError
from recommender.recommend import Recommender
from recommender.space import Space

DIM = 20
SPACE = {
    "name": "bowl",
    "parameters": [{"name": f"x{i}", "type": "float", "low": 0.0, "high": 1.0} for i in range(DIM)],
}
OPTIMUM = np.linspace(0.3, 0.7, DIM)


def bowl_library(root: Path, n_tasks: int = 4, n_rows: int = 60) -> Library:
    """Source tasks sharing one optimum, run at random configurations only (in 20
    dimensions none of them near it)."""
    library = Library.open(root)
    library.append_tasks(
        [{"task_id": f"src-{i}", "space": SPACE, "direction": "minimize"} for i in range(n_tasks)]
    )
    rows = []
    for i in range(n_tasks):
        rng = np.random.default_rng(i)
        X = rng.uniform(0.0, 1.0, (n_rows, DIM))
        loss = ((X - OPTIMUM) ** 2).sum(axis=1)
        rows += [
            {"task_id": f"src-{i}", "objective_value": float(v)}
            | {f"param_x{j}": float(x[j]) for j in range(DIM)}
            for v, x in zip(loss, X, strict=True)
        ]
    library.append_trials(rows, objective_name="loss", direction="minimize")
    return library


def observations(seed: int) -> list[tuple[dict, float]]:
    """Three target runs: two random, one close to the shared optimum (the best)."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.uniform(0.0, 1.0, (2, DIM)), np.clip(OPTIMUM + 0.05, 0.0, 1.0)])
    return [
        ({f"x{j}": float(x[j]) for j in range(DIM)}, float(((x - OPTIMUM) ** 2).sum())) for x in X
    ]


def test_a_warm_suggestion_refines_the_best_observation(tmp_path: Path) -> None:
    """In 20 dimensions no uniform candidate, nor any source's best run, comes near the
    target's best observation; local candidates do, and the warm search takes one (the
    sources' models and the target agree on the region)."""
    space = Space.from_dict(SPACE)
    library = bowl_library(tmp_path / "lib")
    observed = observations(0)
    best = space.encode([observed[-1][0]])[0]
    gaps = {}
    for share in (0.25, 0.0):
        rec = Recommender(library, local_share=share, cache_dir=None)
        (suggestion,) = rec.suggest(space=space, observed=observed, direction="minimize", seed=3)
        gaps[share] = float(np.linalg.norm(space.encode([suggestion.config])[0] - best))
    uniform = space.encode(space.sample_frame(4096, seed=3))
    assert np.linalg.norm(uniform - best, axis=1).min() > 0.6
    assert gaps[0.25] < 0.5 < gaps[0.0]


def test_the_cold_search_is_unchanged(tmp_path: Path) -> None:
    """Without a source the random design and the target GP see uniform candidates only."""
    space = Space.from_dict(SPACE)
    empty = Library.open(tmp_path / "empty")
    for n_observed in (1, 3):
        picks = [
            Recommender(empty, local_share=share, cache_dir=None)
            .suggest(space=space, observed=observations(1)[:n_observed], direction="minimize")[0]
            .config
            for share in (0.25, 0.0)
        ]
        assert picks[0] == picks[1]


@pytest.mark.parametrize("share", [-0.1, 1.0, float("nan")])
def test_a_local_share_outside_0_1_is_an_error(tmp_path: Path, share: float) -> None:
    with pytest.raises(SpaceError, match="local_share"):
        Recommender(Library.open(tmp_path / "lib"), local_share=share)
