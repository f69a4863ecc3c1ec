"""Guardrails of the runner: limits per trial, budget caps, deviation cap, final check.

Trials run in a separate worker process (multiprocessing ``spawn``: safe with threads
and torch, unlike ``fork``). The worker is started once per run and reused, so its start
cost (importing torch and scikit-learn) is paid once, not per trial. A trial that outlives
its time limit is stopped by killing the worker (SIGKILL); the next trial starts a fresh
one. The memory limit is ``RLIMIT_AS`` set inside the worker, so only the worker, never
the run loop, hits it; an allocation past it fails the trial (``failed``, reason
``memory``). ``RLIMIT_AS`` limits virtual memory, which the CUDA driver reserves in bulk,
so the limit is not applied when the MLP trains on CUDA (logged).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from library.exceptions import RunnerError
from recommender.space import from_unit, to_unit

__all__ = [
    "TrialLimits",
    "Budget",
    "TrialReply",
    "TrialExecutor",
    "project_to_deviation",
    "FinalDecision",
    "decide_final",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrialLimits:
    """Limits applied to every trial.

    Attributes:
        time_limit_s: wall-clock seconds per trial (None: no limit).
        memory_limit_mb: address-space limit of the worker in MiB (None: no limit).
    """

    time_limit_s: float | None = None
    memory_limit_mb: int | None = None

    def __post_init__(self) -> None:
        if self.time_limit_s is not None and not self.time_limit_s > 0:
            raise RunnerError(f"time_limit_s must be > 0 or None, got {self.time_limit_s}")
        if self.memory_limit_mb is not None and self.memory_limit_mb < 256:
            raise RunnerError(
                f"memory_limit_mb must be >= 256 (torch alone needs that), got {self.memory_limit_mb}"
            )


@dataclass(frozen=True, slots=True)
class Budget:
    """Caps of a whole run (over all sessions when resumed).

    Attributes:
        max_trials: number of trials (evaluations at any fidelity).
        max_seconds: wall-clock seconds of the run (None: no cap).
    """

    max_trials: int
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_trials < 1:
            raise RunnerError(f"budget must be >= 1 trial, got {self.max_trials}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise RunnerError(f"time budget must be > 0 seconds, got {self.max_seconds}")

    def exhausted(self, n_trials: int, elapsed_s: float) -> bool:
        """True when no further trial may start."""
        if n_trials >= self.max_trials:
            return True
        return self.max_seconds is not None and elapsed_s >= self.max_seconds

    def trial_time_limit(self, limits: TrialLimits, elapsed_s: float) -> float | None:
        """Per-trial time limit, cut to what is left of the time budget."""
        candidates = [limits.time_limit_s]
        if self.max_seconds is not None:
            candidates.append(max(self.max_seconds - elapsed_s, 1.0))
        finite = [c for c in candidates if c is not None]
        return min(finite) if finite else None


@dataclass(frozen=True, slots=True)
class TrialReply:
    """What the worker reports for one trial.

    Attributes:
        status: ``ok``, ``failed``, ``diverged`` or ``timeout``.
        value: objective value (None unless ok).
        metrics: secondary metrics.
        train_seconds: time inside the worker spent fitting and scoring.
        error: one-line reason when not ok.
        environment: versions captured in the worker.
        hardware: hardware captured in the worker.
    """

    status: str
    value: float | None
    metrics: dict[str, float]
    train_seconds: float
    error: str | None
    environment: dict[str, Any]
    hardware: dict[str, Any]


def _apply_memory_limit(memory_limit_mb: int | None, device: str) -> None:
    if memory_limit_mb is None:
        return
    if device.startswith("cuda"):
        logger.warning("memory limit not applied: RLIMIT_AS breaks the CUDA driver")
        return
    import resource

    limit = memory_limit_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run_one(init: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    from recommender.runner.errors import DivergenceError
    from recommender.runner.evaluate import evaluate_config, fit_and_score

    started = time.perf_counter()
    try:
        if task["kind"] == "final":
            value, extra = fit_and_score(
                init["model"],
                task["config"],
                train=(init["features"][init["search_idx"]], init["target"][init["search_idx"]]),
                test=(init["features"][init["test_idx"]], init["target"][init["test_idx"]]),
                kind=init["task_kind"],
                settings=init["settings"],
                seed=task["seed"],
            )
            return {
                "status": "ok",
                "value": value,
                "metrics": extra,
                "error": None,
                "train_seconds": time.perf_counter() - started,
            }
        outcome = evaluate_config(
            init["model"],
            task["config"],
            init["features"][init["search_idx"]],
            init["target"][init["search_idx"]],
            kind=init["task_kind"],
            settings=init["settings"],
            fidelity=task["fidelity"],
            seed=task["seed"],
        )
        return {
            "status": "ok",
            "value": outcome.value,
            "metrics": outcome.metrics,
            "error": None,
            "train_seconds": outcome.fit_seconds,
        }
    except DivergenceError as error:
        status, message = "diverged", str(error)
    except MemoryError as error:
        status, message = "failed", f"memory limit: {type(error).__name__}: {error}"
    except RuntimeError as error:
        text = str(error)
        memory = "allocate" in text or "out of memory" in text
        status = "failed"
        message = f"{'memory limit: ' if memory else ''}{type(error).__name__}: {text}"
    except Exception as error:  # noqa: BLE001 - any trial bug is a failed trial, not a dead run
        status = "failed"
        tail = traceback.format_exception_only(type(error), error)[-1].strip()
        message = tail
    return {
        "status": status,
        "value": None,
        "metrics": {},
        "error": message[:500],
        "train_seconds": time.perf_counter() - started,
    }


def _warm_up_torch(device: str) -> None:
    """One tiny fit, so torch's one-off start cost (seconds) is not charged to a trial."""
    import numpy as np

    from recommender.runner.torch_mlp import TorchMLPEstimator

    rng = np.random.default_rng(0)
    features = rng.normal(size=(32, 4)).astype(np.float32)
    TorchMLPEstimator(width=8, epochs=1, patience=0, device=device).fit(
        features, (features[:, 0] > 0).astype(np.int64)
    )


def _warm_up_sklearn(init: dict[str, Any]) -> None:
    """Import what a trial needs now, so the first trial is not charged for imports."""
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import train_test_split  # noqa: F401
    from threadpoolctl import threadpool_limits  # noqa: F401

    from recommender.runner.models import build_estimator, default_config

    get_scorer(init["settings"].metric)
    config = default_config(init["model"], n_features=int(init["features"].shape[1]))
    build_estimator(init["model"], config, kind=init["task_kind"], n_jobs=1, seed=0)


def _worker_main(conn: Connection, init: dict[str, Any]) -> None:
    """Entry point of the worker process: serve trials until told to stop."""
    from recommender.runner.models import ModelFamily
    from recommender.runner.provenance import capture_environment, capture_hardware

    if init["model"] is ModelFamily.MLP:  # scikit-learn workers never import torch
        import torch

        torch.set_num_threads(int(init["settings"].n_jobs))
        _warm_up_torch(init["resolved_device"])
    _warm_up_sklearn(init)
    _apply_memory_limit(init.get("memory_limit_mb"), init["settings"].device)
    environment = capture_environment()
    hardware = capture_hardware(init["resolved_device"])
    conn.send({"ready": True, "environment": environment, "hardware": hardware})
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        reply = _run_one(init, task)
        reply["environment"] = environment
        reply["hardware"] = hardware
        conn.send(reply)


class TrialExecutor:
    """Runs trials in a reusable, killable worker process under `TrialLimits`.

    Args:
        init: everything the worker needs once (data arrays, model, settings); pickled
            to the worker at start.
        limits: per-trial limits.
        start_method: multiprocessing start method (``spawn`` by default).
    """

    def __init__(
        self, init: dict[str, Any], *, limits: TrialLimits, start_method: str = "spawn"
    ) -> None:
        self._init = dict(init, memory_limit_mb=limits.memory_limit_mb)
        self._limits = limits
        self._context: Any = multiprocessing.get_context(start_method)
        self._process: Any = None
        self._conn: Connection | None = None
        self.worker_starts = 0
        self.startup_seconds = 0.0
        self._environment: dict[str, Any] = {}
        self._hardware: dict[str, Any] = {}

    def _start(self) -> None:
        started = time.perf_counter()
        parent, child = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main, args=(child, self._init), daemon=True, name="hpws-trial"
        )
        process.start()
        child.close()
        if not parent.poll(300):
            process.kill()
            raise RunnerError("trial worker did not start within 300 s")
        try:
            ready = parent.recv()
        except EOFError:
            process.join(5)
            raise RunnerError(
                f"trial worker died while starting (exit code {process.exitcode}); "
                "raise --memory-limit-mb or check the environment"
            ) from None
        self._process, self._conn = process, parent
        self._environment = dict(ready.get("environment", {}))
        self._hardware = dict(ready.get("hardware", {}))
        self.worker_starts += 1
        self.startup_seconds += time.perf_counter() - started

    def _kill(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(10)
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None

    def ensure_started(self) -> None:
        """Start the worker unless it is running (its start is not charged to a trial)."""
        if self._process is None or not self._process.is_alive():
            self._kill()
            self._start()

    def run(self, task: dict[str, Any], *, time_limit_s: float | None) -> TrialReply:
        """Run one trial; a trial past ``time_limit_s`` is killed and marked ``timeout``."""
        self.ensure_started()
        conn = self._conn
        if conn is None:  # pragma: no cover - _start sets it
            raise RunnerError("trial worker is not running")
        started = time.perf_counter()
        conn.send(task)
        wait = None if time_limit_s is None else max(time_limit_s, 0.0)
        if not conn.poll(wait):
            self._kill()
            elapsed = time.perf_counter() - started
            return TrialReply(
                "timeout",
                None,
                {},
                elapsed,
                f"trial exceeded its time limit of {time_limit_s:.1f} s",
                dict(self._environment),
                dict(self._hardware),
            )
        environment, hardware = dict(self._environment), dict(self._hardware)
        try:
            reply = conn.recv()
        except (EOFError, ConnectionResetError):
            exitcode = self._process.exitcode if self._process is not None else None
            self._process.join(5) if self._process is not None else None
            exitcode = self._process.exitcode if self._process is not None else exitcode
            self._kill()
            return TrialReply(
                "failed",
                None,
                {},
                time.perf_counter() - started,
                f"trial worker died (exit code {exitcode}); likely out of memory or a crash",
                environment,
                hardware,
            )
        return TrialReply(
            status=reply["status"],
            value=reply["value"],
            metrics=dict(reply["metrics"]),
            train_seconds=float(reply["train_seconds"]),
            error=reply["error"],
            environment=reply["environment"],
            hardware=reply["hardware"],
        )

    def close(self) -> None:
        """Stop the worker (politely, then by force)."""
        if self._conn is not None and self._process is not None and self._process.is_alive():
            try:
                self._conn.send(None)
                self._process.join(5)
            except (BrokenPipeError, OSError):
                pass
        self._kill()

    def __enter__(self) -> TrialExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def project_to_deviation(
    config: dict[str, Any],
    default: dict[str, Any],
    space: dict[str, Any],
    *,
    max_deviation: float | None,
) -> tuple[dict[str, Any], bool]:
    """Pull ``config`` into the box of half-width ``max_deviation`` around ``default``.

    Distances are measured per parameter on the unit scale of the space (log scale for
    ``log`` parameters); categorical parameters count 0 (same) or 1 (different), so they
    are reset to the default when ``max_deviation < 1``. In a space with ``conditions``, a
    parameter that the projection switches off is dropped, and one it switches on takes the
    default's value, so the result is a valid configuration.

    Args:
        config: proposed configuration.
        default: default configuration (inside the space).
        space: the space as a `Space.from_dict` dict.
        max_deviation: half-width in unit coordinates, or None for no cap.

    Returns:
        The projected configuration and whether anything changed.
    """
    if max_deviation is None:
        return dict(config), False
    projected = dict(config)
    for spec in space["parameters"]:
        name = spec["name"]
        if name not in config or name not in default:
            continue
        if spec["type"] == "categorical":
            if max_deviation < 1.0 and config[name] != default[name]:
                projected[name] = default[name]
            continue
        low, high, log = float(spec["low"]), float(spec["high"]), bool(spec.get("log", False))
        unit = to_unit(float(config[name]), low, high, log)
        centre = to_unit(float(default[name]), low, high, log)
        clipped = min(max(unit, centre - max_deviation), centre + max_deviation)
        if abs(clipped - unit) < 1e-12:
            continue
        value = float(from_unit(min(max(clipped, 0.0), 1.0), low, high, log))
        if spec["type"] == "int":
            value = int(min(max(round(value), int(low)), int(high)))
            if abs(to_unit(value, low, high, log) - centre) > max_deviation + 1e-9:
                value += 1 if value < float(default[name]) else -1  # rounding left the box
        projected[name] = value
    projected = _with_activity(projected, default, space.get("conditions", ()))
    changed = projected != dict(config)
    return projected, changed


def _with_activity(
    config: dict[str, Any], default: dict[str, Any], conditions: Any
) -> dict[str, Any]:
    """``config`` with the parameters its parents switch off dropped and those they switch
    on (absent) taken from ``default`` (conditions as in `Space.from_dict`; AND per child)."""
    rules: dict[str, list[tuple[str, list[Any]]]] = {}
    for condition in conditions:
        rules.setdefault(condition["child"], []).append((condition["parent"], condition["values"]))
    if not rules:
        return config
    result = dict(config)
    for _ in range(len(rules) + 1):  # nested conditions settle within one pass per level
        before = dict(result)
        for child, parents in rules.items():
            on = all(parent in result and result[parent] in values for parent, values in parents)
            if not on:
                result.pop(child, None)
            elif child not in result and child in default:
                result[child] = default[child]
        if result == before:
            break
    return result


@dataclass(frozen=True, slots=True)
class FinalDecision:
    """Outcome of validating the search's best configuration against the default.

    Attributes:
        chosen: the configuration the run recommends.
        rolled_back: True when the default replaced the search's best.
        best_config: the search's best configuration.
        best_test_value: its score on the held-out test part (None if it failed).
        default_test_value: the default's score on the held-out test part.
        reason: one sentence, also logged.
    """

    chosen: dict[str, Any]
    rolled_back: bool
    best_config: dict[str, Any]
    best_test_value: float | None
    default_test_value: float | None
    reason: str


def decide_final(
    best_config: dict[str, Any],
    best_test_value: float | None,
    default_config: dict[str, Any],
    default_test_value: float | None,
) -> FinalDecision:
    """Keep the search's best unless it scores worse than the default on held-out data.

    Scores are greater-is-better. A failed evaluation of the best counts as worse.
    """
    if best_test_value is None or not math.isfinite(best_test_value):
        reason = "best configuration failed on held-out data; rolled back to the default"
        rolled_back = default_test_value is not None
    elif default_test_value is not None and best_test_value < default_test_value:
        reason = (
            f"best configuration scored {best_test_value:.6g} on held-out data, below the "
            f"default's {default_test_value:.6g}; rolled back to the default"
        )
        rolled_back = True
    else:
        reason = (
            f"best configuration scored {best_test_value:.6g} on held-out data "
            f"(default {default_test_value if default_test_value is None else f'{default_test_value:.6g}'}); kept"
        )
        rolled_back = False
    (logger.warning if rolled_back else logger.info)(reason)
    return FinalDecision(
        chosen=dict(default_config if rolled_back else best_config),
        rolled_back=rolled_back,
        best_config=dict(best_config),
        best_test_value=best_test_value,
        default_test_value=default_test_value,
        reason=reason,
    )
