"""Benchmark section ``learner``: MTMA against Stable-Baselines3 PPO on the same environment-step
budget and the same evaluation (:func:`coordlib.evaluate`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import pandas as pd

from ..envs.spaces import ENV_ID, decode_joint_action, observation_layout
from ..learning.config import config_for
from ..learning.training import train
from ..model.evaluation import evaluate, mean_ci
from ..model.policy import Action, Policy
from ..model.scenarios import get as get_scenario
from ..model.simulator import Observation
from .common import SectionResult, fmt, fmt_ci, require, row, yes_no


# ---- 5. the learner against Stable-Baselines3 PPO -----------------------------------------------
class SB3Policy(Policy):
    """A Stable-Baselines3 model as a coordlib policy, so :func:`coordlib.evaluate` can run it.

    Builds each copy's flat joint observation exactly as ``coordlib/Coordination-v0`` does
    (:func:`coordlib.envs.spaces.observation_layout` with the env's ``max_periods``), normalizes it with
    the training ``VecNormalize`` statistics if given, takes the model's deterministic action
    and decodes it as the env does (:func:`coordlib.envs.spaces.decode_joint_action`).
    """

    def __init__(self, model, normalizer=None, max_periods: int = 200, name: str = "sb3-ppo"):
        self.model, self.normalizer, self.max_periods, self.name = model, normalizer, max_periods, name

    def reset(self, scenario, batch_size, rng):

        super().reset(scenario, batch_size, rng)
        self.layout = observation_layout(scenario, "joint", self.max_periods)

    def flat_observation(self, observation: Observation) -> np.ndarray:
        """(B, D) float32, what the env would return for each copy."""
        return self.layout.flatten(observation)

    def act(self, observation: Observation) -> Action:

        flat = self.flat_observation(observation)
        if self.normalizer is not None:
            flat = self.normalizer.normalize_obs(flat)
        action, _ = self.model.predict(flat, deterministic=True)
        action = np.clip(np.asarray(action, dtype=np.float64), 0.0, 1.0)
        orders, exposure = decode_joint_action(self.scenario, action)
        return Action(orders, exposure)


@dataclass(frozen=True)
class LearnerBudget:
    """What both learners get on one scenario, and how both are evaluated."""

    env_steps: int = 122_880
    """environment steps (periods x copies) each learner trains for"""
    n_envs: int = 64
    """MTMA's simulator copies per iteration (iteration = n_envs x rollout_length steps)"""
    rollout_length: int = 32
    """MTMA's periods per copy per iteration"""
    sb3_envs: int = 8
    """SB3's environments (DummyVecEnv); its rollout is the same size as an MTMA iteration"""
    checkpoints: int = 10
    """evaluations during training (plus the final one), for the time to reach a profit"""
    replications: int = 20
    periods: int = 500
    warmup: int = 100
    eval_seed: int = 0
    seed: int = 0
    threads: int = 1
    """torch CPU threads of both learners"""

    @property
    def steps_per_iteration(self) -> int:
        return self.n_envs * self.rollout_length

    @property
    def iterations(self) -> int:
        return max(1, self.env_steps // self.steps_per_iteration)

    @property
    def every(self) -> int:
        return max(1, self.iterations // max(1, self.checkpoints))

    def evaluate(self, scenario, policy) -> tuple[float, float, float]:
        frame = evaluate(scenario, policy, replications=self.replications, periods=self.periods,
                         warmup=self.warmup, seed=self.eval_seed)
        return mean_ci(frame["profit"])


LEARNER_BUDGETS = {"tiny": LearnerBudget(env_steps=122_880),
                   "medium": LearnerBudget(env_steps=61_440, checkpoints=6)}
"""The default budgets: about a minute of MTMA and two of SB3 per scenario on 2 cores."""


def train_mtma(scenario, budget: LearnerBudget, config: str = "mtma") -> pd.DataFrame:
    """Train an MTMA configuration; evaluate at checkpoints (training seconds exclude them)."""
    cfg = config_for(config, iterations=budget.iterations, n_envs=budget.n_envs,
                              rollout_length=budget.rollout_length, seed=budget.seed,
                              threads=budget.threads,
                              minibatches=math.gcd(budget.n_envs, 4))
    curve = []

    def checkpoint(learner, step_row):
        if learner.iteration % budget.every == 0 or learner.iteration == budget.iterations:
            mean, lo, hi = budget.evaluate(scenario, learner.policy())
            curve.append({"learner": config, "env_steps": int(step_row["env_steps"]),
                          "train_seconds": float(step_row["wall_time"]), "profit": mean,
                          "profit_lo": lo, "profit_hi": hi})

    train(scenario, cfg, progress=False, evaluate_policy=False, callback=checkpoint)
    return pd.DataFrame(curve)


def train_sb3(scenario, budget: LearnerBudget) -> pd.DataFrame:
    """Train SB3 PPO on ``coordlib/Coordination-v0`` (flat Box action); evaluate at checkpoints.

    PPO with SB3's default hyperparameters (learning rate 3e-4, 10 epochs, minibatches of 64,
    gamma 0.99, GAE 0.95, clip 0.2, an MLP of 64 x 64) on ``sb3_envs`` environments whose
    rollouts add up to one MTMA iteration, with ``VecNormalize`` on observations and rewards
    (the standard recipe for continuous-control PPO; counts and profits are far from unit
    scale). Episodes last ``budget.periods`` periods, the evaluation horizon, so the period t
    in the observation stays within what training showed.
    """
    require("stable_baselines3", "PPO", install="pip install .[bench]")
    # deferred: Stable-Baselines3 is the optional extra [bench], loaded only for this section
    import gymnasium
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    s = get_scenario(scenario)
    torch.set_num_threads(budget.threads)
    venv = VecNormalize(DummyVecEnv([lambda: Monitor(gymnasium.make(ENV_ID, scenario=s,
                                                                     max_periods=budget.periods))
                                     for _ in range(budget.sb3_envs)]), gamma=0.99)
    n_steps = budget.steps_per_iteration // budget.sb3_envs
    model = PPO("MlpPolicy", venv, n_steps=n_steps, batch_size=min(64, n_steps * budget.sb3_envs),
                seed=budget.seed, device="cpu", verbose=0)
    curve = []

    class Checkpoints(BaseCallback):
        def _on_training_start(self):
            self.start, self.paused = time.perf_counter(), 0.0

        def _evaluate(self):
            now = time.perf_counter()
            policy = SB3Policy(model, venv, max_periods=budget.periods)
            mean, lo, hi = budget.evaluate(s, policy)
            curve.append({"learner": "sb3_ppo", "env_steps": int(self.num_timesteps),
                          "train_seconds": now - self.start - self.paused, "profit": mean,
                          "profit_lo": lo, "profit_hi": hi})
            self.paused += time.perf_counter() - now

        def _on_rollout_start(self):
            done = self.num_timesteps // budget.steps_per_iteration
            if done and done % budget.every == 0 and done < budget.iterations:
                self._evaluate()

        def _on_step(self):
            return True

        def _on_training_end(self):
            self._evaluate()

    model.learn(total_timesteps=budget.iterations * budget.steps_per_iteration,
                callback=Checkpoints())
    return pd.DataFrame(curve)


def time_to_reach(curve: pd.DataFrame, profit: float) -> float:
    """Training seconds at the first checkpoint whose evaluated profit is >= ``profit`` (nan: never)."""
    hit = curve[curve["profit"] >= profit]
    return float(hit["train_seconds"].iloc[0]) if len(hit) else float("nan")


def learner_rows(name: str, mtma: pd.DataFrame, sb3: pd.DataFrame, budget: LearnerBudget) -> list[dict]:
    m, b = mtma.iloc[-1], sb3.iloc[-1]
    what = (f"{name}, {budget.iterations * budget.steps_per_iteration:,} env steps each, evaluated "
            f"on {budget.replications} x {budget.periods} periods (warm-up {budget.warmup})")
    higher = m.profit_lo > b.profit_hi
    ratio = m.profit / b.profit if b.profit > 0 and m.profit > 0 else float("nan")
    reach = time_to_reach(mtma, b.profit)
    reach_ratio = reach / b.train_seconds
    speed = (m.env_steps / m.train_seconds) / (b.env_steps / b.train_seconds)
    return [
        row("learner", f"final profit per period, MTMA vs SB3 PPO, {what}",
            fmt_ci(m.profit, m.profit_lo, m.profit_hi), fmt_ci(b.profit, b.profit_lo, b.profit_hi),
            ratio, "MTMA ends higher (95% CIs apart)", yes_no(bool(higher)),
            f"difference {m.profit - b.profit:+.4g}; ratio = MTMA / SB3 (none if a profit is "
            "not positive); SB3: PPO defaults with VecNormalize (coordlib.bench.learner.train_sb3)"),
        row("learner", f"training seconds to reach SB3's final profit ({b.profit:.4g}), {what}",
            fmt(reach, "s") if np.isfinite(reach) else "not reached",
            fmt(b.train_seconds, "s (SB3's whole run)"), reach_ratio, "<= 0.333",
            yes_no(bool(np.isfinite(reach) and reach_ratio <= 1 / 3)),
            f"MTMA's first checkpoint at or above it (checkpoints every "
            f"{budget.every * budget.steps_per_iteration:,} steps, so an upper bound); "
            "evaluation time excluded on both sides"),
        row("learner", f"training env steps per second, MTMA vs SB3 PPO, {name}",
            fmt(m.env_steps / m.train_seconds, "steps/s"),
            fmt(b.env_steps / b.train_seconds, "steps/s"), speed, "none (reported)", "n/a",
            f"MTMA: {budget.n_envs} copies x {budget.rollout_length} periods per iteration; "
            f"SB3: {budget.sb3_envs} envs x {budget.steps_per_iteration // budget.sb3_envs} steps per rollout; "
            f"{budget.threads} torch thread(s) each"),
    ]


def learner_section(budgets: Optional[dict] = None,
                    echo: Callable[[str], None] = lambda m: print(m, flush=True)) -> SectionResult:
    """MTMA against SB3 PPO per scenario, with the same budget and the same evaluation.

    ``budgets``: scenario name -> :class:`LearnerBudget` (default :data:`LEARNER_BUDGETS`).
    """
    require("stable_baselines3", "PPO", install="pip install .[bench]")
    budgets = LEARNER_BUDGETS if budgets is None else budgets
    curves, rows, records = [], [], []
    for name, budget in budgets.items():
        steps = budget.iterations * budget.steps_per_iteration
        echo(f"[bench] learner: MTMA on {name}, {steps:,} env steps ...")
        mtma = train_mtma(name, budget)
        echo(f"[bench] learner: SB3 PPO on {name}, {steps:,} env steps ...")
        sb3 = train_sb3(name, budget)
        for frame in (mtma, sb3):
            frame.insert(0, "scenario", name)
            curves.append(frame)
            last = frame.iloc[-1]
            records.append({"scenario": name, "learner": last.learner, "env_steps": last.env_steps,
                            "train_seconds": last.train_seconds, "profit": last.profit,
                            "profit_lo": last.profit_lo, "profit_hi": last.profit_hi,
                            "steps_per_s": last.env_steps / last.train_seconds})
        rows += learner_rows(name, mtma, sb3, budget)
    return SectionResult(pd.DataFrame(records), rows,
                         {"learner_curves": pd.concat(curves, ignore_index=True)})
