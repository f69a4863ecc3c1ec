"""Model and scale descriptors: what a model is and how big it is, in log space.

`describe_model` accepts a torch ``nn.Module``, a spec dict or a scikit-learn estimator and
returns a `Fingerprint` of kind ``"model"`` with a fixed list of names (`MODEL_FEATURE_NAMES`):

* **scale** (natural log, NaN when unknown): ``log_params``, ``log_width`` (median width of
  the weight layers), ``log_depth`` (number of weight layers), ``log_data`` (rows or tokens
  seen). Log space lets a surrogate extrapolate along them (a 2x wider model is one step of
  ``log 2`` whatever the base width);
* **width statistics**: ``log_width_min``, ``log_width_max``, ``width_cv``;
* **layer-type counts** (log1p): linear, convolution, recurrent, attention, embedding,
  normalisation, dropout;
* **normalisation**: one-hot ``norm_batch``, ``norm_layer``, ``norm_group``, ``norm_none``;
* **activation**: share of each activation module type (relu, gelu, tanh, sigmoid, silu,
  leaky_relu/elu and other) among the activation modules;
* **family**: one-hot over `MODEL_FAMILIES`.

`describe_scale` returns only the four scale features, as a fingerprint of kind ``"scale"``.

Activations called functionally inside ``forward`` (``F.relu``) are invisible to module
inspection; such a model reads as ``act_none = 1``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from featurizers.fingerprint import FEATURIZER_VERSION, Fingerprint
from library.exceptions import FeaturizeError

__all__ = [
    "MODEL_FAMILIES",
    "MODEL_FEATURE_NAMES",
    "SCALE_FEATURE_NAMES",
    "describe_model",
    "describe_scale",
]

MODEL_FAMILIES: tuple[str, ...] = (
    "mlp",
    "cnn",
    "rnn",
    "transformer",
    "linear",
    "tree",
    "forest",
    "boosting",
    "kernel",
    "neighbors",
    "naive_bayes",
    "other",
)
_LAYER_TYPES = ("linear", "conv", "recurrent", "attention", "embedding", "norm", "dropout")
_NORMS = ("batch", "layer", "group", "none")
_ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid", "silu", "elu", "other", "none")

SCALE_FEATURE_NAMES: tuple[str, ...] = ("log_params", "log_width", "log_depth", "log_data")
MODEL_FEATURE_NAMES: tuple[str, ...] = (
    SCALE_FEATURE_NAMES
    + ("log_width_min", "log_width_max", "width_cv", "log_n_estimators")
    + tuple(f"log_n_{kind}" for kind in _LAYER_TYPES)
    + tuple(f"norm_{kind}" for kind in _NORMS)
    + tuple(f"act_{kind}" for kind in _ACTIVATIONS)
    + tuple(f"family_{family}" for family in MODEL_FAMILIES)
)

_SPEC_KEYS = frozenset(
    {
        "family",
        "width",
        "depth",
        "parameters",
        "params",
        "rows_seen",
        "tokens_seen",
        "norm",
        "activation",
        "n_estimators",
    }
)

# scikit-learn class-name fragments -> family (first match wins)
_SKLEARN_FAMILIES: tuple[tuple[str, str], ...] = (
    ("HistGradientBoosting", "boosting"),
    ("GradientBoosting", "boosting"),
    ("AdaBoost", "boosting"),
    ("RandomForest", "forest"),
    ("ExtraTrees", "forest"),
    ("Bagging", "forest"),
    ("DecisionTree", "tree"),
    ("ExtraTree", "tree"),
    ("MLP", "mlp"),
    ("SVC", "kernel"),
    ("SVR", "kernel"),
    ("KernelRidge", "kernel"),
    ("GaussianProcess", "kernel"),
    ("KNeighbors", "neighbors"),
    ("RadiusNeighbors", "neighbors"),
    ("NB", "naive_bayes"),
)


def describe_model(obj: Any, *, data_size: float | None = None) -> Fingerprint:
    """Fingerprint a model: a torch module, a spec dict or a scikit-learn estimator.

    Args:
        obj: A ``torch.nn.Module``; a spec dict with keys ``family`` (required, one of
            `MODEL_FAMILIES`), ``width``, ``depth``, ``parameters`` (or ``params``),
            ``rows_seen`` or ``tokens_seen``, ``norm`` (batch/layer/group/none),
            ``activation`` and ``n_estimators``; or a scikit-learn estimator (a pipeline is
            described by its last step).
        data_size: Rows or tokens the model is trained on; overrides the spec's
            ``rows_seen``/``tokens_seen``.

    Returns:
        A `Fingerprint` of kind ``"model"`` with names `MODEL_FEATURE_NAMES`.

    Raises:
        FeaturizeError: For an unsupported object, an unknown spec key or family, or a
            non-positive size.

    Example:
        >>> fp = describe_model({"family": "mlp", "width": 256, "depth": 4, "rows_seen": 1e5})
        >>> round(float(fp.as_series()["log_width"]), 3)
        5.545
    """
    if isinstance(obj, Mapping):
        values = _from_spec(obj)
    elif _is_torch_module(obj):
        values = _from_torch(obj)
    elif hasattr(obj, "get_params") and hasattr(obj, "fit"):
        values = _from_sklearn(obj)
    else:
        raise FeaturizeError(
            f"cannot describe a model of type {type(obj).__name__}; pass a torch nn.Module, "
            "a spec dict with a 'family' key, or a scikit-learn estimator"
        )
    if data_size is not None:
        values["log_data"] = _log_positive(data_size, "data_size")
    return Fingerprint.from_values(
        MODEL_FEATURE_NAMES,
        [values.get(name, math.nan) for name in MODEL_FEATURE_NAMES],
        kind="model",
        version=FEATURIZER_VERSION,
    )


def describe_scale(obj: Any, *, data_size: float | None = None) -> Fingerprint:
    """The scale part of `describe_model`: log params, width, depth and data size.

    Args:
        obj: As for `describe_model`.
        data_size: As for `describe_model`.

    Returns:
        A `Fingerprint` of kind ``"scale"`` with names `SCALE_FEATURE_NAMES`.

    Raises:
        FeaturizeError: As for `describe_model`.
    """
    model = describe_model(obj, data_size=data_size)
    index = [model.names.index(name) for name in SCALE_FEATURE_NAMES]
    return Fingerprint.from_values(
        SCALE_FEATURE_NAMES, model.values[index], kind="scale", version=model.version
    )


def _log_positive(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise FeaturizeError(f"{what} must be a positive number, got {value!r}") from error
    if not number > 0 or not math.isfinite(number):
        raise FeaturizeError(f"{what} must be a positive finite number, got {value!r}")
    return math.log(number)


def _family_one_hot(family: str) -> dict[str, float]:
    return {f"family_{name}": float(name == family) for name in MODEL_FAMILIES}


def _from_spec(spec: Mapping[str, Any]) -> dict[str, float]:
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise FeaturizeError(
            f"unknown model spec keys {unknown}; allowed keys are {sorted(_SPEC_KEYS)}"
        )
    family = spec.get("family")
    if family not in MODEL_FAMILIES:
        raise FeaturizeError(
            f"model spec needs 'family' in {MODEL_FAMILIES}, got family={family!r}"
        )
    out = _family_one_hot(str(family))
    params = spec.get("parameters", spec.get("params"))
    if params is not None:
        out["log_params"] = _log_positive(params, "parameters")
    if spec.get("width") is not None:
        out["log_width"] = _log_positive(spec["width"], "width")
        out["log_width_min"] = out["log_width_max"] = out["log_width"]
        out["width_cv"] = 0.0
    if spec.get("depth") is not None:
        out["log_depth"] = _log_positive(spec["depth"], "depth")
    data = spec.get("tokens_seen", spec.get("rows_seen"))
    if data is not None:
        out["log_data"] = _log_positive(data, "rows_seen/tokens_seen")
    if spec.get("n_estimators") is not None:
        out["log_n_estimators"] = _log_positive(spec["n_estimators"], "n_estimators")
    if "norm" in spec:
        norm = str(spec["norm"] or "none")
        if norm not in _NORMS:
            raise FeaturizeError(f"model spec 'norm' must be one of {_NORMS}, got {norm!r}")
        out.update({f"norm_{name}": float(name == norm) for name in _NORMS})
    if "activation" in spec:
        activation = str(spec["activation"] or "none").lower()
        activation = activation if activation in _ACTIVATIONS else "other"
        out.update({f"act_{name}": float(name == activation) for name in _ACTIVATIONS})
    return out


def _is_torch_module(obj: Any) -> bool:
    try:
        import torch.nn as nn
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(obj, nn.Module)


def _from_torch(module: Any) -> dict[str, float]:
    import torch.nn as nn

    counts = dict.fromkeys(_LAYER_TYPES, 0)
    norms: set[str] = set()
    activations: dict[str, int] = dict.fromkeys(_ACTIVATIONS[:-1], 0)
    widths: list[int] = []
    activation_types = {
        nn.ReLU: "relu",
        nn.ReLU6: "relu",
        nn.GELU: "gelu",
        nn.Tanh: "tanh",
        nn.Sigmoid: "sigmoid",
        nn.SiLU: "silu",
        nn.ELU: "elu",
        nn.LeakyReLU: "elu",
        nn.SELU: "elu",
        nn.CELU: "elu",
    }
    for sub in module.modules():
        if isinstance(sub, nn.Linear | nn.Bilinear):
            counts["linear"] += 1
            widths.append(sub.out_features)
        elif isinstance(sub, nn.modules.conv._ConvNd):
            counts["conv"] += 1
            widths.append(sub.out_channels)
        elif isinstance(sub, nn.RNNBase):
            counts["recurrent"] += sub.num_layers
            widths.extend([sub.hidden_size] * sub.num_layers)
        elif isinstance(sub, nn.MultiheadAttention):
            counts["attention"] += 1
        elif isinstance(sub, nn.Embedding | nn.EmbeddingBag):
            counts["embedding"] += 1
        elif isinstance(sub, nn.modules.batchnorm._NormBase):
            counts["norm"] += 1
            norms.add("batch")
        elif isinstance(sub, nn.LayerNorm | getattr(nn, "RMSNorm", nn.LayerNorm)):
            counts["norm"] += 1
            norms.add("layer")
        elif isinstance(sub, nn.GroupNorm):
            counts["norm"] += 1
            norms.add("group")
        elif isinstance(sub, nn.modules.dropout._DropoutNd):
            counts["dropout"] += 1
        else:
            for activation_type, name in activation_types.items():
                if isinstance(sub, activation_type):
                    activations[name] += 1
                    break
            else:
                if type(sub).__module__ == "torch.nn.modules.activation":
                    activations["other"] += 1
    n_params = sum(int(p.numel()) for p in module.parameters())
    if counts["attention"]:
        family = "transformer"
    elif counts["recurrent"]:
        family = "rnn"
    elif counts["conv"]:
        family = "cnn"
    elif counts["linear"] > 1:
        family = "mlp"
    elif counts["linear"] == 1:
        family = "linear"
    else:
        family = "other"
    out = _family_one_hot(family)
    out.update({f"log_n_{kind}": math.log1p(count) for kind, count in counts.items()})
    if n_params > 0:
        out["log_params"] = math.log(n_params)
    depth = counts["linear"] + counts["conv"] + counts["recurrent"] + counts["attention"]
    if depth:
        out["log_depth"] = math.log(depth)
    if widths:
        width_array = np.asarray(widths, dtype=float)
        out["log_width"] = math.log(float(np.median(width_array)))
        out["log_width_min"] = math.log(float(width_array.min()))
        out["log_width_max"] = math.log(float(width_array.max()))
        out["width_cv"] = float(width_array.std() / width_array.mean())
    primary_norm = next((n for n in _NORMS if n in norms), "none")
    out.update({f"norm_{name}": float(name == primary_norm) for name in _NORMS})
    total_activations = sum(activations.values())
    if total_activations:
        out.update({f"act_{k}": v / total_activations for k, v in activations.items()})
        out["act_none"] = 0.0
    else:
        out.update({f"act_{k}": 0.0 for k in _ACTIVATIONS})
        out["act_none"] = 1.0
    return out


def _from_sklearn(estimator: Any) -> dict[str, float]:
    if hasattr(estimator, "steps"):  # Pipeline: describe the final estimator
        estimator = estimator.steps[-1][1]
    name = type(estimator).__name__
    module = type(estimator).__module__
    family = next((fam for fragment, fam in _SKLEARN_FAMILIES if fragment in name), None)
    if family is None:
        family = "linear" if ".linear_model" in module or ".svm" in module else "other"
    out = _family_one_hot(family)
    params = estimator.get_params(deep=False)
    if family == "mlp":
        hidden = params.get("hidden_layer_sizes", (100,))
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        if hidden:
            widths = np.asarray(hidden, dtype=float)
            out["log_width"] = math.log(float(np.median(widths)))
            out["log_width_min"] = math.log(float(widths.min()))
            out["log_width_max"] = math.log(float(widths.max()))
            out["width_cv"] = float(widths.std() / widths.mean())
        out["log_depth"] = math.log(len(hidden) + 1)
        coefs = getattr(estimator, "coefs_", None)
        if coefs is not None:
            n_params = sum(c.size for c in coefs) + sum(b.size for b in estimator.intercepts_)
            out["log_params"] = math.log(n_params)
    max_depth = params.get("max_depth")
    if family in ("tree", "forest", "boosting") and isinstance(max_depth, int) and max_depth > 0:
        out["log_depth"] = math.log(max_depth)
    n_estimators = params.get("n_estimators", params.get("max_iter"))
    if family in ("forest", "boosting") and isinstance(n_estimators, int) and n_estimators > 0:
        out["log_n_estimators"] = math.log(n_estimators)
    coef = getattr(estimator, "coef_", None)
    if coef is not None and family == "linear":
        out["log_params"] = math.log(np.size(coef) + np.size(getattr(estimator, "intercept_", 0)))
    return out
