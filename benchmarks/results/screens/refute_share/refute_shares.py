"""Share of sources that mis-order most target pairs, per observation count (session 31).

Runs the default search (`screen_transfer_options.search`, 12 picks) on every target of a
cached benchmark and records, at every call of the refuted-consensus guardrail with 5-12
observations, the share of sources whose ranking loss exceeds half the pairs: the
quantity `TransferOptions.refute_share` thresholds.

Usage::

    python benchmarks/results/screens/refute_share/refute_shares.py CACHE.pkl SEEDS
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
import screen_transfer_options as screen  # noqa: E402

import recommender.transfer as transfer  # noqa: E402
from recommender.guardrails import ranking_losses  # noqa: E402


def main() -> None:
    """Print, per observation count, how often the share reaches 0.5, 2/3 and 0.75."""
    log: list[tuple[int, float]] = []
    original = transfer.refuted_consensus

    def recorded(obs_mean: np.ndarray, y: np.ndarray, **kwargs):  # type: ignore[no-untyped-def]
        if 5 <= len(y) <= 12:
            n_pairs = len(y) * (len(y) - 1) / 2
            log.append((len(y), float((ranking_losses(obs_mean, y) > 0.5 * n_pairs).mean())))
        return original(obs_mean, y, **kwargs)

    transfer.refuted_consensus = recorded
    cache = pickle.loads(Path(sys.argv[1]).read_bytes())
    screen._init(cache)
    for target in cache["truth"]:
        for seed in (int(s) for s in sys.argv[2].split(",")):
            screen.search({}, target, seed, 12)
    shares = np.array(log)
    for t in range(5, 13):
        at_t = shares[shares[:, 0] == t, 1]
        if len(at_t):
            reach = " ".join(f">={q:.2f}: {(at_t >= q).mean():.2f}" for q in (0.5, 2 / 3, 0.75))
            print(t, len(at_t), reach, "quantiles", np.quantile(at_t, [0.1, 0.25, 0.5, 0.75]))


if __name__ == "__main__":
    main()
