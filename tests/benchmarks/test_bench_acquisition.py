"""`benchmarks/bench_acquisition.py` runs end to end on a small synthetic benchmark."""

from __future__ import annotations

import json
from pathlib import Path

from tests.benchmarks.conftest import run_script


def test_gradient_picks_are_never_below_the_candidate_argmax(tmp_path: Path) -> None:
    """The benchmark's GP-phase picks run through `proposal_acquisition` (it crashed there
    when it passed the guardrail decision instead of the proposal), and the gradient
    optimiser reaches at least the best candidate's LogEI, as it promises."""
    out = tmp_path / "acquisition.json"
    args = ["--n-tasks", "4", "--n-configs", "100", "--targets", "1", "--observed", "5", "20"]
    args += ["--n-candidates", "512", "--seeds", "0", "--out", str(out)]
    run_script("bench_acquisition.py", args)
    summary = json.loads(out.read_text())["summary"]
    assert summary["n_picks"] == 2
    assert summary["n_not_gp_phase"] < summary["n_picks"]
    assert summary["logei_gain_min"] >= -1e-9
