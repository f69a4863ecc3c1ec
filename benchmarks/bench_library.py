"""Benchmark of the trial library: ingest throughput, best-k query, stats, peak memory.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_library.py`` (writes
``benchmarks/results/library.json``). Goals (issue 3):

* ingest 1M synthetic trial rows at >= 0.5x the throughput of a raw DuckDB
  ``COPY ... TO parquet`` of the same rows, measured in the same run;
* best-10-per-task over 10,000 tasks / 1M rows in <= 100 ms;
* ``Library.stats()`` on 1M rows in <= 1 s;
* peak resident memory < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from library.provenance import code_version  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from library import Library, best_k_per_task  # noqa: E402
from library._duck import connect  # noqa: E402

GOALS = {"ingest_ratio_min": 0.5, "best_k_ms_max": 100.0, "stats_s_max": 1.0, "peak_mb_max": 2048}


def synthetic_trials(n_rows: int, n_tasks: int, seed: int) -> pa.Table:
    """``n_rows`` trials spread evenly over ``n_tasks`` tasks, in the library input format."""
    rng = np.random.default_rng(seed)
    task_index = np.repeat(np.arange(n_tasks), int(np.ceil(n_rows / n_tasks)))[:n_rows]
    task_names = np.array([f"task_{i:05d}" for i in range(n_tasks)], dtype=object)
    optimizer = np.array(["sgd", "adam", "adamw"], dtype=object)
    return pa.table(
        {
            "task_id": pa.array(task_names[task_index], pa.string()),
            "objective_value": rng.normal(size=n_rows),
            "param_learning_rate": np.exp(rng.uniform(np.log(1e-5), 0.0, n_rows)),
            "param_weight_decay": rng.uniform(0.0, 0.1, n_rows),
            "param_num_layers": rng.integers(1, 9, n_rows),
            "param_batch_size": rng.integers(16, 513, n_rows),
            "param_optimizer": pa.array(optimizer[rng.integers(0, 3, n_rows)], pa.string()),
            "fidelity": rng.choice(np.array([1.0, 3.0, 9.0, 27.0]), n_rows),
            "seed": rng.integers(0, 5, n_rows),
            "metric_time": rng.uniform(1.0, 100.0, n_rows),
        }
    )


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def median_time(function: Callable[[], Any], repeats: int) -> float:
    function()  # warm-up (file cache, imports)
    return statistics.median(timed(function)[0] for _ in range(repeats))


def _versions() -> dict[str, str]:
    import duckdb
    import pandas

    return {
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
        "duckdb": duckdb.__version__,
        "numpy": np.__version__,
        "pandas": pandas.__version__,
    }


def run(n_rows: int, n_tasks: int, rows_per_batch: int, seed: int, workdir: Path) -> dict[str, Any]:
    """Run every measurement in ``workdir`` and return the result dict."""
    trials = synthetic_trials(n_rows, n_tasks, seed)

    # raw DuckDB COPY of the same rows: the reference throughput
    baseline_path = workdir / "baseline.parquet"
    connection = connect({"input_rows": trials})
    try:
        copy_s, _ = timed(
            lambda: connection.execute(
                f"COPY (SELECT * FROM input_rows) TO '{baseline_path}' (FORMAT parquet)"
            )
        )
    finally:
        connection.close()

    library = Library.open(workdir / "lib")
    tasks = [{"task_id": f"task_{i:05d}", "name": f"task {i}"} for i in range(n_tasks)]
    tasks_s, _ = timed(lambda: library.append_tasks(tasks))

    def ingest() -> int:
        written = 0
        for start in range(0, n_rows, rows_per_batch):
            result = library.append_trials(
                trials.slice(start, rows_per_batch),
                objective_name="loss",
                direction="minimize",
                source="bench",
                fidelity_name="epoch",
            )
            written += result.n_written
        return written

    ingest_s, written = timed(ingest)
    if written != n_rows:
        raise RuntimeError(f"ingested {written} rows, expected {n_rows}")

    def best_keys() -> pa.Table:
        return best_k_per_task(library, 10, columns=())

    def best_wide() -> pa.Table:
        return best_k_per_task(library, 10)  # + trial_id and params_json

    best_k_files_ms = 1000 * median_time(best_keys, 5)
    stats_files_s = median_time(library.stats, 5)
    compact_s, _ = timed(lambda: library.compact(wait=True))
    best = best_keys()
    best_k_ms = 1000 * median_time(best_keys, 5)
    best_k_wide_ms = 1000 * median_time(best_wide, 5)
    stats_s = median_time(library.stats, 5)

    # the same stored rows (with trial_id, params_json, provenance) dumped by DuckDB:
    # what the library's own work (hashing, checks, dedupe, atomic write) costs on top
    stored = library.read_trials()
    connection = connect({"stored_rows": stored})
    try:
        copy_stored_s, _ = timed(
            lambda: connection.execute(
                f"COPY (SELECT * FROM stored_rows) TO '{workdir / 'stored.parquet'}' "
                "(FORMAT parquet)"
            )
        )
    finally:
        connection.close()
    del stored
    stats = library.stats()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    ratio = copy_s / ingest_s
    return {
        "benchmark": "library",
        "seed": seed,
        "commit": (code_version() or "unknown"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_1_5_15_min_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": _versions(),
        "config": {"n_rows": n_rows, "n_tasks": n_tasks, "rows_per_batch": rows_per_batch},
        "results": {
            "duckdb_copy_s": round(copy_s, 4),
            "append_tasks_s": round(tasks_s, 4),
            "ingest_s": round(ingest_s, 4),
            "ingest_rows_per_s": round(n_rows / ingest_s),
            "duckdb_copy_rows_per_s": round(n_rows / copy_s),
            "ingest_throughput_ratio": round(ratio, 3),
            "best_10_per_task_ms_uncompacted": round(best_k_files_ms, 2),
            "stats_s_uncompacted": round(stats_files_s, 4),
            "compact_s": round(compact_s, 3),
            "best_10_per_task_ms": round(best_k_ms, 2),
            "best_10_per_task_with_trial_id_params_json_ms": round(best_k_wide_ms, 2),
            "duckdb_copy_of_stored_rows_s": round(copy_stored_s, 4),
            "ingest_ratio_vs_copy_of_stored_rows": round(copy_stored_s / ingest_s, 3),
            "best_10_rows": best.num_rows,
            "stats_s": round(stats_s, 4),
            "n_trials": stats["n_trials"],
            "library_bytes": stats["bytes"],
            "baseline_bytes": baseline_path.stat().st_size,
            "peak_rss_mb": round(peak_mb, 1),
        },
        "goals": GOALS,
        "passed": {
            "ingest_ratio": ratio >= GOALS["ingest_ratio_min"],
            "best_k": best_k_ms <= GOALS["best_k_ms_max"],
            "stats": stats_s <= GOALS["stats_s_max"],
            "peak_memory": peak_mb < GOALS["peak_mb_max"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rows-per-batch", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/library.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpws-bench-") as workdir:
        result = run(args.rows, args.tasks, args.rows_per_batch, args.seed, Path(workdir))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["results"], indent=2))
    print(json.dumps(result["passed"]))


if __name__ == "__main__":
    main()
