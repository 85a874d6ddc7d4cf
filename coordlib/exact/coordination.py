"""B5 on the exact DP (MODEL.md section 5): the value of coordination, split exactly into a static
part (margin-aware fixed exposure) and a dynamic part (optimal ordering, inventory-aware
exposure); the best static policy; heuristic firms valued exactly.
"""
from __future__ import annotations

import itertools
import time
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from .. import policies
from ..model.scenario import Scenario
from ..model.scenarios import get as get_scenario
from ..model.variants import scenario_variant
from ..policies.recommendation import expected_value_per_customer
from . import dp, policy_evaluation
from .structure import _grid_points


# ---- B5 ---------------------------------------------------------------------------------------
def gmv_greedy_exposure(scenario: Scenario) -> np.ndarray:
    """(K, N): the siloed recommender's exposure, each segment shown its GMV-maximizing product.

    Ties go to the lower product index, as in :func:`coordlib.policies.recommendation.gmv_greedy`.
    """
    score = expected_value_per_customer(scenario, scenario.price)
    return np.eye(scenario.n_products)[score.argmax(axis=1)]


def _product_key(scenario: Scenario, i: int, mean_demand: float) -> tuple:
    """What one product's base-stock chain depends on: its parameters, start and mu_i."""
    fields = ("price", "unit_cost", "holding_cost", "lost_sale_penalty", "lead_time", "capacity",
              "max_order", "initial_on_hand")
    return (tuple(float(getattr(scenario, f)[i]) for f in fields)
            + tuple(int(v) for v in scenario.initial_pipeline[i]) + (round(float(mean_demand), 12),))


def _product_best(scenario: Scenario, i: int, mean_demand: float, cache: dict) -> tuple:
    """(best level, its exact gain) of product i alone under base-stock with Poisson(mu_i).

    Memoized in ``cache`` by :func:`_product_key`, so products with the same parameters (the
    symmetric instances) and repeated mean demands share one scan of the levels.
    """
    key = _product_key(scenario, i, mean_demand)
    if key not in cache:
        gains = policy_evaluation.product_base_stock_gains(scenario, i, float(mean_demand))
        cache[key] = (int(np.argmax(gains)), float(gains.max()))
    return cache[key]


def best_static(scenario: Scenario, exposure_grid: int = 11, _cache: Optional[dict] = None) -> dict:
    """The best fixed exposure on the grid with its best base-stock levels, exactly.

    With a fixed exposure the products separate (:func:`coordlib.exact.policy_evaluation.base_stock_gain`), so
    each product's best level is found once per distinct mean demand mu_i(x) (and once for
    products with the same parameters). Returns ``gain``, ``exposure`` (K, N), ``levels`` and
    ``gains`` (the best gain of every exposure). Ties go to the first exposure on the grid.
    """
    cache = {} if _cache is None else _cache
    exposures = dp.grid_exposures(scenario, exposure_grid)
    mu = scenario.demand_rate(exposures)
    totals = np.array([sum(_product_best(scenario, i, mu[x, i], cache)[1] for i in range(2))
                       for x in range(len(mu))])
    best = int(np.argmax(totals))
    levels = np.array([_product_best(scenario, i, mu[best, i], cache)[0] for i in range(2)])
    return {"gain": float(totals[best]), "exposure": exposures[best], "levels": levels,
            "gains": totals}


def value_of_coordination(scenario, exposure_grid: int = 11, max_inventory: Optional[int] = None,
                          tol: float = 1e-7, coordinated: bool = False,
                          solution: Optional[dp.DPSolution] = None) -> dict:
    """B5: the gain of coordination and its static and dynamic parts, exactly.

    Four exact gains on the same instance (after ``max_inventory``), each a stationary policy:

    - ``g_siloed``: GMV-greedy exposure, base-stock levels best for the demand it produces
      (the siloed firm of MODEL.md section 6);
    - ``g_static``: the best fixed exposure on the grid with its best base-stock levels;
    - ``g_static_dp``: that same fixed exposure with the optimal (DP) ordering policy;
    - ``g_star``: the DP optimum g*, exposure and orders both state-dependent.

    ``static_part = g_static - g_siloed`` (margin-aware exposure), ``dynamic_part = g_star -
    g_static`` (everything state-dependent), split into ``ordering_part = g_static_dp -
    g_static`` (optimal lost-sales ordering beyond base-stock, exposure held fixed: not a
    coordination effect, and positive even without lift) and ``exposure_part = g_star -
    g_static_dp`` (inventory-aware exposure); ``total = g_star - g_siloed``.

    ``coordinated=True`` adds ``g_coordinated``: the exact gain of the coordinated heuristic
    (inventory-aware recommender of :func:`coordlib.policies.recommendation.inventory_aware` with the
    base-stock levels of :func:`best_joint_base_stock`, the best of several local maxima of
    the exact gain), and ``coordinated_levels``.
    ``solution``: the DP already solved for this instance (``scenario``, ``exposure_grid`` and
    ``max_inventory`` are then not used; its scenario and grid are).
    """
    started = time.perf_counter()
    if solution is None:
        solution = dp.solve(scenario, exposure_grid=exposure_grid, max_inventory=max_inventory,
                            tol=tol)
    else:
        exposure_grid = _grid_points(solution)
    s = solution.scenario
    x_silo = gmv_greedy_exposure(s)
    cache: dict = {}         # one product's best base-stock level per (parameters, mu_i)
    mu_silo = s.demand_rate(x_silo)
    silo = [_product_best(s, i, mu_silo[i], cache) for i in range(2)]
    silo_levels, g_silo = np.array([b[0] for b in silo]), sum(b[1] for b in silo)
    static = best_static(s, exposure_grid, _cache=cache)
    g_static_dp = dp.solve(s, exposures=static["exposure"][None], tol=tol).gain
    g_star = solution.gain
    extra = {}
    if coordinated:
        heuristic = best_joint_base_stock(s, policies.inventory_aware())
        extra = {"g_coordinated": heuristic["gain"],
                 "coordinated_levels": heuristic["levels"].tolist()}
    return {"scenario": s.name, "g_star": g_star, "g_static_dp": g_static_dp,
            "g_static": static["gain"], "g_siloed": g_silo,
            "static_part": static["gain"] - g_silo, "dynamic_part": g_star - static["gain"],
            "ordering_part": g_static_dp - static["gain"], "exposure_part": g_star - g_static_dp,
            "total": g_star - g_silo,
            "siloed_share_1": x_silo[:, 0].tolist(), "siloed_levels": silo_levels.tolist(),
            "static_share_1": static["exposure"][:, 0].tolist(),
            "static_levels": static["levels"].tolist(),
            **extra,
            "states": solution.n_states, "reduced_states": solution.n_reduced_states,
            "actions": solution.n_actions, "seconds": time.perf_counter() - started}


def _cached_value_of_coordination(s: Scenario, exposure_grid, cap, coordinated, cache) -> dict:
    """:func:`value_of_coordination` through ``cache``, keyed by the model's parameters only
    (not the name: the base and its variant with a factor at the base's own value share one
    result); the row's ``scenario`` is this instance's name."""
    def compute():
        return value_of_coordination(s, exposure_grid=exposure_grid, max_inventory=cap,
                                     coordinated=coordinated)
    if cache is None:
        return compute()
    model = {k: v for k, v in s.to_dict().items() if k not in ("name", "description")}
    config = {"function": "value_of_coordination", "model": model,
              "exposure_grid": exposure_grid, "max_inventory": cap, "coordinated": coordinated}
    row = dict(cache("b5_value_of_coordination", config, compute))
    row["scenario"] = dp.reduce_scenario(s, cap)[0].name
    return row


def b5_decomposition(base="tiny", lifts: Sequence[float] = (0.0, 2.0, 4.0),
                     margin_spreads: Sequence[float] = (0.0, 2.0, 4.0),
                     lead_times: Sequence[int] = (0, 1, 2),
                     arrival_rates: Sequence[float] = (3.0, 6.0, 9.0),
                     max_inventory: Optional[int] = None, lead_time_max_inventory: Optional[int] = 12,
                     exposure_grid: int = 11, coordinated: bool = False,
                     cache: Optional[Callable] = None) -> pd.DataFrame:
    """B5 across lift beta, margin spread, lead time and demand level, one factor at a time.

    Each factor is varied over its values with the others at the base scenario's values
    (:func:`scenario_variant`): lift sets every segment's beta; margin spread as in
    :func:`coordlib.model.variants.margin_spread_scenario`; lead time sets both L_i; demand level is the total arrival
    rate sum_k lambda_k (each segment scaled in proportion), which also sets the demand's
    coefficient of variation 1/sqrt(mu), the Poisson model's only knob of demand uncertainty
    (column ``arrival_cv`` = 1/sqrt(sum_k lambda_k), that of the number of arrivals).

    Capacity: every row uses ``max_inventory`` (default: the scenario's own), except the rows
    of the lead-time factor, which all use ``lead_time_max_inventory`` (default 12) so that
    L = 2 is tractable and the lead times are compared on the same instance; the column
    ``max_inventory`` says which. Note that a cap can bind for the siloed and static policies
    (which need more stock than the optimum) even where it does not change g*.
    ``coordinated`` adds the coordinated heuristic's exact gain (:func:`value_of_coordination`).
    ``cache``: optional ``cache(kind, config, compute)`` such as
    :meth:`coordlib.pipeline.results.ResultStore.cached`, through which each row is computed (keyed by
    the variant's parameters), so that a re-run, or a run with one value more, reuses rows.
    Returns one row per (factor, value) with the columns of :func:`value_of_coordination`.
    """
    base = get_scenario(base)
    rows = []
    variants = ([("lift", v) for v in lifts] + [("margin_spread", v) for v in margin_spreads]
                + [("lead_time", v) for v in lead_times]
                + [("arrival_rate", v) for v in arrival_rates])
    for factor, value in variants:
        s = scenario_variant(base, factor, value)
        cap = lead_time_max_inventory if factor == "lead_time" else max_inventory

        row = _cached_value_of_coordination(s, exposure_grid, cap, coordinated, cache)
        rows.append({"base": base.name, "factor": factor, "value": value, "max_inventory": cap,
                     "arrival_cv": float(1 / np.sqrt(s.arrival_rate.sum())), **row})
    return pd.DataFrame(rows)


# ---- exact gains of joint heuristics ---------------------------------------------------------
def best_joint_base_stock(scenario, recommender, starts=None, max_level=None,
                          max_evaluations: int = 1000) -> dict:
    """Base-stock levels S [S_i] for a given recommender, by multi-start local search on the exact gain.

    Each candidate is the joint policy (base-stock S, ``recommender``) evaluated exactly by
    :func:`coordlib.exact.policy_evaluation.evaluate_policy` (the recommender must be stationary and deterministic,
    as the inventory-aware one is). From each start the search moves to the best of the
    3^N - 1 neighbouring level vectors (each S_i changed by -1, 0 or +1, within
    0..max_level_i, default M_i + L_i Qmax_i) while that improves the gain, so it ends at a
    local maximum of the exact gain over whole-number levels; the best end point is returned.
    The gain need not be unimodal (on ``tiny`` the inventory-aware recommender has local
    maxima at S = (7, 7) and (11, 5)), hence several starts: by default the best levels
    (:func:`coordlib.exact.policy_evaluation.best_base_stock`) for the uniform exposure and for each exposure
    that shows every segment one product j = 1..N. With an inventory-blind recommender the
    products separate and :func:`coordlib.exact.policy_evaluation.best_base_stock` is exact and faster.
    Returns ``levels``, ``gain``, ``evaluations`` (distinct level vectors evaluated) and
    ``local_maxima`` (each start's end point and gain).
    """
    s = get_scenario(scenario)
    N = s.n_products
    top = (s.capacity + s.lead_time * s.max_order if max_level is None
           else np.asarray(max_level, dtype=np.int64).reshape(-1))
    if top.shape != (N,):
        raise ValueError(f"max_level: need {N} values, got {np.asarray(max_level).tolist()}")
    if starts is None:
        exposures = [s.uniform_exposure()] + [np.tile(np.eye(N)[j], (s.n_segments, 1))
                                              for j in range(N)]
        starts = [policy_evaluation.best_base_stock(s, x)[0] for x in exposures]
    gains: dict = {}

    def gain(levels):
        if levels not in gains:
            if len(gains) >= max_evaluations:
                raise RuntimeError(f"best_joint_base_stock: more than {max_evaluations} "
                                   "evaluations; raise max_evaluations")
            policy = policies.joint(policies.base_stock(list(levels)), recommender)
            gains[levels] = policy_evaluation.evaluate_policy(s, policy).gain
        return gains[levels]

    moves = [m for m in itertools.product((-1, 0, 1), repeat=N) if any(m)]
    ends = []
    for start in starts:
        start = np.asarray(start, dtype=np.int64).reshape(-1)
        if start.shape != (N,):
            raise ValueError(f"starts: each start needs {N} levels, got {start.tolist()}")
        current = tuple(int(v) for v in np.clip(start, 0, top))
        while True:
            best, best_gain = current, gain(current)
            for m in moves:
                cand = tuple(c + d for c, d in zip(current, m))
                if all(0 <= c <= t for c, t in zip(cand, top)) and gain(cand) > best_gain + 1e-12:
                    best, best_gain = cand, gain(cand)
            if best == current:
                break
            current = best
        if current not in [e for e, _ in ends]:
            ends.append((current, gains[current]))
    levels, value = max(ends, key=lambda e: e[1])
    return {"levels": np.array(levels), "gain": value, "evaluations": len(gains),
            "local_maxima": [(list(e), g) for e, g in ends]}
