"""A demand shift: the simulator carried into another world, the learner trained on through it,
and E5's recovery rule, checked on curves whose answer is known."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coordlib.experiments import e5_timescales
from coordlib.learning.config import config_for
from coordlib.learning.mtma import Learner
from coordlib.model.scenarios import get
from coordlib.model.simulator import Simulator
from coordlib.model.variants import scenario_variant


def test_tastes_reversed_flips_each_segment_across_products_and_keeps_the_economics():
    base = get("seasonal")
    s = scenario_variant(base, "tastes_reversed", 1)
    assert np.array_equal(s.attraction, base.attraction[:, ::-1])
    assert np.array_equal(s.price, base.price) and np.array_equal(s.lead_time, base.lead_time)
    assert np.array_equal(scenario_variant(base, "tastes_reversed", 0).attraction, base.attraction)
    with pytest.raises(ValueError, match="tastes_reversed: must be 0 or 1"):
        scenario_variant(base, "tastes_reversed", 0.5)


def test_a_carried_simulator_keeps_every_copys_state_and_then_follows_the_new_world():
    base, shifted = get("seasonal"), scenario_variant("seasonal", "tastes_reversed", 1)
    sim = Simulator(base, batch_size=3, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(5):
        sim.step(rng.integers(0, 8, (3, 4)), np.full((3, 2, 4), 0.25))
    moved = sim.carried_to(shifted, seed=2)
    a, b = sim.observation, moved.observation
    for field in ("t", "on_hand", "pipeline", "backlog", "last_sales", "last_lost_sales",
                  "last_customers", "last_demand"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    # from here on, demand follows the shifted tastes: segment 0 now favours product 4
    exposure = np.full((3, 2, 4), 0.25)
    totals = np.zeros(4)
    for _ in range(200):
        totals += moved.step(np.full((3, 4), 8), exposure).demand.sum(axis=(0, 1))
    assert totals[3] > totals[1]
    with pytest.raises(ValueError, match="carried_to: 'tiny' differs from 'seasonal'"):
        sim.carried_to(get("tiny"))


def test_retarget_trains_on_in_the_shifted_world_with_the_same_networks_and_schedules():
    cfg = config_for("mtma", n_envs=4, rollout_length=4, iterations=2, seed=0)
    learner = Learner(get("seasonal"), cfg)
    learner.iterate()
    before = learner.parameters_of("recommender")
    learner.retarget(scenario_variant("seasonal", "tastes_reversed", 1))
    assert np.array_equal(learner.sim.scenario.attraction, get("seasonal").attraction[:, ::-1])
    assert learner.iteration == 1 and learner.parameters_of("recommender").equal(before)
    row = learner.iterate()
    assert row["iteration"] == 2 and np.isfinite(row["profit"])


def test_recovery_scores_a_collapse_low_and_a_quick_return_high():
    before = np.full(50, 10.0)
    quick = np.concatenate([np.full(5, 4.0), np.full(45, 10.0)])
    slow = np.concatenate([np.full(5, 4.0), np.linspace(4.0, 10.0, 31)[1:], np.full(15, 10.0)])
    stays = np.full(50, 4.0)                          # drops and never comes back
    declines = np.linspace(9.0, 3.0, 50)              # drifts down after the shift
    areas = {name: e5_timescales.recovery(before, after)["shift_area"]
             for name, after in (("quick", quick), ("slow", slow), ("stays", stays),
                                 ("declines", declines))}
    assert areas["quick"] > areas["slow"] > areas["declines"] > areas["stays"]
    assert areas["quick"] == pytest.approx((5 * 4 + 45 * 10) / 50 / 10)
    r = e5_timescales.recovery(before, slow)
    assert r["pre_shift"] == pytest.approx(10.0) and r["shift_final"] == pytest.approx(10.0)
    assert r["shift_low"] == pytest.approx(4.0)
    # settling: the 5-iteration rolling mean starts at 4.0 and first covers 90% of the way to
    # 10 (>= 9.4) in the window ending at iteration 34
    rolling = np.convolve(slow, np.ones(5) / 5, mode="valid")
    assert r["settling_iterations"] == int(np.flatnonzero(rolling >= 9.4)[0]) + 5 == 34
    assert e5_timescales.recovery(before, stays)["settling_iterations"] == 0   # nothing moves
    noisy = 10 + np.random.default_rng(0).normal(0, 0.02, 50)
    assert e5_timescales.recovery(before, noisy)["settling_iterations"] == 0   # within 1%
    never = np.concatenate([np.full(40, 4.0), np.full(10, 9.0)])
    assert e5_timescales.recovery(before, never)["settling_iterations"] == 45   # 4 + 4.5 at 45
    with pytest.raises(ValueError, match="at least 10 iterations"):
        e5_timescales.recovery(before, np.ones(6))


def test_shift_summary_reads_only_the_runs_that_went_through_a_shift():
    rows = []
    for seed, low in ((0, 4.0), (1, 6.0)):
        rows += [{"scenario": "s", "variant": "v", "seed": seed, "iteration": i + 1,
                  "profit": 10.0, "phase": "training"} for i in range(20)]
        rows += [{"scenario": "s", "variant": "v", "seed": seed, "iteration": 21 + i,
                  "profit": low if i < 5 else 10.0, "phase": e5_timescales.AFTER_SHIFT}
                 for i in range(20)]
    rows += [{"scenario": "t", "variant": "v", "seed": 0, "iteration": i + 1, "profit": 1.0,
              "phase": "training"} for i in range(20)]
    summary = e5_timescales.shift_summary(pd.DataFrame(rows))
    assert list(summary["scenario"]) == ["s", "s"]
    assert summary["shift_area"].tolist() == pytest.approx([(5 * 4 + 150) / 200,
                                                            (5 * 6 + 150) / 200])
    assert e5_timescales.shift_summary(pd.DataFrame(rows).drop(columns="phase")).empty


def test_the_ablation_names_a_bad_shift_before_training(tmp_path):
    with pytest.raises(ValueError, match="shifts: \\['medium'\\]"):
        e5_timescales.timescale_ablation(["tiny"], [0], 1, tmp_path,
                                         shifts={"medium": ["tastes_reversed", 1]},
                                         shift_iterations=10)
    with pytest.raises(ValueError, match="factor: unknown factor"):
        e5_timescales.timescale_ablation(["tiny"], [0], 1, tmp_path,
                                         shifts={"tiny": ["taste", 1]}, shift_iterations=10)
    with pytest.raises(ValueError, match="shift_iterations: at least 10"):
        e5_timescales.timescale_ablation(["tiny"], [0], 1, tmp_path,
                                         shifts={"tiny": ["arrival_scale", 1.5]},
                                         shift_iterations=3)
    assert not any(tmp_path.rglob("*.json"))


def test_profits_relative_to_mtma_share_one_axis_across_scenarios():
    table = pd.DataFrame({"scenario": ["a", "a", "b", "b"],
                          "variant": [e5_timescales.MTMA_VARIANT, "single timescale"] * 2,
                          "profit": [10.0, 9.0, 200.0, 202.0],
                          "profit_lo": [9.5, 8.0, 190.0, 200.0],
                          "profit_hi": [10.5, 10.0, 210.0, 204.0]})
    out = e5_timescales.relative_to_mtma(table)
    assert np.allclose(out["profit_pct"], [0.0, -10.0, 0.0, 1.0])
    assert np.allclose(out["profit_pct_lo"], [-5.0, -20.0, -5.0, 0.0])
    assert np.allclose(out["profit_pct_hi"], [5.0, 0.0, 5.0, 2.0])
    with pytest.raises(ValueError, match="no 'mtma"):
        e5_timescales.relative_to_mtma(table[table["variant"] != e5_timescales.MTMA_VARIANT])
