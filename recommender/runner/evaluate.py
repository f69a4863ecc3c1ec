"""Score one configuration: k-fold CV or a holdout split, with the user's sklearn metric.

Objective values are scikit-learn scorer values, so larger is always better (losses are
negated, as in ``neg_log_loss``); the runner records ``direction='maximize'``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from library.exceptions import RunnerError
from recommender.runner.data import TaskKind
from recommender.runner.errors import DivergenceError
from recommender.runner.models import ModelFamily, build_estimator

__all__ = [
    "EvalSettings",
    "EvalOutcome",
    "default_metric",
    "check_metric",
    "split_train_test",
    "evaluate_config",
    "fit_and_score",
]


def default_metric(kind: TaskKind) -> str:
    """``accuracy`` for classification, ``neg_root_mean_squared_error`` for regression."""
    return "accuracy" if kind is TaskKind.CLASSIFICATION else "neg_root_mean_squared_error"


def check_metric(metric: str) -> None:
    """Raise `RunnerError` unless ``metric`` is a scikit-learn scorer name."""
    from sklearn.metrics import get_scorer, get_scorer_names

    try:
        get_scorer(metric)
    except ValueError:
        raise RunnerError(
            f"unknown metric {metric!r}; use a scikit-learn scorer name such as "
            f"{', '.join(sorted(get_scorer_names())[:8])}, ..."
        ) from None


@dataclass(frozen=True, slots=True)
class EvalSettings:
    """How every trial of a run is evaluated (fixed for the whole run).

    Attributes:
        metric: scikit-learn scorer name (greater is better).
        cv_folds: k for k-fold CV; 0 means one holdout split of ``validation_fraction``.
        validation_fraction: holdout share when ``cv_folds == 0``.
        n_jobs: CPU threads a trial may use.
        device: MLP device (``auto``/``cpu``/``cuda``).
        mup: MLP muP parameterisation.
        max_epochs: epochs at full fidelity (MLP).
        split_seed: seeds the fold assignment (shared by all trials so they compare).
    """

    metric: str
    cv_folds: int = 3
    validation_fraction: float = 0.25
    n_jobs: int = 1
    device: str = "cpu"
    mup: bool = False
    max_epochs: int = 50
    split_seed: int = 0

    def __post_init__(self) -> None:
        if self.cv_folds == 1 or self.cv_folds < 0:
            raise RunnerError(f"cv_folds must be 0 (holdout) or >= 2, got {self.cv_folds}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise RunnerError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}"
            )


@dataclass(frozen=True, slots=True)
class EvalOutcome:
    """Result of evaluating one configuration at one fidelity.

    Attributes:
        value: mean scorer value over folds (greater is better).
        fold_values: per-fold scorer values.
        fit_seconds: time spent in ``fit`` + scoring, summed over folds.
        metrics: secondary metrics (epochs actually run, fold std, ...).
    """

    value: float
    fold_values: tuple[float, ...]
    fit_seconds: float
    metrics: dict[str, float] = field(default_factory=dict)


def _splits(
    n_rows: int, target: np.ndarray, kind: TaskKind, settings: EvalSettings
) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    index = np.arange(n_rows)
    classify = kind is TaskKind.CLASSIFICATION
    if settings.cv_folds >= 2:
        splitter: Any = (
            StratifiedKFold(settings.cv_folds, shuffle=True, random_state=settings.split_seed)
            if classify
            else KFold(settings.cv_folds, shuffle=True, random_state=settings.split_seed)
        )
        try:
            return [(tr, va) for tr, va in splitter.split(index, target)]
        except ValueError:  # a class too small to stratify
            splitter = KFold(settings.cv_folds, shuffle=True, random_state=settings.split_seed)
            return [(tr, va) for tr, va in splitter.split(index)]
    try:
        train, valid = train_test_split(
            index,
            test_size=settings.validation_fraction,
            random_state=settings.split_seed,
            stratify=target if classify else None,
        )
    except ValueError:
        train, valid = train_test_split(
            index, test_size=settings.validation_fraction, random_state=settings.split_seed
        )
    return [(train, valid)]


def split_train_test(
    n_rows: int, target: np.ndarray, kind: TaskKind, *, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the search part and of the held-out test part (final validation only)."""
    from sklearn.model_selection import train_test_split

    index = np.arange(n_rows)
    stratify = target if kind is TaskKind.CLASSIFICATION else None
    try:
        search, test = train_test_split(
            index, test_size=test_fraction, random_state=seed, stratify=stratify
        )
    except ValueError:
        search, test = train_test_split(index, test_size=test_fraction, random_state=seed)
    return np.sort(search), np.sort(test)


def _subsample(train_idx: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A nested subset: the first ``fraction`` of one fixed permutation of the fold."""
    if fraction >= 1.0:
        return train_idx
    order = np.random.default_rng(seed).permutation(train_idx.size)
    keep = max(2, math.ceil(fraction * train_idx.size))
    return np.sort(train_idx[order[:keep]])


def fit_and_score(
    model: ModelFamily,
    config: dict[str, Any],
    *,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    kind: TaskKind,
    settings: EvalSettings,
    seed: int,
    epochs: int | None = None,
) -> tuple[float, dict[str, float]]:
    """Fit ``config`` on ``train`` and return (scorer value on ``test``, extra metrics).

    Raises:
        DivergenceError: the MLP diverged, or predictions/score are not finite.
    """
    from sklearn.metrics import get_scorer
    from threadpoolctl import threadpool_limits

    estimator = build_estimator(
        model,
        config,
        kind=kind,
        n_jobs=settings.n_jobs,
        seed=seed,
        epochs=epochs if epochs is not None else settings.max_epochs,
        device=settings.device,
        mup=settings.mup,
    )
    extra: dict[str, float] = {}
    with threadpool_limits(limits=settings.n_jobs):
        try:
            estimator.fit(*train)
            value = float(get_scorer(settings.metric)(estimator, *test))
        except FloatingPointError as error:
            if isinstance(error, DivergenceError):
                raise
            raise DivergenceError(str(error), epoch=-1, loss=math.nan) from error
        except ValueError as error:
            if "NaN" in str(error) or "infinity" in str(error):
                raise DivergenceError(str(error), epoch=-1, loss=math.nan) from error
            raise
    if not math.isfinite(value):
        raise DivergenceError(f"score {settings.metric} is {value}", epoch=-1, loss=value)
    if hasattr(estimator, "epochs_run_"):
        extra["epochs_run"] = float(estimator.epochs_run_)
    return value, extra


def evaluate_config(
    model: ModelFamily,
    config: dict[str, Any],
    features: np.ndarray,
    target: np.ndarray,
    *,
    kind: TaskKind,
    settings: EvalSettings,
    fidelity: float,
    seed: int,
) -> EvalOutcome:
    """Cross-validate (or holdout-validate) ``config`` at ``fidelity``.

    Args:
        model: model family.
        config: hyperparameters.
        features: ``n x d`` search-part features (the test part is never passed here).
        target: ``n`` targets.
        kind: classification or regression.
        settings: run-wide evaluation settings.
        fidelity: epochs (MLP) or training fraction in (0, 1] (others).
        seed: the trial seed (model randomness and subsampling).

    Raises:
        DivergenceError: training diverged (the caller marks the trial ``diverged``).
    """
    folds = _splits(features.shape[0], target, kind, settings)
    fold_values: list[float] = []
    epochs_run: list[float] = []
    started = time.perf_counter()
    for train_idx, valid_idx in folds:
        if model is ModelFamily.MLP:
            epochs, used = int(round(fidelity)), train_idx
        else:
            epochs, used = None, _subsample(train_idx, fidelity, seed)
        value, extra = fit_and_score(
            model,
            config,
            train=(features[used], target[used]),
            test=(features[valid_idx], target[valid_idx]),
            kind=kind,
            settings=settings,
            seed=seed,
            epochs=epochs,
        )
        fold_values.append(value)
        if "epochs_run" in extra:
            epochs_run.append(extra["epochs_run"])
    elapsed = time.perf_counter() - started
    metrics = {"fold_std": float(np.std(fold_values)), "n_folds": float(len(folds))}
    if epochs_run:
        metrics["epochs_run"] = float(np.mean(epochs_run))
    return EvalOutcome(
        value=float(np.mean(fold_values)),
        fold_values=tuple(fold_values),
        fit_seconds=elapsed,
        metrics=metrics,
    )
