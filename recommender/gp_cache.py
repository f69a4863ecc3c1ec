"""Warm the on-disk source-GP cache so that the next `suggest` does not pay the fits.

`Recommender` caches each source task's fitted GP hyperparameters under
`recommender.recommend.default_cache_dir` (``$HPWS_CACHE``), keyed by a hash of the
source's encoded trials. The encoding depends on the *target's* space, so an entry is
specific to a (source task, target space) pair. `warm_cache` pre-fits the entries that a
`Recommender` built on the library would look up for a target with one of the spaces the
library's tasks store (e.g. ``recommend suggest --task <any library task>``): for each
distinct stored space, every usable source task of it up to ``max_per_space`` (256, most
trials first; a target with a fingerprint takes its nearest sources among all of them, one
without takes those with the most trials), through `Recommender`'s own fitting path, so the
keys match exactly. For each stored space it also runs the zero-shot criterion's test
(`recommender.first_pick`) on the sources a *new* task's zero-shot `suggest` in that space
would use (13 s on LCBench-size tasks), and caches its answer beside the GPs.

The key is a content hash, so only new sources, sources with new trials and new spaces
miss the cache: a second call with nothing new fits nothing and writes nothing. It reads
the library and never writes to it; cache files are written atomically by the surrogate.

Pass the user's library and the bundled starter library (``[library, starter]``, the
layering `recommend suggest` uses by default) to warm the starter's sources too. Not
warmed: targets whose space no library task stores (their first `suggest` fits as before).

The cache is shared by every library and process that uses the same directory, so
`prune_cache` removes entries by age, not by library: a cache hit refreshes its file's
modification time, and entries no call has used for ``max_age_days`` are deleted (with
temporaries a crashed writer left behind).

Example:
    >>> report = warm_cache(Library.open("~/hpws"))                  # doctest: +SKIP
    >>> report.n_fitted, report.n_hits, report.duration_s            # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from library.exceptions import WarmstartError
from library.store import STALE_TMP_S, Library
from recommender.first_pick import choice_cache_path
from recommender.recommend import Recommender, default_cache_dir
from recommender.space import Space
from recommender.transfer import first_pick_choice

__all__ = ["CachePruneReport", "CacheWarmReport", "prune_cache", "warm_cache"]

_LOG = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
_STAGE = "warming the source-GP cache"


@dataclass(frozen=True, slots=True)
class CacheWarmReport:
    """What one `warm_cache` call did.

    Attributes:
        cache_dir: the cache directory.
        n_spaces: distinct stored spaces warmed for.
        n_lookups: (source task, space) pairs looked up in the cache.
        n_fitted: lookups that missed and fitted a GP (each wrote one cache file).
        n_hits: lookups answered by the cache (no fit).
        fitted: ids of the source tasks with at least one fitted GP, sorted.
        failures: ``{"task_id", "space_of", "reason"}`` per lookup that failed; ``space_of``
            is the task whose stored space was the target.
        not_warmed: tasks with trials that no stored space selects as a source (fewer than
            5 ok trials, no stored space with their parameter names, or beyond the
            `Recommender`'s ``max_sources``), sorted.
        n_zero_shot_tests: stored spaces for which the zero-shot criterion's test
            (`recommender.first_pick.cached_choose_first_pick`) was run and cached, for the
            sources a new task's zero-shot `suggest` in that space uses (no fingerprint).
        n_zero_shot_hits: stored spaces whose test was already cached.
        duration_s: wall time in seconds.
    """

    cache_dir: str
    n_spaces: int = 0
    n_lookups: int = 0
    n_fitted: int = 0
    n_hits: int = 0
    fitted: tuple[str, ...] = ()
    failures: tuple[Mapping[str, str], ...] = ()
    not_warmed: tuple[str, ...] = ()
    n_zero_shot_tests: int = 0
    n_zero_shot_hits: int = 0
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        payload = asdict(self)
        payload["failures"] = [dict(failure) for failure in self.failures]
        return payload


def warm_cache(
    library: Library | Sequence[Library],
    *,
    task_ids: Collection[str] | None = None,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    max_per_space: int | None = 256,
) -> CacheWarmReport:
    """Pre-fit the source GPs a `Recommender` on ``library`` would fit (see the module).

    Args:
        library: the library whose tasks are the sources, or several (user first, e.g.
            ``[library, open_starter_library()]``), as `Recommender` takes them.
        task_ids: warm only these source tasks (default: every source task).
        cache_dir: the cache directory (default `default_cache_dir`: ``$HPWS_CACHE`` or the
            user cache directory, the one `Recommender` uses by default).
        progress: optional ``callback(stage, done, total)``.
        max_per_space: sources warmed per stored space, most trials first (``None``:
            every usable task; never fewer than a `Recommender`'s ``max_sources`` plus
            one). A target with a fingerprint (`recommend run`, ``suggest --data``) takes
            its nearest sources among every usable task, not only the ``max_sources`` with
            the most trials, so the default warms them all up to 256 tasks per space;
            each fit costs about 0.3 s on an LCBench-size task.

    Returns:
        The `CacheWarmReport`. A source that cannot be encoded or fitted is listed in
        ``failures``; the others are still warmed.

    Raises:
        LibraryError: the library cannot be read.
    """
    started = time.perf_counter()
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    selector = Recommender(library, cache_dir=cache)
    # a target task is excluded from its own sources, which lets one more source in
    selector.max_sources += 1
    evaluations = selector._evaluations()
    spaces, failures = _distinct_spaces(selector._spaces())
    wanted = None if task_ids is None else set(task_ids)
    limit = None if max_per_space is None else max(max_per_space, selector.max_sources)
    lookups = [
        (source, space, owner)
        for owner, space in spaces
        for source in selector._select_sources(evaluations, space, capped=False)[:limit]
        if wanted is None or source.task_id in wanted
    ]
    fitted: set[str] = set()
    n_fitted = n_hits = 0
    for index, (source, space, owner) in enumerate(lookups):
        try:
            model = selector._source_model(source, space)
        except (WarmstartError, OSError) as error:
            _LOG.warning("cannot warm %s in the space of %s: %s", source.task_id, owner, error)
            reason = f"{type(error).__name__}: {error}"
            failures.append({"task_id": source.task_id, "space_of": owner, "reason": reason})
        else:
            if model.from_cache:
                n_hits += 1
            else:
                n_fitted += 1
                fitted.add(source.task_id)
        if progress is not None:
            progress(_STAGE, index + 1, len(lookups))
    n_tests = n_test_hits = 0
    if wanted is None:
        for owner, space in spaces:
            outcome = _warm_zero_shot_test(selector, evaluations, space, cache, owner)
            n_tests += outcome == "computed"
            n_test_hits += outcome == "cached"
    looked_up = {source.task_id for source, _, _ in lookups}
    not_warmed = sorted(
        task for task in evaluations if task not in looked_up and (wanted is None or task in wanted)
    )
    return CacheWarmReport(
        cache_dir=str(cache),
        n_spaces=len(spaces),
        n_lookups=len(lookups),
        n_fitted=n_fitted,
        n_hits=n_hits,
        fitted=tuple(sorted(fitted)),
        failures=tuple(failures),
        not_warmed=tuple(not_warmed),
        n_zero_shot_tests=n_tests,
        n_zero_shot_hits=n_test_hits,
        duration_s=time.perf_counter() - started,
    )


def _warm_zero_shot_test(
    selector: Recommender,
    evaluations: Mapping[str, Any],
    space: Space,
    cache: Path,
    owner: str,
) -> str:
    """Run and cache the zero-shot test a new task's `suggest` in ``space`` would run.

    ``selector`` has one more source than a `Recommender` (see `warm_cache`): a new task
    excludes nothing, so its sources are the first ``max_sources - 1``.

    Returns:
        ``"computed"``, ``"cached"`` (already there), or ``"none"`` (no test to run: a fixed
        criterion, too few sources, or a source that could not be built).
    """
    if selector.options.zero_shot_criterion != "auto":
        return "none"
    sources = selector._select_sources(evaluations, space)[: selector.max_sources - 1]
    try:
        models = selector._source_models(sources, space)
    except (WarmstartError, OSError) as error:
        _LOG.warning("cannot warm the zero-shot test in the space of %s: %s", owner, error)
        return "none"
    options = selector.options
    path = choice_cache_path(
        models, cache, kappa=options.kappa, switch_t=options.zero_shot_switch_t
    )
    if path is not None and path.is_file():
        return "cached"
    choice = first_pick_choice(options, models, {}, cache)
    return "none" if choice is None or math.isnan(choice.t_statistic) else "computed"


def _distinct_spaces(
    stored: Mapping[str, Mapping[str, Any]],
) -> tuple[list[tuple[str, Space]], list[dict[str, str]]]:
    """``[(first task storing it, space)]`` per distinct stored space, and decode failures."""
    seen: set[str] = set()
    spaces: list[tuple[str, Space]] = []
    failures: list[dict[str, str]] = []
    for task in sorted(stored):
        try:
            space = Space.from_dict(stored[task])
        except WarmstartError as error:
            reason = f"stored space unreadable: {type(error).__name__}: {error}"
            failures.append({"task_id": task, "space_of": task, "reason": reason})
            continue
        key = json.dumps(space.to_dict(), sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            spaces.append((task, space))
    return spaces, failures


@dataclass(frozen=True, slots=True)
class CachePruneReport:
    """What one `prune_cache` call did.

    Attributes:
        cache_dir: the cache directory.
        n_removed: cache entries (and stale temporaries) deleted.
        bytes_freed: their total size.
        n_kept: entries left.
    """

    cache_dir: str
    n_removed: int = 0
    bytes_freed: int = 0
    n_kept: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return asdict(self)


_ENTRY = re.compile(r"^[0-9a-f]{32}\.(pt|npy|json|arrow)$")
_TEMPORARY = re.compile(r"^[0-9a-f]{32}\.\d+\.tmp$")


def prune_cache(
    cache_dir: str | Path | None = None, *, max_age_days: float = 30.0, now: float | None = None
) -> CachePruneReport:
    """Delete source-GP cache entries no lookup has used for ``max_age_days``.

    Only files the cache writes are touched (source-GP entries: ``<32 hex>.pt``
    hyperparameters and ``<32 hex>.npy`` posterior factors, ``<32 hex>.arrow`` library
    snapshots (`recommender.library_snapshot`),
    ``<32 hex>.json`` first-pick choices (`recommender.first_pick.cached_choose_first_pick`), and
    ``<32 hex>.<pid>.tmp`` temporaries older than an hour); anything else in the directory
    is left alone. A missing directory is an empty cache.

    Args:
        cache_dir: the cache directory (default `default_cache_dir`).
        max_age_days: age, since the last write or cache hit, after which an entry goes.
        now: the current time (seconds since the epoch; default `time.time()`).

    Returns:
        The `CachePruneReport`.

    Raises:
        ValueError: ``max_age_days`` is not positive.
    """
    if max_age_days <= 0:
        raise ValueError(f"max_age_days must be > 0, got {max_age_days}")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    now = time.time() if now is None else now
    removed = freed = kept = 0
    if not cache.is_dir():
        return CachePruneReport(cache_dir=str(cache))
    for path in cache.iterdir():
        is_entry = bool(_ENTRY.match(path.name))
        if not (is_entry or _TEMPORARY.match(path.name)) or not path.is_file():
            continue
        try:
            stat = path.stat()
            limit = max_age_days * 86400.0 if is_entry else STALE_TMP_S
            if now - stat.st_mtime <= limit:
                kept += is_entry
                continue
            path.unlink()
        except FileNotFoundError:  # another process pruned or replaced it meanwhile
            continue
        removed += 1
        freed += stat.st_size
    return CachePruneReport(cache_dir=str(cache), n_removed=removed, bytes_freed=freed, n_kept=kept)
