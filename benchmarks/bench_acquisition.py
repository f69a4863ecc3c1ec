"""Benchmark: random-candidate argmax vs gradient maximisation of the ensemble LogEI.

On the synthetic conditional benchmark (`recommender.bench.synthetic.write_conditional_benchmark`:
15 parameters, 21 encoded columns, 15 one-hot combinations with conditional children),
for each of a few target tasks and observation counts ``t``, the target observes ``t``
random configurations of its trials and the other tasks are the sources (their GPs fitted
as `Recommender` fits them). One GP-phase pick is then made two ways, on the *same*
acquisition (`recommender.acquisition.ensemble_acquisition`, equal to what
`recommender.transfer.propose` scores):

* **random**: `propose` over ``n_candidates`` `Space.sample` draws plus the sources' ten
  best configurations each (what `Recommender.suggest` did before, ``optimizer="random"``);
  timed per suggestion (GP fit, guardrail weights, scoring).
* **gradient**: the same `propose` call (it decides the phase and the weights), then
  `optimize_ensemble_acqf` with the candidates as the floor (``optimizer="gradient"``).

Reported: the LogEI reached by each, the gain (``gradient - random``, in nats: the EI
ratio is ``exp(gain)``), how often a gradient run beat the best candidate, and wall time
per suggestion. A higher acquisition value is not a lower regret: regret is not measured.

Writes ``benchmarks/results/acquisition.json``. Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_acquisition.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from library import Library, import_benchmark, read_benchmark
from library.provenance import code_version
from library.query import TaskEvaluations, task_evaluations
from recommender.acquisition import optimize_ensemble_acqf, proposal_acquisition
from recommender.bench.synthetic import write_conditional_benchmark
from recommender.space import Space
from recommender.surrogate import SourceModel, fit_source_model, predict_sources
from recommender.transfer import TransferOptions, propose, source_quantiles

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def _oriented(e: TaskEvaluations) -> np.ndarray:
    return e.objective if e.direction == "maximize" else -e.objective


def _candidates(
    space: Space, sources: list[TaskEvaluations], n_candidates: int, seed: int
) -> np.ndarray:
    """Encoded candidates exactly as `Recommender._candidates` builds them (no pool)."""
    frames = [space.encode(space.sample(n_candidates, seed=seed))]
    for e in sources:
        order = np.argsort(-_oriented(e), kind="stable")[:10]
        frames.append(space.encode(e.configs.iloc[order].reset_index(drop=True)))
    return np.concatenate(frames)


def _one_pick(
    *,
    space: Space,
    models: list[SourceModel],
    sources: list[TaskEvaluations],
    target: TaskEvaluations,
    n_observed: int,
    n_candidates: int,
    seed: int,
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(target.objective), size=n_observed, replace=False)
    obs_X = space.encode(target.configs.iloc[rows].reset_index(drop=True))
    obs_y = _oriented(target)[rows]
    options = TransferOptions(seed=seed)

    started = time.perf_counter()
    cand_X = _candidates(space, sources, n_candidates, seed)
    cand_mean, cand_std = predict_sources(models, cand_X)
    obs_mean, obs_std = predict_sources(models, obs_X)
    gp_state: dict = {}
    proposal = propose(
        cand_X=cand_X,
        cand_mean=cand_mean,
        cand_std=cand_std,
        free=np.ones(len(cand_X), dtype=bool),
        obs_X=obs_X,
        obs_y=obs_y,
        obs_mean=obs_mean,
        obs_std=obs_std,
        options=options,
        rng=np.random.default_rng(seed),
        gp_state=gp_state,
        quantiles=source_quantiles(models),
    )
    random_seconds = time.perf_counter() - started
    record: dict[str, Any] = {
        "target": target.task_id,
        "n_observed": n_observed,
        "seed": seed,
        "phase": proposal.phase,
        "mode": proposal.decision.mode,
        "n_candidates": len(cand_X),
        "random_logei": proposal.acquisition,
        "random_seconds": random_seconds,
    }
    if proposal.phase != "gp":
        return record
    started = time.perf_counter()
    acqf = proposal_acquisition(
        proposal,
        source_models=models,
        cand_mean=cand_mean,
        obs_X=obs_X,
        obs_y=obs_y,
        obs_mean=obs_mean,
        gp_state=gp_state,
        options=options,
    )
    result = optimize_ensemble_acqf(acqf, space, fixed_candidates=cand_X, exclude=obs_X, seed=seed)
    optimise_seconds = time.perf_counter() - started
    record.update(
        {
            "gradient_logei": result.value,
            "gradient_source": result.source,
            "candidate_logei_check": result.candidate_value,
            "gradient_seconds": random_seconds + optimise_seconds,
            "n_combinations": result.n_combinations,
            "n_members": len(acqf.members),
        }
    )
    return record


def _summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    done = [r for r in records if "gradient_logei" in r]
    gain = np.array([r["gradient_logei"] - r["random_logei"] for r in done])
    out: dict[str, Any] = {"n_picks": len(done), "n_not_gp_phase": len(records) - len(done)}
    if not done:
        return out
    out.update(
        {
            "logei_gain_median": float(np.median(gain)),
            "logei_gain_mean": float(gain.mean()),
            "logei_gain_min": float(gain.min()),
            "logei_gain_max": float(gain.max()),
            "ei_ratio_median": float(np.exp(np.median(gain))),
            "share_gradient_beats_candidates": float(
                np.mean([r["gradient_source"] == "gradient" for r in done])
            ),
            "seconds_random_median": float(np.median([r["random_seconds"] for r in done])),
            "seconds_gradient_median": float(np.median([r["gradient_seconds"] for r in done])),
        }
    )
    for t in sorted({r["n_observed"] for r in done}):
        sub = [r for r in done if r["n_observed"] == t]
        out[f"t={t}"] = {
            "n": len(sub),
            "logei_gain_median": float(
                np.median([r["gradient_logei"] - r["random_logei"] for r in sub])
            ),
            "share_gradient_beats_candidates": float(
                np.mean([r["gradient_source"] == "gradient" for r in sub])
            ),
            "seconds_random_median": float(np.median([r["random_seconds"] for r in sub])),
            "seconds_gradient_median": float(np.median([r["gradient_seconds"] for r in sub])),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-tasks", type=int, default=6)
    parser.add_argument("--n-configs", type=int, default=200)
    parser.add_argument("--targets", type=int, default=3)
    parser.add_argument("--observed", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--n-candidates", type=int, default=4096)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--benchmark-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "acquisition.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        bench_dir = write_conditional_benchmark(
            Path(tmp) / "bench",
            n_tasks=args.n_tasks,
            n_configs=args.n_configs,
            seed=args.benchmark_seed,
        )
        library = Library.open(Path(tmp) / "lib")
        import_benchmark(library, bench_dir)
        space = Space.from_dict(read_benchmark(bench_dir).space)
        evaluations = task_evaluations(library)
    tasks = sorted(evaluations)
    fit_started = time.perf_counter()
    models = {
        task: fit_source_model(
            task, space.encode(evaluations[task].configs), _oriented(evaluations[task]), seed=0
        )
        for task in tasks
    }
    fit_seconds = time.perf_counter() - fit_started
    records = []
    for target in tasks[: args.targets]:
        others = [t for t in tasks if t != target]
        for n_observed in args.observed:
            for seed in args.seeds:
                record = _one_pick(
                    space=space,
                    models=[models[t] for t in others],
                    sources=[evaluations[t] for t in others],
                    target=evaluations[target],
                    n_observed=n_observed,
                    n_candidates=args.n_candidates,
                    seed=seed,
                )
                records.append(record)
                print(json.dumps(record))
    payload = {
        "benchmark": "synthetic conditional (write_conditional_benchmark)",
        "settings": {
            "n_tasks": args.n_tasks,
            "n_configs": args.n_configs,
            "targets": args.targets,
            "observed": args.observed,
            "n_candidates": args.n_candidates,
            "seeds": args.seeds,
            "benchmark_seed": args.benchmark_seed,
            "space_dim": space.dim,
            "optimizer_defaults": "raw_samples=128, num_restarts=2 (+2 from candidates), "
            "maxiter=100, max_combinations=32",
        },
        "summary": _summary(records),
        "records": records,
        "source_fit_seconds": fit_seconds,
        "total_seconds": time.perf_counter() - started,
        "commit": code_version() or "unknown",
        "hardware": f"{platform.machine()} x{os.cpu_count()}, torch threads 1",
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    print(json.dumps(payload["summary"], indent=1))


if __name__ == "__main__":
    main()
