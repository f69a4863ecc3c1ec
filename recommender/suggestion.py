"""What `Recommender.suggest` returns: `Suggestion`s, and the `Explanation` of a call.

Plain frozen records with a JSON-friendly ``to_dict``: the CLI's ``--json`` output, the
explain report and the integrations read them, none of them needs the recommender.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.guardrails import GuardrailDecision
from recommender.json_text import json_safe

__all__ = ["Explanation", "Suggestion"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One recommended configuration.

    Attributes:
        config: parameter name -> value (inactive parameters omitted).
        predicted: predicted normalised score (1 = as good as the best trial of a typical
            neighbour task, 0 = as bad as its worst), weighted over the sources in use;
            NaN (``None`` in `to_dict`) when the guardrail fell back to target-only (no
            source is trusted) or there is no source. With
            ``surrogate="multitask"``: the target's posterior mean on the Gaussian-copula
            scale (0: a median trial of a task, about 2: its best 2 %).
        interval: a ~95% interval of that prediction (source disagreement + GP variance).
        neighbours: ``(task_id, weight)`` of the sources that drove this pick, largest first
            (multi-task: the mixture weights zero-shot, else the learned task
            correlations with the target, clipped at 0 and normalised).
        phase: ``"portfolio"``, ``"gp"``, ``"multitask"`` (the multi-task GP's pick),
            ``"stacked"`` (the GP phase's residual-stacked model,
            `TransferOptions.stack_from`), ``"branch"`` (a search without a trusted source
            in a space with branches, one GP per branch: `recommender.branch_search`),
            ``"hedge"`` (an early pick in a branch the target has not tried and enough
            sources put their best in: `TransferOptions.branch_hedge_share`),
            ``"random"`` or ``"explore"`` (a probe of the sources, or a restart pick after
            the guardrail rejected them; see `TransferOptions.probe` and
            ``restart_candidates``).
        mode: the guardrail mode in force (``zero-shot``, ``transfer``, ``target-only`` ...).
        reason: the guardrail decision in words.
        cost: the cost model's predicted cost with ``max_cost`` (`recommender.cost_cap`),
            NaN (``None`` in `to_dict`) without a cap.
    """

    config: dict[str, Any]
    predicted: float
    interval: tuple[float, float]
    neighbours: tuple[tuple[str, float], ...]
    phase: str
    mode: str
    reason: str
    cost: float = float("nan")

    @property
    def has_prediction(self) -> bool:
        """Whether a source model predicts this pick (``False`` for target-only picks)."""
        return bool(np.isfinite(self.predicted))

    def predicted_text(self, separator: str = " ") -> str:
        """``"0.812 (0.70..0.93)"``, or ``"-"`` when nothing predicts this pick.

        Args:
            separator: put between the prediction and its interval (``"\\n"`` for a
                narrow table cell).
        """
        if not self.has_prediction:
            return "-"
        return f"{self.predicted:.3f}{separator}({self.interval[0]:.2f}..{self.interval[1]:.2f})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (a NaN prediction and its interval become ``None``)."""
        return {
            "config": self.config,
            "predicted": json_safe(self.predicted),
            "interval": json_safe(list(self.interval)),
            "neighbours": [{"task_id": t, "weight": w} for t, w in self.neighbours],
            "phase": self.phase,
            "mode": self.mode,
            "reason": self.reason,
            "cost": json_safe(self.cost),
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why the last `suggest` call proposed what it did."""

    target: str | None
    n_observed: int
    sources: tuple[str, ...]
    decisions: tuple[GuardrailDecision, ...]
    suggestions: tuple[Suggestion, ...]
    limits: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "target": self.target,
            "n_observed": self.n_observed,
            "sources": list(self.sources),
            "limits": list(self.limits),
            "decisions": [
                {
                    "step": d.step,
                    "mode": d.mode,
                    "reason": d.reason,
                    "target_weight": d.target_weight,
                    "dropped": [self.sources[i] for i in d.dropped],
                    "weights": {self.sources[i]: w for i, w in d.weights.items()},
                }
                for d in self.decisions
            ],
            "suggestions": [s.to_dict() for s in self.suggestions],
        }
