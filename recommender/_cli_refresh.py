"""`recommend refresh`: the nightly library maintenance job (see ``docs/refresh.md``).

It runs `library.refresh.refresh` with `import_study_file` as the Optuna study importer,
then, unless ``--no-cache`` or validation failed, `warm_cache` (`recommender.gp_cache`)
over the library and, by default, the bundled starter library beneath it (the layering
`recommend suggest` reads), outside the library lock since warming only reads the
library, and `prune_cache` (entries unused for ``--cache-max-age-days``). The JSON report
is `RefreshReport.to_dict` plus a ``"cache"`` key (`CacheWarmReport.to_dict`) and a
``"cache_pruned"`` key (`CachePruneReport.to_dict`), each ``null`` when not done.

Exit codes: 0 ok (quarantined files and cache-warming failures are reported, not fatal),
1 error, 3 validation failed, 4 another refresh or compaction holds the library lock, 5
(with ``--strict`` only) the refresh completed but quarantined at least one file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from library.exceptions import LibraryLockedError
from recommender._cli_common import LIBRARY_LOCATION, progress_bar
from recommender.json_text import to_json

#: ``--strict``'s exit code when the refresh quarantined a file.
QUARANTINED_EXIT_CODE = 5


class _LockedError(click.ClickException):
    exit_code = 4


def _short_reason(reason: str | None) -> str:
    """The error's name for the table (``"SchemaError"``); the full text is on stderr, in
    the JSON report and in ``quarantine/<file>.reason.txt``."""
    if not reason:
        return ""
    head, sep, _ = reason.partition(": ")
    if sep and head.isidentifier():
        return head
    return reason if len(reason) <= 40 else reason[:39] + "…"


@click.command(
    "refresh",
    epilog="Exit codes: 0 ok, 1 error, 3 validation failed, 4 library locked by another "
    "refresh or compaction, 5 (with --strict) files were quarantined. Drop-folder "
    "conventions and cache warming: see docs/refresh.md.",
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
    help="Drop folder of new *.tasks.jsonl, trial files (csv/parquet/jsonl) and Optuna "
    "storages (*.db/*.sqlite SQLite, *.journal/*.optuna.log journal) to ingest; ingested "
    "files move to DROP/done/, bad ones to DROP/quarantine/.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Do not pre-fit the source-GP cache after the refresh.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Source-GP cache to warm [default: $HPWS_CACHE or the user cache dir, the one "
    "`recommend suggest` reads].",
)
@click.option(
    "--with-starter/--no-starter",
    default=True,
    show_default=True,
    help="Also warm the cache for the bundled starter library's sources (as `suggest` "
    "layers it under yours).",
)
@click.option(
    "--warm-per-space",
    type=click.IntRange(min=0),
    default=256,
    show_default=True,
    help="Source GPs to warm per stored search space, most trials first (0: every usable "
    "task). A run on a fingerprinted dataset takes its nearest sources among all of them.",
)
@click.option(
    "--cache-max-age-days",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Delete source-GP cache entries no lookup has used for this many days (0: keep "
    "every entry).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the JSON report to this file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report on stdout.")
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 5 when a drop file was quarantined (the rest is still ingested), so that "
    "cron or CI flags a bad file; by default quarantined files are reported, exit 0.",
)
def refresh_command(
    library_path: str | Path | None,
    drop_dir: Path | None,
    no_cache: bool,
    cache_dir: Path | None,
    with_starter: bool,
    warm_per_space: int,
    cache_max_age_days: float,
    report_path: Path | None,
    as_json: bool,
    strict: bool,
) -> None:
    """Ingest a drop folder, re-featurize stale tasks, compact, validate, warm the cache."""
    from library import Library
    from library.refresh import refresh
    from recommender.integrations.optuna_files import import_study_file

    library = Library.open(library_path)
    with progress_bar(not as_json, transient=True) as progress:
        try:
            report = refresh(
                library, drop_dir=drop_dir, study_importer=import_study_file, progress=progress
            )
        except LibraryLockedError as error:
            raise _LockedError(str(error)) from error
        warmed = pruned = None
        if not no_cache and not report.problems:
            from recommender.gp_cache import prune_cache, warm_cache
            from recommender.starter import open_starter_library

            layers = [library, open_starter_library()] if with_starter else library
            warmed = warm_cache(
                layers,
                cache_dir=cache_dir,
                progress=progress,
                max_per_space=warm_per_space or None,
            )
            if cache_max_age_days > 0:
                pruned = prune_cache(cache_dir, max_age_days=cache_max_age_days)
    payload = report.to_dict()
    payload["cache"] = warmed.to_dict() if warmed is not None else None
    payload["cache_pruned"] = pruned.to_dict() if pruned is not None else None
    text = to_json(payload, indent=1, sort_keys=True)
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(text + "\n", encoding="utf-8")
    if as_json:
        click.echo(text)
    else:
        _render(payload)
    if report.exit_code:
        sys.exit(int(report.exit_code))
    if strict and report.n_quarantined:
        sys.exit(QUARANTINED_EXIT_CODE)


def _render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    stats = report["stats"]
    console.print(
        f"[bold]refresh[/bold] {report['library']}: {report['n_ingested']} file(s) ingested, "
        f"{report['n_quarantined']} quarantined, {report['n_trials_written']} new trial(s), "
        f"{report['n_skipped']} left in place, "
        f"{len(report['refeaturized'])} task(s) re-featurized; library now holds "
        f"{stats.get('n_tasks', 0)} tasks / {stats.get('n_trials', 0)} trials "
        f"({report['duration_s']:.1f} s)"
    )
    if report["files"]:
        table = Table()
        table.add_column("file", overflow="fold")
        table.add_column("kind")
        table.add_column("status", no_wrap=True)
        for name in ("rows", "new", "duplicates"):
            table.add_column(name, justify="right", no_wrap=True)
        table.add_column("reason", no_wrap=True)  # an error's name, never cut
        for item in report["files"]:
            table.add_row(
                item["name"],
                item["kind"],
                item["status"],
                str(item["n_rows"]),
                str(item["n_written"]),
                str(item["n_duplicates"]),
                _short_reason(item["reason"]),
            )
        console.print(table)
        if report["n_quarantined"]:
            console.print(
                "[dim]full reasons: stderr above, --json, and quarantine/<file>.reason.txt in "
                "the drop folder[/dim]"
            )
    for item in report["files"]:
        for study, reason in item["skipped"].items():
            console.print(f"[yellow]study skipped[/yellow] {item['name']}: {study}: {reason}")
    cache = report["cache"]
    if cache is not None:
        console.print(
            f"source-GP cache {cache['cache_dir']}: {cache['n_fitted']} GP(s) fitted for "
            f"{len(cache['fitted'])} task(s), {cache['n_hits']} already cached, "
            f"{len(cache['failures'])} failure(s); zero-shot tests: "
            f"{cache['n_zero_shot_tests']} run, {cache['n_zero_shot_hits']} already cached "
            f"({cache['duration_s']:.1f} s)"
        )
        pruned = report.get("cache_pruned")
        if pruned is not None and pruned["n_removed"]:
            console.print(
                f"source-GP cache pruned: {pruned['n_removed']} unused entr(ies) removed "
                f"({pruned['bytes_freed'] / 1e6:.1f} MB), {pruned['n_kept']} kept"
            )
        for failure in cache["failures"][:20]:
            console.print(
                f"[yellow]cache not warmed[/yellow] {failure['task_id']} (space of "
                f"{failure['space_of']}): {failure['reason']}"
            )
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
