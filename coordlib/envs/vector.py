"""A Gymnasium vector environment on the batched simulator: B copies stepped by one array call."""
from __future__ import annotations

from typing import Optional

import numpy as np
from gymnasium.spaces.utils import flatdim
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ..model.evaluation import PARTS
from ..model.scenario import check_memory
from ..model.scenarios import get as get_scenario
from ..model.simulator import Simulator, StepResult, simulator_bytes
from .spaces import (
    DEFAULT_MAX_PERIODS,
    _check_max_periods,
    decode_joint_action,
    joint_action_space,
    observation_layout,
)


# ---- Gymnasium vector form on the batched simulator --------------------------------------------
class CoordinationVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`coordlib.envs.single_agent.CoordinationEnv` stepped at once by one batched Simulator.

    No Python loop runs over copies: observations (num_envs, D), rewards (num_envs,) and infos
    (arrays of shape (num_envs,)) come from array operations on the batch. The copies share the
    period counter, so they all truncate together after ``max_periods`` periods and are reset
    together, according to ``autoreset_mode``: ``NEXT_STEP`` (Gymnasium's default: the step
    after truncation ignores the actions and returns the reset observations, zero rewards),
    ``SAME_STEP`` (the truncating step returns the reset observations; the last ones are in
    ``infos["final_obs"]``, an array (num_envs, D), and ``infos["final_info"]``) or
    ``DISABLED`` (call ``reset()`` yourself).

    Seeding: ``reset(seed=s)`` takes one integer for the whole batch. With ``num_envs = 1`` the
    trajectory equals that of ``CoordinationEnv`` reset with the same seed; with more copies,
    each copy is an independent draw of the same process (not the single env's seed + i).
    """

    def __init__(self, scenario="tiny", num_envs: int = 1, max_periods: int = DEFAULT_MAX_PERIODS,
                 action_format: str = "flat", autoreset_mode=AutoresetMode.NEXT_STEP,
                 render_mode: Optional[str] = None):
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs: must be a whole number >= 1, got {num_envs!r}")
        self.scenario = get_scenario(scenario)
        self.num_envs = int(num_envs)
        self.max_periods = _check_max_periods(max_periods)
        try:
            self.autoreset_mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(f"autoreset_mode: expected one of {[m.value for m in AutoresetMode]},"
                             f" got {autoreset_mode!r}") from None
        if render_mode is not None:
            raise ValueError("render_mode: the vector form does not render; use CoordinationEnv")
        self.metadata = {"autoreset_mode": self.autoreset_mode, "render_modes": []}
        self.layout = observation_layout(self.scenario, "joint", self.max_periods)
        self.single_observation_space = self.layout.space()
        self.single_action_space = joint_action_space(self.scenario, action_format)
        # the batched spaces' bounds (two arrays each) and the simulator, before any is built
        width = (flatdim(self.single_observation_space)
                 + flatdim(self.single_action_space))
        check_memory(f"CoordinationVectorEnv with num_envs = {self.num_envs}",
                     2 * 8.0 * self.num_envs * width
                     + simulator_bytes(self.scenario, self.num_envs))
        self.simulator = Simulator(self.scenario, batch_size=self.num_envs, validate=False)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.action_format = action_format
        self._pending_reset = False
        self._needs_reset = True

    def _restart(self) -> np.ndarray:
        self.simulator.reset()
        self.simulator.rng = self.np_random
        self._pending_reset, self._needs_reset = False, False
        return self.layout.flatten(self.simulator.observation)

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed: one integer seeds the whole batch, got {seed!r}")
        super().reset(seed=seed)
        if self._np_random is None:
            self._np_random, self._np_random_seed = seeding.np_random(None)
        return self._restart(), {}

    def _infos(self, result: StepResult, t: int) -> dict:
        N = self.scenario.n_products
        info = {k: getattr(result, k).astype(float) for k in (*PARTS, "operating_cost")}
        info["gmv"] = result.gmv
        info["t"] = np.full(self.num_envs, t)
        info["review"] = np.full(self.num_envs, self.scenario.is_review_period(t))
        info["orders"] = result.orders.reshape(self.num_envs, N).copy()
        info["exposure"] = result.exposure.copy()
        for key in list(info):
            info["_" + key] = np.ones(self.num_envs, dtype=bool)
        return info

    def step(self, actions):
        B = self.num_envs
        if self._needs_reset:
            raise RuntimeError("call reset() first (or again, after truncation with "
                               "autoreset_mode=DISABLED)")
        if self._pending_reset:                 # NEXT_STEP: this step only resets
            obs = self._restart()
            return obs, np.zeros(B), np.zeros(B, bool), np.zeros(B, bool), {}
        orders, exposure = decode_joint_action(self.scenario, actions, self.action_format)
        N, K = self.scenario.n_products, self.scenario.n_segments
        if orders.shape != (B, N) or exposure.shape != (B, K, N):
            raise ValueError(f"actions: expected a batch of {B} joint actions, got orders "
                             f"{orders.shape} and exposures {exposure.shape}")
        t = self.simulator.t
        result = self.simulator.step(orders, exposure)
        info = self._infos(result, t)
        obs = self.layout.flatten(self.simulator.observation)
        rewards = result.profit.astype(float)
        done = self.simulator.t >= self.max_periods
        truncations = np.full(B, done)
        if done:
            if self.autoreset_mode == AutoresetMode.NEXT_STEP:
                self._pending_reset = True
            elif self.autoreset_mode == AutoresetMode.SAME_STEP:
                final_obs, final_info = obs, info
                obs = self._restart()
                info = {"final_obs": final_obs, "_final_obs": np.ones(B, bool),
                        "final_info": final_info, "_final_info": np.ones(B, bool)}
            else:
                self._needs_reset = True
        return obs, rewards, np.zeros(B, bool), truncations, info

    def unflatten_observation(self, flat) -> dict:
        return self.layout.unflatten(flat)
