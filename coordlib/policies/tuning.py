"""policies/tuning (from policies)."""
from __future__ import annotations

from typing import Optional
import numpy as np

from ..model.policy import Recommender, joint
from ..model.scenario import Scenario
from ..model.simulator import Simulator
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
