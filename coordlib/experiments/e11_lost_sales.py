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

import numpy as np
import pandas as pd

from ..common.stats import mean_ci
from ..exact import single_product
from ..model.evaluation import evaluate
from ..model.policy import Action, Policy, joint
from ..model.scenario import Scenario
from ..pipeline.results import DEFAULT_CACHE, ResultStore
from ..pipeline.sweep import cache_folder, cached_sweep
from ..policies.recommendation import fixed_exposure
from ..policies.replenishment import base_stock
from .learners import train_evaluate

ARRIVALS_PER_DEMAND = 2.0
"""Customers per unit of demand in :func:`zipkin_scenario`: v_0 = v_1 = 1 and no lift, so half
of the customers buy and lambda = 2 mu."""


def zipkin_scenario(lost_sale_penalty, lead_time) -> Scenario:
    """Zipkin's (2008) instance (p = ``lost_sale_penalty`` [b], L = ``lead_time``) as a Scenario.

    N = K = 1; arrival rate lambda = 10 with v_0 = v_1 = 1 and lift 0, so demand is Poisson
    of mean 5 whatever the exposure; price = unit cost = 1, h = 1, and the capacity and
    largest order of :func:`coordlib.exact.single_product.zipkin_instance` (they do not bind).
    """
    a = single_product.zipkin_instance(lost_sale_penalty, lead_time)
    return Scenario.from_dict({
        "name": f"zipkin-L{a['lead_time']}-p{a['lost_sale_penalty']:g}",
        "description": "Zipkin (2008) lost-sales instance: Poisson(5) demand, h = 1, "
                       f"p = {a['lost_sale_penalty']:g}, L = {a['lead_time']}",
        "products": {"price": [a["price"]], "unit_cost": [a["unit_cost"]],
                     "holding_cost": [a["holding_cost"]],
                     "lost_sale_penalty": [a["lost_sale_penalty"]],
                     "lead_time": [a["lead_time"]], "capacity": [a["capacity"]],
                     "max_order": [a["max_order"]]},
        "segments": {"arrival_rate": [ARRIVALS_PER_DEMAND * a["demand_rate"]],
                     "outside_attraction": [1.0], "lift": [0.0], "attraction": [[1.0]]},
        "initial_on_hand": [0]})


class SingleProductOptimum(Policy):
    """The optimal policy of :func:`coordlib.exact.single_product.solve` as a coordlib policy.

    Orders are read from the optimal table at the reduced state (A, o_1, ..., o_{L-1}) of
    each copy; the one product is shown to every customer.
    """

    name = "single-product optimum"

    def __init__(self, solution: single_product.SolveResult):
        self.solution = solution

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        if scenario.n_products != 1 or int(scenario.lead_time[0]) != self.solution.lead_time:
            raise ValueError("SingleProductOptimum: the scenario must have one product with "
                             f"lead time {self.solution.lead_time}")
        self._exposure = np.ones((batch_size, scenario.n_segments, 1))

    def act(self, observation) -> Action:
        sol = self.solution
        on_hand, pipeline = observation.on_hand[:, 0], observation.pipeline[:, 0, :]
        if sol.lead_time == 0:
            orders = sol.order[np.minimum(on_hand, sol.capacity)]
        else:
            available = np.minimum(on_hand + pipeline[:, 0], sol.capacity)
            orders = sol.order[(available, *pipeline[:, 1:sol.lead_time].T)]
        return Action(orders[:, None].astype(np.int64), self._exposure)


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


def learner_run(lost_sale_penalty=9, lead_time=2, seed: int = 0, iterations: int = 150,
                eval_replications: int = 32, eval_periods: int = 2000, eval_warmup: int = 200,
                **overrides) -> dict:
    """Train MTMA on :func:`zipkin_scenario` (its replenisher does the work: one product, so the
    recommender's exposure is always 1) and hold its evaluated cost against the optimum.

    Returns the learner's cost per period with its 95% CI (across evaluation replications),
    the exact optimal cost, and ``gap_pct`` = 100 (cost - optimal) / optimal.
    """
    scenario = zipkin_scenario(lost_sale_penalty, lead_time)
    run = train_evaluate(scenario, "mtma", seed, iterations, eval_replications=eval_replications,
                         eval_periods=eval_periods, eval_warmup=eval_warmup, **overrides)
    optimal = single_product.solve(**single_product.zipkin_instance(lost_sale_penalty,
                                                                    lead_time)).cost
    cost = -run["profit"]
    return {"learner_cost": cost, "learner_cost_lo": -run["profit_hi"],
            "learner_cost_hi": -run["profit_lo"], "optimal_cost": optimal,
            "gap_pct": 100.0 * (cost - optimal) / optimal,
            "train_seconds": run["train_seconds"], "env_steps": run["env_steps"]}


def learner_table(lead_times=single_product.ZIPKIN_2008_LEAD_TIMES,
                  penalties=single_product.ZIPKIN_2008_PENALTIES, seeds=(0,),
                  iterations: int = 150, cache_dir=None, workers: int = 2,
                  **settings) -> pd.DataFrame:
    """:func:`learner_run` on every instance and seed, as one cached sweep (see
    :func:`coordlib.pipeline.sweep.cached_sweep`); ``settings`` go to every run."""
    root = cache_folder(cache_dir if cache_dir is not None else DEFAULT_CACHE, "e11",
                        f"learner-{int(iterations)}it")
    grid = {"name": "e11-learner", "experiment": "coordlib.experiments.e11_lost_sales.learner_run",
            "fixed": {"iterations": int(iterations), **settings},
            "axes": {"lead_time": [int(L) for L in lead_times],
                     "lost_sale_penalty": [float(p) for p in penalties]},
            "seeds": [int(s) for s in seeds]}
    return cached_sweep(grid, root, workers)
