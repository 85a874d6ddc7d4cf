"""The one simulation loop and the per-product profit every consumer reads (MODEL.md section 3)."""
from __future__ import annotations

import numpy as np
import pytest

from coordlib import Simulator, evaluate, policies, scenarios
from coordlib.learning.config import config_for
from coordlib.learning.mtma import Learner
from coordlib.model.rollout import exposures_on, policy_rng, rollout, trajectories, visited


def _firm():
    """A firm with fixed levels (no tuning), so both sides of a comparison are the same policy."""
    return policies.joint(policies.base_stock([9, 6]), policies.gmv_greedy())


def test_rollout_is_the_hand_written_loop_and_skips_the_warmup():
    s = scenarios.get("tiny")
    policy = _firm()
    got = [(t, r.profit.copy()) for t, r in rollout(s, policy, 5, 30, seed=4, warmup=10)]
    assert [t for t, _ in got] == list(range(10, 30))
    sim = Simulator(s, batch_size=5, seed=4)
    obs = sim.reset()
    policy.reset(s, 5, policy_rng(4))
    for t in range(30):
        a = policy.act(obs)
        r = sim.step(a.orders, a.exposure)
        obs = r.observation
        if t >= 10:
            np.testing.assert_array_equal(r.profit, got[t - 10][1])


@pytest.mark.parametrize("backlog", [False, True])
def test_product_profit_sums_to_the_profit_and_its_parts(backlog):
    s = scenarios.get("medium").replace(backlog=backlog)
    for _, r in rollout(s, policies.joint(policies.base_stock(np.full(10, 12)),
                                          policies.fixed_exposure(None)), 6, 20, seed=1):
        np.testing.assert_allclose(r.product_profit.sum(axis=1), r.profit, rtol=0, atol=1e-9)
        np.testing.assert_allclose(r.product_operating_cost.sum(axis=1), r.operating_cost,
                                   rtol=0, atol=1e-9)
        np.testing.assert_allclose(r.product_gmv.sum(axis=1), r.gmv, rtol=0, atol=1e-9)
        penalty = r.observation.backlog if backlog else r.lost_sales
        np.testing.assert_array_equal(r.penalty_units, penalty)


def test_evaluate_and_trajectories_read_the_same_rollout():
    s = scenarios.get("tiny")
    frame = evaluate(s, _firm(), replications=4, periods=60, warmup=20, seed=2)
    traj = trajectories(s, _firm(), replications=4, periods=60, warmup=20, seed=2)
    np.testing.assert_allclose(frame["profit"].to_numpy(), traj["profit"].mean(axis=1))


def test_policy_rng_takes_the_simulator_seeds():
    a, b = policy_rng(3), np.random.default_rng([3, 1])
    assert a.integers(1 << 40) == b.integers(1 << 40)
    assert policy_rng([3, 5]).integers(1 << 40) == np.random.default_rng([3, 5, 1]).integers(1 << 40)


def test_exposures_on_a_fixed_path_compare_two_policies_state_by_state():
    s = scenarios.get("tiny")
    learner = Learner(s, config_for("mtma", n_envs=4, rollout_length=4, seed=0))
    policy = learner.policy(True)
    path = visited(s, policy, batch_size=3, periods=12, warmup=2, seed=5)
    assert len(path) == 10 and path[0].on_hand.shape == (3, 2)
    assert [o.t for o in path] == list(range(2, 12))
    a = exposures_on(s, policy, path)
    assert a.shape == (10, 3, 1, 2) and np.allclose(a.sum(-1), 1.0)
    assert np.array_equal(a, exposures_on(s, learner.policy(True), path))   # same policy, same path
    learner.iterate()
    b = exposures_on(s, learner.policy(True), path)                         # one update later
    assert b.shape == a.shape and not np.array_equal(a, b)
