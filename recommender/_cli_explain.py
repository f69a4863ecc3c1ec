"""`recommend explain`: why these configurations: neighbours, intervals, guardrails, importance."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from recommender.explain_report import ExplainReport
    from recommender.guardrails import GuardrailDecision

__all__ = ["explain_command"]


@click.command("explain")
@library_options
@target_options
@click.option(
    "--task", default=None, help="A task id in the library (its trials are the observations)."
)
@click.option(
    "--space",
    "space_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="space.json of a new target (or of --task when it stores no space).",
)
@model_option
@click.option(
    "-n", "--n", "n", default=5, show_default=True, type=click.IntRange(1), help="Suggestions."
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a self-contained HTML report (plots embedded) to this file.",
)
@click.option(
    "--importance-sources",
    default=6,
    show_default=True,
    type=click.IntRange(0),
    help="Source GPs fitted for the importance estimate (about a second each).",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def explain_command(
    library_path: str | Path | None,
    task: str | None,
    space_path: Path | None,
    model: str | None,
    n: int,
    with_starter: bool,
    html_path: Path | None,
    importance_sources: int,
    seed: int,
    as_json: bool,
    target: dict[str, Any],
) -> None:
    """Explain the recommendations for --task ID and/or --space FILE or --model FAMILY
    (with the same --dataset, --observed, --direction, --default, --max-deviation and
    --max-cost options as `recommend suggest`).

    Shows the neighbour tasks with their similarity, each suggestion's predicted score with
    a ~95% interval, the guardrail decisions with source weights, and hyperparameter
    importance from the source GPs' lengthscales. Exit codes: 0 ok, 1 error, 2 usage.
    """
    if task is None and space_path is None and model is None:
        raise click.UsageError(
            "pass --task ID (a library task), or --space FILE or --model FAMILY (a new task)"
        )
    from recommender.explain_report import build_explain_report, write_html
    from recommender.recommend import Recommender
    from recommender.space import Space

    space = target_space(space_path, model)
    libraries = open_libraries(library_path, with_starter)
    if space is None:
        from library.exceptions import UnknownTaskError

        assert task is not None  # checked above: a task, a space or a model is given

        known = {t for lib in libraries for t in lib.task_ids()}
        if task not in known:
            raise UnknownTaskError.among(task, known, "the libraries")
        stored = next(
            (lib.task_spaces()[task] for lib in libraries if task in lib.task_spaces()), None
        )
        if stored is None:
            raise click.UsageError(f"task {task!r} stores no space; pass --space FILE too")
        space = Space.from_dict(stored)
    fingerprint = target.pop("fingerprint")  # --dataset's; else the task's stored one
    with progress_bar(not as_json, transient=True) as progress:
        recommender = Recommender(libraries, progress=progress)
        recommender.suggest(
            task,
            space,
            n=n,
            seed=seed,
            fingerprint=fingerprint,
            **target,
        )
    if fingerprint is None and task is not None:
        fingerprint = recommender.stored_fingerprint(task)
    report = build_explain_report(
        recommender.explain(),
        libraries,
        space,
        fingerprint=fingerprint,
        max_importance_sources=importance_sources,
        seed=seed,
    )
    if html_path is not None:
        write_html(report, html_path, title=f"hp-warmstart explanation: {task or space_path}")
    if as_json:
        payload = report.to_dict()
        if html_path is not None:
            payload["html"] = str(html_path)
        click.echo(to_json(payload, indent=1))
        return
    _render(report, html_path)


def _render(report: ExplainReport, html_path: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from recommender._cli_tables import print_suggestions

    console = Console()
    e = report.explanation
    neighbours = Table(title=f"neighbour tasks ({report.similarity_kind} similarity)")
    neighbours.add_column("task")
    neighbours.add_column("similarity", justify="right")
    for task, similarity in report.neighbours:
        neighbours.add_row(task, f"{similarity:.3f}")
    console.print(neighbours)
    print_suggestions(
        console,
        f"suggestions ({e.n_observed} observed, {len(e.sources)} sources)",
        e.suggestions,
        neighbours=False,
    )
    importance = Table(title="hyperparameter importance")
    importance.add_column("parameter")
    importance.add_column("share", justify="right")
    for name, share in sorted(report.importance.items(), key=lambda kv: -kv[1]):
        importance.add_row(name, f"{share:.2f}")
    console.print(importance)
    for picks, d in _decision_groups(e.decisions):
        console.print(f"[dim]{picks}, step {d.step}: {d.mode} — {d.reason}[/dim]")
    if html_path is not None:
        console.print(f"HTML report: {html_path}")


def _decision_groups(decisions: Sequence[GuardrailDecision]) -> list[tuple[str, GuardrailDecision]]:
    """The decisions with the picks they made, runs of equal ones printed once:
    ``("picks 1-3", decision)``, ``("pick 4", decision)``."""
    groups: list[tuple[int, int, GuardrailDecision]] = []
    for index, decision in enumerate(decisions, start=1):
        last = groups[-1] if groups else None
        same = last is not None and (last[2].step, last[2].mode, last[2].reason) == (
            decision.step,
            decision.mode,
            decision.reason,
        )
        if same and last is not None:
            groups[-1] = (last[0], index, last[2])
        else:
            groups.append((index, index, decision))
    return [
        (f"pick {first}" if first == last else f"picks {first}-{last}", decision)
        for first, last, decision in groups
    ]
