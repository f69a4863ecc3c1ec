"""Provenance recorded with each trial: software environment, hardware, code version."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["environment", "environment_json", "hardware", "code_version"]

_PACKAGES = ("hp-warmstart", "torch", "gpytorch", "botorch", "numpy", "scikit-learn", "pyarrow")


def environment(packages: tuple[str, ...] = _PACKAGES) -> dict[str, str]:
    """Python and package versions of this process (missing packages are left out)."""
    versions = {"python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def environment_json(packages: tuple[str, ...] = _PACKAGES) -> str:
    """`environment` as canonical JSON, ready for the ``environment_json`` column."""
    return json.dumps(environment(packages), sort_keys=True, separators=(",", ":"))


def hardware() -> str:
    """A short description of this machine: ``"<cpu> x<cores>[, <gpu>]"``."""
    description = f"{platform.machine()} x{os.cpu_count()}"
    try:
        import torch

        if torch.cuda.is_available():
            description += f", {torch.cuda.get_device_name(0)}"
    except ImportError:  # torch is optional for the library itself
        pass
    return description


def code_version(repository: str | Path | None = None) -> str | None:
    """``git describe --always --dirty`` of ``repository`` (default: this checkout), or None."""
    where = Path(repository) if repository is not None else Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None
