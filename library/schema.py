"""Arrow schemas of the trial library (versioned) and the content hash of a trial.

Two tables live in the library:

* ``tasks``: one row per task (fingerprint, scale descriptors, declared space, provenance).
* ``trials``: one row per trial. The fixed columns are in `TRIALS_BASE_SCHEMA`; each
  hyperparameter adds a typed column ``param_<name>`` and each secondary metric a
  ``metric_<name>`` (float64) column. Parameters are also stored as canonical JSON
  (``params_json``), which is what `trial_id` hashes.

Canonical parameter JSON: keys sorted, no spaces, inactive (null / NaN) parameters left
out, numbers written by Arrow's shortest round-trip float/int formatting (``32.0`` and ``32``
both read ``32``; ``1e-05`` reads ``0.00001``), strings JSON-escaped. The same vectorised
code path builds the JSON for one trial (`trial_id`) and for a million (`trial_ids`), so
both agree by construction; a golden test pins the hash so a formatting change is noticed.

Enums stored in Parquet only ever gain values.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from library.exceptions import SchemaError

__all__ = [
    "SCHEMA_VERSION",
    "TrialStatus",
    "Direction",
    "TASKS_SCHEMA",
    "TRIALS_BASE_SCHEMA",
    "PARAM_PREFIX",
    "METRIC_PREFIX",
    "trial_id",
    "trial_ids",
    "canonical_params_json",
    "params_json_column",
]

SCHEMA_VERSION: int = 1
PARAM_PREFIX = "param_"
METRIC_PREFIX = "metric_"


class TrialStatus(str, Enum):
    """Outcome of one trial. Stored as its string value; only ever gains values."""

    OK = "ok"
    FAILED = "failed"
    DIVERGED = "diverged"
    TIMEOUT = "timeout"
    PRUNED = "pruned"


class Direction(str, Enum):
    """Whether the objective is maximised or minimised."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


_TIMESTAMP = pa.timestamp("us", tz="UTC")

TASKS_SCHEMA = pa.schema(
    [
        pa.field("task_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("fingerprint_names", pa.list_(pa.string())),
        pa.field("fingerprint_values", pa.list_(pa.float64())),
        pa.field("featurizer_version", pa.string()),
        pa.field("scale_names", pa.list_(pa.string())),
        pa.field("scale_values", pa.list_(pa.float64())),
        pa.field("space_json", pa.string()),
        pa.field("objective_name", pa.string()),
        pa.field("direction", pa.string()),
        pa.field("source", pa.string()),
        pa.field("created_at", _TIMESTAMP),
        pa.field("schema_version", pa.int32()),
    ],
    metadata={"hpws.table": "tasks", "hpws.schema_version": str(SCHEMA_VERSION)},
)

TRIALS_BASE_SCHEMA = pa.schema(
    [
        pa.field("trial_id", pa.string(), nullable=False),
        pa.field("task_id", pa.string(), nullable=False),
        pa.field("params_json", pa.string(), nullable=False),
        pa.field("objective_name", pa.string()),
        pa.field("objective_value", pa.float64()),
        pa.field("direction", pa.string()),
        pa.field("fidelity_name", pa.string()),
        pa.field("fidelity", pa.float64()),
        pa.field("status", pa.string()),
        pa.field("seed", pa.int64()),
        pa.field("runtime_s", pa.float64()),
        pa.field("hardware", pa.string()),
        pa.field("environment_json", pa.string()),
        pa.field("code_version", pa.string()),
        pa.field("source", pa.string()),
        pa.field("created_at", _TIMESTAMP),
        pa.field("schema_version", pa.int32()),
    ],
    metadata={"hpws.table": "trials", "hpws.schema_version": str(SCHEMA_VERSION)},
)


def _json_escape_strings(array: pa.Array) -> pa.Array:
    """JSON-encode each string of ``array`` (nulls stay null), via its dictionary."""
    encoded = (
        pc.dictionary_encode(array).combine_chunks()
        if isinstance(array, pa.ChunkedArray)
        else pc.dictionary_encode(array)
    )
    dictionary = pa.array(
        [json.dumps(value) for value in encoded.dictionary.to_pylist()], pa.string()
    )
    return pc.take(dictionary, encoded.indices)


def _value_text(array: pa.Array) -> pa.Array:
    """Canonical JSON text of every value of one parameter column (null when inactive)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _json_escape_strings(array.cast(pa.string()))
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind):
        return pc.cast(array, pa.string())
    if pa.types.is_floating(kind):
        array = array.cast(pa.float64())
        finite = pc.is_finite(array)
        if pc.any(pc.and_(pc.invert(finite), pc.invert(pc.is_nan(array)))).as_py():
            raise SchemaError(
                "a parameter value is infinite; store finite values or null for inactive"
            )
        cleaned = pc.if_else(pc.is_nan(array), pa.scalar(None, pa.float64()), array)
        return pc.cast(cleaned, pa.string())
    raise SchemaError(
        f"parameter column of type {kind} is not supported; use float, int, bool or string"
    )


def params_json_column(params: pa.Table) -> pa.Array:
    """Canonical JSON of every row of a table whose columns are parameter names.

    Args:
        params: ``n`` rows, one column per parameter (no prefix); null or NaN = inactive.

    Returns:
        ``(n,)`` string array of canonical JSON objects.
    """
    n_rows = params.num_rows
    names = sorted(params.column_names)
    if not names:
        return pa.array(["{}"] * n_rows, pa.string())
    pieces = []
    for name in names:
        text = _value_text(params.column(name))
        piece = pc.binary_join_element_wise("," + json.dumps(name), text, ":")
        pieces.append(pc.fill_null(piece, ""))  # inactive: left out
    joined = pc.binary_join_element_wise(*pieces, "") if len(pieces) > 1 else pieces[0]
    body = pc.utf8_slice_codeunits(joined, start=1)  # drop the leading comma
    return pc.binary_join_element_wise("{", body, "}", "")


def _nullable_text(array: pa.Array) -> pa.Array:
    text = _value_text(array)
    return pc.if_else(pc.is_null(text), "null", text)


def trial_ids(
    task_ids: pa.Array, params_json: pa.Array, fidelity: pa.Array, seed: pa.Array
) -> pa.Array:
    """Content hashes of many trials: ``sha256('[task_id,params,fidelity,seed]')`` in hex.

    Args:
        task_ids: ``(n,)`` strings.
        params_json: ``(n,)`` canonical JSON from `params_json_column`.
        fidelity: ``(n,)`` float64, null when the trial has no fidelity.
        seed: ``(n,)`` int64, null when unseeded.

    Returns:
        ``(n,)`` string array of 64-character hex digests.
    """
    from library._duck import connect, query_arrow

    keys = pc.binary_join_element_wise(
        "[",
        _json_escape_strings(task_ids.cast(pa.string())),
        ",",
        params_json,
        ",",
        _nullable_text(fidelity.cast(pa.float64())),
        ",",
        _nullable_text(seed.cast(pa.int64())),
        "]",
        "",
    )
    key_table = pa.table({"key": keys})
    connection = connect({"key_table": key_table})
    try:
        result = query_arrow(connection, "SELECT sha256(key) AS h FROM key_table")
    finally:
        connection.close()
    return result.column("h").combine_chunks().cast(pa.string())


def _params_table(params: Mapping[str, Any]) -> pa.Table:
    columns = {}
    for name, value in params.items():
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if isinstance(value, bool):
            columns[name] = pa.array([value], pa.bool_())
        elif isinstance(value, int):
            columns[name] = pa.array([value], pa.int64())
        elif isinstance(value, float):
            columns[name] = pa.array([value], pa.float64())
        elif isinstance(value, str):
            columns[name] = pa.array([value], pa.string())
        else:
            raise SchemaError(
                f"parameter {name!r} has unsupported type {type(value).__name__}; "
                "use float, int, bool or str"
            )
    return pa.table(columns) if columns else pa.table({"_": [0]}).drop(["_"])


def canonical_params_json(params: Mapping[str, Any]) -> str:
    """Canonical JSON of one configuration (see the module docstring for the rules).

    Args:
        params: parameter name -> value; ``None``/NaN marks an inactive parameter.

    Returns:
        The JSON text that `trial_id` hashes.
    """
    table = _params_table(params)
    if table.num_columns == 0:
        return "{}"
    return params_json_column(table)[0].as_py()


def trial_id(
    task_id: str,
    params: Mapping[str, Any],
    fidelity: float | None = None,
    seed: int | None = None,
) -> str:
    """Content hash of one trial; equal to what `Library.append_trials` stores.

    Args:
        task_id: the task the trial belongs to.
        params: parameter name -> value (``None``/NaN = inactive, left out of the hash).
        fidelity: fidelity level (epochs, data fraction), or ``None``.
        seed: training seed, or ``None``.

    Returns:
        64-character hex sha256 digest.

    Example:
        >>> trial_id("t1", {"lr": 0.1}, 52, 0) == trial_id("t1", {"lr": 0.1, "x": None}, 52.0, 0)
        True
    """
    params_text = canonical_params_json(params)
    fidelity_text = _nullable_text(pa.array([fidelity], pa.float64()))[0].as_py()
    seed_text = "null" if seed is None else str(int(seed))
    key = f"[{json.dumps(task_id)},{params_text},{fidelity_text},{seed_text}]"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def param_columns(schema: pa.Schema | Sequence[str]) -> list[str]:
    """Names of the ``param_<name>`` columns of a trials schema (with prefix)."""
    names = schema.names if isinstance(schema, pa.Schema) else list(schema)
    return [name for name in names if name.startswith(PARAM_PREFIX)]
