"""The trial library on disk: immutable Parquet part files, atomic appends, compaction.

Layout::

    <library>/
      tasks/part-<uuid>.parquet    one row per task
      trials/part-<uuid>.parquet   one row per trial
      _lock                        held (fcntl) only by compaction

Contract (what every caller may rely on):

* **Atomicity.** One `Library.append_trials` / `Library.append_tasks` call writes one part
  file: ``part-<uuid>.parquet.tmp``, fsync, ``os.replace`` to ``.parquet``, fsync of the
  directory. Readers glob only ``*.parquet``, so a batch is either wholly visible or not
  at all, even if the writer is killed.
* **Immutability.** A part file is never modified; compaction writes a new merged file and
  then deletes exactly the inputs it merged (recorded in the merged file's metadata, so an
  interrupted compaction is finished by the next one).
* **Dedupe.** Rows are keyed by `trial_id` (a content hash). An append drops rows whose
  id is already in the library or earlier in the same batch. Two processes appending the
  *same* new trial at the same instant may both write it; compaction and `validate`
  remove / report such duplicates.
* **Failure leaves no trace.** Any error raised by an append happens before the rename,
  and the temporary file is removed, so the library's files are byte-identical afterwards.
* **Concurrency.** Appenders never take the lock, so they keep working while a compaction
  runs; a compaction never touches files created after it listed the directory.

Raises (all subclasses of `LibraryError`): `SchemaError` for bad rows, `UnknownTaskError`
for trials of a task the library does not hold, `SpaceError` (not a LibraryError) for a
parameter outside the task's declared space, `CorruptFileError` for an unreadable part
file, `LibraryLockedError` when another compaction holds the lock.

A URI (``s3://bucket/lib``, ``memory://team/lib``, ``file:///abs/lib``) opens the same
layout on an fsspec filesystem instead (`library.remote.RemoteLibrary`, whose weaker
guarantees its module docstring lists). Every file operation of `Library` goes through
one of the small ``_`` hooks below (``files``, ``_read_file``, ``_write_part``,
``_remove_parts``, ``lock``, ...), which is all a remote library overrides.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from library.base import Store
from library.exceptions import (
    CorruptFileError,
    LibraryError,
    LibraryLockedError,
    SchemaError,
    SpaceError,
    UnknownTaskError,
)
from library.schema import (
    METRIC_PREFIX,
    PARAM_PREFIX,
    SCHEMA_VERSION,
    TASKS_SCHEMA,
    TRIALS_BASE_SCHEMA,
    Direction,
    TrialStatus,
    params_json_column,
    trial_ids,
)

__all__ = [
    "Library",
    "AppendResult",
    "CompactionResult",
    "default_library_path",
    "is_uri",
    "ENV_VAR",
]

ENV_VAR = "HPWS_LIBRARY"
_LOG = logging.getLogger(__name__)
_PART_GLOB = "part-*.parquet"
_COMPACTED_FROM = b"hpws.compacted_from"
# a listed file may vanish when a compaction replaces it; the merged file is then listed
_VANISH_RETRIES = 100
# temporary part files older than this (seconds) belong to killed writers
STALE_TMP_S = 3600.0
# a scheme of two or more letters: ``C://`` style drive letters stay local paths
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")

Progress = Callable[[str, int, int], None]


def default_library_path() -> Path:
    """Library location: ``$HPWS_LIBRARY`` if set, else ``<user data dir>/hp-warmstart/library``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("hp-warmstart")) / "library"


def is_uri(location: str) -> bool:
    """Whether ``location`` is a URI with a scheme (``s3://...``), not a local path."""
    return _URI.match(location) is not None


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append wrote.

    Attributes:
        n_input: rows given.
        n_written: rows written (``n_input`` minus duplicates).
        n_duplicates: rows dropped because their id was already present.
        path: the new part file (a `Path`; a `PurePosixPath` inside the filesystem for
            a remote library), or ``None`` when nothing was new.
    """

    n_input: int
    n_written: int
    n_duplicates: int
    path: PurePath | None


@dataclass(frozen=True, slots=True)
class CompactionResult:
    """What one compaction did (per table: ``tasks`` or ``trials``)."""

    table: str
    n_files_merged: int
    n_rows: int
    n_duplicates_dropped: int
    path: PurePath | None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _to_table(data: pa.Table | Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        rows = list(data)
        if not all(isinstance(row, Mapping) for row in rows):
            raise SchemaError("a list of rows must hold dicts (column name -> value)")
        keys = list(dict.fromkeys(key for row in rows for key in row))  # union, in order
        columns = {}
        for key in keys:
            values = [row.get(key) for row in rows]
            if key == "space":  # keep the declared space exactly as given, as JSON text
                values = [None if v is None else json.dumps(v, sort_keys=True) for v in values]
                key = "space_json"
            try:
                columns[key] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                raise SchemaError(f"column {key!r} holds values of mixed types: {error}") from error
        return pa.table(columns) if columns else pa.table({"task_id": pa.array([], pa.string())})
    raise SchemaError(
        f"expected a pyarrow.Table, pandas.DataFrame or list of dicts, got {type(data).__name__}"
    )


class Library(Store):
    """A trial library rooted at a directory. Create with `Library.open`.

    Example:
        >>> lib = Library.open(tmp_path / "lib")            # doctest: +SKIP
        >>> lib.append_tasks([{"task_id": "t1", "name": "iris"}])  # doctest: +SKIP
        >>> lib.stats()["n_tasks"]                           # doctest: +SKIP
        1
    """

    __slots__ = ("root",)

    def __init__(self, root: PurePath) -> None:
        """Wrap an existing library directory; use `Library.open` to check or create it.

        Args:
            root: the library directory (a `Path`; `library.remote.RemoteLibrary` passes
                a `PurePosixPath` inside its filesystem).
        """
        self.root = root

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path | None = None, *, create: bool = True) -> Library:
        """Open (and by default create) the library at ``path``.

        Args:
            path: library directory, or a URI such as ``s3://bucket/lib`` (opened as a
                `library.remote.RemoteLibrary`); ``None`` means ``$HPWS_LIBRARY`` (which
                may be a URI too) or `default_library_path`.
            create: create the directories if missing; if ``False`` a missing library
                raises `LibraryError`.

        Returns:
            The opened library.

        Raises:
            LibraryError: the path is missing (``create=False``), not a directory, or not
                writable when it must be created.
            UnsupportedStorageError: a URI whose filesystem is not installed or unknown.
        """
        if path is None and is_uri(os.environ.get(ENV_VAR, "")):
            path = os.environ[ENV_VAR]
        if isinstance(path, str) and is_uri(path):
            from library.remote import RemoteLibrary

            return RemoteLibrary.open_uri(path, create=create)
        root = Path(path).expanduser() if path is not None else default_library_path()
        if root.exists() and not root.is_dir():
            raise LibraryError(f"library path {root} exists and is not a directory")
        if not (root / "trials").is_dir() or not (root / "tasks").is_dir():
            if not create:
                raise LibraryError(
                    f"no library at {root}; create it with `recommend library init --library {root}`"
                )
            try:
                for sub in ("tasks", "trials"):
                    (root / sub).mkdir(parents=True, exist_ok=True)
                (root / "_lock").touch(exist_ok=True)
            except OSError as error:
                raise LibraryError(
                    f"cannot create library at {root}: {error.strerror}; "
                    "choose a writable path with --library or $HPWS_LIBRARY"
                ) from error
        return cls(root)

    @property
    def tasks_dir(self) -> Path:
        """Directory of task part files."""
        return Path(self.root, "tasks")

    @property
    def trials_dir(self) -> Path:
        """Directory of trial part files."""
        return Path(self.root, "trials")

    @property
    def location(self) -> str:
        """Where the library lives, for messages: its directory, or its URI when remote."""
        return str(self.root)

    @property
    def is_remote(self) -> bool:
        """Whether the library lives on an fsspec filesystem (queries then read via Arrow)."""
        return False

    def files(self, table: str = "trials") -> list[PurePath]:
        """Committed part files of ``table`` (``"tasks"`` or ``"trials"``), sorted by name."""
        if table not in ("tasks", "trials"):
            raise LibraryError(f"table must be 'tasks' or 'trials', got {table!r}")
        return sorted(Path(self.root, table).glob(_PART_GLOB))

    def __repr__(self) -> str:
        return f"Library({str(self.root)!r})"

    # ------------------------------------------------------------------ file hooks
    def _read_file(self, path: PurePath, columns: list[str] | None = None) -> pa.Table:
        """Read one part file (raw pyarrow / OS errors)."""
        return pq.read_table(path, columns=columns)

    def _read_file_schema(self, path: PurePath) -> pa.Schema:
        """Read one part file's schema (raw pyarrow / OS errors)."""
        return pq.read_schema(path)

    def _remove_parts(self, table_name: str, paths: Sequence[PurePath]) -> None:
        """Delete ``paths`` of ``table_name`` (already gone is fine), durably."""
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                Path(path).unlink()
        if paths:
            _fsync_dir(Path(self.root, table_name))

    def _remove_stale_temporaries(self, table_name: str) -> None:
        """Delete temporary files of killed writers older than one hour."""
        for tmp in Path(self.root, table_name).glob("*.parquet.tmp"):
            with contextlib.suppress(OSError):
                age = dt.datetime.now().timestamp() - tmp.stat().st_mtime
                if age > STALE_TMP_S:
                    tmp.unlink()

    def _size_of(self, paths: Sequence[PurePath]) -> int:
        """Total bytes of ``paths``; files removed meanwhile count as zero."""
        size = 0
        for path in paths:
            try:
                size += os.stat(path).st_size
            except FileNotFoundError:
                continue
        return size

    def _read_part(self, path: PurePath, columns: list[str] | None = None) -> pa.Table:
        try:
            return self._read_file(path, columns)
        except FileNotFoundError:
            raise
        except (pa.ArrowException, OSError) as error:
            raise self._corrupt(path, "Parquet file", error) from error

    def _read_part_schema(self, path: PurePath) -> pa.Schema:
        try:
            return self._read_file_schema(path)
        except FileNotFoundError:
            raise
        except (pa.ArrowException, OSError) as error:
            raise self._corrupt(path, "Parquet footer of", error) from error

    def _corrupt(self, path: PurePath, what: str, error: Exception) -> CorruptFileError:
        return CorruptFileError(
            f"cannot read {what} {self._display(path)}: {error}; move it out of the library "
            "and run `recommend library validate`"
        )

    def _display(self, path: PurePath) -> str:
        """``path`` as users should see it in messages."""
        return str(path)

    # ------------------------------------------------------------------ reading
    def _read_all(self, table: str, columns: list[str] | None = None) -> pa.Table:
        schema = TASKS_SCHEMA if table == "tasks" else TRIALS_BASE_SCHEMA
        for _attempt in range(_VANISH_RETRIES):
            parts = []
            try:
                for path in self.files(table):
                    parts.append(self._read_part(path, columns))
            except FileNotFoundError:  # a compaction removed a file we listed: list again
                continue
            if not parts:
                return (
                    schema.empty_table()
                    if columns is None
                    else schema.empty_table().select(columns)
                )
            return pa.concat_tables(parts, promote_options="default")
        raise LibraryError(f"files of {self.location}/{table} kept vanishing while reading")

    def read_tasks(self) -> pa.Table:
        """All task rows as one Arrow table (`TASKS_SCHEMA`)."""
        return self._read_all("tasks")

    def read_trials(self, *, task_ids: Sequence[str] | None = None) -> pa.Table:
        """Trial rows (all, or those of ``task_ids``) as one Arrow table."""
        trials = self._read_all("trials")
        if task_ids is not None:
            trials = trials.filter(pc.is_in(trials["task_id"], pa.array(list(task_ids))))
        return trials

    def task_ids(self) -> list[str]:
        """Ids of every task in the library, sorted."""
        ids = self._read_all("tasks", ["task_id"])["task_id"]
        return sorted(set(ids.to_pylist()))

    def task_spaces(self) -> dict[str, dict[str, Any]]:
        """Declared space (space.json-style dict) of each task that stored one."""
        tasks = self._read_all("tasks", ["task_id", "space_json"])
        spaces: dict[str, dict[str, Any]] = {}
        for task, text in zip(
            tasks["task_id"].to_pylist(), tasks["space_json"].to_pylist(), strict=True
        ):
            if text:
                spaces[task] = json.loads(text)
        return spaces

    def stats(self) -> dict[str, Any]:
        """Counts for humans and scripts.

        Returns:
            ``{"path", "n_tasks", "n_trials", "by_status", "by_source", "files": {"tasks",
            "trials"}, "bytes"}``.
        """
        from library.query import trial_counts

        return trial_counts(self)

    # ------------------------------------------------------------------ writing
    def _write_part(self, table_name: str, table: pa.Table) -> PurePath:
        directory = Path(self.root, table_name)
        final = directory / f"part-{uuid.uuid4().hex}.parquet"
        tmp = final.with_name(final.name + ".tmp")
        try:
            with open(tmp, "wb") as handle:
                pq.write_table(table, handle, compression="zstd", compression_level=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
            _fsync_dir(directory)
        except OSError as error:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise LibraryError(
                f"cannot write to {directory}: {error.strerror or error}; check permissions "
                "and free space"
            ) from error
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return final

    def _check_writable(self, table_name: str) -> None:
        directory = Path(self.root, table_name)
        if not directory.is_dir():
            raise LibraryError(f"{directory} is missing; run `recommend library init`")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise LibraryError(
                f"library directory {directory} is not writable; fix its permissions or "
                "choose another --library"
            )

    def append_tasks(self, tasks: pa.Table | Any) -> AppendResult:
        """Add tasks; tasks whose id is already present are skipped.

        Args:
            tasks: Arrow table, DataFrame or list of dicts with at least ``task_id``;
                other columns of `TASKS_SCHEMA` are optional (``space_json`` may also be
                given as a dict under ``space``).

        Returns:
            The `AppendResult`.

        Raises:
            SchemaError: missing ``task_id``, unknown column or wrong type.
            LibraryError: the directory is not writable.
        """
        table = _normalize_tasks(_to_table(tasks))
        self._check_writable("tasks")
        n_input = table.num_rows
        existing = set(self._read_all("tasks", ["task_id"])["task_id"].to_pylist())
        keep, seen = [], set()
        for index, task in enumerate(table["task_id"].to_pylist()):
            if task not in existing and task not in seen:
                keep.append(index)
                seen.add(task)
        table = table.take(pa.array(keep, pa.int64()))
        if table.num_rows == 0:
            return AppendResult(n_input, 0, n_input, None)
        path = self._write_part("tasks", table)
        return AppendResult(n_input, table.num_rows, n_input - table.num_rows, path)

    def append_trials(
        self,
        trials: pa.Table | Any,
        *,
        objective_name: str | None = None,
        direction: str | Direction | None = None,
        source: str | None = None,
        fidelity_name: str | None = None,
    ) -> AppendResult:
        """Append one batch of trials as one new part file (atomic, deduplicated).

        Args:
            trials: Arrow table, DataFrame or list of dicts. Required columns: ``task_id``,
                ``objective_value`` and one ``param_<name>`` column per parameter (null/NaN
                when inactive). Optional: any other column of `TRIALS_BASE_SCHEMA` except
                ``trial_id``/``params_json`` (computed), and ``metric_<name>`` columns.
            objective_name: value for a missing ``objective_name`` column.
            direction: value for a missing ``direction`` column.
            source: value for a missing ``source`` column.
            fidelity_name: value for a missing ``fidelity_name`` column.

        Returns:
            The `AppendResult`.

        Raises:
            SchemaError: missing/unknown column, wrong type, NaN objective on an ``ok``
                trial, bad status or direction, parameter type differing from the library.
            UnknownTaskError: a ``task_id`` that `append_tasks` never added.
            SpaceError: a parameter unknown to, or outside, the task's declared space.
            CorruptFileError: an existing part file cannot be read.
            LibraryError: the directory is not writable.
        """
        defaults = trial_defaults(objective_name, direction, source, fidelity_name)
        table = _normalize_trials(_to_table(trials), defaults)
        self._check_writable("trials")
        n_input = table.num_rows
        table = self._checked_trials(table, new_tasks=())
        table = self._dedupe(table)
        if table.num_rows == 0:
            return AppendResult(n_input, 0, n_input, None)
        path = self._write_part("trials", table)
        _LOG.info("appended %d trials to %s", table.num_rows, path)
        return AppendResult(n_input, table.num_rows, n_input - table.num_rows, path)

    def check_trials(
        self,
        trials: pa.Table | Any,
        *,
        objective_name: str | None = None,
        direction: str | Direction | None = None,
        source: str | None = None,
        fidelity_name: str | None = None,
        new_tasks: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Raise what `append_trials` would raise for this batch, writing nothing.

        An importer calls it before it adds the batch's tasks, so that a batch the library
        rejects leaves no task rows behind.

        Args:
            trials: the batch, as for `append_trials`.
            objective_name: as for `append_trials`.
            direction: as for `append_trials`.
            source: as for `append_trials`.
            fidelity_name: as for `append_trials`.
            new_tasks: task rows the caller is about to add (``task_id``, optionally
                ``space_json``): their ids count as known and their spaces are checked.

        Raises:
            SchemaError: as `append_trials` (missing or unknown column, wrong type, NaN
                objective on an ``ok`` trial, a column type differing from the library's).
            UnknownTaskError: a ``task_id`` neither stored nor in ``new_tasks``.
            SpaceError: a parameter unknown to, or outside, its task's declared space.
            CorruptFileError: an existing part file cannot be read.
        """
        defaults = trial_defaults(objective_name, direction, source, fidelity_name)
        self._checked_trials(_normalize_trials(_to_table(trials), defaults), new_tasks=new_tasks)

    def _checked_trials(
        self, table: pa.Table, *, new_tasks: Sequence[Mapping[str, Any]]
    ) -> pa.Table:
        """A normalised batch checked against the tasks (and ``new_tasks``), their spaces
        and the library's column types; returned with the type casts applied."""
        known_tasks = set(self._read_all("tasks", ["task_id"])["task_id"].to_pylist())
        spaces = self.task_spaces()
        for task in new_tasks:
            known_tasks.add(task["task_id"])
            if task.get("space_json"):
                spaces.setdefault(task["task_id"], json.loads(task["space_json"]))
        check_batch(table, known_tasks=known_tasks, spaces=spaces)
        return self._check_against_library(table)

    def _check_against_library(self, table: pa.Table) -> pa.Table:
        """Parameter/metric columns must keep the type the library already uses (integers
        are widened to a stored float column); returns the batch with those casts."""
        known: dict[str, pa.DataType] = {}
        for _attempt in range(_VANISH_RETRIES):
            try:
                for path in self.files("trials"):
                    for field in self._read_part_schema(path):
                        if field.name.startswith((PARAM_PREFIX, METRIC_PREFIX)):
                            known.setdefault(field.name, field.type)
                break
            except FileNotFoundError:
                known.clear()
        return check_column_types(table, known)

    def _dedupe(self, table: pa.Table) -> pa.Table:
        table = _first_per_id(table)
        existing = self._read_all("trials", ["trial_id"])["trial_id"]
        if len(existing):
            seen = pc.is_in(table["trial_id"], value_set=existing.combine_chunks())
            table = table.filter(pc.invert(seen))
        return table

    # ------------------------------------------------------------------ compaction
    @contextlib.contextmanager
    def lock(self, *, wait: bool = False) -> Iterator[None]:
        """Hold the library lock (compaction, refresh). Appenders never take it.

        Raises:
            LibraryLockedError: ``wait=False`` and another process holds it.
        """
        lock_path = Path(self.root, "_lock")
        try:
            handle = open(lock_path, "a+b")  # noqa: SIM115
        except OSError as error:
            raise LibraryError(f"cannot open lock file {lock_path}: {error.strerror}") from error
        try:
            flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
            try:
                fcntl.flock(handle.fileno(), flags)
            except OSError as error:
                if error.errno in (errno.EAGAIN, errno.EACCES):
                    raise LibraryLockedError(
                        f"{lock_path} is held by another compaction or refresh; retry later"
                    ) from error
                raise
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()

    def compact(
        self, *, wait: bool = False, min_files: int = 2, progress: Progress | None = None
    ) -> list[CompactionResult]:
        """Merge the small part files of each table into one file per table.

        Lists the part files once, merges exactly those (dropping duplicate ids), writes
        the merged file atomically, then deletes exactly the merged inputs. Files appended
        meanwhile are untouched and stay visible.

        Args:
            wait: block until the lock is free instead of raising.
            min_files: do nothing for a table with fewer part files.
            progress: optional ``callback(stage, done, total)``.

        Returns:
            One `CompactionResult` per table.

        Raises:
            LibraryLockedError: another compaction holds the lock (``wait=False``).
            CorruptFileError: a part file cannot be read (nothing is changed).
        """
        self._check_writable("trials")
        results = []
        with self.lock(wait=wait):
            for table_name in ("tasks", "trials"):
                self._finish_interrupted(table_name)
                results.append(self._compact_table(table_name, min_files, progress))
        return results

    def _finish_interrupted(self, table_name: str) -> None:
        """Delete inputs of an earlier compaction that was killed before deleting them.

        Reads the ``compacted_from`` footer of every listed file first and deletes only
        afterwards, so the order of the part-file names does not matter (a merged file
        that sorts before its inputs used to make the loop read an input it had just
        deleted). A file that vanishes between listing and reading is skipped.
        """
        files = self.files(table_name)
        by_name = {path.name: path for path in files}
        merged_into: dict[str, str] = {}
        for path in files:
            try:
                metadata = self._read_part_schema(path).metadata or {}
            except FileNotFoundError:
                continue
            merged = metadata.get(_COMPACTED_FROM)
            if not merged:
                continue
            for name in json.loads(merged):
                if name in by_name and name != path.name:
                    merged_into.setdefault(name, path.name)
        for name, into in sorted(merged_into.items()):
            _LOG.warning("removing %s, already merged into %s", name, into)
        self._remove_parts(table_name, [by_name[name] for name in sorted(merged_into)])
        self._remove_stale_temporaries(table_name)

    def _compact_table(
        self, table_name: str, min_files: int, progress: Progress | None
    ) -> CompactionResult:
        inputs = self.files(table_name)
        if len(inputs) < max(min_files, 2):
            return CompactionResult(table_name, 0, 0, 0, None)
        parts = []
        for index, path in enumerate(inputs):
            parts.append(self._read_part(path))
            if progress is not None:
                progress(f"reading {table_name}", index + 1, len(inputs))
        merged = pa.concat_tables(parts, promote_options="default")
        n_before = merged.num_rows
        key = "task_id" if table_name == "tasks" else "trial_id"
        merged = _first_per_id(merged, key)
        merged = merged.select(_ordered_columns(merged.schema, table_name))
        metadata = dict(merged.schema.metadata or {})
        metadata[_COMPACTED_FROM] = json.dumps([path.name for path in inputs]).encode()
        merged = merged.replace_schema_metadata(metadata)
        output = self._write_part(table_name, merged)
        self._remove_parts(table_name, inputs)
        return CompactionResult(
            table_name, len(inputs), merged.num_rows, n_before - merged.num_rows, output
        )


# ---------------------------------------------------------------------- normalisation
def check_batch(
    table: pa.Table, *, known_tasks: set[str], spaces: Mapping[str, Mapping[str, Any]]
) -> None:
    """Checks shared by every store: task ids exist and parameters fit declared spaces.

    Raises:
        UnknownTaskError: a task id not in ``known_tasks``.
        SpaceError: a parameter unknown to, or outside, its task's declared space.
    """
    batch_tasks = set(pc.unique(table["task_id"]).to_pylist())
    missing = sorted(batch_tasks - known_tasks)
    if missing:
        raise UnknownTaskError(
            f"trials reference {len(missing)} unknown task(s), e.g. {missing[:3]}; "
            "add them first with append_tasks (or import a benchmark)"
        )
    if spaces:
        from library.validate import check_params_in_space

        problems = check_params_in_space(table, spaces, where="input batch")
        if problems:
            raise SpaceError(
                f"{len(problems)} parameter problem(s) in the batch, first: "
                f"{problems[0].kind} at {problems[0].where}: {problems[0].detail}"
            )


def check_column_types(table: pa.Table, known: Mapping[str, pa.DataType]) -> pa.Table:
    """Parameter/metric columns must keep the type already stored (``known``).

    An integer column is widened to a stored floating-point column (``32`` is stored as
    ``32.0``; the ``trial_id`` hash is the same for both), nothing else is converted.

    Returns:
        ``table`` with the widening casts applied.

    Raises:
        SchemaError: a column's type differs from the stored one.
    """
    for index, field in enumerate(table.schema):
        previous = known.get(field.name)
        if previous is None or pa.types.is_null(previous) or pa.types.is_null(field.type):
            continue
        if pa.types.is_integer(field.type) and pa.types.is_floating(previous):
            table = table.set_column(index, field.name, table.column(index).cast(previous))
            continue
        if previous != field.type:
            raise SchemaError(
                f"column {field.name!r} has type {field.type} in the batch but {previous} "
                "in the library; cast it before appending"
            )
    return table


def normalize_trials(table: pa.Table | Any, defaults: Mapping[str, Any]) -> pa.Table:
    """Validate and complete a trials batch (computes ``trial_id``/``params_json``)."""
    return _normalize_trials(_to_table(table), defaults)


def normalize_tasks(tasks: pa.Table | Any) -> pa.Table:
    """Validate and complete a tasks batch to `TASKS_SCHEMA`."""
    return _normalize_tasks(_to_table(tasks))


def first_per_id(table: pa.Table, key: str = "trial_id") -> pa.Table:
    """Keep the first row of each ``key`` value."""
    return _first_per_id(table, key)


def trial_defaults(
    objective_name: str | None,
    direction: str | Direction | None,
    source: str | None,
    fidelity_name: str | None,
) -> dict[str, Any]:
    """Values for columns missing from a batch, as given to ``append_trials``."""
    if direction is not None and direction not in {d.value for d in Direction}:
        raise SchemaError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    return {
        "objective_name": objective_name,
        "direction": Direction(direction).value if direction is not None else None,
        "source": source,
        "fidelity_name": fidelity_name,
    }


def _first_per_id(table: pa.Table, key: str = "trial_id") -> pa.Table:
    """Keep the first row of each ``key`` value (hash based; no sort when all are unique)."""
    if table.num_rows == 0:
        return table
    keys = table[key]
    if len(pc.unique(keys)) == table.num_rows:
        return table
    numbered = pa.table({"key": keys, "row": pa.array(np.arange(table.num_rows))})
    first = numbered.group_by("key", use_threads=False).aggregate([("row", "min")])
    return table.take(pa.array(np.sort(first["row_min"].to_numpy())))


def _ordered_columns(schema: pa.Schema, table_name: str) -> list[str]:
    base = TASKS_SCHEMA if table_name == "tasks" else TRIALS_BASE_SCHEMA
    head = [name for name in base.names if name in schema.names]
    rest = sorted(name for name in schema.names if name not in base.names)
    return head + rest


def _cast_column(table: pa.Table, name: str, target: pa.DataType, where: str) -> pa.Array:
    column = table[name]
    if column.type == target:
        return column
    if pa.types.is_null(column.type):
        return pa.nulls(table.num_rows, target)
    numeric_target = pa.types.is_floating(target) or pa.types.is_integer(target)
    if numeric_target and not (
        pa.types.is_floating(column.type)
        or pa.types.is_integer(column.type)
        or pa.types.is_boolean(column.type)
    ):
        raise SchemaError(
            f"column {name!r} in {where} has type {column.type}, expected {target}; "
            "convert it to numbers first"
        )
    try:
        return column.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise SchemaError(
            f"column {name!r} in {where} has type {column.type}, expected {target}: {error}"
        ) from error


def _normalize_param(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_large_string(kind) or pa.types.is_string(kind):
        return column.cast(pa.string())
    if pa.types.is_boolean(kind):
        return column
    if pa.types.is_integer(kind):
        return column.cast(pa.int64())
    if pa.types.is_floating(kind):
        column = column.cast(pa.float64())
        return pc.if_else(pc.is_nan(column), pa.scalar(None, pa.float64()), column)
    if pa.types.is_null(kind):
        return column
    raise SchemaError(
        f"parameter column {name!r} has unsupported type {kind}; use float, int, bool or string"
    )


def _constant(value: Any, n_rows: int, kind: pa.DataType) -> pa.Array:
    if value is None:
        return pa.nulls(n_rows, kind)
    return pa.repeat(pa.scalar(value, kind), n_rows)


def _normalize_trials(table: pa.Table, defaults: Mapping[str, Any]) -> pa.Table:
    where = "the trials batch"
    n_rows = table.num_rows
    names = set(table.column_names)
    base = {field.name: field.type for field in TRIALS_BASE_SCHEMA}
    computed = {"trial_id", "params_json"}
    for required in ("task_id", "objective_value"):
        if required not in names:
            raise SchemaError(
                f"column {required!r} missing in {where}; see Library.append_trials for the format"
            )
    unknown = sorted(
        name
        for name in names
        if name not in base and not name.startswith((PARAM_PREFIX, METRIC_PREFIX))
    )
    unknown += sorted(names & computed)
    if unknown:
        raise SchemaError(
            f"unknown column(s) {unknown} in {where}; parameters must be named "
            f"'{PARAM_PREFIX}<name>', metrics '{METRIC_PREFIX}<name>'"
        )
    columns: dict[str, Any] = {}
    for name, kind in base.items():
        if name in computed:
            continue
        if name in names:
            columns[name] = _cast_column(table, name, kind, where)
        elif name in defaults and defaults[name] is not None:
            columns[name] = _constant(defaults[name], n_rows, kind)
        elif name == "status":
            columns[name] = _constant(TrialStatus.OK.value, n_rows, kind)
        elif name == "schema_version":
            columns[name] = _constant(SCHEMA_VERSION, n_rows, kind)
        elif name == "created_at":
            now = dt.datetime.now(dt.timezone.utc)
            columns[name] = _constant(now, n_rows, kind)
        else:
            columns[name] = pa.nulls(n_rows, kind)
    if columns["task_id"].null_count:
        raise SchemaError(f"column 'task_id' in {where} has null values")
    for name in ("objective_name", "direction"):
        if columns[name].null_count:
            raise SchemaError(f"{name} missing in {where}: give a column or the `{name}=` argument")
    _check_enum(columns["direction"], Direction, "direction", where)
    _check_enum(columns["status"], TrialStatus, "status", where)
    objective = columns["objective_value"]
    objective = pc.if_else(pc.is_nan(objective), pa.scalar(None, pa.float64()), objective)
    ok = pc.equal(columns["status"], TrialStatus.OK.value)
    bad = pc.and_(ok, pc.is_null(objective))
    n_bad = pc.sum(pc.cast(bad, pa.int64())).as_py() or 0
    if n_bad:
        first = pc.index(bad, True).as_py()
        raise SchemaError(
            f"{n_bad} trial(s) with status 'ok' have a NaN/null objective_value in {where} "
            f"(first at row {first}); give a value or a status such as 'failed'"
        )
    if pc.any(pc.invert(pc.is_finite(pc.drop_null(objective)))).as_py():
        raise SchemaError(f"objective_value in {where} holds infinite values")
    columns["objective_value"] = objective
    params = {}
    for name in sorted(names):
        if name.startswith(PARAM_PREFIX):
            params[name] = _normalize_param(table[name], name)
        elif name.startswith(METRIC_PREFIX):
            columns[name] = _cast_column(table, name, pa.float64(), where)
    params_table = pa.table({name[len(PARAM_PREFIX) :]: col for name, col in params.items()})
    if params_table.num_columns == 0:
        params_table = pa.table({"_": pa.nulls(n_rows)}).drop(["_"])
    params_text = (
        params_json_column(params_table) if params else pa.array(["{}"] * n_rows, pa.string())
    )
    ids = trial_ids(columns["task_id"], params_text, columns["fidelity"], columns["seed"])
    out = {"trial_id": ids, "task_id": columns.pop("task_id"), "params_json": params_text}
    out.update(columns)
    out.update(params)
    result = pa.table(out)
    return result.select(_ordered_columns(result.schema, "trials")).replace_schema_metadata(
        TRIALS_BASE_SCHEMA.metadata
    )


def _check_enum(column: pa.Array, enum: type[Enum], name: str, where: str) -> None:
    allowed = {member.value for member in enum}
    values = set(pc.unique(column).to_pylist()) - {None}
    wrong = sorted(values - allowed)
    if wrong:
        raise SchemaError(f"{name} values {wrong} in {where} are not among {sorted(allowed)}")


def _normalize_tasks(table: pa.Table) -> pa.Table:
    where = "the tasks batch"
    names = set(table.column_names)
    if "space" in names:
        spaces = [
            None if value is None else json.dumps(value, sort_keys=True)
            for value in table["space"].to_pylist()
        ]
        table = table.drop(["space"]).append_column("space_json", pa.array(spaces, pa.string()))
        names = set(table.column_names)
    if "task_id" not in names:
        raise SchemaError(f"column 'task_id' missing in {where}")
    unknown = sorted(names - set(TASKS_SCHEMA.names))
    if unknown:
        raise SchemaError(f"unknown column(s) {unknown} in {where}; allowed: {TASKS_SCHEMA.names}")
    n_rows = table.num_rows
    columns = {}
    for field in TASKS_SCHEMA:
        if field.name in names:
            column = table[field.name]
            if pa.types.is_null(column.type):
                columns[field.name] = pa.nulls(n_rows, field.type)
                continue
            try:
                columns[field.name] = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise SchemaError(
                    f"column {field.name!r} in {where} has type {column.type}, "
                    f"expected {field.type}"
                ) from error
        elif field.name == "schema_version":
            columns[field.name] = _constant(SCHEMA_VERSION, n_rows, field.type)
        elif field.name == "created_at":
            columns[field.name] = _constant(dt.datetime.now(dt.timezone.utc), n_rows, field.type)
        else:
            columns[field.name] = pa.nulls(n_rows, field.type)
    result = pa.table(columns, schema=TASKS_SCHEMA)
    if result["task_id"].null_count:
        raise SchemaError(f"column 'task_id' in {where} has null values")
    fp_names = result["fingerprint_names"].to_pylist()
    fp_values = result["fingerprint_values"].to_pylist()
    for row, (fp_n, fp_v) in enumerate(zip(fp_names, fp_values, strict=True)):
        if (fp_n is None) != (fp_v is None) or (fp_n is not None and len(fp_n) != len(fp_v)):
            raise SchemaError(
                f"row {row} of {where}: fingerprint_names and fingerprint_values differ in length"
            )
    direction = result["direction"]
    _check_enum(direction, Direction, "direction", where)
    return result
