"""`benchmarks/screen_transfer_options.py`: a variant is checked before the cache loads."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("opts", "expected"),
    [
        ({}, ""),
        ({"guardrails": False, "explore_steps": [5, 9]}, ""),
        ({"method": "rgpe"}, ""),
        ({"method": "tpe"}, "method must be 'rgpe'"),
        ({"method": "rgpe", "guardrails": False}, "takes no options, got guardrails"),
        ({"gaurdrails": False}, "gaurdrails"),
        ({"probe": "nowhere"}, "probe must be 'maximin' or 'contrast'"),
        (3, "must be a JSON object"),
    ],
)
def test_variant_problem(opts: object, expected: str) -> None:
    from screen_transfer_options import variant_problem

    problem = variant_problem(opts)
    assert (expected in problem) if expected else problem == ""
    assert bool(problem) == bool(expected)
