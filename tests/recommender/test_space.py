"""Tests for recommender.space: construction, encoding round trips, validation, sampling."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from library.exceptions import SpaceError
from recommender import CategoricalParam, Condition, FloatParam, IntParam, Space

LCBENCH = Path("/work/shared/benchmarks/lcbench")
needs_lcbench = pytest.mark.skipif(
    not (LCBENCH / "space.json").exists(), reason="shared LCBench benchmark not present"
)


def conditional_space() -> Space:
    """A model-selection space: `model` switches linear / tree children on and off."""
    return Space(
        parameters=(
            CategoricalParam("model", ("linear", "tree")),
            CategoricalParam("penalty", ("l1", "l2", "elasticnet")),
            FloatParam("C", 1e-4, 1e4, log=True),
            FloatParam("l1_ratio", 0.0, 1.0),
            IntParam("max_depth", 1, 32),
            CategoricalParam("criterion", ("gini", "entropy", "log_loss")),
            IntParam("n_estimators", 10, 1000, log=True),
            CategoricalParam("bootstrap", (True, False)),
            FloatParam("max_features", 0.1, 1.0),
            CategoricalParam("scaler", ("none", "standard", "minmax", "robust")),
            FloatParam("tol", 1e-6, 1e-2, log=True),
        ),
        conditions=(
            Condition("penalty", "model", ("linear",)),
            Condition("C", "model", ("linear",)),
            Condition("l1_ratio", "penalty", ("elasticnet",)),
            Condition("max_depth", "model", ("tree",)),
            Condition("criterion", "model", ("tree",)),
            Condition("n_estimators", "model", ("tree",)),
            Condition("bootstrap", "model", ("tree",)),
            Condition("max_features", "model", ("tree",)),
        ),
    )


# ---------------------------------------------------------------- hypothesis strategies
def _value_strategy(param: Any) -> st.SearchStrategy[Any]:
    if isinstance(param, CategoricalParam):
        return st.sampled_from(param.choices)
    if isinstance(param, IntParam):
        return st.integers(param.low, param.high)
    return st.floats(param.low, param.high, allow_nan=False, allow_infinity=False)


@st.composite
def configs_of(draw: st.DrawFn, space: Space) -> dict[str, Any]:
    """A valid configuration: draw every parameter, then drop the inactive ones."""
    full = {p.name: draw(_value_strategy(p)) for p in space.parameters}
    mask = space.active_mask([full])[0]
    return {name: full[name] for name, on in zip(space.names, mask, strict=True) if on}


@st.composite
def flat_spaces(draw: st.DrawFn) -> Space:
    """Random spaces without conditions mixing every parameter kind."""
    n_params = draw(st.integers(1, 6))
    params: list[Any] = []
    for i in range(n_params):
        kind = draw(st.sampled_from(["float", "logfloat", "int", "logint", "cat"]))
        name = f"p{i}"
        if kind == "float":
            low = draw(st.floats(-1e3, 1e3))
            width = draw(st.floats(1e-3, 1e3))
            params.append(FloatParam(name, low, low + width))
        elif kind == "logfloat":
            low = 10 ** draw(st.floats(-8, 3))
            params.append(FloatParam(name, low, low * 10 ** draw(st.floats(0.01, 6)), log=True))
        elif kind in ("int", "logint"):
            low = draw(st.integers(1 if kind == "logint" else -100, 1000))
            params.append(
                IntParam(name, low, low + draw(st.integers(1, 5000)), log=kind == "logint")
            )
        else:
            choices = draw(
                st.lists(
                    st.one_of(st.text(min_size=1, max_size=5), st.integers(-5, 5), st.booleans()),
                    min_size=1,
                    max_size=5,
                    unique_by=str,
                )
            )
            params.append(CategoricalParam(name, tuple(choices)))
    return Space(tuple(params))


def assert_same_config(space: Space, got: dict[str, Any], want: dict[str, Any]) -> None:
    assert set(got) == set(want)
    for p in space.parameters:
        if p.name not in want:
            continue
        if isinstance(p, FloatParam):
            assert math.isclose(
                got[p.name], want[p.name], rel_tol=1e-9, abs_tol=1e-9 * (p.high - p.low)
            )
        else:
            assert got[p.name] == want[p.name]
            assert type(got[p.name]) is type(want[p.name])


# ---------------------------------------------------------------- round trips
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_encode_decode_round_trip_flat_spaces(data: st.DataObject) -> None:
    space = data.draw(flat_spaces())
    configs = data.draw(st.lists(configs_of(space), min_size=1, max_size=5))
    X = space.encode(configs)
    assert X.shape == (len(configs), space.dim)
    assert X.dtype == np.float64
    assert (X >= 0).all() and (X <= 1).all()
    for got, want in zip(space.decode(X), configs, strict=True):
        assert_same_config(space, got, want)
        assert space.validate(got) == got


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_encode_decode_round_trip_conditional_space(data: st.DataObject) -> None:
    space = conditional_space()
    configs = data.draw(st.lists(configs_of(space), min_size=1, max_size=5))
    X = space.encode(configs)
    mask = space.active_mask(configs)
    for row, on in zip(X, mask, strict=True):  # inactive parameters encode as zeros
        for i, p in enumerate(space.parameters):
            if not on[i]:
                start = sum(
                    len(q.choices) if isinstance(q, CategoricalParam) else 1
                    for q in space.parameters[:i]
                )
                width = len(p.choices) if isinstance(p, CategoricalParam) else 1
                assert not row[start : start + width].any()
    for got, want in zip(space.decode(X), configs, strict=True):
        assert_same_config(space, got, want)
    # A DataFrame with NaN/None for inactive parameters encodes identically.
    np.testing.assert_array_equal(space.encode(space.to_frame(configs)), X)


def test_conditional_space_layout() -> None:
    space = conditional_space()
    assert space.dim == 20
    assert len(space.column_names) == 20
    assert space.column_names[:3] == ("model=linear", "model=tree", "penalty=l1")
    assert space.categorical_slices() == [(0, 1), (2, 3, 4), (8, 9, 10), (12, 13), (15, 16, 17, 18)]
    linear = {"model": "linear", "penalty": "l2", "C": 1.0, "scaler": "none", "tol": 1e-4}
    tree = {
        "model": "tree",
        "max_depth": 4,
        "criterion": "gini",
        "n_estimators": 100,
        "bootstrap": False,
        "max_features": 0.5,
        "scaler": "robust",
        "tol": 1e-3,
    }
    mask = space.active_mask([linear, tree])
    assert mask[0].tolist() == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]
    assert mask[1].tolist() == [True, False, False, False, True, True, True, True, True, True, True]
    X = space.encode([linear, tree])
    assert X[0, 0] == 1 and X[0, 1] == 0 and X[0, 3] == 1 and X[0, 5] == pytest.approx(0.5)
    assert X[1, 7] == pytest.approx(3 / 31)
    assert X[1, 13] == 1.0 and X[1, 12] == 0.0  # bootstrap=False
    frame = space.to_frame([linear, tree])
    assert list(frame.columns) == list(space.names)
    assert frame["C"].dtype == np.float64 and math.isnan(frame.loc[1, "C"])
    assert frame.loc[0, "max_depth"] != frame.loc[0, "max_depth"]  # NaN when inactive
    assert frame.loc[0, "criterion"] is None


def test_decode_rounds_ints_clips_and_takes_argmax() -> None:
    space = Space(
        (
            IntParam("layers", 1, 5),
            FloatParam("lr", 1e-4, 1e-1, log=True),
            CategoricalParam("act", ("relu", "tanh", "gelu")),
        )
    )
    (config,) = space.decode(np.array([[0.49, 1.7, 0.2, 0.9, 0.3]]))
    assert config == {"layers": 3, "lr": pytest.approx(0.1), "act": "tanh"}
    assert isinstance(config["layers"], int)
    (low_end,) = space.decode(np.array([[-3.0, 0.0, 0.0, 0.0, 0.0]]))
    assert low_end["layers"] == 1 and low_end["lr"] == pytest.approx(1e-4)
    with pytest.raises(SpaceError, match=r"shape \(n, 5\)"):
        space.decode(np.zeros((2, 4)))
    with pytest.raises(SpaceError, match="shape"):
        space.decode(np.zeros(5))
    with pytest.raises(SpaceError, match="NaN"):
        space.decode(np.full((1, 5), np.nan))


def test_encode_clips_slightly_out_of_range_values_and_matches_strings() -> None:
    space = Space(
        (
            FloatParam("x", 0.0, 1.0),
            IntParam("batch", 16, 512, log=True),
            CategoricalParam("width", (32, 64, 128)),
        )
    )
    frame = pd.DataFrame({"x": [1.0 + 1e-9, -1e-9], "batch": [16.0, 512.0], "width": ["64", "32"]})
    X = space.encode(frame)
    np.testing.assert_allclose(X, [[1, 0, 0, 1, 0], [0, 1, 1, 0, 0]])
    # Values from Parquet (strings) map to the int choices themselves.
    assert space.decode(X)[0]["width"] == 64
    # Numbers that are not string-equal but value-equal match too (64.0 vs 64).
    np.testing.assert_array_equal(
        space.encode([{"x": 0.5, "batch": 16, "width": 64.0}])[0, 2:], [0, 1, 0]
    )
    # Mixed-type choices stay apart although pandas would merge 1, 1.0 and True.
    mixed = Space((CategoricalParam("c", (1, True, "x")),))
    X_mixed = mixed.encode(
        pd.DataFrame({"c": pd.Series([1, True, 1.0, "x", "True"], dtype=object)})
    )
    assert X_mixed.argmax(axis=1).tolist() == [0, 1, 0, 2, 1]
    with pytest.raises(SpaceError, match="'256' is not a valid choice"):
        space.encode(pd.DataFrame({"x": [0.5], "batch": [32], "width": ["256"]}))
    with pytest.raises(SpaceError, match="'x' is active but missing"):
        space.encode(pd.DataFrame({"x": [np.nan], "batch": [32], "width": ["32"]}))
    with pytest.raises(SpaceError, match="expected numbers"):
        space.encode([{"x": "big", "batch": 32, "width": 32}])


def test_arrow_boolean_strings_match_bool_choices() -> None:
    space = conditional_space()
    tree = {"model": "tree", "max_depth": 3, "criterion": "gini", "n_estimators": 100,
            "max_features": 0.5, "scaler": "none", "tol": 1e-4}  # fmt: skip
    as_arrow = pd.DataFrame([{**tree, "bootstrap": "true"}, {**tree, "bootstrap": "false"}])
    native = [{**tree, "bootstrap": True}, {**tree, "bootstrap": False}]
    np.testing.assert_array_equal(space.encode(as_arrow), space.encode(native))
    assert [c["bootstrap"] for c in space.decode(space.encode(as_arrow))] == [True, False]


def test_an_unmatched_value_of_an_inactive_parameter_counts_as_missing() -> None:
    """A writer that stores ``"nan"`` strings instead of nulls for inactive categoricals
    (pandas' ``astype(str)``) still encodes; where the parameter is active it is an error."""
    space = conditional_space()
    linear = {"model": "linear", "penalty": "l2", "C": 1.0, "scaler": "none", "tol": 1e-4}
    written = pd.DataFrame([{**linear, "criterion": "nan", "bootstrap": "nan"}])
    np.testing.assert_array_equal(space.encode(written), space.encode([linear]))
    tree = {"model": "tree", "max_depth": 3, "criterion": "nan", "n_estimators": 100,
            "bootstrap": True, "max_features": 0.5, "scaler": "none", "tol": 1e-4}  # fmt: skip
    with pytest.raises(SpaceError, match="parameter 'criterion': 'nan' is not a valid choice"):
        space.encode(pd.DataFrame([tree]))


# ---------------------------------------------------------------- shared benchmark format
@needs_lcbench
def test_from_json_lcbench_and_encode_trials_fast() -> None:
    space = Space.from_json(LCBENCH / "space.json")
    assert space.dim == 7
    assert space.names[0] == "batch_size" and isinstance(space.parameters[0], IntParam)
    assert space.parameters[1].log
    trials = pd.read_parquet(LCBENCH / "trials.parquet")
    table = trials.iloc[:66_000]
    X = space.encode(table)
    assert X.shape == (66_000, 7)
    assert (X >= 0).all() and (X <= 1).all()
    assert X.std(axis=0).min() > 0.1
    decoded = space.decode(X[:50])
    for config, (_, row) in zip(decoded, table.iloc[:50].iterrows(), strict=True):
        for name in ("learning_rate", "momentum", "weight_decay"):
            assert config[name] == pytest.approx(row[name], rel=1e-9)
        assert config["num_layers"] == int(row["num_layers"])


@needs_lcbench
def test_dict_round_trip_ignores_extra_keys() -> None:
    raw = json.loads((LCBENCH / "space.json").read_text())
    space = Space.from_dict(raw)
    assert Space.from_dict(space.to_dict()) == space
    conditional = conditional_space()
    assert Space.from_dict(json.loads(json.dumps(conditional.to_dict()))) == conditional


def test_from_json_reports_bad_files(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match="cannot read space file"):
        Space.from_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SpaceError, match="not valid JSON"):
        Space.from_json(bad)
    with pytest.raises(SpaceError, match="missing field 'high'"):
        Space.from_dict({"parameters": [{"name": "x", "type": "float", "low": 0}]})
    with pytest.raises(SpaceError, match="type must be"):
        Space.from_dict({"parameters": [{"name": "x", "type": "ordinal", "low": 0, "high": 1}]})


# ---------------------------------------------------------------- construction errors
@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Space((FloatParam("x", 0, 1), IntParam("x", 0, 3))), "appears twice"),
        (lambda: FloatParam("x", 2.0, 1.0), "`low <= high` must hold"),
        (lambda: IntParam("n", 5, 2), "`low <= high` must hold"),
        (lambda: FloatParam("lr", 0.0, 1.0, log=True), "needs `low > 0`"),
        (lambda: IntParam("n", 1.5, 3), "must be integers"),  # type: ignore[arg-type]
        (lambda: CategoricalParam("c", ()), "must not be empty"),
        (lambda: CategoricalParam("c", ["a"]), "must be a tuple"),  # type: ignore[arg-type]
        (lambda: CategoricalParam("c", (1, "1")), "repeated"),
        (lambda: CategoricalParam("c", ("a", None)), "None/NaN"),  # type: ignore[arg-type]
        (lambda: Space(()), "at least one parameter"),
        (
            lambda: Space((FloatParam("x", 0, 1),), (Condition("x", "ghost", ("a",)),)),
            "condition parent 'ghost' is not a parameter",
        ),
        (
            lambda: Space(
                (FloatParam("x", 0, 1), FloatParam("y", 0, 1)), (Condition("x", "y", (0.5,)),)
            ),
            "must be a categorical or int",
        ),
        (
            lambda: Space(
                (CategoricalParam("a", ("u", "v")), CategoricalParam("b", ("u", "v"))),
                (Condition("a", "b", ("u",)), Condition("b", "a", ("v",))),
            ),
            "cycle",
        ),
        (
            lambda: Space(
                (CategoricalParam("a", ("u", "v")), FloatParam("x", 0, 1)),
                (Condition("x", "a", ("w",)),),
            ),
            "'w' is not a choice of parent 'a'",
        ),
        (
            lambda: Space(
                (IntParam("n", 1, 3), FloatParam("x", 0, 1)), (Condition("x", "n", (7,)),)
            ),
            "outside",
        ),
    ],
)
def test_invalid_spaces_raise(build: Any, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        build()


# ---------------------------------------------------------------- validation
def test_validate_normalises() -> None:
    space = conditional_space()
    config = {
        "model": "linear",
        "penalty": "elasticnet",
        "C": 3,
        "l1_ratio": 0.5,
        "tol": 1e-3,
        "scaler": "none",
    }
    out = space.validate({**config, "max_depth": None, "criterion": float("nan")})
    assert out == {**config, "C": 3.0}
    assert isinstance(out["C"], float)
    tree = space.validate(
        {
            "model": "tree",
            "max_depth": np.float64(4.0),
            "criterion": "gini",
            "n_estimators": 10,
            "bootstrap": "False",
            "max_features": 1,
            "scaler": "minmax",
            "tol": 1e-6,
        }
    )
    assert tree["max_depth"] == 4 and type(tree["max_depth"]) is int
    assert tree["bootstrap"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, r"unknown parameter\(s\) \['colour'\]; known parameters are \['model'"),
        ({"C": 1e5}, r"`0.0001 <= value <= 10000.0` must hold, but got 100000.0"),
        ({"tol": -1.0}, "must hold, but got -1.0"),
        ({"C": "big"}, "expects a number"),
        ({"C": True}, "expects a number"),
        ({"C": float("inf")}, "missing|finite"),
        (
            {"penalty": "l3"},
            r"'l3' is not a valid choice; choices are \['l1', 'l2', 'elasticnet'\]",
        ),
        (
            {"max_depth": 3},
            r"'max_depth' is inactive here \(active only when model in \['tree'\]\)",
        ),
        ({"l1_ratio": 0.3}, "'l1_ratio' is inactive here"),
        ({"C": None}, "active parameter 'C' is missing"),
        ({"scaler": float("nan")}, "active parameter 'scaler' is missing"),
    ],
)
def test_validate_errors(change: dict[str, Any], message: str) -> None:
    space = conditional_space()
    config = {"model": "linear", "penalty": "l2", "C": 1.0, "scaler": "none", "tol": 1e-4}
    with pytest.raises(SpaceError, match=message):
        space.validate({**config, **change})


def test_validate_missing_key_and_int_rules() -> None:
    space = Space((IntParam("n", 1, 10), FloatParam("x", 0, 1)))
    with pytest.raises(SpaceError, match="active parameter 'x' is missing"):
        space.validate({"n": 3})
    with pytest.raises(SpaceError, match="expects an integer, got 2.5"):
        space.validate({"n": 2.5, "x": 0.1})
    with pytest.raises(SpaceError, match="must be a mapping"):
        space.validate([("n", 3)])  # type: ignore[arg-type]


def test_int_parent_condition() -> None:
    space = Space(
        (IntParam("layers", 1, 3), IntParam("units_3", 8, 64)),
        (Condition("units_3", "layers", (3,)),),
    )
    assert space.validate({"layers": 3, "units_3": 16}) == {"layers": 3, "units_3": 16}
    assert space.validate({"layers": 2}) == {"layers": 2}
    with pytest.raises(SpaceError, match="inactive"):
        space.validate({"layers": 1, "units_3": 16})
    configs = space.sample(200, seed=3)
    assert all(("units_3" in c) == (c["layers"] == 3) for c in configs)
    assert space.decode(space.encode(configs)) == configs


# ---------------------------------------------------------------- optuna
def test_a_constant_parameter_encodes_to_zero_and_decodes_to_its_value() -> None:
    """low == high is a constant (Optuna's single-value distributions, a benchmark that
    fixes a setting): it encodes to 0, decodes to its value, and samples to it."""
    from optuna import distributions

    space = Space(
        (
            FloatParam("x", 0.0, 1.0),
            FloatParam("wd", 1e-4, 1e-4, log=True),
            IntParam("depth", 6, 6),
        )
    )
    X = space.encode([{"x": 0.25, "wd": 1e-4, "depth": 6}, {"x": 0.5, "wd": 3.0, "depth": 2}])
    np.testing.assert_array_equal(X[:, 1:], 0.0)  # out-of-range values clip to the constant
    assert np.isfinite(X).all()
    decoded = space.decode(np.array([[0.25, 0.7, 0.9]]))[0]
    assert decoded["wd"] == pytest.approx(1e-4) and decoded["depth"] == 6
    assert {row["depth"] for row in space.sample(20, seed=0)} == {6}
    fixed = Space.from_optuna({"lr": distributions.FloatDistribution(0.1, 0.1)})
    assert fixed.decode(np.array([[0.3]]))[0]["lr"] == pytest.approx(0.1)


def test_from_optuna() -> None:
    distributions = pytest.importorskip("optuna.distributions")
    space = Space.from_optuna(
        {
            "lr": distributions.FloatDistribution(1e-5, 1e-1, log=True),
            "layers": distributions.IntDistribution(1, 8),
            "act": distributions.CategoricalDistribution(["relu", "tanh"]),
        }
    )
    assert space.names == ("lr", "layers", "act")
    assert space.parameters == (
        FloatParam("lr", 1e-5, 1e-1, log=True),
        IntParam("layers", 1, 8),
        CategoricalParam("act", ("relu", "tanh")),
    )
    assert space.dim == 4
    with pytest.raises(SpaceError, match="step=2"):
        Space.from_optuna({"n": distributions.IntDistribution(0, 10, step=2)})
    with pytest.raises(SpaceError, match="None choice"):
        Space.from_optuna({"c": distributions.CategoricalDistribution(["a", None])})
    with pytest.raises(SpaceError, match="step=0.5"):
        Space.from_optuna({"x": distributions.FloatDistribution(0, 10, step=0.5)})


# ---------------------------------------------------------------- sampling
def test_sample_respects_conditions_and_validates() -> None:
    space = conditional_space()
    configs = space.sample(400, seed=7)
    assert len(configs) == 400
    assert space.sample(400, seed=7) == configs
    assert space.sample(400, seed=8) != configs
    for config in configs:
        assert space.validate(config) == config
        linear = config["model"] == "linear"
        assert ("C" in config) == linear and ("max_depth" in config) != linear
        assert ("l1_ratio" in config) == (config.get("penalty") == "elasticnet")
    assert {c["model"] for c in configs} == {"linear", "tree"}
    assert {c["criterion"] for c in configs if "criterion" in c} == {"gini", "entropy", "log_loss"}
    depths = [c["max_depth"] for c in configs if "max_depth" in c]
    assert min(depths) == 1 and max(depths) == 32
    # Log-uniform: about half of C below 1 (the log-midpoint of [1e-4, 1e4]).
    cs = np.array([c["C"] for c in configs if "C" in c])
    assert 0.35 < (cs < 1).mean() < 0.65
    assert space.sample(0, seed=1) == []
    with pytest.raises(SpaceError, match="non-negative integer"):
        space.sample(-1)


def test_sample_frame_holds_the_configurations_of_sample() -> None:
    space = conditional_space()
    frame = space.sample_frame(300, seed=7)
    pd.testing.assert_frame_equal(frame, space.to_frame(space.sample(300, seed=7)))
    assert np.array_equal(space.encode(frame), space.encode(space.sample(300, seed=7)))
    assert len(space.sample_frame(0, seed=1)) == 0
    with pytest.raises(SpaceError, match="non-negative integer"):
        space.sample_frame(-1)


# ---------------------------------------------------------------- mixed optimisation helpers
def test_fixed_feature_combinations_honour_conditions() -> None:
    space = conditional_space()
    combos = space.fixed_feature_combinations()
    # scaler (4) x [linear: penalty (3) + tree: criterion (3) x bootstrap (2)]
    assert len(combos) == 4 * (3 + 6)
    assert len({tuple(sorted(c.items())) for c in combos}) == len(combos)
    rng = np.random.default_rng(0)
    for fixed in combos:
        for group in space.categorical_slices():
            assert all(col in fixed for col in group)
            assert sum(fixed[col] for col in group) in (0.0, 1.0)
        X = rng.uniform(size=(1, space.dim))
        for col, value in fixed.items():
            X[0, col] = value
        (config,) = space.decode(X)
        assert space.validate(config) == config
        np.testing.assert_array_equal(space.encode([config])[0, list(fixed)], list(fixed.values()))
    assert Space((FloatParam("x", 0, 1),)).fixed_feature_combinations() == [{}]


def test_fixed_feature_combinations_cap() -> None:
    space = Space(tuple(CategoricalParam(f"c{i}", ("a", "b", "c")) for i in range(6)))
    with pytest.raises(SpaceError, match="more than 256"):
        space.fixed_feature_combinations()
    assert len(space.fixed_feature_combinations(max_combinations=729)) == 729


# ---------------------------------------------------------------- local sampling
def test_sample_around_stays_valid_and_near_its_centres() -> None:
    """Local candidates are valid configurations (inactive children null), and with small
    steps they stay closer to the centres than uniform draws do."""
    space = conditional_space()
    centres = space.sample(3, seed=1)
    local = space.sample_around(centres, 400, seed=0, scales=(0.01, 0.05))
    assert len(local) == 400
    for row in local.to_dict("records"):
        space.validate({k: v for k, v in row.items() if v is not None and v == v})

    def nearest(frame: pd.DataFrame) -> np.ndarray:
        X, C = space.encode(frame), space.encode(centres)
        return np.sqrt(((X[:, None] - C[None]) ** 2).sum(-1)).min(axis=1)

    uniform = nearest(space.sample_frame(400, seed=0))
    assert np.median(nearest(local)) < 0.25 * np.median(uniform)
    wide = space.sample_around(centres, 400, seed=0, scales=(0.2, 0.3))
    assert np.median(nearest(local)) < np.median(nearest(wide))
    # a categorical switch activates children that the centre lacked: they get values
    switched = local[local["model"] != pd.Series([c["model"] for c in centres]).mode()[0]]
    assert space.encode(switched).shape == (len(switched), space.dim)


def test_sample_around_is_seeded_and_rejects_bad_input() -> None:
    space = conditional_space()
    centres = space.sample(2, seed=3)
    first = space.sample_around(centres, 50, seed=7)
    pd.testing.assert_frame_equal(first, space.sample_around(centres, 50, seed=7))
    assert not first.equals(space.sample_around(centres, 50, seed=8))
    with pytest.raises(SpaceError, match="at least one centre"):
        space.sample_around([], 5, seed=0)
    with pytest.raises(SpaceError, match="scales"):
        space.sample_around(centres, 5, seed=0, scales=(0.0, 0.1))


def test_unit_scale_helpers_round_trip_scalars_and_arrays() -> None:
    from recommender.space import from_unit, to_unit

    assert to_unit(1e-3, 1e-4, 1e-1, True) == pytest.approx(1 / 3)
    assert isinstance(to_unit(0.5, 0.0, 2.0, False), float)
    values = np.array([16.0, 64.0, 512.0])
    np.testing.assert_allclose(from_unit(to_unit(values, 16, 512, True), 16, 512, True), values)
    assert to_unit(3.0, 3.0, 3.0, False) == 0.0  # a constant parameter
    space = Space.from_dict(
        {"parameters": [{"name": "lr", "type": "float", "low": 1e-4, "high": 1e-1, "log": True}]}
    )
    assert space.encode([{"lr": 1e-3}])[0, space.column_offsets[0]] == pytest.approx(1 / 3)
