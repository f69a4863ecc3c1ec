"""`recommend run` from the command line: one-line errors, --json, multi-fidelity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recommender.cli import main as cli_main


def _journal_trials(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "journal.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["type"] == "trial"]


def _run_json(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run `recommend run ... --json`; return its summary and the journal's trials (exit 0)."""
    with pytest.raises(SystemExit) as exit_info:
        cli_main(arguments)
    assert exit_info.value.code == 0
    summary = json.loads(capsys.readouterr().out)
    return summary, _journal_trials(Path(summary["run_dir"]))


def test_cli_reports_bad_inputs_in_one_line(
    breast_cancer_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["run", "--budget", "1", "--runs-dir", str(tmp_path / "runs")]
    cases = [
        (
            ["--dataset", str(tmp_path / "missing.csv"), "--target", "y", "--model", "hgb"],
            "does not exist",
        ),
        (
            ["--dataset", str(breast_cancer_csv), "--target", "nope", "--model", "hgb"],
            "target column 'nope' missing",
        ),
        (
            [
                "--dataset",
                str(breast_cancer_csv),
                "--target",
                "label",
                "--model",
                "rf",
                "--device",
                "cuda",
            ],
            "scikit-learn on CPU",
        ),
    ]
    import torch

    if not torch.cuda.is_available():
        cases.append(
            (
                [
                    "--dataset",
                    str(breast_cancer_csv),
                    "--target",
                    "label",
                    "--model",
                    "mlp",
                    "--device",
                    "cuda",
                ],
                "no CUDA GPU is available",
            )
        )
    for arguments, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            cli_main([*base, *arguments])
        assert exit_info.value.code == 1
        error_text = capsys.readouterr().err
        assert message in error_text and "RunnerError" in error_text


def test_cli_json_successive_halving_over_epochs_records_fidelity(
    breast_cancer_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = [
        "run", "--dataset", str(breast_cancer_csv), "--target", "label", "--model", "mlp",
        "--budget", "4", "--fidelity", "sh", "--max-epochs", "9", "--cv", "0",
        "--device", "cpu", "--no-final-check", "--n-jobs", "1", "--seed", "5",
        "--runs-dir", str(tmp_path / "runs"), "--json",
    ]  # fmt: skip
    summary, trials = _run_json(arguments, capsys)
    assert summary["n_trials"] == 4 and summary["stopped_reason"] == "budget"
    # budget 4 fits one bracket of 3 configs at 3 epochs, then the best at 9 epochs
    assert [t["fidelity"] for t in trials] == [3.0, 3.0, 3.0, 9.0]
    assert all(t["fidelity_name"] == "epochs" for t in trials)
    promoted = trials[3]["config"]
    low = [t for t in trials[:3] if t["status"] == "ok"]
    assert promoted == max(low, key=lambda t: t["value"])["config"]
    assert all(t["metrics"]["epochs_run"] <= t["fidelity"] for t in low)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_cli_trains_the_mlp_on_cuda_and_records_the_gpu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch
    from sklearn.datasets import load_breast_cancer

    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    breast_cancer_csv = tmp_path / "breast_cancer.csv"
    features.assign(label=target).to_csv(breast_cancer_csv, index=False)

    arguments = [
        "run", "--dataset", str(breast_cancer_csv), "--target", "label", "--model", "mlp",
        "--budget", "3", "--cv", "0", "--device", "cuda", "--n-jobs", "1", "--seed", "1",
        "--runs-dir", str(tmp_path / "runs"), "--json",
    ]  # fmt: skip
    summary, trials = _run_json(arguments, capsys)
    assert summary["n_trials"] == 3
    assert any(t["status"] == "ok" for t in trials)
    gpu = torch.cuda.get_device_name(0)
    assert all(t["hardware"]["device"].startswith("cuda") for t in trials)
    assert all(t["hardware"]["gpu"] == gpu for t in trials)


@pytest.mark.parametrize("flag", ["--default-first", "--no-default-first"])
def test_cli_default_first_flag(
    breast_cancer_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    from recommender.runner import ModelFamily, default_config

    _, trials = _run_json(
        [
            "run", "--dataset", str(breast_cancer_csv), "--target", "label", "--model", "logreg",
            "--budget", "1", "--cv", "2", "--n-jobs", "1", "--no-final-check",
            "--runs-dir", str(tmp_path / "runs"), flag, "--json",
        ],
        capsys,
    )  # fmt: skip
    is_default = trials[0]["config"] == default_config(ModelFamily.LOGREG, n_features=30)
    assert is_default == (flag == "--default-first")


def test_cli_records_in_the_default_library_and_transfers_from_the_starter(
    breast_cancer_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from library import Library
    from library.store import default_library_path

    base = [
        "run", "--dataset", str(breast_cancer_csv), "--target", "label", "--model", "logreg",
        "--budget", "2", "--cv", "2", "--n-jobs", "1", "--no-final-check", "--json",
    ]  # fmt: skip
    summary, trials = _run_json(base, capsys)
    library = Library.open(default_library_path(), create=False)  # created by the run
    assert Path(summary["run_dir"]).parent == Path(library.location) / "runs"
    recorded = library.read_trials().to_pandas()
    assert len(recorded) == 2 and set(recorded["task_id"]) == {summary["task_id"]}
    # the second trial is a transfer pick: the starter library's logreg tasks are its sources
    assert summary["proposer"] == "transfer" and summary["proposer_fallbacks"] == 0
    sources = summary["proposer_sources"]  # the nearest starter logreg tasks
    assert sources and all(s.startswith("starter/") and s.endswith("/logreg") for s in sources)

    summary, _ = _run_json([*base[:-1], "--no-record", "--no-starter", "--json"], capsys)
    assert summary["proposer"] == "random" and summary["proposer_sources"] == []
    assert len(library.read_trials().to_pandas()) == 2  # nothing more recorded


def test_cli_resumes_a_run_journaled_in_the_working_directory(
    breast_cancer_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # --no-record journals in ./runs, as runs before session 61
    first, _ = _run_json(
        [
            "run", "--dataset", str(breast_cancer_csv), "--target", "label", "--model", "logreg",
            "--budget", "1", "--cv", "2", "--n-jobs", "1", "--no-final-check", "--no-record",
            "--no-starter", "--json",
        ],
        capsys,
    )  # fmt: skip
    assert Path(first["run_dir"]).parent == tmp_path / "runs"
    again, trials = _run_json(["run", "--resume", first["run_id"], "--json"], capsys)
    assert again["run_dir"] == first["run_dir"] and len(trials) == 1
