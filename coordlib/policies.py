"""Heuristic policies: each department's decision rule, and the joint policy of the firm.

A *department policy* maps its own view (MODEL.md section 4) to its decision:
a :class:`Replenisher` returns orders (B, N) from ``Observation.replenisher_view()``, a
:class:`Recommender` returns exposures (B, K, N) from ``Observation.recommender_view()``.
A *policy* (anything with ``reset(scenario, batch_size, rng)`` and ``act(observation)``
returning an :class:`Action`) is what :func:`coordlib.evaluate` runs; :func:`joint` makes one
from a replenisher and a recommender, so decentralized execution holds by construction.

The siloed firm of MODEL.md section 6 is ``joint(tuned base-stock, gmv_greedy())``; the
coordinated heuristic is ``joint(tuned base-stock, inventory_aware())``.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
from scipy import stats

from .scenario import Scenario, ScenarioError
from .simulator import Observation, Simulator


class Action(NamedTuple):
    """The firm's decisions for one period: orders (B, N) and exposures (B, K, N)."""

    orders: np.ndarray
    exposure: np.ndarray


class Policy:
    """Base class of joint policies. Subclasses override :meth:`act` (and :meth:`reset` if stateful)."""

    name = "policy"

    def reset(self, scenario: Scenario, batch_size: int, rng: np.random.Generator) -> None:
        """Called before the first period of an evaluation: bind the scenario, clear memory."""
        self.scenario = scenario

    def act(self, observation: Observation) -> Action:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Replenisher:
    """Base class of the operations department's rules: :meth:`orders` from its view."""

    name = "replenisher"

    def reset(self, scenario: Scenario, batch_size: int, rng: np.random.Generator) -> None:
        self.scenario = scenario

    def orders(self, view: dict) -> np.ndarray:
        raise NotImplementedError


class Recommender:
    """Base class of the marketing department's rules: :meth:`exposure` from its view."""

    name = "recommender"

    def reset(self, scenario: Scenario, batch_size: int, rng: np.random.Generator) -> None:
        self.scenario = scenario

    def exposure(self, view: dict) -> np.ndarray:
        raise NotImplementedError


class JointPolicy(Policy):
    """The firm's policy when each department decides on its own view (decentralized execution)."""

    def __init__(self, replenisher: Replenisher, recommender: Recommender):
        self.replenisher, self.recommender = replenisher, recommender
        self.name = f"{replenisher.name} + {recommender.name}"

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        self.replenisher.reset(scenario, batch_size, rng)
        self.recommender.reset(scenario, batch_size, rng)

    def act(self, observation: Observation) -> Action:
        return Action(self.replenisher.orders(observation.replenisher_view()),
                      self.recommender.exposure(observation.recommender_view()))


def joint(replenisher: Replenisher, recommender: Recommender) -> JointPolicy:
    """The firm's policy made of one rule per department."""
    return JointPolicy(replenisher, recommender)


# ---- replenishment ------------------------------------------------------------------------
class BaseStock(Replenisher):
    """Order up to S_i: q_i = min(Qmax_i, max(0, S_i - IP_i)) in review periods (MODEL.md 3).

    IP_i is the inventory position at the start of the period, before arrivals: on-hand plus
    every outstanding order (the one due this period included), minus any backlog.
    """

    def __init__(self, levels):
        self.levels = np.asarray(levels, dtype=np.int64)
        if self.levels.ndim != 1 or np.any(self.levels < 0):
            raise ValueError(f"base_stock: levels must be a vector of whole numbers >= 0, got {levels}")
        self.name = f"base-stock{self.levels.tolist()}" if self.levels.size <= 4 else "base-stock"

    def reset(self, scenario, batch_size, rng):
        if self.levels.shape != (scenario.n_products,):
            raise ScenarioError(f"base_stock: {self.levels.size} levels for a scenario with "
                                f"N = {scenario.n_products} products")
        super().reset(scenario, batch_size, rng)

    def orders(self, view):
        position = view["on_hand"] + view["pipeline"].sum(axis=-1) - view["backlog"]
        return np.clip(self.levels - position, 0, self.scenario.max_order)


def base_stock(levels) -> BaseStock:
    """Base-stock replenishment with order-up-to levels S (one per product)."""
    return BaseStock(levels)


def critical_fractile(scenario: Scenario) -> np.ndarray:
    """(p + b - c) / (p + b - c + h): the stationary lost-sales newsvendor fractile per product.

    An unsold unit is carried to the next period (overage cost h), a lost sale forgoes the
    margin and the goodwill (underage cost p + b - c). B1 states the one-period fractile.
    """
    under = scenario.price + scenario.lost_sale_penalty - scenario.unit_cost
    return under / (under + scenario.holding_cost)


def fractile_levels(scenario: Scenario, exposure=None) -> np.ndarray:
    """Order-up-to levels at the critical fractile of Poisson demand over L_i + R periods.

    ``exposure`` (K, N) fixes the demand rate mu(x); default uniform. Seasonality is averaged.
    """
    x = scenario.uniform_exposure() if exposure is None else scenario.check_exposure(exposure)
    mu = scenario.demand_rate(x) if not scenario.seasonal else _mean_demand_over_season(scenario, x)
    horizon = scenario.lead_time + scenario.review_period
    levels = stats.poisson.ppf(critical_fractile(scenario), mu * horizon)
    return np.minimum(levels, scenario.capacity + scenario.max_order * horizon).astype(np.int64)


def _mean_demand_over_season(scenario, x):
    periods = int(np.ceil(scenario.season_period.max())) * 4
    return scenario.demand_rate(x, np.arange(periods)).mean(axis=0)


def tune_base_stock(scenario: Scenario, recommender: Optional[Recommender] = None, *,
                    offsets=range(-6, 13), replications: int = 64, periods: int = 200,
                    warmup: int = 50, seed: int = 0) -> np.ndarray:
    """Base-stock levels tuned by simulation for the demand that ``recommender`` produces.

    Starts from :func:`fractile_levels` at the recommender's average exposure, then tries
    S + delta for every delta in ``offsets`` (all products at once, common random numbers) and
    keeps, per product, the delta of highest simulated profit. Products interact only through
    the recommender, so the per-product choice is exact for an inventory-blind recommender and
    a good approximation otherwise.
    """
    recommender = recommender if recommender is not None else fixed_exposure(None)
    offsets = np.asarray(list(offsets))
    start = fractile_levels(scenario, _average_exposure(scenario, recommender, seed))
    per_product = np.empty((offsets.size, scenario.n_products))
    for n, delta in enumerate(offsets):
        levels = np.maximum(start + delta, 0)
        per_product[n] = _per_product_profit(scenario, joint(base_stock(levels), recommender),
                                             replications, periods, warmup, seed)
    best = offsets[np.argmax(per_product, axis=0)]
    return np.maximum(start + best, 0)


def _average_exposure(scenario, recommender, seed, periods=100):
    """The mean exposure the recommender shows when stock is at its initial level (a probe)."""
    sim = Simulator(scenario, batch_size=8, seed=seed)
    obs = sim.reset()
    recommender.reset(scenario, 8, np.random.default_rng(seed))
    total = np.zeros((scenario.n_segments, scenario.n_products))
    levels = np.maximum(scenario.initial_on_hand, 1)
    for _ in range(periods):
        x = recommender.exposure(obs.recommender_view())
        total += np.broadcast_to(x, (8, *total.shape)).mean(axis=0)
        position = obs.on_hand + obs.pipeline.sum(-1) - obs.backlog
        q = np.clip(levels * (1 + scenario.lead_time) - position, 0, scenario.max_order)
        obs = sim.step(q, x).observation
    return total / periods


def _per_product_profit(scenario, policy, replications, periods, warmup, seed):
    s = scenario
    sim = Simulator(s, batch_size=replications, seed=seed, validate=False)
    obs = sim.reset()
    policy.reset(s, replications, np.random.default_rng(seed))
    total = np.zeros(s.n_products)
    for t in range(periods):
        a = policy.act(obs)
        r = sim.step(a.orders, a.exposure)
        obs = r.observation
        if t >= warmup:
            penalty = r.lost_sales if not s.backlog else r.observation.backlog
            total += (s.price * r.sales - s.unit_cost * r.orders - s.holding_cost * r.on_hand
                      - s.lost_sale_penalty * penalty).mean(axis=0)
    return total / (periods - warmup)


# ---- recommendation -----------------------------------------------------------------------
class FixedExposure(Recommender):
    """The same exposure x (K, N) every period, whatever the state (default: uniform)."""

    def __init__(self, exposure=None):
        self.x = None if exposure is None else np.asarray(exposure, dtype=float)
        self.name = "uniform" if exposure is None else "fixed-exposure"

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        x = scenario.uniform_exposure() if self.x is None else self.x
        if x.ndim == 1 and scenario.n_segments == 1:
            x = x[None]
        self._x = scenario.check_exposure(x)

    def exposure(self, view):
        return self._x


def fixed_exposure(x=None) -> FixedExposure:
    """A static recommender: exposure x (K, N) in every period; None means uniform."""
    return FixedExposure(x)


def expected_value_per_customer(scenario: Scenario, value) -> np.ndarray:
    """(K, N): the expected value sum_i value_i P_ki(j) of a segment-k customer shown product j."""
    return scenario.purchase_probabilities @ np.asarray(value, dtype=float)


def _one_hot(index, n):
    return np.eye(n)[index]


class Greedy(Recommender):
    """Show each segment the product of highest expected value per customer (GMV or margin)."""

    def __init__(self, value: str):
        if value not in ("gmv", "margin"):
            raise ValueError(f"greedy recommender: value must be 'gmv' or 'margin', got {value!r}")
        self.value = value
        self.name = f"{value}-greedy"

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        unit = scenario.price if self.value == "gmv" else scenario.price - scenario.unit_cost
        score = expected_value_per_customer(scenario, unit)
        self._x = _one_hot(score.argmax(axis=1), scenario.n_products)

    def exposure(self, view):
        return self._x


def gmv_greedy() -> Greedy:
    """The siloed recommender: each segment sees the product maximizing its GMV, sum_i p_i P_ki(j)."""
    return Greedy("gmv")


def margin_greedy() -> Greedy:
    """Each segment sees the product maximizing its expected margin, sum_i (p_i - c_i) P_ki(j)."""
    return Greedy("margin")


class InventoryAware(Recommender):
    """A coordinated heuristic: recommend what you stock (B3).

    Each segment k is shown the product j of highest expected margin per customer, counting
    only the sales that available stock can serve:
    score_kj = sum_i P_ki(j) m_i f_i, with m_i = p_i - c_i + b_i (a sale also avoids the
    goodwill penalty) and f_i = min(1, A_i / (coverage * d_i)), where A_i is the available
    stock and d_i the demand product i would get if every segment were shown it. With ample
    stock this is margin-greedy; as a product runs short its score falls and exposure moves
    to products that can serve the customer.
    """

    def __init__(self, coverage: float = 1.0):
        if coverage <= 0:
            raise ValueError(f"inventory_aware: coverage must be > 0, got {coverage}")
        self.coverage = coverage
        self.name = "inventory-aware"

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        s = scenario
        self._margin = s.price - s.unit_cost + s.lost_sale_penalty
        # d_i: demand of product i when every segment is shown i, at the base arrival rates
        self._lifted = s.arrival_rate[:, None] * np.diagonal(s.purchase_probabilities, axis1=1,
                                                             axis2=2)

    def exposure(self, view):
        s = self.scenario
        avail = np.asarray(view["availability"], dtype=float)           # (B, N)
        season = s.arrival_rates(view["t"]) / np.maximum(s.arrival_rate, 1e-12)
        need = self.coverage * (self._lifted * season[:, None]).sum(axis=0)
        servable = np.minimum(1.0, avail / np.maximum(need, 1e-12))
        score = np.einsum("kji,bi->bkj", s.purchase_probabilities, servable * self._margin)
        return _one_hot(score.argmax(axis=-1), s.n_products)


def inventory_aware(coverage: float = 1.0) -> InventoryAware:
    """The coordinated heuristic recommender (recommend what you stock)."""
    return InventoryAware(coverage)


# ---- the firm's standard heuristics ---------------------------------------------------------
def siloed_heuristic(scenario: Scenario, **tune_kwargs) -> JointPolicy:
    """The siloed firm: GMV-greedy recommender, base-stock tuned for the demand it produces."""
    rec = gmv_greedy()
    return joint(base_stock(tune_base_stock(scenario, rec, **tune_kwargs)), rec)


def coordinated_heuristic(scenario: Scenario, **tune_kwargs) -> JointPolicy:
    """Inventory-aware recommender with base-stock levels tuned for the demand it produces."""
    rec = inventory_aware()
    return joint(base_stock(tune_base_stock(scenario, rec, **tune_kwargs)), rec)
