"""Scratch (session 55): near-tie pairs of the target's observations (observed gap under
TIE_Z noise standard deviations of a difference, from the target GP's fitted noise) count
as coin flips (0.5 each) in every model's ranking loss, then screen_transfer_options.main."""
import os, sys
import numpy as np
sys.path.insert(0, "/work/main/benchmarks")
import recommender.guardrails as g
import recommender.transfer as tr
import screen_transfer_options as screen

Z = float(os.environ["TIE_Z"])
state: dict = {}
orig_rw, orig_rl, orig_op = tr.rank_weights, g.ranking_losses, g._ordered_pairs

def rw(src_mean, src_std, y, **kw):
    m = kw.get("target_model")
    state.clear()
    if m is not None and Z > 0:
        ty = m.train_targets.detach().cpu().numpy()
        sub = kw.get("target_subset")
        if sub is not None:
            ty = ty[sub]
        state["ty"], state["tol"] = ty, Z * np.sqrt(2 * float(m.likelihood.noise.detach().mean()))
    try:
        return orig_rw(src_mean, src_std, y, **kw)
    finally:
        state.clear()

def rl(samples, y):
    if "ty" in state and len(state["ty"]) == len(y):
        better, worse = orig_op(y)
        ty = state["ty"]
        keep = np.abs(ty[better] - ty[worse]) >= state["tol"]
        loss = (samples[..., better[keep]] < samples[..., worse[keep]]).sum(axis=-1)
        return loss.astype(np.float64) + 0.5 * float((~keep).sum())
    return orig_rl(samples, y)

tr.rank_weights = rw
g.ranking_losses = rl
screen.main()
