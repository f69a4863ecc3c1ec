"""Screen: does the zero-shot goal depend on how the starter library is built?

`bench_zero_shot.py` measures zero-shot recommendations on the bundled starter library
(at most 300 rows per dataset, 51 configurations per family). This screen rebuilds one
family's score table with other settings, without touching the bundled library, and runs
the same leave-one-dataset-out evaluation (`bench_zero_shot.evaluate_family`) on it:

* ``--max-rows``: bigger subsamples, so CV scores are less noisy;
* ``--configs``: more shared random configurations per dataset, so "best of 10 random"
  covers a smaller share of the table;
* ``--split-seeds 0,1``: a second CV split, for the table without the winner's-curse
  bias of best-of-k choices.

Datasets, subsampling, configurations, fingerprints and CV scoring are the starter build's
own (`build_starter_library`); scores are cached per dataset in ``--cache`` (JSON), so a
killed run resumes. Writes one JSON (and a markdown table beside it). Example::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/screen_zero_shot_design.py \
        --family svm --datasets 40 --max-rows 2000 --configs 50 --split-seeds 0,1 \
        --out benchmarks/results/screens/zero_shot_design_svm_2000x50.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import build_starter_library as build  # noqa: E402
from bench_zero_shot import FamilyTable, evaluate_family, summarize, summary_markdown  # noqa: E402

from library.provenance import code_version  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def score_datasets(
    family: str,
    names: list[str],
    *,
    max_rows: int,
    n_configs: int,
    split_seeds: list[int],
    cache: Path,
) -> dict[str, Any]:
    """Scores of the family default + ``n_configs`` shared configurations per dataset.

    Returns:
        ``{dataset: {"kind", "n", "scores": {split_seed: [51 values or None]}}}``, also
        written to ``cache`` after every dataset.
    """
    from recommender.runner import ModelFamily, default_config

    configs = build.family_configs(family, n_configs=n_configs, seed=0)
    done: dict[str, Any] = json.loads(cache.read_text()) if cache.exists() else {}
    for name in names:
        wanted = [s for s in split_seeds if str(s) not in done.get(name, {}).get("scores", {})]
        if not wanted:
            continue
        started = time.perf_counter()
        features, target, kind = build.load_dataset(name, max_rows=max_rows, seed=0)
        matrix, labels = build.encode(features, target, kind)
        default = default_config(ModelFamily.parse(family), n_features=matrix.shape[1])
        entry = done.setdefault(name, {"kind": kind, "n": int(matrix.shape[0]), "scores": {}})
        for split_seed in wanted:
            entry["scores"][str(split_seed)] = [
                build.evaluate(
                    family, config, matrix, labels, kind=kind, seed=split_seed, max_epochs=20
                )[0]
                for config in [default, *configs]
            ]
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(done))
        print(f"{family} {name} {matrix.shape}: {time.perf_counter() - started:.0f} s", flush=True)
    return {name: done[name] for name in names}


def fingerprints(names: list[str], *, max_rows: int) -> tuple[Any, ...]:
    """Dataset fingerprints of the same subsamples the scores were computed on."""
    from featurizers import featurize_dataset

    prints = []
    for name in names:
        features, target, kind = build.load_dataset(name, max_rows=max_rows, seed=0)
        prints.append(featurize_dataset(features, y=target, task=kind, seed=0))
    return tuple(prints)


def family_table(
    family: str, scored: dict[str, Any], prints: tuple[Any, ...], *, seed: str
) -> FamilyTable:
    """A `FamilyTable` of split ``seed``'s scores (``prints``: one per dataset of ``scored``)."""
    names = list(scored)
    scores = np.array(
        [[np.nan if v is None else v for v in scored[n]["scores"][seed]] for n in names]
    )
    return FamilyTable(
        family=family,
        datasets=tuple(names),
        kinds=tuple(scored[n]["kind"] for n in names),
        configs=("default", *(str(i) for i in range(scores.shape[1] - 1))),
        scores=scores,
        fold_std=np.full_like(scores, np.nan),  # not kept here: no noise floor
        fingerprints=prints,
    )


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", required=True)
    parser.add_argument("--datasets", type=int, default=40, help="prefix of DATASET_ORDER")
    parser.add_argument("--max-rows", type=int, default=300)
    parser.add_argument("--configs", type=int, default=50)
    parser.add_argument("--split-seeds", default="0", help="first one is the library split")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    seeds = [int(s) for s in args.split_seeds.split(",")]
    names = list(build.DATASET_ORDER[: args.datasets])
    cache = args.cache or (
        ROOT / "build" / "zero_shot_design" / f"{args.family}_{args.max_rows}x{args.configs}.json"
    )
    scored = score_datasets(
        args.family, names, max_rows=args.max_rows, n_configs=args.configs,
        split_seeds=seeds, cache=cache,
    )  # fmt: skip
    prints = fingerprints(names, max_rows=args.max_rows)
    table = family_table(args.family, scored, prints, seed=str(seeds[0]))
    summaries = {"library split": summarize(evaluate_family(table, k=args.k))}
    for other in seeds[1:]:
        report = family_table(args.family, scored, prints, seed=str(other))
        frame = evaluate_family(table, k=args.k, report_scores=report.scores)
        summaries[f"independent split {other}"] = summarize(frame)
    payload = {
        "screen": "zero_shot_design",
        "commit": code_version() or "unknown",
        "hardware": f"{platform.machine()} x{__import__('os').cpu_count()}",
        "family": args.family,
        "max_rows": args.max_rows,
        "n_configs": args.configs + 1,
        "datasets": {n: {"kind": scored[n]["kind"], "rows": scored[n]["n"]} for n in names},
        "split_seeds": seeds,
        "k": args.k,
        "summaries": summaries,
        "seconds_excluding_cached_scores": time.perf_counter() - started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    text = [
        f"# Zero-shot screen: {args.family}, at most {args.max_rows} rows, "
        f"{args.configs + 1} configurations per dataset, {len(names)} datasets",
        "",
        "Written by `benchmarks/screen_zero_shot_design.py` (a screen, not the bundled "
        "library: see its docstring). Fold standard deviations are not kept here, so the "
        "noise floor reads nan.",
        "",
    ]
    for label, summary in summaries.items():
        text += [f"## {label}", "", summary_markdown(summary, title=False)]
    args.out.with_suffix(".md").write_text("\n".join(text))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
