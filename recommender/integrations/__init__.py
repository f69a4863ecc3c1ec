"""Integrations: scikit-learn, Optuna (and Ray Tune) as thin shells over `Recommender`.

Each integration imports its framework lazily: ``import recommender.integrations`` works
without Optuna or Ray installed; the names below resolve on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "WarmStartSampler",
    "WarmStartSearchCV",
    "WarmStartSearcher",
    "import_study",
    "import_study_file",
]

_WHERE = {
    "WarmStartSearchCV": "recommender.integrations.sklearn",
    "WarmStartSampler": "recommender.integrations.optuna",
    "import_study": "recommender.integrations.optuna",
    "import_study_file": "recommender.integrations.optuna_files",
    "WarmStartSearcher": "recommender.integrations.ray",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
