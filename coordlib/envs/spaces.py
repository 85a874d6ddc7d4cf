"""The environments' observation and action spaces: flat layouts of each department's view,
the maps from actions to orders and exposures, and rendering (the contract is in
:mod:`coordlib.envs`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Optional

import numpy as np
from gymnasium import spaces

from ..model.evaluation import PARTS
from ..model.scenario import Scenario
from ..model.scenarios import get as get_scenario
from ..model.simulator import Observation, Simulator, StepResult

ENV_ID = "coordlib/Coordination-v0"
"""The Gymnasium id of :class:`coordlib.envs.single_agent.CoordinationEnv` (and, through ``make_vec``, the vector form)."""
AGENTS = ("replenisher", "recommender")
"""The PettingZoo agents: the two departments of MODEL.md section 4."""
ENV_REWARDS = ("profit", "kpi")
DEFAULT_MAX_PERIODS = 200

_TAIL_SDS, _TAIL_EXTRA = 10.0, 10.0       # C_k = ceil(lam + 10 sqrt(lam) + 10)


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
    return {k: float(getattr(result, k)[index]) for k in (*PARTS, "operating_cost")}


def render(render_mode: Optional[str], sim: Simulator, last: Optional[StepResult],
           env_name: str = "coordination") -> Optional[str]:
    """``render()`` of every environment: the first copy's state and last period, as text
    (returned for ``"ansi"``, printed for ``"human"``)."""
    text = _render_text(env_name, sim, last)
    if render_mode == "human":
        print(text)
        return None
    return text


def _render_text(env_name: str, sim: Simulator, last: Optional[StepResult]) -> str:
    o = sim.observation
    lines = [f"{env_name} t={o.t} review={'yes' if o.review else 'no'} "
             f"on_hand={o.on_hand[0].tolist()} pipeline={o.pipeline[0].tolist()}"]
    if last is not None:
        lines.append(f"  last period: orders={last.orders[0].tolist()} "
                     f"sales={last.sales[0].tolist()} lost={last.lost_sales[0].tolist()} "
                     f"profit={last.profit[0]:.2f}")
    return "\n".join(lines)
