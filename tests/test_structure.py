"""B3-B5 (MODEL.md section 5) on the exact DP: what holds, and every exception, precisely.

Findings asserted here (tables of the default DP: grid 11, tie rule of ``coordlib.exact.dp``):

- B3, exposure half: holds with no exception over the whole policy table of tiny,
  tiny-margin, tiny with L = 0 and tiny with L = 2 (capacity 8). On tiny-personal (K = 2) the
  per-segment statement fails at exactly one pair of states, (A_1, A_2) = (1, 2) -> (2, 2)
  (and its mirror (2, 1) -> (2, 2)), strictly (not a tie); the arrival-weighted exposure of
  each product is monotone there too, so the statement holds for the aggregate exposure.
- B3, order half, read as "the order rises with the exposure expected over the periods
  t..t + L it must cover" (``protection``): holds with no exception on tiny-margin,
  tiny-personal and tiny with L = 0; on tiny (symmetric products) it fails at 22 pairs, all of
  them pairs where the other product has at most 2 units available in the state with the
  higher exposure: restricted to states where the other product has >= 3 units, it holds. Read
  literally as "the exposure when the order arrives" it fails broadly (tiny-margin: exceptions
  with positive stationary mass).
- B4: the cross-correlation between a product's orders and its exposure peaks at lag L (L = 1
  on tiny, L = 2 on tiny with capacity 8).
- B5: the parts add up; with no lift the exposure part is 0; with L = 0 the coordinated
  optimum equals the siloed firm's gain (myopic optimality of order-up-to with instant
  delivery, and an extreme GMV-greedy exposure that is also the best static one).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from coordlib import policies, scenarios
from coordlib.exact import coordination, dp, policy_evaluation, policy_maps, structure
from coordlib.experiments import e2_dp_structure, e9_sensitivity
from coordlib.model import variants
from coordlib.pipeline import reproduce


def _tiny(**changes):
    return scenarios.get("tiny").replace(**changes) if changes else scenarios.get("tiny")


@pytest.fixture(scope="module")
def solutions():
    """The instances of the B3 checks (tiny-personal capped at 10: its gain is the same to
    1e-7 as with capacity 16, and so is the policy on every state it reaches)."""
    return {
        "tiny": dp.solve("tiny"),
        "tiny-margin": dp.solve("tiny-margin"),
        "tiny-personal": dp.solve("tiny-personal", max_inventory=10),
        "tiny L0": dp.solve(_tiny(lead_time=[0, 0])),
        "tiny L2": dp.solve(_tiny(lead_time=[2, 2]), max_inventory=8),
    }


@pytest.fixture(scope="module")
def reports(solutions):
    return {name: structure.b3_report(sol) for name, sol in solutions.items()}


# ---- B3: exposure ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny", "tiny-margin", "tiny L0", "tiny L2"])
def test_b3_exposure_rises_with_own_and_falls_with_other_inventory(reports, name):
    summary, exposure_exceptions, _ = reports[name]
    rows = summary[summary.statement.str.startswith("exposure")]
    assert len(rows) == 4 and rows.comparisons.min() > 0
    assert exposure_exceptions.empty, exposure_exceptions.to_string()


def test_b3_exposure_exception_on_tiny_personal_is_exactly_one_pair(reports, solutions):
    sol = solutions["tiny-personal"]
    summary, ex, _ = reports["tiny-personal"]
    got = sorted(zip(ex["product"], ex.segment, ex.axis, ex.state, ex.next_state))
    assert got == sorted([
        (1, 2, "available_1", (0, 1, 2), (0, 2, 2)), (1, 1, "available_2", (0, 2, 1), (0, 2, 2)),
        (2, 1, "available_2", (0, 2, 1), (0, 2, 2)), (2, 2, "available_1", (0, 1, 2), (0, 2, 2))])
    # the values: segment 2 sees product 1 with share 0.3 at (1, 2) and 0 at (2, 2)
    assert sol.exposure[0, 1, 2, 1, 0] == pytest.approx(0.3)
    assert sol.exposure[0, 2, 2, 1, 0] == pytest.approx(0.0)
    assert not ex.tie.any() and ex[["loss_swap_low", "loss_swap_high"]].min().min() > 0.1
    # the aggregate (arrival-weighted) exposure is monotone everywhere
    aggregate = summary[summary.segment == "all"]
    assert len(aggregate) == 4 and (aggregate.exceptions == 0).all()
    share = sol.exposure_share[0, ..., 0]
    assert np.all(np.diff(share, axis=0) >= -1e-12) and np.all(np.diff(share, axis=1) <= 1e-12)


def test_b3_exposure_exceptions_agree_with_a_loop_over_the_table(solutions):
    """Every exception reported, and none missed: an independent loop over neighbour pairs."""
    sol = solutions["tiny-personal"]
    ex = structure.b3_exposure_exceptions(sol)
    x = sol.exposure
    found = set()
    for a1, a2 in itertools.product(range(11), range(11)):
        for k in range(2):
            if a1 < 10 and x[0, a1 + 1, a2, k, 0] < x[0, a1, a2, k, 0] - 1e-9:
                found.add((1, k + 1, "available_1", (0, a1, a2)))   # own, product 1
                found.add((2, k + 1, "available_1", (0, a1, a2)))   # other, product 2
            if a2 < 10 and x[0, a1, a2 + 1, k, 1] < x[0, a1, a2, k, 1] - 1e-9:
                found.add((2, k + 1, "available_2", (0, a1, a2)))
                found.add((1, k + 1, "available_2", (0, a1, a2)))
    per_segment = ex[ex.segment != "all"]
    assert set(zip(per_segment["product"], per_segment.segment, per_segment.axis,
                   per_segment.state)) == found


# ---- B3: orders -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny-margin", "tiny-personal", "tiny L0"])
def test_b3_order_rises_with_expected_exposure_over_protection_interval(reports, name):
    summary, _, order_ex = reports[name]
    rows = summary[summary.statement.str.contains("protection")]
    assert len(rows) == 2 and rows.comparisons.min() > 0
    assert (rows.exceptions == 0).all(), order_ex[order_ex.statement.str.contains("protection")]


def test_b3_order_exceptions_on_tiny_are_where_the_other_product_runs_out(reports):
    """The precise statement that holds on tiny: for states where the other product has at
    least 3 units available, the order rises with its protection-interval exposure."""
    summary, _, order_ex = reports["tiny"]
    ex = order_ex[order_ex.statement.str.contains("protection")]
    assert len(ex) == 22 and ex.groupby("product").size().tolist() == [11, 11]
    for _, row in ex.iterrows():
        other = 2 if row["product"] == 1 else 1            # state = (phase, A_1, A_2)
        assert row.high_state[other] <= 2
        assert row.high_exposure > row.exposure and row.high_order < row.order


def test_b3_order_exceptions_agree_with_a_loop_over_state_pairs(solutions):
    sol = solutions["tiny"]
    ex = structure.b3_order_exceptions(sol, "protection")
    xi = structure.expected_exposure(sol, "protection")
    found = set()
    for own, a, b in itertools.product(range(21), range(21), range(21)):
        # product 1: own A_1, other A_2 in {a, b}
        q = sol.orders
        if xi[0, own, a, 0] < xi[0, own, b, 0] - 1e-9 and q[0, own, a, 0] > q[0, own, b, 0]:
            found.add((1, (0, own, a), (0, own, b)))
        if xi[0, a, own, 1] < xi[0, b, own, 1] - 1e-9 and q[0, a, own, 1] > q[0, b, own, 1]:
            found.add((2, (0, a, own), (0, b, own)))
    assert set(zip(ex["product"], ex.state, ex.high_state)) == found


def test_b3_literal_exposure_at_arrival_reading_fails(reports):
    """Documented: 'sized for the exposure when it arrives' alone does not order the orders."""
    summary, _, _ = reports["tiny-margin"]
    row = summary[summary.statement == "order of product 1 non-decreasing in its arrival exposure"]
    assert row.exceptions.item() > 0 and row.stationary_mass.item() > 0.1


def test_expected_exposure_at_arrival_matches_a_direct_one_step_expectation(solutions):
    """E[exposure_1(t + 1) | A] for L = 1, from the one-period tables (not the chain code)."""
    sol = solutions["tiny"]
    s = sol.scenario
    arrival = structure.expected_exposure(sol, "arrival")
    share = sol.exposure_share[0, ..., 0]
    for A in [(0, 0), (3, 7), (12, 5), (20, 20)]:
        x = sol.exposure[(0,) + A]
        q = sol.orders[(0,) + A]
        mu = s.demand_rate(x)
        P1 = dp.end_stock_probabilities([mu[0]], 20)[0][A[0]]
        P2 = dp.end_stock_probabilities([mu[1]], 20)[0][A[1]]
        expected = sum(P1[e1] * P2[e2] * share[min(e1 + q[0], 20), min(e2 + q[1], 20)]
                       for e1 in range(21) for e2 in range(21))
        assert arrival[(0,) + A + (0,)] == pytest.approx(expected, abs=1e-12)
    assert np.array_equal(structure.expected_exposure(solutions["tiny L0"], "protection"),
                          solutions["tiny L0"].exposure_share)


# ---- B4 -------------------------------------------------------------------------------------------
def test_cross_correlation_finds_a_known_lag():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(8, 400))
    b = np.roll(a, 2, axis=1) + 0.5 * rng.normal(size=a.shape)     # b(t) = a(t - 2) + noise
    c = structure.cross_correlation(a, b, 4)
    assert int(np.argmax(c)) - 4 == 2
    ref = np.corrcoef(a[:, :-2].ravel(), b[:, 2:].ravel())[0, 1]
    assert c[6] == pytest.approx(ref, abs=0.02)
    assert np.isnan(structure.cross_correlation(a, np.ones_like(a), 2)).all()


@pytest.mark.parametrize("name, lead_time", [("tiny", 1), ("tiny L2", 2)])
def test_b4_orders_lead_exposure_by_the_lead_time(solutions, name, lead_time):
    frame = structure.b4_cross_correlation(solutions[name], replications=32, periods=500,
                                           warmup=100, max_lag=5, seed=0)
    peaks = structure.b4_peak_lags(frame)
    assert (peaks.peak_lag == lead_time).all(), peaks
    assert (peaks.peak_correlation > 0.08).all()
    at_zero = frame[frame.lag == 0].correlation
    assert (at_zero < -0.15).all()     # ordering now goes with exposure away from the product now


# ---- B5 -------------------------------------------------------------------------------------------
def _small(**changes):
    return _tiny(arrival_rate=[3.0], capacity=[8, 8], max_order=[8, 8], initial_on_hand=[4, 4],
                 **changes)


def test_b5_parts_add_up_and_each_gain_is_exact():
    s = _small(unit_cost=[6.0, 4.0])
    v = coordination.value_of_coordination(s)
    assert v["static_part"] + v["dynamic_part"] == pytest.approx(v["total"], abs=1e-12)
    assert v["ordering_part"] + v["exposure_part"] == pytest.approx(v["dynamic_part"], abs=1e-12)
    assert v["g_siloed"] <= v["g_static"] <= v["g_static_dp"] + 1e-7 <= v["g_star"] + 2e-7
    # the siloed gain, again, through the full-state chain of the heuristic policy objects
    siloed = policies.joint(policies.base_stock(v["siloed_levels"]), policies.gmv_greedy())
    assert policy_evaluation.evaluate_policy(s, siloed).gain == pytest.approx(v["g_siloed"], abs=1e-9)
    # the best static exposure, again, by scanning every grid exposure independently
    best = max(policy_evaluation.best_base_stock(s, [[x1, 1 - x1]])[1] for x1 in np.linspace(0, 1, 11))
    assert v["g_static"] == pytest.approx(best, abs=1e-12)
    assert v["static_part"] > 1.0        # GMV-greedy shows the low-margin product 1


def test_b5_without_lift_exposure_is_worth_nothing():
    v = coordination.value_of_coordination(_small(lift=[0.0]))
    assert v["exposure_part"] == pytest.approx(0.0, abs=1e-7)
    assert v["static_part"] == pytest.approx(0.0, abs=1e-12)
    assert v["ordering_part"] > 0        # base-stock is not optimal under lost sales, L = 1


def test_b5_with_instant_delivery_coordination_is_worth_nothing():
    v = coordination.value_of_coordination(_small(lead_time=[0, 0]))
    assert v["total"] == pytest.approx(0.0, abs=1e-7)


def test_b5_decomposition_is_tidy():
    frame = coordination.b5_decomposition(_small(), lifts=(0.0, 2.0), margin_spreads=(2.0,),
                                       lead_times=(0,), arrival_rates=(),
                                       lead_time_max_inventory=None)
    assert frame[["factor", "value"]].values.tolist() == [["lift", 0.0], ["lift", 2.0],
                                                          ["margin_spread", 2.0], ["lead_time", 0]]
    for column in ("g_star", "g_static", "g_siloed", "static_part", "dynamic_part", "total"):
        assert frame[column].notna().all()
    assert frame.set_index("factor").loc["margin_spread", "static_part"] > 0


# ---- factors of B5 / E9 ---------------------------------------------------------------------------
def test_scenario_variant_sets_each_factor():
    tiny, tiny_margin, personal, medium = (scenarios.get(n) for n in
                                           ("tiny", "tiny-margin", "tiny-personal", "medium"))
    assert variants.scenario_variant(tiny, "lift", 3).lift.tolist() == [3.0]
    assert variants.scenario_variant(personal, "lift_scale", 0.5).lift.tolist() == [1.0, 1.0]
    assert variants.scenario_variant(personal, "arrival_rate", 9).arrival_rate.tolist() == [4.5, 4.5]
    assert variants.scenario_variant(medium, "arrival_scale", 2).arrival_rate.tolist() == [40, 50, 24]
    assert variants.scenario_variant(tiny, "lead_time", 2).lead_time.tolist() == [2, 2]
    shifted = variants.scenario_variant(medium, "lead_time_shift", 1)
    assert np.array_equal(shifted.lead_time, medium.lead_time + 1)
    margin = tiny_margin.price - tiny_margin.unit_cost
    flat = variants.scenario_variant(tiny_margin, "margin_scale", 0)
    assert np.allclose(flat.price - flat.unit_cost, 4.0) and np.array_equal(flat.price, tiny_margin.price)
    margin = medium.price - medium.unit_cost
    doubled = variants.scenario_variant(medium, "margin_scale", 1.5)
    assert np.allclose(doubled.price - doubled.unit_cost, margin.mean() + 1.5 * (margin - margin.mean()))
    spread = variants.scenario_variant(tiny, "margin_spread", 4)      # margins 5 -/+ 2
    assert (spread.price - spread.unit_cost).tolist() == [3.0, 7.0]
    assert spread.name == "tiny[margin_spread=4]"
    for factor, value, match in [("colour", 1, "unknown factor"), ("lift", -1, "lift"),
                                 ("lead_time", 1.5, "whole number"),
                                 ("margin_spread", 2, "N = 2"), ("margin_scale", 3, "negative"),
                                 ("margin_scale", 0, "negative")]:     # medium's mean margin > 6
        with pytest.raises(ValueError, match=match):
            variants.scenario_variant(medium if factor.startswith("margin") else tiny, factor, value)


def test_b5_decomposition_reuses_a_cached_row_for_the_same_model(tmp_path):
    from coordlib.pipeline.results import ResultStore
    store = ResultStore(tmp_path)
    base = _small()                          # lift 2 and equal margins: both rows are the base
    frame = coordination.b5_decomposition(base, lifts=(2.0,), margin_spreads=(0.0,), lead_times=(),
                                       arrival_rates=(), cache=store.cached)
    assert (store.misses, store.hits) == (1, 1)
    assert frame.g_star.iloc[0] == frame.g_star.iloc[1]
    assert frame.scenario.tolist() == ["tiny[lift=2]", "tiny[margin_spread=0]"]
    again = coordination.b5_decomposition(base, lifts=(2.0,), margin_spreads=(), lead_times=(),
                                       arrival_rates=())
    assert again.g_star.iloc[0] == pytest.approx(frame.g_star.iloc[0], abs=1e-12)
    assert frame.arrival_cv.iloc[0] == pytest.approx(1 / np.sqrt(3.0))


def test_value_of_coordination_accepts_a_solved_dp():
    s = _small(unit_cost=[6.0, 4.0])
    direct = coordination.value_of_coordination(s)
    given = coordination.value_of_coordination(s, solution=dp.solve(s))
    for key in ("g_star", "g_static_dp", "g_static", "g_siloed", "total"):
        assert given[key] == pytest.approx(direct[key], abs=1e-12)


# ---- E2: the policy over the inventory state ----------------------------------------------------
def test_policy_map_with_lead_time_one_is_the_policy_table(solutions):
    sol = solutions["tiny"]
    frame = policy_maps.policy_map(sol)
    assert (frame.reading == "exact").all() and len(frame) == 21 * 21
    grid = lambda column: frame.pivot(index="inventory_1", columns="inventory_2",
                                      values=column).to_numpy()
    assert np.array_equal(grid("order_1"), sol.orders[0, ..., 0])
    assert np.array_equal(grid("order_2"), sol.orders[0, ..., 1])
    assert np.allclose(grid("share_1_segment_1"), sol.exposure[0, ..., 0, 0], atol=0)
    assert np.allclose(grid("exposure_2"), 1 - sol.exposure[0, ..., 0, 0], atol=1e-12)
    assert np.allclose(grid("probability"), structure.occupancy(sol)[0], atol=0)
    assert grid("probability").sum() == pytest.approx(1.0, abs=1e-9)


def test_policy_map_collapses_the_pipeline_by_the_stationary_distribution():
    sol = dp.solve(_tiny(lead_time=[2, 2]), max_inventory=4)      # (phase, A_1, o_11, A_2, o_21)
    prob = structure.occupancy(sol)[0]
    orders = sol.orders[0, ..., 0]
    mean = policy_maps.policy_map(sol, "stationary")
    mode = policy_maps.policy_map(sol, "mode")
    assert (mean.reading == "stationary").all()
    for a1, a2 in itertools.product(range(5), range(5)):
        p = prob[a1, :, a2, :]                                    # over (o_11, o_21)
        row_mean = mean[(mean.inventory_1 == a1) & (mean.inventory_2 == a2)].iloc[0]
        row_mode = mode[(mode.inventory_1 == a1) & (mode.inventory_2 == a2)].iloc[0]
        assert row_mean.probability == pytest.approx(p.sum(), abs=1e-15)
        if p.sum() == 0:
            assert np.isnan(row_mean.order_1) and np.isnan(row_mode.order_1)
            continue
        assert row_mean.order_1 == pytest.approx((p * orders[a1, :, a2, :]).sum() / p.sum(), abs=1e-12)
        o11, o21 = np.unravel_index(np.argmax(p), p.shape)
        assert row_mode.order_1 == orders[a1, o11, a2, o21]
    assert mean.probability.sum() == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="pipeline"):
        policy_maps.policy_map(sol, "median")


def test_high_probability_level_and_region_edges():
    p = np.array([[0.05, 0.5], [0.3, 0.15]])
    assert policy_maps.high_probability_level(p, 0.95) == 0.15       # 0.5 + 0.3 + 0.15
    assert policy_maps.high_probability_level(p, 0.8) == 0.3
    assert policy_maps.high_probability_level(p, 1.0) == 0.05
    single = policy_maps.region_edges([[False, True], [False, False]])
    assert sorted(map(tuple, single.reshape(-1, 4).tolist())) == sorted(
        [(0.5, -0.5, 1.5, -0.5), (0.5, 0.5, 1.5, 0.5), (0.5, -0.5, 0.5, 0.5), (1.5, -0.5, 1.5, 0.5)])
    block = np.zeros((4, 5), dtype=bool)
    block[1:3, 1:4] = True                                           # a 2 x 3 block: perimeter 10
    assert len(policy_maps.region_edges(block)) == 10
    assert len(policy_maps.region_edges(np.ones((3, 3), dtype=bool))) == 12


def test_order_exception_profile_on_tiny(reports):
    _, _, order_ex = reports["tiny"]
    profile = policy_maps.order_exception_profile(
        order_ex, ("phase", "available_1", "available_2"))
    rows = profile[profile.statement.str.contains("protection")]
    assert rows.exceptions.tolist() == [11, 11]
    assert rows.other_inventory_high_max.tolist() == [2, 2] and (rows.share_other_low == 1).all()


def test_dp_structure_agrees_with_its_parts_and_is_cached(tmp_path):
    from coordlib.pipeline.results import ResultStore
    s = _small(unit_cost=[6.0, 4.0])
    store = ResultStore(tmp_path)
    out = e2_dp_structure.dp_structure(s, replications=4, periods=120, warmup=20, max_lag=3,
                                 cache=store.cached)
    sol = dp.solve(s)
    assert out["solution"].g_star.item() == pytest.approx(sol.gain, abs=1e-12)
    v = coordination.value_of_coordination(s, coordinated=True)
    for key in ("g_star", "g_static", "g_siloed", "g_coordinated", "total"):
        assert out["gains"][key].item() == pytest.approx(v[key], abs=1e-9)
    summary, _, _ = structure.b3_report(sol)
    assert out["b3_summary"].exceptions.tolist() == summary.exceptions.tolist()
    assert out["b4"].lag.min() == -3 and set(out["b4_peaks"]["product"]) == {1, 2}
    again = e2_dp_structure.dp_structure(s, replications=4, periods=120, warmup=20, max_lag=3,
                                   cache=store.cached)
    assert (store.misses, store.hits) == (1, 1)
    for key, frame in out.items():
        assert np.allclose(frame.select_dtypes("number").to_numpy(float),
                           again[key].select_dtypes("number").to_numpy(float), equal_nan=True)


# ---- exact gains of the joint heuristics --------------------------------------------------------------
def _five():
    return _tiny(arrival_rate=[3.0], capacity=[5, 5], max_order=[5, 5], initial_on_hand=[3, 3])


@pytest.mark.parametrize("unit_cost", [[5.0, 5.0], [6.0, 4.0]])
def test_best_joint_base_stock_matches_an_exhaustive_scan(unit_cost):
    s = _five().replace(unit_cost=unit_cost)
    recommender = policies.inventory_aware()
    gains = np.array([[policy_evaluation.evaluate_policy(s, policies.joint(policies.base_stock([a, b]),
                                                            recommender)).gain
                       for b in range(11)] for a in range(11)])     # levels 0..M + L Qmax
    found = coordination.best_joint_base_stock(s, recommender)
    assert found["gain"] == pytest.approx(gains.max(), abs=1e-12)
    assert tuple(found["levels"]) == np.unravel_index(gains.argmax(), gains.shape)


def test_best_joint_base_stock_with_a_blind_recommender_is_best_base_stock():
    s = _five().replace(unit_cost=[6.0, 4.0])
    found = coordination.best_joint_base_stock(s, policies.gmv_greedy())
    levels, gain, _ = policy_evaluation.best_base_stock(s, coordination.gmv_greedy_exposure(s))
    assert found["gain"] == pytest.approx(gain, abs=1e-10)
    assert found["levels"].tolist() == levels.tolist()


@pytest.mark.slow
def test_best_joint_base_stock_on_tiny_finds_the_better_of_two_local_maxima():
    s = scenarios.get("tiny")
    recommender = policies.inventory_aware()
    gains = np.full((19, 19), -np.inf)
    for a, b in itertools.product(range(4, 19), range(4, 19)):
        gains[a, b] = policy_evaluation.evaluate_policy(s, policies.joint(policies.base_stock([a, b]),
                                                           recommender)).gain
    found = coordination.best_joint_base_stock(s, recommender)
    assert tuple(found["levels"]) == np.unravel_index(gains.argmax(), gains.shape) == (11, 5)
    assert sorted(tuple(m) for m, _ in found["local_maxima"]) == [(7, 7), (11, 5)]


def test_heuristic_sensitivity_without_lift_the_firms_coincide():
    frame = e9_sensitivity.heuristic_sensitivity("tiny-margin", {"lift_scale": [0.0, 1.0]},
                                            replications=3, periods=60, warmup=10, seed=0)
    assert frame[["factor", "value"]].values.tolist() == [["lift_scale", 0.0], ["lift_scale", 1.0]]
    no_lift = frame.iloc[0]
    # with no lift exposure does not change demand, so both firms see the same draws and
    # tune the same levels: the paired gain is exactly zero
    assert no_lift.gain == 0 and no_lift.gain_lo == 0 and no_lift.gain_hi == 0
    assert no_lift.profit_siloed == no_lift.profit_coordinated
    assert frame.arrival_cv.tolist() == pytest.approx([1 / np.sqrt(6.0)] * 2)
    assert frame.profit_siloed_lo.iloc[1] < frame.profit_siloed.iloc[1] < frame.profit_siloed_hi.iloc[1]


# ---- notebook settings ---------------------------------------------------------------------------------
def _dirs(tmp_path):
    return dict(figures_dir=str(tmp_path / "f"), tables_dir=str(tmp_path / "t"),
                cache_dir=str(tmp_path / "c"))


def test_e2_settings_fill_profile_defaults_and_name_bad_parameters(tmp_path):
    from coordlib.experiments.parameters import ParameterError
    good = dict(scenarios=["tiny", "tiny-personal"], variant_base="tiny", variant_lead_times=[0, 2],
                pipeline="stationary", picture_scenario="tiny L=2", **_dirs(tmp_path))
    smoke = e2_dp_structure.e2_settings("smoke", **good)
    assert smoke.max_inventory == 6 and smoke.exposure_grid == 6 and (tmp_path / "c").is_dir()
    paper = e2_dp_structure.e2_settings("paper", **good, max_inventory=None, exposure_grid=7)
    assert paper.max_inventory is None and paper.exposure_grid == 7
    instances = e2_dp_structure.e2_instances(paper)
    assert list(instances) == ["tiny", "tiny-personal", "tiny L=0", "tiny L=2"]
    assert instances["tiny L=2"][1] == reproduce.budget("E2", "paper")["long_lead_max_inventory"]
    assert instances["tiny L=2"][0].lead_time.tolist() == [2, 2]
    for change, name in [(dict(pipeline="median"), "pipeline"),
                         (dict(picture_scenario="tiny L=3"), "picture_scenario"),
                         (dict(max_inventory=-1), "max_inventory"),
                         (dict(scenarios=["medium"]), "scenarios"),
                         (dict(scenarios=["tinny"]), "scenarios"),
                         (dict(variant_lead_times=[-1]), "variant_lead_times"),
                         (dict(exposure_grid=1), "exposure_grid")]:
        with pytest.raises(ParameterError, match=name):
            e2_dp_structure.e2_settings("smoke", **{**good, **change})
    with pytest.raises(ParameterError, match="profile"):
        e2_dp_structure.e2_settings("papr", **good)


def test_e9_settings_fill_profile_defaults_and_name_bad_parameters(tmp_path):
    from coordlib.experiments.parameters import ParameterError
    paper = e9_sensitivity.e9_settings("paper", simulation_scenario="medium", **_dirs(tmp_path))
    assert paper.bases == reproduce.budget("E9", "paper")["bases"] and paper.max_inventory is None
    smoke = e9_sensitivity.e9_settings("smoke", simulation_scenario=None, lifts=[0.0, 1.0],
                                  **_dirs(tmp_path))
    assert smoke.lifts == [0.0, 1.0] and smoke.exposure_grid == 6
    for change, name in [(dict(lifts=[-1.0]), "lifts"), (dict(lead_times=[0.5]), "lead_times"),
                         (dict(bases=["medium"]), "bases"), (dict(bases=["tinny"]), "scenarios"),
                         (dict(simulation_scenario="huge"), "scenario"),
                         (dict(coordinated="yes"), "coordinated"),
                         (dict(sim_margin_scales=[0.0]), "sim_margin_scales"),   # cost < 0 on medium
                         (dict(replications=0), "replications")]:
        with pytest.raises(ParameterError, match=name):
            e9_sensitivity.e9_settings("smoke", **{"simulation_scenario": "medium", **_dirs(tmp_path),
                                              **change})
