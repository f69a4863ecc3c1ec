"""Error messages that say what to type instead."""

from __future__ import annotations

from library.exceptions import UnknownTaskError


def test_an_unknown_task_names_the_namespaced_id_it_may_mean() -> None:
    known = {"lcbench/126025", "lcbench/3945", "optuna/126025-study"}
    error = UnknownTaskError.among("126025", known, "the libraries")
    assert isinstance(error, KeyError)
    assert str(error) == (
        "task '126025' is in none of the libraries (3 tasks); did you mean 'lcbench/126025'?"
    )
    assert "did you mean 'lcbench/3945'" in str(UnknownTaskError.among("lcbench/3954", known, "x"))


def test_an_unknown_task_with_no_near_id_shows_what_ids_look_like() -> None:
    error = UnknownTaskError.among("zzz", {"b/2", "a/1", "c/3", "d/4"}, "library L")
    assert (
        str(error)
        == "task 'zzz' is in none of library L (4 tasks); ids look like 'a/1', 'b/2', 'c/3' "
        "(`recommend library tasks` lists yours, with `--with-starter` the bundled ones too)"
    )
    assert "(1 task); ids look like 'a/1' (" in str(UnknownTaskError.among("zzz", {"a/1"}, "L"))
    assert str(UnknownTaskError.among("zzz", set(), "L")) == "task 'zzz' is in none of L (0 tasks)"
