"""The E3, E4 and E6 functions of coordlib.experiments: main table, curves, behaviour.

Every expected number is computed here by hand (percent gaps, Student-t intervals, exact
regression coefficients, a known lag) or by an independent route through the library
(the sweep's heuristic experiment, the DP solver, the trained learner itself).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from coordlib.exact import dp
from coordlib.experiments import (
    e3_main_table,
    e4_learning_curves,
    e6_behaviour,
    e10_sweeps,
    learners,
    parameters,
)
from coordlib.experiments.parameters import ParameterError
from coordlib.learning.runs import evaluation_seed
from coordlib.model.rollout import trajectories


def test_main_table_gaps_by_hand():
    heur = pd.DataFrame({"scenario": ["a", "a", "b"], "method": ["siloed", "coordinated", "siloed"],
                         "n": [5, 5, 5], "profit": [10.0, 11.0, -4.0],
                         "profit_lo": [9.0, 10.0, -5.0], "profit_hi": [11.0, 12.0, -3.0]})
    learners = pd.DataFrame({"scenario": ["a", "b"], "config": ["mtma", "mtma"], "seeds": [3, 3],
                             "profit": [12.0, -2.0], "profit_lo": [11.0, -3.0],
                             "profit_hi": [13.0, -1.0], "train_seconds": [1.0, 1.0]})
    optimum = pd.DataFrame({"scenario": ["a"], "gain": [15.0], "gain_low": [15.0],
                            "gain_high": [15.0]})
    t = e3_main_table.main_table(heur, learners, optimum).set_index(["scenario", "method"])
    assert t.loc[("a", "learner: mtma"), "gap_siloed_pct"] == pytest.approx(20.0)
    assert t.loc[("a", "learner: mtma"), "gap_dp_pct"] == pytest.approx(-20.0)
    assert t.loc[("a", "coordinated"), "gap_siloed_pct"] == pytest.approx(10.0)
    assert t.loc[("a", "DP optimum g*"), "gap_siloed_pct"] == pytest.approx(50.0)
    # a negative baseline: the gap is relative to its magnitude, so better is still positive
    assert t.loc[("b", "learner: mtma"), "gap_siloed_pct"] == pytest.approx(50.0)
    assert np.isnan(t.loc[("b", "learner: mtma"), "gap_dp_pct"])
    assert list(t.loc["a"]["kind"]) == ["heuristic", "heuristic", "learner", "DP"]


def test_curve_bands_and_final_means_t_interval():
    curves = pd.DataFrame({"scenario": "tiny", "config": "mtma", "seed": [0, 0, 1, 1],
                           "iteration": [1, 2, 1, 2], "env_steps": [10, 20, 10, 20],
                           "profit": [1.0, 3.0, 2.0, 5.0], "steps_per_s": [100.0, 100, 300, 300]})
    bands = e4_learning_curves.curve_bands(curves).set_index("env_steps")
    half = stats.t.ppf(0.975, 1) * np.std([3.0, 5.0], ddof=1) / np.sqrt(2)   # 12.706 * 1.414 / 1.414
    assert bands.loc[20, "profit"] == pytest.approx(4.0)
    assert bands.loc[20, "profit_hi"] - 4.0 == pytest.approx(half)
    assert half == pytest.approx(12.7062, abs=1e-3)
    final = e4_learning_curves.final_means(curves).iloc[0]
    assert final[e4_learning_curves.ROLLOUT] == pytest.approx(4.0)
    assert "profit" not in final.index  # the rollout is not named as E3's evaluated profit
    assert final["steps_per_s"] == pytest.approx(200.0)
    assert final["iteration"] == 2 and final["seeds"] == 2


def test_b3_slopes_recover_exact_linear_response():
    rng = np.random.default_rng(0)
    available = rng.integers(0, 10, size=(4, 50, 3))
    others = available.sum(-1) - available[..., 0]
    exposure = np.zeros((4, 50, 3))
    exposure[..., 0] = 0.2 + 0.05 * available[..., 0] - 0.02 * others
    b3 = e6_behaviour.b3_slopes({"exposure": exposure, "available": available})
    assert b3.loc[0, "slope_own"] == pytest.approx(0.05, abs=1e-10)
    assert b3.loc[0, "slope_other"] == pytest.approx(-0.02, abs=1e-10)
    assert np.isnan(b3.loc[1, "corr_own"])   # constant exposure: no correlation


def test_b4_lags_find_a_known_delay():
    rng = np.random.default_rng(1)
    orders = rng.poisson(3.0, size=(8, 200, 1)).astype(float)
    exposure = np.zeros_like(orders)
    exposure[:, 2:, 0] = orders[:, :-2, 0]           # exposure(t + 2) = orders(t)
    b4 = e6_behaviour.b4_lags({"orders": orders, "exposure": exposure}, [2], max_lag=4)
    peak = b4.loc[b4.correlation.idxmax()]
    assert peak["lag"] == 2 and peak["correlation"] == pytest.approx(1.0, abs=0.02)


def test_check_learners_names_the_parameter():
    with pytest.raises(ParameterError, match="configs: unknown configuration 'mtmaa'"):
        parameters.check_learners(["mtmaa"])
    with pytest.raises(ParameterError, match="configs"):
        parameters.check_learners("mtma")
    with pytest.raises(ParameterError, match="workers"):
        parameters.check_learners(["mtma"], workers=0)
    parameters.check_learners(["mtma", "siloed"], workers=2)


def test_heuristic_table_matches_the_sweep_experiment():
    kw = dict(replications=4, periods=80, warmup=10, seed=3)
    table = e3_main_table.heuristic_table(["tiny"], methods=["siloed", "margin-greedy"], **kw)
    for method in ("siloed", "margin-greedy"):
        direct = e10_sweeps.evaluate_heuristic("tiny", method, **kw)["profit"]
        row = table[table.method == method].iloc[0]
        assert row["profit"] == pytest.approx(direct, rel=1e-12)
        assert row["profit_lo"] < row["profit"] < row["profit_hi"]


def test_dp_gains_skip_unsupported_and_cache(tmp_path):
    first = e3_main_table.dp_gains(["tiny", "medium"], cache_dir=tmp_path)
    assert list(first.scenario) == ["tiny"]                       # medium: N > 2, no DP
    assert first.gain.iloc[0] == pytest.approx(dp.solve("tiny").gain, abs=1e-12)
    again = e3_main_table.dp_gains(["tiny"], cache_dir=tmp_path)
    assert again.gain.iloc[0] == first.gain.iloc[0]
    assert len(list((tmp_path / "dp_gain").glob("*.json"))) == 1


def test_load_policy_acts_like_the_trained_policy(tmp_path):
    from coordlib.learning.config import config_for
    from coordlib.learning.training import train

    result = train("tiny", config_for("mtma", iterations=1, n_envs=8, rollout_length=8),
                   out_dir=tmp_path, progress=False, evaluate_policy=False)
    policy, name = learners.load_policy(tmp_path)
    assert name == "tiny"
    kw = dict(replications=3, periods=30, warmup=5, seed=4)
    a = trajectories("tiny", result.policy, **kw)
    b = trajectories("tiny", policy, **kw)
    for key in ("orders", "exposure", "profit"):
        np.testing.assert_array_equal(a[key], b[key])


def test_behaviour_of_the_dp_policy_follows_b3_and_b4():
    """The exact optimum on tiny (L = 1) shows B3's signs and B4's peak at the lead time."""
    solution = dp.solve("tiny")
    b3, b4, _ = e6_behaviour.behaviour("tiny", solution.policy, replications=8, periods=300,
                                      warmup=50, seed=0, max_lag=4)
    assert (b3.slope_own > 0).all() and (b3.slope_other < 0).all()
    assert (b3.peak_lag == 1).all() and (b3.lead_time == 1).all()


def test_iterations_per_scenario_are_checked_and_train_each_scenario_its_own_count(tmp_path):
    check = parameters.iterations_by_scenario
    assert check(5, ["tiny"]) == 5
    assert check({"tiny": 2, "medium": 7}, ["tiny", "medium"]) == {"tiny": 2, "medium": 7}
    with pytest.raises(ParameterError, match=r"missing \['medium'\]"):
        check({"tiny": 2}, ["tiny", "medium"])
    with pytest.raises(ParameterError, match=r"not in scenarios \['large'\]"):
        check({"tiny": 2, "large": 3}, ["tiny"])
    with pytest.raises(ParameterError, match=r"iterations\['tiny'\]"):
        check({"tiny": 0}, ["tiny"])
    with pytest.raises(ParameterError, match="iterations"):
        parameters.check_parameters(scenarios=["tiny"], iterations=2.5)
    params = parameters.check_parameters(scenarios=["tiny", "tiny-margin"],
                                          iterations={"tiny": 1, "tiny-margin": 2})
    runs = learners.learner_sweep("t", params.scenarios, ["mtma"], [0], params.iterations,
                                     tmp_path, workers=1)
    done = dict(zip(runs.scenario, runs.iterations))
    assert done == {"tiny": 1, "tiny-margin": 2}
    curves = learners.learning_curves(runs)
    assert curves.groupby("scenario").iteration.max().to_dict() == done


def test_learners_are_evaluated_on_one_independent_stream_per_seed(tmp_path):
    """Each training seed's policy is evaluated on its own stream (evaluation_seed), the same
    seed gives the same numbers, and the evaluated profit is coordlib.evaluate of the saved
    policy on that stream: seeds x replications, not seeds on one shared draw."""
    from coordlib.model.evaluation import evaluate

    kw = dict(n_envs=8, rollout_length=8, eval_replications=4, eval_periods=60, eval_warmup=10)
    runs = {s: learners.train_evaluate("tiny", "siloed", s, 1, runs_dir=tmp_path, **kw)
            for s in (0, 1)}
    again = learners.train_evaluate("tiny", "siloed", 0, 1, **kw)
    for k in ("profit", "profit_lo", "profit_hi", "profit_se", "evaluation_stream"):
        assert again[k] == runs[0][k]
    assert runs[0]["evaluation_stream"] == evaluation_seed(0) != evaluation_seed(1)
    assert evaluation_seed(0) not in (0, 1)              # not a training stream
    policy, _ = learners.load_policy(tmp_path / learners.run_name("tiny", "siloed", 1, kw))
    frame = evaluate("tiny", policy, 4, 60, 10, seed=evaluation_seed(1))
    assert frame["profit"].mean() == pytest.approx(runs[1]["profit"], abs=1e-12)
    half = runs[1]["profit_hi"] - runs[1]["profit"]
    assert runs[1]["profit_se"] == pytest.approx(half / stats.t.ppf(0.975, 3))
    with pytest.raises(ValueError, match="seed"):
        evaluation_seed(-1)


def test_across_seeds_interval_is_over_seed_means_and_says_so():
    runs = pd.DataFrame({"scenario": "tiny", "config": ["a", "a", "a", "b"], "seed": [0, 1, 2, 0],
                         "profit": [19.0, 19.5, 20.5, 18.0], "profit_lo": [18.8, 19.3, 20.2, 17.6],
                         "profit_hi": [19.2, 19.7, 20.8, 18.4], "evaluated_replications": 20,
                         "evaluation_stream": [11, 12, 13, 11], "train_seconds": 1.0})
    t = learners.across_seeds(runs).set_index("config")
    half = stats.t.ppf(0.975, 2) * np.std([19.0, 19.5, 20.5], ddof=1) / np.sqrt(3)
    assert t.loc["a", "profit_hi"] - t.loc["a", "profit"] == pytest.approx(half)
    assert t.loc["a", "interval"] == "3 seeds x 20 replications"
    # one seed: its own interval across replications, labelled as missing the training noise
    assert (t.loc["b", "profit_lo"], t.loc["b", "profit_hi"]) == (17.6, 18.4)
    assert t.loc["b", "interval"] == "20 replications (1 seed)"
    shared = runs.assign(evaluation_stream=11)
    with pytest.raises(ValueError, match="share an evaluation stream"):
        learners.across_seeds(shared)
    # seed means closer together than the evaluation noise allows: the pooled replications'
    # interval, sqrt(mean se^2 / S) with S (R - 1) degrees of freedom, is the floor
    close = runs[runs.config == "a"].assign(profit=[19.74, 19.75, 19.76], profit_se=0.12)
    row = learners.across_seeds(close).iloc[0]
    floor = stats.t.ppf(0.975, 3 * 19) * 0.12 / np.sqrt(3)
    assert row["profit_hi"] - row["profit"] == pytest.approx(floor)
    assert floor > stats.t.ppf(0.975, 2) * 0.01 / np.sqrt(3)


def test_e1_instances_take_a_class_s_changes_but_not_into_the_committed_tables(tmp_path):
    from coordlib.common.files import REPO_DIR
    from coordlib.experiments import e1_theory

    shipped = e1_theory.e1_instances()
    lifted = e1_theory.e1_instances(lift=4.0, arrival_scale=2.0)
    for name, scenario in lifted.items():
        assert scenario.lift.tolist() == [4.0] * scenario.n_segments
        assert scenario.arrival_rate == pytest.approx(2 * shipped[name].arrival_rate)
    own = e1_theory.e1_settings(figures_dir=str(tmp_path / "f"), tables_dir=str(tmp_path / "t"))
    assert e1_theory.e1_instances(own, margin_scale=0.5)["tiny-margin"].unit_cost.tolist() != \
        shipped["tiny-margin"].unit_cost.tolist()
    paper = e1_theory.e1_settings(profile="paper", figures_dir=str(REPO_DIR / "figures"),
                                  tables_dir=str(REPO_DIR / "data" / "tables"))
    with pytest.raises(ValueError, match="lift: the committed tables and figures hold the shipped"):
        e1_theory.e1_instances(paper, lift=4.0)
    with pytest.raises(ValueError, match="unknown knob"):
        e1_theory.e1_instances(lfit=4.0)


def test_e1_settings_take_the_manifests_budget_and_an_explicit_value_wins(tmp_path):
    from coordlib.experiments import e1_theory
    from coordlib.pipeline.reproduce import budget

    dirs = dict(figures_dir=str(tmp_path / "f"), tables_dir=str(tmp_path / "t"))
    for profile in ("smoke", "paper"):
        given = budget("E1", profile)
        settings = e1_theory.e1_settings(profile, **dirs)
        assert settings.shares.tolist() == np.linspace(0, 1, given["shares"]).tolist()
        assert settings.lead_times == tuple(given["lead_times"])
        assert all(getattr(settings, name) == given[name]
                   for name in ("n_mc", "stationary_replications", "periods", "sweep_points",
                                "rate_grid"))
    own = e1_theory.e1_settings("paper", **dirs, n_mc=500, lead_times=[3], shares=3)
    assert (own.n_mc, own.lead_times, own.shares.tolist()) == (500, (3,), [0.0, 0.5, 1.0])
    for bad in (dict(periods=1), dict(lead_times=[0]), dict(lead_times="1"), dict(rate_grid=2.5)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            e1_theory.e1_settings("smoke", **dirs, **bad)


def test_the_experiment_modules_hand_sweeps_their_functions_and_jobs_keep_their_ids():
    # the grids name the function itself (a reader follows the call); the workers and the job
    # ids see its dotted path, as when the grids spelled it out, so cached runs stay valid
    from coordlib.experiments import e5_timescales, e7_scalability, e11_lost_sales, learners
    from coordlib.pipeline import sweep

    for function in (learners.train_evaluate, e5_timescales.variant_run, e7_scalability.learner_run,
                     e7_scalability.baseline_run, e11_lost_sales.learner_run):
        dotted = f"{function.__module__}.{function.__name__}"
        grids = [sweep.load_grid({"experiment": e, "fixed": {"iterations": 3}, "seeds": [0]},
                                 import_experiment=False) for e in (function, dotted)]
        assert grids[0].experiment == grids[1].experiment == dotted
        assert [j.id for j in grids[0].jobs()] == [j.id for j in grids[1].jobs()]


def test_e4_convergence_verdicts_tell_a_rising_curve_from_a_level_one():
    steps = np.arange(1, 61)
    rng = np.random.default_rng(0)
    level = 10 + rng.normal(0, 0.1, steps.size)            # noise around a constant
    rising = 10 + 0.5 * steps + rng.normal(0, 0.1, steps.size)  # a trend 50x the noise
    bands = pd.concat([pd.DataFrame({"scenario": "tiny", "config": c, "env_steps": steps,
                                     "profit": y}) for c, y in (("flat", level), ("up", rising))])
    verdicts = e4_learning_curves.convergence_verdicts(bands).set_index("config")
    assert verdicts.loc["flat", "verdict"] == "levelled off"
    assert verdicts.loc["up", "verdict"] == "still changing"
    assert verdicts.loc["up", "slope"] == pytest.approx(0.5, rel=0.05)  # the trend put in
    short = e4_learning_curves.convergence_verdicts(bands[bands.env_steps <= 5])
    assert set(short["verdict"]) == {"too short to tell"}
