"""The run loop: suggest -> train (in a guarded worker) -> evaluate -> journal/library.

`run_search` is the Python entry point of ``recommend run``. A run is a deterministic
walk over a multi-fidelity `Schedule`: for each rung it writes a *plan* record (the
configurations to evaluate) before evaluating them, and one *trial* record per finished
evaluation. Resuming replays the journal: planned configurations are reused (the proposer
is not asked again), finished trials are never run again, and the trial budget and time
budget count every session of the run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from library.exceptions import RunnerError, SpaceError
from library.query import RUNTIME_METRIC
from library.store import is_uri
from recommender.runner.data import TabularData, load_tabular
from recommender.runner.evaluate import (
    EvalSettings,
    check_metric,
    default_metric,
    split_train_test,
)
from recommender.runner.guardrails import (
    Budget,
    FinalDecision,
    TrialExecutor,
    TrialLimits,
    TrialReply,
    decide_final,
    project_to_deviation,
)
from recommender.runner.journal import RunJournal, read_json, write_json_atomic
from recommender.runner.models import (
    ModelFamily,
    default_config,
    default_space,
    fidelity_name,
)
from recommender.runner.multifidelity import FidelityMode, Schedule, top_k
from recommender.runner.provenance import available_cores

if TYPE_CHECKING:  # featurizers is imported when a run fingerprints its dataset
    from featurizers import Fingerprint

__all__ = [
    "Proposer",
    "RandomProposer",
    "RecommenderProposer",
    "RunSettings",
    "TrialRecord",
    "RunResult",
    "RunPreempted",
    "run_search",
    "record_trial",
    "dataset_fingerprint",
]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[["TrialRecord", int, int], None]


@runtime_checkable
class Proposer(Protocol):
    """Anything that proposes configurations and learns from their scores.

    ``suggest`` returns configurations of the run's space; ``observe`` receives every
    full-fidelity ``ok`` result (value: greater is better). A proposer may also define
    ``fast_forward(n)``: on resume the loop calls it once per already-planned batch of
    ``n`` suggestions, so a stateful proposer does not repeat them.
    """

    def suggest(self, n: int) -> list[dict[str, Any]]: ...  # noqa: D102

    def observe(self, config: dict[str, Any], value: float) -> None: ...  # noqa: D102


class RandomProposer:
    """Uniform random search over a `Space`; suggestion ``k`` depends only on (seed, k).

    Args:
        space: a `recommender.space.Space`.
        seed: base seed.
    """

    def __init__(self, space: Any, *, seed: int = 0) -> None:
        self._space = space
        self._seed = int(seed)
        self._n_suggested = 0

    def _child_seed(self, index: int) -> int:
        return int(np.random.SeedSequence([self._seed, index]).generate_state(1)[0])

    def suggest(self, n: int) -> list[dict[str, Any]]:
        """``n`` new random configurations."""
        configs = [
            self._space.sample(1, seed=self._child_seed(self._n_suggested + i))[0] for i in range(n)
        ]
        self._n_suggested += n
        return configs

    def observe(self, config: dict[str, Any], value: float) -> None:
        """Random search ignores results."""

    def fast_forward(self, n: int) -> None:
        """Skip ``n`` suggestions already made in an earlier session."""
        self._n_suggested += n


class RecommenderProposer:
    """Adapts the transfer `recommender.recommend.Recommender` to the `Proposer` protocol.

    Suggestions come from ``Recommender.suggest`` with the run's full-fidelity results as
    ``observed``. When the libraries hold no usable source task and nothing is observed
    yet (`EmptyLibraryError`), that batch comes from a `RandomProposer` instead; each such
    fallback is logged and counted in ``fallbacks``.

    Args:
        recommender: a `Recommender` over one or more libraries.
        space: the run's space as a `Space.from_dict` dict.
        seed: base seed of the suggestions.
        task_id: the run's own library task. The run records every trial there before
            `observe` sees it, so suggestions name it as their ``task``: its ok trials at
            its highest fidelity so far (this run's and earlier runs' on the same data and
            model) are the observations, and it is never a source. Without it (or when the
            recommender's libraries do not hold it) the observed results are passed
            instead and the task is excluded from the sources by id when given.
        fingerprint: the run's dataset fingerprint (`dataset_fingerprint`): the sources are
            then the recommender's ``n_neighbours`` nearest tasks with a comparable
            fingerprint, plus every task recorded without one (`Recommender.suggest`).
            ``None``: the sources with the most trials.
        near: ``(default, max_deviation)``: suggestions stay within ``max_deviation`` of
            ``default``, the acquisition maximised inside that box (`Recommender.suggest`).
        cost_cap: ``(max_cost, metric)``: suggestions whose ``metric`` the library predicts
            within ``max_cost`` (`Recommender.suggest`'s ``max_cost``; the run passes its
            per-trial time limit and ``runtime_s``, the trials' wall time), levelled on the
            costs `observe` is given. When no source records the metric, the cap is dropped with a warning
            (the time limit still stops a trial that runs over).
    """

    def __init__(
        self,
        recommender: Any,
        space: dict[str, Any],
        *,
        seed: int = 0,
        task_id: str | None = None,
        fingerprint: Fingerprint | None = None,
        near: tuple[dict[str, Any], float] | None = None,
        cost_cap: tuple[float, str] | None = None,
    ) -> None:
        from recommender.space import Space

        self._recommender = recommender
        self._space_dict = space
        self._random = RandomProposer(Space.from_dict(space), seed=seed)
        self._seed = int(seed)
        self._task_id = task_id
        self._fingerprint = fingerprint
        self._near = {} if near is None else {"default": near[0], "max_deviation": near[1]}
        self._cost_cap = cost_cap
        self._task_in_library = True  # until a suggestion says otherwise
        self._observed: list[tuple[dict[str, Any], float]] = []
        self._costs: list[float] = []  # of each observation, NaN when not recorded
        self._n_calls = 0
        self.fallbacks = 0
        self.sources: tuple[str, ...] = ()  # the source tasks of the last transfer batch

    def suggest(self, n: int) -> list[dict[str, Any]]:
        """``n`` warm-started configurations (random while nothing can be transferred)."""
        from library.exceptions import CostCapError, EmptyLibraryError

        self._n_calls += 1
        seed = _child_seed(self._seed, self._n_calls)
        try:
            try:
                suggestions = self._suggest_for_task(n, seed)
            except CostCapError as error:
                if self._cost_cap is None:
                    raise
                logger.warning("cost cap dropped for this run: %s", error)
                self._cost_cap = None
                suggestions = self._suggest_for_task(n, seed)
        except EmptyLibraryError as error:
            self.fallbacks += 1
            logger.warning("recommender has nothing to transfer (%s); random batch", error)
            return self._random.suggest(n)
        self.sources = tuple(self._recommender.explain().sources)
        return [dict(suggestion.config) for suggestion in suggestions]

    def _suggest_for_task(self, n: int, seed: int) -> list[Any]:
        """Suggestions for the run's task by id while the libraries hold it, else from `observed`."""
        from library.exceptions import UnknownTaskError

        cap: dict[str, Any] = {}
        if self._cost_cap is not None:
            cap = {"max_cost": self._cost_cap[0], "cost_metric": self._cost_cap[1]}
        if self._task_id is not None and self._task_in_library:
            try:  # the task's own recorded costs level the cap
                return self._recommender.suggest(
                    self._task_id,
                    self._space_dict,
                    n=n,
                    seed=seed,
                    fingerprint=self._fingerprint,
                    **self._near,
                    **cap,
                )
            except UnknownTaskError:  # the run records elsewhere: pass its results instead
                self._task_in_library = False
        return self._recommender.suggest(
            space=self._space_dict,
            n=n,
            observed=list(self._observed) or None,
            direction="maximize",
            seed=seed,
            exclude=() if self._task_id is None else (self._task_id,),
            fingerprint=self._fingerprint,
            **self._near,
            **cap,
            **({"observed_costs": list(self._costs)} if cap and self._observed else {}),
        )

    def observe(self, config: dict[str, Any], value: float, cost: float | None = None) -> None:
        """Remember a full-fidelity result (passed as ``observed`` to later suggestions),
        with its cost in the cap's metric when known."""
        self._observed.append((dict(config), float(value)))
        self._costs.append(float("nan") if cost is None else float(cost))

    def fast_forward(self, n: int) -> None:
        """Keep the random fallback in step on resume."""
        self._random.fast_forward(n)
        self._n_calls += 1


def _proposer_kind(proposer: Proposer) -> str:
    """``"transfer"``, ``"random"`` or the class name of another `Proposer`."""
    if isinstance(proposer, RecommenderProposer):
        return "transfer"
    if isinstance(proposer, RandomProposer):
        return "random"
    return type(proposer).__name__


def _observe(proposer: Proposer, trial: TrialRecord, value: float) -> None:
    """Pass a full-fidelity result to the proposer; the transfer proposer also gets the
    trial's wall time (its cost cap's metric, ``runtime_s``)."""
    if isinstance(proposer, RecommenderProposer):
        proposer.observe(dict(trial.config), value, cost=trial.runtime_s)
    else:
        proposer.observe(dict(trial.config), value)


class RunPreempted(RunnerError):
    """The run was stopped by SIGTERM/SIGINT; it can be resumed.

    Attributes:
        run_id: the run to pass to ``--resume``.
    """

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message)
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class RunSettings:
    """Everything that defines a run; stored in ``run.json`` and reused on resume."""

    dataset: str
    target: str
    model: str
    budget: int
    time_budget_s: float | None = None
    device: str = "auto"
    metric: str | None = None
    cv_folds: int = 3
    validation_fraction: float = 0.25
    test_fraction: float = 0.2
    fidelity: str = "none"
    eta: int = 3
    min_fidelity: float | None = None
    max_epochs: int = 50
    seed: int = 0
    max_deviation: float | None = None
    trial_time_limit_s: float | None = None
    memory_limit_mb: int | None = None
    validate_final: bool = True
    mup: bool = False
    n_jobs: int | None = None
    library: str | None = None
    proposer: str = "auto"
    default_first: bool = True
    starter: bool = False

    def __post_init__(self) -> None:
        ModelFamily.parse(self.model)
        try:
            FidelityMode(self.fidelity)
        except ValueError:
            raise RunnerError(
                f"unknown fidelity mode {self.fidelity!r}; use none, sh or hyperband"
            ) from None
        Budget(self.budget, self.time_budget_s)
        TrialLimits(self.trial_time_limit_s, self.memory_limit_mb)
        if not 0.0 < self.test_fraction < 0.9:
            raise RunnerError(f"test_fraction must be in (0, 0.9), got {self.test_fraction}")
        if self.max_deviation is not None and not self.max_deviation >= 0:
            raise RunnerError(f"max_deviation must be >= 0, got {self.max_deviation}")
        if self.max_epochs < 1:
            raise RunnerError(f"max_epochs must be >= 1, got {self.max_epochs}")
        if self.proposer not in {"auto", "random"}:
            raise RunnerError(f"proposer must be auto or random, got {self.proposer!r}")
        if self.n_jobs is not None and self.n_jobs < 1:
            raise RunnerError(f"n_jobs must be >= 1, got {self.n_jobs}")

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> RunSettings:
        """Rebuild from ``run.json`` (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in names})


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """One finished evaluation, as journaled and as recorded in the library.

    Attributes:
        trial_index: order of completion within the run (0-based).
        key: ``bracket:rung:slot``, unique within the run.
        bracket, rung, slot: position in the multi-fidelity schedule.
        config: hyperparameters evaluated.
        fidelity_name: ``epochs`` or ``train_fraction``.
        fidelity: resource level; equal to ``max_fidelity`` at full fidelity.
        max_fidelity: the run's full fidelity.
        status: ``ok``, ``failed``, ``diverged`` or ``timeout``.
        value: mean scorer value (greater is better) when ok.
        metrics: secondary metrics (fold std, epochs run, ...).
        seed: the trial's seed.
        runtime_s: wall time of the trial seen by the loop (incl. worker transfer).
        train_seconds: time spent fitting/scoring inside the worker.
        error: reason when not ok.
        projected: the proposal was pulled towards the default (deviation cap).
        environment: versions (python, numpy, sklearn, torch).
        hardware: CPU/GPU description.
        finished_at: ISO timestamp (UTC).
        run_elapsed_s: run wall time so far, summed over sessions.
    """

    trial_index: int
    key: str
    bracket: int
    rung: int
    slot: int
    config: dict[str, Any]
    fidelity_name: str
    fidelity: float
    max_fidelity: float
    status: str
    value: float | None
    metrics: dict[str, float]
    seed: int
    runtime_s: float
    train_seconds: float
    error: str | None
    projected: bool
    environment: dict[str, Any]
    hardware: dict[str, Any]
    finished_at: str
    run_elapsed_s: float

    @property
    def full_fidelity(self) -> bool:
        """True when evaluated at the run's full fidelity."""
        return math.isclose(self.fidelity, self.max_fidelity)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> TrialRecord:
        """Rebuild from a journal line."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in payload.items() if k in names})


@dataclass(frozen=True, slots=True)
class RunResult:
    """Outcome of `run_search`.

    Attributes:
        run_id: identifier (directory name under ``runs_dir``).
        run_dir: the run directory (``run.json``, ``journal.jsonl``).
        trials: every finished trial, all sessions, in completion order.
        best_config: best full-fidelity configuration of the search (None if none ok).
        best_value: its cross-validated score.
        recommended_config: what the run recommends after final validation.
        final: the final validation decision (None when disabled or nothing succeeded).
        stopped_reason: ``budget``, ``time_budget``.
        elapsed_s: run wall time summed over sessions.
        metric: scorer name (greater is better).
        task_id: library task id of (dataset, target, model).
        worker_startup_s: time spent starting trial workers this session.
        proposer: who proposed this session's configurations: ``"transfer"`` (the
            `Recommender` over the run's libraries), ``"random"``, or the class name of a
            `Proposer` passed in.
        proposer_fallbacks: batches the transfer proposer drew at random because its
            libraries had nothing to transfer (0 for the other proposers).
        proposer_sources: the library tasks the transfer proposer's last batch
            transferred from (``()`` for the other proposers).
    """

    run_id: str
    run_dir: Path
    trials: tuple[TrialRecord, ...]
    best_config: dict[str, Any] | None
    best_value: float | None
    recommended_config: dict[str, Any]
    final: FinalDecision | None
    stopped_reason: str
    elapsed_s: float
    metric: str
    task_id: str
    worker_startup_s: float = 0.0
    status_counts: dict[str, int] = field(default_factory=dict)
    proposer: str = ""
    proposer_fallbacks: int = 0
    proposer_sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (used by ``--json``)."""
        return {
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "task_id": self.task_id,
            "metric": self.metric,
            "n_trials": len(self.trials),
            "status_counts": dict(self.status_counts),
            "best_config": self.best_config,
            "best_value": self.best_value,
            "recommended_config": self.recommended_config,
            "final": None if self.final is None else asdict(self.final),
            "stopped_reason": self.stopped_reason,
            "elapsed_s": self.elapsed_s,
            "worker_startup_s": self.worker_startup_s,
            "proposer": self.proposer,
            "proposer_fallbacks": self.proposer_fallbacks,
            "proposer_sources": list(self.proposer_sources),
        }


def record_trial(library: Any, *, task_id: str, record: TrialRecord, metric: str) -> None:
    """Append one trial to the library (the only place that knows the trials schema).

    Low-fidelity results are stored with their ``fidelity`` and ``fidelity_name``; the
    full-fidelity level is ``metric_max_fidelity``.
    """
    row: dict[str, Any] = {
        "task_id": task_id,
        "objective_name": metric,
        "objective_value": record.value if record.status == "ok" else None,
        "direction": "maximize",
        "fidelity_name": record.fidelity_name,
        "fidelity": float(record.fidelity),
        "status": record.status,
        "seed": int(record.seed),
        "runtime_s": float(record.runtime_s),
        "hardware": _hardware_text(record.hardware),
        "environment_json": _json_text(record.environment),
        "source": "runner",
    }
    for name, value in record.config.items():
        row[f"param_{name}"] = value
    for name, value in record.metrics.items():
        row[f"metric_{name}"] = float(value)
    row["metric_max_fidelity"] = float(record.max_fidelity)
    row["metric_train_seconds"] = float(record.train_seconds)
    library.append_trials([row])


def _json_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, default=str)


def _hardware_text(hardware: dict[str, Any]) -> str:
    parts = [f"{hardware.get('cpu', '?')} x{hardware.get('cores', '?')}"]
    if hardware.get("gpu"):
        parts.append(str(hardware["gpu"]))
    return "; ".join(parts)


def _task_source(settings: RunSettings) -> str:
    """The task's ``source``: a reference to the run's data file, so `recommend refresh`
    can recompute the fingerprint after a featurizer upgrade (``"runner"`` when the path
    cannot be written as one)."""
    from library import file_reference
    from library.exceptions import FeaturizeError

    try:
        return file_reference(settings.dataset, settings.target)
    except FeaturizeError:
        return "runner"


def _register_task(
    library: Any,
    *,
    task_id: str,
    data: TabularData,
    settings: RunSettings,
    space: dict[str, Any],
    metric: str,
    fingerprint: Fingerprint | None = None,
) -> None:
    described = (
        {}
        if fingerprint is None
        else {
            "fingerprint_names": list(fingerprint.names),
            "fingerprint_values": [float(v) for v in fingerprint.values],
            "featurizer_version": fingerprint.version,
        }
    )
    library.append_tasks(
        [
            {
                **described,
                "task_id": task_id,
                "name": f"{Path(settings.dataset).stem}:{settings.target}:{settings.model}",
                "kind": data.kind.value,
                "space": space,
                "objective_name": metric,
                "direction": "maximize",
                "source": _task_source(settings),
                "scale_names": ["log_n_rows", "log_n_features"],
                "scale_values": [
                    math.log(max(data.n_rows, 1)),
                    math.log(max(data.features.shape[1], 1)),
                ],
            }
        ]
    )


def dataset_fingerprint(dataset: str | Path, target: str) -> Fingerprint | None:
    """The run's dataset fingerprint (`featurizers.featurize_dataset` on the file, seed 0:
    the same file always gets the same one), or ``None`` when it cannot be computed (the
    run then goes on without it, logging why)."""
    from featurizers import featurize_dataset
    from library.exceptions import FeaturizeError

    try:
        return featurize_dataset(Path(dataset), target=target, seed=0)
    except FeaturizeError as error:
        logger.warning("no fingerprint for %s (%s); transfer uses every source", dataset, error)
        return None


def _child_seed(*entropy: int) -> int:
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0] % (2**31 - 1))


@contextmanager
def _preemption_guard(run_id: str) -> Iterator[None]:
    """Turn SIGTERM into `RunPreempted` in the main thread (journal is already durable)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _handler(signum: int, frame: Any) -> None:  # noqa: ARG001
        raise RunPreempted(
            f"run {run_id} stopped by signal {signum}; resume it with "
            f"`recommend run --resume {run_id}`",
            run_id=run_id,
        )

    previous = signal.signal(signal.SIGTERM, _handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _new_run_id() -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def _resolve_runs_dir(runs_dir: str | Path | None, library: str | None) -> Path:
    if runs_dir is not None:
        return Path(runs_dir).expanduser()
    if library is not None and not is_uri(library):
        return Path(library).expanduser() / "runs"
    return Path.cwd() / "runs"  # journals stay local when the library is on object storage


def _library_location(library: str | Path) -> str:
    """An absolute local path, or the URI of a library on object storage unchanged."""
    if isinstance(library, str) and is_uri(library):
        return library
    return str(Path(library).expanduser().resolve())


def _settings_for_resume(run_dir: Path, overrides: dict[str, Any]) -> RunSettings:
    stored = RunSettings.from_dict(read_json(run_dir / "run.json")["settings"])
    for name in ("dataset", "target", "model", "budget"):
        given = overrides.get(name)
        if given is None:
            continue
        same = (
            Path(str(given)).resolve() == Path(stored.dataset).resolve()
            if name == "dataset"
            else str(given) == str(getattr(stored, name))
        )
        if not same:
            raise RunnerError(
                f"--resume {run_dir.name}: {name}={given!r} differs from the run's "
                f"{getattr(stored, name)!r}; drop the option or start a new run"
            )
    return stored


def run_search(
    *,
    dataset: str | Path | None = None,
    target: str | None = None,
    model: str | ModelFamily | None = None,
    budget: int | None = None,
    time_budget_s: float | None = None,
    device: str = "auto",
    metric: str | None = None,
    cv_folds: int = 3,
    validation_fraction: float = 0.25,
    test_fraction: float = 0.2,
    fidelity: str = "none",
    eta: int = 3,
    min_fidelity: float | None = None,
    max_epochs: int = 50,
    seed: int = 0,
    max_deviation: float | None = None,
    trial_time_limit_s: float | None = None,
    memory_limit_mb: int | None = None,
    validate_final: bool = True,
    mup: bool = False,
    n_jobs: int | None = None,
    library: str | Path | None = None,
    runs_dir: str | Path | None = None,
    resume: str | None = None,
    proposer: Proposer | str | None = None,
    default_first: bool | None = None,
    progress: ProgressCallback | None = None,
    starter: bool = False,
) -> RunResult:
    """Tune ``model`` on ``dataset`` within ``budget`` trials, safely and resumably.

    Args:
        dataset: CSV or Parquet file (optional with ``resume``).
        target: target column (optional with ``resume``).
        model: ``hgb``, ``rf``, ``logreg``, ``svm`` or ``mlp`` (optional with ``resume``).
        budget: maximum trials (evaluations at any fidelity), over all sessions.
        time_budget_s: maximum run wall time over all sessions (worker start included).
        device: ``auto``, ``cpu`` or ``cuda`` (MLP only; ``cuda`` without a GPU raises).
        metric: scikit-learn scorer name; accuracy / negative RMSE by default.
        cv_folds: k-fold CV (0: one holdout split of ``validation_fraction``).
        validation_fraction: holdout share when ``cv_folds == 0``.
        test_fraction: share held out from the search for the final validation.
        fidelity: ``none``, ``sh`` (successive halving) or ``hyperband``.
        eta: halving factor.
        min_fidelity: lowest fidelity (epochs for mlp, train fraction otherwise);
            defaults to ``max / eta**2``.
        max_epochs: MLP epochs at full fidelity.
        seed: run seed; every trial, split and proposer seed derives from it.
        max_deviation: cap on each parameter's distance from the default (unit scale):
            the transfer proposer maximises its acquisition inside that box; another
            proposer's picks (random, Optuna) are projected into it.
        trial_time_limit_s: per-trial wall-clock limit (trial marked ``timeout``).
        memory_limit_mb: per-trial address-space limit (trial marked ``failed``).
        validate_final: compare the best against the default on held-out data and roll
            back when it is worse.
        mup: MLP muP parameterisation.
        n_jobs: CPU threads per trial; defaults to the cores in ``os.sched_getaffinity``.
        library: library directory to record tasks and trials in (optional).
        runs_dir: where run directories live (default ``<library>/runs`` or ``./runs``).
        resume: id of a run to continue. Its settings come from its ``run.json``;
            ``dataset``/``target``/``model``/``budget`` may be repeated but must match,
            the other options are taken from the stored run.
        proposer: a `Proposer` object, or ``"auto"`` (default: the transfer `Recommender`
            over ``library`` and, with ``starter``, the bundled starter library; a
            `RandomProposer` when there is neither) or ``"random"``. A name is stored
            with the run; an object is not, so pass it again on resume.
        default_first: the run's first trial is the family default configuration
            (`default_config`), then the proposer's; the final check compares with the
            default anyway, and on the warm-run benchmark the default's regret (0.19)
            was below the transfer's first pick's (0.27). ``None`` (default): on with the
            run's own proposers (``"auto"``, ``"random"``), off with a `Proposer` object,
            whose configurations are then the only ones run. Not repeated when the
            library already holds the default's result on the same data (an earlier
            run's): that result is an observation already.
        progress: called as ``progress(record, n_done, budget)`` after each trial.
        starter: the ``"auto"`` proposer also transfers from the bundled starter library
            (read-only, under ``library``; `recommender.starter`), so a first run on an
            empty library is warm-started too (`recommend run`'s default). Stored with
            the run.

    Returns:
        The `RunResult`.

    Raises:
        RunnerError: bad dataset, target column, model, device (CUDA without GPU), metric
            or option values; unknown run id on resume.
        RunPreempted: SIGTERM arrived; the run is resumable.
    """
    if resume is not None:
        run_dir = _resolve_runs_dir(runs_dir, None if library is None else str(library)) / resume
        local = Path.cwd() / "runs" / resume  # where a run without a library journals
        if runs_dir is None and not (run_dir / "run.json").is_file() and local.is_dir():
            run_dir = local
        if not (run_dir / "run.json").is_file():
            raise RunnerError(
                f"no run {resume!r} in {run_dir.parent}; pass the right --runs-dir/--library"
            )
        settings = _settings_for_resume(
            run_dir,
            {
                "dataset": dataset,
                "target": target,
                "model": None if model is None else ModelFamily.parse(model).value,
                "budget": budget,
            },
        )
        run_id = resume
    else:
        if dataset is None or target is None or model is None or budget is None:
            raise RunnerError("dataset, target, model and budget are required for a new run")
        settings = RunSettings(
            dataset=str(Path(dataset).expanduser().resolve()),
            target=target,
            model=ModelFamily.parse(model).value,
            budget=int(budget),
            time_budget_s=time_budget_s,
            device=device,
            metric=metric,
            cv_folds=cv_folds,
            validation_fraction=validation_fraction,
            test_fraction=test_fraction,
            fidelity=fidelity,
            eta=eta,
            min_fidelity=min_fidelity,
            max_epochs=max_epochs,
            seed=seed,
            max_deviation=max_deviation,
            trial_time_limit_s=trial_time_limit_s,
            memory_limit_mb=memory_limit_mb,
            validate_final=validate_final,
            mup=mup,
            n_jobs=n_jobs,
            library=None if library is None else _library_location(library),
            proposer=proposer if isinstance(proposer, str) else "auto",
            starter=starter,
            default_first=(
                default_first
                if default_first is not None
                else proposer is None or isinstance(proposer, str)  # the run's own proposer
            ),
        )
        run_id = _new_run_id()
        run_dir = _resolve_runs_dir(runs_dir, settings.library) / run_id
    return _Run(
        settings,
        run_id=run_id,
        run_dir=run_dir,
        proposer=None if isinstance(proposer, str) else proposer,
        progress=progress,
        is_new=resume is None,
    ).execute()


class _Run:
    """State of one session of one run (private: `run_search` is the API)."""

    def __init__(
        self,
        settings: RunSettings,
        *,
        run_id: str,
        run_dir: Path,
        proposer: Proposer | None,
        progress: ProgressCallback | None,
        is_new: bool,
    ) -> None:
        from recommender.space import Space

        self.settings = settings
        self.run_id = run_id
        self.run_dir = run_dir
        self.progress = progress
        self.model = ModelFamily.parse(settings.model)
        self.resolved_device = self._check_device()
        self.data = load_tabular(settings.dataset, settings.target)
        self.metric = settings.metric or default_metric(self.data.kind)
        check_metric(self.metric)
        self.space_dict = default_space(self.model)
        self.space = Space.from_dict(self.space_dict)
        self.default = self.space.validate(
            default_config(self.model, n_features=self.data.features.shape[1])
        )
        self.budget = Budget(settings.budget, settings.time_budget_s)
        self.limits = TrialLimits(settings.trial_time_limit_s, settings.memory_limit_mb)
        self.schedule = self._schedule()
        self.task_id = (
            f"{Path(settings.dataset).stem}-{settings.target}-{self.model.value}-"
            f"{self.data.content_hash[:12]}"
        )
        # the dataset's fingerprint: recorded with the task when the run records to a
        # library, and what picks the nearest source tasks
        self.fingerprint = (
            None
            if settings.library is None and not settings.starter
            else dataset_fingerprint(settings.dataset, settings.target)
        )
        self.library = self._open_library()
        self.proposer: Proposer = proposer or self._default_proposer()
        if is_new:
            run_dir.mkdir(parents=True, exist_ok=False)
            write_json_atomic(
                run_dir / "run.json",
                {
                    "run_id": run_id,
                    "settings": asdict(settings),
                    "task_id": self.task_id,
                    "space": self.space_dict,
                    "default_config": self.default,
                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                },
            )
        self.journal = RunJournal(run_dir / "journal.jsonl")

    # ---------------------------------------------------------------- set-up
    def _check_device(self) -> str:
        if self.model is not ModelFamily.MLP:
            if self.settings.device.startswith("cuda"):
                raise RunnerError(
                    f"--device {self.settings.device} given for model {self.model.value!r}, "
                    "which trains with scikit-learn on CPU; use --device auto/cpu or --model mlp"
                )
            return "cpu"
        from recommender.runner.torch_mlp import resolve_device

        return str(resolve_device(self.settings.device))

    def _default_proposer(self) -> Proposer:
        """Transfer recommendations from the libraries (the run's, then the starter
        library when asked for) when there is one, else random."""
        seed = _child_seed(self.settings.seed, 1)
        libraries = [] if self.library is None else [self.library]
        if self.settings.starter:
            from recommender.starter import open_starter_library

            libraries.append(open_starter_library())
        if not libraries or self.settings.proposer == "random":
            return RandomProposer(self.space, seed=seed)
        from recommender.recommend import Recommender

        return RecommenderProposer(
            Recommender(libraries),
            self.space_dict,
            seed=seed,
            task_id=self.task_id,
            fingerprint=self.fingerprint,
            near=None
            if self.settings.max_deviation is None
            else (self.default, self.settings.max_deviation),
            cost_cap=None
            if self.settings.trial_time_limit_s is None
            else (self.settings.trial_time_limit_s, RUNTIME_METRIC),
        )

    def _schedule(self) -> Schedule:
        mode = FidelityMode(self.settings.fidelity)
        integer = self.model is ModelFamily.MLP
        max_f = float(self.settings.max_epochs) if integer else 1.0
        min_f = self.settings.min_fidelity or max_f / self.settings.eta**2
        if integer:
            min_f = max(1.0, min_f)
        return Schedule(
            mode,
            min_fidelity=min_f,
            max_fidelity=max_f,
            eta=self.settings.eta,
            integer=integer,
            budget=self.settings.budget,
        )

    def _open_library(self) -> Any:
        if self.settings.library is None:
            return None
        from library import Library

        library = Library.open(self.settings.library)
        _register_task(
            library,
            task_id=self.task_id,
            data=self.data,
            settings=self.settings,
            space=self.space_dict,
            metric=self.metric,
            fingerprint=self.fingerprint,
        )
        return library

    def _executor(self) -> TrialExecutor:
        n_jobs = self.settings.n_jobs or available_cores()
        search_idx, test_idx = split_train_test(
            self.data.n_rows,
            self.data.target,
            self.data.kind,
            test_fraction=self.settings.test_fraction,
            seed=_child_seed(self.settings.seed, 2),
        )
        eval_settings = EvalSettings(
            metric=self.metric,
            cv_folds=self.settings.cv_folds,
            validation_fraction=self.settings.validation_fraction,
            n_jobs=n_jobs,
            device=self.resolved_device,
            mup=self.settings.mup,
            max_epochs=self.settings.max_epochs,
            split_seed=_child_seed(self.settings.seed, 3),
        )
        init = {
            "features": self.data.features,
            "target": self.data.target,
            "search_idx": search_idx,
            "test_idx": test_idx,
            "model": self.model,
            "task_kind": self.data.kind,
            "settings": eval_settings,
            "resolved_device": self.resolved_device,
        }
        return TrialExecutor(init, limits=self.limits)

    # ---------------------------------------------------------------- loop
    def execute(self) -> RunResult:
        records = self.journal.load()
        trials = [TrialRecord.from_dict(r) for r in records if r.get("type") == "trial"]
        plans = {(r["bracket"], r["rung"]): r for r in records if r.get("type") == "plan"}
        finals = [r for r in records if r.get("type") == "final"]
        finished = {t.key: t for t in trials}
        base_elapsed = max((r.get("run_elapsed_s", 0.0) for r in records), default=0.0)
        self._session_start = time.perf_counter()
        self._base_elapsed = float(base_elapsed)
        for trial in trials:  # replay what earlier sessions learnt
            if trial.status == "ok" and trial.full_fidelity and trial.value is not None:
                _observe(self.proposer, trial, float(trial.value))
        fast_forward = getattr(self.proposer, "fast_forward", None)
        if callable(fast_forward):
            for (_, rung), plan in sorted(plans.items()):
                proposed = [e for e in plan["entries"] if not e.get("default")]
                if rung == 0 and proposed:  # the proposer was asked for these
                    fast_forward(len(proposed))
        if trials:
            logger.info("resuming run %s: %d trials done", self.run_id, len(trials))
        self.trials = list(trials)
        executor = self._executor()
        stopped = "budget"
        try:
            with _preemption_guard(self.run_id):
                stopped = self._walk(executor, plans, finished)
                final = self._final(executor, finals)
        finally:
            executor.close()
        return self._result(final, stopped, executor.startup_seconds)

    def _elapsed(self) -> float:
        return self._base_elapsed + (time.perf_counter() - self._session_start)

    def _exhausted(self) -> bool:
        return self.budget.exhausted(len(self.trials), self._elapsed())

    def _default_already_run(self, fidelity: float) -> bool:
        """Whether the library holds an ok result of the default for this task at
        ``fidelity`` or higher: an earlier run on the same data ran it, and its result is
        already one of the proposer's observations."""
        if self.library is None:
            return False
        from library import trials_of_task
        from library.exceptions import UnknownTaskError

        try:
            done = trials_of_task(self.library, self.task_id).select(["params_json", "fidelity"])
        except UnknownTaskError:
            return False
        return any(
            json.loads(params) == self.default and (level is None or level >= fidelity)
            for params, level in zip(
                done["params_json"].to_pylist(), done["fidelity"].to_pylist(), strict=True
            )
        )

    def _plan_rung_zero(
        self, n: int, *, first: bool = False, fidelity: float = 1.0
    ) -> list[dict[str, Any]]:
        """The configurations of a bracket's first rung. The run's first rung starts with
        the family default (``default_first``, unless an earlier run on the same data ran
        it at ``fidelity``), the proposer filling the other slots."""
        entries: list[dict[str, Any]] = []
        if first and self.settings.default_first:
            if self._default_already_run(fidelity):
                logger.info("the default already ran on this data (an earlier run): not repeated")
            else:
                entries.append(
                    {"slot": 0, "config": dict(self.default), "projected": False, "default": True}
                )
                n -= 1
        proposals = list(self.proposer.suggest(n))[:n] if n > 0 else []
        for slot, proposal in enumerate(proposals, start=len(entries)):
            try:
                config = self.space.validate(proposal)
            except SpaceError as error:
                raise RunnerError(
                    f"the proposer suggested an invalid configuration: {error}"
                ) from error
            config, projected = project_to_deviation(
                config, self.default, self.space_dict, max_deviation=self.settings.max_deviation
            )
            if projected:
                logger.info("proposal %s pulled within max_deviation of the default", slot)
                config = self.space.validate(config)
            entries.append({"slot": slot, "config": config, "projected": projected})
        return entries

    def _walk(
        self,
        executor: TrialExecutor,
        plans: dict[tuple[int, int], dict[str, Any]],
        finished: dict[str, TrialRecord],
    ) -> str:
        bracket_index = 0
        while True:
            bracket = self.schedule.bracket(bracket_index)
            previous: list[tuple[dict[str, Any], float | None]] = []
            for rung_index, rung in enumerate(bracket.rungs):
                plan = plans.get((bracket_index, rung_index))
                if plan is None:
                    if self._exhausted():
                        return self._why_stopped()
                    if rung_index == 0:
                        entries = self._plan_rung_zero(
                            rung.n_configs, first=not plans, fidelity=rung.fidelity
                        )
                    else:
                        keep = top_k([value for _, value in previous], rung.n_configs)
                        entries = [previous[i][0] for i in keep]
                    if not entries:
                        if rung_index == 0:
                            return "proposer_exhausted"
                        break
                    plan = {
                        "type": "plan",
                        "bracket": bracket_index,
                        "rung": rung_index,
                        "fidelity": rung.fidelity,
                        "entries": entries,
                        "run_elapsed_s": self._elapsed(),
                    }
                    self.journal.append(plan)
                    plans[(bracket_index, rung_index)] = plan
                results: list[tuple[dict[str, Any], float | None]] = []
                for entry in plan["entries"]:
                    key = f"{bracket_index}:{rung_index}:{entry['slot']}"
                    done = finished.get(key)
                    if done is None:
                        if self._exhausted():
                            return self._why_stopped()
                        done = self._run_trial(
                            executor, entry, bracket_index, rung_index, float(plan["fidelity"])
                        )
                        finished[key] = done
                    results.append((entry, done.value if done.status == "ok" else None))
                previous = results
                if all(value is None for _, value in results):
                    break
            bracket_index += 1

    def _why_stopped(self) -> str:
        return "budget" if len(self.trials) >= self.budget.max_trials else "time_budget"

    def _run_trial(
        self,
        executor: TrialExecutor,
        entry: dict[str, Any],
        bracket: int,
        rung: int,
        fidelity: float,
    ) -> TrialRecord:
        seed = _child_seed(self.settings.seed, 4, bracket, entry["slot"])
        executor.ensure_started()
        time_limit = self.budget.trial_time_limit(self.limits, self._elapsed())
        started = time.perf_counter()
        reply: TrialReply = executor.run(
            {"kind": "trial", "config": entry["config"], "fidelity": fidelity, "seed": seed},
            time_limit_s=time_limit,
        )
        runtime = time.perf_counter() - started
        record = TrialRecord(
            trial_index=len(self.trials),
            key=f"{bracket}:{rung}:{entry['slot']}",
            bracket=bracket,
            rung=rung,
            slot=int(entry["slot"]),
            config=dict(entry["config"]),
            fidelity_name=fidelity_name(self.model),
            fidelity=fidelity,
            max_fidelity=self.schedule.max_fidelity,
            status=reply.status,
            value=reply.value,
            metrics=reply.metrics,
            seed=seed,
            runtime_s=runtime,
            train_seconds=reply.train_seconds,
            error=reply.error,
            projected=bool(entry.get("projected", False)),
            environment=reply.environment,
            hardware=reply.hardware,
            finished_at=dt.datetime.now(dt.timezone.utc).isoformat(),
            run_elapsed_s=self._elapsed(),
        )
        self.journal.append({"type": "trial", **asdict(record)})
        if self.library is not None:
            record_trial(self.library, task_id=self.task_id, record=record, metric=self.metric)
        self.trials.append(record)
        if record.status != "ok":
            logger.warning("trial %s %s: %s", record.key, record.status, record.error)
        elif record.full_fidelity and record.value is not None:
            _observe(self.proposer, record, float(record.value))
        if self.progress is not None:
            self.progress(record, len(self.trials), self.budget.max_trials)
        return record

    def _best(self) -> TrialRecord | None:
        ok = [t for t in self.trials if t.status == "ok" and t.value is not None]
        if not ok:
            return None
        top_fidelity = max(t.fidelity for t in ok)
        return max(
            (t for t in ok if t.fidelity == top_fidelity), key=lambda t: (t.value, -t.trial_index)
        )

    def _final(self, executor: TrialExecutor, finals: list[dict[str, Any]]) -> FinalDecision | None:
        best = self._best()
        if not self.settings.validate_final or best is None:
            return None
        for record in finals:
            if record.get("best_key") == best.key:
                return FinalDecision(**record["decision"])
        seed = _child_seed(self.settings.seed, 5)
        replies = {}
        for name, config in (("best", best.config), ("default", self.default)):
            reply = executor.run(
                {"kind": "final", "config": config, "seed": seed},
                time_limit_s=self.limits.time_limit_s,
            )
            replies[name] = reply.value if reply.status == "ok" else None
        decision = decide_final(best.config, replies["best"], self.default, replies["default"])
        self.journal.append(
            {
                "type": "final",
                "best_key": best.key,
                "decision": asdict(decision),
                "run_elapsed_s": self._elapsed(),
            }
        )
        return decision

    def _result(self, final: FinalDecision | None, stopped: str, startup: float) -> RunResult:
        best = self._best()
        counts: dict[str, int] = {}
        for trial in self.trials:
            counts[trial.status] = counts.get(trial.status, 0) + 1
        recommended = (
            final.chosen
            if final is not None
            else (dict(best.config) if best is not None else dict(self.default))
        )
        return RunResult(
            run_id=self.run_id,
            run_dir=self.run_dir,
            trials=tuple(self.trials),
            best_config=None if best is None else dict(best.config),
            best_value=None if best is None else best.value,
            recommended_config=recommended,
            final=final,
            stopped_reason=stopped,
            elapsed_s=self._elapsed(),
            metric=self.metric,
            task_id=self.task_id,
            worker_startup_s=startup,
            status_counts=counts,
            proposer=_proposer_kind(self.proposer),
            proposer_fallbacks=int(getattr(self.proposer, "fallbacks", 0)),
            proposer_sources=tuple(getattr(self.proposer, "sources", ())),
        )
