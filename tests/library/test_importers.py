"""Benchmark directories (FORMAT.md) and CSV / Parquet / JSON-lines trial files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from library import (
    BenchmarkFormatError,
    ColumnMapping,
    CorruptFileError,
    Library,
    SchemaError,
    UnknownTaskError,
    import_benchmark,
    import_trials,
    read_benchmark,
    task_evaluations,
    validate,
)
from library.exceptions import SpaceError
from tests.library.conftest import tree_digest
from tests.synthetic import write_synthetic_benchmark

LCBENCH = Path("/work/shared/benchmarks/lcbench")


def test_read_synthetic_benchmark(synthetic_dir: Path) -> None:
    bench = read_benchmark(synthetic_dir)
    assert bench.name == "synthetic" and bench.direction == "minimize"
    assert bench.objective == "loss" and bench.fidelity_name == "epoch" and bench.fidelity_max == 9
    assert bench.task_ids == tuple(f"task_{i}" for i in range(6))
    table = bench.task_table("task_2")
    assert len(table) == 40 and (table["epoch"] == 9).all()
    assert list(table["config_id"]) == list(range(40))
    assert len(bench.task_table("task_2", full_fidelity=False)) == 120
    sgd = table["optimizer"] == "sgd"
    assert table.loc[sgd, "beta1"].isna().all() and table.loc[~sgd, "momentum"].isna().all()
    with pytest.raises(UnknownTaskError):
        bench.task_table("task_99")


def test_import_conditional_benchmark_round_trip(tmp_path: Path, synthetic_dir: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    calls: list[tuple[str, int, int]] = []
    result = import_benchmark(lib, synthetic_dir, progress=lambda *a: calls.append(a))
    assert (result.n_tasks, result.n_trials_written) == (6, 6 * 40 * 3)
    assert calls and calls[-1][1] == calls[-1][2]
    assert validate(lib) == []
    again = import_benchmark(lib, synthetic_dir)
    assert again.n_trials_written == 0 and again.n_duplicates == 720
    evaluations = task_evaluations(lib)
    bench = read_benchmark(synthetic_dir)
    for task in bench.task_ids:
        evals = evaluations[f"synthetic/{task}"]
        expected = bench.task_table(task)
        assert evals.direction == "minimize" and evals.objective_name == "loss"
        assert list(evals.configs.columns) == bench.parameter_names
        assert len(evals.objective) == 40 and np.all(evals.fidelity == 9)
        np.testing.assert_allclose(
            np.sort(evals.objective), np.sort(expected["loss"].to_numpy(np.float64))
        )
        sgd = evals.configs["optimizer"] == "sgd"
        assert evals.configs.loc[sgd, "beta1"].isna().all()
        assert evals.configs.loc[~sgd, "momentum"].isna().all()
        assert evals.configs.loc[sgd, "momentum"].notna().all()


def _break(directory: Path, edit: str) -> None:
    space_path = directory / "space.json"
    space = json.loads(space_path.read_text())
    table = pq.read_table(directory / "trials.parquet")
    if edit == "bad direction":
        space["objective"]["direction"] = "up"
    elif edit == "missing parameters":
        del space["parameters"]
    elif edit == "unknown type":
        space["parameters"][0]["type"] = "complex"
    elif edit == "condition on unknown":
        space["conditions"][0]["parent"] = "ghost"
    elif edit == "missing column":
        table = table.drop(["momentum"])
    elif edit == "wrong type":
        table = table.set_column(
            table.schema.get_field_index("num_layers"),
            "num_layers",
            pa.array([str(v) for v in table["num_layers"].to_pylist()]),
        )
    elif edit == "NaN objective":
        loss = table["loss"].to_numpy().copy()
        loss[5] = np.nan
        table = table.set_column(table.schema.get_field_index("loss"), "loss", pa.array(loss))
    elif edit == "extra column":
        table = table.append_column("surprise", pa.array(np.zeros(table.num_rows)))
    elif edit == "undeclared fidelity":
        epochs = table["epoch"].to_numpy().copy()
        epochs[0] = 2.0
        table = table.set_column(table.schema.get_field_index("epoch"), "epoch", pa.array(epochs))
    elif edit == "not json":
        space_path.write_text("{not json")
        return
    elif edit == "truncated parquet":
        data = (directory / "trials.parquet").read_bytes()
        (directory / "trials.parquet").write_bytes(data[: len(data) // 3])
        return
    elif edit == "empty parquet":
        (directory / "trials.parquet").write_bytes(b"")
        return
    space_path.write_text(json.dumps(space))
    pq.write_table(table, directory / "trials.parquet")


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        ("bad direction", "objective.direction"),
        ("missing parameters", "parameters"),
        ("unknown type", "parameters[0].type"),
        ("condition on unknown", "conditions[0].parent"),
        ("missing column", "momentum"),
        ("wrong type", "num_layers"),
        ("NaN objective", "loss"),
        ("extra column", "surprise"),
        ("undeclared fidelity", "epoch"),
        ("not json", "space.json"),
        ("truncated parquet", "trials.parquet"),
        ("empty parquet", "trials.parquet"),
    ],
)
def test_broken_benchmark_is_named_and_library_untouched(
    tmp_path: Path, synthetic_dir: Path, edit: str, where: str
) -> None:
    lib = Library.open(tmp_path / "lib")
    import_benchmark(
        lib, write_synthetic_benchmark(tmp_path / "other", n_tasks=2, n_configs=5, seed=3)
    )
    _break(synthetic_dir, edit)
    before = tree_digest(lib.root)
    with pytest.raises(BenchmarkFormatError, match=where.replace("[", r"\[").replace("]", r"\]")):
        import_benchmark(lib, synthetic_dir)
    assert tree_digest(lib.root) == before


def test_maximize_unconditional_benchmark(tmp_path: Path) -> None:
    directory = write_synthetic_benchmark(
        tmp_path / "b", n_tasks=2, n_configs=10, conditional=False, direction="maximize", seed=1
    )
    bench = read_benchmark(directory)
    assert bench.direction == "maximize" and bench.space["conditions"] == []
    assert bench.trials[["momentum", "beta1"]].notna().all().all()


def test_a_space_without_name_or_metrics_reads_and_imports(tmp_path: Path) -> None:
    directory = write_synthetic_benchmark(
        tmp_path / "unnamed", n_tasks=2, n_configs=10, conditional=False, seed=2
    )
    space = json.loads((directory / "space.json").read_text())
    objective = space["objective"]["name"]
    trials = pq.read_table(directory / "trials.parquet")
    extra = [m for m in space.get("metrics", []) if m != objective]
    pq.write_table(trials.drop_columns(extra), directory / "trials.parquet")
    for key in ("name", "metrics"):
        space.pop(key, None)
    (directory / "space.json").write_text(json.dumps(space))
    bench = read_benchmark(directory)
    assert bench.name == "unnamed" and bench.space["metrics"] == [objective]
    library = Library.open(tmp_path / "lib")
    import_benchmark(library, directory)
    assert library.stats()["n_trials"] == trials.num_rows


def _with_typed_columns(directory: Path, batch: list[int]) -> None:
    """Rewrite a synthetic benchmark as other writers would: integer task ids, a numeric
    categorical stored as numbers and a boolean one as booleans (null when inactive)."""
    space = json.loads((directory / "space.json").read_text())
    space["parameters"] += [
        {"name": "batch", "type": "categorical", "choices": [16, 32, 64]},
        {"name": "nesterov", "type": "categorical", "choices": [True, False]},
    ]
    space["conditions"].append({"child": "nesterov", "parent": "optimizer", "values": ["sgd"]})
    (directory / "space.json").write_text(json.dumps(space))
    table = pq.read_table(directory / "trials.parquet")
    n = table.num_rows
    sgd = np.asarray(table["optimizer"].to_pylist()) == "sgd"
    task_index = [int(t.split("_")[1]) for t in table["task_id"].to_pylist()]
    table = table.set_column(0, "task_id", pa.array(task_index, pa.int64()))
    table = table.append_column("batch", pa.array([batch[i % len(batch)] for i in range(n)]))
    flags = [bool(i % 2) if sgd[i] else None for i in range(n)]
    pq.write_table(
        table.append_column("nesterov", pa.array(flags, pa.bool_())), directory / "trials.parquet"
    )


def test_integer_task_ids_and_categoricals_stored_as_numbers_or_booleans(tmp_path: Path) -> None:
    directory = write_synthetic_benchmark(tmp_path / "typed", n_tasks=2, n_configs=10, seed=5)
    _with_typed_columns(directory, batch=[16, 32, 64])
    bench = read_benchmark(directory)
    assert bench.task_ids == ("0", "1")
    table = bench.task_table("1")
    assert set(table["batch"]) == {"16", "32", "64"}
    sgd = table["optimizer"] == "sgd"
    assert set(table.loc[sgd, "nesterov"]) == {"True", "False"}
    assert table.loc[~sgd, "nesterov"].isna().all()
    library = Library.open(tmp_path / "lib")
    assert import_benchmark(library, directory).n_tasks == 2
    assert validate(library) == []
    configs = task_evaluations(library)["synthetic/1"].configs
    assert set(configs["batch"]) == {"16", "32", "64"}


def test_a_number_that_is_no_choice_is_named(tmp_path: Path) -> None:
    directory = write_synthetic_benchmark(tmp_path / "typed", n_tasks=2, n_configs=10, seed=5)
    _with_typed_columns(directory, batch=[16, 48])
    library = Library.open(tmp_path / "lib")
    before = tree_digest(library.root)
    with pytest.raises(SpaceError, match="'batch' takes '48', not among"):
        import_benchmark(library, directory)
    assert tree_digest(library.root) == before


def _trial_frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return pd.DataFrame(
        {
            "dataset": ["iris"] * 6 + ["wine"] * 6,
            "lr": rng.uniform(0.001, 0.1, 12),
            "depth": rng.integers(1, 6, 12),
            "opt": rng.choice(["sgd", "adam"], 12),
            "acc": rng.uniform(0.5, 1.0, 12),
            "epoch": [10] * 12,
            "time": rng.uniform(1, 2, 12),
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_import_trial_files(tmp_path: Path, suffix: str) -> None:
    frame = _trial_frame()
    path = tmp_path / f"runs{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True)
    mapping = ColumnMapping(
        objective="acc",
        direction="maximize",
        parameters=("lr", "depth", "opt"),
        task_id="dataset",
        fidelity="epoch",
        metrics=("time",),
    )
    lib = Library.open(tmp_path / "lib")
    with pytest.raises(UnknownTaskError):
        import_trials(lib, path, mapping=mapping)
    result = import_trials(lib, path, mapping=mapping, create_tasks=True)
    assert result.n_written == 12
    stats = lib.stats()
    assert stats["n_tasks"] == 2 and stats["by_source"] == {f"import:runs{suffix}": 12}
    evals = task_evaluations(lib, task_ids=["wine"])["wine"]
    assert sorted(evals.configs.columns) == ["depth", "lr", "opt"]
    np.testing.assert_allclose(np.sort(evals.objective), np.sort(frame["acc"][6:]))


def test_import_trial_file_errors(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    frame = _trial_frame()
    good = tmp_path / "runs.csv"
    frame.to_csv(good, index=False)
    mapping = ColumnMapping(
        objective="acc", direction="maximize", parameters=("lr",), task_id="dataset"
    )
    before = tree_digest(lib.root)
    with pytest.raises(SchemaError, match="'loss'"):
        import_trials(
            lib,
            good,
            mapping=ColumnMapping(
                objective="loss", direction="maximize", parameters=("lr",), task_id="dataset"
            ),
        )
    with pytest.raises(SchemaError, match="objective"):
        import_trials(
            lib,
            good,
            mapping=ColumnMapping(
                objective="opt", direction="maximize", parameters=("lr",), task_id="dataset"
            ),
            create_tasks=True,
        )
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CorruptFileError, match="empty"):
        import_trials(lib, empty, mapping=mapping)
    header_only = tmp_path / "header.csv"
    header_only.write_text("dataset,lr,acc\n")
    with pytest.raises(SchemaError, match="no rows"):
        import_trials(lib, header_only, mapping=mapping)
    broken = tmp_path / "broken.parquet"
    frame.to_parquet(broken)
    broken.write_bytes(broken.read_bytes()[:100])
    with pytest.raises(CorruptFileError, match="broken.parquet"):
        import_trials(lib, broken, mapping=mapping)
    nan_file = tmp_path / "nan.csv"
    frame.assign(acc=[np.nan] + [0.5] * 11).to_csv(nan_file, index=False)
    for create_tasks in (False, True):  # a rejected file adds no task either
        with pytest.raises(SchemaError, match="NaN.*nan.csv"):
            import_trials(lib, nan_file, mapping=mapping, create_tasks=create_tasks)
    bad_status = tmp_path / "status.csv"
    frame.assign(state=["ok"] * 11 + ["exploded"]).to_csv(bad_status, index=False)
    with pytest.raises(SchemaError, match="exploded"):
        import_trials(
            lib,
            bad_status,
            mapping=ColumnMapping(
                objective="acc",
                direction="maximize",
                parameters=("lr",),
                task_id="dataset",
                status="state",
            ),
            create_tasks=True,
        )
    assert tree_digest(lib.root) == before


def test_a_file_the_library_rejects_adds_no_task(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    mapping = ColumnMapping(objective="acc", direction="maximize", parameters=("lr",), task_id="t")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    pd.DataFrame({"t": ["a"], "lr": [0.1], "acc": [0.5]}).to_csv(first, index=False)
    import_trials(lib, first, mapping=mapping, create_tasks=True)
    pd.DataFrame({"t": ["b"], "lr": ["fast"], "acc": [0.5]}).to_csv(second, index=False)
    before = tree_digest(lib.root)
    with pytest.raises(SchemaError, match="param_lr.*string.*double.*second.csv"):
        import_trials(lib, second, mapping=mapping, create_tasks=True)
    assert tree_digest(lib.root) == before and lib.task_ids() == ["a"]


@pytest.mark.skipif(not LCBENCH.is_dir(), reason="shared LCBench benchmark not present")
def test_ingest_real_lcbench(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    result = import_benchmark(lib, LCBENCH)
    assert (result.n_tasks, result.n_trials_written) == (34, 340_000)
    stats = lib.stats()
    assert stats["n_trials"] == 340_000 and stats["by_status"] == {"ok": 340_000}
    evaluations = task_evaluations(lib, task_ids=["lcbench/3945"])
    assert len(evaluations["lcbench/3945"].objective) == 2000
