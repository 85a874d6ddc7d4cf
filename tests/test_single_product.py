"""Tests of the exact one-product average-reward DP and the exact base-stock chains.

Zipkin (2008) is the outside reference for the optimum; the base-stock chains are held against
a Monte Carlo simulation written here from MODEL.md section 3, and against closed forms where
there is no lead time. Zipkin's lead time 4 makes the policy searches heavy (minutes), so those
instances are marked slow.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

from coordlib.exact import single_product as sp

PUBLISHED = sp.ZIPKIN_2008_OPTIMAL_COST
GRID = [(L, b) for L in sp.ZIPKIN_2008_LEAD_TIMES for b in sp.ZIPKIN_2008_PENALTIES]
GRID_SEARCHED = [pytest.param(L, b, marks=pytest.mark.slow) if L >= 4 else (L, b)
                 for L, b in GRID]


@functools.lru_cache(maxsize=None)
def optimum(lead_time, penalty):
    return sp.solve(**sp.zipkin_instance(penalty, lead_time))


@functools.lru_cache(maxsize=None)
def searches(lead_time, penalty):
    args = sp.zipkin_instance(penalty, lead_time)
    return sp.best_base_stock(**args), sp.best_capped_base_stock(**args)


def simulate(policy, mu, p, c, h, b, L, M, Q, periods, warmup, reps, seed):
    """Mean profit per period of each replication, from an empty system (MODEL.md section 3).

    ``policy(on_hand, pipeline)`` gives the orders; pipeline[:, d] arrives in d periods.
    """
    rng = np.random.default_rng(seed)
    on_hand = np.zeros(reps, dtype=np.int64)
    pipeline = np.zeros((reps, L), dtype=np.int64)
    total = np.zeros(reps)
    for t in range(warmup + periods):
        order = np.minimum(policy(on_hand, pipeline), Q)
        if L == 0:
            arriving = order
        else:
            arriving = pipeline[:, 0]
            pipeline = np.concatenate([pipeline[:, 1:], order[:, None]], axis=1)
        available = np.minimum(on_hand + arriving, M)
        demand = rng.poisson(mu, reps)
        sold = np.minimum(available, demand)
        on_hand = available - sold
        if t >= warmup:
            total += p * sold - c * order - h * on_hand - b * (demand - sold)
    return total / periods


def order_up_to(level, cap):
    def policy(on_hand, pipeline):
        position = on_hand + pipeline.sum(axis=1)
        return np.minimum(cap, np.maximum(0, level - position))
    return policy


def test_zipkin_optimal_costs_match_published_table():
    """All 16 optimal costs of Zipkin (2008), "Old and new methods for lost-sales inventory
    systems", Operations Research 56(5), 1256-1263, within 0.005 (he gives two decimals)."""
    for (L, b), published in PUBLISHED.items():
        result = optimum(L, b)
        assert result.converged
        assert result.lower <= result.gain <= result.upper
        assert abs(result.cost - published) <= 0.005, (L, b, result.cost, published)


def test_zipkin_lead_time_maps_without_shift():
    """Zipkin's L is MODEL.md's L: reading his L = 2 as MODEL.md's L = 1 misses his 4.40."""
    assert [sp.zipkin_lead_time(L) for L in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert sp.zipkin_instance(4, 3)["lead_time"] == 3
    shifted = sp.solve(**sp.zipkin_instance(4, 1)).cost
    assert abs(shifted - PUBLISHED[(2, 4)]) > 0.3


@pytest.mark.parametrize("L, b", [(1, 39), (2, 39), (3, 39), (4, 39), (4, 4)])
def test_zipkin_capacity_and_max_order_do_not_bind(L, b):
    """Zipkin's system has no capacity or order limit: raising M by 5 and Qmax by 3 leaves g*."""
    args = sp.zipkin_instance(b, L)
    wider = dict(args, capacity=args["capacity"] + 5, max_order=args["max_order"] + 3)
    assert abs(sp.solve(**wider).gain - optimum(L, b).gain) <= 1e-4


@pytest.mark.parametrize("L, b", GRID_SEARCHED)
def test_optimal_gain_is_at_least_every_base_stock_and_capped_gain(L, b):
    result = optimum(L, b)
    base, capped = searches(L, b)
    evaluated = [g for _, _, g in base.searched + capped.searched]
    assert max(evaluated) <= result.upper + 1e-9
    assert capped.gain >= base.gain - 1e-12          # cap = Qmax is among the caps searched


@pytest.mark.parametrize("L, b", GRID_SEARCHED)
def test_capped_base_stock_within_1_5_percent_of_optimal(L, b):
    """Xin (2021, Operations Research 69(1)) finds capped base-stock about 1% from optimal on
    these instances; the exact gaps here reach 1.47% (L = 4, p = 4)."""
    _, capped = searches(L, b)
    gap = (capped.cost - optimum(L, b).cost) / optimum(L, b).cost
    assert 0.0 <= gap + 1e-9 and gap <= 0.015, (L, b, gap)


@pytest.mark.parametrize("level, cap", [(14, 6), (16, 4)])
def test_chain_evaluation_matches_monte_carlo(level, cap):
    """Capacity and max_order both bind here; the simulation's 99.99% interval (4 standard
    errors over 40 replications) must hold the exact value."""
    mu, p, c, h, b, L, M, Q = 4.0, 10.0, 5.0, 0.5, 2.0, 2, 10, 6
    exact = sp.evaluate_capped_base_stock(mu, p, c, h, b, L, M, Q, level, cap)
    assert exact.mean_order > exact.mean_sales + 1e-3          # units discarded at M
    means = simulate(order_up_to(level, min(cap, Q)), mu, p, c, h, b, L, M, Q,
                     periods=4000, warmup=200, reps=40, seed=level)
    error = 4.0 * means.std(ddof=1) / np.sqrt(means.size)
    assert abs(means.mean() - exact.gain) <= error, (means.mean(), exact.gain, error)
    if cap >= Q:
        plain = sp.evaluate_base_stock(mu, p, c, h, b, L, M, Q, level)
        assert plain.gain == pytest.approx(exact.gain, abs=1e-12)


def test_optimal_order_table_attains_optimal_gain_in_simulation():
    """The reduced-state policy, applied to the full state, earns g* (same 4-SE interval)."""
    mu, p, c, h, b, L, M, Q = 4.0, 10.0, 5.0, 0.5, 2.0, 2, 20, 12
    result = sp.solve(mu, p, c, h, b, L, M, Q)

    def policy(on_hand, pipeline):
        return result.order[np.minimum(on_hand + pipeline[:, 0], M), pipeline[:, 1]]

    means = simulate(policy, mu, p, c, h, b, L, M, Q, periods=4000, warmup=200, reps=40,
                     seed=7)
    error = 4.0 * means.std(ddof=1) / np.sqrt(means.size)
    assert abs(means.mean() - result.gain) <= error
    assert result.order_for(3, (2, 5)) == result.order[5, 5]


def test_lead_time_zero_optimum_is_newsvendor_base_stock():
    """Without lead time base-stock is optimal; with carry-over the level is the
    (p - c + b) / (p - c + b + h) fractile of one period's demand."""
    mu, p, c, h, b, M, Q = 5.0, 10.0, 4.0, 1.0, 3.0, 40, 40
    result = sp.solve(mu, p, c, h, b, 0, M, Q)
    best = sp.best_base_stock(mu, p, c, h, b, 0, M, Q)
    assert best.gain == pytest.approx(result.gain, abs=1e-7)
    level = int(stats.poisson.ppf((p - c + b) / (p - c + b + h), mu))
    assert best.level == level
    on_hand = np.arange(M + 1)
    assert np.array_equal(result.order, np.maximum(level - on_hand, 0))
    # each period reorders what was sold, so the stock for sale is always the level
    sold = stats.poisson.sf(np.arange(level), mu).sum()
    closed_form = ((p - c) * sold - h * (level - sold) - b * (mu - sold))
    assert best.gain == pytest.approx(closed_form, abs=1e-10)


def test_span_bounds_hold_at_every_iteration():
    args = sp.zipkin_instance(9, 2)
    gain = optimum(2, 9).gain
    for iterations in (1, 2, 3, 5, 8):
        early = sp.solve(**args, max_iter=iterations)
        assert early.lower - 1e-12 <= gain <= early.upper + 1e-12
        assert not early.converged
    final = optimum(2, 9)
    assert final.upper - final.lower <= 1e-9 * max(1.0, abs(final.gain))


def test_zipkin_table_rows_and_columns():
    rows = sp.zipkin_table(lead_times=(1,), penalties=(4, 39), as_frame=False)
    assert [r["lost_sale_penalty"] for r in rows] == [4.0, 39.0]
    assert set(rows[0]) == {
        "lead_time", "lost_sale_penalty", "optimal_cost", "published_cost",
        "best_base_stock_level", "base_stock_cost", "base_stock_gap_pct", "capped_level",
        "capped_cap", "capped_cost", "capped_gap_pct"}
    for row in rows:
        assert row["published_cost"] == PUBLISHED[(1, int(row["lost_sale_penalty"]))]
        assert row["base_stock_gap_pct"] >= row["capped_gap_pct"] >= -1e-7


GOOD = dict(demand_rate=5.0, price=1.0, unit_cost=1.0, holding_cost=1.0,
            lost_sale_penalty=4.0, lead_time=1, capacity=20, max_order=10)


@pytest.mark.parametrize("change, message", [
    (dict(demand_rate=-1.0), "demand_rate"),
    (dict(demand_rate=float("nan")), "demand_rate"),
    (dict(price=0.0), "price"),
    (dict(unit_cost=-0.5), "unit_cost"),
    (dict(holding_cost=-1.0), "holding_cost"),
    (dict(lost_sale_penalty=-4.0), "lost_sale_penalty"),
    (dict(lead_time=1.5), "lead_time"),
    (dict(lead_time=-1), "lead_time"),
    (dict(lead_time=True), "lead_time"),
    (dict(capacity=0), "capacity"),
    (dict(max_order=2.5), "max_order"),
    (dict(tol=0.0), "tol"),
    (dict(max_iter=0), "max_iter"),
    (dict(damping=1.5), "damping"),
])
def test_invalid_inputs_raise_one_line_value_errors(change, message):
    with pytest.raises(ValueError, match=message) as info:
        sp.solve(**dict(GOOD, **change))
    assert "\n" not in str(info.value)


def test_invalid_policy_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="level"):
        sp.evaluate_base_stock(**GOOD, level=-1)
    with pytest.raises(ValueError, match="cap"):
        sp.evaluate_capped_base_stock(**GOOD, level=10, cap=1.5)
    with pytest.raises(ValueError, match="start"):
        sp.evaluate_base_stock(**GOOD, level=10, start=(0, 0, 0))
    with pytest.raises(ValueError, match="outside"):
        sp.evaluate_base_stock(**GOOD, level=10, start=(25, 0))
    with pytest.raises(ValueError, match="levels"):
        sp.best_base_stock(**GOOD, levels=[])


def test_too_large_instances_name_state_count_and_limit():
    big = dict(GOOD, lead_time=4, capacity=100, max_order=50)
    with pytest.raises(ValueError, match=f"{101 * 51 ** 3:,} states.*max_states=2,000,000"):
        sp.solve(**big)
    with pytest.raises(ValueError, match=r"states, above max_states=100;"):
        sp.evaluate_base_stock(**dict(GOOD, lead_time=2), level=15, max_states=100)
    assert sp.solve(**dict(GOOD, lead_time=2), max_states=21 * 11).n_states == 21 * 11
