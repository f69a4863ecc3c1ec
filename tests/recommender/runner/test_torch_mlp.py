"""The torch MLP trainer: learning, divergence, early stopping, muP, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from library.exceptions import RunnerError
from recommender.runner import DivergenceError, MLPNet, TorchMLPEstimator, resolve_device


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    features, target = load_breast_cancer(return_X_y=True)
    return features.astype(np.float32), target


def test_mlp_learns_breast_cancer(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    features, target = cancer
    model = TorchMLPEstimator(width=32, epochs=15, device="cpu", seed=0)
    model.fit(features[::2], target[::2])
    assert model.score(features[1::2], target[1::2]) > 0.9
    assert model.predict_proba(features[:5]).shape == (5, 2)


def test_exploding_learning_rate_raises_divergence(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    features, target = cancer
    model = TorchMLPEstimator(learning_rate=5.0, width=64, epochs=5, device="cpu", seed=0)
    with pytest.raises(DivergenceError, match="training loss"):
        model.fit(features, target)


def test_early_stopping_stops_before_max_epochs(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    features, target = cancer
    model = TorchMLPEstimator(learning_rate=0.05, width=32, epochs=200, patience=2, seed=0)
    model.fit(features, target)
    assert model.epochs_run_ < 200


def test_mup_scales_hidden_learning_rate_and_zeroes_readout() -> None:
    net = MLPNet(4, 3, width=256, depth=3, mup=True, base_width=64)
    groups = net.param_groups(0.01, 0.0)
    assert groups[0]["lr"] == pytest.approx(0.01)
    assert groups[1]["lr"] == pytest.approx(0.01 * 64 / 256)
    assert torch.count_nonzero(net.readout.weight) == 0
    standard = MLPNet(4, 3, width=256, depth=3, mup=False)
    assert all(group["lr"] == pytest.approx(0.01) for group in standard.param_groups(0.01, 0.0))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(RunnerError, match="no CUDA GPU is available.*--device auto"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


def test_same_seed_same_model_without_touching_global_rng(
    cancer: tuple[np.ndarray, np.ndarray],
) -> None:
    features, target = cancer
    state = torch.get_rng_state()
    outputs = [
        TorchMLPEstimator(width=16, epochs=3, dropout=0.3, seed=4).fit(features, target)
        .predict_proba(features[:20])
        for _ in range(2)
    ]  # fmt: skip
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert torch.equal(state, torch.get_rng_state())
    other = TorchMLPEstimator(width=16, epochs=3, dropout=0.3, seed=5).fit(features, target)
    assert not np.array_equal(outputs[0], other.predict_proba(features[:20]))


needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@needs_gpu
def test_cuda_training_learns_as_well_as_cpu(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    features, target = cancer
    scores = {}
    for device in ("cpu", "cuda"):
        model = TorchMLPEstimator(width=64, epochs=30, patience=0, device=device, seed=0)
        model.fit(features[::2], target[::2])
        assert model.device_.type == device
        scores[device] = model.score(features[1::2], target[1::2])
    # mixed precision on the GPU: not bit-identical to CPU float32, but as accurate
    assert scores["cuda"] > 0.9 and abs(scores["cuda"] - scores["cpu"]) < 0.05


@needs_gpu
def test_cuda_divergence_is_detected(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    features, target = cancer
    model = TorchMLPEstimator(learning_rate=5.0, width=64, epochs=5, device="cuda", seed=0)
    with pytest.raises(DivergenceError, match="training loss"):
        model.fit(features, target)
