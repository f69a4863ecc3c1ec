"""Environment and hardware descriptions recorded with every trial."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

__all__ = ["available_cores", "capture_environment", "capture_hardware"]


def available_cores() -> int:
    """CPU cores this process may run on (``os.sched_getaffinity``, else ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def capture_environment() -> dict[str, Any]:
    """Versions of Python and of the numerical libraries a trial used."""
    import numpy
    import sklearn

    environment: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "numpy": numpy.__version__,
        "sklearn": sklearn.__version__,
        "platform": platform.platform(),
    }
    import importlib.metadata

    try:  # metadata only: a scikit-learn trial should not pay for importing torch
        environment["torch"] = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a dependency
        environment["torch"] = None
    torch_module = sys.modules.get("torch")
    if torch_module is not None:
        environment["torch_cuda"] = torch_module.version.cuda
    return environment


def capture_hardware(device: str = "cpu") -> dict[str, Any]:
    """CPU model and core count, plus the GPU name when ``device`` is CUDA."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    hardware: dict[str, Any] = {
        "cpu": cpu,
        "cores": available_cores(),
        "device": device,
    }
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            hardware["gpu"] = torch.cuda.get_device_name(0)
    return hardware
