"""Model families the runner can tune: search spaces, default configurations, estimators.

Spaces are plain dicts in the `recommender.space.Space.from_dict` format (the format of
``benchmarks/lcbench/space.json``), so they can be stored, printed and turned into a
`Space`. Defaults sit inside their spaces: the deviation guardrail measures distance from
them and the final validation compares against them.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from library.exceptions import RunnerError
from recommender.runner.data import TaskKind

__all__ = [
    "ModelFamily",
    "default_space",
    "default_config",
    "build_estimator",
    "fidelity_name",
]


class ModelFamily(str, Enum):
    """Model families; ``mlp`` is the torch trainer, the others are scikit-learn."""

    HGB = "hgb"
    RF = "rf"
    LOGREG = "logreg"
    SVM = "svm"
    MLP = "mlp"

    @classmethod
    def parse(cls, name: str | ModelFamily) -> ModelFamily:
        """Look a family up by name.

        Raises:
            RunnerError: unknown name.
        """
        try:
            return cls(name)
        except ValueError:
            known = ", ".join(member.value for member in cls)
            raise RunnerError(f"unknown model {name!r}; choose one of {known}") from None


def _float(name: str, low: float, high: float, *, log: bool = False) -> dict[str, Any]:
    return {"name": name, "type": "float", "low": low, "high": high, "log": log}


def _int(name: str, low: int, high: int, *, log: bool = False) -> dict[str, Any]:
    return {"name": name, "type": "int", "low": low, "high": high, "log": log}


_SPACES: dict[ModelFamily, list[dict[str, Any]]] = {
    ModelFamily.HGB: [
        _float("learning_rate", 0.01, 0.5, log=True),
        _int("max_iter", 20, 400, log=True),
        _int("max_leaf_nodes", 4, 128, log=True),
        _int("min_samples_leaf", 2, 100, log=True),
        _float("l2_regularization", 1e-6, 10.0, log=True),
    ],
    ModelFamily.RF: [
        _int("n_estimators", 20, 300, log=True),
        _int("max_depth", 2, 32, log=True),
        _int("min_samples_leaf", 1, 20, log=True),
        _float("max_features", 0.05, 1.0),
    ],
    ModelFamily.LOGREG: [_float("C", 1e-4, 1e4, log=True)],
    ModelFamily.SVM: [_float("C", 1e-3, 1e3, log=True), _float("gamma", 1e-4, 10.0, log=True)],
    ModelFamily.MLP: [
        _float("learning_rate", 1e-5, 1.0, log=True),
        _int("width", 16, 512, log=True),
        _int("depth", 1, 4),
        _float("weight_decay", 1e-6, 1e-1, log=True),
        _int("batch_size", 32, 512, log=True),
        _float("dropout", 0.0, 0.5),
    ],
}

_DEFAULTS: dict[ModelFamily, dict[str, Any]] = {
    ModelFamily.HGB: {
        "learning_rate": 0.1,
        "max_iter": 100,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 1e-6,
    },
    ModelFamily.RF: {
        "n_estimators": 100,
        "max_depth": 32,
        "min_samples_leaf": 1,
        "max_features": 0.5,
    },
    ModelFamily.LOGREG: {"C": 1.0},
    ModelFamily.SVM: {"C": 1.0},  # gamma filled in from the feature count
    ModelFamily.MLP: {
        "learning_rate": 1e-3,
        "width": 128,
        "depth": 2,
        "weight_decay": 1e-4,
        "batch_size": 128,
        "dropout": 0.0,
    },
}


def fidelity_name(model: ModelFamily) -> str:
    """The multi-fidelity resource: ``epochs`` for the MLP, ``train_fraction`` otherwise."""
    return "epochs" if model is ModelFamily.MLP else "train_fraction"


def default_space(model: ModelFamily) -> dict[str, Any]:
    """The default search space of ``model`` as a `Space.from_dict` dict."""
    return {
        "name": f"runner-{model.value}",
        "parameters": [dict(p) for p in _SPACES[model]],
        "conditions": [],
    }


def default_config(model: ModelFamily, *, n_features: int) -> dict[str, Any]:
    """The library default of ``model`` (scikit-learn's defaults where they are in range).

    Args:
        model: model family.
        n_features: number of input features (SVM's ``gamma='scale'`` on standardised data
            is ``1 / n_features``).
    """
    config = dict(_DEFAULTS[model])
    if model is ModelFamily.SVM:
        config["gamma"] = min(max(1.0 / max(n_features, 1), 1e-4), 10.0)
    return config


def build_estimator(
    model: ModelFamily,
    config: dict[str, Any],
    *,
    kind: TaskKind,
    n_jobs: int,
    seed: int,
    epochs: int = 50,
    device: str = "cpu",
    mup: bool = False,
) -> Any:
    """An unfitted estimator of ``model`` with hyperparameters ``config``.

    Args:
        model: model family.
        config: hyperparameters (validated against the space by the caller).
        kind: classification or regression.
        n_jobs: CPU threads (random forest ``n_jobs``; other families via threadpoolctl).
        seed: ``random_state`` / torch seed.
        epochs: MLP epochs (the MLP's fidelity).
        device: MLP device.
        mup: MLP muP parameterisation.

    Raises:
        RunnerError: an unknown family.
    """
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    classify = kind is TaskKind.CLASSIFICATION
    if model is ModelFamily.HGB:
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return cls(
            learning_rate=float(config["learning_rate"]),
            max_iter=int(config["max_iter"]),
            max_leaf_nodes=int(config["max_leaf_nodes"]),
            min_samples_leaf=int(config["min_samples_leaf"]),
            l2_regularization=float(config["l2_regularization"]),
            early_stopping=False,
            random_state=seed,
        )
    if model is ModelFamily.RF:
        cls = RandomForestClassifier if classify else RandomForestRegressor
        return cls(
            n_estimators=int(config["n_estimators"]),
            max_depth=int(config["max_depth"]),
            min_samples_leaf=int(config["min_samples_leaf"]),
            max_features=float(config["max_features"]),
            n_jobs=n_jobs,
            random_state=seed,
        )
    if model is ModelFamily.LOGREG:
        linear = (
            LogisticRegression(C=float(config["C"]), max_iter=2000, random_state=seed)
            if classify
            else Ridge(alpha=1.0 / float(config["C"]), random_state=seed)
        )
        return make_pipeline(SimpleImputer(), StandardScaler(), linear)
    if model is ModelFamily.SVM:
        kernel_machine = (
            SVC(C=float(config["C"]), gamma=float(config["gamma"]), random_state=seed)
            if classify
            else SVR(C=float(config["C"]), gamma=float(config["gamma"]))
        )
        return make_pipeline(SimpleImputer(), StandardScaler(), kernel_machine)
    if model is ModelFamily.MLP:
        from recommender.runner.torch_mlp import TorchMLPEstimator

        return TorchMLPEstimator(
            kind=kind.value,
            learning_rate=float(config["learning_rate"]),
            width=int(config["width"]),
            depth=int(config["depth"]),
            weight_decay=float(config["weight_decay"]),
            batch_size=int(config["batch_size"]),
            dropout=float(config["dropout"]),
            epochs=int(epochs),
            mup=mup,
            device=device,
            seed=seed,
        )
    raise RunnerError(f"no estimator for model family {model!r}")
