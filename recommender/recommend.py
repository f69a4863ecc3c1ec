"""`Recommender`: the Python API that ties library, surrogate, guardrails and proposals.

Data flow: library tasks sharing the target's parameters -> per-source GPs (bounded cost,
cached per process) -> `transfer.propose` over a candidate set -> (GP phase, no pool: the
same ensemble LogEI maximised with BoTorch gradients, `recommender.acquisition`) ->
`Suggestion`s with a predicted score, an interval, the neighbour tasks behind each pick
and the guardrail decision in force.

Example:
    >>> rec = Recommender(Library.open())
    >>> rec.suggest(space=Space.from_json("space.json"), n=5)   # zero-shot
    >>> rec.suggest("lcbench/3945", n=1)                          # a task in the library
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from featurizers.fingerprint import Fingerprint
from featurizers.similarity import TaskSimilarity
from library.exceptions import CostCapError, EmptyLibraryError, SpaceError, UnknownTaskError
from library.query import RUNTIME_METRIC, TaskEvaluations, metric_column
from library.store import Library
from recommender.acquisition import (
    EnsembleLogEI,
    OptimizedCandidate,
    optimize_ensemble_acqf,
    proposal_acquisition,
)
from recommender.branch_search import branch_of
from recommender.candidate_filters import (
    all_of,
    default_box,
    far_from,
    free_candidates,
    inside_box,
    matching_rows,
    under_cap,
)
from recommender.cost_cap import (
    DEFAULT_CONFIDENCE,
    CostCap,
    CostShape,
    fit_cost_shape,
    read_costs,
    split_observed_costs,
)
from recommender.default_box import DefaultBox
from recommender.first_pick import CrossPredictions
from recommender.guardrails import GuardrailDecision
from recommender.library_snapshot import cached_task_evaluations
from recommender.multitask import MultiTaskFit
from recommender.multitask_search import MultiTaskOptions, MultiTaskPick, propose_multitask
from recommender.space import Space
from recommender.suggestion import Explanation, Suggestion
from recommender.surrogate import (
    LazySourceStd,
    SourceModel,
    fit_source_model,
    predict_source_means,
    predict_sources,
    regret_scale,
)
from recommender.transfer import (
    Proposal,
    TransferOptions,
    contrast_set,
    first_pick_choice,
    propose,
    seeded_order,
    source_quantiles,
)

__all__ = ["Recommender", "Suggestion", "Explanation", "ProposalOptimizer"]

_LOG = logging.getLogger(__name__)

#: observed configurations the local candidates are drawn around (the best first)
_LOCAL_CENTRES = 3


class ProposalOptimizer(str, Enum):
    """How `Recommender.suggest` maximises the acquisition when no pool is given.

    Attributes:
        AUTO: ``GRADIENT`` in the GP phase (observations in hand) without a pool,
            ``RANDOM`` otherwise; pool mode is always the argmax over the pool.
        RANDOM: the argmax over the random candidate set (``n_candidates`` draws plus the
            sources' best configurations).
        GRADIENT: `recommender.acquisition.optimize_ensemble_acqf`: multi-start L-BFGS-B
            per one-hot combination, never worse than the random candidates' argmax.
            Zero-shot and portfolio picks are unchanged (they are not LogEI picks).
    """

    AUTO = "auto"
    RANDOM = "random"
    GRADIENT = "gradient"


def _proposal_optimizer(value: ProposalOptimizer | str) -> ProposalOptimizer:
    try:
        return ProposalOptimizer(value)
    except ValueError:
        choices = [m.value for m in ProposalOptimizer]
        raise SpaceError(f"optimizer must be one of {choices}, got {value!r}") from None


def default_cache_dir() -> Path:
    """``$HPWS_CACHE`` or ``<user cache dir>/hp-warmstart/source-gps``."""
    import os

    import platformdirs

    override = os.environ.get("HPWS_CACHE")
    return (
        Path(override)
        if override
        else Path(platformdirs.user_cache_dir("hp-warmstart")) / "source-gps"
    )


SURROGATES = ("ensemble", "multitask")


@dataclass(frozen=True)
class _PickContext:
    """What `proposal_acquisition` needs to rebuild a GP-phase pick's acquisition."""

    models: Sequence[SourceModel]
    cand_X: np.ndarray
    cand_mean: np.ndarray
    obs_X: np.ndarray
    obs_y: np.ndarray
    obs_mean: np.ndarray
    gp_state: Mapping[str, Any]

    def acquisition(
        self, proposal: Proposal, options: TransferOptions, pending_X: Sequence[np.ndarray]
    ) -> EnsembleLogEI:
        """The pick's acquisition, after a kriging believer of ``pending_X`` (if any)."""
        acqf = proposal_acquisition(
            proposal,
            source_models=self.models,
            cand_mean=self.cand_mean,
            obs_X=self.obs_X,
            obs_y=self.obs_y,
            obs_mean=self.obs_mean,
            gp_state=self.gp_state,
            options=options,
        )
        return acqf.fantasize_pending(np.stack(pending_X)) if len(pending_X) else acqf


def repaired_design(
    cand_X: np.ndarray,
    cand_mean: np.ndarray,
    obs_X: np.ndarray,
    options: TransferOptions,
    *,
    seed: int,
) -> int:
    """Observations that already repair a design rejected sources biased: those among
    the lowest ``options.probe_share`` of the candidates by the sources' equal-weight
    standardised mean (where contrast restart picks go) or among the first
    ``min_target_points`` of the seeded random design (where random restart picks go;
    `transfer.seeded_order`).

    Restart picks exist to add such points, so ``options.min_target_points`` of them
    mean no restart is owed. It reads only the observations: the count a process with no
    memory of earlier calls can make. A contrast probe (``explore_steps``, off by default)
    lies in the same region, so after one a fresh process owes one restart pick fewer
    than the one-process search.
    """
    if not len(obs_X) or not len(cand_mean):
        return 0
    every = np.arange(len(cand_X))
    low = contrast_set(cand_mean, np.ones(len(cand_mean)), every, options.probe_share)
    design = seeded_order(len(cand_X), seed)[: options.min_target_points]
    return int(matching_rows(obs_X, cand_X[np.union1d(low, design)]).sum())


def _stored_fingerprint(evaluations: TaskEvaluations | None) -> Fingerprint | None:
    """A library task's dataset fingerprint as recorded with it (``None`` without one)."""
    if evaluations is None or not evaluations.fingerprint:
        return None
    names = list(evaluations.fingerprint)
    return Fingerprint.from_values(
        names, [evaluations.fingerprint[name] for name in names], kind="dataset"
    )


def _task_features(
    sources: Sequence[TaskEvaluations], fingerprint: Fingerprint | None
) -> np.ndarray | None:
    """``(len(sources) + 1) x f`` fingerprint rows (target last) over the features every
    source has and none leaves NaN, or ``None`` when there is no such feature."""
    if fingerprint is None or not sources:
        return None
    names = list(fingerprint.names)
    prints = [e.fingerprint or {} for e in sources]
    if not all(set(names) <= set(p) for p in prints):
        return None
    rows = np.array(
        [[p[name] for name in names] for p in prints]
        + [list(np.asarray(fingerprint.values, dtype=np.float64))],
        dtype=np.float64,
    )
    finite = np.isfinite(rows).all(axis=0)
    return rows[:, finite] if finite.any() else None


def _config_of(row: Mapping[str, Any], space: Space) -> dict[str, Any]:
    """A candidate row as a validated config: numpy scalars as Python values, inactive
    (None / NaN) parameters left out."""
    return space.validate(
        {
            k: (v.item() if hasattr(v, "item") else v)
            for k, v in row.items()
            if v is not None and v == v
        }
    )


def _model_key(evals: TaskEvaluations, space: Space) -> tuple[str, int, Space]:
    """What a kept source GP is keyed by (its encoding depends on the space)."""
    return (evals.task_id, len(evals.objective), space)


def _oriented(objective: np.ndarray, direction: str) -> np.ndarray:
    return objective if direction == "maximize" else -objective


@dataclass
class Recommender:
    """Warm-started hyperparameter recommendations from one or more libraries.

    The constructor only stores its arguments; work happens in `suggest`.

    Args:
        libraries: a `Library` or a sequence of them (e.g. the user's library layered over
            the bundled starter library); tasks are read from all of them.
        options: `TransferOptions` (guardrails, portfolio length, ...).
        max_sources: at most this many source tasks with exactly the target's parameter names
            (those with the most trials; with a target fingerprint, the ``n_neighbours``
            nearest among all of them, then those without a fingerprint). A task is a
            source only with at least 5 trials that do not all score the same (a constant
            task ranks nothing).
        n_candidates: candidates scored when no pool is given (with the gradient
            optimizer: its starting points and the floor it must beat).
        local_share: with sources and observations, this share of the ``n_candidates``
            is drawn around the target's 3 best configurations (`Space.sample_around`), the
            rest uniformly; random-design picks never take them. Default 0 (every candidate
            uniform): off the pools, on three draws of the synthetic conditional family
            (`benchmarks/bench_continuous.py`, 16 targets x 2 seeds each), 0.25 cut ours'
            regret at t = 2-5 on one draw (2026: t = 2 0.094 -> 0.033) and a little on
            another (1: t = 5 0.027 -> 0.022) but cost the third from t = 10 (3: t = 20
            0.011 -> 0.023; two targets stayed in a poor region the local candidates kept
            refining), so it is opt-in.
        n_neighbours: sources kept when the target has a fingerprint.
        min_distance: outside pool mode, no candidate closer than this (Euclidean, on the
            encoded unit cube, where one unit is a parameter's whole range) to an observed
            configuration or to an earlier pick of the batch is proposed: a configuration
            within rounding of one already run teaches the search nothing. Default 0.01
            (a factor of 1.2 on a parameter spanning 8 decades on a log scale). Without it
            a search on a plateau re-proposed the sources' favourite configuration
            (`benchmarks/results/warm_run_before_min_distance.json`). 0 turns it off; a space too small to keep
            the distance (every candidate near an observation) is searched without it.
            With the gradient optimizer a refined point that comes closer than this is
            dropped for the pick's candidate.
        cache_dir: on-disk cache of source-GP hyperparameters and of the zero-shot
            criterion's test (default: the user cache directory, ``$HPWS_CACHE`` overrides;
            ``None`` disables it). The first call on a library fits every source GP; later
            calls, in any process, reuse them.
        optimizer: a `ProposalOptimizer` (or its value): how GP-phase picks maximise the
            acquisition outside pool mode. Default ``"random"``: on the synthetic
            conditional benchmark gradients raised EI by a median 0.7% for 6x the time per
            suggestion (`benchmarks/results/acquisition.json`); ``"auto"`` turns them on.
        surrogate: ``"ensemble"`` (default: the RGPE-style transfer search with
            ``options``, `recommender.transfer.propose`) or ``"multitask"`` (one ICM
            multi-task GP over the ``multitask.k_nearest`` nearest sources and the target,
            with its own guardrail, `recommender.multitask_search.propose_multitask`;
            pool or random candidates, no gradient optimizer). The ensemble is the
            default because it measured better on LCBench (docs/limitations.md).
        multitask: `MultiTaskOptions` of the ``"multitask"`` surrogate.
        batch_believer: in a batch (``n > 1``) on the candidate path (random candidates or
            a pool), each later GP-phase pick maximises the LogEI after a kriging believer
            of the batch's earlier picks, as the gradient path does. Default ``False``: the
            next-best LogEI of the one acquisition, kept ``min_distance`` apart. Off the
            pools on the synthetic conditional family, batches of 4 (16 targets x 2 seeds,
            `benchmarks/results/continuous_batch4.json`), the believer spread the batches
            but left the regret level (t = 10 -0.0009 ± 0.0007, t = 20 +0.0004 ± 0.0003),
            so it is opt-in.
        progress: called as ``progress(stage, done, total)`` while the source GPs of a new
            space or source set are fitted or read from the cache (the CLI draws a bar).
    """

    libraries: Library | Sequence[Library]
    options: TransferOptions = field(default_factory=TransferOptions)
    max_sources: int = 32
    n_candidates: int = 4096
    local_share: float = 0.0
    n_neighbours: int = 8
    min_distance: float = 0.01
    cache_dir: Path | None = field(default_factory=default_cache_dir)
    optimizer: ProposalOptimizer | str = ProposalOptimizer.RANDOM
    surrogate: str = "ensemble"
    multitask: MultiTaskOptions = field(default_factory=MultiTaskOptions)
    batch_believer: bool = False
    progress: Callable[[str, int, int], None] | None = field(
        default=None, compare=False, repr=False
    )
    _models: dict[tuple[str, int, Space], SourceModel] = field(
        default_factory=dict, init=False, repr=False
    )
    # source-on-source predictions of the zero-shot criterion's test, for the last space and
    # source set (older ones are dropped; the test's answer is also cached on disk)
    _cross: dict[tuple[Space, tuple[tuple[str, int], ...]], CrossPredictions] = field(
        default_factory=dict, init=False, repr=False
    )
    _last: Explanation | None = field(default=None, init=False, repr=False)
    # the sources' best configurations, for the last space and source set (`_best_of_sources`)
    _best: tuple[tuple, pd.DataFrame] | None = field(default=None, init=False, repr=False)
    # the libraries' trials, keyed by their part files (immutable, uuid-named: an append or
    # a compaction changes the key), so a kept `Recommender` reads each version once
    _read: tuple[tuple, dict[str, TaskEvaluations]] | None = field(
        default=None, init=False, repr=False
    )
    # the cost model's shape for the last (space, metric, source set)
    _cost: tuple[tuple, CostShape | None] | None = field(default=None, init=False, repr=False)
    # the last multi-task fit, keyed by (space, source set): the next call's warm start
    _multitask_fit: tuple[tuple, MultiTaskFit] | None = field(default=None, init=False, repr=False)
    # the restart picks this Recommender suggested after a guardrail fallback, keyed by
    # (target, space, source set, seed): the ones since observed count as spent (`_restarts_spent`)
    # (and the count it found on its first call for that key, `repaired_design`)
    _restarts: tuple[tuple, int, list[np.ndarray]] | None = field(
        default=None, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.surrogate not in SURROGATES:
            raise SpaceError(f"surrogate must be one of {list(SURROGATES)}, got {self.surrogate!r}")
        if not (np.isfinite(self.min_distance) and self.min_distance >= 0):
            raise SpaceError(f"min_distance must be a number >= 0, got {self.min_distance!r}")
        if not 0.0 <= self.local_share < 1.0:
            raise SpaceError(f"local_share must be in [0, 1), got {self.local_share!r}")

    # ------------------------------------------------------------------ sources
    def _libraries(self) -> list[Library]:
        return [self.libraries] if isinstance(self.libraries, Library) else list(self.libraries)

    def _version(self) -> tuple:
        """The libraries' part files: an append or a compaction changes them."""
        return tuple(
            (str(lib.root), tuple(map(str, lib.files("tasks"))), tuple(map(str, lib.files())))
            for lib in self._libraries()
        )

    def stored_fingerprint(self, task: str) -> Fingerprint | None:
        """``task``'s dataset fingerprint as recorded in the libraries (``None`` when the
        task has none or is not there): what `suggest` uses for ``task`` when no
        ``fingerprint`` is passed."""
        return _stored_fingerprint(self._evaluations().get(task))

    def _evaluations(self) -> dict[str, TaskEvaluations]:
        version = self._version()
        if self._read is not None and self._read[0] == version:
            return self._read[1]
        out: dict[str, TaskEvaluations] = {}
        for lib in self._libraries():
            try:
                read = cached_task_evaluations(lib, self.cache_dir)
                out.update({k: v for k, v in read.items() if k not in out})
            except EmptyLibraryError:
                continue
        self._read = (version, out)
        return out

    def _spaces(self) -> dict[str, dict[str, Any]]:
        spaces: dict[str, dict[str, Any]] = {}
        for lib in self._libraries():
            for task, space in lib.task_spaces().items():
                spaces.setdefault(task, space)
        return spaces

    def _source_model(
        self, evals: TaskEvaluations, space: Space, X: np.ndarray | None = None
    ) -> SourceModel:
        """The source GP of ``evals`` in ``space`` (``X``: its configurations, encoded)."""
        key = _model_key(evals, space)
        if key not in self._models:
            self._models[key] = fit_source_model(
                evals.task_id,
                space.encode(evals.configs) if X is None else X,
                _oriented(evals.objective, evals.direction),
                seed=0,
                cache_dir=self.cache_dir,
            )
        return self._models[key]

    def _source_models(self, sources: list[TaskEvaluations], space: Space) -> list[SourceModel]:
        """`_source_model` of each source; the configurations of those not yet fitted in
        this process are encoded in one call (a third of the time of one call per source
        on LCBench's 33 x 2,000 trials)."""
        todo = [e for e in sources if _model_key(e, space) not in self._models]
        if todo:
            X_all = space.encode(pd.concat([e.configs for e in todo], ignore_index=True))
            bounds = np.cumsum([len(e.configs) for e in todo])[:-1]
            for done, (evals, X) in enumerate(zip(todo, np.split(X_all, bounds), strict=True)):
                self._source_model(evals, space, X)
                if self.progress is not None:
                    self.progress(
                        "source GPs (fitted, or read from the cache)", done + 1, len(todo)
                    )
        return [self._source_model(e, space) for e in sources]

    def _select_sources(
        self,
        evaluations: Mapping[str, TaskEvaluations],
        space: Space,
        exclude: Collection[str] = (),
        *,
        capped: bool = True,
    ) -> list[TaskEvaluations]:
        """The usable source tasks of ``space``, most trials first (at most
        ``max_sources`` when ``capped``)."""
        names = set(space.names)
        usable = [  # a task whose trials all scored the same ranks nothing: not a source
            e
            for task, e in evaluations.items()
            if task not in exclude
            and set(e.configs.columns) == names
            and len(e.objective) >= 5
            and np.ptp(e.objective) > 0
        ]
        usable.sort(key=lambda e: (-len(e.objective), e.task_id))
        return usable[: self.max_sources] if capped else usable

    def _nearest_sources(
        self, sources: list[TaskEvaluations], fingerprint: Fingerprint
    ) -> list[TaskEvaluations]:
        """The ``n_neighbours`` sources nearest to ``fingerprint``, among those with a
        comparable fingerprint (the same feature names), then every source with no
        fingerprint at all: a task that was never fingerprinted is not ruled out (e.g.
        trials recorded by runs before they fingerprinted their datasets); the ranking
        weights judge it once the target has observations. A task whose fingerprint does
        not compare (another kind of task, e.g. regression against classification) is left
        out."""
        if not sources:
            return sources
        indexed = {
            e.task_id: Fingerprint.from_values(
                list(fingerprint.names),
                [e.fingerprint[name] for name in fingerprint.names],
                version=fingerprint.version,
                kind=fingerprint.kind,
            )
            for e in sources
            if e.fingerprint and set(e.fingerprint) == set(fingerprint.names)
        }
        if not indexed:
            _LOG.warning(
                "no source task has a comparable fingerprint; using all %d sources", len(sources)
            )
            return sources
        similarity = TaskSimilarity(learn_weights=False).fit(indexed)
        near = [task for task, _ in similarity.nearest(fingerprint, k=self.n_neighbours)]
        by_id = {e.task_id: e for e in sources}
        return [by_id[t] for t in near] + [e for e in sources if not e.fingerprint]

    # ------------------------------------------------------------------ API
    def suggest(
        self,
        task: str | None = None,
        space: Space | Mapping[str, Any] | None = None,
        *,
        n: int = 1,
        observed: pd.DataFrame | Sequence[tuple[Mapping[str, Any], float]] | None = None,
        direction: str = "maximize",
        pool: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
        fingerprint: Fingerprint | None = None,
        seed: int = 0,
        optimizer: ProposalOptimizer | str | None = None,
        exclude: Iterable[str] = (),
        default: Mapping[str, Any] | None = None,
        max_deviation: float | None = None,
        max_cost: float | None = None,
        cost_metric: str = RUNTIME_METRIC,
        observed_costs: Sequence[float] | None = None,
        cost_confidence: float = DEFAULT_CONFIDENCE,
    ) -> list[Suggestion]:
        """Propose ``n`` configurations for a task.

        Args:
            task: a task id in the library (its trials count as observations and it is
                excluded from the sources), or ``None`` for a new task.
            space: the search space (required unless ``task`` stored one).
            n: batch size (picks are diverse: each one is chosen given the others).
            observed: extra target observations, as ``(config, value)`` pairs or a
                DataFrame with the parameters plus a ``value`` column.
            direction: direction of ``observed`` values.
            pool: restrict proposals to these configurations (pool mode).
            fingerprint: the target's dataset fingerprint; sources are then the
                ``n_neighbours`` nearest library tasks that have a comparable fingerprint,
                plus every task that has none (it cannot be ruled out; one whose
                fingerprint does not compare is left out), instead of those with the most
                trials. ``None``: ``task``'s stored fingerprint when it has one.
            seed: seed of candidate sampling and ranking-loss samples.
            optimizer: overrides the `Recommender`'s ``optimizer`` for this call. With
                ``"gradient"`` (or ``"auto"``), GP-phase picks of a batch are sequential
                greedy under a kriging believer (`EnsembleLogEI.fantasize_pending`).
            exclude: library task ids never used as sources, e.g. the task being tuned
                when its results are passed as ``observed`` while also being recorded in
                the library (the runner does this): as a source it would count those
                results twice and win the ranking weights by construction.
            default: a trusted configuration; with ``max_deviation``, every proposal stays
                within ``max_deviation`` of it (`recommender.default_box.DefaultBox`: per
                parameter on the unit, or log, scale; categoricals keep the default's
                choice below 1), and the acquisition is maximised inside that box.
            max_deviation: the box's half-width on the unit scale (needs ``default``).
                With no usable source and nothing observed, the picks are the default, then
                distinct uniform draws in its box (phase ``"random"``, no prediction).
            max_cost: a budget cap per proposal: only configurations whose
                ``cost_metric`` is predicted within it with probability ``cost_confidence``
                are proposed (`recommender.cost_cap`: a cost model learned from the
                sources' recorded metric, conditioned on the target's observed costs
                when there are any, else levelled on the sources' median).
            cost_metric: the library metric that measures cost (`library.metric_column`:
                ``metric_<name>``, or by default ``runtime_s``, each trial's recorded wall
                time). An ``observed`` DataFrame's column of that name holds the
                observations' costs.
            observed_costs: the cost of each ``observed`` trial (NaN: not recorded), when
                ``observed`` is a list of pairs. A library ``task``'s own recorded costs
                count too.
            cost_confidence: the probability, under the cost model's error, that a
                proposal's cost is within ``max_cost`` (0.5: the point prediction).

        Returns:
            ``n`` `Suggestion`s, best first.

        Raises:
            UnknownTaskError: ``task`` is not in any library.
            SpaceError: no space, an observed config outside it, ``n < 1``, an unknown
                ``optimizer``, ``optimizer="gradient"`` with a ``pool``, ``default``
                without ``max_deviation`` (or the reverse), a ``default`` outside the
                space, or a ``pool`` with no unobserved row inside the default's box.
            CostCapError: ``max_cost`` is not a positive number, ``cost_confidence`` is
                not in ``[0.5, 1)``, no source records ``cost_metric``, or an observed
                cost is not positive. A cap that no candidate is predicted to meet is not
                an error: the cheapest by prediction are proposed, as the explanation says.
            EmptyLibraryError: no library holds a usable source task, nothing is observed
                and no ``default`` is given.
        """
        if n < 1:
            raise SpaceError(f"`n >= 1` must hold, got n={n}")
        if direction not in ("maximize", "minimize"):
            raise SpaceError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
        mode = _proposal_optimizer(self.optimizer if optimizer is None else optimizer)
        if mode is ProposalOptimizer.GRADIENT and pool is not None:
            raise SpaceError(
                "optimizer='gradient' searches the whole space, but a pool restricts the "
                "proposals to its rows; use optimizer='auto' or 'random' with pool="
            )
        if mode is ProposalOptimizer.GRADIENT and self.surrogate == "multitask":
            raise SpaceError(
                "optimizer='gradient' maximises the ensemble's LogEI; the multi-task surrogate "
                "picks among random or pool candidates (use optimizer='random' or 'auto')"
            )
        evaluations = self._evaluations()
        spaces = self._spaces()
        if task is not None and task not in evaluations and task not in spaces:
            raise UnknownTaskError.among(task, {*evaluations, *spaces}, "the libraries")
        if space is None:
            if task is None or task not in spaces:
                whose = f"task {task!r} has no space recorded" if task is not None else "no task"
                raise SpaceError(
                    f"no search space: {whose}; pass one (`space=` in Python, a Space or a "
                    "space.json dict; `--space FILE` or `--model FAMILY` on the command line)"
                )
            space = spaces[task]
        space = space if isinstance(space, Space) else Space.from_dict(space)
        box = default_box(space, default, max_deviation)
        observed, costs = split_observed_costs(observed, observed_costs, max_cost, cost_metric)
        obs_configs, obs_y = self._observations(task, evaluations, observed, direction, space)
        excluded = {*exclude} if task is None else {task, *exclude}
        if fingerprint is None and task is not None:
            fingerprint = _stored_fingerprint(evaluations.get(task))
        if fingerprint is None:
            sources = self._select_sources(evaluations, space, excluded)
        else:  # the nearest among every usable task, not among those with the most trials
            usable = self._select_sources(evaluations, space, excluded, capped=False)
            sources = self._nearest_sources(usable, fingerprint)[: self.max_sources]
        cap = None
        if max_cost is not None:
            n_own = len(obs_y) - (0 if observed is None else len(observed))
            cap = self._cost_cap(
                space,
                sources,
                task,
                max_cost,
                cost_metric,
                target_rows=(obs_configs.iloc[n_own:], costs),
                confidence=cost_confidence,
            )
        if not sources and len(obs_y) == 0 and pool is None:
            if box is not None:  # nothing to transfer, nothing observed: start at the default
                return self._finish(self._box_design(task, box, n, seed), space, box, cap)
            raise EmptyLibraryError(
                "no source task in the libraries shares this space and nothing is observed; "
                "ingest past trials (`recommend library ingest`) or pass `observed=`"
            )
        cand_configs, cand_X, design_eligible = self._candidates(
            space, sources, pool, seed, obs_configs, obs_y, box
        )
        obs_X = space.encode(obs_configs) if len(obs_y) else np.empty((0, space.dim))
        free = free_candidates(cand_X, obs_X, pool is not None, self.min_distance)
        if box is not None:
            free = inside_box(box, cand_X, free, pool is not None)
        if cap is not None:
            free, cap = under_cap(cap, cand_X, free, n)
        admissible = all_of(
            None if box is None else box.contains, None if cap is None else cap.admissible
        )
        if self.surrogate == "multitask":
            picks = self._suggest_multitask(
                task, space, sources, fingerprint, cand_configs, cand_X, free, obs_X, obs_y, n, seed
            )
            return self._finish(picks, space, box, cap)
        picks = self._suggest_ensemble(
            task,
            space,
            sources,
            cand_configs,
            cand_X,
            free,
            design_eligible,
            obs_X,
            obs_y,
            n,
            seed,
            mode=mode,
            is_pool=pool is not None,
            box=box,
            admissible=admissible,
        )
        return self._finish(picks, space, box, cap)

    def _finish(
        self,
        suggestions: list[Suggestion],
        space: Space,
        box: DefaultBox | None,
        cap: CostCap | None,
    ) -> list[Suggestion]:
        """``suggestions`` with their predicted cost under ``cap``; the explanation gets
        them and the limits in force (``box`` and ``cap`` as applied)."""
        limits = tuple(limit.describe() for limit in (box, cap) if limit is not None)
        if cap is not None and suggestions:
            costs = cap.predict(space.encode([s.config for s in suggestions]))
            suggestions = [
                replace(s, cost=float(c)) for s, c in zip(suggestions, costs, strict=True)
            ]
        if self._last is not None:
            self._last = replace(self._last, suggestions=tuple(suggestions), limits=limits)
        return suggestions

    def _cost_cap(
        self,
        space: Space,
        sources: Sequence[TaskEvaluations],
        task: str | None,
        max_cost: float,
        metric: str,
        *,
        target_rows: tuple[pd.DataFrame, np.ndarray | None],
        confidence: float,
    ) -> CostCap:
        """The cost cap of this call: the shape fitted on the sources' recorded
        ``metric`` (kept while the space and the sources stay the same), levelled on
        the target's recorded costs: its library rows (``task``) and ``target_rows``
        (the observations passed in, with their costs or ``None``)."""
        # the sources' trial counts stand for their data, as for the source GPs (the
        # libraries' version would change with every trial a run records on its own task)
        key = (space, metric, tuple((e.task_id, len(e.objective)) for e in sources))
        if self._cost is None or self._cost[0] != key:
            tables = read_costs(self._libraries(), metric, [e.task_id for e in sources])
            self._cost = (key, fit_cost_shape(space, tables, metric))
        shape = self._cost[1]
        if shape is None and not sources:
            raise CostCapError(
                "max_cost needs the recorded costs of source tasks, and no library task "
                "shares this space"
            )
        if shape is None:
            raise CostCapError(
                f"max_cost needs recorded costs: none of the {len(sources)} source task(s) has "
                f"a '{metric}' metric (library column {metric_column(metric)}); record it with the "
                "trials, or name another metric (cost_metric= / --cost-metric)"
            )
        X_parts: list[np.ndarray] = []
        cost_parts: list[np.ndarray] = []
        if task is not None:
            own = read_costs(self._libraries(), metric, [task]).get(task)
            if own is not None:
                X_parts.append(space.encode(space.to_frame(own.drop(columns=["value"]))))
                cost_parts.append(own["value"].to_numpy(dtype=np.float64))
        configs, costs = target_rows
        if costs is not None:
            X_parts.append(space.encode(configs))
            cost_parts.append(costs)
        if not X_parts:
            return CostCap.for_target(max_cost, shape, confidence=confidence)
        X, observed = np.vstack(X_parts), np.concatenate(cost_parts)
        return CostCap.for_target(max_cost, shape, X, observed, confidence=confidence)

    def _box_design(self, task: str | None, box: DefaultBox, n: int, seed: int) -> list[Suggestion]:
        """With no source and no observation: the default, then uniform draws in its box."""
        reason = (
            "no source task and nothing observed: the default, then uniform draws within "
            f"max_deviation={box.max_deviation:g} of it"
        )
        frame = box.sample(n, seed=seed)
        # a box narrower than the ints' and categoricals' steps repeats configurations
        _, first = np.unique(np.round(box.space.encode(frame), 9), axis=0, return_index=True)
        frame = frame.iloc[np.sort(first)]
        suggestions = [
            Suggestion(
                config=_config_of(row, box.space),
                predicted=float("nan"),
                interval=(float("nan"), float("nan")),
                neighbours=(),
                phase="random",
                mode="random-init",
                reason=reason,
            )
            for row in frame.to_dict("records")
        ]
        decision = GuardrailDecision(step=0, mode="random-init", weights={}, reason=reason)
        self._last = Explanation(
            target=task,
            n_observed=0,
            sources=(),
            decisions=(decision,) * len(suggestions),
            suggestions=tuple(suggestions),
        )
        return suggestions

    def _kept_apart(
        self, result: OptimizedCandidate, obs_X: np.ndarray, pending_X: Sequence[np.ndarray]
    ) -> OptimizedCandidate | None:
        """The gradient optimizer's refined point, or ``None`` (keep the pick's candidate)
        when it lies within ``min_distance`` of an observation or an earlier pick."""
        if self.min_distance <= 0:
            return result
        done = np.vstack([obs_X, *[x[None] for x in pending_X]]) if pending_X else obs_X
        if not len(done):
            return result
        return result if far_from(result.x[None], done, self.min_distance)[0] else None

    def _restarts_spent(
        self, key: tuple, cand_X: np.ndarray, cand_mean: np.ndarray, obs_X: np.ndarray
    ) -> int:
        """Restart picks already spent on this target.

        The transfer search spends `TransferOptions.min_target_points` restart picks after
        a guardrail fallback, then trusts a target-only GP. `run_pool_search` counts them
        in its state; called once per pick, `suggest` would start the count afresh every
        call and never leave the restart design. A `Recommender` that served this key
        (target, space, source set, seed) before counts the restart picks it suggested that are
        now observed, on top of what it found on its first call for the key: there (a
        new process, e.g. each `recommend suggest`) it counts the observations that
        already repair a design the sources biased (`repaired_design`), such as the
        restart picks of earlier processes.
        """
        if self._restarts is None or self._restarts[0] != key:
            found = repaired_design(cand_X, cand_mean, obs_X, self.options, seed=key[-1])
            self._restarts = (key, found, [])
        _, found, rows = self._restarts
        return found + int(matching_rows(np.array(rows).reshape(-1, cand_X.shape[1]), obs_X).sum())

    def _remember_restart(self, key: tuple, row: np.ndarray) -> None:
        """Record a suggested restart pick (`_restarts_spent`)."""
        assert self._restarts is not None and self._restarts[0] == key
        if not any(np.array_equal(row, kept) for kept in self._restarts[2]):
            self._restarts[2].append(np.array(row, copy=True))

    def explain(self) -> Explanation:
        """The sources, guardrail decisions and suggestions of the last `suggest` call.

        Raises:
            SpaceError: `suggest` was not called yet.
        """
        if self._last is None:
            raise SpaceError("nothing to explain yet: call `suggest` first")
        return self._last

    def observe(
        self,
        task: str,
        config: Mapping[str, Any],
        value: float,
        *,
        objective_name: str = "objective",
        direction: str = "maximize",
        library: Library | None = None,
        seed: int | None = None,
    ) -> None:
        """Record a finished trial of ``task`` in the (first, writable) library.

        Raises:
            UnknownTaskError: ``task`` is not in that library.
            SchemaError: ``value`` is NaN or the row does not fit the schema.
        """
        target = library or self._libraries()[0]
        params = {f"param_{k}": v for k, v in config.items()}
        target.append_trials(
            [{"task_id": task, "objective_value": float(value), "seed": seed, **params}],
            objective_name=objective_name,
            direction=direction,
            source="recommender.observe",
        )

    # ------------------------------------------------------------------ helpers
    def _use_gradient(
        self, mode: ProposalOptimizer, has_pool: bool, proposal: Proposal, n_observed: int
    ) -> bool:
        """Whether this pick maximises the ensemble LogEI with gradients."""
        if mode is ProposalOptimizer.RANDOM or has_pool or proposal.phase not in ("gp", "stacked"):
            return False
        if proposal.branch is not None or proposal.avoided is not None or proposal.flat:
            # confined to the incumbent's branch, or kept out of a stalled or flat one:
            # the gradient search spans every branch, so the pick is the best candidate of
            # the branches allowed (as for hedge picks)
            return False
        return self._acqf_pick(proposal, n_observed)

    def _acqf_pick(self, proposal: Proposal, n_observed: int) -> bool:
        """Whether `proposal_acquisition` rebuilds the acquisition this GP-phase pick
        maximised (for the gradient search and for a batch's kriging believer)."""
        if proposal.phase not in ("gp", "stacked"):
            return False
        if self.options.surrogate != "ensemble":
            _LOG.info("surrogate=%r: GP-phase picks use the candidate set", self.options.surrogate)
            return False
        if n_observed > self.options.max_target_points:
            # propose fitted its target GP on a random subsample we cannot rebuild here
            _LOG.info(
                "%d observations > max_target_points=%d: GP-phase picks use the candidate set",
                n_observed,
                self.options.max_target_points,
            )
            return False
        return True

    def _believer_pick(
        self,
        proposal: Proposal,
        context: _PickContext,
        *,
        free: np.ndarray,
        pending_X: Sequence[np.ndarray],
        branch_columns: Sequence[int],
    ) -> Proposal:
        """A later GP-phase pick of a batch on the candidate path: the argmax over the free
        candidates of the pick's LogEI after a kriging believer of the batch's earlier picks
        (`EnsembleLogEI.fantasize_pending`, as the gradient path does), within the branch
        the pick was confined to or outside the ones it avoided."""
        acqf = context.acquisition(proposal, self.options, pending_X)
        cand_X = context.cand_X
        allowed = free.copy()
        kept = proposal.branch is not None or proposal.avoided is not None or proposal.flat
        if branch_columns and kept:
            branch = branch_of(cand_X, branch_columns)
            allowed &= branch == branch[proposal.index]
        rows = np.flatnonzero(allowed)
        scores = acqf.score(cand_X[rows])
        best = int(np.argmax(scores))
        return replace(proposal, index=int(rows[best]), acquisition=float(scores[best]))

    def _optimize_pick(
        self,
        proposal: Proposal,
        context: _PickContext,
        *,
        space: Space,
        free: np.ndarray,
        pending_X: Sequence[np.ndarray],
        seed: int,
        bounds: tuple[np.ndarray, np.ndarray] | None = None,
        admissible: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> OptimizedCandidate:
        """The GP-phase pick by `optimize_ensemble_acqf` (candidate index relative to
        ``free``), within ``bounds`` and the ``admissible`` region when given (a default's
        box, a cost cap)."""
        acqf = context.acquisition(proposal, self.options, pending_X)
        exclude = np.concatenate([context.obs_X, np.reshape(pending_X, (-1, space.dim))])
        return optimize_ensemble_acqf(
            acqf,
            space,
            fixed_candidates=context.cand_X[free],
            exclude=exclude,
            seed=seed,
            bounds=bounds,
            admissible=admissible,
        )

    @staticmethod
    def _observations(
        task: str | None,
        evaluations: Mapping[str, TaskEvaluations],
        observed: pd.DataFrame | Sequence[tuple[Mapping[str, Any], float]] | None,
        direction: str,
        space: Space,
    ) -> tuple[pd.DataFrame, np.ndarray]:
        frames: list[pd.DataFrame] = []
        values: list[np.ndarray] = []
        if task is not None and task in evaluations:
            e = evaluations[task]
            frames.append(space.to_frame(e.configs))
            values.append(_oriented(e.objective, e.direction))
        if observed is not None:
            if isinstance(observed, pd.DataFrame):
                if "value" not in observed.columns:
                    raise SpaceError(
                        f"observed DataFrame needs a 'value' column; got {list(observed.columns)}"
                    )
                configs = observed.drop(columns=["value"]).to_dict("records")
                y = observed["value"].to_numpy(dtype=np.float64)
            else:
                configs = [dict(c) for c, _ in observed]
                y = np.array([v for _, v in observed], dtype=np.float64)
            if not np.all(np.isfinite(y)):
                bad = np.flatnonzero(~np.isfinite(y))
                raise SpaceError(
                    f"observed values must be finite; got {len(bad)} NaN/inf, at observation(s) "
                    f"{bad[:10].tolist()} (0-based, in the order given)"
                )
            clean = [
                space.validate({k: v for k, v in c.items() if v is not None and v == v})
                for c in configs
            ]
            frames.append(space.to_frame(clean))
            values.append(_oriented(y, direction))
        if not frames:
            return space.to_frame([]), np.empty(0)
        return pd.concat(frames, ignore_index=True), np.concatenate(values)

    def _suggest_ensemble(
        self,
        task: str | None,
        space: Space,
        sources: list[TaskEvaluations],
        cand_configs: pd.DataFrame,
        cand_X: np.ndarray,
        free: np.ndarray,
        design_eligible: np.ndarray | None,
        obs_X: np.ndarray,
        obs_y: np.ndarray,
        n: int,
        seed: int,
        *,
        mode: ProposalOptimizer,
        is_pool: bool,
        box: DefaultBox | None,
        admissible: Callable[[np.ndarray], np.ndarray] | None,
    ) -> list[Suggestion]:
        """`suggest` with the ranking-weighted ensemble (the default surrogate): ``n`` picks
        of `transfer.propose` over the candidates, each taken out of ``free`` (and, off a
        pool, its ``min_distance`` neighbourhood) before the next. ``cand_configs``,
        ``cand_X`` and ``design_eligible`` come from `_candidates`, ``free`` from the
        filters (`recommender.candidate_filters`).
        """
        models = self._source_models(sources, space)
        rng = np.random.default_rng(seed)
        cand_mean, cand_std = predict_source_means(models, cand_X), LazySourceStd(models, cand_X)
        obs_mean, obs_std = predict_sources(models, obs_X)
        quantiles = source_quantiles(models)
        pending: list[int] = []
        pending_X: list[np.ndarray] = []
        # the leave-one-source-out choice of the zero-shot criterion matters only zero-shot
        first = None
        sources_key = tuple(sorted((m.task_id, m.n_trials) for m in models))
        if len(obs_y) == 0:
            key = (space, sources_key)
            if key not in self._cross:  # keep one (space, sources) at a time: bounded memory
                self._cross = {key: {}}
            first = first_pick_choice(self.options, models, self._cross[key], self.cache_dir)
        restart_key = (task, space, sources_key, seed)
        branch_columns = space.branching_columns()
        gp_state: dict = {
            "first_pick": first,
            "design_seed": seed,
            "design_eligible": design_eligible,
            "explore": self._restarts_spent(restart_key, cand_X, cand_mean, obs_X),
        }
        suggestions: list[Suggestion] = []
        decisions: list[GuardrailDecision] = []
        n_picks = min(n, int(free.sum()))
        for pick in range(n_picks):
            spent_before = gp_state["explore"]
            proposal = propose(
                cand_X=cand_X,
                cand_mean=cand_mean,
                cand_std=cand_std,
                free=free,
                obs_X=obs_X,
                obs_y=obs_y,
                obs_mean=obs_mean,
                obs_std=obs_std,
                options=self.options,
                rng=rng,
                gp_state=gp_state,
                pending=pending,
                quantiles=quantiles,
                branch_columns=branch_columns,
            )
            decisions.append(proposal.decision)
            if gp_state.get("explore", 0) > spent_before:  # a restart pick: remember it
                self._remember_restart(restart_key, cand_X[proposal.index])
            result = None
            context = _PickContext(models, cand_X, cand_mean, obs_X, obs_y, obs_mean, gp_state)
            if self._use_gradient(mode, is_pool, proposal, len(obs_y)):
                result = self._optimize_pick(
                    proposal,
                    context,
                    space=space,
                    free=free,
                    pending_X=pending_X,
                    seed=int(np.random.SeedSequence([seed, pick]).generate_state(1)[0]),
                    bounds=None if box is None else box.bounds(),
                    admissible=admissible,
                )
                if result is not None and result.candidate_index is None:
                    result = self._kept_apart(result, obs_X, pending_X)
            believe = self.batch_believer and result is None and len(pending_X) > 0
            if believe and self._acqf_pick(proposal, len(obs_y)):
                proposal = self._believer_pick(
                    proposal, context, free=free, pending_X=pending_X, branch_columns=branch_columns
                )
            if result is None or result.candidate_index is not None:
                if result is not None:  # the best random candidate won
                    proposal = replace(
                        proposal,
                        index=int(np.flatnonzero(free)[result.candidate_index]),
                        acquisition=result.value,
                    )
                i = proposal.index
                free[i] = False
                if not is_pool and self.min_distance > 0:  # the batch's later picks keep away
                    far = free & far_from(cand_X, cand_X[i : i + 1], self.min_distance)
                    free = far if far.sum() >= n_picks - pick - 1 else free
                pending.append(i)
                pending_X.append(cand_X[i])
                point = cand_configs.iloc[[i]].reset_index(drop=True)
                mean_std = (cand_mean[:, [i]], cand_std.column(i)[:, None])
            else:
                pending_X.append(result.x)
                proposal = replace(proposal, acquisition=result.value)
                point = space.to_frame(space.decode(result.x[None]))
                mean_std = predict_sources(models, result.x[None])
            # predictions are shown on the regret scale: 1 = a source's best, 0 = its worst
            suggestions.append(
                self._describe(proposal, point, *regret_scale(*mean_std, quantiles), sources, space)
            )
        self._last = Explanation(
            target=task,
            n_observed=len(obs_y),
            sources=tuple(e.task_id for e in sources),
            decisions=tuple(decisions),
            suggestions=tuple(suggestions),
        )
        return suggestions

    def _suggest_multitask(
        self,
        task: str | None,
        space: Space,
        sources: list[TaskEvaluations],
        fingerprint: Fingerprint | None,
        cand_configs: pd.DataFrame,
        cand_X: np.ndarray,
        free: np.ndarray,
        obs_X: np.ndarray,
        obs_y: np.ndarray,
        n: int,
        seed: int,
    ) -> list[Suggestion]:
        """`suggest` with the multi-task GP (``surrogate="multitask"``)."""
        key = (space, tuple((e.task_id, len(e.objective)) for e in sources))
        warm = (
            self._multitask_fit[1]
            if self._multitask_fit and self._multitask_fit[0] == key
            else None
        )
        picks, fit = propose_multitask(
            cand_X,
            free,
            obs_X,
            obs_y,
            [(space.encode(e.configs), _oriented(e.objective, e.direction)) for e in sources],
            n=n,
            options=self.multitask,
            task_features=_task_features(sources, fingerprint),
            seed=seed,
            warm_start=warm,
        )
        if fit is not None:
            self._multitask_fit = (key, fit)
        suggestions = [self._describe_multitask(p, cand_configs, sources, space) for p in picks]
        self._last = Explanation(
            target=task,
            n_observed=len(obs_y),
            sources=tuple(e.task_id for e in sources),
            decisions=(picks[0].decision,),
            suggestions=tuple(suggestions),
        )
        return suggestions

    @staticmethod
    def _describe_multitask(
        pick: MultiTaskPick,
        cand_configs: pd.DataFrame,
        sources: Sequence[TaskEvaluations],
        space: Space,
    ) -> Suggestion:
        """The `Suggestion` of a multi-task pick: the target's posterior on the copula
        scale (NaN after a fallback to the target-only GP or for a random pick)."""
        config = _config_of(cand_configs.iloc[pick.index].to_dict(), space)
        decision = pick.decision
        transfer = pick.phase == "multitask"
        mean = pick.mean if transfer else float("nan")
        half = 1.96 * pick.std if transfer else float("nan")
        ranked = sorted(decision.weights.items(), key=lambda kv: -kv[1])[:3]
        return Suggestion(
            config=config,
            predicted=mean,
            interval=(mean - half, mean + half),
            neighbours=tuple((sources[i].task_id, w) for i, w in ranked),
            phase=pick.phase,
            mode=decision.mode,
            reason=decision.reason,
        )

    def _candidates(
        self,
        space: Space,
        sources: Sequence[TaskEvaluations],
        pool: pd.DataFrame | Sequence[Mapping[str, Any]] | None,
        seed: int,
        obs_configs: pd.DataFrame,
        obs_y: np.ndarray,
        box: DefaultBox | None = None,
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
        """The candidates, their encoding, and which of them a random-design pick may take
        (``None``: all). Without a pool: ``n_candidates`` configurations (with sources and
        observations, a ``local_share`` of them around the best observed ones, the rest
        uniform, or uniform in ``box`` with the default first), then each source's 10 best;
        the random design skips the local ones."""
        eligible = None
        if pool is not None:
            frame = space.to_frame(pool if isinstance(pool, pd.DataFrame) else list(pool))
            if len(frame) == 0:
                raise SpaceError("pool is empty")
        else:
            local = len(obs_y) > 0 and len(sources) > 0
            n_local = int(round(self.local_share * self.n_candidates)) if local else 0
            n_uniform = self.n_candidates - n_local
            if box is None:
                frame = space.sample_frame(n_uniform, seed=seed)
            else:
                frame = box.sample(n_uniform, seed=seed)
            if n_local:
                centres = obs_configs.iloc[np.argsort(-obs_y, kind="stable")[:_LOCAL_CENTRES]]
                local_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
                frame = pd.concat(
                    [frame, space.sample_around(centres, n_local, seed=local_seed)],
                    ignore_index=True,
                )
            best = self._best_of_sources(space, sources)
            if len(best):
                frame = pd.concat([frame, best], ignore_index=True)
            if n_local:
                eligible = np.ones(len(frame), dtype=bool)
                eligible[n_uniform : n_uniform + n_local] = False
        return frame, space.encode(frame), eligible

    def _best_of_sources(self, space: Space, sources: Sequence[TaskEvaluations]) -> pd.DataFrame:
        """Each source's 10 best configurations: strong candidates too.

        They do not depend on the seed, so a kept `Recommender` asked again (the next
        trial of a search) reuses them: one entry, keyed like the source models (a source
        with new trials is a new source).
        """
        key = (space, tuple((e.task_id, len(e.objective)) for e in sources))
        if self._best is None or self._best[0] != key:
            frames = [
                e.configs.iloc[np.argsort(-_oriented(e.objective, e.direction), kind="stable")[:10]]
                for e in sources
            ]  # one `to_frame` for all: it costs about as much for 10 rows as for 330
            best = space.to_frame(pd.concat(frames, ignore_index=True) if frames else [])
            self._best = (key, best)
        return self._best[1]

    @staticmethod
    def _describe(
        proposal: Any,
        point: pd.DataFrame,
        mean: np.ndarray,
        std: np.ndarray,
        sources: Sequence[TaskEvaluations],
        space: Space,
    ) -> Suggestion:
        """The `Suggestion` of one configuration (``point``, one row) with the sources'
        ``S x 1`` regret-scale predictions there."""
        config = _config_of(point.iloc[0].to_dict(), space)
        decision = proposal.decision
        mean, std = mean[:, 0], std[:, 0]
        n_src = len(mean)
        if n_src and decision.mode != "target-only":
            w = decision.source_weights if decision.weights else np.full(n_src, 1.0 / n_src)
            w = w / w.sum() if w.sum() > 0 else np.full(n_src, 1.0 / n_src)
            mixed = float(w @ mean)
            var = float(w @ (std**2 + (mean - mixed) ** 2))
            top = np.argsort(-(w * mean))[:3]
            neighbours = tuple((sources[j].task_id, float(w[j])) for j in top if w[j] > 0)
        else:
            mixed, var, neighbours = float("nan"), float("nan"), ()
        half = 1.96 * np.sqrt(var) if var == var else float("nan")
        return Suggestion(
            config=config,
            predicted=mixed,
            interval=(mixed - half, mixed + half),
            neighbours=neighbours,
            phase=proposal.phase,
            mode=decision.mode,
            reason=decision.reason,
        )
