"""Benchmark: searching inside a box around a trusted default against projecting into it.

`Recommender.suggest(default=..., max_deviation=...)` (`recommender.DefaultBox`) draws its
candidates inside the box and maximises the acquisition there. Before it existed, the
runner's ``--max-deviation`` took the unconstrained suggestion and pulled each parameter
into the box afterwards (`recommender.runner.project_to_deviation`), so a pick aimed at a
far optimum landed on the box's edge, wherever that was. This benchmark measures both on
the synthetic conditional family off the pools (`bench_continuous`'s set-up: every
proposal is evaluated by the task's function, a minimised objective with a categorical
parent switching children on and off, 21 encoded dimensions).

Per target (each task in turn, left out of the sources), the trusted default is the best
written configuration of the next task in the family ("what worked on the last
project"). For each ``--max-deviation`` and ``--seeds`` seeds, each method proposes
``--budget`` configurations one at a time and sees each one's noisy error:

* **ours**: ``suggest(default=, max_deviation=)``: the search inside the box.
* **projected**: ``suggest()`` then `project_to_deviation`: the runner's old path.
* **box-random**: uniform draws inside the box (`DefaultBox.sample`).

Regret at ``t`` is ``bench_continuous``'s: the clean error of the best configuration so
far minus the task's optimum, over the span to the worst written configuration. The
default's own regret is reported beside them (every method may return to it). Writes
``benchmarks/results/default_box.json`` and ``default_box.png``. Run::

    .venv/bin/python benchmarks/bench_default_box.py     # ~10 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_continuous import (  # noqa: E402
    FamilyLibrary,
    add_family_arguments,
    evaluate,
    plot_curves,
    summarize,
)

from recommender.bench import ConditionalTask, conditional_tasks, write_script_results  # noqa: E402
from recommender.default_box import DefaultBox  # noqa: E402
from recommender.recommend import Recommender  # noqa: E402
from recommender.runner import project_to_deviation  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("ours", "projected", "box-random")


def run_search(
    method: str,
    task: ConditionalTask,
    family: FamilyLibrary,
    box: DefaultBox,
    *,
    cache: Path,
    budget: int,
    noise: float,
    seed: int,
) -> list[float]:
    """One search on ``task`` inside ``box``: the clean error of each proposal."""
    space = family.space
    rng = np.random.default_rng([seed, int(task.task_id.split("_")[1])])
    if method == "box-random":
        frame = box.sample(budget + 1, seed=int(rng.integers(2**31))).iloc[1:]  # not the default
        return list(task.clean_error(frame))
    recommender = Recommender(family.library, cache_dir=cache)
    boxed = method == "ours"
    observed: list[tuple[dict[str, Any], float]] = []
    errors: list[float] = []
    for pick in range(budget):
        (suggestion,) = recommender.suggest(
            None,
            space,
            observed=observed or None,
            direction="minimize",
            seed=seed * 1000 + pick,
            exclude=(task.task_id,),
            default=box.default if boxed else None,
            max_deviation=box.max_deviation if boxed else None,
        )
        config = dict(suggestion.config)
        if method == "projected":
            config, _ = project_to_deviation(
                config, box.default, space.to_dict(), max_deviation=box.max_deviation
            )
            config = space.validate(config)
        if not box.contains(space.encode([config]))[0]:
            raise AssertionError(f"{method} left the box: {config}")
        clean, value = evaluate(task, space, config, rng, noise)
        observed.append((config, value))
        errors.append(clean)
    return errors


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and write the JSON and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_family_arguments(parser, budget=10)
    parser.add_argument("--max-deviation", default="0.1,0.25")
    parser.add_argument("--out", type=Path, default=RESULTS / "default_box.json")
    args = parser.parse_args(argv)
    widths = [float(w) for w in args.max_deviation.split(",")]
    noise = 0.02
    started = time.perf_counter()
    tasks = conditional_tasks(
        n_tasks=args.n_tasks, n_configs=args.n_configs, seed=args.generator_seed, noise=noise
    )
    targets = tasks[: args.targets] if args.targets else tasks
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        family = FamilyLibrary.write(work, args.generator_seed, args.n_tasks, args.n_configs, noise)
        for width in widths:
            runs: dict[str, dict[str, Any]] = {}
            for i, task in enumerate(targets):
                best, worst = family.span(task)
                donor = tasks[(i + 1) % len(tasks)]
                pool = family.pool(donor)
                default = pool.iloc[int(np.argmin(donor.clean_error(pool)))].dropna().to_dict()
                box = DefaultBox.around(family.space, default, width)
                at_default = float(task.clean_error(family.space.to_frame([box.default]))[0])
                entry: dict[str, Any] = {
                    "outlier": task.outlier,
                    "default_regret": (at_default - best) / (worst - best),
                }
                for method in METHODS:
                    curves = []
                    for seed in range(args.seeds):
                        errors = run_search(
                            method,
                            task,
                            family,
                            box,
                            cache=work / "cache",
                            budget=args.budget,
                            noise=noise,
                            seed=seed,
                        )
                        so_far = np.minimum.accumulate(errors)
                        curves.append([(float(e) - best) / (worst - best) for e in so_far])
                    entry[method] = {"regret": curves, "seconds_per_pick": 0.0}
                runs[task.task_id] = entry
                print(
                    width,
                    task.task_id,
                    {
                        m: round(float(np.mean([c[-1] for c in entry[m]["regret"]])), 4)
                        for m in METHODS
                    },
                    flush=True,
                )
            summary = summarize(runs, list(METHODS), args.budget)
            summary["default_regret"] = round(
                float(np.mean([e["default_regret"] for e in runs.values()])), 4
            )
            results[f"{width:g}"] = {"summary": summary, "per_target": runs}
    config = vars(args) | {"out": str(args.out), "noise": noise}
    write_script_results(args.out, config, started, by_max_deviation=results)
    _plot(results, args.out.with_suffix(".png"))
    for key, doc in results.items():
        summary = doc["summary"]
        print(key, json.dumps({k: summary[k] for k in ("mean_regret", "paired_ours_minus")}))


def _plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for axis, (width, doc) in zip(axes[0], results.items(), strict=True):
        summary = doc["summary"]
        plot_curves(axis, summary, METHODS, f"max_deviation {width}")
        axis.axhline(summary["default_regret"], color="grey", ls="--", label="the default")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    main()
