"""Leave one task out on several fresh draws of the synthetic conditional benchmark.

One synthetic benchmark is 16 tasks: a single draw of the generator
(`recommender.bench.write_conditional_benchmark`). A method tuned on it can be lucky on
that draw. This script draws the benchmark with several generator seeds (seeds the
methods were never screened on), runs `recommend bench transfer`'s harness on each
(same methods, same run seeds), and pools every target of every draw into one table, so
"below the best baseline" is judged on ``16 x len(generator seeds)`` targets.

Writes, under ``--out``:

- ``synthetic_family/seed<g>.json`` / ``.md`` / ``.png``: each draw's harness results
  (an existing file with the same settings is reused, so an interrupted run resumes);
- ``synthetic_family.json`` / ``.md`` / ``.png``: the pooled results, with one row per
  draw saying at which budgets ours is below that draw's best baseline, the transfer goals
  per draw, and the goals apart on the family's tasks and on the generator's outlier tasks
  (optima drawn independently of the family: nothing in the library predicts them, so a
  transfer method can at best match a cold start there).

Usage::

    python benchmarks/bench_synthetic_family.py --generator-seeds 1,2,3,4,5 --seeds 2
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from recommender.bench import (
    BenchConfig,
    machine_info,
    run_transfer_benchmark,
    summarise_runs,
    write_conditional_benchmark,
    write_results,
)
from recommender.bench.goals import GoalCheck, check_goals, goals_markdown
from recommender.bench.report import versus_best_baseline
from recommender.bench.synthetic import conditional_outlier_tasks

METHODS = "random,cold-gp,portfolio,rgpe,ours"


def _config(benchmark: Path, settings: dict[str, Any]) -> BenchConfig:
    """The harness settings (``settings`` is their JSON form, as each draw's file records)."""
    return BenchConfig(benchmark=benchmark, **{**settings, "methods": tuple(settings["methods"])})


def _draw(
    generator_seed: int, work: Path, out: Path, settings: dict[str, Any], argv: list[str]
) -> dict[str, Any]:
    """One generator seed's harness results (reused from ``out`` when settings match)."""
    path = out / f"seed{generator_seed}.json"
    if path.exists():
        doc = json.loads(path.read_text())
        if doc.get("family_settings") == settings:
            print(f"seed {generator_seed}: reusing {path}", file=sys.stderr)
            return doc
    bench_dir = write_conditional_benchmark(work / f"seed{generator_seed}", seed=generator_seed)
    doc = run_transfer_benchmark(_config(bench_dir, settings), argv=argv)
    doc["generator_seed"] = generator_seed
    doc["family_settings"] = settings
    write_results(doc, out, stem=f"seed{generator_seed}")
    print(f"seed {generator_seed}: {doc['wall_seconds']:.0f} s", file=sys.stderr)
    return doc


def _group(per_target: list[dict[str, Any]], cfg: BenchConfig, doc: dict[str, Any]) -> dict:
    """``per_target``'s summary and goal checks, as if it were a run of its own."""
    sub = {**doc, "per_target": per_target, "summary": summarise_runs(per_target, cfg)}
    return {
        "targets": len(per_target),
        "mean_regret": {m: s["mean_regret"] for m, s in sub["summary"].items()},
        "goals": [check.as_dict() for check in check_goals(sub)],
    }


def pool_draws(docs: list[dict[str, Any]], cfg: BenchConfig) -> dict[str, Any]:
    """One results document over every target of every draw (ids prefixed ``seed<g>/``)."""
    per_target = [
        {**res, "target": f"seed{doc['generator_seed']}/{res['target']}"}
        for doc in docs
        for res in doc["per_target"]
    ]
    outliers_of = {
        doc["generator_seed"]: conditional_outlier_tasks(seed=doc["generator_seed"]) for doc in docs
    }
    outliers = {f"seed{seed}/{task}" for seed, tasks in outliers_of.items() for task in tasks}
    per_draw = []
    for doc in docs:
        rows = versus_best_baseline(doc)
        per_draw.append(
            {
                "generator_seed": doc["generator_seed"],
                "below_at": [r["t"] for r in rows if r["below"]],
                "not_below_at": [r["t"] for r in rows if not r["below"]],
                "rows": rows,
                "goals": [check.as_dict() for check in check_goals(doc)],
                "outlier_tasks": list(outliers_of[doc["generator_seed"]]),
            }
        )
    groups = {
        "family": [r for r in per_target if r["target"] not in outliers],
        "outliers": [r for r in per_target if r["target"] in outliers],
    }
    return {
        "benchmark": "synthetic-conditional family",
        "generator_seeds": [doc["generator_seed"] for doc in docs],
        "config": cfg.record([r["target"] for r in per_target]),
        "machine": machine_info(),
        "source_model_fit_seconds": sum(d["source_model_fit_seconds"] for d in docs),
        "source_cross_prediction_seconds": sum(
            d.get("source_cross_prediction_seconds") or 0.0 for d in docs
        ),
        "source_fit_label": "once per draw, summed over the draws",
        "wall_seconds": sum(d["wall_seconds"] for d in docs),
        "peak_rss_mb": max(d["peak_rss_mb"] for d in docs),
        "summary": summarise_runs(per_target, cfg),
        "per_draw": per_draw,
        "groups": {name: _group(rows, cfg, docs[0]) for name, rows in groups.items() if rows},
        "per_target": per_target,
    }


def _per_draw_markdown(pooled: dict[str, Any]) -> str:
    lines = [
        "",
        "## Per draw: is ours below that draw's best baseline?",
        "",
        "| generator seed | "
        + " | ".join(f"t={r['t']}" for r in pooled["per_draw"][0]["rows"])
        + " |",
        "|---|" + "---|" * len(pooled["per_draw"][0]["rows"]),
    ]
    for draw in pooled["per_draw"]:
        cells = [
            f"{r['ours']:.4f} vs {r['best']:.4f} {r['best_method']} "
            + ("yes" if r["below"] else "**NO**")
            for r in draw["rows"]
        ]
        lines.append(f"| {draw['generator_seed']} | " + " | ".join(cells) + " |")
    lines += ["", "## Per draw: the transfer goals", "", "| generator seed | missed |", "|---|---|"]
    for draw in pooled["per_draw"]:
        missed = [f"{g['name']}: {g['measured']}" for g in draw.get("goals", []) if not g["holds"]]
        lines.append(f"| {draw['generator_seed']} | {'; '.join(missed) or 'none'} |")
    for name, group in pooled.get("groups", {}).items():
        what = (
            "the generator's outlier tasks (optima independent of the family)"
            if name == "outliers"
            else "the family's tasks (outliers left out)"
        )
        lines += ["", f"## Pooled, on {what}: {group['targets']} targets", ""]
        budgets = list(next(iter(group["mean_regret"].values())))
        lines += [
            "| method | " + " | ".join(f"t={t}" for t in budgets) + " |",
            "|---|" + "---|" * len(budgets),
        ]
        for method, means in group["mean_regret"].items():
            lines.append(f"| {method} | " + " | ".join(f"{means[t]:.4f}" for t in budgets) + " |")
        lines += ["", goals_markdown([GoalCheck(**g) for g in group["goals"]]).rstrip()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the draws, pool them and write the results; exit code 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator-seeds", default="1,2,3,4,5")
    parser.add_argument("--seeds", type=int, default=2, help="run seeds 0..N-1 per target")
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--work", type=Path, default=None, help="where draws are written")
    args = parser.parse_args(argv)
    settings = {
        "methods": [m.strip() for m in args.methods.split(",") if m.strip()],
        "budget": args.budget,
        "seeds": args.seeds,
        "workers": args.workers,
    }
    command = ["python", "benchmarks/bench_synthetic_family.py", *(argv or sys.argv[1:])]
    family_dir = args.out / "synthetic_family"
    family_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    scratch = tempfile.TemporaryDirectory() if args.work is None else nullcontext(args.work)
    with scratch as work:
        docs = [
            _draw(int(seed), Path(work), family_dir, settings, command)
            for seed in args.generator_seeds.split(",")
        ]
    cfg = _config(args.out, settings)  # methods, budget and seeds: the draws are gone
    pooled = pool_draws(docs, cfg)
    pooled["argv"] = command
    pooled["family_wall_seconds"] = time.perf_counter() - start
    paths = write_results(pooled, args.out, stem="synthetic_family")
    with paths["markdown"].open("a") as handle:
        handle.write(_per_draw_markdown(pooled))
    print(json.dumps({k: str(v) for k, v in paths.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
