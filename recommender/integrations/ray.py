"""Ray Tune integration: `WarmStartSearcher`, a Tune ``Searcher`` over the `Recommender`.

Tune runs the trials (locally or on a Ray cluster); the searcher lives in the driver
process, asks the `Recommender` for the next configuration (warm-started from the
library's similar tasks, then transfer BO with guardrails) and, when a library and
``task_id`` are given, records each finished trial there.

Running on a cluster:

1. Put the library where the driver can read and write it (a shared file system path
   such as NFS/EFS, mounted at the same path on the head node; trials on worker nodes
   never touch it: only the searcher in the driver reads sources and appends results).
2. Start Ray (``ray start --head`` on the head node, ``ray start --address=HEAD:6379`` on
   the workers), then run the driver script on the head node:

   .. code-block:: python

       searcher = WarmStartSearcher(space, library="/shared/hpws", task_id="team/my-task",
                                    metric="accuracy", mode="max", seed=0)
       tuner = tune.Tuner(train_fn, tune_config=tune.TuneConfig(
           search_alg=ConcurrencyLimiter(searcher, max_concurrent=8), num_samples=64))
       tuner.fit()

3. ``recommend explain --task team/my-task --library /shared/hpws`` afterwards.

Concurrent trials get distinct configurations: pending trials are passed to the
recommender as a batch, and the pick avoids every pending configuration.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ray.tune.search import Searcher

from featurizers.fingerprint import Fingerprint
from library.exceptions import EmptyLibraryError, SpaceError
from library.store import Library
from recommender.integrations._common import (
    as_space,
    check_suggest_options,
    ensure_task,
    observed_cost,
    open_libraries,
    same_config,
    trial_rows,
)
from recommender.recommend import Explanation, Recommender
from recommender.space import CategoricalParam, FloatParam, IntParam, Space

__all__ = ["WarmStartSearcher", "space_from_tune"]

_SOURCE = "ray.tune.WarmStartSearcher"


def space_from_tune(config: Mapping[str, Any]) -> Space:
    """A flat `Space` from a Tune ``param_space`` of ``tune.uniform``, ``tune.loguniform``,
    ``tune.randint``, ``tune.lograndint`` and ``tune.choice`` domains.

    Raises:
        SpaceError: another domain (quantised, normal, grid, nested dicts, constants).
    """
    from ray.tune.search.sample import Categorical, Float, Integer, LogUniform, Uniform

    params: list[Any] = []
    for name, domain in config.items():
        sampler = getattr(domain, "sampler", None)
        if isinstance(domain, Float) and isinstance(sampler, (Uniform, LogUniform)):
            params.append(
                FloatParam(
                    name, float(domain.lower), float(domain.upper), isinstance(sampler, LogUniform)
                )
            )
        elif isinstance(domain, Integer) and isinstance(sampler, (Uniform, LogUniform)):
            # Tune's upper bound is exclusive
            params.append(
                IntParam(
                    name, int(domain.lower), int(domain.upper) - 1, isinstance(sampler, LogUniform)
                )
            )
        elif isinstance(domain, Categorical):
            params.append(CategoricalParam(name, tuple(domain.categories)))
        else:
            raise SpaceError(
                f"Tune parameter {name!r}: {type(domain).__name__} with sampler "
                f"{type(sampler).__name__} is not supported; use tune.uniform, tune.loguniform, "
                "tune.randint, tune.lograndint or tune.choice"
            )
    if not params:
        raise SpaceError("the Tune param_space is empty; pass space= to WarmStartSearcher")
    return Space(tuple(params))


class WarmStartSearcher(Searcher):
    """Ray Tune searcher proposing warm-started configurations from the library.

    Args:
        space: the search space (a `Space`, a ``space.json`` dict or Optuna
            distributions); ``None`` takes it from the Tuner's ``param_space``.
        metric: the reported metric to optimise (or set through ``TuneConfig``).
        mode: ``"max"`` or ``"min"``.
        library: library (or directory) to transfer from and to record trials in.
        task_id: library task of this search; with ``library`` every finished trial is
            recorded there (the task is created with the space and ``fingerprint``).
        starter: also transfer from the bundled starter library.
        fingerprint: the target dataset's fingerprint (nearest sources).
        seed: seed of the recommender's draws (trial ``k`` uses ``seed + k``).
        n_candidates: random candidates scored per suggestion.
        recommender: reuse an existing `Recommender` (and its fitted source GPs).
        suggest_options: passed to every `Recommender.suggest`: a trusted ``default`` and
            ``max_deviation``, a budget cap ``max_cost`` (with ``cost_metric`` and
            ``cost_confidence``; finished trials level it: a recorded task's own runtimes,
            else each result's ``time_total_s`` for the default ``runtime_s`` metric or its
            key named like the metric), ``optimizer`` or ``exclude``.

    Raises:
        SpaceError: an invalid space or mode, or an option `Recommender.suggest` does not
            take from an integration.
    """

    def __init__(
        self,
        space: Space | Mapping[str, Any] | None = None,
        *,
        metric: str | None = None,
        mode: str | None = None,
        library: Library | str | Path | None = None,
        task_id: str | None = None,
        starter: bool = False,
        fingerprint: Fingerprint | None = None,
        seed: int = 0,
        n_candidates: int = 2048,
        recommender: Recommender | None = None,
        suggest_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._options = check_suggest_options(suggest_options)
        if mode not in (None, "max", "min"):
            raise SpaceError(f"mode must be 'max' or 'min', got {mode!r}")
        super().__init__(metric=metric, mode=mode)
        self._space = as_space(space) if space is not None else None
        self._library, libraries = open_libraries(library, starter=starter)
        self._recommender = recommender or Recommender(libraries, n_candidates=n_candidates)
        self._task_id = task_id
        self._fingerprint = fingerprint
        self._seed = int(seed)
        self._n_suggested = 0
        self._pending: dict[str, dict[str, Any]] = {}
        self._observed: list[tuple[dict[str, Any], float]] = []
        # the cost of each observation, for a cost cap (None, not NaN, when unknown: the
        # state compares equal after a round trip)
        self._costs: list[float | None] = []
        self.explanations: dict[str, Explanation] = {}

    # ------------------------------------------------------------------ Tune API
    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        """Take metric, mode and (when no space was given) the Tune ``param_space``."""
        if self._space is not None and config:
            return False  # space given twice
        if self._space is None and config:
            self._space = space_from_tune(config)
        if self._metric is None and metric:
            self._metric = metric
        if self._mode is None and mode:
            self._mode = mode
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next configuration (distinct from every pending one)."""
        if self._space is None:
            raise SpaceError(
                "WarmStartSearcher has no search space: pass space= or a Tuner param_space"
            )
        if self._metric is None or self._mode is None:
            raise SpaceError("WarmStartSearcher needs metric and mode (TuneConfig or arguments)")
        self._ensure_task()
        pending = list(self._pending.values())
        seed = self._seed + self._n_suggested
        self._n_suggested += 1
        try:
            suggestions = self._recommender.suggest(
                self._task_id if self._recording else None,
                self._space,
                n=1 + len(pending),
                observed=None if self._recording else (self._observed or None),
                direction="maximize" if self._mode == "max" else "minimize",
                fingerprint=self._fingerprint,
                seed=seed,
                observed_costs=self._observed_costs(),
                **self._options,
            )
        except EmptyLibraryError:  # nothing to transfer and nothing observed yet
            config = self._space.sample(1, seed=seed)[0]
        else:
            pick = next(
                (s for s in suggestions if not any(same_config(s.config, p) for p in pending)),
                suggestions[-1],
            )
            config = dict(pick.config)
            self.explanations[trial_id] = self._recommender.explain()
        self._pending[trial_id] = config
        return dict(config)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Record the trial's final ``metric`` (failed trials are recorded as failed)."""
        config = self._pending.pop(trial_id, None)
        if config is None:
            return
        value = None
        if not error and result is not None and self._metric in result:
            value = float(result[self._metric])
        if value is not None and math.isfinite(value):
            self._observed.append((config, value))
            runtime = (result or {}).get("time_total_s")
            cost = observed_cost(self._options, runtime, result or {})
            self._costs.append(None if math.isnan(cost) else cost)
        if self._recording:
            runtime = (result or {}).get("time_total_s")
            self._library.append_trials(  # type: ignore[union-attr]
                trial_rows(str(self._task_id), [(config, value, runtime)]),
                objective_name=self._metric,
                direction="maximize" if self._mode == "max" else "minimize",
                source=_SOURCE,
            )

    # ------------------------------------------------------------------ state
    def _observed_costs(self) -> list[float] | None:
        """``observed_costs=`` for a cost cap on the observations passed (a recorded task's
        runtimes are read from the library instead)."""
        if "max_cost" not in self._options or self._recording or not self._observed:
            return None
        return [math.nan if cost is None else cost for cost in self._costs]

    @property
    def _recording(self) -> bool:
        return self._library is not None and self._task_id is not None

    def _ensure_task(self) -> None:
        if self._recording and self._space is not None:
            ensure_task(
                self._library,  # type: ignore[arg-type]
                self._task_id,  # type: ignore[arg-type]
                space=self._space,
                fingerprint=self._fingerprint,
                objective_name=self._metric or "objective",
                direction="maximize" if self._mode == "max" else "minimize",
                source=_SOURCE,
            )

    def get_state(self) -> dict[str, Any]:
        """Picklable state (space, observations, pending trials, counters)."""
        return {
            "space": None if self._space is None else self._space.to_dict(),
            "observed": list(self._observed),
            "costs": list(self._costs),
            "pending": dict(self._pending),
            "n_suggested": self._n_suggested,
            "metric": self._metric,
            "mode": self._mode,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore `get_state`."""
        self._space = None if state["space"] is None else Space.from_dict(state["space"])
        self._observed = list(state["observed"])
        # a checkpoint from before the cost cap: costs unknown
        self._costs = list(state.get("costs", [None] * len(self._observed)))
        self._pending = dict(state["pending"])
        self._n_suggested = int(state["n_suggested"])
        self._metric, self._mode = state["metric"], state["mode"]

    def save(self, checkpoint_path: str) -> None:
        """Pickle `get_state` to ``checkpoint_path``."""
        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.get_state(), handle)

    def restore(self, checkpoint_path: str) -> None:
        """Load a `save` checkpoint."""
        with open(checkpoint_path, "rb") as handle:
            self.set_state(pickle.load(handle))
