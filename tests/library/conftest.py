"""Fixtures for the library tests: seeded trial batches, libraries, benchmark dirs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from library import Library
from tests.synthetic import write_synthetic_benchmark


def make_trials(n_rows: int, *, task_id: str = "t0", seed: int = 0, start: int = 0) -> pa.Table:
    """``n_rows`` distinct trials of one task (ids differ through ``param_index``)."""
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "task_id": pa.array([task_id] * n_rows, pa.string()),
            "objective_value": rng.normal(size=n_rows),
            "param_index": pa.array(np.arange(start, start + n_rows), pa.int64()),
            "param_lr": rng.uniform(1e-4, 1e-1, n_rows),
            "param_optimizer": pa.array(rng.choice(["sgd", "adam"], n_rows), pa.string()),
            "fidelity": pa.array(np.full(n_rows, 10.0)),
            "seed": pa.array(np.zeros(n_rows, dtype=np.int64)),
        }
    )


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative path -> digest)."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def library(tmp_path: Path) -> Library:
    """An empty library with tasks t0..t2 (no declared space)."""
    lib = Library.open(tmp_path / "lib")
    lib.append_tasks(
        [{"task_id": f"t{i}", "name": f"task {i}", "objective_name": "loss"} for i in range(3)]
    )
    return lib


@pytest.fixture
def synthetic_dir(tmp_path: Path) -> Path:
    """A conditional, minimised synthetic benchmark (6 tasks x 40 configs x 3 epochs)."""
    return write_synthetic_benchmark(tmp_path / "synthetic", n_tasks=6, n_configs=40, seed=0)
