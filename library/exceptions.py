"""Named exceptions and warnings shared by every hp-warmstart package.

`WarmstartError` is the root. Each error mixes in the builtin it refines so that callers
catching ``ValueError`` or ``KeyError`` keep working. Messages say what went wrong, where,
and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

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
    "CostCapError",
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


#: how a user lists a library's task ids (`UnknownTaskError.among`)
_LIBRARY_LISTING = (
    "`recommend library tasks` lists yours, with `--with-starter` the bundled ones too"
)


class UnknownTaskError(LibraryError, KeyError):
    """A task id that the library does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; we want the plain text.
        return str(self.args[0]) if self.args else "unknown task"

    @classmethod
    def among(
        cls,
        task_id: str,
        known: Collection[str],
        where: str,
        listing: str | None = _LIBRARY_LISTING,
    ) -> UnknownTaskError:
        """The error for ``task_id`` missing from ``where``, naming the ids it may mean.

        Ids are often namespaced (``lcbench/126025``, ``optuna/<study>``): a known id whose
        last segment is ``task_id`` comes first, then close spellings (`difflib`); with no
        such id the message shows a few of the known ones instead.

        Args:
            task_id: the id asked for.
            known: every task id there is.
            where: where they were looked up, for the message.
            listing: how to list every id, added when the message shows a few of them
                (``None``: nothing added).
        """
        tail = [k for k in sorted(known) if k.rsplit("/", 1)[-1] == task_id]
        close = difflib.get_close_matches(task_id, sorted(known), n=3, cutoff=0.6)
        matches = list(dict.fromkeys([*tail, *close]))[:3]
        count = f"{len(known)} task" + ("" if len(known) == 1 else "s")
        message = f"task {task_id!r} is in none of {where} ({count})"
        if matches:
            return cls(f"{message}; did you mean {', '.join(map(repr, matches))}?")
        if known:
            shown = ", ".join(map(repr, sorted(known)[:3]))
            return cls(f"{message}; ids look like {shown}" + (f" ({listing})" if listing else ""))
        return cls(message)


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


class CostCapError(WarmstartError, ValueError):
    """A cost cap (``max_cost``) that cannot be applied: no recorded cost to learn it from,
    a cost that is not a positive number, or no candidate predicted within the cap."""


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
