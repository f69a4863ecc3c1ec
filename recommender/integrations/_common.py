"""Helpers shared by the integrations: opening libraries, naming and recording tasks."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from featurizers.fingerprint import Fingerprint
from library.exceptions import SpaceError
from library.store import Library
from recommender.space import Space

__all__ = [
    "SUGGEST_OPTIONS",
    "as_space",
    "check_suggest_options",
    "observed_cost",
    "derive_task_id",
    "ensure_task",
    "open_libraries",
    "same_config",
    "trial_rows",
]

LibraryLike = Library | str | Path

#: `Recommender.suggest` options an integration passes through (it sets the others itself)
SUGGEST_OPTIONS = frozenset(
    {
        "default",
        "max_deviation",
        "max_cost",
        "cost_metric",
        "cost_confidence",
        "optimizer",
        "exclude",
    }
)


def check_suggest_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``suggest_options`` of an integration, checked: only `SUGGEST_OPTIONS`.

    Raises:
        SpaceError: an option the integration sets itself, or no `suggest` option at all.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - SUGGEST_OPTIONS)
    if unknown:
        raise SpaceError(
            f"suggest_options {unknown} are not passed through; allowed: {sorted(SUGGEST_OPTIONS)}"
        )
    return options


def observed_cost(
    options: Mapping[str, Any], runtime_s: float | None, recorded: Mapping[str, Any]
) -> float:
    """The cost of one finished trial for ``options``' cost cap (NaN: unknown): its wall
    time for the default ``runtime_s`` metric, else its value of that metric in
    ``recorded`` (an Optuna trial's user attributes, a Tune result)."""
    from library.query import RUNTIME_METRIC

    metric = str(options.get("cost_metric", RUNTIME_METRIC))
    value = runtime_s if metric == RUNTIME_METRIC else recorded.get(metric)
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def open_libraries(
    library: LibraryLike | None, *, starter: bool = False
) -> tuple[Library | None, list[Library]]:
    """The writable library (or ``None``) and every library to read sources from.

    Args:
        library: a `Library` or a library directory; created when missing.
        starter: also read the bundled starter library (read-only, below ``library``).

    Returns:
        ``(writable, sources)``: ``sources`` lists ``writable`` first.
    """
    writable = None
    if library is not None:
        writable = library if isinstance(library, Library) else Library.open(library)
    sources: list[Library] = [writable] if writable is not None else []
    if starter:
        from recommender.starter import open_starter_library

        sources.append(open_starter_library())
    return writable, sources


def as_space(space: Space | Mapping[str, Any]) -> Space:
    """A `Space` from a `Space`, a ``space.json``-style dict or Optuna distributions.

    Raises:
        SpaceError: anything else, or an invalid space.
    """
    if isinstance(space, Space):
        return space
    if isinstance(space, Mapping):
        if "parameters" in space:
            return Space.from_dict(space)
        try:
            from optuna.distributions import BaseDistribution
        except ImportError:  # pragma: no cover - optuna is an optional extra
            BaseDistribution = ()  # type: ignore[assignment,misc]
        if space and all(isinstance(v, BaseDistribution) for v in space.values()):
            return Space.from_optuna(space)
    raise SpaceError(
        "space must be a recommender Space, a space.json dict with 'parameters', or a dict "
        f"of Optuna distributions; got {type(space).__name__}"
    )


def derive_task_id(prefix: str, space: Space, fingerprint: Fingerprint | None, extra: str) -> str:
    """A stable task id ``<prefix>/<12 hex>`` from the space, fingerprint and ``extra``."""
    payload = {
        "space": space.to_dict(),
        "fingerprint": None
        if fingerprint is None
        else [None if not np.isfinite(v) else round(float(v), 6) for v in fingerprint.values],
        "extra": extra,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return f"{prefix}/{digest[:12]}"


def ensure_task(
    library: Library,
    task_id: str,
    *,
    space: Space,
    fingerprint: Fingerprint | None,
    objective_name: str,
    direction: str,
    source: str,
    name: str | None = None,
    kind: str | None = None,
) -> bool:
    """Create ``task_id`` in ``library`` (with space and fingerprint) unless it exists.

    Returns:
        ``True`` when the task was created, ``False`` when it already existed.
    """
    if task_id in library.task_ids():
        return False
    record: dict[str, Any] = {
        "task_id": task_id,
        "name": name or task_id,
        "space": space.to_dict(),
        "objective_name": objective_name,
        "direction": direction,
        "source": source,
        "kind": kind,
    }
    if fingerprint is not None:
        record["fingerprint_names"] = list(fingerprint.names)
        record["fingerprint_values"] = [float(v) for v in fingerprint.values]
        record["featurizer_version"] = fingerprint.version
    library.append_tasks([record])
    return True


def trial_rows(
    task_id: str,
    results: Sequence[tuple[Mapping[str, Any], float | None, float | None]],
) -> list[dict[str, Any]]:
    """Library rows for ``(config, value, runtime_s)`` results; NaN values become failed trials."""
    rows: list[dict[str, Any]] = []
    for config, value, runtime in results:
        objective = None if value is None or not np.isfinite(value) else float(value)
        ok = objective is not None
        rows.append(
            {
                "task_id": task_id,
                "objective_value": objective,
                "status": "ok" if ok else "failed",
                "runtime_s": runtime,
                **{f"param_{k}": v for k, v in config.items()},
            }
        )
    return rows


def same_config(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two configurations are equal (numbers compared with a relative 1e-9 tolerance)."""
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if isinstance(value, (int, float)) and isinstance(other, (int, float)):
            if not math.isclose(float(value), float(other), rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif value != other:
            return False
    return True
