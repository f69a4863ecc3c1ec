"""The trial library: Parquet part files queried through DuckDB."""

from library.base import Store
from library.exceptions import (
    BenchmarkFormatError,
    CorruptFileError,
    EmptyLibraryError,
    LibraryError,
    LibraryLockedError,
    SchemaError,
    UnknownTaskError,
)
from library.importers import (
    Benchmark,
    ColumnMapping,
    import_benchmark,
    import_trials,
    read_benchmark,
)
from library.memory import InMemoryStore
from library.query import (
    TaskEvaluations,
    best_k_per_task,
    task_evaluations,
    task_fingerprints,
    trial_counts,
    trials_of_task,
)
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
    "Store",
    "InMemoryStore",
    "AppendResult",
    "CompactionResult",
    "default_library_path",
    "TaskEvaluations",
    "best_k_per_task",
    "task_evaluations",
    "task_fingerprints",
    "trial_counts",
    "trials_of_task",
    "Problem",
    "validate",
    "Benchmark",
    "ColumnMapping",
    "import_benchmark",
    "import_trials",
    "read_benchmark",
    "BenchmarkFormatError",
    "CorruptFileError",
    "EmptyLibraryError",
    "LibraryError",
    "LibraryLockedError",
    "SchemaError",
    "UnknownTaskError",
]
