"""The budget cap per proposal: `suggest(max_cost=...)` and its cost model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from library import metric_values
from library.exceptions import CostCapError, SpaceError
from recommender.cost_cap import CostCap, fit_cost_shape, split_observed_costs
from recommender.recommend import Recommender
from recommender.space import Space
from tests.cli import recommend
from tests.synthetic import synthetic_library

# `tests.synthetic`: time = 0.1 * epoch * num_layers (+ up to 0.01), at epoch 9 below
ONE_LAYER_CAP = 0.95  # one layer: 0.90-0.91; two: 1.80-1.81


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("cost")
    return root, *synthetic_library(root, n_tasks=4, n_configs=60, seed=2)


def _time(config: dict) -> float:
    return 0.9 * config["num_layers"]


def test_metric_values_reads_each_tasks_top_fidelity_costs(setup) -> None:
    _, lib, space, tasks = setup
    tables = metric_values(lib, "time", task_ids=tasks[:2])
    assert sorted(tables) == tasks[:2]
    for table in tables.values():
        assert len(table) == 60  # the epoch-9 rows only
        assert set(table.columns) == {*space.names, "value"}
        assert np.allclose(table["value"], 0.9 * table["num_layers"], atol=0.011)
    assert metric_values(lib, "energy", task_ids=tasks) == {}


def test_the_shape_is_shared_and_the_level_comes_from_the_target() -> None:
    space = Space.from_dict(
        {"parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}]}
    )
    rng = np.random.default_rng(0)
    levels = {"a": 0.0, "b": 1.0, "c": 3.0}
    tables = {}
    for task, level in levels.items():
        x = rng.uniform(0, 1, 80)
        tables[task] = pd.DataFrame({"x": x, "value": np.exp(level + 2.0 * x)})
    shape = fit_cost_shape(space, tables, "time")
    assert shape is not None and shape.n_trials == 240
    grid = space.encode(pd.DataFrame({"x": np.linspace(0.05, 0.95, 10)}))
    # zero-shot: the sources' median level (task b)
    zero = CostCap.for_target(5.0, shape)
    assert np.allclose(np.log(zero.predict(grid)), 1.0 + 2.0 * grid[:, 0], atol=0.15)
    # three observed costs of a task at level 2 move the prediction there
    seen = space.encode(pd.DataFrame({"x": [0.2, 0.5, 0.8]}))
    levelled = CostCap.for_target(5.0, shape, seen, np.exp(2.0 + 2.0 * seen[:, 0]))
    assert np.allclose(np.log(levelled.predict(grid)), 2.0 + 2.0 * grid[:, 0], atol=0.15)
    assert "3 observed target trials" in levelled.describe()
    # admitted by the bound at the confidence: the point prediction at 0.5
    assert (levelled.admissible(grid) == (levelled.upper(grid) <= 5.0)).all()
    assert (levelled.upper(grid) > levelled.predict(grid)).all()
    point = CostCap.for_target(5.0, shape, seen, np.exp(2.0 + 2.0 * seen[:, 0]), confidence=0.5)
    assert np.allclose(point.upper(grid), point.predict(grid))
    # zero-shot the level is unknown: the sources' spread widens the bound
    assert zero.sigma > np.std(list(levels.values())) > levelled.sigma
    with pytest.raises(CostCapError, match="confidence must be in"):
        CostCap.for_target(5.0, shape, confidence=1.0)
    # when the bound admits too few, the confidence is lowered (not below 0.5) until the
    # cheapest by prediction are admitted
    tight = CostCap.for_target(float(np.exp(1.5)), shape)
    assert tight.admissible(grid).sum() == 0
    relaxed = tight.relaxed(grid, 2)
    assert 0.5 <= relaxed.confidence < tight.confidence
    assert relaxed.admissible(grid).tolist() == [True, True] + [False] * 8
    assert f"probability {relaxed.confidence:g}" in relaxed.describe()
    # the 9th cheapest is predicted over the cap: zero-shot, the 9 cheapest are admitted;
    # with the target's costs, the point prediction (here none)
    below = tight.relaxed(grid, 9)
    assert below.admissible(grid).tolist() == [True] * 9 + [False]
    assert "no configuration is predicted to cost <=" in below.describe()
    # with the target's costs too, once even the point prediction admits none
    impossible = CostCap.for_target(1.0, shape, seen, np.exp(2.0 + 2.0 * seen[:, 0]))
    assert impossible.relaxed(grid, 1).admissible(grid).tolist() == [True] + [False] * 9
    # ... but the point prediction is kept while it admits some
    few = CostCap.for_target(float(np.exp(2.35)), shape, seen, np.exp(2.0 + 2.0 * seen[:, 0]))
    kept = few.relaxed(grid, 5)
    assert kept.confidence == 0.5 and kept.cheapest is None
    assert 0 < kept.admissible(grid).sum() < 5
    roomy = CostCap.for_target(100.0, shape)
    assert roomy.relaxed(grid, 10) is roomy
    # unrecorded (NaN) costs are skipped; with none recorded the sources' median stays
    assert CostCap.for_target(5.0, shape, seen, np.full(3, np.nan)).level == zero.level
    assert fit_cost_shape(space, {"a": tables["a"].assign(value=np.nan)}, "time") is None


def test_suggestions_stay_under_the_cap_which_binds(setup) -> None:
    root, lib, space, tasks = setup
    rec = Recommender(lib, cache_dir=root / "cache")
    free = rec.suggest(tasks[-1], space, n=5, seed=0)
    assert max(_time(s.config) for s in free) > ONE_LAYER_CAP  # the cap below binds
    assert all(math.isnan(s.cost) for s in free)
    capped = rec.suggest(tasks[-1], space, n=5, seed=0, cost_metric="time", max_cost=ONE_LAYER_CAP)
    for s in capped:
        assert s.config["num_layers"] == 1 and s.cost <= ONE_LAYER_CAP
        assert s.to_dict()["cost"] == pytest.approx(s.cost)
    (limit,) = rec.explain().limits
    assert limit.startswith(f"predicted time <= {ONE_LAYER_CAP:g}")
    assert "60 observed target trials" in limit  # the library task's own recorded costs


def test_the_cap_holds_zero_shot_in_a_pool_and_on_the_gradient_path(setup) -> None:
    root, lib, space, tasks = setup
    rec = Recommender(lib, cache_dir=root / "cache")
    zero = rec.suggest(None, space, n=3, seed=1, cost_metric="time", max_cost=ONE_LAYER_CAP)
    assert all(s.config["num_layers"] == 1 for s in zero)
    assert "median of 4 source task(s)" in rec.explain().limits[0]
    pool = space.sample_frame(200, seed=5)
    picks = rec.suggest(
        None, space, n=3, pool=pool, seed=1, cost_metric="time", max_cost=ONE_LAYER_CAP
    )
    assert all(s.config["num_layers"] == 1 for s in picks)
    observed = [(c, float(c["num_layers"])) for c in space.sample(6, seed=2)]
    (pick,) = rec.suggest(
        None,
        space,
        observed=observed,
        seed=3,
        optimizer="gradient",
        cost_metric="time",
        max_cost=ONE_LAYER_CAP,
    )
    assert pick.config["num_layers"] == 1 and pick.cost <= ONE_LAYER_CAP


def test_the_multitask_surrogate_keeps_to_the_cap(setup) -> None:
    root, lib, space, tasks = setup
    rec = Recommender(lib, cache_dir=root / "cache", surrogate="multitask")
    picks = rec.suggest(tasks[-1], space, n=2, seed=0, cost_metric="time", max_cost=ONE_LAYER_CAP)
    assert all(s.config["num_layers"] == 1 and s.cost <= ONE_LAYER_CAP for s in picks)
    assert rec.explain().limits[0].startswith("predicted time")


def test_observed_costs_level_the_cap(setup) -> None:
    root, lib, space, _ = setup
    rec = Recommender(lib, cache_dir=root / "cache")
    configs = space.sample(4, seed=7)
    # a target whose trials take ten times the library's: two layers' budget fits one
    frame = space.to_frame(configs).assign(
        value=np.arange(4.0), time=[9.0 * c["num_layers"] for c in configs]
    )
    cap = 2 * 9.0 + 0.5
    picks = rec.suggest(
        None,
        space,
        n=4,
        observed=frame,
        direction="minimize",
        cost_metric="time",
        max_cost=cap,
        seed=0,
    )
    for s in picks:  # predicted on the target's scale, not the library's
        assert s.config["num_layers"] <= 2 and s.cost > 6.0 * s.config["num_layers"]
    assert "4 observed target trials" in rec.explain().limits[0]
    pairs = [(c, float(v)) for c, v in zip(configs, frame["value"], strict=True)]
    again = rec.suggest(
        None,
        space,
        n=4,
        observed=pairs,
        observed_costs=list(frame["time"]),
        direction="minimize",
        cost_metric="time",
        max_cost=cap,
        seed=0,
    )
    assert [s.config for s in again] == [s.config for s in picks]


def test_bad_cost_input_is_a_clear_error(setup) -> None:
    root, lib, space, tasks = setup
    rec = Recommender(lib, cache_dir=root / "cache")
    for bad in (0.0, -1.0, math.nan, math.inf, "1"):
        with pytest.raises(CostCapError, match="max_cost must be a positive number"):
            rec.suggest(None, space, max_cost=bad)
    with pytest.raises(CostCapError, match="none of the 4 source task.*'energy'.*metric_energy"):
        rec.suggest(None, space, max_cost=1.0, cost_metric="energy")
    configs = space.sample(2, seed=0)
    pairs = [(c, 1.0) for c in configs]
    with pytest.raises(CostCapError, match="needs `max_cost=`"):
        rec.suggest(None, space, observed=pairs, observed_costs=[1.0, 2.0])
    with pytest.raises(CostCapError, match="1 value.*for 2 observation"):
        rec.suggest(
            None, space, observed=pairs, observed_costs=[1.0], cost_metric="time", max_cost=1.0
        )
    with pytest.raises(
        CostCapError, match="observed costs must be positive numbers.*got -2 at row 1"
    ):
        rec.suggest(
            None,
            space,
            observed=pairs,
            observed_costs=[1.0, -2.0],
            cost_metric="time",
            max_cost=1.0,
        )
    # a cap no candidate is predicted to meet is not an error: the cheapest by prediction,
    # zero-shot (the level is the library's guess) and with the target's own costs
    for task, level in ((None, "median of 4 source"), (tasks[0], "60 observed target")):
        cheapest = rec.suggest(task, space, n=2, cost_metric="time", max_cost=0.1)
        assert {s.config["num_layers"] for s in cheapest} == {1}
        (limit,) = rec.explain().limits
        assert limit.startswith("no configuration is predicted to cost <= 0.1") and level in limit
    # without a cap, a cost column is an unknown parameter, as before
    frame = space.to_frame(configs).assign(value=[1.0, 2.0], time=[1.0, 2.0])
    with pytest.raises(SpaceError, match="unknown parameter.*time"):
        rec.suggest(None, space, observed=frame)
    assert split_observed_costs(frame, None, 1.0, "time")[1].tolist() == [1.0, 2.0]


def test_cli_suggest_takes_a_cost_cap(setup, capsys: pytest.CaptureFixture[str]) -> None:
    _, lib, _, tasks = setup
    base = ["suggest", "--library", str(lib.root), "--task", tasks[-1], "-n", "2"]
    code, out, _ = recommend(
        [*base, "--cost-metric", "time", "--max-cost", str(ONE_LAYER_CAP), "--json"], capsys
    )
    doc = json.loads(out)
    assert code == 0 and all(s["config"]["num_layers"] == 1 for s in doc["suggestions"])
    assert all(s["cost"] <= ONE_LAYER_CAP for s in doc["suggestions"])
    assert doc["limits"][0].startswith("predicted time")
    code, out, _ = recommend(
        [*base, "--cost-metric", "time", "--max-cost", str(ONE_LAYER_CAP)], capsys
    )
    assert code == 0 and "predicted time" in out and "limit: predicted time <=" in out
    code, _, err = recommend([*base, "--max-cost", "1", "--cost-metric", "energy"], capsys)
    assert code == 1 and "metric_energy" in err and len(err.strip().splitlines()) == 1
    code, _, err = recommend([*base, "--max-cost", "0"], capsys)
    assert code == 2 and "--max-cost" in err


def test_cli_observed_file_carries_costs(
    setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lib, space, _ = setup
    configs = space.sample(3, seed=4)
    path = tmp_path / "obs.csv"
    frame = space.to_frame(configs).assign(value=[0.3, 0.2, 0.1], time=[1.0, 2.0, 1.5])
    frame.to_csv(path, index=False)
    space_path = tmp_path / "space.json"
    space_path.write_text(json.dumps(space.to_dict()))
    args = ["suggest", "--library", str(lib.root), "--space", str(space_path), "--json"]
    code, out, _ = recommend(
        [*args, "--observed", str(path), "--cost-metric", "time", "--max-cost", "5"], capsys
    )
    assert code == 0 and "3 observed target trials" in json.loads(out)["limits"][0]


def test_cli_explain_shows_the_cap_and_each_suggestions_cost(
    setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lib, _, tasks = setup
    page = tmp_path / "explain.html"
    args = ["explain", "--library", str(lib.root), "--task", tasks[-1], "-n", "2"]
    code, _, _ = recommend(
        [
            *args,
            "--cost-metric",
            "time",
            "--max-cost",
            str(ONE_LAYER_CAP),
            "--importance-sources",
            "0",
            "--html",
            str(page),
        ],
        capsys,
    )
    html = page.read_text()
    assert code == 0 and "<th>predicted cost</th>" in html
    assert f"Limit: predicted time &lt;= {ONE_LAYER_CAP:g}" in html


def test_by_default_the_cost_is_each_trials_recorded_wall_time(tmp_path: Path) -> None:
    """``runtime_s`` (the runner's, the Ray integration's, the starter library's) needs no
    metric column: the bundled starter library is capped out of the box."""
    from recommender.runner import default_space
    from recommender.runner.models import ModelFamily
    from recommender.starter import open_starter_library

    starter = open_starter_library()
    tasks = starter.task_ids()[:5]
    assert all(
        len(t) and (t["value"] > 0).all()
        for t in metric_values(starter, "runtime_s", task_ids=tasks).values()
    )
    rec = Recommender(starter, cache_dir=tmp_path / "cache")
    space = default_space(ModelFamily.HGB)
    free = rec.suggest(space=space, n=4, seed=0)
    capped = rec.suggest(space=space, n=4, seed=0, max_cost=0.2)
    assert "predicted runtime_s <= 0.2" in rec.explain().limits[0]
    assert all(s.cost <= 0.2 for s in capped)
    assert [s.config for s in capped] != [s.config for s in free]


def _noisy_tables(noises: list[float], seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    tables = {}
    for i, noise in enumerate(noises):
        x = rng.uniform(0, 1, 150)
        log_cost = 0.5 * i + 2.0 * x + noise * rng.standard_normal(150)
        tables[f"t{i}"] = pd.DataFrame({"x": x, "value": np.exp(log_cost)})
    return tables


def test_the_targets_own_costs_set_its_error_shrunk_to_the_sources() -> None:
    """A target whose costs follow the shape closely gets a tighter bound than the pooled
    error, one whose costs scatter a wider one; how far they move it depends on how much
    the sources' own errors differ."""
    space = Space.from_dict(
        {"parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}]}
    )
    shape = fit_cost_shape(space, _noisy_tables([0.05, 0.1, 0.2, 0.4, 0.8, 0.3]), "time")
    assert shape is not None and 0 < shape.prior_strength < math.inf
    x = np.linspace(0.05, 0.95, 12)
    X = space.encode(pd.DataFrame({"x": x}))
    exact = np.exp(1.0 + shape.log_shape(X))
    scatter = exact * np.exp(np.tile([-1.0, 1.0], 6))
    tight = CostCap.for_target(5.0, shape, X, exact)
    wide = CostCap.for_target(5.0, shape, X, scatter)
    pooled = shape.error * math.sqrt(1 + 1 / 12)
    assert tight.sigma < pooled < wide.sigma
    assert "from the target's costs, shrunk towards the sources'" in tight.describe()
    # the prior's weight: 12 costs move the error part of the way, not all of it
    assert tight.sigma > 0.1 * pooled and wide.sigma < 1.0 * math.sqrt(1 + 1 / 12)
    # a single cost says nothing about the error: the pooled error stays
    one = CostCap.for_target(5.0, shape, X[:1], exact[:1])
    assert one.sigma == pytest.approx(shape.error * math.sqrt(2))
    assert "from the sources'; less near its observed costs" in one.describe()
    # sources that share one error leave the pooled error for every target
    alike = fit_cost_shape(space, _noisy_tables([0.3] * 6), "time")
    assert alike is not None
    assert CostCap.for_target(5.0, alike, X, exact).sigma > 0.8 * alike.error
    # two sources cannot tell how errors differ between tasks
    two = fit_cost_shape(space, _noisy_tables([0.05, 0.8]), "time")
    assert two is not None and two.prior_strength == math.inf
    assert CostCap.for_target(5.0, two, X, exact).sigma == pytest.approx(
        two.error * math.sqrt(1 + 1 / 12)
    )
