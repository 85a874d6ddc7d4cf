"""Base-stock levels tuned by simulation for the demand a given recommender produces."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..model.policy import Recommender, joint
from ..model.rollout import rollout
from ..model.scenario import Scenario
from .recommendation import fixed_exposure
from .replenishment import base_stock, fractile_levels


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
    levels = np.maximum(scenario.initial_on_hand, 1) * (1 + scenario.lead_time)
    total = np.zeros((scenario.n_segments, scenario.n_products))
    for _, r in rollout(scenario, joint(base_stock(levels), recommender), 8, periods, seed):
        total += r.exposure.mean(axis=0)
    return total / periods


def _per_product_profit(scenario, policy, replications, periods, warmup, seed):
    total = np.zeros(scenario.n_products)
    for _, r in rollout(scenario, policy, replications, periods, seed, warmup, validate=False):
        total += r.product_profit.mean(axis=0)
    return total / (periods - warmup)
