"""Strict JSON text: no NaN or Infinity, NumPy values as plain numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.json_text import json_safe, to_json


def test_non_finite_values_become_null_at_any_depth() -> None:
    payload = {
        "a": float("nan"),
        "b": [1.5, float("inf"), (float("-inf"), 2)],
        "c": {"d": np.float32("nan"), "e": np.arange(3), "f": np.array([np.nan, 1.0])},
        "g": "NaN",
    }
    text = to_json(payload)
    assert json.loads(text, parse_constant=pytest.fail) == {
        "a": None,
        "b": [1.5, None, [None, 2]],
        "c": {"d": None, "e": [0, 1, 2], "f": [None, 1.0]},
        "g": "NaN",  # a string is data, not a number
    }


def test_other_objects_are_written_as_text_and_keywords_pass_through() -> None:
    class Tag:
        def __str__(self) -> str:
            return "tag"

    assert to_json({"b": Tag(), "a": 1}, sort_keys=True) == '{"a": 1, "b": "tag"}'
    assert json_safe((1, np.int64(2))) == [1, 2]
    assert "\n" in to_json({"a": 1}, indent=1)
