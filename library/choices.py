"""Which choice of a categorical parameter a stored value means (one rule for every layer).

A value matches a choice when ``str(value) == str(choice)`` (so strings read back from
Parquet match int, float or bool choices of a ``space.json``); failing that, a bool choice
matches its string in any case (``"true"``, as Arrow casts a boolean, matches ``True``),
and a value whose string parses as a number matches a (non-bool) numeric choice of equal
value (``32.0`` and ``"32.0"`` match ``32``). The answer depends on ``str(value)`` only.
`recommender.space.CategoricalParam.index_of` and the benchmark reader use it.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

__all__ = ["choice_index"]


def choice_index(value: object, choices: Sequence[object]) -> int | None:
    """Index of the choice that ``value`` matches (module docstring), or ``None``."""
    key = str(value)
    for index, choice in enumerate(choices):
        if str(choice) == key:
            return index
    for index, choice in enumerate(choices):
        if isinstance(choice, (bool, np.bool_)) and str(choice).lower() == key.lower():
            return index
    try:
        number = float(key)
    except ValueError:
        return None
    for index, choice in enumerate(choices):
        is_number = isinstance(choice, numbers.Real) and not isinstance(choice, (bool, np.bool_))
        if is_number and float(choice) == number:  # type: ignore[arg-type]
            return index
    return None
