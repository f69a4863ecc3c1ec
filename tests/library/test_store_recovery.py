"""Recovery from a compaction killed between writing its output and deleting its inputs.

Regression: `Library._finish_interrupted` used to read the footer of each listed file while
deleting merged inputs, so a merged file whose name sorted *before* its inputs made it read
an input it had just deleted and raise `FileNotFoundError` (flaky with random uuid names).
The merged file's name is fixed here, so each ordering is reproduced deterministically.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from library import Library
from tests.library.conftest import make_trials

#: "part-0.parquet" sorts before every "part-<uuid hex>.parquet" ("." < "0"), "part-z..."
#: after all of them; "middle" is placed between the first and the second input.
_ORDERS = ("first", "middle", "last")


def _merged_name(order: str, inputs: list[str]) -> str:
    if order == "first":
        return "part-0.parquet"
    if order == "last":
        return "part-z.parquet"
    stem = inputs[0].removesuffix(".parquet")
    name = stem + "0.parquet"  # longer than inputs[0] with the same prefix: sorts right after
    if not inputs[0] < name < inputs[1]:
        pytest.skip("uuid names too close to place a file between them")
    return name


def _interrupted_library(library: Library, table: str, order: str) -> tuple[list[str], str]:
    """Leave ``table`` as a compaction killed before deleting its inputs would."""
    if table == "trials":
        for index in range(3):
            library.append_trials(
                make_trials(30, start=index * 30, seed=index),
                objective_name="loss",
                direction="minimize",
            )
    else:
        for index in range(3, 6):
            library.append_tasks([{"task_id": f"t{index}", "name": f"task {index}"}])
    inputs = [path.name for path in library.files(table)]
    assert len(inputs) >= 3
    merged = pa.concat_tables(
        [pq.read_table(library.root / table / name) for name in inputs],
        promote_options="default",
    )
    metadata = dict(merged.schema.metadata or {})
    metadata[b"hpws.compacted_from"] = json.dumps(inputs).encode()
    name = _merged_name(order, sorted(inputs))
    pq.write_table(merged.replace_schema_metadata(metadata), library.root / table / name)
    return inputs, name


@pytest.mark.parametrize("order", _ORDERS)
def test_compact_recovers_whatever_the_name_order(library: Library, order: str) -> None:
    inputs, merged = _interrupted_library(library, "trials", order)
    listed = [path.name for path in library.files("trials")]
    if order == "first":
        assert listed[0] == merged  # the ordering that used to raise FileNotFoundError
    assert library.stats()["n_trials"] == 180  # duplicates visible until recovery

    library.compact()

    assert library.stats()["n_trials"] == 90
    remaining = [path.name for path in library.files("trials")]
    assert len(remaining) == 1 and not set(remaining) & set(inputs)


@pytest.mark.parametrize("order", _ORDERS)
def test_finish_interrupted_deletes_exactly_the_merged_inputs(library: Library, order: str) -> None:
    inputs, merged = _interrupted_library(library, "tasks", order)
    library.append_tasks([{"task_id": "late", "name": "appended after the compaction"}])
    late = {path.name for path in library.files("tasks")} - set(inputs) - {merged}

    library._finish_interrupted("tasks")

    assert {path.name for path in library.files("tasks")} == {merged} | late
    assert sorted(library.task_ids()) == ["late", "t0", "t1", "t2", "t3", "t4", "t5"]
