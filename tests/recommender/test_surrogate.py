"""Source GPs: bounded cost, on-disk hyperparameter cache, float32 and float64."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from recommender.surrogate import (
    LazySourceStd,
    dense_std,
    fit_gp,
    fit_source_model,
    gp_from_state,
    minmax_normalize,
    posterior_factors,
    predict,
    predict_mean,
    predict_source_means,
    predict_sources,
    regret_mean,
    regret_scale,
    resolve_tkwargs,
)


def _data(seed: int = 0, n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    return X, -((X - 0.3) ** 2).sum(axis=1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_source_model_predicts_the_task_shape(dtype: torch.dtype) -> None:
    X, y = _data()
    model = fit_source_model(
        "t", X, y, n_fit=60, n_condition=150, tkwargs=resolve_tkwargs("cpu", dtype)
    )
    mean, std = model.predict(X[:40])
    assert mean.dtype == np.float64 and (std > 0).all()
    truth = minmax_normalize(y)[:40]
    assert np.corrcoef(mean, truth)[0, 1] > 0.9


def test_fast_prediction_equals_botorch_posterior() -> None:
    X, y = _data(2, n=40)
    model = fit_gp(X, y)
    test = np.vstack([X[:5], np.random.default_rng(3).random((2500, 3))])  # > one chunk
    mean, std = predict(model, test)
    assert posterior_factors(model) is not None  # the fast path ran
    with torch.no_grad():
        posterior = model.posterior(torch.as_tensor(test))
    assert np.allclose(mean, posterior.mean.numpy().ravel(), atol=1e-8)
    assert np.allclose(std, posterior.variance.sqrt().numpy().ravel(), atol=1e-6)


def test_other_kernel_structures_predict_through_gpytorch() -> None:
    from botorch.models import SingleTaskGP
    from gpytorch.kernels import MaternKernel, ScaleKernel

    X, y = _data(3, n=30)
    model = SingleTaskGP(
        torch.as_tensor(X),
        torch.as_tensor(y).reshape(-1, 1),
        covar_module=ScaleKernel(MaternKernel()),
    ).eval()
    assert posterior_factors(model) is None
    test = np.random.default_rng(4).random((50, 3))
    mean, std = predict(model, test)
    with torch.no_grad():
        posterior = model.posterior(torch.as_tensor(test))
    assert np.allclose(mean, posterior.mean.numpy().ravel(), atol=1e-8)
    assert np.allclose(std, posterior.variance.sqrt().numpy().ravel(), atol=1e-6)


def test_mean_only_predictions_equal_the_full_ones() -> None:
    X, y = _data(5, n=40)
    test = np.random.default_rng(6).random((1500, 3))
    fast = fit_gp(X, y)
    assert np.array_equal(predict_mean(fast, test), predict(fast, test)[0])
    models = [fit_source_model(f"s{i}", *_data(10 + i, n=80), n_fit=40) for i in range(3)]
    mean, std = predict_sources(models, test)
    assert np.array_equal(predict_source_means(models, test), mean)
    assert predict_source_means([], test).shape == (0, 1500)
    reg_mean, _ = regret_scale(mean, std, np.stack([m.quantiles for m in models]))
    assert np.array_equal(regret_mean(mean, np.stack([m.quantiles for m in models])), reg_mean)


def test_lazy_source_std_equals_the_dense_predictions() -> None:
    models = [fit_source_model(f"s{i}", *_data(20 + i, n=80), n_fit=40) for i in range(3)]
    test = np.random.default_rng(7).random((300, 3))
    _, std = predict_sources(models, test)
    lazy = LazySourceStd(models, test)
    assert lazy.shape == std.shape and len(lazy) == 3
    assert np.array_equal(lazy[np.int64(1)], std[1])
    assert np.allclose(lazy.column(17), std[:, 17], atol=1e-12)  # rows 0, 2 not yet computed
    assert np.array_equal(dense_std(lazy), std) and dense_std(std) is std
    assert dense_std(LazySourceStd([], test)).shape == (0, 300)


def test_lazy_source_std_at_some_inputs_and_its_bound() -> None:
    models = [fit_source_model(f"s{i}", *_data(30 + i, n=80), n_fit=40) for i in range(2)]
    test = np.vstack([np.random.default_rng(8).random((200, 3)), np.full((1, 3), 50.0)])
    _, std = predict_sources(models, test)
    lazy = LazySourceStd(models, test)
    some = np.array([3, 150, 7])
    assert np.allclose(lazy.at(0, some), std[0, some], atol=1e-12)
    assert np.allclose(lazy.at(0, np.array([7, 8])), std[0, [7, 8]], atol=1e-12)
    for s in range(2):
        bound = lazy.bound(s)
        assert bound is not None and (std[s] <= bound).all()
        assert std[s, -1] == pytest.approx(bound, rel=1e-6)  # far from the data: the prior's
    full = lazy[1]  # a full row replaces the partial one and serves later lookups
    assert np.array_equal(lazy.at(1, some), full[some])


def test_cache_reuses_hyperparameters_and_survives_a_torn_entry(tmp_path: Path) -> None:
    X, y = _data(1)
    first = fit_source_model("t", X, y, n_fit=60, n_condition=150, cache_dir=tmp_path)
    entries = sorted(tmp_path.iterdir())  # the hyperparameters and the posterior factors
    assert sorted(p.suffix for p in entries) == [".npy", ".pt"]
    assert not first.from_cache
    again = fit_source_model("t", X, y, n_fit=60, n_condition=150, cache_dir=tmp_path)
    probe = np.random.default_rng(5).random((20, 3))
    assert again.from_cache
    assert all(
        np.array_equal(a, b)
        for a, b in zip(first.predict(probe), again.predict(probe), strict=True)
    )
    # the GP rebuilt on demand from a warm entry is the one the cached factors describe
    with torch.no_grad():
        posterior = again.model.posterior(torch.as_tensor(probe))
    assert np.allclose(posterior.mean.squeeze(-1).numpy(), again.predict(probe)[0], atol=1e-8)
    original = {path: path.read_bytes() for path in entries}
    for torn in [*([path] for path in entries), entries]:  # each entry alone, then both
        for path in torn:
            path.write_bytes(b"torn")  # a crash mid-write elsewhere; we write atomically
        healed = fit_source_model("t", X, y, n_fit=60, n_condition=150, cache_dir=tmp_path)
        assert np.allclose(first.predict(probe)[0], healed.predict(probe)[0], atol=1e-3)
        healed.model  # noqa: B018 (building the GP reads, and heals, the hyperparameters)
        assert all(path.read_bytes() != b"torn" for path in torn)
        for path, content in original.items():
            path.write_bytes(content)
    # other data -> other entries
    fit_source_model("t", X, y + 1.0 * X[:, 0], n_fit=60, n_condition=150, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 4


def test_cuda_request_without_gpu_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from library.exceptions import SurrogateFitError

    with pytest.raises(SurrogateFitError, match="no GPU"):
        resolve_tkwargs("cuda")


def test_copula_model_maps_predictions_back_to_the_regret_scale():
    from recommender.surrogate import copula_normalize, regret_scale

    rng = np.random.default_rng(4)
    X = rng.random((300, 3))
    score = np.exp(4 * X[:, 0]) + 0.01 * rng.standard_normal(300)  # skewed scores
    z = copula_normalize(score)
    assert np.argmax(z) == np.argmax(score) and abs(z.mean()) < 1e-9
    model = fit_source_model("t", X, score, n_fit=80, n_condition=150)
    assert model.quantiles is not None and model.quantiles[0] == 0.0
    assert model.quantiles[-1] == 1.0
    mean, std = model.predict(X)
    reg_mean, reg_std = regret_scale(mean[None], std[None], model.quantiles[None])
    assert reg_mean.min() >= 0.0 and reg_mean.max() <= 1.0 and (reg_std >= 0).all()
    # the mapping is monotone: it keeps the model's ranking of the configurations
    order = np.argsort(mean)
    assert (np.diff(reg_mean[0, order]) >= -1e-12).all()
    # min-max models are already on the regret scale: unchanged
    same = regret_scale(mean[None], std[None], None)
    assert same[0] is not None and np.array_equal(same[0], mean[None])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gp_on_cuda_float32_predicts_like_cpu_float64() -> None:
    from recommender.surrogate import fit_gp, predict

    rng = np.random.default_rng(0)
    X = rng.random((400, 5))
    y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2 + 0.05 * rng.standard_normal(400)
    probe = rng.random((300, 5))
    truth = np.sin(6 * probe[:, 0]) + probe[:, 1] ** 2
    results = {}
    for device in ("cpu", "cuda"):
        tkwargs = resolve_tkwargs(device)
        model = fit_gp(X, y, tkwargs=tkwargs)
        assert next(model.parameters()).device.type == device
        results[device] = predict(model, probe)
    assert resolve_tkwargs("cuda")["dtype"] == torch.float32
    cpu_mean, gpu_mean = results["cpu"][0], results["cuda"][0]
    assert np.sqrt(np.mean((gpu_mean - truth) ** 2)) < 0.1
    assert np.max(np.abs(gpu_mean - cpu_mean)) < 0.05 and np.all(results["cuda"][1] > 0)


def test_constant_outcomes_fit_quietly() -> None:
    import warnings

    from botorch.exceptions.warnings import InputDataWarning

    X = np.random.default_rng(6).random((8, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fit_gp(X, np.full(8, 0.7))
        mean, _ = predict(model, X[:3])
    assert not [w for w in caught if issubclass(w.category, InputDataWarning)]
    assert np.allclose(mean, 0.7)


def test_warm_refit_on_rescaled_data_predicts_the_new_data() -> None:
    X = np.random.default_rng(7).random((12, 3))
    y = np.sin(5 * X[:, 0])
    first = fit_gp(X, y)
    refit = fit_gp(X, 10 * y + 5, init_state=first.state_dict())
    mean, _ = predict(refit, X)
    cold_mean, _ = predict(fit_gp(X, 10 * y + 5), X)
    assert np.max(np.abs(mean - (10 * y + 5))) < 0.5
    assert np.max(np.abs(mean - cold_mean)) < 0.5


def test_gp_from_state_standardises_on_its_own_data() -> None:
    X = np.random.default_rng(8).random((15, 3))
    y = np.sin(5 * X[:, 0])
    fitted = fit_gp(X, y)
    borrowed = gp_from_state(X, 10 * y + 5, fitted.state_dict(), resolve_tkwargs())
    mean, std = predict(borrowed, X)
    base_mean, base_std = predict(fitted, X)
    assert np.allclose(mean, 10 * base_mean + 5, atol=1e-6)
    assert np.allclose(std, 10 * base_std, atol=1e-6)


def test_a_fit_depends_on_its_data_not_on_the_process_random_state() -> None:
    """BoTorch retries an abnormal L-BFGS stop from prior draws; on these float32 fits it
    does, and before the fits were seeded they depended on torch's global generator (the
    same data fitted differently after other work consumed random numbers). Fitting also
    leaves that generator as it was."""
    rng = np.random.default_rng(0)
    data = []
    for centre in (0.3, 0.6, 0.8):
        X = rng.uniform(size=(12, 2))
        data.append((X, -((X - centre) ** 2).sum(axis=1)))
    fits = []
    for history in range(4):
        torch.manual_seed(history)
        torch.randn(17 * history + 1)
        before = torch.get_rng_state()
        states = [
            fit_gp(X, y, tkwargs={"dtype": torch.float32}, maxiter=50).state_dict() for X, y in data
        ]
        assert torch.equal(torch.get_rng_state(), before)
        fits.append(states)
    for states in fits[1:]:
        for state, first in zip(states, fits[0], strict=True):
            assert state.keys() == first.keys()
            assert all(torch.equal(state[k], first[k]) for k in first)
