"""Queries over the library's Parquet files through DuckDB, returning Arrow / numpy.

Every query reads ``read_parquet([...files], union_by_name=true)`` over the committed part
files, so it sees a consistent set of whole batches while other processes append. When a
compaction removes a listed file mid-query the file list is taken again.

A remote library (`Library.is_remote`) is read into Arrow through its fsspec filesystem
(`Library.read_trials` / `Library.read_tasks`, with the same retries) and the tables are
registered in DuckDB, so the same SQL runs on both; each query then downloads the whole
table it reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from library._duck import connect, query_arrow
from library.exceptions import CorruptFileError, EmptyLibraryError, LibraryError, UnknownTaskError
from library.schema import METRIC_PREFIX, PARAM_PREFIX, TASKS_SCHEMA, TrialStatus
from library.store import _VANISH_RETRIES, Library

__all__ = [
    "TaskEvaluations",
    "trials_of_task",
    "best_k_per_task",
    "task_fingerprints",
    "trial_counts",
    "task_summary",
    "task_evaluations",
    "evaluation_rows",
    "evaluations_from_rows",
    "metric_column",
    "metric_values",
    "RUNTIME_METRIC",
    "sql",
]


@dataclass(frozen=True, slots=True)
class TaskEvaluations:
    """Evaluations of one source task, shaped like syne-tune's transfer container.

    Attributes:
        task_id: the task.
        configs: ``n x d`` DataFrame, one column per parameter name (no prefix),
            NaN/None when inactive.
        objective: ``(n,)`` float64 raw objective values.
        objective_name: metric name of the objective.
        direction: ``"maximize"`` or ``"minimize"``.
        fidelity: ``(n,)`` fidelity of each row, or ``None`` when the task has none.
        fingerprint: fingerprint name -> value, or ``None``.
    """

    task_id: str
    configs: pd.DataFrame
    objective: np.ndarray
    objective_name: str
    direction: str
    fidelity: np.ndarray | None
    fingerprint: dict[str, float] | None = None

    def __post_init__(self) -> None:
        n_rows = len(self.configs)
        if self.objective.shape != (n_rows,):
            raise LibraryError(
                f"task {self.task_id}: objective has shape {self.objective.shape}, "
                f"expected ({n_rows},)"
            )
        if self.fidelity is not None and self.fidelity.shape != (n_rows,):
            raise LibraryError(f"task {self.task_id}: fidelity shape differs from configs")
        if self.direction not in ("maximize", "minimize"):
            raise LibraryError(f"task {self.task_id}: direction {self.direction!r} is invalid")


def _quote(path: PurePath) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _source(files: list[PurePath]) -> str:
    listed = ", ".join(_quote(path) for path in files)
    return f"read_parquet([{listed}], union_by_name=true)"


def sql(library: Library, query: str, *, table: str = "trials") -> pa.Table:
    """Run ``query`` where ``{source}`` stands for the files of ``table``.

    Args:
        library: the library.
        query: DuckDB SQL containing ``{source}`` (and ``{tasks}`` for the tasks files).
        table: which table ``{source}`` reads.

    Returns:
        The result as an Arrow table; an empty table with no columns when ``table`` has
        no files yet.

    Raises:
        CorruptFileError: a part file cannot be read.
    """
    import duckdb

    if library.is_remote:
        return _sql_on_arrow(library, query, table)
    for _attempt in range(_VANISH_RETRIES):
        files = library.files(table)
        task_files = library.files("tasks")
        if not files:
            return pa.table({})
        text = query.replace("{source}", _source(files))
        if "{tasks}" in text:
            if not task_files:
                tasks_source = "(SELECT * FROM empty_tasks)"
            else:
                tasks_source = _source(task_files)
            text = text.replace("{tasks}", tasks_source)
        connection = connect({"empty_tasks": TASKS_SCHEMA.empty_table()})
        try:
            return query_arrow(connection, text)
        except duckdb.IOException as error:
            if any(not os.path.exists(path) for path in files + task_files):
                continue  # a compaction replaced files under us: list again
            raise CorruptFileError(
                f"cannot read library files in {library.location}: {error}"
            ) from error
        except duckdb.InvalidInputException as error:
            raise CorruptFileError(
                f"cannot read library files in {library.location}: {error}; "
                "run `recommend library validate`"
            ) from error
        finally:
            connection.close()
    raise LibraryError(f"files of {library.location} kept vanishing while querying")


def _sql_on_arrow(library: Library, query: str, table: str) -> pa.Table:
    """`sql` for a remote library: read the tables with Arrow, register them in DuckDB."""
    if not library.files(table):
        return pa.table({})
    source = library.read_tasks() if table == "tasks" else library.read_trials()
    tables = {"hpws_source": source}
    text = query.replace("{source}", "hpws_source")
    if "{tasks}" in text:
        tables["hpws_tasks"] = source if table == "tasks" else library.read_tasks()
        text = text.replace("{tasks}", "hpws_tasks")
    connection = connect(tables)
    try:
        return query_arrow(connection, text)
    finally:
        connection.close()


def trials_of_task(library: Library, task_id: str, *, status: str | None = "ok") -> pa.Table:
    """All trials of one task (by default only ``ok`` ones).

    Raises:
        UnknownTaskError: the library holds no trial of ``task_id``.
    """
    escaped = task_id.replace("'", "''")
    condition = f"task_id = '{escaped}'"
    if status is not None:
        condition += f" AND status = '{TrialStatus(status).value}'"
    files = library.files("trials")
    if not files:
        raise UnknownTaskError(f"task {task_id!r} not in {library.location} (the library is empty)")
    result = sql(library, f"SELECT * FROM {{source}} WHERE {condition}")
    if result.num_rows == 0 and task_id not in library.task_ids():
        raise UnknownTaskError(
            f"task {task_id!r} not in {library.location}; see `recommend library stats`"
        )
    return result


def best_k_per_task(
    library: Library,
    k: int = 10,
    *,
    full_fidelity: bool = True,
    columns: Sequence[str] = ("trial_id", "params_json"),
) -> pa.Table:
    """The ``k`` best ``ok`` trials of every task (by each trial's own direction).

    Args:
        library: the library.
        k: trials per task.
        full_fidelity: only rows at the task's highest fidelity (rows without a
            fidelity always count).
        columns: extra trial columns to return (e.g. ``"trial_id"``, ``"param_lr"``).
            Wide string columns dominate the cost: pass ``()`` for the fastest query.

    Returns:
        Columns ``task_id, rank, objective_value, direction, fidelity`` (rank 1 = best,
        ties broken by order in the files) followed by ``columns``, ordered by task
        then rank.
    """
    if k < 1:
        raise LibraryError(f"k must be >= 1, got {k}")
    fixed = ["task_id", "objective_value", "direction", "fidelity"]
    payload = ", ".join(
        f"'{name}': \"{name}\"" for name in [*fixed[1:], *(c for c in columns if c not in fixed)]
    )
    needed = ", ".join(f'"{name}"' for name in dict.fromkeys([*fixed, *columns]))
    keep = "fidelity IS NULL OR fidelity = top_fidelity" if full_fidelity else "true"
    score = "CASE WHEN direction = 'minimize' THEN objective_value ELSE -objective_value END"
    # top-k by aggregate (min_by keeps a heap per task) is cheaper than a full window sort
    query = f"""
        WITH ok AS (
            SELECT {needed}, max(fidelity) OVER (PARTITION BY task_id) AS top_fidelity
            FROM {{source}} WHERE status = 'ok' AND objective_value IS NOT NULL
        ), best AS (
            SELECT task_id, min_by({{{payload}}}, {score}, {int(k)}) AS rows
            FROM ok WHERE {keep} GROUP BY task_id
        )
        SELECT task_id, unnest(range(1, len(rows) + 1)) AS rank,
               unnest(rows, recursive := true)
        FROM best ORDER BY task_id, rank
    """
    return sql(library, query)


def task_fingerprints(library: Library) -> pa.Table:
    """``task_id, fingerprint_names, fingerprint_values, featurizer_version`` of every task
    that has a fingerprint."""
    return sql(
        library,
        "SELECT task_id, fingerprint_names, fingerprint_values, featurizer_version "
        "FROM {source} WHERE fingerprint_values IS NOT NULL ORDER BY task_id",
        table="tasks",
    )


def trial_counts(library: Library) -> dict[str, Any]:
    """Counts of tasks and trials, by status and by source, plus files and bytes.

    Returns:
        ``{"path", "n_tasks", "n_trials", "by_status", "by_source", "files", "bytes"}``.
    """
    trial_files, task_files = library.files("trials"), library.files("tasks")
    n_tasks = 0
    if task_files:
        n_tasks = sql(library, "SELECT count(DISTINCT task_id) AS n FROM {source}", table="tasks")[
            "n"
        ][0].as_py()
    by_status: dict[str, int] = {}
    by_source: dict[str, int] = {}
    if trial_files:
        grouped = sql(
            library,
            "SELECT status, source, count(*) AS n FROM {source} GROUP BY ALL ORDER BY ALL",
        ).to_pylist()
        for row in grouped:
            status = row["status"] or "unknown"
            source = row["source"] or "unknown"
            by_status[status] = by_status.get(status, 0) + row["n"]
            by_source[source] = by_source.get(source, 0) + row["n"]
    size = library._size_of(trial_files + task_files)
    return {
        "path": library.location,
        "n_tasks": int(n_tasks),
        "n_trials": int(sum(by_status.values())),
        "by_status": by_status,
        "by_source": by_source,
        "files": {"tasks": len(task_files), "trials": len(trial_files)},
        "bytes": int(size),
    }


_TASK_COLUMNS = (
    "task_id",
    "name",
    "source",
    "objective_name",
    "direction",
    "n_trials",
    "n_ok",
    "best",
    "top_fidelity",
    "fingerprint",
    "featurizer_version",
)


def task_summary(library: Library) -> pd.DataFrame:
    """One row per task: what it is and what the library knows of it.

    Returns:
        Columns ``task_id, name, source, objective_name, direction, n_trials, n_ok, best,
        top_fidelity, fingerprint, featurizer_version``, ordered by ``task_id``: ``best`` is
        the best ``ok`` objective at the task's highest ``ok`` fidelity (`best_k_per_task`
        with ``k = 1``; NaN without one), ``fingerprint`` whether the task has one. A task with no trials
        has ``n_trials`` 0; trials whose task was never added get a row too.
    """
    tasks = pd.DataFrame(columns=["task_id"])
    if library.files("tasks"):
        tasks = sql(
            library,
            "SELECT task_id, any_value(name) AS name, any_value(source) AS task_source, "
            "any_value(objective_name) AS task_objective, any_value(direction) AS task_direction, "
            "bool_or(fingerprint_values IS NOT NULL) AS fingerprint, "
            "any_value(featurizer_version) AS featurizer_version "
            "FROM {source} GROUP BY task_id",
            table="tasks",
        ).to_pandas()
    trials = pd.DataFrame(columns=["task_id"])
    if library.files("trials"):
        counts = sql(
            library,
            "SELECT task_id, count(*) AS n_trials, count(*) FILTER (WHERE status = 'ok') AS n_ok, "
            "any_value(objective_name) AS trial_objective, "
            "any_value(direction) AS trial_direction, any_value(source) AS trial_source "
            "FROM {source} GROUP BY task_id",
        ).to_pandas()
        best = best_k_per_task(library, 1, columns=()).to_pandas()
        best = best.rename(columns={"objective_value": "best", "fidelity": "top_fidelity"})
        trials = counts.merge(best[["task_id", "best", "top_fidelity"]], on="task_id", how="left")
    merged = tasks.merge(trials, on="task_id", how="outer")
    if merged.empty:
        return pd.DataFrame(columns=list(_TASK_COLUMNS))

    def either(first: str, second: str) -> pd.Series:
        a = merged[first] if first in merged else pd.Series(None, index=merged.index)
        b = merged[second] if second in merged else pd.Series(None, index=merged.index)
        return a.where(a.notna(), b)

    out = pd.DataFrame(
        {
            "task_id": merged["task_id"],
            "name": merged.get("name"),
            "source": either("task_source", "trial_source"),
            "objective_name": either("task_objective", "trial_objective"),
            "direction": either("task_direction", "trial_direction"),
            "n_trials": merged.get("n_trials", 0),
            "n_ok": merged.get("n_ok", 0),
            "best": merged.get("best", np.nan),
            "top_fidelity": merged.get("top_fidelity", np.nan),
            "fingerprint": merged.get("fingerprint", False),
            "featurizer_version": merged.get("featurizer_version"),
        }
    )
    out["n_trials"] = out["n_trials"].fillna(0).astype(int)
    out["n_ok"] = out["n_ok"].fillna(0).astype(int)
    out["fingerprint"] = out["fingerprint"].fillna(False).astype(bool)
    return out.sort_values("task_id", ignore_index=True)


_EVALUATION_COLUMNS = (
    "^(task_id|trial_id|objective_name|objective_value|direction|fidelity|status|"
    + PARAM_PREFIX
    + ".*)$"
)


def task_evaluations(
    library: Library, *, task_ids: Sequence[str] | None = None, fidelity: str | float | None = "max"
) -> dict[str, TaskEvaluations]:
    """Evaluations of each task, ready for transfer learning.

    Args:
        library: the library.
        task_ids: tasks to return (default: every task with trials).
        fidelity: ``"max"`` keeps each task's rows at its highest fidelity, a number keeps
            rows at that fidelity, ``None`` keeps all rows.

    Returns:
        task_id -> `TaskEvaluations`, only ``ok`` trials with an objective, rows ordered by
        ``trial_id`` (deterministic).

    Raises:
        EmptyLibraryError: the library holds no trials.
        UnknownTaskError: a requested task is not in the library.
    """
    trials, fingerprints = evaluation_rows(library, task_ids=task_ids, fidelity=fidelity)
    return evaluations_from_rows(trials, fingerprints, library.task_spaces())


def evaluation_rows(
    library: Library, *, task_ids: Sequence[str] | None = None, fidelity: str | float | None = "max"
) -> tuple[pa.Table, dict[str, dict[str, float]]]:
    """What `task_evaluations` reads: the trial rows (one DuckDB query) and the fingerprints.

    Args and Raises: as `task_evaluations`.

    Returns:
        The rows (``task_id, trial_id, objective_name, objective_value, direction,
        fidelity, status`` and the parameter columns, ordered by task and trial) and
        task_id -> fingerprint name -> value for the tasks that have one.
    """
    if not library.files("trials"):
        raise EmptyLibraryError(f"no trials in {library.location}; ingest some first")
    where = ["status = 'ok'", "objective_value IS NOT NULL"]
    if task_ids is not None:
        wanted = sorted(set(task_ids))
        known = set(library.task_ids())
        missing = [task for task in wanted if task not in known]
        if missing:
            raise UnknownTaskError(
                f"unknown task(s) {missing[:5]} in {library.location}; see `recommend library stats`"
            )
        listed = ", ".join("'" + task.replace("'", "''") + "'" for task in wanted)
        where.append(f"task_id IN ({listed})" if wanted else "false")
    if fidelity == "max":
        where.append("(fidelity IS NULL OR fidelity = top_fidelity)")
    elif fidelity is not None:
        where.append(f"fidelity = {float(fidelity)!r}")
    # only the columns used below: provenance and metric columns would double the read
    query = f"""
        SELECT * EXCLUDE (top_fidelity) FROM (
            SELECT COLUMNS('{_EVALUATION_COLUMNS}'),
                max(fidelity) OVER (PARTITION BY task_id) AS top_fidelity
            FROM {{source}} WHERE status = 'ok'
        ) WHERE {" AND ".join(where)}
        ORDER BY task_id, trial_id
    """
    trials = sql(library, query)
    fingerprints = {
        row["task_id"]: dict(zip(row["fingerprint_names"], row["fingerprint_values"], strict=True))
        for row in task_fingerprints(library).to_pylist()
    }
    return trials, fingerprints


#: the metric name of each trial's recorded wall time, the ``runtime_s`` column (the runner,
#: the Ray integration and importers with a runtime column fill it)
RUNTIME_METRIC = "runtime_s"


def metric_column(metric: str) -> str:
    """The trials column of a metric: ``runtime_s`` for `RUNTIME_METRIC`, else
    ``metric_<metric>``."""
    return RUNTIME_METRIC if metric == RUNTIME_METRIC else METRIC_PREFIX + metric


def metric_values(
    library: Library, metric: str, *, task_ids: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """A secondary metric (e.g. ``"time"``) of the ``ok`` trials of each task, at its
    highest fidelity (the rows `task_evaluations` returns).

    Args:
        library: the library.
        metric: the metric's name (column `metric_column`: ``metric_<metric>``, or the
            trial's wall time ``runtime_s`` for `RUNTIME_METRIC`).
        task_ids: the tasks to read.

    Returns:
        task_id -> DataFrame of the parameter columns (no prefix; NaN when inactive) and a
        ``value`` column, rows ordered by ``trial_id``; only tasks with at least one finite
        value, and only those rows. Empty when no trial file has the column.
    """
    wanted = sorted(set(task_ids))
    column = metric_column(metric)
    if not wanted or not library.files("trials"):
        return {}
    present = sql(library, "SELECT * FROM {source} LIMIT 0").column_names
    if column not in present:
        return {}
    listed = ", ".join("'" + task.replace("'", "''") + "'" for task in wanted)
    quoted = '"' + column.replace('"', '""') + '"'
    rows = sql(
        library,
        f"""
        SELECT * EXCLUDE (top_fidelity) FROM (
            SELECT task_id, trial_id, fidelity, COLUMNS('^{PARAM_PREFIX}.*$'),
                {quoted} AS value, max(fidelity) OVER (PARTITION BY task_id) AS top_fidelity
            FROM {{source}}
            WHERE status = 'ok' AND objective_value IS NOT NULL AND task_id IN ({listed})
        ) WHERE (fidelity IS NULL OR fidelity = top_fidelity) AND isfinite(value)
        ORDER BY task_id, trial_id
        """,
    ).to_pandas()
    out: dict[str, pd.DataFrame] = {}
    for task, frame in rows.groupby("task_id", sort=True):
        params = [c for c in frame.columns if c.startswith(PARAM_PREFIX) and frame[c].notna().any()]
        table = frame[[*params, "value"]].rename(columns=lambda c: c.removeprefix(PARAM_PREFIX))
        out[str(task)] = table.reset_index(drop=True)
    return out


def evaluations_from_rows(
    trials: pa.Table,
    fingerprints: Mapping[str, Mapping[str, float]],
    spaces: Mapping[str, Mapping[str, Any]],
) -> dict[str, TaskEvaluations]:
    """`task_evaluations` from what `evaluation_rows` read and the tasks' declared spaces."""
    result: dict[str, TaskEvaluations] = {}
    if trials.num_rows == 0:
        return result
    frame_all = trials.to_pandas()
    for task, frame in frame_all.groupby("task_id", sort=True):
        declared = [p["name"] for p in spaces.get(str(task), {}).get("parameters", [])]
        columns = [c for c in frame.columns if c.startswith(PARAM_PREFIX)]
        if declared:
            columns = [PARAM_PREFIX + name for name in declared if PARAM_PREFIX + name in frame]
        else:
            columns = [c for c in columns if frame[c].notna().any()]
        configs = frame[columns].rename(columns=lambda c: c[len(PARAM_PREFIX) :])
        configs = configs.reset_index(drop=True)
        fidelity_values = frame["fidelity"].to_numpy(dtype=np.float64)
        fingerprint = fingerprints.get(str(task))
        result[str(task)] = TaskEvaluations(
            task_id=str(task),
            configs=configs,
            objective=frame["objective_value"].to_numpy(dtype=np.float64),
            objective_name=str(frame["objective_name"].iloc[0]),
            direction=str(frame["direction"].iloc[0]),
            fidelity=None if np.isnan(fidelity_values).all() else fidelity_values,
            fingerprint=None if fingerprint is None else dict(fingerprint),
        )
    return result
