"""Pair the variants of `screen_transfer_options.py` runs against one reference variant.

Each positional argument is one benchmark (a draw): a screen JSON, or several joined with
``+`` when the variants of that benchmark were screened in separate runs on the same cache.
Targets are keyed per argument, since draws of the synthetic generator reuse task ids.
For every variant the mean regret and the paired difference to ``--ref`` (mean ± standard
error over targets, each target's seeds averaged first) are printed at each budget, over
all targets and, with ``--groups``, per group of targets (e.g. the generator's
``outlier_tasks`` listed in a benchmark's space.json).

Example::

    python benchmarks/compare_screens.py a.json+b.json other_draw.json --ref rgpe \\
        --groups /tmp/syn100/space.json

``--variants a,b`` compares only those variants (and the reference): the draws may hold
other variants that were not run on every draw.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recommender.bench.compare import standard_error

BUDGETS = (1, 5, 10, 20, 30)


class ScreenMismatchError(ValueError):
    """A file is no screen JSON, a variant lacks targets the reference has, or a budget
    exceeds the runs."""


def merge_screens(draws: Sequence[Sequence[Path]]) -> dict[str, dict[str, np.ndarray]]:
    """Curves of every variant, ``variant -> "draw:target" -> seeds x budget``.

    Args:
        draws: per benchmark, the screen JSON files run on it.

    Returns:
        The merged curves; a variant screened in two files of one draw keeps the later.

    Raises:
        ScreenMismatchError: a file is not JSON or has no ``curves``.
    """
    curves: dict[str, dict[str, np.ndarray]] = {}
    for index, files in enumerate(draws):
        for path in files:
            try:
                doc = json.loads(Path(path).read_text())
            except json.JSONDecodeError as error:
                raise ScreenMismatchError(f"{path} is not JSON: {error}") from None
            if not isinstance(doc, dict) or "curves" not in doc:
                raise ScreenMismatchError(f"{path} is not a screen's JSON (no 'curves')")
            for variant, by_target in doc["curves"].items():
                for target, runs in by_target.items():
                    curves.setdefault(variant, {})[f"{index}:{target}"] = np.asarray(runs, float)
    return curves


def reference_targets(curves: dict[str, dict[str, np.ndarray]], ref: str) -> list[str]:
    """The targets of the reference variant, sorted.

    Raises:
        ScreenMismatchError: no variant is called ``ref``.
    """
    if ref not in curves:
        raise ScreenMismatchError(f"no variant {ref!r} in the screens; found {sorted(curves)}")
    return sorted(curves[ref])


def paired_differences(
    curves: dict[str, dict[str, np.ndarray]],
    ref: str,
    budgets: Sequence[int] = BUDGETS,
    targets: Sequence[str] | None = None,
    variants: Sequence[str] | None = None,
) -> dict[str, dict[int, tuple[float, float, float]]]:
    """Each variant's mean regret and its paired difference to ``ref`` per budget.

    Args:
        curves: `merge_screens` output.
        ref: the reference variant.
        budgets: picks at which to compare (1-based).
        targets: the targets to pool (default: every target of ``ref``).
        variants: the variants to compare besides ``ref`` (default: every variant).

    Returns:
        ``variant -> budget -> (mean, mean difference, standard error of the difference)``;
        the error is over targets (``nan`` with one target).

    Raises:
        ScreenMismatchError: ``ref`` or a named variant is unknown, a variant lacks one of
            the targets, or a budget exceeds a run's length.
    """
    keys = list(targets) if targets is not None else reference_targets(curves, ref)
    unknown = [v for v in variants or () if v not in curves]
    if unknown:
        raise ScreenMismatchError(
            f"no variant {unknown[0]!r} in the screens; found {sorted(curves)}"
        )
    compared = [ref] + [v for v in (variants if variants is not None else curves) if v != ref]

    def by_target_means(variant: str) -> np.ndarray:
        """``targets x budget``: each target's seeds averaged."""
        missing = [t for t in keys if t not in curves[variant]]
        if missing:
            raise ScreenMismatchError(
                f"variant {variant!r} has no run on {len(missing)} target(s), e.g. {missing[0]}"
            )
        means = np.stack([curves[variant][t].mean(axis=0) for t in keys])
        if max(budgets) > means.shape[1]:
            raise ScreenMismatchError(
                f"budget {max(budgets)} exceeds the {means.shape[1]} picks of {variant!r}"
            )
        return means

    reference = by_target_means(ref)
    out: dict[str, dict[int, tuple[float, float, float]]] = {}
    for variant in compared:
        values = by_target_means(variant)
        diff = values - reference
        se = standard_error(diff)
        out[variant] = {
            b: (float(values[:, b - 1].mean()), float(diff[:, b - 1].mean()), float(se[b - 1]))
            for b in budgets
        }
    return out


def _outliers(space_files: Sequence[Path], n_draws: int) -> set[str]:
    """The outlier targets (keyed as in `merge_screens`) from each draw's space.json."""
    if len(space_files) != n_draws:
        raise ScreenMismatchError(
            f"--groups needs one space.json per draw: {n_draws} draw(s), {len(space_files)} file(s)"
        )
    outliers = set()
    for index, path in enumerate(space_files):
        for task in json.loads(Path(path).read_text()).get("outlier_tasks", []):
            outliers.add(f"{index}:{task}")
    return outliers


def main() -> None:
    """Parse arguments and print the paired table per group of targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("draws", nargs="+", help="screen JSON per draw (join files with '+')")
    parser.add_argument("--ref", default="default", help="the reference variant")
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    parser.add_argument(
        "--variants", default=None, help="comma-separated variants to compare (default: all)"
    )
    parser.add_argument(
        "--groups", nargs="*", type=Path, default=(), help="space.json per draw (outlier_tasks)"
    )
    args = parser.parse_args()
    draws = [[Path(p) for p in spec.split("+")] for spec in args.draws]
    budgets = [int(b) for b in args.budgets.split(",")]
    variants = args.variants.split(",") if args.variants else None
    try:
        curves = merge_screens(draws)
        everyone = reference_targets(curves, args.ref)
        groups: dict[str, list[str]] = {"all": everyone}
        if args.groups:
            outliers = _outliers(args.groups, len(draws))
            groups["outlier"] = [t for t in everyone if t in outliers]
            groups["not outlier"] = [t for t in everyone if t not in outliers]
        for name, targets in groups.items():
            if not targets:
                continue
            table = paired_differences(curves, args.ref, budgets, targets, variants)
            print(f"## {name} ({len(targets)} targets), vs {args.ref}")
            for variant, row in table.items():
                cells = " | ".join(
                    f"t{b} {m:.4f} {d:+.4f} ± {s:.4f}" for b, (m, d, s) in row.items()
                )
                print(f"{variant:16s} {cells}")
    except (ScreenMismatchError, OSError) as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
