"""`recommend suggest`: warm-started configurations for a library task or a new one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recommender._cli_common import (
    library_options,
    model_option,
    open_libraries,
    progress_bar,
    target_options,
    target_space,
)
from recommender.json_text import to_json

__all__ = ["suggest_command"]


@click.command("suggest")
@library_options
@target_options
@click.option(
    "--task", default=None, help="A task id in the library: its trials are the observations."
)
@click.option(
    "--space",
    "space_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="space.json of the target (a new task needs it, or --model).",
)
@model_option
@click.option(
    "-n",
    "--n",
    "n",
    default=5,
    show_default=True,
    type=click.IntRange(1),
    help="How many configurations.",
)
@click.option(
    "--no-guardrails", is_flag=True, help="Disable negative-transfer guardrails (not recommended)."
)
@click.option(
    "--optimizer",
    type=click.Choice(["auto", "random", "gradient"]),
    default="random",
    show_default=True,
    help="How picks with observations maximise LogEI: the argmax over random candidates "
    "(random) or gradients (auto, gradient: ~6x slower, EI +0.7% in our benchmark).",
)
@click.option(
    "--surrogate",
    type=click.Choice(["ensemble", "multitask"]),
    default="ensemble",
    show_default=True,
    help="ensemble: ranking-weighted per-source GPs plus a target GP (RGPE-style); "
    "multitask: one ICM multi-task GP over the 8 nearest sources and the target "
    "(predictions on the copula scale; slower, measured behind the ensemble on LCBench).",
)
@click.option(
    "--min-distance",
    default=0.01,
    show_default=True,
    type=click.FloatRange(0.0),
    help="Without a pool, no suggestion closer than this (unit-cube distance) to an observed "
    "configuration or to another suggestion; 0 allows repeats.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--json", "as_json", is_flag=True, help="Print suggestions and the explanation as JSON."
)
def suggest_command(
    library_path: str | Path | None,
    task: str | None,
    space_path: Path | None,
    model: str | None,
    target: dict[str, Any],
    n: int,
    no_guardrails: bool,
    with_starter: bool,
    optimizer: str,
    surrogate: str,
    min_distance: float,
    seed: int,
    as_json: bool,
) -> None:
    """Propose N warm-started configurations, with predicted score, interval and neighbours.

    Exit codes: 0 ok, 1 error (unknown task, bad space, empty library, ...), 2 usage (a bad
    option, an unreadable --observed or --default file).
    """
    from recommender.multitask_search import MultiTaskOptions
    from recommender.recommend import Recommender
    from recommender.transfer import TransferOptions

    space = target_space(space_path, model)
    libraries = open_libraries(library_path, with_starter)
    with progress_bar(not as_json, transient=True) as progress:
        rec = Recommender(
            libraries,
            options=TransferOptions(guardrails=not no_guardrails, seed=seed),
            optimizer=optimizer,
            surrogate=surrogate,
            multitask=MultiTaskOptions(guardrails=not no_guardrails),
            min_distance=min_distance,
            progress=progress,
        )
        suggestions = rec.suggest(task, space, n=n, seed=seed, **target)
    explanation = rec.explain()
    if as_json:
        click.echo(to_json(explanation.to_dict(), indent=1))
        return
    from rich.console import Console

    from recommender._cli_tables import print_suggestions

    capped = target["max_cost"] is not None
    console = Console()
    print_suggestions(
        console,
        f"hp-warmstart suggestions ({explanation.n_observed} observed, "
        f"{len(explanation.sources)} sources)",
        suggestions,
        cost_column=f"predicted {target['cost_metric']}" if capped else None,
    )
    for limit in explanation.limits:
        console.print(f"[dim]limit: {limit}[/dim]")
    console.print(f"[dim]{suggestions[-1].reason}[/dim]")
