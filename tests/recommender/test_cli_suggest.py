"""`recommend suggest` on a real library: JSON for scripts, one-line errors with exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from library import Library, import_benchmark
from recommender.cli import cli
from tests.synthetic import write_synthetic_benchmark


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli-suggest")
    bench = write_synthetic_benchmark(root / "bench", n_tasks=3, n_configs=30, seed=2)
    import_benchmark(Library.open(root / "lib"), bench)
    return root / "lib", bench / "space.json"


def test_suggest_json_for_a_new_task(library_dir: tuple[Path, Path]) -> None:
    lib, space = library_dir
    result = CliRunner().invoke(
        cli,
        [
            "suggest",
            "--library",
            str(lib),
            "--no-starter",
            "--space",
            str(space),
            "-n",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert len(doc["suggestions"]) == 2 and len(doc["sources"]) == 3
    assert all(s["mode"] == "zero-shot" for s in doc["suggestions"])


def test_unknown_task_is_one_line_and_exit_1(library_dir: tuple[Path, Path]) -> None:
    lib, _ = library_dir
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "recommender.cli",
            "suggest",
            "--library",
            str(lib),
            "--no-starter",
            "--task",
            "nope",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "UnknownTaskError" in lines[0] and "nope" in lines[0]


def test_min_distance_keeps_a_batch_apart_and_rejects_a_negative_value(
    library_dir: tuple[Path, Path],
) -> None:
    import numpy as np

    from recommender.space import Space

    lib, space = library_dir
    base = ["suggest", "--library", str(lib), "--no-starter", "--space", str(space), "-n", "3"]

    def closest(distance: str) -> float:
        result = CliRunner().invoke(cli, [*base, "--min-distance", distance, "--json"])
        assert result.exit_code == 0, result.output
        configs = [s["config"] for s in json.loads(result.output)["suggestions"]]
        X = Space.from_json(space).encode(configs)
        return float(
            np.linalg.norm(X[:, None, :] - X[None, :, :], axis=-1)[np.triu_indices(3, k=1)].min()
        )

    assert closest("0") < 0.5  # this library's zero-shot batch has two picks closer than that
    assert closest("0.5") >= 0.5
    bad = CliRunner().invoke(cli, [*base, "--min-distance", "-1"])
    assert bad.exit_code == 2 and "--min-distance" in bad.output


def test_target_only_json_is_strict_with_null_predictions(tmp_path: Path) -> None:
    """With no source for a branched space, picks have no prediction: null in the JSON
    (Python's json module would write NaN, which jq and JSON.parse reject), '-' in the
    table."""
    import pandas as pd

    from recommender.bench import write_conditional_benchmark

    bench = write_conditional_benchmark(tmp_path / "bench", n_tasks=1, n_configs=40, seed=3)
    space = json.loads((bench / "space.json").read_text())
    table = pd.read_parquet(bench / "trials.parquet")
    table = table[table[space["fidelity"]["name"]] == space["fidelity"]["max"]].head(8)
    observed = table[[p["name"] for p in space["parameters"]]].assign(
        value=table[space["objective"]["name"]].to_numpy()
    )
    observed.to_csv(tmp_path / "observed.csv", index=False)
    Library.open(tmp_path / "empty")
    args = [
        "suggest",
        "--library",
        str(tmp_path / "empty"),
        "--no-starter",
        "--space",
        str(bench / "space.json"),
        "--observed",
        str(tmp_path / "observed.csv"),
        "--direction",
        "minimize",
        "-n",
        "2",
    ]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output, parse_constant=pytest.fail)  # strict: NaN fails
    assert doc["n_observed"] == 8 and doc["sources"] == []
    for suggestion in doc["suggestions"]:
        assert suggestion["predicted"] is None and suggestion["interval"] == [None, None]
    shown = CliRunner().invoke(cli, args)
    assert shown.exit_code == 0, shown.output
    assert "nan" not in shown.output.lower()


def test_the_table_shows_every_configuration_value_in_full_at_80_columns(
    library_dir: tuple[Path, Path],
) -> None:
    lib, space = library_dir
    args = ["suggest", "--library", str(lib), "--no-starter", "--space", str(space), "-n", "3"]
    doc = json.loads(CliRunner().invoke(cli, [*args, "--json"]).output)
    table = CliRunner(env={"COLUMNS": "80"}).invoke(cli, args)

    assert table.exit_code == 0, table.output
    assert max(len(line) for line in table.output.splitlines()) <= 80
    assert "…" not in table.output
    lines = {line.strip(" │") for line in table.output.splitlines()}
    for s in doc["suggestions"]:
        for name, value in s["config"].items():
            shown = f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
            assert any(line.startswith(shown) or f"│ {shown} " in line for line in lines), shown
    assert "mode: zero-shot/" in table.output  # one mode for every pick, printed once


def _sources(*arguments: str) -> list[str]:
    result = CliRunner().invoke(cli, ["suggest", "-n", "1", "--json", *arguments])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output)["sources"])


def test_a_new_dataset_gets_the_nearest_starter_tasks_of_a_model_family(tmp_path: Path) -> None:
    from sklearn.datasets import load_wine

    features, label = load_wine(return_X_y=True, as_frame=True)
    data = tmp_path / "wine.csv"
    features.assign(label=label).to_csv(data, index=False)
    every = _sources("--model", "hgb")  # no fingerprint: every hgb task of the starter
    nearest = _sources("--model", "hgb", "--dataset", str(data), "--target", "label")
    regression = {"starter/sklearn/diabetes/hgb", "starter/statsmodels/engel/hgb"}
    assert len(every) == 10 and regression < set(every)
    # the 8 nearest classification tasks: a regression task's fingerprint does not compare
    assert len(nearest) == 8 and set(nearest) == set(every) - regression
    # a library task is matched on its stored fingerprint, as `explain` and `run` do
    task = "starter/keel/australian/hgb"
    assert set(_sources("--task", task)) == set(every) - regression - {task}
    for wrong in (["--dataset", str(data)], ["--target", "label", "--model", "hgb"]):
        result = CliRunner().invoke(cli, ["suggest", *wrong])
        assert result.exit_code == 2 and "--target" in result.output
    both = CliRunner().invoke(cli, ["suggest", "--model", "hgb", "--space", str(data)])
    assert both.exit_code == 2 and "not both" in both.output


def test_observed_trials_keep_the_objective_column_that_space_json_names(
    library_dir: tuple[Path, Path], tmp_path: Path
) -> None:
    """A file of the benchmark's own trials (objective column `loss`, minimised, as its
    space.json says) needs no renaming: the same suggestions as with `value` and
    --direction minimize; a column that is not there is a usage error naming the columns."""
    import pandas as pd

    lib, space = library_dir
    declared = json.loads(space.read_text())
    trials = pd.read_parquet(space.parent / "trials.parquet").query("task_id == 'task_0'")
    names = [p["name"] for p in declared["parameters"]]
    own = trials[trials["epoch"] == declared["fidelity"]["max"]].head(6)[[*names, "loss"]]
    own.to_csv(tmp_path / "own.csv", index=False)
    own.rename(columns={"loss": "value"}).to_csv(tmp_path / "value.csv", index=False)
    base = ["suggest", "--library", str(lib), "--no-starter", "--space", str(space), "-n", "2"]

    def suggestions(*extra: str) -> list[dict]:
        result = CliRunner().invoke(cli, [*base, *extra, "--json"])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.output)
        assert doc["n_observed"] == 6
        return [s["config"] for s in doc["suggestions"]]

    assert declared["objective"] == {"name": "loss", "direction": "minimize"}
    expected = suggestions("--observed", str(tmp_path / "value.csv"), "--direction", "minimize")
    assert suggestions("--observed", str(tmp_path / "own.csv")) == expected
    assert suggestions("--observed", str(tmp_path / "own.csv"), "--objective", "loss") == expected
    maximised = suggestions("--observed", str(tmp_path / "value.csv"))  # `value`: maximize
    assert maximised != expected
    missing = CliRunner().invoke(
        cli, [*base, "--observed", str(tmp_path / "own.csv"), "--objective", "acc"]
    )
    assert missing.exit_code == 2 and "no column 'acc'" in missing.output
    assert "loss" in missing.output
