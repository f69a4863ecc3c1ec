"""Paired comparisons of methods within one `run_transfer_benchmark` result."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BASELINES", "leave_one_out_range", "standard_error", "versus_best_baseline"]

BASELINES = ("random", "cold-gp", "tpe", "portfolio", "rgpe")


def versus_best_baseline(doc: dict[str, Any], method: str = "ours") -> list[dict[str, Any]]:
    """``method`` against the best baseline of the same run at each reported budget.

    The best baseline is the one with the lowest mean regret at that budget; the paired
    counts compare the two on the same (target, seed) runs.

    Returns:
        One dict per budget: ``t``, ``ours``, ``best``, ``best_method``, ``below``
        (strictly lower mean), ``wins``/``ties``/``losses`` over the paired runs, and
        ``difference`` +- ``difference_se``: the mean paired difference (ours minus the
        best baseline) and its standard error over targets (each target's seeds averaged
        first: a target's seeds share its pool and its sources, so they are not
        independent; ``nan`` with one target); ``without_one``, the lowest and highest
        mean paired difference when any single target is left out (``None`` with fewer
        than 3 targets: does one target decide the verdict?); and ``largest_target`` /
        ``largest_difference``, the target whose paired difference is largest in size
        (its ``"target"`` id, else its position; ``None`` and 0 when every paired
        difference is 0). Empty when ``method`` or every baseline is missing.
    """
    summary = doc["summary"]
    baselines = [b for b in BASELINES if b in summary]
    if method not in summary or not baselines:
        return []

    def per_target(name: str, t: int) -> list[list[float]]:
        """Each target's regrets at budget ``t``, one per seed."""
        return [[r["regret"][t - 1] for r in res["runs"][name]] for res in doc["per_target"]]

    names = [str(res.get("target", i)) for i, res in enumerate(doc["per_target"])]
    rows = []
    for t in summary[method]["mean_regret"]:
        best_method = min(baselines, key=lambda b: summary[b]["mean_regret"][t])
        ours_by_target, best_by_target = per_target(method, int(t)), per_target(best_method, int(t))
        ours = [x for seeds in ours_by_target for x in seeds]
        best = [x for seeds in best_by_target for x in seeds]
        diff = np.array(
            [np.mean(a) - np.mean(b) for a, b in zip(ours_by_target, best_by_target, strict=True)]
        )
        # the target with the largest paired difference; none when every target ties
        largest = int(np.argmax(np.abs(diff))) if np.any(diff) else None
        rows.append(
            {
                "t": int(t),
                "ours": summary[method]["mean_regret"][t],
                "best": summary[best_method]["mean_regret"][t],
                "best_method": best_method,
                "below": summary[method]["mean_regret"][t] < summary[best_method]["mean_regret"][t],
                "wins": sum(a < b for a, b in zip(ours, best, strict=True)),
                "ties": sum(a == b for a, b in zip(ours, best, strict=True)),
                "losses": sum(a > b for a, b in zip(ours, best, strict=True)),
                "difference": float(diff.mean()),
                "difference_se": float(standard_error(diff)),
                "without_one": leave_one_out_range(diff),
                "largest_target": None if largest is None else names[largest],
                "largest_difference": 0.0 if largest is None else float(diff[largest]),
            }
        )
    return rows


def standard_error(values: np.ndarray) -> np.ndarray:
    """Standard error of the mean of ``values`` over axis 0 (``nan`` with one row: one
    target gives no spread to measure)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return np.full(values.shape[1:], np.nan)
    return values.std(axis=0, ddof=1) / np.sqrt(len(values))


def leave_one_out_range(values: np.ndarray) -> tuple[float, float] | None:
    """The lowest and highest mean of ``values`` with one entry left out.

    ``None`` with fewer than 3 values (one left would be no mean worth reporting).
    """
    n = len(values)
    if n < 3:
        return None
    means = (values.sum() - values) / (n - 1)
    return float(means.min()), float(means.max())
