"""The library on an fsspec filesystem: ``s3://``, ``gs://``, ``az://``, ``memory://``, ``file://``.

`Library.open` hands every URI to `RemoteLibrary.open_uri`. The layout is the local one
(``tasks/part-<uuid>.parquet``, ``trials/part-<uuid>.parquet``) plus a ``_library.json``
marker, because object stores have no empty directories. Only the file hooks of `Library`
are replaced; validation, dedupe and compaction are the same code.

What holds on object storage:

* **Whole batches.** An append writes ``part-<uuid>.parquet.tmp`` and then moves it to
  ``part-<uuid>.parquet`` (a server-side copy on S3/GCS, a rename on a local disk). Creating
  one object is atomic on S3, GCS and Azure Blob, and readers list only ``part-*.parquet``,
  so a reader sees a batch wholly or not at all. A writer killed before the move leaves a
  ``.tmp`` object that readers ignore and the next compaction deletes after an hour.
* **No lost appends.** Part names are random UUIDs, so concurrent writers never overwrite
  each other, and appends take no lock. As on disk, two writers appending the *same* new
  trial at the same instant may both store it; compaction collapses and `validate`
  reports such duplicates.
* **A rejected batch leaves no trace**: every check runs before anything is written, and
  a storage error during the write removes the temporary object when it can.
* **Fresh listings.** The filesystem's listing cache is invalidated before every listing,
  so parts written by other processes are seen (S3 and GCS listings are strongly
  consistent).

What does not hold:

* **No fsync.** A part is durable once the store acknowledged the upload.
* **The lock is advisory** (`RemoteLibrary.lock`, taken by compaction and refresh): a
  ``_lock.json`` object naming its owner is written and read back after a short pause,
  and a lock older than an hour is taken over (its holder is presumed dead, so a job
  running longer than that is no longer protected). Object stores offer no portable
  create-if-absent, so two jobs that start within the same moment can both get it. No row is lost if they do (a compaction deletes only inputs it merged into
  its own output), but rows merged by both are stored twice until the next compaction,
  and two refreshes may each rewrite the task table. Run one compaction / refresh job per
  library (one cron entry or one scheduler).
* **Queries download** the table they read (Arrow through fsspec, registered in DuckDB);
  compact regularly so that a query reads a few large objects rather than many small ones.
* A local library opened through ``file://`` uses this code, and its ``_lock.json`` does
  not exclude holders of the local ``fcntl`` lock: do not mix the two for maintenance.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from library.exceptions import LibraryError, LibraryLockedError, UnsupportedStorageError
from library.schema import SCHEMA_VERSION
from library.store import _PART_GLOB, STALE_TMP_S, Library

__all__ = ["RemoteLibrary", "resolve_uri"]

_LOG = logging.getLogger(__name__)
_MARKER = "_library.json"
_LOCK = "_lock.json"
_LOCK_STALE_S = 3600.0  # a lock this old belongs to a dead process
_LOCK_SETTLE_S = 0.2  # pause between writing the lock and reading it back
_LOCK_POLL_S = 1.0  # ``lock(wait=True)`` retries this often
# fsspec protocol -> the package that implements it
_PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "adl": "adlfs",
    "hf": "huggingface_hub",
    "sftp": "paramiko",
}


def resolve_uri(uri: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``uri`` and the library root inside it.

    Args:
        uri: e.g. ``s3://bucket/hpws-library`` or ``memory://team/lib``.

    Returns:
        ``(filesystem, root)`` where ``root`` has no protocol and no trailing slash.

    Raises:
        UnsupportedStorageError: fsspec, or the package of the protocol, is not installed,
            or fsspec does not know the protocol.
        LibraryError: the URI names no directory.
    """
    protocol = uri.split("://", 1)[0].lower()
    package = _PACKAGES.get(protocol)
    try:
        import fsspec
    except ImportError as error:
        raise UnsupportedStorageError(
            f"library URI {uri} needs fsspec: `pip install fsspec"
            f"{' ' + package if package else ''}`, or give a local path",
            protocol=protocol,
        ) from error
    try:
        filesystem, root = fsspec.core.url_to_fs(uri)
    except ImportError as error:
        needed = package or f"the fsspec implementation of {protocol}://"
        raise UnsupportedStorageError(
            f"no filesystem for {protocol}:// paths: install {needed} "
            f"(`pip install {package or '...'}`) to open {uri} ({error})",
            protocol=protocol,
        ) from error
    except ValueError as error:
        raise UnsupportedStorageError(
            f"unknown storage protocol {protocol!r} in {uri} ({error}); give a local path "
            "or a URI of an installed fsspec filesystem (s3://, gs://, az://, file://)",
            protocol=protocol,
        ) from error
    root = str(root).rstrip("/")
    if not root:
        raise LibraryError(
            f"library URI {uri} names no directory; add one, e.g. {protocol}://bucket/hpws-library"
        )
    return filesystem, root


class RemoteLibrary(Library):
    """A `Library` on an fsspec filesystem; open it with `Library.open` and a URI.

    ``root`` is the `PurePosixPath` of the library inside the filesystem (no protocol),
    ``uri`` the URI it was opened with, ``filesystem`` the fsspec filesystem.

    Example:
        >>> lib = Library.open("s3://team-bucket/hpws-library")   # doctest: +SKIP
        >>> lib.append_tasks([{"task_id": "t1"}]).n_written         # doctest: +SKIP
        1
    """

    __slots__ = ("filesystem", "uri")

    def __init__(self, filesystem: Any, root: str, uri: str) -> None:
        """Wrap an existing remote library; use `Library.open` to check or create it.

        Args:
            filesystem: the fsspec filesystem.
            root: the library directory inside ``filesystem`` (no protocol).
            uri: the URI shown in messages.
        """
        super().__init__(PurePosixPath(root))
        self.filesystem = filesystem
        self.uri = uri.rstrip("/")

    @classmethod
    def open_uri(cls, uri: str, *, create: bool = True) -> RemoteLibrary:
        """Open (and by default create) the library at ``uri``.

        Raises:
            UnsupportedStorageError: no installed filesystem for the URI's protocol.
            LibraryError: no library there (``create=False``), the URI names a file, or
                the store cannot be reached or written.
        """
        filesystem, root = resolve_uri(uri)
        library = cls(filesystem, root, uri)
        try:
            if filesystem.isfile(root):
                raise LibraryError(f"library path {library.uri} exists and is not a directory")
            if library._exists():
                return library
            if not create:
                raise LibraryError(
                    f"no library at {library.uri}; create it with "
                    f"`recommend library init --library {library.uri}`"
                )
            for sub in ("tasks", "trials"):
                filesystem.makedirs(f"{root}/{sub}", exist_ok=True)
            marker = {"format": "hp-warmstart library", "schema_version": SCHEMA_VERSION}
            filesystem.pipe_file(f"{root}/{_MARKER}", json.dumps(marker).encode())
        except OSError as error:
            raise LibraryError(
                f"cannot open or create library at {library.uri}: {error}; check the bucket "
                "name, the credentials and the network"
            ) from error
        return library

    def _exists(self) -> bool:
        root = str(self.root)
        for path in (root, f"{root}/tasks", f"{root}/trials"):
            self.filesystem.invalidate_cache(path)
        if self.filesystem.exists(f"{root}/{_MARKER}"):
            return True
        # a local library opened through file:// has directories but no marker
        return bool(
            self.filesystem.isdir(f"{root}/tasks") and self.filesystem.isdir(f"{root}/trials")
        )

    # ------------------------------------------------------------------ identity
    @property
    def location(self) -> str:
        """The URI of the library."""
        return self.uri

    @property
    def is_remote(self) -> bool:
        """Always ``True``: queries read this library through Arrow."""
        return True

    @property
    def tasks_dir(self) -> Path:
        """Not available: a remote library has no local directory.

        Raises:
            LibraryError: always; use `files` / `read_tasks` instead.
        """
        raise LibraryError(f"{self.uri} is not on a local disk; use files('tasks') or read_tasks()")

    @property
    def trials_dir(self) -> Path:
        """Not available: a remote library has no local directory.

        Raises:
            LibraryError: always; use `files` / `read_trials` instead.
        """
        raise LibraryError(
            f"{self.uri} is not on a local disk; use files('trials') or read_trials()"
        )

    def __repr__(self) -> str:
        return f"Library({self.uri!r})"

    def _display(self, path: PurePath) -> str:
        try:
            return f"{self.uri}/{PurePosixPath(path).relative_to(self.root)}"
        except ValueError:
            return str(path)

    # ------------------------------------------------------------------ file hooks
    def _listing(self, table: str) -> list[PurePosixPath]:
        directory = f"{self.root}/{table}"
        self.filesystem.invalidate_cache(directory)
        try:
            listed = self.filesystem.ls(directory, detail=False)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise LibraryError(f"cannot list {self.uri}/{table}: {error}") from error
        return [PurePosixPath(name) for name in listed]

    def files(self, table: str = "trials") -> list[PurePath]:
        """Committed part files of ``table`` (paths inside the filesystem), sorted by name."""
        if table not in ("tasks", "trials"):
            raise LibraryError(f"table must be 'tasks' or 'trials', got {table!r}")
        return sorted(path for path in self._listing(table) if fnmatchcase(path.name, _PART_GLOB))

    def _read_file(self, path: PurePath, columns: list[str] | None = None) -> pa.Table:
        with self.filesystem.open(str(path), "rb") as handle:
            return pq.read_table(handle, columns=columns)

    def _read_file_schema(self, path: PurePath) -> pa.Schema:
        with self.filesystem.open(str(path), "rb") as handle:
            return pq.read_schema(handle)

    def _check_writable(self, table_name: str) -> None:
        """Nothing to check cheaply: object stores report permissions only on write, and
        `_write_part` turns that error into a `LibraryError` that leaves no part behind."""

    def _write_part(self, table_name: str, table: pa.Table) -> PurePath:
        final = f"{self.root}/{table_name}/part-{uuid.uuid4().hex}.parquet"
        tmp = final + ".tmp"
        try:
            with self.filesystem.open(tmp, "wb") as handle:
                pq.write_table(table, handle, compression="zstd", compression_level=1)
            self.filesystem.mv(tmp, final)
        except OSError as error:
            self._discard(tmp)
            raise LibraryError(
                f"cannot write to {self.uri}/{table_name}: {error}; check the credentials, "
                "the bucket's permissions and the network"
            ) from error
        except BaseException:
            self._discard(tmp)
            raise
        return PurePosixPath(final)

    def _discard(self, path: str) -> None:
        with contextlib.suppress(OSError):
            self.filesystem.rm_file(path)

    def _remove_parts(self, table_name: str, paths: Sequence[PurePath]) -> None:
        for path in paths:
            try:
                self.filesystem.rm_file(str(path))
            except FileNotFoundError:
                continue
            except OSError as error:
                raise LibraryError(
                    f"cannot delete {self._display(path)}: {error}; its rows are also in the "
                    "merged file, and the next compaction deletes it"
                ) from error

    def _remove_stale_temporaries(self, table_name: str) -> None:
        now = time.time()
        for path in self._listing(table_name):
            if not path.name.endswith(".parquet.tmp"):
                continue
            with contextlib.suppress(OSError, NotImplementedError):
                modified: dt.datetime = self.filesystem.modified(str(path))
                if now - modified.timestamp() > STALE_TMP_S:
                    self.filesystem.rm_file(str(path))

    def _size_of(self, paths: Sequence[PurePath]) -> int:
        size = 0
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                size += int(self.filesystem.size(str(path)) or 0)
        return size

    # ------------------------------------------------------------------ advisory lock
    @contextlib.contextmanager
    def lock(self, *, wait: bool = False) -> Iterator[None]:
        """Hold the advisory library lock (compaction, refresh); appenders never take it.

        Writes ``_lock.json`` (owner, time, a random token) unless a lock younger than an
        hour is there, reads it back after a short pause and holds the lock if the token is
        still its own; deletes it on exit. Best effort only: see the module docstring.

        Raises:
            LibraryLockedError: ``wait=False`` and another holder's lock is there.
        """
        key = f"{self.root}/{_LOCK}"
        token = uuid.uuid4().hex
        while True:
            acquired, holder = self._try_lock(key, token)
            if acquired:
                break
            if not wait:
                owner = holder.get("owner", "an unknown process") if holder else "a writer"
                raise LibraryLockedError(
                    f"{self.uri}/{_LOCK} is held by {owner} (another compaction or refresh); "
                    "retry later, or delete that object if its owner is gone"
                )
            time.sleep(_LOCK_POLL_S)
        try:
            yield
        finally:
            current = self._read_lock(key)
            if current is not None and current.get("token") == token:
                self._discard(key)

    def _read_lock(self, key: str) -> dict[str, Any] | None:
        try:
            text = self.filesystem.cat_file(key)
        except FileNotFoundError:
            return None
        try:
            record = json.loads(text)
        except ValueError:
            return {}  # unreadable: held by someone unknown, until a human removes it
        return record if isinstance(record, dict) else {}

    def _try_lock(self, key: str, token: str) -> tuple[bool, dict[str, Any] | None]:
        self.filesystem.invalidate_cache(str(self.root))
        holder = self._read_lock(key)
        if holder is not None:
            age = time.time() - float(holder.get("acquired_at", time.time()))
            if age < _LOCK_STALE_S:
                return False, holder
            _LOG.warning(
                "taking over the lock of %s from %s, older than %.0f s",
                self.uri,
                holder.get("owner", "an unknown process"),
                _LOCK_STALE_S,
            )
        record = {
            "owner": f"{socket.gethostname()}:{os.getpid()}",
            "token": token,
            "acquired_at": time.time(),
        }
        try:
            self.filesystem.pipe_file(key, json.dumps(record).encode())
        except OSError as error:
            raise LibraryError(f"cannot write the lock {self.uri}/{_LOCK}: {error}") from error
        time.sleep(_LOCK_SETTLE_S)
        current = self._read_lock(key)
        return current is not None and current.get("token") == token, current
