"""`benchmarks/compare_screens.py`: paired differences of screen variants, draw by draw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def _screen(path: Path, curves: dict[str, dict[str, list[list[float]]]]) -> Path:
    path.write_text(json.dumps({"curves": curves}))
    return path


def test_draws_that_reuse_task_ids_stay_apart_and_pair_by_target(tmp_path: Path) -> None:
    from compare_screens import merge_screens, paired_differences

    # two draws, both with a task "t0"; the variant is better by 0.1 on draw 0, worse by
    # 0.3 on draw 1 (seeds averaged first: draw 1's variant seeds are 0.5 and 0.7)
    first = _screen(tmp_path / "a.json", {"ref": {"t0": [[0.4, 0.2]]}, "v": {"t0": [[0.3, 0.1]]}})
    second_ref = _screen(tmp_path / "b.json", {"ref": {"t0": [[0.3, 0.3]]}})
    second_v = _screen(tmp_path / "c.json", {"v": {"t0": [[0.5, 0.5], [0.7, 0.7]]}})
    curves = merge_screens([[first], [second_ref, second_v]])
    assert sorted(curves["v"]) == ["0:t0", "1:t0"]
    table = paired_differences(curves, "ref", budgets=(2,))
    mean, diff, se = table["v"][2]
    diffs = np.array([0.1 - 0.2, 0.6 - 0.3])
    assert mean == pytest.approx((0.1 + 0.6) / 2)
    assert diff == pytest.approx(diffs.mean())
    assert se == pytest.approx(diffs.std(ddof=1) / np.sqrt(2))
    assert table["ref"][2][1:] == (0.0, 0.0)


def test_a_variant_without_every_target_is_a_clear_error(tmp_path: Path) -> None:
    from compare_screens import ScreenMismatchError, merge_screens, paired_differences

    screen = _screen(
        tmp_path / "a.json",
        {"ref": {"t0": [[0.1]], "t1": [[0.2]]}, "v": {"t0": [[0.1]]}},
    )
    curves = merge_screens([[screen]])
    with pytest.raises(ScreenMismatchError, match="'v' has no run on 1 target"):
        paired_differences(curves, "ref", budgets=(1,))
    with pytest.raises(ScreenMismatchError, match="no variant 'rgpe'"):
        paired_differences(curves, "rgpe", budgets=(1,))
    with pytest.raises(ScreenMismatchError, match="budget 5 exceeds the 1 picks"):
        paired_differences(curves, "ref", budgets=(5,), targets=["0:t0"])


def test_a_file_that_is_no_screen_is_named(tmp_path: Path) -> None:
    from compare_screens import ScreenMismatchError, merge_screens

    harness = tmp_path / "lcbench.json"
    harness.write_text(json.dumps({"summary": {}}))
    with pytest.raises(ScreenMismatchError, match="lcbench.json is not a screen's JSON"):
        merge_screens([[harness]])


def test_an_unknown_reference_ends_the_script_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    screen = _screen(tmp_path / "a.json", {"default": {"t0": [[0.1]]}})
    script = Path(__file__).parents[2] / "benchmarks" / "compare_screens.py"
    done = subprocess.run(
        [sys.executable, str(script), str(screen), "--ref", "nosuch", "--budgets", "1"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "no variant 'nosuch' in the screens" in done.stderr


def test_named_variants_leave_out_those_not_run_on_every_draw(tmp_path: Path) -> None:
    from compare_screens import ScreenMismatchError, merge_screens, paired_differences

    first = _screen(
        tmp_path / "a.json",
        {"ref": {"t0": [[0.4]]}, "v": {"t0": [[0.3]]}, "only_here": {"t0": [[0.1]]}},
    )
    second = _screen(tmp_path / "b.json", {"ref": {"t0": [[0.2]]}, "v": {"t0": [[0.4]]}})
    curves = merge_screens([[first], [second]])
    with pytest.raises(ScreenMismatchError, match="'only_here' has no run on 1 target"):
        paired_differences(curves, "ref", budgets=(1,))
    table = paired_differences(curves, "ref", budgets=(1,), variants=["v"])
    assert list(table) == ["ref", "v"]
    assert table["v"][1][1] == pytest.approx(((0.3 - 0.4) + (0.4 - 0.2)) / 2)
    with pytest.raises(ScreenMismatchError, match="no variant 'w'"):
        paired_differences(curves, "ref", budgets=(1,), variants=["w"])
