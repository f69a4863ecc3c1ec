"""The markdown report's comparison of ours with the best baseline of the same run."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.bench import BenchConfig, summarise_runs
from recommender.bench.compare import leave_one_out_range
from recommender.bench.report import markdown_table, versus_best_baseline


def _doc() -> dict:
    def runs(curves: list[list[float]]) -> list[dict]:
        return [{"seed": i, "regret": c} for i, c in enumerate(curves)]

    per_target = [
        {
            "runs": {
                "random": runs([[0.5, 0.4], [0.6, 0.3]]),
                "rgpe": runs([[0.2, 0.0], [0.3, 0.1]]),
                "ours": runs([[0.1, 0.0], [0.4, 0.2]]),
            }
        }
    ]
    summary = {}
    for method in ("random", "rgpe", "ours"):
        curves = [r["regret"] for r in per_target[0]["runs"][method]]
        mean = {str(t): sum(c[t - 1] for c in curves) / len(curves) for t in (1, 2)}
        summary[method] = {
            "mean_regret": mean,
            "curve": [mean["1"], mean["2"]],
            "stderr": {"1": 0.0, "2": 0.0},
            "mean_rank": {"1": 1.0, "2": 1.0},
            "seconds_per_suggestion": 0.0,
        }
    return {
        "benchmark": "toy",
        "summary": summary,
        "per_target": per_target,
        "config": {"targets": ["a"], "seeds": [0, 1], "budget": 2, "adversarial": None},
        "source_model_fit_seconds": 0.0,
        "wall_seconds": 1.0,
        "peak_rss_mb": 1.0,
    }


def test_versus_best_baseline_is_paired_and_says_where_we_lose():
    rows = versus_best_baseline(_doc())
    assert [r["best_method"] for r in rows] == ["rgpe", "rgpe"]
    first, second = rows
    assert first["ours"] == 0.25 and first["best"] == 0.25 and not first["below"]
    assert (first["wins"], first["ties"], first["losses"]) == (1, 0, 1)
    assert not second["below"] and (second["wins"], second["ties"], second["losses"]) == (0, 1, 1)
    table = markdown_table(_doc())
    assert "**NO**" in table and "(rgpe)" in table


def test_paired_difference_averages_seeds_within_a_target():
    doc = _doc()
    rows = versus_best_baseline(doc)
    # one target: ours (0.1 + 0.4) / 2 - rgpe (0.2 + 0.3) / 2 = 0 at t=1; no spread to estimate
    assert rows[0]["difference"] == pytest.approx(0.0)
    assert rows[0]["difference_se"] != rows[0]["difference_se"]  # nan
    second = {
        "runs": {
            "random": [{"seed": 0, "regret": [0.5, 0.5]}, {"seed": 1, "regret": [0.5, 0.5]}],
            "rgpe": [{"seed": 0, "regret": [0.2, 0.1]}, {"seed": 1, "regret": [0.2, 0.1]}],
            "ours": [{"seed": 0, "regret": [0.4, 0.1]}, {"seed": 1, "regret": [0.6, 0.1]}],
        }
    }
    doc["per_target"].append(second)  # differences at t=1: 0.0 and +0.3
    rows = versus_best_baseline(doc)
    assert rows[0]["difference"] == pytest.approx(0.15)
    assert rows[0]["difference_se"] == pytest.approx(0.15)  # sd 0.2121 / sqrt(2)
    assert "+0.1500 ± 0.1500" in markdown_table(doc)


def test_the_report_says_whether_one_target_decides_the_verdict():
    doc = _doc()
    doc["per_target"][0]["target"] = "a"
    assert versus_best_baseline(doc)[0]["without_one"] is None  # one target: no range
    for name, ours in (("b", 0.2), ("c", 0.2), ("needle", 0.9)):  # rgpe 0.2 at t=1 on each
        runs = {m: [{"seed": 0, "regret": [v, v]}] for m, v in (("random", 0.5), ("rgpe", 0.2))}
        runs["ours"] = [{"seed": 0, "regret": [ours, ours]}]
        doc["per_target"].append({"target": name, "runs": runs})
    first = versus_best_baseline(doc)[0]
    # paired differences at t=1: a 0.0, b 0.0, c 0.0, needle +0.7
    assert first["difference"] == pytest.approx(0.175)
    assert first["without_one"] == pytest.approx((0.0, 0.7 / 3))
    assert (first["largest_target"], first["largest_difference"]) == ("needle", pytest.approx(0.7))
    table = markdown_table(doc)
    assert "+0.0000 to +0.2333" in table and "needle (+0.7000)" in table


def test_no_target_is_named_largest_when_every_target_ties():
    doc = _doc()
    doc["per_target"][0]["target"] = "a"
    for name in ("b", "c"):  # ours and rgpe pick alike at t=1; ours is behind at t=2 on c
        runs = {m: [{"seed": 0, "regret": [0.2, 0.1]}] for m in ("random", "rgpe")}
        runs["ours"] = [{"seed": 0, "regret": [0.2, 0.1 if name == "b" else 0.3]}]
        doc["per_target"].append({"target": name, "runs": runs})
    doc["per_target"][0]["runs"]["ours"] = doc["per_target"][0]["runs"]["rgpe"]
    first, second = versus_best_baseline(doc)
    assert (first["largest_target"], first["largest_difference"]) == (None, 0.0)
    assert second["largest_target"] == "c"
    assert "- (every target tied)" in markdown_table(doc)


def test_leave_one_out_range():
    assert leave_one_out_range(np.array([1.0, 2.0])) is None
    assert leave_one_out_range(np.array([0.0, 3.0, 6.0])) == pytest.approx((1.5, 4.5))


def test_no_comparison_without_ours():
    doc = _doc()
    del doc["summary"]["ours"]
    assert versus_best_baseline(doc) == []


def test_summarise_runs_pools_targets_of_several_benchmarks(tmp_path):
    def target(name: str, ours: list[float], rgpe: list[float]) -> dict:
        return {
            "target": name,
            "runs": {
                "ours": [{"seed": 0, "regret": ours, "suggest_seconds": [0.1, 0.1]}],
                "rgpe": [{"seed": 0, "regret": rgpe, "suggest_seconds": [0.3, 0.3]}],
            },
        }

    results = [target("seed1/a", [0.4, 0.0], [0.2, 0.2]), target("seed2/a", [0.2, 0.1], [0.4, 0.0])]
    cfg = BenchConfig(benchmark=tmp_path, methods=("rgpe", "ours"), budget=2, seeds=1)
    summary = summarise_runs(results, cfg)
    assert summary["ours"]["mean_regret"]["1"] == pytest.approx(0.3)
    assert summary["rgpe"]["mean_regret"]["1"] == pytest.approx(0.3)
    assert summary["ours"]["curve"] == pytest.approx([0.3, 0.05])
    assert summary["ours"]["mean_rank"]["1"] == 1.5  # one win, one loss at t = 1
    assert summary["rgpe"]["seconds_per_suggestion"] == pytest.approx(0.3)
