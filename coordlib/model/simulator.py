"""The batched simulator: MODEL.md sections 3-4, B independent copies stepped at once.

Every copy of the system shares the period counter t (all copies are stepped together) and
has its own on-hand stock, order pipeline and random demand. One call to :meth:`Simulator.step`
performs, for all copies at once and with array operations only:

1. the replenishment decision q (ignored, i.e. set to 0, in periods with t mod R != 0) and the
   recommendation decision x, both taken on the views observed at the start of the period;
2. arrivals A_i = min(I_i + units due now, M_i), where an order of product i placed in period t
   is due at the start of t + L_i (L_i = 0: this period);
3. demand D_ki ~ Poisson(lambda_k(t) sum_j x_kj P_ki(j)), independent across segments and
   products by Poisson splitting, and the customers who buy nothing ~ Poisson(lambda_k(t) - mu_k);
4. sales s = min(A, D), lost sales l = D - s (backlog variant: s = min(A, backlog + D));
5. next on-hand I' = A - s;
6. profit r = p s - c q - h I' - b l, summed over products, reported with its parts.

The mean demand uses the structure of the MNL choice model: with D_kj = v_k0 + sum_l v_kl +
beta_k v_kj, sum_j x_kj P_ki(j) = v_ki (sum_j x_kj / D_kj + beta_k x_ki / D_ki), which costs
O(K N) per copy instead of O(K N^2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .scenario import Scenario, ScenarioError, check_memory

INT = np.int64


@dataclass(frozen=True)
class Observation:
    """What is known at the start of period ``t``, before the decisions (batched: leading B).

    Arrays are never modified after they are returned, so an observation can be kept.
    """

    t: int
    """the period index (shared by every copy)"""
    on_hand: np.ndarray
    """(B, N) on-hand stock at the start of the period, before arrivals [I_i]"""
    pipeline: np.ndarray
    """(B, N, Lmax) outstanding orders; column d arrives at the start of period t + d"""
    availability: np.ndarray
    """(B, N) stock available this period, min(I_i + units due now, M_i)"""
    backlog: np.ndarray
    """(B, N) backlogged units (always zero under lost sales)"""
    last_sales: np.ndarray
    """(B, N) units sold last period"""
    last_lost_sales: np.ndarray
    """(B, N) units of demand lost last period"""
    last_customers: np.ndarray
    """(B, K) customers who arrived last period, per segment"""
    last_demand: np.ndarray
    """(B, K, N) purchase intents last period, per segment and product [D_ki]"""
    review: bool
    """whether orders are placed this period (t mod R = 0)"""

    @property
    def batch_size(self) -> int:
        return self.on_hand.shape[0]

    @property
    def inventory_position(self) -> np.ndarray:
        """(B, N) on-hand plus every outstanding order, minus backlog [IP_i]."""
        return self.on_hand + self.pipeline.sum(axis=-1) - self.backlog

    def replenisher_view(self) -> dict:
        """The operations department's view (MODEL.md section 4)."""
        return {"t": self.t, "review": self.review, "on_hand": self.on_hand,
                "pipeline": self.pipeline, "backlog": self.backlog,
                "inventory_position": self.inventory_position,
                "last_sales": self.last_sales, "last_lost_sales": self.last_lost_sales}

    def recommender_view(self) -> dict:
        """The marketing department's view (MODEL.md section 4)."""
        return {"t": self.t, "availability": self.availability,
                "last_customers": self.last_customers, "last_demand": self.last_demand}

    def full_state(self) -> dict:
        """The Markov state (on-hand, pipeline, backlog, period): what a centralized critic sees."""
        return {"t": self.t, "on_hand": self.on_hand, "pipeline": self.pipeline,
                "backlog": self.backlog, "inventory_position": self.inventory_position}

    def take(self, index) -> "Observation":
        """The observation of a subset of copies (``index`` into the batch axis)."""
        return Observation(self.t, *(getattr(self, f)[index] for f in _BATCHED), self.review)


_BATCHED = ("on_hand", "pipeline", "availability", "backlog", "last_sales", "last_lost_sales",
            "last_customers", "last_demand")


@dataclass(frozen=True)
class StepResult:
    """The outcome of one period for every copy (batched: leading B)."""

    observation: Observation
    """the next period's observation"""
    profit: np.ndarray
    """(B,) profit r_t = revenue - purchase_cost - holding_cost - penalty_cost"""
    revenue: np.ndarray
    """(B,) sum_i p_i s_i"""
    purchase_cost: np.ndarray
    """(B,) sum_i c_i q_i (charged when ordered)"""
    holding_cost: np.ndarray
    """(B,) sum_i h_i I_i' on the end-of-period stock"""
    penalty_cost: np.ndarray
    """(B,) sum_i b_i l_i (backlog variant: b_i per backlogged unit at period end)"""
    orders: np.ndarray
    """(B, N) orders placed this period (0 outside review periods) [q_i]"""
    exposure: np.ndarray
    """(B, K, N) exposures used this period [x_kj]"""
    arrivals: np.ndarray
    """(B, N) units that arrived from the pipeline this period"""
    available: np.ndarray
    """(B, N) stock available for sale after arrivals and the capacity cap [A_i]"""
    overflow: np.ndarray
    """(B, N) arrived units discarded by the capacity cap"""
    demand: np.ndarray
    """(B, K, N) demand per segment and product [D_ki]"""
    customers: np.ndarray
    """(B, K) customers who arrived, buyers and non-buyers"""
    sales: np.ndarray
    """(B, N) units sold [s_i]"""
    lost_sales: np.ndarray
    """(B, N) units of demand not served and lost [l_i]"""
    on_hand: np.ndarray
    """(B, N) end-of-period stock [I_i at t+1]"""
    penalty_units: np.ndarray
    """(B, N) units charged b_i: lost sales, or (backlog variant) the backlog at period end"""
    scenario: Scenario
    """the scenario stepped (its prices and costs give the per-product profit)"""

    @property
    def total_demand(self) -> np.ndarray:
        """(B, N) demand per product, D_i = sum_k D_ki."""
        return self.demand.sum(axis=1)

    @property
    def product_gmv(self) -> np.ndarray:
        """(B, N) p_i D_i: the revenue of purchase intent, the recommender's KPI (MODEL.md 4)."""
        return self.total_demand * self.scenario.price

    @property
    def gmv(self) -> np.ndarray:
        """(B,) sum_i p_i D_i."""
        return self.total_demand @ self.scenario.price

    @property
    def operating_cost(self) -> np.ndarray:
        """(B,) purchase + holding + penalty cost: the replenisher's KPI (MODEL.md section 4)."""
        return self.purchase_cost + self.holding_cost + self.penalty_cost

    @property
    def product_operating_cost(self) -> np.ndarray:
        """(B, N) c_i q_i + h_i I_i' + b_i l_i: the replenisher's cost per product (MODEL.md 4)."""
        s = self.scenario
        return (s.unit_cost * self.orders + s.holding_cost * self.on_hand
                + s.lost_sale_penalty * self.penalty_units)

    @property
    def product_profit(self) -> np.ndarray:
        """(B, N) p_i s_i - c_i q_i - h_i I_i' - b_i l_i; summed over products it is ``profit``."""
        return self.scenario.price * self.sales - self.product_operating_cost


def _state_array(name: str, value, shape: tuple) -> np.ndarray:
    """``value`` as a fresh int64 array of ``shape`` (or its trailing part, broadcast over the
    copies), or a ValueError naming what is wrong: shape, fractions, negative entries."""
    arr = np.asarray(value)
    if arr.shape not in (shape, shape[1:]):
        raise ValueError(f"set_state: {name} must have shape {shape} or {shape[1:]}, "
                         f"got {arr.shape}")
    if arr.dtype.kind not in "iuf" or (arr.dtype.kind == "f" and not (
            np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))):
        raise ValueError(f"set_state: {name} must hold whole numbers of units")
    if np.any(arr < 0):
        raise ValueError(f"set_state: {name} must not be negative")
    return np.broadcast_to(arr.astype(INT), shape).copy()


def _index(products: np.ndarray):
    """A slice when the products are contiguous (cheaper than fancy indexing), else the array."""
    if products.size and np.all(np.diff(products) == 1):
        return slice(int(products[0]), int(products[-1]) + 1)
    return products


def simulator_bytes(scenario: Scenario, batch_size: int) -> float:
    """The arrays of a :class:`Simulator` of ``batch_size`` copies (bytes): on-hand, backlog,
    the pipeline's L + 1 slots, the last flows and the demand means."""
    return 8.0 * batch_size * (scenario.n_products * (scenario.max_lead_time + 6)
                               + 4 * scenario.n_segments * scenario.n_products)


class Simulator:
    """B independent copies of the coordinated inventory-recommendation system.

    Parameters
    ----------
    scenario : Scenario
        the model's parameters.
    batch_size : int
        B, the number of independent copies.
    seed : int, optional
        seed of the random stream (numpy PCG64); ``reset(seed=...)`` re-seeds.
    validate : bool
        check every action against the scenario (shape, integrality, bounds, simplex).
        Turn off only for trusted callers on a hot path.
    """

    def __init__(self, scenario: Scenario, batch_size: int = 1, seed: Optional[int] = None,
                 validate: bool = True):
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario: expected a coordlib.Scenario, got {type(scenario).__name__}")
        if (isinstance(batch_size, (bool, np.bool_))
                or not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
            raise ValueError(f"batch_size: must be a whole number >= 1, got {batch_size!r}")
        check_memory(f"simulator with batch_size = {batch_size}",
                     simulator_bytes(scenario, batch_size))
        self.scenario = scenario
        self.batch_size = int(batch_size)
        self.validate = validate
        s = scenario
        self._N, self._K, self._L = s.n_products, s.n_segments, s.max_lead_time
        # D_kj = v_k0 + sum_l v_kl + beta_k v_kj, and the MNL pieces used in step()
        denominator = (s.outside_attraction[:, None] + s.attraction.sum(axis=1)[:, None]
                       + s.lift[:, None] * s.attraction)
        self._inverse_denominator = 1.0 / denominator                    # 1 / D_kj
        self._lift_share = s.lift[:, None] / denominator                  # beta_k / D_ki
        # products grouped by lead time: an order of product i joins the pipeline slot L_i
        self._order_slots = [(int(lag), _index(np.flatnonzero(s.lead_time == lag)))
                             for lag in np.unique(s.lead_time)]
        self._seed = seed
        self.reset(seed)

    # ---- state ---------------------------------------------------------------------------
    def reset(self, seed: Optional[int] = None) -> Observation:
        """Back to the scenario's initial state; re-seed the random stream if ``seed`` is given."""
        if seed is not None:
            self._seed = seed
        self.rng = np.random.Generator(np.random.PCG64(self._seed))
        B, N, K, L = self.batch_size, self._N, self._K, self._L
        s = self.scenario
        self.t = 0
        self.on_hand = np.broadcast_to(s.initial_on_hand, (B, N)).astype(INT)
        # the pipeline as L + 1 arrays (B, N): self._due[d] arrives at the start of period t + d
        self._due = [np.broadcast_to(s.initial_pipeline[:, d], (B, N)).astype(INT)
                     for d in range(L)] + [np.zeros((B, N), dtype=INT)]
        self.backlog = np.zeros((B, N), dtype=INT)
        zeros = np.zeros((B, N), dtype=INT)
        self._last = (zeros, zeros, np.zeros((B, K), dtype=INT), np.zeros((B, K, N), dtype=INT))
        self._observation = self._observe()
        return self._observation

    @property
    def observation(self) -> Observation:
        """The current observation (start of period ``t``)."""
        return self._observation

    def _observe(self) -> Observation:
        pipeline = np.stack(self._due[:self._L], axis=-1) if self._L else \
            np.zeros((self.batch_size, self._N, 0), dtype=INT)
        availability = np.minimum(self.on_hand + self._due[0], self.scenario.capacity)
        sales, lost, customers, demand = self._last
        return Observation(self.t, self.on_hand, pipeline, availability, self.backlog,
                           sales, lost, customers, demand, self.scenario.is_review_period(self.t))

    def set_state(self, on_hand, pipeline=None, backlog=None, t: Optional[int] = None) -> Observation:
        """Put every copy in a given state (for the DP, tests and what-if studies).

        ``on_hand`` and ``backlog``: (B, N) or (N,); ``pipeline``: (B, N, max L) or (N, max L);
        whole, non-negative units; ``t`` a whole period >= 0. Nothing changes on an error.
        """
        B, N, L = self.batch_size, self._N, self._L
        on_hand = _state_array("on_hand", on_hand, (B, N))
        if np.any(on_hand > self.scenario.capacity):
            raise ValueError("set_state: on_hand must lie in 0..capacity")
        pipeline = (np.zeros((B, N, L), dtype=INT) if pipeline is None
                    else _state_array("pipeline", pipeline, (B, N, L)))
        backlog = (np.zeros((B, N), dtype=INT) if backlog is None
                   else _state_array("backlog", backlog, (B, N)))
        if np.any(backlog > 0) and not self.scenario.backlog:
            raise ValueError("set_state: backlog must be zero under lost sales")
        if t is not None and (isinstance(t, (bool, np.bool_)) or not isinstance(
                t, (int, np.integer)) or t < 0):
            raise ValueError(f"set_state: t must be a whole period >= 0, got {t!r}")
        self.on_hand = on_hand
        self._due = [pipeline[:, :, d].copy() for d in range(L)] + [np.zeros((B, N), dtype=INT)]
        self.backlog = backlog
        if t is not None:
            self.t = int(t)
        self._observation = self._observe()
        return self._observation

    def carried_to(self, scenario: Scenario, seed: Optional[int] = None) -> "Simulator":
        """A simulator of ``scenario`` in this one's state: stock, pipeline, backlog, period and
        last period's flows, on the random stream ``seed``. From the next step on the world
        follows ``scenario`` (a demand shift, say). ``scenario`` must have this one's products,
        segments, lead times, capacities, review period and backlogging."""
        old = self.scenario
        same = (scenario.n_products == old.n_products and scenario.n_segments == old.n_segments
                and np.array_equal(scenario.lead_time, old.lead_time)
                and np.array_equal(scenario.capacity, old.capacity)
                and scenario.review_period == old.review_period
                and scenario.backlog == old.backlog)
        if not same:
            raise ValueError(f"carried_to: {scenario.name!r} differs from {old.name!r} in its "
                             "products, segments, lead times, capacities, review period or "
                             "backlogging")
        new = Simulator(scenario, batch_size=self.batch_size, seed=seed, validate=self.validate)
        new.t, new.on_hand, new.backlog = self.t, self.on_hand.copy(), self.backlog.copy()
        new._due = [d.copy() for d in self._due]
        new._last = tuple(x.copy() for x in self._last)
        new._observation = new._observe()
        return new

    # ---- dynamics ------------------------------------------------------------------------
    def step(self, orders, exposure) -> StepResult:
        """Advance every copy by one period (MODEL.md section 3).

        ``orders``: (B, N) whole units in 0..max_order (or (N,), the same for every copy);
        ignored, i.e. taken as 0, when t mod R != 0. ``exposure``: (B, K, N) rows in the
        simplex (or (K, N), the same for every copy).
        """
        s, B, N = self.scenario, self.batch_size, self._N
        if self.validate:
            orders = s.check_orders(orders)
            exposure = s.check_exposure(exposure)
            if orders.ndim != 1 and orders.shape != (B, N):
                raise ScenarioError(f"orders: expected shape (N,) or (B, N) = {(B, N)}, "
                                    f"got {orders.shape}")
            if exposure.ndim != 2 and exposure.shape != (B, self._K, N):
                raise ScenarioError(f"exposure: expected shape (K, N) or (B, K, N) = "
                                    f"{(B, self._K, N)}, got {exposure.shape}")
        orders = np.broadcast_to(np.asarray(orders, dtype=INT), (B, N))
        exposure = np.broadcast_to(np.asarray(exposure, dtype=float), (B, self._K, N))
        if not s.is_review_period(self.t):
            orders = np.zeros((B, N), dtype=INT)

        # 1-2. place orders; arrivals of what is due now, capped by capacity
        due = self._due
        for lag, products in self._order_slots:
            due[lag][:, products] += orders[:, products]
        arrivals = due[0]
        stock = self.on_hand + arrivals
        available = np.minimum(stock, s.capacity)
        overflow = stock - available

        # 3. demand by Poisson splitting (MODEL.md 3.3), per segment and product
        rate = s.arrival_rates(self.t)                                   # (K,)
        scale = rate[:, None] * s.attraction                             # lambda_k v_ki
        shown = np.empty((B, self._K))                                   # sum_j x_kj / D_kj
        for k in range(self._K):
            shown[:, k] = exposure[:, k, :] @ self._inverse_denominator[k]
        mean = shown[:, :, None] * scale + exposure * (scale * self._lift_share)
        demand = self.rng.poisson(mean)
        no_purchase = self.rng.poisson(np.maximum(rate - np.einsum("bkn->bk", mean), 0.0))
        customers = np.einsum("bkn->bk", demand) + no_purchase
        total_demand = demand[:, 0, :] if self._K == 1 else np.einsum("bkn->bn", demand)

        # 4-5. sales, lost sales (or backlog), next on-hand
        if s.backlog:
            wanted = self.backlog + total_demand
            sales = np.minimum(available, wanted)
            self.backlog = wanted - sales
            lost_sales = np.zeros_like(sales)
            penalty_units = self.backlog
        else:
            sales = np.minimum(available, total_demand)
            lost_sales = total_demand - sales
            penalty_units = lost_sales
        on_hand = available - sales

        # 6. profit and its parts
        revenue = sales @ s.price
        purchase_cost = orders @ s.unit_cost
        holding_cost = on_hand @ s.holding_cost
        penalty_cost = penalty_units @ s.lost_sale_penalty
        profit = revenue - purchase_cost - holding_cost - penalty_cost

        # advance the clock and the pipeline
        self._due = due[1:] + [np.zeros((B, N), dtype=INT)]
        self.on_hand = on_hand
        self.t += 1
        self._last = (sales, lost_sales, customers, demand)
        self._observation = self._observe()
        return StepResult(self._observation, profit, revenue, purchase_cost, holding_cost,
                          penalty_cost, orders, exposure, arrivals, available, overflow, demand,
                          customers, sales, lost_sales, on_hand, penalty_units, s)

    def __repr__(self) -> str:
        return (f"Simulator(scenario={self.scenario.name!r}, batch_size={self.batch_size}, "
                f"t={self.t})")
