"""B4 side by side (E6, issue 18): the DP optimum's peak lag of corr(q_i(t), x_i(t + k)) is
the lead time, the table has the policies and columns the notebook shows, and the same seeds
give the same numbers."""
import numpy as np
import pandas as pd
import pytest

from coordlib.experiments import e6_behaviour
from coordlib.experiments.parameters import ParameterError
from coordlib.model.rollout import trajectories
from coordlib.model.scenarios import get as get_scenario
from coordlib.policies.firms import firm

SMALL = dict(train_iterations=1, replications=8, periods=300, warmup=50, seed=0, max_lag=4)


@pytest.fixture(scope="module")
def tiny_result():
    return e6_behaviour.b4_side_by_side("tiny", **SMALL)


def test_b4_dp_peak_lag_on_tiny_equals_the_lead_time(tiny_result):
    # E2's DP table shows +1 = L on tiny
    dp = tiny_result["peaks"][tiny_result["peaks"].policy == "DP optimum"]
    assert list(dp["product"]) == [1, 2]
    assert (dp["peak_lag"] == 1).all() and (dp["lead_time"] == 1).all()


def test_b4_side_by_side_table_has_the_three_policies_and_the_columns(tiny_result):
    peaks = tiny_result["peaks"]
    assert list(peaks.columns) == ["policy", "product", "lead_time", "peak_lag",
                                   "peak_correlation", "profit"]
    assert list(peaks.policy.unique()) == list(e6_behaviour.B4_POLICIES)
    assert len(peaks) == 3 * 2
    cc = tiny_result["cross_correlation"]
    assert len(cc) == 3 * 2 * (2 * SMALL["max_lag"] + 1)
    diag = tiny_result["diagnostics"]
    assert {"learned orders + DP exposure", "DP orders + learned exposure"} <= set(diag.policy)
    assert diag[["slope_own", "corr_before", "target_sd", "r2_view_at_arrival"]].notna().all().all()


def test_b4_side_by_side_is_deterministic_with_the_same_seed(tiny_result):
    again = e6_behaviour.b4_side_by_side("tiny", **SMALL)
    for key in ("peaks", "cross_correlation", "diagnostics"):
        pd.testing.assert_frame_equal(tiny_result[key], again[key])


def test_b4_without_a_dp_and_with_a_given_policy_skips_training():
    s = e6_behaviour.b4_instance("tiny L=2", 4)
    assert list(s.lead_time) == [2, 2] and list(s.capacity) == [4, 4]
    heuristic = firm(s, "coordinated", 0)
    out = e6_behaviour.b4_side_by_side(s, learned=heuristic, replications=4, periods=120,
                                       warmup=20, swaps=False)
    assert out["instance"]["train_seconds"].iloc[0] == 0.0
    peaks = out["peaks"].set_index(["policy", "product"])
    # the same policy under two labels gives the same lag: one simulation stream for all
    assert np.allclose(peaks.loc["coordinated heuristic"].values.astype(float),
                       peaks.loc["learned (mtma)"].values.astype(float), equal_nan=True)


def test_b4_decision_trajectories_match_the_one_rollout_loop():
    policy = firm(get_scenario("tiny"), "coordinated", 0)
    a = e6_behaviour.decision_trajectories("tiny", policy, 3, 60, 10, 5)
    b = trajectories("tiny", policy, 3, 60, 10, 5)
    for key in b:
        np.testing.assert_array_equal(a[key], b[key])
    # the replenisher's view at t: the position before ordering plus the order is the target
    assert a["position"].shape == a["orders"].shape


def test_b4_diagnostics_see_a_fixed_base_stock_rule_replacing_last_sales():
    policy = firm(get_scenario("tiny"), "coordinated", 0)
    traj = e6_behaviour.decision_trajectories("tiny", policy, 4, 200, 20, 0)
    d = e6_behaviour.b4_diagnostics(traj, [1, 1])
    assert np.allclose(d["target_sd"], 0.0)                # q = S - IP, S fixed
    assert np.allclose(d["corr_last_sales"], 1.0)          # so q(t) = s(t - 1)


def test_b4_verdict_applies_the_rules_and_prints_every_number(tiny_result):
    v = e6_behaviour.b4_verdict(tiny_result)
    assert list(v["product"]) == [1, 2] and (v["dp_peak_lag"] == 1).all()
    assert v["verdict"].str.contains("learned peak lag").all()
    assert e6_behaviour.b4_summary(v).startswith("tiny: ")


def test_b4_parameters_are_checked():
    e6_behaviour.check_b4_parameters(["tiny", "tiny L=2"], 6, 4)
    for bad in (("tiny", 6, 4), (["nope"], 6, 4), (["tiny"], 0, 4), (["tiny"], 6, 0)):
        with pytest.raises(ParameterError):
            e6_behaviour.check_b4_parameters(*bad)


def test_learner_variants_report_the_lag_and_the_replenishers_target_per_run():
    table = e6_behaviour.b4_learner_variants(["tiny"], seeds=(0,), iterations=1,
                                variants=("mtma", "mtma, 3x the iterations"),
                                replications=2, periods=40, warmup=5)
    assert list(table["variant"]) == ["mtma", "mtma", "mtma, 3x the iterations",
                                      "mtma, 3x the iterations"]
    assert list(table["iterations"]) == [1, 1, 3, 3] and set(table["product"]) == {1, 2}
    assert (table["target_sd"] >= 0).all() and table["peak_lag"].between(-6, 6).all()
    with pytest.raises(ValueError, match="unknown learner variant"):
        e6_behaviour.b4_learner_variants(["tiny"], variants=("mtma, bigger",))


def test_variant_summary_counts_leading_runs_and_the_profit_effect_against_mtma():
    rows = []
    for variant, lags, profits in (("mtma", (-1, -1), (10.0, 12.0)),
                                   ("reversed (replenisher fast)", (2, -1), (9.0, 10.0))):
        for seed, (lag, profit) in enumerate(zip(lags, profits)):
            for product in (1, 2):
                rows.append({"instance": "tiny", "variant": variant, "seed": seed,
                             "iterations": 5, "product": product, "lead_time": 1,
                             "peak_lag": lag, "target_sd": 0.0 if variant == "mtma" else 1.0,
                             "corr_last_sales": 1.0, "corr_target_at_arrival": 0.0,
                             "slope_own": 0.1, "profit": profit, "train_seconds": 1.0})
    summary = e6_behaviour.b4_variant_summary(pd.DataFrame(rows)).set_index("variant")
    assert summary.loc["mtma", "leads_share"] == 0.0
    assert summary.loc["reversed (replenisher fast)", "leads_share"] == 0.5
    assert summary.loc["mtma", "base_stock_share"] == 1.0
    assert summary.loc["reversed (replenisher fast)", "base_stock_share"] == 0.0
    assert summary.loc["mtma", "profit"] == 11.0 and summary.loc["mtma", "profit_vs_mtma"] == 0.0
    assert summary.loc["reversed (replenisher fast)", "profit_vs_mtma"] == -1.5
    text = e6_behaviour.b4_variant_text(summary.reset_index())
    assert "orders lead exposure under reversed (replenisher fast) (50%" in text
    only_mtma = e6_behaviour.b4_variant_summary(pd.DataFrame(rows[:4]))
    assert "no variant's orders lead" in e6_behaviour.b4_variant_text(only_mtma)


def test_b4_variant_parameters_are_checked():
    e6_behaviour.check_b4_variant_parameters(["tiny", "tiny L=2"], [0, 1], 6)
    for bad in (("tiny", [0]), (["nope"], [0]), (["tiny"], []), (["tiny"], [0, 0]),
                (["tiny"], [-1]), (["tiny"], "0"), (["tiny"], [True])):
        with pytest.raises(ParameterError):
            e6_behaviour.check_b4_variant_parameters(*bad)
