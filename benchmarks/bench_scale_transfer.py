"""Benchmark: learning-rate transfer from widths 64-256 to 1024 and 2048 (SP, muP, surrogates).

CPU by default, one thread (``OMP_NUM_THREADS=1``); ``--device cuda`` trains every run on
the GPU (bfloat16 autocast). Writes
``benchmarks/results/scale_transfer.json`` with the commit, seed and hardware. Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scale_transfer.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pytest

from library.provenance import code_version  # noqa: E402

pytestmark = pytest.mark.slow

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    """Run the experiment and write the JSON table."""
    import torch

    from recommender.runner.provenance import capture_environment, capture_hardware
    from recommender.runner.scale import ScaleTransferConfig, run_scale_transfer

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument(
        "--inits",
        type=float,
        nargs="+",
        default=[0.0],
        help="log2 init scales tuned jointly with the lr (default: standard init only)",
    )
    parser.add_argument("--workers", type=int, default=1, help="grid points trained side by side")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale_transfer.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    config = ScaleTransferConfig(
        target_widths=tuple(args.targets),
        epochs=args.epochs,
        seeds=tuple(args.seeds),
        device=args.device,
        log2_init_grid=tuple(args.inits),
    )
    commit = code_version() or "unknown"  # the code that runs, not what HEAD is at the end
    started = time.perf_counter()

    def progress(row: dict) -> None:
        print(
            f"width={row['width']:5d} mup={row['mup']!s:5} log2_lr={row['log2_lr']:6.1f} "
            f"log2_init={row['log2_init']:4.1f} "
            f"seed={row['seed']} val_loss={row['val_loss']:.4f} ({row['seconds']:.1f} s)",
            file=sys.stderr,
            flush=True,
        )

    output = run_scale_transfer(config, progress=progress, workers=args.workers)
    output["meta"] = {
        "commit": commit,
        "seeds": list(args.seeds),
        "wall_seconds": time.perf_counter() - started,
        "hardware": capture_hardware(args.device),
        "environment": capture_environment(),
        "torch_threads": torch.get_num_threads(),
        "gpu": (
            torch.cuda.get_device_name(0)
            if args.device != "cpu" and torch.cuda.is_available()
            else "none used: CPU-only measurement"
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(output, indent=2, sort_keys=True))
    for target, block in output["report"].items():
        print(f"target width {target}: tuned optimum {block['tuned_optimum']}")
        for name, row in block["recommendations"].items():
            print(
                f"  {name:27s} {row['parameterisation']:3s} lr=2^{row['log2_lr']:.0f} "
                f"init=2^{row['log2_init']:.0f} "
                f"loss={row['loss']:.4f} rel_same={row['rel_to_same_param_optimum']:+.2%} "
                f"rel_best={row['rel_to_best_optimum']:+.2%}"
            )


def test_scale_transfer_benchmark(tmp_path: Path) -> None:
    """Slow: the full experiment (about 13 CPU minutes on one thread)."""
    main(["--out", str(tmp_path / "scale_transfer.json")])


if __name__ == "__main__":
    main()
