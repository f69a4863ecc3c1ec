"""Guardrail statistics: closed-form leave-one-out predictions of the target GP."""

from __future__ import annotations

import numpy as np
import torch

from recommender.guardrails import loo_predictions
from recommender.surrogate import fit_gp


def _explicit_loo(model, i: int) -> tuple[float, float]:
    """Posterior of training point ``i`` given the others, hyperparameters fixed."""
    (X,) = model.train_inputs
    y = model.train_targets
    rest = [j for j in range(len(y)) if j != i]
    with torch.no_grad():
        m = model.mean_module(X)
        K = model.covar_module(X).to_dense() + model.likelihood.noise * torch.eye(len(y))
        K_rest = K[rest][:, rest]
        k = K[i, rest]
        mean = m[i] + k @ torch.linalg.solve(K_rest, y[rest] - m[rest])
        var = K[i, i] - k @ torch.linalg.solve(K_rest, k)
    return float(mean), float(var.sqrt())


def test_loo_predictions_match_refitting_free_leave_one_out_with_the_prior_mean() -> None:
    rng = np.random.default_rng(3)
    X = rng.random((12, 3))
    y = np.exp(3 * -((X - 0.7) ** 2).sum(axis=1)) + 0.02 * rng.standard_normal(12)
    model = fit_gp(X, y)
    with torch.no_grad():
        constant = float(model.mean_module(model.train_inputs[0])[0])
    assert abs(constant) > 0.1  # the prior mean matters here: a zero-mean formula is off
    mean, std = loo_predictions(model)
    expected = np.array([_explicit_loo(model, i) for i in range(len(y))])
    np.testing.assert_allclose(mean, expected[:, 0], atol=1e-6)
    np.testing.assert_allclose(std, expected[:, 1], atol=1e-6)


def test_a_fallback_that_drops_every_source_says_why_for_each() -> None:
    """One source mis-ranks the target (dropped), the other never ranks it better than the
    target GP (no weight): the decision drops both, and its reason accounts for both."""
    from recommender.guardrails import rank_weights

    rng = np.random.default_rng(0)
    X = np.linspace(0.0, 1.0, 12)[:, None]
    y = 3.0 * X[:, 0]
    model = fit_gp(X, y)
    anti, weak = -y, y + rng.normal(0.0, 1.5, 12)
    decision = rank_weights(
        np.stack([anti, weak]), np.full((2, 12), 1e-6), y, target_model=model, target_X=X,
        guardrails=True, n_samples=64, rng=np.random.default_rng(1), step=12,
    )  # fmt: skip
    assert decision.mode == "target-only" and decision.dropped == (0, 1)
    assert "dropped 1 source(s) that mis-rank most target pairs" in decision.reason
    assert "the other 1 source(s) won no sample" in decision.reason
