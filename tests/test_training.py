"""Training the learner (MODEL.md section 6): configurations, the loop, timescales, checkpoints
and resume, divergence detection, the command line, and (slow) the profit targets against
the exact DP optimum and the heuristics."""
from __future__ import annotations

import dataclasses
import json
import platform
import re
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from coordlib import Simulator, evaluate, mean_ci, policies, scenarios
from coordlib.exact import dp
from coordlib.learning import checkpoints, config, mtma, schedules
from coordlib.learning.checkpoints import CheckpointError
from coordlib.learning.config import ConfigError, TrainConfig, config_for, step_size
from coordlib.learning.mtma import TrainingDivergedError
from coordlib.learning.training import train

FAST = dict(n_envs=8, rollout_length=8, epochs=2, minibatches=2, hidden=16,
            eval_replications=3, eval_periods=30, eval_warmup=5, checkpoint_every=1)
"""A configuration small enough for unit tests (seconds, not minutes)."""


def _weights(learner):
    return {k: v.clone() for k, v in learner.agents.state_dict().items()}


# ---- configurations -------------------------------------------------------------------------
def test_every_field_has_a_one_line_docstring():
    docs = config.config_docs()
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    assert list(docs) == fields
    assert all(d and "\n" not in d and "default" in d for d in docs.values())


def test_config_docs_read_the_field_declarations_not_the_source(monkeypatch):
    import inspect

    def no_source(*args, **kwargs):
        raise OSError("no source (e.g. a zipped or frozen install)")

    monkeypatch.setattr(inspect, "getsource", no_source)
    docs = config.config_docs()
    assert docs["gamma"] == "discount per period [1]; default 0.99"
    assert docs["decay_start"] == "n0 of the decaying schedule [iterations]; default 100"
    for f in dataclasses.fields(TrainConfig):     # one declaration: meaning, rule, default
        assert f.metadata["help"] and isinstance(f.metadata["check"], config.Rule), f.name
        assert f.metadata["check"](f.default), f.name


@pytest.mark.parametrize("field,value,message", [
    ("n_envs", 0, "n_envs: must be a whole number >= 1"),
    ("minibatches", 3, "minibatches: must divide n_envs"),
    ("gamma", 1.0, "gamma: must lie in [0, 1)"),
    ("clip", -0.1, "clip: must be a positive"),
    ("exposure_entropy_coef", -0.01, "exposure_entropy_coef: must be a finite number >= 0"),
    ("entropy_decay", float("inf"), "entropy_decay: must be a finite number >= 0"),
    ("decay_power_fast", 0.5, "decay_power_fast: must lie in (0.5, 1]"),
    ("decay_power_slow", 0.55, "decay_power_slow: must be >= decay_power_fast"),
    ("fast_agent", "critic", "fast_agent: must be one of replenisher, recommender"),
    ("recommender_reward", "revenue", "recommender_reward: must be one of profit, gmv"),
    ("frozen", ("replenisher", "marketing"), "frozen: must be a tuple of names"),
    ("memory", "yes", "memory: must be true or false"),
    ("device", "toaster", "device: must name a torch device"),
    ("eval_warmup", 500, "eval_warmup: must be smaller than eval_periods"),
])
def test_bad_configuration_values_name_the_field(field, value, message):
    with pytest.raises(ConfigError, match=re.escape(f"TrainConfig.{message}")):
        config_for("mtma", **{field: value})


def test_configuration_errors_for_names_and_inconsistent_choices():
    with pytest.raises(ConfigError, match="unknown configuration 'ppo'.*mtma"):
        config_for("ppo")
    with pytest.raises(ConfigError, match="unknown field.*learning_rate"):
        config_for("mtma", learning_rate=0.1)
    with pytest.raises(ConfigError, match="frozen: names agents this configuration does not"):
        config_for("centralized", frozen=("replenisher",))
    with pytest.raises(ConfigError, match="recommender_reward: must equal replenisher_reward"):
        config_for("centralized", recommender_reward="gmv")


def test_presets_differ_from_mtma_only_in_what_their_name_says():
    base = config_for("mtma").to_dict()
    diff = {name: {k: v for k, v in config_for(name).to_dict().items()
                   if v != base[k] and k != "name"} for name in config.PRESETS}
    assert diff["mtma"] == {}
    assert diff["independent"] == {"critic": "per_agent"}
    assert diff["siloed"] == {"critic": "per_agent", "recommender_reward": "gmv"}
    assert diff["centralized"] == {"actor": "joint"}
    single = config_for("single_timescale")
    for n in (0, 7, 500):     # one step size for the critic and both actors, at every n
        assert step_size(single, "critic", n) == step_size(single, "fast", n) \
            == step_size(single, "slow", n)


def test_decaying_step_sizes_follow_the_formula_and_separate_the_timescales():
    c = config_for("mtma", lr_fast=0.01, timescale_ratio=0.5, decay_start=10.0,
                   decay_power_fast=0.6, decay_power_slow=0.9, decay_power_critic=0.55,
                   lr_critic=0.02)
    n = np.array([0, 10, 1000, 10 ** 6])
    fast = np.array([step_size(c, "fast", k) for k in n])
    slow = np.array([step_size(c, "slow", k) for k in n])
    assert np.allclose(fast, 0.01 / (1 + n / 10) ** 0.6, rtol=1e-14)
    assert np.allclose(slow, 0.005 / (1 + n / 10) ** 0.9, rtol=1e-14)
    # alpha_slow / alpha_fast = 0.5 (1 + n / n0)^-0.3 -> 0
    assert np.allclose(slow / fast, 0.5 * (1 + n / 10) ** -0.3, rtol=1e-12)
    assert step_size(c, "critic", 10) == pytest.approx(0.02 / 2 ** 0.55)
    const = c.replace(schedule="constant")
    assert step_size(const, "slow", 10 ** 6) == 0.005


def test_step_size_evaluates_the_schedule_objects_and_matches_the_closed_form():
    # alpha_n = a / (1 + n / n0)^rho, a_slow = timescale_ratio * a_fast (MODEL.md section 6)
    c = config_for("mtma", lr_fast=0.004, timescale_ratio=0.25, lr_critic=0.006,
                   decay_start=50.0, decay_power_critic=0.55, decay_power_fast=0.65,
                   decay_power_slow=0.95)
    closed = {"critic": (0.006, 0.55), "fast": (0.004, 0.65), "slow": (0.004 * 0.25, 0.95)}
    for timescale, (a, rho) in closed.items():
        schedule = c.schedule_of(timescale)
        assert schedule == schedules.Decaying(a, 50.0, rho)
        for n in (0, 1, 49, 50, 1234, 10 ** 6):
            alpha = a / (1 + n / 50.0) ** rho
            assert step_size(c, timescale, n) == pytest.approx(alpha, rel=1e-15, abs=0)
            assert schedule(n) == step_size(c, timescale, n)
    assert step_size(c, "slow", 0) == pytest.approx(0.001, rel=1e-15)
    # the shipped defaults meet the two-timescale conditions of the convergence result
    mtma_defaults = config_for("mtma")
    report = schedules.check_schedule(mtma_defaults.schedule_of("fast"),
                                      mtma_defaults.schedule_of("slow"), n=10 ** 5)
    assert report.two_timescale
    const = c.replace(schedule="constant")
    assert const.schedule_of("slow") == schedules.Constant(0.001)
    assert [step_size(const, "critic", n) for n in (0, 10 ** 6)] == [0.006, 0.006]
    with pytest.raises(ValueError, match="unknown timescale 'medium'"):
        c.schedule_of("medium")


# ---- the loop -------------------------------------------------------------------------------
def test_short_training_improves_profit_beyond_the_evaluation_noise():
    # tiny-margin, not tiny: on tiny the initial policy (newsvendor levels, uniform exposure)
    # is already within 3% of g* (19.60 vs 20.15), too close to show a gain in a short test;
    # on tiny-margin it is 15.0 against g* = 17.57
    s = scenarios.get("tiny-margin")
    config = config_for("mtma", seed=0, iterations=30, n_envs=32)
    start = mtma.Learner(s, config).policy()
    result = train(s, config, progress=False, evaluate_policy=False)
    kwargs = dict(replications=20, periods=300, warmup=50, seed=7)
    before = mean_ci(evaluate(s, start, **kwargs)["profit"])
    after = mean_ci(evaluate(s, result.policy, **kwargs)["profit"])
    # disjoint 95% intervals: the gain is larger than the evaluation noise
    assert after[1] > before[2], (before, after)
    # and the learning curve went up: last five rollouts against the first five
    curve = result.curve["profit"].to_numpy()
    assert curve[-5:].mean() > curve[:5].mean() + 0.5


def test_large_scenario_shapes_and_a_few_updates():
    s = scenarios.get("large")
    config = config_for("mtma", iterations=2, **{**FAST, "n_envs": 4, "rollout_length": 4,
                                                 "minibatches": 1})
    learner = mtma.Learner(s, config)
    before = _weights(learner)
    rollout = learner.collect()
    T, B, N, K = 4, 4, s.n_products, s.n_segments
    assert rollout.level_index.shape == (T, B, N) and rollout.logits.shape == (T, B, K, N)
    assert rollout.logp_levels.shape == (T, B, N) and rollout.logp_logits.shape == (T, B, K, N)
    assert rollout.values["central"].shape == (T + 1, B, N, 1)
    assert rollout.rewards["profit"].shape == (T, B, N) and rollout.profit.shape == (T, B)
    advantages = learner.advantages(rollout)
    assert advantages.of_role["replenisher"].shape == (T, B, N)
    assert advantages.of_role["recommender"].shape == (T, B)
    assert advantages.targets[("central", 0)].shape == (T, B, N)
    learner.update(rollout, advantages)
    learner.iterate()
    after = _weights(learner)
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any(k.startswith("actors.replenisher") for k in changed)
    assert any(k.startswith("actors.recommender") for k in changed)
    assert any(k.startswith("critics.central") for k in changed)
    assert all(torch.isfinite(v).all() for v in after.values())


@pytest.mark.parametrize("name", ["single_timescale", "independent", "siloed", "siloed_cost",
                                  "centralized"])
def test_every_preset_trains_with_the_same_loop(name, tmp_path):
    result = train("tiny", config_for(name, iterations=2, **FAST), out_dir=tmp_path,
                   progress=False)
    learner = result.learner
    expected_actors = ["joint"] if name == "centralized" else ["replenisher", "recommender"]
    assert list(learner.agents.actors) == expected_actors
    assert set(learner.optimizers) == set(expected_actors) | {f"critic/{c}" for c in
                                                              learner.agents.critics}
    if name in ("independent", "siloed", "siloed_cost"):
        assert set(learner.agents.critics) == {"replenisher", "recommender"}
    assert np.isfinite(result.summary["profit"])


@pytest.mark.parametrize("backlog", [False, True])
def test_reward_streams_per_product_add_up_to_the_firms_and_the_kpis(backlog):
    s = scenarios.get("tiny-margin").replace(backlog=backlog)
    sim = Simulator(s, batch_size=3, seed=0)
    sim.reset()
    for q in ([[0, 0]] * 3, [[3, 0], [0, 5], [1, 1]]):   # a first period that leaves shortfalls
        r = sim.step(np.array(q), s.uniform_exposure())
    per_product = {k: mtma._reward(r, k, s) for k in ("profit", "gmv", "operating_cost")}
    assert all(v.shape == (3, 2) for v in per_product.values())
    assert np.allclose(per_product["profit"].sum(1), r.profit)              # r_t of the simulator
    gmv = (r.demand.sum(axis=1) * s.price).sum(axis=1)                      # sum_i p_i D_i
    assert np.allclose(per_product["gmv"].sum(1), gmv)
    cost = r.purchase_cost + r.holding_cost + r.penalty_cost                # c q + h I + b l
    assert np.allclose(per_product["operating_cost"].sum(1), -cost)


def test_frozen_agent_keeps_its_parameters_while_the_other_learns():
    s = scenarios.get("tiny")
    result = train(s, config_for("mtma", iterations=3, frozen=("replenisher",), **FAST),
                   progress=False, evaluate_policy=False)
    start = mtma.Learner(s, config_for("mtma", iterations=3, **FAST))
    assert torch.equal(result.learner.parameters_of("replenisher"),
                       start.parameters_of("replenisher"))
    assert not torch.equal(result.learner.parameters_of("recommender"),
                           start.parameters_of("recommender"))
    # the frozen agent's inputs are standardized as they were: the statistics of its view stay
    agents = result.learner.agents
    fixed = agents.views_of(agents.actors["replenisher"])
    learned = agents.views_of(agents.actors["recommender"]) | {"full"}
    assert fixed and not fixed & learned
    for key, normalizer in agents.normalizers.items():
        before = start.agents.normalizers[key]
        same = all(torch.equal(a, b) for a, b in zip(normalizer.buffers(), before.buffers()))
        assert same == (key in fixed), key
    # init_from: a new run starts from the trained weights (e.g. to freeze the slow agent)
    follow = mtma.Learner(s, config_for("mtma", seed=5, **FAST), init_from=result.learner)
    assert torch.equal(follow.parameters_of("recommender"),
                       result.learner.parameters_of("recommender"))


def test_update_frequency_skips_the_slow_agent_between_its_turns():
    s = scenarios.get("tiny")
    seen = []
    learner = mtma.Learner(s, config_for("mtma", replenisher_every=3, **FAST))
    for _ in range(4):
        before = learner.parameters_of("replenisher")
        learner.iterate()
        seen.append(not torch.equal(before, learner.parameters_of("replenisher")))
    assert seen == [True, False, False, True]       # iterations 0 and 3


# ---- outputs, checkpoints and resume -----------------------------------------------------------
def test_outputs_curve_checkpoint_and_summary(tmp_path):
    result = train("tiny", config_for("mtma", iterations=3, **FAST), out_dir=tmp_path,
                   progress=False)
    curve = pd.read_csv(tmp_path / "curve.csv")
    assert curve["iteration"].tolist() == [1, 2, 3]
    assert curve["env_steps"].tolist() == [64, 128, 192]
    for column in ("profit", "loss_replenisher", "loss_recommender", "loss_critic_central",
                   "entropy_replenisher", "entropy_recommender", "lr_replenisher",
                   "lr_recommender", "lr_critic_central", "wall_time", "steps_per_s"):
        assert column in curve and np.isfinite(curve[column]).all(), column
    summary = json.loads((tmp_path / "summary.json").read_text())
    # the summary's profit is coordlib.evaluate of the returned policy, same settings
    frame = evaluate("tiny", result.policy, replications=3, periods=30, warmup=5, seed=0)
    mean, lo, hi = mean_ci(frame["profit"])
    assert summary["profit"] == pytest.approx(mean, rel=1e-12)
    assert (summary["profit_ci_low"], summary["profit_ci_high"]) == pytest.approx((lo, hi))
    assert summary["iterations"] == 3 and summary["env_steps"] == 192
    state = checkpoints.load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["iteration"] == 3


def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path):
    config = config_for("mtma", iterations=4, **FAST)
    whole = train("tiny", config, out_dir=tmp_path / "whole", progress=False,
                  evaluate_policy=False)
    train("tiny", config.replace(iterations=2), out_dir=tmp_path / "split", progress=False,
          evaluate_policy=False)
    resumed = train("tiny", config, out_dir=tmp_path / "split", progress=False, resume=True,
                    evaluate_policy=False)
    a, b = _weights(whole.learner), _weights(resumed.learner)
    assert all(torch.equal(a[k], b[k]) for k in a)             # bitwise
    drop = ["wall_time", "steps_per_s"]
    pd.testing.assert_frame_equal(whole.curve.drop(columns=drop), resumed.curve.drop(columns=drop))
    assert np.array_equal(whole.learner.sim.on_hand, resumed.learner.sim.on_hand)


def test_resume_refuses_a_checkpoint_of_another_configuration(tmp_path):
    train("tiny", config_for("mtma", iterations=1, **FAST), out_dir=tmp_path, progress=False,
          evaluate_policy=False)
    with pytest.raises(CheckpointError, match="different configuration: clip"):
        train("tiny", config_for("mtma", iterations=2, **{**FAST, "clip": 0.1}),
              out_dir=tmp_path, progress=False, resume=True)
    with pytest.raises(CheckpointError, match="for scenario 'tiny', not 'tiny-margin'"):
        train("tiny-margin", config_for("mtma", iterations=2, **FAST), out_dir=tmp_path,
              progress=False, resume=True)


def test_corrupt_or_unsafe_checkpoints_give_a_clear_error(tmp_path):
    train("tiny", config_for("mtma", iterations=1, **FAST), out_dir=tmp_path, progress=False,
          evaluate_policy=False)
    good = (tmp_path / "checkpoint.pt").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="not a readable coordlib checkpoint"):
        checkpoints.load_checkpoint(cut)
    noise = tmp_path / "noise.pt"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match="not a readable coordlib checkpoint"):
        checkpoints.load_checkpoint(noise)
    unsafe = tmp_path / "unsafe.pt"      # an arbitrary object: weights_only refuses to build it
    torch.save({"format": "coordlib-checkpoint", "payload": pd.Timestamp(0)}, unsafe)
    with pytest.raises(CheckpointError, match="not a readable coordlib checkpoint"):
        checkpoints.load_checkpoint(unsafe)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="not a coordlib checkpoint"):
        checkpoints.load_checkpoint(other)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        checkpoints.load_checkpoint(tmp_path / "missing.pt")


def test_nan_in_a_parameter_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    def poison(learner, row):
        if learner.iteration == 2:
            with torch.no_grad():
                next(learner.agents.actors["recommender"].parameters()).view(-1)[0] = float("nan")

    with pytest.raises(TrainingDivergedError, match="parameter .* of recommender holds NaN"):
        train("tiny", config_for("mtma", iterations=5, **FAST), out_dir=tmp_path,
              progress=False, callback=poison)
    state = checkpoints.load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["iteration"] == 1
    assert all(torch.isfinite(v).all() for v in state["agents"].values())


def test_nan_in_a_loss_stops_training(tmp_path, monkeypatch):
    real = mtma._reward

    def poison(learner, row):
        if learner.iteration == 2:
            monkeypatch.setattr(mtma, "_reward",
                                lambda r, stream, price: real(r, stream, price) * np.nan)

    with pytest.raises(TrainingDivergedError, match="iteration 3: the loss of .* is nan"):
        train("tiny", config_for("mtma", iterations=5, **FAST), out_dir=tmp_path,
              progress=False, callback=poison)
    assert checkpoints.load_checkpoint(tmp_path / "checkpoint.pt")["iteration"] == 2


# ---- the command line -----------------------------------------------------------------------
def test_command_line_trains_and_writes_its_outputs(tmp_path, capsys):
    from coordlib.cli import main
    sets = [f"--set={k}={v}" for k, v in FAST.items()]
    code = main(["train", "--scenario", "tiny", "--config", "siloed", "--seed", "3", "--out",
                 str(tmp_path), "--iterations", "2", "--device", "cpu", "--no-progress", *sets])
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"] == "siloed" and summary["seed"] == 3 and summary["iterations"] == 2
    assert summary["settings"]["recommender_reward"] == "gmv"
    assert "mean profit per period" in capsys.readouterr().out
    assert (tmp_path / "curve.csv").is_file() and (tmp_path / "checkpoint.pt").is_file()
    code = main(["train", "--scenario", "tiny", "--out", str(tmp_path / "x"), "--set",
                 "gamma=2", "--no-progress"])
    assert code == 2 and "TrainConfig.gamma" in capsys.readouterr().err


# ---- targets (slow: minutes of training each) ------------------------------------------------
TARGET_EVAL = dict(replications=100, periods=1000, warmup=100, seed=11)
"""A long evaluation: its 95% interval is about +-0.07 per period on tiny."""


def _trained(scenario, name, seed, iterations, evaluation=TARGET_EVAL):
    result = train(scenario, config_for(name, seed=seed, iterations=iterations), progress=False,
                   evaluate_policy=False)
    return mean_ci(evaluate(scenario, result.policy, **evaluation)["profit"])


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["tiny", "tiny-margin"])
def test_mtma_is_within_two_percent_of_the_dp_optimum_and_above_siloed(scenario):

    g_star = dp.solve(scenario).gain
    mtma = _trained(scenario, "mtma", seed=0, iterations=300)
    siloed = _trained(scenario, "siloed", seed=0, iterations=300)
    heuristic = mean_ci(evaluate(scenario, policies.siloed_heuristic(scenarios.get(scenario)),
                                 **TARGET_EVAL)["profit"])
    assert mtma[0] >= 0.98 * g_star, (mtma, g_star)
    assert mtma[1] > siloed[2] and mtma[1] > heuristic[2], (mtma, siloed, heuristic)


@pytest.mark.slow
def test_mtma_on_medium_beats_every_heuristic_and_configuration_over_five_seeds():
    # hours of CPU: 6 configurations x 5 seeds x 400 iterations; 95% t-intervals over seeds
    s = scenarios.get("medium")
    evaluation = dict(replications=20, periods=500, warmup=100, seed=0)
    seeds = range(5)
    gains = {name: [_trained(s, name, seed, 400, evaluation)[0] for seed in seeds]
             for name in ("mtma", "single_timescale", "independent", "siloed", "centralized")}
    ci = {name: mean_ci(values) for name, values in gains.items()}
    heuristics = {"siloed heuristic": policies.siloed_heuristic(s),
                  "coordinated heuristic": policies.coordinated_heuristic(s)}
    for name, policy in heuristics.items():
        ci[name] = mean_ci(evaluate(s, policy, **evaluation)["profit"])
    for name, (mean, lo, hi) in ci.items():
        if name != "mtma":
            assert ci["mtma"][1] > hi, (name, ci)


def test_entropy_decay_scales_both_entropy_weights_and_moves_the_training():
    constant = mtma.Learner(scenarios.get("tiny"), config_for("mtma", **FAST))
    assert [constant.entropy_scale(n) for n in (0, 10, 1000)] == [1.0, 1.0, 1.0]
    decaying = config_for("mtma", **FAST, entropy_decay=10)
    learner = mtma.Learner(scenarios.get("tiny"), decaying)
    assert [learner.entropy_scale(n) for n in (0, 10, 30)] == [1.0, 0.5, 0.25]
    # with the entropy terms weighted differently, the same seed trains to other weights
    runs = [train("tiny", c.replace(iterations=3), progress=False, evaluate_policy=False)
            for c in (config_for("mtma", **FAST), decaying.replace(entropy_decay=0.1))]
    a, b = (_weights(r.learner) for r in runs)
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_the_allocator_setting_sets_the_trim_threshold_only_after_the_mmap_threshold():
    from coordlib.common import memory
    calls = []

    def mallopt(answer):
        return lambda parameter, value: calls.append((parameter, value)) or answer(parameter)

    assert memory._set(mallopt(lambda p: 1))
    assert calls == [(memory._M_MMAP_THRESHOLD, memory.MMAP_THRESHOLD),
                     (memory._M_TRIM_THRESHOLD, memory.TRIM_THRESHOLD)]
    calls.clear()
    assert not memory._set(mallopt(lambda p: 0))          # glibc refuses the mmap threshold
    assert calls == [(memory._M_MMAP_THRESHOLD, memory.MMAP_THRESHOLD)]
    assert not memory._set(None)                           # no glibc
    if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
        assert memory.keep_freed_memory() is True
        assert memory.keep_freed_memory() is True          # once per process, then remembered


@pytest.mark.parametrize("threshold, asked", [(1, True), (2 ** 40, False)])
def test_a_learner_keeps_freed_memory_only_for_large_iterations(monkeypatch, threshold, asked):
    calls = []
    monkeypatch.setattr(mtma, "keep_freed_memory", lambda: calls.append(1) or True)
    monkeypatch.setattr(mtma, "LARGE_ITERATION", threshold)
    mtma.Learner(scenarios.get("tiny"), config_for("mtma", n_envs=4, iterations=1))
    assert bool(calls) is asked
