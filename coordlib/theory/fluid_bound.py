"""An upper bound on the gain g of every policy, at any N: the fluid (deterministic) relaxation.

MODEL.md sections 1-3. Take any policy, stationary or not, and its long-run averages per
period: exposures xbar_k (in the simplex, as an average of simplex points), sales sbar_i,
orders qbar_i, lost sales lbar_i and end-of-period stock ebar_i. Because the exposure x_t is
chosen before period t's demand, E[D_it | x_t] = mu_i(x_t), and mu is linear in x (MODEL.md
3.3: with D_kj = v_k0 + sum_l v_kl + beta_k v_kj,
mu_i(x) = sum_k lambda_k v_ki (sum_j x_kj / D_kj + beta_k x_ki / D_ki)), so the average
demand is mu_i(xbar) exactly: the MNL choice makes each probability nonlinear in the
attractions but linear in the exposure, and no convex hull is needed. Then, for lost sales,

* sbar_i <= mu_i(xbar) (sales never exceed demand) and lbar_i = mu_i(xbar) - sbar_i;
* sbar_i <= M_i (sales come out of A_i <= M_i) and sbar_i <= qbar_i <= Qmax_i / R (every unit
  sold was ordered; orders come every R periods, at most Qmax_i each);
* ebar_i >= 0, so holding costs at least nothing,

and g = sum_i p_i sbar_i - c_i qbar_i - h_i ebar_i - b_i lbar_i is at most the value of the
linear programme (LP) :func:`fluid_bound` solves over (x, s):

    max  sum_i (p_i - c_i + b_i) s_i - b_i mu_i(x)
    s.t. s_i <= mu_i(x),  s_i <= min(M_i, Qmax_i / R),  x_k in the simplex.

``bound="poisson"`` adds, per product, the cut s_i <= phi_i(mu_i) with
phi_i(mu) = E min(M_i, Poisson(mu)): a period's sales are at most min(A_i, D_i) <= min(M_i, D_i),
whose mean given x_t is phi_i(mu_i(x_t)); phi_i is concave (its slope P(Poisson(mu) < M_i)
falls in mu), so by Jensen the long-run average is at most phi_i(mu_i(xbar)), and each
tangent of phi_i lies above it, so the tangent cuts keep a valid bound. It is tighter where
the capacity M_i is within a few standard deviations of the demand a product can get.

``bound="newsvendor"`` (lost sales) also charges the demand's variability. Charge c_i per unit
sold instead of per unit ordered (no more than the true cost, as qbar_i >= sbar_i). Then a
period's profit of product i is (p_i - c_i + b_i) s - h_i (A - s) - b_i D with s = min(A, D),
where A = A_it is fixed before D_it ~ Poisson(mu_i(x_t)) is drawn, so its conditional mean is at
most G_i(mu_i(x_t)), G_i(mu) = max_{0<=A<=M_i} (p_i - c_i + b_i + h_i) E min(A, D_mu) - h_i A
- b_i mu: the newsvendor optimum with overage h_i and underage p_i - c_i + b_i, with the firm
free to reset A every period at no cost (lead times and carried stock only lower the true
profit). G_i is not concave (the square-root law makes it convex where one A is best), so
Jensen does not apply to G_i itself; it does to any concave Ghat_i >= G_i, and the LP uses
the concave envelope of a piecewise bound of G_i: on each interval of a grid of mu, every
E min(A, D_mu) is concave in mu, so it lies below the meeting point of its tangents at the two
ends, and the largest such value over A caps G_i on that interval. The product's average
profit z_i then obeys z_i <= Ghat_i(mu_i(xbar)) and, as before, z_i <= (p_i - c_i + b_i) s_i
- b_i mu_i(xbar); both hold for the same policy, so the LP with both is a bound.

Backlog variant: a policy of finite gain serves all demand in the long run (an unbounded
backlog costs without bound), so s_i = mu_i(x) <= min(M_i, Qmax_i / R) and nothing is lost.
Seasonality (whole-number season periods): one copy of (x, s) per phase of the cycle
T = lcm(P_k, R), with the order-rate limit on the cycle's average (stock carries over).

The exposure constraints are written through one variable per segment,
w_k = sum_j x_kj / D_kj, so the LP has about 3KN nonzeros and solves in seconds at
N = 1,000 (scipy's HiGHS).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import optimize, sparse, stats

from ..model.scenario import Scenario
from ..model.scenarios import get as get_scenario

BOUNDS = ("fluid", "poisson", "newsvendor")
"""The bounds :func:`fluid_bound` computes, each at least as tight as the one before: the plain
fluid LP, the LP with the concave capacity cuts s_i <= E min(M_i, Poisson(mu_i)), and that LP
with each product's profit also capped by the concave envelope of its newsvendor optimum."""
MAX_PHASES = 1000
"""The longest seasonal cycle (in periods) the LP copies phase by phase."""


class FluidBoundError(ValueError):
    """The scenario is outside what the bound handles, or the LP did not solve."""


@dataclass(frozen=True)
class FluidBound:
    """The value of the relaxation and its optimal point.

    ``value``: the bound on the long-run average profit per period; ``exposure`` (K, N) the
    LP's average exposure (phase 0 when seasonal); ``sales`` and ``demand`` (N) the LP's sales
    and demand rates (averaged over the cycle); ``bound`` its kind (:data:`BOUNDS`);
    ``seconds`` the time to build and solve.
    """

    value: float
    exposure: np.ndarray
    sales: np.ndarray
    demand: np.ndarray
    bound: str
    seconds: float


def _phases(s: Scenario) -> int:
    if not s.seasonal:
        return 1
    periods = s.season_period[s.season_amplitude > 0]
    if np.any(periods != np.round(periods)):
        raise FluidBoundError("fluid bound: seasonal scenarios need whole-number season "
                              f"periods, got {periods.tolist()}")
    cycle = math.lcm(int(s.review_period), *(int(p) for p in periods))
    if cycle > MAX_PHASES:
        raise FluidBoundError(f"fluid bound: seasonal cycle of {cycle} periods is longer than "
                              f"{MAX_PHASES}")
    return cycle


def _capacity_cuts(capacity: np.ndarray, mu_top: np.ndarray, points: int):
    """Tangents (intercept, slope) of phi(mu) = E min(M, Poisson(mu)) at ``points`` rates in
    [0, mu_top] per product: phi(m) = sum_{k<M} P(D > k), phi'(m) = P(D <= M - 1)."""
    grid = np.linspace(0.0, 1.0, points)[None, :] * mu_top[:, None]            # (N, P)
    M = capacity[:, None].astype(float)
    slope = stats.poisson.cdf(M - 1, grid)
    # E min(M, D) = M - E (M - D)^+ = M - sum_{k<M} (M - k) P(D = k), via M P(D <= M-1) - ...
    # computed as mu P(D <= M - 2) + M P(D >= M) (the identity k P(D = k) = mu P(D = k - 1))
    value = grid * stats.poisson.cdf(M - 2, grid) + M * stats.poisson.sf(M - 1, grid)
    return value - slope * grid, slope


def _upper_hull(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of the concave envelope of the points (x, y), x sorted ascending."""
    hx: list[float] = []
    hy: list[float] = []
    for px, py in zip(x.tolist(), y.tolist()):
        if hx and px == hx[-1]:
            if py <= hy[-1]:
                continue
            hx.pop()
            hy.pop()
        while len(hx) >= 2 and ((hx[-1] - hx[-2]) * (py - hy[-2])
                                - (hy[-1] - hy[-2]) * (px - hx[-2])) >= 0:
            hx.pop()
            hy.pop()
        hx.append(px)
        hy.append(py)
    return np.array(hx), np.array(hy)


def newsvendor_envelope(price, unit_cost, holding_cost, lost_sale_penalty, capacity,
                        top_rate, points: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Facets (intercept, slope) of a concave Ghat >= G on [0, ``top_rate``] (module docstring).

    G(mu) = max_{0<=A<=M} (p - c + b + h) E min(A, D_mu) - h A - b mu, D_mu ~ Poisson(mu): one
    product's newsvendor optimum with overage h [h_i] and underage p - c + b, stock capped at
    the capacity M [M_i]. ``points`` grid points; z <= every facet is z <= Ghat(mu).
    """
    p, c, h, b = map(float, (price, unit_cost, holding_cost, lost_sale_penalty))
    M, top = int(capacity), max(float(top_rate), 1e-9)
    grid = np.linspace(0.0, top, points)
    under = p - c + b + h
    # E min(A, D) = sum_{k<A} P(D > k) for A = 0..M, at every grid rate: (G, M + 1)
    sf = stats.poisson.sf(np.arange(M)[None, :], grid[:, None])
    phi = np.concatenate([np.zeros((points, 1)), np.cumsum(sf, axis=1)], axis=1)
    dphi = np.concatenate([np.zeros((points, 1)),
                           stats.poisson.cdf(np.arange(M)[None, :], grid[:, None])], axis=1)
    A = np.arange(M + 1)[None, :]
    f = under * phi - h * A - b * grid[:, None]
    d = under * dphi - b
    m1, m2 = grid[:-1, None], grid[1:, None]
    f1, f2, d1, d2 = f[:-1], f[1:], d[:-1], d[1:]
    gap = d1 - d2
    meet = np.where(gap > 1e-12, (f2 - f1 + d1 * m1 - d2 * m2) / np.where(gap > 1e-12, gap, 1),
                    m1)
    meet = np.clip(meet, m1, m2)
    cap = np.where(gap > 1e-12, f1 + d1 * (meet - m1), np.maximum(f1, f2)).max(axis=1)
    cap = np.maximum(cap, np.maximum(f1.max(axis=1), f2.max(axis=1)))
    xs = np.concatenate([grid[:-1], grid[1:]])
    ys = np.concatenate([cap, cap])
    order = np.argsort(xs, kind="stable")
    hx, hy = _upper_hull(xs[order], ys[order])
    slope = np.diff(hy) / np.diff(hx)
    return hy[:-1] - slope * hx[:-1], slope


def fluid_bound(scenario, bound: str = "fluid", cut_points: int = 24) -> FluidBound:
    """The fluid upper bound on the gain of every policy (module docstring), by one LP.

    ``scenario``: a Scenario or a shipped name. ``bound``: ``"fluid"`` or ``"poisson"``
    (:data:`BOUNDS`). ``cut_points``: tangents per product for ``"poisson"`` and
    ``"newsvendor"``, and twice the grid points of the newsvendor envelope.
    """
    s = get_scenario(scenario)
    if bound not in BOUNDS:
        raise FluidBoundError(f"fluid bound: bound must be one of {', '.join(BOUNDS)}, "
                              f"got {bound!r}")
    if int(cut_points) != cut_points or cut_points < 2:
        raise FluidBoundError(f"fluid bound: cut_points must be a whole number >= 2, "
                              f"got {cut_points!r}")
    if bound == "newsvendor" and s.backlog:
        raise FluidBoundError("fluid bound: the newsvendor bound is for lost sales; use "
                              "'fluid' or 'poisson' for the backlog variant")
    started = time.perf_counter()
    K, N, T = s.n_segments, s.n_products, _phases(s)
    v, beta = s.attraction, s.lift
    denom = s.outside_attraction[:, None] + v.sum(axis=1)[:, None] + beta[:, None] * v   # D_kj
    lam = s.arrival_rates(np.arange(T)).reshape(T, K)                                    # (T, K)
    margin = s.price - s.unit_cost + (0.0 if s.backlog else s.lost_sale_penalty)
    order_cap = s.max_order / s.review_period       # T is a multiple of R

    # variables per phase t: x (K N), w (K), mu (N), s (N); offsets below
    nx, per = K * N, K * N + K + 3 * N
    ox, ow, om, osl, oz = 0, nx, nx + K, nx + K + N, nx + K + 2 * N
    mu_tops = (lam[:, :, None] * (v * (1.0 + beta[:, None]) / denom)[None]).sum(axis=1)  # (T, N)
    envelopes = ([newsvendor_envelope(s.price[i], s.unit_cost[i], s.holding_cost[i],
                                      s.lost_sale_penalty[i], s.capacity[i],
                                      mu_tops[:, i].max(), 2 * int(cut_points))
                  for i in range(N)] if bound == "newsvendor" else None)
    n_var = T * per
    cost = np.zeros(n_var)
    rows, cols, vals, rhs_eq = [], [], [], []
    ub_rows, ub_cols, ub_vals, rhs_ub = [], [], [], []
    n_eq = n_ub = 0
    kk, jj = np.divmod(np.arange(nx), N)
    for t in range(T):
        base = t * per
        # objective (maximize, so linprog minimizes the negative), per period of the cycle
        # z_i = (p_i - c_i + b_i) s_i - b_i mu_i, or below it (newsvendor)
        cost[base + oz: base + oz + N] = -1.0 / T
        rows += list(n_eq + np.arange(N)) * 3
        cols += (list(base + oz + np.arange(N)) + list(base + osl + np.arange(N))
                 + list(base + om + np.arange(N)))
        vals += [1.0] * N + list(-margin) + list(np.zeros(N) if s.backlog else s.lost_sale_penalty)
        if bound == "newsvendor":
            # z_i <= (p_i - c_i + b_i) s_i - b_i mu_i as an inequality, with z_i <= Ghat_i(mu_i)
            ub_rows += rows[-3 * N:]
            ub_cols += cols[-3 * N:]
            ub_vals += vals[-3 * N:]
            rhs_ub += [0.0] * N
            n_ub += N
            del rows[-3 * N:], cols[-3 * N:], vals[-3 * N:]
            for i, (icpt, slope) in enumerate(envelopes):
                F = icpt.size
                ub_rows += list(n_ub + np.arange(F)) * 2
                ub_cols += [base + oz + i] * F + [base + om + i] * F
                ub_vals += [1.0] * F + list(-slope)
                rhs_ub += list(icpt)
                n_ub += F
        else:
            rhs_eq += [0.0] * N
            n_eq += N
        # simplex rows: sum_j x_kj = 1
        rows += list(n_eq + kk)
        cols += list(base + ox + np.arange(nx))
        vals += [1.0] * nx
        rhs_eq += [1.0] * K
        n_eq += K
        # w_k - sum_j x_kj / D_kj = 0
        rows += list(n_eq + kk) + list(n_eq + np.arange(K))
        cols += list(base + ox + np.arange(nx)) + list(base + ow + np.arange(K))
        vals += list(-1.0 / denom.reshape(-1)) + [1.0] * K
        rhs_eq += [0.0] * K
        n_eq += K
        # mu_i - sum_k lambda_k v_ki (w_k + beta_k x_ki / D_ki) = 0
        ii = np.tile(np.arange(N), K)                 # product of each (k, i) entry, k-major
        coef = (lam[t][:, None] * v).reshape(-1)      # lambda_k v_ki
        rows += list(n_eq + np.arange(N)) + list(n_eq + ii) + list(n_eq + ii)
        cols += (list(base + om + np.arange(N)) + list(base + ow + kk)
                 + list(base + ox + np.arange(nx)))
        vals += ([1.0] * N + list(-coef)
                 + list(-coef * (beta[:, None] / denom).reshape(-1)))
        rhs_eq += [0.0] * N
        n_eq += N
        if s.backlog:
            # s_i - mu_i = 0
            rows += list(n_eq + np.arange(N)) * 2
            cols += list(base + osl + np.arange(N)) + list(base + om + np.arange(N))
            vals += [1.0] * N + [-1.0] * N
            rhs_eq += [0.0] * N
            n_eq += N
        else:
            # s_i - mu_i <= 0
            ub_rows += list(n_ub + np.arange(N)) * 2
            ub_cols += list(base + osl + np.arange(N)) + list(base + om + np.arange(N))
            ub_vals += [1.0] * N + [-1.0] * N
            rhs_ub += [0.0] * N
            n_ub += N
        if bound in ("poisson", "newsvendor"):
            icpt, slope = _capacity_cuts(s.capacity, mu_tops[t], int(cut_points))
            P = icpt.shape[1]
            prod = np.repeat(np.arange(N), P)
            rr = n_ub + np.arange(N * P)
            ub_rows += list(rr) * 2
            ub_cols += list(base + osl + prod) + list(base + om + prod)
            ub_vals += [1.0] * (N * P) + list(-slope.reshape(-1))
            rhs_ub += list(icpt.reshape(-1))
            n_ub += N * P
    # the order-rate limit on the cycle's average sales: (1/T) sum_t s_it <= Qmax_i / R
    ub_rows += list(n_ub + np.repeat(np.arange(N), T))
    ub_cols += list(np.arange(T)[None, :].repeat(N, 0).reshape(-1) * per + osl
                    + np.repeat(np.arange(N), T))
    ub_vals += [1.0 / T] * (N * T)
    rhs_ub += list(order_cap)
    n_ub += N
    A_eq = sparse.csr_matrix((vals, (rows, cols)), shape=(n_eq, n_var))
    A_ub = sparse.csr_matrix((ub_vals, (ub_rows, ub_cols)), shape=(n_ub, n_var))
    lower = np.zeros(n_var)
    upper = np.full(n_var, np.inf)
    for t in range(T):
        lower[t * per + oz: t * per + oz + N] = -np.inf
    for t in range(T):
        upper[t * per + osl: t * per + osl + N] = s.capacity        # a period's sales <= M_i
    result = optimize.linprog(cost, A_ub=A_ub, b_ub=np.array(rhs_ub), A_eq=A_eq,
                              b_eq=np.array(rhs_eq), bounds=np.stack([lower, upper], axis=1),
                              method="highs")
    if result.status != 0:
        raise FluidBoundError(f"fluid bound: the LP did not solve ({result.message})")
    z = result.x.reshape(T, per)
    return FluidBound(value=float(-result.fun), exposure=z[0, ox:ox + nx].reshape(K, N),
                      sales=z[:, osl:osl + N].mean(axis=0), demand=z[:, om:om + N].mean(axis=0),
                      bound=bound, seconds=time.perf_counter() - started)


def supply_limit(scenario) -> np.ndarray:
    """min(M_i, Qmax_i / R): the largest long-run sales rate of each product (the fluid cap)."""
    s = get_scenario(scenario)
    return np.minimum(s.capacity.astype(float), s.max_order / s.review_period)
