"""Session 56 (kept for the record): the second look's screens, paired and pooled.

Each ``sl_<draw>.json`` holds the default of session 55 and ``sl10`` (a second look for
every supported branch tried once, whenever it was tried); ``sle_<draw>.json`` holds
``sl10e`` (only a branch whose one pick was among the first ``branch_hedge_until``: the
semantics adopted as ``branch_second_look=10``; the screen named it with a temporary
``branch_second_look_early`` flag). Draws: ``keel`` is ``benchmarks/data/keel_conditional``;
``syn<N>`` is ``recommend bench make-synthetic --seed N`` (16 tasks; ``syn8_<N>``:
``--tasks 8``), ``synind`` the same with ``--seed 2026 --preference independent``.

    python pool.py sl10e keel,syn2026,syn1,syn2,syn3,syn4,syn5,syn6,synind,syn8_80,syn8_81

``sle_syn4.json`` and ``sle_syn5.json`` were screened after the adoption: their
``default`` is ``{"branch_second_look": null}`` (the old behaviour) and ``sl10e`` is ``{}``.

Prints, per draw, the variant minus the default paired over targets (mean over seeds) at
t = 20 / 30 and the number of targets it changed, then every target pooled.
"""

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
variant, draws = sys.argv[1], sys.argv[2].split(",")
pooled = []
for draw in draws:
    curves = {}
    for stem in ("sl", "sle"):
        path = HERE / f"{stem}_{draw}.json"
        if path.is_file():
            curves.update(json.loads(path.read_text())["curves"])
    targets = sorted(curves["default"])
    d = np.array(
        [
            np.mean(curves[variant][t], axis=0) - np.mean(curves["default"][t], axis=0)
            for t in targets
        ]
    )
    pooled.append(d)
    cells = " ".join(
        f"t{t}:{d[:, t - 1].mean():+.4f}±{d[:, t - 1].std(ddof=1) / np.sqrt(len(d)):.4f}"
        for t in (20, 30)
    )
    print(draw.ljust(8), len(targets), cells, "changed", int((np.abs(d[:, 10:]).max(1) > 0).sum()))
d = np.concatenate(pooled)
print(
    "pooled",
    len(d),
    " ".join(
        f"t{t}:{d[:, t - 1].mean():+.4f}±{d[:, t - 1].std(ddof=1) / np.sqrt(len(d)):.4f}"
        for t in (11, 12, 15, 20, 25, 30)
    ),
)
