"""`recommend library ...`: manage the trial library (init, ingest, stats, validate,
compact, export). Commands parse, call the `library` API and render; nothing else."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from library.exceptions import CLIUsageError, WarmstartError
from recommender._cli_common import LIBRARY_LOCATION, progress_bar
from recommender.json_text import to_json

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PROBLEMS = 0, 1, 2, 3

_EXIT_HELP = (
    "Exit codes: 0 ok, 1 error (one line on stderr), 2 usage error, "
    "3 validation problems found (`validate` only)."
)


def _library_option(function: F) -> F:
    return click.option(
        "--library",
        "library_path",
        type=LIBRARY_LOCATION,
        envvar="HPWS_LIBRARY",
        default=None,
        help="Library directory or URI such as s3://bucket/lib "
        "[env HPWS_LIBRARY; default: user data dir/hp-warmstart/library].",
    )(function)


def _json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(function)


class _UsageFailure(click.ClickException):
    """A wrong command line: one line on stderr, exit code 2."""

    exit_code = EXIT_USAGE


def _errors_to_click(function: F) -> F:
    """Turn a `WarmstartError` into one clean line and exit code 1 (traceback with --debug)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except WarmstartError as error:
            context = click.get_current_context(silent=True)
            root = context.find_root() if context is not None else None
            if root is not None and (root.obj or {}).get("debug"):
                raise
            message = f"{type(error).__name__}: {' '.join(str(error).split())}"
            if isinstance(error, CLIUsageError):
                raise _UsageFailure(message) from error
            raise click.ClickException(message) from error

    return wrapper  # type: ignore[return-value]


def _open(library_path: str | Path | None, *, create: bool) -> Any:
    from library.store import Library

    return Library.open(library_path, create=create)


def _echo_json(payload: Any) -> None:
    click.echo(to_json(payload, indent=2, sort_keys=True))


@click.group(
    "library",
    help="Manage the trial library (Parquet files + DuckDB).\n\n" + _EXIT_HELP,
)
def library_group() -> None:
    """Manage the trial library."""


@library_group.command("init", epilog=_EXIT_HELP)
@_library_option
@_json_option
@_errors_to_click
def init_command(library_path: str | Path | None, as_json: bool) -> None:
    """Create an empty library (no-op if it exists)."""
    library = _open(library_path, create=True)
    if as_json:
        _echo_json({"path": library.location, "created": True})
    else:
        click.echo(f"library ready at {library.location}")


@library_group.command("ingest", epilog=_EXIT_HELP)
@click.argument("source", type=click.Path(path_type=Path, exists=False))
@_library_option
@_json_option
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["auto", "benchmark", "csv", "parquet", "jsonl"]),
    default="auto",
    show_default=True,
    help="Input kind; auto = benchmark for a directory, else by file extension.",
)
@click.option("--objective", help="Trial files: objective column.")
@click.option(
    "--direction", type=click.Choice(["maximize", "minimize"]), help="Trial files: direction."
)
@click.option(
    "--task-column", default="task_id", show_default=True, help="Trial files: task id column."
)
@click.option(
    "--param",
    "params",
    multiple=True,
    help="Trial files: parameter column (repeat). Default: columns named param_*.",
)
@click.option("--fidelity", help="Trial files: fidelity column.")
@click.option("--seed-column", help="Trial files: seed column.")
@click.option("--status-column", help="Trial files: status column.")
@click.option(
    "--metric", "metrics", multiple=True, help="Trial files: secondary metric column (repeat)."
)
@click.option(
    "--create-tasks", is_flag=True, help="Trial files: add unknown task ids as bare tasks."
)
@_errors_to_click
def ingest_command(
    source: Path,
    library_path: str | Path | None,
    as_json: bool,
    file_format: str,
    objective: str | None,
    direction: str | None,
    task_column: str,
    params: tuple[str, ...],
    fidelity: str | None,
    seed_column: str | None,
    status_column: str | None,
    metrics: tuple[str, ...],
    create_tasks: bool,
) -> None:
    """Ingest SOURCE: a benchmark directory (FORMAT.md) or a CSV/Parquet/JSON-lines trial file."""
    from library.importers import ColumnMapping, import_benchmark, import_trials

    if not source.exists():
        raise CLIUsageError(f"{source} does not exist")
    library = _open(library_path, create=True)
    is_benchmark = file_format == "benchmark" or (file_format == "auto" and source.is_dir())
    if is_benchmark:
        with progress_bar(not as_json) as progress:
            result = import_benchmark(library, source, progress=progress)
        payload = {
            "benchmark": result.benchmark,
            "n_tasks": result.n_tasks,
            "n_input": result.n_trials_input,
            "n_written": result.n_trials_written,
            "n_duplicates": result.n_duplicates,
        }
    else:
        if objective is None or direction is None:
            raise CLIUsageError("trial files need --objective and --direction")
        mapping = ColumnMapping(
            objective=objective,
            direction=direction,
            parameters=params or None,
            task_id=task_column,
            fidelity=fidelity,
            seed=seed_column,
            status=status_column,
            metrics=metrics,
        )
        append = import_trials(library, source, mapping=mapping, create_tasks=create_tasks)
        payload = {
            "n_input": append.n_input,
            "n_written": append.n_written,
            "n_duplicates": append.n_duplicates,
            "file": str(append.path) if append.path else None,
        }
    payload["library"] = library.location
    if as_json:
        _echo_json(payload)
    else:
        click.echo(
            f"ingested {payload['n_written']} new trials ({payload['n_duplicates']} duplicates "
            f"skipped) into {library.location}"
        )


@library_group.command("stats", epilog=_EXIT_HELP)
@_library_option
@_json_option
@_errors_to_click
def stats_command(library_path: str | Path | None, as_json: bool) -> None:
    """Counts of tasks and trials, by status and by source; files and bytes."""
    library = _open(library_path, create=False)
    stats = library.stats()
    if as_json:
        _echo_json(stats)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"library {stats['path']}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("tasks", f"{stats['n_tasks']:,}")
    table.add_row("trials", f"{stats['n_trials']:,}")
    for status, count in sorted(stats["by_status"].items()):
        table.add_row(f"  status {status}", f"{count:,}")
    for source, count in sorted(stats["by_source"].items()):
        table.add_row(f"  source {source}", f"{count:,}")
    table.add_row("files (tasks/trials)", f"{stats['files']['tasks']}/{stats['files']['trials']}")
    table.add_row("bytes", f"{stats['bytes']:,}")
    Console().print(table)


@library_group.command("tasks", epilog=_EXIT_HELP)
@_library_option
@_json_option
@click.option(
    "--match", default=None, help="Only task ids containing this text (case-insensitive)."
)
@click.option(
    "--with-starter",
    is_flag=True,
    help="Also list the bundled starter library's tasks (ids starting 'starter/'), which "
    "`suggest` and `explain` read under yours by default.",
)
@_errors_to_click
def tasks_command(
    library_path: str | Path | None, as_json: bool, match: str | None, with_starter: bool
) -> None:
    """List the tasks: id, source, objective, trials, best value, fingerprint.

    The ids are what `suggest --task` and `explain --task` take. The best value is the
    best ok trial at the task's highest fidelity, by the task's direction.
    """
    import pandas as pd

    from library.query import task_summary

    library = _open(library_path, create=False)
    summary = task_summary(library)
    n_yours = len(summary)
    if with_starter:
        from recommender.starter import open_starter_library

        summary = pd.concat([summary, task_summary(open_starter_library())], ignore_index=True)
    if match is not None:
        summary = summary[summary["task_id"].str.contains(match, case=False, regex=False)]
    if as_json:
        _echo_json({"path": library.location, "tasks": summary.to_dict("records")})
        return
    from rich.console import Console
    from rich.table import Table

    shown_yours = int((summary.index < n_yours).sum())  # the index is the concat's
    title = f"{_count(shown_yours, 'task')} in {library.location}"
    if with_starter:
        title += f", {len(summary) - shown_yours:,} in the bundled starter library"
    table = Table(title=title, show_edge=False)  # two more columns for the text
    shown = summary.astype({"source": object, "objective_name": object})
    shown = shown.where(shown.notna(), None)  # a task added without a source shows blank
    rows = [
        (
            str(row.task_id),
            row.source or "",
            _objective_text(row.objective_name, row.direction),
            f"{row.n_trials:,} ({row.n_ok:,})",
            "-" if pd.isna(row.best) else f"{row.best:.6g}",
            "yes" if row.fingerprint else "-",
        )
        for row in shown.itertuples(index=False)
    ]

    def widest(column: int, header: str, cap: int = 40) -> int:
        """A column as wide as its longest word (up to ``cap``): never cut, never split."""
        words = [word for row in rows for word in row[column].split()] + header.split()
        return min(max(map(len, words)), cap)

    # the id is what users copy: never wrapped or cut; the numbers are never squeezed into
    # an ellipsis; the source (the longest text) takes what is left and wraps
    table.add_column("task", no_wrap=True, min_width=widest(0, "task"))
    table.add_column("source", overflow="fold")
    table.add_column("objective", min_width=widest(2, "objective"))
    table.add_column("trials (ok)", justify="right", min_width=widest(3, "trials"))
    table.add_column("best", justify="right", no_wrap=True, min_width=widest(4, "best"))
    table.add_column("fp", justify="center")  # fingerprint
    for cells in rows:
        table.add_row(*cells)
    Console().print(table)


def _count(n: int, noun: str) -> str:
    """``"1 task"``, ``"1,200 tasks"``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _objective_text(name: str | None, direction: object) -> str:
    """``"accuracy (max)"``; the name alone without a known direction."""
    short = {"maximize": "max", "minimize": "min"}.get(str(direction), "")
    return f"{name or ''} ({short})" if short else (name or "")


@library_group.command("validate", epilog=_EXIT_HELP)
@_library_option
@_json_option
@click.option(
    "--space",
    "space_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="space.json to check every task against (default: each task's stored space).",
)
@_errors_to_click
def validate_command(
    library_path: str | Path | None, as_json: bool, space_path: Path | None
) -> None:
    """Check schema, duplicate ids, orphan trials, NaN objectives, parameters vs space.

    Exits 3 when problems are found, 0 when the library is healthy.
    """
    from library.validate import validate

    library = _open(library_path, create=False)
    space = None
    if space_path is not None:
        try:
            space = json.loads(space_path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise CLIUsageError(f"cannot read --space {space_path}: {error}") from error
    problems = validate(library, space=space)
    if as_json:
        _echo_json(
            {
                "path": library.location,
                "ok": not problems,
                "problems": [
                    {"kind": p.kind, "where": p.where, "detail": p.detail} for p in problems
                ],
            }
        )
    elif problems:
        for problem in problems:
            click.echo(f"{problem.kind}: {problem.where}: {problem.detail}")
        click.echo(f"{len(problems)} problem(s) in {library.location}", err=True)
    else:
        click.echo(f"library {library.location} is valid")
    if problems:
        sys.exit(EXIT_PROBLEMS)


@library_group.command("compact", epilog=_EXIT_HELP)
@_library_option
@_json_option
@click.option("--wait", is_flag=True, help="Wait for the lock instead of failing if held.")
@_errors_to_click
def compact_command(library_path: str | Path | None, as_json: bool, wait: bool) -> None:
    """Merge small part files into one per table; safe while others append."""
    library = _open(library_path, create=False)
    with progress_bar(not as_json) as progress:
        results = library.compact(wait=wait, progress=progress)
    payload = [
        {
            "table": r.table,
            "n_files_merged": r.n_files_merged,
            "n_rows": r.n_rows,
            "n_duplicates_dropped": r.n_duplicates_dropped,
            "path": str(r.path) if r.path else None,
        }
        for r in results
    ]
    if as_json:
        _echo_json(payload)
    else:
        for row in payload:
            click.echo(
                f"{row['table']}: merged {row['n_files_merged']} files, {row['n_rows']} rows, "
                f"dropped {row['n_duplicates_dropped']} duplicates"
            )


@library_group.command("export", epilog=_EXIT_HELP)
@click.argument("output", type=click.Path(path_type=Path, dir_okay=False))
@_library_option
@_json_option
@click.option(
    "--table", type=click.Choice(["trials", "tasks"]), default="trials", show_default=True
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["parquet", "csv", "jsonl"]),
    default=None,
    help="Output format (default: from OUTPUT's extension, else parquet).",
)
@click.option("--task", "task_ids", multiple=True, help="Only these task ids (repeat).")
@_errors_to_click
def export_command(
    output: Path,
    library_path: str | Path | None,
    as_json: bool,
    table: str,
    file_format: str | None,
    task_ids: tuple[str, ...],
) -> None:
    """Write one table (optionally some tasks) to OUTPUT as Parquet, CSV or JSON lines."""
    from library.export import export_table

    library = _open(library_path, create=False)
    n_rows = export_table(
        library, output, table=table, file_format=file_format, task_ids=task_ids or None
    )
    if as_json:
        _echo_json({"path": str(output), "n_rows": n_rows, "table": table})
    else:
        click.echo(f"exported {n_rows} {table} rows to {output}")
