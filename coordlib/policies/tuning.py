"""Base-stock levels, and capped base-stock levels and caps, tuned by simulation for the demand a
given recommender produces.

Every level vector that tuning returns was simulated as a whole, on the tuning stream (the same
simulator seed, hence the same demand draws, for every candidate): with an inventory-aware
recommender the products interact through the exposures, so a vector assembled from levels that
were each best in a different simulation may never have been good together.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..model.policy import Recommender, joint
from ..model.rollout import rollout
from ..model.scenario import Scenario
from .recommendation import fixed_exposure
from .replenishment import base_stock, capped_base_stock, fractile_levels

MAX_COORDINATES = 24
"""Most coordinates (product groups) the coordinate descent of :func:`tune_levels` visits."""
MAX_SWEEPS = 20
"""Most sweeps of that coordinate descent (each sweep visits every coordinate once)."""
MAX_JOINT = 400
"""Largest grid of level vectors that :func:`tune_levels` searches in full (small N)."""


@dataclass(frozen=True)
class TunedLevels:
    """Base-stock levels chosen by :func:`tune_levels`, with what they earned on the tuning stream."""

    levels: np.ndarray
    """the order-up-to levels [S_i], one per product"""
    profit: float
    """their mean profit per period [g] on the tuning stream, simulated together"""
    evaluations: int
    """how many level vectors were simulated"""


def reachable_levels(scenario: Scenario) -> np.ndarray:
    """The highest base-stock level worth setting per product: M_i + ceil(L_i / R) Qmax_i.

    After a review period's arrivals and order, product i holds at most M_i on hand (MODEL.md
    section 3, step 2: the excess is discarded) and at most ceil(L_i / R) orders of at most
    Qmax_i in transit, so its stock position never exceeds this number; a higher level
    [S_i] asks for stock the system cannot hold and only orders units to be thrown away.
    """
    s = scenario
    in_transit = -(-np.asarray(s.lead_time, dtype=np.int64) // int(s.review_period))
    return (np.asarray(s.capacity, dtype=np.int64)
            + in_transit * np.asarray(s.max_order, dtype=np.int64))


def product_groups(scenario: Scenario, max_coordinates: int = MAX_COORDINATES) -> list:
    """The coordinates of :func:`tune_levels`: index arrays of products whose levels move together.

    Products of one type (equal price p_i, unit cost c_i, holding cost h_i, penalty b_i, lead
    time L_i, capacity M_i and max order Qmax_i), when there are at most ``max_coordinates``
    types; then products that are exchangeable (also the same attractions v_ki in every segment
    and the same initial state), when there are at most that many; then every product alone when
    N is at most ``max_coordinates``. Duplicates are dropped, coarse groups come first.
    """
    s = scenario
    costs = np.column_stack([s.price, s.unit_cost, s.holding_cost, s.lost_sale_penalty,
                             s.lead_time, s.capacity, s.max_order])
    exchangeable = np.column_stack([costs, s.attraction.T, s.initial_on_hand,
                                    np.asarray(s.initial_pipeline).reshape(s.n_products, -1)])
    groups, seen = [], set()
    for columns in (costs, exchangeable, np.arange(s.n_products)[:, None]):
        _, label = np.unique(columns, axis=0, return_inverse=True)
        label = np.asarray(label).ravel()
        if label.max() + 1 > max_coordinates:
            continue
        for g in range(label.max() + 1):
            members = np.flatnonzero(label == g)
            if tuple(members) not in seen:
                seen.add(tuple(members))
                groups.append(members)
    return groups


def tune_levels(scenario: Scenario, recommender: Optional[Recommender] = None, *,
                offsets=range(-6, 13), replications: int = 64, periods: int = 200,
                warmup: int = 50, seed: int = 0, max_coordinates: int = MAX_COORDINATES,
                max_sweeps: int = MAX_SWEEPS, max_joint: int = MAX_JOINT) -> TunedLevels:
    """Base-stock levels [S_i] tuned by simulation, together, for the demand ``recommender`` produces.

    Every candidate vector is simulated as a whole with ``recommender`` on ``replications``
    copies of ``periods`` periods, the first ``warmup`` left out, simulator seed ``seed`` (the
    same demand stream for every candidate), and scored by its mean profit per period g; levels
    stay within [0, :func:`reachable_levels`]. The search:

    1. from S0, the :func:`fractile_levels` at the recommender's average exposure: where the
       grid of every S0_i + delta_i (each delta_i in ``offsets``, levels in range) has at most
       ``max_joint`` vectors (small N), every vector of it; otherwise every S0 + delta (all
       products shifted at once) and the vector whose product i takes the delta that earned
       product i most (the per-product rule); the best of these by g;
    2. coordinate descent over :func:`product_groups` (``max_coordinates``): each group's levels
       move by +1 or -1 together, steps that raise g are taken, repeated in the same direction
       while g rises, until a sweep over all groups changes nothing (a fixed point: no group
       step raises g) or after ``max_sweeps`` sweeps.

    The returned ``profit`` is that of the returned levels, simulated together on that stream.
    """
    offsets = np.asarray(list(offsets), dtype=np.int64)
    if offsets.size == 0:
        raise ValueError("tune_levels: offsets is empty; give at least one level shift")
    if replications < 1 or warmup < 0 or warmup >= periods:
        raise ValueError(f"tune_levels: need replications >= 1 and 0 <= warmup < periods, got "
                         f"replications={replications}, warmup={warmup}, periods={periods}")
    recommender = recommender if recommender is not None else fixed_exposure(None)
    top = reachable_levels(scenario)
    start = np.clip(fractile_levels(scenario, _average_exposure(scenario, recommender, seed)),
                    0, top)
    scores: dict = {}

    def score(levels):
        """(g, per-product profit) of ``levels`` on the tuning stream, each vector simulated once."""
        key = tuple(int(v) for v in levels)
        if key not in scores:
            per_product = _per_product_profit(scenario, joint(base_stock(levels), recommender),
                                              replications, periods, warmup, seed)
            scores[key] = (float(per_product.sum()), per_product)
        return scores[key]

    ranges = [np.unique(np.clip(s0 + offsets, 0, m)) for s0, m in zip(start, top)]
    if np.sum(np.log([r.size for r in ranges])) <= np.log(max_joint):    # grid size, no overflow
        candidates = [np.array(v) for v in itertools.product(*ranges)]
    else:
        candidates = [np.clip(start + delta, 0, top) for delta in offsets]
        per_product = np.stack([score(v)[1] for v in candidates])
        candidates.append(np.clip(start + offsets[np.argmax(per_product, axis=0)], 0, top))
    best = max(candidates, key=lambda v: score(v)[0])
    groups = product_groups(scenario, max_coordinates)
    for _ in range(max_sweeps):
        moved = False
        for members in groups:
            for step in (1, -1):
                while True:
                    trial = best.copy()
                    trial[members] = np.clip(trial[members] + step, 0, top[members])
                    if np.array_equal(trial, best) or score(trial)[0] <= score(best)[0]:
                        break
                    best, moved = trial, True
        if not moved:
            break
    return TunedLevels(best.astype(np.int64), score(best)[0], len(scores))


def tune_base_stock(scenario: Scenario, recommender: Optional[Recommender] = None, *,
                    offsets=range(-6, 13), replications: int = 64, periods: int = 200,
                    warmup: int = 50, seed: int = 0) -> np.ndarray:
    """Base-stock levels [S_i] tuned by simulation for the demand that ``recommender`` produces:
    the levels of :func:`tune_levels` (same arguments), simulated together on the tuning stream
    ``seed`` and never above :func:`reachable_levels`."""
    return tune_levels(scenario, recommender, offsets=offsets, replications=replications,
                       periods=periods, warmup=warmup, seed=seed).levels


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
    paired difference (the best of many noisy candidates would otherwise win by luck). Levels
    stay at most :func:`reachable_levels`.
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
    top = reachable_levels(s)
    candidates = [(start, s.max_order)]
    for f in cap_factors:
        caps = np.maximum(1, np.ceil(f * mu * s.review_period)).astype(np.int64)
        for k in level_steps:
            candidates.append((np.minimum(start + np.round(k * sigma).astype(np.int64), top),
                               caps))
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
