"""Benchmark section ``learner``: MTMA against standard RL libraries (the peers of
:mod:`coordlib.bench.peers`: tuned Stable-Baselines3 PPO on the joint action, independent PPO
on the PettingZoo env) on the same environment-step budget and the same evaluation
(:func:`coordlib.evaluate`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from ..envs.adapters import GymnasiumPolicy
from ..learning.config import config_for
from ..learning.training import train
from ..model.evaluation import evaluate, mean_ci
from .common import SectionResult, fmt, fmt_ci, require, row, yes_no
from .peers import PEERS, TRAINERS, peer_settings, train_ppo


# ---- 5. the learner against its peers -----------------------------------------------
class SB3Policy(GymnasiumPolicy):
    """A model trained on ``coordlib/Coordination-v0`` (the env in the model's units) as a
    coordlib policy: :func:`coordlib.envs.adapters.from_gymnasium` with ``normalized=False``,
    the training ``VecNormalize`` statistics (if given) applied to each observation."""

    def __init__(self, model, normalizer=None, max_periods: int = 200, name: str = "sb3-ppo"):
        super().__init__(model, normalized=False, max_periods=max_periods,
                         normalizer=normalizer, name=name)


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
    """the peers' environment copies; a peer's rollout is the same size as an MTMA iteration"""
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
                   "tiny-margin": LearnerBudget(env_steps=122_880),
                   "medium": LearnerBudget(env_steps=61_440, checkpoints=6)}
"""The default budgets: about a minute of MTMA and a few of each peer per scenario on 2 cores."""


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
    """The tuned Stable-Baselines3 PPO peer (:func:`coordlib.bench.peers.train_ppo`)."""
    return train_ppo(scenario, budget)


def time_to_reach(curve: pd.DataFrame, profit: float) -> float:
    """Training seconds at the first checkpoint whose evaluated profit is >= ``profit`` (nan: never)."""
    hit = curve[curve["profit"] >= profit]
    return float(hit["train_seconds"].iloc[0]) if len(hit) else float("nan")


PEER_LABELS = {"sb3_ppo": "SB3 PPO (tuned)", "sb3_ippo": "independent PPO (SB3 + SuperSuit)"}


def learner_rows(name: str, mtma: pd.DataFrame, peer: pd.DataFrame, budget: LearnerBudget,
                 peer_name: str = "sb3_ppo") -> list[dict]:
    """The rows of one scenario and one peer: final profits, the time each learner takes to
    reach the other's final profit, and training speed."""
    m, b = mtma.iloc[-1], peer.iloc[-1]
    label = PEER_LABELS.get(peer_name, peer_name)
    what = (f"{name}, {budget.iterations * budget.steps_per_iteration:,} env steps each, evaluated "
            f"on {budget.replications} x {budget.periods} periods (warm-up {budget.warmup})")
    higher = m.profit_lo > b.profit_hi
    ratio = m.profit / b.profit if b.profit > 0 and m.profit > 0 else float("nan")
    reach = time_to_reach(mtma, b.profit)
    reach_ratio = reach / b.train_seconds
    peer_reach = time_to_reach(peer, m.profit)
    speed = (m.env_steps / m.train_seconds) / (b.env_steps / b.train_seconds)
    checkpoints = (f"checkpoints every {budget.every * budget.steps_per_iteration:,} steps, so "
                   "an upper bound; evaluation time excluded on both sides")
    return [
        row("learner", f"final profit per period, MTMA vs {label}, {what}",
            fmt_ci(m.profit, m.profit_lo, m.profit_hi), fmt_ci(b.profit, b.profit_lo, b.profit_hi),
            ratio, "MTMA ends higher (95% CIs apart)", yes_no(bool(higher)),
            f"difference {m.profit - b.profit:+.4g}; ratio = MTMA / peer (none if a profit is "
            f"not positive); peer: {peer_settings(peer_name, budget)}"),
        row("learner", f"training seconds to reach {label}'s final profit ({b.profit:.4g}), {what}",
            fmt(reach, "s") if np.isfinite(reach) else "not reached",
            fmt(b.train_seconds, "s (the peer's whole run)"), reach_ratio, "<= 0.333",
            yes_no(bool(np.isfinite(reach) and reach_ratio <= 1 / 3)),
            f"MTMA's first checkpoint at or above it ({checkpoints})"),
        row("learner", f"training seconds for {label} to reach MTMA's final profit "
            f"({m.profit:.4g}), {what}",
            fmt(m.train_seconds, "s (MTMA's whole run)"),
            fmt(peer_reach, "s") if np.isfinite(peer_reach) else "not reached",
            m.train_seconds / peer_reach if np.isfinite(peer_reach) else float("nan"),
            "none (reported)", "n/a",
            f"the peer's first checkpoint at or above it ({checkpoints}); ratio = MTMA's "
            "whole run / the peer's time to reach (none if never reached)"),
        row("learner", f"training env steps per second, MTMA vs {label}, {name}",
            fmt(m.env_steps / m.train_seconds, "steps/s"),
            fmt(b.env_steps / b.train_seconds, "steps/s"), speed, "none (reported)", "n/a",
            f"MTMA: {budget.n_envs} copies x {budget.rollout_length} periods per iteration; "
            f"peer: {budget.sb3_envs} copies x {budget.steps_per_iteration // budget.sb3_envs} "
            f"periods per rollout; {budget.threads} torch thread(s) each"),
    ]


def learner_section(budgets: Optional[dict] = None, peers: Sequence[str] = PEERS,
                    echo: Callable[[str], None] = lambda m: print(m, flush=True)) -> SectionResult:
    """MTMA against each peer per scenario, with the same budget and the same evaluation.

    ``budgets``: scenario name -> :class:`LearnerBudget` (default :data:`LEARNER_BUDGETS`);
    ``peers``: names among :data:`coordlib.bench.peers.PEERS` (module doc there).
    """
    require("stable_baselines3", "PPO", install="pip install .[bench]")
    unknown = [p for p in peers if p not in TRAINERS]
    if unknown:
        raise ValueError(f"learner_section: unknown peer(s) {unknown}; known: {list(TRAINERS)}")
    budgets = LEARNER_BUDGETS if budgets is None else budgets
    curves, rows, records = [], [], []
    for name, budget in budgets.items():
        steps = budget.iterations * budget.steps_per_iteration
        echo(f"[bench] learner: MTMA on {name}, {steps:,} env steps ...")
        mtma = train_mtma(name, budget)
        frames = [mtma]
        for peer in peers:
            echo(f"[bench] learner: {PEER_LABELS.get(peer, peer)} on {name}, {steps:,} env steps ...")
            curve = TRAINERS[peer](name, budget)
            rows += learner_rows(name, mtma, curve, budget, peer)
            frames.append(curve)
        for frame in frames:
            frame.insert(0, "scenario", name)
            curves.append(frame)
            last = frame.iloc[-1]
            records.append({"scenario": name, "learner": last.learner, "env_steps": last.env_steps,
                            "train_seconds": last.train_seconds, "profit": last.profit,
                            "profit_lo": last.profit_lo, "profit_hi": last.profit_hi,
                            "steps_per_s": last.env_steps / last.train_seconds,
                            "settings": (peer_settings(last.learner, budget)
                                         if last.learner in TRAINERS else "coordlib mtma preset")})
    return SectionResult(pd.DataFrame(records), rows,
                         {"learner_curves": pd.concat(curves, ignore_index=True)})
