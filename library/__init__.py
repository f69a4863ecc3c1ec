"""The trial library: every trial ever run, as immutable Parquet part files read by DuckDB.

Concepts:

* `Library.open(path)` (default ``$HPWS_LIBRARY`` or the user data dir) holds ``tasks/`` and
  ``trials/`` part files; each ``append_*`` call writes one file atomically (temp file,
  fsync, rename) and skips rows whose content hash (`trial_id`) is already stored.
* Parameters are stored typed (``param_<name>`` columns, null when inactive) and as
  canonical JSON (``params_json``), which `trial_id` hashes with task, fidelity and seed.
* Queries (`best_k_per_task`, `task_evaluations`, `trial_counts`, ...) run DuckDB over the
  files; `Library.compact` merges small files while writers keep appending.
* `read_benchmark` / `import_benchmark` read the shared benchmark format (FORMAT.md),
  `write_benchmark` writes it (validated by reading it back before it lands);
  `import_trials` reads CSV / Parquet / JSON lines through a `ColumnMapping`.
* `validate` lists every `Problem`; nothing is repaired silently.
* A URI (``s3://bucket/lib``, ``gs://...``, ``memory://...``) opens the same layout on an
  fsspec filesystem as a `RemoteLibrary` (advisory lock; see `library.remote`).
"""

from library.base import Store
from library.benchmark_writer import benchmark_table, write_benchmark
from library.exceptions import (
    BenchmarkFormatError,
    CorruptFileError,
    EmptyLibraryError,
    LibraryError,
    LibraryLockedError,
    MissingDependencyError,
    SchemaError,
    UnknownTaskError,
    UnsupportedStorageError,
)
from library.export import export_table
from library.importers import (
    Benchmark,
    ColumnMapping,
    ImportResult,
    import_benchmark,
    import_trials,
    library_task_id,
    read_benchmark,
)
from library.memory import InMemoryStore
from library.provenance import code_version, environment, environment_json, hardware
from library.query import (
    TaskEvaluations,
    best_k_per_task,
    evaluation_rows,
    evaluations_from_rows,
    metric_column,
    metric_values,
    task_evaluations,
    task_fingerprints,
    task_summary,
    trial_counts,
    trials_of_task,
)
from library.refresh import (
    DEFAULT_MAPPING,
    FileOutcome,
    RefreshExitCode,
    RefreshReport,
    StudyFileResult,
    StudyImporter,
    featurize_reference,
    file_reference,
    load_dataset_reference,
    refresh,
)
from library.remote import RemoteLibrary
from library.schema import (
    SCHEMA_VERSION,
    TASKS_SCHEMA,
    TRIALS_BASE_SCHEMA,
    Direction,
    TrialStatus,
    canonical_params_json,
    trial_id,
)
from library.store import AppendResult, CompactionResult, Library, default_library_path
from library.validate import Problem, validate

__all__ = [
    "SCHEMA_VERSION",
    "TASKS_SCHEMA",
    "TRIALS_BASE_SCHEMA",
    "Direction",
    "TrialStatus",
    "canonical_params_json",
    "trial_id",
    "Library",
    "RemoteLibrary",
    "Store",
    "InMemoryStore",
    "AppendResult",
    "CompactionResult",
    "default_library_path",
    "TaskEvaluations",
    "best_k_per_task",
    "evaluation_rows",
    "evaluations_from_rows",
    "metric_column",
    "metric_values",
    "task_evaluations",
    "task_fingerprints",
    "task_summary",
    "trial_counts",
    "trials_of_task",
    "Problem",
    "validate",
    "Benchmark",
    "ColumnMapping",
    "import_benchmark",
    "import_trials",
    "read_benchmark",
    "benchmark_table",
    "write_benchmark",
    "ImportResult",
    "library_task_id",
    "export_table",
    "environment",
    "environment_json",
    "hardware",
    "code_version",
    "BenchmarkFormatError",
    "CorruptFileError",
    "EmptyLibraryError",
    "LibraryError",
    "LibraryLockedError",
    "MissingDependencyError",
    "SchemaError",
    "UnknownTaskError",
    "UnsupportedStorageError",
    "DEFAULT_MAPPING",
    "FileOutcome",
    "RefreshExitCode",
    "RefreshReport",
    "StudyFileResult",
    "StudyImporter",
    "featurize_reference",
    "file_reference",
    "load_dataset_reference",
    "refresh",
]
