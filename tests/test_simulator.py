"""The batched simulator against MODEL.md sections 3-4.

Invariants with hypothesis over random valid scenarios and actions, the demand statistics of
the MNL model, an outside check of the base-stock cost against exact calculations (a Markov
chain written from MODEL.md in ``conftest.py``, and stockpyl's newsvendor loss functions for
the backlog variant), and determinism.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from coordlib import Scenario, ScenarioError, Simulator, evaluate, policies, scenarios
from coordlib.model.scenario import random_scenario


# ---- random valid scenarios and actions ----------------------------------------------------------
@st.composite
def scenario_cases(draw):
    """A random valid scenario: N, K, lead times (0 included), R, capacity, backlog, seasons."""
    N = draw(st.integers(1, 4))
    K = draw(st.integers(1, 3))
    base = random_scenario(N, K, seed=draw(st.integers(0, 2**16)), max_lead_time=0,
                           review_period=draw(st.integers(1, 3)), seasonal=draw(st.booleans()))
    lead = draw(st.lists(st.integers(0, 3), min_size=N, max_size=N))
    # small capacities make the cap bind; max_order up to twice the capacity makes overflow
    capacity = draw(st.lists(st.integers(1, 15), min_size=N, max_size=N))
    max_order = [draw(st.integers(0, 2 * m)) for m in capacity]
    on_hand = [draw(st.integers(0, m)) for m in capacity]
    Lmax = max(lead)
    pipeline = [[draw(st.integers(0, 5)) if d < lead[i] else 0 for d in range(Lmax)]
                for i in range(N)]
    s = base.replace(lead_time=lead, capacity=capacity, max_order=max_order,
                     initial_on_hand=on_hand, initial_pipeline=pipeline,
                     backlog=draw(st.booleans()))
    return s


def random_actions(s: Scenario, B: int, rng: np.random.Generator):
    """Valid orders (B, N) and exposures (B, K, N): mixtures of Dirichlet and one-hot rows."""
    orders = rng.integers(0, s.max_order + 1, size=(B, s.n_products))
    x = rng.dirichlet(np.ones(s.n_products), size=(B, s.n_segments))
    one_hot = np.eye(s.n_products)[rng.integers(0, s.n_products, size=(B, s.n_segments))]
    pick = rng.random((B, s.n_segments, 1)) < 0.3
    return orders, np.where(pick, one_hot, x)


@given(s=scenario_cases(), B=st.integers(1, 4), T=st.integers(1, 14),
       action_seed=st.integers(0, 2**32 - 1), sim_seed=st.integers(0, 2**32 - 1))
def test_invariants_over_random_scenarios_and_actions(s, B, T, action_seed, sim_seed):
    """Conservation, sales bounds, signs, capacity, profit parts, lead times, review periods.

    Arrivals are checked against an independent ledger of every order placed: an order of
    product i placed in period t must arrive at the start of t + L_i, and nothing else arrives.
    """
    N, K, L, M = s.n_products, s.n_segments, s.lead_time, s.capacity
    rng = np.random.default_rng(action_seed)
    sim = Simulator(s, batch_size=B, seed=sim_seed)
    obs = sim.reset()
    horizon = T + int(L.max()) + 1
    due = np.zeros((B, N, horizon), dtype=np.int64)          # due[b, i, t]: units arriving at t
    due[:, :, :s.max_lead_time] += s.initial_pipeline
    on_hand = np.broadcast_to(s.initial_on_hand, (B, N)).copy()
    backlog = np.zeros((B, N), dtype=np.int64)
    for t in range(T):
        assert obs.t == t and obs.review == (t % s.review_period == 0)
        # the views: the pipeline is what the ledger says is due at t, t+1, ...
        assert np.array_equal(obs.on_hand, on_hand) and np.array_equal(obs.backlog, backlog)
        assert np.array_equal(obs.pipeline, due[:, :, t:t + s.max_lead_time])
        assert np.array_equal(obs.inventory_position,
                              on_hand + due[:, :, t:].sum(axis=-1) - backlog)
        assert np.array_equal(obs.availability, np.minimum(on_hand + due[:, :, t], M))

        orders, x = random_actions(s, B, rng)
        r = sim.step(orders, x)
        placed = orders if t % s.review_period == 0 else np.zeros_like(orders)
        assert np.array_equal(r.orders, placed)             # orders only in review periods
        for i in range(N):
            due[:, i, t + L[i]] += placed[:, i]
        assert np.array_equal(r.arrivals, due[:, :, t])     # every order arrives after L_i

        # capacity and conservation of stock
        stock = on_hand + r.arrivals
        assert np.array_equal(r.available, np.minimum(stock, M))
        assert np.array_equal(r.overflow, stock - r.available)
        assert np.array_equal(r.on_hand, on_hand + r.arrivals - r.overflow - r.sales)
        assert np.all(r.on_hand <= M) and np.all(r.available <= M)

        # sales and lost sales (MODEL.md 3.4) or the backlog variant
        D = r.demand.sum(axis=1)
        assert np.array_equal(r.total_demand, D)
        if s.backlog:
            assert np.array_equal(r.sales, np.minimum(r.available, backlog + D))
            assert not r.lost_sales.any()
            new_backlog = backlog + D - r.sales
            assert np.array_equal(r.observation.backlog, new_backlog)
            penalty_units = new_backlog
        else:
            assert np.array_equal(r.sales, np.minimum(r.available, D))
            assert np.array_equal(r.sales + r.lost_sales, D)
            assert not r.observation.backlog.any()
            new_backlog, penalty_units = backlog, r.lost_sales
        assert np.all(r.sales <= r.available) and np.all(r.sales <= D + backlog)

        # nothing negative; customers include every buyer
        for name in ("orders", "arrivals", "available", "overflow", "demand", "customers",
                     "sales", "lost_sales", "on_hand"):
            assert np.all(getattr(r, name) >= 0), name
        assert np.all(r.customers >= r.demand.sum(axis=2))
        assert r.demand.shape == (B, K, N) and r.customers.shape == (B, K)
        assert np.allclose(r.exposure, x)

        # profit and each of its parts (MODEL.md 3.6) from the per-product arrays
        revenue = (s.price * r.sales).sum(axis=1)
        purchase = (s.unit_cost * placed).sum(axis=1)
        holding = (s.holding_cost * r.on_hand).sum(axis=1)
        penalty = (s.lost_sale_penalty * penalty_units).sum(axis=1)
        np.testing.assert_allclose(r.revenue, revenue, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(r.purchase_cost, purchase, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(r.holding_cost, holding, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(r.penalty_cost, penalty, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(r.profit, r.revenue - r.purchase_cost - r.holding_cost
                                   - r.penalty_cost, rtol=1e-12, atol=1e-9)

        # the next observation carries last period's outcome
        nxt = r.observation
        assert np.array_equal(nxt.on_hand, r.on_hand)
        assert np.array_equal(nxt.last_sales, r.sales)
        assert np.array_equal(nxt.last_lost_sales, r.lost_sales)
        assert np.array_equal(nxt.last_demand, r.demand)
        assert np.array_equal(nxt.last_customers, r.customers)
        on_hand, backlog, obs = r.on_hand, new_backlog, nxt


@given(s=scenario_cases(), t0=st.integers(0, 6), seed=st.integers(0, 1000))
def test_a_marked_order_arrives_exactly_lead_time_later(s, t0, seed):
    """One order per product, placed at period t0 and nowhere else, arrives at t0 + L_i only."""
    s = s.replace(initial_pipeline=np.zeros((s.n_products, s.max_lead_time), int).tolist())
    N = s.n_products
    marked = np.minimum(np.arange(1, N + 1), s.max_order)
    sim = Simulator(s, batch_size=2, seed=seed)
    zero, x = np.zeros(N, dtype=int), s.uniform_exposure()
    review = t0 % s.review_period == 0
    for t in range(t0 + int(s.lead_time.max()) + 3):
        r = sim.step(marked if t == t0 else zero, x)
        expected = np.where((t == t0 + s.lead_time) & review, marked, 0)
        assert np.array_equal(r.arrivals, np.broadcast_to(expected, (2, N))), (t, r.arrivals)
        charged = (s.unit_cost * marked).sum() if (t == t0 and review) else 0.0
        np.testing.assert_allclose(r.purchase_cost, charged)   # charged when ordered


def test_orders_outside_review_periods_are_zeroed():
    s = scenarios.get("weekly-review")                        # R = 4
    sim = Simulator(s, batch_size=3, seed=0)
    q = np.array([5, 6, 7])
    placed = [sim.step(q, s.uniform_exposure()).orders for _ in range(9)]
    for t, o in enumerate(placed):
        assert np.array_equal(o, np.broadcast_to(q if t % 4 == 0 else 0, (3, 3))), t


def test_capacity_discards_excess_already_paid_for():
    s = scenarios.get("tiny").replace(lead_time=[0, 0], lift=[0.0], arrival_rate=[0.0])
    sim = Simulator(s, batch_size=1, seed=0)
    r = sim.step([20, 3], s.uniform_exposure())               # on hand 10 + 20 > M = 20
    assert r.available.tolist() == [[20, 13]] and r.overflow.tolist() == [[10, 0]]
    assert r.purchase_cost[0] == pytest.approx(5 * 23)
    assert r.on_hand.tolist() == [[20, 13]]                   # no customers arrive (lambda = 0)
    assert r.holding_cost[0] == pytest.approx(0.5 * 33)


def test_backlog_waits_and_is_charged_per_period():
    s = scenarios.get("tiny").replace(backlog=True, initial_on_hand=[0, 0], lead_time=[2, 2])
    sim = Simulator(s, batch_size=64, seed=3)
    x, zero = s.uniform_exposure(), np.zeros(2, dtype=int)
    r0 = sim.step(zero, x)
    r1 = sim.step(zero, x)
    assert not r0.sales.any() and not r1.sales.any()          # nothing to sell yet
    np.testing.assert_array_equal(r1.observation.backlog, r0.demand.sum(1) + r1.demand.sum(1))
    np.testing.assert_allclose(r1.penalty_cost, r1.observation.backlog @ s.lost_sale_penalty)


# ---- statistics of demand (MODEL.md 3.3) ---------------------------------------------------------
def mnl_mean_by_hand(v0, v, beta, lam, x):
    """lambda_k sum_j x_kj v_ki (1 + beta_k [i = j]) / (v_k0 + sum_l v_kl + beta_k v_kj), by loops."""
    K, N = len(v), len(v[0])
    mu = np.zeros((K, N))
    for k in range(K):
        for i in range(N):
            for j in range(N):
                denom = v0[k] + sum(v[k]) + beta[k] * v[k][j]
                mu[k, i] += lam[k] * x[k][j] * v[k][i] * (1 + beta[k] * (i == j)) / denom
    return mu


STAT_SPEC = {
    "products": {"price": [10, 12, 8], "unit_cost": [5, 6, 4], "holding_cost": [0.5] * 3,
                 "lost_sale_penalty": [2] * 3, "lead_time": [1, 0, 2], "capacity": [50] * 3,
                 "max_order": [50] * 3},
    "segments": {"arrival_rate": [6.0, 3.0], "outside_attraction": [1.0, 0.5],
                 "attraction": [[1.0, 2.0, 0.5], [0.3, 0.2, 1.5]], "lift": [2.0, 4.0]},
    "initial_on_hand": [10, 10, 10],
}
STAT_EXPOSURES = {
    "uniform": [[1 / 3] * 3, [1 / 3] * 3],
    "one-hot": [[0, 0, 1], [1, 0, 0]],
    "mixed": [[0.6, 0.1, 0.3], [0.2, 0.5, 0.3]],
}


@pytest.mark.parametrize("exposure", list(STAT_EXPOSURES))
def test_demand_means_match_mnl_with_lift(exposure):
    """Empirical mean of D_ki over n draws is within 4 standard errors sqrt(mu_ki / n) of mu_ki.

    The demand of each segment and product is Poisson (MODEL.md 3.3), so its variance equals
    its mean: the sample variance is checked too, within 4 standard errors
    sqrt((mu + 2 mu^2) / n) (the Poisson fourth central moment is mu + 3 mu^2).
    """
    s = Scenario.from_dict(STAT_SPEC)
    seg = STAT_SPEC["segments"]
    x = np.array(STAT_EXPOSURES[exposure])
    mu = mnl_mean_by_hand(seg["outside_attraction"], seg["attraction"], seg["lift"],
                          seg["arrival_rate"], x)
    no_lift = mnl_mean_by_hand(seg["outside_attraction"], seg["attraction"], [0, 0],
                               seg["arrival_rate"], x)
    n = 40_000
    sim = Simulator(s, batch_size=n, seed=11)
    demand = sim.step(np.zeros(3, dtype=int), x).demand       # (n, K, N)
    se = np.sqrt(mu / n)
    # the test has power: ignoring the lift would move some mean by far more than 4 SE
    assert np.max(np.abs(no_lift - mu) / se) > 20
    z = (demand.mean(axis=0) - mu) / se
    assert np.all(np.abs(z) < 4), z
    z_var = (demand.var(axis=0, ddof=1) - mu) / np.sqrt((mu + 2 * mu**2) / n)
    assert np.all(np.abs(z_var) < 4), z_var
    # and per product, mu_i = sum_k mu_ki
    total = demand.sum(axis=1).mean(axis=0)
    assert np.all(np.abs(total - mu.sum(0)) < 4 * np.sqrt(mu.sum(0) / n))


def test_customers_and_no_purchase_have_the_arrival_rate():
    """Customers ~ Poisson(lambda_k); those who buy nothing ~ Poisson(lambda_k (1 - sum_i P))."""
    s = Scenario.from_dict(STAT_SPEC)
    seg = STAT_SPEC["segments"]
    x = np.array(STAT_EXPOSURES["mixed"])
    lam = np.array(seg["arrival_rate"])
    buy = mnl_mean_by_hand(seg["outside_attraction"], seg["attraction"], seg["lift"], lam, x)
    n = 40_000
    r = Simulator(s, batch_size=n, seed=5).step(np.zeros(3, dtype=int), x)
    z = (r.customers.mean(axis=0) - lam) / np.sqrt(lam / n)
    assert np.all(np.abs(z) < 4), z
    no_buy = lam - buy.sum(axis=1)
    z = ((r.customers - r.demand.sum(axis=2)).mean(axis=0) - no_buy) / np.sqrt(no_buy / n)
    assert np.all(np.abs(z) < 4), z


def test_seasonal_arrivals_follow_lambda_of_t():
    """Mean customers and demand at each phase t of a 4-period season match lambda_k(t)."""
    spec = {**STAT_SPEC, "segments": {**STAT_SPEC["segments"], "season_amplitude": [0.8, 0.5],
                                      "season_period": [4, 6], "season_phase": [0.3, 2.0]}}
    s = Scenario.from_dict(spec)
    seg = spec["segments"]
    x = np.array(STAT_EXPOSURES["uniform"])
    n = 20_000
    sim = Simulator(s, batch_size=n, seed=21)
    for t in range(6):
        lam_t = [seg["arrival_rate"][k] * (1 + seg["season_amplitude"][k]
                                           * np.sin(2 * np.pi * t / seg["season_period"][k]
                                                    + seg["season_phase"][k])) for k in range(2)]
        lam_t = np.array(lam_t)
        r = sim.step(np.zeros(3, dtype=int), x)
        z = (r.customers.mean(axis=0) - lam_t) / np.sqrt(lam_t / n)
        assert np.all(np.abs(z) < 4), (t, z)
        mu = mnl_mean_by_hand(seg["outside_attraction"], seg["attraction"], seg["lift"], lam_t, x)
        z = (r.demand.mean(axis=0) - mu) / np.sqrt(mu / n)
        assert np.all(np.abs(z) < 4), (t, z)
    # the season really swings: lambda_1 at its extremes differs by many standard errors
    assert s.arrival_rates(0)[0] != pytest.approx(s.arrival_rates(2)[0], rel=0.5)


# ---- outside check: one product, base-stock, exact long-run cost ------------------------------------
P, C, H, B_PEN = 10.0, 5.0, 0.5, 2.0
MU = 6 * 1 * (1 + 1) / (1 + 1 + 1 * 1)   # lambda v (1 + beta) / (v0 + v + beta v) = 4


def one_product(lead_time: int, level: int, backlog: bool = False) -> Scenario:
    """One product, one segment, the only exposure x = 1; capacity and Qmax never bind."""
    return Scenario.from_dict({
        "products": {"price": [P], "unit_cost": [C], "holding_cost": [H],
                     "lost_sale_penalty": [B_PEN], "lead_time": [lead_time], "capacity": [100],
                     "max_order": [100]},
        "segments": {"arrival_rate": [6], "outside_attraction": [1], "attraction": [[1]],
                     "lift": [1]},
        "initial_on_hand": [level], "backlog": backlog})


def simulated(scenario, level):
    policy = policies.joint(policies.base_stock([level]), policies.fixed_exposure())
    return evaluate(scenario, policy, replications=2000, periods=400, warmup=50, seed=1)


def z_score(frame, column, exact):
    values = frame[column]
    return (values.mean() - exact) / (values.std(ddof=1) / np.sqrt(len(values)))


def test_one_product_mean_demand_is_mu():
    s = one_product(0, 6)
    assert s.demand_rate([[1.0]])[0] == pytest.approx(MU, rel=1e-12)


@pytest.mark.parametrize("lead_time, level", [(0, 6), (1, 10), (2, 14)])
def test_base_stock_lost_sales_matches_exact_markov_chain(lead_time, level, exact_base_stock):
    """Simulated gain and its parts within 3 standard errors of the exact stationary values.

    The reference is the Markov chain of (on-hand, pipeline) solved exactly in conftest.py;
    for L = 0 it is also the closed-form Poisson sum (stock for sale is always S). 2000
    replications of 350 periods give standard errors near 0.01 on a profit of about 16.5; 3
    standard errors is a 99.7% interval (the 95% interval is reported in the failure message).
    """
    exact = exact_base_stock(level, lead_time, MU, P, C, H, B_PEN)
    if lead_time == 0:
        d = np.arange(200)
        pmf = stats.poisson.pmf(d, MU)
        closed = ((P - C) * (np.minimum(level, d) * pmf).sum()
                  - H * (np.maximum(level - d, 0) * pmf).sum()
                  - B_PEN * (np.maximum(d - level, 0) * pmf).sum())
        assert exact["profit"] == pytest.approx(closed, rel=1e-10)
    frame = simulated(one_product(lead_time, level), level)
    for column in ("profit", "revenue", "purchase_cost", "holding_cost", "penalty_cost"):
        z = z_score(frame, column, exact[column])
        assert abs(z) < 3, (column, frame[column].mean(), exact[column], z)


@pytest.mark.parametrize("lead_time, level", [(0, 6), (1, 10), (2, 13)])
def test_base_stock_backlog_matches_stockpyl(lead_time, level):
    """Backlog variant: the net stock at the end of a period is S minus the demand over L + 1
    periods, so holding plus backlog cost per period is stockpyl's Poisson newsvendor cost
    g(S) = h nbar(S) + b n(S) with mean (L + 1) mu; the margin on every unit is p - c.
    """
    from stockpyl.newsvendor import newsvendor_poisson_cost
    cost = newsvendor_poisson_cost(level, H, B_PEN, (lead_time + 1) * MU)
    # the same cost by a direct Poisson sum, as a check on how stockpyl is called
    d = np.arange(300)
    pmf = stats.poisson.pmf(d, (lead_time + 1) * MU)
    direct = (H * np.maximum(level - d, 0) + B_PEN * np.maximum(d - level, 0)) @ pmf
    assert cost == pytest.approx(direct, rel=1e-9)

    frame = simulated(one_product(lead_time, level, backlog=True), level)
    frame["cost"] = frame["holding_cost"] + frame["penalty_cost"]
    z = z_score(frame, "cost", cost)
    assert abs(z) < 3, (frame["cost"].mean(), cost, z)
    z = z_score(frame, "profit", (P - C) * MU - cost)
    assert abs(z) < 3, (frame["profit"].mean(), (P - C) * MU - cost, z)


# ---- determinism -------------------------------------------------------------------------------
def trajectory(sim: Simulator, periods: int, action_seed: int = 0):
    rng = np.random.default_rng(action_seed)
    out = []
    for _ in range(periods):
        q, x = random_actions(sim.scenario, sim.batch_size, rng)
        r = sim.step(q, x)
        out.append({name: np.array(getattr(r, name)) for name in (
            "profit", "revenue", "purchase_cost", "holding_cost", "penalty_cost", "orders",
            "arrivals", "available", "overflow", "demand", "customers", "sales", "lost_sales",
            "on_hand")} | {"pipeline": r.observation.pipeline.copy(),
                           "backlog": r.observation.backlog.copy()})
    return out


def same(a, b) -> bool:
    return all(np.array_equal(x[k], y[k]) for x, y in zip(a, b) for k in x)


@pytest.mark.parametrize("name", ["medium", "seasonal", "weekly-review"])
def test_same_seed_gives_identical_trajectories(name):
    s = scenarios.get(name)
    first = trajectory(Simulator(s, batch_size=4, seed=123), 30)
    second = trajectory(Simulator(s, batch_size=4, seed=123), 30)
    assert same(first, second)
    other = trajectory(Simulator(s, batch_size=4, seed=124), 30)
    assert not same(first, other)


def test_reset_with_seed_restarts_identically():
    s = scenarios.get("medium").replace(backlog=True)
    sim = Simulator(s, batch_size=3, seed=0)
    sim.reset(seed=77)
    first = trajectory(sim, 20)
    obs = sim.reset(seed=77)
    assert obs.t == 0 and np.array_equal(obs.on_hand, np.broadcast_to(s.initial_on_hand, (3, 10)))
    assert not obs.backlog.any() and not obs.last_demand.any()
    assert same(first, trajectory(sim, 20))
    assert same(first, trajectory(Simulator(s, batch_size=3, seed=77), 20))


def test_evaluate_with_the_same_seed_gives_identical_frames():
    policy = policies.joint(policies.base_stock([8, 8]), policies.inventory_aware())
    a = evaluate("tiny", policy, replications=5, periods=60, warmup=10, seed=9)
    b = evaluate("tiny", policy, replications=5, periods=60, warmup=10, seed=9)
    assert a.equals(b)
    c = evaluate("tiny", policy, replications=5, periods=60, warmup=10, seed=10)
    assert not a["profit"].equals(c["profit"])


# ---- constructor and state errors ---------------------------------------------------------------
def test_simulator_rejects_bad_arguments_and_actions():
    s = scenarios.get("tiny")
    with pytest.raises(TypeError, match="scenario"):
        Simulator("tiny")
    with pytest.raises(ValueError, match="batch_size"):
        Simulator(s, batch_size=0)
    sim = Simulator(s, batch_size=2, seed=0)
    with pytest.raises(ScenarioError, match="orders"):
        sim.step([21, 0], s.uniform_exposure())
    with pytest.raises(ScenarioError, match="exposure"):
        sim.step([0, 0], [[0.7, 0.7]])
    with pytest.raises(ValueError, match="on_hand"):
        sim.set_state(on_hand=[21, 0])
    assert sim.t == 0                                        # a rejected step changes nothing


def test_set_state_puts_every_copy_in_the_state():
    s = scenarios.get("tiny")
    sim = Simulator(s, batch_size=3, seed=0)
    obs = sim.set_state(on_hand=[4, 7], pipeline=[[2], [0]], t=5)
    assert obs.t == 5 and obs.on_hand.tolist() == [[4, 7]] * 3
    assert obs.inventory_position.tolist() == [[6, 7]] * 3
    r = sim.step([0, 0], s.uniform_exposure())
    assert r.arrivals.tolist() == [[2, 0]] * 3
