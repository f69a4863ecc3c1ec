"""`recommend featurize DATASET --target COL`: print the fingerprint of a dataset.

The command parses, calls `featurizers.featurize_dataset` and renders; nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from library.exceptions import CLIUsageError, FeaturizeError
from recommender.json_text import to_json

_BUILTIN_PREFIXES = ("sklearn:", "keel:", "statsmodels:")


def _load_builtin(spec: str) -> tuple[Any, Any, str]:
    from featurizers.builtin import iter_builtin_datasets

    source, _, name = spec.partition(":")
    keel_types = ("balanced", "imbalanced") if source == "keel" else ("balanced",)
    for dataset in iter_builtin_datasets(sources=(source,), keel_types=keel_types):
        if dataset.name.split("/", 1)[1] == name:
            return dataset.features, dataset.target, dataset.task
    raise FeaturizeError(
        f"no built-in dataset {spec!r}; examples: sklearn:iris, keel:australian, statsmodels:fair"
    )


@click.command(
    "featurize",
    epilog="DATASET is a .csv/.tsv/.parquet file (with --target) or a built-in dataset "
    "such as sklearn:iris, keel:australian or statsmodels:fair (no --target needed).",
)
@click.argument("dataset")
@click.option("--target", default=None, help="Name of the target column of the file.")
@click.option(
    "--task",
    type=click.Choice(["classification", "regression"]),
    default=None,
    help="Task kind [default: inferred from the target].",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=10),
    default=10_000,
    show_default=True,
    help="Rows of the stratified subsample used for the statistics.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Subsample and CV seed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def featurize_command(
    dataset: str,
    target: str | None,
    task: str | None,
    max_rows: int,
    seed: int,
    as_json: bool,
) -> None:
    """Print the meta-feature fingerprint of DATASET."""
    from featurizers.dataset import featurize_dataset

    if dataset.startswith(_BUILTIN_PREFIXES):
        features, y, builtin_task = _load_builtin(dataset)
        fingerprint = featurize_dataset(
            features,
            y=y,
            task=task or builtin_task,
            max_rows=max_rows,
            seed=seed,
        )
    else:
        if target is None:
            raise CLIUsageError(
                f"--target is required for the file {dataset}; name its target column"
            )
        fingerprint = featurize_dataset(
            Path(dataset),
            target=target,
            task=task,
            max_rows=max_rows,
            seed=seed,
        )
    if as_json:
        click.echo(to_json({"dataset": dataset, **fingerprint.to_dict()}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{dataset} (featurizer {fingerprint.version})")
    table.add_column("feature")
    table.add_column("value", justify="right")
    for name, value in zip(fingerprint.names, fingerprint.values, strict=True):
        table.add_row(name, "nan" if value != value else f"{value:.6g}")
    Console().print(table)
