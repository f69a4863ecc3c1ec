"""Import every study of an Optuna storage file: the drop-folder `StudyImporter`.

`import_study_file` is what ``recommend refresh`` passes to `library.refresh.refresh` as
its ``study_importer``. It reads a SQLite RDB storage (``*.db``, ``*.sqlite``,
``*.sqlite3``) or a `JournalStorage` file (``*.journal``, ``*.optuna.log``) and imports
each study with `recommender.integrations.optuna.import_study` (task ``optuna/<study
name>``, idempotent). Studies that cannot be imported are skipped with their reason.

Optuna is an optional extra, so this module imports it only when called: without it every
study file raises `MissingDependencyError`, which `refresh` turns into a quarantine.

Example:
    >>> refresh(Library.open("~/hpws"), drop_dir="drop", study_importer=import_study_file)  # doctest: +SKIP
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from library.exceptions import (
    CorruptFileError,
    MissingDependencyError,
    SchemaError,
    SpaceError,
)
from library.refresh import StudyFileResult
from library.store import Library

__all__ = ["import_study_file"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_SQLITE_MAGIC = b"SQLite format 3\x00"


def import_study_file(library: Library, path: Path) -> StudyFileResult:
    """Import every study of one Optuna storage file into ``library``.

    A study that cannot be imported (multi-objective, a distribution the recommender
    cannot represent, no finished trial with parameters) is skipped and named in
    `StudyFileResult.skipped`; the others are imported. Running it again on the same file
    writes nothing.

    Args:
        library: the library to write to.
        path: a SQLite storage (``*.db``, ``*.sqlite``, ``*.sqlite3``) or any other file,
            read as a `JournalStorage` file.

    Returns:
        The `StudyFileResult`.

    Raises:
        MissingDependencyError: Optuna is not installed.
        CorruptFileError: the file is not a readable Optuna storage.
    """
    try:
        import optuna
    except ImportError as error:
        raise MissingDependencyError(
            "install optuna to ingest Optuna studies (`pip install 'hp-warmstart[optuna]'`)",
            package="optuna",
            extra="optuna",
        ) from error
    from recommender.integrations.optuna import import_study

    storage = _open_storage(path)
    task_ids: list[str] = []
    skipped: dict[str, str] = {}
    n_trials = n_written = 0
    try:
        try:
            summaries = optuna.get_all_study_summaries(storage)
        except Exception as error:  # optuna raises many types (sqlalchemy, json, KeyError)
            raise CorruptFileError(
                f"cannot read the Optuna storage {path.name}: {error}"
            ) from error
        for name in sorted(summary.study_name for summary in summaries):
            study = optuna.load_study(study_name=name, storage=storage)
            try:
                result = import_study(library, study)
            except (SpaceError, SchemaError) as error:
                skipped[name] = f"{type(error).__name__}: {error}"
                continue
            task_ids.append(result.task_id)
            n_trials += result.n_trials
            n_written += result.n_written
    finally:
        if isinstance(storage, optuna.storages.RDBStorage):
            storage.engine.dispose()  # release the file before refresh moves it
    return StudyFileResult(
        task_ids=tuple(task_ids), n_trials=n_trials, n_written=n_written, skipped=skipped
    )


def _open_storage(path: Path) -> Any:
    """An Optuna storage reading ``path``, checked before Optuna may write to it.

    A SQLite file must already hold Optuna's ``studies`` table: `RDBStorage` would
    otherwise create its tables in any database it opens.

    Raises:
        CorruptFileError: not a SQLite database, or one without Optuna tables.
    """
    if path.suffix.lower() not in _SQLITE_SUFFIXES:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        try:
            return JournalStorage(JournalFileBackend(str(path)))
        except Exception as error:  # replaying a damaged journal raises many types
            raise CorruptFileError(
                f"{path.name} is not a readable Optuna journal: {error}"
            ) from error
    with open(path, "rb") as handle:
        header = handle.read(len(_SQLITE_MAGIC))
    if header != _SQLITE_MAGIC:
        raise CorruptFileError(
            f"{path.name} is not a SQLite database (bad header); drop an Optuna RDB "
            "storage as *.db, or a journal file as *.journal / *.optuna.log"
        )
    try:
        connection = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'studies'"
            ).fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise CorruptFileError(f"{path.name} is a damaged SQLite database: {error}") from error
    if found is None:
        raise CorruptFileError(f"{path.name} is a SQLite database without Optuna tables")
    import optuna

    try:
        return optuna.storages.RDBStorage(f"sqlite:///{path.resolve()}")
    except Exception as error:  # e.g. a schema from another Optuna version (RuntimeError)
        raise CorruptFileError(
            f"cannot open the Optuna storage {path.name}: {error}; if it was written by "
            "another Optuna version, run `optuna storage upgrade` on a copy"
        ) from error
