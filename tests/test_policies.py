"""Heuristic policies (MODEL.md sections 3, 4 and 6): base-stock, greedy and inventory-aware
recommenders, and the joint policy made of one rule per department."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from coordlib import Observation, ScenarioError, Simulator, evaluate, policies, scenarios
from coordlib.exact import single_product
from coordlib.model.scenario import random_scenario

REPLENISHER_KEYS = {"t", "review", "on_hand", "pipeline", "backlog", "inventory_position", "last_sales",
                    "last_lost_sales"}
RECOMMENDER_KEYS = {"t", "availability", "last_customers", "last_demand"}


def mnl(s, k, j, i):
    """P_ki(j) written out from MODEL.md 3.3 (not the scenario's matrix)."""
    v, v0, beta = s.attraction[k], s.outside_attraction[k], s.lift[k]
    return v[i] * (1 + beta * (i == j)) / (v0 + v.sum() + beta * v[j])


# ---- base-stock -----------------------------------------------------------------------------
def test_base_stock_orders_up_to_the_level_by_hand():
    s = scenarios.get("tiny").replace(lead_time=[2, 1], backlog=True, max_order=[20, 6])
    sim = Simulator(s, batch_size=3, seed=0)
    obs = sim.set_state(on_hand=[[3, 9], [0, 0], [20, 0]],
                        pipeline=[[[4, 1], [0, 0]], [[0, 0], [2, 0]], [[0, 0], [0, 0]]],
                        backlog=[[0, 0], [5, 0], [0, 0]])
    rule = policies.base_stock([12, 10])
    rule.reset(s, 3, np.random.default_rng(0))
    q = rule.orders(obs.replenisher_view())
    # IP = on hand + pipeline (the unit due now included) - backlog:
    #   copy 0: (3 + 4 + 1, 9) = (8, 9)      -> (12 - 8, 10 - 9) = (4, 1)
    #   copy 1: (0 - 5, 0 + 2) = (-5, 2)     -> (17, 8), clipped to Qmax = (20, 6): (17, 6)
    #   copy 2: (20, 0)                      -> (max(0, -8), 10) clipped: (0, 6)
    assert q.tolist() == [[4, 1], [17, 6], [0, 6]]


def test_base_stock_keeps_the_position_at_the_level_in_a_run():
    s = scenarios.get("medium")
    levels = np.arange(10, 20)
    policy = policies.joint(policies.base_stock(levels), policies.fixed_exposure())
    sim = Simulator(s, batch_size=8, seed=4)
    obs = sim.reset()
    policy.reset(s, 8, np.random.default_rng(0))
    for _ in range(40):
        q = policy.act(obs).orders
        position = obs.on_hand + obs.pipeline.sum(axis=-1)
        assert np.array_equal(q, np.clip(levels - position, 0, s.max_order))
        obs = sim.step(q, policy.act(obs).exposure).observation
    # after the start-up, the position after ordering is exactly S
    position = obs.on_hand + obs.pipeline.sum(axis=-1)
    assert np.all(position + policy.act(obs).orders == levels)


def test_base_stock_rejects_bad_levels():
    with pytest.raises(ValueError, match="levels"):
        policies.base_stock([3, -1])
    with pytest.raises(ValueError, match="levels"):
        policies.base_stock([[3, 1]])
    with pytest.raises(ScenarioError, match="N = 2"):
        policies.base_stock([3, 1, 2]).reset(scenarios.get("tiny"), 1, None)


def test_critical_fractile_and_fractile_levels_of_tiny():
    s = scenarios.get("tiny")
    # underage p + b - c = 7, overage h = 0.5 (an unsold unit is carried over)
    np.testing.assert_allclose(policies.critical_fractile(s), [7 / 7.5] * 2)
    # uniform exposure: mu = 2.4 per product, demand over L + R = 2 periods ~ Poisson(4.8);
    # the smallest S with P(D <= S) >= 14 / 15 by summing the Poisson cdf by hand
    cdf, S, term = 0.0, -1, 0.0
    while cdf < 7 / 7.5:
        S += 1
        term = np.exp(-4.8) if S == 0 else term * 4.8 / S
        cdf += term
    assert policies.fractile_levels(s).tolist() == [S, S] == [8, 8]


@pytest.mark.parametrize("name", ["seasonal", "weekly-review"])
def test_fractile_levels_have_one_level_per_product(name):
    s = scenarios.get(name)
    levels = policies.fractile_levels(s)
    assert levels.shape == (s.n_products,) and levels.dtype.kind == "i"


@pytest.mark.parametrize("name, recommender", [("tiny", policies.fixed_exposure),
                                               ("tiny-margin", policies.gmv_greedy)])
def test_tuned_base_stock_is_near_the_exact_optimum(name, recommender, exact_base_stock):
    """With an inventory-blind recommender each product is a single lost-sales base-stock
    system with Poisson(mu_i) demand; the exact gain of the tuned levels (Markov chain of
    conftest.py) is within 1.5% of the exact optimum over S = 0..16."""
    s = scenarios.get(name)
    rec = recommender()
    levels = policies.tune_base_stock(s, rec, replications=32, periods=150, warmup=30)
    rec.reset(s, 1, None)
    x = np.broadcast_to(rec.exposure({"t": 0, "availability": np.full((1, 2), 20)}), (1, 1, 2))[0]
    mu = [s.arrival_rate[0] * sum(x[0, j] * mnl(s, 0, j, i) for j in range(2)) for i in range(2)]
    for i in range(2):
        args = (1, mu[i], s.price[i], s.unit_cost[i], s.holding_cost[i], s.lost_sale_penalty[i])
        gains = [exact_base_stock(S, *args)["profit"] for S in range(17)]
        best = max(gains)
        assert np.argmax(gains) < 16 and levels[i] <= 16          # the range holds the optimum
        assert gains[levels[i]] >= best - 0.015 * abs(best), (i, levels[i], np.argmax(gains))


@pytest.mark.parametrize("name", ["medium", "seasonal", "weekly-review", "tiny-personal"])
def test_tuned_base_stock_levels_are_sane(name):
    """Tuned levels lie between the median and the 99.9% quantile of Poisson demand over
    L_i + R periods under the GMV-greedy exposure (season averaged)."""
    s = scenarios.get(name)
    rec = policies.gmv_greedy()
    levels = policies.tune_base_stock(s, rec, replications=16, periods=120, warmup=30)
    assert levels.shape == (s.n_products,)
    rec.reset(s, 1, None)
    x = rec.exposure(None)
    mu = np.mean([s.demand_rate(x, t) for t in range(48)], axis=0)
    horizon = s.lead_time + s.review_period
    low, high = stats.poisson.ppf([[0.5], [0.999]], mu * horizon)
    assert np.all(levels >= low) and np.all(levels <= high), (levels, low, high)


# ---- recommenders ---------------------------------------------------------------------------
def test_greedy_recommenders_on_tiny_margin_by_hand():
    # shown 1: P = (3/5, 1/5); shown 2: P = (1/5, 3/5).  p = (10, 8), p - c = (3, 5).
    # GMV:    shown 1: 10 * 3/5 + 8 * 1/5 = 7.6;  shown 2: 10 * 1/5 + 8 * 3/5 = 6.8  -> product 1
    # margin: shown 1:  3 * 3/5 + 5 * 1/5 = 2.8;  shown 2:  3 * 1/5 + 5 * 3/5 = 3.6  -> product 2
    s = scenarios.get("tiny-margin")
    np.testing.assert_allclose(policies.expected_value_per_customer(s, s.price), [[7.6, 6.8]])
    np.testing.assert_allclose(policies.expected_value_per_customer(s, s.price - s.unit_cost),
                               [[2.8, 3.6]])
    for rule, shown in ((policies.gmv_greedy(), [[1.0, 0.0]]),
                        (policies.margin_greedy(), [[0.0, 1.0]])):
        rule.reset(s, 2, None)
        assert np.array_equal(np.broadcast_to(rule.exposure(None), (1, 2)), shown), rule.name


@pytest.mark.parametrize("name", ["medium", "tiny-personal", "seasonal"])
def test_greedy_recommenders_maximize_expected_value_per_customer(name):
    s = scenarios.get(name)
    N, K = s.n_products, s.n_segments
    for rule, value in ((policies.gmv_greedy(), s.price),
                        (policies.margin_greedy(), s.price - s.unit_cost)):
        rule.reset(s, 1, None)
        x = np.asarray(rule.exposure(None)).reshape(K, N)
        for k in range(K):
            score = [sum(value[i] * mnl(s, k, j, i) for i in range(N)) for j in range(N)]
            assert x[k].sum() == 1 and x[k, int(np.argmax(score))] == 1, (rule.name, k)


def test_fixed_exposure():
    s = scenarios.get("tiny-personal")
    rule = policies.fixed_exposure([[0.3, 0.7], [1.0, 0.0]])
    rule.reset(s, 4, None)
    assert np.array_equal(rule.exposure(None), [[0.3, 0.7], [1.0, 0.0]])
    uniform = policies.fixed_exposure()
    uniform.reset(s, 4, None)
    assert np.array_equal(uniform.exposure(None), np.full((2, 2), 0.5))
    with pytest.raises(ScenarioError, match="exposure"):
        policies.fixed_exposure([[0.3, 0.3], [1.0, 0.0]]).reset(s, 1, None)


def test_recommender_argument_errors():
    with pytest.raises(ValueError, match="gmv"):
        policies.Greedy("revenue")
    with pytest.raises(ValueError, match="coverage"):
        policies.inventory_aware(-1.0)


def availability_view(availability, t=0):
    availability = np.atleast_2d(np.asarray(availability))
    B, N = availability.shape
    return {"t": t, "availability": availability, "last_customers": np.zeros((B, 1), int),
            "last_demand": np.zeros((B, 1, N), int)}


def test_inventory_aware_recommends_what_is_stocked_on_tiny_margin():
    # tiny-margin: margin with goodwill m = p - c + b = (5, 7); a product serves its demand in
    # full when its stock covers d = 6 * 3/5 = 3.6 (every customer shown it), else a share
    # f = A / 3.6. Expected margin per customer, P from MODEL.md 3.3:
    #   shown 1: 3/5 * 5 f1 + 1/5 * 7 f2 = 3 f1 + 1.4 f2
    #   shown 2: 1/5 * 5 f1 + 3/5 * 7 f2 = f1 + 4.2 f2     -> product 1 iff 2 f1 > 2.8 f2
    s = scenarios.get("tiny-margin")
    rule = policies.inventory_aware()
    rule.reset(s, 6, None)
    stock = [[20, 20], [20, 0], [0, 20], [3, 1], [4, 3], [18, 2]]
    x = rule.exposure(availability_view(stock))
    assert x.shape == (6, 1, 2)
    f = np.minimum(1, np.array(stock) / 3.6)
    expected = [[1, 0] if 2 * f1 > 2.8 * f2 else [0, 1] for f1, f2 in f]
    assert expected == [[0, 1], [1, 0], [0, 1], [1, 0], [0, 1], [1, 0]]
    assert x[:, 0].tolist() == expected
    # ample stock of both: the margin-greedy choice
    margin = policies.margin_greedy()
    margin.reset(s, 1, None)
    assert np.array_equal(x[0], np.asarray(margin.exposure(None)).reshape(1, 2))


@st.composite
def availability_cases(draw):
    N, K = draw(st.integers(2, 5)), draw(st.integers(1, 3))
    s = random_scenario(N, K, seed=draw(st.integers(0, 10_000)), seasonal=draw(st.booleans()))
    avail = np.array([draw(st.integers(0, int(m))) for m in s.capacity])
    i = draw(st.integers(0, N - 1))
    more = avail.copy()
    more[i] = draw(st.integers(avail[i], int(s.capacity[i])))
    return s, avail, more, i, draw(st.integers(0, 30))


@given(case=availability_cases())
def test_inventory_aware_exposure_rises_with_own_stock(case):
    """B3 direction: more stock of product i never lowers its exposure; rows are one-hot in
    the simplex. (Other products' exposures may move either way: a customer shown j can buy i.)
    """
    s, avail, more, i, t = case
    rule = policies.inventory_aware()
    rule.reset(s, 2, None)
    x = rule.exposure(availability_view(np.stack([avail, more]), t))
    assert x.shape == (2, s.n_segments, s.n_products)
    s.check_exposure(x)
    assert np.all((x == 0) | (x == 1))
    assert np.all(x[1, :, i] >= x[0, :, i])


@given(case=availability_cases())
def test_inventory_aware_shows_the_only_product_in_stock(case):
    """With stock of product i alone, the expected margin per customer shown j is
    P_ki(j) m_i f_i, largest at j = i because P_ki(i) > P_ki(j) whenever beta_k > 0."""
    s, _, more, i, t = case
    only = np.zeros_like(more)
    only[i] = max(more[i], 1)
    rule = policies.inventory_aware()
    rule.reset(s, 1, None)
    x = rule.exposure(availability_view(only, t))
    assert np.all(x[0, :, i] == 1), (i, x)


# ---- the joint policy: decentralized execution ---------------------------------------------
class SpyReplenisher(policies.Replenisher):
    def orders(self, view):
        self.seen = view
        return np.zeros_like(view["on_hand"])


class SpyRecommender(policies.Recommender):
    def exposure(self, view):
        self.seen = view
        return self.scenario.uniform_exposure()


def test_joint_passes_each_department_only_its_view():
    s = scenarios.get("tiny-personal")
    rep, rec = SpyReplenisher(), SpyRecommender()
    policy = policies.joint(rep, rec)
    sim = Simulator(s, batch_size=2, seed=0)
    policy.reset(s, 2, np.random.default_rng(0))
    obs = sim.reset()
    for _ in range(3):
        a = policy.act(obs)
        obs = sim.step(a.orders, a.exposure).observation
        assert set(rep.seen) == REPLENISHER_KEYS and set(rec.seen) == RECOMMENDER_KEYS
    # what each saw is exactly its department's slice of the observation
    last = sim.observation
    a = policy.act(last)
    assert rep.seen["t"] == rec.seen["t"] == last.t == 3 and rep.seen["review"] == last.review
    for key in REPLENISHER_KEYS - {"t", "review"}:
        assert np.array_equal(rep.seen[key], getattr(last, key))
    for key in RECOMMENDER_KEYS - {"t"}:
        assert np.array_equal(rec.seen[key], getattr(last, key))
    assert policy.name == f"{rep.name} + {rec.name}"
    assert isinstance(a, policies.Action) and a.orders.shape == (2, 2)


def test_department_views_split_the_state_as_model_section_4():
    obs = Simulator(scenarios.get("tiny"), batch_size=1, seed=0).observation
    assert isinstance(obs, Observation)
    rep, rec = obs.replenisher_view(), obs.recommender_view()
    assert set(rep) == REPLENISHER_KEYS and set(rec) == RECOMMENDER_KEYS
    # marketing never sees the pipeline; operations never sees purchase intents per segment
    assert "pipeline" not in rec and "last_demand" not in rep
    # together with the period they hold the full state
    assert set(obs.full_state()) <= set(rep) | set(rec)


# ---- capped base-stock (Xin 2021) ------------------------------------------------------------
def test_capped_base_stock_orders_min_cap_and_gap():
    s = scenarios.get("tiny")
    rep = policies.replenishment.capped_base_stock([12, 12], [3, 30])
    rep.reset(s, 2, np.random.default_rng(0))
    view = {"inventory_position": np.array([[4, 4], [11, 13]])}
    # gaps (8, 8) and (1, 0): product 1 capped at 3, product 2 at Qmax = 20
    assert rep.orders(view).tolist() == [[3, 8], [1, 0]]


def test_capped_base_stock_simulates_to_its_exact_chain_gain():
    s = scenarios.get("tiny").replace(lead_time=[2, 2])
    x = [[0.5, 0.5]]
    mu = float(s.demand_rate(np.array(x))[0])
    exact = single_product.evaluate_capped_base_stock(mu, 10, 5, 0.5, 2, 2, 20, 20, 11, 4,
                                                      start=(10, 0, 0)).gain
    policy = policies.joint(policies.replenishment.capped_base_stock([11, 11], [4, 4]),
                            policies.fixed_exposure(x))
    frame = evaluate(s, policy, replications=40, periods=500, warmup=100, seed=5)
    se = frame.profit.std(ddof=1) / np.sqrt(40)
    assert abs(frame.profit.mean() - 2 * exact) < 3 * se


def test_capped_firm_keeps_base_stock_unless_the_cap_pays():
    s = scenarios.get("tiny-margin")
    tune = dict(replications=16, periods=120, warmup=30)
    plain = policies.firm(s, "margin-greedy", 0, **tune)
    capped = policies.firm(s, "margin-greedy", 0, replenishment="capped", **tune)
    caps = capped.replenisher.caps
    assert np.all((caps == s.max_order) | (caps < s.max_order))
    kept = caps == s.max_order
    assert np.array_equal(capped.replenisher.levels[kept], plain.replenisher.levels[kept])
    with pytest.raises(Exception, match="unknown replenishment"):
        policies.firm(s, "siloed", 0, replenishment="newsvendor")
