"""The fluid upper bounds (coordlib.theory.fluid_bound) against hand values, the exact DP's g*
on every DP instance of E2 and E9, and the simulated heuristics on medium and large."""
from __future__ import annotations

import time

import pandas as pd
import pytest

from coordlib import scenarios
from coordlib.common.files import REPO_DIR
from coordlib.exact import dp
from coordlib.model.scenario import random_scenario
from coordlib.model.variants import scenario_variant
from coordlib.theory.fluid_bound import BOUNDS, FluidBoundError, fluid_bound

TABLES = REPO_DIR / "data" / "tables"


def test_fluid_bound_on_tiny_is_the_hand_value():
    # segment shown product 1: it buys 1 w.p. 3/5, 2 w.p. 1/5, so mu = (3.6, 1.2) of 6
    # arrivals; every unit sold at margin p - c = 5, nothing lost or held: 5 x 4.8 = 24
    assert fluid_bound("tiny").value == pytest.approx(24.0, abs=1e-9)
    # tiny-margin: margins (3, 5); showing product 2 gives mu = (1.2, 3.6): 3.6 + 18 = 21.6
    assert fluid_bound("tiny-margin").value == pytest.approx(21.6, abs=1e-9)


@pytest.mark.parametrize("name", ["tiny", "tiny-margin", "tiny-personal", "medium", "large",
                                  "seasonal", "weekly-review"])
def test_bounds_are_nested(name):
    values = [fluid_bound(name, b).value for b in BOUNDS]
    assert values[0] >= values[1] - 1e-7 >= values[2] - 2e-7


@pytest.mark.parametrize("name,cap", [("tiny", None), ("tiny-margin", None), ("tiny L=0", None),
                                      ("tiny-personal", None)])
def test_every_bound_lies_above_g_star_solved_here(name, cap):
    s = (scenario_variant("tiny", "lead_time", 0) if name == "tiny L=0" else scenarios.get(name))
    sol = dp.solve(s, max_inventory=cap)
    for b in BOUNDS:
        assert fluid_bound(sol.scenario, b).value >= sol.gain_bounds[1] - 1e-9


def test_every_bound_lies_above_g_star_of_every_dp_instance_in_the_tables():
    e2 = pd.read_csv(TABLES / "e2_gains.csv")
    e9 = pd.read_csv(TABLES / "e9_exact.csv")
    instances = []
    for row in e2.itertuples():
        if " L=" in row.instance:
            base, lead = row.instance.split(" L=")
            s, cap = scenario_variant(base, "lead_time", int(lead)), (10 if int(lead) >= 2 else None)
        else:
            s, cap = scenarios.get(row.instance), None
        instances.append((dp.reduce_scenario(s, cap)[0], row.g_star))
    for row in e9.itertuples():
        s = scenario_variant(row.base, row.factor, row.value)
        cap = None if pd.isna(row.max_inventory) else int(row.max_inventory)
        instances.append((dp.reduce_scenario(s, cap)[0], row.g_star))
    assert len(instances) == len(e2) + len(e9) >= 40
    for s, g_star in instances:
        tightest = fluid_bound(s, "newsvendor").value
        assert tightest >= g_star - 1e-7, (s.name, tightest, g_star)


def test_bounds_lie_above_every_method_of_the_main_table():
    e3 = pd.read_csv(TABLES / "e3_main_table.csv")
    for name, group in e3.groupby("scenario"):
        bound = fluid_bound(name, "newsvendor").value
        assert bound > group["profit_hi"].max(), name


def test_backlog_bound_serves_all_demand_and_newsvendor_refuses_it():
    s = scenarios.get("tiny").replace(backlog=True)
    assert fluid_bound(s).value == pytest.approx(24.0, abs=1e-9)
    with pytest.raises(FluidBoundError, match="lost sales"):
        fluid_bound(s, "newsvendor")


def test_order_limit_binds_the_fluid_bound():
    # Qmax = 2: at most 2 units of each product a period. Showing product 1 w.p. x gives
    # mu = (1.2 + 2.4 x, 3.6 - 2.4 x), total 4.8 whatever x; for x in [1/3, 2/3] both exceed
    # 2, so 4 units sell at p - c + b = 7 and all demand pays b = 2: 28 - 9.6 = 18.4
    s = scenarios.get("tiny").replace(max_order=[2, 2], initial_pipeline=[[0], [0]])
    result = fluid_bound(s)
    assert result.value == pytest.approx(7 * 4 - 2 * 4.8, abs=1e-9)
    assert 1 / 3 - 1e-9 <= result.exposure[0, 0] <= 2 / 3 + 1e-9


def test_fluid_bound_at_a_thousand_products_takes_seconds():
    s = random_scenario(1000, 10, seed=1, max_lead_time=4)
    started = time.perf_counter()
    value = fluid_bound(s).value
    assert time.perf_counter() - started < 5.0
    assert value > 0


@pytest.mark.slow
def test_newsvendor_bound_at_a_thousand_products_takes_seconds():
    s = random_scenario(1000, 10, seed=1, max_lead_time=4)
    started = time.perf_counter()
    value = fluid_bound(s, "newsvendor").value
    assert time.perf_counter() - started < 30.0
    assert 0 < value <= fluid_bound(s).value


def test_bad_inputs_are_named():
    with pytest.raises(FluidBoundError, match="bound must be one of"):
        fluid_bound("tiny", "jensen")
    with pytest.raises(FluidBoundError, match="cut_points"):
        fluid_bound("tiny", "poisson", cut_points=1)
    s = scenarios.get("seasonal").replace(season_period=[12.5, 12.5])
    with pytest.raises(FluidBoundError, match="whole-number season"):
        fluid_bound(s)
