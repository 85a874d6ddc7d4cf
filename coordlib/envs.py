"""The standard APIs of the field: PettingZoo, Gymnasium and a batched vector form.

The model of MODEL.md sections 2-4, stepped by :class:`coordlib.Simulator`, behind the
interfaces that reinforcement-learning libraries expect:

* :func:`parallel_env` -> :class:`CoordinationParallelEnv`, a ``pettingzoo.ParallelEnv`` with
  the two departments of MODEL.md section 4 as agents, ``"replenisher"`` and ``"recommender"``,
  each observing only its own view (decentralized execution); :meth:`~CoordinationParallelEnv.state`
  gives the full state for a centralized critic (MODEL.md section 6).
* :class:`CoordinationEnv`, the firm as one agent with the joint action, registered on import
  of coordlib as ``gymnasium.make("coordlib/Coordination-v0", scenario="tiny")``.
* :class:`CoordinationVectorEnv`, ``num_envs`` copies stepped at once by one batched simulator
  (``gymnasium.make_vec("coordlib/Coordination-v0", num_envs=...)``), with autoreset.

Observations
------------
Every observation is a flat ``float32`` vector (a bounded ``Box``) whose entries are counts in
their natural units (no scaling). Its layout is a sequence of fields, each flattened in C order;
:func:`observation_layout` gives the slices and :func:`unflatten` (or the environments'
``unflatten_observation``) turns a vector, or a batch of them, back into the view's dict.

===================  ========  ==========================================================
field                shape     meaning (MODEL.md symbol)
===================  ========  ==========================================================
``review``           1         1 if orders are placed this period (t mod R = 0), else 0
``t``                1         the period index t (seasonality and the review cycle)
``on_hand``          N         on-hand stock at the start of the period [I_i]
``pipeline``         N x Lmax  outstanding orders; column d arrives at the start of t + d
``backlog``          N         backlogged units (backlog variant only; absent otherwise)
``last_sales``       N         units sold last period [s_i]
``last_lost_sales``  N         units of demand lost last period [l_i]
``availability``     N         stock available this period, min(I_i + due now, M_i)
``last_customers``   K         customers who arrived last period, per segment
``last_demand``      K x N     purchase intents last period [D_ki]
===================  ========  ==========================================================

* replenisher (operations): ``review, t, on_hand, pipeline, [backlog], last_sales, last_lost_sales``
* recommender (marketing): ``t, availability, last_customers, last_demand``
* state (centralized critic, the Markov state): ``review, t, on_hand, pipeline, [backlog]``
* joint (the single-agent firm): the replenisher's fields, then ``availability,
  last_customers, last_demand``.

Bounds: stock and availability lie in 0..M_i, the pipeline in 0..Qmax_i (or the initial
pipeline if larger), t in 0..max_periods. Arrival counts have no hard bound; the box uses
C_k = ceil(lam_k + 10 sqrt(lam_k) + 10) customers per segment, with lam_k = lambda_k (1 + a_k)
the largest arrival rate, which a Poisson count exceeds with probability below 3e-21 per period
(checked in the tests); a count beyond it is clipped to it. Demand and lost sales are bounded by
the customers, a backlog by max_periods * sum_k C_k.

Actions
-------
* replenisher: ``MultiDiscrete(Qmax + 1)``, the order quantities q_i in 0..Qmax_i.
  **In periods with no review (t mod R != 0) the replenisher's action is ignored: no order is
  placed (q = 0, MODEL.md section 2).** It must still act every period (a parallel environment
  steps every live agent); the ``review`` entry of its observation says whether this period's
  action counts, and ``infos["replenisher"]["orders"]`` holds the orders actually placed.
* recommender: ``Box(0, 1, (K, N))`` of non-negative scores, mapped per segment onto the
  simplex by :func:`exposure_from_scores`: x_kj = score_kj / sum_j score_kj, and the uniform
  exposure 1/N when a segment's scores are all zero. The mapping is scale-free, so any finite
  non-negative scores are accepted; the exposure is always a valid point of the simplex.
* joint (``CoordinationEnv``, ``action_format="flat"``, for Stable-Baselines3 and the like): a
  ``Box(0, 1, (N + K N,))``; the first N entries are order fractions, q_i = floor(a_i Qmax_i + 1/2),
  the next K N entries are the recommender's scores in C order (segment-major), mapped as
  above (:func:`decode_joint_action`). ``action_format="dict"`` gives
  ``Dict(orders=MultiDiscrete, scores=Box)`` instead.
* Bad actions raise a ValueError naming the problem: orders outside 0..Qmax_i or not whole,
  negative or non-finite scores, joint entries outside [0, 1], wrong shapes.

Rewards, episodes, seeding
--------------------------
* Reward: the firm's profit r_t (MODEL.md section 3, step 6), shared by both agents. With
  ``reward="kpi"`` each department gets its own siloed KPI (MODEL.md section 4): the
  replenisher minus its operating cost, -(c q + h I' + b l) = -(purchase + holding + penalty
  cost; in the backlog variant b is charged per backlogged unit, as the simulator does), the
  recommender the GMV sum_i p_i D_i. Infos carry the profit, its parts and both KPIs.
* Episodes never terminate (the objective is a long-run average); they are truncated after
  ``max_periods`` periods, so a learner should bootstrap the value at truncation.
* ``reset(seed=s)`` seeds the random stream exactly as ``Simulator(scenario, seed=s)`` does,
  so the environment reproduces the simulator's trajectory under the same decisions;
  ``reset()`` without a seed continues the stream (a new episode, not a replay).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Optional

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from pettingzoo import ParallelEnv

from .scenario import Scenario
from .scenarios import get as get_scenario
from .simulator import Observation, Simulator, StepResult

ENV_ID = "coordlib/Coordination-v0"
"""The Gymnasium id of :class:`CoordinationEnv` (and, through ``make_vec``, the vector form)."""
AGENTS = ("replenisher", "recommender")
"""The PettingZoo agents: the two departments of MODEL.md section 4."""
REWARDS = ("profit", "kpi")
DEFAULT_MAX_PERIODS = 200

_TAIL_SDS, _TAIL_EXTRA = 10.0, 10.0       # C_k = ceil(lam + 10 sqrt(lam) + 10)
_PARTS = ("profit", "revenue", "purchase_cost", "holding_cost", "penalty_cost")


# ---- observation layouts ----------------------------------------------------------------------
def customer_bound(scenario: Scenario) -> np.ndarray:
    """C_k: the box's upper bound on customers per period in segment k (see the module doc)."""
    peak = scenario.arrival_rate * (1.0 + scenario.season_amplitude)
    return np.ceil(peak + _TAIL_SDS * np.sqrt(peak) + _TAIL_EXTRA)


def _fields(scenario: Scenario, part: str) -> tuple[str, ...]:
    backlog = ("backlog",) if scenario.backlog else ()
    replenisher = ("review", "t", "on_hand", "pipeline", *backlog, "last_sales", "last_lost_sales")
    marketing = ("availability", "last_customers", "last_demand")
    parts = {"replenisher": replenisher, "recommender": ("t", *marketing),
             "state": ("review", "t", "on_hand", "pipeline", *backlog),
             "joint": replenisher + marketing}
    if part not in parts:
        raise ValueError(f"part: expected one of {sorted(parts)}, got {part!r}")
    return parts[part]


@dataclass(frozen=True, eq=False)
class ObservationLayout:
    """Where each field of a view lies in a flat observation vector, and its bounds."""

    part: str
    """which view: "replenisher", "recommender", "state" or "joint" """
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    low: np.ndarray
    high: np.ndarray

    @property
    def size(self) -> int:
        """Length of the flat vector."""
        return self.low.shape[0]

    @cached_property
    def slices(self) -> dict[str, slice]:
        """Field name -> slice of the flat vector."""
        out, start = {}, 0
        for name, shape in zip(self.names, self.shapes):
            stop = start + math.prod(shape)
            out[name] = slice(start, stop)
            start = stop
        return out

    def space(self) -> spaces.Box:
        return spaces.Box(self.low, self.high, dtype=np.float32)

    def flatten(self, observation: Observation) -> np.ndarray:
        """(B, size) float32: every copy's view laid out flat (a fresh array)."""
        B = observation.batch_size
        out = np.empty((B, self.size), dtype=np.float32)
        for name, sl in self.slices.items():
            if name == "t":
                out[:, sl] = observation.t
            elif name == "review":
                out[:, sl] = float(observation.review)
            else:
                out[:, sl] = getattr(observation, name).reshape(B, -1)
        np.minimum(out, self.high, out=out)       # the far Poisson tail, see the module doc
        return out

    def unflatten(self, flat) -> dict:
        """The view's dict from a flat vector (..., size): counts as int64, ``review`` as bool."""
        flat = np.asarray(flat)
        if flat.shape[-1:] != (self.size,):
            raise ValueError(f"{self.part} observation: expected trailing size {self.size}, "
                             f"got shape {flat.shape}")
        lead = flat.shape[:-1]
        out = {}
        for (name, sl), shape in zip(self.slices.items(), self.shapes):
            value = flat[..., sl].reshape(lead + shape)
            out[name] = value > 0.5 if name == "review" else np.rint(value).astype(np.int64)
        return out


def observation_layout(scenario, part: str, max_periods: int = DEFAULT_MAX_PERIODS
                       ) -> ObservationLayout:
    """The flat layout of one view of ``scenario`` (see the module doc for the table).

    ``part``: "replenisher", "recommender", "state" or "joint". ``max_periods`` (the episode
    length) bounds ``t`` and, in the backlog variant, the backlog.
    """
    s = get_scenario(scenario)
    N, K, L = s.n_products, s.n_segments, s.max_lead_time
    C = customer_bound(s)
    capacity = s.capacity.astype(float)
    # at least 1 so that no entry of the box is degenerate (low == high)
    pipe = np.maximum(s.max_order, s.initial_pipeline.max(axis=1, initial=0)).clip(min=1)
    spec = {"review": ((), 1.0), "t": ((), float(max_periods)),
            "on_hand": ((N,), capacity), "pipeline": ((N, L), np.repeat(pipe, L).astype(float)),
            "backlog": ((N,), np.full(N, max_periods * C.sum())),
            "last_sales": ((N,), capacity), "last_lost_sales": ((N,), np.full(N, C.sum())),
            "availability": ((N,), capacity), "last_customers": ((K,), C),
            "last_demand": ((K, N), np.repeat(C, N))}
    names = _fields(s, part)
    shapes = tuple(spec[n][0] for n in names)
    high = np.concatenate([np.broadcast_to(spec[n][1], (int(np.prod(spec[n][0], dtype=int)),))
                           for n in names]).astype(np.float32)
    return ObservationLayout(part, names, shapes, np.zeros_like(high), high)


def unflatten(scenario, part: str, flat) -> dict:
    """The view's dict (keys as in ``Observation.replenisher_view()`` etc.) from a flat vector."""
    return observation_layout(scenario, part).unflatten(flat)


# ---- action mappings --------------------------------------------------------------------------
def exposure_from_scores(scores) -> np.ndarray:
    """Map non-negative scores (..., K, N) to exposures x_k in the simplex, per segment.

    x_kj = score_kj / sum_j score_kj; a segment whose scores are all zero gets the uniform
    exposure 1/N. Raises ValueError on NaN, inf or a negative score.
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim < 2:
        raise ValueError(f"recommender scores: expected shape (..., K, N), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("recommender scores: contain NaN or inf")
    if np.any(s < 0):
        raise ValueError(f"recommender scores: must be >= 0, got a minimum of {s.min():.4g}")
    total = s.sum(axis=-1, keepdims=True)
    positive = total > 0
    return np.where(positive, s / np.where(positive, total, 1.0), 1.0 / s.shape[-1])


def orders_from_fractions(fractions, max_order) -> np.ndarray:
    """Map fractions a_i in [0, 1] to whole orders q_i = floor(a_i Qmax_i + 1/2) in 0..Qmax_i."""
    a = np.asarray(fractions, dtype=float)
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
        raise ValueError("order fractions: must lie in [0, 1] (clip the policy's output)")
    return np.floor(a * max_order + 0.5).astype(np.int64)


def joint_action_space(scenario, action_format: str = "flat") -> spaces.Space:
    """The firm's action space: flat ``Box(0, 1, (N + K N,))`` or a ``Dict`` (module doc)."""
    s = get_scenario(scenario)
    N, K = s.n_products, s.n_segments
    if action_format == "flat":
        return spaces.Box(0.0, 1.0, (N + K * N,), dtype=np.float32)
    if action_format == "dict":
        return spaces.Dict({"orders": spaces.MultiDiscrete(s.max_order + 1, dtype=np.int64),
                            "scores": spaces.Box(0.0, 1.0, (K, N), dtype=np.float32)})
    raise ValueError(f"action_format: expected 'flat' or 'dict', got {action_format!r}")


def decode_joint_action(scenario, action, action_format: str = "flat"):
    """(orders (..., N) int64, exposure (..., K, N)) from a joint action (or a batch of them)."""
    s = get_scenario(scenario)
    N, K = s.n_products, s.n_segments
    if action_format == "dict":
        if not isinstance(action, dict) or set(action) != {"orders", "scores"}:
            raise ValueError("action: expected a dict with keys 'orders' and 'scores'")
        orders = np.asarray(action["orders"])
        if orders.shape[-1:] != (N,):
            raise ValueError(f"action['orders']: expected trailing shape ({N},), got {orders.shape}")
        scores = np.asarray(action["scores"])
        if scores.shape[-2:] != (K, N):
            raise ValueError(f"action['scores']: expected trailing shape {(K, N)}, got {scores.shape}")
        return s.check_orders(orders), exposure_from_scores(scores)
    a = np.asarray(action)
    if a.shape[-1:] != (N + K * N,):
        raise ValueError(f"action: expected trailing size N + K N = {N + K * N}, got shape {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a > 1):
        raise ValueError("action: every entry must lie in [0, 1] (clip the policy's output)")
    orders = orders_from_fractions(a[..., :N], s.max_order)
    exposure = exposure_from_scores(a[..., N:].reshape(a.shape[:-1] + (K, N)))
    return orders, exposure


def _check_max_periods(max_periods) -> int:
    if isinstance(max_periods, bool) or not isinstance(max_periods, (int, np.integer)) \
            or max_periods < 1:
        raise ValueError(f"max_periods: must be a whole number >= 1, got {max_periods!r}")
    return int(max_periods)


def _parts(result: StepResult, index=0) -> dict:
    """The profit and its parts of one copy, plus both departments' KPIs (MODEL.md section 4)."""
    out = {k: float(getattr(result, k)[index]) for k in _PARTS}
    out["operating_cost"] = out["purchase_cost"] + out["holding_cost"] + out["penalty_cost"]
    return out


def _render_text(env_name: str, sim: Simulator, last: Optional[StepResult]) -> str:
    o = sim.observation
    lines = [f"{env_name} t={o.t} review={'yes' if o.review else 'no'} "
             f"on_hand={o.on_hand[0].tolist()} pipeline={o.pipeline[0].tolist()}"]
    if last is not None:
        lines.append(f"  last period: orders={last.orders[0].tolist()} "
                     f"sales={last.sales[0].tolist()} lost={last.lost_sales[0].tolist()} "
                     f"profit={last.profit[0]:.2f}")
    return "\n".join(lines)


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
        if reward not in REWARDS:
            raise ValueError(f"reward: expected one of {REWARDS}, got {reward!r}")
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
        return self._observations(), {a: {} for a in AGENTS}

    def step(self, actions: dict):
        """One period: ``actions = {"replenisher": orders (N,), "recommender": scores (K, N)}``."""
        if not self.agents:
            raise RuntimeError("the episode is over (truncated at max_periods): call reset()")
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
        parts["gmv"] = float(result.total_demand[0] @ s.price)
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
        text = _render_text("coordination", self.simulator, self._last)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self):
        pass


def parallel_env(scenario="tiny", max_periods: int = DEFAULT_MAX_PERIODS, reward: str = "profit",
                 render_mode: Optional[str] = None) -> CoordinationParallelEnv:
    """The PettingZoo parallel environment of the two departments (see the module doc)."""
    return CoordinationParallelEnv(scenario, max_periods=max_periods, reward=reward,
                                   render_mode=render_mode)


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
        info.update(gmv=float(result.total_demand[0] @ self.scenario.price), t=t,
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
        text = _render_text("coordination", self.simulator, self._last)
        if self.render_mode == "human":
            print(text)
            return None
        return text


# ---- Gymnasium vector form on the batched simulator --------------------------------------------
class CoordinationVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`CoordinationEnv` stepped at once by one batched Simulator.

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
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.action_format = action_format
        self.simulator = Simulator(self.scenario, batch_size=self.num_envs, validate=False)
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
        info = {k: getattr(result, k).astype(float) for k in _PARTS}
        info["operating_cost"] = info["purchase_cost"] + info["holding_cost"] + info["penalty_cost"]
        info["gmv"] = result.total_demand @ self.scenario.price
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


# ---- registration ----------------------------------------------------------------------------
if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="coordlib.envs:CoordinationEnv",
                       vector_entry_point="coordlib.envs:CoordinationVectorEnv")


# ---- the wrappers' cost ----------------------------------------------------------------------
def wrapper_overhead(scenario="tiny", steps: int = 2000, repeats: int = 3, seed: int = 0) -> dict:
    """Seconds per period of the raw simulator and of each wrapper (batch 1), side by side.

    Each variant runs ``steps`` periods under the same pre-drawn random actions (drawing them is
    not timed); the ``repeats`` rounds interleave the variants and the best round is kept.
    Keys: ``simulator_step`` (``Simulator.step`` with action checks, as a user calls it),
    ``simulator_step_unchecked`` (``validate=False``, the core every wrapper calls),
    ``pettingzoo_step``, ``gymnasium_step`` (the unwrapped env), ``gymnasium_make_step``
    (``gymnasium.make``: with the order-enforcing and passive-checker wrappers), plus the
    scenario name and ``steps``.
    """
    s = get_scenario(scenario)
    steps = _check_max_periods(steps)
    rng = np.random.default_rng(seed)
    N, K = s.n_products, s.n_segments
    flat = rng.random((steps, N + K * N)).astype(np.float32)
    orders, exposure = decode_joint_action(s, flat)
    scores = flat[:, N:].reshape(steps, K, N)

    checked = Simulator(s, 1, seed=seed)
    unchecked = Simulator(s, 1, seed=seed, validate=False)
    pz = parallel_env(s, max_periods=steps)
    gym_env = CoordinationEnv(s, max_periods=steps)
    made = gymnasium.make(ENV_ID, scenario=s, max_periods=steps)

    def run_simulator(sim):
        sim.reset(seed)
        for i in range(steps):
            sim.step(orders[i:i + 1], exposure[i:i + 1])

    def run_pettingzoo():
        pz.reset(seed=seed)
        for i in range(steps):
            pz.step({"replenisher": orders[i], "recommender": scores[i]})

    def run_gymnasium(env):
        env.reset(seed=seed)
        for i in range(steps):
            env.step(flat[i])

    variants = {"simulator_step": lambda: run_simulator(checked),
                "simulator_step_unchecked": lambda: run_simulator(unchecked),
                "pettingzoo_step": run_pettingzoo,
                "gymnasium_step": lambda: run_gymnasium(gym_env),
                "gymnasium_make_step": lambda: run_gymnasium(made)}
    best = {k: float("inf") for k in variants}
    for _ in range(max(1, int(repeats))):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], (time.perf_counter() - start) / steps)
    made.close()
    return {**best, "scenario": s.name, "steps": steps}


__all__ = ["ENV_ID", "AGENTS", "parallel_env", "CoordinationParallelEnv", "CoordinationEnv",
           "CoordinationVectorEnv", "ObservationLayout", "observation_layout", "unflatten",
           "exposure_from_scores", "orders_from_fractions", "joint_action_space",
           "decode_joint_action", "customer_bound", "wrapper_overhead"]
