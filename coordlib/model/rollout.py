"""The one simulation loop: a policy run on B copies of the simulator (MODEL.md section 3).

Every loop that runs a policy on the model goes through :func:`rollout`: evaluation
(:func:`coordlib.model.evaluation.evaluate`), trajectories for B3/B4 (:func:`trajectories`),
base-stock tuning, the quickstart's trajectory. The seed rule is stated once here: the
simulator's stream is ``seed`` and the policy's own randomness ``default_rng([seed, 1])``.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from .scenarios import get as get_scenario
from .simulator import Simulator, StepResult


def policy_rng(seed) -> np.random.Generator:
    """The random stream a policy gets in a rollout seeded ``seed`` (an int or a sequence of
    ints, as the simulator takes): ``default_rng([*seed, 1])``, independent of the demand."""
    return np.random.default_rng([*(int(v) for v in np.atleast_1d(seed)), 1])


def rollout(scenario, policy, batch_size: int, periods: int, seed: int = 0, warmup: int = 0,
            validate: bool = True) -> Iterator[tuple[int, StepResult]]:
    """Run ``policy`` for ``periods`` periods on ``batch_size`` copies; yield ``(t, result)``.

    ``scenario``: a Scenario or a shipped scenario's name. Periods t < ``warmup`` are simulated but not yielded. ``policy`` is anything with
    ``reset(scenario, batch_size, rng)`` and ``act(observation) -> Action``; ``validate``
    checks every action against the scenario (turn off only for trusted policies).
    """
    scenario = get_scenario(scenario)
    sim = Simulator(scenario, batch_size=batch_size, seed=seed, validate=validate)
    observation = sim.reset()
    policy.reset(scenario, batch_size, policy_rng(seed))
    for t in range(periods):
        action = policy.act(observation)
        result = sim.step(action.orders, action.exposure)
        observation = result.observation
        if t >= warmup:
            yield t, result


def visited(scenario, policy, batch_size: int = 8, periods: int = 50, seed: int = 0,
            warmup: int = 10) -> list:
    """The observations that ``policy`` meets at the start of periods ``warmup..periods - 1``
    on ``batch_size`` copies (the path of :func:`rollout`): a fixed path of states on which two
    policies can be compared (:func:`exposures_on`)."""
    scenario = get_scenario(scenario)
    first = [Simulator(scenario, batch_size=batch_size, seed=seed).reset()] if warmup <= 0 else []
    # the observation after period t is the one at the start of period t + 1
    return first + [r.observation for _, r in rollout(scenario, policy, batch_size, periods - 1,
                                                      seed, max(warmup - 1, 0))]


def exposures_on(scenario, policy, path, seed: int = 0) -> np.ndarray:
    """The exposures (len(path), B, K, N) that ``policy`` chooses when it is shown the
    observations of ``path`` in order (its memory follows that path, not its own)."""
    scenario = get_scenario(scenario)
    policy.reset(scenario, path[0].on_hand.shape[0], policy_rng(seed))
    return np.stack([np.asarray(policy.act(o).exposure, float) for o in path])


def trajectories(scenario, policy, replications: int = 32, periods: int = 600, warmup: int = 100,
                 seed: int = 0) -> dict:
    """Trajectories of any policy after a warm-up (for the B3 and B4 measures).

    Returns arrays (replications, periods - warmup, N): ``orders`` [q_i], ``exposure`` (the
    arrival-weighted share of product i, sum_k lambda_k x_ki / sum_k lambda_k),
    ``available`` [A_i], and ``profit`` (replications, periods - warmup).
    """
    scenario = get_scenario(scenario)
    w = scenario.arrival_rate / scenario.arrival_rate.sum()
    out = {k: [] for k in ("orders", "exposure", "available", "profit")}
    for _, r in rollout(scenario, policy, replications, periods, seed, warmup):
        out["orders"].append(r.orders)
        out["exposure"].append(np.einsum("bkn,k->bn", r.exposure, w))
        out["available"].append(r.available)
        out["profit"].append(r.profit)
    return {k: np.stack(v, axis=1) for k, v in out.items()}
