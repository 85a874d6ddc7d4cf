"""Exact evaluation of a fixed stationary policy (MODEL.md section 5): the Markov chain it induces,
its stationary distribution and gain, and the exact gain of base-stock with a fixed exposure.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.sparse import linalg as splinalg

from ..model.scenario import Scenario
from ..model.scenarios import get as get_scenario
from ..model.simulator import Observation
from . import single_product
from .dp import DPError, DPPolicy, DPSolution, same_model

DEFAULT_MAX_CHAIN = 300_000
"""Largest number of states :func:`evaluate_policy` builds a Markov chain for."""



# ---- exact evaluation of a stationary policy -----------------------------------------------------
@dataclass
class PolicyEvaluation:
    """The exact long-run averages of a stationary policy (from its stationary distribution)."""

    gain: float
    """g(pi), the long-run profit per period"""
    revenue: float
    purchase_cost: float
    holding_cost: float
    penalty_cost: float
    n_states: int
    """states of the chain (those reachable from the initial state)"""
    states: Optional[np.ndarray] = None
    """(n_states, n_coords) the chain's states"""
    coordinates: tuple = ()
    """names of the state coordinates"""
    stationary: Optional[np.ndarray] = None
    """(n_states,) the stationary distribution"""
    method: str = ""
    per_product: Optional[np.ndarray] = None
    """gain of each product, when the policy is separable across products"""

    def __repr__(self) -> str:
        return (f"PolicyEvaluation(gain={self.gain:.6f}, n_states={self.n_states}, "
                f"method={self.method!r})")


@dataclass(frozen=True)
class _ChainProduct:
    """One product's coordinates in a chain: full (I, o_0..o_{L-1}) or reduced (as the DP)."""

    index: int
    lead_time: int
    capacity: int
    max_order: int
    reduced: bool

    @property
    def sizes(self) -> tuple:
        L, M, Q = self.lead_time, self.capacity, self.max_order
        if L == 0:
            return (M + 1,)
        return (M + 1,) + (Q + 1,) * (L - 1 if self.reduced else L)

    def names(self) -> tuple:
        i, L = self.index + 1, self.lead_time
        if L == 0:
            return (f"on_hand_{i}",)
        if self.reduced:
            return (f"available_{i}",) + tuple(f"pipeline_{i}_{d}" for d in range(1, L))
        return (f"on_hand_{i}",) + tuple(f"pipeline_{i}_{d}" for d in range(L))

    def available(self, coords: np.ndarray, q: np.ndarray) -> np.ndarray:
        if self.lead_time == 0:
            return np.minimum(coords[:, 0] + q, self.capacity)
        if self.reduced:
            return coords[:, 0]
        return np.minimum(coords[:, 0] + coords[:, 1], self.capacity)

    def next_coords(self, coords: np.ndarray, q: np.ndarray) -> np.ndarray:
        """(B, M + 1, n): next coordinates for end-of-period stock e = 0..M."""
        B = coords.shape[0]
        e = np.broadcast_to(np.arange(self.capacity + 1)[None, :], (B, self.capacity + 1))
        L = self.lead_time
        if L == 0:
            return e[..., None]
        if self.reduced:
            if L == 1:
                return np.minimum(e + q[:, None], self.capacity)[..., None]
            first = np.minimum(e + coords[:, 1][:, None], self.capacity)
            tail = np.concatenate([coords[:, 2:], q[:, None]], axis=1)
        else:
            first = e
            tail = np.concatenate([coords[:, 2:], q[:, None]], axis=1)
        tail = np.broadcast_to(tail[:, None, :], (B, self.capacity + 1, tail.shape[1]))
        return np.concatenate([first[..., None], tail], axis=2)


def _encode(coords: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    return np.ravel_multi_index(tuple(np.moveaxis(coords, -1, 0)), tuple(sizes))


def _chain(s: Scenario, products: Sequence[_ChainProduct], start: np.ndarray,
           act: Callable, max_states: int):
    """Markov chain of a stationary policy over the states reachable from ``start``.

    ``start`` holds the phase then each product's coordinates (None: every state, in the
    order of the flat index); ``act(phase (B,), [coords_i
    (B, n_i)])`` returns orders (B, n_products) and mean demand (B, n_products). Returns the
    sorted state keys, their coordinates, the sparse transition matrix and the expected
    one-period parts (revenue, purchase, holding, penalty) per state.
    """
    R = s.review_period
    sizes = [R] + [m for pr in products for m in pr.sizes]
    offsets = np.cumsum([1] + [len(pr.sizes) for pr in products])
    if start is None:                    # every state, not only the reachable ones
        start_key = np.zeros(1, dtype=np.int64)
        known = frontier = np.arange(int(np.prod(sizes)), dtype=np.int64)
    else:
        start_key = _encode(np.asarray(start)[None], sizes)
        known = frontier = start_key
    if known.size > max_states:
        raise DPError(f"the chain has {known.size} states, more than max_states = {max_states}")
    blocks = []
    while frontier.size:
        coords = np.column_stack(np.unravel_index(frontier, sizes))
        phase = coords[:, 0]
        per = [coords[:, offsets[j]:offsets[j + 1]] for j in range(len(products))]
        orders, mu = act(phase, per)
        orders = np.where((phase == 0)[:, None], orders, 0)
        B = frontier.size
        next_phase = (phase + 1) % R
        key = next_phase.reshape(B, *([1] * len(products)))
        prob = np.ones((B,) + (1,) * len(products))
        parts = np.zeros((B, 4))
        for j, pr in enumerate(products):
            i = pr.index
            q = orders[:, j]
            A = pr.available(per[j], q)
            P = _end_stock_rows(mu[:, j], A, pr.capacity)                # (B, M + 1)
            nxt = _encode(pr.next_coords(per[j], q), pr.sizes)          # (B, M + 1)
            shape = [B] + [1] * len(products)
            shape[1 + j] = pr.capacity + 1
            key = key * int(np.prod(pr.sizes)) + nxt.reshape(shape)
            prob = prob * P.reshape(shape)
            leftover = P @ np.arange(pr.capacity + 1)
            sales = A - leftover
            parts += np.column_stack([s.price[i] * sales, s.unit_cost[i] * q,
                                      s.holding_cost[i] * leftover,
                                      s.lost_sale_penalty[i] * (mu[:, j] - sales)])
        key = np.broadcast_to(key, prob.shape).reshape(B, -1)
        prob = prob.reshape(B, -1)
        blocks.append((frontier, key, prob, parts))
        if start is None:
            break
        reached = np.unique(key[prob > 0])
        frontier = np.setdiff1d(reached, known, assume_unique=True)
        known = np.union1d(known, frontier)
        if known.size > max_states:
            raise DPError(f"evaluate_policy: the policy's chain has more than {max_states} "
                          "reachable states; pass a smaller instance or raise max_states")
    keys = known
    rows, cols, vals, parts = [], [], [], np.zeros((keys.size, 4))
    for frontier, key, prob, block_parts in blocks:
        r = np.searchsorted(keys, frontier)
        keep = prob > 0
        rows.append(np.broadcast_to(r[:, None], prob.shape)[keep])
        cols.append(np.searchsorted(keys, key[keep]))
        vals.append(prob[keep])
        parts[r] = block_parts
    n = keys.size
    P = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n, n))
    coords = np.column_stack(np.unravel_index(keys, sizes))
    return keys, coords, P, parts, int(np.searchsorted(keys, start_key[0]))


def _end_stock_rows(mu: np.ndarray, A: np.ndarray, capacity: int) -> np.ndarray:
    """(B, M + 1): P(e | A_b, mu_b) for each row b (see :func:`coordlib.exact.dp.end_stock_probabilities`)."""
    e = np.arange(capacity + 1)[None, :]
    sold = A[:, None] - e
    pmf = stats.poisson.pmf(np.maximum(sold, 0), mu[:, None])
    P = np.where((e >= 1) & (sold >= 0), pmf, 0.0)
    P[:, 0] = stats.poisson.sf(A - 1, mu)
    return P


def stationary_distribution(P: sparse.csr_matrix, start: Optional[int] = 0, tol: float = 1e-13,
                            max_iter: int = 200_000, direct_limit: int = 3000
                            ) -> tuple[np.ndarray, str]:
    """The stationary distribution of the chain P, reached from state ``start``.

    Chains of at most ``direct_limit`` states: a direct sparse solve of pi (P - I) = 0,
    sum pi = 1 (exact for a unichain), checked by its residual. Larger chains, or when the
    solve fails (several closed classes): the limit of the lazy chain 0.05 I + 0.95 P started
    at ``start`` (the Cesaro limit of P from ``start``; aperiodic by construction), iterated
    until the estimated remaining L1 error is below ``tol``. ``start=None`` starts the
    iteration from the uniform distribution (right for a unichain).
    Returns the distribution and the method used.
    """
    n = P.shape[0]
    if n == 1:
        return np.ones(1), "single state"
    if n <= direct_limit:
        # pi (P - I) = 0 with its last equation replaced by sum pi = 1
        A = sparse.vstack([(P.T - sparse.identity(n, format="csr")).tocsr()[:n - 1],
                           sparse.csr_matrix(np.ones((1, n)))], format="csc")
        b = np.zeros(n)
        b[-1] = 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pi = splinalg.spsolve(A, b)
            except RuntimeError:
                pi = np.full(n, np.nan)
        if np.all(np.isfinite(pi)) and pi.min() > -1e-10 and np.abs(pi @ P - pi).sum() < 1e-10:
            pi = np.maximum(pi, 0.0)
            return pi / pi.sum(), "direct solve"
    if start is None:
        pi = np.full(n, 1.0 / n)
    else:
        pi = np.zeros(n)
        pi[start] = 1.0
    PT = P.T.tocsr()
    previous = np.inf
    for _ in range(int(max_iter)):
        new = 0.05 * pi + 0.95 * (PT @ pi)
        change = np.abs(new - pi).sum()
        pi = new
        rate = min(change / previous, 1.0) if previous > 0 else 0.0
        previous = change
        if change == 0 or (rate < 1 and change * rate / (1 - rate) < tol and change < tol):
            return pi / pi.sum(), "power iteration"
    raise DPError(f"stationary_distribution: no convergence in {max_iter} iterations "
                  f"({n} states, last change {change:.3g})")


def _evaluation(s, products, start, act, max_states, method) -> PolicyEvaluation:
    keys, coords, P, parts, start_index = _chain(s, products, start, act, max_states)
    pi, how = stationary_distribution(P, None if start is None else start_index)
    revenue, purchase, holding, penalty = pi @ parts
    names = ("phase",) + tuple(n for pr in products for n in pr.names())
    return PolicyEvaluation(gain=float(revenue - purchase - holding - penalty),
                            revenue=float(revenue), purchase_cost=float(purchase),
                            holding_cost=float(holding), penalty_cost=float(penalty),
                            n_states=keys.size, states=coords, coordinates=names, stationary=pi,
                            method=f"{method}; {how}")


def _start_full(s: Scenario, products) -> np.ndarray:
    start = [0]
    for pr in products:
        i, L = pr.index, pr.lead_time
        start += [int(s.initial_on_hand[i])] + [int(v) for v in s.initial_pipeline[i, :L]]
    return np.asarray(start)


def evaluate_policy(scenario, policy, max_states: int = DEFAULT_MAX_CHAIN) -> PolicyEvaluation:
    """The exact gain of a stationary policy, from the stationary distribution of its chain.

    Parameters
    ----------
    scenario : Scenario or str
        the model (lost sales, no seasonality; any N for a coordlib policy).
    policy : DPSolution, DPPolicy or coordlib Policy
        a :class:`DPSolution` (or its policy) is evaluated on the DP's reduced state; any other
        policy (``reset``/``act``) is evaluated state by state on the full Markov state (phase,
        on-hand, pipeline): it is called on batched observations whose last-period fields
        (sales, lost sales, customers, demand) are zero, so it must be stationary, deterministic
        and depend only on t mod R, on-hand, pipeline and availability (base-stock, fixed,
        greedy and inventory-aware recommenders all qualify).
    max_states : int
        refuse chains with more reachable states than this.

    The chain is built over the states reachable from the scenario's initial state, so the gain
    is the long-run average profit from that state, as the simulator measures it.
    """
    s = get_scenario(scenario)
    if s.backlog or s.seasonal:
        raise DPError("evaluate_policy: handles lost sales without seasonality "
                      f"(scenario {s.name!r} has {'backlog' if s.backlog else 'seasonal arrivals'})")
    if isinstance(policy, DPPolicy):
        policy = policy.solution
    if isinstance(policy, DPSolution):
        return _evaluate_tables(s, policy, max_states)
    if not (hasattr(policy, "reset") and hasattr(policy, "act")):
        raise TypeError("evaluate_policy: policy must be a DPSolution or have reset() and act(), "
                        f"got {type(policy).__name__}")
    products = [_ChainProduct(i, int(s.lead_time[i]), int(s.capacity[i]), int(s.max_order[i]), False)
                for i in range(s.n_products)]
    policy.reset(s, 1, np.random.default_rng(0))
    Lmax = s.max_lead_time

    def act(phase, per):
        B = phase.size
        on_hand = np.column_stack([c[:, 0] for c in per])
        pipeline = np.zeros((B, s.n_products, Lmax), dtype=np.int64)
        for i, (pr, c) in enumerate(zip(products, per)):
            pipeline[:, i, :pr.lead_time] = c[:, 1:]
        orders = np.zeros((B, s.n_products), dtype=np.int64)
        mu = np.zeros((B, s.n_products))
        for t in np.unique(phase):
            rows = np.flatnonzero(phase == t)
            obs = _observation(s, int(t), on_hand[rows], pipeline[:, :, :][rows])
            a = policy.act(obs)
            x = s.check_exposure(np.broadcast_to(a.exposure, (rows.size, s.n_segments, s.n_products)))
            orders[rows] = s.check_orders(np.broadcast_to(a.orders, (rows.size, s.n_products)))
            mu[rows] = s.demand_rate(x)
        return orders, mu

    return _evaluation(s, products, _start_full(s, products), act, max_states,
                       f"policy {getattr(policy, 'name', type(policy).__name__)!r} on the full state")


def _observation(s: Scenario, t: int, on_hand, pipeline) -> Observation:
    B, N, K = on_hand.shape[0], s.n_products, s.n_segments
    arriving = pipeline[:, :, 0] if pipeline.shape[2] else np.zeros_like(on_hand)
    zeros = np.zeros((B, N), dtype=np.int64)
    return Observation(t, on_hand, pipeline, np.minimum(on_hand + arriving, s.capacity), zeros,
                       zeros, zeros, np.zeros((B, K), dtype=np.int64),
                       np.zeros((B, K, N), dtype=np.int64), s.is_review_period(t))


def _evaluate_tables(s: Scenario, sol: DPSolution, max_states: int) -> PolicyEvaluation:
    if not same_model(s, sol.scenario):
        raise DPError(f"evaluate_policy: the DP tables were solved for {sol.scenario.name!r}, "
                      f"whose parameters differ from {s.name!r}")
    products = [_ChainProduct(i, int(s.lead_time[i]), int(s.capacity[i]), int(s.max_order[i]), True)
                for i in range(2)]
    act = _table_act(sol)
    start_state = sol.state_index(s.initial_on_hand[None], s.initial_pipeline[None], 0)
    start = np.asarray([int(v[0]) for v in start_state])
    return _evaluation(s, products, start, act, max_states, "DP tables on the reduced state")


def transition_matrix(solution: DPSolution) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The reduced chain under the DP-optimal policy over *every* reduced state.

    Returns P (S, S), indexed by the flat index of ``solution.state_shape``, and the expected
    one-period profit per state (S,).
    """
    s = solution.scenario
    products = [_ChainProduct(i, int(s.lead_time[i]), int(s.capacity[i]), int(s.max_order[i]), True)
                for i in range(2)]
    act = _table_act(solution)
    _, _, P, parts, _ = _chain(s, products, None, act, max_states=np.inf)
    return P, parts[:, 0] - parts[:, 1:].sum(axis=1)


def _table_act(sol: DPSolution):
    orders, mu = sol.orders, sol.mean_demand

    def act(phase, per):
        index = (phase,) + tuple(c for block in per for c in block.T)
        return orders[index], mu[index]
    return act


# ---- base-stock with a fixed exposure -------------------------------------------------------------
def _single_product_base_stock(s: Scenario, i: int, mean_demand: float, level: int,
                               max_states: int):
    """Product i alone under base-stock S with Poisson(mean_demand) demand, exactly: the chain
    of :func:`coordlib.exact.single_product.evaluate_base_stock`, grown from the scenario's
    initial state of that product."""
    L = int(s.lead_time[i])
    start = (int(s.initial_on_hand[i]), *(int(v) for v in s.initial_pipeline[i, :L]))
    return single_product.evaluate_base_stock(
        float(mean_demand), float(s.price[i]), float(s.unit_cost[i]), float(s.holding_cost[i]),
        float(s.lost_sale_penalty[i]), L, int(s.capacity[i]), int(s.max_order[i]), int(level),
        start=start, max_states=max_states)


def base_stock_gain(scenario, levels, exposure,
                    max_states: int = DEFAULT_MAX_CHAIN) -> PolicyEvaluation:
    """Exact gain of base-stock levels S [S_i] with the fixed exposure x (K, N) [x_kj].

    With a fixed exposure the products' demands are independent Poisson(mu_i(x)) and each
    product's orders depend on its own state only, so the gain is the sum of N one-product
    chains (exact). Any N; lost sales, no seasonality.
    """
    s = get_scenario(scenario)
    if s.backlog or s.seasonal:
        raise DPError("base_stock_gain: handles lost sales without seasonality")
    x = s.check_exposure(_as_exposure(s, exposure))
    levels = np.asarray(levels, dtype=np.int64).reshape(-1)
    if levels.shape != (s.n_products,) or np.any(levels < 0):
        raise DPError(f"base_stock_gain: need {s.n_products} levels >= 0, got {levels.tolist()}")
    mu = s.demand_rate(x)
    per = [_single_product_base_stock(s, i, float(mu[i]), int(levels[i]), max_states)
           for i in range(s.n_products)]
    return PolicyEvaluation(
        gain=float(sum(e.gain for e in per)), revenue=float(sum(e.revenue for e in per)),
        purchase_cost=float(sum(e.purchase_cost for e in per)),
        holding_cost=float(sum(e.holding_cost for e in per)),
        penalty_cost=float(sum(e.penalty_cost for e in per)),
        n_states=int(np.prod([e.n_states for e in per])), method="sum of one-product chains",
        per_product=np.array([e.gain for e in per]))


def _as_exposure(s: Scenario, exposure) -> np.ndarray:
    x = np.asarray(exposure, dtype=float)
    if x.ndim == 1 and s.n_segments == 1:
        x = x[None]
    return x


def product_base_stock_gains(scenario, product: int, mean_demand: float,
                             max_level: Optional[int] = None,
                             max_states: int = DEFAULT_MAX_CHAIN) -> np.ndarray:
    """Exact gain of product ``product`` (0-based) alone under every base-stock level 0..max_level.

    Demand Poisson(mean_demand) [mu_i]; default max_level M_i + L_i Qmax_i (the inventory
    position after ordering cannot exceed it, so higher levels act the same).
    """
    s = get_scenario(scenario)
    i = int(product)
    top = int(s.capacity[i] + s.lead_time[i] * s.max_order[i]) if max_level is None else int(max_level)
    return np.array([_single_product_base_stock(s, i, float(mean_demand), S, max_states).gain
                     for S in range(top + 1)])


def best_base_stock(scenario, exposure, max_level: Optional[Sequence[int]] = None,
                    max_states: int = DEFAULT_MAX_CHAIN) -> tuple[np.ndarray, float, pd.DataFrame]:
    """The best base-stock levels for a fixed exposure x, by exact evaluation of every level.

    Each product i is scanned over S_i = 0..max_level_i (default M_i + L_i Qmax_i, see
    :func:`product_base_stock_gains`); the products separate (see :func:`base_stock_gain`).
    Returns the levels, their exact gain and a table of every product's gain per level. Ties
    go to the smallest level.
    """
    s = get_scenario(scenario)
    x = s.check_exposure(_as_exposure(s, exposure))
    mu = s.demand_rate(x)
    rows, levels, gain = [], [], 0.0
    for i in range(s.n_products):
        gains = product_base_stock_gains(s, i, float(mu[i]),
                                         None if max_level is None else int(max_level[i]),
                                         max_states)
        best = int(np.argmax(gains))
        levels.append(best)
        gain += gains[best]
        rows += [{"product": i + 1, "level": S, "gain": g} for S, g in enumerate(gains)]
    return np.array(levels), float(gain), pd.DataFrame(rows)
