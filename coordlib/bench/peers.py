"""The learner section's peers: standard RL libraries on coordlib's standard environments.

Two peers, each trained on the same environment-step budget as MTMA and evaluated by the same
:func:`coordlib.evaluate` (through :mod:`coordlib.envs.adapters`):

``sb3_ppo``
    Stable-Baselines3 PPO on the firm's joint action (``coordlib/CoordinationNormalized-v0``:
    observations scaled into [-1, 1], a symmetric ``Box(-1, 1)`` action), with ``VecNormalize``
    on observations and rewards, and the RL zoo's recipe for continuous control
    (:data:`PPO_SETTINGS`).
``sb3_ippo``
    a multi-agent peer on the PettingZoo env (:class:`coordlib.envs.normalized.NormalizedParallelEnv`):
    independent PPO with parameter sharing, each department acting on its own view and
    rewarded by the shared profit (no centralized critic), built the standard way with
    SuperSuit (observations and actions padded to a common size, a one-hot agent indicator
    appended) and SB3 PPO with the same settings.

A period of the PettingZoo env is one environment step, whatever the number of agents (SB3
counts each agent's step, so ``sb3_ippo`` runs twice as many of its own timesteps).
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

from ..envs.adapters import from_gymnasium, from_pettingzoo
from ..envs.normalized import NORMALIZED_ENV_ID, NormalizedParallelEnv
from ..envs.spaces import AGENTS
from ..model.scenarios import get as get_scenario
from .common import require

PPO_SETTINGS = dict(
    learning_rate=3e-4, n_epochs=10, batch_size=64, gamma=0.99, gae_lambda=0.95,
    clip_range=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5, use_sde=False)
"""PPO's hyperparameters, chosen on ``tiny`` at the benchmark's budget (122,880 steps, the
same evaluation) among four continuous-control recipes of the RL zoo (rl-baselines3-zoo,
``hyperparams/ppo.yml``), all with VecNormalize on the normalized env; final profit per
period [95% CI] of each (one seed, 10 x 500 periods):

* PyBullet recipe (gSDE, log_std_init -2, ReLU 256 x 256, no orthogonal init), learning rate
  1e-3, minibatch 128: 14.97 [14.57, 15.36];
* ``Pendulum-v1`` recipe (its 1e5-step budget; gSDE every 4 steps, learning rate 1e-3), with
  gamma 0.99: 15.50 [15.17, 15.83];
* the PyBullet network without gSDE (log_std_init 0), learning rate 1e-3: 16.19 [15.67, 16.70];
* the zoo's defaults for ``normalize: true`` entries (SB3's PPO defaults: learning rate 3e-4,
  10 epochs, minibatch 64, GAE 0.95, clip 0.2, Gaussian exploration with log_std_init 0,
  tanh 64 x 64): 18.58 [18.05, 19.10], the one kept.

Discount 0.99 throughout, MTMA's and MODEL.md's. (The earlier untuned peer, SB3 defaults on the
env in raw units with VecNormalize, ended at 17.68 on tiny and -71 on medium.)"""
POLICY_SETTINGS = dict(log_std_init=0.0, ortho_init=True, net_arch=(64, 64), activation="tanh")
"""The policy network of the kept recipe: SB3's MlpPolicy defaults (separate actor and
critic MLPs of 64 x 64, tanh, orthogonal init, initial action std 1 in the [-1, 1] scale)."""
PEERS = ("sb3_ppo", "sb3_ippo")


def peer_settings(name: str, budget) -> str:
    """One line: what the peer ``name`` ran with (for the report)."""
    rollout = budget.steps_per_iteration
    base = ", ".join(f"{k}={v}" for k, v in {**PPO_SETTINGS, **POLICY_SETTINGS}.items())
    if name == "sb3_ppo":
        return (f"SB3 PPO on {NORMALIZED_ENV_ID} + VecNormalize(obs, reward), {budget.sb3_envs} "
                f"envs x {rollout // budget.sb3_envs} steps per rollout; {base}")
    return (f"independent PPO, parameters shared (SuperSuit pad + agent indicator), on the "
            f"normalized PettingZoo env + VecNormalize(obs, reward), {budget.sb3_envs} copies x "
            f"2 agents x {rollout // budget.sb3_envs} steps per rollout; {base}")


def _ppo(env, budget, seed: int):
    # deferred: Stable-Baselines3 and torch are the optional extra [bench]
    import torch
    from stable_baselines3 import PPO
    kwargs = dict(POLICY_SETTINGS)
    kwargs["activation_fn"] = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[kwargs.pop("activation")]
    kwargs["net_arch"] = dict(pi=list(kwargs["net_arch"]), vf=list(kwargs["net_arch"]))
    n_steps = budget.steps_per_iteration // budget.sb3_envs
    return PPO("MlpPolicy", env, n_steps=n_steps,
               **{**PPO_SETTINGS, "batch_size": min(PPO_SETTINGS["batch_size"],
                                                    n_steps * env.num_envs)},
               policy_kwargs=kwargs, seed=seed, device="cpu", verbose=0)


def _checkpoints(budget, evaluate: Callable[[], tuple], learner: str, agents: int):
    """An SB3 callback: evaluations at the budget's checkpoints, their time excluded."""
    # deferred: Stable-Baselines3 is the optional extra [bench]
    from stable_baselines3.common.callbacks import BaseCallback
    curve = []

    class Checkpoints(BaseCallback):
        def _on_training_start(self):
            self.start, self.paused = time.perf_counter(), 0.0

        def _evaluate(self):
            now = time.perf_counter()
            mean, lo, hi = evaluate()
            curve.append({"learner": learner, "env_steps": int(self.num_timesteps) // agents,
                          "train_seconds": now - self.start - self.paused, "profit": mean,
                          "profit_lo": lo, "profit_hi": hi})
            self.paused += time.perf_counter() - now

        def _on_rollout_start(self):
            done = self.num_timesteps // agents // budget.steps_per_iteration
            if done and done % budget.every == 0 and done < budget.iterations:
                self._evaluate()

        def _on_step(self):
            return True

        def _on_training_end(self):
            self._evaluate()

    return Checkpoints(), curve


def train_ppo(scenario, budget) -> pd.DataFrame:
    """Train the ``sb3_ppo`` peer (module doc); its learning curve at the budget's checkpoints."""
    require("stable_baselines3", "PPO", install="pip install .[bench]")
    # deferred: Stable-Baselines3 and torch are the optional extra [bench]
    import gymnasium
    import torch
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    s = get_scenario(scenario)
    torch.set_num_threads(budget.threads)
    venv = VecNormalize(DummyVecEnv([lambda: Monitor(gymnasium.make(
        NORMALIZED_ENV_ID, scenario=s, max_periods=budget.periods))
        for _ in range(budget.sb3_envs)]), gamma=PPO_SETTINGS["gamma"])
    venv.seed(budget.seed)
    model = _ppo(venv, budget, budget.seed)

    def evaluate():
        policy = from_gymnasium(model, normalized=True, max_periods=budget.periods,
                                normalizer=venv, name="sb3-ppo")
        return budget.evaluate(s, policy)

    callback, curve = _checkpoints(budget, evaluate, "sb3_ppo", agents=1)
    model.learn(total_timesteps=budget.iterations * budget.steps_per_iteration, callback=callback)
    return pd.DataFrame(curve)


def shared_agent_models(model, normalizer, scenario, max_periods: int) -> dict:
    """Each agent's decision rule from one parameter-shared model trained through SuperSuit.

    SuperSuit pads every observation with zeros to the largest agent's size, appends the
    one-hot of the agent's index in ``possible_agents``, and hands an agent the first entries
    of the padded action; the rules here do the same on a batch of views (B, D_agent).
    """
    env = NormalizedParallelEnv(scenario, max_periods=max_periods)
    width = max(env.observation_space(a).shape[0] for a in AGENTS)
    sizes = {a: env.action_space(a).shape[0] for a in AGENTS}

    def rule(agent):
        index = AGENTS.index(agent)

        def act(obs):
            obs = np.asarray(obs, dtype=np.float32)
            padded = np.zeros((obs.shape[0], width + len(AGENTS)), dtype=np.float32)
            padded[:, :obs.shape[1]] = obs
            padded[:, width + index] = 1.0
            if normalizer is not None:
                padded = normalizer.normalize_obs(padded)
            action, _ = model.predict(padded, deterministic=True)
            return np.asarray(action)[:, :sizes[agent]]
        return act

    return {a: rule(a) for a in AGENTS}


def independent_ppo_env(scenario, copies: int, max_periods: int, seed: int = 0):
    """The PettingZoo env as an SB3 vector env of ``copies`` x 2 agents (SuperSuit)."""
    require("supersuit", "pettingzoo_env_to_vec_env_v1", install="pip install .[bench]")
    # deferred: SuperSuit is the optional extra [bench]
    import supersuit

    env = NormalizedParallelEnv(scenario, max_periods=max_periods)
    env = supersuit.agent_indicator_v0(supersuit.pad_action_space_v0(
        supersuit.pad_observations_v0(env)))
    venv = supersuit.pettingzoo_env_to_vec_env_v1(env)
    venv = supersuit.concat_vec_envs_v1(venv, copies, num_cpus=0, base_class="stable_baselines3")
    # SuperSuit's concatenated env seeds through reset only; SB3 calls seed(): copy i gets
    # seed + i, and later unseeded resets continue each copy's stream
    venv.venv.seed = lambda seed=None: venv.venv.reset(seed=seed)
    venv.seed(seed)
    return venv


def train_independent_ppo(scenario, budget) -> pd.DataFrame:
    """Train the ``sb3_ippo`` peer (module doc); its learning curve at the budget's checkpoints."""
    require("stable_baselines3", "PPO", install="pip install .[bench]")
    # deferred: Stable-Baselines3 and torch are the optional extra [bench]
    import torch
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    s = get_scenario(scenario)
    torch.set_num_threads(budget.threads)
    venv = VecNormalize(VecMonitor(independent_ppo_env(s, budget.sb3_envs, budget.periods,
                                                       budget.seed)),
                        gamma=PPO_SETTINGS["gamma"])
    model = _ppo(venv, budget, budget.seed)

    def evaluate():
        rules = shared_agent_models(model, venv, s, budget.periods)
        policy = from_pettingzoo(rules, normalized=True, max_periods=budget.periods,
                                 name="sb3-ippo")
        return budget.evaluate(s, policy)

    callback, curve = _checkpoints(budget, evaluate, "sb3_ippo", agents=len(AGENTS))
    model.learn(total_timesteps=len(AGENTS) * budget.iterations * budget.steps_per_iteration,
                callback=callback)
    return pd.DataFrame(curve)


TRAINERS = {"sb3_ppo": train_ppo, "sb3_ippo": train_independent_ppo}
"""Peer name -> its training function ``(scenario, budget) -> learning curve``."""
