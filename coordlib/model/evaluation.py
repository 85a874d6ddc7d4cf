"""Evaluation of any policy: the long-run average profit per period (MODEL.md section 3).

Every policy, heuristic, DP or learned, is measured here in the same way: R independent
replications (the copies of one batched simulator), each run for ``periods`` periods; the
first ``warmup`` are discarded and the rest averaged. The replication means are independent,
so a t-interval over them is a valid confidence interval for the gain g.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..common.stats import mean_ci
from .rollout import rollout
from .scenario import check_memory, whole_number
from .scenarios import get as get_scenario
from .simulator import simulator_bytes

PARTS = ("profit", "revenue", "purchase_cost", "holding_cost", "penalty_cost")


WORK_LIMIT = 1e11
"""The most product-periods (replications x periods x N) one :func:`evaluate` call simulates:
hours at the simulator's speed on one core."""


def evaluate(scenario, policy, replications: int = 20, periods: int = 500, warmup: int = 100,
             seed: int = 0) -> pd.DataFrame:
    """Simulate ``policy`` and return one row per replication.

    Parameters
    ----------
    scenario : Scenario or str
        the model, or the name of a shipped scenario.
    policy
        anything with ``reset(scenario, batch_size, rng)`` and ``act(observation) -> Action``.
    replications : int
        independent replications (run side by side in one batch).
    periods, warmup : int
        periods simulated per replication, and how many of the first are discarded.
    seed : int
        seed of the simulator and of the policy's own randomness.

    Returns
    -------
    DataFrame with columns ``replication``, ``profit`` (mean profit per period after the
    warm-up), its parts ``revenue``, ``purchase_cost``, ``holding_cost``, ``penalty_cost``,
    ``fill_rate`` (units sold / units demanded), ``lost_sales_rate`` (units lost / demanded),
    ``mean_on_hand`` (end-of-period stock summed over products), ``mean_demand``, ``policy``,
    ``scenario`` and ``seed``.
    """
    scenario = get_scenario(scenario)
    replications = whole_number("evaluate: replications", replications, 1)
    periods = whole_number("evaluate: periods", periods, 1)
    warmup = whole_number("evaluate: warmup", warmup, 0)
    check_memory(f"evaluate with replications = {replications}",
                 simulator_bytes(scenario, replications) + 8.0 * 16 * replications)
    work = float(replications) * periods * scenario.n_products
    if work > WORK_LIMIT:
        raise ValueError(f"evaluate: {replications:,} replications x {periods:,} periods x "
                         f"{scenario.n_products:,} products = {work:.3g} product-periods, more "
                         f"than the {WORK_LIMIT:.0e} allowed (hours of simulation); lower "
                         "periods or replications")
    if warmup >= periods:
        raise ValueError(f"evaluate: warmup ({warmup}) must be smaller than periods ({periods})")
    sums = {k: np.zeros(replications) for k in
            (*PARTS, "sales", "lost_sales", "demand", "on_hand")}
    for _, r in rollout(scenario, policy, replications, periods, seed, warmup):
        for k in PARTS:
            sums[k] += getattr(r, k)
        sums["sales"] += r.sales.sum(axis=1)
        sums["lost_sales"] += r.lost_sales.sum(axis=1)
        sums["demand"] += r.demand.sum(axis=(1, 2))
        sums["on_hand"] += r.on_hand.sum(axis=1)
    n = periods - warmup
    demand = np.maximum(sums["demand"], 1e-12)
    frame = pd.DataFrame({"replication": np.arange(replications),
                          **{k: sums[k] / n for k in PARTS},
                          "fill_rate": sums["sales"] / demand,
                          "lost_sales_rate": sums["lost_sales"] / demand,
                          "mean_on_hand": sums["on_hand"] / n,
                          "mean_demand": sums["demand"] / n})
    frame["policy"] = getattr(policy, "name", type(policy).__name__)
    frame["scenario"] = scenario.name
    frame["seed"] = seed
    return frame


def summarize(frame: pd.DataFrame, by=("scenario", "policy"), columns=("profit",),
              confidence: float = 0.95) -> pd.DataFrame:
    """Per group: the mean of each column with a ``confidence`` t-interval (``_lo``, ``_hi``)."""
    by = (by,) if isinstance(by, str) else tuple(by)
    rows = []
    for key, group in frame.groupby(list(by), sort=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row["n"] = len(group)
        for c in columns:
            row[c], row[f"{c}_lo"], row[f"{c}_hi"] = mean_ci(group[c], confidence)
        rows.append(row)
    return pd.DataFrame(rows)
