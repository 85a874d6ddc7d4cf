"""The Lagrangian bound (coordlib.exact.lagrangian_bound): above the exact optimum g* on every
N = 2 DP instance and above the static-coordination optimum where N > 2 (where the aggregate
copies' prices matter), below the newsvendor fluid bound and below itself with the copies
unpriced, its charges the cheapest over the relaxed exposure sets, and its product DP equal to
exact.single_product where the rate is fixed."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from coordlib.exact import single_product, solve
from coordlib.exact.lagrangian_bound import (
    LagrangianBoundError,
    _segment_geometry,
    controlled_rate_gain,
    lagrangian_bound,
    rate_options,
)
from coordlib.exact.static_coordination import static_coordination
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


def small_many(seed: int):
    """A random lost-sales instance with N = 4 products and K = 2 segments: each product's copy
    of sigma_k then has a range to choose from, which its price eta_k narrows."""
    s = random_scenario(4, 2, seed=seed, max_lead_time=1)
    return s.replace(capacity=np.minimum(s.capacity, 12), max_order=np.minimum(s.max_order, 12))


@pytest.mark.parametrize("seed", range(3))
def test_bound_is_above_the_static_coordination_optimum_beyond_two_products(seed):
    # the static optimum is the exact gain of a runnable policy, so a lower bound on g*; it
    # keeps sigma_k fixed, the very coupling the aggregate prices enforce on average
    s = small_many(seed)
    bound = lagrangian_bound(s)
    assert np.any(bound.aggregate_prices != 0)
    assert bound.value >= static_coordination(s, "optimal", grid_points=6).gain - TOL


def test_bound_is_above_every_policy_of_the_e7_table_on_medium():
    # E7's committed rows: the exact static-coordination optimum and the simulated policies
    table = pd.read_csv(TABLES / "e7_scalability.csv")
    runs = table[(table["scenario"] == "medium")
                 & table["kind"].isin(["baseline", "exact", "learner"])]
    assert len(runs) > 0
    assert lagrangian_bound("medium").value >= runs["profit"].max()


@pytest.mark.parametrize("scenario", [*DP_INSTANCES, "medium", small_many(0), small_many(1)],
                         ids=lambda v: getattr(v, "name", v))
def test_pricing_the_aggregate_copies_never_loosens_the_bound(scenario):
    # the unpriced bound (eta = 0, the search stopped after its first stage) at the same
    # settings; both are certified, the priced one at most the other
    priced = lagrangian_bound(scenario)
    unpriced = lagrangian_bound(scenario, aggregate_iterations=0)
    assert np.all(unpriced.aggregate_prices == 0)
    assert priced.value <= unpriced.value + TOL


def test_lagrangian_charges_sum_to_the_simplex_prices_at_any_true_exposure():
    # the proof's identity: with sigma_k = sum_j x_kj / D_kj and x_k in the simplex, the
    # charges sum_i sum_k (alpha_ki x_ki + eta_k sigma_k) equal sum_k nu_k; and each product's
    # cheapest charge of its true rate is at most its true charge
    s = small_many(3)
    rng = np.random.default_rng(7)
    a, _, _, inv_d = _segment_geometry(s)
    nu, eta = rng.uniform(0.5, 3.0, 2), rng.uniform(-2.0, 2.0, 2)
    alpha = nu[:, None] - s.n_products * eta[:, None] * inv_d
    opts = rate_options(s, nu, points=9, aggregate_prices=eta)
    for _ in range(20):
        x = rng.dirichlet(np.ones(s.n_products), size=2)                    # (K, N)
        sigma = (x * inv_d).sum(axis=1)
        charge = (alpha * x).sum(axis=0) + (eta * sigma).sum()
        assert charge.sum() == pytest.approx(nu.sum(), rel=1e-12)
        rate = (a * (sigma[:, None] + s.lift[:, None] * x * inv_d)).sum(axis=0)
        for i in range(s.n_products):
            cheapest = np.interp(rate[i], opts.rates[i], opts.costs[i])
            assert cheapest <= charge[i] + 1e-9


def test_rate_options_charge_is_the_linear_program_minimum():
    # C_i(mu) = min sum_k (alpha_ki x_k + eta_k sigma_k) over the triangles of step 1 with
    # sum_k a_ki sigma_k + a_ki beta_k x_k / D_ki = mu, solved by an LP solver
    s = small_many(4)
    a, s_lo, s_hi, inv_d = _segment_geometry(s)
    nu, eta = np.array([1.5, 0.4]), np.array([3.0, -2.5])
    opts = rate_options(s, nu, points=7, aggregate_prices=eta)
    K = s.n_segments
    for i in range(s.n_products):
        alpha = nu - s.n_products * eta * inv_d[:, i]
        for mu, charge in zip(opts.rates[i], opts.costs[i]):
            # variables (x_1..x_K, sigma_1..sigma_K); the triangle: sigma between the lines
            # from (0, s_lo) and (0, s_hi) to (1, 1 / D_ki)
            A_ub = np.zeros((2 * K, 2 * K))
            b_ub = np.zeros(2 * K)
            for k in range(K):
                A_ub[k, [k, K + k]] = [inv_d[k, i] - s_lo[k, i], -1.0]
                b_ub[k] = -s_lo[k, i]
                A_ub[K + k, [k, K + k]] = [-(inv_d[k, i] - s_hi[k, i]), 1.0]
                b_ub[K + k] = s_hi[k, i]
            A_eq = np.r_[a[:, i] * s.lift * inv_d[:, i], a[:, i]][None, :]
            lp = optimize.linprog(np.r_[alpha, eta], A_ub=A_ub, b_ub=b_ub, A_eq=A_eq,
                                  b_eq=[mu], bounds=[(0, 1)] * K + [(None, None)] * K,
                                  method="highs")
            assert lp.status == 0
            assert charge == pytest.approx(lp.fun, abs=1e-9)


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
    rates, cost, exposure, _ = rate_options(s, [1.0, 3.0], products=[0], points=9)
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


def test_refuses_an_unknown_family_of_aggregate_prices():
    with pytest.raises(LagrangianBoundError, match="aggregate_family"):
        lagrangian_bound("tiny", aggregate_family="per-type")
