"""The exact dynamic program: MODEL.md section 5 ("Exact DP") on the dynamics of section 3.

:func:`solve` finds the optimal long-run profit per period g* and an optimal stationary policy
of a small instance (N = 2 products, K segments, lost sales, any lead times and review period
R that fit in memory; seasonality and backlog are not supported) by average-reward relative
value iteration (RVI), with exposures on a grid. :func:`evaluate_policy` computes the exact
gain of a given stationary policy from the stationary distribution of the Markov chain it
induces, and :func:`base_stock_gain` / :func:`best_base_stock` do so for base-stock
replenishment with a fixed exposure.

The state, and how it is reduced
--------------------------------
The Markov state at the start of period t is, per product, the on-hand I_i and the pipeline
(o_i0, ..., o_i,L_i-1) (o_id arrives at the start of t + d), plus the phase t mod R. For a
product with L_i >= 1, this period's reward and next state depend on (I_i, o_i0) only through
the stock available for sale A_i = min(I_i + o_i0, M_i) (MODEL.md 3.2: what overflows the
capacity is lost either way). So the DP works on the *reduced state* per product

    L_i = 0:   (I_i)                                 M_i + 1 values
    L_i >= 1:  (A_i, o_i1, ..., o_i,L_i-1)           (M_i + 1)(Qmax_i + 1)^(L_i - 1) values

which is exact, not an approximation: every full state with the same reduced state has the
same optimal value and the same optimal decisions. Both counts are reported.

One Bellman step, and why it is fast
------------------------------------
Orders and exposures are chosen together, before demand. Given the exposure x, demand is
Poisson with mean mu_i(x) (MODEL.md 3.3) independently across products, so with the
end-of-period stock e_i = A_i - s_i,

    P(e_i = e | A_i, x) = P(D_i = A_i - e)  for 1 <= e <= A_i,   P(e_i = 0) = P(D_i >= A_i),

exactly (the Poisson tail beyond A_i is lumped where min(A_i, D_i) saturates; nothing is
truncated). The expected one-period profit and this distribution are tabulated per product.
The decision (q, x) enters the next state only through the *post-decision state*
z_i = (A_i, carry_i), carry_i = (o_i1, ..., o_i,L_i-1, q_i) (for L_i = 0, z_i = A_i with
A_i = min(I_i + q_i, M_i)). Then

    W(z, x) = sum_i r_i(A_i, x) + sum_{e_1, e_2} P(e_1 | A_1, x) P(e_2 | A_2, x) h(y'(e, carry))
    (T h)(y) = max_q [ -c . q + max_x W(z(y, q), x) ]

and the double sum is two matrix products per exposure (the product structure of the demand),
so one step costs O(|X| |Z_1| |Z_2| (M_1 + M_2)) floating-point operations, with no Python loop
over states. With R > 1 the phase joins the state and orders are forced to 0 when t mod R != 0.

RVI and aperiodicity
--------------------
h <- h + tau (T h - h), then h <- h - h(reference state); stop when span(T h - h) < tol. For
any h, min(T h - h) <= g* <= max(T h - h), so the reported gain (the midpoint) is within tol/2
of g*. tau < 1 is the standard aperiodicity transform (the MDP with transitions
tau P + (1 - tau) I has the same optimal policies and, rescaled, the same gain); it guarantees
convergence when the chain is periodic, which it is by construction when R > 1. Default:
tau = 1 when R = 1 (plain RVI converged in 17-30 iterations on every instance tried; a run
that does not converge warns and reports ``converged=False``; pass ``aperiodicity`` < 1 then),
0.5 otherwise.

Ties: an action is taken as optimal when its value is within ``tie_tolerance`` of the best.
The exposure is chosen first (each exposure valued with its best orders): among optimal
exposures the lowest grid index, i.e. the smallest share of product 1 for segment 1, then for
segment 2; then among that exposure's optimal orders the smallest q_1, then q_2. Ties are real
in symmetric instances (tiny at A_1 = A_2), so the rule is stated, not left to rounding.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.sparse import linalg as splinalg

from .policies import Action, Policy
from .scenario import PRODUCT_FIELDS, SEGMENT_FIELDS, Scenario, ScenarioError
from .scenarios import get as get_scenario
from .simulator import Observation

DEFAULT_MAX_TABLE = 2e8
"""Largest post-decision table |Z_1| |Z_2| x exposures that :func:`solve` accepts by default."""
DEFAULT_MAX_CHAIN = 300_000
"""Largest number of states :func:`evaluate_policy` builds a Markov chain for."""
_CHUNK = 4_000_000   # entries of one block of W(z, x) held in memory at a time


class DPError(ScenarioError):
    """The exact DP cannot handle this scenario: an unsupported feature, or too large."""


# ---- one product: its spaces and its one-period tables ----------------------------------------
@dataclass(frozen=True)
class _Product:
    """The reduced state space of one product and the maps of one period (see module doc)."""

    lead_time: int      # L_i
    capacity: int       # M_i
    max_order: int      # Qmax_i

    @property
    def n_rest(self) -> int:
        """Pipeline values beyond the slot that arrives now: (Qmax + 1)^(L - 1)."""
        return (self.max_order + 1) ** max(self.lead_time - 1, 0)

    @property
    def n_states(self) -> int:
        """Reduced states y = (A or I, o_1, ..., o_{L-1})."""
        return (self.capacity + 1) * self.n_rest

    @property
    def n_full_states(self) -> int:
        """Full Markov states (I, o_0, ..., o_{L-1})."""
        return (self.capacity + 1) * (self.max_order + 1) ** self.lead_time

    @property
    def n_carry(self) -> int:
        """What the post-decision state carries besides A: (o_1, ..., o_{L-1}, q)."""
        return 1 if self.lead_time == 0 else (self.max_order + 1) ** self.lead_time

    @property
    def n_post(self) -> int:
        return (self.capacity + 1) * self.n_carry

    @property
    def state_shape(self) -> tuple:
        return (self.capacity + 1,) + (self.max_order + 1,) * max(self.lead_time - 1, 0)

    def state_axes(self, i: int) -> tuple:
        """Axis names of the reduced state of product i (1-based in names)."""
        if self.lead_time == 0:
            return (f"on_hand_{i}",)
        return (f"available_{i}",) + tuple(f"pipeline_{i}_{d}" for d in range(1, self.lead_time))

    def next_state(self) -> np.ndarray:
        """(M + 1, n_carry): reduced next state from end-of-period stock e and the carry."""
        e = np.arange(self.capacity + 1)[:, None]
        c = np.arange(self.n_carry)[None, :]
        if self.lead_time == 0:
            return e.copy()
        if self.lead_time == 1:                                  # carry = q, arrives next period
            return np.minimum(e + c, self.capacity)
        first, rest = c // self.n_rest, c % self.n_rest          # o_1 arrives next period
        return np.minimum(e + first, self.capacity) * self.n_rest + rest

    def post_decision(self) -> np.ndarray:
        """(n_states, Qmax + 1): the post-decision index z of reduced state y and order q."""
        y = np.arange(self.n_states)[:, None]
        q = np.arange(self.max_order + 1)[None, :]
        if self.lead_time == 0:                                  # the order arrives at once
            return np.minimum(y + q, self.capacity)
        return y * (self.max_order + 1) + q


def end_stock_probabilities(mean_demand, capacity: int) -> np.ndarray:
    """P[x, A, e] = P(A - min(A, D) = e) for D ~ Poisson(mean_demand[x]), A, e in 0..capacity.

    Exact: P(e) = P(D = A - e) for 1 <= e <= A and P(e = 0) = P(D >= A); rows sum to 1.
    """
    mu = np.atleast_1d(np.asarray(mean_demand, dtype=float))
    k = np.arange(capacity + 1)
    pmf = stats.poisson.pmf(k[None, :], mu[:, None])                 # (X, M+1)
    tail = stats.poisson.sf(k[None, :] - 1, mu[:, None])             # P(D >= k)
    A, e = np.meshgrid(k, k, indexing="ij")
    sold = A - e
    inside = (e >= 1) & (sold >= 0)
    P = np.zeros((mu.size, capacity + 1, capacity + 1))
    P[:, inside] = pmf[:, sold[inside]]
    P[:, k, 0] = tail[:, k]
    return P


def expected_period_profit(mean_demand, capacity: int, price: float, holding_cost: float,
                           lost_sale_penalty: float) -> np.ndarray:
    """(X, M + 1): E[p s - h (A - s) - b (D - s)] for stock A and D ~ Poisson(mean_demand[x]).

    The purchase cost c q is not included (it depends on the order, not on A).
    """
    mu = np.atleast_1d(np.asarray(mean_demand, dtype=float))
    P = end_stock_probabilities(mu, capacity)
    leftover = P @ np.arange(capacity + 1)                           # E[A - s]
    sales = np.arange(capacity + 1)[None, :] - leftover
    return price * sales - holding_cost * leftover - lost_sale_penalty * (mu[:, None] - sales)


def grid_exposures(scenario: Scenario, points: int = 11) -> np.ndarray:
    """(X, K, 2): every exposure with each segment's share of product 1 on 0, 1/(points-1), ..., 1.

    Ordered with segment 1 varying slowest; X = points^K.
    """
    if int(points) != points or points < 2:
        raise DPError(f"exposure_grid: need a whole number of points >= 2, got {points!r}")
    share = np.linspace(0.0, 1.0, int(points))
    K = scenario.n_segments
    shares = np.array(list(itertools.product(share, repeat=K)))      # (X, K)
    return np.stack([shares, 1.0 - shares], axis=-1)


# ---- checks -----------------------------------------------------------------------------------
def _check_supported(s: Scenario) -> None:
    problems = []
    if s.n_products != 2:
        problems.append(f"N = {s.n_products} products (the DP handles N = 2)")
    if s.backlog:
        problems.append("the backlog variant (the DP handles lost sales)")
    if s.seasonal:
        problems.append("seasonal arrivals (the DP handles stationary arrival rates)")
    if problems:
        raise DPError(f"scenario {s.name!r} is not supported by the exact DP: " + "; ".join(problems))


def reduce_scenario(scenario: Scenario, max_inventory: Optional[int]) -> tuple[Scenario, str]:
    """The scenario with capacity M_i and max order Qmax_i capped at ``max_inventory``.

    The initial on-hand and pipeline are clipped to the new bounds. Returns the scenario and a
    note saying what was changed ('' when nothing was).
    """
    if max_inventory is None:
        return scenario, ""
    m = int(max_inventory)
    if m != max_inventory or m < 1:
        raise DPError(f"max_inventory: must be a whole number >= 1, got {max_inventory!r}")
    capacity = np.minimum(scenario.capacity, m)
    max_order = np.minimum(scenario.max_order, m)
    if np.array_equal(capacity, scenario.capacity) and np.array_equal(max_order, scenario.max_order):
        return scenario, ""
    reduced = scenario.replace(
        capacity=capacity.tolist(), max_order=max_order.tolist(),
        initial_on_hand=np.minimum(scenario.initial_on_hand, capacity).tolist(),
        initial_pipeline=np.minimum(scenario.initial_pipeline, max_order[:, None]).tolist(),
        name=f"{scenario.name}[max_inventory={m}]")
    note = (f"solved a reduced instance: capacity {scenario.capacity.tolist()} -> "
            f"{capacity.tolist()}, max_order {scenario.max_order.tolist()} -> {max_order.tolist()}"
            f" (max_inventory={m}); its gain is that of the reduced instance, not of "
            f"{scenario.name!r}")
    return reduced, note


def same_model(a: Scenario, b: Scenario) -> bool:
    """True when two scenarios have the same parameters (the initial state may differ)."""
    fields = list(PRODUCT_FIELDS) + list(SEGMENT_FIELDS) + ["attraction"]
    return (all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields)
            and a.review_period == b.review_period and a.backlog == b.backlog)


# ---- the result ---------------------------------------------------------------------------------
@dataclass
class DPSolution:
    """The optimal gain and policy of a small instance (returned by :func:`solve`).

    Tables are indexed by the reduced state, axes :attr:`state_axes`: first ``phase`` (t mod R),
    then product 1's axes, then product 2's (``available_i`` is A_i for L_i >= 1,
    ``on_hand_i`` is I_i for L_i = 0, ``pipeline_i_d`` is o_id, the order arriving in d periods).
    """

    scenario: Scenario
    """the instance solved (after ``max_inventory``, if any)"""
    gain: float
    """g*, the optimal long-run profit per period (midpoint of the final RVI bounds)"""
    gain_bounds: tuple
    """(min, max) of T h - h at the last step: g* lies in between"""
    bias: np.ndarray
    """relative values h(y), normalized to 0 at the first state (shape :attr:`state_shape`)"""
    orders: np.ndarray
    """optimal orders q_i(y), shape state_shape + (N,)"""
    exposure_index: np.ndarray
    """index into :attr:`exposures` of the optimal exposure, shape state_shape"""
    exposures: np.ndarray
    """(X, K, N) the exposure grid"""
    exposure_values: np.ndarray
    """state_shape + (X,): max over orders of the one-step value of each exposure (T h given x)"""
    state_axes: tuple
    n_states: int
    """full Markov states: (phase, on-hand, whole pipeline)"""
    n_reduced_states: int
    """states the DP iterates over (see the module doc)"""
    n_order_actions: int
    n_exposure_actions: int
    iterations: int
    span: float
    """span(T h - h) at the last step"""
    converged: bool
    seconds: float
    aperiodicity: float
    tie_tolerance: float
    note: str = ""
    _products: tuple = field(default=(), repr=False)

    @property
    def n_actions(self) -> int:
        """Joint actions per review state: orders x exposures."""
        return self.n_order_actions * self.n_exposure_actions

    @property
    def state_shape(self) -> tuple:
        return self.bias.shape

    @property
    def exposure(self) -> np.ndarray:
        """state_shape + (K, N): the optimal exposure x_k(y)."""
        return self.exposures[self.exposure_index]

    @property
    def exposure_share(self) -> np.ndarray:
        """state_shape + (N,): each product's share of exposure, weighted by arrival rates."""
        w = self.scenario.arrival_rate / self.scenario.arrival_rate.sum()
        return np.einsum("...kn,k->...n", self.exposure, w)

    @property
    def mean_demand(self) -> np.ndarray:
        """state_shape + (N,): mu_i(x*(y)) under the optimal exposure."""
        return self.scenario.demand_rate(self.exposure)

    @property
    def policy(self) -> "DPPolicy":
        """The optimal policy as a coordlib policy (for :func:`coordlib.evaluate`)."""
        return DPPolicy(self)

    def state_index(self, on_hand, pipeline, t) -> tuple:
        """Reduced-state index (tuple of arrays for the tables) of full states.

        ``on_hand`` (B, N), ``pipeline`` (B, N, max L) as in :class:`coordlib.Observation`,
        ``t`` the period (int or (B,)).
        """
        on_hand = np.asarray(on_hand, dtype=np.int64)
        pipeline = np.asarray(pipeline, dtype=np.int64)
        B = on_hand.shape[0]
        parts = [np.broadcast_to(np.asarray(t, dtype=np.int64) % self.scenario.review_period, (B,))]
        for i, prod in enumerate(self._products):
            coords = _reduced_from_full(prod, on_hand[:, i], pipeline[:, i, :prod.lead_time])
            for j, axis in enumerate(coords.T):
                if np.any(axis >= prod.state_shape[j]) or np.any(axis < 0):
                    raise DPError(f"state outside the DP tables (product {i + 1}, axis "
                                  f"{self.state_axes[1 + j]}); the tables cover capacity "
                                  f"{prod.capacity}, max_order {prod.max_order}")
                parts.append(axis)
        return tuple(parts)

    def frame(self) -> pd.DataFrame:
        """The policy as a tidy table: one row per reduced state."""
        index = np.indices(self.state_shape).reshape(len(self.state_shape), -1).T
        out = pd.DataFrame(index, columns=list(self.state_axes))
        N, K = self.scenario.n_products, self.scenario.n_segments
        orders = self.orders.reshape(-1, N)
        x = self.exposure.reshape(-1, K, N)
        for i in range(N):
            out[f"order_{i + 1}"] = orders[:, i]
        for k in range(K):
            out[f"share_1_segment_{k + 1}"] = x[:, k, 0]
        share = self.exposure_share.reshape(-1, N)
        for i in range(N):
            out[f"exposure_{i + 1}"] = share[:, i]
        out["bias"] = self.bias.reshape(-1)
        return out

    def summary(self) -> str:
        s = self.scenario
        lines = [f"scenario          {s.name}",
                 f"gain g*           {self.gain:.6f}  (bounds {self.gain_bounds[0]:.6f} .. "
                 f"{self.gain_bounds[1]:.6f})",
                 f"states            {self.n_states} full Markov states, {self.n_reduced_states} "
                 "reduced states iterated",
                 f"actions           {self.n_actions} = {self.n_order_actions} orders x "
                 f"{self.n_exposure_actions} exposures",
                 f"iterations        {self.iterations}  (span {self.span:.2e}, converged "
                 f"{self.converged}, tau {self.aperiodicity})",
                 f"time              {self.seconds:.2f} s"]
        if self.note:
            lines.append(f"note              {self.note}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"DPSolution(scenario={self.scenario.name!r}, gain={self.gain:.6f}, "
                f"states={self.n_states}, reduced_states={self.n_reduced_states}, "
                f"actions={self.n_actions}, iterations={self.iterations}, "
                f"seconds={self.seconds:.2f})")


def _reduced_from_full(prod: _Product, on_hand, pipeline) -> np.ndarray:
    """(B, n) reduced coordinates of one product from on-hand (B,) and its pipeline (B, L)."""
    if prod.lead_time == 0:
        return on_hand[:, None]
    available = np.minimum(on_hand + pipeline[:, 0], prod.capacity)
    return np.column_stack([available, pipeline[:, 1:prod.lead_time]])


class DPPolicy(Policy):
    """The DP-optimal policy: looks the state up in the tables of a :class:`DPSolution`.

    Acts on the full state (a centralized policy): phase, on-hand and pipeline.
    """

    name = "dp-optimal"

    def __init__(self, solution: DPSolution):
        self.solution = solution

    def reset(self, scenario, batch_size, rng):
        if not same_model(scenario, self.solution.scenario):
            raise DPError(f"dp-optimal policy: solved for {self.solution.scenario.name!r}, asked "
                          f"to act on {scenario.name!r} whose parameters differ (with "
                          "max_inventory, evaluate on DPSolution.scenario)")
        super().reset(scenario, batch_size, rng)

    def act(self, observation: Observation) -> Action:
        sol = self.solution
        index = sol.state_index(observation.on_hand, observation.pipeline, observation.t)
        return Action(sol.orders[index], sol.exposures[sol.exposure_index[index]])


# ---- the solver -----------------------------------------------------------------------------------
class _Bellman:
    """The Bellman operator of the reduced MDP for one scenario and exposure grid."""

    def __init__(self, s: Scenario, exposures: np.ndarray):
        self.s = s
        self.products = tuple(_Product(int(s.lead_time[i]), int(s.capacity[i]), int(s.max_order[i]))
                               for i in range(2))
        p1, p2 = self.products
        self.exposures = exposures
        mu = s.demand_rate(exposures)                                    # (X, 2)
        self.X = mu.shape[0]
        self.P = [end_stock_probabilities(mu[:, i], pr.capacity) for i, pr in enumerate(self.products)]
        self.r = [expected_period_profit(mu[:, i], pr.capacity, s.price[i], s.holding_cost[i],
                                         s.lost_sale_penalty[i]) for i, pr in enumerate(self.products)]
        self.next = [pr.next_state() for pr in self.products]
        self.z = [pr.post_decision() for pr in self.products]
        self.cost = [s.unit_cost[i] * np.arange(pr.max_order + 1)
                     for i, pr in enumerate(self.products)]
        self.shape = (p1.n_states, p2.n_states)
        self.chunk = max(1, int(_CHUNK // max(p1.n_post * p2.n_post, 1)))

    def post_decision_values(self, h_next: np.ndarray):
        """Yield (exposure indices, W (x, Z_1, Z_2)) block by block (see module doc)."""
        p1, p2 = self.products
        E1, C1, E2, C2 = p1.capacity + 1, p1.n_carry, p2.capacity + 1, p2.n_carry
        G = h_next[self.next[0][:, :, None, None], self.next[1][None, None, :, :]]
        G = G.reshape(E1, C1 * E2 * C2)
        for start in range(0, self.X, self.chunk):
            xs = slice(start, min(start + self.chunk, self.X))
            P1, P2 = self.P[0][xs], self.P[1][xs]
            n = P1.shape[0]
            U = (P1.reshape(n * E1, E1) @ G).reshape(n, E1 * C1, E2, C2)
            W = np.matmul(P2[:, None], U).reshape(n, E1, C1, E2, C2)
            W += (self.r[0][xs][:, :, None, None, None] + self.r[1][xs][:, None, None, :, None])
            yield xs, W.reshape(n, E1 * C1, E2 * C2)

    def _order_values(self, W_best: np.ndarray, review: bool) -> np.ndarray:
        """(..., S_1, Q_1 + 1, S_2, Q_2 + 1) value of each order, or (..., S_1, S_2) at q = 0."""
        z1, z2 = self.z
        if not review:
            return W_best[..., z1[:, 0][:, None], z2[:, 0][None, :]]
        v = W_best[..., z1[:, :, None, None], z2[None, None, :, :]]
        return v - self.cost[0][:, None, None] - self.cost[1]

    def apply(self, h_next: np.ndarray, review: bool) -> np.ndarray:
        """(T h)(y) for one phase, given the relative values h_next of the next phase."""
        best = None
        for _, W in self.post_decision_values(h_next):
            m = W.max(axis=0)
            best = m if best is None else np.maximum(best, m)
        v = self._order_values(best, review)
        return v.max(axis=(1, 3)) if review else v

    def greedy(self, h_next: np.ndarray, review: bool, tie: float):
        """Optimal (orders (S1, S2, 2), exposure index (S1, S2), values per exposure (S1, S2, X))."""
        S1, S2 = self.shape
        Q1, Q2 = (pr.max_order + 1 for pr in self.products)
        values = np.empty((self.X, S1, S2))
        order_arg = np.zeros((self.X, S1, S2), dtype=np.int64)
        for xs, W in self.post_decision_values(h_next):
            v = self._order_values(W, review)
            if review:
                v = v.transpose(0, 1, 3, 2, 4).reshape(v.shape[0], S1, S2, Q1 * Q2)
                top = v.max(axis=-1)
                order_arg[xs] = np.argmax(v >= top[..., None] - tie, axis=-1)
                values[xs] = top
            else:
                values[xs] = v
        top = values.max(axis=0)
        x_arg = np.argmax(values >= top[None] - tie, axis=0)
        flat = np.take_along_axis(order_arg, x_arg[None], axis=0)[0]
        orders = np.stack([flat // Q2, flat % Q2], axis=-1)
        return orders, x_arg, np.moveaxis(values, 0, -1)


def problem_size(scenario, exposure_grid: int = 11, max_inventory: Optional[int] = None) -> dict:
    """The sizes :func:`solve` would face: states, actions and the post-decision table."""
    s, _ = reduce_scenario(get_scenario(scenario), max_inventory)
    _check_supported(s)
    products = [_Product(int(s.lead_time[i]), int(s.capacity[i]), int(s.max_order[i]))
                for i in range(2)]
    X = int(exposure_grid) ** s.n_segments
    R = s.review_period
    return {"full_states": R * products[0].n_full_states * products[1].n_full_states,
            "reduced_states": R * products[0].n_states * products[1].n_states,
            "order_actions": (products[0].max_order + 1) * (products[1].max_order + 1),
            "exposure_actions": X,
            "post_decision_table": products[0].n_post * products[1].n_post * X}


def solve(scenario, exposure_grid: int = 11, max_inventory: Optional[int] = None,
          tol: float = 1e-7, max_iter: int = 5000, aperiodicity: Optional[float] = None,
          tie_tolerance: float = 1e-6, max_table: float = DEFAULT_MAX_TABLE,
          exposures=None) -> DPSolution:
    """Solve the average-reward MDP of a small instance exactly (MODEL.md section 5, Exact DP).

    Parameters
    ----------
    scenario : Scenario or str
        N = 2 products, lost sales, no seasonality; any K, lead times L_i and review period R
        whose tables fit (see ``max_table``).
    exposure_grid : int
        points of each segment's share of product 1 [x_k1], 0 .. 1; default 11 (0, 0.1, ..., 1),
        so K segments give exposure_grid^K exposure actions.
    max_inventory : int, optional
        cap capacity M_i and max order Qmax_i at this value (a smaller instance, noted in
        ``DPSolution.note``; the gain is the reduced instance's).
    tol : float
        stop when span(T h - h) < tol: g* is then known within tol / 2 (profit per period).
    max_iter : int
        iterations of RVI before giving up (``converged`` is then False, with a warning).
    aperiodicity : float, optional
        tau in (0, 1] of the aperiodicity transform; default 1 if R = 1, else 0.5.
    tie_tolerance : float
        actions within this of the best value count as optimal (tie rule: module doc).
    max_table : float
        refuse instances whose post-decision table (|Z_1| |Z_2| exposures) exceeds this.
    exposures : array (X, K, N), optional
        the exposure actions, instead of the grid (e.g. one fixed exposure: the optimal
        ordering policy for a given static recommendation).
    """
    started = time.perf_counter()
    original = get_scenario(scenario)
    _check_supported(original)
    s, note = reduce_scenario(original, max_inventory)
    if exposures is None:
        exposures = grid_exposures(s, exposure_grid)
    else:
        exposures = s.check_exposure(np.asarray(exposures, dtype=float).reshape(
            -1, s.n_segments, s.n_products))
    size = problem_size(s, exposure_grid)
    size["post_decision_table"] = (size["post_decision_table"] // size["exposure_actions"]
                                   * len(exposures))
    size["exposure_actions"] = len(exposures)
    if size["post_decision_table"] > max_table:
        raise DPError(
            f"scenario {s.name!r} is too large for the exact DP: {size['full_states']} full states "
            f"({size['reduced_states']} reduced), {size['order_actions']} order actions x "
            f"{size['exposure_actions']} exposure actions = "
            f"{size['order_actions'] * size['exposure_actions']} actions; its post-decision "
            f"table has {size['post_decision_table']:.3g} entries (limit {max_table:.3g}). "
            "Pass max_inventory=... (smaller capacity and max order) or a coarser exposure_grid.")
    R = s.review_period
    tau = (1.0 if R == 1 else 0.5) if aperiodicity is None else float(aperiodicity)
    if not 0 < tau <= 1:
        raise DPError(f"aperiodicity: tau must lie in (0, 1], got {aperiodicity!r}")
    if not tol > 0:
        raise DPError(f"tol: must be positive, got {tol!r}")
    T = _Bellman(s, exposures)
    h = np.zeros((R,) + T.shape)
    lo = hi = np.nan
    converged = False
    for it in range(1, int(max_iter) + 1):
        u = np.stack([T.apply(h[(phase + 1) % R], review=(phase == 0)) for phase in range(R)])
        d = u - h
        lo, hi = float(d.min()), float(d.max())
        if hi - lo < tol:
            converged = True
            break
        h += tau * d
        h -= h.flat[0]
    if not converged:
        warnings.warn(f"dp.solve: RVI did not converge in {max_iter} iterations "
                      f"(span {hi - lo:.3g} > tol {tol:.3g})", RuntimeWarning, stacklevel=2)
    orders = np.zeros((R,) + T.shape + (2,), dtype=np.int64)
    x_index = np.zeros((R,) + T.shape, dtype=np.int64)
    values = np.zeros((R,) + T.shape + (T.X,))
    for phase in range(R):
        orders[phase], x_index[phase], values[phase] = T.greedy(h[(phase + 1) % R], phase == 0,
                                                                tie_tolerance)
    p1, p2 = T.products
    shape = (R,) + p1.state_shape + p2.state_shape
    axes = ("phase",) + p1.state_axes(1) + p2.state_axes(2)
    return DPSolution(
        scenario=s, gain=(lo + hi) / 2, gain_bounds=(lo, hi), bias=h.reshape(shape),
        orders=orders.reshape(shape + (2,)), exposure_index=x_index.reshape(shape),
        exposures=exposures, exposure_values=values.reshape(shape + (T.X,)), state_axes=axes,
        n_states=size["full_states"], n_reduced_states=size["reduced_states"],
        n_order_actions=size["order_actions"], n_exposure_actions=size["exposure_actions"],
        iterations=it, span=hi - lo, converged=converged,
        seconds=time.perf_counter() - started, aperiodicity=tau, tie_tolerance=tie_tolerance,
        note=note, _products=T.products)



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
    """(B, M + 1): P(e | A_b, mu_b) for each row b (see :func:`end_stock_probabilities`)."""
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
                               max_states: int) -> PolicyEvaluation:
    """One product under base-stock S with Poisson(mean_demand) demand, exactly (its chain over
    the states reachable from the scenario's initial state)."""
    product = _ChainProduct(i, int(s.lead_time[i]), int(s.capacity[i]), int(s.max_order[i]), False)

    def act(phase, per):
        c = per[0]
        position = c.sum(axis=1)                      # on-hand + every outstanding order
        q = np.clip(level - position, 0, product.max_order)
        return q[:, None], np.full((c.shape[0], 1), mean_demand)

    start = np.asarray([0, int(s.initial_on_hand[i])]
                       + [int(v) for v in s.initial_pipeline[i, :product.lead_time]])
    return _evaluation(s, [product], start, act, max_states, "base-stock, one product")


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


# ---- command line ---------------------------------------------------------------------------------
def cli(argv) -> int:
    """``python -m coordlib dp --scenario tiny``: solve and print gain, states, actions, time."""
    parser = argparse.ArgumentParser(prog="coordlib dp", description=solve.__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="tiny", help="a shipped scenario name or a YAML path")
    parser.add_argument("--exposure-grid", type=int, default=11,
                        help="points of each segment's share of product 1 (default 11)")
    parser.add_argument("--max-inventory", type=int, default=None,
                        help="cap capacity and max order at this value")
    parser.add_argument("--lead-time", type=int, nargs="+", default=None,
                        help="override the lead times (one value, or one per product)")
    parser.add_argument("--tol", type=float, default=1e-7, help="RVI span tolerance")
    parser.add_argument("--max-iter", type=int, default=5000)
    args = parser.parse_args(argv)
    try:
        s = get_scenario(args.scenario)
        if args.lead_time is not None:
            lead = args.lead_time * s.n_products if len(args.lead_time) == 1 else args.lead_time
            s = s.replace(lead_time=lead)
        result = solve(s, exposure_grid=args.exposure_grid, max_inventory=args.max_inventory,
                       tol=args.tol, max_iter=args.max_iter)
    except ScenarioError as exc:
        print(f"coordlib dp: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


__all__ = ["solve", "DPSolution", "DPPolicy", "DPError", "evaluate_policy", "PolicyEvaluation",
           "base_stock_gain", "best_base_stock", "product_base_stock_gains", "problem_size",
           "grid_exposures",
           "end_stock_probabilities", "expected_period_profit", "stationary_distribution",
           "reduce_scenario", "transition_matrix", "same_model"]
