"""`library.write_benchmark`: the shared format written, read back, or refused untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from library import BenchmarkFormatError, read_benchmark, write_benchmark


def _space() -> dict[str, Any]:
    return {
        "name": "tiny",
        "parameters": [
            {"name": "kind", "type": "categorical", "choices": ["a", "b"]},
            {"name": "size", "type": "int", "low": 1, "high": 8, "log": False},
            {"name": "rate", "type": "float", "low": 1e-3, "high": 1.0, "log": True},
        ],
        "conditions": [{"child": "rate", "parent": "kind", "values": ["b"]}],
        "objective": {"name": "loss", "direction": "minimize"},
        "fidelity": {"name": "epoch", "values": [1, 3], "max": 3},
        "metrics": ["loss", "time"],
        "source": "test",
    }


def _trials(n_configs: tuple[int, ...] = (4, 3)) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for task, n in enumerate(n_configs):
        for config in range(n):
            kind = "ab"[config % 2]
            for epoch in (1, 3):
                rows.append(
                    {
                        "time": float(epoch),
                        "task_id": task,  # written as a string
                        "config_id": config,
                        "kind": kind,
                        "size": config + 1,  # an int column, written as float64
                        "rate": rng.uniform(0.01, 1.0) if kind == "b" else np.nan,
                        "epoch": epoch,
                        "loss": rng.normal(),
                    }
                )
    return pd.DataFrame(rows)


def test_round_trip_has_the_format_types_and_fills_the_counts(tmp_path: Path) -> None:
    trials = _trials()
    benchmark = write_benchmark(tmp_path / "bench", _space(), trials)

    schema = pq.read_schema(tmp_path / "bench" / "trials.parquet")
    assert schema.names == [
        "task_id",
        "config_id",
        "kind",
        "size",
        "rate",
        "epoch",
        "loss",
        "time",
    ]  # format order, whatever the frame's order
    assert schema.field("task_id").type == pa.string()
    assert schema.field("config_id").type == pa.int64()
    assert schema.field("kind").type == pa.string()
    assert schema.field("size").type == pa.float64()
    assert schema.field("loss").type == pa.float32()
    space = json.loads((tmp_path / "bench" / "space.json").read_text())
    assert space["n_tasks"] == 2 and space["configs_per_task"] == 3  # the fewest
    assert space["source"] == "test"
    again = read_benchmark(tmp_path / "bench")
    assert again.task_ids == benchmark.task_ids == ("0", "1")
    kept = again.trials.sort_values(["task_id", "config_id", "epoch"]).reset_index(drop=True)
    assert kept["rate"].isna().tolist() == (kept["kind"] == "a").tolist()
    np.testing.assert_allclose(kept["loss"], trials["loss"].astype(np.float32))


def test_given_counts_are_kept(tmp_path: Path) -> None:
    space = {**_space(), "n_tasks": 99, "configs_per_task": 5}
    write_benchmark(tmp_path / "bench", space, _trials())
    written = json.loads((tmp_path / "bench" / "space.json").read_text())
    assert (written["n_tasks"], written["configs_per_task"]) == (99, 5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns=["size"]), "no column 'size'"),
        (lambda t: t.drop(columns=["task_id"]), "no column 'task_id'"),
        (lambda t: t.assign(extra=1.0), "column 'extra' is not declared"),
        (lambda t: t.assign(loss=np.where(t.index == 3, np.nan, t["loss"])), "NaN"),
        (lambda t: t.assign(size="big"), "'size' is not numeric"),
        (lambda t: t.assign(epoch=7), "not declared"),
        (lambda t: pd.concat([t, t.iloc[:1]]), "duplicate"),
    ],
)
def test_bad_frames_are_refused_and_the_directory_is_untouched(
    tmp_path: Path, change: Any, message: str
) -> None:
    target = tmp_path / "bench"
    write_benchmark(target, _space(), _trials())
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    with pytest.raises(BenchmarkFormatError, match=message) as caught:
        write_benchmark(target, _space(), change(_trials((5, 5))))

    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench"]  # no staging left
    assert ".bench." not in str(caught.value)  # errors name the target, not the staging


def test_missing_objectives_are_written_when_allowed(tmp_path: Path) -> None:
    trials = _trials()
    trials.loc[2, "loss"] = np.nan
    benchmark = write_benchmark(tmp_path / "b", _space(), trials, allow_missing_objective=True)
    assert benchmark.trials["loss"].isna().sum() == 1
