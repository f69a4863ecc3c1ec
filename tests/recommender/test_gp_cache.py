"""`warm_cache`: pre-fits exactly the source GPs `Recommender.suggest` looks up, once."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from library import Library
from recommender.cache_entry import CACHE_TOUCH_AFTER_S
from recommender.gp_cache import prune_cache, warm_cache
from recommender.recommend import Recommender

SPACE = {
    "name": "toy",
    "parameters": [
        {"name": "lr", "type": "float", "low": 1e-4, "high": 1.0, "log": True},
        {"name": "depth", "type": "int", "low": 1, "high": 8},
    ],
}


def trial_rows(task_id: str, n_rows: int, seed: int) -> list[dict]:
    """``n_rows`` seeded ok trials of ``task_id`` in `SPACE` (a smooth objective)."""
    rng = np.random.default_rng(seed)
    lr = np.exp(rng.uniform(np.log(1e-4), 0.0, n_rows))
    depth = rng.integers(1, 9, n_rows)
    value = 1.0 - (np.log10(lr) + 2.0) ** 2 / 8.0 - 0.02 * np.abs(depth - 4) + 0.01 * seed
    return [
        {
            "task_id": task_id,
            "objective_value": float(v),
            "param_lr": float(a),
            "param_depth": int(b),
        }
        for v, a, b in zip(value, lr, depth, strict=True)
    ]


def make_library(root: Path, n_tasks: int = 3, n_rows: int = 16) -> Library:
    """Tasks ``task-<i>`` sharing `SPACE`, ``n_rows`` trials each."""
    library = Library.open(root)
    library.append_tasks(
        [{"task_id": f"task-{i}", "space": SPACE, "direction": "maximize"} for i in range(n_tasks)]
    )
    rows = [row for i in range(n_tasks) for row in trial_rows(f"task-{i}", n_rows, i)]
    library.append_trials(rows, objective_name="score", direction="maximize")
    return library


def cache_state(cache: Path) -> dict[str, int]:
    """Cache file name -> modification time: unchanged means nothing was fitted."""
    return {path.name: path.stat().st_mtime_ns for path in sorted(cache.glob("*"))}


def test_warmed_cache_serves_the_next_suggest_without_fitting(tmp_path: Path) -> None:
    library = make_library(tmp_path / "lib")
    cache = tmp_path / "cache"

    report = warm_cache(library, cache_dir=cache)

    assert report.n_spaces == 1 and report.n_lookups == 3
    assert report.n_fitted == 3 and report.n_hits == 0 and report.failures == ()
    assert report.fitted == ("task-0", "task-1", "task-2")
    assert report.cache_dir == str(cache)
    warmed = cache_state(cache)
    # per source: its hyperparameters and its posterior factors
    # per source its hyperparameters and posterior factors; a snapshot of the library
    assert sorted(Path(name).suffix for name in warmed) == [".arrow"] + [".npy"] * 3 + [".pt"] * 3
    recommender = Recommender(library, cache_dir=cache, n_candidates=256)
    recommender.suggest("task-0", n=1, seed=0)  # sources task-1, task-2
    recommender.suggest(space=SPACE, n=1, seed=0)  # sources task-0..2
    assert cache_state(cache) == warmed


def test_every_source_a_fingerprinted_target_may_pick_is_warmed(tmp_path: Path) -> None:
    n_tasks = Recommender.max_sources + 4  # more than a target without a fingerprint uses
    library = make_library(tmp_path / "lib", n_tasks=n_tasks, n_rows=6)

    report = warm_cache(library, cache_dir=tmp_path / "cache")
    capped = warm_cache(library, cache_dir=tmp_path / "capped", max_per_space=2)

    assert report.n_lookups == report.n_fitted == n_tasks and report.not_warmed == ()
    assert capped.n_lookups == Recommender.max_sources + 1  # never fewer than a suggestion
    assert len(capped.not_warmed) == n_tasks - capped.n_lookups


def test_a_second_warm_fits_nothing_and_new_trials_refit_only_their_task(tmp_path: Path) -> None:
    library = make_library(tmp_path / "lib")
    cache = tmp_path / "cache"
    warm_cache(library, cache_dir=cache)
    warmed = cache_state(cache)

    again = warm_cache(library, cache_dir=cache)

    assert again.n_fitted == 0 and again.n_hits == 3 and again.fitted == ()
    assert cache_state(cache) == warmed
    library.append_trials(trial_rows("task-1", 4, 99), objective_name="score", direction="maximize")
    changed = warm_cache(library, cache_dir=cache)
    assert changed.fitted == ("task-1",) and changed.n_fitted == 1 and changed.n_hits == 2


def test_only_sources_are_warmed_and_the_rest_is_reported(tmp_path: Path) -> None:
    library = make_library(tmp_path / "lib", n_tasks=2)
    library.append_tasks([{"task_id": "tiny", "space": SPACE}, {"task_id": "no-space"}])
    library.append_trials(
        trial_rows("tiny", 3, 5), objective_name="score", direction="maximize"
    )  # < 5 trials
    other = [{**row, "task_id": "no-space", "param_width": 1.0} for row in trial_rows("x", 8, 6)]
    library.append_trials(
        other, objective_name="score", direction="maximize"
    )  # parameters no stored space has

    report = warm_cache(library, task_ids=["task-1", "tiny", "no-space"], cache_dir=tmp_path / "c")

    assert report.fitted == ("task-1",)
    assert report.not_warmed == ("no-space", "tiny")


def test_an_unreadable_stored_space_is_a_reported_failure(tmp_path: Path) -> None:
    library = make_library(tmp_path / "lib", n_tasks=1)
    bad = {"name": "bad", "parameters": [{"name": "lr", "type": "float", "low": 1, "high": 0}]}
    library.append_tasks([{"task_id": "bad-space", "space": bad}])  # stored unchecked

    report = warm_cache(library, cache_dir=tmp_path / "cache")

    assert [f["task_id"] for f in report.failures] == ["bad-space"]
    assert report.fitted == ("task-0",)


def _age(path: Path, days: float) -> None:
    stamp = time.time() - days * 86400
    os.utime(path, (stamp, stamp))


def test_prune_removes_only_old_cache_files(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    old, fresh = cache / ("a1" * 16 + ".pt"), cache / ("b2" * 16 + ".pt")
    torn = cache / ("c3" * 16 + ".123.tmp")
    foreign = cache / "notes.txt"
    for path in (old, fresh, torn, foreign):
        path.write_bytes(b"0123456789")
    _age(old, 31)
    _age(torn, 0.5)  # a crashed writer's temporary, 12 hours old
    _age(foreign, 400)

    report = prune_cache(cache, max_age_days=30)

    assert (report.n_removed, report.bytes_freed, report.n_kept) == (2, 20, 1)
    assert fresh.exists() and foreign.exists() and not old.exists() and not torn.exists()
    assert prune_cache(tmp_path / "missing").n_removed == 0
    with pytest.raises(ValueError, match="max_age_days"):
        prune_cache(cache, max_age_days=0)


def test_a_cache_hit_keeps_an_entry_from_being_pruned(tmp_path: Path) -> None:
    library = make_library(tmp_path / "lib")
    cache = tmp_path / "cache"
    warm_cache(library, cache_dir=cache)
    entries = sorted(cache.glob("*.*"))  # per source: hyperparameters, posterior factors
    for path in entries:  # last used 40 days ago
        _age(path, 40)

    again = warm_cache(library, cache_dir=cache)  # every lookup hits, and marks its entry

    assert again.n_hits == 3 == len(entries) // 2 and again.n_fitted == 0
    assert all(time.time() - p.stat().st_mtime < CACHE_TOUCH_AFTER_S for p in entries)
    assert prune_cache(cache, max_age_days=30).n_removed == 0


def test_warm_cache_runs_the_zero_shot_test_a_new_task_would_run(tmp_path: Path, monkeypatch):
    library = make_library(tmp_path / "lib", n_tasks=6)
    cache = tmp_path / "cache"

    report = warm_cache(library, cache_dir=cache)

    assert report.n_zero_shot_tests == 1 and report.n_zero_shot_hits == 0
    assert len(list(cache.glob("*.json"))) == 1
    assert warm_cache(library, cache_dir=cache).n_zero_shot_hits == 1
    warmed = cache_state(cache)

    def no_test(*args, **kwargs):
        raise AssertionError("the zero-shot test ran again")

    monkeypatch.setattr("recommender.first_pick.choose_first_pick", no_test)
    suggestion = Recommender(library, cache_dir=cache, n_candidates=64).suggest(space=SPACE)[0]
    assert suggestion.reason.endswith("(cached)")
    assert cache_state(cache) == warmed
