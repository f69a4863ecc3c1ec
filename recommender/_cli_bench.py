"""`recommend bench`: the leave-one-task-out benchmark and its reports from the command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from recommender._cli_common import progress_bar
from recommender.json_text import to_json

if TYPE_CHECKING:
    from recommender.bench.goals import GoalCheck

__all__ = ["bench_group"]

_DEFAULT_METHODS = "random,cold-gp,tpe,portfolio,rgpe,ours,ours-no-guardrails"
GOAL_MISSED_EXIT = 3  # 1: bad input, 2: click's usage errors


@click.group("bench")
def bench_group() -> None:
    """Benchmarks measured side by side with baselines, in one invocation."""


@bench_group.command("transfer")
@click.option(
    "--benchmark",
    "benchmark_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory in the shared format (space.json + trials.parquet).",
)
@click.option(
    "--methods",
    default=_DEFAULT_METHODS,
    show_default=True,
    help="Comma-separated: random, cold-gp, tpe, portfolio, rgpe, mtgp, mtgp-no-guardrails, ours, ours-no-guardrails.",
)
@click.option(
    "--budget", default=30, show_default=True, type=click.IntRange(1), help="Picks per run."
)
@click.option(
    "--seeds", default=5, show_default=True, type=click.IntRange(1), help="Seeds 0..N-1 per target."
)
@click.option(
    "--targets",
    default="all",
    show_default=True,
    help="'all', a number N (first N task ids), or comma-separated task ids.",
)
@click.option(
    "--adversarial",
    type=click.Choice(["negate", "shuffle", "mixed"]),
    default=None,
    help="Perturb a share of the source tasks to measure negative transfer.",
)
@click.option("--adversarial-share", default=0.5, show_default=True, type=click.FloatRange(0, 1))
@click.option(
    "--workers", default=None, type=click.IntRange(1), help="Processes (default: CPU cores)."
)
@click.option(
    "--quick", is_flag=True, help="Smoke run: 4 targets, 2 seeds, budget 10 (minutes, not hours)."
)
@click.option(
    "--out",
    "out_dir",
    default=Path("benchmarks/results"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where JSON, markdown and PNG go.",
)
@click.option("--stem", default=None, help="File name stem (default: <benchmark>[_<adversarial>]).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option(
    "--check-goals",
    is_flag=True,
    help=f"Exit with code {GOAL_MISSED_EXIT} when a transfer goal does not hold on the run "
    "(the results are written first).",
)
def transfer_command(
    benchmark_dir: Path,
    methods: str,
    budget: int,
    seeds: int,
    targets: str,
    adversarial: str | None,
    adversarial_share: float,
    workers: int | None,
    quick: bool,
    out_dir: Path,
    stem: str | None,
    as_json: bool,
    check_goals: bool,
) -> None:
    """Leave one task out on BENCHMARK: every method picks from the target's pool.

    Writes <stem>.json (all runs, command line, seeds, versions, machine), <stem>.md
    (the table the README quotes) and <stem>.png (regret curves). The markdown and the
    JSON end with the transfer goals checked on the run (`recommender.bench.goals`).
    Exit code 0 on success, 1 on a malformed benchmark directory, 3 with
    --check-goals when a goal does not hold.
    """
    from recommender.bench import BenchConfig, markdown_table, run_transfer_benchmark, write_results
    from recommender.bench.goals import check_goals as bench_goals

    method_list = tuple(m.strip() for m in methods.split(",") if m.strip())
    target_spec: int | tuple[str, ...] | None
    if quick:
        budget, seeds, target_spec = min(budget, 10), min(seeds, 2), 4
    elif targets == "all":
        target_spec = None
    elif targets.isdigit():
        target_spec = int(targets)
    else:
        target_spec = tuple(t.strip() for t in targets.split(",") if t.strip())
    try:
        cfg = BenchConfig(
            benchmark=benchmark_dir,
            methods=method_list,
            budget=budget,
            seeds=seeds,
            targets=target_spec,
            adversarial=adversarial,
            adversarial_share=adversarial_share,
            workers=workers or max(1, len(os.sched_getaffinity(0))),
        )
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    with progress_bar(not as_json) as progress:
        name = stem or (benchmark_dir.name + (f"_{adversarial}" if adversarial else ""))
        out_dir.mkdir(parents=True, exist_ok=True)
        partial = out_dir / f"{name}.partial.jsonl"
        partial.unlink(missing_ok=True)
        doc = run_transfer_benchmark(
            cfg, progress=progress, argv=["recommend", *sys.argv[1:]], partial_path=partial
        )
        partial.unlink(missing_ok=True)
    paths = write_results(doc, out_dir, stem=name)
    goals = bench_goals(doc)
    if as_json:
        click.echo(
            to_json(
                {
                    "summary": {
                        m: {
                            k: v
                            for k, v in s.items()
                            if k != "per_target_regret_at" and k != "curve"
                        }
                        for m, s in doc["summary"].items()
                    },
                    "goals": [c.as_dict() for c in goals],
                    "files": {k: str(p) for k, p in paths.items()},
                },
                indent=1,
            )
        )
    else:
        click.echo(markdown_table(doc))
        click.echo(f"wrote {', '.join(str(p) for p in paths.values())}")
    _exit_on_missed_goals(goals, check_goals)


@bench_group.command("report")
@click.argument("result", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--check-goals",
    is_flag=True,
    help=f"Exit with code {GOAL_MISSED_EXIT} when a transfer goal does not hold on the run.",
)
def report_command(result: Path, check_goals: bool) -> None:
    """Print the markdown report of a `bench transfer` result JSON (no rerun).

    Regret table; ours against the best baseline at each budget (paired wins / ties /
    losses and the mean paired difference with its standard error over targets); the
    transfer goals checked on the run.
    """
    from recommender.bench import markdown_table
    from recommender.bench.goals import check_goals as bench_goals

    try:
        doc = json.loads(result.read_text())
        click.echo(markdown_table(doc), nl=False)
        goals = bench_goals(doc)
    except (json.JSONDecodeError, KeyError, TypeError, StopIteration) as error:
        raise click.ClickException(
            f"{result}: not a `recommend bench transfer` result JSON ({type(error).__name__}: "
            f"{error})"
        ) from None
    _exit_on_missed_goals(goals, check_goals)


def _exit_on_missed_goals(goals: list[GoalCheck], check: bool) -> None:
    """With ``check``, exit with `GOAL_MISSED_EXIT` and name the missed goals on stderr."""
    missed = [g for g in goals if not g.holds]
    if check and missed:
        names = ", ".join(g.name for g in missed)
        click.echo(f"error: transfer goals not met on this run: {names}", err=True)
        sys.exit(GOAL_MISSED_EXIT)


@bench_group.command("make-synthetic")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tasks", default=16, show_default=True, type=click.IntRange(2), help="Tasks.")
@click.option(
    "--configs", default=1000, show_default=True, type=click.IntRange(10), help="Configs per task."
)
@click.option(
    "--outlier-share",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of tasks whose optima ignore the family's structure.",
)
@click.option(
    "--preference",
    default="family",
    show_default=True,
    type=click.Choice(["family", "independent"]),
    help="How each task's best learner is drawn: from the family's structure, or anew per "
    "task (algorithm selection varies; only the learners' hyperparameters transfer).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every draw.")
def make_synthetic_command(
    out_dir: Path, tasks: int, configs: int, outlier_share: float, preference: str, seed: int
) -> None:
    """Write a conditional, minimised benchmark in the shared format to OUT_DIR.

    A categorical learner switches four groups of children on and off (one child is a
    nested categorical parent); 15 parameters, 21 encoded dimensions. Use it to check a
    method on a space unlike LCBench: `recommend bench transfer --benchmark OUT_DIR`.
    """
    from recommender.bench import write_conditional_benchmark

    path = write_conditional_benchmark(
        out_dir,
        n_tasks=tasks,
        n_configs=configs,
        outlier_share=outlier_share,
        seed=seed,
        preference=preference,
    )
    click.echo(f"wrote {path / 'space.json'} and {path / 'trials.parquet'}")
