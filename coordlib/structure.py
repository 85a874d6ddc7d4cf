"""The structure of optimal coordination, checked on the exact DP: MODEL.md section 5, B3-B5.

- **B3** (synchronized across products): over the whole optimal policy table of a
  :class:`coordlib.dp.DPSolution`, :func:`b3_exposure_exceptions` lists every pair of
  neighbouring states where a product's exposure falls as its own inventory rises, or rises as
  the other product's inventory rises, and :func:`b3_order_exceptions` every pair of states
  (same own state) where a product's order falls while its expected exposure rises, with
  "expected exposure" read three ways (:func:`expected_exposure`: this period, when the order
  arrives, or averaged over the periods t..t + L_i the order must cover).
  :func:`b3_report` counts them per statement. Nothing is hidden: each exception comes with
  the states, the values, the value lost by the other choice (to tell a tie from a strict
  exception) and the stationary probability of the states.
- **B4** (synchronized over time): :func:`b4_cross_correlation` simulates the optimal policy
  and measures corr(q_i(t), exposure_i(t + k)); :func:`b4_peak_lags` gives the lag of its peak.
- **B5** (value of coordination): :func:`value_of_coordination` splits the gain of the
  coordinated optimum over the siloed firm into a static and a dynamic part, exactly, and the
  dynamic part into optimal ordering (exposure fixed) and inventory-aware exposure;
  :func:`b5_decomposition` does so across lift, margin spread, lead time and demand level
  (one factor at a time, :func:`scenario_variant`).
- **Heuristic firms** next to g*: :func:`best_joint_base_stock` gives the exact gain of a
  joint heuristic (an inventory-aware recommender with base-stock levels tuned on the exact
  gain), and :func:`heuristic_sensitivity` compares the siloed and coordinated heuristics by
  simulation on scenarios of any size (MODEL.md section 6, baselines).
- **Notebooks E2 and E9** (MODEL.md section 7): :func:`policy_map` (the optimal policy over
  the inventory state, for heatmaps), :func:`dp_structure` (everything E2 shows about one
  instance, cacheable), and the checked parameters of both notebooks (:func:`e2_settings`,
  :func:`e9_settings`).

"Inventory" in B3 is the stock available for sale this period (``available_i``, on-hand after
arrivals) for L_i >= 1, and the on-hand before ordering (``on_hand_i``) for L_i = 0, each with
everything else in the state held fixed (phase, pipeline, the other product). A product's
exposure is its share x_ki for each segment k, and for orders the arrival-weighted share
sum_k lambda_k x_ki / sum_k lambda_k. With N = 2, x_k1 = 1 - x_k2, so "exposure of product 1
rises with I_1" and "exposure of product 2 falls with I_1" are the same statement; both are
listed so that every statement of MODEL.md has its own row.
"""
from __future__ import annotations

import itertools
import time
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from . import dp, policies
from .policies import expected_value_per_customer
from .scenario import Scenario
from .scenarios import get as get_scenario
from .simulator import Simulator

_EPS = 1e-9   # exposure differences below this are equalities (the grid step is >= 0.01)


# ---- helpers --------------------------------------------------------------------------------
def _inventory_axes(solution: dp.DPSolution) -> list[int]:
    """Index, in ``state_axes``, of each product's inventory axis."""
    axes = []
    for i in (1, 2):
        names = (f"available_{i}", f"on_hand_{i}")
        axes.append(next(a for a, n in enumerate(solution.state_axes) if n in names))
    return axes


def _own_axes(solution: dp.DPSolution, i: int) -> list[int]:
    """Axes of product i's own state (inventory and pipeline), 0-based product index."""
    own = {f"available_{i + 1}", f"on_hand_{i + 1}"}
    return [a for a, n in enumerate(solution.state_axes)
            if n in own or n.startswith(f"pipeline_{i + 1}_")]


def occupancy(solution: dp.DPSolution) -> np.ndarray:
    """Stationary probability of every reduced state under the optimal policy (state_shape).

    From the chain started at the scenario's initial state (states it never reaches get 0).
    """
    ev = dp.evaluate_policy(solution.scenario, solution)
    out = np.zeros(solution.state_shape)
    out[tuple(ev.states.T)] = ev.stationary
    return out


def _state_label(index: tuple) -> tuple:
    return tuple(int(v) for v in index)


def _grid_points(solution: dp.DPSolution) -> int:
    """Points per segment of the solution's exposure grid (B3 needs the grid of dp.solve)."""
    K = solution.scenario.n_segments
    G = int(round(solution.n_exposure_actions ** (1 / K)))
    if G < 2 or not np.allclose(solution.exposures, dp.grid_exposures(solution.scenario, G)):
        raise ValueError("B3 checks need a DP solved on the exposure grid (not on a custom "
                         "list of exposures)")
    return G


def _grid_index_with(solution: dp.DPSolution, x_index: int, k: int, share_index: int) -> int:
    """The exposure index equal to ``x_index`` but with segment k's share on grid point share_index."""
    G = _grid_points(solution)
    K = solution.scenario.n_segments
    stride = G ** (K - 1 - k)
    current = (x_index // stride) % G
    return x_index + (share_index - current) * stride


# ---- B3 ---------------------------------------------------------------------------------------
def b3_exposure_exceptions(solution: dp.DPSolution, prob: Optional[np.ndarray] = None) -> pd.DataFrame:
    """Every exception to "a product's exposure rises with its own inventory and falls with the
    other product's" over the whole optimal policy table (B3, first half).

    For each product i, segment k (and, when K > 1, ``segment="all"``: the arrival-weighted
    share) and inventory axis (own, other), every pair of states y and y + 1 on that axis (all
    other coordinates fixed) where x_ki moves the wrong way is a row:
    ``statement``, ``product``, ``segment``, ``axis``, ``state`` and ``next_state`` (tuples over
    ``solution.state_axes``), ``share`` and ``next_share`` (x_ki), ``loss_swap_low`` (value lost
    at ``state`` by taking segment k's share, or for "all" the whole exposure, from
    ``next_state``) and ``loss_swap_high`` (the converse), ``tie`` (one of them is within the
    DP's tie tolerance, so another optimal choice
    removes this exception), and the stationary probabilities ``prob_state``, ``prob_next``.
    """
    prob = occupancy(solution) if prob is None else prob
    x = solution.exposure                       # state_shape + (K, N)
    values = solution.exposure_values           # state_shape + (X,)
    best = values.max(axis=-1)
    G = _grid_points(solution)
    inv = _inventory_axes(solution)
    rows = []
    for i in range(2):
        for which, axis, sign in (("own", inv[i], 1), ("other", inv[1 - i], -1)):
            statement = (f"exposure of product {i + 1} non-decreasing in its own inventory"
                         if which == "own" else
                         f"exposure of product {i + 1} non-increasing in the other's inventory")
            K = solution.scenario.n_segments
            for k in list(range(K)) + (["all"] if K > 1 else []):
                share = x[..., k, i] if k != "all" else solution.exposure_share[..., i]
                diff = np.diff(share, axis=axis) * sign
                for low in zip(*np.nonzero(diff < -_EPS)):
                    high = list(low)
                    high[axis] += 1
                    high = tuple(high)
                    xi_low = int(solution.exposure_index[low])
                    xi_high = int(solution.exposure_index[high])
                    if k == "all":              # the other state's whole exposure
                        swap_low, swap_high = xi_high, xi_low
                    else:                       # the other state's share for segment k only
                        g_low = int(round(solution.exposures[xi_low, k, 0] * (G - 1)))
                        g_high = int(round(solution.exposures[xi_high, k, 0] * (G - 1)))
                        swap_low = _grid_index_with(solution, xi_low, k, g_high)
                        swap_high = _grid_index_with(solution, xi_high, k, g_low)
                    loss_low = float(best[low] - values[low + (swap_low,)])
                    loss_high = float(best[high] - values[high + (swap_high,)])
                    rows.append({
                        "statement": statement, "product": i + 1,
                        "segment": k + 1 if k != "all" else "all",
                        "axis": solution.state_axes[axis], "state": _state_label(low),
                        "next_state": _state_label(high), "share": float(share[low]),
                        "next_share": float(share[high]), "loss_swap_low": loss_low,
                        "loss_swap_high": loss_high,
                        "tie": min(loss_low, loss_high) <= solution.tie_tolerance,
                        "prob_state": float(prob[low]), "prob_next": float(prob[high])})
    columns = ["statement", "product", "segment", "axis", "state", "next_state", "share",
               "next_share", "loss_swap_low", "loss_swap_high", "tie", "prob_state", "prob_next"]
    return pd.DataFrame(rows, columns=columns)


EXPOSURE_HORIZONS = ("current", "arrival", "protection")
"""How "expected exposure" is read in B3's order statement (see :func:`expected_exposure`)."""


def expected_exposure(solution: dp.DPSolution, horizon: str = "protection") -> np.ndarray:
    """state_shape + (N,): the exposure of product i that an order placed in state y_t faces.

    exposure_i is the arrival-weighted share of product i, and under the optimal policy
    ``"current"``: exposure_i(t); ``"arrival"``: E[exposure_i(t + L_i) | y_t], the exposure
    when the order arrives; ``"protection"``: the mean of E[exposure_i(t + d) | y_t] over
    d = 0..L_i, the periods whose demand the stock on hand and on order must cover.
    """
    if horizon not in EXPOSURE_HORIZONS:
        raise ValueError(f"horizon: one of {EXPOSURE_HORIZONS}, got {horizon!r}")
    share = solution.exposure_share.reshape(-1, 2)
    if horizon == "current":
        return solution.exposure_share
    P, _ = dp.transition_matrix(solution)
    out = np.empty_like(share)
    for i in range(2):
        v = share[:, i]
        total = v.copy()
        for _ in range(int(solution.scenario.lead_time[i])):
            v = P @ v
            total += v
        out[:, i] = v if horizon == "arrival" else total / (solution.scenario.lead_time[i] + 1)
    return out.reshape(solution.state_shape + (2,))


def b3_order_exceptions(solution: dp.DPSolution, exposure: str = "protection",
                        prob: Optional[np.ndarray] = None) -> pd.DataFrame:
    """Every exception to "the order of a product rises with its expected exposure" (B3, second half).

    Compared are all pairs of review-period states with the same own state of product i (its
    inventory and pipeline) and different states of the other product: a pair where product
    i's expected exposure is higher in ``high_state`` but its order is lower is a row.
    ``exposure`` says which expected exposure (:func:`expected_exposure`): ``"protection"``
    (over the periods t..t + L_i the order must cover), ``"arrival"`` (when it arrives) or
    ``"current"``. Columns: ``statement``, ``product``, ``state``, ``high_state``, ``exposure``,
    ``high_exposure``, ``order``, ``high_order``, ``prob_state``, ``prob_high``.
    """
    prob = occupancy(solution) if prob is None else prob
    xi = expected_exposure(solution, exposure)
    shape = solution.state_shape
    rows = []
    for i in range(2):
        own = _own_axes(solution, i)
        other = [a for a in range(1, len(shape)) if a not in own]
        # phase 0 only (orders are placed when t mod R = 0); own axes first, other's last
        perm = own + other
        e = np.transpose(xi[0, ..., i], [a - 1 for a in perm])
        q = np.transpose(solution.orders[0, ..., i], [a - 1 for a in perm])
        p = np.transpose(prob[0], [a - 1 for a in perm])
        n_own = int(np.prod([shape[a] for a in own]))
        e, q, p = (arr.reshape(n_own, -1) for arr in (e, q, p))
        # pairs (a, b) within one own state with e[a] < e[b] and q[a] > q[b]
        bad = (e[:, :, None] < e[:, None, :] - _EPS) & (q[:, :, None] > q[:, None, :])
        for g, a, b in zip(*np.nonzero(bad)):
            def full(other_flat):
                own_idx = np.unravel_index(g, [shape[ax] for ax in own])
                oth_idx = np.unravel_index(other_flat, [shape[ax] for ax in other])
                index = [0] * len(shape)
                for ax, v in zip(own, own_idx):
                    index[ax] = int(v)
                for ax, v in zip(other, oth_idx):
                    index[ax] = int(v)
                return tuple(index)
            rows.append({
                "statement": f"order of product {i + 1} non-decreasing in its {exposure} exposure",
                "product": i + 1, "state": full(a), "high_state": full(b),
                "exposure": float(e[g, a]), "high_exposure": float(e[g, b]),
                "order": int(q[g, a]), "high_order": int(q[g, b]),
                "prob_state": float(p[g, a]), "prob_high": float(p[g, b])})
    columns = ["statement", "product", "state", "high_state", "exposure", "high_exposure",
               "order", "high_order", "prob_state", "prob_high"]
    return pd.DataFrame(rows, columns=columns)


def b3_report(solution: dp.DPSolution) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """B3 over the whole policy table: (summary, exposure exceptions, order exceptions).

    The summary has one row per statement (and product, segment): the number of comparisons,
    of exceptions, of exceptions that are not ties (every order exception counts as strict),
    of distinct states involved and their total stationary probability under the optimal
    policy (``stationary_mass``: how often the optimal system is in such a state).
    """
    prob = occupancy(solution)
    ex = b3_exposure_exceptions(solution, prob)
    orders = {kind: b3_order_exceptions(solution, kind, prob) for kind in EXPOSURE_HORIZONS}
    shape = solution.state_shape
    inv = _inventory_axes(solution)
    rows = []
    for i in range(2):
        for which, axis in (("own", inv[i]), ("other", inv[1 - i])):
            statement = (f"exposure of product {i + 1} non-decreasing in its own inventory"
                         if which == "own" else
                         f"exposure of product {i + 1} non-increasing in the other's inventory")
            n_pairs = int(np.prod(shape)) // shape[axis] * (shape[axis] - 1)
            K = solution.scenario.n_segments
            for k in [k + 1 for k in range(K)] + (["all"] if K > 1 else []):
                sub = ex[(ex.statement == statement) & (ex.segment == k)]
                rows.append(_summary_row(statement, i + 1, k, n_pairs, sub, "next_state",
                                         int((~sub.tie.astype(bool)).sum()), prob))
        own = _own_axes(solution, i)
        n_own = int(np.prod([shape[a] for a in own]))
        n_other = int(np.prod(shape[1:])) // n_own
        for kind, frame in orders.items():
            statement = f"order of product {i + 1} non-decreasing in its {kind} exposure"
            sub = frame[frame.statement == statement]
            rows.append(_summary_row(statement, i + 1, None, n_own * n_other * (n_other - 1) // 2,
                                     sub, "high_state", len(sub), prob))
    summary = pd.DataFrame(rows)
    summary.insert(0, "scenario", solution.scenario.name)
    order_ex = pd.concat(list(orders.values()), ignore_index=True)
    return summary, ex, order_ex


def _summary_row(statement, product, segment, comparisons, sub, other_column, strict, prob) -> dict:
    states = set(sub["state"]) | set(sub[other_column])
    return {"statement": statement, "product": product, "segment": segment,
            "comparisons": comparisons, "exceptions": len(sub), "strict_exceptions": strict,
            "states_involved": len(states),
            "stationary_mass": float(sum(prob[st] for st in states)), "holds": len(sub) == 0}


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


def simulate_policy(solution: dp.DPSolution, replications: int = 32, periods: int = 600,
                    warmup: int = 100, seed: int = 0) -> dict:
    """Trajectories of the DP-optimal policy after a warm-up (see :func:`trajectories`)."""
    return trajectories(solution.scenario, solution.policy, replications, periods, warmup, seed)


def cross_correlation(a: np.ndarray, b: np.ndarray, max_lag: int) -> np.ndarray:
    """corr(a(t), b(t + k)) for k = -max_lag..max_lag, pooled over rows (replications).

    ``a``, ``b``: (replications, T). Each row is centred on its own mean; NaN where either
    series is constant.
    """
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    sa, sb = np.sqrt((a ** 2).mean()), np.sqrt((b ** 2).mean())
    T = a.shape[1]
    out = np.full(2 * max_lag + 1, np.nan)
    if sa == 0 or sb == 0:
        return out
    for j, k in enumerate(range(-max_lag, max_lag + 1)):
        if k >= 0:
            out[j] = (a[:, :T - k] * b[:, k:]).mean() / (sa * sb)
        else:
            out[j] = (a[:, -k:] * b[:, :T + k]).mean() / (sa * sb)
    return out


def b4_cross_correlation(solution: dp.DPSolution, replications: int = 32, periods: int = 600,
                         warmup: int = 100, max_lag: int = 6, seed: int = 0) -> pd.DataFrame:
    """B4: corr(q_i(t), exposure_i(t + k)) on simulated optimal trajectories, k = -max_lag..max_lag.

    Tidy: columns ``scenario``, ``product``, ``lead_time``, ``lag``, ``correlation``.
    """
    traj = simulate_policy(solution, replications, periods, warmup, seed)
    rows = []
    for i in range(solution.scenario.n_products):
        c = cross_correlation(traj["orders"][..., i].astype(float), traj["exposure"][..., i], max_lag)
        for k, v in zip(range(-max_lag, max_lag + 1), c):
            rows.append({"scenario": solution.scenario.name, "product": i + 1,
                         "lead_time": int(solution.scenario.lead_time[i]), "lag": k,
                         "correlation": v})
    return pd.DataFrame(rows)


def b4_peak_lags(frame: pd.DataFrame) -> pd.DataFrame:
    """The lag of the peak (largest) cross-correlation per scenario and product."""
    rows = []
    for (name, product), g in frame.groupby(["scenario", "product"], sort=False):
        g = g.dropna(subset=["correlation"])
        if g.empty:
            rows.append({"scenario": name, "product": product, "peak_lag": np.nan,
                         "peak_correlation": np.nan})
            continue
        best = g.loc[g.correlation.idxmax()]
        rows.append({"scenario": name, "product": product, "lead_time": int(best.lead_time),
                     "peak_lag": int(best.lag), "peak_correlation": float(best.correlation)})
    return pd.DataFrame(rows)


# ---- B5 ---------------------------------------------------------------------------------------
def gmv_greedy_exposure(scenario: Scenario) -> np.ndarray:
    """(K, N): the siloed recommender's exposure, each segment shown its GMV-maximizing product.

    Ties go to the lower product index, as in :func:`coordlib.policies.gmv_greedy`.
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
        gains = dp.product_base_stock_gains(scenario, i, float(mean_demand))
        cache[key] = (int(np.argmax(gains)), float(gains.max()))
    return cache[key]


def best_static(scenario: Scenario, exposure_grid: int = 11, _cache: Optional[dict] = None) -> dict:
    """The best fixed exposure on the grid with its best base-stock levels, exactly.

    With a fixed exposure the products separate (:func:`coordlib.dp.base_stock_gain`), so
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
    (inventory-aware recommender of :func:`coordlib.policies.inventory_aware` with the
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


def margin_spread_scenario(base: Scenario, spread: float) -> Scenario:
    """``base`` with unit costs moved so the margins p_i - c_i differ by ``spread`` around their mean.

    Product 1 gets the lower margin; prices stay, so a GMV-greedy recommender does not see it.
    """
    margin = base.price - base.unit_cost
    mean = margin.mean()
    target = np.array([mean - spread / 2, mean + spread / 2])
    cost = base.price - target
    if np.any(cost < 0):
        raise ValueError(f"margin spread {spread}: would need a negative unit cost")
    return base.replace(unit_cost=cost.tolist())


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


FACTORS = ("lift", "lift_scale", "margin_spread", "margin_scale", "lead_time",
           "lead_time_shift", "arrival_rate", "arrival_scale")
"""The factors of B5 and E9 that :func:`scenario_variant` knows (see there)."""


def scenario_variant(base, factor: str, value) -> Scenario:
    """``base`` with one factor of B5 / E9 set to ``value`` (named ``base[factor=value]``).

    ``lift``: every segment's lift beta_k = value. ``lift_scale``: beta_k times value.
    ``margin_spread``: margins p_i - c_i differ by value around their mean (N = 2, see
    :func:`margin_spread_scenario`). ``margin_scale``: each margin's distance from the mean
    margin times value (unit costs move, prices stay, any N; 0 gives equal margins).
    ``lead_time``: every L_i = value. ``lead_time_shift``: L_i + value. ``arrival_rate``: the
    total arrival rate sum_k lambda_k = value, each segment scaled in proportion.
    ``arrival_scale``: every lambda_k times value. With Poisson demand the variance equals the
    mean, so the arrival rate is also the knob of demand variability: a product's demand in a
    period has coefficient of variation 1 / sqrt(mu_i).
    """
    base = get_scenario(base)
    if factor not in FACTORS:
        raise ValueError(f"factor: unknown factor {factor!r}; choose one of {', '.join(FACTORS)}")
    value = float(value)
    if factor in ("lift", "lift_scale", "margin_scale", "arrival_rate", "arrival_scale") and value < 0:
        raise ValueError(f"{factor}: must be >= 0, got {value}")
    if factor in ("lead_time", "lead_time_shift") and value != int(value):
        raise ValueError(f"{factor}: must be a whole number, got {value}")
    if factor == "lift":
        s = base.replace(lift=[value] * base.n_segments)
    elif factor == "lift_scale":
        s = base.replace(lift=(base.lift * value).tolist())
    elif factor == "margin_spread":
        if base.n_products != 2:
            raise ValueError(f"margin_spread: needs N = 2 products (use margin_scale), "
                             f"got N = {base.n_products}")
        s = margin_spread_scenario(base, value)
    elif factor == "margin_scale":
        margin = base.price - base.unit_cost
        cost = base.price - (margin.mean() + value * (margin - margin.mean()))
        if np.any(cost < 0):
            raise ValueError(f"margin_scale {value}: would need a negative unit cost")
        s = base.replace(unit_cost=cost.tolist())
    elif factor in ("lead_time", "lead_time_shift"):
        lead = (np.full(base.n_products, int(value)) if factor == "lead_time"
                else base.lead_time + int(value))
        if np.any(lead < 0):
            raise ValueError(f"{factor} {value}: would give a negative lead time")
        s = base.replace(lead_time=lead.tolist())
    else:
        total = base.arrival_rate.sum()
        scale = value / total if factor == "arrival_rate" else value
        s = base.replace(arrival_rate=(base.arrival_rate * scale).tolist())
    return s.replace(name=f"{base.name}[{factor}={value:g}]")


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
    :func:`margin_spread_scenario`; lead time sets both L_i; demand level is the total arrival
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
    :meth:`coordlib.results.ResultStore.cached`, through which each row is computed (keyed by
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


# ---- E2: the policy over the inventory state -------------------------------------------------
PIPELINE_READINGS = ("stationary", "mode")
"""How :func:`policy_map` collapses pipeline coordinates (see there)."""


def policy_map(solution: dp.DPSolution, pipeline: str = "stationary") -> pd.DataFrame:
    """The optimal policy over the inventory state (inventory_1, inventory_2): one row per pair.

    ``inventory_i`` is the stock available for sale A_i (L_i >= 1) or the on-hand before
    ordering I_i (L_i = 0), as in B3. Columns: ``share_1_segment_k`` (x_k1, each segment's
    share of product 1), ``exposure_1`` and ``exposure_2`` (arrival-weighted shares),
    ``expected_exposure_1/2`` (over the protection interval t..t + L_i,
    :func:`expected_exposure`), ``order_1``, ``order_2`` [q_i], and ``probability``: the
    stationary probability of the pair under the optimal policy (0 for pairs it never visits).

    With R > 1 only the review phase t mod R = 0 is shown (orders are placed there), and
    ``probability`` is that of the phase and the pair together. When the
    reduced state has pipeline coordinates (L_i >= 2: orders arriving in 2..L_i periods),
    ``pipeline`` says how they are collapsed: ``"stationary"`` averages each quantity over
    the pipeline's conditional stationary distribution given the inventory pair;
    ``"mode"`` takes the quantity at the pipeline value most likely given the pair. Both
    leave NaN at pairs of probability 0 (``reading`` column: ``exact`` when there is no
    pipeline to collapse, else the reading used).
    """
    if pipeline not in PIPELINE_READINGS:
        raise ValueError(f"pipeline: one of {PIPELINE_READINGS}, got {pipeline!r}")
    K = solution.scenario.n_segments
    quantities = {f"share_1_segment_{k + 1}": solution.exposure[..., k, 0] for k in range(K)}
    share = solution.exposure_share
    protection = expected_exposure(solution, "protection")
    for i in range(2):
        quantities[f"exposure_{i + 1}"] = share[..., i]
        quantities[f"expected_exposure_{i + 1}"] = protection[..., i]
        quantities[f"order_{i + 1}"] = solution.orders[..., i].astype(float)
    inv = _inventory_axes(solution)
    rest = [a for a in range(1, len(solution.state_shape)) if a not in inv]
    prob = occupancy(solution)
    perm = [a - 1 for a in inv + rest]               # phase dropped
    n1, n2 = solution.state_shape[inv[0]], solution.state_shape[inv[1]]

    def flat(arr):                                   # review phase: (n1, n2, pipeline states)
        return np.transpose(arr[0], perm).reshape(n1, n2, -1)

    p = flat(prob)
    mass = p.sum(axis=-1)
    out = {}
    if not rest:
        reading = "exact"
        for name, q in quantities.items():
            out[name] = flat(q)[..., 0]
    else:
        reading = pipeline
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(mass[..., None] > 0, p / mass[..., None], np.nan)
        mode = p.argmax(axis=-1)
        for name, q in quantities.items():
            q = flat(q)
            if pipeline == "stationary":
                value = np.nansum(weight * q, axis=-1)
            else:
                value = np.take_along_axis(q, mode[..., None], axis=-1)[..., 0]
            out[name] = np.where(mass > 0, value, np.nan)
    I1, I2 = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
    frame = pd.DataFrame({"inventory_1": I1.ravel(), "inventory_2": I2.ravel(),
                          **{k: v.ravel() for k, v in out.items()}, "probability": mass.ravel()})
    frame.insert(0, "scenario", solution.scenario.name)
    frame["reading"] = reading
    return frame


def inventory_axis_label(scenario, i: int) -> str:
    """What ``inventory_i`` of :func:`policy_map` is for product i (1-based), with its unit."""
    s = get_scenario(scenario)
    return (f"on-hand $I_{i}$ before ordering (units)" if s.lead_time[i - 1] == 0
            else f"available stock $A_{i}$ (units)")


def high_probability_level(probability, mass: float = 0.95) -> float:
    """The smallest probability p such that the states of probability >= p hold ``mass`` in all.

    ``probability``: stationary probabilities (any shape, NaN ignored). The states at or above
    the returned level form the smallest set of states whose total probability reaches
    ``mass`` (the "typical" states a heatmap outlines).
    """
    if not 0 < mass <= 1:
        raise ValueError(f"mass: must lie in (0, 1], got {mass!r}")
    p = np.sort(np.nan_to_num(np.asarray(probability, dtype=float).ravel()))[::-1]
    if p.sum() <= 0:
        raise ValueError("probability: no state has positive probability")
    k = int(np.searchsorted(np.cumsum(p) / p.sum(), mass - 1e-12))
    return float(p[min(k, p.size - 1)])


def region_edges(mask) -> np.ndarray:
    """(n, 2, 2): the cell edges that outline the True cells of a 2-d ``mask``, for a heatmap.

    Cell (r, c) is the unit square centred on (x, y) = (c, r) (as ``imshow`` draws it); an
    edge is returned where a True cell meets a False cell or the border, as
    ((x0, y0), (x1, y1)), ready for a matplotlib ``LineCollection``.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"mask: must be 2-d, got shape {m.shape}")
    padded = np.pad(m, 1)
    edges = []
    for r, c in zip(*np.nonzero(m)):
        pr, pc = r + 1, c + 1
        if not padded[pr - 1, pc]:
            edges.append(((c - .5, r - .5), (c + .5, r - .5)))
        if not padded[pr + 1, pc]:
            edges.append(((c - .5, r + .5), (c + .5, r + .5)))
        if not padded[pr, pc - 1]:
            edges.append(((c - .5, r - .5), (c - .5, r + .5)))
        if not padded[pr, pc + 1]:
            edges.append(((c + .5, r - .5), (c + .5, r + .5)))
    return np.array(edges, dtype=float).reshape(-1, 2, 2)


# ---- exact gains of joint heuristics ---------------------------------------------------------
def best_joint_base_stock(scenario, recommender, starts=None, max_level=None,
                          max_evaluations: int = 1000) -> dict:
    """Base-stock levels S [S_i] for a given recommender, by multi-start local search on the exact gain.

    Each candidate is the joint policy (base-stock S, ``recommender``) evaluated exactly by
    :func:`coordlib.dp.evaluate_policy` (the recommender must be stationary and deterministic,
    as the inventory-aware one is). From each start the search moves to the best of the
    3^N - 1 neighbouring level vectors (each S_i changed by -1, 0 or +1, within
    0..max_level_i, default M_i + L_i Qmax_i) while that improves the gain, so it ends at a
    local maximum of the exact gain over whole-number levels; the best end point is returned.
    The gain need not be unimodal (on ``tiny`` the inventory-aware recommender has local
    maxima at S = (7, 7) and (11, 5)), hence several starts: by default the best levels
    (:func:`coordlib.dp.best_base_stock`) for the uniform exposure and for each exposure
    that shows every segment one product j = 1..N. With an inventory-blind recommender the
    products separate and :func:`coordlib.dp.best_base_stock` is exact and faster.
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
        starts = [dp.best_base_stock(s, x)[0] for x in exposures]
    gains: dict = {}

    def gain(levels):
        if levels not in gains:
            if len(gains) >= max_evaluations:
                raise RuntimeError(f"best_joint_base_stock: more than {max_evaluations} "
                                   "evaluations; raise max_evaluations")
            policy = policies.joint(policies.base_stock(list(levels)), recommender)
            gains[levels] = dp.evaluate_policy(s, policy).gain
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


def order_exception_profile(order_exceptions: pd.DataFrame, state_axes: Sequence[str],
                            low_stock: int = 2) -> pd.DataFrame:
    """Where the order exceptions of B3 lie: one row per statement (product and reading).

    ``order_exceptions``: rows of :func:`b3_order_exceptions` (states as tuples over
    ``state_axes``). For each exception the other product's inventory (``available_j`` or
    ``on_hand_j``) is read in ``high_state``, the state with the higher expected exposure and the
    lower order. Columns: ``statement``, ``product``, ``exceptions``,
    ``other_inventory_high_max`` (the largest such inventory; NaN without exceptions) and
    ``share_other_low`` (share of exceptions where it is at most ``low_stock`` units).
    """
    axes = list(state_axes)
    rows = []
    for statement, g in order_exceptions.groupby("statement", sort=False):
        product = int(g["product"].iloc[0])
        other = 2 if product == 1 else 1
        axis = next(a for a, n in enumerate(axes) if n in (f"available_{other}", f"on_hand_{other}"))
        stock = np.array([tuple(s)[axis] for s in g["high_state"]])
        rows.append({"statement": statement, "product": product, "exceptions": len(g),
                     "other_inventory_high_max": int(stock.max()),
                     "share_other_low": float(np.mean(stock <= low_stock))})
    return pd.DataFrame(rows, columns=["statement", "product", "exceptions",
                                       "other_inventory_high_max", "share_other_low"])


def _most_visited(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """Per statement, the ``rows`` exceptions whose states are most often visited (all if fewer)."""
    if frame.empty:
        return frame
    key = np.maximum(frame["prob_state"], frame["prob_high"])
    ordered = frame.assign(_key=key).sort_values("_key", ascending=False, kind="stable")
    return ordered.groupby("statement", sort=False).head(int(rows)).drop(columns="_key")


def _frame_of_states(frame: pd.DataFrame) -> pd.DataFrame:
    """State tuples as text such as '(0, 1, 2)', so that a frame survives a JSON round trip."""
    frame = frame.copy()
    for column in ("state", "next_state", "high_state"):
        if column in frame:
            frame[column] = [str(tuple(v)) for v in frame[column]]
    return frame


def dp_structure(scenario, max_inventory: Optional[int] = None, exposure_grid: int = 11,
                 pipeline: str = "stationary", replications: int = 32, periods: int = 600,
                 warmup: int = 100, max_lag: int = 6, seed: int = 0, max_exception_rows: int = 100,
                 cache: Optional[Callable] = None) -> dict:
    """Everything E2 shows about one DP instance, as tables (MODEL.md section 5, B3-B5).

    Solves the instance (:func:`coordlib.dp.solve` with ``max_inventory`` [caps M_i and
    Qmax_i] and ``exposure_grid``) and returns a dict of DataFrames: ``solution`` (one row:
    g*, its RVI bounds, state and action counts, iterations, seconds), ``policy_map``
    (:func:`policy_map` with ``pipeline``), ``b3_summary`` and ``b3_exposure_exceptions``
    (:func:`b3_report`, every exception; states written as text over ``state_axes``),
    ``b3_order_profile`` (:func:`order_exception_profile` of every order exception, all three
    readings), ``b3_order_exceptions`` (the order exceptions of the ``protection`` reading:
    all of them, or with more than ``max_exception_rows`` per statement the
    ``max_exception_rows`` whose states are most often visited, max(prob_state, prob_high);
    the exact counts are in ``b3_summary``), ``b4`` and ``b4_peaks`` (:func:`b4_cross_correlation` on
    ``replications`` x ``periods`` simulated periods after ``warmup``, seed ``seed``, lags
    up to ``max_lag``; empty when every L_i = 0) and ``gains`` (one row of
    :func:`value_of_coordination` with the coordinated heuristic). ``cache`` as in
    :func:`b5_decomposition`: the whole dict is stored under one key.
    """
    s = get_scenario(scenario)

    def compute():
        sol = dp.solve(s, exposure_grid=exposure_grid, max_inventory=max_inventory)
        summary, exposure_ex, order_ex = b3_report(sol)
        out = {"solution": pd.DataFrame([{
            "scenario": sol.scenario.name, "lead_time": int(sol.scenario.lead_time.max()),
            "segments": sol.scenario.n_segments, "g_star": sol.gain,
            "g_lower": sol.gain_bounds[0], "g_upper": sol.gain_bounds[1],
            "full_states": sol.n_states, "reduced_states": sol.n_reduced_states,
            "order_actions": sol.n_order_actions, "exposure_actions": sol.n_exposure_actions,
            "iterations": sol.iterations, "converged": sol.converged, "seconds": sol.seconds,
            "state_axes": ", ".join(sol.state_axes), "note": sol.note}]),
            "policy_map": policy_map(sol, pipeline),
            "b3_summary": summary, "b3_exposure_exceptions": _frame_of_states(exposure_ex),
            "b3_order_profile": order_exception_profile(order_ex, sol.state_axes),
            "b3_order_exceptions": _frame_of_states(_most_visited(
                order_ex[order_ex.statement.str.contains("protection")], max_exception_rows))}
        if sol.scenario.lead_time.max() > 0:
            b4 = b4_cross_correlation(sol, replications, periods, warmup, max_lag, seed)
            out["b4"], out["b4_peaks"] = b4, b4_peak_lags(b4)
        else:
            out["b4"] = out["b4_peaks"] = pd.DataFrame()
        gains = value_of_coordination(s, coordinated=True, solution=sol)
        out["gains"] = pd.DataFrame([{k: (str(v) if isinstance(v, list) else v)
                                      for k, v in gains.items()}])
        return {k: v.to_dict("records") for k, v in out.items()}

    config = {"function": "dp_structure", "scenario": s.to_dict(), "max_inventory": max_inventory,
              "exposure_grid": exposure_grid, "pipeline": pipeline, "replications": replications,
              "periods": periods, "warmup": warmup, "max_lag": max_lag, "seed": seed,
              "max_exception_rows": max_exception_rows}
    records = compute() if cache is None else cache("e2_dp_structure", config, compute)
    return {k: pd.DataFrame(v) for k, v in records.items()}


# ---- notebook settings: E2 and E9 -------------------------------------------------------------
E2_DEFAULTS = {
    "smoke": dict(max_inventory=8, long_lead_max_inventory=5, exposure_grid=6, replications=8,
                  periods=300),
    "paper": dict(max_inventory=None, long_lead_max_inventory=10, exposure_grid=11,
                  replications=32, periods=600),
}
"""Profile defaults of E2 (``notebooks/02_dp_structure.ipynb``): what a parameter left None takes.

``max_inventory`` caps M_i and Qmax_i of the instances with every L_i <= 1 (None: no cap),
``long_lead_max_inventory`` those with some L_i >= 2; ``exposure_grid`` points per segment;
``replications`` and ``periods`` size the B4 simulation."""


def _resolve(profile, defaults: dict, given: dict) -> dict:
    from .experiments import PROFILES, ParameterError

    if profile not in PROFILES:
        raise ParameterError(f"profile: unknown profile {profile!r}; choose one of "
                             f"{', '.join(PROFILES)}")
    out = dict(given)
    for key, value in defaults[profile].items():
        if out.get(key) is None:
            out[key] = value
    return out


def _check_cap(name, value):
    from .experiments import ParameterError

    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < 1):
        raise ParameterError(f"{name}: expected None (no cap) or a whole number >= 1, "
                             f"got {value!r}")


def e2_settings(profile: str = "smoke", **params):
    """E2's checked parameters: profile defaults (:data:`E2_DEFAULTS`) filled in where a
    parameter is None, then checked (:func:`coordlib.experiments.check_parameters`, which
    creates the ``*_dir`` folders); a wrong one raises ParameterError naming it.

    Besides the folders and ``seed``: ``scenarios`` (shipped N = 2 scenarios), ``variant_base``
    and ``variant_lead_times`` (extra instances: the base with every L_i set to each value),
    ``max_inventory``, ``long_lead_max_inventory``, ``exposure_grid``, ``pipeline``
    (:data:`PIPELINE_READINGS`), ``picture_scenario`` (one of the instance names of
    :func:`e2_instances`), ``replications``, ``periods``, ``warmup``, ``max_lag``.
    """
    from .experiments import ParameterError, check_parameters

    values = _resolve(profile, E2_DEFAULTS, params)
    values["profile"] = profile
    for key in ("max_inventory", "long_lead_max_inventory"):
        _check_cap(key, values.get(key))
    grid = values.get("exposure_grid")
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ParameterError(f"exposure_grid: expected a whole number >= 2, got {grid!r}")
    if values.get("pipeline", "stationary") not in PIPELINE_READINGS:
        raise ParameterError(f"pipeline: one of {', '.join(PIPELINE_READINGS)}, "
                             f"got {values.get('pipeline')!r}")
    lead_times = values.get("variant_lead_times", [])
    if isinstance(lead_times, (str, bytes)) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
            for v in lead_times):
        raise ParameterError(f"variant_lead_times: expected a list of whole numbers >= 0, "
                             f"got {lead_times!r}")
    if "max_lag" in values and (not isinstance(values["max_lag"], (int, np.integer))
                                or values["max_lag"] < 1):
        raise ParameterError(f"max_lag: expected a whole number >= 1, got {values['max_lag']!r}")
    checked = check_parameters(**{k: v for k, v in values.items() if k != "variant_base"})
    if "variant_base" in values:
        check_parameters(scenario=values["variant_base"])
    out = {**checked.values, "variant_base": values.get("variant_base")}
    names = list(e2_instances(out))
    if out.get("picture_scenario") is not None and out["picture_scenario"] not in names:
        raise ParameterError(f"picture_scenario: {out['picture_scenario']!r} is not one of the "
                             f"instances {names}")
    for name, (s, _) in e2_instances(out).items():
        if s.n_products != 2:
            raise ParameterError(f"scenarios: {name!r} has N = {s.n_products} products; the "
                                 "exact DP handles N = 2")
    return type(checked)(out)


def e2_instances(settings) -> dict:
    """The DP instances of E2: name -> (Scenario, max_inventory), in reading order.

    Each shipped scenario of ``settings["scenarios"]`` under its own name, then
    ``variant_base`` with every lead time set to each of ``variant_lead_times`` (named
    ``"<base> L=<value>"``). Instances with some L_i >= 2 get ``long_lead_max_inventory``,
    the others ``max_inventory``.
    """
    settings = settings if isinstance(settings, dict) else settings.values
    out = {}
    named = [(n, get_scenario(n)) for n in settings.get("scenarios", [])]
    base = settings.get("variant_base")
    if base is not None:
        named += [(f"{get_scenario(base).name} L={L}", scenario_variant(base, "lead_time", L))
                  for L in settings.get("variant_lead_times", [])]
    for name, s in named:
        cap = (settings.get("long_lead_max_inventory") if s.lead_time.max() >= 2
               else settings.get("max_inventory"))
        out[name] = (s, cap)
    return out


E9_DEFAULTS = {
    "smoke": dict(bases=["tiny"], lifts=[0.0, 2.0, 4.0], margin_spreads=[0.0, 4.0],
                  lead_times=[0, 1], arrival_rates=[3.0, 6.0], max_inventory=8,
                  lead_time_max_inventory=6, exposure_grid=6, sim_lift_scales=[0.0, 1.0],
                  sim_margin_scales=[], sim_lead_time_shifts=[], sim_arrival_scales=[0.5, 1.0],
                  replications=4, periods=150, warmup=50),
    "paper": dict(bases=["tiny", "tiny-margin"], lifts=[0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0],
                  margin_spreads=[0.0, 1.0, 2.0, 4.0, 6.0], lead_times=[0, 1, 2],
                  arrival_rates=[1.5, 3.0, 6.0, 9.0, 12.0], max_inventory=None,
                  lead_time_max_inventory=10, exposure_grid=11,
                  sim_lift_scales=[0.0, 0.5, 1.0, 2.0, 3.0], sim_margin_scales=[0.25, 0.5, 1.0, 1.5],
                  sim_lead_time_shifts=[0, 1, 2], sim_arrival_scales=[0.25, 0.5, 1.0, 2.0],
                  replications=20, periods=600, warmup=100),
}
"""Profile defaults of E9 (``notebooks/09_sensitivity.ipynb``): what a parameter left None takes.

DP part (:func:`b5_decomposition` on each of ``bases``): ``lifts``, ``margin_spreads``,
``lead_times``, ``arrival_rates``; ``max_inventory`` caps every row but the lead-time rows,
which use ``lead_time_max_inventory``. Simulation part (:func:`heuristic_sensitivity` on
``simulation_scenario``): the ``sim_*`` values of the factors ``lift_scale``,
``margin_scale``, ``lead_time_shift`` and ``arrival_scale``, on ``replications`` x
``periods`` periods after ``warmup``."""

E9_SIMULATION_FACTORS = {"sim_lift_scales": "lift_scale", "sim_margin_scales": "margin_scale",
                         "sim_lead_time_shifts": "lead_time_shift",
                         "sim_arrival_scales": "arrival_scale"}
"""Which :func:`scenario_variant` factor each ``sim_*`` parameter of E9 varies."""


def _check_values(name, values, whole: bool = False, low: float = 0.0, empty: bool = True):
    from .experiments import ParameterError

    kinds = (int, np.integer) if whole else (int, float, np.integer, np.floating)
    if (isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__")
            or (not empty and len(values) == 0)
            or not all(isinstance(v, kinds) and not isinstance(v, bool) and v >= low
                       for v in values)):
        raise ParameterError(f"{name}: expected a {'non-empty ' if not empty else ''}list of "
                             f"{'whole ' if whole else ''}numbers >= {low:g}, got {values!r}")


def e9_settings(profile: str = "smoke", **params):
    """E9's checked parameters: profile defaults (:data:`E9_DEFAULTS`) filled in where a
    parameter is None, then checked; a wrong one raises ParameterError naming it
    (``*_dir`` folders are created). ``simulation_scenario`` None skips the simulation."""
    from .experiments import ParameterError, check_parameters

    values = _resolve(profile, E9_DEFAULTS, params)
    values["profile"] = profile
    for key in ("lifts", "margin_spreads", "arrival_rates", "sim_lift_scales",
                "sim_margin_scales", "sim_arrival_scales"):
        _check_values(key, values[key])
    for key in ("lead_times", "sim_lead_time_shifts"):
        _check_values(key, values[key], whole=True)
    for key in ("max_inventory", "lead_time_max_inventory"):
        _check_cap(key, values.get(key))
    grid = values.get("exposure_grid")
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ParameterError(f"exposure_grid: expected a whole number >= 2, got {grid!r}")
    if not isinstance(values.get("coordinated", False), bool):
        raise ParameterError(f"coordinated: expected True or False, got {values['coordinated']!r}")
    bases = values["bases"]
    check_parameters(scenarios=bases)
    for name in bases:
        if get_scenario(name).n_products != 2:
            raise ParameterError(f"bases: {name!r} has N = {get_scenario(name).n_products} "
                                 "products; the exact DP handles N = 2")
    sim = values.get("simulation_scenario")
    if sim is not None:
        check_parameters(scenario=sim)
        for key, factor in E9_SIMULATION_FACTORS.items():
            for v in values[key]:
                try:
                    scenario_variant(sim, factor, v)
                except ValueError as exc:
                    raise ParameterError(f"{key}: {exc}") from None
    rest = {k: v for k, v in values.items()
            if k not in ("bases", "simulation_scenario") and not k.startswith("sim_")}
    checked = check_parameters(**rest)
    return type(checked)({**values, **checked.values})


# ---- E9: the heuristics by simulation on a larger scenario ------------------------------------
def heuristic_sensitivity(base, factors: Mapping[str, Sequence[float]], replications: int = 10,
                          periods: int = 500, warmup: int = 100, seed: int = 0,
                          cache: Optional[Callable] = None) -> pd.DataFrame:
    """Siloed vs coordinated heuristic, simulated, one factor of :func:`scenario_variant` at a time.

    For every (factor, value) the siloed firm (:func:`coordlib.policies.siloed_heuristic`) and
    the coordinated one (:func:`coordlib.policies.coordinated_heuristic`), each with base-stock
    levels tuned by simulation (seed ``seed + 10000``), are evaluated on ``replications``
    replications of ``periods`` periods after ``warmup`` (seed ``seed``; the same simulator
    seed for both firms). For any scenario size: this is how B5 is checked beyond the DP.
    Returns one row per (factor, value): ``profit_siloed``, ``profit_coordinated`` and
    ``gain`` (coordinated - siloed, paired by replication), each with ``_lo``/``_hi`` (95%
    Student-t interval), and ``arrival_cv`` = 1/sqrt(sum_k lambda_k).
    ``cache`` as in :func:`b5_decomposition`.
    """
    from .evaluation import evaluate, mean_ci

    base = get_scenario(base)
    rows = []
    for factor, values in factors.items():
        for value in values:
            s = scenario_variant(base, factor, value)

            def compute(s=s):
                profit = {}
                for label, make in (("siloed", policies.siloed_heuristic),
                                    ("coordinated", policies.coordinated_heuristic)):
                    policy = make(s, seed=seed + 10_000)
                    profit[label] = evaluate(s, policy, replications, periods, warmup,
                                             seed)["profit"].to_numpy()
                row = {}
                for name, v in (("profit_siloed", profit["siloed"]),
                                ("profit_coordinated", profit["coordinated"]),
                                ("gain", profit["coordinated"] - profit["siloed"])):
                    row[name], row[f"{name}_lo"], row[f"{name}_hi"] = mean_ci(v)
                return row
            config = {"function": "heuristic_sensitivity", "scenario": s.to_dict(),
                      "replications": replications, "periods": periods, "warmup": warmup,
                      "seed": seed}
            row = compute() if cache is None else cache("e9_heuristics", config, compute)
            rows.append({"base": base.name, "factor": factor, "value": float(value),
                         "arrival_cv": float(1 / np.sqrt(s.arrival_rate.sum())), **row})
    return pd.DataFrame(rows)


__all__ = ["b3_report", "b3_exposure_exceptions", "b3_order_exceptions",
           "expected_exposure", "EXPOSURE_HORIZONS", "occupancy", "b4_cross_correlation",
           "b4_peak_lags",
           "cross_correlation", "simulate_policy", "value_of_coordination", "b5_decomposition",
           "best_static", "gmv_greedy_exposure", "margin_spread_scenario", "FACTORS",
           "scenario_variant", "PIPELINE_READINGS", "policy_map", "inventory_axis_label",
           "high_probability_level", "region_edges",
           "best_joint_base_stock", "heuristic_sensitivity", "dp_structure",
           "order_exception_profile",
           "E2_DEFAULTS", "e2_settings", "e2_instances", "E9_DEFAULTS", "E9_SIMULATION_FACTORS",
           "e9_settings"]
