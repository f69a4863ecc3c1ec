"""The cost model's residual GP: how smoothly a task's costs stray from the shared shape."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from recommender.cost_cap import CostCap, fit_cost_shape
from recommender.cost_residual import MAX_CONDITIONING, fit_residual_kernel
from recommender.space import Space

SPACE = Space.from_dict({"parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}]})


def _residual_tasks(smooth: bool, n_tasks: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    X, residuals, groups = [], [], []
    for task in range(n_tasks):
        x = rng.uniform(0, 1, 120)
        if smooth:  # each task its own wave, barely noisy
            r = np.sin(6.0 * x + rng.uniform(0, 2 * np.pi)) + 0.05 * rng.standard_normal(120)
        else:
            r = rng.standard_normal(120)
        X.append(x[:, None])
        residuals.append(r - r.mean())
        groups.append(np.full(120, task))
    return np.vstack(X), np.concatenate(residuals), np.concatenate(groups)


def test_the_kernel_tells_smooth_deviations_from_noise() -> None:
    smooth = fit_residual_kernel(*_residual_tasks(smooth=True))
    noise = fit_residual_kernel(*_residual_tasks(smooth=False))
    assert smooth is not None and noise is not None
    assert smooth.smooth_share > 0.9 and noise.smooth_share < 0.3
    # a wave of period ~1 on the unit interval: a lengthscale well inside it
    assert 0.05 < float(smooth.lengthscales[0]) < 1.0
    assert smooth.n_tasks == 6  # at most max_tasks: a bounded fit
    assert fit_residual_kernel(*_residual_tasks(smooth=True), max_tasks=3).n_tasks == 3
    # one task, or tasks too small to tell, say nothing about other tasks
    X, r, groups = _residual_tasks(smooth=True, n_tasks=1)
    assert fit_residual_kernel(X, r, groups) is None
    assert fit_residual_kernel(X[:16], r[:16], np.arange(16) % 2) is None


def _bumpy_tables(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Tasks on levels 0.5 apart, one shape (2x), each with its own smooth bump."""
    rng = np.random.default_rng(seed)
    tables = {}
    for i in range(6):
        x = rng.uniform(0, 1, 400)
        bump = 0.6 * np.sin(5.0 * x + rng.uniform(0, 2 * np.pi))
        log_cost = 0.5 * i + 2.0 * x + bump + 0.02 * rng.standard_normal(400)
        tables[f"t{i}"] = pd.DataFrame({"x": x, "value": np.exp(log_cost)})
    return tables


def test_near_the_targets_costs_the_cap_follows_them() -> None:
    """A search that keeps to one region observes where the target's costs stray from the
    shape there: the cap predicts that region from them, with a tighter bound, and far
    from them falls back to the level and the error of the level-only model."""
    shape = fit_cost_shape(SPACE, _bumpy_tables(), "time")
    assert shape is not None and shape.residual_kernel is not None
    assert shape.residual_kernel.smooth_share > 0.8

    def truth(x: np.ndarray) -> np.ndarray:  # the target: level 1, its own bump
        return np.exp(1.0 + 2.0 * x + 0.6 * np.sin(5.0 * x + 2.0))

    seen_x = np.linspace(0.6, 0.8, 6)
    seen = SPACE.encode(pd.DataFrame({"x": seen_x}))
    cap = CostCap.for_target(20.0, shape, seen, truth(seen_x))
    level_only = replace(cap, residual=None)
    near = SPACE.encode(pd.DataFrame({"x": np.linspace(0.6, 0.8, 9)}))
    near_error = np.abs(np.log(cap.predict(near) / truth(near[:, 0])))
    level_error = np.abs(np.log(level_only.predict(near) / truth(near[:, 0])))
    assert near_error.mean() < 0.5 * level_error.mean()
    # the bound is tighter where the target was observed ...
    z = np.log(cap.upper(near) / cap.predict(near))
    assert (z < 0.5 * np.log(level_only.upper(near) / level_only.predict(near))).all()
    # ... and, far from it, about the level-only model's
    far = SPACE.encode(pd.DataFrame({"x": [0.02]}))
    ratio = np.log(cap.upper(far) / cap.predict(far)) / np.log(
        level_only.upper(far) / level_only.predict(far)
    )
    assert 0.7 < float(ratio[0]) < 1.5
    # within: the probability of fitting, 0.8 at the admission boundary
    assert np.allclose(cap.within(near) >= 0.8, cap.admissible(near))
    # zero-shot there is nothing to condition on: the level-only model
    assert CostCap.for_target(20.0, shape).residual is None


def test_a_target_with_thousands_of_costs_conditions_on_a_bounded_subsample() -> None:
    shape = fit_cost_shape(SPACE, _bumpy_tables(), "time")
    assert shape is not None and shape.residual_kernel is not None
    x = np.random.default_rng(3).uniform(0, 1, 3000)
    X = SPACE.encode(pd.DataFrame({"x": x}))
    costs = np.exp(1.0 + 2.0 * x + 0.6 * np.sin(5.0 * x + 2.0))
    cap = CostCap.for_target(20.0, shape, X, costs)
    assert cap.residual is not None and len(cap.residual.X_train_) == MAX_CONDITIONING
    assert cap.n_observed == 3000  # the level and the error still use every cost
    again = CostCap.for_target(20.0, shape, X, costs)  # the subsample is seeded
    assert np.array_equal(cap.predict(X[:50]), again.predict(X[:50]))
