"""`WarmStartSearchCV`: a scikit-learn search estimator driven by the transfer `Recommender`.

It follows scikit-learn's ``develop.rst``: ``__init__`` stores its arguments unchanged,
``fit`` validates them, runs the search, sets the attributes ending in ``_`` and returns
``self``. Each round asks the `Recommender` for ``n_batch`` configurations (warm-started
from the library's similar tasks, then transfer BO with guardrails), scores them by
cross-validation on the same splits, and records them in the library when one is given.

Example:
    >>> from sklearn.svm import SVC
    >>> space = {"parameters": [
    ...     {"name": "C", "type": "float", "low": 1e-3, "high": 1e3, "log": True},
    ...     {"name": "gamma", "type": "float", "low": 1e-4, "high": 1e1, "log": True}]}
    >>> search = WarmStartSearchCV(SVC(), space, n_iter=8, library="~/hpws")  # doctest: +SKIP
    >>> search.fit(X, y).best_params_                                         # doctest: +SKIP
"""

from __future__ import annotations

import logging
import numbers
import time
import warnings
from collections.abc import Callable, Mapping
from copy import deepcopy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv, cross_validate
from sklearn.utils import get_tags, indexable
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from library.exceptions import EmptyLibraryError, FeaturizeError
from recommender.integrations._common import (
    as_space,
    check_suggest_options,
    derive_task_id,
    ensure_task,
    observed_cost,
    open_libraries,
    trial_rows,
)
from recommender.recommend import Recommender
from recommender.space import Space
from recommender.suggestion import Explanation, Suggestion

__all__ = ["WarmStartSearchCV"]

_LOG = logging.getLogger(__name__)
_SOURCE = "sklearn.WarmStartSearchCV"


def _delegate(attr: str) -> Callable[[Any], bool]:
    """Methods exist when the fitted best estimator (else the template) has ``attr``."""

    def check(self: Any) -> bool:
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True

    return check


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name} >= 1` must hold (an integer), but got {name}={value!r}")
    return int(value)


def _seed_from(random_state: object) -> int | None:
    """``random_state`` (None, int or RandomState) -> the one seed of the search."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    raise ValueError(f"random_state must be None, an int or a RandomState, got {random_state!r}")


class WarmStartSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Hyperparameter search warm-started from a library of past tasks.

    Parameters
    ----------
    estimator : estimator object
        The estimator to tune (cloned for every evaluation). Parameter names of ``space``
        are passed to its ``set_params`` (``step__param`` works for pipelines).
    space : Space or dict
        The search space: a recommender `Space`, a ``space.json``-style dict, or a dict of
        Optuna distributions.
    n_iter : int, default=10
        Configurations evaluated.
    cv : int, cross-validation generator or iterable, default=3
        As in scikit-learn (``check_cv``); the splits are fixed once per ``fit``.
    scoring : str, callable or None, default=None
        One scorer (``check_scoring``); larger is better.
    library : Library, str, Path or None, default=None
        Library that supplies the source tasks and records every evaluated configuration
        under ``task_id``. ``None``: no transfer from a library (unless ``starter``), and
        nothing is recorded.
    task_id : str or None, default=None
        Library task of this search; ``None`` derives ``sklearn/<hash>`` from the space,
        the dataset fingerprint and the estimator class. Trials already stored under that
        task count as observations (a re-fit continues the search).
    random_state : int, RandomState or None, default=None
        Seed of candidate sampling and of the recommender's random draws.
    n_batch : int, default=1
        Configurations proposed per round (each is picked given the others).
    starter : bool, default=False
        Also transfer from the bundled starter library (read-only).
    error_score : 'raise' or float, default=np.nan
        Score of a failing fit; NaN-scored configurations are recorded as failed trials.
    suggest_options : dict or None, default=None
        Passed to every `Recommender.suggest`: a trusted ``default`` and
        ``max_deviation``, a budget cap ``max_cost`` (with ``cost_metric`` and
        ``cost_confidence``; for the default ``runtime_s`` the configurations' summed
        fold fit times level it), ``optimizer`` or ``exclude``.

    Attributes
    ----------
    best_params_ : dict
        Best configuration found in this ``fit``.
    best_score_ : float
        Its mean cross-validated score.
    best_estimator_ : estimator
        ``estimator`` with ``best_params_``, refitted on the whole data.
    best_index_ : int
        Index of the best configuration in ``cv_results_``.
    cv_results_ : dict of numpy arrays
        As in `GridSearchCV` (``params``, ``param_<name>``, ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``, fit/score times),
        plus ``predicted_score``, ``predicted_low``, ``predicted_high``, ``phase`` and
        ``mode`` from the recommender.
    recommender_ : Recommender
        The recommender used (``recommender_.explain()`` explains its last round).
    explanations_ : list of Explanation
        One explanation per round.
    task_id_ : str or None
        Library task the trials were recorded under (``None`` without a library).
    fingerprint_ : Fingerprint or None
        Dataset fingerprint used to pick neighbour tasks (``None`` when not computed).
    scorer_ : callable
        The scorer used.
    n_splits_ : int
        Number of cross-validation splits.
    refit_time_ : float
        Seconds spent refitting the best configuration.
    """

    def __init__(
        self,
        estimator: Any,
        space: Space | Mapping[str, Any],
        *,
        n_iter: int = 10,
        cv: Any = 3,
        scoring: Any = None,
        library: Any = None,
        task_id: str | None = None,
        random_state: Any = None,
        n_batch: int = 1,
        starter: bool = False,
        error_score: Any = np.nan,
        suggest_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.n_iter = n_iter
        self.cv = cv
        self.scoring = scoring
        self.library = library
        self.task_id = task_id
        self.random_state = random_state
        self.n_batch = n_batch
        self.starter = starter
        self.error_score = error_score
        self.suggest_options = suggest_options

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = deepcopy(sub.classifier_tags)
        tags.regressor_tags = deepcopy(sub.regressor_tags)
        tags.target_tags.multi_output = sub.target_tags.multi_output
        tags.input_tags.pairwise = sub.input_tags.pairwise
        tags.input_tags.sparse = sub.input_tags.sparse
        tags.array_api_support = sub.array_api_support
        return tags

    # ------------------------------------------------------------------ validation
    def _validate(self) -> tuple[Space, int, int, int | None]:
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "get_params"):
            raise TypeError(f"estimator must be a scikit-learn estimator, got {self.estimator!r}")
        space = as_space(self.space)
        n_iter = _positive_int(self.n_iter, "n_iter")
        n_batch = _positive_int(self.n_batch, "n_batch")
        if isinstance(self.scoring, (list, tuple, set, dict)):
            raise ValueError(
                f"WarmStartSearchCV optimises one scorer; got scoring={self.scoring!r}. "
                "Pass a single string or callable"
            )
        if self.task_id is not None and (not isinstance(self.task_id, str) or not self.task_id):
            raise ValueError(f"task_id must be a non-empty string or None, got {self.task_id!r}")
        if not (self.error_score == "raise" or isinstance(self.error_score, numbers.Real)):
            raise ValueError(f"error_score must be 'raise' or a number, got {self.error_score!r}")
        valid = self.estimator.get_params(deep=True)
        unknown = [name for name in space.names if name not in valid]
        if unknown:
            raise ValueError(
                f"space parameter(s) {unknown} are not parameters of "
                f"{type(self.estimator).__name__}; use names from estimator.get_params()"
            )
        return space, n_iter, n_batch, _seed_from(self.random_state)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, *, groups: Any = None, **fit_params: Any) -> Any:
        """Run the warm-started search, then refit the best configuration on all data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or None
            Target.
        groups : array-like or None
            Group labels for group-aware splitters.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : WarmStartSearchCV
            The fitted search.
        """
        space, n_iter, n_batch, seed = self._validate()
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        writable, sources = open_libraries(self.library, starter=bool(self.starter))
        fingerprint = self._fingerprint(X, y) if sources else None
        task_id = self._record_task(writable, space, fingerprint)
        rng = np.random.default_rng(seed)
        recommender = Recommender(sources, n_candidates=2048)
        options = check_suggest_options(self.suggest_options)

        results: list[dict[str, Any]] = []
        explanations = []
        while len(results) < n_iter:
            k = min(n_batch, n_iter - len(results))
            round_seed = int(rng.integers(np.iinfo(np.int32).max))
            suggestions, explanation = self._propose(
                recommender, space, k, results, task_id, writable, fingerprint, round_seed, options
            )
            if explanation is not None:
                explanations.append(explanation)
            batch = []
            for suggestion in suggestions:
                config = suggestion.config if isinstance(suggestion, Suggestion) else suggestion
                outcome = self._evaluate(config, X, y, splits, scorer, fit_params)
                outcome["suggestion"] = suggestion if isinstance(suggestion, Suggestion) else None
                results.append(outcome)
                batch.append((config, outcome["mean"], outcome["fit_time"]))
            if writable is not None and task_id is not None:
                writable.append_trials(
                    trial_rows(task_id, batch),
                    objective_name=self._objective_name(),
                    direction="maximize",
                    source=_SOURCE,
                )

        self.cv_results_ = self._cv_results(results, space, len(splits))
        means = self.cv_results_["mean_test_score"]
        if not np.isfinite(means).any():
            # surface the estimator's own error (bad dtype, NaN input, ...) when it has one
            failing = clone(self.estimator).set_params(**results[0]["config"])
            failing.fit(X, y, **fit_params) if y is not None else failing.fit(X, **fit_params)
            raise ValueError(
                f"all {len(results)} configurations failed to fit or score; set "
                "error_score='raise' to see the first error"
            )
        self.best_index_ = int(np.nanargmax(means))
        self.best_params_ = dict(self.cv_results_["params"][self.best_index_])
        self.best_score_ = float(means[self.best_index_])
        start = time.perf_counter()
        best = clone(self.estimator).set_params(**self.best_params_)
        best.fit(X, y, **fit_params) if y is not None else best.fit(X, **fit_params)
        self.refit_time_ = time.perf_counter() - start
        self.best_estimator_ = best
        self.recommender_ = recommender
        self.explanations_ = explanations
        self.task_id_ = task_id if writable is not None else None
        self.fingerprint_ = fingerprint
        self.scorer_ = scorer
        self.n_splits_ = len(splits)
        self.multimetric_ = False
        return self

    # ------------------------------------------------------------------ fit helpers
    def _objective_name(self) -> str:
        return self.scoring if isinstance(self.scoring, str) else "score"

    @staticmethod
    def _fingerprint(X: Any, y: Any) -> Any:
        if y is None:
            return None
        from featurizers.dataset import featurize_dataset

        try:
            return featurize_dataset(np.asarray(X) if not hasattr(X, "columns") else X, y=y)
        except (FeaturizeError, ValueError, TypeError) as error:
            warnings.warn(
                f"could not fingerprint the training data ({error}); neighbour tasks are "
                "chosen by trial count instead",
                stacklevel=3,
            )
            return None

    def _record_task(self, writable: Any, space: Space, fingerprint: Any) -> str | None:
        if writable is None:
            return self.task_id
        task_id = self.task_id or derive_task_id(
            "sklearn", space, fingerprint, type(self.estimator).__name__
        )
        ensure_task(
            writable,
            task_id,
            space=space,
            fingerprint=fingerprint,
            objective_name=self._objective_name(),
            direction="maximize",
            source=_SOURCE,
            name=f"{type(self.estimator).__name__} ({_SOURCE})",
            kind="classification" if is_classifier(self.estimator) else "regression",
        )
        return task_id

    @staticmethod
    def _propose(
        recommender: Recommender,
        space: Space,
        k: int,
        results: list[dict[str, Any]],
        task_id: str | None,
        writable: Any,
        fingerprint: Any,
        seed: int,
        options: Mapping[str, Any],
    ) -> tuple[list[Any], Explanation | None]:
        """``k`` suggestions and their explanation; random configurations (and no
        explanation) when nothing can transfer yet."""
        recorded = writable is not None and task_id is not None
        finished = [r for r in results if np.isfinite(r["mean"])]
        observed = [(r["config"], float(r["mean"])) for r in finished]
        costs = None  # a recorded task's runtimes come from the library
        if "max_cost" in options and observed and not recorded:
            costs = [observed_cost(options, r["fit_time"], {}) for r in finished]
        try:
            suggestions = recommender.suggest(
                task_id if recorded else None,
                space,
                n=k,
                observed=None if recorded else (observed or None),
                direction="maximize",
                fingerprint=fingerprint,
                seed=seed,
                observed_costs=costs,
                **options,
            )
        except EmptyLibraryError:
            return space.sample(k, seed=seed), None
        return suggestions, recommender.explain()

    def _evaluate(
        self,
        config: Mapping[str, Any],
        X: Any,
        y: Any,
        splits: list[Any],
        scorer: Any,
        fit_params: Mapping[str, Any],
    ) -> dict[str, Any]:
        candidate = clone(self.estimator).set_params(**config)
        scores = cross_validate(
            candidate,
            X,
            y,
            cv=splits,
            scoring=scorer,
            error_score=self.error_score,
            params=dict(fit_params) or None,
        )
        test = np.asarray(scores["test_score"], dtype=np.float64)
        finite = test[np.isfinite(test)]
        mean = float(test.mean()) if len(finite) == len(test) else float("nan")
        return {
            "config": dict(config),
            "test": test,
            "mean": mean,
            "std": float(test.std()) if len(finite) == len(test) else float("nan"),
            "fit_time": float(np.sum(scores["fit_time"])),
            "fit_times": np.asarray(scores["fit_time"], dtype=np.float64),
            "score_times": np.asarray(scores["score_time"], dtype=np.float64),
        }

    @staticmethod
    def _cv_results(results: list[dict[str, Any]], space: Space, n_splits: int) -> dict[str, Any]:
        n = len(results)
        out: dict[str, Any] = {
            "mean_fit_time": np.array([r["fit_times"].mean() for r in results]),
            "std_fit_time": np.array([r["fit_times"].std() for r in results]),
            "mean_score_time": np.array([r["score_times"].mean() for r in results]),
            "std_score_time": np.array([r["score_times"].std() for r in results]),
        }
        for name in space.names:
            column = np.ma.MaskedArray(np.empty(n, dtype=object), mask=True)
            for i, r in enumerate(results):
                if name in r["config"]:
                    column[i] = r["config"][name]
            out[f"param_{name}"] = column
        out["params"] = [dict(r["config"]) for r in results]
        for split in range(n_splits):
            out[f"split{split}_test_score"] = np.array([r["test"][split] for r in results])
        means = np.array([r["mean"] for r in results])
        out["mean_test_score"] = means
        out["std_test_score"] = np.array([r["std"] for r in results])
        order = np.where(np.isfinite(means), -means, np.inf)
        ranks = np.empty(n, dtype=np.int32)
        ranks[np.argsort(order, kind="stable")] = np.arange(1, n + 1)
        out["rank_test_score"] = ranks
        suggestions = [r["suggestion"] for r in results]
        out["predicted_score"] = np.array([s.predicted if s else np.nan for s in suggestions])
        out["predicted_low"] = np.array([s.interval[0] if s else np.nan for s in suggestions])
        out["predicted_high"] = np.array([s.interval[1] if s else np.nan for s in suggestions])
        out["phase"] = np.array([s.phase if s else "random" for s in suggestions], dtype=object)
        out["mode"] = np.array([s.mode if s else "random-init" for s in suggestions], dtype=object)
        return out

    # ------------------------------------------------------------------ delegation
    @property
    def n_features_in_(self) -> int:
        """Number of features seen by the refitted best estimator."""
        try:
            check_is_fitted(self)
        except NotFittedError as error:
            raise AttributeError(
                f"{type(self).__name__} object has no n_features_in_ attribute before fit"
            ) from error
        return self.best_estimator_.n_features_in_

    @property
    def classes_(self) -> np.ndarray:
        """Class labels of the refitted best estimator (classifiers only)."""
        _delegate("classes_")(self)
        return self.best_estimator_.classes_

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "best_estimator_")

    @available_if(_delegate("predict"))
    def predict(self, X: Any) -> Any:
        """``best_estimator_.predict(X)``."""
        check_is_fitted(self)
        return self.best_estimator_.predict(X)

    @available_if(_delegate("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        """``best_estimator_.predict_proba(X)``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(X)

    @available_if(_delegate("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        """``best_estimator_.predict_log_proba(X)``."""
        check_is_fitted(self)
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_delegate("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """``best_estimator_.decision_function(X)``."""
        check_is_fitted(self)
        return self.best_estimator_.decision_function(X)

    @available_if(_delegate("transform"))
    def transform(self, X: Any) -> Any:
        """``best_estimator_.transform(X)``."""
        check_is_fitted(self)
        return self.best_estimator_.transform(X)

    @available_if(_delegate("inverse_transform"))
    def inverse_transform(self, X: Any) -> Any:
        """``best_estimator_.inverse_transform(X)``."""
        check_is_fitted(self)
        return self.best_estimator_.inverse_transform(X)

    @available_if(_delegate("score_samples"))
    def score_samples(self, X: Any) -> Any:
        """``best_estimator_.score_samples(X)``."""
        check_is_fitted(self)
        return self.best_estimator_.score_samples(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Score of ``best_estimator_`` on ``(X, y)`` with the search's scorer."""
        check_is_fitted(self)
        return float(self.scorer_(self.best_estimator_, X, y))
