"""Benchmark: what one `Recommender.suggest` call costs a fresh process, cold and warm cache.

The transfer harness (`recommend bench transfer`) times suggestions inside one long run,
where the source GPs and the zero-shot test's source-on-source predictions are computed
once and shared by every target. A user's `recommend suggest` is a new process each time:
this benchmark measures that. The library is a benchmark directory in the shared format
(default LCBench) imported into a temporary `Library`, minus one target task; the target
observes ``k`` of its trials (a seeded random sample) and asks for one suggestion with every
other task as a source (33 sources, 66,000 full-fidelity trials on LCBench).

For each ``k`` (default 0, 5, 20), in a fresh Python process each:

* **cold**: an empty source-GP cache directory (every source GP is fitted; for ``k = 0``
  the zero-shot criterion's leave-one-source-out test runs);
* **warm**: the same call again in a new process, on the cache the cold call left (the
  GP hyperparameters and the zero-shot test's answer are read from disk);
* **again**: a second `suggest` in the warm process (what an AutoML loop that keeps its
  `Recommender` pays);
* **cold-gp**: the baseline, in the same kind of process: BoTorch ``SingleTaskGP`` fitted
  on the ``k`` observations and LogEI over as many random candidates as `Recommender`
  scores (4,096), the cold-start suggestion (``k = 0``: a random configuration).

Warm (with again) and cold-gp run ``--repeat`` times (3), each in a new process, and the
medians are reported.

Times are of the work inside the process (library open to suggestion returned), not of
Python's and torch's imports, which are reported apart (``import_seconds``; this includes
the sympy import torch makes on its first ``broadcast_shapes`` call, which the first GP
fit of a process would otherwise pay: 0.2-0.3 s that the committed results before
2026-12-01 counted in both sides' times).

Writes ``benchmarks/results/suggest_latency.json``. Run::

    .venv/bin/python benchmarks/bench_suggest.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

_IMPORT_START = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402

from library import Library, import_benchmark, read_benchmark  # noqa: E402
from library.importers import Benchmark  # noqa: E402
from library.provenance import code_version  # noqa: E402
from recommender.recommend import Recommender  # noqa: E402
from recommender.space import Space  # noqa: E402
from recommender.surrogate import fit_gp  # noqa: E402

# torch imports sympy on the first broadcast_shapes call (0.2-0.3 s, paid by every GP fit
# in a new process): an import, so it is timed with the imports, for both sides
torch.broadcast_shapes((1,), (2,))
_IMPORT_SECONDS = time.perf_counter() - _IMPORT_START

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_BENCHMARK = ROOT.parent / "shared" / "benchmarks" / "lcbench"


def _observed(bench: Benchmark, target: str, k: int, seed: int) -> list[tuple[dict, float]]:
    """``k`` of the target's full-fidelity trials, as ``(config, value)`` pairs."""
    table = bench.task_table(target)
    rows = np.random.default_rng(seed).choice(len(table), size=k, replace=False)
    names = bench.parameter_names
    configs = table[names].astype(object).where(table[names].notna(), None)
    return [
        (
            {n: v for n, v in configs.iloc[int(r)].items() if v is not None},  # active only
            float(table[bench.objective].iloc[int(r)]),
        )
        for r in rows
    ]


def _worker(args: argparse.Namespace) -> dict[str, Any]:
    """One process: open the library, time the requested call(s), print a JSON record."""
    bench = read_benchmark(args.benchmark)
    space = Space.from_dict(bench.space)
    observed = _observed(bench, args.target, args.k, args.seed)
    record: dict[str, Any] = {"import_seconds": _IMPORT_SECONDS}
    started = time.perf_counter()
    if args.role == "cold-gp":
        candidates = space.sample(4096, seed=args.seed)
        if len(observed) < 2:
            choice = candidates[0]
        else:
            X = space.encode([c for c, _ in observed])
            y = np.array([v for _, v in observed])
            y = y if bench.direction == "maximize" else -y
            from botorch.acquisition import LogExpectedImprovement

            model = fit_gp(X, y)
            acqf = LogExpectedImprovement(model, best_f=float(y.max()))
            with torch.no_grad():
                values = acqf(torch.as_tensor(space.encode(candidates)).unsqueeze(1))
            choice = candidates[int(torch.argmax(values))]
        record.update(seconds=time.perf_counter() - started, config=choice)
        return record
    library = Library.open(args.library)
    recommender = Recommender(library, cache_dir=Path(args.cache), max_sources=10_000)
    suggestion = recommender.suggest(
        None, space, n=1, observed=observed or None, direction=bench.direction, seed=args.seed
    )[0]
    record.update(
        seconds=time.perf_counter() - started,
        phase=suggestion.phase,
        mode=suggestion.mode,
        n_sources=len(recommender.explain().sources),
        reason=suggestion.reason,
    )
    started = time.perf_counter()
    recommender.suggest(
        None, space, n=1, observed=observed or None, direction=bench.direction, seed=args.seed + 1
    )
    record["again_seconds"] = time.perf_counter() - started
    record["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return record


def _spawn(args: argparse.Namespace, role: str, k: int, library: Path, cache: Path) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--role",
        role,
        "--k",
        str(k),
        "--benchmark",
        str(args.benchmark),
        "--target",
        args.target,
        "--library",
        str(library),
        "--cache",
        str(cache),
        "--seed",
        str(args.seed),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {role} k={k} failed:\n{done.stderr[-3000:]}")
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record["process_seconds"] = time.perf_counter() - started
    return record


def _median_record(records: list[dict], key: str) -> dict:
    """The record whose ``key`` is the median (the upper one of an even count)."""
    return sorted(records, key=lambda r: r[key])[len(records) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", type=Path, default=DEFAULT_BENCHMARK)
    parser.add_argument("--target", default=None, help="task id held out (default: the first)")
    parser.add_argument("--observed", default="0,5,20", help="comma-separated k values")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="warm and cold-gp processes per k")
    parser.add_argument("--out", type=Path, default=RESULTS / "suggest_latency.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--role", default="ours", help=argparse.SUPPRESS)
    parser.add_argument("--k", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--library", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args), default=str))
        return
    bench = read_benchmark(args.benchmark)
    args.target = args.target or bench.task_ids[0]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "lib"
        kept = bench.trials[bench.trials["task_id"].astype(str) != args.target]
        sources = replace(
            bench,
            trials=kept,
            task_ids=tuple(t for t in bench.task_ids if t != args.target),
        )
        import_benchmark(Library.open(library), sources)
        for k in (int(v) for v in args.observed.split(",")):
            cache = Path(tmp) / f"cache-{k}"
            cold = _spawn(args, "ours", k, library, cache)
            # the warm call and the baseline are repeated (fresh processes each), the
            # median kept: one process's time varies by +-20% on a shared 2-core machine
            warms = [_spawn(args, "ours", k, library, cache) for _ in range(args.repeat)]
            bases = [_spawn(args, "cold-gp", k, library, cache) for _ in range(args.repeat)]
            warm = _median_record(warms, "seconds")
            base = _median_record(bases, "seconds")
            again = float(np.median([w["again_seconds"] for w in warms]))
            row = {
                "k": k,
                "cold": cold,
                "warm": warm,
                "cold_gp": base,
                "warm_seconds_all": [w["seconds"] for w in warms],
                "again_seconds_all": [w["again_seconds"] for w in warms],
                "cold_gp_seconds_all": [b["seconds"] for b in bases],
                "again_seconds_median": again,
                "warm_over_cold_gp": warm["seconds"] / base["seconds"],
                "again_over_cold_gp": again / base["seconds"],
            }
            rows.append(row)
            print(
                f"k={k:>3}: ours cold {cold['seconds']:.2f} s, warm {warm['seconds']:.2f} s, "
                f"again {again:.2f} s; cold-gp {base['seconds']:.3f} s "
                f"(medians of {args.repeat}; imports {warm['import_seconds']:.1f} s)",
                flush=True,
            )
    result = {
        "benchmark": bench.name,
        "benchmark_dir": str(args.benchmark),
        "target": args.target,
        "n_sources": len(bench.task_ids) - 1,
        "n_source_trials": int(
            len(kept)
            if bench.fidelity_name is None
            else (kept[bench.fidelity_name] == bench.fidelity_max).sum()
        ),
        "rows": rows,
        "wall_seconds": time.perf_counter() - started,
        "machine": {
            "commit": code_version(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
