"""Preemption: kill -9 mid-run, then resume without repeating trials or overspending."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from recommender.runner import run_search


def _journal_trials(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "trial"]


_KILL_SCRIPT = """
import sys, time
from recommender.runner import run_search

if __name__ == "__main__":
    run_search(
        dataset=sys.argv[1], target="label", model="logreg", budget=8, fidelity="sh",
        cv_folds=2, seed=3, n_jobs=1, runs_dir=sys.argv[2],
        progress=lambda *args: time.sleep(0.6),
    )
"""


def test_kill_9_then_resume_repeats_nothing_and_respects_budget(
    breast_cancer_csv: Path, tmp_path: Path
) -> None:
    runs_dir = tmp_path / "runs"
    script = tmp_path / "killme.py"
    script.write_text(textwrap.dedent(_KILL_SCRIPT))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    process = subprocess.Popen(
        [sys.executable, str(script), str(breast_cancer_csv), str(runs_dir)], env=env
    )
    try:
        deadline = time.monotonic() + 40
        run_dir = None
        while time.monotonic() < deadline:
            found = list(runs_dir.glob("*/journal.jsonl")) if runs_dir.exists() else []
            if found and len(_journal_trials(found[0].parent)) >= 3:
                run_dir = found[0].parent
                break
            if process.poll() is not None:
                pytest.fail(f"runner exited early with code {process.returncode}")
            time.sleep(0.1)
        assert run_dir is not None, "runner never journaled 3 trials"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    done_before = {t["key"]: t for t in _journal_trials(run_dir)}
    assert 3 <= len(done_before) < 8

    result = run_search(resume=run_dir.name, runs_dir=runs_dir)
    keys = [t.key for t in result.trials]
    assert len(keys) == len(set(keys)) == 8  # budget respected, nothing repeated
    journal = _journal_trials(run_dir)
    assert len(journal) == 8
    for key, before in done_before.items():  # earlier trials kept as they were
        assert next(t for t in journal if t["key"] == key)["value"] == before["value"]
    fidelities = {t.fidelity for t in result.trials}
    assert min(fidelities) < 1.0 and 1.0 in fidelities  # low fidelity recorded as such
    assert result.final is not None and result.recommended_config

    again = run_search(resume=run_dir.name, runs_dir=runs_dir)
    assert len(again.trials) == 8 and len(_journal_trials(run_dir)) == 8


def test_sigterm_stops_cleanly_and_the_run_resumes(breast_cancer_csv: Path, tmp_path: Path) -> None:
    from recommender.runner import RunPreempted

    runs_dir = tmp_path / "runs"

    def terminate_after_first(record: Any, done: int, total: int) -> None:
        if done == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # as a scheduler preempting the job would

    options = dict(dataset=breast_cancer_csv, target="label", model="logreg", cv_folds=2)
    before = signal.getsignal(signal.SIGTERM)  # not always SIG_DFL: e.g. Ray installs one
    with pytest.raises(RunPreempted, match="--resume") as preempted:
        run_search(**options, budget=3, n_jobs=1, runs_dir=runs_dir, progress=terminate_after_first)
    assert signal.getsignal(signal.SIGTERM) is before  # the caller's handler is restored
    run_id = preempted.value.run_id
    assert len(_journal_trials(runs_dir / run_id)) == 1
    result = run_search(resume=run_id, runs_dir=runs_dir, **options)
    assert [t.key for t in result.trials] == ["0:0:0", "1:0:0", "2:0:0"]


def test_a_resumed_run_proposes_what_the_uninterrupted_run_proposed(
    breast_cancer_csv: Path, tmp_path: Path
) -> None:
    """The default first trial is not the proposer's: resuming must not skip a proposal."""
    from recommender.runner import ModelFamily, RunPreempted, default_config

    options = dict(dataset=breast_cancer_csv, target="label", model="logreg", cv_folds=2)
    whole = run_search(**options, budget=4, n_jobs=1, runs_dir=tmp_path / "whole")

    def terminate_after_second(record: Any, done: int, total: int) -> None:
        if done == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(RunPreempted) as preempted:
        run_search(
            **options,
            budget=4,
            n_jobs=1,
            runs_dir=tmp_path / "cut",
            progress=terminate_after_second,
        )
    resumed = run_search(resume=preempted.value.run_id, runs_dir=tmp_path / "cut", **options)
    configs = [t.config for t in whole.trials]
    assert configs[0] == default_config(ModelFamily.LOGREG, n_features=30)
    assert [t.config for t in resumed.trials] == configs
