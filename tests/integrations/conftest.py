"""A small real library in tmp_path: three seeded source tasks over an SVC-style space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from library.store import Library

SVC_SPACE = {
    "parameters": [
        {"name": "C", "type": "float", "low": 1e-3, "high": 1e3, "log": True},
        {"name": "gamma", "type": "float", "low": 1e-4, "high": 1e1, "log": True},
    ]
}


def source_score(config: dict, shift: float) -> float:
    """Smooth accuracy-like surface with its optimum near C=10, gamma=0.01 (+ shift)."""
    c = np.log10(config["C"]) - (1.0 + shift)
    g = np.log10(config["gamma"]) - (-2.0 + shift)
    return float(0.95 - 0.02 * c**2 - 0.03 * g**2)


def write_source_library(
    root: Path, *, n_tasks: int = 3, n_trials: int = 40, seed: int = 0
) -> Library:
    """Source tasks ``src/<i>`` with seeded random trials of `source_score`."""
    from recommender.space import Space

    rng = np.random.default_rng(seed)
    library = Library.open(root)
    space = Space.from_dict(SVC_SPACE)
    library.append_tasks(
        [{"task_id": f"src/{i}", "name": f"source {i}", "space": SVC_SPACE} for i in range(n_tasks)]
    )
    rows = []
    for i in range(n_tasks):
        shift = 0.2 * (i - 1)
        for config in space.sample(n_trials, seed=int(rng.integers(1 << 30))):
            noise = 0.005 * rng.standard_normal()
            rows.append(
                {
                    "task_id": f"src/{i}",
                    "objective_value": source_score(config, shift) + noise,
                    "param_C": config["C"],
                    "param_gamma": config["gamma"],
                }
            )
    library.append_trials(rows, objective_name="accuracy", direction="maximize", source="test")
    return library


@pytest.fixture(scope="session")
def source_library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of the session's source library (copy it before writing)."""
    root = tmp_path_factory.mktemp("sources") / "lib"
    write_source_library(root)
    return root


@pytest.fixture
def source_library(source_library_dir: Path, tmp_path: Path) -> Library:
    """A writable copy of the source library for one test."""
    import shutil

    target = tmp_path / "lib"
    shutil.copytree(source_library_dir, target)
    return Library.open(target)


@pytest.fixture(autouse=True)
def _isolated_gp_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep any on-disk source-GP cache ($HPWS_CACHE) inside the test's temp area."""
    monkeypatch.setenv("HPWS_CACHE", str(tmp_path_factory.getbasetemp() / "gp-cache"))
