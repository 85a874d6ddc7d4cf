"""The standard APIs (coordlib.envs): official checkers, determinism, action mapping, rewards."""
from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test
from pettingzoo.test.state_test import test_parallel_env as pettingzoo_state_check
from pettingzoo.utils.conversions import parallel_to_aec
from scipy import stats

import coordlib
from coordlib import ScenarioError, Simulator, scenarios
from coordlib.bench.wrappers import wrapper_overhead
from coordlib.envs import (
    ENV_ID,
    CoordinationEnv,
    CoordinationVectorEnv,
    customer_bound,
    decode_joint_action,
    exposure_from_scores,
    observation_layout,
    parallel_env,
    unflatten,
)

SCENARIOS = ["tiny", "weekly-review", "tiny-personal", "seasonal"]


def backlog_tiny():
    return scenarios.get("tiny").replace(backlog=True, name="tiny-backlog")


def no_warnings(fn, *args, **kwargs):
    """Run fn and return the warnings it raised (the checkers report problems as warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(*args, **kwargs)
    return [str(w.message) for w in caught]


# ---- official checkers ------------------------------------------------------------------------
@pytest.mark.parametrize("name", SCENARIOS + ["backlog"])
def test_pettingzoo_parallel_api_and_seed_and_state_checkers(name):
    scenario = backlog_tiny() if name == "backlog" else name
    env = parallel_env(scenario, max_periods=40)
    assert no_warnings(parallel_api_test, env, num_cycles=50) == []
    assert no_warnings(parallel_seed_test, lambda: parallel_env(scenario, max_periods=40),
                       num_cycles=50) == []
    assert no_warnings(pettingzoo_state_check, env) == []


def test_pettingzoo_aec_conversion_passes_api_test():
    # the only warnings are style advice that the design rules out: agents are named after the
    # departments, their views differ in size, and orders are MultiDiscrete
    expected = ("probably should be gymnasium.spaces.box", "named in the format",
                "different observation space sizes", "Observations are different shapes")
    env = parallel_to_aec(parallel_env("tiny-personal", max_periods=30))
    messages = no_warnings(api_test, env, num_cycles=40)
    assert [m for m in messages if not any(e in m for e in expected)] == []


@pytest.mark.parametrize("action_format", ["flat", "dict"])
@pytest.mark.parametrize("name", SCENARIOS + ["backlog"])
def test_gymnasium_check_env_without_warnings(name, action_format, capsys):
    scenario = backlog_tiny() if name == "backlog" else name
    env = gymnasium.make(ENV_ID, scenario=scenario, action_format=action_format)
    assert isinstance(env.unwrapped, CoordinationEnv)
    assert no_warnings(check_env, env.unwrapped) == []


def test_gymnasium_id_registered_on_import_and_make_vec_uses_batched_simulator():
    assert ENV_ID in gymnasium.registry
    env = gymnasium.make(ENV_ID, scenario="medium", max_periods=10)
    N, K = 10, 3
    assert env.action_space.shape == (N + K * N,)
    vec = gymnasium.make_vec(ENV_ID, num_envs=5, scenario="medium")
    assert isinstance(vec.unwrapped, CoordinationVectorEnv)
    assert vec.unwrapped.simulator.batch_size == 5
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (5, env.observation_space.shape[0])
    assert obs in vec.observation_space


# ---- errors -----------------------------------------------------------------------------------
def test_unknown_scenario_names_the_known_ones():
    for make in (lambda: parallel_env("nope"), lambda: gymnasium.make(ENV_ID, scenario="nope"),
                 lambda: CoordinationVectorEnv("nope", num_envs=2)):
        with pytest.raises(ScenarioError, match=r"unknown scenario 'nope'.*tiny"):
            make()


@pytest.mark.parametrize("kwargs, match", [
    (dict(max_periods=0), "max_periods"), (dict(max_periods=2.5), "max_periods"),
    (dict(reward="gmv"), "reward"), (dict(render_mode="rgb_array"), "render_mode")])
def test_bad_pettingzoo_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        parallel_env("tiny", **kwargs)


def test_bad_gymnasium_arguments_are_named():
    with pytest.raises(ValueError, match="action_format"):
        CoordinationEnv("tiny", action_format="tuple")
    with pytest.raises(ValueError, match="num_envs"):
        CoordinationVectorEnv("tiny", num_envs=0)
    with pytest.raises(ValueError, match="autoreset_mode"):
        CoordinationVectorEnv("tiny", num_envs=2, autoreset_mode="sometimes")
    with pytest.raises(ValueError, match="one integer seeds the whole batch"):
        CoordinationVectorEnv("tiny", num_envs=2).reset(seed=[1, 2])


def test_bad_actions_raise_clear_errors():
    env = parallel_env("tiny", max_periods=2)
    env.reset(seed=0)
    good = {"replenisher": np.array([1, 1]), "recommender": np.array([[1.0, 1.0]])}
    with pytest.raises(KeyError, match="recommender"):
        env.step({"replenisher": good["replenisher"]})
    with pytest.raises(ScenarioError, match="max_order"):
        env.step(dict(good, replenisher=np.array([21, 0])))
    with pytest.raises(ValueError, match="expected shape \\(2,\\)"):
        env.step(dict(good, replenisher=np.array([1, 1, 1])))
    with pytest.raises(ValueError, match=">= 0"):
        env.step(dict(good, recommender=np.array([[-0.1, 1.0]])))
    with pytest.raises(ValueError, match="NaN"):
        env.step(dict(good, recommender=np.array([[np.nan, 1.0]])))
    env.step(good)
    env.step(good)
    assert env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step(good)

    gym_env = CoordinationEnv("tiny", max_periods=1)
    gym_env.reset(seed=0)
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        gym_env.step(np.array([1.5, 0, 0.5, 0.5], dtype=np.float32))
    with pytest.raises(ValueError, match="N \\+ K N = 4"):
        gym_env.step(np.zeros(3, dtype=np.float32))
    gym_env.step(np.full(4, 0.5, dtype=np.float32))
    with pytest.raises(RuntimeError, match="reset"):
        gym_env.step(np.full(4, 0.5, dtype=np.float32))


# ---- action mapping ---------------------------------------------------------------------------
def test_exposure_from_scores_examples():
    np.testing.assert_allclose(exposure_from_scores([[2.0, 6.0]]), [[0.25, 0.75]])
    np.testing.assert_allclose(exposure_from_scores([[0.0, 0.0, 0.0], [0, 0, 5]]),
                               [[1 / 3, 1 / 3, 1 / 3], [0, 0, 1]])


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 6)),
              elements=st.one_of(st.just(0.0), st.floats(0, 1, width=32))))
def test_exposure_is_always_a_simplex_point(scores):
    x = exposure_from_scores(scores)
    assert np.all(x >= 0)
    np.testing.assert_allclose(x.sum(axis=-1), 1.0, atol=1e-12)
    total = scores.astype(float).sum(axis=-1, keepdims=True)
    expected = np.where(total > 0, scores / np.where(total > 0, total, 1), 1 / scores.shape[-1])
    np.testing.assert_allclose(x, expected, atol=1e-12)


def test_flat_joint_action_decoding_on_tiny():
    # tiny: Qmax = (20, 20); q_i = floor(20 a_i + 1/2); scores (0.2, 0.6) -> x = (0.25, 0.75)
    orders, exposure = decode_joint_action("tiny", np.array([0.5, 0.52, 0.2, 0.6], np.float32))
    np.testing.assert_array_equal(orders, [10, 10])
    np.testing.assert_allclose(exposure, [[0.25, 0.75]])
    orders, exposure = decode_joint_action("tiny", np.array([0.53, 1.0, 0.0, 0.0], np.float32))
    np.testing.assert_array_equal(orders, [11, 20])
    np.testing.assert_allclose(exposure, [[0.5, 0.5]])


def test_dict_and_flat_joint_actions_reach_the_simulator():
    env = CoordinationEnv("tiny-personal", action_format="dict")
    env.reset(seed=3)
    _, _, _, _, info = env.step({"orders": np.array([3, 0]),
                                 "scores": np.array([[1, 3], [0, 0]], np.float32)})
    np.testing.assert_array_equal(info["orders"], [3, 0])
    np.testing.assert_allclose(info["exposure"], [[0.25, 0.75], [0.5, 0.5]])


def test_orders_are_ignored_outside_review_periods():
    s = scenarios.get("weekly-review")          # R = 4, L = 1, Qmax = 60
    assert s.review_period == 4
    env = parallel_env(s, max_periods=12)
    obs, _ = env.reset(seed=1)
    qmax = s.max_order
    for t in range(12):
        view = env.unflatten_observation("replenisher", obs["replenisher"])
        assert bool(view["review"]) == (t % 4 == 0)
        assert int(view["t"]) == t
        # lead time 1: only an order placed last period can be in the pipeline
        expected_pipeline = qmax if t % 4 == 1 else 0
        np.testing.assert_array_equal(view["pipeline"][:, 0], expected_pipeline)
        obs, _, _, _, infos = env.step({"replenisher": qmax.copy(),
                                        "recommender": np.ones((1, 3), np.float32)})
        info = infos["replenisher"]
        assert info["review"] == (t % 4 == 0)
        np.testing.assert_array_equal(info["orders"], qmax if t % 4 == 0 else 0)
        expected_cost = float(qmax @ s.unit_cost) if t % 4 == 0 else 0.0
        assert info["purchase_cost"] == pytest.approx(expected_cost, abs=1e-9)


# ---- observations -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["medium", "backlog"])
def test_flat_views_round_trip_to_the_simulator_views(name):
    s = backlog_tiny() if name == "backlog" else scenarios.get(name)
    N, K, L = s.n_products, s.n_segments, s.max_lead_time
    sizes = {"replenisher": 2 + N + N * L + 2 * N + (N if s.backlog else 0),
             "recommender": 1 + N + K + K * N,
             "state": 2 + N + N * L + (N if s.backlog else 0)}
    sim = Simulator(s, batch_size=3, seed=5)
    rng = np.random.default_rng(0)
    for _ in range(4):
        sim.step(rng.integers(0, s.max_order + 1, (3, N)),
                 exposure_from_scores(rng.random((3, K, N))))
    o = sim.observation
    views = {"replenisher": o.replenisher_view(), "recommender": o.recommender_view(),
             "state": o.full_state()}
    for part, view in views.items():
        layout = observation_layout(s, part)
        assert layout.size == sizes[part]
        flat = layout.flatten(o)
        assert flat.shape == (3, sizes[part]) and flat.dtype == np.float32
        back = unflatten(s, part, flat)
        view = dict(view, review=o.review)
        if not s.backlog:                       # the lost-sales layout leaves out the zero backlog
            assert not np.any(view.pop("backlog", 0))
        if part == "recommender":
            view.pop("review")
        if "inventory_position" in view:        # derived, so not a field of the flat layout
            position = view.pop("inventory_position")
            assert np.array_equal(position, back["on_hand"] + back["pipeline"].sum(-1)
                                  - back.get("backlog", 0))
        assert set(back) == set(view)
        for key, value in view.items():
            np.testing.assert_array_equal(back[key], np.broadcast_to(value, back[key].shape))


def test_customer_bound_is_exceeded_with_negligible_probability():
    # the module doc promises P(Poisson(lam_k(1 + a_k)) > C_k) < 3e-21 for every scenario
    for name in scenarios.names():
        s = scenarios.get(name)
        peak = s.arrival_rate * (1 + s.season_amplitude)
        assert np.all(stats.poisson.sf(customer_bound(s), peak) < 3e-21), name


# ---- rewards ----------------------------------------------------------------------------------
@pytest.mark.parametrize("reward", ["profit", "kpi"])
def test_rewards_equal_the_model_formulas_on_the_raw_simulator(reward):
    s = scenarios.get("tiny-personal")
    env = parallel_env(s, max_periods=30, reward=reward)
    sim = Simulator(s, batch_size=1, seed=11)
    env.reset(seed=11)
    rng = np.random.default_rng(2)
    p, c, h, b = s.price, s.unit_cost, s.holding_cost, s.lost_sale_penalty
    lost_units = 0
    for _ in range(30):
        q = rng.integers(0, 4, s.n_products)       # small orders: stock-outs, so GMV != revenue
        scores = rng.random((s.n_segments, s.n_products)).astype(np.float32)
        _, rewards, _, _, infos = env.step({"replenisher": q, "recommender": scores})
        r = sim.step(q[None], exposure_from_scores(scores)[None])
        sold, lost, end_stock = r.sales[0], r.lost_sales[0], r.on_hand[0]
        profit = p @ sold - c @ q - h @ end_stock - b @ lost
        operating_cost = c @ q + h @ end_stock + b @ lost
        gmv = p @ r.demand[0].sum(axis=0)
        if reward == "profit":
            assert rewards == {"replenisher": pytest.approx(profit, abs=1e-9),
                               "recommender": pytest.approx(profit, abs=1e-9)}
        else:
            assert rewards["replenisher"] == pytest.approx(-operating_cost, abs=1e-9)
            assert rewards["recommender"] == pytest.approx(gmv, abs=1e-9)
        assert infos["replenisher"]["profit"] == pytest.approx(profit, abs=1e-9)
        assert infos["recommender"]["gmv"] == pytest.approx(gmv, abs=1e-9)
        lost_units += lost.sum()
    assert lost_units > 0


# ---- determinism ------------------------------------------------------------------------------
def rollout(env, seed, periods, action_seed=0):
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    out = [obs]
    for _ in range(periods):
        obs, reward, _, truncated, _ = env.step(env.action_space.sample())
        out += [obs, np.array([reward])]
        if truncated:
            obs, _ = env.reset()
            out.append(obs)
    return np.concatenate(out)


def test_same_seed_same_trajectory_and_unseeded_reset_starts_a_new_episode():
    a = rollout(gymnasium.make(ENV_ID, scenario="medium", max_periods=15), 7, 30)
    b = rollout(gymnasium.make(ENV_ID, scenario="medium", max_periods=15), 7, 30)
    c = rollout(gymnasium.make(ENV_ID, scenario="medium", max_periods=15), 8, 30)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # an unseeded reset starts a new episode on the continuing stream, not a replay
    env = CoordinationEnv("medium", max_periods=15)

    def episode(**seed):
        env.action_space.seed(1)
        env.reset(**seed)
        return [env.step(env.action_space.sample())[1] for _ in range(15)]

    first, second = episode(seed=7), episode()
    assert first != second
    assert episode(seed=7) == first


def test_envs_reproduce_the_simulator_exactly_under_the_same_seed():
    s = scenarios.get("medium")
    N, K = s.n_products, s.n_segments
    rng = np.random.default_rng(4)
    actions = rng.random((25, N + K * N)).astype(np.float32)
    sim = Simulator(s, batch_size=1, seed=21)
    gym_env = CoordinationEnv(s, max_periods=25)
    pz = parallel_env(s, max_periods=25)
    gym_env.reset(seed=21)
    pz.reset(seed=21)
    layout = observation_layout(s, "joint", 25)
    for a in actions:
        q, x = decode_joint_action(s, a)
        r = sim.step(q[None], x[None])
        obs, reward, _, _, _ = gym_env.step(a)
        pz_obs, pz_rewards, _, _, _ = pz.step({"replenisher": q, "recommender": a[N:].reshape(K, N)})
        np.testing.assert_array_equal(obs, layout.flatten(r.observation)[0])
        assert reward == r.profit[0] == pz_rewards["replenisher"]
        np.testing.assert_array_equal(pz.state(), observation_layout(s, "state", 25)
                                      .flatten(r.observation)[0])


# ---- vector form ------------------------------------------------------------------------------
def test_vector_env_with_one_copy_matches_the_single_env_across_autoreset():
    T = 6
    vec = CoordinationVectorEnv("tiny-personal", num_envs=1, max_periods=T)
    single = CoordinationEnv("tiny-personal", max_periods=T)
    rng = np.random.default_rng(9)
    actions = rng.random((2 * T + 1, single.action_space.shape[0])).astype(np.float32)
    v_obs, _ = vec.reset(seed=33)
    s_obs, _ = single.reset(seed=33)
    np.testing.assert_array_equal(v_obs[0], s_obs)
    i = 0
    for episode in range(2):
        for t in range(T):
            v_obs, v_rew, v_term, v_trunc, _ = vec.step(actions[i][None])
            s_obs, s_rew, s_term, s_trunc, _ = single.step(actions[i])
            i += 1
            np.testing.assert_array_equal(v_obs[0], s_obs)
            assert v_rew[0] == s_rew and v_trunc[0] == s_trunc == (t == T - 1)
        # NEXT_STEP autoreset: this step ignores the action and returns the reset observation
        v_obs, v_rew, _, v_trunc, _ = vec.step(actions[i][None])
        s_obs, _ = single.reset()
        np.testing.assert_array_equal(v_obs[0], s_obs)
        assert v_rew[0] == 0.0 and not v_trunc[0]


def test_vector_env_same_step_and_disabled_autoreset():
    vec = CoordinationVectorEnv("tiny", num_envs=3, max_periods=2,
                                autoreset_mode=AutoresetMode.SAME_STEP)
    start, _ = vec.reset(seed=0)
    a = np.full((3, 4), 0.5, np.float32)
    vec.step(a)
    obs, _, _, truncated, info = vec.step(a)
    assert truncated.all()
    np.testing.assert_array_equal(obs, start)          # already reset: t = 0, initial stock
    assert np.all(info["final_obs"][:, 1] == 2)         # t at truncation
    assert info["final_info"]["profit"].shape == (3,)
    vec = CoordinationVectorEnv("tiny", num_envs=3, max_periods=1, autoreset_mode="Disabled")
    with pytest.raises(RuntimeError, match="reset"):
        vec.step(a)
    vec.reset(seed=0)
    assert vec.step(a)[3].all()
    with pytest.raises(RuntimeError, match="reset"):
        vec.step(a)


def first_period_profit_moments(s, orders, exposure):
    """Exact mean and variance of period-0 profit of a scenario with lead times >= 1.

    Nothing arrives in period 0, so A_i = I_i(0) and the D_i are independent Poisson(mu_i).
    """
    mu = s.demand_rate(exposure)
    mean, var = -float(s.unit_cost @ orders), 0.0
    for i in range(s.n_products):
        d = np.arange(0, int(mu[i] + 40 * np.sqrt(mu[i]) + 40))
        pmf = stats.poisson.pmf(d, mu[i])
        stock = s.initial_on_hand[i]
        sold = np.minimum(stock, d)
        g = (s.price[i] * sold - s.holding_cost[i] * (stock - sold)
             - s.lost_sale_penalty[i] * (d - sold))
        m = pmf @ g
        mean += m
        var += pmf @ (g - m) ** 2
    return mean, var


def test_vector_and_single_env_match_the_exact_first_period_profit():
    # a scenario where stock-outs matter in period 0: low initial stock, high arrival rate
    s = scenarios.get("tiny").replace(initial_on_hand=[3, 5], arrival_rate=[8.0], name="t")
    action = np.array([0.2, 0.5, 0.3, 0.9], np.float32)
    orders, exposure = decode_joint_action(s, action)
    mean, var = first_period_profit_moments(s, orders, exposure)

    n = 40_000
    vec = CoordinationVectorEnv(s, num_envs=n, max_periods=5)
    vec.reset(seed=123)
    profit = vec.step(np.broadcast_to(action, (n, 4)))[1]
    se = np.sqrt(var / n)
    assert abs(profit.mean() - mean) < 4 * se
    # copies are independent draws: their spread is the exact per-copy variance (SE ~ 1%)
    assert profit.var() == pytest.approx(var, rel=0.05)

    single = CoordinationEnv(s, max_periods=5)
    single.reset(seed=5)
    m = 2000
    draws = []
    for _ in range(m):
        draws.append(single.step(action)[1])
        single.reset()
    assert abs(np.mean(draws) - mean) < 4 * np.sqrt(var / m)


# ---- overhead ---------------------------------------------------------------------------------
def test_wrapper_overhead_reports_every_variant():
    out = wrapper_overhead("tiny", steps=100, repeats=1)
    keys = ["simulator_step", "simulator_step_unchecked", "pettingzoo_step", "gymnasium_step",
            "gymnasium_make_step"]
    assert all(np.isfinite(out[k]) and 0 < out[k] < 0.1 for k in keys)
    assert out["scenario"] == "tiny" and out["steps"] == 100


def test_import_exports_envs():
    assert coordlib.envs.parallel.parallel_env is parallel_env
