"""The Lagrangian bound (coordlib.exact.lagrangian_bound): above the exact optimum g* on every
N = 2 DP instance, below the newsvendor fluid bound, and its product DP equal to
exact.single_product where the rate is fixed."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coordlib.exact import single_product, solve
from coordlib.exact.lagrangian_bound import (
    LagrangianBoundError,
    controlled_rate_gain,
    lagrangian_bound,
    rate_options,
)
from coordlib.experiments import e7_scalability
from coordlib.model.scenario import random_scenario
from coordlib.model.scenarios import get
from coordlib.theory.fluid_bound import fluid_bound

DP_INSTANCES = ("tiny", "tiny-margin", "tiny-personal", "tiny-capacity")
TOL = 1e-6      # RVI span tolerances of both DPs are far below this
TABLES = Path(__file__).resolve().parents[1] / "data" / "tables"


def small_random(seed: int):
    """A random two-product lost-sales instance small enough for the joint DP in a second."""
    rng = np.random.default_rng(seed)
    s = random_scenario(2, int(rng.integers(1, 3)), seed=seed, max_lead_time=1)
    M = [int(m) for m in rng.integers(3, 7, size=2)]
    L = [int(x) for x in rng.integers(0, 2, size=2)]
    return s.replace(capacity=M, max_order=[int(q) for q in rng.integers(2, 7, size=2)],
                     lead_time=L, initial_on_hand=[m // 2 for m in M],
                     initial_pipeline=[[0] * max(L)] * 2)


@pytest.mark.parametrize("name", DP_INSTANCES)
def test_bound_is_above_the_exact_optimum_on_shipped_dp_instances(name):
    assert lagrangian_bound(name).value >= solve(name).gain - TOL


@pytest.mark.parametrize("seed", range(6))
def test_bound_is_above_the_exact_optimum_on_random_small_instances(seed):
    s = small_random(seed)
    assert lagrangian_bound(s).value >= solve(s).gain - TOL


@pytest.mark.parametrize("name", DP_INSTANCES)
def test_bound_is_below_the_newsvendor_and_fluid_bounds(name):
    value = lagrangian_bound(name).value
    assert value <= fluid_bound(name, "newsvendor").value + TOL
    assert value <= fluid_bound(name, "fluid").value + TOL


@pytest.mark.parametrize("lead_time", [0, 1, 2])
def test_product_dp_with_a_fixed_rate_matches_single_product(lead_time):
    args = (10.0, 5.0, 0.5, 2.0, lead_time, 8, 6)
    ours = controlled_rate_gain(*args, rates=[[3.5]], rate_costs=[[0.0]], tol=1e-10)
    ref = single_product.solve(3.5, *args)
    assert ours.gain[0] == pytest.approx(ref.gain, abs=1e-7)
    # one rate point: the certificate is the span bound, equal to the gain at convergence
    assert ours.upper[0] == pytest.approx(ref.gain, abs=1e-7)


def test_certificate_covers_rates_between_grid_points():
    # the best rate of a product free to choose it lies between two grid points: the
    # certificate on the coarse grid must stay above the gain on a fine grid
    args = (10.0, 5.0, 0.5, 2.0, 1, 10, 10)
    coarse = np.linspace(0.0, 8.0, 3)[None, :]
    fine = np.linspace(0.0, 8.0, 161)[None, :]
    cost = lambda r: 0.9 * r                              # noqa: E731
    c = controlled_rate_gain(*args, rates=coarse, rate_costs=cost(coarse))
    f = controlled_rate_gain(*args, rates=fine, rate_costs=cost(fine))
    assert c.upper[0] >= f.gain[0] - TOL
    assert c.gain[0] <= f.gain[0] + TOL


def test_rate_options_cost_the_cheapest_exposure():
    s = get("tiny-personal")
    rates, cost, exposure = rate_options(s, [1.0, 3.0], products=[0], points=9)
    # the top rate needs full exposure in both segments; the bottom one none
    assert exposure[0, -1] == pytest.approx([1.0, 1.0])
    assert exposure[0, 0] == pytest.approx([0.0, 0.0])
    assert cost[0, -1] == pytest.approx(4.0)
    assert np.all(np.diff(cost[0]) >= -1e-12)


@pytest.mark.parametrize("name, words", [("seasonal", "seasonal"),
                                         ("weekly-review", "review period")])
def test_refuses_what_it_does_not_handle(name, words):
    with pytest.raises(LagrangianBoundError, match=words):
        lagrangian_bound(name)


def test_refuses_a_product_too_large_naming_its_state_count():
    with pytest.raises(LagrangianBoundError, match="states"):
        lagrangian_bound("tiny", max_work=10)


def test_e7_rows_carry_the_bound_and_refuse_seasonal_with_a_note():
    rows = e7_scalability.lagrangian_rows(["tiny", "seasonal"])
    tiny = rows.set_index("scenario").loc["tiny"]
    assert tiny["profit"] == pytest.approx(lagrangian_bound("tiny").value, rel=1e-9)
    assert rows.set_index("scenario").loc["seasonal", "note"].startswith("Lagrangian bound")


def test_e7_bracket_holds_the_best_policy_and_the_tightest_bound():
    table = pd.read_csv(TABLES / "e7_scalability.csv")
    table = table[table["scenario"] == "tiny"]
    brackets = e7_scalability.bracket_table(table, e7_scalability.lagrangian_rows(["tiny"]))
    runnable = table[table["kind"].isin(["baseline", "exact", "learner"])]["profit"].max()
    bounds = min(table[table["kind"] == "bound"]["profit"].min(),
                 lagrangian_bound("tiny").value)
    assert brackets["best_policy"].iloc[0] == pytest.approx(runnable, rel=1e-12)
    assert brackets["tightest_bound"].iloc[0] == pytest.approx(bounds, rel=1e-12)
    lag = brackets[brackets["method"] == e7_scalability.LAGRANGIAN]
    assert lag["gap_lagrangian_pct"].iloc[0] == pytest.approx(0.0, abs=1e-12)
