"""Fast unit tests of the runner's pure parts (no worker process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from library.exceptions import RunnerError
from recommender.runner import (
    Budget,
    FidelityMode,
    ModelFamily,
    RandomProposer,
    Schedule,
    TaskKind,
    decide_final,
    default_config,
    default_space,
    load_tabular,
    project_to_deviation,
)
from recommender.runner.journal import RunJournal
from recommender.runner.multifidelity import top_k
from recommender.space import Space


def test_missing_dataset_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match="does not exist"):
        load_tabular(tmp_path / "nope.csv", "y")


def test_missing_target_column_names_the_columns(breast_cancer_csv: Path) -> None:
    with pytest.raises(RunnerError, match="target column 'nope' missing.*mean radius"):
        load_tabular(breast_cancer_csv, "nope")


def test_task_kind_is_inferred(breast_cancer_csv: Path, diabetes_csv: Path) -> None:
    classification = load_tabular(breast_cancer_csv, "label")
    regression = load_tabular(diabetes_csv, "progression")
    assert classification.kind is TaskKind.CLASSIFICATION and classification.n_classes == 2
    assert regression.kind is TaskKind.REGRESSION
    assert classification.features.dtype == np.float32


@pytest.mark.parametrize("model", list(ModelFamily))
def test_default_config_lies_in_default_space(model: ModelFamily) -> None:
    space = Space.from_dict(default_space(model))
    assert space.validate(default_config(model, n_features=30))


def test_successive_halving_bracket_fits_budget_and_grows_fidelity() -> None:
    schedule = Schedule(
        FidelityMode.SUCCESSIVE_HALVING,
        min_fidelity=1,
        max_fidelity=27,
        eta=3,
        integer=True,
        budget=100,
    )
    bracket = schedule.bracket(0)
    assert [r.n_configs for r in bracket.rungs] == [27, 9, 3, 1]
    assert [r.fidelity for r in bracket.rungs] == [1.0, 3.0, 9.0, 27.0]
    small = Schedule(
        FidelityMode.SUCCESSIVE_HALVING, min_fidelity=1 / 9, max_fidelity=1.0, eta=3, budget=5
    ).bracket(0)
    assert small.n_trials <= 5 and small.rungs[-1].fidelity == pytest.approx(1.0)


def test_hyperband_cycles_brackets() -> None:
    schedule = Schedule(
        FidelityMode.HYPERBAND, min_fidelity=1, max_fidelity=9, eta=3, integer=True, budget=100
    )
    firsts = [schedule.bracket(i).rungs[0].fidelity for i in range(4)]
    assert firsts == [1.0, 3.0, 9.0, 1.0]


def test_top_k_ranks_failures_last() -> None:
    assert top_k([0.5, None, 0.9, 0.7], 2) == [2, 3]
    assert top_k([None, None], 1) == []


def test_projection_caps_distance_from_default() -> None:
    space = default_space(ModelFamily.HGB)
    default = default_config(ModelFamily.HGB, n_features=5)
    far = dict(default, learning_rate=0.5, max_leaf_nodes=4)
    projected, changed = project_to_deviation(far, default, space, max_deviation=0.1)
    assert changed
    # learning rate on log scale [0.01, 0.5]: 0.1 -> unit 0.589; cap 0.689 -> ~0.149
    assert 0.1 < projected["learning_rate"] < 0.16
    assert isinstance(projected["max_leaf_nodes"], int) and projected["max_leaf_nodes"] > 4
    same, unchanged = project_to_deviation(default, default, space, max_deviation=0.0)
    assert same == default and not unchanged


def test_final_decision_rolls_back_when_worse() -> None:
    worse = decide_final({"a": 2}, 0.80, {"a": 1}, 0.90)
    assert worse.rolled_back and worse.chosen == {"a": 1}
    better = decide_final({"a": 2}, 0.95, {"a": 1}, 0.90)
    assert not better.rolled_back and better.chosen == {"a": 2}
    failed = decide_final({"a": 2}, None, {"a": 1}, 0.90)
    assert failed.rolled_back


def test_budget_caps_trials_and_time() -> None:
    budget = Budget(3, 10.0)
    assert not budget.exhausted(2, 5.0)
    assert budget.exhausted(3, 0.0) and budget.exhausted(0, 10.0)
    with pytest.raises(RunnerError):
        Budget(0)


def test_random_proposer_is_deterministic_and_fast_forwards() -> None:
    space = Space.from_dict(default_space(ModelFamily.SVM))
    first = RandomProposer(space, seed=7).suggest(4)
    resumed = RandomProposer(space, seed=7)
    resumed.fast_forward(2)
    assert resumed.suggest(2) == first[2:]
    assert len({json.dumps(c, sort_keys=True) for c in first}) == 4


def test_journal_drops_a_torn_last_line(tmp_path: Path) -> None:
    journal = RunJournal(tmp_path / "journal.jsonl")
    journal.append({"type": "trial", "key": "a"})
    with open(journal.path, "a", encoding="utf-8") as handle:
        handle.write('{"type": "trial", "ke')  # a crash mid-write
    assert [r["key"] for r in journal.load()] == ["a"]
    journal.append({"type": "trial", "key": "b"})
    assert [r["key"] for r in journal.load()] == ["a", "b"]


def test_memory_limit_makes_large_allocations_fail(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from recommender.runner.guardrails import _apply_memory_limit\n"
        "_apply_memory_limit(1024, 'cpu')\n"
        "small = np.ones(10**6)\n"
        "try:\n"
        "    np.ones(4 * 10**8)\n"  # 3.2 GB
        "except MemoryError:\n"
        "    print('memory-error')\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert "memory-error" in output.stdout, output.stderr


def _bowl_rows(config: Any, *, init_weight: float) -> list[dict[str, Any]]:
    """Grid rows of a quadratic loss bowl: the SP lr optimum drifts one grid step (2
    octaves) per doubling of width, muP's stays at 2^-8; the best init scale is 2 (log2 1)
    at every width, weighted by ``init_weight``."""
    rows = []
    for width in (64, 128, 512):
        for mup in (False, True):
            best = -8.0 if mup else -6.0 - 2.0 * np.log2(width / 64)
            for lr in config.log2_lr_grid:
                for init in config.log2_init_grid:
                    loss = 0.1 + 0.05 * (lr - best) ** 2 + init_weight * (init - 1.0) ** 2
                    rows.append({"width": width, "mup": mup, "log2_lr": lr, "log2_init": init,
                                 "seed": 0, "val_loss": loss, "train_loss": loss})  # fmt: skip
    return rows


def test_scale_transfer_report_scores_each_recommendation_on_the_target_grid() -> None:
    from recommender.runner.scale import ScaleTransferConfig, recommend_from_results

    config = ScaleTransferConfig(
        small_widths=(64, 128),
        target_widths=(512,),
        log2_lr_grid=(-12.0, -10.0, -8.0, -6.0),
        seeds=(0,),
    )
    rows = _bowl_rows(config, init_weight=0.0)
    report = recommend_from_results(rows, config)["512"]
    recs = report["recommendations"]
    assert report["tuned_optimum"]["sp"]["log2_lr"] == -12.0
    assert (
        recs["naive_copy"]["log2_lr"] == -8.0
        and recs["naive_copy"]["rel_to_same_param_optimum"] > 0
    )
    assert recs["mup_transfer"]["rel_to_same_param_optimum"] == 0.0
    assert recs["scaling_law_sp"]["log2_lr"] == -12.0
    # the trend-aware GP follows the drift; the stationary one is reported beside it
    assert recs["gp_surrogate_sp"]["log2_lr"] == -12.0
    assert recs["gp_surrogate_sp"]["fitted_drift"] < -1.0
    assert recs["gp_surrogate_stationary_sp"]["fitted_drift"] == 0.0


def test_scale_transfer_report_tunes_the_init_scale_jointly() -> None:
    from recommender.runner.scale import ScaleTransferConfig, recommend_from_results

    config = ScaleTransferConfig(
        small_widths=(64, 128),
        target_widths=(512,),
        log2_lr_grid=(-12.0, -10.0, -8.0, -6.0),
        log2_init_grid=(-1.0, 0.0, 1.0),
        seeds=(0,),
    )
    rows = _bowl_rows(config, init_weight=0.04)
    report = recommend_from_results(rows, config)["512"]
    recs = report["recommendations"]
    assert report["tuned_optimum"]["sp"] == pytest.approx(
        {"log2_lr": -12.0, "log2_init": 1.0, "loss": 0.1}
    )
    assert recs["naive_copy"]["log2_init"] == 1.0 and recs["naive_copy"]["log2_lr"] == -8.0
    assert recs["gp_surrogate_sp"]["log2_lr"] == -12.0
    assert recs["gp_surrogate_sp"]["init_scale"] == 2.0
    assert recs["gp_surrogate_sp"]["rel_to_same_param_optimum"] == pytest.approx(0.0)
    assert report["small_width_optima"]["128"]["sp_log2_init"] == 1.0


def test_hyperband_brackets_fit_a_small_budget() -> None:
    schedule = Schedule(FidelityMode.HYPERBAND, min_fidelity=1, max_fidelity=9, eta=3,
                        integer=True, budget=6)  # fmt: skip
    for index in range(3):
        bracket = schedule.bracket(index)
        assert bracket.n_trials <= 6 and bracket.rungs[-1].fidelity == 9.0


def test_projection_keeps_a_conditional_configuration_valid() -> None:
    """Resetting a categorical parent to the default's choice switches the proposal's own
    children off and the default's on; the result must be a valid configuration."""
    from recommender.space import Space

    space = {
        "parameters": [
            {"name": "lr", "type": "float", "low": 1e-4, "high": 1e-1, "log": True},
            {"name": "opt", "type": "categorical", "choices": ["sgd", "adam"]},
            {"name": "momentum", "type": "float", "low": 0.0, "high": 0.99},
            {"name": "beta1", "type": "float", "low": 0.8, "high": 0.999},
        ],
        "conditions": [
            {"child": "momentum", "parent": "opt", "values": ["sgd"]},
            {"child": "beta1", "parent": "opt", "values": ["adam"]},
        ],
    }
    default = {"lr": 1e-3, "opt": "adam", "beta1": 0.9}
    far = {"lr": 1e-1, "opt": "sgd", "momentum": 0.5}
    projected, changed = project_to_deviation(far, default, space, max_deviation=0.2)
    assert changed and projected["opt"] == "adam" and projected["beta1"] == 0.9
    assert "momentum" not in projected
    assert Space.from_dict(space).validate(projected) == projected
    free, _ = project_to_deviation(far, default, space, max_deviation=1.0)
    assert free["opt"] == "sgd" and free["momentum"] == 0.5 and "beta1" not in free


def test_projection_rounds_an_int_towards_the_default() -> None:
    """The nearest integer to the box's edge can lie outside the box: step back inside."""
    space = {"parameters": [{"name": "trees", "type": "int", "low": 1, "high": 11}]}
    # unit scale: 1 step = 0.1; default 5 (unit 0.4), cap 0.16: the edges 6.6 and 3.4 round
    # to 7 and 3, outside
    for far, inside in ((11, {5, 6}), (1, {4, 5})):
        projected, _ = project_to_deviation({"trees": far}, {"trees": 5}, space, max_deviation=0.16)
        assert projected["trees"] in inside
