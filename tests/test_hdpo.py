"""HDPO, the replenishment peer: pathwise gradients through the relaxed torch simulator, a
development set that keeps the best iterate, and a policy that orders whole units."""
from __future__ import annotations

import numpy as np
import pytest

from coordlib import evaluate
from coordlib.exact.zipkin import zipkin_scenario
from coordlib.learning.hdpo import HDPOConfig, train_hdpo

SMALL = dict(batch=32, traces=64, dev_traces=64, periods=30, warmup=10, hidden=16, dev_every=5)


@pytest.fixture(scope="module")
def trained():
    return train_hdpo(zipkin_scenario(9, 1), HDPOConfig(iterations=40, seed=3, **SMALL))


def test_training_raises_the_development_profit_and_keeps_the_best_iterate(trained):
    dev = [row["dev_profit"] for row in trained.curve]
    assert len(dev) == 8 and np.all(np.isfinite(dev))
    assert max(dev) > dev[0]                                 # it learned something
    kept = next(row for row in trained.curve if row["iteration"] == trained.best_iteration)
    assert kept["dev_profit"] == max(dev)


def test_the_trained_policy_orders_whole_units_and_is_evaluated_like_any_policy(trained):
    s = zipkin_scenario(9, 1)
    frame = evaluate(s, trained.policy, replications=4, periods=200, warmup=20, seed=0)
    assert np.isfinite(frame["profit"]).all()
    again = evaluate(s, trained.policy, replications=4, periods=200, warmup=20, seed=0)
    assert frame["profit"].tolist() == again["profit"].tolist()       # deterministic policy
    replenisher = trained.policy.replenisher
    replenisher.reset(s, 3, None)
    orders = replenisher.orders({"on_hand": np.array([[0], [4], [30]]),
                                 "pipeline": np.array([[[0]], [[5]], [[0]]])})
    assert orders.dtype.kind == "i" and orders.shape == (3, 1)
    assert np.all((0 <= orders) & (orders <= s.max_order))
    assert orders[0, 0] >= orders[2, 0]                  # less stock, no smaller an order


def test_same_seed_same_policy():
    s = zipkin_scenario(9, 1)
    a, b = (train_hdpo(s, HDPOConfig(iterations=10, seed=1, **SMALL)) for _ in range(2))
    assert a.curve == b.curve


@pytest.mark.parametrize("change, message", [
    (dict(batch=0), "batch: must be a whole number >= 1"),
    (dict(warmup=30), "warmup: must lie in 0..periods - 1"),
    (dict(batch=100, traces=50), "batch \\(100\\) exceeds traces \\(50\\)"),
    (dict(lr=-1.0), "lr: must be a positive number"),
])
def test_bad_settings_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        HDPOConfig(**{**SMALL, **change})
