"""The structure of optimal coordination, checked on the exact DP: MODEL.md section 5, B3 and B4.

- **B3** (synchronized across products): over the whole optimal policy table of a
  :class:`coordlib.exact.dp.DPSolution`, :func:`b3_exposure_exceptions` lists every pair of
  neighbouring states where a product's exposure falls as its own inventory rises, or rises as
  the other product's inventory rises, and :func:`b3_order_exceptions` every pair of states
  (same own state) where a product's order falls while its expected exposure rises, with
  "expected exposure" read three ways (:func:`expected_exposure`: this period, when the order
  arrives, or averaged over the periods t..t + L_i the order must cover).
  :func:`b3_report` counts them per statement. Nothing is hidden: each exception comes with
  the states, the values, the value lost by the other choice (to tell a tie from a strict
  exception) and the stationary probability of the states.
- **B4** (synchronized over time): :func:`b4_cross_correlation` simulates the optimal policy
  and measures corr(q_i(t), exposure_i(t + k)); :func:`b4_peak_lags` gives the lag of its pe
B5 (the value of coordination) is in :mod:`coordlib.exact.coordination`.

).

"Inventory" in B3 is the stock available for sale this period (``available_i``, on-hand after
arrivals) for L_i >= 1, and the on-hand before ordering (``on_hand_i``) for L_i = 0, each with
everything else in the state held fixed (phase, pipeline, the other product). A product's
exposure is its share x_ki for each segment k, and for orders the arrival-weighted share
sum_k lambda_k x_ki / sum_k lambda_k. With N = 2, x_k1 = 1 - x_k2, so "exposure of product 1
rises with I_1" and "exposure of product 2 falls with I_1" are the same statement; both are
listed so that every statement of MODEL.md has its own row.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from ..model.rollout import trajectories
from . import dp, policy_evaluation

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
    ev = policy_evaluation.evaluate_policy(solution.scenario, solution)
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
    P, _ = policy_evaluation.transition_matrix(solution)
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


def simulate_optimal_policy(solution: dp.DPSolution, replications: int = 32, periods: int = 600,
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
    traj = simulate_optimal_policy(solution, replications, periods, warmup, seed)
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
