"""coordlib among the standard RL libraries: registration without a prior import, the
normalized environments (checked by Gymnasium's, PettingZoo's and Stable-Baselines3's own
checkers), models of those environments evaluated by coordlib.evaluate, and the benchmark's
multi-agent peer seeing what SuperSuit shows it."""
from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium
import numpy as np
import pandas as pd
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

import coordlib
from coordlib import scenarios
from coordlib.envs import (
    ENV_ID,
    NORMALIZED_ENV_ID,
    CoordinationEnv,
    NormalizedCoordinationEnv,
    NormalizedParallelEnv,
    from_gymnasium,
    from_pettingzoo,
    observation_layout,
    parallel_env,
)
from coordlib.model.policy import Action, Policy


# ---- registration -----------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", [ENV_ID, NORMALIZED_ENV_ID])
def test_make_with_the_module_prefix_needs_no_prior_import(env_id):
    code = (f"import sys, gymnasium\n"
            f"assert 'coordlib' not in sys.modules\n"
            f"env = gymnasium.make('coordlib:{env_id}', scenario='tiny', max_periods=5)\n"
            f"obs, _ = env.reset(seed=0)\n"
            f"print(env.spec.id, obs.shape[0], env.action_space.shape[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd="/", timeout=1200)
    assert out.returncode == 0, out.stderr
    # tiny: joint observation 1 + 1 + 2 + 2 + 2 + 2 + 2 + 1 + 2 = 15, action N + K N = 4
    assert out.stdout.split() == [env_id, "15", "4"]


# ---- the normalized forms ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny", "medium", "weekly-review"])
def test_normalized_env_passes_gymnasiums_checker_without_warnings(name):
    env = gymnasium.make(NORMALIZED_ENV_ID, scenario=name, max_periods=30).unwrapped
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("name", ["tiny", "medium"])
def test_normalized_env_passes_sb3s_checker_without_warnings(name):
    env_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env_checker.check_env(NormalizedCoordinationEnv(name, max_periods=30), warn=True)
    assert [str(w.message) for w in caught] == []
    # the env in the model's units is what SB3 warns about: its Box(0, 1) action
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env_checker.check_env(CoordinationEnv(name, max_periods=30), warn=True)
    assert any("symmetric and normalized Box action space" in str(w.message) for w in caught)


def test_normalized_parallel_env_passes_pettingzoos_checker():
    parallel_api_test(NormalizedParallelEnv("tiny-personal", max_periods=40), num_cycles=60)


@pytest.mark.parametrize("name", ["tiny", "medium", "weekly-review"])
def test_normalized_env_is_the_same_env_under_the_two_affine_maps(name):
    """Same seed and the same decisions: the same rewards, and observations y = 2 o / high - 1."""
    raw, norm = CoordinationEnv(name, max_periods=40), NormalizedCoordinationEnv(name, max_periods=40)
    high = observation_layout(name, "joint", 40).high.astype(float)
    rng = np.random.default_rng(5)
    o, _ = raw.reset(seed=11)
    y, _ = norm.reset(seed=11)
    for _ in range(40):
        assert np.all(np.abs(y) <= 1) and y.dtype == np.float32
        assert np.allclose(y, np.where(high > 0, 2 * o / np.where(high > 0, high, 1) - 1, -1),
                           atol=1e-6)
        a = rng.uniform(-1, 1, norm.action_space.shape).astype(np.float32)
        u = np.clip((a.astype(np.float64) + 1) / 2, 0, 1).astype(np.float32)
        o, r_raw, _, done_raw, info_raw = raw.step(u)
        y, r_norm, _, done_norm, info_norm = norm.step(a)
        assert r_raw == r_norm and done_raw == done_norm
        assert np.array_equal(info_raw["orders"], info_norm["orders"])


def test_normalized_envs_reject_an_action_outside_the_symmetric_box():
    env = NormalizedCoordinationEnv("tiny")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        env.step(np.array([0.0, 1.5, 0.0, 0.0], dtype=np.float32))
    penv = NormalizedParallelEnv("tiny")
    penv.reset(seed=0)
    with pytest.raises(ValueError, match="recommender action"):
        penv.step({"replenisher": np.zeros(2), "recommender": np.full(2, -2.0)})


def test_normalized_parallel_env_orders_and_scores_map_as_documented():
    penv, raw = NormalizedParallelEnv("medium", max_periods=10), parallel_env("medium", max_periods=10)
    s = penv.scenario
    penv.reset(seed=3)
    raw.reset(seed=3)
    a_rep = np.linspace(-1, 1, s.n_products)
    a_rec = np.linspace(-1, 1, s.n_segments * s.n_products)
    _, rewards, _, _, infos = penv.step({"replenisher": a_rep, "recommender": a_rec})
    orders = np.floor((a_rep + 1) / 2 * s.max_order + 0.5).astype(int)
    _, raw_rewards, _, _, raw_infos = raw.step(
        {"replenisher": orders, "recommender": ((a_rec + 1) / 2).reshape(s.n_segments, -1)})
    assert rewards == raw_rewards
    assert np.array_equal(infos["replenisher"]["orders"], orders)
    assert np.allclose(infos["recommender"]["exposure"], raw_infos["recommender"]["exposure"])


# ---- models of the standard envs, evaluated like the heuristics -------------------------------
class Constant(Policy):
    """Orders q and exposure x every period, written directly in the model's terms."""

    def __init__(self, orders, exposure):
        self.orders, self.exposure, self.name = np.asarray(orders), np.asarray(exposure), "constant"

    def act(self, observation):
        B = observation.batch_size
        return Action(np.tile(self.orders, (B, 1)), np.tile(self.exposure, (B, 1, 1)))


def test_from_gymnasium_evaluates_exactly_what_the_decoded_action_does():
    tiny = scenarios.get("tiny")
    # joint action (0.25, 0.3, 1, 0): orders floor(0.25 x 20 + 1/2) = 5 and 6, exposure (1, 0)
    model = lambda obs: np.tile([0.25, 0.3, 1.0, 0.0], (len(obs), 1))
    symmetric = lambda obs: np.tile([-0.5, -0.4, 1.0, -1.0], (len(obs), 1))
    reference = coordlib.evaluate(tiny, Constant([5, 6], [[1.0, 0.0]]), 3, 60, 10, seed=4)
    for policy in (from_gymnasium(model), from_gymnasium(symmetric, normalized=True)):
        frame = coordlib.evaluate(tiny, policy, 3, 60, 10, seed=4)
        pd.testing.assert_frame_equal(frame.drop(columns="policy"),
                                      reference.drop(columns="policy"))


class RecordingModel:
    """An SB3-like model: records what it is shown, answers with the env's order-up-to rule."""

    def __init__(self):
        self.seen = []

    def predict(self, obs, deterministic=True):
        self.seen.append(np.array(obs))
        return np.zeros((len(obs), 4), dtype=np.float32), None


def test_from_gymnasium_shows_the_model_what_the_normalized_env_shows():
    model = RecordingModel()
    policy = from_gymnasium(model, normalized=True, max_periods=30)
    s = scenarios.get("tiny")
    env = NormalizedCoordinationEnv(s, max_periods=30)
    policy.reset(s, 1, np.random.default_rng(0))
    y, _ = env.reset(seed=2)
    for _ in range(15):
        action = policy.act(env.env.simulator.observation)
        assert np.array_equal(model.seen[-1][0], y)
        assert action.orders.tolist() == [[10, 10]]            # a = 0 -> u = 1/2 -> 10 of 20
        y, *_ = env.step(np.zeros(4, dtype=np.float32))


def test_from_pettingzoo_decides_per_department_as_the_env_decodes():
    tiny = scenarios.get("tiny")
    reference = coordlib.evaluate(tiny, Constant([4, 7], [[0.25, 0.75]]), 3, 60, 10, seed=1)
    raw = {"replenisher": lambda obs: np.tile([4, 7], (len(obs), 1)),
           "recommender": lambda obs: np.tile([[0.1, 0.3]], (len(obs), 1, 1))}
    # normalized: orders floor(u x 20 + 1/2) with u = 0.2 and 0.35; scores 0.25 : 0.75
    norm = {"replenisher": lambda obs: np.tile([-0.6, -0.3], (len(obs), 1)),
            "recommender": lambda obs: np.tile([-0.5, 0.5], (len(obs), 1))}
    for policy in (from_pettingzoo(raw), from_pettingzoo(norm, normalized=True)):
        frame = coordlib.evaluate(tiny, policy, 3, 60, 10, seed=1)
        pd.testing.assert_frame_equal(frame.drop(columns="policy"),
                                      reference.drop(columns="policy"))


def test_adapters_reject_what_is_not_a_model():
    with pytest.raises(TypeError, match="predict"):
        from_gymnasium(42)
    with pytest.raises(ValueError, match="one model per agent"):
        from_pettingzoo({"replenisher": lambda o: o})
    policy = from_gymnasium(lambda obs: np.zeros((len(obs), 3)))
    with pytest.raises(ValueError, match="expected 4 entries"):
        coordlib.evaluate(scenarios.get("tiny"), policy, 1, 5, 0, seed=0)


# ---- the benchmark's multi-agent peer ----------------------------------------------------------
def test_shared_model_rules_build_supersuits_padded_observation():
    pytest.importorskip("supersuit")
    pytest.importorskip("stable_baselines3")
    from coordlib.bench.peers import independent_ppo_env, shared_agent_models

    s = scenarios.get("medium")          # views of different sizes: padding matters
    venv = independent_ppo_env(s, copies=1, max_periods=20, seed=6)
    obs = venv.reset()                   # rows: replenisher, recommender (possible_agents order)

    class Echo:
        def predict(self, x, deterministic=True):
            self.x = np.array(x)
            return np.zeros((len(x), obs.shape[1])), None

    model = Echo()
    rules = shared_agent_models(model, None, s, 20)
    probe = NormalizedParallelEnv(s, max_periods=20)
    views, _ = probe.reset(seed=6)
    for i, agent in enumerate(("replenisher", "recommender")):
        rules[agent](views[agent][None])
        assert np.allclose(model.x[0], obs[i])


def test_the_peers_train_on_the_budget_and_are_evaluated_like_mtma():
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("supersuit")
    from coordlib import bench

    budget = bench.LearnerBudget(env_steps=128, n_envs=8, rollout_length=8, sb3_envs=2,
                                 checkpoints=1, replications=2, periods=20, warmup=5)
    result = bench.learner_section({"tiny": budget}, echo=lambda _: None)
    curves = result.extra["learner_curves"]
    assert set(curves["learner"]) == {"mtma", "sb3_ppo", "sb3_ippo"}
    final = curves.groupby("learner")["env_steps"].max()
    assert final["mtma"] == final["sb3_ppo"] == final["sb3_ippo"] == 128
    assert len(result.rows) == 8                          # four rows per peer
    assert all("learning_rate=0.0003" in r["note"] for r in result.rows[0::4])
    assert set(result.table["settings"].iloc[1:].str.contains("VecNormalize")) == {True}
