"""Tests of `recommend featurize`."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sklearn.datasets import load_wine

from featurizers import dataset_feature_names
from tests.cli import recommend


def test_featurize_csv_json(tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(path, index=False)
    code, out, _ = recommend(["featurize", str(path), "--target", "target", "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert tuple(payload["names"]) == dataset_feature_names("classification")
    assert payload["kind"] == "dataset" and payload["dataset"] == str(path)


def test_featurize_builtin_table(capsys) -> None:  # noqa: ANN001
    code, out, _ = recommend(["featurize", "sklearn:diabetes"], capsys)
    assert code == 0 and "lm_linear_r2" in out


def test_featurize_errors_are_one_line(tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(path, index=False)
    code, _, err = recommend(["featurize", str(path), "--target", "nope"], capsys)
    assert code != 0 and "FeaturizeError" in err and "nope" in err and len(err.splitlines()) == 1
    code, _, err = recommend(["featurize", str(path)], capsys)
    assert code != 0 and "--target is required" in err


def test_help() -> None:
    from recommender._cli_featurize import featurize_command

    result = CliRunner().invoke(featurize_command, ["--help"])
    assert result.exit_code == 0 and "--target" in result.output
