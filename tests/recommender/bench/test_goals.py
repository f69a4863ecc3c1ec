"""The transfer goals checked on a results document, and `--check-goals`'s exit code."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from recommender.bench.goals import check_goals, goals_markdown
from recommender.cli import cli

BUDGET = 20


def _doc(curves: dict[str, list[float]], *, adversarial: str | None = None, seconds=None) -> dict:
    """A one-target, one-seed result whose methods have the given regret curves."""
    seconds = seconds or {}
    per_target = [{"runs": {m: [{"seed": 0, "regret": c}] for m, c in curves.items()}}]
    summary = {
        m: {
            "mean_regret": {str(t): c[t - 1] for t in (1, 5, 10, 20)},
            "stderr": {str(t): 0.0 for t in (1, 5, 10, 20)},
            "curve": c,
            "mean_rank": {str(t): 1.0 for t in (1, 5, 10, 20)},
            "seconds_per_suggestion": seconds.get(m, 0.1),
        }
        for m, c in curves.items()
    }
    return {
        "benchmark": "toy",
        "summary": summary,
        "per_target": per_target,
        "config": {"targets": ["a"], "seeds": [0], "budget": BUDGET, "adversarial": adversarial},
        "source_model_fit_seconds": 0.0,
        "wall_seconds": 1.0,
        "peak_rss_mb": 1.0,
    }


def _line(start: float, end: float) -> list[float]:
    return [start + (end - start) * i / (BUDGET - 1) for i in range(BUDGET)]


def _by_name(checks) -> dict:
    return {c.name: c for c in checks}


def test_every_goal_holds_when_ours_leads_everywhere():
    doc = _doc(
        {
            "random": _line(0.4, 0.1),
            "cold-gp": _line(0.4, 0.05),
            "rgpe": _line(0.2, 0.02),
            "ours": _line(0.06, 0.0),
        }
    )
    checks = _by_name(check_goals(doc))
    assert set(checks) == {"warm-start", "vs-random", "vs-best-baseline", "latency"}
    assert all(c.holds for c in checks.values())


def test_a_single_budget_above_half_of_random_fails_and_is_named():
    ours = _line(0.1, 0.01)
    ours[6] = 0.3  # t = 7: 0.3 / random's 0.31 there
    doc = _doc({"random": _line(0.4, 0.1), "cold-gp": _line(0.4, 0.05), "ours": ours})
    check = _by_name(check_goals(doc))["vs-random"]
    assert not check.holds and "(t = 7)" in check.measured


def test_losing_to_the_best_baseline_at_one_reported_budget_fails_there():
    rgpe = _line(0.2, 0.02)
    ours = _line(0.1, 0.01)
    ours[9] = rgpe[9]  # a tie at t = 10 is not "below"
    doc = _doc({"random": _line(0.4, 0.1), "rgpe": rgpe, "ours": ours})
    check = _by_name(check_goals(doc))["vs-best-baseline"]
    assert not check.holds and "t = 10" in check.measured and "rgpe" in check.measured


def test_warm_start_compares_ours_at_5_with_the_cold_gp_at_20():
    cold = _line(0.4, 0.05)
    ours = _line(0.1, 0.01)
    ours[4] = 0.06  # above cold-gp's 0.05 at t = 20
    checks = _by_name(check_goals(_doc({"cold-gp": cold, "ours": ours})))
    assert not checks["warm-start"].holds


def test_an_adversarial_run_is_held_to_the_cold_gp_with_five_percent_slack():
    cold = _line(0.4, 0.10)
    within, beyond = _line(0.9, 0.104), _line(0.9, 0.106)
    curves = {"cold-gp": cold, "ours-no-guardrails": _line(0.9, 0.2)}
    ok = _by_name(check_goals(_doc({**curves, "ours": within}, adversarial="negate")))
    assert set(ok) == {"adversarial", "latency"}  # no warm-start or vs-random goal there
    assert ok["adversarial"].holds and "without guardrails 0.2000" in ok["adversarial"].measured
    bad = _by_name(check_goals(_doc({**curves, "ours": beyond}, adversarial="negate")))
    assert not bad["adversarial"].holds


def test_latency_needs_both_the_ratio_and_the_second():
    curves = {"cold-gp": _line(0.4, 0.05), "ours": _line(0.1, 0.01)}
    slow_ratio = _by_name(check_goals(_doc(curves, seconds={"cold-gp": 0.1, "ours": 0.31})))
    assert not slow_ratio["latency"].holds
    slow_absolute = _by_name(check_goals(_doc(curves, seconds={"cold-gp": 0.5, "ours": 1.2})))
    assert not slow_absolute["latency"].holds


def test_goals_the_run_cannot_judge_are_left_out_not_passed():
    assert check_goals(_doc({"random": _line(0.4, 0.1)})) == []  # no ours
    only_random = _by_name(check_goals(_doc({"random": _line(0.4, 0.1), "ours": _line(0.1, 0.01)})))
    assert set(only_random) == {"vs-random", "vs-best-baseline"}
    assert goals_markdown([]) == ""


def test_check_goals_exit_code_and_the_json_and_markdown_they_land_in(tmp_path: Path):
    doc = _doc({"random": _line(0.4, 0.1), "rgpe": _line(0.05, 0.0), "ours": _line(0.1, 0.01)})
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    plain = CliRunner().invoke(cli, ["bench", "report", str(path)])
    assert plain.exit_code == 0 and "| **NO** |" in plain.output  # reported, not enforced
    checked = CliRunner().invoke(cli, ["bench", "report", str(path), "--check-goals"])
    assert checked.exit_code == 3 and "vs-best-baseline" in checked.output


def test_written_results_carry_the_goals(tmp_path: Path):
    from recommender.bench import write_results

    doc = _doc({"random": _line(0.4, 0.1), "ours": _line(0.1, 0.01)})
    paths = write_results(doc, tmp_path, stem="toy")
    written = json.loads(paths["json"].read_text())
    assert [g["name"] for g in written["goals"]] == ["vs-random", "vs-best-baseline"]
    assert "the transfer goals on this run" in paths["markdown"].read_text()
    assert "goals" not in doc  # the caller's document is not modified
