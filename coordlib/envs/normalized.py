"""Normalized forms of the environments, for standard RL libraries (Stable-Baselines3 and the like).

The environments of :mod:`coordlib.envs` speak in the model's units: observations are counts
(the period t up to ``max_periods``), the joint action is a ``Box(0, 1)`` of order fractions
and scores. Libraries tuned for continuous control expect observations of unit scale and a
symmetric action ``Box(-1, 1)`` (Stable-Baselines3's env checker warns otherwise). The forms
here are the same environments, same dynamics, seeding and rewards, with two fixed affine maps:

* observation: each entry y = 2 o / high - 1 in [-1, 1], where ``high`` is the entry's bound in
  the observation box (:func:`coordlib.envs.spaces.observation_layout`); an entry whose bound
  is 0 is always -1. The map is static (no running statistics), so a policy trained on it
  needs nothing but the scenario and ``max_periods`` to be evaluated later
  (:func:`coordlib.envs.adapters.from_gymnasium` with ``normalized=True``).
* action: each entry a in [-1, 1] becomes (a + 1) / 2 in [0, 1], then goes through the
  environment's own map: order fractions q_i = floor(u_i Qmax_i + 1/2) and recommendation scores
  mapped onto the simplex (:func:`coordlib.envs.spaces.decode_joint_action`). An action outside
  [-1, 1] raises a ValueError (clip the policy's output, as Stable-Baselines3 does).

:class:`NormalizedCoordinationEnv` is registered as ``coordlib/CoordinationNormalized-v0``;
:class:`NormalizedParallelEnv` is the PettingZoo form, where both departments act with a flat
``Box(-1, 1)``: the replenisher's N order fractions, the recommender's K N scores.
"""
from __future__ import annotations

from typing import Optional

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from .parallel import CoordinationParallelEnv
from .single_agent import CoordinationEnv
from .spaces import (
    AGENTS,
    DEFAULT_MAX_PERIODS,
    ObservationLayout,
    orders_from_fractions,
)

NORMALIZED_ENV_ID = "coordlib/CoordinationNormalized-v0"
"""The Gymnasium id of :class:`NormalizedCoordinationEnv`."""


# ---- the two maps ----------------------------------------------------------------------------
def normalize_observation(layout: ObservationLayout, flat) -> np.ndarray:
    """Observation(s) (..., D) in the model's units -> float32 in [-1, 1] (module doc)."""
    high = layout.high.astype(np.float64)
    scale = np.divide(2.0, high, out=np.zeros_like(high), where=high > 0)
    return (np.asarray(flat, dtype=np.float64) * scale - 1.0).astype(np.float32)


def unit_action(action, what: str = "action") -> np.ndarray:
    """A symmetric action in [-1, 1] -> the environment's [0, 1]: u = (a + 1) / 2."""
    a = np.asarray(action, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(np.abs(a) > 1.0):
        raise ValueError(f"{what}: every entry must lie in [-1, 1] (clip the policy's output)")
    return np.clip((a + 1.0) / 2.0, 0.0, 1.0)


def _unit_box(size: int) -> spaces.Box:
    return spaces.Box(-1.0, 1.0, (size,), dtype=np.float32)


# ---- Gymnasium ------------------------------------------------------------------------------
class NormalizedCoordinationEnv(gymnasium.Env):
    """``coordlib/Coordination-v0`` with observations in [-1, 1] and a ``Box(-1, 1)`` action.

    Same parameters as :class:`coordlib.envs.single_agent.CoordinationEnv` (its flat action
    format), which it steps (``.env``); rewards and ``info`` are that env's (the profit r_t, in
    money), and so is seeding: the same seed and the same decisions give the same trajectory.
    """

    metadata = CoordinationEnv.metadata

    def __init__(self, scenario="tiny", max_periods: int = DEFAULT_MAX_PERIODS,
                 render_mode: Optional[str] = None):
        self.env = CoordinationEnv(scenario, max_periods=max_periods, action_format="flat",
                                   render_mode=render_mode)
        self.scenario, self.max_periods, self.render_mode = (self.env.scenario, max_periods,
                                                              render_mode)
        self.layout = self.env.layout
        self.observation_space = _unit_box(self.layout.size)
        self.action_space = _unit_box(self.env.action_space.shape[0])

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._np_random = self.env.np_random        # one stream: the wrapped env's
        return normalize_observation(self.layout, obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(
            unit_action(action).astype(np.float32))
        return normalize_observation(self.layout, obs), reward, terminated, truncated, info

    def render(self):
        return self.env.render()


# ---- PettingZoo -----------------------------------------------------------------------------
class NormalizedParallelEnv(ParallelEnv):
    """The PettingZoo env of :mod:`coordlib.envs.parallel` with normalized observations and
    ``Box(-1, 1)`` actions for both agents: the replenisher's N order fractions (q_i =
    floor(u_i Qmax_i + 1/2)), the recommender's K N scores in C order (segment-major).

    Parameters as :func:`coordlib.envs.parallel.parallel_env`; :meth:`state` is normalized too.
    """

    def __init__(self, scenario="tiny", max_periods: int = DEFAULT_MAX_PERIODS,
                 reward: str = "profit", render_mode: Optional[str] = None):
        self.env = CoordinationParallelEnv(scenario, max_periods=max_periods, reward=reward,
                                           render_mode=render_mode)
        self.metadata = dict(self.env.metadata, name="coordlib_coordination_normalized_v0")
        self.scenario, self.max_periods, self.render_mode = (self.env.scenario, max_periods,
                                                              render_mode)
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        s = self.scenario
        self.layouts = self.env.layouts
        self.observation_spaces = {a: _unit_box(self.layouts[a].size) for a in AGENTS}
        self.action_spaces = {"replenisher": _unit_box(s.n_products),
                              "recommender": _unit_box(s.n_segments * s.n_products)}
        self.state_space = _unit_box(self.env.state_layout.size)

    def observation_space(self, agent: str) -> spaces.Box:
        return self.observation_spaces[self.env._known(agent)]

    def action_space(self, agent: str) -> spaces.Box:
        return self.action_spaces[self.env._known(agent)]

    def _normalized(self, observations: dict) -> dict:
        return {a: normalize_observation(self.layouts[a], o) for a, o in observations.items()}

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None):
        observations, infos = self.env.reset(seed=seed, options=options)
        self.agents = list(self.env.agents)
        return self._normalized(observations), infos

    def step(self, actions: dict):
        missing = [a for a in AGENTS if a not in actions]
        if missing:
            raise KeyError(f"actions: missing an action for {missing}")
        s = self.scenario
        orders = orders_from_fractions(unit_action(actions["replenisher"], "replenisher action"),
                                       s.max_order)
        scores = unit_action(actions["recommender"], "recommender action")
        if scores.shape != (s.n_segments * s.n_products,):
            raise ValueError(f"recommender action: expected shape "
                             f"({s.n_segments * s.n_products},), got {scores.shape}")
        raw = {"replenisher": orders, "recommender": scores.reshape(s.n_segments, s.n_products)}
        observations, rewards, terminations, truncations, infos = self.env.step(raw)
        self.agents = list(self.env.agents)
        return self._normalized(observations), rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        return normalize_observation(self.env.state_layout, self.env.state())

    def render(self):
        return self.env.render()

    def close(self):
        self.env.close()


# ---- registration ----------------------------------------------------------------------------
if NORMALIZED_ENV_ID not in gymnasium.registry:
    gymnasium.register(id=NORMALIZED_ENV_ID,
                       entry_point="coordlib.envs.normalized:NormalizedCoordinationEnv")
