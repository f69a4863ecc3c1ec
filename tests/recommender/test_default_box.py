"""Suggestions kept within a maximum deviation from a default configuration (`DefaultBox`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from library import EmptyLibraryError, Library
from library.exceptions import SpaceError
from recommender.default_box import DefaultBox
from recommender.recommend import Recommender
from recommender.runner import project_to_deviation
from tests.cli import recommend
from tests.synthetic import synthetic_library

DEFAULT = {"learning_rate": 1e-3, "num_layers": 2, "optimizer": "adam", "beta1": 0.9}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("box")
    return root, *synthetic_library(root, n_tasks=4, n_configs=40, seed=1, direction="minimize")


def _unit(value: float, low: float, high: float) -> float:
    return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))


def test_the_box_checks_its_default_and_width(setup) -> None:
    _, _, space, _ = setup
    with pytest.raises(SpaceError, match="default configuration is not in the space.*lr"):
        DefaultBox.around(space, {**DEFAULT, "lr": 0.1}, 0.2)
    with pytest.raises(SpaceError, match="learning_rate"):
        DefaultBox.around(space, {**DEFAULT, "learning_rate": 5.0}, 0.2)
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(SpaceError, match="max_deviation must be a finite number >= 0"):
            DefaultBox.around(space, DEFAULT, bad)


def test_samples_lie_in_the_box_and_the_rule_matches_the_runner_projection(setup) -> None:
    _, _, space, _ = setup
    for width in (0.0, 0.05, 0.3, 1.0):
        box = DefaultBox.around(space, DEFAULT, width)
        frame = box.sample(200, seed=3)
        inside = box.contains(space.encode(frame))
        assert inside[0] and space.validate(frame.iloc[0].dropna().to_dict()) == box.default
        assert inside.all()  # ints are drawn among the integers inside the box
        configs = space.decode(space.encode(frame))
        for config, flag in zip(configs, inside, strict=True):
            _, moved = project_to_deviation(
                config, box.default, space.to_dict(), max_deviation=width
            )
            assert flag == (not moved)  # one rule: the runner's projection
    # below 1 the categorical keeps the default's choice; at 1 it is free
    assert set(DefaultBox.around(space, DEFAULT, 0.9).sample(100, seed=0)["optimizer"]) == {"adam"}
    assert set(DefaultBox.around(space, DEFAULT, 1.0).sample(100, seed=0)["optimizer"]) == {
        "adam",
        "sgd",
    }


def test_a_parameter_of_another_branch_is_not_constrained(setup) -> None:
    _, _, space, _ = setup
    box = DefaultBox.around(space, DEFAULT, 1.0)
    sgd = {"learning_rate": 1e-3, "num_layers": 2, "optimizer": "sgd", "momentum": 0.99}
    far = {**DEFAULT, "learning_rate": 1e-1}
    assert box.contains(space.encode([sgd, DEFAULT])).tolist() == [True, True]
    tight = DefaultBox.around(space, DEFAULT, 0.1)
    assert tight.contains(space.encode([sgd, far, DEFAULT])).tolist() == [False, False, True]


@pytest.mark.parametrize("optimizer", ["random", "gradient"])
def test_every_suggestion_lies_in_the_box(setup, optimizer: str) -> None:
    _, lib, space, tasks = setup
    rec = Recommender(lib, n_candidates=256)
    box = DefaultBox.around(space, DEFAULT, 0.15)
    calls = [
        {"task": tasks[0]},  # the library task's 40 trials are its observations
        {
            "space": space,
            "observed": [(c, float(i)) for i, c in enumerate(space.sample(6, seed=5))],
        },
    ]
    if optimizer == "random":
        calls.append({"space": space})  # zero-shot
    for call in calls:
        picks = rec.suggest(
            **call, n=3, default=DEFAULT, max_deviation=0.15, optimizer=optimizer, seed=1
        )
        X = space.encode([s.config for s in picks])
        assert box.contains(X).all(), [s.config for s in picks]
        assert len({tuple(sorted(s.config.items())) for s in picks}) == 3
        assert rec.explain().limits == (box.describe(),)
        assert rec.explain().to_dict()["limits"] == [box.describe()]


def test_the_box_searches_towards_the_evidence_not_just_near_the_default(
    setup, tmp_path: Path
) -> None:
    """Observations that improve with the learning rate (no source, so the target GP
    decides): the boxed pick moves the learning rate up, close to the box's edge, rather
    than staying at the default; unboxed, the same search leaves the default's branch."""
    _, _, space, _ = setup
    lib = Library.open(tmp_path / "empty")
    rng = np.random.default_rng(0)
    observed = []
    for lr in np.exp(rng.uniform(math.log(1e-4), math.log(1e-1), size=12)):
        config = {**DEFAULT, "learning_rate": float(lr)}
        observed.append((config, float(math.log10(lr))))  # maximised: larger is better
    rec = Recommender(lib, n_candidates=512)
    pick = rec.suggest(
        space=space, observed=observed, default=DEFAULT, max_deviation=0.2, n=1, seed=0
    )[0]
    centre = _unit(1e-3, 1e-4, 1e-1)
    moved = _unit(pick.config["learning_rate"], 1e-4, 1e-1) - centre
    assert 0.1 < moved <= 0.2 + 1e-9
    assert pick.config["optimizer"] == "adam"
    free = Recommender(lib, n_candidates=512).suggest(space=space, observed=observed, seed=0)[0]
    assert not DefaultBox.around(space, DEFAULT, 0.2).contains(space.encode([free.config]))[0]


def test_pool_mode_takes_the_best_pool_row_in_the_box(setup) -> None:
    _, lib, space, tasks = setup
    rec = Recommender(lib, n_candidates=256)
    pool = [DEFAULT, *space.sample(30, seed=9)]
    box = DefaultBox.around(space, DEFAULT, 0.0)
    assert box.contains(space.encode(pool)).sum() == 1
    (pick,) = rec.suggest(space=space, pool=pool, default=DEFAULT, max_deviation=0.0)
    assert space.validate(pick.config) == box.default
    far = [
        c
        for c in pool[1:]
        if not DefaultBox.around(space, DEFAULT, 0.05).contains(space.encode([c]))[0]
    ]
    with pytest.raises(SpaceError, match="no pool configuration lies within max_deviation=0.05"):
        rec.suggest(space=space, pool=far, default=DEFAULT, max_deviation=0.05)


def test_default_and_max_deviation_go_together(setup) -> None:
    _, lib, space, _ = setup
    rec = Recommender(lib)
    with pytest.raises(SpaceError, match="`default=` needs `max_deviation=`"):
        rec.suggest(space=space, default=DEFAULT)
    with pytest.raises(SpaceError, match="`max_deviation=` needs `default=`"):
        rec.suggest(space=space, max_deviation=0.1)


def _cli_base(command: str, setup, tmp_path: Path) -> list[str]:
    """``recommend COMMAND --library LIB --space FILE`` for the fixture's library."""
    root, _, space, _ = setup
    space_path = tmp_path / "space.json"
    space_path.write_text(json.dumps(space.to_dict()))
    return [command, "--library", str(root / "lib"), "--space", str(space_path)]


def test_cli_keeps_suggestions_near_the_default(
    setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, space, _ = setup
    default_path = tmp_path / "default.json"
    default_path.write_text(json.dumps(DEFAULT))
    box = DefaultBox.around(space, DEFAULT, 0.1)
    base = _cli_base("suggest", setup, tmp_path)
    for given in (str(default_path), json.dumps(DEFAULT)):
        code, out, _ = recommend(
            [*base, "-n", "3", "--default", given, "--max-deviation", "0.1", "--json"], capsys
        )
        assert code == 0
        doc = json.loads(out)
        configs = [s["config"] for s in doc["suggestions"]]
        assert len(configs) == 3 and box.contains(space.encode(configs)).all()
        assert doc["limits"] == [box.describe()]
    code, out, _ = recommend(
        [*base, "--default", json.dumps(DEFAULT), "--max-deviation", "0.1"], capsys
    )
    assert code == 0 and "limit: within 0.1" in out
    code, _, err = recommend(
        [*base, "--default", "{learning_rate: 1}", "--max-deviation", "0.1"], capsys
    )
    assert code == 2 and "--default is not a JSON object" in err
    code, _, err = recommend(
        [*base, "--default", json.dumps({**DEFAULT, "lr": 1}), "--max-deviation", "0.1"], capsys
    )
    assert code == 1 and "unknown parameter(s) ['lr']" in err and len(err.splitlines()) == 1
    code, _, err = recommend([*base, "--max-deviation", "0.1"], capsys)
    assert code == 1 and "needs `default=`" in err
    code, _, err = recommend([*base, "--default", "nowhere.json", "--max-deviation", "0.1"], capsys)
    assert code == 2 and "no such file: nowhere.json" in err
    broken = tmp_path / "observed.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    code, _, err = recommend([*base, "--observed", str(broken)], capsys)
    assert code == 2 and "cannot be read as Parquet" in err


def test_cli_explain_takes_the_same_target_options(
    setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`recommend explain` explains what `suggest` would do with --observed and the box."""
    _, _, space, _ = setup
    observed = tmp_path / "observed.csv"
    configs = DefaultBox.around(space, DEFAULT, 0.3).sample(6, seed=2)
    configs.assign(value=np.arange(6.0)).to_csv(observed, index=False)
    html = tmp_path / "report.html"
    base = [*_cli_base("explain", setup, tmp_path), "-n", "2"]
    code, out, _ = recommend(
        [*base, "--observed", str(observed), "--direction", "minimize", "--html", str(html)]
        + ["--default", json.dumps(DEFAULT), "--max-deviation", "0.3", "--json"],
        capsys,
    )
    assert code == 0
    doc = json.loads(out)
    box = DefaultBox.around(space, DEFAULT, 0.3)
    assert doc["n_observed"] == 6 and doc["limits"] == [box.describe()]
    assert box.contains(space.encode([s["config"] for s in doc["suggestions"]])).all()
    assert "Limit: within 0.3" in html.read_text()


def test_an_empty_library_starts_at_the_default(setup, tmp_path: Path) -> None:
    """Nothing to transfer and nothing observed: with a default the first picks are the
    default, then draws in its box (without one it stays an EmptyLibraryError)."""
    _, _, space, _ = setup
    rec = Recommender(Library.open(tmp_path / "empty"))
    picks = rec.suggest(space=space, n=4, default=DEFAULT, max_deviation=0.2)
    box = DefaultBox.around(space, DEFAULT, 0.2)
    assert picks[0].config == box.default and len(picks) == 4
    assert box.contains(space.encode([p.config for p in picks])).all()
    assert {p.phase for p in picks} == {"random"} and not picks[0].has_prediction
    explanation = rec.explain().to_dict()
    assert explanation["limits"] == [box.describe()]
    assert "the default, then uniform draws" in explanation["decisions"][0]["reason"]
    assert len(rec.suggest(space=space, n=3, default=DEFAULT, max_deviation=0.0)) == 1
    with pytest.raises(EmptyLibraryError):
        rec.suggest(space=space, n=2)
