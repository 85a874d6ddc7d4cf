"""Replenishment rules (operations, MODEL.md section 4): base-stock (order-up-to) with levels at the
stationary newsvendor fractile of lead-time demand, and capped base-stock (Xin 2021).
"""
from __future__ import annotations

import numpy as np

from ..model.policy import Replenisher
from ..model.scenario import Scenario, ScenarioError


def order_up_to(levels, inventory_position, max_order) -> np.ndarray:
    """q_i = min(Qmax_i, max(0, S_i - IP_i)): the base-stock order (MODEL.md section 3)."""
    return np.clip(np.asarray(levels) - inventory_position, 0, max_order)


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
        return order_up_to(self.levels, view["inventory_position"], self.scenario.max_order)


def base_stock(levels) -> BaseStock:
    """Base-stock replenishment with order-up-to levels S (one per product)."""
    return BaseStock(levels)


def capped_order_up_to(levels, caps, inventory_position, max_order) -> np.ndarray:
    """q_i = min(r_i, Qmax_i, max(0, S_i - IP_i)): the capped base-stock order (Xin 2021)."""
    return np.clip(np.asarray(levels) - inventory_position, 0,
                   np.minimum(np.asarray(caps), max_order))


class CappedBaseStock(Replenisher):
    """Order up to S_i but at most r_i per order: q_i = min(r_i, Qmax_i, (S_i - IP_i)^+).

    IP_i as in :class:`BaseStock`. The cap smooths the orders of long-lead-time lost-sales
    systems, where plain base-stock over-reacts to a burst of demand; r_i >= Qmax_i is
    base-stock. Xin, L. (2021), "Understanding the performance of capped base-stock policies
    in lost-sales inventory models", Operations Research 69(1), 61-70.
    """

    def __init__(self, levels, caps):
        self.levels = np.asarray(levels, dtype=np.int64)
        self.caps = np.asarray(caps, dtype=np.int64)
        if self.levels.ndim != 1 or np.any(self.levels < 0):
            raise ValueError(f"capped_base_stock: levels must be a vector of whole numbers >= 0, "
                             f"got {levels}")
        if self.caps.shape != self.levels.shape or np.any(self.caps < 0):
            raise ValueError(f"capped_base_stock: caps must be {self.levels.size} whole numbers "
                             f">= 0 (one per level), got {caps}")
        self.name = (f"capped-base-stock{self.levels.tolist()}/{self.caps.tolist()}"
                     if self.levels.size <= 4 else "capped-base-stock")

    def reset(self, scenario, batch_size, rng):
        if self.levels.shape != (scenario.n_products,):
            raise ScenarioError(f"capped_base_stock: {self.levels.size} levels for a scenario "
                                f"with N = {scenario.n_products} products")
        super().reset(scenario, batch_size, rng)

    def orders(self, view):
        return capped_order_up_to(self.levels, self.caps, view["inventory_position"],
                                  self.scenario.max_order)


def capped_base_stock(levels, caps) -> CappedBaseStock:
    """Capped base-stock replenishment: levels S and order caps r, one of each per product."""
    return CappedBaseStock(levels, caps)


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
    # deferred: scipy.stats takes most of a second to import
    from scipy import stats

    x = scenario.uniform_exposure() if exposure is None else scenario.check_exposure(exposure)
    mu = scenario.demand_rate(x) if not scenario.seasonal else _mean_demand_over_season(scenario, x)
    horizon = scenario.lead_time + scenario.review_period
    levels = stats.poisson.ppf(critical_fractile(scenario), mu * horizon)
    return np.minimum(levels, scenario.capacity + scenario.max_order * horizon).astype(np.int64)


def _mean_demand_over_season(scenario, x):
    periods = int(np.ceil(scenario.season_period.max())) * 4
    return scenario.demand_rate(x, np.arange(periods)).mean(axis=0)
