"""E11: Zipkin's (2008) instances in MODEL.md's terms, checked against the simulator."""
from __future__ import annotations

import numpy as np
import pytest

from coordlib.exact import single_product
from coordlib.experiments import e11_lost_sales


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
