"""Screen `TransferOptions` variants of our pool search on a shared-format benchmark, fast.

The full harness (``recommend bench transfer``) refits nothing per variant but still runs
every method; this screen runs only ours, on source predictions computed once and cached:
for every target, the source GPs of the other tasks (``fit_source_model``, seed 0, exactly
as the harness fits them) are predicted at the target's pool and pickled. Each variant is
then ``run_pool_search`` over targets x seeds in worker processes. With default options its
runs match the harness's pick for pick in most cases (against the committed LCBench run,
148 of 170 target x seed runs; the others part ways at some pick, as two harness runs of
the same code do: target GP refits are not bit-for-bit reproducible), so a screen's means
are within about 0.001 of the harness's; the README labels them "screen" all the same.

The first pick follows the harness too: the cache holds, for every target, the zero-shot
criterion that the harness's ``auto`` test (`recommender.transfer.first_pick_choice`, a
leave-one-source-out test on the other tasks) chooses, and a variant that does not set
``zero_shot_criterion`` itself uses it. The choice is made with the default options, so a
variant that changes ``kappa`` or ``zero_shot_switch_t`` gets the default's choice, not the
one the harness would make with its options. Caches written before session 39 lack it: it is
computed (the source GPs are fitted again, once) and added to the file. Until then every
screen's first pick was the regret LCB, which on libraries where the test switches (the
100-task draws) made a screen's later budgets differ from the harness's by more than the
differences between variants.

Example::

    python benchmarks/screen_transfer_options.py --benchmark ../shared/benchmarks/lcbench \\
        --cache /tmp/lcbench.pkl --seeds 2 \\
        --variants '{"default": {}, "probe16": {"probe_candidates": 16}}' \\
        --out benchmarks/results/screen_lcbench.json

The variant ``{"method": "rgpe"}`` runs the harness's ``rgpe`` on the same cache instead
(its regret on LCBench 34 targets x 5 seeds matches the harness's to four decimals), so a
variant can be paired against it target by target. Every variant is checked before the
cache loads (`variant_problem`): an unknown option, an invalid value or options given to
``rgpe`` end the run with a parser error (exit 2).

In a space with a branching parameter (`Space.branching_columns`) the searches get its
one-hot columns, as the harness's do; a variant with ``"branches": false`` runs without
them (what every screen before session 45 ran).
"""

from __future__ import annotations

import argparse
import inspect
import json
import multiprocessing
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np

from recommender.bench.harness import load_problems
from recommender.bench.methods import MethodInput, PoolOracle, run_rgpe
from recommender.bench.problem import normalized_regret
from recommender.first_pick import cross_predictions
from recommender.space import Space
from recommender.surrogate import SourceModel, fit_source_model, predict_sources
from recommender.transfer import (
    SearchTrace,
    TransferOptions,
    first_pick_choice,
    run_pool_search,
)

BUDGETS = (1, 2, 3, 4, 5, 10, 20, 30)
# trials each source GP is conditioned on: `fit_source_model`'s default, as the harness fits them
SOURCE_POINTS: int = inspect.signature(fit_source_model).parameters["n_condition"].default


class _Quantiles:
    """The one attribute of a source model that the pool search reads besides predictions."""

    def __init__(self, quantiles: np.ndarray | None) -> None:
        self.quantiles = quantiles


def build_cache(
    benchmark: Path, adversarial: str | None, share: float, source_points: int = SOURCE_POINTS
) -> dict:
    """Targets' pools and scores, and every target's source predictions (leave one out).

    ``source_points`` is the number of trials each source GP is conditioned on
    (`fit_source_model`'s ``n_condition``; its hyperparameters are learnt on its default
    ``n_fit`` as always). ``"first_pick"`` holds each target's zero-shot criterion as the
    harness chooses it (`first_pick_criteria`).
    """
    truth, models = _problems_and_models(benchmark, adversarial, share, source_points)
    preds = {}
    for target, data in truth.items():
        sources = [models[s] for s in models if s != target]
        preds[target] = (predict_sources(sources, data.X), [m.quantiles for m in sources])
    return {
        "truth": {t: (d.X, d.score) for t, d in truth.items()},
        "preds": preds,
        "source_points": source_points,
        "first_pick": first_pick_criteria(models, list(truth)),
    }


def _problems_and_models(
    benchmark: Path, adversarial: str | None, share: float, source_points: int
) -> tuple[dict, dict[str, SourceModel]]:
    """The targets' data and every task's source GP, fitted as the harness fits them."""
    _, _, truth, history = load_problems(benchmark, adversarial, share)
    models = {
        t: fit_source_model(t, d.X, d.score, seed=0, n_condition=source_points)
        for t, d in history.items()
    }
    return truth, models


def first_pick_criteria(models: dict[str, SourceModel], targets: list[str]) -> dict[str, str]:
    """The zero-shot criterion the harness's ``auto`` test chooses for each target.

    Args:
        models: every task's source GP (with its trial sample), keyed by task id.
        targets: the targets; each one's library is every other task.

    Returns:
        Target id -> criterion (`recommender.first_pick.FIRST_PICK_CRITERIA`).
    """
    cross = cross_predictions(list(models.values()))
    criteria = {}
    for target in targets:
        sources = [models[s] for s in models if s != target]
        choice = first_pick_choice(TransferOptions(), sources, cross)
        criteria[target] = choice.criterion if choice is not None else "regret-lcb"  # no sources
    return criteria


class CacheMismatchError(ValueError):
    """A cache file was built with other source GPs than the screen asks for."""


def load_or_build_cache(
    path: Path,
    benchmark: Path,
    adversarial: str | None,
    share: float,
    source_points: int = SOURCE_POINTS,
) -> dict:
    """The cache pickled at ``path``, built (`build_cache`) and written there if missing.

    Raises:
        CacheMismatchError: the file holds predictions of source GPs conditioned on another
            number of trials than ``source_points`` (caches written before the option count
            as `SOURCE_POINTS`).
    """
    if path.exists():
        cache = pickle.loads(path.read_bytes())
        built = cache.get("source_points", SOURCE_POINTS)
        if built != source_points:
            raise CacheMismatchError(
                f"{path} holds source GPs conditioned on {built} trials, not {source_points}: "
                "pass another --cache path (or the matching --source-points)"
            )
        if "first_pick" not in cache:  # written before session 39: add the harness's choice
            _, models = _problems_and_models(benchmark, adversarial, share, source_points)
            cache["first_pick"] = first_pick_criteria(models, list(cache["truth"]))
            path.write_bytes(pickle.dumps(cache))
        return cache
    cache = build_cache(benchmark, adversarial, share, source_points)
    path.write_bytes(pickle.dumps(cache))
    return cache


_CACHE: dict = {}  # filled once per worker by `_init`, not pickled with every job


def _init(cache: dict) -> None:
    import torch

    torch.set_num_threads(1)
    _CACHE.update(cache)


def search(opts: dict, target: str, seed: int, budget: int) -> tuple[list[float], SearchTrace]:
    """One pool search of a worker's cached target (`_init`): its regret curve and trace.

    Args:
        opts: `TransferOptions` fields as parsed from JSON (lists become tuples).
        target: task id in the cache.
        seed: the search's seed.
        budget: number of picks.

    Returns:
        The normalized regret after each pick, and the `SearchTrace`.
    """
    X, score = _CACHE["truth"][target]
    predictions, quantiles = _CACHE["preds"][target]
    opts = dict(opts)
    branches = _CACHE.get("branch_columns", ()) if opts.pop("branches", True) else ()
    criterion = _CACHE.get("first_pick", {}).get(target)
    if criterion is not None and "zero_shot_criterion" not in opts:  # the harness's choice
        opts = {**opts, "zero_shot_criterion": criterion}
    options = _options(opts, seed)
    trace = run_pool_search(
        pool_X=X,
        # stand-ins: given its source predictions, the search reads only `quantiles`
        source_models=[cast(SourceModel, _Quantiles(q)) for q in quantiles],
        evaluate=lambda i: float(score[i]),
        budget=budget,
        options=options,
        source_predictions=predictions,
        branch_columns=branches,
    )
    return normalized_regret(score, np.array(trace.picks)).tolist(), trace


class _Source:
    """The one attribute of a source that `run_rgpe` reads when given its predictions."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id


def search_rgpe(target: str, seed: int, budget: int) -> list[float]:
    """The harness's ``rgpe`` (`recommender.bench.methods.run_rgpe`) on a worker's cached
    target: a same-cache baseline for paired comparisons (the variant ``{"method": "rgpe"}``).

    Returns:
        The normalized regret after each pick.
    """
    X, score = _CACHE["truth"][target]
    (mean, std), _ = _CACHE["preds"][target]
    inp = MethodInput(
        space=cast(Any, None),  # rgpe reads only the pool and the predictions
        pool_X=X,
        pool_configs=None,
        sources=tuple(cast(Any, _Source(str(i))) for i in range(len(mean))),
        source_models={},
        budget=budget,
        seed=seed,
        reference_predictions=(mean, std),
    )
    oracle = PoolOracle(score)
    run_rgpe(inp, oracle)
    return normalized_regret(score, np.array(oracle.picks)).tolist()


def _options(opts: dict[str, Any], seed: int) -> TransferOptions:
    """`TransferOptions` from a variant's JSON options (lists become tuples)."""
    kwargs: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in opts.items()}
    return TransferOptions(seed=seed, **kwargs)


def variant_problem(opts: Any) -> str:
    """What is wrong with a variant's options, or ``""``: checked before the cache loads.

    ``{"method": "rgpe"}`` takes no other key (`search_rgpe` has no options); any other
    variant must build a `TransferOptions` (unknown keys and invalid values are refused).
    """
    if not isinstance(opts, dict):
        return f"options must be a JSON object, got {json.dumps(opts)}"
    if "method" in opts:
        if opts["method"] != "rgpe":
            return f"method must be 'rgpe' (or absent), got {opts['method']!r}"
        extra = sorted(set(opts) - {"method"})
        return f"the rgpe method takes no options, got {', '.join(extra)}" if extra else ""
    if not isinstance(opts.get("branches", True), bool):
        return f"branches must be true or false, got {opts['branches']!r}"
    try:
        _options({k: v for k, v in opts.items() if k != "branches"}, seed=0)
    except (TypeError, ValueError) as error:
        return str(error)
    return ""


def map_jobs(run: Callable[[tuple], Any], jobs: list[tuple], cache: dict, workers: int) -> list:
    """``run`` over ``jobs`` in ``workers`` forked processes that each hold ``cache``."""
    with multiprocessing.get_context("fork").Pool(
        workers, initializer=_init, initargs=(cache,)
    ) as pool:
        return pool.map(run, jobs, chunksize=1)


def _run(args: tuple) -> tuple[str, str, int, list[float]]:
    name, opts, target, seed, budget = args
    if opts.get("method") == "rgpe":
        return name, target, seed, search_rgpe(target, seed, budget)
    return name, target, seed, search(opts, target, seed, budget)[0]


def main() -> None:
    """Parse arguments, run the screen, print mean regret per budget, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True, help="pickle of source predictions")
    parser.add_argument("--adversarial", choices=["none", "negate", "shuffle", "mixed"])
    parser.add_argument("--adversarial-share", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--targets", default="all", help="comma-separated task ids or 'all'")
    parser.add_argument("--variants", default='{"default": {}}', help="JSON name -> options")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--source-points",
        type=int,
        default=SOURCE_POINTS,
        help="trials each source GP is conditioned on (the cache is built with it)",
    )
    parser.add_argument("--out", type=Path, help="JSON of per-target, per-seed regret curves")
    args = parser.parse_args()
    try:
        variants = json.loads(args.variants)
    except json.JSONDecodeError as error:
        parser.error(f"--variants is not JSON: {error}")
    if not isinstance(variants, dict):
        parser.error("--variants must be a JSON object: variant name -> options")
    for name, opts in variants.items():
        problem = variant_problem(opts)
        if problem:
            parser.error(f"variant {name!r}: {problem}")
    adversarial = None if args.adversarial in (None, "none") else args.adversarial
    if args.source_points < 1:
        parser.error(f"--source-points must be at least 1, got {args.source_points}")
    try:
        cache = load_or_build_cache(
            args.cache, args.benchmark, adversarial, args.adversarial_share, args.source_points
        )
    except CacheMismatchError as error:
        parser.error(str(error))
    space = Space.from_dict(json.loads((args.benchmark / "space.json").read_text()))
    cache = {**cache, "branch_columns": space.branching_columns()}
    targets = list(cache["truth"]) if args.targets == "all" else args.targets.split(",")
    jobs = [
        (name, opts, t, s, args.budget)
        for name, opts in variants.items()
        for t in targets
        for s in range(args.seeds)
    ]
    start = time.perf_counter()
    results = map_jobs(_run, jobs, cache, args.workers)
    curves: dict[str, dict[str, list[list[float]]]] = {}
    for name, target, _, regret in results:
        curves.setdefault(name, {}).setdefault(target, []).append(regret)
    summary = {}
    for name in variants:
        arr = np.array([curves[name][t] for t in targets])  # targets x seeds x budget
        summary[name] = {b: float(arr[:, :, b - 1].mean()) for b in BUDGETS if b <= args.budget}
        print(name, " ".join(f"t{b}={v:.4f}" for b, v in summary[name].items()), flush=True)
    seconds = time.perf_counter() - start
    print(f"{seconds:.0f} s")
    if args.out:
        record = {
            "benchmark": str(args.benchmark),
            "adversarial": adversarial,
            "adversarial_share": args.adversarial_share if adversarial else 0.0,
            "seeds": args.seeds,
            "source_points": args.source_points,
            "variants": variants,
            "first_pick": cache.get("first_pick"),
            "summary": summary,
            "seconds": seconds,
            "curves": curves,
        }
        args.out.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
