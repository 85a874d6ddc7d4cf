"""E0, the quickstart: the siloed and the coordinated heuristic firm side by side, and one trajectory."""
from __future__ import annotations

import pandas as pd

from ..model.evaluation import evaluate, summarize
from ..model.rollout import rollout
from ..model.scenarios import get as get_scenario
from ..policies.firms import FIRMS, firm

# ---- E0: the quickstart --------------------------------------------------------------------------
FIRMS_SHOWN = ("siloed", "coordinated")
"""The firms E0 compares (keys of :data:`coordlib.policies.FIRMS`)."""


def compare_heuristics(scenarios, replications=20, periods=500, warmup=100, seed=0,
                       methods=FIRMS_SHOWN) -> pd.DataFrame:
    """Mean profit per period with 95% CIs of the heuristic firms on each scenario.

    ``methods`` name firms of :data:`coordlib.policies.FIRMS`; each one's base-stock levels
    are tuned by simulation (:func:`coordlib.policies.firm`, on a stream other than the
    evaluation's) for the demand its recommender produces. ``method`` holds the firm's label.
    """
    frames = []
    for name in scenarios:
        s = get_scenario(name)
        for method in methods:
            df = evaluate(s, firm(s, method, seed=seed), replications, periods, warmup, seed)
            df["method"] = FIRMS[method].label
            frames.append(df)
    raw = pd.concat(frames, ignore_index=True)
    return summarize(raw, by=("scenario", "method"),
                     columns=("profit", "fill_rate", "mean_on_hand"))


def trajectory(scenario, policy, periods: int = 40, seed: int = 0) -> pd.DataFrame:
    """One replication, period by period: stock, orders, exposure, demand, sales, profit.

    Long format: one row per period and product (exposure averaged over segments).
    """

    s = get_scenario(scenario)
    rows = []
    for t, r in rollout(s, policy, 1, periods, seed):
        for i in range(s.n_products):
            rows.append({"period": t, "product": i + 1, "available": r.available[0, i],
                         "order": r.orders[0, i], "exposure": r.exposure[0, :, i].mean(),
                         "demand": r.total_demand[0, i], "sales": r.sales[0, i],
                         "lost_sales": r.lost_sales[0, i], "profit": r.profit[0]})
    return pd.DataFrame(rows)
