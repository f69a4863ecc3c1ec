"""Named exceptions and warnings shared by every hp-warmstart package.

`WarmstartError` is the root. Each error mixes in the builtin it refines so that callers
catching ``ValueError`` or ``KeyError`` keep working. Messages say what went wrong, where,
and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "WarmstartError",
    "LibraryError",
    "SchemaError",
    "CorruptFileError",
    "UnknownTaskError",
    "EmptyLibraryError",
    "LibraryLockedError",
    "UnsupportedStorageError",
    "BenchmarkFormatError",
    "MissingDependencyError",
    "SpaceError",
    "FeaturizeError",
    "SurrogateFitError",
    "RunnerError",
    "CLIUsageError",
    "NegativeTransferWarning",
]


class WarmstartError(Exception):
    """Root of every error raised by hp-warmstart."""


class LibraryError(WarmstartError):
    """The trial library cannot do what was asked."""


class SchemaError(LibraryError, ValueError):
    """Input rows or files do not match the library schema (missing column, wrong type, NaN)."""


class CorruptFileError(LibraryError, OSError):
    """A Parquet file of the library (or an input file) cannot be read."""


class UnknownTaskError(LibraryError, KeyError):
    """A task id that the library does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; we want the plain text.
        return str(self.args[0]) if self.args else "unknown task"


class EmptyLibraryError(LibraryError):
    """The library holds no trials where some were required."""


class LibraryLockedError(LibraryError):
    """Another compaction or refresh holds the library lock."""


class UnsupportedStorageError(LibraryError, ValueError):
    """A library URI whose filesystem is unknown or whose fsspec package is not installed."""

    def __init__(self, message: str, *, protocol: str) -> None:
        super().__init__(message)
        self.protocol = protocol


class BenchmarkFormatError(WarmstartError, ValueError):
    """A benchmark directory does not follow `FORMAT.md`; names the file and field."""


class MissingDependencyError(WarmstartError, ImportError):
    """An optional package needed for this input is not installed.

    Attributes:
        package: the missing import name (e.g. ``"optuna"``).
        extra: the ``hp-warmstart[<extra>]`` that installs it, or ``None``.
    """

    def __init__(self, message: str, *, package: str, extra: str | None = None) -> None:
        super().__init__(message)
        self.package = package
        self.extra = extra


class SpaceError(WarmstartError, ValueError):
    """A search space or a configuration is invalid (unknown parameter, out of range, ...)."""


class FeaturizeError(WarmstartError, ValueError):
    """A dataset or model cannot be fingerprinted."""


class SurrogateFitError(WarmstartError, RuntimeError):
    """The surrogate model could not be fitted after bounded retries."""


class RunnerError(WarmstartError, RuntimeError):
    """The runner cannot train or evaluate a candidate configuration."""


class CLIUsageError(WarmstartError):
    """The command line was used wrongly."""


class NegativeTransferWarning(UserWarning):
    """A source task (or the whole transfer model) was found to hurt and was dropped."""
