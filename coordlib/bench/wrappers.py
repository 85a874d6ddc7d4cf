"""Benchmark section ``wrappers``: the cost per period of the PettingZoo and Gymnasium wrappers
against the bare simulator step.
"""
from __future__ import annotations

import time

import gymnasium
import numpy as np
import pandas as pd

from ..envs.parallel import parallel_env
from ..envs.single_agent import CoordinationEnv
from ..envs.spaces import ENV_ID, _check_max_periods, decode_joint_action
from ..model.scenarios import get as get_scenario
from ..model.simulator import Simulator
from .common import SectionResult, fmt, row


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


# ---- 2. the wrappers against the raw simulator ---------------------------------------------------
WRAPPERS = {"simulator_step": "Simulator.step with action checks",
            "pettingzoo_step": "PettingZoo parallel env step",
            "gymnasium_step": "Gymnasium env step (unwrapped)",
            "gymnasium_make_step": "Gymnasium env step via gymnasium.make (checker wrappers)"}


def wrappers_section(scenarios=("tiny", "medium"), steps: int = 2000, repeats: int = 5,
                     seed: int = 0) -> SectionResult:
    """Per-period time of each wrapper at batch 1 against the unchecked simulator step."""
    records, rows = [], []
    for name in scenarios:
        result = wrapper_overhead(name, steps=steps, repeats=repeats, seed=seed)
        raw = result["simulator_step_unchecked"]
        for key, label in WRAPPERS.items():
            seconds = result[key]
            records.append({"scenario": result["scenario"], "variant": key,
                            "us_per_step": seconds * 1e6, "raw_us_per_step": raw * 1e6,
                            "overhead_us": (seconds - raw) * 1e6, "ratio": seconds / raw,
                            "steps": result["steps"]})
            rows.append(row("wrappers", f"{label} vs Simulator.step unchecked, {result['scenario']}, batch 1",
                            fmt(seconds * 1e6, "us/step"), fmt(raw * 1e6, "us/step"),
                            seconds / raw, "none (reported)", "n/a",
                            f"ratio = wrapper time / raw step time; overhead "
                            f"{fmt((seconds - raw) * 1e6, 'us')} per step"))
    return SectionResult(pd.DataFrame(records), rows)
