"""The static-coordination optimum at any N (MODEL.md sections 3 and 5, B5's static part).

With a state-independent randomized exposure x (segment k shown product j with probability
x_kj, whatever the stock), each product's demand is an independent Poisson stream of mean
mu_i(x) (Poisson splitting, MODEL.md 3.3), and mu is linear in x. Each product's orders then
depend on its own state only, so the firm splits into N one-product lost-sales problems and

    g_static(x) = sum_i f_i(mu_i(x)),

f_i(mu) the best gain of product i alone with Poisson(mu) demand under a product policy:
the best base-stock level (``"base-stock"``, what E2's ``g_static`` uses), the best capped
base-stock (``"capped"``, Xin 2021) or the optimal policy (``"optimal"``, relative value
iteration), all from :mod:`coordlib.exact.single_product`. :func:`static_coordination`
tabulates each f_i on a grid of the rates product i can get (products with the same
parameters share a table), maximizes sum_i f_i(mu_i(x)) over the product of simplices
(f_i is convex where one level is best, by the square-root law, and concave where the
capacity binds, so the optimum may be a vertex or interior: exhaustive vertex search per
segment, then conditional-gradient steps, from several starts), and finally values the best x
exactly, each product at its own mu_i(x). The reported gain is thus the exact gain of a
policy anyone can run (:meth:`StaticCoordination.policy`); its optimality over x is that of
the search (on two-product instances the exposure grid of E2 is searched as well).

Base-stock with Qmax_i >= S_i is valued on a reduced chain: after the first order the
inventory position after ordering is S_i for ever, so the state after ordering is the
composition (I + o_0, o_1, ..., o_{L-1}, q) of S_i, and it is fixed by its last L entries;
that chain has C(S + L, L) states, against the (L + 1)-dimensional full state of
:func:`coordlib.exact.single_product.evaluate_base_stock` (used when Qmax_i < S_i).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import sparse, stats
from scipy.sparse import linalg as sparse_linalg

from ..model.policy import JointPolicy, Replenisher, joint
from ..model.scenario import Scenario
from ..model.scenarios import get as get_scenario
from ..policies.recommendation import expected_value_per_customer, fixed_exposure
from ..policies.replenishment import base_stock, capped_base_stock
from . import single_product
from .dp import grid_exposures

PRODUCT_POLICIES = ("base-stock", "capped", "optimal")
"""The one-product policies f_i can be the best of."""
MAX_CHAIN_STATES = 150_000
"""Largest reduced base-stock chain :func:`base_stock_gain_fast` builds."""
DIRECT_SOLVE_STATES = 20_000
"""Largest reduced chain whose stationary law is solved directly (power iteration above)."""
POWER_ITERATIONS = 100_000
"""Most damped power-iteration steps for a chain above :data:`DIRECT_SOLVE_STATES`."""


FULL_CHAIN_STATES = 200_000
"""Largest full-state chain valued for a level above Qmax_i (beyond, the level is skipped)."""


class StaticCoordinationError(ValueError):
    """The scenario or an argument is outside what the static-coordination optimum handles."""


# ---- one product -------------------------------------------------------------------------------
def _compositions(total: int, parts: int) -> np.ndarray:
    """Every vector of ``parts`` whole numbers >= 0 with sum <= ``total``, shape (n, parts)."""
    if parts == 0:
        return np.zeros((1, 0), dtype=np.int64)
    out = np.arange(total + 1, dtype=np.int64)[:, None]
    for _ in range(parts - 1):
        used = out.sum(axis=1)
        reps = total - used + 1
        head = np.repeat(out, reps, axis=0)
        first = np.repeat(np.cumsum(reps) - reps, reps)
        tail = np.arange(head.shape[0]) - first
        out = np.concatenate([head, tail[:, None]], axis=1)
    return out


def _stationary(P_t) -> np.ndarray:
    """The stationary law pi of a chain given by its transposed transition matrix (pi = P_t pi).

    Up to :data:`DIRECT_SOLVE_STATES` states by a sparse direct solve with pi_0 fixed at 1
    (the remaining equations keep the matrix's sparsity; chains with demand far above M mix
    too slowly for power iteration), above by damped power iteration.
    """
    n = P_t.shape[0]
    if n <= DIRECT_SOLVE_STATES:
        A = (P_t - sparse.identity(n, format="csr")).tocsc()
        pi = np.ones(n)
        if n > 1:
            pi[1:] = sparse_linalg.spsolve(A[1:, 1:], -A[1:, 0].toarray().ravel())
        return pi / pi.sum()
    pi = np.full(n, 1.0 / n)
    for _ in range(POWER_ITERATIONS):
        nxt = 0.1 * pi + 0.9 * (P_t @ pi)
        change = float(np.abs(nxt - pi).sum())
        pi = nxt
        if change <= 1e-12:
            break
    return pi / pi.sum()


def base_stock_gain_fast(demand_rate, price, unit_cost, holding_cost, lost_sale_penalty,
                         lead_time, capacity, max_order, level) -> float:
    """Exact long-run gain of base-stock ``level`` [S] for one product, Qmax >= S.

    Arguments as :func:`coordlib.exact.single_product.evaluate_base_stock` (MODEL.md
    symbols). The reduced chain of the module docstring: state (o_1, ..., o_{L-1}, q) after
    ordering, y = S - sum of them the stock due now (I + o_0); A = min(y, M) is available,
    y - A is discarded, e = A - min(A, D) is left and the next order is q' = y - e.
    """
    mu, S, L, M = float(demand_rate), int(level), int(lead_time), int(capacity)
    p, c, h, b = map(float, (price, unit_cost, holding_cost, lost_sale_penalty))
    if S > int(max_order):
        raise StaticCoordinationError(f"base_stock_gain_fast: needs max_order >= level, got "
                                      f"max_order={max_order}, level={S}")
    tail = stats.poisson.sf(np.arange(max(M, 1)), mu)
    sales_of = np.concatenate(([0.0], np.cumsum(tail)))[:M + 1]         # E min(A, D), A=0..M

    def reward(y):
        A = np.minimum(y, M)
        sales = sales_of[A]
        end = A - sales
        return p * sales - h * end - b * (mu - sales) - c * ((y - A) + sales)

    if L == 0 or S == 0:
        return float(reward(np.array([S]))[0])
    states = _compositions(S, L)                       # (o_1, ..., o_{L-1}, q)
    n = states.shape[0]
    if n > MAX_CHAIN_STATES:
        raise StaticCoordinationError(f"base_stock_gain_fast: {n:,} states for level {S}, "
                                      f"lead time {L}, above {MAX_CHAIN_STATES:,}")
    y = S - states.sum(axis=1)
    A = np.minimum(y, M)
    base = S + 1
    code = np.zeros(n, dtype=np.int64)
    for d in range(L):
        code = code * base + states[:, d]
    lookup = np.full(base ** L, -1, dtype=np.int64)
    lookup[code] = np.arange(n)
    pmf = stats.poisson.pmf(np.arange(M + 1), mu)
    fan = A + 1
    src = np.repeat(np.arange(n), fan)
    first = np.repeat(np.cumsum(fan) - fan, fan)
    e = np.arange(src.size) - first                    # end stock 0..A
    Ar = A[src]
    prob = np.where(e >= 1, pmf[np.clip(Ar - e, 0, M)], stats.poisson.sf(Ar - 1, mu))
    nxt_code = np.zeros(src.size, dtype=np.int64)
    # next state (o_2, ..., o_{L-1}, q, q'), q' = y - e; its y' = e + o_1 follows from the sum
    shifted = np.concatenate([states[src, 1:], (y[src] - e)[:, None]], axis=1)
    for d in range(L):
        nxt_code = nxt_code * base + shifted[:, d]
    dst = lookup[nxt_code]
    if np.any(dst < 0):
        raise AssertionError("base_stock_gain_fast: a transition left the composition space")
    P_t = sparse.csr_matrix((prob, (dst, src)), shape=(n, n))
    return float(reward(y) @ _stationary(P_t))



@dataclass(frozen=True)
class ProductOptimum:
    """f_i(mu) and the one-product policy attaining it: ``level`` [S], ``cap`` [r] (Qmax for
    base-stock; None for the optimal policy, whose table is ``solution``)."""

    gain: float
    level: Optional[int]
    cap: Optional[int]
    solution: Optional[single_product.SolveResult] = None


def _product_args(s: Scenario, i: int, mu: float) -> dict:
    return dict(demand_rate=float(mu), price=float(s.price[i]), unit_cost=float(s.unit_cost[i]),
                holding_cost=float(s.holding_cost[i]),
                lost_sale_penalty=float(s.lost_sale_penalty[i]), lead_time=int(s.lead_time[i]),
                capacity=int(s.capacity[i]), max_order=int(s.max_order[i]))


def _start(s: Scenario, i: int) -> tuple:
    L = int(s.lead_time[i])
    return (int(s.initial_on_hand[i]), *(int(v) for v in s.initial_pipeline[i, :L]))


def _base_stock_value(s: Scenario, i: int, mu: float, level: int) -> float:
    args = _product_args(s, i, mu)
    try:
        if level <= args["max_order"]:
            return base_stock_gain_fast(**args, level=level)
        return single_product.evaluate_base_stock(**args, level=level, start=_start(s, i),
                                                  max_states=FULL_CHAIN_STATES).gain
    except ValueError:            # StaticCoordinationError included
        return -math.inf          # too large to value exactly: the level is not searched


def product_optimum(scenario, product: int, demand_rate: float,
                    product_policy: str = "base-stock", full_scan_limit: int = 48) -> ProductOptimum:
    """f_i(mu): the best gain of product ``product`` (0-based) alone with Poisson(mu) demand.

    ``"base-stock"``: every level 0..M_i + L_i Qmax_i when that is at most
    ``full_scan_limit`` (as E2 scans), otherwise a scan up and down from the critical-fractile
    level, or from (L_i + 1) M_i where that is lower (at most M_i can be sold per period, so
    higher levels only fill the pipeline), until two levels in a row fail to improve (the base-stock cost of lost sales is
    convex in S, Janakiraman and Roundy 2004); a level above Qmax_i whose full chain has
    more than :data:`FULL_CHAIN_STATES` states is skipped. ``"capped"``:
    :func:`coordlib.exact.single_product.best_capped_base_stock`. ``"optimal"``: RVI.
    """
    s = get_scenario(scenario)
    i, mu = int(product), float(demand_rate)
    args = _product_args(s, i, mu)
    if product_policy == "optimal":
        sol = single_product.solve(**args)
        return ProductOptimum(sol.gain, None, None, sol)
    if product_policy == "capped":
        best = single_product.best_capped_base_stock(**args, start=_start(s, i))
        return ProductOptimum(best.gain, best.level, best.cap)
    if product_policy != "base-stock":
        raise StaticCoordinationError(f"product_policy: one of {', '.join(PRODUCT_POLICIES)}, "
                                      f"got {product_policy!r}")
    L, M, Q = args["lead_time"], args["capacity"], args["max_order"]
    top = M + L * Q
    seen: dict = {}

    def value(level):
        if level not in seen:
            seen[level] = _base_stock_value(s, i, mu, level)
        return seen[level]

    if top <= full_scan_limit:
        for level in range(top + 1):
            value(level)
    else:
        first = min(single_product._first_level(mu, args["holding_cost"],
                                                args["lost_sale_penalty"], args["price"],
                                                args["unit_cost"], L), top, (L + 1) * M)
        for direction in (1, -1):
            level, misses, best = (first if direction == 1 else first - 1), 0, -math.inf
            best = max(seen.values(), default=-math.inf)
            while 0 <= level <= top and misses < 2:
                g = value(level)
                if g > best + 1e-12 * max(1.0, abs(best)):
                    best, misses = g, 0
                else:
                    misses += 1
                level += direction
    level = min(seen, key=lambda k: (-seen[k], k))
    return ProductOptimum(seen[level], level, Q)


# ---- the search over exposures -------------------------------------------------------------
@dataclass(frozen=True)
class StaticCoordination:
    """The static-coordination optimum found by :func:`static_coordination`.

    ``gain``: exact sum_i f_i(mu_i(x)) at ``exposure`` x (K, N); ``demand`` mu(x) (N);
    ``product_gains`` f_i(mu_i(x)); ``levels`` and ``caps`` per product (None for the
    optimal policy); ``product_policy``; ``seconds``.
    """

    scenario: Scenario
    gain: float
    exposure: np.ndarray
    demand: np.ndarray
    product_gains: np.ndarray
    levels: Optional[np.ndarray]
    caps: Optional[np.ndarray]
    product_policy: str
    solutions: tuple
    seconds: float

    def policy(self) -> JointPolicy:
        """The firm: fixed randomized exposure x and each product's own optimal policy."""
        if self.product_policy == "optimal":
            replenisher = ProductTables(self.solutions)
        elif self.product_policy == "capped":
            replenisher = capped_base_stock(self.levels, self.caps)
        else:
            replenisher = base_stock(self.levels)
        firm = joint(replenisher, fixed_exposure(self.exposure))
        firm.name = f"static-coordination ({self.product_policy})"
        return firm


class ProductTables(Replenisher):
    """Each product ordering by its own one-product optimal policy (a table per product)."""

    name = "product-optimal"

    def __init__(self, solutions):
        self.solutions = tuple(solutions)

    def orders(self, view):
        on_hand = np.asarray(view["on_hand"])
        pipeline = np.asarray(view["pipeline"])
        B, N = on_hand.shape
        q = np.zeros((B, N), dtype=np.int64)
        for i, sol in enumerate(self.solutions):
            L = sol.lead_time
            if L == 0:
                q[:, i] = sol.order[np.minimum(on_hand[:, i], sol.capacity)]
                continue
            available = np.minimum(on_hand[:, i] + pipeline[:, i, 0], sol.capacity)
            index = (available,) + tuple(np.minimum(pipeline[:, i, d], sol.max_order)
                                         for d in range(1, L))
            q[:, i] = sol.order[index]
        return q


def _check(s: Scenario) -> None:
    if s.backlog or s.seasonal:
        raise StaticCoordinationError("static coordination: needs lost sales without "
                                      "seasonality (stationary Poisson demand per product)")


def _rate_range(s: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per product, the least and the most mean demand any exposure gives."""
    P = s.purchase_probabilities * s.arrival_rate[:, None, None]       # [k, j, i]
    return P.min(axis=1).sum(axis=0), P.max(axis=1).sum(axis=0)


class _Tables:
    """f_i tabulated on a grid of rates per group of identical products, linear in between."""

    def __init__(self, s: Scenario, product_policy: str, points: int):
        lo, hi = _rate_range(s)
        fields = ("price", "unit_cost", "holding_cost", "lost_sale_penalty", "lead_time",
                  "capacity", "max_order")
        keys = [tuple(float(getattr(s, f)[i]) for f in fields) for i in range(s.n_products)]
        groups: dict = {}
        for i, key in enumerate(keys):
            groups.setdefault(key, []).append(i)
        self.lo = np.empty(s.n_products)
        self.hi = np.empty(s.n_products)
        self.values = np.empty((s.n_products, points))
        for members in groups.values():
            a, z = lo[members].min(), hi[members].max()
            z = max(z, a + 1e-9)
            grid = np.linspace(a, z, points)
            f = np.array([product_optimum(s, members[0], m, product_policy).gain for m in grid])
            # a rate whose chains are all too large to value is kept out of the search
            f = np.where(np.isfinite(f), f, -1e12)
            self.lo[members], self.hi[members], self.values[members] = a, z, f
        self.points = points

    def __call__(self, mu: np.ndarray) -> np.ndarray:
        """f_i(mu_i) for mu of shape (..., N)."""
        u = np.clip((mu - self.lo) / (self.hi - self.lo), 0.0, 1.0) * (self.points - 1)
        j = np.minimum(u.astype(np.int64), self.points - 2)
        w = u - j
        n = np.arange(mu.shape[-1])
        return (1 - w) * self.values[n, j] + w * self.values[n, j + 1]

    def slope(self, mu: np.ndarray) -> np.ndarray:
        u = np.clip((mu - self.lo) / (self.hi - self.lo), 0.0, 1.0) * (self.points - 1)
        j = np.minimum(u.astype(np.int64), self.points - 2)
        n = np.arange(mu.shape[-1])
        return (self.values[n, j + 1] - self.values[n, j]) / ((self.hi - self.lo)
                                                              / (self.points - 1))


def _vertex_search(s: Scenario, f: _Tables, x: np.ndarray, sweeps: int = 10) -> np.ndarray:
    """Coordinate ascent over segments: each segment shown the single product that maximizes
    sum_i f_i(mu_i), the others held, until no segment moves."""
    x = x.copy()
    lam_P = s.purchase_probabilities * s.arrival_rate[:, None, None]       # [k, j, i]
    for _ in range(sweeps):
        moved = False
        for k in range(s.n_segments):
            rest = s.demand_rate(x) - x[k] @ lam_P[k]
            values = f(rest[None, :] + lam_P[k]).sum(axis=1)                 # per shown j
            current = float(f((rest + x[k] @ lam_P[k])[None, :]).sum())
            j = int(np.argmax(values))
            if values[j] > current + 1e-9 * max(1.0, abs(current)):
                x[k] = np.eye(s.n_products)[j]
                moved = True
        if not moved:
            break
    return x


def _conditional_gradient(s: Scenario, f: _Tables, x: np.ndarray, steps: int = 60) -> np.ndarray:
    """Frank-Wolfe steps on sum_i f_i(mu_i(x)) with a line search on a grid of step sizes."""
    lam_P = s.purchase_probabilities * s.arrival_rate[:, None, None]
    gammas = np.linspace(0.0, 1.0, 21)[1:] ** 2
    value = float(f(s.demand_rate(x)[None]).sum())
    for _ in range(steps):
        grad = np.einsum("kji,i->kj", lam_P, f.slope(s.demand_rate(x)))
        target = np.eye(s.n_products)[grad.argmax(axis=1)]
        d = target - x
        trial = x[None] + gammas[:, None, None] * d[None]
        vals = f(s.demand_rate(trial)).sum(axis=1)
        best = int(np.argmax(vals))
        if vals[best] <= value + 1e-10 * max(1.0, abs(value)):
            break
        x, value = trial[best], float(vals[best])
    return x


def static_coordination(scenario, product_policy: str = "base-stock", grid_points: int = 16,
                        exposure_grid: int = 11, starts=None) -> StaticCoordination:
    """The best state-independent randomized exposure with each product's best own policy.

    ``product_policy``: one of :data:`PRODUCT_POLICIES` (f_i is that policy's best gain).
    ``grid_points``: rates per table of f_i. ``exposure_grid``: for N = 2 the grid of E2 is
    also searched (points per segment). ``starts``: extra exposures (K, N) to start from.
    Candidates start from the GMV-greedy, margin-greedy and uniform exposures and any
    ``starts``; the best x found is valued exactly (module docstring).
    """
    s = get_scenario(scenario)
    _check(s)
    if product_policy not in PRODUCT_POLICIES:
        raise StaticCoordinationError(f"product_policy: one of {', '.join(PRODUCT_POLICIES)}, "
                                      f"got {product_policy!r}")
    if int(grid_points) != grid_points or grid_points < 2:
        raise StaticCoordinationError(f"grid_points: a whole number >= 2, got {grid_points!r}")
    started = time.perf_counter()
    N = s.n_products
    f = _Tables(s, product_policy, int(grid_points))
    greedy = [np.eye(N)[expected_value_per_customer(s, v).argmax(axis=1)]
              for v in (s.price, s.price - s.unit_cost, s.price - s.unit_cost + s.lost_sale_penalty)]
    begin = greedy + [s.uniform_exposure()] + [s.check_exposure(x) for x in (starts or [])]
    found = []
    for x in begin:
        x = _conditional_gradient(s, f, _vertex_search(s, f, x))
        found.append(x)
    exact_cache: dict = {}

    def exact(x):
        mu = s.demand_rate(x)
        out = []
        for i in range(N):
            key = (i, round(float(mu[i]), 12))
            if key not in exact_cache:
                exact_cache[key] = product_optimum(s, i, mu[i], product_policy)
            out.append(exact_cache[key])
        return out

    if N == 2:
        found += list(grid_exposures(s, exposure_grid))
    # value the few best candidates of the tables exactly, keep the best
    approx = np.array([f(s.demand_rate(x)[None]).sum() for x in found])
    short = [found[j] for j in np.argsort(-approx)[:8]]
    best_x, best_parts, best_gain = None, None, -math.inf
    for x in short:
        parts = exact(x)
        gain = sum(p.gain for p in parts)
        if gain > best_gain + 1e-12:
            best_x, best_parts, best_gain = x, parts, gain
    levels = (None if product_policy == "optimal"
              else np.array([p.level for p in best_parts], dtype=np.int64))
    caps = (None if product_policy == "optimal"
            else np.array([p.cap for p in best_parts], dtype=np.int64))
    return StaticCoordination(
        scenario=s, gain=float(best_gain), exposure=best_x, demand=s.demand_rate(best_x),
        product_gains=np.array([p.gain for p in best_parts]), levels=levels, caps=caps,
        product_policy=product_policy,
        solutions=tuple(p.solution for p in best_parts) if product_policy == "optimal" else (),
        seconds=time.perf_counter() - started)


def static_coordination_policy(scenario, product_policy: str = "base-stock",
                               **kwargs) -> JointPolicy:
    """The static-coordination firm (fixed randomized exposure + each product's own policy)."""
    return static_coordination(scenario, product_policy, **kwargs).policy()


__all__ = ["PRODUCT_POLICIES", "StaticCoordination", "StaticCoordinationError",
           "ProductOptimum", "ProductTables", "base_stock_gain_fast", "product_optimum",
           "static_coordination", "static_coordination_policy"]
