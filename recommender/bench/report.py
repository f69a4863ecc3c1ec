"""Results of `run_transfer_benchmark` as files: JSON, a markdown table and PNG curves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from recommender.bench.compare import versus_best_baseline
from recommender.bench.goals import check_goals, goals_markdown

__all__ = ["markdown_table", "plot_regret", "versus_best_baseline", "write_results"]


def markdown_table(doc: dict[str, Any]) -> str:
    """The summary as a markdown table: mean normalized regret +/- SE, mean rank, time."""
    summary = doc["summary"]
    budgets = list(next(iter(summary.values()))["mean_regret"])
    rank_at = "5" if "5" in budgets else budgets[0]
    head = (
        "| method | "
        + " | ".join(f"t={t}" for t in budgets)
        + f" | mean rank @{rank_at} | s / suggestion |"
    )
    rule = "|---" * (len(budgets) + 3) + "|"
    rows = [head, rule]
    for method, s in summary.items():
        cells = [f"{s['mean_regret'][t]:.4f} ± {s['stderr'][t]:.4f}" for t in budgets]
        rows.append(
            f"| {method} | "
            + " | ".join(cells)
            + f" | {s['mean_rank'][rank_at]:.2f} | {s['seconds_per_suggestion']:.3f} |"
        )
    cfg = doc["config"]
    note = (
        f"\n{doc['benchmark']}: {len(cfg['targets'])} targets x {len(cfg['seeds'])} seeds, budget {cfg['budget']}"
        + (
            f", adversarial={cfg['adversarial']} (share {cfg['adversarial_share']})"
            if cfg["adversarial"]
            else ""
        )
        + f"; source GP fit ({doc.get('source_fit_label', 'once, shared by all targets')})"
        + f" {doc['source_model_fit_seconds']:.0f} s;"
        + (
            f" source-on-source predictions {doc['source_cross_prediction_seconds']:.0f} s;"
            if doc.get("source_cross_prediction_seconds") is not None
            else ""
        )
        + f" wall {doc['wall_seconds'] / 60:.1f} min; peak RSS {doc['peak_rss_mb']:.0f} MB.\n"
    )
    left_out = doc.get("left_out_tasks") or []
    if left_out:
        shown = ", ".join(left_out[:10]) + (", ..." if len(left_out) > 10 else "")
        note += (
            f"\n{len(left_out)} task(s) left out, with fewer than 2 scored configurations at "
            f"full fidelity (neither targets nor sources): {shown}.\n"
        )
    versus = versus_best_baseline(doc)
    if versus:
        note += "\nours against the best baseline of this run (paired over targets x seeds):\n\n"
        note += (
            "| t | ours | best baseline | below? | wins / ties / losses "
            "| ours - best (± SE over targets) | without any one target "
            "| largest single target |\n|---|---|---|---|---|---|---|---|\n"
        )
        for row in versus:
            span = row["without_one"]
            without_one = f"{span[0]:+.4f} to {span[1]:+.4f}" if span else "-"
            largest = (
                f"{row['largest_target']} ({row['largest_difference']:+.4f})"
                if row["largest_target"] is not None
                else "- (every target tied)"
            )
            note += (
                f"| {row['t']} | {row['ours']:.4f} | {row['best']:.4f} ({row['best_method']}) | "
                f"{_below_label(row)} | "
                f"{row['wins']} / {row['ties']} / {row['losses']} | "
                f"{row['difference']:+.4f} ± {row['difference_se']:.4f} | "
                f"{without_one} | {largest} |\n"
            )
    goals = goals_markdown(check_goals(doc))
    if goals:
        note += "\nthe transfer goals on this run (`recommender.bench.goals`):\n\n" + goals
    return "\n".join(rows) + "\n" + note


def plot_regret(doc: dict[str, Any], path: Path) -> None:
    """Mean normalized regret curves (log scale) of every method, one line each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for method, s in doc["summary"].items():
        curve = s["curve"]
        ax.plot(
            range(1, len(curve) + 1),
            [max(v, 1e-4) for v in curve],
            label=method,
            lw=2 if "ours" in method else 1.3,
        )
    ax.set_yscale("log")
    ax.set_xlabel("trials on the target task")
    ax.set_ylabel("mean normalized regret (log)")
    title = f"{doc['benchmark']}: leave-one-task-out"
    if doc["config"]["adversarial"]:
        title += f" (adversarial: {doc['config']['adversarial']})"
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_results(doc: dict[str, Any], out_dir: Path, *, stem: str = "transfer") -> dict[str, Path]:
    """Write ``<stem>.json``, ``<stem>.md`` and ``<stem>.png`` under ``out_dir``.

    The JSON is ``doc`` with ``goals`` added: the `check_goals` checks as dicts.

    Returns:
        kind -> written path.
    """
    doc = {**doc, "goals": [check.as_dict() for check in check_goals(doc)]}
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / f"{stem}.json",
        "markdown": out_dir / f"{stem}.md",
        "png": out_dir / f"{stem}.png",
    }
    paths["json"].write_text(json.dumps(doc, indent=1))
    paths["markdown"].write_text(markdown_table(doc))
    plot_regret(doc, paths["png"])
    return paths


def _below_label(row: dict) -> str:
    """``yes``, ``tie`` (equal means, e.g. both 0: every run found the pool's best) or ``**NO**``."""
    if row["below"]:
        return "yes"
    return "tie" if row["ours"] == row["best"] else "**NO**"
