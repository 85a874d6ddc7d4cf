"""E5, E7 and E8 helpers (coordlib.experiments (E5, E7, E8)): fast checks with independently computed numbers."""
import math

import numpy as np
import pandas as pd
import pytest

from coordlib.experiments import e5_timescales, e7_scalability, e8_convergence
from coordlib.learning.config import config_for, step_size
from coordlib.model.scenario import ScenarioError, random_scenario


def test_timescale_variants_map_labels_to_presets_and_overrides():
    v = e5_timescales.timescale_variants([0.1, 1.0])
    assert v["mtma (recommender fast)"] == ("mtma", {})
    assert v["reversed (replenisher fast)"] == ("mtma", {"fast_agent": "replenisher"})
    assert v["single timescale"] == ("single_timescale", {})
    assert v["mtma, ratio 0.1"] == ("mtma", {"timescale_ratio": 0.1})
    assert e5_timescales.variant("mtma, ratio 0.25") == ("mtma", {"timescale_ratio": 0.25})
    with pytest.raises(ValueError, match="ratios"):
        e5_timescales.timescale_variants([0.0])
    with pytest.raises(ValueError, match="unknown timescale variant"):
        e5_timescales.variant("fastest")


def test_curve_stationarity_accepts_noise_rejects_trend_and_skips_short_curves():
    rng = np.random.default_rng(0)
    noise = rng.normal(10.0, 1.0, 600)
    assert e5_timescales.curve_stationarity(noise)["stationary"] is True
    trend = noise + 0.05 * np.arange(600)
    out = e5_timescales.curve_stationarity(trend)
    assert out["stationary"] is False
    assert out["slope"] == pytest.approx(0.05, abs=0.01)      # the slope put in
    short = e5_timescales.curve_stationarity(np.arange(10.0))
    assert short["stationary"] is None and math.isnan(short["slope"])


def test_curve_stability_tail_std_is_the_std_of_the_last_half():
    x = np.array([0.0, 5.0, -5.0, 1.0, 2.0, 4.0, 3.0, 7.0])
    curves = pd.DataFrame({"scenario": "s", "variant": "v", "seed": 0,
                           "iteration": np.arange(1, 9), "profit": x})
    row = e5_timescales.curve_stability(curves).iloc[0]
    assert row["tail_std"] == pytest.approx(np.std([2.0, 4.0, 3.0, 7.0], ddof=1), rel=1e-12)


def test_random_scenario_names_resolve_to_random_scenario():
    assert e7_scalability.random_names([(3, 2)]) == ["random-N3-K2"]
    s = e7_scalability.scenario_for("random-N3-K2")
    ref = random_scenario(3, 2, seed=0)
    assert (s.n_products, s.n_segments) == (3, 2)
    np.testing.assert_array_equal(s.price, ref.price)
    with pytest.raises(ScenarioError, match="unknown scenario"):
        e7_scalability.scenario_for("random-3-2")


def test_parameter_count_does_not_grow_with_n_and_k():
    from coordlib.learning.mtma import Learner

    counts = {e7_scalability.scenario_for(n).name: Learner(e7_scalability.scenario_for(n), config_for(
        "mtma", n_envs=2, minibatches=1)).agents.parameter_count() for n in ("random-N2-K1", "random-N30-K5")}
    assert len(set(counts.values())) == 1, counts


def _curve(config, n=300):
    its = np.arange(1, n + 1)
    return pd.DataFrame({"iteration": its,
                         "lr_recommender": [step_size(config, "fast", i - 1) for i in its],
                         "lr_replenisher": [step_size(config, "slow", i - 1) for i in its],
                         "lr_critic_central": [step_size(config, "critic", i - 1) for i in its]})


def test_schedule_diagnostics_recovers_the_configured_schedules():
    cfg = config_for("mtma")
    fitted, report = e8_convergence.schedule_diagnostics(_curve(cfg))
    fast = fitted.set_index("agent").loc["recommender"]
    slow = fitted.set_index("agent").loc["replenisher"]
    assert fast["a"] == pytest.approx(cfg.lr_fast, rel=1e-6)
    assert fast["rho"] == pytest.approx(cfg.decay_power_fast, rel=1e-6)
    assert slow["a"] == pytest.approx(cfg.lr_fast * cfg.timescale_ratio, rel=1e-6)
    assert slow["rho"] == pytest.approx(cfg.decay_power_slow, rel=1e-6)
    assert slow["n0"] == pytest.approx(cfg.decay_start, rel=1e-4)
    assert report.two_timescale and report.ratio_limit == 0.0
    # the single-timescale preset: equal exponents, ratio a_slow / a_fast = 1, never -> 0
    _, single = e8_convergence.schedule_diagnostics(_curve(config_for("single_timescale")))
    assert not single.ratio_tends_to_zero
    assert single.ratio_limit == pytest.approx(1.0, rel=1e-6)


def test_teaching_paths_right_ordering_converges_wrong_ones_blow_up():
    paths = e8_convergence.teaching_paths(n_steps=20_000, seed=0)
    ends = paths.groupby("design").tail(1).set_index("design")
    right = ends.loc["right ordering (x fast)"]
    assert right["x"] == pytest.approx(1.5, abs=0.3) and right["y"] == pytest.approx(1.0, abs=0.3)
    assert pd.isna(right["hit_bound"])
    for design in ("wrong ordering (y fast)", "single timescale (b = a)"):
        assert not pd.isna(ends.loc[design, "hit_bound"])
        assert ends.loc[design, "distance"] > 100


def test_tracking_study_profit_gap_is_the_curve_difference():
    out = e8_convergence.tracking_study("tiny-margin", iterations=4, branch_at=2, seed=0,
                                 settings=dict(n_envs=4, rollout_length=8))
    joint = out["joint"].set_index("iteration")["profit"]
    frozen = out["frozen"].set_index("iteration")["profit"]
    t = out["tracking"]
    assert list(t["iteration"]) == [3, 4]
    expected = [abs(joint[i] - frozen[i]) for i in (3, 4)]
    np.testing.assert_allclose(t["profit_gap"], expected, rtol=1e-12)
    assert np.all(np.isfinite(t["parameter_distance"])) and np.all(t["parameter_distance"] >= 0)
    assert list(out["iterates"]["iteration"]) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="branch_at"):
        e8_convergence.tracking_study("tiny-margin", iterations=4, branch_at=4)


def test_recorded_ratio_and_the_end_of_run_check():
    cfg = config_for("mtma")
    curve = _curve(cfg)
    ratio = e8_convergence.recorded_ratio(curve)
    assert ratio["first"] == pytest.approx(cfg.timescale_ratio, rel=1e-9)
    n = len(curve) - 1
    expected = cfg.timescale_ratio * (1 + n / cfg.decay_start) ** (
        cfg.decay_power_fast - cfg.decay_power_slow)
    assert ratio["last"] == pytest.approx(expected, rel=1e-9)
    _, report = e8_convergence.schedule_diagnostics(curve)
    assert report.n == len(curve)                       # the run's horizon, not 10^6
    separated = config_for("mtma", **e8_convergence.SEPARATED_SCHEDULE)
    assert e8_convergence.recorded_ratio(_curve(separated))["last"] < 0.04 < ratio["last"]
    with pytest.raises(ValueError, match="lr_replenisher"):
        e8_convergence.recorded_ratio(curve.drop(columns="lr_replenisher"))


def test_teaching_diagnostics_read_the_known_prediction():
    paths = e8_convergence.teaching_paths(n_steps=20_000, seed=0)
    t = e8_convergence.teaching_diagnostics(paths).set_index("design")
    right = t.loc["right ordering (x fast)"]
    # the fast iterate's distance to lambda(y) stays at its noise level: it does not grow
    assert right["tracking_late"] <= 2 * right["tracking_early"] and right["slow_stationary"] is True
    assert right["tracking_late"] < 0.01 * t.loc["wrong ordering (y fast)", "tracking_late"]
    assert pd.isna(right["hit_bound"])
    for design in ("wrong ordering (y fast)", "single timescale (b = a)"):
        assert t.loc[design, "slow_stationary"] is None and t.loc[design, "hit_bound"] > 0
    with pytest.raises(ValueError, match="branch"):
        e8_convergence.teaching_diagnostics(paths, branch=1.0)


def test_tracking_study_noise_floor_is_deterministic():
    kw = dict(iterations=4, branch_at=2, seed=0, settings=dict(n_envs=4, rollout_length=8),
              replicate_seed=1)
    a = e8_convergence.tracking_study("tiny-margin", **kw)["tracking"]
    b = e8_convergence.tracking_study("tiny-margin", **kw)["tracking"]
    assert np.all(np.isfinite(a["noise_floor"])) and np.all(a["noise_floor"] > 0)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="replicate_seed"):
        e8_convergence.tracking_study("tiny-margin", **{**kw, "replicate_seed": 0})


def test_e5_measures_auc_policy_movement_and_seed_spread():
    x = np.array([0.0, 5.0, -5.0, 1.0, 2.0, 4.0, 3.0, 7.0])
    kl = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.2, 0.3, 0.4])
    curves = pd.concat([pd.DataFrame({"scenario": "s", "variant": "v", "seed": seed,
                                      "iteration": np.arange(1, 9), "profit": x + seed,
                                      "kl_recommender": kl}) for seed in (0, 1)])
    stab = e5_timescales.curve_stability(curves)
    assert stab["auc"].tolist() == pytest.approx([x.mean(), x.mean() + 1], rel=1e-12)
    assert stab["tail_kl_recommender"].tolist() == pytest.approx([0.25, 0.25], rel=1e-12)
    runs = pd.DataFrame({"scenario": "s", "variant": "v", "seed": [0, 1],
                         "profit": [10.0, 13.0], "evaluation_stream": [0, 1]})
    table = e5_timescales.ablation_table(runs, stab).iloc[0]
    assert table["seed_spread"] == pytest.approx(np.std([10.0, 13.0], ddof=1), rel=1e-12)
    assert table["auc"] == pytest.approx(x.mean() + 0.5, rel=1e-12)
