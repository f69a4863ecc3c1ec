"""`DefaultBox`: proposals kept within a maximum deviation from a default configuration.

A guardrail for teams that may only move so far from a configuration they trust (a
framework default, the production model's settings): every proposal of
`Recommender.suggest(..., default=..., max_deviation=...)` lies in the box, and the
acquisition is maximised *inside* it, so a pick is the best the surrogate sees near the
default rather than a far optimum pulled onto the box's edge afterwards (what the
runner's `project_to_deviation` does to proposals from other proposers).

Distances are those of `recommender.runner.project_to_deviation`: per parameter on the
space's unit scale (log scale for ``log`` parameters), so ``max_deviation=0.1`` lets a
learning rate on ``[1e-5, 1e-1]`` (log) move 0.4 decades either way. A categorical counts 0
(same choice) or 1 (another choice): below 1 it keeps the default's choice, at 1 or more it
is free. A parameter inactive in the default or in the configuration (another branch, or an
int parent that switched it off) is not constrained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from library.exceptions import SpaceError
from recommender.space import CategoricalParam, IntParam, Space, from_unit, to_unit

__all__ = ["DefaultBox"]

#: Slack on the unit scale, so that a value at the box's edge (or the default itself after
#: an encode round trip) is inside.
_EDGE = 1e-9


@dataclass(frozen=True, slots=True)
class DefaultBox:
    """The configurations of ``space`` within ``max_deviation`` of ``default``.

    Build it with `DefaultBox.around`, which validates both.

    Attributes:
        space: the search space.
        default: the default configuration, normalised by `Space.validate`.
        max_deviation: the half-width of the box on the unit scale, ``>= 0``.
    """

    space: Space
    default: dict[str, Any]
    max_deviation: float

    @classmethod
    def around(cls, space: Space, default: Mapping[str, Any], max_deviation: float) -> DefaultBox:
        """The box of half-width ``max_deviation`` around ``default`` in ``space``.

        Args:
            space: the search space.
            default: a configuration of ``space`` (inactive parameters may be absent).
            max_deviation: half-width on the unit scale, a finite number ``>= 0``.

        Raises:
            SpaceError: ``default`` is not a valid configuration of ``space`` (the message
                names the parameter), or ``max_deviation`` is negative or not finite.
        """
        if (
            isinstance(max_deviation, bool)
            or not isinstance(max_deviation, (int, float, np.integer, np.floating))
            or not np.isfinite(max_deviation)
            or max_deviation < 0
        ):
            raise SpaceError(
                f"max_deviation must be a finite number >= 0 (unit scale), got {max_deviation!r}"
            )
        try:
            normalised = space.validate(default)
        except SpaceError as error:
            raise SpaceError(f"the default configuration is not in the space: {error}") from None
        return cls(space, normalised, float(max_deviation))

    @property
    def centre(self) -> np.ndarray:
        """The default's encoding (``(dim,)``)."""
        return self.space.encode([self.default])[0]

    def _default_active(self) -> np.ndarray:
        return self.space.active_mask([self.default])[0]

    def contains(self, X: np.ndarray) -> np.ndarray:
        """Which encoded configurations lie in the box.

        Args:
            X: ``n x dim`` valid encodings (`Space.encode`).

        Returns:
            ``(n,)`` boolean mask.
        """
        X = np.asarray(X, dtype=np.float64).reshape(-1, self.space.dim)
        inside = np.ones(len(X), dtype=bool)
        if not len(X):
            return inside
        active = self.space.active_mask(self.space.decode(X))
        centre, default_active = self.centre, self._default_active()
        for i, (p, offset) in enumerate(
            zip(self.space.parameters, self.space.column_offsets, strict=True)
        ):
            if not default_active[i]:
                continue
            both = active[:, i]
            if isinstance(p, CategoricalParam):
                if self.max_deviation < 1:
                    block = slice(offset, offset + len(p.choices))
                    same = np.argmax(X[:, block], axis=1) == np.argmax(centre[block])
                    inside &= ~both | same
                continue
            near = np.abs(X[:, offset] - centre[offset]) <= self.max_deviation + _EDGE
            inside &= ~both | near
        return inside

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the box on the encoded columns (``(dim,)`` each).

        Numeric parameters active in the default get ``centre -/+ max_deviation`` clipped to
        ``[0, 1]``; the others, and every one-hot column, ``[0, 1]`` (a categorical is held by
        fixing its one-hot combination, `contains`).
        """
        lower, upper = np.zeros(self.space.dim), np.ones(self.space.dim)
        centre, default_active = self.centre, self._default_active()
        for i, (p, offset) in enumerate(
            zip(self.space.parameters, self.space.column_offsets, strict=True)
        ):
            if default_active[i] and not isinstance(p, CategoricalParam):
                lower[offset] = max(0.0, centre[offset] - self.max_deviation)
                upper[offset] = min(1.0, centre[offset] + self.max_deviation)
        return lower, upper

    def sample(self, n: int, *, seed: int | None = None) -> pd.DataFrame:
        """``n`` configurations drawn uniformly in the box (unit scale), as `Space.to_frame`.

        Numeric parameters are uniform in their interval of `bounds` (ints: rounded to the
        integers inside it), categoricals keep the default's choice below
        ``max_deviation`` 1 and are uniform otherwise; parameters inactive in the default
        are uniform over their range. The default itself is the first row.

        Args:
            n: number of configurations, ``>= 1``.
            seed: seed for ``np.random.default_rng``.
        """
        if n < 1:
            raise SpaceError(f"sample needs n >= 1, got {n}")
        rng = np.random.default_rng(seed)
        lower, upper = self.bounds()
        X = lower + (upper - lower) * rng.random((n, self.space.dim))
        centre, default_active = self.centre, self._default_active()
        for i, (p, offset) in enumerate(
            zip(self.space.parameters, self.space.column_offsets, strict=True)
        ):
            if isinstance(p, IntParam) and p.high > p.low:
                X[:, offset] = _int_units(p, lower[offset], upper[offset], X[:, offset])
            if not isinstance(p, CategoricalParam):
                continue
            block = slice(offset, offset + len(p.choices))
            keep = self.max_deviation < 1 and default_active[i]
            choice = (
                np.full(n, np.argmax(centre[block]))
                if keep
                else rng.integers(0, len(p.choices), size=n)
            )
            X[:, block] = 0.0
            X[np.arange(n), offset + choice] = 1.0
        rows = [self.default, *self.space.decode(X[1:])] if n > 1 else [self.default]
        return self.space.to_frame(rows)

    def describe(self) -> str:
        """One line for the explanation."""
        shown = ", ".join(f"{k}={v!r}" for k, v in self.default.items())
        rule = "keeping every categorical" if self.max_deviation < 1 else "categoricals free"
        return f"within {self.max_deviation:g} (unit scale) of the default ({shown}), {rule}"


def _int_units(p: IntParam, lower: float, upper: float, units: np.ndarray) -> np.ndarray:
    """Unit draws in ``[lower, upper]`` of an int parameter moved to the unit coordinate of
    the nearest integer that lies inside that interval (the default's own is always one)."""
    low, high, log = float(p.low), float(p.high), p.log
    first = math.ceil(float(from_unit(lower, low, high, log)) - 1e-9)
    last = math.floor(float(from_unit(upper, low, high, log)) + 1e-9)
    while first <= last and to_unit(first, low, high, log) < lower - _EDGE:
        first += 1
    while last >= first and to_unit(last, low, high, log) > upper + _EDGE:
        last -= 1
    values = np.clip(np.round(from_unit(units, low, high, log)), first, last)
    return np.asarray(to_unit(values, low, high, log))
