"""A Lagrangian (weakly coupled DP) upper bound on the gain of every policy, at any N.

MODEL.md sections 1-3. With one recommended slot and MNL choice, product i's demand rate is

    mu_i(x) = sum_k lambda_k v_ki (sigma_k + beta_k x_ki / D_ki),
    sigma_k = sum_j x_kj / D_kj,  D_kj = v_k0 + sum_l v_kl + beta_k v_kj,

so the products are coupled only through each segment's exposure simplex and through the
segment aggregates sigma_k. The bound gives each product its own copies of the aggregates and
prices both couplings.

Proof sketch (lost sales, review period R = 1, no seasonality)
    1. *The aggregate.* Give product i its own copy sigma_ki of sigma_k. Since the other
       products' exposures sum to 1 - x_ki, every policy of the firm keeps (x_ki, sigma_k) in
       the triangle T_ki with corners (0, 1 / max_{j != i} D_kj), (0, 1 / min_{j != i} D_kj)
       and (1, 1 / D_ki); the relaxation lets (x_ki, sigma_ki) range over T_ki, state by state,
       so it only enlarges the feasible set. The extreme value is never plugged in: the
       product chooses within T_ki and may prefer a low rate (profit need not rise with
       demand when b > 0 or capacity binds).
    2. *The prices.* For nu in R^K and multipliers eta_ki of sigma_ki = sigma_k (any real
       values; the search keeps them in a small family, :func:`aggregate_features`), let
       alpha_ki = nu_k - (sum_l eta_kl) / D_ki. Whenever x_k is in the simplex and sigma_k is
       the true aggregate, sum_i sum_k (alpha_ki x_ki + eta_ki sigma_k) = sum_k nu_k, since
       sum_i x_ki = 1 and sum_i x_ki / D_ki = sigma_k. So for any policy of the firm, with long-run averages,
       g = sum_i gbar_i = sum_k nu_k + sum_i (gbar_i - avg sum_k (alpha_ki x_ki + eta_ki
       sigma_k)). Given the exposures, the products' demands are independent Poisson (MODEL.md
       3.3), so product i's part of the firm's policy is a (history-dependent, randomised)
       policy of product i's own MDP: state (on-hand, pipeline), action (order q, a point of
       T_ki per segment), rate mu_i = sum_k a_ki (sigma_ki + beta_k x_ki / D_ki) with a_ki =
       lambda_k v_ki, reward its profit minus the charge sum_k (alpha_ki x_ki + eta_ki
       sigma_ki). Its average is at most that MDP's optimal gain g_i(nu, eta), hence g* <=
       B(nu, eta) = sum_k nu_k + sum_i g_i(nu, eta) for every nu, eta. Only the rate matters to
       the product, so it pays the cheapest charge C_i(mu) of its rate: per segment the lower
       hull of T_ki's three corners mapped to (rate, charge), one or two linear pieces; over the
       segments a fractional knapsack filling the pieces by slope. C_i is convex and piecewise
       linear with at most 2K breakpoints. With eta = 0 and nu >= 0 the copy is free between
       its corners and C_i charges nu_k per unit of exposure: the unpriced bound.
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
    in (nu, eta): a maximum over policies of affine functions; from each product's stationary
    distribution, d/dnu_k = 1 - sum_i xbar_ki and d/deta_ki = sum_l xbar_kl / D_kl -
    sigmabar_ki, chained through the family), first over nu with eta = 0 (the unpriced bound), then over both; any prices
    give a valid bound, so the search only decides how tight it is. The final certificate is
    taken at the best prices found and, if it lies above the unpriced prices' lower span bound,
    at those too, the lower one kept: never above the unpriced bound at the same settings.

Products sharing (p, c, h, b, L, M, Qmax) (the families' types) are solved together, vectorised
over a leading product axis.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import optimize, sparse, stats
from scipy.sparse.linalg import spsolve

from ..model.scenario import Scenario
from ..model.scenarios import get as get_scenario

__all__ = ["LagrangianBoundError", "ProductGain", "LagrangianBound", "controlled_rate_gain",
           "RateOptions", "rate_options", "AGGREGATE_FAMILIES", "aggregate_features",
           "lagrangian_bound"]

DEFAULT_MAX_WORK = 2e7
"""Largest Bellman work per product (states x orders x rate points x end stocks) solved with its
own lead time; a product above it is solved with the longest shorter lead time that fits."""
_CHUNK_ENTRIES = 3e7      # products of one type solved together, up to this many work entries


class LagrangianBoundError(ValueError):
    """The scenario is outside what the Lagrangian bound handles."""


@dataclass(frozen=True)
class ProductGain:
    """Product DPs with a controllable rate (one row per product of a batch).

    ``gain`` (P,) the RVI gain on the rate grid (the middle of its span bounds); ``lower``
    (P,) the lower span bound (at most the grid's gain, so at most the continuous rate's);
    ``upper`` (P,) the certified upper bound on the continuous-rate gain (module docstring,
    step 4); ``relative_values`` (P, S); ``rate_index`` (P, S) the greedy rate point per state;
    ``occupancy`` (P, S) the stationary distribution of the greedy policy; ``n_states`` S;
    ``iterations`` of RVI.
    """

    gain: np.ndarray
    lower: np.ndarray
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
    ``prices`` (K,) the simplex prices nu_k; ``aggregate_prices`` (K, N) the prices eta_ki of
    the aggregate copies; ``product_upper`` (N,) each product's certified
    gain g_i(nu); ``dual_value`` the grid dual function at ``prices`` (a lower estimate of
    ``value``); ``lead_time_used`` (N,) the lead time each product DP kept (step 3);
    ``n_states`` (N,) its state count; ``iterations`` cutting-plane rounds; ``seconds``.
    """

    value: float
    prices: np.ndarray
    aggregate_prices: np.ndarray
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
        return ProductGain(gain=0.5 * (lo + hi), lower=lo, upper=np.full(P, np.nan),
                           relative_values=hv, rate_index=g, occupancy=occupancy, n_states=S,
                           iterations=it)
    else:
        # the span bound is tight only for h near the fixed point of the certificate's grid
        certify_rates = np.atleast_2d(np.asarray(certify_rates, dtype=float))
        certify_costs = np.atleast_2d(np.asarray(certify_costs, dtype=float))
        ck, cs = _kernels(certify_rates, M)
        creward = _period_reward(p, c, h, b, certify_rates, cs, M)
        hc = _rvi(hv, ck, creward, certify_costs, A_of, nxt, c, L, tol, max_iter)[0]
    upper = _certificate(hc, certify_rates, certify_costs, p, c, h, b, L, M, A_of, nxt)
    return ProductGain(gain=0.5 * (lo + hi), lower=lo, upper=upper, relative_values=hv,
                       rate_index=g, occupancy=occupancy, n_states=S, iterations=it)


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

def _segment_geometry(s: Scenario):
    """Per (segment k, product i), (K, N) each: a_ki = lambda_k v_ki, the range [lo_ki, hi_ki]
    of product i's copy of sigma_k at zero own exposure, and 1 / D_ki (module docstring, step 1).

    The true sigma_k = x_ki / D_ki + sum_{j != i} x_kj / D_kj and the others' exposures sum to
    1 - x_ki, so (x_ki, sigma_ki) lies in the triangle with corners (0, 1 / max_{j != i}
    D_kj), (0, 1 / min_{j != i} D_kj) and (1, 1 / D_ki).
    """
    v, beta = s.attraction, s.lift
    denom = s.outside_attraction[:, None] + v.sum(axis=1)[:, None] + beta[:, None] * v   # D_kj
    if s.n_products == 1:
        others_min = others_max = denom
    else:
        srt = np.sort(denom, axis=1)
        others_min = np.where(denom == srt[:, :1], srt[:, 1:2], srt[:, :1])
        others_max = np.where(denom == srt[:, -1:], srt[:, -2:-1], srt[:, -1:])
    return s.arrival_rate[:, None] * v, 1.0 / others_max, 1.0 / others_min, 1.0 / denom


def _segment_terms(s: Scenario):
    """Per (segment k, product i): the rates [lo_ki, hi_ki] segment k gives product i at zero
    exposure, and the rate one unit of exposure adds at the top of that range, ex_ki =
    a_ki (1 + beta_k) / D_ki - hi_ki (the prices' scale in :func:`lagrangian_bound`)."""
    a, s_lo, s_hi, inv_d = _segment_geometry(s)
    return a * s_lo, a * s_hi, a * (1.0 + s.lift[:, None]) * inv_d - a * s_hi


class RateOptions(NamedTuple):
    """Rate points of relaxed products and what the cheapest way to reach each costs.

    ``rates`` (P, G) sorted [mu_i]; ``costs`` (P, G) the Lagrangian charge C_i(mu), linear
    between neighbouring points; ``exposures`` (P, G, K) the exposures x_ki and
    ``aggregates`` (P, G, K) the copies sigma_ki that reach each rate at that charge.
    """

    rates: np.ndarray
    costs: np.ndarray
    exposures: np.ndarray
    aggregates: np.ndarray


def _charges(s: Scenario, prices, aggregate_prices, idx):
    """Per product of idx and segment (P, K): the exposure charge alpha_ki = nu_k - (sum_l
    eta_kl) / D_ki and the copy's price eta_ki (module docstring, step 2). ``aggregate_prices``
    (K,) is one price per segment (eta_ki = eta_k), (K, N) one per product."""
    nu = np.asarray(prices, dtype=float)
    eta = np.asarray(aggregate_prices, dtype=float)
    eta = np.broadcast_to(eta.reshape(s.n_segments, -1) if eta.ndim else eta,
                          (s.n_segments, s.n_products))
    inv_d = _segment_geometry(s)[3]
    alpha = nu[:, None] - eta.sum(axis=1)[:, None] * inv_d
    return alpha[:, idx].T, eta[:, idx].T


def _pieces(s: Scenario, alpha, eta, idx):
    """The charge C_i(mu) of the products idx as a base and pieces of constant slope.

    Segment k charges alpha_ki x_ki + eta_ki sigma_ki (``alpha``, ``eta`` (P, K), from
    :func:`_charges`) and adds a_ki sigma_ki + a_ki beta_k x_ki / D_ki to the rate; over the
    triangle of :func:`_segment_geometry` the cheapest charge of a segment's rate is the lower
    hull of its three corners' (rate, charge) images, one or two pieces. Summed over segments,
    the cheapest charge fills all pieces in order of slope (a fractional knapsack). Returns
    base (rate, charge, x, sigma) per product and the pieces sorted by slope: lengths, slopes,
    segment, and dx, dsigma per unit of rate.
    """
    a, s_lo, s_hi, inv_d = (t[:, idx].T for t in _segment_geometry(s))   # (P, K)
    beta = s.lift[None, :]
    corner_x = [np.zeros_like(a), np.zeros_like(a), np.ones_like(a)]
    corner_s = [s_lo, s_hi, inv_d]
    rate = [a * s_lo, a * s_hi, a * (1.0 + beta) * inv_d]
    charge = [eta * s_lo, eta * s_hi, alpha + eta * inv_d]
    inert = a <= 0                            # the segment adds no rate: its cheapest corner
    cheapest = np.argmin(np.stack(charge), axis=0)
    pick = lambda vals: np.where(inert, np.choose(cheapest, vals), vals[0])   # noqa: E731
    base = tuple(pick(v) for v in (rate, charge, corner_x, corner_s))

    def edge(u, w):
        dr = np.where(inert, 0.0, rate[w] - rate[u])
        safe = np.where(dr > 0, dr, 1.0)
        return (dr, np.where(dr > 0, (charge[w] - charge[u]) / safe, -np.inf),
                np.where(dr > 0, (corner_x[w] - corner_x[u]) / safe, 0.0),
                np.where(dr > 0, (corner_s[w] - corner_s[u]) / safe, 0.0))

    first, second, chord = edge(0, 1), edge(1, 2), edge(0, 2)
    convex = first[1] <= second[1]            # the middle corner lies on or below the chord
    one = [np.where(convex, f, c) for f, c in zip(first, chord)]
    two = [np.where(convex, f, 0.0) for f in second]
    two[1] = np.where(convex, second[1], -np.inf)
    seg = np.broadcast_to(np.arange(a.shape[1]), a.shape)
    length, slope, dx, ds = (np.concatenate([u, w], axis=1) for u, w in zip(one, two))
    segment = np.concatenate([seg, seg], axis=1)
    order = np.argsort(np.where(length > 0, slope, -np.inf), axis=1, kind="stable")
    take = lambda t: np.take_along_axis(t, order, axis=1)                  # noqa: E731
    return base, (take(length), take(np.where(length > 0, slope, 0.0)), take(segment),
                  take(dx), take(ds))


def _fill(base, pieces, rates):
    """Exposures and copies (P, G, K) of the cheapest way to reach rates (P, G)."""
    m0, _, x0, s0 = base
    length, _, segment, dx, ds = pieces
    cum = np.concatenate([np.zeros((length.shape[0], 1)), np.cumsum(length, axis=1)], axis=1)
    filled = np.clip(rates[:, :, None] - m0.sum(axis=1)[:, None, None] - cum[:, None, :-1],
                     0.0, length[:, None, :])                              # (P, G, pieces)
    K = x0.shape[1]
    onehot = (segment[..., None] == np.arange(K)).astype(float)            # (P, pieces, K)
    exposure = x0[:, None, :] + np.einsum("pgj,pj,pjk->pgk", filled, dx, onehot)
    aggregate = s0[:, None, :] + np.einsum("pgj,pj,pjk->pgk", filled, ds, onehot)
    return np.clip(exposure, 0.0, 1.0), aggregate


def rate_options(scenario, prices, products=None, points: int = 16,
                 aggregate_prices=None) -> RateOptions:
    """Rate grids, their charges, exposures and aggregate copies for the relaxed products.

    ``prices`` (K,): the simplex prices nu_k; ``aggregate_prices``: the prices of the
    aggregate copies sigma_ki, (K,) one per segment or (K, N) one per product [eta_ki]
    (default 0, module docstring, steps 1-2). Returns
    :class:`RateOptions`: ``points`` even rates over product i's range merged with the
    breakpoints of C_i (where its slope changes), sorted, each with the cheapest (x_ki,
    sigma_ki) and its charge C_i(mu) = sum_k (alpha_ki x_ki + eta_ki sigma_ki), linear between
    neighbouring rates (as the certificate needs).
    """
    s = get_scenario(scenario)
    idx = np.arange(s.n_products) if products is None else np.asarray(products)
    alpha, eta = _charges(s, prices, 0.0 if aggregate_prices is None else aggregate_prices, idx)
    base, pieces = _pieces(s, alpha, eta, idx)
    length, slope = pieces[0], pieces[1]
    m0 = base[0].sum(axis=1)
    cum = np.cumsum(length, axis=1)
    top = m0 + cum[:, -1]
    # a breakpoint where the slope changes; elsewhere a repeat of the top (a harmless duplicate)
    bends = np.where((np.diff(slope, axis=1) != 0) & (length[:, 1:] > 0),
                     m0[:, None] + cum[:, :-1], top[:, None])
    keep = max(1, int(np.max((bends < top[:, None]).sum(axis=1), initial=0)))
    bends = np.sort(bends, axis=1)[:, :keep]
    even = m0[:, None] + (top - m0)[:, None] * np.linspace(0.0, 1.0, int(points))[None, :]
    rates = np.minimum(np.sort(np.concatenate([even, bends], axis=1), axis=1), top[:, None])
    exposure, aggregate = _fill(base, pieces, rates)
    costs = (np.einsum("pgk,pk->pg", exposure, alpha)
             + np.einsum("pgk,pk->pg", aggregate, eta))
    return RateOptions(rates, costs, exposure, aggregate)


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


AGGREGATE_FAMILIES = ("segment", "value", "product")
"""Families of prices eta_ki for the aggregate copies (:func:`aggregate_features`)."""


def aggregate_features(scenario, family: str = "segment") -> np.ndarray:
    """Features w (F, K, N) spanning the copies' prices eta_ki = sum_f theta_kf w_fki.

    ``"segment"``: one price per segment (F = 1, w = 1); ``"value"``: that plus a price
    proportional to what a unit of the copy is worth to the product, a_ki (p_i - c_i + b_i +
    h_i), scaled to [0, 1] per segment (F = 2); ``"product"``: one price per product and
    segment (F = N). Any family gives a valid bound (module docstring, step 2); a larger one a
    tighter bound at the cost of a longer price search.
    """
    s = get_scenario(scenario)
    K, N = s.n_segments, s.n_products
    ones = np.ones((1, K, N))
    if family == "segment":
        return ones
    if family == "value":
        worth = s.arrival_rate[:, None] * s.attraction * (
            s.price - s.unit_cost + s.lost_sale_penalty + s.holding_cost)[None, :]
        return np.concatenate([ones, (worth / worth.max(axis=1, keepdims=True).clip(1e-12))[None]])
    if family == "product":
        return np.broadcast_to(np.eye(N)[:, None, :], (N, K, N)).copy()
    raise LagrangianBoundError(f"Lagrangian bound: aggregate_family {family!r} is not one of "
                               f"{', '.join(AGGREGATE_FAMILIES)}")


class _Dual:
    """The grid dual function B(nu, eta) = sum nu + sum_i g_i(nu, eta) and what a subgradient
    needs: each product's long-run exposures xbar_ki and copies sigmabar_ki."""

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

    def solve(self, nu, eta, certify=False):
        """Per product: the grid gain, its lower span bound, the certificate (NaN unless
        ``certify``), xbar (N, K) and sigmabar (N, K)."""
        s = self.s
        gains, lower, upper = (np.zeros(s.n_products) for _ in range(3))
        xbar, sbar = np.zeros((2, s.n_products, s.n_segments))
        for members in self.groups:
            i = members[0]
            for chunk in self._chunks(members, self.certify_points if certify else self.points):
                opts = rate_options(s, nu, chunk, self.points, eta)
                crates = ccosts = False
                if certify:
                    crates, ccosts = rate_options(s, nu, chunk, self.certify_points, eta)[:2]
                key = tuple(chunk.tolist())
                res = controlled_rate_gain(
                    s.price[i], s.unit_cost[i], s.holding_cost[i], s.lost_sale_penalty[i],
                    self.used[i], s.capacity[i], s.max_order[i], opts.rates, opts.costs,
                    tol=self.tol, relative_values=self.warm.get(key), certify_rates=crates,
                    certify_costs=ccosts)
                self.warm[key] = res.relative_values
                gains[chunk], lower[chunk], upper[chunk] = res.gain, res.lower, res.upper
                for out, per_rate in ((xbar, opts.exposures), (sbar, opts.aggregates)):
                    picked = np.take_along_axis(per_rate, res.rate_index[..., None], axis=1)
                    out[chunk] = np.einsum("ps,psk->pk", res.occupancy, picked)
        return gains, lower, upper, xbar, sbar


def lagrangian_bound(scenario, points: int = 24, iterations: int = 25, rel_tol: float = 2e-3,
                     max_work: float = DEFAULT_MAX_WORK, tol: float = 1e-5,
                     certify_points: int = 128, aggregate_iterations: int = 25,
                     aggregate_family: str = "value") -> LagrangianBound:
    """The Lagrangian upper bound on the gain of every policy (module docstring).

    ``scenario``: a Scenario or a shipped name (lost sales, R = 1, no seasonality).
    ``points``: rate grid points per product DP (the certificate adds C_i's breakpoints).
    ``iterations``: the most cutting-plane rounds over the simplex prices nu_k alone (the
    aggregate copies unpriced, eta = 0); ``aggregate_iterations``: the most rounds after them
    over (nu_k, eta_k) together (0: the copies stay free, step 1 without step 2's eta).
    ``aggregate_family``: the copies' prices searched over (:func:`aggregate_features`).
    ``rel_tol``: a stage stops when the best dual value is within this fraction of the
    cutting-plane model's minimum. ``max_work``: per-product DP size above which its lead time
    L_i is shortened (step 3). ``tol``: relative span tolerance of each product's RVI.
    ``certify_points``: even rate points of the final certificate (step 4; its error term
    shrinks with their spacing squared).
    """
    started = time.perf_counter()
    s = get_scenario(scenario)
    _check(s)
    for what, value in (("points", points), ("certify_points", certify_points)):
        if int(value) != value or value < 2:
            raise LagrangianBoundError(f"Lagrangian bound: {what} must be a whole number >= 2, "
                                       f"got {value!r}")
    for what, value, least in (("iterations", iterations, 1),
                               ("aggregate_iterations", aggregate_iterations, 0)):
        if int(value) != value or value < least:
            raise LagrangianBoundError(f"Lagrangian bound: {what} must be a whole number >= "
                                       f"{least}, got {value!r}")
    dual = _Dual(s, int(points), int(certify_points), float(max_work), float(tol))
    K = s.n_segments
    a, _, _, inv_d = _segment_geometry(s)
    ex = _segment_terms(s)[2]
    margin = s.price - s.unit_cost + s.lost_sale_penalty + s.holding_cost
    features = aggregate_features(s, aggregate_family)                  # (F, K, N)
    F = features.shape[0]
    totals = features.sum(axis=2).T                                     # (K, F): sum_i w_fki
    # the search runs in (nu', theta) with eta_ki = sum_f theta_kf w_fki and nu_k = nu'_k +
    # c_k sum_i eta_ki, c_k = mean_i 1 / D_ki: nu' is then close to every product's net
    # exposure charge alpha_ki (the D_ki differ little), so the axes are not nearly parallel
    c_k = inv_d.mean(axis=1)
    nu_top = (ex * margin[None, :]).max(axis=1) + 1e-9                  # no product pays more
    eta_top = (a * margin[None, :]).max(axis=1) + 1e-9                  # a copy's worth to it
    theta_top = (eta_top[:, None] / np.abs(features).max(axis=2).T.clip(1e-12)).ravel()
    lower_box = np.r_[np.zeros(K), -theta_top]
    upper_box = np.r_[nu_top, theta_top]
    n_vars = K + K * F
    z = np.r_[0.5 * nu_top, np.zeros(K * F)]
    cuts_val, cuts_grad, cuts_at = [], [], []
    best = {"value": math.inf, "z": z.copy(), "low": math.inf}

    def prices_of(z):
        theta = z[K:].reshape(K, F)
        eta = np.einsum("kf,fki->ki", theta, features)
        return z[:K] + c_k * eta.sum(axis=1), eta

    def evaluate(z):
        nu, eta = prices_of(z)
        gains, low, _, xbar, sbar = dual.solve(nu, eta)
        value = nu.sum() + gains.sum()
        unused = 1.0 - xbar.sum(axis=0)                                 # (K,)
        d_theta = (totals * (c_k * unused + (xbar.T * inv_d).sum(axis=1))[:, None]
                   - np.einsum("fki,ik->kf", features, sbar))
        cuts_val.append(value)
        cuts_grad.append(np.r_[unused, d_theta.ravel()])
        cuts_at.append(z.copy())
        improved = value < best["value"]
        if improved:
            best.update(value=value, z=z.copy(), low=nu.sum() + low.sum())
        return improved

    def kelley(rounds, radius, frozen):
        """Kelley in a trust region: min t s.t. t >= B_j + g_j (z - z_j), |z - best| <= radius,
        the frozen coordinates held at 0; returns the dual evaluations made."""
        done = 0
        while done < rounds:
            lo = np.where(frozen, 0.0, np.maximum(lower_box, best["z"] - radius))
            hi = np.where(frozen, 0.0, np.minimum(upper_box, best["z"] + radius))
            G = np.array(cuts_grad)
            rhs = np.array([vj - gj @ aj for vj, gj, aj in zip(cuts_val, cuts_grad, cuts_at)])
            lp = optimize.linprog(np.r_[np.zeros(n_vars), 1.0], A_ub=np.c_[G, -np.ones(len(G))],
                                  b_ub=-rhs, bounds=list(zip(lo, hi)) + [(None, None)],
                                  method="highs")
            if lp.status != 0 or best["value"] - lp.x[-1] <= rel_tol * max(1.0, abs(best["value"])):
                break
            done += 1
            if not evaluate(lp.x[:n_vars]):
                radius = 0.5 * radius          # the model misled: trust it on a smaller box
        return done

    frozen = np.arange(n_vars) >= K
    evaluate(z)
    rounds = 1 + kelley(int(iterations) - 1, 0.5 * np.r_[nu_top, theta_top], frozen)
    unpriced = dict(best)
    if aggregate_iterations:
        rounds += kelley(int(aggregate_iterations), 0.25 * np.r_[nu_top, theta_top],
                         np.zeros(n_vars, dtype=bool))

    def certify(z):
        nu, eta = prices_of(z)
        gains, _, upper, _, _ = dual.solve(nu, eta, certify=True)
        return float(nu.sum() + upper.sum()), float(nu.sum() + gains.sum()), nu, eta, upper

    value, dual_value, nu, eta, upper = certify(best["z"])
    if value > unpriced["low"] and best["value"] < unpriced["value"]:
        # the certificate at the unpriced prices is at least their grid dual's lower span
        # bound; only above it may the unpriced prices certify lower
        other = certify(unpriced["z"])
        if other[0] < value:
            value, dual_value, nu, eta, upper = other
    return LagrangianBound(value=value, prices=nu, aggregate_prices=eta, product_upper=upper,
                           dual_value=dual_value, lead_time_used=dual.used,
                           n_states=dual.states, iterations=rounds,
                           seconds=time.perf_counter() - started)
