"""Summarise an interrupted `recommend bench transfer` run from its ``<stem>.partial.jsonl``.

The harness appends each finished target's runs to ``<stem>.partial.jsonl``; when a run is
stopped before every target is done (time limits), this writes the same JSON / markdown /
PNG as a complete run, over the finished targets only, and says so in the results
(``"partial": true`` and the list of targets).

Usage:
    python benchmarks/summarise_partial.py benchmarks/results/lcbench.partial.jsonl \\
        --methods random,cold-gp,tpe,portfolio,ours --budget 30 --seeds 2 \\
        --benchmark ../shared/benchmarks/lcbench --stem lcbench
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from recommender.bench.harness import BenchConfig, machine_info, summarise_runs
from recommender.bench.report import write_results


def main(argv: list[str] | None = None) -> None:
    """Build the results document from the finished targets and write it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("partial", type=Path)
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--methods", required=True)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--adversarial", default=None)
    parser.add_argument("--adversarial-share", type=float, default=0.5)
    parser.add_argument("--stem", required=True)
    parser.add_argument("--wall-seconds", type=float, default=float("nan"))
    parser.add_argument("--source-fit-seconds", type=float, default=float("nan"))
    parser.add_argument("--argv", default="")
    args = parser.parse_args(argv)
    results = [json.loads(line) for line in args.partial.read_text().splitlines() if line.strip()]
    cfg = BenchConfig(
        benchmark=args.benchmark,
        methods=tuple(args.methods.split(",")),
        budget=args.budget,
        seeds=args.seeds,
        adversarial=args.adversarial,
        adversarial_share=args.adversarial_share,
    )
    doc = {
        "benchmark": args.benchmark.name,
        "benchmark_dir": str(args.benchmark),
        "argv": args.argv.split() if args.argv else None,
        "partial": True,
        "config": cfg.record([r["target"] for r in results]),
        "machine": machine_info(),
        "source_model_fit_seconds": args.source_fit_seconds,
        "wall_seconds": args.wall_seconds,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "summary": summarise_runs(results, cfg),
        "per_target": results,
    }
    paths = write_results(doc, args.partial.parent, stem=args.stem)
    print(json.dumps({k: str(v) for k, v in paths.items()}))


if __name__ == "__main__":
    main()
