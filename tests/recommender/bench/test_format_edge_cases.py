"""The harness on legal but awkward benchmark directories (FORMAT.md allows all of these).

Pools smaller than the budget and of unequal sizes, failed evaluations (null objective),
no fidelity at all, a condition on an integer parent, a categorical choice spelled like a
boolean, non-contiguous config ids: every method runs to the end, regret curves have the
budget's length, and failed rows are counted, never picked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from library.exceptions import BenchmarkFormatError
from library.importers import read_benchmark
from recommender.bench.harness import BenchConfig, load_problems, run_transfer_benchmark

METHODS = ("random", "cold-gp", "portfolio", "rgpe", "ours")


def _write(
    directory: Path,
    *,
    pool_sizes: tuple[int, ...],
    fidelity: bool,
    failed_share: float = 0.0,
    seed: int = 0,
) -> Path:
    """A minimised benchmark with a 3-way categorical parent and an int-parent condition."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    parameters = [
        {"name": "opt", "type": "categorical", "choices": ["sgd", "adam", "True"]},
        {"name": "lr", "type": "float", "low": 1e-5, "high": 1.0, "log": True},
        {"name": "momentum", "type": "float", "low": 0.0, "high": 0.99, "log": False},
        {"name": "beta", "type": "float", "low": 0.5, "high": 0.999, "log": False},
        {"name": "layers", "type": "int", "low": 1, "high": 64, "log": True},
        {"name": "width_mult", "type": "int", "low": 1, "high": 4, "log": False},
    ]
    conditions = [
        {"child": "momentum", "parent": "opt", "values": ["sgd"]},
        {"child": "beta", "parent": "opt", "values": ["adam", "True"]},
        {"child": "width_mult", "parent": "layers", "values": [1, 2, 3, 4]},
    ]
    space = {
        "name": "edge",
        "parameters": parameters,
        "conditions": conditions,
        "objective": {"name": "err", "direction": "minimize"},
        "metrics": ["err", "time"],
        "n_tasks": len(pool_sizes),
        "configs_per_task": max(pool_sizes),
        "source": "test",
    }
    levels = [0.5, 1.0] if fidelity else [None]
    if fidelity:
        space["fidelity"] = {"name": "frac", "values": [0.5, 1.0], "max": 1.0}
    rows = []
    for task, size in enumerate(pool_sizes):
        shift = rng.normal(0.0, 0.3)
        for c in range(size):
            opt = str(rng.choice(["sgd", "adam", "True"]))
            lr = float(np.exp(rng.uniform(np.log(1e-5), 0.0)))
            layers = int(np.round(np.exp(rng.uniform(0.0, np.log(64)))))
            err = (np.log10(lr) + 2.5 + shift) ** 2 + 0.1 * np.log(layers) + 0.2 * (opt == "sgd")
            failed = rng.random() < failed_share
            for level in levels:
                row = {
                    "task_id": f"t{task}",
                    "config_id": 1000 + 7 * c,
                    "opt": opt,
                    "lr": lr,
                    "momentum": float(rng.uniform(0, 0.99)) if opt == "sgd" else np.nan,
                    "beta": float(rng.uniform(0.5, 0.999)) if opt != "sgd" else np.nan,
                    "layers": float(layers),
                    "width_mult": float(rng.integers(1, 5)) if layers <= 4 else np.nan,
                    "err": np.float32(np.nan if failed else err * (1.3 if level == 0.5 else 1)),
                    "time": np.float32(1.0),
                }
                if fidelity:
                    row["frac"] = level
                rows.append(row)
    pd.DataFrame(rows).to_parquet(directory / "trials.parquet", index=False)
    (directory / "space.json").write_text(json.dumps(space))
    return directory


def _run(directory: Path, budget: int) -> dict:
    config = BenchConfig(benchmark=directory, methods=METHODS, budget=budget, seeds=1, workers=1)
    return run_transfer_benchmark(config)


def test_pools_smaller_than_the_budget_without_fidelity(tmp_path: Path) -> None:
    bench = _write(tmp_path / "small", pool_sizes=(8, 5, 14), fidelity=False)
    doc = _run(bench, budget=10)
    sizes = {"t0": 8, "t1": 5, "t2": 14}
    for target in doc["per_target"]:
        for method in METHODS:
            (run,) = target["runs"][method]
            assert len(run["regret"]) == 10
            assert len(run["picks"]) == min(10, sizes[target["target"]])
            assert len(set(run["picks"])) == len(run["picks"])
            if sizes[target["target"]] <= 10:  # the whole pool seen: its best was found
                assert run["regret"][-1] == 0.0
    assert set(doc["summary"]) == set(METHODS)


def test_failed_evaluations_are_counted_and_never_picked(tmp_path: Path) -> None:
    bench = _write(tmp_path / "failed", pool_sizes=(30, 30, 30), fidelity=True, failed_share=0.2)
    frame = pd.read_parquet(bench / "trials.parquet")
    full = frame[frame["frac"] == 1.0]
    doc = _run(bench, budget=8)
    assert doc["missing_objective_rows"] == int(frame["err"].isna().sum()) > 0
    for target in doc["per_target"]:
        scored = full[(full["task_id"] == target["target"]) & full["err"].notna()]
        for method in METHODS:
            (run,) = target["runs"][method]
            assert max(run["picks"]) < len(scored)  # pool rows are the scored configurations
            assert all(np.isfinite(run["regret"]))


def test_library_import_still_rejects_a_nan_objective(tmp_path: Path) -> None:
    bench = _write(tmp_path / "nan", pool_sizes=(10, 10), fidelity=True, failed_share=0.3)
    with pytest.raises(BenchmarkFormatError, match="objective is NaN"):
        read_benchmark(bench)
    assert read_benchmark(bench, allow_missing_objective=True).task_ids == ("t0", "t1")


def test_a_benchmark_with_no_scored_task_is_a_clear_error(tmp_path: Path) -> None:
    bench = _write(tmp_path / "none", pool_sizes=(5, 5), fidelity=False, failed_share=1.0)
    with pytest.raises(BenchmarkFormatError, match="finite objective"):
        _run(bench, budget=4)


def test_numeric_choices_and_numeric_task_ids(tmp_path: Path) -> None:
    """space.json may list a categorical's choices as numbers while the Parquet column holds
    their strings (FORMAT.md: categoricals are strings), and task ids may look like numbers."""
    bench = _write(tmp_path / "numeric", pool_sizes=(30, 30, 30), fidelity=False)
    space = json.loads((bench / "space.json").read_text())
    space["parameters"].append({"name": "batch", "type": "categorical", "choices": [32, 64, 128]})
    (bench / "space.json").write_text(json.dumps(space))
    trials = pd.read_parquet(bench / "trials.parquet")
    rng = np.random.default_rng(1)
    trials["batch"] = rng.choice(["32", "64", "128"], size=len(trials))
    trials["task_id"] = trials["task_id"].map({"t0": "3", "t1": "13", "t2": "23"})
    trials.to_parquet(bench / "trials.parquet", index=False)
    _, _, truth, _ = load_problems(bench, None, 0.0)
    for data in truth.values():  # the last parameter's one-hot: exactly one choice per row
        np.testing.assert_array_equal(data.X[:, -3:].sum(axis=1), 1.0)
    config = BenchConfig(benchmark=bench, methods=("random", "ours"), budget=5, seeds=1, workers=1)
    doc = run_transfer_benchmark(config)
    assert [t["target"] for t in doc["per_target"]] == ["13", "23", "3"]
    for target in doc["per_target"]:
        (run,) = target["runs"]["ours"]
        assert len(set(run["picks"])) == 5 and all(0 <= p < 30 for p in run["picks"])


def test_constant_parameters_run_with_every_method(tmp_path: Path) -> None:
    """A benchmark may fix a numeric setting (low == high): it encodes to a constant 0."""
    bench = _write(tmp_path / "constant", pool_sizes=(30, 30, 30), fidelity=False)
    space = json.loads((bench / "space.json").read_text())
    space["parameters"] += [
        {"name": "dropout", "type": "float", "low": 0.1, "high": 0.1, "log": False},
        {"name": "epochs", "type": "int", "low": 50, "high": 50, "log": True},
    ]
    (bench / "space.json").write_text(json.dumps(space))
    trials = pd.read_parquet(bench / "trials.parquet")
    trials["dropout"], trials["epochs"] = 0.1, 50.0
    trials.to_parquet(bench / "trials.parquet", index=False)
    methods = (*METHODS, "tpe")
    config = BenchConfig(benchmark=bench, methods=methods, budget=6, seeds=1, workers=1)
    doc = run_transfer_benchmark(config)
    for target in doc["per_target"]:
        for method in methods:
            (run,) = target["runs"][method]
            assert len(set(run["picks"])) == 6 and all(np.isfinite(run["regret"]))


def test_undeclared_columns_are_left_out_by_the_harness_not_by_an_import(tmp_path: Path) -> None:
    bench = _write(tmp_path / "extra", pool_sizes=(20, 20), fidelity=False)
    trials = pd.read_parquet(bench / "trials.parquet")
    trials["openml_task"], trials["note"] = 7, "surrogate"
    trials.to_parquet(bench / "trials.parquet", index=False)
    with pytest.raises(BenchmarkFormatError, match="unexpected column"):
        read_benchmark(bench)  # a library import: an undeclared column may be a misnamed one
    config = BenchConfig(benchmark=bench, methods=("random", "ours"), budget=4, seeds=1, workers=1)
    doc = run_transfer_benchmark(config)
    assert doc["ignored_columns"] == ["note", "openml_task"]
    assert all(len(t["runs"]["ours"][0]["picks"]) == 4 for t in doc["per_target"])


def test_an_infinite_objective_is_a_failed_evaluation(tmp_path: Path) -> None:
    bench = _write(tmp_path / "inf", pool_sizes=(12, 12, 12), fidelity=False)
    trials = pd.read_parquet(bench / "trials.parquet")
    worst = trials.groupby("task_id")["err"].idxmax()  # a diverged run on every task
    trials.loc[worst, "err"] = np.float32(np.inf)
    trials.to_parquet(bench / "trials.parquet", index=False)
    with pytest.raises(BenchmarkFormatError, match="NaN or infinite"):
        read_benchmark(bench)
    doc = _run(bench, budget=11)  # the whole scored pool: regret must reach exactly 0
    assert doc["missing_objective_rows"] == 3
    for target in doc["per_target"]:
        for method in METHODS:
            (run,) = target["runs"][method]
            assert len(run["picks"]) == 11 and run["regret"][-1] == 0.0
            assert max(run["regret"]) <= 1.0
    # scaled by the finite range: an infinite worst would make every regret 0
    assert max(max(t["runs"]["random"][0]["regret"]) for t in doc["per_target"]) > 0.0


def test_a_single_task_is_a_clear_error(tmp_path: Path) -> None:
    bench = _write(tmp_path / "one", pool_sizes=(20,), fidelity=False)
    with pytest.raises(BenchmarkFormatError, match="2 or more tasks"):
        _run(bench, budget=4)


def test_a_task_whose_objective_is_constant_runs_as_source_and_target(tmp_path: Path) -> None:
    """A task where every configuration scored the same (a broken metric, a saturated task)
    carries no ranking: as a source it must not break the copula transform or the ranking
    weights, and as a target its regret is 0 from the first pick."""
    bench = _write(tmp_path / "flat", pool_sizes=(30, 30, 30, 30), fidelity=False)
    trials = pd.read_parquet(bench / "trials.parquet")
    trials.loc[trials["task_id"] == "t0", "err"] = np.float32(0.25)
    trials.to_parquet(bench / "trials.parquet", index=False)
    doc = _run(bench, budget=8)
    for target in doc["per_target"]:
        for method in METHODS:
            (run,) = target["runs"][method]
            assert len(set(run["picks"])) == 8 and all(np.isfinite(run["regret"]))
            if target["target"] == "t0":
                assert run["regret"] == [0.0] * 8


def test_arrow_booleans_nan_strings_and_odd_names(tmp_path: Path) -> None:
    """Written by other tools: a bool choice as Arrow casts it (``"true"``), inactive
    categoricals as pandas' ``astype(str)`` writes them (``"nan"``), parameter names with
    dots, colons and spaces, task ids with a slash and a space."""
    rng = np.random.default_rng(3)
    directory = tmp_path / "odd"
    directory.mkdir()
    space = {
        "name": "odd",
        "parameters": [
            {"name": "model.kind", "type": "categorical", "choices": ["svm", "net"]},
            {"name": "svm:C", "type": "float", "low": 1e-3, "high": 1e3, "log": True},
            {"name": "net width", "type": "categorical", "choices": [16, 64]},
            {"name": "net.bias", "type": "categorical", "choices": [True, False]},
        ],
        "conditions": [
            {"child": "svm:C", "parent": "model.kind", "values": ["svm"]},
            {"child": "net width", "parent": "model.kind", "values": ["net"]},
            {"child": "net.bias", "parent": "model.kind", "values": ["net"]},
        ],
        "objective": {"name": "error rate", "direction": "minimize"},
        "metrics": ["error rate"],
    }
    rows = []
    for task in range(4):
        for c in range(25):
            net = bool(rng.integers(2))
            c_value = float(10 ** rng.uniform(-3, 3))
            bias = bool(rng.integers(2))
            rows.append(
                {
                    "task_id": f"group a/task {task}",
                    "config_id": c,
                    "model.kind": "net" if net else "svm",
                    "svm:C": np.nan if net else c_value,
                    "net width": str(rng.choice([16, 64])) if net else "nan",
                    "net.bias": str(bias).lower() if net else "nan",
                    "error rate": np.float32(
                        0.2 + 0.05 * bias + 0.01 * task if net else 0.3 - 0.02 * np.log10(c_value)
                    ),
                }
            )
    pd.DataFrame(rows).to_parquet(directory / "trials.parquet", index=False)
    (directory / "space.json").write_text(json.dumps(space))
    config = BenchConfig(
        benchmark=directory, methods=("random", "rgpe", "ours"), budget=4, seeds=1, workers=1
    )
    doc = run_transfer_benchmark(config)
    assert [t["target"] for t in doc["per_target"]] == [f"group a/task {i}" for i in range(4)]
    for target in doc["per_target"]:
        for method in ("random", "rgpe", "ours"):
            (run,) = target["runs"][method]
            assert len(run["regret"]) == 4 and len(set(run["picks"])) == 4


def test_a_task_without_full_fidelity_rows_is_named_as_left_out(tmp_path: Path) -> None:
    from library.exceptions import UnknownTaskError
    from recommender.bench import markdown_table

    bench = _write(tmp_path / "partial", pool_sizes=(12, 12, 12), fidelity=True)
    trials = pd.read_parquet(bench / "trials.parquet")
    trials = trials[~((trials["task_id"] == "t2") & (trials["frac"] == 1.0))]
    trials.to_parquet(bench / "trials.parquet", index=False)
    config = BenchConfig(benchmark=bench, methods=("random",), budget=3, seeds=1, workers=1)
    doc = run_transfer_benchmark(config)
    assert [t["target"] for t in doc["per_target"]] == ["t0", "t1"]
    assert doc["left_out_tasks"] == ["t2"]
    assert "1 task(s) left out" in markdown_table(doc) and ": t2." in markdown_table(doc)
    named = {"benchmark": bench, "methods": ("random",), "budget": 3, "seeds": 1, "workers": 1}
    with pytest.raises(
        UnknownTaskError,
        match=r"'t9' is in none of benchmark 'edge' \(3 tasks\); ids look like 't0', 't1', 't2'$",
    ):
        run_transfer_benchmark(BenchConfig(**named, targets=("t0", "t9")))
    with pytest.raises(BenchmarkFormatError, match="'t2' has fewer than 2 scored"):
        run_transfer_benchmark(BenchConfig(**named, targets=("t2",)))
