"""End-to-end runs: real training in the worker process, journal, resume, guardrails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from library.exceptions import RunnerError
from recommender.runner import run_search


class FixedProposer:
    """Proposes a fixed list of configurations, in order."""

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        self._configs = list(configs)
        self.observed: list[float] = []

    def suggest(self, n: int) -> list[dict[str, Any]]:
        batch, self._configs = self._configs[:n], self._configs[n:]
        return batch

    def observe(self, config: dict[str, Any], value: float) -> None:
        self.observed.append(value)


def _mlp(**overrides: Any) -> dict[str, Any]:
    config = {
        "learning_rate": 3e-3,
        "width": 32,
        "depth": 1,
        "weight_decay": 1e-4,
        "batch_size": 64,
        "dropout": 0.0,
    }
    config.update(overrides)
    return config


def _journal_trials(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "trial"]


def test_diverged_and_timed_out_trials_do_not_stop_the_run(
    breast_cancer_csv: Path, tmp_path: Path
) -> None:
    from library import Library

    proposer = FixedProposer(
        [
            _mlp(learning_rate=1.0, width=256, depth=4),  # explodes in the first epoch
            _mlp(learning_rate=1e-5, width=512, depth=4, batch_size=32),  # slow: > limit
            _mlp(learning_rate=1e-2, width=16, batch_size=128),
        ]
    )
    result = run_search(
        dataset=breast_cancer_csv,
        target="label",
        model="mlp",
        budget=3,
        device="cpu",
        cv_folds=0,
        max_epochs=1000,
        trial_time_limit_s=6.0,
        validate_final=False,
        n_jobs=1,
        runs_dir=tmp_path / "runs",
        library=tmp_path / "lib",
        proposer=proposer,
    )
    assert [t.status for t in result.trials] == ["diverged", "timeout", "ok"]
    assert "training loss" in (result.trials[0].error or "")
    assert 6.0 <= result.trials[1].runtime_s < 15.0
    assert result.trials[1].environment["sklearn"]  # provenance kept for killed trials
    assert (
        result.best_config == _mlp(learning_rate=1e-2, width=16, batch_size=128)
        and len(proposer.observed) == 1
    )
    assert result.trials[2].environment["torch"] and result.trials[2].hardware["cores"] >= 1
    stored = Library.open(tmp_path / "lib").read_trials().to_pylist()
    assert sorted(row["status"] for row in stored) == ["diverged", "ok", "timeout"]
    assert {row["fidelity_name"] for row in stored} == {"epochs"}


def test_resume_of_unknown_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match="no run 'nope'"):
        run_search(resume="nope", runs_dir=tmp_path)
