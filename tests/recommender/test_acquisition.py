"""`recommender.acquisition`: the ensemble LogEI in torch and its gradient-based optimiser."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from library.exceptions import SpaceError
from library.query import task_evaluations
from recommender.acquisition import (
    EnsembleLogEI,
    EnsembleMember,
    optimize_ensemble_acqf,
    proposal_acquisition,
)
from recommender.recommend import ProposalOptimizer, Recommender
from recommender.space import Space
from recommender.surrogate import fit_gp, fit_source_model, predict, predict_sources
from recommender.transfer import TransferOptions, ensemble_scores, propose, source_quantiles
from tests.synthetic import synthetic_library


def _quadratic(X: np.ndarray, centre: float) -> np.ndarray:
    return -((X - centre) ** 2).sum(axis=1)


def _unit_space(d: int) -> Space:
    return Space.from_dict(
        {"parameters": [{"name": f"x{i}", "type": "float", "low": 0, "high": 1} for i in range(d)]}
    )


def _mixed_space() -> Space:
    return Space.from_dict(
        {
            "parameters": [
                {"name": "lr", "type": "float", "low": 1e-4, "high": 1e-1, "log": True},
                {"name": "layers", "type": "int", "low": 1, "high": 6},
                {"name": "opt", "type": "categorical", "choices": ["sgd", "adam", "rms"]},
                {"name": "momentum", "type": "float", "low": 0.0, "high": 0.99},
            ],
            "conditions": [{"child": "momentum", "parent": "opt", "values": ["sgd"]}],
        }
    )


def _mixed_objective(X: np.ndarray) -> np.ndarray:
    # columns: lr, layers, opt=sgd, opt=adam, opt=rms, momentum
    return -((X[:, 0] - 0.4) ** 2) - (X[:, 1] - 0.6) ** 2 + 0.5 * X[:, 3] - (X[:, 5] - 0.8) ** 2


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    ("mixture", "top", "variance"),
    [
        (False, None, "independent"),
        (False, None, "within"),
        (True, None, "independent"),
        (True, 0.1, "independent"),
    ],
)
def test_values_equal_ensemble_scores(
    dtype: torch.dtype, mixture: bool, top: float | None, variance: str
) -> None:
    rng = np.random.default_rng(0)
    models = []
    for centre in (0.3, 0.6, 0.8):
        X = rng.uniform(size=(12, 2))
        models.append(fit_gp(X, _quadratic(X, centre), tkwargs={"dtype": dtype}, maxiter=50))
    cand_X = rng.uniform(size=(200, 2))
    preds = [predict(m, cand_X) for m in models]
    mean, std = np.stack([p[0] for p in preds]), np.stack([p[1] for p in preds])
    locs, scales = mean.mean(axis=1), mean.std(axis=1)
    weights = np.array([0.5, 0.3, 0.2])
    z_mean, z_std = (mean - locs[:, None]) / scales[:, None], std / scales[:, None]
    floor = None
    if top is not None:  # the mixture's LogEI only for the top share by independent LogEI
        plain = ensemble_scores(z_mean, z_std, weights, 0.7)
        floor = float(np.quantile(plain, 1 - top))
    expected = ensemble_scores(
        z_mean, z_std, weights, 0.7, mixture=mixture, floor=floor, variance=variance
    )
    acqf = EnsembleLogEI(
        [
            EnsembleMember(m, float(a), float(b))
            for m, a, b in zip(models, locs, scales, strict=True)
        ],
        weights,
        0.7,
        mixture=mixture,
        floor=floor,
        variance=variance,
    )
    # float32: the two paths compute the posterior std in different batch shapes, and the
    # std's relative error (~1e-4 to 1e-3 where the variance nearly cancels) reaches LogEI
    # as about twice that relative error in the far tail (log EI ~ -z^2 / 2), so float32
    # gets a relative tolerance of 5e-3; a wrong formula is off by far more.
    rtol, atol = (1e-6, 1e-6) if dtype == torch.float64 else (5e-3, 1e-3)
    np.testing.assert_allclose(acqf.score(cand_X), expected, rtol=rtol, atol=atol)


def test_rejects_bad_weights() -> None:
    X = np.random.default_rng(1).uniform(size=(6, 1))
    member = EnsembleMember(fit_gp(X, X[:, 0], maxiter=20), 0.0, 1.0)
    with pytest.raises(ValueError, match="weights"):
        EnsembleLogEI([member], [0.0], 0.0)
    with pytest.raises(ValueError, match="one each"):
        EnsembleLogEI([member], [0.5, 0.5], 0.0)
    with pytest.raises(ValueError, match="scale > 0"):
        EnsembleMember(member.model, 0.0, 0.0)
    with pytest.raises(ValueError, match="variance must be one of"):
        EnsembleLogEI([member], [1.0], 0.0, variance="correlated")


@pytest.mark.parametrize(
    ("n_obs", "phase", "options"),
    [
        (6, "gp", TransferOptions(n_samples=64)),
        # from stack_from observations: the residual-stacked model (no guardrail fallback)
        (12, "stacked", TransferOptions(n_samples=64, stack_from=10, guardrails=False)),
        # the target GP on copula ranks: rebuilt on the same values
        (6, "gp", TransferOptions(n_samples=64, target_scale="copula")),
        (
            12,
            "stacked",
            TransferOptions(n_samples=64, stack_from=10, guardrails=False, target_scale="copula"),
        ),
        # the stacked line on copula ranks, the target GP on raw values
        (
            12,
            "stacked",
            TransferOptions(n_samples=64, stack_from=10, guardrails=False, stack_scale="copula"),
        ),
        # the mixture variance restricted to the top 5 % by the independent-member LogEI
        (6, "gp", TransferOptions(n_samples=64, mixture_top=0.05)),
        # after the mixture-variance steps: the "within" variance (default) and RGPE's
        (12, "gp", TransferOptions(n_samples=64, stack_from=None, guardrails=False)),
        (
            12,
            "gp",
            TransferOptions(
                n_samples=64, stack_from=None, guardrails=False, ensemble_variance="independent"
            ),
        ),
    ],
)
def test_proposal_acquisition_reproduces_propose_gp_phase(
    n_obs: int, phase: str, options: TransferOptions
) -> None:
    rng = np.random.default_rng(2)
    d = 2
    sources = []
    for s, centre in enumerate((0.3, 0.5, 0.7)):
        X = rng.uniform(size=(40, d))
        sources.append(fit_source_model(f"s{s}", X, _quadratic(X, centre), n_fit=40))
    cand_X = rng.uniform(size=(300, d))
    obs_X = rng.uniform(size=(n_obs, d))
    obs_y = _quadratic(obs_X, 0.55)
    cand_mean, cand_std = predict_sources(sources, cand_X)
    obs_mean, obs_std = predict_sources(sources, obs_X)
    gp_state: dict = {}
    proposal = propose(
        cand_X=cand_X,
        cand_mean=cand_mean,
        cand_std=cand_std,
        free=np.ones(len(cand_X), dtype=bool),
        obs_X=obs_X,
        obs_y=obs_y,
        obs_mean=obs_mean,
        obs_std=obs_std,
        options=options,
        rng=np.random.default_rng(0),
        gp_state=gp_state,
        quantiles=source_quantiles(sources),
    )
    assert proposal.phase == phase, proposal.decision.reason
    acqf = proposal_acquisition(
        proposal,
        source_models=sources,
        cand_mean=cand_mean,
        obs_X=obs_X,
        obs_y=obs_y,
        obs_mean=obs_mean,
        gp_state=gp_state,
        options=options,
    )
    scores = acqf.score(cand_X)
    assert int(np.argmax(scores)) == proposal.index
    assert scores[proposal.index] == pytest.approx(proposal.acquisition, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_optimum_beats_or_ties_random_argmax(seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = 3
    X = rng.uniform(size=(6, d))
    model = fit_gp(X, _quadratic(X, 0.5), maxiter=50)
    y_std = float(_quadratic(X, 0.5).std())
    acqf = EnsembleLogEI(
        [EnsembleMember(model, 0.0, y_std)], [1.0], float(_quadratic(X, 0.5).max()) / y_std
    )
    cand_X = rng.uniform(size=(256, d))
    result = optimize_ensemble_acqf(acqf, _unit_space(d), fixed_candidates=cand_X, seed=seed)
    best_candidate = float(acqf.score(cand_X).max())
    assert result.candidate_value == pytest.approx(best_candidate)
    assert result.value >= best_candidate
    assert result.value == pytest.approx(float(acqf.score(result.x[None])[0]))


def test_excluded_points_are_never_returned() -> None:
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(6, 2))
    model = fit_gp(X, _quadratic(X, 0.5))
    acqf = EnsembleLogEI([EnsembleMember(model, 0.0, 1.0)], [1.0], 0.0)
    cand_X = rng.uniform(size=(64, 2))
    scores = acqf.score(cand_X)
    first, second = np.argsort(-scores)[:2]
    result = optimize_ensemble_acqf(
        acqf, _unit_space(2), fixed_candidates=cand_X, exclude=cand_X[[first]], seed=0
    )
    assert result.candidate_value == pytest.approx(scores[second])
    assert np.abs(result.x - cand_X[first]).max() > 1e-9
    assert result.value >= scores[second]


def test_mixed_space_with_conditional_child_returns_valid_configs() -> None:
    space = _mixed_space()
    X = space.encode(space.sample(25, seed=4))
    model = fit_gp(X, _mixed_objective(X), maxiter=50)
    acqf = EnsembleLogEI([EnsembleMember(model, 0.0, 1.0)], [1.0], float(_mixed_objective(X).max()))
    cand_X = space.encode(space.sample(128, seed=5))
    result = optimize_ensemble_acqf(acqf, space, fixed_candidates=cand_X, seed=0)
    assert result.n_combinations == 3
    assert result.value >= float(acqf.score(cand_X).max())
    (config,) = space.decode(result.x[None])
    assert space.validate(config) == config
    np.testing.assert_allclose(space.encode([config])[0], result.x)


@pytest.mark.parametrize("width", [0.05, 0.3, 1.0])
def test_a_box_bounds_the_gradient_search(width: float) -> None:
    """With `DefaultBox` bounds, the optimum (gradient or candidate) lies in the box, and
    below 1 only the default's one-hot combination is searched."""
    from recommender.default_box import DefaultBox

    space = _mixed_space()
    X = space.encode(space.sample(25, seed=4))
    model = fit_gp(X, _mixed_objective(X), maxiter=50)
    acqf = EnsembleLogEI([EnsembleMember(model, 0.0, 1.0)], [1.0], float(_mixed_objective(X).max()))
    box = DefaultBox.around(space, {"lr": 1e-3, "layers": 2, "opt": "sgd", "momentum": 0.1}, width)
    cand_X = space.encode(box.sample(128, seed=5))
    result = optimize_ensemble_acqf(
        acqf, space, fixed_candidates=cand_X, seed=0, bounds=box.bounds(), admissible=box.contains
    )
    assert box.contains(result.x[None])[0]
    assert result.value >= float(acqf.score(cand_X).max())
    assert result.n_combinations == (1 if width < 1 else 3)
    unboxed = optimize_ensemble_acqf(acqf, space, fixed_candidates=cand_X, seed=0)
    if width < 1:  # the objective's optimum (momentum 0.8, adam) is outside these boxes
        assert not box.contains(unboxed.x[None])[0]


def test_many_categorical_combinations_are_capped() -> None:
    space = Space.from_dict(
        {
            "parameters": [
                {"name": "x", "type": "float", "low": 0, "high": 1},
                *[
                    {"name": f"c{i}", "type": "categorical", "choices": list("abcde")}
                    for i in range(3)
                ],
            ]
        }
    )
    X = space.encode(space.sample(20, seed=6))
    model = fit_gp(X, X[:, 0] + X[:, 1], maxiter=30)
    acqf = EnsembleLogEI([EnsembleMember(model, 0.0, 1.0)], [1.0], 1.0)
    cand_X = space.encode(space.sample(200, seed=7))
    result = optimize_ensemble_acqf(
        acqf, space, fixed_candidates=cand_X, seed=0, max_combinations=6, raw_samples=16
    )
    assert result.n_combinations == 6  # 125 combinations exist
    assert result.value >= float(acqf.score(cand_X).max())
    space.validate(space.decode(result.x[None])[0])


def test_kriging_believer_lowers_acquisition_at_pending_point() -> None:
    rng = np.random.default_rng(8)
    X = rng.uniform(size=(8, 2))
    model = fit_gp(X, _quadratic(X, 0.5), maxiter=50)
    acqf = EnsembleLogEI([EnsembleMember(model, 0.0, 1.0)], [1.0], float(_quadratic(X, 0.5).max()))
    result = optimize_ensemble_acqf(acqf, _unit_space(2), seed=0)
    fantasy = acqf.fantasize_pending(result.x[None])
    assert fantasy.best >= acqf.best
    assert fantasy.score(result.x[None])[0] < acqf.score(result.x[None])[0] - 1.0
    far = np.array([[0.0, 1.0]])
    assert fantasy.score(far)[0] == pytest.approx(acqf.score(far)[0], abs=1.0)


@pytest.fixture(scope="module")
def library_setup(tmp_path_factory: pytest.TempPathFactory):
    return synthetic_library(tmp_path_factory.mktemp("acq"), n_tasks=3, n_configs=30, seed=3)


def test_suggest_with_gradient_optimizer_returns_valid_configs(library_setup) -> None:
    lib, space, tasks = library_setup
    rec = Recommender(
        lib, n_candidates=128, options=TransferOptions(n_samples=64, guardrails=False)
    )
    suggestions = rec.suggest(tasks[0], n=2, optimizer="gradient")
    assert len(suggestions) == 2
    configs = [space.validate(s.config) for s in suggestions]
    assert configs[0] != configs[1]
    assert all(s.phase in ("gp", "stacked") for s in suggestions)
    observed = space.encode(task_evaluations(lib)[tasks[0]].configs)
    for config in configs:
        x = space.encode([config])
        assert np.abs(observed - x).max(axis=1).min() > 1e-9  # not a repeat


def test_suggest_rejects_gradient_with_pool_and_unknown_optimizer(library_setup) -> None:
    lib, space, tasks = library_setup
    rec = Recommender(lib, n_candidates=64, optimizer=ProposalOptimizer.RANDOM)
    with pytest.raises(SpaceError, match="pool"):
        rec.suggest(tasks[0], pool=space.sample(8, seed=0), optimizer="gradient")
    with pytest.raises(SpaceError, match="optimizer must be one of"):
        rec.suggest(tasks[0], optimizer="lbfgs")
