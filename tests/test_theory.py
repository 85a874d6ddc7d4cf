"""Checks of the analytical benchmarks B1, B2 and the static part of B5 (coordlib.theory).

Every expected number comes from somewhere else than the formula under test: stockpyl's
newsvendor, brute-force Poisson sums with scipy.stats, numerical quadrature and optimization,
finite differences, or the simulator (Monte Carlo, fixed seeds, stated confidence levels).
"""
import numpy as np
import pytest
import sympy as sp
from scipy import stats

from coordlib import evaluate, mean_ci, policies, scenarios, theory
from coordlib.experiments import e1_theory
from coordlib.model.scenario import ScenarioError
from coordlib.theory import derivation

P, C, H, B = 10.0, 5.0, 0.5, 2.0          # the `tiny` product
MEANS = (0.6, 1.2, 3.6, 9.0, 25.0)


def brute_force_poisson(mean, S, m, co, cu):
    """m mu - c_o E(S - D)^+ - c_u E(D - S)^+ by direct summation over the Poisson mass."""
    d = np.arange(int(mean + 40 * np.sqrt(mean) + 60))
    f = stats.poisson.pmf(d, mean)
    return m * mean - co * (np.maximum(S - d, 0) * f).sum() - cu * (np.maximum(d - S, 0) * f).sum()


# ---- B1 -------------------------------------------------------------------------------------------
def test_b1_critical_fractiles_of_both_systems():
    der = theory.derive_cost_structures()
    p, c, h, b = derivation.price, derivation.unit_cost, derivation.holding_cost, derivation.lost_sale_penalty
    assert sp.simplify(der["fractile_one-period"] - (p + b - c) / (p + b + h)) == 0
    assert sp.simplify(der["fractile_stationary"] - (p + b - c) / (p + b - c + h)) == 0
    r = theory.newsvendor_normal(3.6, P, C, H, B)
    assert r["critical_fractile"] == pytest.approx(7 / 12.5, abs=1e-12)
    assert r["z"] == pytest.approx(stats.norm.ppf(7 / 12.5), abs=1e-12)


@pytest.mark.parametrize("system", theory.SYSTEMS)
def test_b1_normal_newsvendor_matches_stockpyl(system):
    from stockpyl.newsvendor import newsvendor_normal
    co = C + H if system == "one-period" else H
    for mean in MEANS:
        for dispersion in (1.0, 2.5):
            ours = theory.newsvendor_normal(mean, P, C, H, B, system=system, dispersion=dispersion)
            S, cost = newsvendor_normal(co, P + B - C, mean, np.sqrt(dispersion * mean))
            assert ours["stock"] == pytest.approx(S, rel=1e-10)
            assert ours["optimal_profit"] == pytest.approx((P - C) * mean - cost, rel=1e-10, abs=1e-10)
            assert ours["mismatch_cost"] == pytest.approx(cost, rel=1e-10)


@pytest.mark.parametrize("system", theory.SYSTEMS)
def test_b1_poisson_newsvendor_matches_stockpyl_and_brute_force(system):
    from stockpyl.newsvendor import newsvendor_poisson
    co, cu = (C + H if system == "one-period" else H), P + B - C
    for mean in MEANS:
        ours = theory.newsvendor_poisson(mean, P, C, H, B, system=system)
        S, cost = newsvendor_poisson(co, cu, mean)
        assert int(ours["stock"]) == S
        assert ours["optimal_profit"] == pytest.approx((P - C) * mean - cost, rel=1e-9, abs=1e-9)
        grid = np.arange(int(mean * 3 + 20))
        values = [brute_force_poisson(mean, s, P - C, co, cu) for s in grid]
        assert int(np.argmax(values)) == int(ours["stock"])
        assert max(values) == pytest.approx(float(ours["optimal_profit"]), rel=1e-9)
        exact = theory.newsvendor_poisson_profit(grid, mean, P, C, H, B, system=system)
        np.testing.assert_allclose(exact, values, rtol=1e-9, atol=1e-9)


def test_b1_poisson_numerics_are_stable_for_large_means():
    # the lambdified incomplete-gamma and mass functions must not overflow where mu^S and S! do
    S = np.arange(0, 400)
    got = theory.newsvendor_poisson_profit(S, 150.0, P, C, H, B)
    d = np.arange(1200)
    f = stats.poisson.pmf(d, 150.0)
    short = np.array([(np.maximum(d - s, 0) * f).sum() for s in S])
    want = (P + H) * 150.0 - (C + H) * S - (P + B + H) * short
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-7)


def test_b1_one_period_profit_matches_monte_carlo_on_the_simulator():
    s = scenarios.get("tiny-margin")
    x = np.array([[1.0, 0.0]])
    mu = s.demand_rate(x)
    stock = np.array([int(theory.newsvendor_poisson(mu[i], s.price[i], s.unit_cost[i],
                                                    s.holding_cost[i], s.lost_sale_penalty[i])["stock"])
                      for i in range(2)])
    for S in (stock, stock + 1):
        mc = theory.newsvendor_profit_monte_carlo(s, x, S, replications=200_000, seed=3,
                                                  confidence=0.99)
        for i in range(2):
            exact = float(theory.newsvendor_poisson_profit(S[i], mu[i], s.price[i], s.unit_cost[i],
                                                           s.holding_cost[i], s.lost_sale_penalty[i]))
            assert mc["lo"].iloc[i] <= exact <= mc["hi"].iloc[i], (S, i, exact, mc)


def test_b1_stationary_system_uses_the_other_fractile():
    """Lead time 0, order up to S every period: the simulated profit per period is the
    newsvendor with c_o = h (fractile (p+b-c)/(p+b-c+h)), not the one-period profit."""
    s = scenarios.get("tiny")
    x = np.array([[1.0, 0.0]])
    mu = float(s.demand_rate(x)[0])                      # 3.6
    S_one = int(theory.newsvendor_poisson(mu, P, C, H, B, system="one-period")["stock"])
    S_stat = int(theory.newsvendor_poisson(mu, P, C, H, B, system="stationary")["stock"])
    assert (S_one, S_stat) == (4, 7)
    runs = {}
    for S in (S_one, S_stat):
        mc = theory.newsvendor_profit_monte_carlo(s, x, [S, 0], system="stationary",
                                                  replications=1500, periods=201, seed=5,
                                                  confidence=0.99)
        runs[S] = mc.iloc[0]
        stationary = float(theory.newsvendor_poisson_profit(S, mu, P, C, H, B, system="stationary"))
        one_period = float(theory.newsvendor_poisson_profit(S, mu, P, C, H, B, system="one-period"))
        assert runs[S]["lo"] <= stationary <= runs[S]["hi"]
        assert not runs[S]["lo"] <= one_period <= runs[S]["hi"]
    assert runs[S_stat]["lo"] > runs[S_one]["hi"]        # the stationary fractile wins there


def test_b1_supermodular_symbolically_and_numerically():
    der = theory.derive_exposure_effects()
    assert der["cross_partial_readable"].is_nonnegative
    args = (derivation.stock, derivation.exposure, derivation.base_rate, derivation.exposure_slope,
            derivation.dispersion, derivation.overage, derivation.underage)
    direct = der.function("cross_partial", args)
    rng = np.random.default_rng(0)
    S, x, a, d, th, co, cu = rng.uniform(0.05, 8, (7, 2000))
    assert np.all(direct(S, x, a, d, th, co, cu) >= -1e-12)  # rounding only
    # finite difference of the marginal profit of the normal newsvendor along exposure
    profit = theory.derive_newsvendor_normal().function(
        "profit_theta", (derivation.stock, derivation.mean_demand, derivation.dispersion, derivation.margin,
                         derivation.overage, derivation.underage))
    e = 1e-4
    for S0, x0 in ((2.0, 0.3), (5.0, 0.8), (0.5, 0.1)):
        pi = lambda S_, x_: profit(S_, 1.0 + 4.0 * x_, 1.0, 5.0, 5.5, 7.0)
        fd = (pi(S0 + e, x0 + e) - pi(S0 + e, x0 - e) - pi(S0 - e, x0 + e)
              + pi(S0 - e, x0 - e)) / (4 * e * e)
        assert fd == pytest.approx(float(direct(S0, x0, 1.0, 4.0, 1.0, 5.5, 7.0)), rel=1e-4)


def test_b1_poisson_cross_difference_is_the_poisson_mass():
    der = theory.derive_exposure_effects()
    for S in range(0, 12):
        for mean, slope in ((1.3, 2.0), (6.0, 0.7)):
            e = 1e-4
            mv = lambda m: (brute_force_poisson(m, S + 1, P - C, C + H, P + B - C)
                            - brute_force_poisson(m, S, P - C, C + H, P + B - C))
            fd = slope * (mv(mean + e) - mv(mean - e)) / (2 * e)
            want = float(der["poisson_cross_difference"].subs(
                {derivation.units: S, derivation.base_rate: mean, derivation.exposure: 0,
                 derivation.exposure_slope: slope, derivation.overage: C + H,
                 derivation.underage: P + B - C}))
            assert fd == pytest.approx(want, rel=1e-6, abs=1e-9)
            assert want >= 0


def test_b1_optimal_stock_rises_with_exposure_and_where_the_normal_formula_falls():
    s = scenarios.get("tiny-margin")
    curve = e1_theory.b1_stock_curve(s, np.linspace(0, 1, 41))
    for (product, demand, system), g in curve.groupby(["product", "demand", "system"]):
        S = g.sort_values("share")["stock"].to_numpy()
        step = np.diff(S)
        assert np.all(step >= -1e-12 if product == 1 else step <= 1e-12), (product, demand, system)
    # fractile below 1/2 (z* < 0): the normal S* = mu + z* sqrt(theta mu) falls exactly where
    # mu < theta z*^2 / 4, and is negative there (mu < theta z*^2)
    der = theory.derive_exposure_effects()
    co, cu = 9.0, 3.0                                      # fractile 0.25
    z = stats.norm.ppf(0.25)
    dS = der.function("d_stock_d_x", (derivation.exposure, derivation.base_rate, derivation.exposure_slope,
                                      derivation.dispersion, derivation.overage, derivation.underage))
    mu = np.linspace(0.01, 2.0, 400)
    slope = dS(0.0, mu, 1.0, 1.0, co, cu)
    np.testing.assert_array_equal(slope < 0, mu < z ** 2 / 4)
    assert np.all(mu[slope < 0] + z * np.sqrt(mu[slope < 0]) < 0)


# ---- B2 ------------------------------------------------------------------------------------------
def test_b2_convexity_symbolic():
    der = theory.derive_static_exposure()
    assert der["second_derivative_in_mu"].is_nonnegative
    assert sp.simplify(der["second_derivative"] - der["second_derivative_readable"]) == 0
    # demand moves with exposure only through the lift
    for key in ("d_mu1_dx", "d_mu2_dx"):
        assert sp.simplify(der[key].subs(derivation.lift, 0)) == 0
    assert der["d_mu1_dx"].subs(derivation.lift, 1).is_positive
    assert der["d_mu2_dx"].subs(derivation.lift, 1).is_negative


def _random_two_product(seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(5, 20, 2)
    return scenarios.get("tiny").replace(
        price=p.tolist(), unit_cost=(p * rng.uniform(0.2, 0.8, 2)).tolist(),
        holding_cost=rng.uniform(0.1, 2, 2).tolist(), lost_sale_penalty=rng.uniform(0, 4, 2).tolist(),
        attraction=[rng.uniform(0.2, 3, 2).tolist()], lift=[float(rng.uniform(0.2, 4))],
        arrival_rate=[float(rng.uniform(1, 40))], outside_attraction=[float(rng.uniform(0.3, 3))])


@pytest.mark.parametrize("system", theory.SYSTEMS)
def test_b2_normal_profit_convex_in_static_split(system):
    instances = [scenarios.get("tiny"), scenarios.get("tiny-margin")] + [_random_two_product(k)
                                                                          for k in range(6)]
    for sc in instances:
        curve = theory.static_profit_curve(sc, np.linspace(0, 1, 201), system=system)
        check = theory.convexity_check(curve)
        assert check["negative_second_differences"] == 0, (sc.name, check)
        assert check["best_is_extreme"]
        # the profit at each share is the sum of stockpyl newsvendor optima (outside reference)
        from stockpyl.newsvendor import newsvendor_normal
        row = curve.iloc[37]
        total = 0.0
        for i in range(2):
            co = sc.unit_cost[i] + sc.holding_cost[i] if system == "one-period" else sc.holding_cost[i]
            cu = sc.price[i] + sc.lost_sale_penalty[i] - sc.unit_cost[i]
            mu = row[f"mu_{i + 1}"]
            cost = newsvendor_normal(co, cu, mu, np.sqrt(mu))[1]
            total += (sc.price[i] - sc.unit_cost[i]) * mu - cost
        assert row["profit"] == pytest.approx(total, rel=1e-9)


def test_b2_without_lift_exposure_does_not_matter():
    sc = scenarios.get("tiny-margin").replace(lift=[0.0])
    for demand in theory.DEMAND_MODELS:
        curve = theory.static_profit_curve(sc, np.linspace(0, 1, 11), demand=demand)
        assert np.ptp(curve["profit"]) < 1e-9


def test_b2_fails_for_exact_poisson_demand_interior_split_is_best():
    """Counterexample: `tiny` with lambda = 2.5. Showing each product half the time beats
    both extremes under exact Poisson demand with integer stock (one period)."""
    sc = scenarios.get("tiny").replace(arrival_rate=[2.5])
    co, cu = C + H, P + B - C

    def best(mean):
        return max(brute_force_poisson(mean, S, P - C, co, cu) for S in range(30))

    half = 2 * best(1.0)                              # x = 1/2: mu = (1, 1)
    extreme = best(1.5) + best(0.5)                   # x = 1: mu = (1.5, 0.5)
    assert half - extreme == pytest.approx(0.5649584772, abs=1e-8)
    curve = theory.static_profit_curve(sc, np.linspace(0, 1, 101), demand="poisson")
    check = theory.convexity_check(curve)
    assert check["best_share"] == 0.5
    assert check["interior_gain"] == pytest.approx(half - extreme, rel=1e-9)
    # ... and on the simulator (99% interval of the difference)
    mc = theory.compare_exposures_monte_carlo(sc, 0.5, 1.0, replications=300_000, seed=11,
                                              confidence=0.99)
    assert mc["exact"] == pytest.approx(half - extreme, rel=1e-9)
    assert mc["lo"] <= mc["exact"] <= mc["hi"] and mc["lo"] > 0
    # the normal approximation, by contrast, is convex there
    assert theory.convexity_check(theory.static_profit_curve(sc, np.linspace(0, 1, 101)))[
        "best_is_extreme"]


def test_poisson_profit_is_concave_in_mean_for_fixed_stock():
    der = theory.derive_newsvendor_poisson()
    for S in (1, 3, 8):
        mean, e = 4.0, 1e-3
        pi = lambda m: brute_force_poisson(m, S, P - C, C + H, P + B - C)
        fd = (pi(mean + e) - 2 * pi(mean) + pi(mean - e)) / e ** 2
        want = float(der["profit_curvature_in_mu"].subs(
            {derivation.units: S, derivation.mean_demand: mean, derivation.overage: C + H,
             derivation.underage: P + B - C}))
        assert fd == pytest.approx(want, rel=1e-4)
        assert want < 0


# ---- exact lost sales with lead time ---------------------------------------------------------
def test_lost_sales_chain_with_lead_time_zero_is_the_stationary_newsvendor():
    for mean in (0.7, 3.6, 10.0):
        for S in (0, 2, 5, 9, 14):
            assert theory.lost_sales_base_stock(mean, S, 0, P, C, H, B) == pytest.approx(
                brute_force_poisson(mean, S, P - C, H, P + B - C), rel=1e-9, abs=1e-9)


def test_lost_sales_optimum_search_stops_at_the_true_optimum():
    for L in (0, 1, 2):
        for mean in (0.4, 1.5, 3.6):
            assert theory.lost_sales_base_stock_optimum(mean, L, P, C, H, B) == \
                theory.lost_sales_base_stock_optimum(mean, L, P, C, H, B, full_search=True)


def test_lost_sales_chain_with_lead_time_one_matches_the_simulator():
    s = scenarios.get("tiny")                             # lead time 1, capacity 20
    x = np.array([[1.0, 0.0]])
    mu = s.demand_rate(x)
    S = [9, 4]
    exact = sum(theory.lost_sales_base_stock(mu[i], S[i], 1, P, C, H, B, capacity=20, max_order=20)
                for i in range(2))
    frame = evaluate(s, policies.joint(policies.base_stock(S), policies.fixed_exposure(x)),
                     replications=300, periods=400, warmup=50, seed=2)
    mean, lo, hi = mean_ci(frame["profit"], 0.99)
    assert lo <= exact <= hi, (exact, mean, lo, hi)


# ---- B5 (static): value of coordination -----------------------------------------------------------
@pytest.mark.parametrize("system", theory.SYSTEMS)
def test_value_of_coordination_closed_form_matches_numerical_optimization(system):
    for sc in (scenarios.get("tiny"), scenarios.get("tiny-margin"), _random_two_product(1),
               _random_two_product(4)):
        cf = theory.static_value_of_coordination(sc, system=system)
        num = theory.static_value_of_coordination_numeric(sc, demand="normal", system=system,
                                                   shares=[0.0, 0.5, 1.0])
        assert float(cf["value"]) == pytest.approx(num["value"], abs=1e-6)
        assert float(cf["value_margin"] + cf["value_mismatch"]) == pytest.approx(float(cf["value"]))
        gmv_choice = 1 if num["gmv_share"] == 1.0 else 2
        assert int(cf["gmv_choice"]) == gmv_choice
        # the GMV choice agrees with coordlib's own GMV-greedy recommender
        rec = policies.gmv_greedy()
        rec.reset(sc, 1, np.random.default_rng(0))
        assert int(np.argmax(rec.exposure({})[0])) + 1 == gmv_choice


def test_value_of_coordination_tiny_margin_against_poisson_and_simulation():
    sc = scenarios.get("tiny-margin")
    cf = theory.static_value_of_coordination(sc)
    assert (int(cf["gmv_choice"]), int(cf["coordinated_choice"])) == (1, 2)
    exact = theory.static_value_of_coordination_numeric(sc, demand="poisson", shares=np.linspace(0, 1, 51))
    assert exact["best_share"] == 0.0
    mc = theory.compare_exposures_monte_carlo(sc, 0.0, 1.0, replications=300_000, seed=7,
                                              confidence=0.99)
    assert mc["exact"] == pytest.approx(exact["value"], rel=1e-9)
    assert mc["lo"] <= exact["value"] <= mc["hi"]
    # the normal closed form approximates the exact Poisson value: measured 5.611 vs 5.857
    # at lambda = 6 (4.2%), 25.81 vs 25.78 at lambda = 30 (0.1%)
    assert float(cf["value"]) == pytest.approx(exact["value"], rel=0.05)
    big = sc.replace(arrival_rate=[30.0])
    assert float(theory.static_value_of_coordination(big)["value"]) == pytest.approx(
        theory.static_value_of_coordination_numeric(big, demand="poisson")["value"], rel=0.005)


def test_value_of_coordination_symmetric_formula_and_comparative_statics():
    for system in theory.SYSTEMS:
        table = e1_theory.comparative_statics_table(scenarios.get("tiny-margin"), system)
        np.testing.assert_allclose(table["symmetric_formula"], table["general_form_check"],
                                   rtol=1e-5, atol=1e-7)
    signs = theory.comparative_statics_signs()
    assert signs["positive_when_aligned"].all()
    der = theory.derive_value_of_coordination()
    assert der["d_Dmu_d_lift"].is_positive and der["d_Dsqrt_d_u"].is_positive
    # tiny-margin is aligned in the one-period system: margin spread > 0 > mismatch spread
    t = e1_theory.comparative_statics_table(scenarios.get("tiny-margin"), "one-period")
    assert t["margin_spread"].iloc[0] > 0 > t["mismatch_spread"].iloc[0]
    assert (t["symmetric_formula"].iloc[1:] > 0).all()


def test_value_sweep_grows_with_lift_and_margin_spread():
    sweep = e1_theory.value_sweep(scenarios.get("tiny-margin"), points=9)
    for parameter in ("lift", "margin_spread"):
        for system in theory.SYSTEMS:
            v = sweep[(sweep.parameter == parameter) & (sweep.system == system)]["value"].to_numpy()
            assert np.all(np.diff(v) >= -1e-12) and v[-1] > v[0]
    lift0 = sweep[(sweep.parameter == "lift") & (sweep.level == 0.0)]["value"]
    assert np.allclose(lift0, 0.0)


# ---- contracts ----------------------------------------------------------------------------------
def test_derivations_render_as_markdown_with_every_step():
    for der in (theory.derive_cost_structures(), theory.derive_newsvendor_normal(),
                theory.derive_newsvendor_poisson(), theory.derive_exposure_effects(),
                theory.derive_static_exposure(), theory.derive_value_of_coordination()):
        text = der._repr_markdown_()
        assert text.count("$$") == 2 * len(der.steps) and len(der.steps) >= 3


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="mean demand"):
        theory.newsvendor_normal(-1.0, P, C, H, B)
    with pytest.raises(ValueError, match="system"):
        theory.newsvendor_normal(1.0, P, C, H, B, system="multi")
    with pytest.raises(ValueError, match="underage"):
        theory.newsvendor_poisson(1.0, 5.0, 9.0, H, 1.0)
    with pytest.raises(ValueError, match="overage"):
        theory.newsvendor_normal(1.0, P, C, 0.0, B, system="stationary")
    with pytest.raises(ScenarioError, match="N = 2 and K = 1"):
        theory.static_value_of_coordination(scenarios.get("tiny-personal"))
    with pytest.raises(ValueError, match="profile"):
        e1_theory.e1_settings(profile="fast")
    with pytest.raises(ValueError, match="n_mc"):
        e1_theory.e1_settings(n_mc=5, figures_dir="/tmp", tables_dir="/tmp")
