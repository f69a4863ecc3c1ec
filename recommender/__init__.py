"""Recommender: search spaces, transfer surrogate, proposals, runner and the CLI.

Light names (the `Space` family) are imported eagerly; the torch-backed ones
(`Recommender`, `TransferOptions`, `run_search`, ...) are imported on first use so that
`recommend --help` and `import recommender.space` stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from recommender.default_box import DefaultBox
from recommender.space import (
    CategoricalParam,
    Condition,
    FloatParam,
    IntParam,
    Param,
    Space,
)

_LAZY: dict[str, str] = {
    "Recommender": "recommender.recommend",
    "Suggestion": "recommender.suggestion",
    "Explanation": "recommender.suggestion",
    "ProposalOptimizer": "recommender.recommend",
    "EnsembleLogEI": "recommender.acquisition",
    "ensemble_acquisition": "recommender.acquisition",
    "optimize_ensemble_acqf": "recommender.acquisition",
    "stacked_acquisition": "recommender.acquisition",
    "TransferOptions": "recommender.transfer_options",
    "SearchTrace": "recommender.transfer",
    "run_pool_search": "recommender.transfer",
    "stacked_prior": "recommender.stacking",
    "FirstPickChoice": "recommender.first_pick",
    "choose_first_pick": "recommender.first_pick",
    "source_typicality": "recommender.first_pick",
    "GuardrailDecision": "recommender.guardrails",
    "SourceModel": "recommender.surrogate",
    "fit_source_model": "recommender.surrogate",
    "CacheWarmReport": "recommender.gp_cache",
    "warm_cache": "recommender.gp_cache",
    "MultiTaskFit": "recommender.multitask",
    "fit_multitask_gp": "recommender.multitask",
    "MultiTaskOptions": "recommender.multitask_search",
    "MultiTaskPick": "recommender.multitask_search",
    "propose_multitask": "recommender.multitask_search",
    "run_search": "recommender.runner",
    "RunResult": "recommender.runner",
    "BenchConfig": "recommender.bench",
    "run_transfer_benchmark": "recommender.bench",
}

__all__ = [
    "CategoricalParam",
    "Condition",
    "DefaultBox",
    "FloatParam",
    "IntParam",
    "Param",
    "Space",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'recommender' has no attribute {name!r}")
