"""The exact dynamic program: MODEL.md section 5 ("Exact DP") on the dynamics of section 3.

:func:`solve` finds the optimal long-run profit per period g* and an optimal stationary policy
of a small instance (N = 2 products, K segments, lost sales, any lead times and review period
R that fit in memory; seasonality and backlog are not supported) by average-reward relative
value iteration (RVI), with exposures on a grid. :func:`coordlib.exact.policy_evaluation.evaluate_policy` computes the exact
gain of a given stationary policy from the stationary distribution of the Markov chain it
induces, and :func:`coordlib.exact.policy_evaluation.base_stock_gain` / :func:`coordlib.exact.policy_evaluation.best_base_stock` do so for base-stock
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
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from ..common.files import atomic_write
from ..common.help import HelpFormatter
from ..model.policy import Action, Policy
from ..model.scenario import PRODUCT_FIELDS, SEGMENT_FIELDS, Scenario, ScenarioError
from ..model.scenarios import get as get_scenario
from ..model.simulator import Observation

DEFAULT_MAX_TABLE = 2e8
"""Largest post-decision table |Z_1| |Z_2| x exposures that :func:`solve` accepts by default."""
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
    if isinstance(max_iter, bool) or int(max_iter) != max_iter or max_iter < 1:
        raise DPError(f"max_iter: must be a whole number >= 1, got {max_iter!r}")
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


# ---- command line ---------------------------------------------------------------------------------
DP_EPILOG = """\
what the output means:
  gain g*         the optimal long-run profit per period; the bounds are min and max of
                  T h - h at the last step, and g* lies between them
  states          full Markov states (on-hand, whole order pipeline, phase t mod R) and
                  the reduced states the DP iterates over: for a product with lead time
                  L >= 1 the stock available for sale A = min(I + o_0, M) replaces the
                  pair (I, o_0), which changes no value and no decision, so the reduction
                  is exact, not an approximation
  actions         order vectors x exposure-grid points per state
  tau             the aperiodicity transform of relative value iteration, h <- h + tau
                  (T h - h): tau = 1 is plain RVI; tau < 1 (0.5 when R > 1) makes a
                  periodic chain converge and changes neither g* nor the optimal policy

--show-policy prints the optimal orders and exposure per reduced state (as tables over the
two products' available stock when each product has one axis), --save PATH writes the whole
policy as CSV: one row per reduced state (its axes, order_i, share_1_segment_k, exposure_i
and the relative value h)."""


def print_policy(solution: "DPSolution", rows: int = 60) -> str:
    """The optimal policy, readable: for two products with one state axis each (lead time
    0 or 1, R = 1), tables of order_1, order_2 and product 1's exposure share over
    (available_1, available_2); otherwise the first ``rows`` rows of :meth:`DPSolution.frame`."""
    frame = solution.frame()
    axes = list(solution.state_axes)
    if len(axes) == 3 and solution.state_shape[0] == 1:
        a1, a2 = axes[1], axes[2]
        parts = []
        for column, what in (("order_1", "order of product 1"), ("order_2", "order of product 2"),
                             ("exposure_1", "exposure share of product 1")):
            table = frame.pivot(index=a1, columns=a2, values=column)
            body = table.round(2).to_string() if column == "exposure_1" else table.to_string()
            parts.append(f"{what} (rows: {a1}, columns: {a2})\n{body}")
        return "\n\n".join(parts)
    shown = frame.drop(columns="bias").head(rows).round(3).to_string(index=False)
    more = len(frame) - min(rows, len(frame))
    return shown + (f"\n... {more} more reduced states (--save PATH writes them all)" if more else "")


def cli(argv) -> int:
    """``python -m coordlib dp --scenario tiny``: solve and print gain, states, actions, time."""
    parser = argparse.ArgumentParser(
        prog="coordlib dp", formatter_class=HelpFormatter, epilog=DP_EPILOG,
        description="Solve a small scenario exactly: the optimal long-run profit per period g* "
                    "and an optimal stationary policy, by average-reward relative value "
                    "iteration (RVI) with exposures on a grid (N = 2 products, lost sales, no "
                    "seasonality).")
    parser.add_argument("--scenario", default="tiny", help="a shipped scenario name or a YAML path")
    parser.add_argument("--exposure-grid", type=int, default=11,
                        help="points of each segment's share of product 1, 0 to 1")
    parser.add_argument("--max-inventory", type=int, default=None,
                        help="cap capacity and max order at this value (solves a smaller "
                             "instance; its gain is that instance's); default: no cap")
    parser.add_argument("--lead-time", type=int, nargs="+", default=None,
                        help="override the lead times (one value, or one per product); "
                             "default: the scenario's")
    parser.add_argument("--tol", type=float, default=1e-7,
                        help="stop when span(T h - h) is below this; g* is then within tol/2")
    parser.add_argument("--max-iter", type=int, default=5000, help="most RVI iterations")
    parser.add_argument("--show-policy", action="store_true",
                        help="print the optimal policy (see below)")
    parser.add_argument("--save", metavar="PATH", default=None,
                        help="write the optimal policy to PATH as CSV (see below)")
    args = parser.parse_args(argv)
    try:
        if args.max_iter < 1:
            raise DPError(f"--max-iter: must be at least 1, got {args.max_iter}")
        if args.exposure_grid < 2:
            raise DPError(f"--exposure-grid: needs at least 2 points (0 and 1), got "
                          f"{args.exposure_grid}")
        s = get_scenario(args.scenario)
        if args.lead_time is not None:
            if len(args.lead_time) not in (1, s.n_products):
                raise DPError(f"--lead-time: give one value or one per product "
                              f"({s.n_products}), got {len(args.lead_time)}")
            lead = args.lead_time * s.n_products if len(args.lead_time) == 1 else args.lead_time
            s = s.replace(lead_time=lead)
        result = solve(s, exposure_grid=args.exposure_grid, max_inventory=args.max_inventory,
                       tol=args.tol, max_iter=args.max_iter)
    except ScenarioError as exc:
        print(f"coordlib dp: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    if args.show_policy:
        print("\n" + print_policy(result))
    if args.save:
        path = Path(args.save)
        atomic_write(path, lambda handle: result.frame().to_csv(handle, index=False))
        print(f"policy written to {path} ({result.n_reduced_states} reduced states)")
    return 0

