"""On-disk snapshots of what `Recommender` reads from a library, one per library version.

A `recommend suggest` is a new process each time; without a snapshot each one imports
DuckDB and queries every trial of the library (0.2-0.3 s for LCBench's 330,000 rows, more
than the target GP's fit). A library's part files are immutable and uuid-named (an append
or a compaction adds or replaces files), so the list of its part files, with their sizes
and modification times, names one version of its contents: the snapshot of the rows
`library.evaluation_rows` returned for that version is an Arrow IPC file in the source-GP
cache directory (``<32 hex>.arrow``, pruned by `recommender.gp_cache.prune_cache` like the
other entries), and a later process reads it back instead of querying.

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


def library_version(library: Library) -> str | None:
    """32 hex digits naming the current contents of ``library``, or ``None`` for a remote
    library (or when a part file vanished while listing: a compaction ran)."""
    if library.is_remote:
        return None
    digest = hashlib.sha256(_SNAPSHOT_VERSION.encode())
    digest.update(str(Path(library.root).resolve()).encode())
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


def _read(path: Path) -> tuple[pa.Table, dict[str, dict[str, float]]] | None:
    """The snapshot at ``path``, or ``None`` (missing, torn or foreign: queried again)."""
    if not path.is_file():
        return None
    try:
        with pa.OSFile(str(path), "rb") as handle:
            rows = pa.ipc.open_file(handle).read_all()
        fingerprints = json.loads((rows.schema.metadata or {})[_FINGERPRINTS])
    except (OSError, ValueError, KeyError, pa.ArrowInvalid) as error:
        _LOG.info("ignoring library snapshot %s: %s", path, error)
        return None
    mark_used(path)
    return rows.replace_schema_metadata(None), fingerprints


def _write(path: Path, rows: pa.Table, fingerprints: dict[str, dict[str, float]]) -> None:
    """Write the snapshot (atomically; best effort: an unwritable cache only costs time)."""
    table = rows.replace_schema_metadata({_FINGERPRINTS: json.dumps(fingerprints)})

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
    path = Path(cache_dir).expanduser() / f"{version}.arrow"
    snapshot = _read(path)
    if snapshot is None:
        snapshot = evaluation_rows(library)
        if library_version(library) == version:  # no append or compaction meanwhile
            _write(path, *snapshot)
    return evaluations_from_rows(*snapshot, spaces)
