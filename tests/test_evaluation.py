"""Evaluation (MODEL.md section 3, objective): replication means after a warm-up, and their
confidence intervals."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from coordlib import (
    ScenarioError,
    Simulator,
    evaluate,
    mean_ci,
    policies,
    scenarios,
    summarize,
)

COLUMNS = {"replication", "profit", "revenue", "purchase_cost", "holding_cost", "penalty_cost",
           "fill_rate", "lost_sales_rate", "mean_on_hand", "mean_demand", "policy", "scenario",
           "seed"}


def heuristic(levels, recommender=None):
    return policies.joint(policies.base_stock(levels), recommender or policies.fixed_exposure())


def test_evaluate_columns_and_accounting():
    frame = evaluate("medium", heuristic(np.full(10, 15), policies.gmv_greedy()),
                     replications=6, periods=80, warmup=20, seed=3)
    assert set(frame.columns) == COLUMNS and len(frame) == 6
    assert frame["replication"].tolist() == list(range(6))
    assert (frame["scenario"] == "medium").all() and (frame["seed"] == 3).all()
    assert (frame["policy"] == "base-stock + gmv-greedy").all()
    np.testing.assert_allclose(frame["profit"], frame["revenue"] - frame["purchase_cost"]
                               - frame["holding_cost"] - frame["penalty_cost"], rtol=1e-12)
    # lost sales: every unit demanded is sold or lost
    np.testing.assert_allclose(frame["fill_rate"] + frame["lost_sales_rate"], 1.0, rtol=1e-12)
    assert frame["fill_rate"].between(0, 1).all() and (frame["mean_on_hand"] >= 0).all()


def test_evaluate_matches_a_direct_simulation_after_the_warmup():
    """Each row is the mean over periods warmup..periods-1 of one copy of the simulator."""
    s = scenarios.get("tiny-personal")
    policy = heuristic([7, 9], policies.inventory_aware())
    periods, warmup, reps, seed = 40, 15, 4, 8
    frame = evaluate(s, policy, replications=reps, periods=periods, warmup=warmup, seed=seed)
    sim = Simulator(s, batch_size=reps, seed=seed)
    obs = sim.reset()
    policy.reset(s, reps, np.random.default_rng(0))
    kept = {"profit": [], "revenue": [], "holding_cost": [], "sales": [], "demand": [],
            "on_hand": []}
    for t in range(periods):
        a = policy.act(obs)
        r = sim.step(a.orders, a.exposure)
        obs = r.observation
        if t >= warmup:
            kept["profit"].append(r.profit)
            kept["revenue"].append(r.sales @ s.price)
            kept["holding_cost"].append(r.on_hand @ s.holding_cost)
            kept["sales"].append(r.sales.sum(1))
            kept["demand"].append(r.demand.sum((1, 2)))
            kept["on_hand"].append(r.on_hand.sum(1))
    mean = {k: np.mean(v, axis=0) for k, v in kept.items()}
    for column in ("profit", "revenue", "holding_cost"):
        np.testing.assert_allclose(frame[column], mean[column], rtol=1e-12)
    np.testing.assert_allclose(frame["fill_rate"], mean["sales"] / mean["demand"], rtol=1e-12)
    np.testing.assert_allclose(frame["mean_on_hand"], mean["on_hand"], rtol=1e-12)
    np.testing.assert_allclose(frame["mean_demand"], mean["demand"], rtol=1e-12)


def test_mean_ci_is_the_student_t_interval():
    values = np.array([3.1, 2.7, 3.9, 3.3, 2.5, 3.0])
    mean, lo, hi = mean_ci(values)
    ref = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert mean == pytest.approx(values.mean()) and (lo, hi) == pytest.approx(ref, rel=1e-12)
    assert lo < mean < hi
    one = mean_ci([4.0])
    assert one[0] == 4.0 and np.isnan(one[1]) and np.isnan(one[2])


def test_summarize_ci_contains_the_mean_and_shrinks_with_replications():
    policy = heuristic([8, 8])
    small = evaluate("tiny", policy, replications=8, periods=120, warmup=20, seed=1)
    large = evaluate("tiny", policy, replications=128, periods=120, warmup=20, seed=2)
    table = summarize(pd.concat([small.assign(policy="few"), large.assign(policy="many")]),
                      columns=("profit", "fill_rate"))
    assert table["policy"].tolist() == ["few", "many"] and table["n"].tolist() == [8, 128]
    for _, row in table.iterrows():
        for c in ("profit", "fill_rate"):
            assert row[f"{c}_lo"] < row[c] < row[f"{c}_hi"]
    width = (table["profit_hi"] - table["profit_lo"]).to_numpy()
    # 16 times the replications: about 4 (sqrt 16) times narrower, times t(7)/t(127) = 1.2
    assert width[1] < width[0] / 2.5, width
    assert table.loc[0, "profit"] == pytest.approx(small["profit"].mean())


def test_confidence_intervals_cover_the_exact_gain(exact_base_stock):
    """Coverage of the 95% interval: 200 independent groups of 10 replications of tiny under
    uniform exposure and base-stock S = 8, each product an independent lost-sales system with
    Poisson(2.4) demand whose exact gain comes from the Markov chain in conftest.py. The number
    of intervals that cover the gain is Binomial(200, 0.95) (sd 3.1) if the intervals are
    right: accept 178..199 (about 4 standard deviations below, and not every single one)."""
    g = 2 * exact_base_stock(8, 1, 2.4, 10, 5, 0.5, 2)["profit"]
    frame = evaluate("tiny", heuristic([8, 8]), replications=2000, periods=250, warmup=50,
                     seed=4)
    frame["group"] = frame["replication"] // 10
    table = summarize(frame, by=("group",))
    covered = int(((table["profit_lo"] <= g) & (g <= table["profit_hi"])).sum())
    assert 178 <= covered <= 199, covered
    z = (frame["profit"].mean() - g) / frame["profit"].sem()
    assert abs(z) < 3, (frame["profit"].mean(), g, z)       # all 2000 together: 3 SE


@pytest.mark.parametrize("kwargs, words", [
    ({"replications": 0}, ["replications", ">= 1"]),
    ({"replications": 2.5}, ["replications", "whole"]),
    ({"periods": 0}, ["periods", ">= 1"]),
    ({"warmup": -1}, ["warmup", ">= 0"]),
    ({"warmup": 50, "periods": 50}, ["warmup", "smaller than periods"]),
])
def test_evaluate_rejects_bad_arguments(kwargs, words):
    args = {"replications": 2, "periods": 20, "warmup": 5, **kwargs}
    with pytest.raises(ValueError) as info:
        evaluate("tiny", heuristic([8, 8]), **args)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_evaluate_rejects_unknown_scenarios_and_bad_actions():
    with pytest.raises(ScenarioError, match="known scenarios"):
        evaluate("no-such-shop", heuristic([8, 8]), replications=2, periods=10, warmup=0)
    bad = policies.joint(policies.base_stock([8, 8]), policies.fixed_exposure([[0.9, 0.9]]))
    with pytest.raises(ScenarioError, match="exposure"):
        evaluate("tiny", bad, replications=2, periods=10, warmup=0)

    class Overorder(policies.Replenisher):
        def orders(self, view):
            return np.full_like(view["on_hand"], 99)
    with pytest.raises(ScenarioError, match="orders"):
        evaluate("tiny", policies.joint(Overorder(), policies.fixed_exposure()),
                 replications=2, periods=10, warmup=0)
