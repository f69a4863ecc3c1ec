"""`recommend bench transfer` end to end on a synthetic conditional, minimised benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.cli import cli
from tests.synthetic import write_synthetic_benchmark


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("bench")
    bench = write_synthetic_benchmark(
        root / "synthetic", n_tasks=5, n_configs=80, seed=3, direction="minimize"
    )
    out = root / "results"
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "transfer",
            "--benchmark",
            str(bench),
            "--methods",
            "random,cold-gp,portfolio,ours",
            "--quick",
            "--workers",
            "1",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output)


def test_quick_run_writes_json_markdown_and_plot(quick_run):
    out, printed = quick_run
    doc = json.loads((out / "synthetic.json").read_text())
    assert set(doc["summary"]) == {"random", "cold-gp", "portfolio", "ours"}
    assert doc["config"]["budget"] == 10 and doc["config"]["seeds"] == [0, 1]
    assert len(doc["config"]["targets"]) == 4
    assert (out / "synthetic.png").stat().st_size > 0
    assert "| ours |" in (out / "synthetic.md").read_text()
    assert printed["files"]["json"].endswith("synthetic.json")
    for method in doc["per_target"][0]["runs"].values():
        for run in method:
            assert len(set(run["picks"])) == 10  # never the same pool row twice
            regret = run["regret"]
            assert all(0.0 <= r <= 1.0 for r in regret)
            assert all(a >= b for a, b in zip(regret, regret[1:], strict=False))  # best-so-far


def test_transfer_beats_random_first_pick_on_related_tasks(quick_run):
    _, printed = quick_run
    summary = printed["summary"]
    assert summary["ours"]["mean_regret"]["1"] < summary["random"]["mean_regret"]["1"]


def test_malformed_benchmark_names_file_and_field(tmp_path: Path):
    bench = write_synthetic_benchmark(tmp_path / "bad", n_tasks=2, n_configs=10, seed=0)
    space = json.loads((bench / "space.json").read_text())
    del space["objective"]
    (bench / "space.json").write_text(json.dumps(space))
    result = CliRunner().invoke(cli, ["bench", "transfer", "--benchmark", str(bench), "--quick"])
    assert result.exit_code != 0
    message = str(result.exception) + result.output
    assert "space.json" in message and "objective" in message


def test_report_reprints_the_markdown_of_a_result(quick_run, tmp_path: Path):
    out, _ = quick_run
    result = CliRunner().invoke(cli, ["bench", "report", str(out / "synthetic.json")])
    assert result.exit_code == 0, result.output
    assert result.output == (out / "synthetic.md").read_text()
    assert "ours - best (± SE over targets)" in result.output
    other = tmp_path / "other.json"
    other.write_text('{"rows": []}')
    bad = CliRunner().invoke(cli, ["bench", "report", str(other)])
    assert bad.exit_code == 1 and "not a `recommend bench transfer` result JSON" in bad.output
