"""Base-stock levels, and capped base-stock levels and caps, tuned by simulation for the demand a
given recommender produces."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..model.policy import Recommender, joint
from ..model.rollout import rollout
from ..model.scenario import Scenario
from .recommendation import fixed_exposure
from .replenishment import base_stock, capped_base_stock, fractile_levels


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


CAP_FACTORS = (1.0, 1.25, 1.5, 2.0)
"""Order caps tried by :func:`tune_capped_base_stock`, in multiples of a review cycle's mean demand."""
LEVEL_STEPS = (0.0, 0.5, 1.0, 1.5, 2.0)
"""Level raises tried with each cap, in standard deviations of lead-time-plus-review demand."""


def tune_capped_base_stock(scenario: Scenario, recommender: Optional[Recommender] = None, *,
                           cap_factors=CAP_FACTORS, level_steps=LEVEL_STEPS,
                           offsets=range(-6, 13), replications: int = 64, periods: int = 200,
                           warmup: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Capped base-stock levels S and caps r (Xin 2021) tuned by simulation for ``recommender``.

    First the base-stock levels S0 of :func:`tune_base_stock` (same arguments). Then, with
    mu_i product i's mean demand at the recommender's average exposure and
    sigma_i = sqrt(mu_i (L_i + R)), every pair of a cap r_i = ceil(f mu_i R) (f in
    ``cap_factors``, at least 1) and a level S0_i + round(k sigma_i) (k in ``level_steps``: a
    cap needs a higher level) is simulated for all products at once with common random
    numbers, and each product keeps its best pair, or plain base-stock (r_i = Qmax_i, S0_i)
    unless that pair beats it on the same draws by more than two standard errors of the
    paired difference (the best of many noisy candidates would otherwise win by luck).
    Returns (levels, caps).
    """
    recommender = recommender if recommender is not None else fixed_exposure(None)
    s = scenario
    start = tune_base_stock(s, recommender, offsets=offsets, replications=replications,
                            periods=periods, warmup=warmup, seed=seed)
    x = _average_exposure(s, recommender, seed)
    mu = (s.demand_rate(x, np.arange(int(np.ceil(s.season_period.max())) * 4)).mean(axis=0)
          if s.seasonal else s.demand_rate(x))
    sigma = np.sqrt(mu * (s.lead_time + s.review_period))
    candidates = [(start, s.max_order)]
    for f in cap_factors:
        caps = np.maximum(1, np.ceil(f * mu * s.review_period)).astype(np.int64)
        for k in level_steps:
            candidates.append((start + np.round(k * sigma).astype(np.int64), caps))
    profit = np.stack([_per_replication_profit(s, joint(capped_base_stock(levels, caps),
                                                        recommender),
                                               replications, periods, warmup, seed)
                       for levels, caps in candidates])                 # (candidate, R, N)
    mean = profit.mean(axis=1)
    best = np.argmax(mean, axis=0)
    diff = profit[best, :, np.arange(s.n_products)] - profit[0].T      # (N, R)
    se = diff.std(axis=1, ddof=1) / np.sqrt(max(replications, 1)) if replications > 1 else 0.0
    best = np.where(diff.mean(axis=1) > 2.0 * se, best, 0)
    levels = np.array([candidates[b][0][i] for i, b in enumerate(best)], dtype=np.int64)
    caps = np.array([candidates[b][1][i] for i, b in enumerate(best)], dtype=np.int64)
    return levels, np.minimum(caps, s.max_order)


def _average_exposure(scenario, recommender, seed, periods=100):
    """The mean exposure the recommender shows when stock is at its initial level (a probe)."""
    levels = np.maximum(scenario.initial_on_hand, 1) * (1 + scenario.lead_time)
    total = np.zeros((scenario.n_segments, scenario.n_products))
    for _, r in rollout(scenario, joint(base_stock(levels), recommender), 8, periods, seed):
        total += r.exposure.mean(axis=0)
    return total / periods


def _per_replication_profit(scenario, policy, replications, periods, warmup, seed):
    """(R, N): each replication's mean profit per period of each product after the warm-up."""
    total = np.zeros((replications, scenario.n_products))
    for _, r in rollout(scenario, policy, replications, periods, seed, warmup, validate=False):
        total += r.product_profit
    return total / (periods - warmup)


def _per_product_profit(scenario, policy, replications, periods, warmup, seed):
    total = np.zeros(scenario.n_products)
    for _, r in rollout(scenario, policy, replications, periods, seed, warmup, validate=False):
        total += r.product_profit.mean(axis=0)
    return total / (periods - warmup)
