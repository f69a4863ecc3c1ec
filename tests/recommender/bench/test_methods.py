"""Benchmark methods in pool mode (so far: the multi-task GP methods ``mtgp`` and
``mtgp-no-guardrails``)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.bench.methods import METHODS, MethodInput, run_method
from recommender.bench.problem import SourceData


def _task(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    X = rng.random((n, 3))
    return X, -(((X - 0.4 - shift) ** 2).sum(axis=1))


@pytest.mark.parametrize("method", ["mtgp", "mtgp-no-guardrails"])
def test_mtgp_picks_distinct_pool_rows_and_starts_from_the_sources(method: str) -> None:
    rng = np.random.default_rng(0)
    sources = tuple(
        SourceData(f"s{i}", None, *_task(rng, 400, 0.02 * i))  # type: ignore[arg-type]
        for i in range(4)
    )
    pool_X, pool_score = _task(rng, 300, 0.03)
    inp = MethodInput(
        space=None,  # type: ignore[arg-type]
        pool_X=pool_X,
        pool_configs=None,
        sources=sources,
        source_models={},
        budget=5,
        seed=0,
    )
    assert method in METHODS
    oracle = run_method(method, inp, pool_score)
    assert len(oracle.picks) == 5 == len(set(oracle.picks))
    # zero-shot: the first pick, from the sources alone, is in the target's best 5%
    assert pool_score[oracle.picks[0]] >= np.quantile(pool_score, 0.95)
