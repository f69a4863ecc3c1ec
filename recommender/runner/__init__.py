"""The runner: train proposed configurations safely and record them.

Public API: `run_search` (the ``recommend run`` command from Python), the `Proposer`
protocol with `RandomProposer`, the guardrail types and the scale-transfer experiment.
"""

from typing import TYPE_CHECKING

from recommender.runner.data import TabularData, TaskKind, load_tabular
from recommender.runner.errors import DivergenceError
from recommender.runner.evaluate import EvalOutcome, EvalSettings, evaluate_config
from recommender.runner.guardrails import (
    Budget,
    FinalDecision,
    TrialExecutor,
    TrialLimits,
    decide_final,
    project_to_deviation,
)
from recommender.runner.models import (
    ModelFamily,
    build_estimator,
    default_config,
    default_space,
)
from recommender.runner.multifidelity import Bracket, FidelityMode, Rung, Schedule
from recommender.runner.run import (
    Proposer,
    RandomProposer,
    RecommenderProposer,
    RunPreempted,
    RunResult,
    RunSettings,
    TrialRecord,
    dataset_fingerprint,
    record_trial,
    run_search,
)

if TYPE_CHECKING:  # imported lazily at run time (`__getattr__`); typed for mypy and editors
    from recommender.runner.torch_mlp import MLPNet, TorchMLPEstimator, resolve_device

_LAZY = {"MLPNet", "TorchMLPEstimator", "resolve_device"}


def __getattr__(name: str) -> object:
    # torch is imported only when the MLP trainer is used: scikit-learn trial workers
    # then start without paying for it.
    if name in _LAZY:
        from recommender.runner import torch_mlp

        return getattr(torch_mlp, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Bracket",
    "Budget",
    "DivergenceError",
    "EvalOutcome",
    "EvalSettings",
    "FidelityMode",
    "FinalDecision",
    "MLPNet",
    "ModelFamily",
    "Proposer",
    "RandomProposer",
    "RecommenderProposer",
    "Rung",
    "RunPreempted",
    "RunResult",
    "RunSettings",
    "Schedule",
    "TabularData",
    "TaskKind",
    "TorchMLPEstimator",
    "TrialExecutor",
    "TrialLimits",
    "TrialRecord",
    "build_estimator",
    "dataset_fingerprint",
    "decide_final",
    "default_config",
    "default_space",
    "evaluate_config",
    "load_tabular",
    "project_to_deviation",
    "record_trial",
    "resolve_device",
    "run_search",
]
