"""Optuna integration: a warm-starting sampler and import of existing studies.

`WarmStartSampler` proposes the `Recommender`'s warm-started configurations (zero-shot
portfolio from similar library tasks, then transfer BO with guardrails) for the first
``n_warm_trials`` trials of a study, through Optuna's relative sampling over the study's
search space, and hands over to a wrapped sampler (default `TPESampler`) afterwards; the
wrapped sampler then sees every earlier trial, warm ones included.

`import_study` copies an Optuna study (any storage: RDB URL such as ``sqlite:///x.db``, a
`JournalStorage` file, or a loaded `Study`) into a library task.

Example:
    >>> sampler = WarmStartSampler(Library.open("~/hpws"), n_warm_trials=5, seed=0)  # doctest: +SKIP
    >>> study = optuna.create_study(direction="maximize", sampler=sampler)              # doctest: +SKIP
    >>> study.optimize(objective, n_trials=30)                                          # doctest: +SKIP
    >>> import_study(Library.open("~/hpws"), study)                                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

from featurizers.fingerprint import Fingerprint
from library.exceptions import EmptyLibraryError, LibraryError, SpaceError
from library.store import Library
from recommender.integrations._common import (
    as_space,
    check_suggest_options,
    ensure_task,
    observed_cost,
    open_libraries,
    same_config,
)
from recommender.recommend import Explanation, Recommender
from recommender.space import CategoricalParam, IntParam, Space

__all__ = ["StudyImport", "WarmStartSampler", "import_study", "to_optuna_distributions"]

_LOG = logging.getLogger(__name__)
_SOURCE = "optuna"


def to_optuna_distributions(space: Space) -> dict[str, BaseDistribution]:
    """Optuna distributions of a flat `Space` (conditions are not expressible).

    Raises:
        SpaceError: the space has conditions.
    """
    if space.conditions:
        raise SpaceError(
            "a conditional Space has no Optuna distribution equivalent; pass a flat space "
            "or let the sampler infer the space from the study's trials"
        )
    out: dict[str, BaseDistribution] = {}
    for p in space.parameters:
        if isinstance(p, CategoricalParam):
            out[p.name] = CategoricalDistribution(p.choices)
        elif isinstance(p, IntParam):
            out[p.name] = IntDistribution(p.low, p.high, log=p.log)
        else:
            out[p.name] = FloatDistribution(p.low, p.high, log=p.log)
    return out


def _to_optuna_value(dist: BaseDistribution, value: Any) -> Any:
    """A recommender value in the type Optuna expects for ``dist`` (clipped to its range)."""
    if isinstance(dist, IntDistribution):
        return int(min(max(round(float(value)), dist.low), dist.high))
    if isinstance(dist, FloatDistribution):
        return float(min(max(float(value), dist.low), dist.high))
    if isinstance(dist, CategoricalDistribution):
        for choice in dist.choices:
            if choice == value:
                return choice
        raise SpaceError(f"value {value!r} is not a choice of {dist.choices}")
    raise SpaceError(f"unsupported Optuna distribution {type(dist).__name__}")


class WarmStartSampler(BaseSampler):
    """Optuna sampler: warm-started recommendations first, then a wrapped BO sampler.

    Args:
        library: a `Library`, a library directory or a sequence of libraries to transfer
            from (``None``: only ``starter``, or no transfer at all).
        n_warm_trials: the first this many trials come from the `Recommender`.
        base_sampler: the sampler that takes over (default ``TPESampler(seed=seed,
            n_startup_trials=n_warm_trials)``, model-based right after the warm trials);
            it also samples any parameter outside the relative search space.
        space: the search space, when known before the first trial (a `Space`, a
            ``space.json`` dict or Optuna distributions). Without it the first trial is
            sampled by ``base_sampler`` and the space is the intersection of the completed
            trials' distributions.
        fingerprint: the target dataset's fingerprint; sources are then its nearest
            library tasks.
        starter: also transfer from the bundled starter library.
        seed: seed of the recommender's draws and of the default base sampler.
        n_candidates: random candidates the recommender scores per trial.
        recommender: reuse this `Recommender` (and the source GPs it has already fitted)
            instead of building one from ``library`` and ``starter``.
        suggest_options: passed to every `Recommender.suggest` of the warm phase: a
            trusted ``default`` and ``max_deviation``, a budget cap ``max_cost`` (with
            ``cost_metric`` and ``cost_confidence``; the completed trials' costs level it:
            their durations for the default ``runtime_s``, else their user attribute named
            like the metric), ``optimizer`` or ``exclude``.

    Raises:
        SpaceError: from `sample_relative`, when the space cannot be converted.
    """

    def __init__(
        self,
        library: Library | str | Path | Sequence[Library] | None = None,
        *,
        n_warm_trials: int = 10,
        base_sampler: BaseSampler | None = None,
        space: Space | Mapping[str, Any] | None = None,
        fingerprint: Fingerprint | None = None,
        starter: bool = False,
        seed: int | None = None,
        n_candidates: int = 2048,
        recommender: Recommender | None = None,
        suggest_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._options = check_suggest_options(suggest_options)
        if isinstance(n_warm_trials, bool) or not isinstance(n_warm_trials, int):
            raise SpaceError(f"n_warm_trials must be an int, got {n_warm_trials!r}")
        if n_warm_trials < 0:
            raise SpaceError(f"`n_warm_trials >= 0` must hold, but got {n_warm_trials=}")
        if library is None or isinstance(library, (Library, str, Path)):
            _, libraries = open_libraries(library, starter=starter)
        else:
            libraries = list(library) + list(open_libraries(None, starter=starter)[1])
        self._recommender = recommender or Recommender(libraries, n_candidates=n_candidates)
        self._n_warm = n_warm_trials
        self._base = (
            base_sampler
            if base_sampler is not None
            else TPESampler(seed=seed, n_startup_trials=max(1, n_warm_trials))
        )
        self._space = as_space(space) if space is not None else None
        self._fingerprint = fingerprint
        self._seed = 0 if seed is None else int(seed)
        self._intersection = IntersectionSearchSpace()
        self._explanations: dict[int, Explanation] = {}

    # ------------------------------------------------------------------ phase
    def _in_warm_phase(self, study: optuna.Study) -> bool:
        if len(study.directions) > 1:
            return False
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return len(done) < self._n_warm

    @property
    def explanations(self) -> dict[int, Explanation]:
        """Trial number -> the `Recommender`'s explanation of that warm trial."""
        return dict(self._explanations)

    # ------------------------------------------------------------------ BaseSampler API
    def reseed_rng(self) -> None:
        """Reseed the wrapped sampler (Optuna calls this for parallel workers)."""
        self._base.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """The declared space, else the completed trials' intersection (warm phase);
        the wrapped sampler's space afterwards."""
        if not self._in_warm_phase(study):
            return self._base.infer_relative_search_space(study, trial)
        if self._space is not None:
            return to_optuna_distributions(self._space)
        space = self._intersection.calculate(study)
        return {
            name: dist
            for name, dist in space.items()
            if not (isinstance(dist, FloatDistribution) and dist.step is not None)
            and not (isinstance(dist, IntDistribution) and dist.step != 1)
            and not (isinstance(dist, CategoricalDistribution) and None in dist.choices)
            and not dist.single()
        }

    def sample_relative(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        """Warm phase: the `Recommender`'s next configuration for ``search_space``."""
        if not self._in_warm_phase(study):
            return self._base.sample_relative(study, trial, search_space)
        if not search_space:
            return {}
        space = Space.from_optuna(search_space)
        direction = (
            "maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
        )
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
        observed: list[tuple[dict[str, Any], float]] = []
        costs: list[float] = []
        running: list[dict[str, Any]] = []
        for other in trials:
            if other.number == trial.number:
                continue
            if not set(search_space) <= set(other.params):
                continue
            config = {name: other.params[name] for name in search_space}
            if other.state == TrialState.COMPLETE and other.value is not None:
                if math.isfinite(other.value):
                    observed.append((config, float(other.value)))
                    seconds = other.duration.total_seconds() if other.duration else None
                    costs.append(observed_cost(self._options, seconds, other.user_attrs))
            elif other.state == TrialState.RUNNING:
                running.append(config)
        try:
            suggestions = self._recommender.suggest(
                None,
                space,
                n=1 + len(running),
                observed=observed or None,
                direction=direction,
                fingerprint=self._fingerprint,
                seed=self._seed + trial.number,
                observed_costs=costs if "max_cost" in self._options and observed else None,
                **self._options,
            )
        except EmptyLibraryError:  # nothing to transfer and nothing observed yet
            return {}
        pick = next(
            (s for s in suggestions if not any(same_config(s.config, r) for r in running)),
            suggestions[-1],
        )
        self._explanations[trial.number] = self._recommender.explain()
        return {
            name: _to_optuna_value(dist, pick.config[name])
            for name, dist in search_space.items()
            if name in pick.config
        }

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        """Parameters outside the relative space come from the wrapped sampler."""
        return self._base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """Forwarded to the wrapped sampler."""
        self._base.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Forwarded to the wrapped sampler."""
        self._base.after_trial(study, trial, state, values)


# ---------------------------------------------------------------------- import


@dataclass(frozen=True, slots=True)
class StudyImport:
    """What `import_study` wrote.

    Attributes:
        task_id: the library task of the study.
        study_name: the imported study.
        n_trials: finished trials read (complete, failed or pruned).
        n_written: trials written (the rest were already in the library).
        created_task: whether the task was new.
    """

    task_id: str
    study_name: str
    n_trials: int
    n_written: int
    created_task: bool


def _open_storage(location: str | Path) -> Any:
    text = str(location)
    if "://" in text:
        return text  # an RDB URL: optuna opens it
    path = Path(text).expanduser()
    if not path.is_file():
        raise LibraryError(
            f"Optuna storage {text!r} is neither an RDB URL (sqlite:///file.db) nor an "
            "existing journal file; check the path"
        )
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(b"SQLite format 3"):
        return f"sqlite:///{path.resolve()}"
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(path)))


def _load_study(study: optuna.Study | str | Path, study_name: str | None) -> optuna.Study:
    if isinstance(study, optuna.Study):
        return study
    storage = _open_storage(study)
    try:
        names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    except Exception as error:  # optuna raises several types for unreadable storages
        raise LibraryError(f"cannot read Optuna storage {str(study)!r}: {error}") from error
    if study_name is None:
        if len(names) != 1:
            raise LibraryError(
                f"Optuna storage {str(study)!r} holds {len(names)} studies {names[:10]}; "
                "pass study_name="
            )
        study_name = names[0]
    elif study_name not in names:
        raise LibraryError(
            f"no study {study_name!r} in Optuna storage {str(study)!r}; it holds {names[:10]}"
        )
    return optuna.load_study(study_name=study_name, storage=storage)


def _study_space(trials: Sequence[FrozenTrial]) -> Space:
    union: dict[str, BaseDistribution] = {}
    for trial in trials:
        for name, dist in trial.distributions.items():
            known = union.setdefault(name, dist)
            if known != dist:
                raise SpaceError(
                    f"parameter {name!r} has two distributions in the study ({known} and "
                    f"{dist}); import studies whose parameters keep one distribution"
                )
    if not union:
        raise SpaceError("the study has no finished trial with parameters; nothing to import")
    return Space.from_optuna(union)


def import_study(
    library: Library,
    study_or_storage_url: optuna.Study | str | Path,
    study_name: str | None = None,
    task_id: str | None = None,
    *,
    fingerprint: Fingerprint | None = None,
) -> StudyImport:
    """Copy a single-objective Optuna study into ``library`` as one task.

    Complete trials become ``ok`` trials, failed ones ``failed`` and pruned ones
    ``pruned`` (no objective); running and waiting trials are skipped. The task stores the
    study's space (the union of its distributions), direction and objective name.
    Importing again writes only trials not yet stored (trials are keyed by task and
    parameters, so repeated identical configurations are stored once).

    Args:
        library: the library to write to.
        study_or_storage_url: a `Study`, an RDB URL (``sqlite:///study.db``), or the path
            of a `JournalStorage` file (or of a SQLite file).
        study_name: the study in the storage (needed when it holds several).
        task_id: library task id (default ``optuna/<study name>``).
        fingerprint: the dataset fingerprint to store with the task.

    Returns:
        A `StudyImport`.

    Raises:
        LibraryError: the storage cannot be read, or the study is ambiguous or missing.
        SpaceError: a multi-objective study or a distribution the recommender cannot
            represent (stepped floats, stepped ints, ``None`` choices).
    """
    study = _load_study(study_or_storage_url, study_name)
    if len(study.directions) != 1:
        raise SpaceError(
            f"study {study.study_name!r} has {len(study.directions)} objectives; only "
            "single-objective studies can be imported"
        )
    finished = study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
    )
    with_params = [t for t in finished if t.params]
    space = _study_space(with_params)
    direction = (
        "maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
    )
    objective_name = (study.metric_names or ["value"])[0] or "value"
    task = task_id or f"optuna/{study.study_name}"
    created = ensure_task(
        library,
        task,
        space=space,
        fingerprint=fingerprint,
        objective_name=objective_name,
        direction=direction,
        source=_SOURCE,
        name=study.study_name,
    )
    rows = []
    for trial in with_params:
        value = trial.value if trial.state == TrialState.COMPLETE else None
        if value is not None and not np.isfinite(value):
            value = None
        status = {
            TrialState.COMPLETE: "ok" if value is not None else "failed",
            TrialState.FAIL: "failed",
            TrialState.PRUNED: "pruned",
        }[trial.state]
        runtime = trial.duration.total_seconds() if trial.duration is not None else None
        rows.append(
            {
                "task_id": task,
                "objective_value": value,
                "status": status,
                "runtime_s": runtime,
                **{f"param_{name}": trial.params.get(name) for name in space.names},
            }
        )
    written = 0
    if rows:
        result = library.append_trials(
            rows, objective_name=objective_name, direction=direction, source=_SOURCE
        )
        written = result.n_written
    return StudyImport(
        task_id=task,
        study_name=study.study_name,
        n_trials=len(rows),
        n_written=written,
        created_task=created,
    )
