"""Benchmark: warm-started search off the pools, the mode `recommend run` and the Python API use.

The transfer harness (`recommend bench transfer`) follows the shared format's protocol:
every method picks from the target's pool of evaluated configurations. A user's search
has no pool: ``Recommender.suggest`` without ``pool=`` scores ``n_candidates`` (4,096)
random configurations plus each source's 10 best, keeps ``min_distance`` from what was
run, and proposes a configuration nobody evaluated before. This benchmark scores that
mode on the synthetic conditional family (`recommender.bench.synthetic`: 15 parameters, 21
encoded dimensions, a categorical parent switching children on and off, a nested
condition, a minimised objective), whose tasks are functions (`conditional_tasks`), so
every proposal can be evaluated.

Set-up: the generator's tasks (default seed 2026, 16 tasks, as the README's seed-2026
harness run) are written as a benchmark and imported into one library (every task's
trials, 1,000 configurations each); each task in turn is the target, left out of the
sources (``exclude=``). For ``--seeds`` seeds, each method proposes ``--budget``
configurations one at a time and sees each one's noisy error (the generator's own noise);
its regret at ``t`` is the clean error of the best configuration evaluated so far (simple
regret) minus the task's optimum (`ConditionalTask.best_clean_error`), divided by the span
from that optimum to the worst clean error of the task's 1,000 written configurations.

Methods, each a new ``suggest`` call per pick as a run makes them (one `Recommender` kept
per search, as `recommend run` keeps it):

* **ours**: `Recommender` over the library, the default settings.
* **ours-local**: the same with ``local_share=0.25``: a quarter of the candidates drawn
  around the target's best observed configurations (`Space.sample_around`), an option
  this benchmark did not adopt as the default.
* **cold**: the same `Recommender` machinery over an empty library, i.e. the target's own
  GP (random configurations until it has ``min_target_points`` observations, the first
  drawn by `Space.sample`): what the same code does without a library.
* **random**: `Space.sample`.
* **ours-believer** (opt-in, ``--methods``): ours with ``batch_believer=True``: a
  batch's later picks take the LogEI after a kriging believer of the earlier ones instead
  of the next-best LogEI. Only differs with ``--batch`` above 1 (``n`` proposals per
  `suggest` call, all evaluated before the next call, as `recommend run` fills a rung).
  ``continuous_batch4.json`` was run when the believer was the default (`5fe948a`): its
  ``ours`` is the believer and its ``ours-greedy`` the next-best LogEI.

Writes ``benchmarks/results/continuous.json`` and ``continuous.png`` (about 13 minutes on 2
cores). Run::

    .venv/bin/python benchmarks/bench_continuous.py                      # generator seed 2026
    .venv/bin/python benchmarks/bench_continuous.py --generator-seed 1 --out ...
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from library import Library, import_benchmark, read_benchmark  # noqa: E402
from recommender.bench import ConditionalTask, conditional_tasks, write_script_results  # noqa: E402
from recommender.bench.synthetic import write_conditional_benchmark  # noqa: E402
from recommender.recommend import Recommender  # noqa: E402
from recommender.space import Space  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("ours", "ours-local", "cold", "random")
#: opt-in method: ours with a batch's later picks chosen under a kriging believer
OPTIONAL_METHODS = ("ours-believer",)
BUDGETS = (1, 2, 3, 5, 10, 15, 20, 30)


@dataclass(frozen=True)
class FamilyLibrary:
    """The generator's tasks written as a benchmark and imported into a library."""

    space: Space
    library: Library
    empty: Library
    full: pd.DataFrame  # every task's full-fidelity trials
    names: list[str]

    @classmethod
    def write(
        cls, work: Path, generator_seed: int, n_tasks: int, n_configs: int, noise: float
    ) -> FamilyLibrary:
        """Write the family under ``work`` and import it (plus an empty library)."""
        directory = write_conditional_benchmark(
            work / "bench", n_tasks=n_tasks, n_configs=n_configs, seed=generator_seed, noise=noise
        )
        bench = read_benchmark(directory)
        library = Library.open(work / "library")
        import_benchmark(library, bench)
        return cls(
            Space.from_dict(bench.space),
            library,
            Library.open(work / "empty"),
            bench.trials[bench.trials[bench.fidelity_name] == bench.fidelity_max],
            list(bench.parameter_names),
        )

    def pool(self, task: ConditionalTask) -> pd.DataFrame:
        """The task's written configurations."""
        return self.full[self.full["task_id"] == task.task_id][self.names].reset_index(drop=True)

    def span(self, task: ConditionalTask) -> tuple[float, float]:
        """The task's optimum and the worst clean error of its written configurations (the
        regret's normalisation)."""
        return task.best_clean_error(), float(task.clean_error(self.pool(task)).max())


def evaluate(
    task: ConditionalTask,
    space: Space,
    config: dict[str, Any],
    rng: np.random.Generator,
    noise: float,
) -> tuple[float, float]:
    """``config``'s clean error on ``task`` and the noisy objective a search sees (the
    generator's noise on the task's own scale)."""
    clean = float(task.clean_error(space.to_frame([config]))[0])
    return clean, task.offset + task.scale * (clean + rng.normal(0.0, noise * 5))


def run_search(
    method: str,
    task: ConditionalTask,
    space: Space,
    *,
    library: Library,
    empty: Library,
    cache: Path,
    budget: int,
    noise: float,
    seed: int,
    batch: int = 1,
) -> tuple[list[float], list[float]]:
    """One search on ``task``, ``batch`` proposals per `suggest` call: the clean error of
    each proposal, and seconds per proposal."""
    rng = np.random.default_rng([seed, int(task.task_id.split("_")[1])])
    if method == "random":
        started = time.perf_counter()
        configs = space.sample(budget, seed=int(rng.integers(2**31)))
        per_pick = (time.perf_counter() - started) / budget
        return list(task.clean_error(space.to_frame(configs))), [per_pick] * budget
    recommender = Recommender(
        empty if method == "cold" else library,
        cache_dir=cache,
        local_share=0.25 if method == "ours-local" else Recommender.local_share,
        batch_believer=method == "ours-believer",
    )
    observed: list[tuple[dict[str, Any], float]] = []
    errors: list[float] = []
    seconds: list[float] = []
    for pick in range(0, budget, batch):
        n = min(batch, budget - pick)
        started = time.perf_counter()
        if method == "cold" and not observed:
            configs = space.sample(n, seed=int(rng.integers(2**31)))
        else:
            suggestions = recommender.suggest(
                None,
                space,
                n=n,
                observed=observed or None,
                direction="minimize",
                seed=seed * 1000 + pick,
                exclude=(task.task_id,),
            )
            configs = [dict(s.config) for s in suggestions]
        seconds.extend([(time.perf_counter() - started) / len(configs)] * len(configs))
        for config in configs:
            clean, value = evaluate(task, space, config, rng, noise)
            observed.append((config, value))
            errors.append(clean)
    return errors, seconds


def add_family_arguments(parser: argparse.ArgumentParser, *, budget: int) -> None:
    """The family's and the searches' size arguments, shared with `bench_default_box`."""
    parser.add_argument("--generator-seed", type=int, default=2026)
    parser.add_argument("--n-tasks", type=int, default=16)
    parser.add_argument("--n-configs", type=int, default=1000)
    parser.add_argument("--targets", type=int, default=None, help="first N tasks (all)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", type=int, default=budget)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the JSON and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_family_arguments(parser, budget=30)
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"also: {', '.join(OPTIONAL_METHODS)}"
    )
    parser.add_argument("--batch", type=int, default=1, help="proposals per suggest call")
    parser.add_argument("--out", type=Path, default=RESULTS / "continuous.json")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    noise = 0.02  # the generator's default, which the written trials carry
    started = time.perf_counter()
    tasks = conditional_tasks(
        n_tasks=args.n_tasks, n_configs=args.n_configs, seed=args.generator_seed, noise=noise
    )
    targets = tasks[: args.targets] if args.targets else tasks
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        family = FamilyLibrary.write(work, args.generator_seed, args.n_tasks, args.n_configs, noise)
        space, library, empty = family.space, family.library, family.empty
        for task in targets:
            best, worst = family.span(task)
            entry: dict[str, Any] = {"outlier": task.outlier, "optimum": best, "worst": worst}
            for method in methods:
                curves, times = [], []
                for seed in range(args.seeds):
                    errors, seconds = run_search(
                        method,
                        task,
                        space,
                        library=library,
                        empty=empty,
                        cache=work / "cache",
                        budget=args.budget,
                        noise=noise,
                        seed=seed,
                        batch=args.batch,
                    )
                    so_far = np.minimum.accumulate(errors)
                    curves.append([(float(e) - best) / (worst - best) for e in so_far])
                    times.extend(seconds)
                entry[method] = {"regret": curves, "seconds_per_pick": float(np.mean(times))}
            runs[task.task_id] = entry
            print(
                task.task_id,
                {m: round(float(np.mean([c[-1] for c in entry[m]["regret"]])), 4) for m in methods},
                flush=True,
            )
    summary = summarize(runs, methods, args.budget)
    config = vars(args) | {"out": str(args.out), "noise": noise}
    write_script_results(args.out, config, started, summary=summary, per_target=runs)
    _plot(summary, methods, args.out.with_suffix(".png"), args.generator_seed)
    print(json.dumps({k: summary[k] for k in ("mean_regret", "ratios") if k in summary}, indent=1))


def summarize(runs: dict[str, dict[str, Any]], methods: list[str], budget: int) -> dict[str, Any]:
    """Mean regret per method (seeds, then targets averaged), standard errors over targets,
    ratios of ours to each baseline, and seconds per pick."""
    per_target = {
        m: np.array([np.mean(entry[m]["regret"], axis=0) for entry in runs.values()])
        for m in methods
    }
    budgets = [t for t in BUDGETS if t <= budget]
    summary: dict[str, Any] = {"budgets": budgets, "curve": {}, "mean_regret": {}, "stderr": {}}
    for m, values in per_target.items():
        summary["curve"][m] = [round(float(v), 5) for v in values.mean(axis=0)]
        summary["mean_regret"][m] = {
            str(t): round(float(values[:, t - 1].mean()), 4) for t in budgets
        }
        summary["stderr"][m] = {
            str(t): round(float(values[:, t - 1].std(ddof=1) / np.sqrt(len(values))), 4)
            for t in budgets
        }
        summary.setdefault("seconds_per_pick", {})[m] = round(
            float(np.mean([entry[m]["seconds_per_pick"] for entry in runs.values()])), 4
        )
    if "ours" in per_target:
        summary["ratios"] = {
            f"ours/{m}": {
                str(t): round(
                    float(per_target["ours"][:, t - 1].mean() / per_target[m][:, t - 1].mean()), 3
                )
                for t in budgets
            }
            for m in methods
            if m != "ours"
        }
        summary["paired_ours_minus"] = {
            m: {
                str(t): [
                    round(float(d.mean()), 4),
                    round(float(d.std(ddof=1) / np.sqrt(len(d))), 4),
                ]
                for t in budgets
                for d in [per_target["ours"][:, t - 1] - per_target[m][:, t - 1]]
            }
            for m in methods
            if m != "ours"
        }
    return summary


def _plot(summary: dict[str, Any], methods: list[str], path: Path, seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    plot_curves(
        axis, summary, methods, f"off-pool search, synthetic conditional family (seed {seed})"
    )
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_curves(axis: Any, summary: dict[str, Any], methods: Sequence[str], title: str) -> None:
    """Each method's mean regret curve on a log scale (``summary`` from `summarize`)."""
    for m in methods:
        curve = summary["curve"][m]
        axis.plot(np.arange(1, len(curve) + 1), curve, marker="o", ms=3, label=m)
    axis.set_yscale("log")
    axis.set_xlabel("proposals")
    axis.set_ylabel("mean normalized simple regret")
    axis.set_title(title)


if __name__ == "__main__":
    main()
