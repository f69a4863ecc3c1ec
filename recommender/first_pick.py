"""The zero-shot (first) pick: criteria and a leave-one-source-out test between them.

With no target data the first pick is a function of the source predictions alone. Two
criteria, each best on a different kind of library (`benchmarks/screen_zero_shot.py`),
and a third that is the default's alternative:

* ``"regret-lcb"``: a lower confidence bound of the sources' mixture on each source's
  regret scale (`zero_shot_scores` after `regret_scale`): good on average *and* on most
  sources. LCBench (34 targets) 0.093, against 0.122 for the copula mean.
* ``"copula-mean"``: the plain mean of the sources' Gaussian-copula predictions (the ANCHORS
  ``rgpe`` first pick). Nine draws of the synthetic conditional generator 0.124, against
  0.139 for the regret LCB.
* ``"typical-copula"``: the copula mean with each source weighted by its typicality
  (`source_typicality`: its mean rank correlation with the other sources over the
  candidates). A new task is more likely to resemble the library's majority than one of
  its outliers, so sources that agree with few others count less. Five synthetic draws
  0.116 against 0.127 for the copula mean; LCBench, whose sources all agree, 0.123.

`choose_first_pick` asks the library itself which to use: every source task in turn plays
the target of the others, the regret LCB and the typical copula mean pick from a uniform
sample of its own trials (`SourceModel.sample_X`), and their paired regrets on its real
scores give two statistics: a t statistic (is the alternative better on average?) and a
sign statistic (is it better on more tasks than it is worse?). The typical copula mean
replaces the default only when either is below ``-switch_t``: the choice between two
criteria of close merit is noisy (with the plain copula mean as the alternative, an
unconditional leave-one-out choice switched on 3 of 34 LCBench targets, exactly the ones
that lost by it). The sign statistic is there because the paired regrets are heavy-tailed:
a few tasks where one pick lands far off set the t statistic's standard error, so a broad
advantage of the typical copula mean (better on most tasks by a little) can stay below
the t threshold, and which few tasks are in the library moves t a lot (session 60,
``docs/transfer_options.md``). The regret LCB's own advantage on real libraries is of
the other kind (a few far-off picks avoided, LCBench: the typical copula mean better on 7
tasks, worse on 11), which the sign statistic does not count against it. The sample is
uniform, not the GP's conditioning points (a task's best fifth plus a spread): on those the
test compared near-ties and, for LCBench target 189873, chose the copula mean, whose pick
there has regret 0.63 against 0.013.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np

from recommender.bounded_argmax import DEFAULT_BLOCK, bounded_argmax
from recommender.cache_entry import mark_used, write_atomic
from recommender.guardrails import rank_correlations
from recommender.surrogate import (
    LazySourceStd,
    SourceModel,
    dense_std,
    predict_sources,
    regret_scale,
)

__all__ = [
    "FIRST_PICK_CRITERIA",
    "CrossPredictions",
    "FirstPickChoice",
    "cached_choose_first_pick",
    "choice_cache_key",
    "choice_cache_path",
    "choose_first_pick",
    "cross_predictions",
    "first_pick_argmax",
    "first_pick_scores",
    "paired_t_statistic",
    "pick_regret",
    "sign_statistic",
    "source_typicality",
    "zero_shot_scores",
]

#: The zero-shot criteria `first_pick_scores` knows.
FIRST_PICK_CRITERIA = ("regret-lcb", "copula-mean", "typical-copula")

#: The criterion the leave-one-source-out test weighs against the regret LCB.
ALTERNATIVE = "typical-copula"

#: Version of the cached choice (bump when the test or its inputs change).
_CACHE_VERSION = "first-pick-3"

_LOG = logging.getLogger(__name__)


def zero_shot_scores(
    mean: np.ndarray, std: np.ndarray, weights: np.ndarray | None = None, *, kappa: float = 1.0
) -> np.ndarray:
    """Lower confidence bound of the sources' mixture prediction at each candidate.

    With no target data, the target is "one of the sources, we do not know which": its
    predictive distribution at ``x`` is the weighted mixture of the source predictions,
    with mean ``m(x) = sum_s w_s mean_s(x)`` and variance
    ``v(x) = sum_s w_s [(mean_s(x) - m(x))^2 + std_s(x)^2]``. The zero-shot pick maximises
    ``m - kappa * sqrt(v)``: good on average *and* on most tasks, which avoids settings
    that are excellent on some tasks and catastrophic on others.

    Args:
        mean: ``S x n`` source predictions (normalised scores) at ``n`` candidates.
        std: ``S x n`` their standard deviations.
        weights: ``(S,)`` non-negative weights (uniform when ``None``).
        kappa: risk aversion (0 = the plain weighted mean).

    Returns:
        ``(n,)`` scores; the zero-shot pick is their argmax.
    """
    w = np.full(len(mean), 1.0 / len(mean)) if weights is None else weights / weights.sum()
    m = w @ mean
    v = w @ ((mean - m) ** 2 + std**2)
    return m - kappa * np.sqrt(v)


def first_pick_scores(
    criterion: str,
    mean: np.ndarray,
    std: np.ndarray,
    quantiles: np.ndarray | None,
    weights: np.ndarray | None = None,
    *,
    kappa: float = 1.0,
) -> np.ndarray:
    """Zero-shot scores of ``n`` candidates under ``criterion`` (the pick is the argmax).

    Args:
        criterion: one of `FIRST_PICK_CRITERIA` (see the module docstring).
        mean: ``S x n`` source predictions on their own (copula or min-max) scale.
        std: ``S x n`` their standard deviations.
        quantiles: ``S x Q`` quantile tables (`source_quantiles`), ``None`` for min-max
            sources (then both criteria work on the min-max scale).
        weights: ``(S,)`` source weights (uniform when ``None``).
        kappa: risk aversion of ``"regret-lcb"``.

    Raises:
        ValueError: an unknown criterion.
    """
    if criterion == "regret-lcb":
        reg_mean, reg_std = regret_scale(mean, std, quantiles)
        return zero_shot_scores(reg_mean, reg_std, weights, kappa=kappa)
    if criterion == "copula-mean":
        return zero_shot_scores(mean, std, weights, kappa=0.0)
    if criterion == "typical-copula":
        typical = source_typicality(mean)
        return zero_shot_scores(
            mean, std, typical if weights is None else weights * typical, kappa=0.0
        )
    raise ValueError(f"unknown zero-shot criterion {criterion!r}; use one of {FIRST_PICK_CRITERIA}")


def first_pick_argmax(
    criterion: str,
    mean: np.ndarray,
    std: np.ndarray | LazySourceStd,
    quantiles: np.ndarray | None,
    weights: np.ndarray | None,
    free: np.ndarray,
    *,
    kappa: float = 1.0,
    block: int = DEFAULT_BLOCK,
) -> tuple[int, float]:
    """The free candidate of largest `first_pick_scores`, and its score.

    The answer of ``np.argmax(np.where(free, first_pick_scores(...), -inf))``, reading only
    the source standard deviations it needs from a `LazySourceStd`: none for the copula
    criteria and for ``kappa = 0`` (their scores do not depend on them); for the regret
    LCB, every candidate's score is first bounded with the standard deviations at 0 (the
    LCB only falls as they grow), then candidates are scored exactly in blocks of
    ``block``, best bound first, until the next bound is below the best exact score.

    Args:
        criterion, mean, quantiles, weights, kappa: as in `first_pick_scores`.
        std: ``S x n`` standard deviations, an array or a `LazySourceStd`.
        free: ``(n,)`` mask of the candidates that may be picked.
        block: candidates scored exactly at a time.

    Returns:
        ``(index, score)``; the score is ``-inf`` when no candidate is free.
    """
    scores = partial(
        first_pick_scores, criterion, quantiles=quantiles, weights=weights, kappa=kappa
    )
    if isinstance(std, LazySourceStd) and (criterion != "regret-lcb" or kappa == 0):
        std = np.zeros(std.shape)
    elif isinstance(std, LazySourceStd) and kappa < 0:  # a score that grows with the std
        std = std.dense()
    candidates = np.flatnonzero(free)
    if not isinstance(std, LazySourceStd) or not len(candidates):
        score = np.where(free, scores(mean, dense_std(std)), -np.inf)
        index = int(np.argmax(score))
        return index, float(score[index])
    upper = scores(mean[:, candidates], np.zeros((len(mean), len(candidates))))
    return bounded_argmax(
        upper,
        candidates,
        lambda rows: scores(mean[:, rows], np.stack([std.at(s, rows) for s in range(len(mean))])),
        block=block,
    )


@dataclass(frozen=True, slots=True)
class FirstPickChoice:
    """The zero-shot criterion chosen for a library, and the evidence.

    Attributes:
        criterion: ``"regret-lcb"`` or the test's alternative (`ALTERNATIVE`).
        t_statistic: paired t statistic of the alternative's minus the regret LCB's
            leave-one-source-out regret (negative: the alternative picked better); NaN
            when there was no test.
        n_sources: sources that played the target.
        reason: one sentence for the explanation.
        sign_statistic: `sign_statistic` of the same differences (negative: the
            alternative picked better on more tasks); NaN when there was no test.
    """

    criterion: str
    t_statistic: float
    n_sources: int
    reason: str
    sign_statistic: float = math.nan


def source_typicality(mean: np.ndarray) -> np.ndarray:
    """How typical each source is of the library: a weight for the zero-shot pick.

    A source's typicality is its mean Spearman correlation with the other sources over
    the candidates (`guardrails.rank_correlations`), clipped at 0: a source that ranks the
    candidates as most others do stands for many tasks, an outlier for few. With fewer
    than two sources, or when no source correlates positively with another, every source
    gets the same weight.

    Args:
        mean: ``S x n`` source predictions at the candidates.

    Returns:
        ``(S,)`` non-negative weights, summing to 1.
    """
    n_src = len(mean)
    if n_src < 2 or mean.shape[1] < 2:
        return np.full(n_src, 1.0 / max(n_src, 1))
    corr = rank_correlations(mean)
    np.fill_diagonal(corr, 0.0)
    typical = np.clip(corr.sum(axis=1) / (n_src - 1), 0.0, None)
    if typical.sum() <= 0:
        return np.full(n_src, 1.0 / n_src)
    return typical / typical.sum()


def pick_regret(truth: np.ndarray, scores: np.ndarray) -> float:
    """Normalised regret, on a task's real scores ``truth``, of the argmax of ``scores``."""
    span = float(truth.max() - truth.min())
    return float(truth.max() - truth[int(np.argmax(scores))]) / span if span > 0 else 0.0


def paired_t_statistic(differences: Sequence[float] | np.ndarray) -> float:
    """Mean over standard error of paired differences (``+-inf`` when they are all equal)."""
    diff = np.asarray(differences, dtype=np.float64)
    spread = diff.std(ddof=1) / math.sqrt(diff.size)
    if spread > 0:
        return float(diff.mean() / spread)
    return 0.0 if diff.mean() == 0 else math.copysign(math.inf, float(diff.mean()))


#: Source-on-source predictions: ``(task whose sample, task whose GP) -> (mean, std)``.
CrossPredictions = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


#: Paired regrets closer than this are a tie (both criteria picked equally well).
_TIE = 1e-12


def _sign_counts(differences: Sequence[float] | np.ndarray, tol: float = _TIE) -> tuple[int, int]:
    """How many ``differences`` are above ``tol`` and below ``-tol``."""
    diff = np.asarray(differences, dtype=np.float64)
    return int((diff > tol).sum()), int((diff < -tol).sum())


def sign_statistic(differences: Sequence[float] | np.ndarray, tol: float = _TIE) -> float:
    """Normal approximation of the sign test: ``(#positive - #negative) / sqrt(#non-zero)``.

    Differences within ``tol`` of 0 (both criteria picked equally well) are left out, as
    in the sign test; with none left the statistic is 0.
    """
    positive, negative = _sign_counts(differences, tol)
    if positive + negative == 0:
        return 0.0
    return (positive - negative) / math.sqrt(positive + negative)


def cross_predictions(
    source_models: Sequence[SourceModel], cache: CrossPredictions | None = None
) -> CrossPredictions:
    """Every source GP's prediction at every other source's sample (`SourceModel.sample_X`).

    Args:
        source_models: the sources (task ids must be unique).
        cache: entries already computed (filled in place and returned): a library's
            sources are the same from one target to the next, so a harness or a
            `Recommender` computes each pair once.

    Returns:
        The mapping, covering every ordered pair of sources that has a sample.
    """
    cache = {} if cache is None else cache
    for owner in source_models:
        sample = getattr(owner, "sample_X", None)
        if sample is None:
            continue
        missing = [
            m
            for m in source_models
            if m.task_id != owner.task_id and (owner.task_id, m.task_id) not in cache
        ]
        if missing:
            mean, std = predict_sources(missing, sample)
            for row, model in enumerate(missing):
                cache[(owner.task_id, model.task_id)] = (mean[row], std[row])
    return cache


def _can_play_target(model: SourceModel) -> bool:
    """Whether a source has its own non-constant data; stand-ins without it only act as sources."""
    score = getattr(model, "sample_score", None)
    return getattr(model, "sample_X", None) is not None and score is not None and np.ptp(score) > 0


def choose_first_pick(
    source_models: Sequence[SourceModel],
    *,
    kappa: float = 1.0,
    switch_t: float = 1.645,
    min_sources: int = 5,
    cross: CrossPredictions | None = None,
) -> FirstPickChoice:
    """Choose the zero-shot criterion by leave-one-source-out on the library's own tasks.

    Args:
        source_models: the sources of the search; those without ``sample_X`` /
            ``sample_score`` (or with a constant score) only act as sources.
        kappa: risk aversion of ``"regret-lcb"``.
        switch_t: the alternative (`ALTERNATIVE`) is chosen when its paired t statistic or
            its sign statistic (`sign_statistic`) is below ``-switch_t``.
        min_sources: fewest sources that must play the target (each then has
            ``len(source_models) - 1`` sources) for a test; fewer keep ``"regret-lcb"``.
        cross: source-on-source predictions computed before (`cross_predictions`);
            missing pairs are predicted and added to it.

    Returns:
        The `FirstPickChoice`.
    """
    testable = [i for i, m in enumerate(source_models) if _can_play_target(m)]
    if len(testable) < min_sources or len(source_models) < 3:
        return FirstPickChoice(
            "regret-lcb",
            math.nan,
            len(testable),
            f"zero-shot pick: regret-scale LCB (only {len(testable)} sources with their own "
            f"data; {min_sources} needed to test the typical copula mean against it)",
        )
    cross = cross_predictions(source_models, cross)
    differences = []
    for i in testable:
        model = source_models[i]
        others = [m for j, m in enumerate(source_models) if j != i]
        pairs = [cross[(model.task_id, m.task_id)] for m in others]
        mean, std = np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        tables = [m.quantiles for m in others]
        quantiles = None if any(t is None for t in tables) else np.stack(tables)  # type: ignore[arg-type]
        truth = np.asarray(model.sample_score)
        lcb = first_pick_scores("regret-lcb", mean, std, quantiles, kappa=kappa)
        other = first_pick_scores(ALTERNATIVE, mean, std, quantiles)
        differences.append(pick_regret(truth, other) - pick_regret(truth, lcb))
    diff = np.asarray(differences)
    t = paired_t_statistic(diff)
    sign = sign_statistic(diff)
    chosen = ALTERNATIVE if min(t, sign) < -switch_t else "regret-lcb"
    label = {ALTERNATIVE: "typicality-weighted copula mean", "regret-lcb": "regret-scale LCB"}[
        chosen
    ]
    worse, better = _sign_counts(diff)
    return FirstPickChoice(
        chosen,
        t,
        diff.size,
        f"zero-shot pick: {label} (each of {diff.size} sources as the target of the others: "
        f"typical copula mean minus regret LCB regret {diff.mean():+.3f}, t = {t:.2f}; better "
        f"on {better}, worse on {worse}, sign statistic {sign:.2f}; the typical copula mean "
        f"needs either below -{switch_t:g})",
        sign,
    )


def choice_cache_key(
    source_models: Sequence[SourceModel], *, kappa: float, switch_t: float, min_sources: int = 5
) -> str | None:
    """Content hash naming the cached `choose_first_pick` result for these sources.

    Built from each source's ``data_key`` (its trials and GP settings), task id and sample
    size, and the test's settings; the order of the sources does not matter.

    Returns:
        32 hex digits, or ``None`` when a source has no ``data_key`` (nothing to cache by).
    """
    parts = []
    for model in source_models:
        data_key = getattr(model, "data_key", None)
        if data_key is None:
            return None
        sample = getattr(model, "sample_X", None)
        parts.append(f"{model.task_id}:{data_key}:{0 if sample is None else len(sample)}")
    settings = f"{kappa!r}:{switch_t!r}:{min_sources}:{_CACHE_VERSION}"
    return hashlib.sha256("|".join([*sorted(parts), settings]).encode()).hexdigest()[:32]


def choice_cache_path(
    source_models: Sequence[SourceModel],
    cache_dir: str | Path | None,
    *,
    kappa: float,
    switch_t: float,
    min_sources: int = 5,
) -> Path | None:
    """Where `cached_choose_first_pick` keeps the answer for these sources (``None``: nowhere)."""
    if cache_dir is None:
        return None
    key = choice_cache_key(source_models, kappa=kappa, switch_t=switch_t, min_sources=min_sources)
    return None if key is None else Path(cache_dir).expanduser() / f"{key}.json"


def cached_choose_first_pick(
    source_models: Sequence[SourceModel],
    *,
    kappa: float = 1.0,
    switch_t: float = 1.645,
    min_sources: int = 5,
    cross: CrossPredictions | None = None,
    cache_dir: str | Path | None = None,
) -> FirstPickChoice:
    """`choose_first_pick`, remembered on disk across processes.

    The test predicts every source at every other source's sample (13 s for 34 LCBench
    tasks of 2,000 trials), yet its answer only changes with the sources. With
    ``cache_dir`` the choice is stored as ``<choice_cache_key>.json`` beside the source-GP
    cache entries (same atomic write, same pruning by age; a hit refreshes the entry's
    age at most once a day); an unreadable entry is recomputed and replaced, and a cache
    that cannot be written costs only the speed-up. A library too small for the test
    (fewer than ``min_sources`` testable sources) decides without it and stores nothing.

    Args:
        source_models: as for `choose_first_pick`.
        kappa, switch_t, min_sources, cross: as for `choose_first_pick`.
        cache_dir: the cache directory; ``None`` computes every time.

    Returns:
        The `FirstPickChoice` (its reason ends with "(cached)" when read from the cache).
    """
    path = choice_cache_path(
        source_models, cache_dir, kappa=kappa, switch_t=switch_t, min_sources=min_sources
    )
    if path is not None and path.is_file():
        try:
            data = json.loads(path.read_text())
            if data["criterion"] not in FIRST_PICK_CRITERIA:
                raise ValueError(f"unknown criterion {data['criterion']!r}")
            choice = FirstPickChoice(
                str(data["criterion"]),
                float(data["t_statistic"]),
                int(data["n_sources"]),
                f"{data['reason']} (cached)",
                float(data["sign_statistic"]),
            )
            mark_used(path)  # for `gp_cache.prune_cache`
            return choice
        except (OSError, ValueError, KeyError, TypeError) as error:
            _LOG.info("ignoring first-pick cache entry %s: %s", path, error)
    choice = choose_first_pick(
        source_models, kappa=kappa, switch_t=switch_t, min_sources=min_sources, cross=cross
    )
    if path is not None and not math.isnan(choice.t_statistic):  # no test ran: nothing to save
        try:
            write_atomic(path, lambda partial: partial.write_text(json.dumps(asdict(choice))))
        except OSError as error:
            _LOG.info("cannot cache the first-pick choice in %s: %s", path, error)
    return choice
