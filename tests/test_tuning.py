"""Base-stock tuning (coordlib.policies.tuning): the chosen levels were simulated together, on one
demand stream, within what capacity and max order can hold (MODEL.md sections 3 and 6)."""
from __future__ import annotations

import numpy as np
import pytest

from coordlib import evaluate, policies, scenarios
from coordlib.model.policy import joint
from coordlib.policies.tuning import product_groups, reachable_levels, tune_levels

SMALL = dict(replications=16, periods=120, warmup=30)
"""A small tuning budget: every check below holds on any stream, so it need not be long."""


def stream_profit(s, levels, recommender, seed):
    """g of ``levels`` with ``recommender`` on the tuning stream ``seed``, by coordlib.evaluate."""
    frame = evaluate(s, joint(policies.base_stock(levels), recommender), SMALL["replications"],
                     SMALL["periods"], SMALL["warmup"], seed)
    return float(frame["profit"].mean())


def test_reachable_level_of_tiny_capacity_is_capacity_plus_one_order():
    """M = 6, Qmax = 5, L = 1, R = 1 (data/scenarios/tiny-capacity.yaml): 6 + 1 x 5 = 11."""
    np.testing.assert_array_equal(reachable_levels(scenarios.get("tiny-capacity")), [11, 11])
    weekly = scenarios.get("weekly-review")                  # L = 1 < R = 4: one order in transit
    np.testing.assert_array_equal(reachable_levels(weekly), weekly.capacity + weekly.max_order)
    no_lead = scenarios.get("tiny").replace(lead_time=[0, 2])
    np.testing.assert_array_equal(reachable_levels(no_lead), [20, 20 + 2 * 20])


def test_coordinated_firm_on_tiny_capacity_reaches_the_best_symmetric_pair():
    """The issue's instance (M = 6, a shown product's demand 4.5 a period): the inventory-aware
    firm's tuned levels earn at least every (S, S) pair, S = 0..11, on the same stream (exact
    comparison: the same draws; 1e-9 for rounding)."""
    s = scenarios.get("tiny-capacity")
    tuned = tune_levels(s, policies.inventory_aware(), seed=3, **SMALL)
    symmetric = max(stream_profit(s, [level, level], policies.inventory_aware(), 3)
                    for level in range(12))
    assert tuned.profit >= symmetric - 1e-9, (tuned, symmetric)


@pytest.mark.parametrize("name", ["tiny", "tiny-capacity", "tiny-margin", "tiny-personal",
                                  "seasonal", "weekly-review"])
def test_tuned_levels_never_exceed_the_reachable_bound(name):
    """Even with offsets reaching far above it, no tuned level exceeds M_i + ceil(L_i/R) Qmax_i."""
    s = scenarios.get(name)
    levels = policies.tune_base_stock(s, policies.inventory_aware(), offsets=range(0, 80, 8),
                                      **SMALL)
    assert np.all(levels >= 0) and np.all(levels <= reachable_levels(s)), levels


@pytest.mark.parametrize("name, recommender", [("tiny-capacity", policies.inventory_aware),
                                               ("tiny-margin", policies.gmv_greedy),
                                               ("seasonal", policies.inventory_aware)])
def test_tuned_profit_is_a_fresh_evaluation_of_the_tuned_levels(name, recommender):
    """The reported profit is g of the returned vector, simulated together: coordlib.evaluate
    of those levels on the same stream gives the same number (1e-9 relative, summation order)."""
    s = scenarios.get(name)
    tuned = tune_levels(s, recommender(), seed=5, **SMALL)
    assert tuned.profit == pytest.approx(stream_profit(s, tuned.levels, recommender(), 5),
                                         rel=1e-9)


def test_tuned_levels_are_a_fixed_point_of_the_group_steps():
    """On medium (10 products of distinct types) no product group's +1 or -1 step (levels in
    range) raises g on the tuning stream: coordinate descent stopped at a fixed point."""
    s = scenarios.get("medium")
    tuned = tune_levels(s, policies.inventory_aware(), seed=2, **SMALL)
    top = reachable_levels(s)
    for members in product_groups(s):
        for step in (1, -1):
            trial = tuned.levels.copy()
            trial[members] = np.clip(trial[members] + step, 0, top[members])
            if not np.array_equal(trial, tuned.levels):
                assert stream_profit(s, trial, policies.inventory_aware(), 2) <= tuned.profit


def test_tuning_is_deterministic_in_its_seed():
    """Same seed, same levels and profit; the levels are whole numbers, one per product."""
    s = scenarios.get("tiny-personal")
    first, second = (tune_levels(s, policies.inventory_aware(), seed=11, **SMALL)
                     for _ in range(2))
    np.testing.assert_array_equal(first.levels, second.levels)
    assert first.profit == second.profit and first.levels.dtype.kind == "i"


def test_product_groups_put_exchangeable_products_together():
    """tiny-capacity's two products are identical: one group of both, then each alone (N = 2);
    large has more types than coordinates, so no group holds two distinct types."""
    groups = product_groups(scenarios.get("tiny-capacity"))
    assert [g.tolist() for g in groups] == [[0, 1], [0], [1]]
    assert product_groups(scenarios.get("large")) == []


@pytest.mark.parametrize("kwargs, words", [(dict(offsets=[]), "offsets is empty"),
                                           (dict(replications=0), "replications=0"),
                                           (dict(periods=50, warmup=50), "warmup=50")])
def test_tuning_refuses_a_budget_it_cannot_score(kwargs, words):
    """An empty offset list or a window with no period left gives a one-line error naming it."""
    with pytest.raises(ValueError, match=words):
        tune_levels(scenarios.get("tiny"), **kwargs)
