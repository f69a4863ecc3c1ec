"""The methods compared by `recommend bench transfer`, all in the protocol's pool mode.

Every method sees the target pool's encoded configurations, the history tasks and their
(cached) source GPs, and learns a target score only by asking the `PoolOracle` for it.
Baselines follow `ANCHORS.md`: ``random``, ``cold-gp`` (3 random picks, then a
SingleTaskGP + LogEI refitted after every pick), ``tpe`` (Optuna), ``portfolio``
(auto-sklearn-style greedy portfolio of 10, then cold-gp), ``rgpe`` (ranking-weighted GP
ensemble on copula-ranked sources, the best ANCHORS reference). ``ours`` is the production
`Recommender` pool loop; ``ours-no-guardrails`` the same with guardrails off. ``mtgp`` is
the optional multi-task GP surrogate (`Recommender(surrogate="multitask")`,
`recommender.multitask_search`), ``mtgp-no-guardrails`` the same without its fallback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from botorch.acquisition.analytic import LogExpectedImprovement
from botorch.models import SingleTaskGP

from recommender.bench.problem import SourceData
from recommender.first_pick import CrossPredictions
from recommender.guardrails import loo_predictions, ranking_losses
from recommender.multitask import MultiTaskFit
from recommender.multitask_search import MultiTaskOptions, propose_multitask
from recommender.space import Space
from recommender.surrogate import (
    SourceModel,
    fit_gp,
    predict,
    predict_sources,
)
from recommender.transfer import TransferOptions, ensemble_scores, run_pool_search, seeded_order

__all__ = ["METHODS", "MethodInput", "PoolOracle", "run_method"]

N_RANDOM_INIT = 3


class PoolOracle:
    """Reveals target scores one pick at a time and times each suggestion."""

    def __init__(self, score: np.ndarray) -> None:
        self._score = score
        self.picks: list[int] = []
        self.values: list[float] = []
        self.suggest_seconds: list[float] = []
        self._clock = time.perf_counter()

    def evaluate(self, index: int) -> float:
        """Score of pool row ``index`` (each row at most once)."""
        if index in self.picks:
            raise ValueError(f"pool index {index} picked twice")
        self.suggest_seconds.append(time.perf_counter() - self._clock)
        self.picks.append(int(index))
        value = float(self._score[index])
        self.values.append(value)
        self._clock = time.perf_counter()
        return value


@dataclass(frozen=True)
class MethodInput:
    """What a method may see: the pool (not its scores), the history and its models.

    ``source_models`` are ours (`fit_source_model` defaults); ``reference_models`` the
    ANCHORS reference GPs (copula ranks, 250 configurations) used by ``portfolio`` and
    ``rgpe``. ``source_predictions`` / ``reference_predictions``: ``(mean, std)``, each
    ``S x n``, of either set on the pool, rows in the order of ``sources`` (computed once
    per target by the harness; recomputed when ``None``). ``cross_predictions``: ours'
    source-on-source predictions (`recommender.first_pick.cross_predictions`, computed once
    per run by the harness) for the zero-shot criterion's test.
    """

    space: Space
    pool_X: np.ndarray
    pool_configs: object  # pd.DataFrame of the pool, for methods that need raw values
    sources: tuple[SourceData, ...]
    source_models: Mapping[str, SourceModel]
    budget: int
    seed: int
    options: dict = field(default_factory=dict)
    source_predictions: tuple[np.ndarray, np.ndarray] | None = None
    reference_models: Mapping[str, SourceModel] = field(default_factory=dict)
    reference_predictions: tuple[np.ndarray, np.ndarray] | None = None
    cross_predictions: CrossPredictions | None = None


def _unobserved(n: int, picks: list[int]) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    mask[picks] = False
    return np.flatnonzero(mask)


def gp_logei_pick(X: np.ndarray, y: np.ndarray, candidates: np.ndarray, state: dict) -> int:
    """Fit a target GP on ``(X, y)`` and return the candidate row maximising LogEI.

    ``state`` carries the previous fit's hyperparameters between calls (warm refits).
    """
    model = fit_gp(X, y, init_state=state.get("gp_state"))
    state["gp_state"] = model.state_dict()
    first = next(model.parameters())
    acqf = LogExpectedImprovement(model, best_f=float(np.max(y)))
    with torch.no_grad():
        values = acqf(torch.as_tensor(candidates, dtype=first.dtype).unsqueeze(1))
    return int(torch.argmax(values))


def _continue_cold_gp(inp: MethodInput, oracle: PoolOracle) -> None:
    state: dict = {}
    while len(oracle.picks) < inp.budget:
        free = _unobserved(len(inp.pool_X), oracle.picks)
        best = gp_logei_pick(
            inp.pool_X[oracle.picks], np.array(oracle.values), inp.pool_X[free], state
        )
        oracle.evaluate(int(free[best]))


def run_random(inp: MethodInput, oracle: PoolOracle) -> None:
    """A seeded random order of the pool."""
    order = seeded_order(len(inp.pool_X), inp.seed)
    for index in order[: inp.budget]:
        oracle.evaluate(int(index))


def run_cold_gp(inp: MethodInput, oracle: PoolOracle) -> None:
    """3 random picks, then SingleTaskGP + LogEI on every unobserved pool row."""
    order = seeded_order(len(inp.pool_X), inp.seed)
    for index in order[: min(N_RANDOM_INIT, inp.budget)]:
        oracle.evaluate(int(index))
    _continue_cold_gp(inp, oracle)


def run_tpe(inp: MethodInput, oracle: PoolOracle) -> None:
    """Optuna's TPE over the space, each suggestion mapped to the nearest unobserved pool row."""
    import optuna  # optional extra

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=inp.seed)
    )
    distributions = _optuna_distributions(inp.space)
    for _ in range(inp.budget):
        trial = study.ask(distributions)
        x = inp.space.encode([_active_only(inp.space, trial.params)])[0]
        free = _unobserved(len(inp.pool_X), oracle.picks)
        nearest = int(free[np.argmin(((inp.pool_X[free] - x) ** 2).sum(axis=1))])
        value = oracle.evaluate(nearest)
        # tell TPE what was really evaluated: the pool row's own parameters
        row = inp.pool_configs.iloc[nearest].to_dict()  # type: ignore[attr-defined]
        params = {k: v for k, v in row.items() if k in distributions and v == v and v is not None}
        params = {k: _coerce(inp.space, k, v) for k, v in params.items()}
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions={k: distributions[k] for k in params},
                value=value,
            )
        )


def _optuna_distributions(space: Space) -> dict:
    import optuna

    from recommender.space import CategoricalParam, FloatParam

    out: dict = {}
    for p in space.parameters:
        if isinstance(p, CategoricalParam):
            out[p.name] = optuna.distributions.CategoricalDistribution(list(p.choices))
        elif isinstance(p, FloatParam):
            out[p.name] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
        else:
            out[p.name] = optuna.distributions.IntDistribution(p.low, p.high, log=p.log)
    return out


def _coerce(space: Space, name: str, value: object) -> object:
    from recommender.space import CategoricalParam, IntParam

    p = next(q for q in space.parameters if q.name == name)
    if isinstance(p, IntParam):
        return int(np.clip(round(float(value)), p.low, p.high))  # type: ignore[arg-type]
    if isinstance(p, CategoricalParam):
        index = p.index_of(value)
        return p.choices[index] if index is not None else p.choices[0]
    return float(np.clip(float(value), p.low, p.high))  # type: ignore[arg-type]


def _active_only(space: Space, params: dict) -> dict:
    """Drop parameters that the space's conditions switch off (TPE samples them all)."""
    config = dict(params)
    mask = space.active_mask([config])[0]
    return {name: config[name] for name, active in zip(space.names, mask, strict=True) if active}


def greedy_portfolio(inp: MethodInput, size: int, *, per_source: int = 20) -> np.ndarray:
    """The ANCHORS `portfolio`: a greedy "good on average" portfolio (auto-sklearn 2.0).

    Candidates are the ``per_source`` best configurations of every source; a candidate's
    score on a source is its rank quantile there when it came from that source, else the
    source's copula-scale GP's predicted quantile ``Phi(mean)``. Greedy selection
    maximises the mean over sources of the best portfolio member's score.

    Returns:
        ``size x d`` encoded configurations, in greedy order.
    """
    from scipy.stats import norm, rankdata

    tops = [np.argsort(-source.score, kind="stable")[:per_source] for source in inp.sources]
    cand = np.concatenate([source.X[top] for source, top in zip(inp.sources, tops, strict=True)])
    # a source with fewer than per_source configurations contributes all of them
    starts = np.concatenate([[0], np.cumsum([len(top) for top in tops])])
    scores = np.empty((len(inp.sources), len(cand)))
    for row, (source, own) in enumerate(zip(inp.sources, tops, strict=True)):
        mean, _ = inp.reference_models[source.task_id].predict(cand)
        scores[row] = norm.cdf(mean)
        quantile = rankdata(source.score) / (len(source.score) + 1)
        scores[row, starts[row] : starts[row + 1]] = quantile[own]
    chosen: list[int] = []
    current = np.full(len(inp.sources), -np.inf)
    for _ in range(min(size, len(cand))):
        gain = np.maximum(scores, current[:, None]).mean(axis=0)
        gain[chosen] = -np.inf
        best = int(np.argmax(gain))
        chosen.append(best)
        current = np.maximum(current, scores[:, best])
    return cand[chosen]


def run_portfolio(inp: MethodInput, oracle: PoolOracle) -> None:
    """A greedy portfolio of 10 mapped to the nearest unobserved pool rows, then cold-gp."""
    for x in greedy_portfolio(inp, min(10, inp.budget)):
        free = _unobserved(len(inp.pool_X), oracle.picks)
        oracle.evaluate(int(free[np.argmin(((inp.pool_X[free] - x) ** 2).sum(axis=1))]))
    _continue_cold_gp(inp, oracle)


def _run_ours(inp: MethodInput, oracle: PoolOracle, *, guardrails: bool) -> None:
    options = TransferOptions(guardrails=guardrails, seed=inp.seed, **inp.options)
    run_pool_search(
        pool_X=inp.pool_X,
        source_models=[inp.source_models[s.task_id] for s in inp.sources],
        evaluate=oracle.evaluate,
        budget=inp.budget,
        options=options,
        source_predictions=inp.source_predictions,
        cross_predictions=inp.cross_predictions,
        branch_columns=inp.space.branching_columns(),
    )


def _rgpe_weights(
    src_mean: np.ndarray,
    src_std: np.ndarray,
    y: np.ndarray,
    target: SingleTaskGP,
    rng: np.random.Generator,
    n_samples: int = 256,
) -> tuple[np.ndarray, float]:
    """RGPE weights as ANCHORS describes them: ranking loss over posterior samples (the
    target GP leave-one-out), sources whose median loss exceeds the target's 95th
    percentile dropped; a model's weight is the share of samples in which it is best."""
    src_samples = src_mean[None] + src_std[None] * rng.standard_normal((n_samples, *src_mean.shape))
    loo_mean, loo_std = loo_predictions(target)
    t_samples = loo_mean[None] + loo_std[None] * rng.standard_normal((n_samples, len(y)))
    target_losses = ranking_losses(t_samples, y)
    losses = np.concatenate([ranking_losses(src_samples, y), target_losses[:, None]], axis=1)
    best = losses == losses.min(axis=1, keepdims=True)
    share = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    keep = np.median(losses[:, :-1], axis=0) <= np.percentile(target_losses, 95)
    w_src = np.where(keep, share[:-1], 0.0)
    total = w_src.sum() + share[-1]
    return w_src / total, float(share[-1] / total)


def run_rgpe(inp: MethodInput, oracle: PoolOracle) -> None:
    """The ANCHORS `rgpe` reference (Feurer, Letham & Bakshy, 2018) in pool mode.

    Source GPs on Gaussian-copula ranks (250 configurations each); first pick: best mean
    of the equally weighted sources; then LogEI of the ranking-weighted ensemble of the
    sources and a target GP, refitted after every pick.
    """
    sources = inp.sources
    src_mean, src_std = inp.reference_predictions or predict_sources(
        [inp.reference_models[s.task_id] for s in sources], inp.pool_X
    )
    rng = np.random.default_rng(inp.seed)
    oracle.evaluate(int(np.argmax(src_mean.mean(axis=0))))
    state: dict = {}
    n_src = len(sources)
    while len(oracle.picks) < inp.budget:
        picks = np.array(oracle.picks)
        y = np.array(oracle.values)
        free = np.ones(len(inp.pool_X), dtype=bool)
        free[picks] = False
        means, stds, weights, member_obs = [], [], [], []
        if len(y) >= 2:
            target = fit_gp(inp.pool_X[picks], y, init_state=state.get("gp_state"))
            state["gp_state"] = target.state_dict()
            w_src, w_target = _rgpe_weights(src_mean[:, picks], src_std[:, picks], y, target, rng)
            t_mean, t_std = predict(target, inp.pool_X)
            y_mu, y_sd = y.mean(), (y.std() or 1.0)
            means.append((t_mean - y_mu) / y_sd)
            stds.append(t_std / y_sd)
            member_obs.append((y - y_mu) / y_sd)
            weights.append(w_target)
        else:
            w_src = np.full(n_src, 1.0 / n_src)
        for s in np.flatnonzero(w_src > 0):
            means.append(src_mean[s])
            stds.append(src_std[s])
            member_obs.append(src_mean[s, picks])
            weights.append(w_src[s])
        w = np.asarray(weights) / np.sum(weights)
        best = float(np.max(w @ np.stack(member_obs)))
        score = ensemble_scores(np.stack(means), np.stack(stds), w, best)
        oracle.evaluate(int(np.argmax(np.where(free, score, -np.inf))))


def run_ours(inp: MethodInput, oracle: PoolOracle) -> None:
    """hp-warmstart's transfer search (guardrails on)."""
    _run_ours(inp, oracle, guardrails=True)


def run_ours_no_guardrails(inp: MethodInput, oracle: PoolOracle) -> None:
    """Ablation: the same transfer search with every guardrail off."""
    _run_ours(inp, oracle, guardrails=False)


# mtgp settings: K nearest sources x trials per source. 50 per source (400 points) rather
# than 100: on the 2 shared cores of the benchmark machine a warm refit on 800 points took
# 4-9 s, on 400 points 0.5-2 s (synthetic data, d = 7; docs/limitations.md).
MTGP_OPTIONS = MultiTaskOptions(k_nearest=8, n_per_source=50)


def run_mtgp(inp: MethodInput, oracle: PoolOracle) -> None:
    """The product's multi-task GP search (`Recommender(surrogate="multitask")`) in pool
    mode: `propose_multitask` with its target-only guardrail, the model refitted after
    every pick from the previous hyperparameters. First pick: the best posterior mean of
    the uniform mixture of the sources (the benchmark has no fingerprints). Sources are
    chosen at random until the target has 3 observations, then by nearest-neighbour
    Kendall tau.
    """
    _run_mtgp(inp, oracle, MTGP_OPTIONS)


def run_mtgp_no_guardrails(inp: MethodInput, oracle: PoolOracle) -> None:
    """Ablation: the multi-task GP search without its target-only comparison."""
    _run_mtgp(inp, oracle, replace(MTGP_OPTIONS, guardrails=False))


def _run_mtgp(inp: MethodInput, oracle: PoolOracle, options: MultiTaskOptions) -> None:
    sources = [(s.X, s.score) for s in inp.sources]
    fit: MultiTaskFit | None = None
    free = np.ones(len(inp.pool_X), dtype=bool)
    while len(oracle.picks) < inp.budget:
        picks = np.array(oracle.picks, dtype=int)
        free[picks] = False
        (pick,), fit = propose_multitask(
            inp.pool_X,
            free,
            inp.pool_X[picks],
            np.array(oracle.values),
            sources,
            options=options,
            seed=inp.seed,
            warm_start=fit,
        )
        oracle.evaluate(pick.index)


METHODS: dict[str, Callable[[MethodInput, PoolOracle], None]] = {
    "random": run_random,
    "cold-gp": run_cold_gp,
    "tpe": run_tpe,
    "portfolio": run_portfolio,
    "rgpe": run_rgpe,
    "ours": run_ours,
    "ours-no-guardrails": run_ours_no_guardrails,
    "mtgp": run_mtgp,
    "mtgp-no-guardrails": run_mtgp_no_guardrails,
}


def run_method(name: str, inp: MethodInput, target_score: np.ndarray) -> PoolOracle:
    """Run one method on one (target, seed) and return its oracle (picks, values, timings)."""
    oracle = PoolOracle(target_score)
    METHODS[name](inp, oracle)
    return oracle
