"""Scratch (session 55): a branch verdict from two picks. While the target has fewer than
`branch_hedge_until` observations, a branch that enough sources put their best in gets hedge
picks until the target has TWO_PICKS picks in it (default code: one), then
screen_transfer_options.main."""
import os, sys
import numpy as np
sys.path.insert(0, "/work/main/benchmarks")
import recommender.transfer as tr
import screen_transfer_options as screen

K = int(os.environ.get("TWO_PICKS", "2"))
ROUNDS = os.environ.get("ROUNDS", "0") == "1"

def _hedge_pick(cand_X, cand_mean, quantiles, weights, free, obs_X, obs_mean, pending,
                branch_columns, share):
    n_branches = len(branch_columns)
    cand_branch, tried = tr._branch_sequence(cand_X, obs_X, pending, branch_columns)
    counts = np.bincount(tried, minlength=n_branches)
    support = tr.branch_support(cand_mean, weights, cand_branch, free, n_branches)
    branch = None
    for k in (range(1, K + 1) if ROUNDS else (K,)):  # ROUNDS: every branch once, then twice
        branch = tr.hedge_branch(support, counts >= k, cand_branch, free, share)
        if branch is not None:
            break
    if branch is None:
        return None
    reg_mean, chosen = tr._regret_hypotheses(cand_mean, obs_mean, quantiles, pending)
    inside = free & (cand_branch == branch)
    score = tr.hypothesis_improvement(reg_mean, chosen, weights) if chosen.shape[1] else weights @ reg_mean
    if score[inside].max() <= 1e-12:
        score = weights @ reg_mean
    score = np.where(inside, score, -np.inf)
    index = int(np.argmax(score))
    return index, float(score[index]), f"a hedge pick in branch {branch} ({K}-pick verdict)"

tr._hedge_pick = _hedge_pick
screen.main()
