"""Search spaces: float / int / categorical parameters, log scales and conditions.

A :class:`Space` validates user configurations and maps them to and from the unit cube that
the surrogate and the acquisition optimiser work in.

Encoding (the reference encoding of ``benchmarks/ANCHORS.md``), one block of columns per
parameter in declaration order:

* float / int: ``log`` first when the parameter is log-scaled, then min-max scaled to
  ``[0, 1]``; one column. Values outside ``[low, high]`` are clipped. Decoding inverts the
  transform; ints are rounded to the nearest integer and clipped to ``[low, high]``.
* categorical: one-hot, one column per choice in choice order. Decoding takes the argmax.
* an inactive conditional parameter encodes as ``0`` (all zeros for a categorical).

Conditions: a :class:`Condition` makes ``child`` active only when ``parent`` is active and
takes one of ``values``. Several conditions on the same child must all hold (AND). Parents
are categorical or int parameters.

Categorical matching: a value matches a choice when ``str(value) == str(choice)`` (so the
strings read back from Parquet match int, float or bool choices of a ``space.json``);
failing that, a bool choice matches its string in any case (``"true"``, as Arrow casts a
boolean, matches ``True``), and a value whose string parses as a number matches a
(non-bool) numeric choice of equal value (``32.0`` and ``"32.0"`` match ``32``). Matching
thus depends on ``str(value)`` only. Choices must be distinct under ``str``. Decoding
always returns the choice object itself. A value that matches no choice is an error where
its parameter is active and counts as missing where it is inactive (a ``"nan"`` string
written for null).

Example:
    >>> space = Space.from_dict({"parameters": [
    ...     {"name": "lr", "type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    ...     {"name": "opt", "type": "categorical", "choices": ["sgd", "adam"]}]})
    >>> space.dim
    3
    >>> X = space.encode([{"lr": 1e-3, "opt": "adam"}])  # shape 1 x 3
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pandas as pd

from library.choices import choice_index
from library.exceptions import SpaceError

if TYPE_CHECKING:  # pragma: no cover
    from optuna.distributions import BaseDistribution

__all__ = [
    "FloatParam",
    "IntParam",
    "CategoricalParam",
    "Condition",
    "Param",
    "Space",
    "from_unit",
    "to_unit",
]

ChoiceValue = Union[str, int, float, bool]  # noqa: UP007 - used at runtime on py3.10

_DEFAULT_MAX_COMBINATIONS = 256
#: the choice index of a categorical value no choice matches, until activity is known
_UNKNOWN = -2


def to_unit(value: Any, low: float, high: float, log: bool) -> Any:
    """A numeric parameter's value(s) on its unit scale (log scale when ``log``): ``low``
    is 0, ``high`` is 1; a constant parameter (``low == high``) is 0. Floats in, floats
    out; arrays in, arrays out."""
    values = np.asarray(value, dtype=np.float64)
    if high <= low:
        return np.zeros_like(values)[()]
    if log:
        return ((np.log(values) - math.log(low)) / (math.log(high) - math.log(low)))[()]
    return ((values - low) / (high - low))[()]


def from_unit(unit: Any, low: float, high: float, log: bool) -> Any:
    """The inverse of `to_unit` (no clipping, no integer rounding)."""
    units = np.asarray(unit, dtype=np.float64)
    if log:
        return np.exp(math.log(low) + units * (math.log(high) - math.log(low)))[()]
    return (low + units * (high - low))[()]


def _is_number(value: object) -> bool:
    """True for real numbers that are not bools (numpy scalars included)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _is_null(value: object) -> bool:
    """True for ``None`` and float NaN (``pd.NA`` included)."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _check_name(name: object, kind: str) -> None:
    if not isinstance(name, str) or not name:
        raise SpaceError(f"{kind} name must be a non-empty string, got {name!r}")


def _check_bounds(name: str, low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise SpaceError(f"parameter {name!r}: bounds must be finite, got (low={low}, high={high})")
    if low > high:
        raise SpaceError(
            f"parameter {name!r}: `low <= high` must hold, but got (low={low}, high={high}); "
            "swap the bounds (low == high is a constant parameter)"
        )
    if log and low <= 0:
        raise SpaceError(
            f"parameter {name!r}: a log-scaled parameter needs `low > 0`, but got low={low}; "
            "raise `low` or set log=False"
        )


@dataclass(frozen=True, slots=True)
class FloatParam:
    """A real-valued parameter in ``[low, high]``, optionally log-scaled.

    Args:
        name: Parameter name.
        low: Lower bound (inclusive).
        high: Upper bound (inclusive), ``>= low`` (equal: a constant, as Optuna allows).
        log: Encode ``log(value)`` instead of ``value``; needs ``low > 0``.
    """

    name: str
    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        _check_name(self.name, "parameter")
        if not (_is_number(self.low) and _is_number(self.high)):
            raise SpaceError(
                f"parameter {self.name!r}: low and high must be numbers, "
                f"got (low={self.low!r}, high={self.high!r})"
            )
        _check_bounds(self.name, float(self.low), float(self.high), bool(self.log))


@dataclass(frozen=True, slots=True)
class IntParam:
    """An integer parameter in ``[low, high]``, optionally log-scaled.

    Args:
        name: Parameter name.
        low: Lower bound (inclusive), an integer.
        high: Upper bound (inclusive), an integer ``>= low`` (equal: a constant).
        log: Encode ``log(value)`` instead of ``value``; needs ``low > 0``.
    """

    name: str
    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        _check_name(self.name, "parameter")
        for bound in (self.low, self.high):
            if not isinstance(bound, (int, np.integer)) or isinstance(bound, (bool, np.bool_)):
                raise SpaceError(
                    f"parameter {self.name!r}: int bounds must be integers, "
                    f"got (low={self.low!r}, high={self.high!r}); use FloatParam for reals"
                )
        _check_bounds(self.name, float(self.low), float(self.high), bool(self.log))


@dataclass(frozen=True, slots=True)
class CategoricalParam:
    """A parameter taking one of a fixed tuple of ``choices`` (one-hot encoded).

    Args:
        name: Parameter name.
        choices: Non-empty tuple of str / int / float / bool values, distinct under ``str``.
    """

    name: str
    choices: tuple[ChoiceValue, ...]

    def __post_init__(self) -> None:
        _check_name(self.name, "parameter")
        if not isinstance(self.choices, tuple):
            raise SpaceError(
                f"parameter {self.name!r}: choices must be a tuple, got "
                f"{type(self.choices).__name__}; pass tuple(choices)"
            )
        if not self.choices:
            raise SpaceError(f"parameter {self.name!r}: choices must not be empty")
        seen: set[str] = set()
        for choice in self.choices:
            if not isinstance(choice, (str, int, float, bool, np.generic)) or _is_null(choice):
                raise SpaceError(
                    f"parameter {self.name!r}: choices must be str, int, float or bool "
                    f"(None/NaN mean 'inactive'), got {choice!r}"
                )
            key = str(choice)
            if key in seen:
                raise SpaceError(
                    f"parameter {self.name!r}: choice {choice!r} is repeated (choices are "
                    f"compared with str()), got {self.choices!r}"
                )
            seen.add(key)

    def index_of(self, value: object) -> int | None:
        """Index of the choice that ``value`` matches, or ``None`` (see module docstring;
        the rule is `library.choices.choice_index`).

        The answer depends on ``str(value)`` only, so encoding can group values by string.
        """
        return choice_index(value, self.choices)


Param = Union[FloatParam, IntParam, CategoricalParam]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class Condition:
    """``child`` is active only when ``parent`` is active and takes one of ``values``.

    Args:
        child: Name of the conditional parameter.
        parent: Name of a categorical or int parameter.
        values: Tuple of parent values that activate the child.
    """

    child: str
    parent: str
    values: tuple

    def __post_init__(self) -> None:
        _check_name(self.child, "condition child")
        _check_name(self.parent, "condition parent")
        if not isinstance(self.values, tuple) or not self.values:
            raise SpaceError(
                f"condition on {self.child!r}: values must be a non-empty tuple, got {self.values!r}"
            )


@dataclass(frozen=True, slots=True)
class _Layout:
    """Derived, read-only facts about a space (cheap to recompute)."""

    by_name: dict[str, Param]
    position: dict[str, int]
    offsets: tuple[int, ...]
    dim: int
    order: tuple[int, ...]  # topological order (parents first) as parameter positions
    conditions_of: dict[int, tuple[tuple[int, tuple[int, ...]], ...]]  # child -> (parent, codes)


def _parent_codes(space_params: Mapping[str, Param], condition: Condition) -> tuple[int, ...]:
    """Condition values as parent codes: choice indices (categorical) or ints."""
    parent = space_params[condition.parent]
    codes: list[int] = []
    for value in condition.values:
        if isinstance(parent, CategoricalParam):
            index = parent.index_of(value)
            if index is None:
                raise SpaceError(
                    f"condition on {condition.child!r}: {value!r} is not a choice of parent "
                    f"{condition.parent!r}; choices are {list(parent.choices)}"
                )
            codes.append(index)
        elif isinstance(parent, IntParam):
            if not _is_number(value) or float(value) != round(float(value)):
                raise SpaceError(
                    f"condition on {condition.child!r}: int parent {condition.parent!r} needs "
                    f"integer values, got {value!r}"
                )
            if not parent.low <= value <= parent.high:
                raise SpaceError(
                    f"condition on {condition.child!r}: value {value!r} is outside "
                    f"[{parent.low}, {parent.high}] of parent {condition.parent!r}"
                )
            codes.append(int(value))
        else:
            raise SpaceError(
                f"condition on {condition.child!r}: parent {condition.parent!r} must be a "
                "categorical or int parameter, not a float one"
            )
    return tuple(codes)


@dataclass(frozen=True, slots=True)
class Space:
    """A search space: parameters in declaration order plus activation conditions.

    Args:
        parameters: Tuple of :class:`FloatParam`, :class:`IntParam`, :class:`CategoricalParam`.
        conditions: Tuple of :class:`Condition`; several on one child combine with AND.

    Raises:
        SpaceError: duplicate names, bad bounds or choices, a condition naming an unknown
            parameter or a float parent, a value that is not a parent choice, or a cycle.
    """

    parameters: tuple[Param, ...]
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.parameters, tuple) or not isinstance(self.conditions, tuple):
            raise SpaceError("Space parameters and conditions must be tuples; pass tuple(...)")
        if not self.parameters:
            raise SpaceError("a Space needs at least one parameter")
        for param in self.parameters:
            if not isinstance(param, (FloatParam, IntParam, CategoricalParam)):
                raise SpaceError(
                    f"parameters must be FloatParam, IntParam or CategoricalParam, got {param!r}"
                )
        for condition in self.conditions:
            if not isinstance(condition, Condition):
                raise SpaceError(f"conditions must be Condition objects, got {condition!r}")
        self._layout()  # raises on duplicates, unknown names, bad values and cycles

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Space:
        """Build a space from the shared benchmark ``space.json`` format.

        Args:
            d: Mapping with ``parameters`` (list of ``{"name", "type", "low", "high", "log"}``
                or ``{"name", "type": "categorical", "choices"}``) and optional
                ``conditions`` (list of ``{"child", "parent", "values"}``). Other keys
                (``objective``, ``fidelity``, ...) are ignored.

        Returns:
            The validated space.

        Raises:
            SpaceError: a missing or malformed field (named), or an invalid space.
        """
        if not isinstance(d, Mapping) or "parameters" not in d:
            raise SpaceError("space dict needs a 'parameters' list (see benchmarks FORMAT.md)")
        raw_params = d["parameters"]
        if not isinstance(raw_params, Sequence) or isinstance(raw_params, str):
            raise SpaceError(f"'parameters' must be a list, got {type(raw_params).__name__}")
        params: list[Param] = []
        for i, raw in enumerate(raw_params):
            if not isinstance(raw, Mapping) or "name" not in raw or "type" not in raw:
                raise SpaceError(f"parameters[{i}] needs 'name' and 'type', got {raw!r}")
            name, kind = raw["name"], raw["type"]
            try:
                if kind == "float":
                    params.append(
                        FloatParam(name, raw["low"], raw["high"], bool(raw.get("log", False)))
                    )
                elif kind == "int":
                    low, high = raw["low"], raw["high"]
                    if _is_number(low) and float(low).is_integer():
                        low = int(low)
                    if _is_number(high) and float(high).is_integer():
                        high = int(high)
                    params.append(IntParam(name, low, high, bool(raw.get("log", False))))
                elif kind == "categorical":
                    params.append(CategoricalParam(name, tuple(raw["choices"])))
                else:
                    raise SpaceError(
                        f"parameters[{i}] ({name!r}): type must be 'float', 'int' or "
                        f"'categorical', got {kind!r}"
                    )
            except KeyError as err:
                raise SpaceError(
                    f"parameters[{i}] ({name!r}, type {kind!r}) is missing field {err.args[0]!r}"
                ) from None
        conditions: list[Condition] = []
        for i, raw in enumerate(d.get("conditions") or ()):
            if not isinstance(raw, Mapping) or not {"child", "parent", "values"} <= set(raw):
                raise SpaceError(f"conditions[{i}] needs 'child', 'parent', 'values'; got {raw!r}")
            values = raw["values"]
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                values = (values,)
            conditions.append(Condition(raw["child"], raw["parent"], tuple(values)))
        return cls(tuple(params), tuple(conditions))

    @classmethod
    def from_json(cls, path: str | Path) -> Space:
        """Read a ``space.json`` file (see :meth:`from_dict`).

        Raises:
            SpaceError: the file cannot be read or parsed, or describes an invalid space.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise SpaceError(f"cannot read space file {str(path)!r}: {err}") from err
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpaceError(f"space file {str(path)!r} is not valid JSON: {err}") from err
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The space in the ``space.json`` format (``parameters`` and ``conditions`` only)."""
        params: list[dict[str, Any]] = []
        for p in self.parameters:
            if isinstance(p, CategoricalParam):
                params.append({"name": p.name, "type": "categorical", "choices": list(p.choices)})
            else:
                kind = "int" if isinstance(p, IntParam) else "float"
                params.append(
                    {"name": p.name, "type": kind, "low": p.low, "high": p.high, "log": p.log}
                )
        conditions = [
            {"child": c.child, "parent": c.parent, "values": list(c.values)}
            for c in self.conditions
        ]
        return {"parameters": params, "conditions": conditions}

    @classmethod
    def from_optuna(cls, distributions: Mapping[str, BaseDistribution]) -> Space:
        """Build a flat space from Optuna distributions (name -> distribution).

        Supports ``FloatDistribution`` without ``step``, ``IntDistribution`` with
        ``step == 1`` and ``CategoricalDistribution`` (without ``None`` choices).

        Raises:
            SpaceError: an unsupported distribution or option, or an invalid space.
        """
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        params: list[Param] = []
        for name, dist in distributions.items():
            if isinstance(dist, FloatDistribution):
                if dist.step is not None:
                    raise SpaceError(
                        f"optuna parameter {name!r}: FloatDistribution with step={dist.step} is "
                        "not supported; drop `step` or use an IntDistribution/categorical"
                    )
                params.append(FloatParam(name, float(dist.low), float(dist.high), dist.log))
            elif isinstance(dist, IntDistribution):
                if dist.step != 1:
                    raise SpaceError(
                        f"optuna parameter {name!r}: IntDistribution with step={dist.step} is "
                        "not supported (only step=1); use a CategoricalDistribution instead"
                    )
                params.append(IntParam(name, int(dist.low), int(dist.high), dist.log))
            elif isinstance(dist, CategoricalDistribution):
                if any(choice is None for choice in dist.choices):
                    raise SpaceError(
                        f"optuna parameter {name!r}: a None choice is not supported (None "
                        "means 'inactive' here); use a string such as 'none'"
                    )
                choices = tuple(choice for choice in dist.choices if choice is not None)
                params.append(CategoricalParam(name, choices))
            else:
                raise SpaceError(
                    f"optuna parameter {name!r}: unsupported distribution "
                    f"{type(dist).__name__}; use Float/Int/CategoricalDistribution"
                )
        return cls(tuple(params))

    # ------------------------------------------------------------------ layout
    def _layout(self) -> _Layout:
        by_name: dict[str, Param] = {}
        position: dict[str, int] = {}
        offsets: list[int] = []
        dim = 0
        for i, p in enumerate(self.parameters):
            if p.name in by_name:
                raise SpaceError(f"parameter name {p.name!r} appears twice; names must be unique")
            by_name[p.name] = p
            position[p.name] = i
            offsets.append(dim)
            dim += len(p.choices) if isinstance(p, CategoricalParam) else 1
        grouped: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
        for c in self.conditions:
            for role, name in (("child", c.child), ("parent", c.parent)):
                if name not in by_name:
                    raise SpaceError(
                        f"condition {role} {name!r} is not a parameter; known: {list(by_name)}"
                    )
            if c.child == c.parent:
                raise SpaceError(f"condition on {c.child!r} names itself as parent (a cycle)")
            grouped.setdefault(position[c.child], []).append(
                (position[c.parent], _parent_codes(by_name, c))
            )
        # Kahn's algorithm, stable in declaration order.
        parents_left = {i: {par for par, _ in grouped.get(i, [])} for i in range(len(by_name))}
        order: list[int] = []
        while len(order) < len(by_name):
            ready = [i for i, left in parents_left.items() if not left and i not in order]
            if not ready:
                stuck = [self.parameters[i].name for i in parents_left if i not in order]
                raise SpaceError(f"conditions form a cycle among parameters {stuck}")
            order.extend(ready)
            for left in parents_left.values():
                left.difference_update(ready)
        return _Layout(
            by_name=by_name,
            position=position,
            offsets=tuple(offsets),
            dim=dim,
            order=tuple(order),
            conditions_of={k: tuple(v) for k, v in grouped.items()},
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in declaration order."""
        return tuple(p.name for p in self.parameters)

    @property
    def dim(self) -> int:
        """Number of encoded columns (one per numeric parameter, one per choice)."""
        return sum(
            len(p.choices) if isinstance(p, CategoricalParam) else 1 for p in self.parameters
        )

    @property
    def column_offsets(self) -> tuple[int, ...]:
        """The first encoded column of each parameter, in declaration order."""
        return self._layout().offsets

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of the encoded columns: ``name`` or ``name=choice`` for one-hot columns."""
        columns: list[str] = []
        for p in self.parameters:
            if isinstance(p, CategoricalParam):
                columns.extend(f"{p.name}={c}" for c in p.choices)
            else:
                columns.append(p.name)
        return tuple(columns)

    def categorical_slices(self) -> list[tuple[int, ...]]:
        """Encoded column indices of each one-hot group, in declaration order."""
        layout = self._layout()
        return [
            tuple(range(layout.offsets[i], layout.offsets[i] + len(p.choices)))
            for i, p in enumerate(self.parameters)
            if isinstance(p, CategoricalParam)
        ]

    def branching_columns(self) -> tuple[int, ...]:
        """One-hot columns of the categorical whose choice switches other parameters on and off.

        The first categorical, in declaration order, that is always active and is the
        parent of a condition (e.g. ``learner`` choosing between model families, each
        with its own parameters); ``()`` when there is none. Each of its choices is a
        branch of the space (`recommender.branch_search`).
        """
        layout = self._layout()
        parents = {parent for conds in layout.conditions_of.values() for parent, _ in conds}
        for i, p in enumerate(self.parameters):
            if isinstance(p, CategoricalParam) and i in parents and i not in layout.conditions_of:
                return tuple(range(layout.offsets[i], layout.offsets[i] + len(p.choices)))
        return ()

    # ------------------------------------------------------------------ columns
    # Internal representation: one array per parameter, numeric -> float64 value (NaN when
    # missing), categorical -> int64 choice index (-1 when missing).

    def _columns_from_frame(self, frame: pd.DataFrame) -> list[np.ndarray]:
        n = len(frame)
        columns: list[np.ndarray] = []
        # categorical values no choice matches: parameter index -> (codes, their values)
        unknown: dict[int, tuple[np.ndarray, list[object]]] = {}
        for i, p in enumerate(self.parameters):
            if p.name not in frame.columns:
                empty = np.full(n, -1, dtype=np.int64) if isinstance(p, CategoricalParam) else None
                columns.append(empty if empty is not None else np.full(n, np.nan))
                continue
            series = frame[p.name]
            if isinstance(p, CategoricalParam):
                if series.dtype == object:
                    # Group by str(): pandas would merge 1, 1.0 and True into one value.
                    keys = series.where(series.isna(), series.astype(str))
                else:
                    keys = series
                codes, uniques = pd.factorize(keys, use_na_sentinel=True)
                lookup = np.empty(len(uniques), dtype=np.int64)
                for j, value in enumerate(uniques):
                    index = p.index_of(value)
                    lookup[j] = _UNKNOWN if index is None else index
                codes = np.asarray(codes, dtype=np.int64)
                if lookup.size == 0:  # every value missing
                    columns.append(np.full(n, -1, dtype=np.int64))
                else:
                    columns.append(np.where(codes >= 0, lookup[np.maximum(codes, 0)], -1))
                if (lookup == _UNKNOWN).any():
                    unknown[i] = (codes, list(uniques))
            else:
                if series.dtype == bool:
                    raise SpaceError(f"parameter {p.name!r}: expected numbers, got booleans")
                try:
                    values = pd.to_numeric(series, errors="raise")
                except (ValueError, TypeError) as err:
                    raise SpaceError(
                        f"parameter {p.name!r}: expected numbers (NaN/None when inactive): {err}"
                    ) from None
                columns.append(np.asarray(values, dtype=np.float64))
        if unknown:
            self._drop_inactive_unknowns(columns, unknown)
        return columns

    def _drop_inactive_unknowns(
        self, columns: list[np.ndarray], unknown: dict[int, tuple[np.ndarray, list[object]]]
    ) -> None:
        """Clear the unmatched categorical values of inactive parameters (an inactive
        value means nothing: a ``"nan"`` string written for null, say); raise on the
        first one where its parameter is active."""
        active = self._active_from_columns(self._layout(), columns)
        for i, (codes, uniques) in unknown.items():
            hit = columns[i] == _UNKNOWN
            wrong = np.flatnonzero(hit & active[:, i])
            if wrong.size:
                p = self.parameters[i]
                choices = list(p.choices) if isinstance(p, CategoricalParam) else []
                raise SpaceError(
                    f"parameter {p.name!r}: {uniques[codes[wrong[0]]]!r} is not a valid "
                    f"choice; choices are {choices}"
                )
            columns[i] = np.where(hit, -1, columns[i])

    def _active_from_columns(self, layout: _Layout, columns: list[np.ndarray]) -> np.ndarray:
        n = len(columns[0]) if columns else 0
        active = np.ones((n, len(self.parameters)), dtype=bool)
        for i in layout.order:
            for parent, codes in layout.conditions_of.get(i, ()):
                values = columns[parent]
                if isinstance(self.parameters[parent], CategoricalParam):
                    hit = np.isin(values, codes)
                else:
                    with np.errstate(invalid="ignore"):
                        hit = np.isin(np.round(values), codes)
                active[:, i] &= active[:, parent] & hit
        return active

    @staticmethod
    def _to_frame_input(configs: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        if isinstance(configs, pd.DataFrame):
            return configs
        if isinstance(configs, Mapping):
            raise SpaceError("expected a sequence of configurations, got a single mapping")
        return pd.DataFrame.from_records(list(configs))

    def _checked_columns(
        self, layout: _Layout, configs: pd.DataFrame | Sequence[Mapping[str, Any]]
    ) -> tuple[list[np.ndarray], np.ndarray]:
        frame = self._to_frame_input(configs)
        columns = self._columns_from_frame(frame)
        active = self._active_from_columns(layout, columns)
        for i, p in enumerate(self.parameters):
            missing = columns[i] < 0 if isinstance(p, CategoricalParam) else np.isnan(columns[i])
            bad = np.flatnonzero(missing & active[:, i])
            if bad.size:
                raise SpaceError(
                    f"parameter {p.name!r} is active but missing (NaN/None) in {bad.size} "
                    f"row(s), first at position {int(bad[0])}; give a value or check conditions"
                )
        return columns, active

    def _rows_from_columns(
        self, columns: list[np.ndarray], active: np.ndarray
    ) -> list[dict[str, Any]]:
        converted: list[list[Any]] = []
        for p, values in zip(self.parameters, columns, strict=True):
            if isinstance(p, CategoricalParam):
                converted.append([p.choices[k] if k >= 0 else None for k in values.tolist()])
            elif isinstance(p, IntParam):
                converted.append([int(v) if v == v else None for v in values.tolist()])
            else:
                converted.append(values.tolist())
        names = self.names
        rows: list[dict[str, Any]] = []
        for r, mask in enumerate(active.tolist()):
            rows.append({names[i]: converted[i][r] for i in range(len(names)) if mask[i]})
        return rows

    # ------------------------------------------------------------------ public mapping
    def encode(self, configs: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Map configurations to the unit cube.

        Vectorised over a DataFrame; columns that are not parameters are ignored, and a
        parameter column that is absent counts as all-missing. Missing values (NaN/None) are
        accepted for inactive parameters; values of inactive parameters are encoded as 0
        whatever they are. Numeric values outside ``[low, high]`` are clipped.

        Args:
            configs: DataFrame with one column per parameter, or a sequence of mappings.

        Returns:
            ``n x dim`` float64 array in ``[0, 1]``.

        Raises:
            SpaceError: an invalid categorical value, a non-numeric numeric value, or a
                missing value for an active parameter.
        """
        layout = self._layout()
        columns, active = self._checked_columns(layout, configs)
        n = active.shape[0]
        X = np.zeros((n, layout.dim), dtype=np.float64)
        for i, p in enumerate(self.parameters):
            offset = layout.offsets[i]
            on = active[:, i]
            if isinstance(p, CategoricalParam):
                rows = np.flatnonzero(on)
                X[rows, offset + columns[i][rows]] = 1.0
            else:
                low, high = float(p.low), float(p.high)
                values = np.clip(columns[i], low, high)
                if high == low:  # a constant: its coordinate is always 0
                    unit = np.zeros(n)
                elif p.log:
                    unit = (np.log(values) - math.log(low)) / (math.log(high) - math.log(low))
                else:
                    unit = (values - low) / (high - low)
                X[:, offset] = np.where(on, np.clip(unit, 0.0, 1.0), 0.0)
        return X

    def _columns_from_unit(self, layout: _Layout, X: np.ndarray) -> list[np.ndarray]:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != layout.dim:
            raise SpaceError(
                f"decode expects an array of shape (n, {layout.dim}) for this space, "
                f"got shape {X.shape}; reshape with X.reshape(-1, {layout.dim})"
            )
        if not np.isfinite(X).all():
            raise SpaceError("decode got NaN or infinite values; check the optimiser output")
        columns: list[np.ndarray] = []
        for i, p in enumerate(self.parameters):
            offset = layout.offsets[i]
            if isinstance(p, CategoricalParam):
                block = X[:, offset : offset + len(p.choices)]
                columns.append(np.argmax(block, axis=1).astype(np.int64))
                continue
            unit = np.clip(X[:, offset], 0.0, 1.0)
            low, high = float(p.low), float(p.high)
            if p.log:
                values = np.exp(math.log(low) + unit * (math.log(high) - math.log(low)))
            else:
                values = low + unit * (high - low)
            if isinstance(p, IntParam):
                values = np.round(values)
            columns.append(np.clip(values, low, high))
        return columns

    def decode(self, X: np.ndarray) -> list[dict[str, Any]]:
        """Map unit-cube points back to configurations.

        Numeric values are clipped to ``[0, 1]`` first; ints are rounded; categoricals take
        the argmax of their one-hot block. Inactive parameters are omitted.

        Args:
            X: ``n x dim`` array.

        Returns:
            ``n`` configurations (plain Python values: float, int or the choice object).

        Raises:
            SpaceError: wrong shape, or non-finite values.
        """
        layout = self._layout()
        columns = self._columns_from_unit(layout, X)
        return self._rows_from_columns(columns, self._active_from_columns(layout, columns))

    def active_mask(self, configs: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Which parameters are active in each configuration.

        Args:
            configs: DataFrame or sequence of mappings (as for :meth:`encode`).

        Returns:
            ``n x n_params`` bool array, columns in declaration order.
        """
        layout = self._layout()
        frame = self._to_frame_input(configs)
        return self._active_from_columns(layout, self._columns_from_frame(frame))

    def to_frame(self, configs: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
        """Configurations as a DataFrame with one column per parameter, declaration order.

        Numeric columns are float64 with NaN when inactive (the ``trials.parquet`` layout);
        categorical columns are object columns holding the choice objects, None when
        inactive. Values given for inactive parameters are blanked.

        Raises:
            SpaceError: as :meth:`encode`.
        """
        layout = self._layout()
        return self._frame_from_columns(*self._checked_columns(layout, configs))

    def _frame_from_columns(self, columns: list[np.ndarray], active: np.ndarray) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for i, p in enumerate(self.parameters):
            on = active[:, i]
            if isinstance(p, CategoricalParam):
                data[p.name] = pd.Series(
                    [
                        p.choices[k] if a else None
                        for k, a in zip(columns[i].tolist(), on.tolist(), strict=True)
                    ],
                    dtype=object,
                )
            else:
                data[p.name] = pd.Series(np.where(on, columns[i], np.nan), dtype=np.float64)
        return pd.DataFrame(data, columns=list(self.names))

    # ------------------------------------------------------------------ validation
    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Check one user configuration and return it normalised.

        Args:
            config: Parameter name -> value. Inactive parameters may be absent, None or NaN.

        Returns:
            The active parameters only, ints as ``int``, floats as ``float`` and categorical
            values as the matching choice object.

        Raises:
            SpaceError: unknown parameter, non-numeric or out-of-range number, non-integer
                int, invalid choice, missing active parameter, or a value for an inactive one.
        """
        if not isinstance(config, Mapping):
            raise SpaceError(f"a configuration must be a mapping, got {type(config).__name__}")
        layout = self._layout()
        unknown = [key for key in config if key not in layout.by_name]
        if unknown:
            raise SpaceError(
                f"unknown parameter(s) {unknown}; known parameters are {list(self.names)}"
            )
        codes: dict[int, Any] = {}
        result: dict[str, Any] = {}
        for i in layout.order:
            p = self.parameters[i]
            is_active = all(
                parent in codes and codes[parent] in allowed
                for parent, allowed in layout.conditions_of.get(i, ())
            )
            value = config.get(p.name)
            if not is_active:
                if not _is_null(value):
                    raise SpaceError(
                        f"parameter {p.name!r} is inactive here ({self._why_inactive(i)}) "
                        f"but got {value!r}; leave it out or set it to None"
                    )
                continue
            if _is_null(value):
                raise SpaceError(f"active parameter {p.name!r} is missing; give it a value")
            normalised, code = self._normalise(p, value)
            codes[i] = code
            result[p.name] = normalised
        return {name: result[name] for name in self.names if name in result}

    def _why_inactive(self, child: int) -> str:
        name = self.parameters[child].name
        rules = [f"{c.parent} in {list(c.values)}" for c in self.conditions if c.child == name]
        return "active only when " + " and ".join(rules)

    @staticmethod
    def _normalise(p: Param, value: Any) -> tuple[Any, Any]:
        """(normalised value, code used by conditions) or SpaceError."""
        if isinstance(p, CategoricalParam):
            index = p.index_of(value)
            if index is None:
                raise SpaceError(
                    f"parameter {p.name!r}: {value!r} is not a valid choice; "
                    f"choices are {list(p.choices)}"
                )
            return p.choices[index], index
        if not _is_number(value):
            raise SpaceError(f"parameter {p.name!r} expects a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise SpaceError(f"parameter {p.name!r} expects a finite number, got {value!r}")
        if not p.low <= number <= p.high:
            raise SpaceError(
                f"parameter {p.name!r}: `{p.low} <= value <= {p.high}` must hold, but got {value!r}"
            )
        if isinstance(p, IntParam):
            if not number.is_integer():
                raise SpaceError(f"parameter {p.name!r} expects an integer, got {value!r}")
            return int(number), int(number)
        return number, number

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, *, seed: int | None = None) -> list[dict[str, Any]]:
        """Draw ``n`` configurations uniformly (log-uniformly for log parameters).

        Ints are drawn uniformly on the encoded scale and rounded; categoricals uniformly
        among choices. Inactive parameters are omitted from each configuration.

        Args:
            n: Number of configurations, ``>= 0``.
            seed: Seed for ``np.random.default_rng``.

        Returns:
            ``n`` valid configurations.
        """
        return self._rows_from_columns(*self._sample_columns(n, seed))

    def sample_frame(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """The configurations of ``sample(n, seed=seed)`` as a `to_frame` DataFrame.

        Same draws, without one dict per configuration (several times faster for thousands
        of candidates).
        """
        return self._frame_from_columns(*self._sample_columns(n, seed))

    def sample_around(
        self,
        centres: pd.DataFrame | Sequence[Mapping[str, Any]],
        n: int,
        *,
        seed: int | None = None,
        scales: tuple[float, float] = (0.01, 0.3),
    ) -> pd.DataFrame:
        """``n`` configurations near ``centres``, as a `to_frame` DataFrame: local candidates
        for an acquisition function (BoTorch's ``sample_around_best``, TuRBO's trust region).

        Each copies a centre drawn uniformly and moves every numeric parameter by a Gaussian
        step on its unit (log) scale, whose standard deviation is drawn per configuration
        log-uniformly in ``scales`` (the distance at which the acquisition peaks is not known
        in advance), ints rounded; each categorical switches to a uniform draw with
        probability ``1 / len(parameters)``. A parameter that a switch activates, or that is
        inactive in the centre, takes a uniform draw as in `sample`.

        Args:
            centres: configurations (as for :meth:`encode`), at least one.
            n: number of configurations, ``>= 0``.
            seed: seed for ``np.random.default_rng``.
            scales: the smallest and largest step standard deviation, ``0 < low <= high``.

        Raises:
            SpaceError: no centre, invalid centres (as :meth:`encode`), a bad ``n`` or
                ``scales``.
        """
        low_scale, high_scale = scales
        if not 0 < low_scale <= high_scale:
            raise SpaceError(f"scales must satisfy 0 < low <= high, got {scales!r}")
        layout = self._layout()
        base, _ = self._checked_columns(layout, centres)
        if not base or len(base[0]) == 0:
            raise SpaceError("sample_around needs at least one centre configuration")
        rng = np.random.default_rng(seed)
        fresh, _ = self._sample_columns(n, int(rng.integers(2**62)))
        pick = rng.integers(0, len(base[0]), size=n)
        scale = np.exp(rng.uniform(math.log(low_scale), math.log(high_scale), size=n))
        switch = 1.0 / len(self.parameters)
        columns: list[np.ndarray] = []
        for i, p in enumerate(self.parameters):
            centre = base[i][pick]
            if isinstance(p, CategoricalParam):
                kept = (centre >= 0) & (rng.random(n) >= switch)
                columns.append(np.where(kept, centre, fresh[i]))
                continue
            low, high = float(p.low), float(p.high)
            if high == low:
                columns.append(np.full(n, low))
                continue
            a, b = (math.log(low), math.log(high)) if p.log else (low, high)
            with np.errstate(invalid="ignore", divide="ignore"):
                unit = ((np.log(centre) if p.log else centre) - a) / (b - a)
            unit = np.clip(unit + scale * rng.standard_normal(n), 0.0, 1.0)
            values = a + unit * (b - a)
            values = np.exp(values) if p.log else values
            if isinstance(p, IntParam):
                values = np.round(values)
            columns.append(np.where(np.isnan(centre), fresh[i], np.clip(values, low, high)))
        return self._frame_from_columns(columns, self._active_from_columns(layout, columns))

    def _sample_columns(self, n: int, seed: int | None) -> tuple[list[np.ndarray], np.ndarray]:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
            raise SpaceError(f"sample needs a non-negative integer n, got {n!r}")
        rng = np.random.default_rng(seed)
        layout = self._layout()
        columns: list[np.ndarray] = []
        for p in self.parameters:
            if isinstance(p, CategoricalParam):
                columns.append(rng.integers(0, len(p.choices), size=n).astype(np.int64))
                continue
            if isinstance(p, IntParam):
                # Uniform over the integers (log: over integer cells in log space).
                low, high = p.low - 0.5, p.high + 0.5  # low >= 1 when log, so low > 0
                if p.log:
                    draws = np.exp(rng.uniform(math.log(low), math.log(high), size=n))
                else:
                    draws = rng.uniform(low, high, size=n)
                columns.append(np.clip(np.round(draws), p.low, p.high))
            else:
                if p.log:
                    draws = np.exp(rng.uniform(math.log(p.low), math.log(p.high), size=n))
                else:
                    draws = rng.uniform(p.low, p.high, size=n)
                columns.append(np.clip(draws, p.low, p.high))
        return columns, self._active_from_columns(layout, columns)

    # ------------------------------------------------------------------ mixed optimisation
    def fixed_feature_combinations(
        self, *, max_combinations: int = _DEFAULT_MAX_COMBINATIONS
    ) -> list[dict[int, float]]:
        """Every joint one-hot setting of the categoricals, for ``optimize_acqf_mixed``.

        Each dict maps encoded column index -> fixed value. Conditions are honoured: a
        categorical made inactive by categorical parents is fixed to all zeros (not
        enumerated), and so is the column of a numeric parameter made inactive. Children of
        int parents cannot be decided here and are enumerated as if active. A space without
        categoricals gives ``[{}]`` (use ``optimize_acqf`` then).

        Args:
            max_combinations: Raise beyond this many combinations.

        Returns:
            List of ``{column: 0.0 or 1.0}`` dicts.

        Raises:
            SpaceError: more than ``max_combinations`` combinations.
        """
        layout = self._layout()
        partial: list[tuple[dict[int, int], dict[int, float]]] = [({}, {})]
        for i in layout.order:
            p = self.parameters[i]
            conds = layout.conditions_of.get(i, ())
            decidable = all(
                isinstance(self.parameters[parent], CategoricalParam) for parent, _ in conds
            )
            if not isinstance(p, CategoricalParam) and not (conds and decidable):
                continue
            extended: list[tuple[dict[int, int], dict[int, float]]] = []
            offset = layout.offsets[i]
            for codes, fixed in partial:
                if decidable and not all(
                    codes.get(parent, -1) in allowed for parent, allowed in conds
                ):
                    zeros = dict(fixed)
                    width = len(p.choices) if isinstance(p, CategoricalParam) else 1
                    zeros.update({offset + k: 0.0 for k in range(width)})
                    extended.append(({**codes, i: -1}, zeros))
                elif isinstance(p, CategoricalParam):
                    for k in range(len(p.choices)):
                        one_hot = dict(fixed)
                        one_hot.update({offset + j: float(j == k) for j in range(len(p.choices))})
                        extended.append(({**codes, i: k}, one_hot))
                else:
                    extended.append((codes, fixed))
                if len(extended) > max_combinations:
                    raise SpaceError(
                        f"more than {max_combinations} categorical combinations; raise "
                        "max_combinations or optimise with a relaxed one-hot encoding"
                    )
            partial = extended
        return [dict(sorted(fixed.items())) for _, fixed in partial]
