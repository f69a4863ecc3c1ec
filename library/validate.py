"""Checks of a library's integrity: every problem is reported, none is fixed silently.

Kinds of `Problem`: ``corrupt_file``, ``schema``, ``duplicate_task_id``,
``duplicate_trial_id``, ``trial_id_mismatch``, ``orphan_trial``, ``nan_objective``,
``unknown_parameter``, ``out_of_range``, ``invalid_choice``, ``inactive_parameter_set``.

Spaces are plain space.json-style dicts (see ``shared/benchmarks/FORMAT.md``); this module
does not import `recommender`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from library.schema import (
    PARAM_PREFIX,
    TASKS_SCHEMA,
    TRIALS_BASE_SCHEMA,
    TrialStatus,
    params_json_column,
    trial_ids,
)
from library.store import Library

__all__ = ["Problem", "validate", "check_params_in_space"]

_MAX_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Problem:
    """One integrity problem.

    Attributes:
        kind: what is wrong (see the module docstring for the list).
        where: file, task or trial where it was found.
        detail: human-readable explanation with the offending values.
    """

    kind: str
    where: str
    detail: str


def _examples(values: list[Any]) -> str:
    shown = ", ".join(repr(value) for value in values[:_MAX_EXAMPLES])
    more = f" (+{len(values) - _MAX_EXAMPLES} more)" if len(values) > _MAX_EXAMPLES else ""
    return shown + more


def _choice_texts(choices: Sequence[Any]) -> pa.Array:
    """The strings a stored categorical value may take for ``choices``: ``str(choice)``,
    and for a bool choice its lower case too (``"true"``, as Arrow casts a boolean): the
    first two rules of `library.choices.choice_index`, as a set for Arrow's ``is_in``
    (stored values are text, so the numeric rule does not arise: importers store
    ``str(choice)``)."""
    texts = [str(c) for c in choices]
    texts += [str(c).lower() for c in choices if isinstance(c, bool)]
    return pa.array(texts, pa.string())


def check_params_in_space(
    trials: pa.Table, spaces: Mapping[str, Mapping[str, Any]], *, where: str = "library"
) -> list[Problem]:
    """Problems of the ``param_*`` columns of ``trials`` against each task's space.

    Args:
        trials: rows with ``task_id`` and ``param_<name>`` columns.
        spaces: task_id -> space.json-style dict; tasks without a space are not checked.
        where: prefix naming the data in problem locations.

    Returns:
        One `Problem` per (task group, parameter, kind).
    """
    problems: list[Problem] = []
    by_space: dict[str, list[str]] = {}
    for task, space in spaces.items():
        by_space.setdefault(json.dumps(space, sort_keys=True), []).append(task)
    param_names = [n for n in trials.column_names if n.startswith(PARAM_PREFIX)]
    for space_text, tasks in by_space.items():
        space = json.loads(space_text)
        rows = trials.filter(pc.is_in(trials["task_id"], pa.array(tasks, pa.string())))
        if rows.num_rows == 0:
            continue
        label = f"{where}: task {tasks[0]}" if len(tasks) == 1 else f"{where}: {len(tasks)} tasks"
        declared = {p["name"]: p for p in space.get("parameters", [])}
        for column in param_names:
            name = column[len(PARAM_PREFIX) :]
            values = rows[column]
            active = pc.drop_null(values)
            if name not in declared:
                if len(active):
                    problems.append(
                        Problem(
                            "unknown_parameter",
                            label,
                            f"parameter {name!r} is set in {len(active)} trial(s) but not "
                            f"declared in the space (declared: {sorted(declared)})",
                        )
                    )
                continue
            spec = declared[name]
            if len(active) == 0:
                continue
            if spec.get("type") == "categorical":
                choices = [c for c in spec.get("choices", [])]
                as_text = pc.cast(active, pa.string())
                wrong = pc.invert(pc.is_in(as_text, _choice_texts(choices)))
                bad = pc.unique(pc.filter(as_text, wrong)).to_pylist()
                if bad:
                    problems.append(
                        Problem(
                            "invalid_choice",
                            label,
                            f"{name!r} takes {_examples(bad)}, not among {choices}",
                        )
                    )
                continue
            if not (pa.types.is_floating(active.type) or pa.types.is_integer(active.type)):
                problems.append(
                    Problem("schema", label, f"{name!r} is numeric in the space but {active.type}")
                )
                continue
            low, high = float(spec["low"]), float(spec["high"])
            tolerance = 1e-9 * max(1.0, abs(high - low))
            numbers = pc.cast(active, pa.float64())
            outside = pc.or_(
                pc.less(numbers, low - tolerance), pc.greater(numbers, high + tolerance)
            )
            n_outside = pc.sum(pc.cast(outside, pa.int64())).as_py() or 0
            if n_outside:
                bad = pc.filter(numbers, outside).to_pylist()
                problems.append(
                    Problem(
                        "out_of_range",
                        label,
                        f"{name!r} outside [{low}, {high}] in {n_outside} trial(s): {_examples(bad)}",
                    )
                )
        for condition in space.get("conditions", []):
            child, parent = PARAM_PREFIX + condition["child"], PARAM_PREFIX + condition["parent"]
            if child not in rows.column_names or parent not in rows.column_names:
                continue
            allowed = _choice_texts(condition["values"])
            parent_ok = pc.is_in(pc.cast(rows[parent], pa.string()), allowed)
            parent_ok = pc.fill_null(parent_ok, False)
            wrong = pc.and_(pc.is_valid(rows[child]), pc.invert(parent_ok))
            n_wrong = pc.sum(pc.cast(wrong, pa.int64())).as_py() or 0
            if n_wrong:
                problems.append(
                    Problem(
                        "inactive_parameter_set",
                        label,
                        f"{condition['child']!r} is set in {n_wrong} trial(s) where "
                        f"{condition['parent']!r} is not in {condition['values']}",
                    )
                )
    return problems


def _check_file_schema(path: Any, schema: pa.Schema, base: pa.Schema) -> list[Problem]:
    problems = []
    for field in base:
        if field.name not in schema.names:
            problems.append(Problem("schema", str(path), f"column {field.name!r} missing"))
            continue
        actual = schema.field(field.name).type
        if actual != field.type and not pa.types.is_null(actual):
            problems.append(
                Problem(
                    "schema",
                    str(path),
                    f"column {field.name!r} has type {actual}, expected {field.type}",
                )
            )
    return problems


def _read_checked(
    library: Library, table: str, base: pa.Schema, problems: list[Problem]
) -> pa.Table:
    parts = []
    for path in library.files(table):
        try:
            part = library._read_file(path)
        except (pa.ArrowException, OSError) as error:
            problems.append(
                Problem("corrupt_file", library._display(path), f"cannot read: {error}")
            )
            continue
        file_problems = _check_file_schema(library._display(path), part.schema, base)
        problems.extend(file_problems)
        if not file_problems:
            parts.append(part)
    if not parts:
        return base.empty_table()
    try:
        return pa.concat_tables(parts, promote_options="default")
    except pa.ArrowInvalid as error:
        problems.append(
            Problem("schema", f"{library.location}/{table}", f"files disagree on types: {error}")
        )
        return base.empty_table()


def validate(library: Library, *, space: Mapping[str, Any] | None = None) -> list[Problem]:
    """Check the library and list every problem found (empty list = healthy).

    Args:
        library: the library to check (read only; nothing is changed).
        space: a space.json-style dict applied to every task; by default each task's own
            stored space (tasks without one are not range-checked).

    Returns:
        The problems, in a stable order.
    """
    problems: list[Problem] = []
    tasks = _read_checked(library, "tasks", TASKS_SCHEMA, problems)
    trials = _read_checked(library, "trials", TRIALS_BASE_SCHEMA, problems)

    task_counts = pc.value_counts(tasks["task_id"])
    duplicates = sorted(
        pc.filter(
            task_counts.field("values"), pc.greater(task_counts.field("counts"), 1)
        ).to_pylist()
    )
    if duplicates:
        problems.append(
            Problem("duplicate_task_id", "tasks", f"{len(duplicates)} ids: {_examples(duplicates)}")
        )
    if trials.num_rows == 0:
        return problems

    counts = pc.value_counts(trials["trial_id"])
    repeated = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1))
    if len(repeated):
        problems.append(
            Problem(
                "duplicate_trial_id",
                "trials",
                f"{len(repeated)} ids appear more than once: {_examples(repeated.to_pylist())}; "
                "run `recommend library compact`",
            )
        )

    params = {
        name[len(PARAM_PREFIX) :]: trials[name]
        for name in trials.column_names
        if name.startswith(PARAM_PREFIX)
    }
    try:
        text = params_json_column(pa.table(params)) if params else None
        expected = trial_ids(
            trials["task_id"].combine_chunks(),
            text if text is not None else pa.array(["{}"] * trials.num_rows),
            trials["fidelity"].combine_chunks(),
            trials["seed"].combine_chunks(),
        )
        mismatch = pc.not_equal(trials["trial_id"].combine_chunks(), expected)
        n_mismatch = pc.sum(pc.cast(mismatch, pa.int64())).as_py() or 0
        if n_mismatch:
            bad = pc.filter(trials["trial_id"], mismatch).to_pylist()
            problems.append(
                Problem(
                    "trial_id_mismatch",
                    "trials",
                    f"{n_mismatch} trial id(s) differ from the hash of their content: "
                    f"{_examples(bad)}",
                )
            )
    except (pa.ArrowException, ValueError) as error:
        problems.append(Problem("schema", "trials", f"cannot recompute trial ids: {error}"))

    orphan = pc.invert(pc.is_in(trials["task_id"], value_set=tasks["task_id"].combine_chunks()))
    orphan_tasks = pc.unique(pc.filter(trials["task_id"], orphan)).to_pylist()
    if orphan_tasks:
        n_orphans = pc.sum(pc.cast(orphan, pa.int64())).as_py()
        problems.append(
            Problem(
                "orphan_trial",
                "trials",
                f"{n_orphans} trial(s) of tasks missing from tasks/: {_examples(sorted(orphan_tasks))}",
            )
        )

    objective = trials["objective_value"]
    missing = pc.or_(pc.is_null(objective), pc.is_nan(pc.fill_null(objective, 0.0)))
    bad = pc.and_(missing, pc.equal(trials["status"], TrialStatus.OK.value))
    n_bad = pc.sum(pc.cast(pc.fill_null(bad, False), pa.int64())).as_py() or 0
    if n_bad:
        ids = pc.filter(trials["trial_id"], pc.fill_null(bad, False)).to_pylist()
        problems.append(
            Problem(
                "nan_objective",
                "trials",
                f"{n_bad} ok trial(s) without objective: {_examples(ids)}",
            )
        )

    if space is not None:
        spaces = {task: dict(space) for task in pc.unique(trials["task_id"]).to_pylist()}
    else:
        spaces = {}
        for task, space_text in zip(
            tasks["task_id"].to_pylist(), tasks["space_json"].to_pylist(), strict=True
        ):
            if space_text:
                spaces[task] = json.loads(space_text)
    problems.extend(check_params_in_space(trials, spaces, where="trials"))
    return problems
