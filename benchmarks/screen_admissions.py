"""Trace which steps of our pool search trust sources, per target and seed, on cached predictions.

A companion to ``screen_transfer_options.py`` (same cache, same ``run_pool_search``): for
every variant it records each run's regret curve and, pick by pick, the guardrail's mode
(``transfer`` when at least one source is weighted), the number of weighted sources and the
target GP's weight. It answers "how often does an untrusted library readmit a source, and
what does that cost", e.g. against ``{"consensus_z": 99}`` (never readmit)::

    python benchmarks/screen_admissions.py --cache /tmp/lc_shuf.pkl --seeds 3 \\
        --variants '{"default": {}, "z99": {"consensus_z": 99}}' \\
        --out benchmarks/results/screens/crn/lcshuf3_admissions.json
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
from screen_transfer_options import map_jobs, search


def _run(args: tuple) -> dict:
    name, opts, target, seed, budget = args
    regret, trace = search(opts, target, seed, budget)
    return {
        "variant": name,
        "target": target,
        "seed": seed,
        "regret": regret,
        "modes": [d.mode for d in trace.decisions],
        "n_weighted": [len(d.weights) for d in trace.decisions],
        "target_weight": [round(float(d.target_weight), 3) for d in trace.decisions],
    }


def main() -> None:
    """Parse arguments, run every variant x target x seed, print a summary, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="screen_transfer_options cache")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--variants", default='{"default": {}}', help="JSON name -> options")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    cache = pickle.loads(args.cache.read_bytes())
    variants = json.loads(args.variants)
    jobs = [
        (name, opts, target, seed, args.budget)
        for name, opts in variants.items()
        for target in cache["truth"]
        for seed in range(args.seeds)
    ]
    start = time.perf_counter()
    runs = map_jobs(_run, jobs, cache, args.workers)
    summary = {}
    for name in variants:
        mine = [r for r in runs if r["variant"] == name]
        curves = np.array([r["regret"] for r in mine])
        trusting = sum("transfer" in r["modes"] for r in mine)
        summary[name] = {
            "regret": {
                b: float(curves[:, b - 1].mean()) for b in (1, 5, 10, 20, 30) if b <= args.budget
            },
            "runs_with_transfer_steps": trusting,
            "runs": len(mine),
        }
        print(name, json.dumps(summary[name]), flush=True)
    record = {
        "variants": variants,
        "seeds": args.seeds,
        "summary": summary,
        "seconds": time.perf_counter() - start,
        "runs": runs,
    }
    args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
