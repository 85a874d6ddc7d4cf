"""E6, behaviour of trained agents against B3 (exposure follows stock) and B4 (orders lead exposure)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..exact.structure import cross_correlation
from ..model.rollout import trajectories
from ..model.scenarios import get as get_scenario


def b3_slopes(traj: dict) -> pd.DataFrame:
    """B3 on trajectories: exposure of product i regressed on its own and the others' stock.

    Pooled least squares exposure_i = a + b_own A_i + b_other sum_{j != i} A_j over all
    replications and periods. B3 (co-movement) reads as b_own >= 0 and b_other <= 0.
    Columns: product, slope_own, slope_other, mean_exposure, corr_own (correlation of
    exposure_i with A_i; NaN where either is constant).
    """
    x, a = traj["exposure"], traj["available"].astype(float)
    rows = []
    for i in range(x.shape[-1]):
        y = x[..., i].ravel()
        own = a[..., i].ravel()
        other = (a.sum(axis=-1) - a[..., i]).ravel()
        design = np.column_stack([np.ones_like(own), own, other])
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        corr = (float(np.corrcoef(y, own)[0, 1]) if y.std() > 0 and own.std() > 0
                else float("nan"))
        rows.append({"product": i + 1, "slope_own": float(coef[1]),
                     "slope_other": float(coef[2]), "mean_exposure": float(y.mean()),
                     "corr_own": corr})
    return pd.DataFrame(rows)


def b4_lags(traj: dict, lead_time, max_lag: int = 6) -> pd.DataFrame:
    """B4 on trajectories: corr(q_i(t), exposure_i(t + k)) for k = -max_lag..max_lag.

    ``lead_time``: [L_i] per product. Columns: product, lead_time, lag, correlation.
    """

    rows = []
    for i in range(traj["orders"].shape[-1]):
        c = cross_correlation(traj["orders"][..., i].astype(float), traj["exposure"][..., i],
                              max_lag)
        for k, v in zip(range(-max_lag, max_lag + 1), c):
            rows.append({"product": i + 1, "lead_time": int(lead_time[i]), "lag": k,
                         "correlation": float(v)})
    return pd.DataFrame(rows)


def behaviour(scenario, policy, replications: int = 16, periods: int = 400, warmup: int = 100,
              seed: int = 0, max_lag: int = 6,
              threads: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """E6 for one policy: (B3 slopes, B4 cross-correlations, trajectories) on ``scenario``.

    B3 frame adds ``peak_lag`` and ``peak_correlation`` of B4 per product, and ``profit``
    (mean profit per period of the simulated trajectories). ``threads``: torch threads
    while simulating (one is fastest for these small networks; restored afterwards).
    """
    # deferred: only to pin torch's threads while learned policies are simulated
    import torch

    s = get_scenario(scenario)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        traj = trajectories(s, policy, replications, periods, warmup, seed)
    finally:
        torch.set_num_threads(before)
    b3 = b3_slopes(traj)
    b4 = b4_lags(traj, s.lead_time, max_lag)
    peaks = []
    for product, g in b4.groupby("product", sort=True):
        g = g.dropna(subset=["correlation"])
        best = g.loc[g["correlation"].idxmax()] if len(g) else None
        peaks.append({"product": product,
                      "peak_lag": float(best["lag"]) if best is not None else float("nan"),
                      "peak_correlation": float(best["correlation"]) if best is not None
                      else float("nan")})
    b3 = b3.merge(pd.DataFrame(peaks), on="product")
    b3["lead_time"] = [int(L) for L in s.lead_time]
    b3["profit"] = float(traj["profit"].mean())
    return b3, b4, traj


def exposure_by_stock(traj: dict, product: int = 1) -> pd.DataFrame:
    """E6 (B3 picture): every period's exposure of ``product`` (1-based) next to its stock.

    Columns: ``available`` [A_i], ``others_available`` (sum of A_j, j != i), ``exposure``
    (arrival-weighted share of product i).
    """
    i = int(product) - 1
    a = traj["available"]
    return pd.DataFrame({"available": a[..., i].ravel(),
                         "others_available": (a.sum(axis=-1) - a[..., i]).ravel(),
                         "exposure": traj["exposure"][..., i].ravel()})
