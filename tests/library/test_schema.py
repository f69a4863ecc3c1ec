"""trial_id hashing: canonical JSON rules, vectorised == scalar, a pinned golden value."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from library.schema import (
    TrialStatus,
    canonical_params_json,
    params_json_column,
    trial_id,
    trial_ids,
)


def test_golden_trial_id_is_stable() -> None:
    # Pinned: a change means every stored trial_id changes; bump SCHEMA_VERSION if intended.
    assert trial_id("t1", {"lr": 0.1}, 52, 0) == (
        "fd6362e10fc7afc392b623252ea3f9eb628ba8b6e064bf8194c62f9bf16f6f12"
    )


def test_canonical_json_rules() -> None:
    text = canonical_params_json({"b": 32.0, "a": 'x"y', "c": None, "d": float("nan"), "e": True})
    assert text == '{"a":"x\\"y","b":32,"e":true}'
    assert json.loads(text) == {"a": 'x"y', "b": 32, "e": True}
    assert canonical_params_json({}) == "{}"


def test_trial_id_ignores_inactive_and_order_but_not_values() -> None:
    base = trial_id("t", {"a": 1, "b": 0.5}, 3.0, 1)
    assert base == trial_id("t", {"b": 0.5, "a": 1.0, "c": None}, 3, 1)
    assert base != trial_id("t", {"a": 1, "b": 0.5}, 3.0, 2)
    assert base != trial_id("t", {"a": 1, "b": 0.5}, None, 1)
    assert base != trial_id("u", {"a": 1, "b": 0.5}, 3.0, 1)
    assert base != trial_id("t", {"a": 1, "b": 0.5000001}, 3.0, 1)


def test_status_enum_values() -> None:
    assert [s.value for s in TrialStatus] == ["ok", "failed", "diverged", "timeout", "pruned"]


_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(
    floats=st.lists(st.one_of(st.none(), _finite), min_size=1, max_size=8),
    words=st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=1, max_size=8),
    fidelity=st.one_of(st.none(), _finite),
    seed=st.one_of(st.none(), st.integers(-(2**40), 2**40)),
)
def test_vectorised_ids_equal_scalar_ids(
    floats: list[float | None], words: list[str | None], fidelity: float | None, seed: int | None
) -> None:
    n_rows = min(len(floats), len(words))
    floats, words = floats[:n_rows], words[:n_rows]
    table = pa.table({"x": pa.array(floats, pa.float64()), "w": pa.array(words, pa.string())})
    text = params_json_column(table)
    ids = trial_ids(
        pa.array(["task"] * n_rows),
        text,
        pa.array([fidelity] * n_rows, pa.float64()),
        pa.array([seed] * n_rows, pa.int64()),
    ).to_pylist()
    for row in range(n_rows):
        params = {"x": floats[row], "w": words[row]}
        assert text[row].as_py() == canonical_params_json(params)
        assert json.loads(text[row].as_py()) == {k: v for k, v in params.items() if v is not None}
        assert ids[row] == trial_id("task", params, fidelity, seed)


def test_float_round_trip_through_canonical_json() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [rng.normal(size=200) * 10.0 ** rng.integers(-12, 12, 200), [1e-5, 0.1]]
    )
    text = params_json_column(pa.table({"v": values}))
    assert [json.loads(t)["v"] for t in text.to_pylist()] == values.tolist()
