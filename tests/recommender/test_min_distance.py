"""`Recommender.min_distance`: outside pool mode no suggestion repeats an observed configuration.

The case it is for, found by `benchmarks/bench_warm_run.py` (logistic regression on digits):
a one-parameter space whose sources all peak at the same value, and a target whose scores
tie (a plateau, or an accuracy rounded to a few test rows). The ranking weights learn
nothing from ties, the sources keep the ensemble on their favourite configuration, and each
call proposed it again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from library import Library
from library.exceptions import SpaceError
from recommender.recommend import Recommender
from recommender.space import Space

SPACE = {
    "name": "one-knob",
    "parameters": [{"name": "c", "type": "float", "low": 1e-4, "high": 1e4, "log": True}],
}


def plateau_library(root: Path, n_tasks: int = 6, n_rows: int = 30) -> Library:
    """Tasks that all peak at ``c = 1`` (each source's best is near it)."""
    library = Library.open(root)
    library.append_tasks(
        [{"task_id": f"src-{i}", "space": SPACE, "direction": "maximize"} for i in range(n_tasks)]
    )
    rows = []
    for i in range(n_tasks):
        rng = np.random.default_rng(i)
        c = np.exp(rng.uniform(np.log(1e-4), np.log(1e4), n_rows))
        c[0] = 1.0  # every source ran the shared optimum
        value = 1.0 - np.log10(c) ** 2 / 16.0 + 0.01 * rng.standard_normal(n_rows)
        rows += [
            {"task_id": f"src-{i}", "objective_value": float(v), "param_c": float(x)}
            for v, x in zip(value, c, strict=True)
        ]
    library.append_trials(rows, objective_name="score", direction="maximize")
    return library


def plateau_search(rec: Recommender, n_calls: int) -> np.ndarray:
    """``n_calls`` sequential suggestions, each observed with the same score; encoded picks."""
    space = Space.from_dict(SPACE)
    observed: list[tuple[dict, float]] = []
    for call in range(n_calls):
        config = rec.suggest(space=space, n=1, observed=observed or None, seed=call)[0].config
        observed.append((config, 0.9))
    return space.encode([c for c, _ in observed])


def closest_pair(X: np.ndarray) -> float:
    gaps = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=-1)
    return float(gaps[np.triu_indices(len(X), k=1)].min())


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    return plateau_library(tmp_path_factory.mktemp("plateau") / "lib")


def test_a_plateau_search_does_not_propose_what_it_already_ran(library: Library) -> None:
    rec = Recommender(library, n_candidates=256, cache_dir=None)
    picks = plateau_search(rec, 8)
    assert closest_pair(picks) >= rec.min_distance


def test_the_gradient_optimizer_keeps_the_distance_too(library: Library) -> None:
    """Its refined point went to within 3e-5 of an observation before it was checked."""
    rec = Recommender(library, n_candidates=256, cache_dir=None, optimizer="gradient")
    assert closest_pair(plateau_search(rec, 6)) >= rec.min_distance


def test_without_it_the_plateau_search_repeats_itself(library: Library) -> None:
    """The failure the option prevents (and what `min_distance=0` still allows)."""
    picks = plateau_search(
        Recommender(library, n_candidates=256, cache_dir=None, min_distance=0), 8
    )
    assert closest_pair(picks) < 0.01


def test_a_batch_keeps_its_picks_apart(library: Library) -> None:
    space = Space.from_dict(SPACE)
    rec = Recommender(library, n_candidates=256, cache_dir=None, min_distance=0.05)
    observed = [({"c": 1.0}, 0.9), ({"c": 2.0}, 0.9)]
    batch = rec.suggest(space=space, n=4, observed=observed)
    picks = space.encode([s.config for s in batch])
    assert closest_pair(picks) >= 0.05
    done = space.encode([c for c, _ in observed])
    assert np.linalg.norm(picks[:, None, :] - done[None, :, :], axis=-1).min() >= 0.05


def test_a_space_too_small_for_the_distance_still_gets_a_suggestion(tmp_path: Path) -> None:
    """Both values of a single categorical observed: nothing is far enough, so repeats are
    allowed rather than an error (the pool mode's error is for a pool the user gave)."""
    tiny = {
        "name": "tiny",
        "parameters": [{"name": "kind", "type": "categorical", "choices": ["a", "b"]}],
    }
    library = Library.open(tmp_path / "lib")
    library.append_tasks(
        [{"task_id": f"t{i}", "space": tiny, "direction": "maximize"} for i in range(3)]
    )
    library.append_trials(
        [
            {"task_id": f"t{i}", "objective_value": float(v), "param_kind": k}
            for i in range(3)
            for k, v in (("a", 1.0 + i), ("b", 0.5), ("a", 0.9 + i), ("b", 0.4), ("a", 1.1))
        ],
        objective_name="score",
        direction="maximize",
    )
    rec = Recommender(library, n_candidates=16, cache_dir=None)
    observed = [({"kind": "a"}, 0.9), ({"kind": "b"}, 0.8)]
    suggestion = rec.suggest(space=Space.from_dict(tiny), n=1, observed=observed)[0]
    assert suggestion.config["kind"] in {"a", "b"}


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf")])
def test_a_negative_or_non_finite_distance_is_a_clear_error(library: Library, value: float) -> None:
    with pytest.raises(SpaceError, match="min_distance must be a number >= 0"):
        Recommender(library, min_distance=value)
