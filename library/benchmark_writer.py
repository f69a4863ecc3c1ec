"""Write a benchmark directory in the shared format (``shared/benchmarks/FORMAT.md``).

`write_benchmark` is the one writer of the format in the project: the synthetic
conditional generator (`recommender.bench.write_conditional_benchmark`), the real
conditional builder (``benchmarks/build_real_conditional.py``) and the pool subsampler
(``benchmarks/subsample_pools.py``) all go through it, so every benchmark the project
writes has the column types the format names and passes `read_benchmark`.

The files are written to a temporary directory beside the target, read back with
`read_benchmark`, and only then moved into place: a frame that breaks the format leaves
the target directory as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from library.exceptions import BenchmarkFormatError
from library.importers import Benchmark, read_benchmark

__all__ = ["benchmark_table", "write_benchmark"]


def _string_column(values: pd.Series) -> pa.Array:
    """A categorical column: every value as a string, null where inactive."""
    text = values.where(values.isna(), values.astype(str))  # as `Space` reads them back
    return pa.array(text, type=pa.string(), from_pandas=True)


def _numeric_column(trials: pd.DataFrame, name: str, dtype: type[np.generic]) -> pa.Array:
    """Column ``name`` of ``trials`` as ``dtype`` (null stays NaN for floats)."""
    try:
        values = pd.to_numeric(trials[name]).to_numpy(dtype=dtype)
    except (TypeError, ValueError) as error:
        raise BenchmarkFormatError(f"trials: column {name!r} is not numeric: {error}") from error
    return pa.array(values)


def benchmark_table(space: Mapping[str, Any], trials: pd.DataFrame) -> pa.Table:
    """The ``trials.parquet`` table of ``trials`` in the format's column order and types.

    ``task_id`` (string), ``config_id`` (int64), one column per parameter of ``space`` in
    its order (float64 for numeric, string for categorical, null when inactive), the
    fidelity column (float64) and the metric columns (float32).

    Args:
        space: the ``space.json`` content (``parameters``, ``objective``, optional
            ``fidelity`` and ``metrics``).
        trials: one row per (task, configuration, fidelity level).

    Returns:
        The Arrow table.

    Raises:
        BenchmarkFormatError: a column the space declares is missing from ``trials``, or
            ``trials`` has a column the space does not declare.
    """
    parameters = list(space.get("parameters", []))
    fidelity = space.get("fidelity")
    metrics = list(space.get("metrics") or [space["objective"]["name"]])
    if space["objective"]["name"] not in metrics:
        metrics.append(space["objective"]["name"])
    names = (
        ["task_id", "config_id"]
        + [p["name"] for p in parameters]
        + ([fidelity["name"]] if fidelity else [])
        + metrics
    )
    missing = [name for name in names if name not in trials.columns]
    if missing:
        raise BenchmarkFormatError(f"trials: no column {missing[0]!r} (the space declares it)")
    extra = [name for name in trials.columns if name not in names]
    if extra:
        raise BenchmarkFormatError(
            f"trials: column {extra[0]!r} is not declared in the space (parameters, fidelity "
            "or metrics)"
        )
    columns: dict[str, pa.Array] = {
        "task_id": _string_column(trials["task_id"]),
        "config_id": _numeric_column(trials, "config_id", np.int64),
    }
    for p in parameters:
        if p["type"] == "categorical":
            columns[p["name"]] = _string_column(trials[p["name"]])
        else:
            columns[p["name"]] = _numeric_column(trials, p["name"], np.float64)
    if fidelity:
        columns[fidelity["name"]] = _numeric_column(trials, fidelity["name"], np.float64)
    for metric in metrics:
        columns[metric] = _numeric_column(trials, metric, np.float32)
    return pa.table(columns)


def _counts(space: Mapping[str, Any], trials: pd.DataFrame) -> dict[str, int]:
    """``n_tasks`` and ``configs_per_task`` (the fewest full-fidelity configurations of a
    task) of ``trials``."""
    fidelity = space.get("fidelity")
    full = trials
    if fidelity:
        full = trials[pd.to_numeric(trials[fidelity["name"]]) == float(fidelity["max"])]
    per_task = full.groupby("task_id")["config_id"].nunique()
    return {
        "n_tasks": int(trials["task_id"].nunique()),
        "configs_per_task": int(per_task.min()) if len(per_task) else 0,
    }


def write_benchmark(
    path: str | Path,
    space: Mapping[str, Any],
    trials: pd.DataFrame,
    *,
    allow_missing_objective: bool = False,
) -> Benchmark:
    """Write ``space.json`` and ``trials.parquet`` to ``path`` and return them as read back.

    ``n_tasks`` and ``configs_per_task`` are filled in from ``trials`` when the space
    does not give them; every other key of ``space`` is written as given.

    Args:
        path: the benchmark directory (created with its parents; existing files replaced).
        space: the ``space.json`` content.
        trials: one row per (task, configuration, fidelity level), with exactly the columns
            the format names for ``space`` (`benchmark_table`).
        allow_missing_objective: accept null or non-finite objectives (failed evaluations),
            as `read_benchmark` does with the same flag.

    Returns:
        The `Benchmark` read back from ``path``.

    Raises:
        BenchmarkFormatError: ``trials`` or ``space`` breaks the format; nothing under
            ``path`` is changed.
    """
    directory = Path(path)
    table = benchmark_table(space, trials)  # the columns are checked before they are counted
    content = dict(space)
    for key, value in _counts(space, trials).items():
        content.setdefault(key, value)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        pq.write_table(table, staging / "trials.parquet")
        (staging / "space.json").write_text(json.dumps(content, indent=2) + "\n")
        try:
            benchmark = read_benchmark(staging, allow_missing_objective=allow_missing_objective)
        except BenchmarkFormatError as error:  # name the target, not the staging directory
            raise BenchmarkFormatError(str(error).replace(str(staging), str(directory))) from None
        directory.mkdir(exist_ok=True)
        for name in ("trials.parquet", "space.json"):
            os.replace(staging / name, directory / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return benchmark
