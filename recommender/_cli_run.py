"""``recommend run``: tune a model on a dataset with guardrails, multi-fidelity and resume."""

from __future__ import annotations

import logging
from typing import Any

import click

from library.exceptions import CLIUsageError
from recommender._cli_common import starter_option
from recommender.json_text import to_json

__all__ = ["run_command"]


@click.command("run")
@click.option("--dataset", type=click.Path(dir_okay=False), help="CSV or Parquet file.")
@click.option("--target", help="Target column of the dataset.")
@click.option(
    "--model",
    type=click.Choice(["hgb", "rf", "logreg", "svm", "mlp"]),
    help="Model family (mlp = torch MLP; the others are scikit-learn on CPU).",
)
@click.option("--budget", type=click.IntRange(min=1), help="Maximum trials (any fidelity).")
@click.option("--time-budget", "time_budget", type=float, help="Maximum run seconds.")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="MLP device; `cuda` without a GPU is an error (use `auto` to fall back to CPU).",
)
@click.option("--metric", help="scikit-learn scorer name (default accuracy / neg RMSE).")
@click.option(
    "--cv",
    "cv_folds",
    type=int,
    default=3,
    show_default=True,
    help="CV folds; 0 = one holdout split.",
)
@click.option(
    "--fidelity",
    type=click.Choice(["none", "sh", "hyperband"]),
    default="none",
    show_default=True,
    help="Multi-fidelity over epochs (mlp) or train fraction.",
)
@click.option("--eta", type=int, default=3, show_default=True, help="Halving factor.")
@click.option("--max-epochs", type=int, default=50, show_default=True, help="MLP epochs.")
@click.option("--mup", is_flag=True, help="muP parameterisation for the MLP.")
@click.option(
    "--max-deviation",
    type=float,
    help="Cap each parameter's distance from the default (unit scale, 0..1): the transfer "
    "proposer searches inside that box; random picks are pulled into it.",
)
@click.option(
    "--trial-time-limit",
    "trial_time_limit",
    type=float,
    help="Seconds per trial; slower trials are killed and marked timeout. The transfer "
    "proposer also proposes only configurations the library predicts to train within it "
    "(from the trials' recorded wall time, runtime_s; dropped with a warning when the "
    "library has none).",
)
@click.option("--memory-limit-mb", type=int, help="Address-space limit per trial (MiB).")
@click.option(
    "--no-final-check",
    is_flag=True,
    help="Skip validating the best against the default on held-out data.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed.")
@click.option("--n-jobs", type=int, help="Threads per trial (default: cores available).")
@click.option(
    "--library",
    type=click.Path(file_okay=False),
    envvar="HPWS_LIBRARY",
    help="Library to record the run's task and trials in, and to transfer from (created "
    "when missing) [env HPWS_LIBRARY; default: the user data directory's library].",
)
@click.option(
    "--record/--no-record",
    default=True,
    show_default=True,
    help="Record the trials in the library (--no-record: only in the run's journal).",
)
@starter_option
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False),
    help="Where run directories live (default <library>/runs, or ./runs with --no-record).",
)
@click.option(
    "--proposer",
    type=click.Choice(["auto", "random"]),
    default="auto",
    show_default=True,
    help="auto: transfer recommendations from the library and the starter library (random "
    "while they have nothing to transfer); random: random search.",
)
@click.option(
    "--default-first/--no-default-first",
    default=True,
    show_default=True,
    help=(
        "Run the model family's default configuration as the first trial of a new run "
        "(skipped when the library already holds its result on the same data)."
    ),
)
@click.option("--resume", "resume", metavar="RUN_ID", help="Continue an interrupted run.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run_command(
    dataset: str | None,
    target: str | None,
    model: str | None,
    budget: int | None,
    time_budget: float | None,
    device: str,
    metric: str | None,
    cv_folds: int,
    fidelity: str,
    eta: int,
    max_epochs: int,
    mup: bool,
    max_deviation: float | None,
    trial_time_limit: float | None,
    memory_limit_mb: int | None,
    no_final_check: bool,
    seed: int,
    n_jobs: int | None,
    library: str | None,
    record: bool,
    with_starter: bool,
    runs_dir: str | None,
    proposer: str,
    default_first: bool,
    resume: str | None,
    as_json: bool,
) -> None:
    """Train and evaluate proposed configurations until the budget is spent.

    The proposals are warm-started from your library and the bundled starter library
    (nearest tasks by the dataset's fingerprint), and every trial is recorded in your
    library: --library, $HPWS_LIBRARY or the user data directory's.

    Every finished trial is appended (fsynced) to <runs-dir>/<RUN_ID>/journal.jsonl, so a
    killed run continues with `recommend run --resume RUN_ID` without repeating trials.

    Example: recommend run --dataset data.csv --target y --model hgb --budget 20
    """
    from recommender.runner.run import RunPreempted, run_search

    if resume is None and (dataset is None or target is None or model is None or budget is None):
        raise CLIUsageError(
            "--dataset, --target, --model and --budget are required (or --resume RUN_ID)"
        )
    if not record:
        library = None
    elif library is None:
        from library.store import default_library_path

        library = str(default_library_path())
    if not as_json:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    progress, finish = _progress(as_json)
    try:
        result = run_search(
            dataset=dataset,
            target=target,
            model=model,
            budget=budget,
            time_budget_s=time_budget,
            device=device,
            metric=metric,
            cv_folds=cv_folds,
            fidelity=fidelity,
            eta=eta,
            max_epochs=max_epochs,
            seed=seed,
            max_deviation=max_deviation,
            trial_time_limit_s=trial_time_limit,
            memory_limit_mb=memory_limit_mb,
            validate_final=not no_final_check,
            mup=mup,
            n_jobs=n_jobs,
            library=library,
            runs_dir=runs_dir,
            resume=resume,
            proposer=proposer,
            default_first=default_first,
            progress=progress,
            starter=with_starter,
        )
    except RunPreempted:
        finish()
        raise
    finish()
    if as_json:
        click.echo(to_json(result.to_dict(), indent=2))
        return
    _render(result)


def _progress(quiet: bool) -> tuple[Any, Any]:
    if quiet:
        return None, lambda: None
    from rich.console import Console

    console = Console(stderr=True)

    def progress(record: Any, done: int, total: int) -> None:
        value = "-" if record.value is None else f"{record.value:.5g}"
        console.print(
            f"[{done}/{total}] trial {record.key} fidelity={record.fidelity:g} "
            f"{record.status} value={value} ({record.runtime_s:.1f} s)"
        )

    return progress, lambda: None


def _render(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from recommender._cli_tables import config_text

    console = Console()
    table = Table(title=f"run {result.run_id} ({result.metric}, greater is better)")
    for column in ("trial", "fidelity", "status", "value", "seconds"):
        table.add_column(column)
    for trial in result.trials:
        table.add_row(
            trial.key,
            f"{trial.fidelity:g}",
            trial.status,
            "-" if trial.value is None else f"{trial.value:.5g}",
            f"{trial.runtime_s:.2f}",
        )
    console.print(table)
    best = "-" if result.best_value is None else f"{result.best_value:.5g}"
    shown = config_text(result.best_config, ", ") if result.best_config else "-"
    console.print(f"best (search): {shown} value={best}")
    if result.final is not None:
        console.print(f"final check: {result.final.reason}")
    recommended = result.recommended_config
    console.print(f"recommended: {config_text(recommended, ', ') if recommended else '-'}")
    fallbacks = result.proposer_fallbacks
    note = f" ({fallbacks} random batches: nothing to transfer)" if fallbacks else ""
    sources = result.proposer_sources
    if sources:
        shown = ", ".join(sources[:5]) + (
            f" and {len(sources) - 5} more" if len(sources) > 5 else ""
        )
        note += f" from {len(sources)} task{'s' if len(sources) != 1 else ''}: {shown}"
    console.print(f"proposer: {result.proposer}{note}")
    console.print(f"run directory: {result.run_dir} (stopped: {result.stopped_reason})")
