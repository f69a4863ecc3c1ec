"""`WarmStartSearcher` driving a real local Ray Tune run (about 20 s: Ray start-up)."""

from __future__ import annotations

import signal

import numpy as np
import pytest

ray = pytest.importorskip("ray")
tune = pytest.importorskip("ray.tune")

from library.exceptions import SpaceError  # noqa: E402
from library.query import task_evaluations  # noqa: E402
from recommender.integrations.ray import WarmStartSearcher, space_from_tune  # noqa: E402
from recommender.space import Space  # noqa: E402
from tests.integrations.conftest import SVC_SPACE, source_score  # noqa: E402


def _trainable(config: dict) -> dict:
    return {"accuracy": source_score(config, 0.1)}


@pytest.fixture(scope="module")
def local_ray():
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()
    for sig, handler in handlers.items():  # ray.init installs its own; leave none behind
        signal.signal(sig, handler)


def test_space_from_tune_domains():
    space = space_from_tune(
        {
            "C": tune.loguniform(1e-3, 1e3),
            "depth": tune.randint(1, 9),
            "kernel": tune.choice(["rbf", "poly"]),
            "x": tune.uniform(0.0, 1.0),
        }
    )
    assert space.to_dict()["parameters"][1] == {
        "name": "depth", "type": "int", "low": 1, "high": 8, "log": False,
    }  # fmt: skip
    assert space.parameters[0].log and not space.parameters[3].log
    with pytest.raises(SpaceError, match="quniform|not supported"):
        space_from_tune({"q": tune.quniform(0.0, 1.0, 0.1)})


def test_tune_run_is_warm_started_and_recorded(local_ray, source_library, tmp_path):
    searcher = WarmStartSearcher(
        SVC_SPACE, metric="accuracy", mode="max", library=source_library, task_id="ray/svc"
    )
    tuner = tune.Tuner(
        _trainable,
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=3),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), verbose=0),
    )
    results = tuner.fit()
    assert results.num_errors == 0 and len(results) == 3
    first = next(iter(searcher.explanations.values()))
    assert first.suggestions[0].mode == "zero-shot"
    configs = [r.config for r in results]
    assert any(
        0.0 <= np.log10(c["C"]) <= 2.0 and -3.0 <= np.log10(c["gamma"]) <= -1.0 for c in configs
    )
    stored = task_evaluations(source_library)["ray/svc"]
    assert sorted(stored.objective) == pytest.approx(sorted(r.metrics["accuracy"] for r in results))
    assert Space.from_dict(source_library.task_spaces()["ray/svc"]) == Space.from_dict(SVC_SPACE)
    best = results.get_best_result(metric="accuracy", mode="max")
    assert best.metrics["accuracy"] > 0.9


def test_searcher_state_round_trips_and_avoids_pending(source_library, tmp_path):
    searcher = WarmStartSearcher(SVC_SPACE, metric="accuracy", mode="max", library=source_library)
    a, b = searcher.suggest("t1"), searcher.suggest("t2")
    assert a != b
    searcher.on_trial_complete("t1", {"accuracy": 0.9})
    path = tmp_path / "searcher.pkl"
    searcher.save(str(path))
    restored = WarmStartSearcher(metric="accuracy", mode="max", library=source_library)
    restored.restore(str(path))
    assert restored.get_state() == searcher.get_state()
    assert restored.get_state()["observed"] == [(a, 0.9)]


def test_searcher_passes_suggest_options_through(source_library):
    """A trusted default's box reaches `Recommender.suggest`; finished trials keep their cost
    (the Tune result key named like ``cost_metric``) for a cost cap."""
    from recommender.default_box import DefaultBox
    from recommender.recommend import Recommender

    default = {"C": 1.0, "gamma": 0.1}
    options = {"default": default, "max_deviation": 0.1, "cost_metric": "energy"}
    searcher = WarmStartSearcher(
        SVC_SPACE,
        metric="accuracy",
        mode="max",
        recommender=Recommender(source_library),
        suggest_options=options,
    )
    space = Space.from_dict(SVC_SPACE)
    configs = [searcher.suggest(f"t{i}") for i in range(3)]
    assert DefaultBox.around(space, default, 0.1).contains(space.encode(configs)).all()
    searcher.on_trial_complete("t0", {"accuracy": 0.9, "energy": 2.0})
    assert searcher.get_state()["costs"] == [2.0]
    with pytest.raises(SpaceError, match=r"suggest_options \['n'\] are not passed through"):
        WarmStartSearcher(SVC_SPACE, suggest_options={"n": 3})
