"""The torch backend of the simulator: the numpy simulator's numbers on the same demand draws,
the model's demand law when it draws itself, and gradients in the orders in relaxed mode."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from coordlib import Simulator, scenarios
from coordlib.model.scenario import ScenarioError
from coordlib.model.torch_simulator import TorchSimulator


def _random_exposure(rng, B, K, N):
    x = rng.gamma(0.5, 1.0, (B, K, N)) + 1e-9
    return x / x.sum(-1, keepdims=True)


def _in_flight(s):
    """``s`` with 1-3 units of each product already on order in every period of its lead time."""
    pipeline = (np.arange(s.n_products)[:, None] + np.arange(s.max_lead_time)) % 3 + 1
    return s.replace(initial_pipeline=np.where(np.arange(s.max_lead_time) < s.lead_time[:, None],
                                               pipeline, 0).tolist())


VARIANTS = {
    "medium, backlog": lambda: scenarios.get("medium").replace(backlog=True),
    "weekly-review, backlog": lambda: scenarios.get("weekly-review").replace(backlog=True),
    "medium, orders in flight": lambda: _in_flight(scenarios.get("medium")),
    "tiny, lead times 0 and 2": lambda: scenarios.get("tiny").replace(lead_time=[0, 2]),
}
"""What no shipped scenario has: backlogging (with a review period), a pipeline at the start,
a product without lead time."""


@pytest.mark.parametrize("name", [*scenarios.names(), *VARIANTS])
def test_on_the_same_demand_draws_it_reproduces_the_numpy_simulator_exactly(name):
    s = VARIANTS[name]() if name in VARIANTS else scenarios.get(name)
    B, K, N = 3, s.n_segments, s.n_products
    numpy_sim = Simulator(s, batch_size=B, seed=5)
    torch_sim = TorchSimulator(s, batch_size=B)
    rng = np.random.default_rng(1)
    for _ in range(12 if N <= 100 else 3):
        orders = rng.integers(0, s.max_order + 1, (B, N))
        exposure = _random_exposure(rng, B, K, N)
        r = numpy_sim.step(orders, exposure)
        t = torch_sim.step(orders, exposure, demand=r.demand)
        for field in ("profit", "revenue", "purchase_cost", "holding_cost", "penalty_cost"):
            np.testing.assert_allclose(getattr(t, field).numpy(), getattr(r, field),
                                       rtol=1e-12, atol=1e-9, err_msg=field)
        for field in ("orders", "arrivals", "available", "overflow", "sales", "lost_sales",
                      "on_hand", "penalty_units"):
            np.testing.assert_array_equal(getattr(t, field).numpy(), getattr(r, field),
                                          err_msg=field)
        o = r.observation
        np.testing.assert_array_equal(torch_sim.on_hand.numpy(), o.on_hand)
        np.testing.assert_array_equal(torch_sim.pipeline.numpy(), o.pipeline)
        np.testing.assert_array_equal(torch_sim.backlog.numpy(), o.backlog)
        assert torch_sim.t == numpy_sim.t


@pytest.mark.parametrize("name", ["tiny", "seasonal", "medium"])
def test_its_own_draws_follow_the_model_s_demand_law(name):
    s = scenarios.get(name)
    sim = TorchSimulator(s, batch_size=4000, seed=0)
    exposure = _random_exposure(np.random.default_rng(2), 1, s.n_segments, s.n_products)[0]
    sim.t = 3
    mean = sim.demand_mean(torch.as_tensor(exposure).expand(4000, *exposure.shape))[0]
    np.testing.assert_allclose(mean.numpy(), s.segment_demand_rates(exposure, t=3), rtol=1e-12)
    step = sim.step(np.zeros(s.n_products, dtype=int), exposure)
    draws = step.demand.numpy()
    expected = s.segment_demand_rates(exposure, t=3)
    se = np.sqrt(np.maximum(expected, 1e-12) / 4000)
    assert np.all(np.abs(draws.mean(0) - expected) <= 5 * se + 1e-9)   # Poisson: variance = mean


def test_the_same_seed_gives_the_same_draws():
    s = scenarios.get("medium")
    a, b = (TorchSimulator(s, batch_size=5, seed=11) for _ in range(2))
    x = s.uniform_exposure()
    for _ in range(3):
        assert torch.equal(a.step(np.zeros(s.n_products), x).demand,
                           b.step(np.zeros(s.n_products), x).demand)


def test_relaxed_mode_gives_the_pathwise_gradient_of_profit_in_the_orders():
    s = scenarios.get("tiny-margin")
    sim = TorchSimulator(s, batch_size=2, relaxed=True)
    demand = np.array([[[9, 2]], [[1, 14]]])
    orders = torch.tensor([[3.5, 2.25], [0.5, 7.75]], dtype=torch.float64, requires_grad=True)
    x = s.uniform_exposure()
    total = sim.step(orders, x, demand=np.zeros_like(demand)).profit.sum()   # orders in flight
    total = total + sum(sim.step(np.zeros(2), x, demand=demand).profit.sum() for _ in range(1))
    total.backward()
    # by finite differences on the same draws (the profit is piecewise linear in the orders)
    def profit(o):
        run = TorchSimulator(s, batch_size=2, relaxed=True)
        out = run.step(o, x, demand=np.zeros_like(demand)).profit.sum()
        return float(out + run.step(np.zeros(2), x, demand=demand).profit.sum())
    eps = 1e-6
    base = orders.detach().clone()
    for b in range(2):
        for i in range(2):
            bumped = base.clone()
            bumped[b, i] += eps
            numeric = (profit(bumped) - profit(base)) / eps
            assert float(orders.grad[b, i]) == pytest.approx(numeric, abs=1e-5)
    assert orders.grad.abs().sum() > 0


def test_orders_outside_the_mode_are_refused_by_name():
    s = scenarios.get("tiny")
    with pytest.raises(ScenarioError, match="orders: must be whole units"):
        TorchSimulator(s).step([1.5, 0], s.uniform_exposure())
    with pytest.raises(ScenarioError, match="orders: must be real numbers in 0..max_order"):
        TorchSimulator(s, relaxed=True).step([-1.0, 0], s.uniform_exposure())
    with pytest.raises(ScenarioError, match="demand: expected shape"):
        TorchSimulator(s).step([1, 0], s.uniform_exposure(), demand=np.zeros((2, 2)))
