"""Options and helpers shared by the `recommend` commands that read libraries."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from library.store import Library
    from recommender.space import Space

__all__ = [
    "LIBRARY_LOCATION",
    "LibraryLocation",
    "dataset_fingerprint",
    "declared_objective",
    "default_config",
    "library_options",
    "model_option",
    "observed_objective",
    "open_libraries",
    "progress_bar",
    "read_observed",
    "starter_option",
    "target_options",
    "target_space",
]


class LibraryLocation(click.ParamType):
    """A library directory (`Path`) or a URI such as ``s3://bucket/lib`` (kept as text).

    ``click.Path(path_type=Path)`` would turn ``s3://bucket/lib`` into the local path
    ``s3:/bucket/lib``; this type leaves URIs for `Library.open` to resolve.
    """

    name = "path|uri"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """``value`` as a `Path`, or unchanged when it is a URI."""
        from library.store import is_uri

        if isinstance(value, Path):
            return value
        text = str(value)
        return text if is_uri(text) else Path(text)


LIBRARY_LOCATION = LibraryLocation()


def starter_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--with-starter/--no-starter`` (default on), as ``with_starter``."""
    return click.option(
        "--with-starter/--no-starter",
        default=True,
        show_default=True,
        help="Layer the bundled starter library under yours.",
    )(command)


def library_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--library PATH`` and ``--with-starter/--no-starter``, as ``library_path``/``with_starter``."""
    command = starter_option(command)
    return click.option(
        "--library",
        "library_path",
        type=LIBRARY_LOCATION,
        envvar="HPWS_LIBRARY",
        help="Library directory or URI such as s3://bucket/lib "
        "(default: $HPWS_LIBRARY or the user data directory).",
    )(command)


def open_libraries(library_path: str | Path | None, with_starter: bool) -> list[Library]:
    """The user's library over the starter library.

    The user's library is the one named (``--library`` or ``$HPWS_LIBRARY``), else the
    default one in the user data directory (`library.store.default_library_path`), where
    `recommend run` and `library ingest` write by default. It must exist when it is named
    or when the starter is off; otherwise a default library that does not exist yet (a
    new user's first call) is skipped and the starter library alone is read.

    Raises:
        LibraryError: the user's library does not exist (named, or the starter is off) or
            cannot be read.
    """
    from library.store import Library, default_library_path

    libraries: list[Library] = []
    if library_path is not None or not with_starter or default_library_path().exists():
        libraries.append(Library.open(library_path, create=False))
    if with_starter:
        from recommender.starter import open_starter_library

        libraries.append(open_starter_library())
    return libraries


#: The core's progress callback: ``callback(stage, done, total)``.
ProgressCallback = Callable[[str, int, int], None]


@contextlib.contextmanager
def progress_bar(enabled: bool, *, transient: bool = False) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr (stdout stays for tables and ``--json``), passed to the
    core as ``callback(stage, done, total)``: one bar per stage. ``None`` when disabled.

    Args:
        enabled: ``False`` (e.g. with ``--json``) yields ``None``, as does a stderr that is
            not a terminal (cron, a pipe): a bar there is noise, and an error stays one line.
        transient: remove the bars when done.
    """
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    stages: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=transient,
    ) as bar:

        def callback(stage: str, done: int, total: int) -> None:
            if stage not in stages:
                stages[stage] = bar.add_task(stage, total=total)
            bar.update(stages[stage], completed=done, total=total)

        yield callback


def target_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """What a command knows of the target besides the library: ``--dataset FILE`` with
    ``--target COLUMN``, ``--observed FILE``, ``--direction``, ``--default JSON|FILE``,
    ``--max-deviation``, ``--max-cost``, ``--cost-metric`` and ``--cost-confidence``. The
    command receives them as one ``target`` keyword: the matching `Recommender.suggest`
    keyword arguments, the dataset fingerprinted (``fingerprint``, ``None`` without
    ``--dataset``), the ``--observed`` file read and the ``--default`` parsed (an
    unreadable one is a usage error)."""

    @functools.wraps(command)
    def with_target(
        *args: Any,
        dataset_path: Path | None,
        target_column: str | None,
        observed_path: Path | None,
        objective_column: str | None,
        direction: str | None,
        default_text: str | None,
        max_deviation: float | None,
        max_cost: float | None,
        cost_metric: str,
        cost_confidence: float,
        **kwargs: Any,
    ) -> Any:
        observed, direction = observed_objective(
            read_observed(observed_path),
            objective_column,
            direction,
            declared_objective(kwargs.get("space_path")),
        )
        target = {
            "fingerprint": dataset_fingerprint(dataset_path, target_column),
            "observed": observed,
            "direction": direction,
            "default": default_config(default_text),
            "max_deviation": max_deviation,
            "max_cost": max_cost,
            "cost_metric": cost_metric,
            "cost_confidence": cost_confidence,
        }
        return command(*args, target=target, **kwargs)

    options = [
        click.option(
            "--dataset",
            "dataset_path",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="The target's data (CSV/TSV/Parquet): its fingerprint picks the nearest "
            "library tasks as sources (a task of the library uses its stored fingerprint).",
        ),
        click.option(
            "--target",
            "target_column",
            default=None,
            metavar="COLUMN",
            help="The target column of --dataset.",
        ),
        click.option(
            "--observed",
            "observed_path",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="CSV/Parquet of target trials so far: parameter columns plus the objective "
            "column (--objective).",
        ),
        click.option(
            "--objective",
            "objective_column",
            default=None,
            metavar="COLUMN",
            help="The --observed column holding the objective (default: `value`, or the "
            "objective that --space's space.json names when the file has no `value`).",
        ),
        click.option(
            "--direction",
            type=click.Choice(["maximize", "minimize"]),
            default=None,
            help="Direction of the observed values (default: the direction --space's "
            "space.json gives its objective, else maximize).",
        ),
        click.option(
            "--default",
            "default_text",
            default=None,
            metavar="JSON|FILE",
            help="A trusted configuration (a JSON object, or a .json file holding one); with "
            "--max-deviation every suggestion stays near it.",
        ),
        click.option(
            "--max-deviation",
            default=None,
            type=click.FloatRange(0.0),
            help="Keep suggestions within this distance of --default, per parameter on the "
            "unit (log) scale; categoricals keep the default's choice below 1.",
        ),
        click.option(
            "--max-cost",
            default=None,
            type=click.FloatRange(0.0, min_open=True),
            help="Budget cap per suggestion: only configurations whose --cost-metric the "
            "library predicts at or below this (levelled on --observed's costs when it has "
            "that column).",
        ),
        click.option(
            "--cost-metric",
            default="runtime_s",
            show_default=True,
            help="The library metric that measures a trial's cost: runtime_s (each trial's "
            "recorded wall time) or a recorded metric (column metric_<name>); an "
            "--observed column of that name holds the target's costs.",
        ),
        click.option(
            "--cost-confidence",
            default=0.8,
            show_default=True,
            type=click.FloatRange(0.5, 1.0, max_open=True),
            help="With --max-cost: the probability, under the cost model's error, that a "
            "suggestion's cost is within the cap (0.5: the point prediction).",
        ),
    ]
    decorated: Callable[..., Any] = with_target
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def dataset_fingerprint(path: Path | None, column: str | None) -> Any:
    """``--dataset``'s fingerprint (`featurizers.featurize_dataset`, seed 0, as `recommend
    run` computes it), or ``None`` without ``--dataset``.

    Raises:
        click.UsageError: ``--dataset`` without ``--target`` or the other way round.
        FeaturizeError: the file cannot be fingerprinted (no such column, ...).
    """
    if path is None:
        if column is not None:
            raise click.UsageError("--target names a column of --dataset; pass --dataset FILE")
        return None
    if column is None:
        raise click.UsageError("--dataset needs --target COLUMN (the column to predict)")
    from featurizers import featurize_dataset

    return featurize_dataset(path, target=column, seed=0)


def target_space(space_path: Path | None, model: str | None) -> Space | None:
    """The target's space from ``--space FILE`` or ``--model FAMILY`` (the runner's default
    space of that family); ``None`` when neither is given.

    Raises:
        click.UsageError: both are given.
        SpaceError: the file is not a valid space.
    """
    from recommender.space import Space

    if space_path is not None and model is not None:
        raise click.UsageError("pass --space FILE or --model FAMILY, not both")
    if space_path is not None:
        return Space.from_json(space_path)
    if model is not None:
        from recommender.runner import ModelFamily, default_space

        return Space.from_dict(default_space(ModelFamily.parse(model)))
    return None


def model_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--model FAMILY``: search the runner's default space of a model family."""
    return click.option(
        "--model",
        type=click.Choice(["hgb", "rf", "logreg", "svm", "mlp"]),
        default=None,
        help="Search this model family's default space (the one `recommend run` and the "
        "starter library use) instead of --space FILE.",
    )(command)


def declared_objective(space_path: Path | None) -> tuple[str, str] | None:
    """``(name, direction)`` of the objective a space.json file declares (the shared
    format's ``objective``), or ``None`` (no file, or no valid declaration: the file's
    parameters are checked where the space is read)."""
    if space_path is None:
        return None
    import json

    try:
        objective = json.loads(Path(space_path).read_text()).get("objective")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(objective, dict) or not isinstance(objective.get("name"), str):
        return None
    direction = objective.get("direction")
    return objective["name"], direction if direction in ("maximize", "minimize") else "maximize"


def observed_objective(
    observed: Any, column: str | None, direction: str | None, declared: tuple[str, str] | None
) -> tuple[Any, str]:
    """``--observed`` with its objective column named ``value``, and the direction.

    The column is ``--objective``, else ``value``, else the objective the space file
    declares; the direction is ``--direction``, else the declared one when that column is
    the declared objective, else maximize.

    Raises:
        click.BadParameter: the objective column is not in the file.
    """
    if observed is None:
        if column is not None:
            raise click.UsageError("--objective names a column of --observed; pass --observed")
        return None, direction or "maximize"
    if column is None:
        column = "value"
        if "value" not in observed.columns and declared is not None:
            column = declared[0]
    if column not in observed.columns:
        hint = "" if column != "value" else "; name the objective's column with --objective"
        raise click.BadParameter(
            f"no column {column!r} in the file (columns: {', '.join(map(str, observed.columns))})"
            + hint,
            param_hint="--observed",
        )
    if direction is None:
        direction = declared[1] if declared is not None and column == declared[0] else "maximize"
    if column != "value":
        observed = observed.drop(columns=["value"], errors="ignore")
        observed = observed.rename(columns={column: "value"})
    return observed, direction


def read_observed(path: Path | None) -> Any:
    """``--observed``'s trials as a DataFrame (Parquet by suffix, else CSV), or ``None``."""
    if path is None:
        return None
    import pandas as pd

    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as error:  # a corrupt Parquet file, a malformed CSV
        kind = "Parquet" if path.suffix == ".parquet" else "CSV"
        raise click.BadParameter(
            f"{path} cannot be read as {kind} ({error})", param_hint="--observed"
        ) from None


def default_config(text: str | None) -> dict[str, Any] | None:
    """``--default``'s configuration: a JSON object, or a file that holds one (``None``:
    not given)."""
    if text is None:
        return None
    import json

    path = Path(text)
    if path.suffix == ".json" and not path.is_file():
        raise click.BadParameter(f"no such file: {text}", param_hint="--default")
    source = f"file {text}" if path.suffix == ".json" else "--default"
    try:
        value = json.loads(path.read_text() if source != "--default" else text)
    except (OSError, ValueError) as error:
        raise click.BadParameter(
            f"{source} is not a JSON object ({error}); e.g. '{{\"learning_rate\": 0.001}}'",
            param_hint="--default",
        ) from None
    if not isinstance(value, dict):
        raise click.BadParameter(
            f"{source} must hold a JSON object of parameter values, got {type(value).__name__}",
            param_hint="--default",
        )
    return value
