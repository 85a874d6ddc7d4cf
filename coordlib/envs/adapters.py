"""Policies of the standard APIs as coordlib policies, so :func:`coordlib.evaluate` runs them.

A model trained on ``coordlib/Coordination-v0`` (or its normalized form), or on the PettingZoo
environment, decides from the flat observation that env would show. The adapters here build
that observation for every copy of the batched simulator (the same
:func:`coordlib.envs.spaces.observation_layout`, so the same fields, bounds and clipping),
ask the model, and decode its action exactly as the env does. The model is then evaluated
like the heuristics: same scenario, same replications, same seed, same confidence interval.

A *model* is either

* an object with ``predict(observations, deterministic=...)`` returning ``(actions, state)``
  (the convention of Stable-Baselines3, sb3-contrib and the RL zoo), or
* a callable from a batch of observations (B, D) to a batch of actions (B, A).

It is called once per period with the whole batch. Actions outside the space are clipped to it
first (what Stable-Baselines3 does before ``env.step``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Callable, Optional

import numpy as np

from ..model.policy import Action, Policy
from ..model.simulator import Observation
from .normalized import normalize_observation
from .spaces import (
    AGENTS,
    DEFAULT_MAX_PERIODS,
    decode_joint_action,
    exposure_from_scores,
    observation_layout,
    orders_from_fractions,
)


def _predictor(model, deterministic: bool, what: str) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(model, "predict"):
        return lambda obs: model.predict(obs, deterministic=deterministic)[0]
    if callable(model):
        return model
    raise TypeError(f"{what}: expected a model with predict(obs, deterministic=...) or a "
                    f"callable from observations to actions, got {type(model).__name__}")


def _normalizer(normalizer, what: str) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    if normalizer is None:
        return None
    if hasattr(normalizer, "normalize_obs"):               # SB3's VecNormalize
        return normalizer.normalize_obs
    if callable(normalizer):
        return normalizer
    raise TypeError(f"{what}: expected None, an object with normalize_obs() (VecNormalize) "
                    f"or a callable, got {type(normalizer).__name__}")


def _batch(actions, batch_size: int, size: int, what: str) -> np.ndarray:
    a = np.asarray(actions, dtype=np.float64).reshape(batch_size, -1)
    if a.shape[1] != size:
        raise ValueError(f"{what}: expected {size} entries per copy, got {a.shape[1]}")
    return a


class GymnasiumPolicy(Policy):
    """A policy of the single-agent env (the firm's joint action) as a coordlib policy.

    Made by :func:`from_gymnasium`; see there for the parameters.
    """

    def __init__(self, model, normalized: bool = False, max_periods: int = DEFAULT_MAX_PERIODS,
                 normalizer=None, deterministic: bool = True, name: str = "gymnasium-policy"):
        self.model, self.normalized, self.max_periods = model, bool(normalized), int(max_periods)
        self.deterministic, self.name = bool(deterministic), name
        self._predict = _predictor(model, self.deterministic, "from_gymnasium")
        self._normalize = _normalizer(normalizer, "from_gymnasium normalizer")

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        self.layout = observation_layout(scenario, "joint", self.max_periods)

    def flat_observation(self, observation: Observation) -> np.ndarray:
        """(B, D) float32: what the env (normalized or not) shows each copy this period."""
        flat = self.layout.flatten(observation)
        if self.normalized:
            flat = normalize_observation(self.layout, flat)
        return flat if self._normalize is None else self._normalize(flat)

    def act(self, observation: Observation) -> Action:
        s = self.scenario
        size = s.n_products + s.n_segments * s.n_products
        a = _batch(self._predict(self.flat_observation(observation)), observation.batch_size,
                   size, "model action")
        unit = (np.clip(a, -1.0, 1.0) + 1.0) / 2.0 if self.normalized else np.clip(a, 0.0, 1.0)
        orders, exposure = decode_joint_action(s, unit)
        return Action(orders, exposure)


def from_gymnasium(model, normalized: bool = False, max_periods: int = DEFAULT_MAX_PERIODS,
                   normalizer=None, deterministic: bool = True,
                   name: str = "gymnasium-policy") -> GymnasiumPolicy:
    """A model trained on ``coordlib/Coordination-v0`` as a policy for :func:`coordlib.evaluate`.

    Parameters
    ----------
    model
        ``predict(obs, deterministic=...)`` (Stable-Baselines3 and the like) or a callable
        (B, D) -> (B, N + K N); see the module doc.
    normalized : bool
        whether it was trained on ``coordlib/CoordinationNormalized-v0`` (observations in
        [-1, 1], actions in [-1, 1]) rather than the env in the model's units.
    max_periods : int
        the training env's ``max_periods`` (it bounds, and so clips, the period t it observed).
    normalizer
        running observation statistics applied last, e.g. the training ``VecNormalize``
        (its ``normalize_obs``), or any callable on the batch; None: none.
    deterministic : bool
        passed to ``predict``: the mean action (True) or a sample.

    >>> import coordlib
    >>> tiny = coordlib.scenarios.get("tiny")
    >>> half = from_gymnasium(lambda obs: [[0.25, 0.25, 1.0, 1.0]] * len(obs))
    >>> runs = coordlib.evaluate(tiny, half, replications=2, periods=50, warmup=10, seed=0)
    >>> len(runs)
    2
    """
    return GymnasiumPolicy(model, normalized, max_periods, normalizer, deterministic, name)


class PettingZooPolicy(Policy):
    """One model per department of the PettingZoo env as a coordlib policy (decentralized
    execution: each decides on its own view). Made by :func:`from_pettingzoo`."""

    def __init__(self, models: Mapping, normalized: bool = False,
                 max_periods: int = DEFAULT_MAX_PERIODS, normalizers: Optional[Mapping] = None,
                 deterministic: bool = True, name: str = "pettingzoo-policy"):
        if not isinstance(models, Mapping) or set(models) != set(AGENTS):
            raise ValueError(f"from_pettingzoo: expected a dict with one model per agent "
                             f"{list(AGENTS)}, got {sorted(models) if isinstance(models, Mapping) else type(models).__name__}")
        normalizers = dict(normalizers or {})
        unknown = set(normalizers) - set(AGENTS)
        if unknown:
            raise ValueError(f"from_pettingzoo normalizers: unknown agent(s) {sorted(unknown)}")
        self.models, self.normalized, self.max_periods = dict(models), bool(normalized), int(max_periods)
        self.deterministic, self.name = bool(deterministic), name
        self._predict = {a: _predictor(models[a], self.deterministic, f"from_pettingzoo[{a!r}]")
                         for a in AGENTS}
        self._normalize = {a: _normalizer(normalizers.get(a), f"from_pettingzoo normalizer {a!r}")
                           for a in AGENTS}

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        self.layouts = {a: observation_layout(scenario, a, self.max_periods) for a in AGENTS}

    def flat_observation(self, agent: str, observation: Observation) -> np.ndarray:
        """(B, D_agent) float32: what the env (normalized or not) shows ``agent``."""
        flat = self.layouts[agent].flatten(observation)
        if self.normalized:
            flat = normalize_observation(self.layouts[agent], flat)
        normalize = self._normalize[agent]
        return flat if normalize is None else normalize(flat)

    def act(self, observation: Observation) -> Action:
        s, B = self.scenario, observation.batch_size
        N, K = s.n_products, s.n_segments
        a = {agent: _batch(self._predict[agent](self.flat_observation(agent, observation)), B,
                           N if agent == "replenisher" else K * N, f"{agent} action")
             for agent in AGENTS}
        if self.normalized:
            unit = {agent: (np.clip(v, -1.0, 1.0) + 1.0) / 2.0 for agent, v in a.items()}
            orders = orders_from_fractions(unit["replenisher"], s.max_order)
            scores = unit["recommender"]
        else:
            orders = np.clip(np.rint(a["replenisher"]), 0, s.max_order).astype(np.int64)
            scores = np.clip(a["recommender"], 0.0, 1.0)
        return Action(orders, exposure_from_scores(scores.reshape(B, K, N)))


def from_pettingzoo(models: Mapping, normalized: bool = False,
                    max_periods: int = DEFAULT_MAX_PERIODS, normalizers: Optional[Mapping] = None,
                    deterministic: bool = True, name: str = "pettingzoo-policy") -> PettingZooPolicy:
    """Policies of the PettingZoo env's two agents as one coordlib policy.

    ``models = {"replenisher": ..., "recommender": ...}``, each a model or callable as in the
    module doc, deciding on that agent's flat view. With ``normalized=False`` (the env of
    :func:`coordlib.envs.parallel.parallel_env`) the replenisher returns orders (B, N), rounded
    and clipped to 0..Qmax_i, the recommender scores (B, K, N) or (B, K N), clipped to [0, 1];
    with ``normalized=True`` (:class:`coordlib.envs.normalized.NormalizedParallelEnv`) both
    return entries in [-1, 1]. ``max_periods``, ``normalizers`` (per agent) and
    ``deterministic`` as in :func:`from_gymnasium`.
    """
    return PettingZooPolicy(models, normalized, max_periods, normalizers, deterministic, name)
