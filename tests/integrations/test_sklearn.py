"""`WarmStartSearchCV` against real scikit-learn estimators, CV and a real library."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from library.query import task_evaluations
from library.store import Library
from recommender.integrations import WarmStartSearchCV
from recommender.space import Space
from tests.integrations.conftest import SVC_SPACE

LOGREG_SPACE = {
    "parameters": [{"name": "C", "type": "float", "low": 1e-2, "high": 1e2, "log": True}]
}
RIDGE_SPACE = {
    "parameters": [{"name": "alpha", "type": "float", "low": 1e-3, "high": 1e2, "log": True}]
}


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(y), size=180, replace=False)
    return X[rows], y[rows]


# Checks that do not apply to a search over a 1-parameter space with 2 configurations and
# 2-fold CV: none at the moment; every applicable check must pass.
_EXPECTED_FAILED: dict[str, str] = {}


@parametrize_with_checks(
    [
        WarmStartSearchCV(LogisticRegression(), LOGREG_SPACE, n_iter=2, n_batch=2, cv=2),
    ],
    expected_failed_checks=lambda est: _EXPECTED_FAILED,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_search_in_pipeline_warm_starts_and_records_in_library(cancer, source_library):
    X, y = cancer
    search = WarmStartSearchCV(
        SVC(), SVC_SPACE, n_iter=4, cv=3, library=source_library, random_state=0, n_batch=2
    )
    pipeline = make_pipeline(StandardScaler(), search).fit(X, y)
    fitted = pipeline[-1]
    check_is_fitted(fitted)
    results = fitted.cv_results_
    assert len(results["params"]) == 4
    assert set(results) >= {
        "params", "param_C", "param_gamma", "split0_test_score", "split2_test_score",
        "mean_test_score", "std_test_score", "rank_test_score", "mean_fit_time",
    }  # fmt: skip
    assert fitted.best_score_ == pytest.approx(np.max(results["mean_test_score"]))
    assert results["rank_test_score"][fitted.best_index_] == 1
    assert fitted.best_estimator_.get_params()["C"] == fitted.best_params_["C"]
    # the first (zero-shot) pick lies near the sources' shared optimum (C~10, gamma~0.01)
    first = results["params"][0]
    assert 0.0 <= np.log10(first["C"]) <= 2.0, first
    assert -3.0 <= np.log10(first["gamma"]) <= -1.0, first
    assert results["mode"][0] == "zero-shot"
    assert fitted.explanations_ and set(fitted.explanations_[0].sources) == {
        "src/0", "src/1", "src/2",
    }  # fmt: skip
    # every evaluation is in the library, under a task that stores space and fingerprint
    stored = task_evaluations(source_library)[fitted.task_id_]
    assert len(stored.objective) == 4
    assert sorted(stored.objective) == pytest.approx(sorted(results["mean_test_score"]))
    task = source_library.read_tasks().to_pandas().set_index("task_id").loc[fitted.task_id_]
    assert Space.from_dict(source_library.task_spaces()[fitted.task_id_]) == Space.from_dict(
        SVC_SPACE
    )
    assert len(task["fingerprint_names"]) == len(fitted.fingerprint_.names) > 10
    assert pipeline.score(X, y) == pytest.approx(fitted.score(StandardScaler().fit_transform(X), y))


def test_refit_continues_from_recorded_trials(cancer, source_library):
    X, y = cancer
    search = WarmStartSearchCV(SVC(), SVC_SPACE, n_iter=2, cv=2, library=source_library)
    first = clone(search).fit(X, y)
    second = clone(search).fit(X, y)
    assert second.task_id_ == first.task_id_
    # the second search sees the first one's trials as observations of its task
    assert second.explanations_[0].n_observed == 2
    assert len(task_evaluations(source_library)[first.task_id_].objective) >= 3


def test_without_library_searches_target_only_and_regresses():
    X, y = load_diabetes(return_X_y=True)
    search = WarmStartSearchCV(
        Ridge(), RIDGE_SPACE, n_iter=4, n_batch=2, cv=3, scoring="r2", random_state=3
    ).fit(X, y)
    assert search.task_id_ is None and search.fingerprint_ is None
    assert list(search.cv_results_["mode"][:2]) == ["random-init"] * 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.predict(X).shape == (len(y),)
    repeat = clone(search).fit(X, y)
    assert repeat.cv_results_["params"] == search.cv_results_["params"]  # seeded


def test_validation_happens_in_fit_not_init(cancer):
    X, y = cancer
    bad = WarmStartSearchCV(SVC(), SVC_SPACE, n_iter=0)
    assert bad.n_iter == 0  # stored unchanged
    with pytest.raises(ValueError, match="n_iter >= 1"):
        bad.fit(X, y)
    unknown = {"parameters": [{"name": "Cee", "type": "float", "low": 0.1, "high": 1.0}]}
    with pytest.raises(ValueError, match="Cee"):
        WarmStartSearchCV(SVC(), unknown, n_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="one scorer"):
        WarmStartSearchCV(SVC(), SVC_SPACE, n_iter=1, scoring=["accuracy", "f1"]).fit(X, y)
    search = WarmStartSearchCV(SVC(), SVC_SPACE, n_iter=1)
    with pytest.raises(NotFittedError):
        check_is_fitted(search)
    with pytest.raises(NotFittedError):
        search.predict(X)


def test_optuna_distributions_are_accepted_as_space(cancer, tmp_path):
    optuna = pytest.importorskip("optuna")
    X, y = cancer
    space = {"C": optuna.distributions.FloatDistribution(1e-2, 1e2, log=True)}
    search = WarmStartSearchCV(
        LogisticRegression(max_iter=200), space, n_iter=2, cv=2, library=Library.open(tmp_path)
    ).fit(X, y)
    assert 1e-2 <= search.best_params_["C"] <= 1e2


def test_suggest_options_keep_the_search_near_a_default(cancer, source_library):
    """``suggest_options`` reach `Recommender.suggest`: every warm pick in the default's box."""
    from library.exceptions import SpaceError
    from recommender.default_box import DefaultBox

    X, y = cancer
    default = {"C": 1.0, "gamma": 0.1}
    search = WarmStartSearchCV(
        SVC(),
        SVC_SPACE,
        n_iter=3,
        cv=2,
        library=source_library,
        random_state=0,
        suggest_options={"default": default, "max_deviation": 0.1},
    ).fit(X, y)
    space = Space.from_dict(SVC_SPACE)
    box = DefaultBox.around(space, default, 0.1)
    assert box.contains(space.encode(list(search.cv_results_["params"]))).all()
    assert search.explanations_[0].limits == (box.describe(),)
    with pytest.raises(SpaceError, match="not passed through"):
        WarmStartSearchCV(SVC(), SVC_SPACE, suggest_options={"n": 2}).fit(X, y)


def test_a_cost_cap_is_levelled_on_the_searchs_fit_times(cancer):
    """Without a library of its own the search passes its configurations' fit times as the
    observed costs of a ``runtime_s`` cap over the starter library's SVM tasks."""
    from recommender.runner import default_space
    from recommender.runner.models import ModelFamily

    X, y = cancer
    search = WarmStartSearchCV(
        SVC(),
        default_space(ModelFamily.SVM),
        n_iter=3,
        n_batch=1,
        cv=2,
        starter=True,
        random_state=0,
        suggest_options={"max_cost": 10.0},
    ).fit(X, y)
    assert "predicted runtime_s <= 10" in search.explanations_[0].limits[0]
    assert "2 observed target trials" in search.explanations_[-1].limits[0]
