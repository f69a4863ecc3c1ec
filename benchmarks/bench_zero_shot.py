"""Benchmark: zero-shot recommendations for an unseen dataset, leave one dataset out.

Within each model family of the starter library every dataset was scored on the same
configuration list (the family default + 50 shared random configurations, see
``build_starter_library.py``), so evaluating a recommendation on the held-out dataset is a
table lookup. For every family and every held-out dataset ``d``, with only the other
datasets of the family as the library:

* **ours** (`recommend_zero_shot`): the ``k`` (8) tasks nearest to ``d``'s fingerprint
  (`featurizers.TaskSimilarity`, weights learned from the response similarity of the
  library tasks); top-1 is the configuration with the best distance-weighted mean
  normalized score over them, top-5 adds greedily the configurations that most raise the
  neighbours' weighted best-so-far score (we count the best of the five on ``d``).
  ``k`` was picked among 5 / 8 / 12 on this same leave-one-out (sensitivity in the JSON).
* **default**: the family's default configuration (scikit-learn defaults where in range).
* **random-5 / random-10**: the best of 5 / 10 random configurations of the 50 (exact
  expectation over all draws, no sampling noise).
* **knn-portfolio** (auto-sklearn 1.0 meta-learning): the best configuration of the
  nearest, 2nd nearest, ... dataset (same similarity).
* **global portfolio**: top-1 is the configuration with the best mean normalized score on
  the other datasets; top-5 is a greedy portfolio minimising their mean best-of-portfolio
  regret.

Normalized regret on ``d``: ``(best - score) / (best - worst)`` over the 51 scored
configurations (failed trials count as the worst score). Rank: per held-out dataset the
methods are ranked by regret (1 = best, ties averaged), then averaged.

Writes ``benchmarks/results/zero_shot.json``, ``zero_shot.md`` and ``zero_shot.png``. Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_zero_shot.py
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class FamilyTable:
    """Scores of one model family: datasets x configurations.

    Attributes:
        family: model family name (``hgb``, ``rf``, ...).
        datasets: ``n`` dataset names (task ``name``).
        kinds: ``n`` task kinds.
        configs: ``m`` configuration keys (canonical params JSON); ``"default"`` first.
        scores: ``n x m`` objective values (maximised), NaN where the trial failed.
        fingerprints: ``n`` `featurizers.Fingerprint` objects.
    """

    family: str
    datasets: tuple[str, ...]
    kinds: tuple[str, ...]
    configs: tuple[str, ...]
    scores: np.ndarray
    fingerprints: tuple[Any, ...]

    def normalized(self) -> np.ndarray:
        """``n x m`` normalized scores in [0, 1] (1 = best of the row); failed -> 0."""
        filled = np.where(
            np.isnan(self.scores), np.nanmin(self.scores, axis=1)[:, None], self.scores
        )
        low, high = filled.min(axis=1, keepdims=True), filled.max(axis=1, keepdims=True)
        return (filled - low) / np.maximum(high - low, _EPS)


def load_tables(library_path: Path | None) -> list[FamilyTable]:
    """Read the starter library (or ``library_path``) into one `FamilyTable` per family."""
    from featurizers import Fingerprint
    from library import Library

    if library_path is None:
        from recommender.starter import starter_library_path

        library_path = starter_library_path()
    library = Library.open(library_path, create=False)
    tasks = library.read_tasks().to_pandas()
    trials = library.read_trials().to_pandas()
    trials = trials[trials["task_id"].str.startswith("starter/")]
    tables = []
    tasks["family"] = tasks["task_id"].str.rsplit("/", n=1).str[-1]
    for family, family_tasks in tasks.groupby("family", sort=True):
        family_tasks = family_tasks.sort_values("task_id")
        rows = trials[trials["task_id"].isin(family_tasks["task_id"])].copy()
        rows["key"] = np.where(rows["metric_is_default"] == 1.0, "default", rows["params_json"])
        value = np.where(rows["status"] == "ok", rows["objective_value"], np.nan)
        rows["value"] = value
        matrix = rows.pivot_table(
            index="task_id", columns="key", values="value", aggfunc="first", dropna=False
        )
        keys = ["default"] + sorted(k for k in matrix.columns if k != "default")
        matrix = matrix.reindex(index=list(family_tasks["task_id"]), columns=keys)
        complete = matrix.notna().sum(axis=1) > 1
        family_tasks = family_tasks[complete.to_numpy()]
        matrix = matrix[complete]
        fingerprints = tuple(
            Fingerprint.from_values(
                row.fingerprint_names,
                row.fingerprint_values,
                kind="dataset",
                version=row.featurizer_version,
            )  # fmt: skip
            for row in family_tasks.itertuples()
        )
        tables.append(
            FamilyTable(
                family=str(family),
                datasets=tuple(family_tasks["name"]),
                kinds=tuple(family_tasks["kind"]),
                configs=tuple(keys),
                scores=matrix.to_numpy(dtype=np.float64),
                fingerprints=fingerprints,
            )
        )
    return tables


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    if ra.std() < _EPS or rb.std() < _EPS:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def _similarity(table: FamilyTable, train: np.ndarray) -> Any:
    """`TaskSimilarity` fitted on the training datasets, weights learned from responses."""
    from featurizers import TaskSimilarity

    normalized = table.normalized()[train]
    n_train = len(train)
    response = np.full((n_train, n_train), np.nan)
    for i in range(n_train):
        for j in range(i, n_train):
            response[i, j] = response[j, i] = _spearman(normalized[i], normalized[j])
    prints = {str(index): table.fingerprints[index] for index in train}
    return TaskSimilarity().fit(prints, response)


def recommend_zero_shot(
    normalized: np.ndarray, distances: np.ndarray, *, k: int = 8, n_configs: int = 5
) -> list[int]:
    """Rank configurations for a new dataset from its nearest library datasets.

    Args:
        normalized: ``n_train x m`` normalized scores of the library datasets.
        distances: ``n_train`` fingerprint distances from the new dataset.
        k: neighbours used.
        n_configs: configurations returned.

    Returns:
        Configuration indices: first the best on the distance-weighted (``1 / (d + 1e-3)``)
        mean normalized score over the ``k`` nearest datasets (top-1), then greedily the
        configuration that most raises the weighted mean of the neighbours' best-so-far
        score (a portfolio over the neighbours, so top-5 covers different neighbours).
    """
    order = np.argsort(distances, kind="stable")[:k]
    weights = 1.0 / (distances[order] + 1e-3)
    weights = weights / weights.sum()
    responses = normalized[order]
    chosen = [int(np.argmax(weights @ responses))]
    covered = responses[:, chosen[0]].copy()
    while len(chosen) < min(n_configs, normalized.shape[1]):
        gains = weights @ np.maximum(covered[:, None], responses)
        gains[chosen] = -np.inf
        best = int(np.argmax(gains))
        chosen.append(best)
        covered = np.maximum(covered, responses[:, best])
    return chosen


def _knn_portfolio(normalized: np.ndarray, distances: np.ndarray, size: int) -> list[int]:
    portfolio: list[int] = []
    for neighbour in np.argsort(distances, kind="stable"):
        best = int(np.argmax(normalized[neighbour]))
        if best not in portfolio:
            portfolio.append(best)
        if len(portfolio) == size:
            break
    return portfolio


def _greedy_portfolio(normalized: np.ndarray, size: int, candidates: np.ndarray) -> list[int]:
    portfolio: list[int] = []
    covered = np.zeros(normalized.shape[0])
    for _ in range(size):
        gains = [
            np.mean(np.maximum(covered, normalized[:, c])) if c not in portfolio else -1.0
            for c in candidates
        ]
        best = int(candidates[int(np.argmax(gains))])
        portfolio.append(best)
        covered = np.maximum(covered, normalized[:, best])
    return portfolio


def _expected_best_of_random(regrets: np.ndarray, k: int) -> float:
    """Exact E[min regret of k configurations drawn without replacement]."""
    ordered = np.sort(regrets)
    n = ordered.size
    k = min(k, n)
    probabilities = np.array([math.comb(n - i - 1, k - 1) for i in range(n)], dtype=float)
    return float(np.dot(ordered, probabilities / math.comb(n, k)))


METHODS = (
    "ours top-1",
    "ours top-5",
    "knn-portfolio top-1",
    "knn-portfolio top-5",
    "global top-1",
    "global portfolio top-5",
    "default",
    "random best-of-5",
    "random best-of-10",
)


def evaluate_family(
    table: FamilyTable, *, k: int, sensitivity_k: tuple[int, ...] = (5, 8, 12)
) -> pd.DataFrame:
    """Leave-one-dataset-out regrets of every method for one family (one row per dataset)."""
    normalized = table.normalized()
    n = len(table.datasets)
    random_configs = np.arange(1, len(table.configs))  # index 0 is the default
    rows = []
    for held_out in range(n):
        same_kind = [
            i for i in range(n) if i != held_out and table.kinds[i] == table.kinds[held_out]
        ]
        train = np.array(
            same_kind if len(same_kind) >= 3 else [i for i in range(n) if i != held_out]
        )
        similarity = _similarity(table, train)
        distances = similarity.distances(table.fingerprints[held_out])
        regret = 1.0 - normalized[held_out]
        train_scores = normalized[train]

        def best_of(indices: list[int], regret: np.ndarray = regret) -> float:
            return float(min(regret[i] for i in indices))

        ours = recommend_zero_shot(train_scores, distances, k=k)
        extra = {}
        for other_k in sensitivity_k:
            proposals = recommend_zero_shot(train_scores, distances, k=other_k)
            extra[f"k={other_k} top-1"] = best_of(proposals[:1])
            extra[f"k={other_k} top-5"] = best_of(proposals[:5])
        knn = _knn_portfolio(train_scores, distances, 5)
        global_order = [int(i) for i in np.argsort(-train_scores.mean(axis=0), kind="stable")]
        greedy = _greedy_portfolio(train_scores, 5, np.arange(len(table.configs)))
        rows.append(
            {
                "family": table.family,
                "dataset": table.datasets[held_out],
                "kind": table.kinds[held_out],
                "n_library": len(train),
                "ours top-1": best_of(ours[:1]),
                "ours top-5": best_of(ours[:5]),
                "knn-portfolio top-1": best_of(knn[:1]),
                "knn-portfolio top-5": best_of(knn[:5]),
                "global top-1": best_of(global_order[:1]),
                "global portfolio top-5": best_of(greedy),
                "default": float(regret[0]),
                "random best-of-5": _expected_best_of_random(regret[random_configs], 5),
                "random best-of-10": _expected_best_of_random(regret[random_configs], 10),
                **extra,
            }
        )
    return pd.DataFrame(rows)


def summarize(frame: pd.DataFrame) -> dict[str, Any]:
    """Mean normalized regret and mean rank per method, overall and per family."""
    ranks = frame[list(METHODS)].rank(axis=1, method="average")
    out: dict[str, Any] = {"overall": {}, "per_family": {}}
    for method in METHODS:
        out["overall"][method] = {
            "mean_regret": float(frame[method].mean()),
            "mean_rank": float(ranks[method].mean()),
        }
    for family, group in frame.groupby("family"):
        family_ranks = ranks.loc[group.index]
        out["per_family"][str(family)] = {
            "n_datasets": len(group),
            **{
                method: {
                    "mean_regret": float(group[method].mean()),
                    "mean_rank": float(family_ranks[method].mean()),
                }
                for method in METHODS
            },
        }
    out["ours_k_sensitivity"] = {
        column: float(frame[column].mean()) for column in frame.columns if column.startswith("k=")
    }
    ours, random10 = frame["ours top-1"], frame["random best-of-10"]
    out["ours_top1_vs_random10"] = {
        "wins": int((ours < random10 - 1e-12).sum()),
        "ties": int((abs(ours - random10) <= 1e-12).sum()),
        "losses": int((ours > random10 + 1e-12).sum()),
        "goal_met": bool(ours.mean() < random10.mean()),
    }
    return out


def _markdown(summary: dict[str, Any]) -> str:
    families = list(summary["per_family"])
    intro = [
        "# Zero-shot recommendations, leave one dataset out (starter library)",
        "",
        "Mean normalized regret on the held-out dataset (0 = best of its 51 scored "
        "configurations, 1 = worst) and mean rank of the methods per held-out dataset "
        "(1 = best). Top-5 / best-of-k rows count the best of the proposed configurations. "
        "Written by `benchmarks/bench_zero_shot.py` (see its docstring for the methods).",
        "",
    ]
    header = "| method | mean regret | mean rank | " + " | ".join(
        f"{f} regret (n={summary['per_family'][f]['n_datasets']})" for f in families
    )
    lines = [*intro, header + " |", "|" + "---|" * (3 + len(families))]
    for method in METHODS:
        overall = summary["overall"][method]
        cells = [f"{summary['per_family'][f][method]['mean_regret']:.3f}" for f in families]
        lines.append(
            f"| {method} | {overall['mean_regret']:.3f} | {overall['mean_rank']:.2f} | "
            + " | ".join(cells)
            + " |"
        )
    versus = summary["ours_top1_vs_random10"]
    lines.append("")
    lines.append(
        f"ours top-1 vs random best-of-10, per held-out dataset: {versus['wins']} wins, "
        f"{versus['ties']} ties, {versus['losses']} losses; goal (lower mean regret) met: "
        f"{versus['goal_met']}."
    )
    return "\n".join(lines) + "\n"


def _plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(summary["per_family"])
    width = 0.8 / max(len(families), 1)
    figure, axis = plt.subplots(figsize=(10, 4.5))
    positions = np.arange(len(METHODS))
    for index, family in enumerate(families):
        values = [summary["per_family"][family][m]["mean_regret"] for m in METHODS]
        axis.bar(positions + index * width, values, width, label=family)
    overall = [summary["overall"][m]["mean_regret"] for m in METHODS]
    axis.plot(positions + 0.4 - width / 2, overall, "k_", markersize=20, label="all families")
    axis.set_xticks(positions + 0.4 - width / 2, METHODS, rotation=30, ha="right")
    axis.set_ylabel("mean normalized regret (lower is better)")
    axis.set_title("Zero-shot recommendations, leave one dataset out (starter library)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", type=Path, default=None, help="default: starter library")
    parser.add_argument("--k", type=int, default=8, help="neighbours used by ours")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tables = load_tables(args.library)
    frame = pd.concat([evaluate_family(t, k=args.k) for t in tables], ignore_index=True)
    summary = summarize(frame)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "zero_shot",
        "commit": _commit(),
        "seed": 0,
        "k": args.k,
        "hardware": f"{platform.machine()} x{__import__('os').cpu_count()}",
        "library": str(args.library or "starter"),
        "families": {
            t.family: {"n_datasets": len(t.datasets), "n_configs": len(t.configs)} for t in tables
        },
        "summary": summary,
        "per_dataset": frame.to_dict(orient="records"),
        "seconds": time.perf_counter() - started,
    }
    (args.out / "zero_shot.json").write_text(json.dumps(payload, indent=1))
    (args.out / "zero_shot.md").write_text(_markdown(summary))
    _plot(summary, args.out / "zero_shot.png")
    print(_markdown(summary))


if __name__ == "__main__":
    main()
