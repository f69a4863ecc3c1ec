"""Rich tables of suggestions, shared by `recommend suggest`, `recommend explain` and the demo.

A configuration is the one thing a user must be able to read off the table, so it is
printed one parameter per line and never cut; the other columns wrap around it. On an
80-column terminal the table then still shows every value in full.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from recommender.suggestion import Suggestion

__all__ = ["config_text", "print_suggestions"]


def config_text(config: Mapping[str, Any], sep: str = "\n", digits: int = 4) -> str:
    """``config`` as ``name=value`` items joined by ``sep`` (floats to ``digits`` significant
    digits)."""
    return sep.join(
        f"{k}={v:.{digits}g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items()
    )


def _shared_mode(suggestions: Sequence[Suggestion]) -> str | None:
    """``mode/phase`` when every suggestion has the same one, else ``None``."""
    modes = {f"{s.mode}/{s.phase}" for s in suggestions}
    return modes.pop() if len(modes) == 1 else None


def print_suggestions(
    console: Console,
    title: str,
    suggestions: Sequence[Suggestion],
    *,
    neighbours: bool = True,
    cost_column: str | None = None,
) -> None:
    """Print one row per suggestion: rank, configuration, prediction, neighbours, mode, cost.

    When every suggestion shares one mode, the mode column is left out and the mode is
    printed once under the table.

    Args:
        console: where to print.
        title: the table's title.
        suggestions: best first.
        neighbours: add the neighbour tasks that drove each pick, with their weights.
        cost_column: the header of a column of each suggestion's predicted cost
            (``Suggestion.cost``; ``None``: no such column).
    """
    from rich.table import Table

    mode = _shared_mode(suggestions)
    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column("configuration", no_wrap=True)
    table.add_column("predicted (95% CI)", justify="right")
    if neighbours:
        table.add_column("neighbours (weight)", overflow="fold")
    if mode is None:
        table.add_column("mode", overflow="fold")
    if cost_column is not None:
        table.add_column(cost_column, justify="right")
    for rank, s in enumerate(suggestions, 1):
        cells = [str(rank), config_text(s.config), s.predicted_text(separator="\n")]
        if neighbours:
            cells.append("\n".join(f"{t} ({w:.2f})" for t, w in s.neighbours))
        if mode is None:
            cells.append(f"{s.mode}/{s.phase}")
        if cost_column is not None:
            cells.append(f"{s.cost:.4g}")
        table.add_row(*cells)
    console.print(table)
    if mode is not None:
        console.print(f"[dim]mode: {mode} (every suggestion)[/dim]")
