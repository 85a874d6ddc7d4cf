"""Base-stock under lost sales with a lead time, by the exact Markov chain of one product."""
from __future__ import annotations

import itertools
import math
from typing import Optional

import numpy as np
from scipy import sparse, stats

from .newsvendor import _check_mean, _poisson_functions


# ---- exact multi-period lost sales with lead time (no closed form) -------------------------------
def lost_sales_base_stock(mean, stock_level: int, lead_time: int, price, unit_cost, holding_cost,
                          lost_sale_penalty, *, capacity: Optional[int] = None,
                          max_order: Optional[int] = None) -> float:
    """Exact long-run profit per period of one product under base-stock S, lost sales, lead
    time L, Poisson(mean) demand and a fixed exposure (MODEL.md 3, one product).

    A Markov chain on (on-hand, pipeline) before ordering, with I + pipeline <= S; the gain is
    the stationary expected profit (a sparse linear solve). With L = 0 it equals the
    ``"stationary"`` newsvendor of :func:`coordlib.theory.newsvendor.newsvendor_poisson_profit`. Numerical, not SymPy:
    there is no closed form under lost sales with L >= 1. ``capacity`` [M_i] caps on-hand
    after arrivals; ``max_order`` [Qmax_i] caps orders (default: no caps).
    """
    mu = float(_check_mean(mean))
    S, L = int(stock_level), int(lead_time)
    if S < 0 or L < 0:
        raise ValueError(f"stock_level and lead_time must be >= 0, got {stock_level}, {lead_time}")
    M = S if capacity is None else int(capacity)
    Q = S if max_order is None else int(max_order)
    n = math.comb(S + L + 1, L + 1)               # (on-hand, pipeline) with total <= S
    if n > 60_000:
        raise ValueError(f"lost_sales_base_stock: {n} states for S = {S}, L = {L}; too large "
                         "(at most 60000)")
    states = np.array([s for s in itertools.product(range(S + 1), repeat=L + 1) if sum(s) <= S],
                      dtype=np.int64).reshape(-1, L + 1)
    radix = (S + 1) ** np.arange(L, -1, -1)
    index = np.full((S + 1) ** (L + 1), -1, dtype=np.int64)
    index[states @ radix] = np.arange(n)
    on_hand, pipe = states[:, 0], states[:, 1:]
    q = np.clip(S - states.sum(axis=1), 0, Q)
    if L == 0:
        A = np.minimum(on_hand + q, M)
        new_pipe = np.zeros((n, 0), dtype=np.int64)
    else:
        A = np.minimum(on_hand + pipe[:, 0], M)
        new_pipe = np.concatenate([pipe[:, 1:], q[:, None]], axis=1)
    d = np.arange(S + 1)
    pmf = stats.poisson.pmf(d, mu)
    tail = stats.poisson.sf(d - 1, mu)                       # P(D >= d)
    prob = np.where(d[None, :] < A[:, None], pmf[None, :], 0.0)
    prob[np.arange(n), A] = tail[A]                          # demand >= A empties the shelf
    left = np.maximum(A[:, None] - d[None, :], 0)
    nxt = index[(np.concatenate([left[..., None], np.broadcast_to(new_pipe[:, None, :],
                                                                  (n, S + 1, L))], axis=2)
                 @ radix)]
    shortage = _poisson_functions()["shortage"](A.astype(float), mu)
    sales = mu - shortage
    reward = (price * sales - unit_cost * q - holding_cost * (A - sales)
              - lost_sale_penalty * shortage)
    # stationary distribution by power iteration (the chain mixes in a few lead times; a
    # direct sparse solve fills in badly for L >= 2), checked against its residual
    keep = prob > 0
    P = sparse.csr_matrix((prob[keep], (np.broadcast_to(np.arange(n)[:, None], prob.shape)[keep],
                                        nxt[keep])), shape=(n, n))
    PT = P.T.tocsr()
    pi = np.full(n, 1.0 / n)
    for _ in range(200_000):
        new = PT @ pi
        if np.abs(new - pi).sum() < 1e-15:
            break
        pi = new
    pi = new / new.sum()
    residual = np.abs(PT @ pi - pi).sum()
    if residual > 1e-12:
        raise RuntimeError(f"lost_sales_base_stock: stationary distribution did not converge "
                           f"(residual {residual:.2e}, S = {S}, L = {L}, mu = {mu})")
    return float(pi @ reward)


def lost_sales_base_stock_optimum(mean, lead_time: int, price, unit_cost, holding_cost,
                                  lost_sale_penalty, *, full_search: bool = False) -> tuple[int, float]:
    """(S*, gain): the best base-stock level for one product under lost sales (exact).

    The long-run cost of base-stock S under lost sales is convex in S (Janakiraman and Roundy,
    Operations Research 52(5), 2004), so the search walks up from S = 0 and stops at the first
    decrease; ``full_search=True`` evaluates every S up to the 0.9999 quantile of demand over
    L + 1 periods instead (used by the tests to check the shortcut).
    """
    mu = float(_check_mean(mean))
    top = int(stats.poisson.ppf(0.9999, mu * (lead_time + 1))) + 2
    args = (lead_time, price, unit_cost, holding_cost, lost_sale_penalty)
    best, best_gain = 0, lost_sales_base_stock(mu, 0, *args)
    for S in range(1, top + 1):
        gain = lost_sales_base_stock(mu, S, *args)
        if gain > best_gain:
            best, best_gain = S, gain
        elif not full_search:
            break
    return best, float(best_gain)
