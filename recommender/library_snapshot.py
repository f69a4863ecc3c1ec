"""On-disk snapshots of what `Recommender` reads from a library, one per library.

A `recommend suggest` is a new process each time; without a snapshot each one imports
DuckDB and queries every trial of the library (0.2-0.3 s for LCBench's 330,000 rows, more
than the target GP's fit). A library's part files are immutable and uuid-named (an append
or a compaction adds or replaces files), so the list of its part files, with their sizes
and modification times, names one version of its contents (`library_version`). The rows
`library.evaluation_rows` returned for a version are kept as an Arrow IPC file in the
source-GP cache directory with that version in its metadata, one file per library
(``<32 hex>.arrow``, named by the library's path; pruned by
`recommender.gp_cache.prune_cache` like the other entries): a later process reads it back
instead of querying when the version still matches, and replaces it when it does not. One
per library, not one per version: a search that records every trial makes a new version
each time, and LCBench's snapshot alone is 13 MB.

A library on an fsspec filesystem (`library.RemoteLibrary`) is never snapshotted: listing
its files' sizes costs a round trip each.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pyarrow as pa

from library import Library, TaskEvaluations, evaluation_rows, evaluations_from_rows
from recommender.cache_entry import mark_used, write_atomic

__all__ = ["cached_task_evaluations", "library_version"]

_LOG = logging.getLogger(__name__)
_SNAPSHOT_VERSION = "evaluation-rows-1"  # bump when `evaluation_rows` changes what it reads
_FINGERPRINTS = b"hpws.fingerprints"
_VERSION = b"hpws.library_version"


def _snapshot_path(library: Library, cache_dir: str | Path) -> Path:
    """Where the snapshot of ``library`` lives in ``cache_dir`` (one per library)."""
    where = f"{_SNAPSHOT_VERSION}:{Path(library.root).resolve()}"
    return Path(cache_dir).expanduser() / f"{hashlib.sha256(where.encode()).hexdigest()[:32]}.arrow"


def library_version(library: Library) -> str | None:
    """32 hex digits naming the current contents of ``library``, or ``None`` for a remote
    library (or when a part file vanished while listing: a compaction ran)."""
    if library.is_remote:
        return None
    digest = hashlib.sha256(_SNAPSHOT_VERSION.encode())
    try:
        for table in ("tasks", "trials"):
            for path in library.files(table):
                stat = os.stat(path)
                digest.update(
                    f"\n{table}:{Path(path).name}:{stat.st_size}:{stat.st_mtime_ns}".encode()
                )
    except FileNotFoundError:
        return None
    return digest.hexdigest()[:32]


def _read(path: Path, version: str) -> tuple[pa.Table, dict[str, dict[str, float]]] | None:
    """The snapshot at ``path`` if it is of ``version``, or ``None`` (missing, of another
    version, torn or foreign: queried again)."""
    if not path.is_file():
        return None
    try:
        with pa.OSFile(str(path), "rb") as handle:
            reader = pa.ipc.open_file(handle)
            metadata = reader.schema.metadata or {}
            if metadata.get(_VERSION) != version.encode():
                return None  # the library changed since: replaced by the caller
            rows = reader.read_all()
        fingerprints = json.loads(metadata[_FINGERPRINTS])
    except (OSError, ValueError, KeyError, pa.ArrowInvalid) as error:
        _LOG.info("ignoring library snapshot %s: %s", path, error)
        return None
    mark_used(path)
    return rows.replace_schema_metadata(None), fingerprints


def _write(
    path: Path, version: str, rows: pa.Table, fingerprints: dict[str, dict[str, float]]
) -> None:
    """Write the snapshot (atomically; best effort: an unwritable cache only costs time)."""
    metadata = {_FINGERPRINTS: json.dumps(fingerprints).encode(), _VERSION: version.encode()}
    table = rows.replace_schema_metadata(metadata)

    def write(tmp: Path) -> None:
        with pa.OSFile(str(tmp), "wb") as handle, pa.ipc.new_file(handle, table.schema) as out:
            out.write_table(table)

    try:
        write_atomic(path, write)
    except OSError as error:
        _LOG.info("cannot write library snapshot %s: %s", path, error)


def cached_task_evaluations(
    library: Library, cache_dir: str | Path | None
) -> dict[str, TaskEvaluations]:
    """`library.task_evaluations` (highest fidelity, every task), through a snapshot in
    ``cache_dir`` for this version of the library.

    Args:
        library: the library.
        cache_dir: the source-GP cache directory; ``None`` reads the library directly.

    Returns:
        task_id -> `TaskEvaluations`, equal to `library.task_evaluations`'s.

    Raises:
        EmptyLibraryError: the library holds no trials.
        CorruptFileError: a part file cannot be read.
    """
    version = None if cache_dir is None else library_version(library)
    spaces = library.task_spaces()
    if version is None or cache_dir is None:
        return evaluations_from_rows(*evaluation_rows(library), spaces)
    path = _snapshot_path(library, cache_dir)
    snapshot = _read(path, version)
    if snapshot is None:
        snapshot = evaluation_rows(library)
        if library_version(library) == version:  # no append or compaction meanwhile
            _write(path, version, *snapshot)
    return evaluations_from_rows(*snapshot, spaces)
