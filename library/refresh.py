"""The nightly refresh: ingest a drop folder, re-featurize stale tasks, compact, validate.

`refresh` is what ``recommend refresh`` (and a cron job or systemd timer, see
``docs/refresh.md``) runs. Under the library lock it:

1. finishes an interrupted compaction or task rewrite of an earlier, killed run;
2. ingests the **drop folder** (if given), task files first, then trial files, then Optuna
   study files, each in name order. An ingested file (and its sidecar) moves to
   ``<drop>/done/``; a file that cannot be ingested moves to ``<drop>/quarantine/`` next to
   ``<file>.reason.txt`` and the rest goes on;
3. re-featurizes tasks whose ``featurizer_version`` differs from
   `featurizers.FEATURIZER_VERSION`, when the task records where its data lives (see
   *Dataset references*), else lists it under ``cannot_refeaturize``;
4. compacts (which also drops duplicate trials written by racing appenders);
5. validates, and returns a `RefreshReport` (JSON via `RefreshReport.to_json`).

**Drop-folder convention.**

* ``*.tasks.jsonl``: one task per line, as a dict for `Library.append_tasks` (``space``
  may be a space.json dict). Tasks already in the library are skipped (task rows are
  immutable; only re-featurizing rewrites them).
* ``*.csv`` / ``*.parquet`` / ``*.jsonl`` / ``*.ndjson``: trial files read by
  `library.import_trials` with `DEFAULT_MAPPING`: ``task_id``, ``objective`` (maximised),
  one ``param_<name>`` column per hyperparameter, and, when present, ``seed``,
  ``fidelity``, ``status`` and ``runtime_s`` columns. Unknown task ids get a bare task row.
* ``<trial file>.mapping.json`` (optional sidecar): `ColumnMapping` fields overriding the
  defaults, e.g. ``{"objective": "val_loss", "direction": "minimize", "metrics": ["time"]}``.
* ``*.db`` / ``*.sqlite`` / ``*.sqlite3`` (an Optuna RDB storage in SQLite) and
  ``*.journal`` / ``*.optuna.log`` (an Optuna `JournalStorage` file): **study files**, see
  *Optuna studies*.
* Anything else (``*.tmp``, dot files, ``*.reason.txt``, sub-directories) is left alone.

**Optuna studies.** Every study in a study file becomes (or adds trials to) the task
``optuna/<study name>``. A study that cannot be imported (multi-objective, a distribution
the recommender cannot represent, no finished trial) is skipped and listed in
`FileOutcome.skipped`; the file moves to ``done/`` when at least one of its studies was
imported, else to ``quarantine/`` with every study's reason. A file that is not a readable
Optuna storage is quarantined, and so is every study file when Optuna is not installed
(reason: install optuna to ingest Optuna studies). Copy a *closed* storage in under a
temporary name (``x.db.tmp``) and rename it, as for the other files.

Reading studies needs Optuna and the recommender's `Space` (both above this package), so
`refresh` does not import them: the caller passes a `StudyImporter` (``recommend refresh``
passes `recommender.integrations.optuna_files.import_study_file`). Without one, study files
stay in the drop folder untouched and are reported with status ``"skipped"``, so a later
run that has an importer ingests them. Likewise warming the recommender's source-GP cache
is not a library step: ``recommend refresh`` calls `recommender.gp_cache.warm_cache` after
`refresh` returns.

**Dataset references.** A task whose ``source`` is ``"dataset:<reference>"`` can be
re-featurized. References: ``builtin:<name>?max_rows=<n>&seed=<s>`` (a
`featurizers.iter_builtin_datasets` dataset, subsampled by `load_dataset_reference`) and
``file:<path>?target=<column>`` (a CSV/Parquet file; `file_reference` writes one, and the
runner records one for each run's task).

**Safety.** Every step is idempotent: appends skip rows already stored (content-hashed
``trial_id``), files move only after their rows are durable, and a second run with nothing
new changes no byte of the library. Killing a refresh at any point and rerunning it
completes the work and loses nothing. A concurrent refresh or compaction makes `refresh`
raise `LibraryLockedError` at once (``recommend refresh`` exits with code 4).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import numpy as np
import pyarrow as pa

from library.exceptions import (
    BenchmarkFormatError,
    CorruptFileError,
    FeaturizeError,
    LibraryError,
    MissingDependencyError,
    SchemaError,
    SpaceError,
    UnknownTaskError,
)
from library.importers import ColumnMapping, import_trials, read_trials_file
from library.store import Library

if TYPE_CHECKING:
    import pandas as pd

    from featurizers.fingerprint import Fingerprint

__all__ = [
    "DEFAULT_MAPPING",
    "RefreshExitCode",
    "FileOutcome",
    "RefreshReport",
    "StudyFileResult",
    "StudyImporter",
    "refresh",
    "load_dataset_reference",
    "featurize_reference",
    "file_reference",
]

_LOG = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
Featurize = Callable[[str], "Fingerprint"]

#: Mapping applied to every trial file without a ``.mapping.json`` sidecar.
DEFAULT_MAPPING = ColumnMapping(objective="objective", direction="maximize")
_OPTIONAL_COLUMNS = ("seed", "fidelity", "status", "runtime_s")
_TRIAL_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson")
_TASKS_SUFFIX = ".tasks.jsonl"
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_JOURNAL_SUFFIXES = (".journal", ".optuna.log")
_MAPPING_SUFFIX = ".mapping.json"
_REASON_SUFFIX = ".reason.txt"
_DATASET_PREFIX = "dataset:"
# errors that say "this file is bad" (quarantine it); others (disk full, lock) abort the run
_BAD_FILE_ERRORS = (
    SchemaError,
    CorruptFileError,
    SpaceError,
    UnknownTaskError,
    BenchmarkFormatError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    MissingDependencyError,
)


class RefreshExitCode(IntEnum):
    """Exit codes of ``recommend refresh``."""

    OK = 0
    ERROR = 1
    VALIDATION_FAILED = 3
    LOCKED = 4


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What happened to one drop-folder file.

    Attributes:
        name: file name (relative to the drop folder).
        kind: ``"tasks"``, ``"trials"`` or ``"study"`` (an Optuna storage).
        status: ``"ingested"``, ``"quarantined"`` or ``"skipped"`` (a study file left in
            place because `refresh` was given no `StudyImporter`).
        n_rows: rows read (0 when quarantined).
        n_written: rows new to the library.
        n_duplicates: rows already stored.
        reason: why it was quarantined or skipped, else ``None``.
        task_ids: study files: the library tasks of the imported studies.
        skipped: study files: ``{study name: reason}`` for studies not imported.
    """

    name: str
    kind: str
    status: str
    n_rows: int = 0
    n_written: int = 0
    n_duplicates: int = 0
    reason: str | None = None
    task_ids: tuple[str, ...] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StudyFileResult:
    """What a `StudyImporter` wrote from one Optuna storage file.

    Attributes:
        task_ids: library task of each imported study, in study-name order.
        n_trials: finished trials read from the imported studies.
        n_written: trials new to the library.
        skipped: ``{study name: reason}`` for studies that could not be imported.
    """

    task_ids: tuple[str, ...]
    n_trials: int
    n_written: int
    skipped: Mapping[str, str] = field(default_factory=dict)


#: ``importer(library, path) -> StudyFileResult``: import every study of one storage file.
#: It raises `CorruptFileError` (or another of the bad-file errors: `SchemaError`,
#: `MissingDependencyError`, ...) when the file as a whole cannot be read, and must be
#: idempotent: importing the same file again writes nothing.
StudyImporter = Callable[[Library, Path], StudyFileResult]


@dataclass(frozen=True, slots=True)
class RefreshReport:
    """Everything one `refresh` did.

    Attributes:
        library: library root.
        drop_dir: drop folder, or ``None``.
        started_at: UTC start time, ISO 8601.
        duration_s: wall time in seconds.
        files: one `FileOutcome` per drop-folder file handled.
        refeaturized: ids of tasks whose fingerprint was recomputed.
        cannot_refeaturize: ``{task_id: reason}`` for stale tasks left as they were.
        compaction: per table, files merged and duplicate rows dropped.
        problems: validation problems as ``{"kind", "where", "detail"}`` dicts.
        stats: `Library.stats` after the refresh.
    """

    library: str
    drop_dir: str | None
    started_at: str
    duration_s: float
    files: tuple[FileOutcome, ...] = ()
    refeaturized: tuple[str, ...] = ()
    cannot_refeaturize: Mapping[str, str] = field(default_factory=dict)
    compaction: tuple[Mapping[str, Any], ...] = ()
    problems: tuple[Mapping[str, str], ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_ingested(self) -> int:
        """Files ingested."""
        return sum(outcome.status == "ingested" for outcome in self.files)

    @property
    def n_quarantined(self) -> int:
        """Files quarantined."""
        return sum(outcome.status == "quarantined" for outcome in self.files)

    @property
    def n_skipped(self) -> int:
        """Study files left in the drop folder (no `StudyImporter` given)."""
        return sum(outcome.status == "skipped" for outcome in self.files)

    @property
    def n_trials_written(self) -> int:
        """Trials new to the library (from trial and study files)."""
        return sum(o.n_written for o in self.files if o.kind in ("trials", "study"))

    @property
    def n_tasks_written(self) -> int:
        """Tasks new to the library (from task files; bare tasks are not counted)."""
        return sum(o.n_written for o in self.files if o.kind == "tasks")

    @property
    def exit_code(self) -> RefreshExitCode:
        """`RefreshExitCode.VALIDATION_FAILED` when validation found problems, else OK."""
        return RefreshExitCode.VALIDATION_FAILED if self.problems else RefreshExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (with the derived counts)."""
        payload = dataclasses.asdict(self)
        payload["cannot_refeaturize"] = dict(self.cannot_refeaturize)
        for outcome in payload["files"]:
            outcome["skipped"] = dict(outcome["skipped"])
        payload.update(
            n_ingested=self.n_ingested,
            n_quarantined=self.n_quarantined,
            n_skipped=self.n_skipped,
            n_trials_written=self.n_trials_written,
            n_tasks_written=self.n_tasks_written,
            exit_code=int(self.exit_code),
        )
        return payload

    def to_json(self) -> str:
        """`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=True, default=str)


# ---------------------------------------------------------------------- dataset references
def _parse_reference(reference: str) -> tuple[str, str, dict[str, str]]:
    scheme, _, rest = reference.partition(":")
    target, _, query = rest.partition("?")
    options = {key: values[-1] for key, values in parse_qs(query).items()}
    if scheme not in ("builtin", "file") or not target:
        raise FeaturizeError(
            f"dataset reference {reference!r} is not 'builtin:<name>?...' or "
            "'file:<path>?target=<column>'"
        )
    return scheme, target, options


def file_reference(path: str | Path, target: str) -> str:
    """The task ``source`` of a task on a CSV/Parquet file: ``dataset:file:<absolute
    path>?target=<column>``, a dataset reference `refresh` can re-featurize.

    Args:
        path: the data file (made absolute).
        target: its target column (percent-encoded in the reference).

    Raises:
        FeaturizeError: the absolute path holds a ``?``, which would end the path early.
    """
    resolved = str(Path(path).expanduser().resolve())
    if "?" in resolved:
        raise FeaturizeError(f"{resolved!r}: a dataset reference cannot hold '?' in its path")
    return f"{_DATASET_PREFIX}file:{resolved}?{urlencode({'target': target})}"


def load_dataset_reference(reference: str) -> tuple[pd.DataFrame, np.ndarray, str | None]:
    """Load the data a dataset reference points to.

    Args:
        reference: ``builtin:<name>[?max_rows=<n>&seed=<s>]`` (rows subsampled uniformly
            without replacement by ``np.random.default_rng(seed)``, kept in order) or
            ``file:<path>?target=<column>``.

    Returns:
        ``(features, target, task kind or None when unknown)``.

    Raises:
        FeaturizeError: an unknown or unavailable dataset, a missing file or target.
    """
    import pandas as pd

    scheme, target_name, options = _parse_reference(reference)
    if scheme == "file":
        path = Path(target_name)
        column = options.get("target")
        if column is None or not path.is_file():
            raise FeaturizeError(f"{reference!r}: file missing or no ?target=<column> given")
        frame = pd.read_parquet(path) if path.suffix in (".parquet", ".pq") else pd.read_csv(path)
        if column not in frame.columns:
            raise FeaturizeError(f"{reference!r}: column {column!r} not in {path}")
        return frame.drop(columns=[column]), frame[column].to_numpy(), None
    from featurizers import iter_builtin_datasets

    source = target_name.split("/", 1)[0]
    keel_types = ("imbalanced",) if source == "keel-imb" else ("balanced",)
    package = "keel" if source == "keel-imb" else source
    if package not in ("sklearn", "keel", "statsmodels"):
        raise FeaturizeError(f"{reference!r}: unknown builtin source {source!r}")
    for dataset in iter_builtin_datasets(sources=(package,), keel_types=keel_types):
        if dataset.name != target_name:
            continue
        features = dataset.features.reset_index(drop=True)
        target = np.asarray(dataset.target)
        max_rows = int(options.get("max_rows", 0) or 0)
        if max_rows and len(features) > max_rows:
            rng = np.random.default_rng(int(options.get("seed", 0)))
            rows = np.sort(rng.choice(len(features), max_rows, replace=False))
            features, target = features.iloc[rows].reset_index(drop=True), target[rows]
        return features, target, dataset.task
    raise FeaturizeError(f"{reference!r}: dataset not available (is its package installed?)")


def featurize_reference(reference: str) -> Fingerprint:
    """Fingerprint the data of a dataset reference with `featurizers.featurize_dataset`.

    Args:
        reference: see `load_dataset_reference`; its ``seed`` option also seeds the
            featurizer.

    Raises:
        FeaturizeError: the data cannot be loaded or fingerprinted.
    """
    from featurizers import featurize_dataset

    features, target, kind = load_dataset_reference(reference)
    seed = int(_parse_reference(reference)[2].get("seed", 0))
    return featurize_dataset(features, y=target, task=kind, seed=seed)


# ---------------------------------------------------------------------- the refresh
def refresh(
    library: Library,
    *,
    drop_dir: str | Path | None = None,
    featurize: Featurize | None = None,
    create_tasks: bool = True,
    study_importer: StudyImporter | None = None,
    progress: Progress | None = None,
) -> RefreshReport:
    """Run the nightly maintenance of ``library`` (see the module docstring).

    Args:
        library: the library to maintain.
        drop_dir: folder of new task/trial files; ``None`` skips ingestion.
        featurize: ``reference -> Fingerprint`` used to re-featurize stale tasks
            (default `featurize_reference`).
        create_tasks: give trial files' unknown task ids a bare task row (else such a
            file is quarantined).
        study_importer: imports the Optuna study files of the drop folder (see *Optuna
            studies* in the module docstring); ``None`` leaves them in place, reported as
            ``"skipped"``.
        progress: optional ``callback(stage, done, total)``.

    Returns:
        The `RefreshReport`; ``report.exit_code`` is 3 when validation found problems.

    Raises:
        LibraryLockedError: another refresh or compaction holds the library lock.
        LibraryError: the library or the drop folder cannot be read or written.
    """
    from library.validate import validate

    started = time.perf_counter()
    started_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    drop = Path(drop_dir).expanduser() if drop_dir is not None else None
    if drop is not None and not drop.is_dir():
        raise LibraryError(f"drop folder {drop} does not exist; create it or fix --drop")
    library._check_writable("tasks")
    library._check_writable("trials")
    with library.lock(wait=False):
        for table in ("tasks", "trials"):
            _finish_interrupted(library, table)
        outcomes = _ingest(library, drop, create_tasks, study_importer, progress) if drop else []
        refeaturized, cannot = _refeaturize(library, featurize or featurize_reference, progress)
        compaction = [
            {
                "table": result.table,
                "n_files_merged": result.n_files_merged,
                "n_duplicates_dropped": result.n_duplicates_dropped,
            }
            for result in (
                library._compact_table(table, 2, progress) for table in ("tasks", "trials")
            )
        ]
        problems = [
            {"kind": p.kind, "where": p.where, "detail": p.detail} for p in validate(library)
        ]
        stats = library.stats()
    return RefreshReport(
        library=library.location,
        drop_dir=str(drop) if drop is not None else None,
        started_at=started_at,
        duration_s=time.perf_counter() - started,
        files=tuple(outcomes),
        refeaturized=tuple(refeaturized),
        cannot_refeaturize=cannot,
        compaction=tuple(compaction),
        problems=tuple(problems),
        stats=stats,
    )


def _finish_interrupted(library: Library, table: str) -> None:
    """`Library._finish_interrupted`, listed again when it trips over a file it deleted.

    The store's version reads the schema of every listed file while deleting merged
    inputs, so a merged file that sorts before its inputs makes it raise
    `FileNotFoundError` on an input it has just removed; listing again completes it.
    """
    for _attempt in range(len(library.files(table)) + 1):
        try:
            library._finish_interrupted(table)
            return
        except FileNotFoundError:
            continue
    library._finish_interrupted(table)


def _is_study_file(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(_SQLITE_SUFFIXES) or lowered.endswith(_JOURNAL_SUFFIXES)


def _drop_files(drop: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """Task, trial and study files of the drop folder, each list in name order."""
    tasks, trials, studies = [], [], []
    for path in sorted(drop.iterdir()):
        name = path.name
        if not path.is_file() or name.startswith(".") or name.endswith((".tmp", _REASON_SUFFIX)):
            continue
        if name.endswith(_TASKS_SUFFIX):
            tasks.append(path)
        elif name.endswith(_MAPPING_SUFFIX):
            continue
        elif path.suffix.lower() in _TRIAL_SUFFIXES:
            trials.append(path)
        elif _is_study_file(name):
            studies.append(path)
    return tasks, trials, studies


def _ingest(
    library: Library,
    drop: Path,
    create_tasks: bool,
    study_importer: StudyImporter | None,
    progress: Progress | None,
) -> list[FileOutcome]:
    tasks, trials, studies = _drop_files(drop)
    kinds = {**dict.fromkeys(tasks, "tasks"), **dict.fromkeys(trials, "trials")}
    kinds.update(dict.fromkeys(studies, "study"))
    readers: dict[str, Callable[[Path], dict[str, Any]]] = {
        "tasks": functools.partial(_ingest_tasks_file, library),
        "trials": functools.partial(_ingest_trials_file, library, create_tasks=create_tasks),
    }
    if study_importer is not None:
        readers["study"] = functools.partial(_ingest_study_file, study_importer, library)
    outcomes: list[FileOutcome] = []
    for index, (path, kind) in enumerate(kinds.items()):
        sidecar = path.with_name(path.name + _MAPPING_SUFFIX)
        if kind not in readers:
            reason = "no study importer given; `recommend refresh` ingests Optuna studies"
            _LOG.warning("leaving %s in the drop folder: %s", path.name, reason)
            outcomes.append(FileOutcome(path.name, kind, "skipped", reason=reason))
            continue
        try:
            counts = readers[kind](path)
        except _BAD_FILE_ERRORS as error:
            reason = f"{type(error).__name__}: {error}"
            _LOG.warning("quarantining %s: %s", path.name, reason)
            _quarantine(drop, path, sidecar, reason)
            outcomes.append(FileOutcome(path.name, kind, "quarantined", reason=reason))
        else:
            _move(path, drop / "done")
            if sidecar.exists():
                _move(sidecar, drop / "done")
            outcomes.append(FileOutcome(path.name, kind, "ingested", **counts))
        if progress is not None:
            progress("ingesting drop folder", index + 1, len(kinds))
    return outcomes


def _ingest_tasks_file(library: Library, path: Path) -> dict[str, Any]:
    result = library.append_tasks(_read_tasks_file(path))
    return {
        "n_rows": result.n_input,
        "n_written": result.n_written,
        "n_duplicates": result.n_duplicates,
    }


def _ingest_trials_file(library: Library, path: Path, *, create_tasks: bool) -> dict[str, Any]:
    mapping = _mapping_for(path, path.with_name(path.name + _MAPPING_SUFFIX))
    result = import_trials(library, path, mapping=mapping, create_tasks=create_tasks)
    return {
        "n_rows": result.n_input,
        "n_written": result.n_written,
        "n_duplicates": result.n_duplicates,
    }


def _ingest_study_file(importer: StudyImporter, library: Library, path: Path) -> dict[str, Any]:
    result = importer(library, path)
    if not result.task_ids:
        raise SchemaError(_no_study_imported(result.skipped))
    return {
        "n_rows": result.n_trials,
        "n_written": result.n_written,
        "n_duplicates": result.n_trials - result.n_written,
        "task_ids": tuple(result.task_ids),
        "skipped": dict(result.skipped),
    }


def _no_study_imported(skipped: Mapping[str, str]) -> str:
    if not skipped:
        return "the Optuna storage holds no study"
    reasons = "; ".join(f"{name}: {reason}" for name, reason in sorted(skipped.items()))
    return f"no study of the Optuna storage could be imported ({reasons})"


def _read_tasks_file(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict):
            raise SchemaError(f"line {number} of {path.name} is not a JSON object")
        rows.append(row)
    if not rows:
        raise SchemaError(f"task file {path.name} holds no tasks")
    return rows


def _mapping_for(path: Path, sidecar: Path) -> ColumnMapping:
    """`DEFAULT_MAPPING` plus the optional columns the file has, overridden by the sidecar."""
    columns = set(read_trials_file(path).column_names)
    fields: dict[str, Any] = {name: name for name in _OPTIONAL_COLUMNS if name in columns}
    if sidecar.exists():
        overrides = json.loads(sidecar.read_text(encoding="utf-8"))
        allowed = {f.name for f in dataclasses.fields(ColumnMapping)}
        if not isinstance(overrides, dict) or set(overrides) - allowed:
            raise SchemaError(
                f"{sidecar.name}: expected an object with keys among {sorted(allowed)}"
            )
        for key in ("parameters", "metrics"):
            if overrides.get(key) is not None:
                overrides[key] = tuple(overrides[key])
        fields.update(overrides)
    return dataclasses.replace(DEFAULT_MAPPING, **fields)


def _unique_target(directory: Path, name: str) -> Path:
    target = directory / name
    counter = 1
    while target.exists():
        target = directory / f"{name}.{counter}"
        counter += 1
    return target


def _move(path: Path, directory: Path) -> None:
    directory.mkdir(exist_ok=True)
    os.replace(path, _unique_target(directory, path.name))


def _quarantine(drop: Path, path: Path, sidecar: Path, reason: str) -> None:
    directory = drop / "quarantine"
    directory.mkdir(exist_ok=True)
    target = _unique_target(directory, path.name)
    note = target.with_name(target.name + _REASON_SUFFIX)
    tmp = note.with_name(note.name + ".tmp")
    tmp.write_text(reason + "\n", encoding="utf-8")
    os.replace(tmp, note)
    os.replace(path, target)
    if sidecar.exists():
        os.replace(sidecar, target.with_name(target.name + _MAPPING_SUFFIX))


def _refeaturize(
    library: Library, featurize: Featurize, progress: Progress | None
) -> tuple[list[str], dict[str, str]]:
    """Recompute stale fingerprints; rewrite the tasks table once if any changed."""
    from featurizers import FEATURIZER_VERSION

    tasks = library.read_tasks()
    versions = tasks["featurizer_version"].to_pylist()
    stale = [
        index
        for index, version in enumerate(versions)
        if version is not None and version != FEATURIZER_VERSION
    ]
    if not stale:
        return [], {}
    ids, sources = tasks["task_id"].to_pylist(), tasks["source"].to_pylist()
    names = tasks["fingerprint_names"].to_pylist()
    values = tasks["fingerprint_values"].to_pylist()
    new_versions = list(versions)
    done: list[str] = []
    cannot: dict[str, str] = {}
    for count, index in enumerate(stale):
        source = sources[index] or ""
        if not source.startswith(_DATASET_PREFIX):
            cannot[ids[index]] = "cannot refeaturize: no dataset reference recorded in source"
            continue
        try:
            fingerprint = featurize(source[len(_DATASET_PREFIX) :])
        except FeaturizeError as error:
            cannot[ids[index]] = f"cannot refeaturize: {error}"
            continue
        names[index] = list(fingerprint.names)
        values[index] = [float(v) for v in fingerprint.values]
        new_versions[index] = fingerprint.version
        done.append(ids[index])
        if progress is not None:
            progress("re-featurizing stale tasks", count + 1, len(stale))
    if done:
        updated = (
            tasks.set_column(
                tasks.schema.get_field_index("fingerprint_names"),
                "fingerprint_names",
                pa.array(names, tasks.schema.field("fingerprint_names").type),
            )
            .set_column(
                tasks.schema.get_field_index("fingerprint_values"),
                "fingerprint_values",
                pa.array(values, tasks.schema.field("fingerprint_values").type),
            )
            .set_column(
                tasks.schema.get_field_index("featurizer_version"),
                "featurizer_version",
                pa.array(new_versions, pa.string()),
            )
        )
        _rewrite_tasks(library, updated)
    return done, cannot


def _rewrite_tasks(library: Library, tasks: pa.Table) -> None:
    """Replace every task part file by one file holding ``tasks`` (crash-safe).

    Uses the compaction protocol: the new file records the names of the files it replaces,
    so if the process dies before deleting them, the next compaction or refresh does.
    """
    from library.store import _COMPACTED_FROM, _first_per_id

    inputs = library.files("tasks")
    tasks = _first_per_id(tasks, "task_id")
    metadata = dict(tasks.schema.metadata or {})
    metadata[_COMPACTED_FROM] = json.dumps([path.name for path in inputs]).encode()
    library._write_part("tasks", tasks.replace_schema_metadata(metadata))
    library._remove_parts("tasks", inputs)
