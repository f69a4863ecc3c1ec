"""`python -m recommender.demo`: real zero-shot suggestions and real CV scores on digits."""

from __future__ import annotations

import json
import math

import pytest

from recommender.demo import compare_runs, load_demo_dataset, main
from recommender.runner import ModelFamily, default_space
from recommender.space import Space


def test_demo_json_has_five_suggestions_and_real_cv_scores_beside_random_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--json", "--max-rows", "600", "--train", "2"]) == 0
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
    # the best two suggestions, two random configurations of the same space, the default
    assert [r["config"] for r in runs["recommended"]] == [s["config"] for s in suggestions[:2]]
    assert len(runs["random"]) == 2
    for run in runs["random"]:
        assert space.validate(run["config"]) == run["config"]
        assert json.dumps(run["config"], sort_keys=True) not in configs
    everything = [*runs["recommended"], *runs["random"], runs["default"]]
    for run in everything:
        folds = run["fold_scores"]
        assert run["status"] == "ok" and len(folds) == 3
        # digits is 10-class: chance is ~0.1, HistGradientBoosting gets far above it
        assert 0.5 < run["cv_score"] <= 1.0
        assert run["cv_score"] == pytest.approx(sum(folds) / 3)
    assert runs["recommended"][0]["config"] != runs["default"]["config"]

    comparison = result["comparison"]
    best = max(r["cv_score"] for r in runs["recommended"])
    assert comparison["n_trained"] == 2
    assert comparison["top1_minus_default"] == pytest.approx(
        runs["recommended"][0]["cv_score"] - runs["default"]["cv_score"]
    )
    assert comparison["best_recommended_minus_default"] == pytest.approx(
        best - runs["default"]["cv_score"]
    )
    assert comparison["best_recommended_minus_best_random"] == pytest.approx(
        best - max(r["cv_score"] for r in runs["random"])
    )


def test_a_side_whose_runs_all_diverged_has_no_comparison() -> None:
    ok = {"cv_score": 0.8}
    diverged = {"cv_score": None}
    runs = {"recommended": [diverged, ok], "random": [diverged], "default": {"cv_score": 0.7}}

    comparison = compare_runs(runs)

    assert comparison["top1_minus_default"] is None  # the first suggestion diverged
    assert comparison["best_recommended_minus_default"] == pytest.approx(0.1)
    assert comparison["best_recommended_minus_best_random"] is None


def test_demo_train_below_one_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--train", "0", "--max-rows", "200"]) == 1
    assert "--train must be at least 1" in capsys.readouterr().err


def test_demo_unknown_dataset_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dataset", "no-such-dataset"]) == 1
    assert "unknown demo dataset" in capsys.readouterr().err


def test_demo_dataset_is_subsampled_reproducibly() -> None:
    a = load_demo_dataset("digits", max_rows=200, seed=3)
    b = load_demo_dataset("digits", max_rows=200, seed=3)
    assert a.features.shape == (200, 64) and a.n_rows_total == 1797
    assert (a.features == b.features).all() and (a.target == b.target).all()
