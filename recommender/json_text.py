"""Strict JSON text for `--json` output, reports and files that scripts parse.

Python's `json.dumps` writes a missing prediction (NaN) or an infinite value as the bare
words ``NaN`` / ``Infinity``, which are not JSON: ``jq``, JavaScript's ``JSON.parse`` and
most other parsers reject the whole document. Every `recommend ... --json` output goes
through `to_json`, which writes those values as ``null`` instead, and NumPy scalars and
arrays as plain numbers and lists.

Example:
    >>> to_json({"predicted": float("nan"), "interval": [0.1, float("inf")]})
    '{"predicted": null, "interval": [0.1, null]}'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["json_safe", "to_json"]


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None``, recursively.

    Mappings, lists and tuples are rebuilt (tuples become lists); NumPy scalars and arrays
    become Python numbers and lists. Anything else is returned unchanged.
    """
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def to_json(payload: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``payload`` (`json_safe`; other objects via ``str``).

    Args:
        payload: what to write.
        **kwargs: passed to `json.dumps` (``indent``, ``sort_keys``).

    Returns:
        The JSON text, with no ``NaN`` or ``Infinity`` in it.
    """
    return json.dumps(json_safe(payload), allow_nan=False, default=str, **kwargs)
