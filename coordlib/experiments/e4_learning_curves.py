"""E4, learning curves: profit against environment steps with bands across seeds, final values."""
from __future__ import annotations

import pandas as pd

from ..model.evaluation import mean_ci
from ..model.evaluation import summarize as _summarize


def curve_bands(curves: pd.DataFrame, by=("scenario", "config"), x: str = "env_steps",
                column: str = "profit", confidence: float = 0.95) -> pd.DataFrame:
    """E4: mean of ``column`` over seeds at each ``x`` with a t-interval across seeds."""

    rows = []
    for key, g in curves.groupby([*by, x], sort=True):
        mean, lo, hi = mean_ci(g[column], confidence)
        rows.append({**dict(zip((*by, x), key)), "seeds": len(g), column: mean,
                     f"{column}_lo": lo, f"{column}_hi": hi})
    return pd.DataFrame(rows)


def final_means(curves: pd.DataFrame, by=("scenario", "config"),
                columns=("profit", "steps_per_s")) -> pd.DataFrame:
    """E4: the last iteration of every run's curve, mean over seeds with a 95% t-interval."""

    last = curves.loc[curves.groupby([*by, "seed"], sort=False)["iteration"].idxmax()]
    out = _summarize(last, by=by, columns=columns)
    iters = last.groupby(list(by), sort=False)[["iteration", "env_steps"]].max().reset_index()
    return out.merge(iters, on=list(by)).rename(columns={"n": "seeds"})
