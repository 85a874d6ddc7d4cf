"""The Gymnasium environment ``coordlib/Coordination-v0``: the firm as one agent with the joint
action (orders and exposure scores), for single-agent libraries. Registered on import.
"""
from __future__ import annotations

from typing import Optional

import gymnasium

from ..model.scenarios import get as get_scenario
from ..model.simulator import Simulator, StepResult
from .spaces import (
    DEFAULT_MAX_PERIODS,
    ENV_ID,
    _check_max_periods,
    _parts,
    decode_joint_action,
    joint_action_space,
    observation_layout,
    render,
)


# ---- Gymnasium: the firm as one agent ---------------------------------------------------------
class CoordinationEnv(gymnasium.Env):
    """The firm as a single agent with the joint action; reward the profit r_t (module doc).

    Parameters
    ----------
    scenario : str, path or Scenario
        the scenario (``coordlib.scenarios.get``).
    max_periods : int
        episode length T in periods (truncation).
    action_format : "flat" or "dict"
        ``Box(0, 1, (N + K N,))`` for single-agent libraries, or ``Dict(orders, scores)``.
    render_mode : None, "ansi" or "human"
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(self, scenario="tiny", max_periods: int = DEFAULT_MAX_PERIODS,
                 action_format: str = "flat", render_mode: Optional[str] = None):
        self.scenario = get_scenario(scenario)
        self.max_periods = _check_max_periods(max_periods)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: expected None or one of "
                             f"{self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.layout = observation_layout(self.scenario, "joint", self.max_periods)
        self.observation_space = self.layout.space()
        self.action_space = joint_action_space(self.scenario, action_format)
        self.action_format = action_format
        self.simulator = Simulator(self.scenario, batch_size=1, validate=False)
        self._last: Optional[StepResult] = None
        self._done = False

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=seed)
        self.simulator.reset()
        self.simulator.rng = self.np_random     # seeded like Simulator(seed=...); continues unseeded
        self._last, self._done = None, False
        return self.layout.flatten(self.simulator.observation)[0], {}

    def step(self, action):
        if self._done:
            raise RuntimeError("the episode is over (truncated at max_periods): call reset()")
        orders, exposure = decode_joint_action(self.scenario, action, self.action_format)
        if orders.shape != (self.scenario.n_products,):
            raise ValueError(f"action: expected one joint action, got orders of shape {orders.shape}")
        t = self.simulator.t
        result = self.simulator.step(orders[None], exposure[None])
        self._last = result
        info = _parts(result)
        info.update(gmv=float(result.gmv[0]), t=t,
                    review=self.scenario.is_review_period(t), orders=result.orders[0].copy(),
                    exposure=result.exposure[0].copy())
        self._done = self.simulator.t >= self.max_periods
        if self.render_mode == "human":
            self.render()
        return (self.layout.flatten(self.simulator.observation)[0], info["profit"], False,
                self._done, info)

    def unflatten_observation(self, flat) -> dict:
        """The joint observation as a dict of both views' fields."""
        return self.layout.unflatten(flat)

    def render(self):
        return render(self.render_mode, self.simulator, self._last)


# ---- registration ----------------------------------------------------------------------------
if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="coordlib.envs.single_agent:CoordinationEnv",
                       vector_entry_point="coordlib.envs.vector:CoordinationVectorEnv")
