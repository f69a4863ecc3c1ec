"""`recommend refresh`: the nightly library maintenance job (see ``docs/refresh.md``).

Exit codes: 0 ok (quarantined files are reported, not fatal), 1 error, 3 validation
failed, 4 another refresh or compaction holds the library lock.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from library.exceptions import LibraryLockedError
from recommender._cli_common import LIBRARY_LOCATION

if TYPE_CHECKING:
    from library import Library
    from library.refresh import RefreshReport


class _LockedError(click.ClickException):
    exit_code = 4


@click.command(
    "refresh",
    epilog="Exit codes: 0 ok, 1 error, 3 validation failed, 4 library locked by another "
    "refresh or compaction. Drop-folder conventions: see docs/refresh.md.",
)
@click.option(
    "--library",
    "library_path",
    type=LIBRARY_LOCATION,
    default=None,
    help="Library directory or URI such as s3://bucket/lib "
    "[default: $HPWS_LIBRARY or the user data dir].",
)
@click.option(
    "--drop",
    "drop_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Drop folder of new *.tasks.jsonl and trial files (csv/parquet/jsonl) to ingest; "
    "ingested files move to DROP/done/, bad ones to DROP/quarantine/.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the JSON report to this file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report on stdout.")
def refresh_command(
    library_path: str | Path | None, drop_dir: Path | None, report_path: Path | None, as_json: bool
) -> None:
    """Ingest a drop folder, re-featurize stale tasks, compact and validate the library."""
    from library import Library
    from library.refresh import refresh

    library = Library.open(library_path)
    try:
        if as_json:
            report = refresh(library, drop_dir=drop_dir)
        else:
            report = _refresh_with_progress(library, drop_dir)
    except LibraryLockedError as error:
        raise _LockedError(str(error)) from error
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(report.to_json() + "\n", encoding="utf-8")
    if as_json:
        click.echo(report.to_json())
    else:
        _render(report.to_dict())
    if report.exit_code:
        sys.exit(int(report.exit_code))


def _refresh_with_progress(library: Library, drop_dir: Path | None) -> RefreshReport:
    from rich.progress import Progress, TaskID

    from library.refresh import refresh

    with Progress(transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return refresh(library, drop_dir=drop_dir, progress=progress)


def _render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    stats = report["stats"]
    console.print(
        f"[bold]refresh[/bold] {report['library']}: {report['n_ingested']} file(s) ingested, "
        f"{report['n_quarantined']} quarantined, {report['n_trials_written']} new trial(s), "
        f"{len(report['refeaturized'])} task(s) re-featurized; library now holds "
        f"{stats.get('n_tasks', 0)} tasks / {stats.get('n_trials', 0)} trials "
        f"({report['duration_s']:.1f} s)"
    )
    if report["files"]:
        table = Table("file", "kind", "status", "rows", "new", "duplicates", "reason")
        for item in report["files"]:
            table.add_row(
                item["name"],
                item["kind"],
                item["status"],
                str(item["n_rows"]),
                str(item["n_written"]),
                str(item["n_duplicates"]),
                item["reason"] or "",
            )
        console.print(table)
    for task_id, reason in report["cannot_refeaturize"].items():
        console.print(f"[yellow]stale fingerprint[/yellow] {task_id}: {reason}")
    for problem in report["problems"][:20]:
        console.print(f"[red]{problem['kind']}[/red] {problem['where']}: {problem['detail']}")
    if report["problems"]:
        console.print(
            f"[red]validation failed[/red] ({len(report['problems'])} problem(s)); "
            "see `recommend library validate`"
        )


__all__ = ["refresh_command"]
