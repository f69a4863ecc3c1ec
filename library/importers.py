"""Importers: trial files (CSV / Parquet / JSON lines) and shared-format benchmark dirs.

Trial files are mapped onto the library schema by a `ColumnMapping`::

    mapping = ColumnMapping(
        objective="val_acc", direction="maximize",      # objective column and direction
        parameters=("lr", "depth", "optimizer"),          # hyperparameter columns
        task_id="dataset", fidelity="epoch", seed="seed", metrics=("time",),
    )
    import_trials(library, "runs.csv", mapping=mapping, create_tasks=True)

A benchmark directory (``space.json`` + ``trials.parquet``, see
``shared/benchmarks/FORMAT.md``) is read and validated strictly by `read_benchmark` and
stored as tasks + trials by `import_benchmark`. Library task ids are
``"<benchmark name>/<task_id>"`` so that two benchmarks never collide; the task's ``name``
keeps the raw id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from library.choices import choice_index
from library.exceptions import BenchmarkFormatError, CorruptFileError, SchemaError, UnknownTaskError
from library.schema import METRIC_PREFIX, PARAM_PREFIX, Direction, TrialStatus
from library.store import AppendResult, Library, trial_defaults

__all__ = [
    "ColumnMapping",
    "import_trials",
    "read_trials_file",
    "Benchmark",
    "read_benchmark",
    "import_benchmark",
    "ImportResult",
    "library_task_id",
]

Progress = Callable[[str, int, int], None]
_PARAM_TYPES = ("float", "int", "categorical")


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """How the columns of a trial file map onto the library schema.

    Attributes:
        objective: column holding the objective value.
        direction: ``"maximize"`` or ``"minimize"``.
        parameters: hyperparameter columns; ``None`` takes every column starting with
            ``param_prefix`` (prefix stripped).
        param_prefix: prefix used when ``parameters`` is ``None``.
        task_id: column holding the task id.
        objective_name: stored metric name (default: the ``objective`` column name).
        fidelity: fidelity column, if any.
        fidelity_name: stored fidelity name (default: the ``fidelity`` column name).
        seed: seed column, if any.
        status: status column (values ok|failed|diverged|timeout|pruned), if any.
        runtime_s: runtime column in seconds, if any.
        metrics: secondary metric columns, stored as ``metric_<name>``.
        source: provenance stored with every trial (default: ``"import:<file name>"``).
    """

    objective: str
    direction: str
    parameters: tuple[str, ...] | None = None
    param_prefix: str = "param_"
    task_id: str = "task_id"
    objective_name: str | None = None
    fidelity: str | None = None
    fidelity_name: str | None = None
    seed: str | None = None
    status: str | None = None
    runtime_s: str | None = None
    metrics: tuple[str, ...] = ()
    source: str | None = None

    def __post_init__(self) -> None:
        if self.direction not in {d.value for d in Direction}:
            raise SchemaError(
                f"ColumnMapping.direction must be 'maximize' or 'minimize', got {self.direction!r}"
            )


def read_trials_file(path: str | Path) -> pa.Table:
    """Read a ``.csv``, ``.parquet`` or ``.jsonl``/``.ndjson``/``.json`` file as Arrow.

    Raises:
        CorruptFileError: the file is missing, empty or unreadable.
        SchemaError: the extension is not supported or the file has no rows.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise CorruptFileError(f"trial file {path} does not exist")
    if path.stat().st_size == 0:
        raise CorruptFileError(f"trial file {path} is empty (0 bytes)")
    try:
        if suffix == ".csv":
            import pyarrow.csv as pacsv

            table = pacsv.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            table = pq.read_table(path)
        elif suffix in (".jsonl", ".ndjson", ".json"):
            import pyarrow.json as pajson

            table = pajson.read_json(path)
        else:
            raise SchemaError(
                f"unsupported trial file type {suffix!r} for {path}; use .csv, .parquet or .jsonl"
            )
    except (pa.ArrowException, OSError) as error:
        raise CorruptFileError(f"cannot read trial file {path}: {error}") from error
    if table.num_rows == 0:
        raise SchemaError(f"trial file {path} has no rows")
    return table


def import_trials(
    library: Library,
    path: str | Path,
    *,
    mapping: ColumnMapping,
    create_tasks: bool = False,
) -> AppendResult:
    """Import one trial file into the library as one batch.

    Args:
        library: destination.
        path: ``.csv``, ``.parquet`` or ``.jsonl`` file.
        mapping: the `ColumnMapping`.
        create_tasks: add a bare task row for task ids the library does not hold;
            otherwise such ids raise `UnknownTaskError`.

    Returns:
        The `AppendResult` of the batch.

    Raises:
        SchemaError: a mapped column is missing or has the wrong type, or NaN objective.
        CorruptFileError: the file is missing, empty or unreadable.
        UnknownTaskError: unknown task ids and ``create_tasks=False``.
    """
    path = Path(path)
    source_table = read_trials_file(path)
    names = source_table.column_names
    where = f"{path}"

    def need(column: str, role: str) -> pa.ChunkedArray:
        if column not in names:
            raise SchemaError(
                f"column {column!r} ({role}) missing in {where}; columns are {names}; "
                "fix the ColumnMapping"
            )
        return source_table[column]

    if mapping.parameters is None:
        parameters = [
            n[len(mapping.param_prefix) :] for n in names if n.startswith(mapping.param_prefix)
        ]
        param_columns = {name: mapping.param_prefix + name for name in parameters}
    else:
        param_columns = {name: name for name in mapping.parameters}
    if not param_columns:
        raise SchemaError(f"no parameter columns found in {where}; set ColumnMapping.parameters")
    columns: dict[str, Any] = {"task_id": need(mapping.task_id, "task id")}
    task_column = columns["task_id"]
    if not (pa.types.is_string(task_column.type) or pa.types.is_large_string(task_column.type)):
        columns["task_id"] = task_column.cast(pa.string())
    objective = need(mapping.objective, "objective")
    if not (pa.types.is_floating(objective.type) or pa.types.is_integer(objective.type)):
        raise SchemaError(
            f"objective column {mapping.objective!r} in {where} has type {objective.type}, "
            "expected numbers"
        )
    columns["objective_value"] = objective
    for name, column in param_columns.items():
        columns[PARAM_PREFIX + name] = need(column, "parameter")
    if mapping.fidelity is not None:
        columns["fidelity"] = need(mapping.fidelity, "fidelity")
    if mapping.seed is not None:
        columns["seed"] = need(mapping.seed, "seed")
    if mapping.status is not None:
        columns["status"] = need(mapping.status, "status")
    if mapping.runtime_s is not None:
        columns["runtime_s"] = need(mapping.runtime_s, "runtime")
    for metric in mapping.metrics:
        columns[METRIC_PREFIX + metric] = need(metric, "metric")
    table = pa.table(columns)
    try:
        defaults = trial_defaults(
            mapping.objective_name or mapping.objective,
            mapping.direction,
            mapping.source or f"import:{path.name}",
            mapping.fidelity_name or mapping.fidelity,
        )
        new_tasks: list[dict[str, Any]] = []
        if create_tasks:
            known = set(library.task_ids())
            new_tasks = [
                {"task_id": task, "name": task, "source": f"import:{path.name}"}
                for task in sorted(set(table["task_id"].to_pylist()) - known - {None})
            ]
        # every error the rows can raise before any task is added, so that a rejected
        # file leaves no task behind
        library.check_trials(table, **defaults, new_tasks=new_tasks)
        if new_tasks:
            library.append_tasks(new_tasks)
        return library.append_trials(
            table,
            objective_name=defaults["objective_name"],
            direction=defaults["direction"],
            source=defaults["source"],
            fidelity_name=defaults["fidelity_name"],
        )
    except SchemaError as error:
        raise SchemaError(f"{error} (file {path})") from error


# ---------------------------------------------------------------------- benchmarks
@dataclass(frozen=True, slots=True)
class Benchmark:
    """A tabular transfer-HPO benchmark in the shared format.

    Attributes:
        name: benchmark name (``space.json``'s ``name``).
        space: the raw ``space.json`` dict.
        trials: ``trials.parquet`` as a DataFrame (one row per task, config, fidelity).
        objective: objective metric column.
        direction: ``"maximize"`` or ``"minimize"``.
        fidelity_name: fidelity column, or ``None``.
        fidelity_max: full-fidelity value, or ``None``.
        task_ids: the raw task ids, sorted.
        ignored_columns: ``trials.parquet`` columns not declared in ``space.json`` that
            the reader was allowed to leave out (``read_benchmark(allow_extra_columns=True)``).
    """

    name: str
    space: dict[str, Any]
    trials: pd.DataFrame
    objective: str
    direction: str
    fidelity_name: str | None
    fidelity_max: float | None
    task_ids: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()

    @property
    def parameter_names(self) -> list[str]:
        """Hyperparameter names in space order."""
        return [p["name"] for p in self.space["parameters"]]

    def task_table(self, task_id: str, *, full_fidelity: bool = True) -> pd.DataFrame:
        """Rows of one task, sorted by ``config_id`` (and fidelity), index reset.

        Args:
            task_id: a raw benchmark task id.
            full_fidelity: keep only rows at ``fidelity_max``.

        Raises:
            UnknownTaskError: ``task_id`` is not in the benchmark.
        """
        if task_id not in self.task_ids:
            raise UnknownTaskError(
                f"task {task_id!r} not in benchmark {self.name!r}; tasks: {list(self.task_ids)[:5]}..."
            )
        rows = self.trials[self.trials["task_id"] == task_id]
        order = ["config_id"]
        if self.fidelity_name is not None:
            if full_fidelity:
                rows = rows[rows[self.fidelity_name] == self.fidelity_max]
            order.append(self.fidelity_name)
        return rows.sort_values(order, kind="stable").reset_index(drop=True)


def _fail(path: Path, field: str, message: str) -> BenchmarkFormatError:
    return BenchmarkFormatError(f"{path}: field {field!r}: {message}; see FORMAT.md")


def _with_defaults(space: Any, directory: Path) -> Any:
    """``space`` with the two fields a writer may leave out filled in: ``name`` (the
    directory's name) and ``metrics`` (the objective alone). Anything else is checked as
    written."""
    if not isinstance(space, dict):
        return space
    filled = dict(space)
    filled.setdefault("name", directory.name)
    objective = filled.get("objective")
    if "metrics" not in filled and isinstance(objective, dict) and "name" in objective:
        filled["metrics"] = [objective["name"]]
    return filled


def _choices_as_text(column: pd.Series, choices: Sequence[Any]) -> pd.Series:
    """A categorical column with numbers or booleans as the text of the choices they equal.

    FORMAT.md stores categorical values as strings; a writer that kept ``batch_size``'s
    numbers or a flag's booleans gets the same column as if it had written
    ``str(choice)``. A value equal to no choice keeps its own text, for the validation to
    name. Text values and nulls are kept as they are.
    """
    if column.dtype != object and not (
        pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
    ):
        return column

    def text(value: object) -> object:
        if value is None or isinstance(value, str) or pd.isna(value):  # type: ignore[call-overload]
            return value
        index = choice_index(value, choices)
        return str(value) if index is None else str(choices[index])

    return column.astype(object).map(text)


def _check_space(space: Any, path: Path) -> None:
    if not isinstance(space, dict):
        raise _fail(path, "<root>", "must be a JSON object")
    for key in ("name", "parameters", "objective", "metrics"):
        if key not in space:
            raise _fail(path, key, "missing")
    if not isinstance(space["name"], str) or not space["name"]:
        raise _fail(path, "name", "must be a non-empty string")
    parameters = space["parameters"]
    if not isinstance(parameters, list) or not parameters:
        raise _fail(path, "parameters", "must be a non-empty list")
    seen: set[str] = set()
    for index, spec in enumerate(parameters):
        field = f"parameters[{index}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise _fail(path, field, "needs a string 'name'")
        name = spec["name"]
        if name in seen:
            raise _fail(path, f"{field}.name", f"duplicate parameter {name!r}")
        seen.add(name)
        kind = spec.get("type")
        if kind not in _PARAM_TYPES:
            raise _fail(path, f"{field}.type", f"{kind!r} is not one of {_PARAM_TYPES}")
        if kind == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise _fail(path, f"{field}.choices", "must be a non-empty list")
            continue
        for bound in ("low", "high"):
            value = spec.get(bound)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise _fail(path, f"{field}.{bound}", f"must be a finite number, got {value!r}")
        if spec["low"] > spec["high"]:
            raise _fail(path, f"{field}.low", f"low={spec['low']} > high={spec['high']}")
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise _fail(path, f"{field}.log", "must be true or false")
        if log and spec["low"] <= 0:
            raise _fail(path, f"{field}.low", "must be > 0 when log is true")
    for index, condition in enumerate(space.get("conditions", []) or []):
        field = f"conditions[{index}]"
        if not isinstance(condition, dict):
            raise _fail(path, field, "must be an object")
        for key in ("child", "parent"):
            if condition.get(key) not in seen:
                raise _fail(path, f"{field}.{key}", f"{condition.get(key)!r} is not a parameter")
        if not isinstance(condition.get("values"), list) or not condition["values"]:
            raise _fail(path, f"{field}.values", "must be a non-empty list")
    objective = space["objective"]
    if not isinstance(objective, dict) or not isinstance(objective.get("name"), str):
        raise _fail(path, "objective.name", "must be a string")
    if objective.get("direction") not in ("maximize", "minimize"):
        raise _fail(path, "objective.direction", f"{objective.get('direction')!r} is invalid")
    metrics = space["metrics"]
    if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
        raise _fail(path, "metrics", "must be a list of strings")
    if objective["name"] not in metrics:
        raise _fail(path, "objective.name", f"{objective['name']!r} is not among metrics")
    fidelity = space.get("fidelity")
    if fidelity is not None:
        if not isinstance(fidelity, dict) or not isinstance(fidelity.get("name"), str):
            raise _fail(path, "fidelity.name", "must be a string")
        values = fidelity.get("values")
        if not isinstance(values, list) or not values:
            raise _fail(path, "fidelity.values", "must be a non-empty list")
        if fidelity.get("max") not in values:
            raise _fail(path, "fidelity.max", f"{fidelity.get('max')!r} is not among values")


def _check_trials(
    table: pa.Table, space: dict[str, Any], path: Path, *, allow_extra: bool = False
) -> tuple[str, ...]:
    """Check the columns against ``space``; return the undeclared ones (``allow_extra``)."""
    schema = table.schema

    def column_type(name: str, role: str) -> pa.DataType:
        if name not in schema.names:
            raise _fail(path, name, f"column missing ({role})")
        return schema.field(name).type

    def is_text(kind: pa.DataType) -> bool:
        return (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))
        )

    def is_number(kind: pa.DataType) -> bool:
        return pa.types.is_floating(kind) or pa.types.is_integer(kind)

    # integer task ids (OpenML ids written as numbers) are read as their text
    task_kind = column_type("task_id", "task id")
    if not (is_text(task_kind) or pa.types.is_integer(task_kind)):
        raise _fail(path, "task_id", f"must be string, got {task_kind}")
    if not pa.types.is_integer(column_type("config_id", "configuration id")):
        raise _fail(path, "config_id", f"must be int, got {schema.field('config_id').type}")
    expected = {"task_id", "config_id"}
    for spec in space["parameters"]:
        kind = column_type(spec["name"], "parameter")
        expected.add(spec["name"])
        if spec["type"] == "categorical":
            # numbers and booleans are read as the choice they equal (`_choices_as_text`)
            if not (is_text(kind) or is_number(kind) or pa.types.is_boolean(kind)):
                if not pa.types.is_null(kind):
                    raise _fail(
                        path,
                        spec["name"],
                        f"categorical parameter must be string, number or bool, got {kind}",
                    )
        elif not (is_number(kind) or pa.types.is_null(kind)):
            raise _fail(path, spec["name"], f"numeric parameter must be float/int, got {kind}")
    fidelity = space.get("fidelity")
    if fidelity is not None:
        kind = column_type(fidelity["name"], "fidelity")
        expected.add(fidelity["name"])
        if not is_number(kind):
            raise _fail(path, fidelity["name"], f"fidelity must be numeric, got {kind}")
    for metric in space["metrics"]:
        kind = column_type(metric, "metric")
        expected.add(metric)
        if not is_number(kind):
            raise _fail(path, metric, f"metric must be numeric, got {kind}")
    extra = sorted(set(schema.names) - expected)
    if extra and not allow_extra:
        raise _fail(path, extra[0], f"unexpected column(s) {extra}, not declared in space.json")
    if table["task_id"].null_count or table["config_id"].null_count:
        raise _fail(path, "task_id", "task_id and config_id must not be null")
    return tuple(extra)


def read_benchmark(
    path: str | Path, *, allow_missing_objective: bool = False, allow_extra_columns: bool = False
) -> Benchmark:
    """Read and strictly validate a benchmark directory in the shared format.

    Args:
        path: directory holding ``space.json`` and ``trials.parquet``.
        allow_missing_objective: accept rows whose objective is null, NaN or infinite
            (failed evaluations; read as null, and the benchmark harness leaves them out of
            every pool and history). Off for imports into a library, where a non-finite
            objective is an error.
        allow_extra_columns: leave out ``trials.parquet`` columns that ``space.json`` does
            not declare (listed in `Benchmark.ignored_columns`) instead of failing. Off for
            imports into a library, where an undeclared column is likely a misnamed one.

    Returns:
        The `Benchmark` (a ``space.json`` without ``name`` takes the directory's name,
        one without ``metrics`` has the objective as its only metric).

    Raises:
        BenchmarkFormatError: a file is missing, unreadable or breaks FORMAT.md; the
            message names the file and the field.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise BenchmarkFormatError(f"benchmark directory {directory} does not exist")
    space_path, trials_path = directory / "space.json", directory / "trials.parquet"
    for required in (space_path, trials_path):
        if not required.is_file():
            raise BenchmarkFormatError(f"{required} is missing; see FORMAT.md")
    try:
        space = json.loads(space_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(space_path, "<root>", f"not valid JSON: {error}") from error
    space = _with_defaults(space, directory)
    _check_space(space, space_path)
    try:
        table = pq.read_table(trials_path)
    except (pa.ArrowException, OSError) as error:
        raise _fail(trials_path, "<file>", f"cannot read Parquet: {error}") from error
    if table.num_rows == 0:
        raise _fail(trials_path, "<rows>", "no rows")
    ignored = _check_trials(table, space, trials_path, allow_extra=allow_extra_columns)
    frame = table.drop_columns(list(ignored)).to_pandas()
    frame["task_id"] = frame["task_id"].astype(str)
    for spec in space["parameters"]:
        if spec["type"] == "categorical":
            frame[spec["name"]] = _choices_as_text(frame[spec["name"]], spec["choices"])
    objective = space["objective"]["name"]
    values = frame[objective].to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(values).all():
        if not allow_missing_objective:
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise _fail(
                trials_path, objective, f"objective is NaN or infinite (first at row {row})"
            )
        frame[objective] = frame[objective].where(np.isfinite(values))  # failed: null
    fidelity = space.get("fidelity")
    fidelity_name = fidelity["name"] if fidelity else None
    fidelity_max = float(fidelity["max"]) if fidelity else None
    if fidelity_name is not None:
        allowed = {float(v) for v in fidelity["values"]}
        present = set(frame[fidelity_name].astype(float).unique())
        if not present <= allowed:
            raise _fail(
                trials_path, fidelity_name, f"values {sorted(present - allowed)[:5]} not declared"
            )
    keys = ["task_id", "config_id"] + ([fidelity_name] if fidelity_name else [])
    duplicated = frame.duplicated(keys)
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise _fail(trials_path, "config_id", f"duplicate {keys} at row {row}")
    task_ids = tuple(sorted(frame["task_id"].unique()))
    return Benchmark(
        name=space["name"],
        space=space,
        trials=frame,
        objective=objective,
        direction=space["objective"]["direction"],
        fidelity_name=fidelity_name,
        fidelity_max=fidelity_max,
        task_ids=task_ids,
        ignored_columns=ignored,
    )


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Totals of one `import_benchmark` call."""

    benchmark: str
    n_tasks: int
    n_trials_input: int
    n_trials_written: int
    n_duplicates: int


def library_task_id(benchmark_name: str, task_id: str) -> str:
    """Library task id of a benchmark task: ``"<benchmark name>/<task_id>"``."""
    return f"{benchmark_name}/{task_id}"


def import_benchmark(
    library: Library,
    path: str | Path | Benchmark,
    *,
    progress: Progress | None = None,
    rows_per_batch: int = 200_000,
) -> ImportResult:
    """Ingest a benchmark directory as tasks + trials (idempotent: re-import adds nothing).

    Args:
        library: destination.
        path: benchmark directory (or an already read `Benchmark`).
        progress: optional ``callback(stage, done, total)`` called after each batch.
        rows_per_batch: trials per part file (whole tasks per batch).

    Returns:
        The `ImportResult`.

    Raises:
        BenchmarkFormatError: the directory breaks FORMAT.md (nothing is written).
        SpaceError: a value its own space.json does not allow, e.g. a categorical value
            that is no choice (nothing is written).
        LibraryError: the library cannot be written.
    """
    benchmark = path if isinstance(path, Benchmark) else read_benchmark(path)
    space_text = json.dumps(benchmark.space, sort_keys=True)
    tasks = [
        {
            "task_id": library_task_id(benchmark.name, task),
            "name": task,
            "kind": "tabular-benchmark",
            "space_json": space_text,
            "objective_name": benchmark.objective,
            "direction": benchmark.direction,
            "source": f"benchmark:{benchmark.name}",
        }
        for task in benchmark.task_ids
    ]
    frame = benchmark.trials
    columns: dict[str, Any] = {
        "task_id": pa.array(
            (benchmark.name + "/" + frame["task_id"].astype(str)).to_numpy(dtype=object),
            pa.string(),
        ),
        "objective_value": pa.array(frame[benchmark.objective].to_numpy(dtype=np.float64)),
        "status": pa.array(np.full(len(frame), TrialStatus.OK.value, dtype=object), pa.string()),
    }
    if benchmark.fidelity_name is not None:
        columns["fidelity"] = pa.array(frame[benchmark.fidelity_name].to_numpy(dtype=np.float64))
    for spec in benchmark.space["parameters"]:
        values = frame[spec["name"]]
        if spec["type"] == "categorical":
            array = pa.array(values.astype(object).where(values.notna(), None), pa.string())
        else:
            array = pa.array(values.to_numpy(dtype=np.float64), from_pandas=True)
        columns[PARAM_PREFIX + spec["name"]] = array
    for metric in benchmark.space["metrics"]:
        if metric != benchmark.objective:
            columns[METRIC_PREFIX + metric] = pa.array(frame[metric].to_numpy(dtype=np.float64))
    table = pa.table(columns).sort_by("task_id")
    # every row checked before anything is written: a row the library rejects in a later
    # batch must not leave tasks (or earlier batches) behind
    library.check_trials(
        table,
        objective_name=benchmark.objective,
        direction=benchmark.direction,
        source=f"benchmark:{benchmark.name}",
        fidelity_name=benchmark.fidelity_name,
        new_tasks=tasks,
    )
    library.append_tasks(tasks)
    boundaries = _task_batches(table["task_id"].to_numpy(zero_copy_only=False), rows_per_batch)
    written = duplicates = 0
    source = f"benchmark:{benchmark.name}"
    for index, (start, stop) in enumerate(boundaries):
        result = library.append_trials(
            table.slice(start, stop - start),
            objective_name=benchmark.objective,
            direction=benchmark.direction,
            source=source,
            fidelity_name=benchmark.fidelity_name,
        )
        written += result.n_written
        duplicates += result.n_duplicates
        if progress is not None:
            progress(f"ingesting {benchmark.name}", index + 1, len(boundaries))
    return ImportResult(benchmark.name, len(tasks), table.num_rows, written, duplicates)


def _task_batches(
    task_ids: Sequence[str] | np.ndarray, rows_per_batch: int
) -> list[tuple[int, int]]:
    """Split row ranges at task boundaries into batches of about ``rows_per_batch`` rows.

    Rows of one task are assumed contiguous; if they are not, batches still cover all rows.
    """
    n_rows = len(task_ids)
    if n_rows == 0:
        return []
    boundaries, start = [], 0
    while start < n_rows:
        stop = min(start + max(rows_per_batch, 1), n_rows)
        while stop < n_rows and task_ids[stop] == task_ids[stop - 1]:
            stop += 1
        boundaries.append((start, stop))
        start = stop
    return boundaries
