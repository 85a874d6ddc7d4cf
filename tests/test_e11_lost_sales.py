"""E11: Zipkin's (2008) instances in MODEL.md's terms, checked against the simulator."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from coordlib.exact import single_product
from coordlib.exact.zipkin import zipkin_optimum
from coordlib.experiments import e11_lost_sales
from coordlib.model.policy import joint
from coordlib.policies.recommendation import fixed_exposure
from coordlib.policies.replenishment import base_stock


def test_zipkin_scenario_has_poisson_five_demand_and_the_dp_bounds():
    s = e11_lost_sales.zipkin_scenario(19, 3)
    args = single_product.zipkin_instance(19, 3)
    assert s.demand_rate(np.ones((1, 1)))[0] == pytest.approx(args["demand_rate"]) == 5.0
    assert (int(s.lead_time[0]), int(s.capacity[0]), int(s.max_order[0])) == (
        args["lead_time"], args["capacity"], args["max_order"])
    assert s.price[0] == s.unit_cost[0] == 1.0 and s.lost_sale_penalty[0] == 19.0


@pytest.mark.parametrize("penalty, lead_time", [(9, 2), (4, 1)])
def test_exact_costs_lie_inside_the_simulated_intervals(penalty, lead_time):
    # the simulator and the one-product DP are separate code: agreement checks the timing
    # mapping (arrival at t + L, holding on end-of-period stock) on the optimal policy and
    # on the best base-stock
    check = e11_lost_sales.simulation_check(penalty, lead_time, replications=24, periods=3000,
                                            warmup=300, seed=1)
    assert check["inside"].all(), check
    published = single_product.ZIPKIN_2008_OPTIMAL_COST[(lead_time, penalty)]
    optimal = check[check.policy == "optimal"].iloc[0]
    assert abs(optimal.simulated_cost - published) < 3 * (optimal.simulated_hi - optimal.simulated_cost)


def test_lost_sales_table_on_one_row_matches_the_published_cost(tmp_path):
    table = e11_lost_sales.lost_sales_table([1], [4], cache_dir=tmp_path)
    (row,) = table.to_dict("records")
    assert abs(row["published_gap"]) < 0.005
    assert row["capped_cost"] <= row["base_stock_cost"] + 1e-12
    again = e11_lost_sales.lost_sales_table([1], [4], cache_dir=tmp_path)    # from the cache
    assert again.equals(table)


def test_learner_run_reports_its_cost_against_the_optimum():
    run = e11_lost_sales.learner_run(9, 1, seed=0, iterations=1, eval_replications=4,
                                     eval_periods=60, eval_warmup=10, n_envs=8,
                                     rollout_length=8, minibatches=2)
    optimal = single_product.solve(**single_product.zipkin_instance(9, 1)).cost
    assert run["optimal_cost"] == pytest.approx(optimal)
    assert run["learner_cost_lo"] <= run["learner_cost"] <= run["learner_cost_hi"]
    assert run["gap_pct"] == pytest.approx(100 * (run["learner_cost"] - optimal) / optimal)
    assert run["env_steps"] == 8 * 8


def test_order_comparison_of_the_optimum_with_itself_agrees_everywhere():
    policy, _ = zipkin_optimum(9, 2)
    out = e11_lost_sales.order_comparison(policy, 9, 2, replications=3, periods=120, warmup=10)
    assert out["share_optimal_orders"] == 1.0 and out["mean_abs_order_diff"] == 0.0
    assert out["by_position"]["visits"].sum() == 3 * 110
    # base-stock departs from the optimum, and the comparison says where
    best = single_product.best_base_stock(**single_product.zipkin_instance(9, 2))
    other = e11_lost_sales.order_comparison(joint(base_stock([best.level]), fixed_exposure(None)),
                                            9, 2, replications=3, periods=120, warmup=10)
    assert 0 < other["share_optimal_orders"] < 1 and other["mean_abs_order_diff"] > 0


def test_learner_rules_read_the_summary_of_the_seeds():
    table = e11_lost_sales.lost_sales_table([1, 2], [9])
    runs = pd.DataFrame({
        "lead_time": [1, 1, 1, 2, 2, 2], "lost_sale_penalty": [9.0] * 6, "seed": [0, 1, 2] * 2,
        "learner_cost": [5.45, 5.46, 5.47, 6.30, 6.50, 6.40],
        "gap_pct": [0.2, 0.4, 0.6, 3.0, 6.0, 4.5], "share_optimal_orders": 0.8,
        "mean_abs_order_diff": 0.2, "mean_order_diff": 0.1, "train_seconds": 1.0})
    combined = e11_lost_sales.learner_summary(table, runs)
    assert list(combined["seeds"]) == [3, 3]
    np.testing.assert_allclose(combined["learner_gap_pct"], [0.4, 4.5])
    lo, hi = combined.loc[0, ["learner_gap_lo", "learner_gap_hi"]]
    assert lo < 0.4 < hi and hi - 0.4 == pytest.approx(stats.t.ppf(0.975, 2) * 0.2 / np.sqrt(3))
    (mean, mean_ok), (base, base_ok), (worst, worst_ok) = e11_lost_sales.learner_rules(combined)
    assert "mean gap 2.45%" in mean and not mean_ok
    assert "at L = 2, p = 9" in worst and not worst_ok
    # base-stock is 2.01% off at L = 1 (5.547: the learner's 5.46 is below it) and 3.65% off
    # at L = 2 (6.316: the learner's 6.40 is not)
    assert "1 of 2 instances" in base and not base_ok
