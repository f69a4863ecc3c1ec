"""`Suggestion` and `Explanation`: what `suggest` returns, in JSON-friendly form."""

from __future__ import annotations

import json
import math

from recommender.guardrails import GuardrailDecision
from recommender.suggestion import Explanation, Suggestion


def _suggestion(predicted: float) -> Suggestion:
    return Suggestion(
        config={"lr": 0.01},
        predicted=predicted,
        interval=(predicted - 0.1, predicted + 0.1),
        neighbours=(("a", 0.7), ("b", 0.3)),
        phase="gp",
        mode="transfer",
        reason="sources rank the target's trials well",
    )


def test_a_prediction_prints_with_its_interval_and_a_missing_one_as_a_dash() -> None:
    assert _suggestion(0.8125).predicted_text() == "0.812 (0.71..0.91)"
    missing = _suggestion(float("nan"))
    assert not missing.has_prediction and missing.predicted_text() == "-"


def test_a_narrow_cell_puts_the_interval_on_its_own_line() -> None:
    assert _suggestion(0.8125).predicted_text(separator="\n") == "0.812\n(0.71..0.91)"
    assert _suggestion(float("nan")).predicted_text(separator="\n") == "-"


def test_nan_becomes_null_in_json() -> None:
    out = json.loads(json.dumps(_suggestion(float("nan")).to_dict()))
    assert out["predicted"] is None and out["interval"] == [None, None] and out["cost"] is None
    assert out["neighbours"] == [{"task_id": "a", "weight": 0.7}, {"task_id": "b", "weight": 0.3}]


def test_an_explanation_names_sources_by_id() -> None:
    decision = GuardrailDecision(
        step=3, mode="transfer", weights={0: 0.6, 2: 0.4}, reason="r", dropped=(1,)
    )
    explanation = Explanation(
        target="t",
        n_observed=3,
        sources=("a", "b", "c"),
        decisions=(decision,),
        suggestions=(_suggestion(0.5),),
    )
    out = json.loads(json.dumps(explanation.to_dict()))
    assert out["decisions"][0]["dropped"] == ["b"]
    assert out["decisions"][0]["weights"] == {"a": 0.6, "c": 0.4}
    assert math.isclose(out["suggestions"][0]["predicted"], 0.5)
