"""Successive halving and Hyperband schedules over a fidelity (epochs or train fraction).

A schedule is a deterministic, endless sequence of brackets; the run loop walks it until
the budget is spent, so the same settings always give the same plan (which is what makes
a resumed run pick up exactly where it stopped). Every evaluation, at any fidelity, counts
as one trial of the budget and is recorded with its fidelity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from library.exceptions import RunnerError

__all__ = ["FidelityMode", "Rung", "Bracket", "Schedule", "top_k"]


class FidelityMode(str, Enum):
    """How the fidelity is scheduled."""

    NONE = "none"
    SUCCESSIVE_HALVING = "sh"
    HYPERBAND = "hyperband"


@dataclass(frozen=True, slots=True)
class Rung:
    """``n_configs`` evaluations at ``fidelity``."""

    n_configs: int
    fidelity: float


@dataclass(frozen=True, slots=True)
class Bracket:
    """Rungs of growing fidelity; rung ``i + 1`` takes the best of rung ``i``."""

    rungs: tuple[Rung, ...]

    @property
    def n_trials(self) -> int:
        """Evaluations in the whole bracket."""
        return sum(rung.n_configs for rung in self.rungs)


@dataclass(frozen=True, slots=True)
class Schedule:
    """The bracket sequence of one run.

    Attributes:
        mode: none, successive halving or Hyperband.
        min_fidelity: lowest fidelity (epochs, or train fraction in (0, 1]).
        max_fidelity: full fidelity.
        eta: reduction factor (keep the best ``1 / eta`` per rung).
        integer: round fidelities to integers (epochs).
        budget: total trials, used to shrink a successive-halving bracket that would not fit.
    """

    mode: FidelityMode
    min_fidelity: float
    max_fidelity: float
    eta: int = 3
    integer: bool = False
    budget: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.min_fidelity <= self.max_fidelity:
            raise RunnerError(
                f"need 0 < min_fidelity <= max_fidelity, got ({self.min_fidelity}, {self.max_fidelity})"
            )
        if self.eta < 2:
            raise RunnerError(f"eta must be >= 2, got {self.eta}")

    @property
    def s_max(self) -> int:
        """Number of halvings that fit between the lowest and the full fidelity."""
        ratio = self.max_fidelity / self.min_fidelity
        return int(math.floor(math.log(ratio, self.eta) + 1e-9))

    def _fidelity(self, rung: int, n_rungs: int) -> float:
        value = self.max_fidelity * self.eta ** (rung - (n_rungs - 1))
        if self.integer:
            return float(max(1, round(value)))
        return float(value)

    def _bracket(self, s: int, n_first: int) -> Bracket:
        rungs = []
        for i in range(s + 1):
            n_i = max(1, int(math.floor(n_first * self.eta ** (-i) + 1e-9)))
            rungs.append(Rung(n_i, self._fidelity(i, s + 1)))
        return Bracket(tuple(rungs))

    def bracket(self, index: int) -> Bracket:
        """The ``index``-th bracket (0-based) of the endless sequence."""
        if self.mode is FidelityMode.NONE:
            return Bracket((Rung(1, float(self.max_fidelity)),))
        if self.mode is FidelityMode.SUCCESSIVE_HALVING:
            s = self.s_max
            while s > 0 and self._bracket(s, self.eta**s).n_trials > self.budget:
                s -= 1
            return self._bracket(s, self.eta**s)
        s_max = self.s_max
        s = s_max - (index % (s_max + 1))
        bracket = self._hyperband_bracket(s_max, s)
        while s > 0 and bracket.n_trials > self.budget:  # reach full fidelity within budget
            s -= 1
            bracket = self._hyperband_bracket(s_max, s)
        return bracket

    def _hyperband_bracket(self, s_max: int, s: int) -> Bracket:
        n_first = int(math.ceil((s_max + 1) / (s + 1) * self.eta**s))
        return self._bracket(s, n_first)


def top_k(values: Sequence[float | None], k: int) -> list[int]:
    """Indices of the ``k`` largest values (None, i.e. failed, ranks last; ties by index)."""
    scored = [(i, value) for i, value in enumerate(values) if value is not None]
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return [i for i, _ in scored[:k]]
