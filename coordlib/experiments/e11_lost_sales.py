"""E11, the field's lost-sales benchmark: Zipkin's (2008) grid solved exactly, in MODEL.md's terms.

One product, Poisson demand of mean 5, h = 1, lost-sales penalty b in {4, 9, 19, 39}, lead
time L in {1, ..., 4} (the recommendation is trivial: one product, shown to every customer).
:func:`lost_sales_table` gives the optimal cost (:func:`coordlib.exact.single_product.solve`),
the best base-stock and the best capped base-stock, each with its gap to the optimum, beside
Zipkin's published optimal costs. :func:`zipkin_scenario` is the same instance as a
coordlib :class:`~coordlib.model.scenario.Scenario`, so that :func:`simulation_check` can hold
the exact gains against the simulator: the independent check that MODEL.md's timing (order
arrival, holding on end-of-period stock) is the one the DP solves.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..common.stats import mean_ci
from ..exact import single_product
from ..exact.zipkin import LEARNER_SETTINGS, SingleProductOptimum, zipkin_scenario
from ..learning.runs import evaluation_seed
from ..model.evaluation import evaluate
from ..model.policy import joint
from ..model.rollout import rollout
from ..pipeline.results import DEFAULT_CACHE, ResultStore
from ..pipeline.sweep import cache_folder, cached_sweep
from ..policies.recommendation import fixed_exposure
from ..policies.replenishment import base_stock
from .learners import run_metrics, train_run


def lost_sales_table(lead_times=single_product.ZIPKIN_2008_LEAD_TIMES,
                     penalties=single_product.ZIPKIN_2008_PENALTIES,
                     cache_dir=None) -> pd.DataFrame:
    """Zipkin's grid: optimal, best base-stock and best capped base-stock costs per period.

    Columns of :func:`coordlib.exact.single_product.zipkin_table` (costs are minus the gains,
    gaps in % of the optimal cost), plus ``published_gap`` = optimal - published. Kept in a
    :class:`~coordlib.pipeline.results.ResultStore` under ``cache_dir`` when given.
    """
    store = ResultStore(cache_dir, enabled=cache_dir is not None)
    config = {"function": "lost_sales_table", "lead_times": [int(L) for L in lead_times],
              "penalties": [float(p) for p in penalties]}
    frame = store.cached("e11_lost_sales", config, lambda: single_product.zipkin_table(
        lead_times, penalties, as_frame=True))
    frame = pd.DataFrame(frame)
    frame["published_gap"] = frame["optimal_cost"] - frame["published_cost"]
    return frame


def simulation_check(lost_sale_penalty=9, lead_time=2, replications: int = 20,
                     periods: int = 5000, warmup: int = 500, seed: int = 0) -> pd.DataFrame:
    """The exact gains of the optimum and of the best base-stock against the simulator.

    Each policy runs on :func:`zipkin_scenario` through :func:`coordlib.evaluate`; rows hold
    the exact cost, the simulated cost with its 95% CI across replications and whether the
    exact value lies inside it (``inside``).
    """
    args = single_product.zipkin_instance(lost_sale_penalty, lead_time)
    scenario = zipkin_scenario(lost_sale_penalty, lead_time)
    optimum = single_product.solve(**args)
    best = single_product.best_base_stock(**args)
    policies = {"optimal": (SingleProductOptimum(optimum), optimum.cost),
                f"base-stock S={best.level}": (
                    joint(base_stock([best.level]), fixed_exposure(None)), best.cost)}
    rows = []
    for label, (policy, exact_cost) in policies.items():
        frame = evaluate(scenario, policy, replications, periods, warmup, seed)
        mean, lo, hi = mean_ci(-frame["profit"])
        rows.append({"lead_time": int(lead_time), "lost_sale_penalty": float(lost_sale_penalty),
                     "policy": label, "exact_cost": exact_cost, "simulated_cost": mean,
                     "simulated_lo": lo, "simulated_hi": hi,
                     "inside": bool(lo <= exact_cost <= hi)})
    return pd.DataFrame(rows)


def learner_run(lost_sale_penalty=9, lead_time=2, seed: int = 0, iterations: int = 300,
                eval_replications: int = 32, eval_periods: int = 2000, eval_warmup: int = 200,
                **overrides) -> dict:
    """Train MTMA on :func:`zipkin_scenario` (its replenisher does the work: one product, so the
    recommender's exposure is always 1) with :data:`coordlib.exact.zipkin.LEARNER_SETTINGS`
    under ``overrides``, and hold its evaluated cost against the optimum.

    Returns the learner's cost per period with its 95% CI (across evaluation replications),
    the exact optimal cost, ``gap_pct`` = 100 (cost - optimal) / optimal, and the state-by-state
    comparison of its orders with the optimal ones (:func:`order_comparison`).
    """
    scenario = zipkin_scenario(lost_sale_penalty, lead_time)
    result = train_run(scenario, "mtma", seed, iterations, eval_replications=eval_replications,
                       eval_periods=eval_periods, eval_warmup=eval_warmup,
                       **{**LEARNER_SETTINGS, **overrides})
    run = run_metrics(result)
    optimal = single_product.solve(**single_product.zipkin_instance(lost_sale_penalty,
                                                                    lead_time)).cost
    cost = -run["profit"]
    orders = order_comparison(result.policy, lost_sale_penalty, lead_time,
                              seed=evaluation_seed(int(seed)))
    return {"learner_cost": cost, "learner_cost_lo": -run["profit_hi"],
            "learner_cost_hi": -run["profit_lo"], "optimal_cost": optimal,
            "gap_pct": 100.0 * (cost - optimal) / optimal,
            "train_seconds": run["train_seconds"], "env_steps": run["env_steps"],
            **{k: v for k, v in orders.items() if k != "by_position"}}


def order_comparison(policy, lost_sale_penalty=9, lead_time=2, replications: int = 16,
                     periods: int = 1000, warmup: int = 100, seed: int = 0) -> dict:
    """The orders of ``policy`` against the optimal ones, state by state, on the states it visits.

    ``policy`` runs on :func:`zipkin_scenario` (``replications`` x ``periods``, the first
    ``warmup`` discarded); at every visited state its order is compared with the optimal order
    of that state (:meth:`coordlib.exact.single_product.SolveResult.order_for`). Returns
    ``share_optimal_orders`` (the share of visits where they agree), ``mean_abs_order_diff``
    and ``mean_order_diff`` (learned minus optimal, units), and ``by_position``, a frame with
    the same per inventory position (on hand plus everything on order), the visits and both
    mean orders: where a policy departs from the optimum, and in which direction.
    """
    scenario = zipkin_scenario(lost_sale_penalty, lead_time)
    solution = single_product.solve(**single_product.zipkin_instance(lost_sale_penalty,
                                                                      lead_time))
    optimum = SingleProductOptimum(solution)
    optimum.reset(scenario, replications, None)
    rows, before = [], None           # the observation the orders of period t were decided on
    for t, result in rollout(scenario, policy, replications, periods, seed):
        if before is not None and t >= warmup:
            rows.append(np.c_[before.on_hand[:, 0] + before.pipeline[:, 0].sum(-1),
                              result.orders[:, 0], optimum.act(before).orders[:, 0]])
        before = result.observation
    visits = pd.DataFrame(np.concatenate(rows), columns=["position", "learned", "optimal"])
    diff = visits["learned"] - visits["optimal"]
    by_position = (visits.assign(agree=diff == 0).groupby("position")
                   .agg(visits=("learned", "size"), learned=("learned", "mean"),
                        optimal=("optimal", "mean"), agree=("agree", "mean")).reset_index())
    return {"share_optimal_orders": float((diff == 0).mean()),
            "mean_abs_order_diff": float(diff.abs().mean()),
            "mean_order_diff": float(diff.mean()), "by_position": by_position}


def learner_table(lead_times=single_product.ZIPKIN_2008_LEAD_TIMES,
                  penalties=single_product.ZIPKIN_2008_PENALTIES, seeds=(0,),
                  iterations: int = 300, cache_dir=None, workers: int = 2,
                  **settings) -> pd.DataFrame:
    """:func:`learner_run` on every instance and seed, as one cached sweep (see
    :func:`coordlib.pipeline.sweep.cached_sweep`); ``settings`` go to every run."""
    root = cache_folder(cache_dir if cache_dir is not None else DEFAULT_CACHE, "e11",
                        f"learner-{int(iterations)}it")
    grid = {"name": "e11-learner", "experiment": learner_run,
            "fixed": {"iterations": int(iterations), **settings},
            "axes": {"lead_time": [int(L) for L in lead_times],
                     "lost_sale_penalty": [float(p) for p in penalties]},
            "seeds": [int(s) for s in seeds]}
    return cached_sweep(grid, root, workers)


LEARNER_MEAN_GAP_PCT = 1.0
"""Rule 4: the learner's gap to the optimum, averaged over the instances, at most this (%)."""
LEARNER_WORST_GAP_PCT = 2.0
"""Rule 6: the learner's gap on every instance at most this (%)."""
BASE_STOCK_HARD_PCT = 2.0
"""Rule 5 holds the learner against base-stock where base-stock is more than this (%) off."""


def learner_summary(table: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """:func:`lost_sales_table` with the learner's runs (:func:`learner_table`) per instance:
    ``seeds``, the mean ``learner_cost`` and ``learner_gap_pct`` over the seeds with the
    gap's 95% t-interval across them (``learner_gap_lo``, ``learner_gap_hi``; each seed on its
    own evaluation stream), the share of visits where it orders what the optimum orders, its
    mean absolute and signed departure from the optimal order, and the training seconds."""
    learner = (runs.groupby(["lead_time", "lost_sale_penalty"], sort=True)
               .agg(seeds=("seed", "nunique"), learner_cost=("learner_cost", "mean"),
                    learner_gap_pct=("gap_pct", "mean"),
                    learner_gap_lo=("gap_pct", lambda g: mean_ci(g)[1]),
                    learner_gap_hi=("gap_pct", lambda g: mean_ci(g)[2]),
                    share_optimal_orders=("share_optimal_orders", "mean"),
                    mean_abs_order_diff=("mean_abs_order_diff", "mean"),
                    mean_order_diff=("mean_order_diff", "mean"),
                    train_seconds=("train_seconds", "mean"))
               .reset_index())
    return table.merge(learner, on=["lead_time", "lost_sale_penalty"])


def learner_rules(combined: pd.DataFrame) -> list[tuple[str, bool]]:
    """Rules 4-6 of E11 on :func:`learner_summary`'s table: (sentence with the numbers, holds)."""
    mean_gap = float(combined["learner_gap_pct"].mean())
    worst = combined.loc[combined["learner_gap_pct"].idxmax()]
    hard = combined[combined["base_stock_gap_pct"] > BASE_STOCK_HARD_PCT]
    beats = int((hard["learner_cost"] < hard["base_stock_cost"]).sum())
    everywhere = int((combined["learner_cost"] < combined["base_stock_cost"]).sum())
    return [
        (f"rule 4 (learner within {LEARNER_MEAN_GAP_PCT:g}% on average): mean gap "
         f"{mean_gap:.2f}% over {len(combined)} instances", mean_gap <= LEARNER_MEAN_GAP_PCT),
        (f"rule 5 (learner below base-stock where base-stock is > {BASE_STOCK_HARD_PCT:g}% off): "
         f"{beats} of {len(hard)} instances (below it on {everywhere} of all {len(combined)})",
         beats == len(hard)),
        (f"rule 6 (no instance above {LEARNER_WORST_GAP_PCT:g}%): the largest gap is "
         f"{worst['learner_gap_pct']:.2f}% at L = {int(worst['lead_time'])}, "
         f"p = {worst['lost_sale_penalty']:g}",
         float(worst["learner_gap_pct"]) <= LEARNER_WORST_GAP_PCT)]


def plot_gaps(combined: pd.DataFrame):
    """The three policies' cost above the optimum per instance: best base-stock, best capped
    base-stock and the learner (mean over seeds with its 95% interval), with the learner's
    mean gap over the instances beside rule 4's threshold (the number the claims ledger's C4
    reads)."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    labels = [f"L={r.lead_time}, p={r.lost_sale_penalty:g}" for r in combined.itertuples()]
    x = np.arange(len(combined))
    ax.bar(x - 0.27, combined["base_stock_gap_pct"], width=0.27, label="best base-stock")
    ax.bar(x, combined["capped_gap_pct"], width=0.27, label="best capped base-stock")
    err = np.vstack([combined["learner_gap_pct"] - combined["learner_gap_lo"],
                     combined["learner_gap_hi"] - combined["learner_gap_pct"]])
    seeds = int(combined["seeds"].min())
    ax.bar(x + 0.27, combined["learner_gap_pct"], width=0.27, yerr=np.nan_to_num(err),
           capsize=2, label=f"MTMA (mean of {seeds} seeds, 95% interval)" if seeds > 1
           else "MTMA (one seed)")
    ax.axhline(LEARNER_MEAN_GAP_PCT, color="grey", ls=":", lw=1,
               label=f"{LEARNER_MEAN_GAP_PCT:g}% (rule 4, on average)")
    mean_gap = float(combined["learner_gap_pct"].mean())
    ax.axhline(mean_gap, color="C2", ls="--", lw=1,
               label=f"MTMA's mean gap over the instances, {mean_gap:.2f}% (what claim C4 reads)")
    ax.set_xticks(x, labels, rotation=60, ha="right")
    ax.set_ylabel("cost above the optimum (%)")
    ax.legend(fontsize="x-small", loc="lower center", bbox_to_anchor=(0.5, 1.01), ncol=2)
    fig.tight_layout()
    return fig
