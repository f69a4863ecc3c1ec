"""DuckDB queries (best-k, fingerprints, counts, task evaluations) and validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from library import (
    EmptyLibraryError,
    Library,
    UnknownTaskError,
    best_k_per_task,
    import_benchmark,
    read_benchmark,
    task_evaluations,
    task_fingerprints,
    task_summary,
    trials_of_task,
    validate,
)
from tests.library.conftest import make_trials


def test_best_k_respects_direction_and_fidelity(tmp_path: Path, synthetic_dir: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    import_benchmark(lib, synthetic_dir)
    best = best_k_per_task(lib, 3).to_pandas()
    bench = read_benchmark(synthetic_dir)
    assert len(best) == 6 * 3 and (best["fidelity"] == 9).all()
    for task in bench.task_ids:
        expected = np.sort(bench.task_table(task)["loss"].to_numpy(np.float64))[:3]
        got = best[best["task_id"] == f"synthetic/{task}"].sort_values("rank")["objective_value"]
        np.testing.assert_allclose(got.to_numpy(), expected)


def test_best_k_maximize(library: Library) -> None:
    library.append_trials(make_trials(30, task_id="t1"), objective_name="acc", direction="maximize")
    best = best_k_per_task(library, 2).to_pandas()
    values = library.read_trials()["objective_value"].to_numpy()
    np.testing.assert_allclose(best["objective_value"], np.sort(values)[::-1][:2])


def _best_in_child(root: str, queue: object) -> None:
    queue.put(best_k_per_task(Library.open(root), 2).column("objective_value").to_pylist())  # type: ignore[attr-defined]


def test_queries_from_threads_and_from_a_forked_child(library: Library) -> None:
    """Queries share one DuckDB database per process: threads query it at once, and a
    child forked after the parent queried (the benchmark harness forks its workers) gets
    its own instead of the inherited one."""
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    library.append_trials(make_trials(40, task_id="t1"), objective_name="acc", direction="maximize")
    expected = best_k_per_task(library, 2).column("objective_value").to_pylist()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: best_k_per_task(library, 2), range(16)))
    assert all(r.column("objective_value").to_pylist() == expected for r in results)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_best_in_child, args=(str(library.root), queue))
    child.start()
    try:
        assert queue.get(timeout=60) == expected
    finally:
        child.join(timeout=60)
    assert child.exitcode == 0


def test_task_summary_counts_every_task_and_orients_best(library: Library) -> None:
    library.append_trials(make_trials(30, task_id="t1"), objective_name="acc", direction="maximize")
    failed = make_trials(4, task_id="t2", seed=1).append_column(
        "status", pa.array(["failed"] * 4, pa.string())
    )
    for batch in (make_trials(5, task_id="t2", seed=2), failed):
        library.append_trials(batch, objective_name="loss", direction="minimize")
    summary = task_summary(library).set_index("task_id")
    assert list(summary.index) == ["t0", "t1", "t2"]
    assert summary.loc["t0", "n_trials"] == 0 and np.isnan(summary.loc["t0", "best"])
    t1 = library.read_trials(task_ids=["t1"])["objective_value"].to_numpy()
    assert summary.loc["t1", "best"] == pytest.approx(t1.max())
    ok = library.read_trials(task_ids=["t2"]).to_pandas()
    ok = ok[ok["status"] == "ok"]["objective_value"]
    assert summary.loc["t2", "best"] == pytest.approx(ok.min())  # failed trials never count
    assert (summary.loc["t2", "n_trials"], summary.loc["t2", "n_ok"]) == (9, 5)


def test_trials_of_task_and_unknown(library: Library) -> None:
    library.append_trials(make_trials(12, task_id="t2"), objective_name="l", direction="minimize")
    assert trials_of_task(library, "t2").num_rows == 12
    assert trials_of_task(library, "t1").num_rows == 0
    with pytest.raises(UnknownTaskError):
        trials_of_task(library, "zzz")
    with pytest.raises(UnknownTaskError):
        task_evaluations(library, task_ids=["zzz"])


def test_empty_library_errors(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    assert lib.stats()["n_trials"] == 0
    with pytest.raises(EmptyLibraryError):
        task_evaluations(lib)


def test_fingerprints_and_stats(tmp_path: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    lib.append_tasks(
        [
            {"task_id": "a", "fingerprint_names": ["n", "d"], "fingerprint_values": [100.0, 4.0]},
            {"task_id": "b"},
        ]
    )
    batch = make_trials(8, task_id="a").append_column(
        "status", pa.array(["ok"] * 6 + ["failed"] * 2)
    )
    lib.append_trials(batch, objective_name="loss", direction="minimize", source="unit")
    fingerprints = task_fingerprints(lib).to_pylist()
    assert [row["task_id"] for row in fingerprints] == ["a"]
    assert fingerprints[0]["fingerprint_values"] == [100.0, 4.0]
    stats = lib.stats()
    assert stats["n_tasks"] == 2 and stats["n_trials"] == 8
    assert stats["by_status"] == {"ok": 6, "failed": 2} and stats["by_source"] == {"unit": 8}
    assert stats["files"] == {"tasks": 1, "trials": 1} and stats["bytes"] > 0
    evals = task_evaluations(lib)["a"]
    assert evals.fingerprint == {"n": 100.0, "d": 4.0} and len(evals.objective) == 6


def test_validate_reports_every_kind(tmp_path: Path, synthetic_dir: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    import_benchmark(lib, synthetic_dir)
    assert validate(lib) == []
    good = pq.read_table(lib.files("trials")[0]).slice(0, 5)
    # a foreign writer bypassing the API: duplicates, orphans, NaN, out-of-range, tampering
    values = good["param_learning_rate"].to_numpy().copy()
    values[0] = 5.0
    bad = good.set_column(
        good.schema.get_field_index("param_learning_rate"), "param_learning_rate", pa.array(values)
    )
    objective = bad["objective_value"].to_numpy().copy()
    objective[1] = np.nan
    bad = bad.set_column(
        bad.schema.get_field_index("objective_value"), "objective_value", pa.array(objective)
    )
    orphan = good.slice(0, 1).set_column(1, "task_id", pa.array(["ghost"]))
    pq.write_table(bad, lib.trials_dir / "part-bad.parquet")
    pq.write_table(orphan, lib.trials_dir / "part-orphan.parquet")
    pq.write_table(good.drop(["status"]), lib.trials_dir / "part-noschema.parquet")
    (lib.trials_dir / "part-corrupt.parquet").write_bytes(b"PAR1 not really")
    kinds = {problem.kind for problem in validate(lib)}
    assert {
        "duplicate_trial_id",
        "orphan_trial",
        "nan_objective",
        "out_of_range",
        "trial_id_mismatch",
        "schema",
        "corrupt_file",
    } <= kinds


def test_validate_against_given_space(tmp_path: Path, synthetic_dir: Path) -> None:
    lib = Library.open(tmp_path / "lib")
    import_benchmark(lib, synthetic_dir)
    space = json.loads((synthetic_dir / "space.json").read_text())
    space["parameters"] = [p for p in space["parameters"] if p["name"] != "beta1"]
    space["parameters"][2]["choices"] = ["sgd"]
    kinds = {problem.kind for problem in validate(lib, space=space)}
    assert kinds == {"unknown_parameter", "invalid_choice"}


def test_a_bool_choice_is_matched_in_the_case_arrow_writes() -> None:
    from library.validate import check_params_in_space

    space = {
        "parameters": [
            {"name": "bias", "type": "categorical", "choices": [True, False]},
            {"name": "scale", "type": "float", "low": 0.0, "high": 1.0},
        ],
        "conditions": [{"child": "scale", "parent": "bias", "values": [True]}],
    }
    trials = pa.table(
        {
            "task_id": ["t", "t", "t"],
            "param_bias": ["true", "False", "maybe"],
            "param_scale": [0.5, None, None],
        }
    )
    problems = check_params_in_space(trials, {"t": space})
    # "true" is True (and its child may be set); only "maybe" is no choice
    assert [(p.kind, "maybe" in p.detail, "true" in p.detail) for p in problems] == [
        ("invalid_choice", True, False)
    ]
