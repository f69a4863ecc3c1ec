"""`build_explain_report`, its plots, the HTML report and `recommend explain`."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from featurizers.fingerprint import Fingerprint
from library.store import Library
from recommender.cli import cli
from recommender.explain_report import build_explain_report, figures, render_html
from recommender.recommend import Recommender
from recommender.space import Space
from tests.integrations.conftest import SVC_SPACE, source_score

_FP_NAMES = ["log_n_rows", "log_n_columns", "majority_class_share"]


def _library_with_fingerprints(root, *, gamma_matters: bool) -> Library:
    """Three tasks with fingerprints; optionally an objective that ignores gamma."""
    rng = np.random.default_rng(7)
    library = Library.open(root)
    space = Space.from_dict(SVC_SPACE)
    library.append_tasks(
        [
            {
                "task_id": f"fp/{i}",
                "space": SVC_SPACE,
                "fingerprint_names": _FP_NAMES,
                "fingerprint_values": [5.0 + i, 2.0 + 0.5 * i, 0.5 + 0.1 * i],
                "featurizer_version": "1.0.0",
            }
            for i in range(3)
        ]
    )
    rows = []
    for i in range(3):
        for config in space.sample(40, seed=100 + i):
            value = (
                source_score(config, 0.1 * i)
                if gamma_matters
                else 0.9 - 0.05 * (np.log10(config["C"]) - 1.0) ** 2
            )
            rows.append(
                {
                    "task_id": f"fp/{i}",
                    "objective_value": value + 0.002 * rng.standard_normal(),
                    "param_C": config["C"],
                    "param_gamma": config["gamma"],
                }
            )
    library.append_trials(rows, objective_name="accuracy", direction="maximize")
    return library


def test_report_ranks_neighbours_by_fingerprint_and_finds_the_important_parameter(tmp_path):
    library = _library_with_fingerprints(tmp_path / "lib", gamma_matters=False)
    space = Space.from_dict(SVC_SPACE)
    target = Fingerprint.from_values(_FP_NAMES, [6.0, 2.5, 0.6], version="1.0.0", kind="dataset")
    recommender = Recommender(library)
    recommender.suggest(None, space, n=3, fingerprint=target)
    report = build_explain_report(recommender.explain(), library, space, fingerprint=target)
    assert report.similarity_kind == "fingerprint"
    assert report.neighbours[0] == ("fp/1", pytest.approx(1.0))  # identical fingerprint
    assert [t for t, _ in report.neighbours][1:] != []
    assert report.neighbours[1][1] < 1.0
    # the objective ignores gamma: its lengthscale is long, so C dominates
    assert sum(report.importance.values()) == pytest.approx(1.0)
    assert report.importance["C"] > 0.7, report.importance
    steps, per_source, target_weight = report.weights_by_step()
    assert steps == [1, 2, 3] and set(per_source) == {"fp/0", "fp/1", "fp/2"}
    assert len(target_weight) == 3
    payload = report.to_dict()
    json.dumps(payload)
    assert payload["neighbours"][0]["task_id"] == "fp/1"
    figs = figures(report)
    assert set(figs) == {"neighbours", "predictions", "guardrail_weights", "importance"}
    bars = figs["importance"].axes[0].patches
    assert len(bars) == 2


def test_html_is_self_contained_with_embedded_pngs(source_library):
    space = Space.from_dict(SVC_SPACE)
    observed = [(c, source_score(c, 0.3)) for c in space.sample(4, seed=1)]
    recommender = Recommender(source_library)
    recommender.suggest(None, space, n=2, observed=observed)
    report = build_explain_report(
        recommender.explain(), source_library, space, max_importance_sources=1
    )
    assert report.similarity_kind == "guardrail-weight"
    assert {t for t, _ in report.neighbours} == {"src/0", "src/1", "src/2"}
    page = render_html(report, title="<test & title>")
    assert "&lt;test &amp; title&gt;" in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4
    assert all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)
    assert "<script" not in page and 'src="http' not in page and "<link" not in page


def test_cli_explain_json_and_html(source_library, tmp_path):
    space_file = tmp_path / "space.json"
    space_file.write_text(json.dumps(SVC_SPACE))
    out = tmp_path / "report" / "explain.html"
    runner = CliRunner()
    args = ["explain", "--library", str(source_library.root), "--no-starter", "-n", "2"]
    result = runner.invoke(
        cli,
        [
            *args,
            "--space",
            str(space_file),
            "--json",
            "--html",
            str(out),
            "--importance-sources",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert len(payload["suggestions"]) == 2
    assert {n["task_id"] for n in payload["neighbours"]} == {"src/0", "src/1", "src/2"}
    assert set(payload["importance"]) == {"C", "gamma"}
    assert payload["html"] == str(out) and out.read_text().count("data:image/png;base64,") == 4
    # a task of the library: its trials are the observations
    result = runner.invoke(cli, [*args, "--task", "src/0", "--importance-sources", "0"])
    assert result.exit_code == 0, result.output
    assert "40 observed" in result.output and "src/1" in result.output
    # each decision names the pick it made (these two differ: restart picks 1 and 2 of 3)
    assert "pick 1, step 40:" in result.output and "pick 2, step 40:" in result.output
    neither = runner.invoke(cli, args)
    assert neither.exit_code == 2 and "--task ID" in neither.output
    unknown = runner.invoke(cli, [*args, "--task", "nope"])
    assert unknown.exit_code != 0 and "none of the libraries" in str(unknown.exception)


def test_cli_explain_a_task_no_source_predicts(tmp_path):
    """A library of one task: its picks are target-only, so nothing predicts them. The
    table and the HTML show a dash, the JSON null (strict: no bare NaN)."""
    library = Library.open(tmp_path / "solo")
    library.append_tasks([{"task_id": "solo", "space": SVC_SPACE}])
    configs = Space.from_dict(SVC_SPACE).sample(12, seed=3)
    library.append_trials(
        [
            {
                "task_id": "solo",
                "objective_value": source_score(c, 0.0),
                **{f"param_{k}": v for k, v in c.items()},
            }
            for c in configs
        ],
        objective_name="accuracy",
        direction="maximize",
    )
    out = tmp_path / "solo.html"
    args = ["explain", "--library", str(tmp_path / "solo"), "--no-starter", "--task", "solo"]
    shown = CliRunner().invoke(cli, [*args, "-n", "2", "--importance-sources", "0"])
    assert shown.exit_code == 0, shown.output
    assert "target-only" in shown.output and "nan" not in shown.output.lower()
    result = CliRunner().invoke(
        cli, [*args, "-n", "2", "--importance-sources", "0", "--json", "--html", str(out)]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output, parse_constant=pytest.fail)
    assert [s["predicted"] for s in payload["suggestions"]] == [None, None]
    page = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", out.read_text())
    assert "<td>-</td><td>-</td>" in page and "nan" not in page.lower()


def test_equal_decisions_of_a_batch_are_printed_once() -> None:
    from recommender._cli_explain import _decision_groups
    from recommender.guardrails import GuardrailDecision

    same = GuardrailDecision(step=5, mode="transfer", weights={0: 1.0}, reason="r")
    other = GuardrailDecision(step=5, mode="explore", weights={}, reason="restart")
    groups = _decision_groups([same, same, same, other, same])
    assert [(label, d.mode) for label, d in groups] == [
        ("picks 1-3", "transfer"),
        ("pick 4", "explore"),
        ("pick 5", "transfer"),
    ]
