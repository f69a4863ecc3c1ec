"""The transfer goals, checked on one `run_transfer_benchmark` result.

Issue 4 and ``ANCHORS.md`` state what hp-warmstart must reach on any benchmark in the
shared format; this module reads a results document and says, goal by goal, what the run
measured and whether the goal holds, so a run on a benchmark nobody has seen before answers
the question without a person reading curves. Every comparison is within the run (same
targets, same seeds). A goal whose methods or budgets the run lacks is left out, not
passed.

Goals on an unperturbed library:

* ``warm-start``: ours after 5 trials at or below the cold GP after 20;
* ``vs-random``: ours at or below 0.5x random search at every budget 1..B;
* ``vs-best-baseline``: ours strictly below the best baseline at every reported budget,
  the zero-shot first pick included (`versus_best_baseline`);

on a perturbed library (``--adversarial``):

* ``adversarial``: ours after 20 trials at most 5 % above the cold GP after 20;

and on both:

* ``latency``: ours' mean seconds per suggestion at most 3x the cold GP's and at most 1 s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from recommender.bench.compare import BASELINES, versus_best_baseline

__all__ = ["GoalCheck", "check_goals", "goals_markdown"]

WARM_AT, COLD_AT = 5, 20
RANDOM_RATIO = 0.5
ADVERSARIAL_AT, ADVERSARIAL_SLACK = 20, 1.05
LATENCY_RATIO, LATENCY_SECONDS = 3.0, 1.0


@dataclass(frozen=True, slots=True)
class GoalCheck:
    """One goal on one run.

    Attributes:
        name: short identifier (``warm-start``, ``vs-random``, ...).
        goal: the goal in words, thresholds included.
        measured: what the run measured, in words and figures.
        holds: whether the goal holds on this run.
    """

    name: str
    goal: str
    measured: str
    holds: bool

    def as_dict(self) -> dict[str, Any]:
        """The check as a JSON-ready dict."""
        return asdict(self)


def check_goals(doc: dict[str, Any], method: str = "ours") -> list[GoalCheck]:
    """Check the transfer goals on a results document.

    Args:
        doc: a `run_transfer_benchmark` result (its ``summary``, ``per_target`` and
            ``config``).
        method: the method held to the goals.

    Returns:
        One `GoalCheck` per goal the run can judge (empty when ``method`` is absent).
    """
    summary = doc["summary"]
    if method not in summary:
        return []
    checks: list[GoalCheck] = []
    if doc["config"].get("adversarial"):
        checks += _adversarial(summary, method)
    else:
        checks += _warm_start(summary, method)
        checks += _versus_random(summary, method)
        checks += _versus_best(doc, method)
    checks += _latency(summary, method)
    return checks


def goals_markdown(checks: list[GoalCheck]) -> str:
    """The checks as a markdown table (empty string when there are none)."""
    if not checks:
        return ""
    rows = ["| goal | measured | holds? |", "|---|---|---|"]
    rows += [f"| {c.goal} | {c.measured} | {'yes' if c.holds else '**NO**'} |" for c in checks]
    return "\n".join(rows) + "\n"


def _warm_start(summary: dict[str, Any], method: str) -> list[GoalCheck]:
    curve = summary[method]["curve"]
    if "cold-gp" not in summary or len(curve) < COLD_AT:
        return []
    ours, cold = curve[WARM_AT - 1], summary["cold-gp"]["curve"][COLD_AT - 1]
    return [
        GoalCheck(
            "warm-start",
            f"{method} at t = {WARM_AT} <= cold-gp at t = {COLD_AT}",
            f"{ours:.4f} vs {cold:.4f}",
            ours <= cold,
        )
    ]


def _versus_random(summary: dict[str, Any], method: str) -> list[GoalCheck]:
    if "random" not in summary:
        return []
    ours, rand = summary[method]["curve"], summary["random"]["curve"]
    worst_t, worst = 0, 0.0
    for t, (a, b) in enumerate(zip(ours, rand, strict=True), start=1):
        ratio = a / b if b > 0 else (0.0 if a == 0 else float("inf"))
        if ratio > worst:
            worst_t, worst = t, ratio
    measured = f"largest ratio {worst:.2f} (t = {worst_t})" if worst_t else "0 at every budget"
    return [
        GoalCheck(
            "vs-random",
            f"{method} <= {RANDOM_RATIO:g} x random at every budget 1-{len(ours)}",
            measured,
            worst <= RANDOM_RATIO,
        )
    ]


def _versus_best(doc: dict[str, Any], method: str) -> list[GoalCheck]:
    rows = versus_best_baseline(doc, method)
    if not rows:
        return []
    missed = [r for r in rows if not r["below"]]
    budgets = ", ".join(str(r["t"]) for r in rows)
    measured = (
        "below at every reported budget"
        if not missed
        else "not below at t = "
        + ", ".join(
            f"{r['t']} ({r['ours']:.4f} vs {r['best_method']} {r['best']:.4f})" for r in missed
        )
    )
    baselines = "/".join(b for b in BASELINES if b in doc["summary"])
    return [
        GoalCheck(
            "vs-best-baseline",
            f"{method} below the best of {baselines} at t = {budgets}",
            measured,
            not missed,
        )
    ]


def _adversarial(summary: dict[str, Any], method: str) -> list[GoalCheck]:
    curve = summary[method]["curve"]
    if "cold-gp" not in summary or len(curve) < ADVERSARIAL_AT:
        return []
    ours, cold = curve[ADVERSARIAL_AT - 1], summary["cold-gp"]["curve"][ADVERSARIAL_AT - 1]
    measured = (
        f"{ours:.4f} vs {cold:.4f} ({ours / cold - 1:+.1%})" if cold > 0 else f"{ours:.4f} vs 0"
    )
    ablation = summary.get(f"{method}-no-guardrails")
    if ablation is not None:
        measured += f"; without guardrails {ablation['curve'][ADVERSARIAL_AT - 1]:.4f}"
    return [
        GoalCheck(
            "adversarial",
            f"{method} at t = {ADVERSARIAL_AT} <= cold-gp at t = {ADVERSARIAL_AT} "
            f"+ {ADVERSARIAL_SLACK - 1:.0%}",
            measured,
            ours <= ADVERSARIAL_SLACK * cold,
        )
    ]


def _latency(summary: dict[str, Any], method: str) -> list[GoalCheck]:
    if "cold-gp" not in summary:
        return []
    ours = summary[method]["seconds_per_suggestion"]
    cold = summary["cold-gp"]["seconds_per_suggestion"]
    if cold <= 0:
        return []
    return [
        GoalCheck(
            "latency",
            f"{method} s / suggestion <= {LATENCY_RATIO:g} x cold-gp's and <= "
            f"{LATENCY_SECONDS:g} s",
            f"{ours:.3f} s vs {cold:.3f} s ({ours / cold:.2f}x)",
            ours <= LATENCY_RATIO * cold and ours <= LATENCY_SECONDS,
        )
    ]
