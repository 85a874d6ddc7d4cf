"""The PettingZoo parallel environment: agents ``replenisher`` and ``recommender``, each observing
its own department's view (MODEL.md section 4) and rewarded by the firm's profit or its own KPI.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from ..model.scenarios import get as get_scenario
from ..model.simulator import Simulator, StepResult
from .spaces import (
    AGENTS,
    DEFAULT_MAX_PERIODS,
    ENV_REWARDS,
    _check_max_periods,
    _parts,
    exposure_from_scores,
    observation_layout,
    render,
)


# ---- PettingZoo ------------------------------------------------------------------------------
class CoordinationParallelEnv(ParallelEnv):
    """The two departments as a PettingZoo parallel environment (module doc: spaces, rewards).

    Parameters
    ----------
    scenario : str, path or Scenario
        a shipped scenario name (``coordlib.scenarios.names()``), a YAML path or a Scenario.
    max_periods : int
        episode length T in periods; the episode is truncated after it.
    reward : "profit" or "kpi"
        shared firm profit r_t (default), or each department's siloed KPI (MODEL.md section 4).
    render_mode : None, "ansi" or "human"
    """

    metadata = {"name": "coordlib_coordination_v0", "render_modes": ["ansi", "human"],
                "render_fps": 4, "is_parallelizable": True}

    def __init__(self, scenario="tiny", max_periods: int = DEFAULT_MAX_PERIODS,
                 reward: str = "profit", render_mode: Optional[str] = None):
        self.scenario = get_scenario(scenario)
        self.max_periods = _check_max_periods(max_periods)
        if reward not in ENV_REWARDS:
            raise ValueError(f"reward: expected one of {ENV_REWARDS}, got {reward!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: expected None or one of "
                             f"{self.metadata['render_modes']}, got {render_mode!r}")
        self.reward, self.render_mode = reward, render_mode
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        s = self.scenario
        self.layouts = {a: observation_layout(s, a, self.max_periods) for a in AGENTS}
        self.state_layout = observation_layout(s, "state", self.max_periods)
        self.observation_spaces = {a: self.layouts[a].space() for a in AGENTS}
        self.action_spaces = {
            "replenisher": spaces.MultiDiscrete(s.max_order + 1, dtype=np.int64),
            "recommender": spaces.Box(0.0, 1.0, (s.n_segments, s.n_products), dtype=np.float32)}
        self.state_space = self.state_layout.space()
        self.simulator = Simulator(s, batch_size=1, validate=False)
        self._rng: Optional[np.random.Generator] = None
        self._last: Optional[StepResult] = None
        self._started = False

    def observation_space(self, agent: str) -> spaces.Box:
        return self.observation_spaces[self._known(agent)]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[self._known(agent)]

    def _known(self, agent):
        if agent not in AGENTS:
            raise KeyError(f"unknown agent {agent!r}; agents: {list(AGENTS)}")
        return agent

    def _observations(self) -> dict:
        o = self.simulator.observation
        return {a: self.layouts[a].flatten(o)[0] for a in AGENTS}

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None):
        """Start an episode at the scenario's initial state (t = 0); ``seed`` re-seeds."""
        if seed is not None or self._rng is None:
            self._rng, _ = seeding.np_random(seed)
        self.simulator.reset()
        self.simulator.rng = self._rng          # the stream continues across unseeded resets
        self.agents = list(AGENTS)
        self._last = None
        self._started = True
        return self._observations(), {a: {} for a in AGENTS}

    def step(self, actions: dict):
        """One period: ``actions = {"replenisher": orders (N,), "recommender": scores (K, N)}``."""
        if not self._started:
            raise RuntimeError("step() before reset(): call reset() to start an episode")
        if not self.agents:
            raise RuntimeError("the episode is over (truncated at max_periods): call reset()")
        if not isinstance(actions, Mapping):
            raise TypeError(f"actions: expected a dict {{agent: action}} for agents "
                            f"{list(AGENTS)}, got {type(actions).__name__}")
        unknown = [a for a in actions if a not in AGENTS]
        if unknown:
            raise KeyError(f"actions: unknown agent(s) {unknown}; agents: {list(AGENTS)}")
        missing = [a for a in AGENTS if a not in actions]
        if missing:
            raise KeyError(f"actions: missing an action for {missing}")
        s = self.scenario
        orders = np.asarray(actions["replenisher"])
        if orders.shape != (s.n_products,):
            raise ValueError(f"replenisher action: expected shape ({s.n_products},), got {orders.shape}")
        orders = s.check_orders(orders)
        scores = np.asarray(actions["recommender"])
        if scores.shape != (s.n_segments, s.n_products):
            raise ValueError(f"recommender action: expected shape {(s.n_segments, s.n_products)}, "
                             f"got {scores.shape}")
        exposure = exposure_from_scores(scores)

        t = self.simulator.t
        result = self.simulator.step(orders[None], exposure[None])
        self._last = result
        parts = _parts(result)
        parts["gmv"] = float(result.gmv[0])
        if self.reward == "profit":
            rewards = {a: parts["profit"] for a in AGENTS}
        else:
            rewards = {"replenisher": -parts["operating_cost"], "recommender": parts["gmv"]}
        infos = {a: dict(parts, t=t) for a in AGENTS}
        infos["replenisher"].update(review=s.is_review_period(t), orders=result.orders[0].copy())
        infos["recommender"]["exposure"] = result.exposure[0].copy()
        truncated = self.simulator.t >= self.max_periods
        observations = self._observations()
        terminations = {a: False for a in AGENTS}
        truncations = {a: truncated for a in AGENTS}
        if truncated:
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """The full Markov state (MODEL.md section 4): ``review, t, on_hand, pipeline[, backlog]``."""
        return self.state_layout.flatten(self.simulator.observation)[0]

    def unflatten_observation(self, agent: str, flat) -> dict:
        """An agent's view as a dict (keys as in ``Observation.<agent>_view()``)."""
        return self.layouts[self._known(agent)].unflatten(flat)

    def render(self):
        return render(self.render_mode, self.simulator, self._last)

    def close(self):
        pass


def parallel_env(scenario="tiny", max_periods: int = DEFAULT_MAX_PERIODS, reward: str = "profit",
                 render_mode: Optional[str] = None) -> CoordinationParallelEnv:
    """The PettingZoo parallel environment of the two departments (see the module doc)."""
    return CoordinationParallelEnv(scenario, max_periods=max_periods, reward=reward,
                                   render_mode=render_mode)
