"""The bundled starter library: present, valid, read-only, layered under the user's library."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from featurizers import FEATURIZER_VERSION
from library import Library, validate
from library.exceptions import LibraryError
from recommender.space import Space
from recommender.starter import (
    STARTER_TASK_PREFIX,
    LayeredLibrary,
    open_layered,
    open_starter_library,
    starter_library_path,
)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def starter() -> Library:
    return open_starter_library()


def test_bundled_library_is_small_and_valid(starter: Library) -> None:
    path = starter_library_path()
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    assert size <= 20 * 2**20
    assert Library.open(path, create=False).root == path
    stats = starter.stats()
    assert stats["n_tasks"] >= 40 and stats["n_trials"] >= 40 * 51
    assert validate(starter) == []


def test_every_task_has_fingerprint_space_and_51_configurations(starter: Library) -> None:
    tasks = starter.read_tasks().to_pylist()
    trials = starter.read_trials().to_pandas()
    counts = trials.groupby("task_id").size()
    families: dict[str, set[str]] = {}
    for task in tasks:
        assert task["task_id"].startswith(STARTER_TASK_PREFIX)
        assert task["featurizer_version"] == FEATURIZER_VERSION
        assert len(task["fingerprint_values"]) == len(task["fingerprint_names"]) > 20
        assert task["source"].startswith("dataset:builtin:")
        space = Space.from_dict(json.loads(task["space_json"]))
        assert counts[task["task_id"]] == 51
        rows = trials[trials["task_id"] == task["task_id"]]
        for params in rows["params_json"]:
            space.validate(json.loads(params))
        assert (rows["metric_is_default"] == 1.0).sum() == 1
        shared = set(rows.loc[rows["metric_is_default"] == 0.0, "params_json"])
        family = task["task_id"].rsplit("/", 1)[-1]
        # one configuration list per family: the zero-shot benchmark is a table lookup
        assert families.setdefault(family, shared) == shared
    assert set(families) >= {"hgb", "rf", "logreg", "svm", "mlp"}
    ok = trials[trials["status"] == "ok"]["objective_value"].to_numpy()
    assert np.isfinite(ok).all() and len(ok) >= 0.9 * len(trials)


def test_mlp_family_is_bundled_at_20_epochs_with_diverged_trials_kept(starter: Library) -> None:
    trials = starter.read_trials().to_pandas()
    mlp = trials[trials["task_id"].str.endswith("/mlp")]
    counts = mlp.groupby("task_id").size()
    assert len(counts) >= 10 and (counts == 51).all()  # default + 50 shared configurations
    assert (mlp["fidelity_name"] == "epochs").all() and (mlp["fidelity"] == 20.0).all()
    assert set(mlp["status"]) <= {"ok", "diverged"}
    ok = mlp["status"] == "ok"
    assert np.isfinite(mlp.loc[ok, "objective_value"].to_numpy()).all()
    assert mlp.loc[~ok, "objective_value"].isna().all()
    assert ok.groupby(mlp["task_id"]).sum().min() >= 25  # most configurations train


def test_opening_and_querying_never_writes(starter: Library) -> None:
    path = starter_library_path()
    before = _digest(path)
    layered = open_layered(include_user=False)
    evaluations = layered.task_evaluations()
    layered.task_fingerprints()
    starter.stats()
    assert len(evaluations) == starter.stats()["n_tasks"]
    assert _digest(path) == before
    assert not (path / "_lock").exists()


def test_user_library_is_layered_over_the_starter(tmp_path: Path, starter: Library) -> None:
    user = Library.open(tmp_path / "user")
    starter_task = starter.task_ids()[0]
    user.append_tasks(
        [
            {"task_id": "mine", "name": "my dataset", "featurizer_version": "x"},
            {"task_id": starter_task, "name": "user override"},
        ]
    )
    user.append_trials(
        [{"task_id": starter_task, "objective_value": 0.5, "param_zz": 1.0}],
        objective_name="accuracy",
        direction="maximize",
    )
    layered = open_layered(tmp_path / "user")
    assert isinstance(layered, LayeredLibrary)
    assert layered.layers == (layered.user, layered.starter)
    assert set(layered.task_ids()) == set(starter.task_ids()) | {"mine"}
    tasks = {row["task_id"]: row for row in layered.read_tasks().to_pylist()}
    assert tasks[starter_task]["name"] == "user override"
    evaluations = layered.task_evaluations()
    assert list(evaluations[starter_task].configs.columns) == ["zz"]  # the user's trials win
    assert len(evaluations) == starter.stats()["n_tasks"]
    only_user = open_layered(tmp_path / "user", include_starter=False)
    assert only_user.starter is None and only_user.task_ids() == sorted(["mine", starter_task])


def test_missing_user_library_without_create_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="no library"):
        open_layered(tmp_path / "absent", create=False)


def test_fingerprints_are_reproducible_from_the_task_source(starter: Library) -> None:
    from library.refresh import featurize_reference

    task = next(t for t in starter.read_tasks().to_pylist() if t["name"] == "sklearn/iris")
    fingerprint = featurize_reference(task["source"].removeprefix("dataset:"))
    assert list(fingerprint.names) == task["fingerprint_names"]
    np.testing.assert_allclose(
        fingerprint.values, np.array(task["fingerprint_values"], dtype=float), equal_nan=True
    )


def _build_script() -> Any:
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "build_starter_library.py"
    spec = importlib.util.spec_from_file_location("build_starter_library", script)
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


def test_build_script_reproduces_a_task(tmp_path: Path, starter: Library) -> None:
    build = _build_script()
    configs = build.family_configs("logreg", n_configs=50, seed=0)
    build.evaluate_pair(
        "sklearn/iris", "logreg", drop=tmp_path, configs=configs, max_rows=300, seed=0,
        max_epochs=20, fingerprint_cache={},
    )  # fmt: skip
    rebuilt = pd.read_parquet(tmp_path / "sklearn__iris__logreg.parquet")
    stored = starter.read_trials(task_ids=["starter/sklearn/iris/logreg"]).to_pandas()
    np.testing.assert_allclose(
        np.sort(rebuilt["objective"].to_numpy()), np.sort(stored["objective_value"].to_numpy())
    )


def test_build_script_extend_adds_a_family_and_keeps_the_base_rows(tmp_path: Path) -> None:
    build = _build_script()
    options = {"max_rows": 300, "seed": 0, "max_epochs": 20, "fingerprint_cache": {}}
    for family, work in (("logreg", tmp_path / "first"), ("svm", tmp_path / "second")):
        configs = build.family_configs(family, n_configs=2, seed=0)
        build.evaluate_pair("sklearn/iris", family, drop=work / "drop", configs=configs, **options)
    base = tmp_path / "base"
    build.refresh_into(tmp_path / "first" / "drop", work=tmp_path / "first", out=base)
    before = Library.open(base, create=False).read_trials().to_pandas()
    build.check_base(base, n_configs=2, max_rows=300, seed=0)
    build.refresh_into(tmp_path / "second" / "drop", work=tmp_path / "second", out=base, base=base)
    after = Library.open(base, create=False).read_trials().to_pandas()
    assert sorted(set(after["task_id"])) == [
        "starter/sklearn/iris/logreg",
        "starter/sklearn/iris/svm",
    ]
    kept = after[after["task_id"] == "starter/sklearn/iris/logreg"]
    pd.testing.assert_frame_equal(
        kept.sort_values("trial_id").reset_index(drop=True)[before.columns],
        before.sort_values("trial_id").reset_index(drop=True),
    )
    assert (after.groupby("task_id").size() == 3).all()
    with pytest.raises(SystemExit, match="--configs"):
        build.check_base(base, n_configs=50, max_rows=300, seed=0)
    with pytest.raises(SystemExit, match="max_rows=100"):
        build.check_base(base, n_configs=2, max_rows=100, seed=0)


def test_a_starter_task_is_matched_on_its_stored_fingerprint(starter: Library) -> None:
    from recommender.recommend import Recommender

    rec = Recommender([starter])
    rec.suggest("starter/keel/australian/hgb", n=1, seed=0)
    sources = set(rec.explain().sources)
    # the other classification hgb tasks; the regression ones' fingerprints do not compare
    assert len(sources) == 7 and all(s.endswith("/hgb") for s in sources)
    assert not sources & {"starter/sklearn/diabetes/hgb", "starter/statsmodels/engel/hgb"}
