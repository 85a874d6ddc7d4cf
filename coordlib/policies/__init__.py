"""Heuristic policies (MODEL.md sections 3 and 6): department rules and the firms built from them.

- :mod:`~coordlib.policies.replenishment`: base-stock (order-up-to) and its fractile levels.
- :mod:`~coordlib.policies.recommendation`: fixed, GMV-greedy, margin-greedy and
  inventory-aware recommenders.
- :mod:`~coordlib.policies.tuning`: base-stock levels tuned by simulation for a recommender,
  each vector simulated as a whole, never above what capacity and max order can hold.
- :mod:`~coordlib.policies.firms`: the heuristic firms in one registry (:data:`FIRMS`).

The policy interface itself (:class:`Policy`, :class:`Action`, :func:`joint`) is part of the
model (:mod:`coordlib.model.policy`) and is re-exported here.
"""
from ..model.policy import Action, JointPolicy, Policy, Recommender, Replenisher, joint
from .firms import FIRMS, Firm, coordinated_heuristic, firm, siloed_heuristic, tuning_seed
from .recommendation import (
                             FixedExposure,
                             Greedy,
                             InventoryAware,
                             expected_value_per_customer,
                             fixed_exposure,
                             gmv_greedy,
                             inventory_aware,
                             margin_greedy,
)
from .replenishment import BaseStock, base_stock, critical_fractile, fractile_levels, order_up_to
from .tuning import TunedLevels, reachable_levels, tune_base_stock, tune_levels

__all__ = ["Action", "JointPolicy", "Policy", "Recommender", "Replenisher", "joint", "FIRMS",
           "Firm", "coordinated_heuristic", "firm", "siloed_heuristic", "tuning_seed",
           "FixedExposure", "Greedy", "InventoryAware", "expected_value_per_customer",
           "fixed_exposure", "gmv_greedy", "inventory_aware", "margin_greedy", "BaseStock",
           "base_stock", "critical_fractile", "fractile_levels", "order_up_to", "tune_base_stock",
           "TunedLevels", "reachable_levels", "tune_levels"]
