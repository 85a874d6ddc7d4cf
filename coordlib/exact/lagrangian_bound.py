"""A Lagrangian (weakly coupled DP) upper bound on the gain of every policy, at any N.

MODEL.md sections 1-3. With one recommended slot and MNL choice, product i's demand rate is

    mu_i(x) = sum_k lambda_k v_ki (sigma_k + beta_k x_ki / D_ki),
    sigma_k = sum_j x_kj / D_kj,  D_kj = v_k0 + sum_l v_kl + beta_k v_kj,

so the products are coupled only through each segment's exposure simplex and through the
segment aggregates sigma_k. The bound relaxes both and prices the simplex.

Proof sketch (lost sales, review period R = 1, no seasonality)
    1. *The aggregate.* Since x_k is in the simplex, sigma_k lies in [1 / max_j D_kj,
       1 / min_j D_kj]. Give every product its own copy sigma_ki, free in that range each
       period: every policy of the firm gives each product a rate it can also reach with its
       copy, so the relaxation only enlarges the feasible set. The extreme value is never
       plugged in: the product chooses within the range, state by state, and may prefer a low
       rate (profit need not rise with demand when b > 0 or capacity binds).
    2. *The simplex.* Replace sum_i x_ki = 1 by sum_i x_ki <= 1 (a larger set) and price it with
       nu_k >= 0. For any policy of the firm, with long-run averages xbar_ki,
       g = sum_i gbar_i <= sum_k nu_k + sum_i (gbar_i - sum_k nu_k xbar_ki).
       Given the exposures, the products' demands are independent Poisson (MODEL.md 3.3), so
       product i's part of the firm's policy is a (history-dependent, randomised) policy of
       product i's own MDP: state (on-hand, pipeline), action (order q, rate mu with its
       cheapest exposure), reward its profit minus sum_k nu_k x_ki. Its average is at most that
       MDP's optimal gain g_i(nu), hence g* <= B(nu) = sum_k nu_k + sum_i g_i(nu) for every
       nu >= 0. The cheapest exposure of a rate mu is a fractional knapsack: the copies of
       sigma give [m0_i, m1_i] for free, each unit of rate beyond m1_i comes from the segment
       with the lowest nu_k / (lambda_k v_ki beta_k / D_ki), so the exposure cost C_i(mu) is
       convex and piecewise linear with at most K breakpoints.
    3. *Lead times and orders.* An order above M_i is dominated by the order M_i (arrivals are
       capped at M_i, the cost is not), so each product DP orders at most min(Qmax_i, M_i).
       A product whose exact DP is too large is solved with a shorter lead time
       L' < L_i: a firm with lead time L' can place at t the order the L_i-firm placed at
       t - (L_i - L'), so its arrivals, capacity losses and (on average) purchase costs are the
       same, and it knows at least as much; its optimal gain is at least as large, so the bound
       stays valid (with R = 1; R > 1 is refused).
    4. *Continuous rates, finite grids.* Each product MDP is solved by relative value
       iteration with the rate on a grid that contains every breakpoint of C_i. For ANY
       function h on the states, g_i <= max_s (T h - h)(s) with T the Bellman operator over
       the continuous rate (span bound). On a grid cell [a, b], F(mu) = E_mu f(D) - C_i(mu)
       with C_i linear there, and F''(mu) = E_mu[f(D + 2) - 2 f(D + 1) + f(D)] >= -kappa with
       kappa = sum_d max_{mu in [a, b]} P(D_mu = d) (second difference of f at d)^- (the
       Poisson pmf at d peaks at mu = d); so F <= its chord + kappa (b - a)^2 / 8 <=
       max(F(a), F(b)) + kappa (b - a)^2 / 8. That certificate, not the grid's RVI gain, is
       what each product contributes: the bound is valid whether or not RVI has converged.
    The prices are chosen by Kelley's cutting-plane method on the grid's dual function (convex
    in nu: a maximum over policies of affine functions, with subgradient 1 - sum_i xbar_ki from
    each product's stationary distribution); any nu gives a valid bound, so the search only
    decides how tight it is.

Products sharing (p, c, h, b, L, M, Qmax) (the families' types) are solved together, vectorised
over a leading product axis.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse, stats
from scipy.sparse.linalg import spsolve

from ..model.scenario import Scenario
from ..model.scenarios import get as get_scenario

__all__ = ["LagrangianBoundError", "ProductGain", "LagrangianBound", "controlled_rate_gain",
           "rate_options", "lagrangian_bound"]

DEFAULT_MAX_WORK = 2e7
"""Largest Bellman work per product (states x orders x rate points x end stocks) solved with its
own lead time; a product above it is solved with the longest shorter lead time that fits."""
_CHUNK_ENTRIES = 3e7      # products of one type solved together, up to this many work entries


class LagrangianBoundError(ValueError):
    """The scenario is outside what the Lagrangian bound handles."""


@dataclass(frozen=True)
class ProductGain:
    """Product DPs with a controllable rate (one row per product of a batch).

    ``gain`` (P,) the RVI gain on the rate grid (the middle of its span bounds);
    ``upper`` (P,) the certified upper bound on the continuous-rate gain (module docstring,
    step 4); ``relative_values`` (P, S); ``rate_index`` (P, S) the greedy rate point per state;
    ``occupancy`` (P, S) the stationary distribution of the greedy policy; ``n_states`` S;
    ``iterations`` of RVI.
    """

    gain: np.ndarray
    upper: np.ndarray
    relative_values: np.ndarray
    rate_index: np.ndarray
    occupancy: np.ndarray
    n_states: int
    iterations: int


@dataclass(frozen=True)
class LagrangianBound:
    """The bound and how it was obtained.

    ``value``: the upper bound on the long-run average profit per period [g];
    ``prices`` (K,) the simplex prices nu_k; ``product_upper`` (N,) each product's certified
    gain g_i(nu); ``dual_value`` the grid dual function at ``prices`` (a lower estimate of
    ``value``); ``lead_time_used`` (N,) the lead time each product DP kept (step 3);
    ``n_states`` (N,) its state count; ``iterations`` cutting-plane rounds; ``seconds``.
    """

    value: float
    prices: np.ndarray
    product_upper: np.ndarray
    dual_value: float
    lead_time_used: np.ndarray
    n_states: np.ndarray
    iterations: int
    seconds: float


# ----------------------------------------------------------------- one product's DP

def _states(lead_time: int, capacity: int, max_order: int):
    """Reduced states of single_product's DP: (A, o_1..o_{L-1}) for L >= 1, I for L = 0."""
    if lead_time == 0:
        return capacity + 1
    return (capacity + 1) * (max_order + 1) ** (lead_time - 1)


def _work(lead_time: int, capacity: int, max_order: int, points: int) -> float:
    S = _states(lead_time, capacity, max_order)
    if lead_time == 0:
        return float(points) * (capacity + 1) ** 2 + S * (max_order + 1)
    return float(S) * (max_order + 1) * points * (capacity + 1)


def _tables(lead_time, capacity, max_order):
    """Per reduced state: available stock A, and the next state for (order q, end stock e)."""
    M, Qn = capacity, max_order + 1
    if lead_time == 0:
        I = np.arange(M + 1)
        return I, np.minimum(I[:, None] + np.arange(Qn)[None, :], M)      # A after order q
    S = _states(lead_time, M, max_order)
    idx = np.arange(S)
    tail = Qn ** (lead_time - 1)                       # o_1..o_{L-1}, o_1 most significant
    A = idx // tail
    rest = idx % tail
    if lead_time == 1:
        o1, later = np.zeros(S, dtype=int), np.zeros(S, dtype=int)
        e = np.arange(M + 1)
        nxt = np.minimum(e[None, None, :] + np.arange(Qn)[None, :, None], M)
        return A, np.broadcast_to(nxt, (S, Qn, M + 1))
    o1 = rest // (Qn ** (lead_time - 2))
    later = rest % (Qn ** (lead_time - 2))             # o_2..o_{L-1}
    e = np.arange(M + 1)
    a_next = np.minimum(e[None, :] + o1[:, None], M)                   # (S, E)
    nxt = (a_next[:, None, :] * tail + later[:, None, None] * Qn
           + np.arange(Qn)[None, :, None])                             # (S, Qn, E)
    return A, nxt


def _kernels(rates, M):
    """End-stock kernel K[p, g, A, e] and expected profit parts for rates (P, G)."""
    d = np.arange(M + 1)
    pmf = stats.poisson.pmf(d[None, None, :], rates[..., None])         # (P, G, M+1)
    sf = stats.poisson.sf(d[None, None, :] - 1, rates[..., None])       # P(D >= d)
    A = d[:, None]
    e = d[None, :]
    kern = np.where((e >= 1) & (e <= A), pmf[..., np.clip(A - e, 0, M)], 0.0)
    kern[..., 0] = sf[..., :]                                            # P(D >= A)
    sales = np.concatenate([np.zeros(rates.shape + (1,)),
                            np.cumsum(stats.poisson.sf(d[:-1][None, None, :],
                                                       rates[..., None]), axis=-1)], axis=-1)
    return kern, sales                                                   # sales: E min(A, D)


def _period_reward(p, c, h, b, rates, sales, M):
    """E[p s - h e - b l] per (P, G, A): (p + h + b) E min(A, D) - h A - b mu."""
    A = np.arange(M + 1)[None, None, :]
    return (p + h + b) * sales - h * A - b * rates[..., None]


def _q_values(hv, kern, reward, costs, A_of, nxt, c, lead_time):
    """Q[p, s, q, g] (L >= 1) or U[p, A, g] (L = 0) for relative values hv (P, S)."""
    if lead_time == 0:
        ev = np.einsum("pgae,pe->pag", kern, hv)
        return ev + reward.transpose(0, 2, 1) - costs[:, None, :]
    P = hv.shape[0]
    Hn = hv[np.arange(P)[:, None, None, None], nxt[None]]               # (P, S, Qn, E)
    Ks = kern[:, :, A_of, :].transpose(0, 2, 3, 1)                       # (P, S, E, G)
    ev = np.matmul(Hn, Ks)                                               # (P, S, Qn, G)
    Qn = nxt.shape[1]
    return (ev + (reward[:, :, A_of].transpose(0, 2, 1) - costs[:, None, :])[:, :, None, :]
            - c * np.arange(Qn)[None, None, :, None])


def _bellman(hv, kern, reward, costs, A_of, nxt, c, lead_time):
    """(T h)(s) and the greedy (order, rate point) per state."""
    qv = _q_values(hv, kern, reward, costs, A_of, nxt, c, lead_time)
    if lead_time == 0:
        U = qv.max(axis=2)
        g_of_A = qv.argmax(axis=2)
        Qn = nxt.shape[1]
        W = U[:, nxt] - c * np.arange(Qn)[None, None, :]                 # (P, I, Qn)
        q = W.argmax(axis=2)
        A = nxt[np.arange(nxt.shape[0])[None, :], q]
        return W.max(axis=2), q, np.take_along_axis(g_of_A, A, axis=1)
    P, S, Qn, G = qv.shape
    flat = qv.reshape(P, S, Qn * G)
    best = flat.argmax(axis=2)
    return np.take_along_axis(flat, best[..., None], axis=2)[..., 0], best // G, best % G


def _occupancy(kern, q, g, A_of, nxt, lead_time):
    """Stationary distribution of the greedy policy, per product (P, S)."""
    P, S = q.shape
    out = np.zeros((P, S))
    E = kern.shape[-1]
    rows = np.repeat(np.arange(S), E)
    for p in range(P):
        if lead_time == 0:
            probs = kern[p, g[p], nxt[np.arange(S), q[p]], :]            # next I = e
            dest = np.broadcast_to(np.arange(E), (S, E))
        else:
            probs = kern[p, g[p], A_of, :]                               # (S, E)
            dest = nxt[np.arange(S), q[p], :]                            # (S, E)
        T = sparse.csr_matrix((probs.reshape(-1), (rows, dest.reshape(-1))), shape=(S, S))
        # pi (T - I) = 0 with sum pi = 1: replace the last equation by the normalisation
        lhs = (T.T - sparse.identity(S, format="csr")).tolil()
        lhs[S - 1, :] = np.ones(S)
        rhs = np.zeros(S)
        rhs[-1] = 1.0
        pi = spsolve(lhs.tocsc(), rhs)
        if not np.all(np.isfinite(pi)):
            pi = np.linalg.lstsq(lhs.toarray(), rhs, rcond=None)[0]
        pi = np.clip(pi, 0.0, None)
        out[p] = pi / max(pi.sum(), 1e-300)
    return out


def _certificate(hv, rates, costs, p, c, h, b, lead_time, M, A_of, nxt):
    """max_s (T_cont h - h)(s) per product (module docstring, step 4); rates sorted (P, G)
    with the exposure cost linear between neighbouring points."""
    kern, sales = _kernels(rates, M)
    reward = _period_reward(p, c, h, b, rates, sales, M)
    qv = _q_values(hv, kern, reward, costs, A_of, nxt, c, lead_time)    # (..., G)
    P = hv.shape[0]
    # f(d) for d = 0..M+2: the period's profit and the next state's value given demand d
    d = np.arange(M + 3)
    if lead_time == 0:
        Avals = np.arange(M + 1)
        sold = np.minimum(Avals[:, None], d[None, :])                    # (A, D)
        e = Avals[:, None] - sold
        rew = p * sold - h * e - b * (d[None, :] - sold)
        f = rew[None] + hv[:, e]                                         # (P, A, D)
    else:
        Avals = A_of
        sold = np.minimum(Avals[:, None], d[None, :])                    # (S, D)
        e = Avals[:, None] - sold
        rew = p * sold - h * e - b * (d[None, :] - sold)
        nd = np.take_along_axis(nxt, np.broadcast_to(e[:, None, :], (nxt.shape[0],) + (nxt.shape[1], d.size)), axis=2)
        f = rew[None, :, None, :] + hv[np.arange(P)[:, None, None, None], nd[None]]
    second = f[..., 2:] - 2 * f[..., 1:-1] + f[..., :-2]                 # d = 0..M
    neg = np.maximum(-second, 0.0)
    if rates.shape[1] > 1:
        lo, hi = rates[:, :-1], rates[:, 1:]                             # (P, cells)
        dd = np.arange(M + 1)
        peak = np.clip(dd[None, None, :], lo[..., None], hi[..., None])
        pmfmax = stats.poisson.pmf(dd[None, None, :], peak)              # (P, cells, D)
        width2 = (hi - lo) ** 2 / 8.0
        if lead_time == 0:
            kappa = np.einsum("pad,pcd->pac", neg, pmfmax)
            cell = np.maximum(qv[..., :-1], qv[..., 1:]) + kappa * width2[:, None, :]
        else:
            kappa = np.einsum("psqd,pcd->psqc", neg, pmfmax)
            cell = (np.maximum(qv[..., :-1], qv[..., 1:])
                    + kappa * width2[:, None, None, :])
        best = np.maximum(cell.max(axis=-1), qv.max(axis=-1))
    else:
        best = qv.max(axis=-1)
    if lead_time == 0:
        Qn = nxt.shape[1]
        Tv = (best[:, nxt] - c * np.arange(Qn)[None, None, :]).max(axis=2)
    else:
        Tv = best.max(axis=2)
    return (Tv - hv).max(axis=1)


def controlled_rate_gain(price, unit_cost, holding_cost, lost_sale_penalty, lead_time, capacity,
                         max_order, rates, rate_costs, tol=1e-6, max_iter=3000,
                         relative_values=None, certify_rates=None,
                         certify_costs=None) -> ProductGain:
    """Average-reward DP of products whose demand rate is chosen each period, vectorised.

    Products of one batch share price [p_i], unit_cost [c_i], holding_cost [h_i],
    lost_sale_penalty [b_i], lead_time [L_i], capacity [M_i] and max_order [Qmax_i] (lost
    sales, R = 1, MODEL.md section 3). ``rates`` (P, G): the rate points mu each product may
    pick [mu_i]; ``rate_costs`` (P, G): what each costs per period (module docstring,
    C_i(mu)). With G = 1 and zero cost this is :func:`single_product.solve`'s problem.
    ``certify_rates``/``certify_costs`` (P, G2, sorted, the cost linear between points): the
    grid the continuous-rate certificate uses (default ``rates``/``rate_costs``).
    ``relative_values`` (P, S): a warm start. ``certify_rates=False`` skips the certificate
    (``upper`` is then NaN).
    """
    p, c, h, b = map(float, (price, unit_cost, holding_cost, lost_sale_penalty))
    L, M, Qmax = int(lead_time), int(capacity), int(max_order)
    rates = np.atleast_2d(np.asarray(rates, dtype=float))
    rate_costs = np.atleast_2d(np.asarray(rate_costs, dtype=float))
    if rates.shape != rate_costs.shape:
        raise LagrangianBoundError(f"rates {rates.shape} and rate_costs {rate_costs.shape} "
                                   "must have the same shape (P, G)")
    if np.any(rates < 0) or not np.all(np.isfinite(rates)):
        raise LagrangianBoundError("rates must be finite and >= 0 [mu]")
    P = rates.shape[0]
    # an order above M is dominated by the order M: its arrival is capped at M all the same
    Qmax = min(Qmax, M)
    A_of, nxt = _tables(L, M, Qmax)
    S = _states(L, M, Qmax)
    hv = (np.zeros((P, S)) if relative_values is None
          else np.array(relative_values, dtype=float))
    kern, sales = _kernels(rates, M)
    reward = _period_reward(p, c, h, b, rates, sales, M)
    hv, lo, hi, it = _rvi(hv, kern, reward, rate_costs, A_of, nxt, c, L, tol, max_iter)
    Tv, q, g = _bellman(hv, kern, reward, rate_costs, A_of, nxt, c, L)
    occupancy = _occupancy(kern, q, g, A_of, nxt, L)
    hc = hv
    if certify_rates is None:
        certify_rates, certify_costs = rates, rate_costs
    elif certify_rates is False:
        return ProductGain(gain=0.5 * (lo + hi), upper=np.full(P, np.nan), relative_values=hv,
                           rate_index=g, occupancy=occupancy, n_states=S, iterations=it)
    else:
        # the span bound is tight only for h near the fixed point of the certificate's grid
        certify_rates = np.atleast_2d(np.asarray(certify_rates, dtype=float))
        certify_costs = np.atleast_2d(np.asarray(certify_costs, dtype=float))
        ck, cs = _kernels(certify_rates, M)
        creward = _period_reward(p, c, h, b, certify_rates, cs, M)
        hc = _rvi(hv, ck, creward, certify_costs, A_of, nxt, c, L, tol, max_iter)[0]
    upper = _certificate(hc, certify_rates, certify_costs, p, c, h, b, L, M, A_of, nxt)
    return ProductGain(gain=0.5 * (lo + hi), upper=upper, relative_values=hv, rate_index=g,
                       occupancy=occupancy, n_states=S, iterations=it)


def _rvi(hv, kern, reward, costs, A_of, nxt, c, L, tol, max_iter):
    """Relative value iteration to the span tolerance: (h, lower, upper, iterations)."""
    lo = hi = np.zeros(hv.shape[0])
    it = 0
    for it in range(1, max_iter + 1):
        Tv = _bellman(hv, kern, reward, costs, A_of, nxt, c, L)[0]
        diff = Tv - hv
        lo, hi = diff.min(axis=1), diff.max(axis=1)
        hv = Tv - Tv[:, :1]
        if np.all(hi - lo <= tol * np.maximum(1.0, np.abs(0.5 * (lo + hi)))):
            break
    return hv, lo, hi, it


# ------------------------------------------------------------- the relaxed products

def _segment_terms(s: Scenario):
    """Per (segment k, product i): the zero-exposure rate range [lo_ki, hi_ki] and the rate per
    unit of exposure ex_ki at the top of the range (module docstring, step 1).

    With a_ki = lambda_k v_ki, the true sigma_k = x_ki / D_ki + sum_{j != i} x_kj / D_kj and
    the others' exposures sum to 1 - x_ki, so segment k gives product i a rate between
    a_ki (x / D_ki + (1 - x) / max_{j != i} D_kj) + e_ki x and the same with the min, e_ki
    = a_ki beta_k / D_ki. Both ends rise with x, so the cheapest exposure of a rate is 0 up to
    hi_ki = a_ki / min_{j != i} D_kj and then rises at ex_ki = a_ki (1 + beta_k) / D_ki - hi_ki.
    """
    v, beta = s.attraction, s.lift
    denom = s.outside_attraction[:, None] + v.sum(axis=1)[:, None] + beta[:, None] * v   # D_kj
    a = s.arrival_rate[:, None] * v
    if s.n_products == 1:
        others_min = others_max = denom
    else:
        srt = np.sort(denom, axis=1)
        others_min = np.where(denom == srt[:, :1], srt[:, 1:2], srt[:, :1])
        others_max = np.where(denom == srt[:, -1:], srt[:, -2:-1], srt[:, -1:])
    lo, hi = a / others_max, a / others_min
    return lo, hi, a * (1.0 + beta[:, None]) / denom - hi


def _greedy(ex, nu):
    """Segments in the order the cheapest exposure uses them (lowest nu_k / ex_ki first): the
    order (P, K), the rates they add in that order and their running sums (P, K + 1)."""
    ratio = np.where(ex > 0, nu[None, :] / np.where(ex > 0, ex, 1.0), np.inf)
    order = np.argsort(ratio, axis=1, kind="stable")
    ex_sorted = np.take_along_axis(ex, order, axis=1)
    cum = np.concatenate([np.zeros((ex.shape[0], 1)), np.cumsum(ex_sorted, axis=1)], axis=1)
    return order, ex_sorted, cum


def _exposures_at(s: Scenario, nu, products, rates):
    """The cheapest exposure x_ki of each rate (P, G) of the products: (P, G, K)."""
    _, hi, ex = _segment_terms(s)
    order, ex_sorted, cum = _greedy(ex[:, products].T, nu)
    extra = np.clip(rates - hi[:, products].sum(axis=0)[:, None], 0.0, None)
    filled = np.clip(extra[:, :, None] - cum[:, None, :-1], 0.0, ex_sorted[:, None, :])
    x_sorted = np.where(ex_sorted[:, None, :] > 0,
                        filled / np.where(ex_sorted > 0, ex_sorted, 1.0)[:, None, :], 0.0)
    exposure = np.zeros_like(x_sorted)
    np.put_along_axis(exposure, np.broadcast_to(order[:, None, :], x_sorted.shape), x_sorted,
                      axis=2)
    return exposure


def rate_options(scenario, prices, products=None, points: int = 16):
    """Rate grids, their exposure costs and exposures for the relaxed products.

    ``prices`` (K,): the simplex prices nu_k >= 0. Returns (rates (P, G), costs (P, G),
    exposures (P, G, K)): ``points`` even rates over product i's range [m0_i, m1_i + sum_k
    ex_ki] (module docstring, steps 1-2) merged with the breakpoints of C_i, sorted, each
    with its cheapest exposure x_ki and its cost C_i(mu) = sum_k nu_k x_ki (linear between
    neighbouring rates, as the certificate needs).
    """
    s = get_scenario(scenario)
    nu = np.asarray(prices, dtype=float)
    lo, hi, ex = _segment_terms(s)
    idx = np.arange(s.n_products) if products is None else np.asarray(products)
    m0, m1 = lo[:, idx].sum(axis=0), hi[:, idx].sum(axis=0)
    cum = _greedy(ex[:, idx].T, nu)[2]
    top = m1 + cum[:, -1]
    even = m0[:, None] + (top - m0)[:, None] * np.linspace(0.0, 1.0, int(points))[None, :]
    rates = np.minimum(np.sort(np.concatenate([even, m1[:, None] + cum], axis=1), axis=1),
                       top[:, None])
    exposure = _exposures_at(s, nu, idx, rates)
    return rates, exposure @ nu, exposure


def _type_groups(s: Scenario, lead_used):
    keys = np.stack([s.price, s.unit_cost, s.holding_cost, s.lost_sale_penalty, lead_used,
                     s.capacity, s.max_order], axis=1)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    return [np.flatnonzero(inverse.reshape(-1) == t) for t in range(inverse.max() + 1)]


def _check(s: Scenario):
    if s.seasonal:
        raise LagrangianBoundError("Lagrangian bound: seasonal scenarios need phase-dependent "
                                   "prices, which this bound does not have")
    if s.review_period != 1:
        raise LagrangianBoundError(f"Lagrangian bound: review period R = {s.review_period}; "
                                   "only R = 1 is handled")
    if s.backlog:
        raise LagrangianBoundError("Lagrangian bound: the backlog variant is not handled; "
                                   "use theory.fluid_bound")


def lead_times_used(scenario, points: int = 16, max_work: float = DEFAULT_MAX_WORK):
    """The lead time each product's DP keeps (module docstring, step 3) and its state count."""
    s = get_scenario(scenario)
    used = np.zeros(s.n_products, dtype=int)
    states = np.zeros(s.n_products, dtype=int)
    for i in range(s.n_products):
        M = int(s.capacity[i])
        Q = min(int(s.max_order[i]), M)
        L = int(s.lead_time[i])
        while L > 0 and _work(L, M, Q, points) > max_work:
            L -= 1
        if _work(L, M, Q, points) > max_work:
            raise LagrangianBoundError(
                f"Lagrangian bound: product {i} has {_states(L, M, Q):,} states even with lead "
                f"time 0 (work {_work(L, M, Q, points):.3g} > max_work={max_work:.3g})")
        used[i], states[i] = L, _states(L, M, Q)
    return used, states


class _Dual:
    """The grid dual function B(nu) = sum nu + sum_i g_i(nu) and a subgradient."""

    def __init__(self, s, points, certify_points, max_work, tol):
        self.s, self.points, self.tol = s, points, tol
        self.certify_points = certify_points
        self.used, self.states = lead_times_used(s, points, max_work)
        self.groups = _type_groups(s, self.used)
        self.warm: dict = {}

    def _chunks(self, members, points):
        i = members[0]
        M = int(self.s.capacity[i])
        work = _work(int(self.used[i]), M, min(int(self.s.max_order[i]), M), points)
        size = max(1, int(_CHUNK_ENTRIES // max(work, 1.0)))
        return [members[j:j + size] for j in range(0, len(members), size)]

    def solve(self, nu, certify=False):
        s = self.s
        gains = np.zeros(s.n_products)
        upper = np.zeros(s.n_products)
        xbar = np.zeros((s.n_products, s.n_segments))
        for members in self.groups:
            i = members[0]
            for chunk in self._chunks(members, self.certify_points if certify else self.points):
                rates, costs, exposure = rate_options(s, nu, chunk, self.points)
                crates = ccosts = False
                if certify:
                    crates, ccosts, _ = rate_options(s, nu, chunk, self.certify_points)
                key = tuple(chunk.tolist())
                res = controlled_rate_gain(
                    s.price[i], s.unit_cost[i], s.holding_cost[i], s.lost_sale_penalty[i],
                    self.used[i], s.capacity[i], s.max_order[i], rates, costs, tol=self.tol,
                    relative_values=self.warm.get(key), certify_rates=crates,
                    certify_costs=ccosts)
                self.warm[key] = res.relative_values
                gains[chunk] = res.gain
                upper[chunk] = res.upper
                picked = np.take_along_axis(exposure, res.rate_index[..., None], axis=1)
                xbar[chunk] = np.einsum("ps,psk->pk", res.occupancy, picked)
        return gains, upper, xbar


def lagrangian_bound(scenario, points: int = 24, iterations: int = 25, rel_tol: float = 2e-3,
                     max_work: float = DEFAULT_MAX_WORK, tol: float = 1e-5,
                     certify_points: int = 128) -> LagrangianBound:
    """The Lagrangian upper bound on the gain of every policy (module docstring).

    ``scenario``: a Scenario or a shipped name (lost sales, R = 1, no seasonality).
    ``points``: rate grid points per product DP (the certificate adds C_i's breakpoints).
    ``iterations``: the most cutting-plane rounds over the prices nu_k; ``rel_tol``: stop when
    the best dual value is within this fraction of the cutting-plane model's minimum.
    ``max_work``: per-product DP size above which its lead time L_i is shortened (step 3).
    ``tol``: relative span tolerance of each product's RVI. ``certify_points``: even rate
    points of the final certificate (step 4; its error term shrinks with their spacing squared).
    """
    started = time.perf_counter()
    s = get_scenario(scenario)
    _check(s)
    for what, value in (("points", points), ("certify_points", certify_points)):
        if int(value) != value or value < 2:
            raise LagrangianBoundError(f"Lagrangian bound: {what} must be a whole number >= 2, "
                                       f"got {value!r}")
    dual = _Dual(s, int(points), int(certify_points), float(max_work), float(tol))
    K = s.n_segments
    ex = _segment_terms(s)[2]
    margin = s.price - s.unit_cost + s.lost_sale_penalty + s.holding_cost
    nu_top = (ex * margin[None, :]).max(axis=1) + 1e-9                  # no product pays more
    nu = 0.5 * nu_top
    radius = 0.5 * nu_top
    cuts_val, cuts_grad, cuts_at = [], [], []
    best_val, best_nu = math.inf, nu.copy()
    rounds = 0
    for rounds in range(1, int(iterations) + 1):
        gains, _, xbar = dual.solve(nu)
        value = nu.sum() + gains.sum()
        if value < best_val:
            best_val, best_nu = value, nu.copy()
        else:
            radius = 0.5 * radius          # the model misled: trust it on a smaller box
        cuts_val.append(value)
        cuts_grad.append(1.0 - xbar.sum(axis=0))
        cuts_at.append(nu.copy())
        # Kelley in a trust region: min t s.t. t >= B_j + g_j (nu - nu_j), |nu - best| <= radius
        G = np.array(cuts_grad)
        rhs = np.array([vj - gj @ aj for vj, gj, aj in zip(cuts_val, cuts_grad, cuts_at)])
        box = list(zip(np.maximum(0.0, best_nu - radius), np.minimum(nu_top, best_nu + radius)))
        lp = optimize.linprog(np.r_[np.zeros(K), 1.0], A_ub=np.c_[G, -np.ones(len(G))],
                              b_ub=-rhs, bounds=box + [(None, None)], method="highs")
        if lp.status != 0:
            break
        nu = lp.x[:K]
        if best_val - lp.x[-1] <= rel_tol * max(1.0, abs(best_val)):
            break
    gains, upper, _ = dual.solve(best_nu, certify=True)
    return LagrangianBound(value=float(best_nu.sum() + upper.sum()), prices=best_nu,
                           product_upper=upper, dual_value=float(best_nu.sum() + gains.sum()),
                           lead_time_used=dual.used, n_states=dual.states, iterations=rounds,
                           seconds=time.perf_counter() - started)
