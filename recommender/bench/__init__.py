"""Transfer benchmark harness: leave-one-task-out on any directory in the shared format."""

from recommender.bench.goals import GoalCheck, check_goals
from recommender.bench.harness import (
    REPORT_BUDGETS,
    BenchConfig,
    machine_info,
    run_transfer_benchmark,
    single_threaded,
    summarise_runs,
    write_script_results,
)
from recommender.bench.methods import METHODS
from recommender.bench.problem import (
    SourceData,
    normalized_regret,
    perturb_sources,
)
from recommender.bench.report import markdown_table, plot_regret, write_results
from recommender.bench.synthetic import (
    ConditionalTask,
    conditional_outlier_tasks,
    conditional_tasks,
    write_conditional_benchmark,
)

__all__ = [
    "METHODS",
    "REPORT_BUDGETS",
    "BenchConfig",
    "GoalCheck",
    "SourceData",
    "check_goals",
    "ConditionalTask",
    "conditional_outlier_tasks",
    "conditional_tasks",
    "machine_info",
    "write_script_results",
    "markdown_table",
    "normalized_regret",
    "perturb_sources",
    "plot_regret",
    "run_transfer_benchmark",
    "single_threaded",
    "summarise_runs",
    "write_conditional_benchmark",
    "write_results",
]
