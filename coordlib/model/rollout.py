"""model/rollout (from structure)."""
from __future__ import annotations

import numpy as np

from .simulator import Simulator

# ---- B4 ---------------------------------------------------------------------------------------
def trajectories(scenario, policy, replications: int = 32, periods: int = 600, warmup: int = 100,
                 seed: int = 0) -> dict:
    """Trajectories of any policy on the simulator after a warm-up.

    Returns arrays (replications, periods - warmup, N): ``orders`` [q_i], ``exposure`` (the
    arrival-weighted share of product i, sum_k lambda_k x_ki / sum_k lambda_k),
    ``available`` [A_i], and ``profit`` (replications, periods - warmup).
    """
    sim = Simulator(scenario, batch_size=replications, seed=seed)
    obs = sim.reset()
    policy.reset(scenario, replications, np.random.default_rng(seed))
    w = scenario.arrival_rate / scenario.arrival_rate.sum()
    out = {k: [] for k in ("orders", "exposure", "available", "profit")}
    for t in range(periods):
        action = policy.act(obs)
        r = sim.step(action.orders, action.exposure)
        obs = r.observation
        if t >= warmup:
            out["orders"].append(r.orders)
            out["exposure"].append(np.einsum("bkn,k->bn", r.exposure, w))
            out["available"].append(r.available)
            out["profit"].append(r.profit)
    return {k: np.stack(v, axis=1) for k, v in out.items()}
