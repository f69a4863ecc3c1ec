"""Tests of the model and scale descriptors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch.nn as nn
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from featurizers import MODEL_FEATURE_NAMES, SCALE_FEATURE_NAMES, describe_model, describe_scale
from library.exceptions import FeaturizeError


def _mlp(width: int, depth: int, norm: type[nn.Module] | None = None) -> nn.Module:
    layers: list[nn.Module] = []
    inputs = 8
    for _ in range(depth - 1):
        layers.append(nn.Linear(inputs, width))
        if norm is not None:
            layers.append(norm(width))
        layers.append(nn.ReLU())
        inputs = width
    layers.append(nn.Linear(inputs, 1))
    return nn.Sequential(*layers)


def test_torch_mlp_descriptor() -> None:
    model = _mlp(64, 3, nn.LayerNorm)
    s = describe_model(model, data_size=10_000).as_series()
    assert tuple(s.index) == MODEL_FEATURE_NAMES
    n_params = sum(p.numel() for p in model.parameters())
    assert s["log_params"] == pytest.approx(math.log(n_params))
    assert s["log_depth"] == pytest.approx(math.log(3))
    assert s["log_width"] == pytest.approx(math.log(64))
    assert s["log_data"] == pytest.approx(math.log(10_000))
    assert s["log_n_linear"] == pytest.approx(math.log1p(3))
    assert s["norm_layer"] == 1.0 and s["norm_none"] == 0.0
    assert s["act_relu"] == 1.0 and s["family_mlp"] == 1.0


def test_doubling_width_is_one_log_step() -> None:
    narrow = describe_scale(_mlp(32, 4)).as_series()
    wide = describe_scale(_mlp(64, 4)).as_series()
    assert wide["log_width"] - narrow["log_width"] == pytest.approx(math.log(2))
    assert wide["log_depth"] == narrow["log_depth"]
    assert wide["log_params"] > narrow["log_params"]
    assert describe_scale(_mlp(32, 4)).kind == "scale"
    assert describe_scale(_mlp(32, 4)).names == SCALE_FEATURE_NAMES


def test_torch_families_and_norms() -> None:
    cnn = nn.Sequential(nn.Conv2d(3, 16, 3), nn.BatchNorm2d(16), nn.GELU(), nn.Flatten())
    s = describe_model(cnn).as_series()
    assert s["family_cnn"] == 1.0 and s["norm_batch"] == 1.0 and s["act_gelu"] == 1.0
    rnn = describe_model(nn.LSTM(4, 32, num_layers=2)).as_series()
    assert rnn["family_rnn"] == 1.0 and rnn["log_depth"] == pytest.approx(math.log(2))
    transformer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32)
    t = describe_model(transformer).as_series()
    assert t["family_transformer"] == 1.0 and t["norm_layer"] == 1.0


def test_spec_dict_descriptor() -> None:
    spec = {
        "family": "transformer",
        "width": 512,
        "depth": 12,
        "parameters": 85e6,
        "tokens_seen": 3e9,
        "norm": "layer",
        "activation": "gelu",
    }
    s = describe_model(spec).as_series()
    assert s["log_width"] == pytest.approx(math.log(512))
    assert s["log_depth"] == pytest.approx(math.log(12))
    assert s["log_params"] == pytest.approx(math.log(85e6))
    assert s["log_data"] == pytest.approx(math.log(3e9))
    assert s["family_transformer"] == 1.0 and s["act_gelu"] == 1.0 and s["norm_layer"] == 1.0
    partial = describe_model({"family": "mlp"}).as_series()
    assert np.isnan(partial["log_width"]) and partial["family_mlp"] == 1.0


def test_sklearn_estimators() -> None:
    forest = describe_model(RandomForestRegressor(n_estimators=200, max_depth=8)).as_series()
    assert forest["family_forest"] == 1.0
    assert forest["log_n_estimators"] == pytest.approx(math.log(200))
    assert forest["log_depth"] == pytest.approx(math.log(8))
    assert describe_model(HistGradientBoostingClassifier()).as_series()["family_boosting"] == 1.0
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    assert describe_model(pipe).as_series()["family_linear"] == 1.0
    mlp = describe_model(MLPClassifier(hidden_layer_sizes=(32, 64))).as_series()
    assert mlp["family_mlp"] == 1.0 and mlp["log_depth"] == pytest.approx(math.log(3))


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"family": "quantum"}, "needs 'family'"),
        ({"family": "mlp", "widht": 3}, "unknown model spec keys"),
        ({"family": "mlp", "width": 0}, "positive"),
        ({"family": "mlp", "norm": "weird"}, "'norm' must be"),
        ("resnet50", "cannot describe"),
    ],
)
def test_bad_model_inputs(obj: object, message: str) -> None:
    with pytest.raises(FeaturizeError, match=message):
        describe_model(obj)
