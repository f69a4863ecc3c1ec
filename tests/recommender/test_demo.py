"""`python -m recommender.demo`: real zero-shot suggestions and real CV scores on digits."""

from __future__ import annotations

import json
import math

import pytest

from recommender.demo import load_demo_dataset, main
from recommender.runner import ModelFamily, default_space
from recommender.space import Space


def test_demo_json_has_five_finite_suggestions_and_real_cv_scores(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--json", "--max-rows", "600"]) == 0
    result = json.loads(capsys.readouterr().out)

    assert result["starter_library"]["n_tasks"] > 0
    assert result["dataset"]["name"] == "digits"
    assert result["dataset"]["in_starter_library"] == []  # a genuinely new task
    assert result["dataset"]["n_rows_used"] == 600

    space = Space.from_dict(default_space(ModelFamily.HGB))
    suggestions = result["suggestions"]
    assert len(suggestions) == 5
    configs = set()
    for s in suggestions:
        assert math.isfinite(s["predicted"])
        low, high = s["interval"]
        assert math.isfinite(low) and math.isfinite(high) and low <= s["predicted"] <= high
        assert s["neighbours"] and all(
            nb["task_id"].startswith("starter/") for nb in s["neighbours"]
        )
        assert space.validate(s["config"]) == s["config"]  # inside the runner's space
        configs.add(json.dumps(s["config"], sort_keys=True))
    assert len(configs) == 5  # a diverse batch
    assert result["explanation"]["decisions"][0]["mode"] == "zero-shot"

    runs = result["runs"]
    assert runs["recommended"]["config"] == suggestions[0]["config"]
    for label in ("recommended", "default"):
        folds = runs[label]["fold_scores"]
        assert len(folds) == 3
        # digits is 10-class: chance is ~0.1, HistGradientBoosting gets far above it
        assert 0.5 < runs[label]["cv_score"] <= 1.0
        assert runs[label]["cv_score"] == pytest.approx(sum(folds) / 3)
    assert runs["recommended"]["config"] != runs["default"]["config"]


def test_demo_unknown_dataset_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dataset", "no-such-dataset"]) == 1
    assert "unknown demo dataset" in capsys.readouterr().err


def test_demo_dataset_is_subsampled_reproducibly() -> None:
    a = load_demo_dataset("digits", max_rows=200, seed=3)
    b = load_demo_dataset("digits", max_rows=200, seed=3)
    assert a.features.shape == (200, 64) and a.n_rows_total == 1797
    assert (a.features == b.features).all() and (a.target == b.target).all()
