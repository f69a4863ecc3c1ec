"""Recommender: search spaces, transfer surrogate, proposals and the CLI."""

from recommender.space import (
    CategoricalParam,
    Condition,
    FloatParam,
    IntParam,
    Param,
    Space,
)

__all__ = [
    "CategoricalParam",
    "Condition",
    "FloatParam",
    "IntParam",
    "Param",
    "Space",
]
