"""Benchmark: GPU vs CPU for the torch MLP trainer and the GP surrogate fit.

Two measurements, each on both devices of the machine it runs on, in the same run:

* **MLP trainer throughput** (`TorchMLPEstimator`, the runner's ``mlp`` model): training
  samples per second for a fixed number of epochs (no early stopping, no validation split)
  on a seeded ``make_classification`` table, at two shapes: the tabular default (width 256,
  depth 2, batch 256) and a wide net with a large batch (width 1024, depth 4, batch 4096).
  A one-epoch warm-up fit per device is not timed (CUDA context, kernel selection). The
  held-out accuracy of both devices is reported so that speed is not bought with quality.
* **GP surrogate fit** (`recommender.surrogate.fit_gp`, exact Matern-5/2 ARD GP with
  BoTorch priors, L-BFGS on the marginal likelihood): real LCBench configurations (the
  shared benchmark's 7-d encoded space, one task's 2,000 configurations per 2,000 points,
  scores copula-normalised per task) at 2k / 5k / 10k training points. Reported: the time
  of one marginal-likelihood evaluation with its gradient (the unit of work of every
  optimiser step; mean of 3 after one warm-up), a whole fit capped at ``--gp-maxiter``
  L-BFGS iterations, and the posterior mean/std of 2,000 candidates. CPU runs float64
  (the product's CPU default), CUDA float32 (the product's CUDA default) and float64.
  A setting whose single evaluation would blow the time guard is skipped and says so.

Writes ``benchmarks/results/gpu.json`` (and ``gpu.png``). Without a GPU it still
measures the CPU side and records ``"cuda": null`` with the reason. Run::

    .venv/bin/python benchmarks/bench_gpu.py --benchmark ../shared/benchmarks/lcbench
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"
MLP_SHAPES = {
    "tabular-default": {"width": 256, "depth": 2, "batch_size": 256},
    "wide-large-batch": {"width": 1024, "depth": 4, "batch_size": 4096},
}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _devices() -> list[str]:
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def _hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(
            gpu=torch.cuda.get_device_name(0),
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            cuda=torch.version.cuda,
        )
    else:
        info["gpu"] = None
        info["gpu_reason"] = f"torch {torch.__version__} sees no CUDA GPU"
    return info


# --------------------------------------------------------------------------- MLP trainer
def bench_mlp(rows: int, epochs: int) -> list[dict[str, Any]]:
    """Training throughput of `TorchMLPEstimator` per shape and device."""
    from sklearn.datasets import make_classification

    from recommender.runner import TorchMLPEstimator

    features, target = make_classification(
        n_samples=rows + rows // 10,
        n_features=64,
        n_informative=32,
        n_classes=4,
        random_state=0,
    )
    features = features.astype(np.float32)
    train_x, train_y = features[:rows], target[:rows]
    test_x, test_y = features[rows:], target[rows:]
    out = []
    for shape_name, shape in MLP_SHAPES.items():
        for device in _devices():
            common: dict[str, Any] = dict(
                shape, learning_rate=1e-3, patience=0, validation_fraction=0.0, seed=0
            )
            TorchMLPEstimator(epochs=1, device=device, **common).fit(
                train_x[: min(rows, 20_000)], train_y[: min(rows, 20_000)]
            )  # warm-up, not timed
            model = TorchMLPEstimator(epochs=epochs, device=device, **common)
            _sync(device)
            started = time.perf_counter()
            model.fit(train_x, train_y)
            _sync(device)
            seconds = time.perf_counter() - started
            row = {
                "shape": shape_name,
                **shape,
                "device": device,
                "rows": rows,
                "epochs": int(model.epochs_run_),
                "seconds": seconds,
                "samples_per_second": rows * int(model.epochs_run_) / seconds,
                "test_accuracy": float(model.score(test_x, test_y)),
            }
            if device.startswith("cuda"):
                row["peak_gpu_memory_mib"] = torch.cuda.max_memory_allocated() / 2**20
                torch.cuda.reset_peak_memory_stats()
            print(json.dumps(row), flush=True)
            out.append(row)
    return out


# --------------------------------------------------------------------------- GP surrogate
def _lcbench_points(benchmark: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first tasks' encoded configurations and copula-normalised scores, ``n`` rows."""
    from library import read_benchmark
    from recommender.bench.problem import build_problems
    from recommender.space import Space
    from recommender.surrogate import copula_normalize

    bench = read_benchmark(benchmark)
    problems = build_problems(bench, Space.from_dict(bench.space))
    blocks_x, blocks_y, have = [], [], 0
    for problem in problems.values():
        take = min(len(problem.score), n - have)
        blocks_x.append(problem.X[:take])
        blocks_y.append(copula_normalize(problem.score)[:take])
        have += take
        if have >= n:
            break
    if have < n:
        raise SystemExit(f"{benchmark}: only {have} finite rows, {n} asked")
    return np.concatenate(blocks_x), np.concatenate(blocks_y)


def _mll_eval_seconds(X: np.ndarray, y: np.ndarray, tkwargs: dict[str, Any]) -> float:
    """Mean time of one marginal-likelihood value + gradient (3 timed after 1 warm-up)."""
    import gpytorch
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from recommender.surrogate import _MAX_CHOLESKY

    model = SingleTaskGP(
        torch.as_tensor(X, **tkwargs),
        torch.as_tensor(y, **tkwargs).reshape(-1, 1),
        outcome_transform=Standardize(m=1),
    )
    model.train()
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    times = []
    with gpytorch.settings.max_cholesky_size(_MAX_CHOLESKY):
        for _ in range(4):
            model.zero_grad()
            _sync(str(tkwargs["device"]))
            started = time.perf_counter()
            train_x = model.train_inputs[0]
            loss = -mll(model(train_x), model.train_targets)
            loss.backward()
            _sync(str(tkwargs["device"]))
            times.append(time.perf_counter() - started)
    return float(np.mean(times[1:]))


def bench_gp(
    benchmark: Path, sizes: list[int], maxiter: int, guard_s: float
) -> list[dict[str, Any]]:
    """Fit and predict times of the exact GP per size, device and dtype."""
    from recommender.surrogate import fit_gp, predict, resolve_tkwargs

    settings = [("cpu", torch.float64)]
    if torch.cuda.is_available():
        settings += [("cuda", torch.float32), ("cuda", torch.float64)]
    X_all, y_all = _lcbench_points(benchmark, max(sizes))
    candidates = np.random.default_rng(1).random((2000, X_all.shape[1]))
    out: list[dict[str, Any]] = []
    for n in sizes:
        X, y = X_all[:n], y_all[:n]
        for device, dtype in settings:
            tkwargs = resolve_tkwargs(device, dtype)
            row: dict[str, Any] = {
                "n": n,
                "d": int(X.shape[1]),
                "device": device,
                "dtype": str(dtype).removeprefix("torch."),
            }
            # cost grows as n^3: project from the last size of this setting and skip what
            # would blow the guard (the evaluation alone, or a whole fit)
            previous = [r for r in out if (r["device"], r["dtype"]) == (device, row["dtype"])]
            if previous and previous[-1].get("mll_eval_seconds") is not None:
                projected = previous[-1]["mll_eval_seconds"] * (n / previous[-1]["n"]) ** 3
                row["projected_mll_eval_seconds"] = projected
                if projected * 4 > guard_s:
                    row["skipped"] = (
                        f"projected {projected:.1f} s per evaluation x 4 exceeds the "
                        f"{guard_s:.0f} s guard"
                    )
                    _record(out, row)
                    continue
            if device == "cuda":
                torch.cuda.reset_peak_memory_stats()
            row["mll_eval_seconds"] = _mll_eval_seconds(X, y, tkwargs)
            if row["mll_eval_seconds"] * (maxiter + 10) > guard_s:
                row["fit_skipped"] = (
                    f"{row['mll_eval_seconds']:.1f} s per evaluation x ~{maxiter + 10} "
                    f"evaluations exceeds the {guard_s:.0f} s guard"
                )
                _record(out, row)
                continue
            started = time.perf_counter()
            try:
                model = fit_gp(X, y, tkwargs=tkwargs, maxiter=maxiter, max_attempts=1)
            except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                row["fit_error"] = f"{type(error).__name__}: {error}"[:300]
                _record(out, row)
                continue
            _sync(device)
            row["fit_seconds"] = time.perf_counter() - started
            started = time.perf_counter()
            mean, std = predict(model, candidates)
            _sync(device)
            row["predict_2000_seconds"] = time.perf_counter() - started
            noise = model.likelihood.noise.reshape(-1)[0]
            row["fitted_noise"] = float(noise.detach())
            row["predict_finite"] = bool(np.isfinite(mean).all() and np.isfinite(std).all())
            if device == "cuda":
                row["peak_gpu_memory_mib"] = torch.cuda.max_memory_allocated() / 2**20
            _record(out, row)
    return out


def _record(out: list[dict[str, Any]], row: dict[str, Any]) -> None:
    print(json.dumps(row), flush=True)
    out.append(row)


# --------------------------------------------------------------------------- report
def _ratios(mlp: list[dict[str, Any]], gp: list[dict[str, Any]]) -> dict[str, Any]:
    ratios: dict[str, Any] = {"mlp_gpu_over_cpu_throughput": {}, "gp_cpu_over_gpu_time": {}}
    for shape in MLP_SHAPES:
        rows = {r["device"]: r for r in mlp if r["shape"] == shape}
        if "cuda" in rows and "cpu" in rows:
            ratios["mlp_gpu_over_cpu_throughput"][shape] = (
                rows["cuda"]["samples_per_second"] / rows["cpu"]["samples_per_second"]
            )
    for n in sorted({r["n"] for r in gp}):
        cpu = next((r for r in gp if r["n"] == n and r["device"] == "cpu"), None)
        for r in gp:
            if r["n"] != n or r["device"] != "cuda" or cpu is None:
                continue
            key = f"n={n} cuda-{r['dtype']}"
            entry = {}
            if cpu.get("mll_eval_seconds") and r.get("mll_eval_seconds"):
                entry["mll_eval"] = cpu["mll_eval_seconds"] / r["mll_eval_seconds"]
            if cpu.get("fit_seconds") and r.get("fit_seconds"):
                entry["fit"] = cpu["fit_seconds"] / r["fit_seconds"]
            ratios["gp_cpu_over_gpu_time"][key] = entry
    return ratios


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    mlp = result["mlp"]
    shapes = list(MLP_SHAPES)
    for offset, device in enumerate(_devices_in(mlp)):
        values = [
            next(
                (r["samples_per_second"] for r in mlp if r["shape"] == s and r["device"] == device),
                0,
            )
            for s in shapes
        ]
        left.bar(np.arange(len(shapes)) + 0.4 * offset, values, width=0.4, label=device)
    left.set_xticks(np.arange(len(shapes)) + 0.2, shapes)
    left.set_yscale("log")
    left.set_ylabel("training samples / s")
    left.set_title("torch MLP trainer")
    left.legend()
    gp = result["gp"]
    for device, dtype in sorted({(r["device"], r["dtype"]) for r in gp}):
        pts = [
            (r["n"], r["mll_eval_seconds"])
            for r in gp
            if (r["device"], r["dtype"]) == (device, dtype) and r.get("mll_eval_seconds")
        ]
        if pts:
            right.plot(*zip(*pts, strict=True), marker="o", label=f"{device} {dtype}")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("training points")
    right.set_ylabel("seconds per MLL value + gradient")
    right.set_title("exact GP (LCBench configurations)")
    right.legend()
    fig.suptitle(result["hardware"].get("gpu") or "CPU only")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _devices_in(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({r["device"] for r in rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", type=Path, default=Path("../shared/benchmarks/lcbench"))
    parser.add_argument("--rows", type=int, default=200_000, help="MLP training rows")
    parser.add_argument("--epochs", type=int, default=3, help="MLP epochs (fixed)")
    parser.add_argument("--gp-sizes", default="2000,5000,10000")
    parser.add_argument("--gp-maxiter", type=int, default=30)
    parser.add_argument("--guard-s", type=float, default=150.0, help="GP time guard per setting")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-mlp", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    result: dict[str, Any] = {
        "benchmark": "gpu_vs_cpu",
        "hardware": _hardware(),
        "settings": {
            "mlp_rows": args.rows,
            "mlp_epochs": args.epochs,
            "gp_sizes": args.gp_sizes,
            "gp_maxiter": args.gp_maxiter,
            "guard_s": args.guard_s,
            "benchmark_dir": str(args.benchmark),
        },
    }
    try:
        from library.provenance import code_version

        result["commit"] = code_version()
    except Exception:  # noqa: BLE001 - not a git checkout on the device machine
        result["commit"] = os.environ.get("HPW_COMMIT")
    result["mlp"] = [] if args.skip_mlp else bench_mlp(args.rows, args.epochs)
    sizes = [int(s) for s in args.gp_sizes.split(",")]
    result["gp"] = bench_gp(args.benchmark, sizes, args.gp_maxiter, args.guard_s)
    result["ratios"] = _ratios(result["mlp"], result["gp"])
    result["wall_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    _plot(result, args.out.with_suffix(".png"))
    print(json.dumps(result["ratios"], indent=1))


if __name__ == "__main__":
    main()
