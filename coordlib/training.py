"""Training the multi-timescale multi-agent learner and its baselines (MODEL.md section 6).

One training loop serves every configuration. Each iteration reads top to bottom:

1. **collect**: ``n_envs`` copies of the batched :class:`coordlib.Simulator` run
   ``rollout_length`` periods under the current stochastic policies. The copies never restart
   (the model is a continuing process, the objective a long-run average), so a rollout is a
   truncation: the value of its last state is bootstrapped. Recurrent memories carry over.
2. **advantages**: generalized advantage estimation (gamma, lambda) of each agent's reward
   stream, centered by its running average (reward centering: the critics learn relative
   values, bounded as gamma -> 1), with the critic that values that stream. Every stream is
   a sum over products, so the critics value each product's share and are trained on N
   targets per state; the firm's advantage is the mean of the products' advantages.
3. **update**: PPO clipped updates, ``epochs`` passes over ``minibatches`` groups of copies
   (whole sequences, so the GRU memory is re-run from the rollout's first state). Each actor
   and each critic has its own optimizer and step-size schedule (the timescales); an agent
   may be updated only every k-th iteration, or frozen.
4. **log**: one row of the learning curve; a checkpoint every ``checkpoint_every`` iterations.

The likelihood ratio is clipped per factor (per product's order level, per (segment,
product) exposure logit) with the shared advantage, as in multi-agent PPO with parameter
sharing, and the surrogate and the entropy are averaged over factors so their scale does not
grow with N. Both actors are trained on the firm's advantage by default (MODEL.md section 6);
``replenisher_credit="product"`` gives each product's order its own product's advantage
instead (less noise, but biased: see :meth:`Learner.advantages`).

Timescales: the critic, the fast actor and the slow actor have step sizes
alpha(n) = a (constant) or alpha(n) = a / (1 + n / n0)^rho (decaying, rho in (0.5, 1], so
sum alpha = inf and sum alpha^2 < inf), with a_slow = timescale_ratio * a_fast and
rho_slow > rho_fast, so that alpha_slow / alpha_fast -> 0 (:func:`step_size`). With Adam the
step size is Adam's learning rate; ``optimizer="sgd"`` follows the stochastic-approximation
recursion literally.

Named configurations (:data:`PRESETS`, :func:`config_for`) are the baselines of MODEL.md
section 6: ``mtma``, ``single_timescale``, ``independent``, ``siloed``, ``centralized``
(and ``siloed_cost``, the siloed learners with the operating-cost KPI).

The trained actors are evaluated as a :class:`coordlib.agents.LearnedPolicy` by
:func:`coordlib.evaluate`, deterministically by default (the most likely order-up-to level,
the exposure softmax of the mean logits; ``eval_deterministic=False`` samples as in training).

Checkpoints hold the networks, the optimizers, every random state, the simulator copies'
state and the learning curve, so a resumed run ends exactly where an uninterrupted run with
the same configuration ends. They are read with ``torch.load(weights_only=True)``: loading
runs no code.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import math
import os
import pickle
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd
import torch

from . import scenarios as _scenarios
from .agents import (REWARDS, ROLES, AgentSet, LearnedPolicy, exposure_array, gaussian_entropy,
                     gaussian_log_prob, level_entropy, level_log_probs, level_logits,
                     sample_actions)
from .evaluation import evaluate, mean_ci
from .scenario import Scenario
from .simulator import Observation, Simulator

CHECKPOINT_FORMAT = "coordlib-checkpoint"
CHECKPOINT_VERSION = 1


class ConfigError(ValueError):
    """A training configuration value is invalid; the message names the field."""


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read, or does not belong to this scenario and configuration."""


class TrainingDivergedError(FloatingPointError):
    """A loss or a parameter became NaN or inf; the last good checkpoint is kept."""


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of the learner; presets in :data:`PRESETS`. Units in brackets."""

    name: str = "custom"
    """label of the configuration, e.g. the preset's name [text]; default "custom\""""
    iterations: int = 300
    """training iterations, each one rollout and one update [count]; default 300"""
    n_envs: int = 64
    """copies of the simulator run side by side [copies]; default 64"""
    rollout_length: int = 32
    """periods per copy per iteration, truncated with a bootstrapped value [periods]; default 32"""
    gamma: float = 0.99
    """discount per period [1]; default 0.99"""
    gae_lambda: float = 0.95
    """GAE lambda [1]; default 0.95"""
    replenisher_credit: str = "firm"
    """advantage of each product's order: "firm" (GAE of the total) or "product" (of its own reward; lower variance, biased); default firm"""
    reward_centering: float = 0.1
    """rate of the running average reward g subtracted from each reward (0: g = first rollout's mean) [1]; default 0.1"""
    epochs: int = 4
    """passes over each rollout in the update [count]; default 4"""
    minibatches: int = 4
    """minibatches per epoch, groups of whole copies; must divide n_envs [count]; default 4"""
    clip: float = 0.2
    """PPO clip range epsilon of the likelihood ratio [1]; default 0.2"""
    entropy_coef: float = 0.01
    """weight of the mean entropy per product of the order-up-to level in the loss [1]; default 0.01"""
    exposure_entropy_coef: float = 0.01
    """weight of the mean entropy per exposure logit in the recommender's loss [1]; default 0.01"""
    entropy_decay: float = 0.0
    """n_e: both entropy weights are scaled by n_e / (n_e + n) at iteration n; 0 keeps them constant [iterations]; default 0"""
    max_grad_norm: float = 0.5
    """gradient-norm clip per optimizer [1]; default 0.5"""
    hidden: int = 32
    """width of every hidden layer and of the GRU memory [units]; default 32"""
    memory: bool = True
    """recurrent memory (GRU over the agent's own observation history) on or off; default True"""
    order_levels: int = 48
    """G, order-up-to levels per product [count]; default 48"""
    level_cover: float = 2.5
    """highest order-up-to level, in periods of peak demand over L_i + R [periods]; default 2.5"""
    exposure_noise: float = 1.5
    """initial standard deviation of the exposure logits [logit units]; default 1.5 (0.5 explores too little: on medium it learned half as fast)"""
    level_noise: float = 3.0
    """initial standard deviation of the order-up-to level [grid steps]; default 3"""
    actor: str = "per_department"
    """"per_department" (two actors on their own views) or "joint" (one agent); default per_department"""
    critic: str = "centralized"
    """"centralized" (one critic on the full state) or "per_agent"; default centralized"""
    replenisher_reward: str = "profit"
    """the replenisher's reward: "profit", "gmv" or "operating_cost" (minus c q + h I + b l); default profit"""
    recommender_reward: str = "profit"
    """the recommender's reward: "profit", "gmv" (sum p_i D_i) or "operating_cost"; default profit"""
    fast_agent: str = "recommender"
    """which actor learns on the fast timescale: "recommender" or "replenisher"; default recommender"""
    timescale_ratio: float = 0.3
    """a_slow / a_fast, the slow actor's step size relative to the fast one's at n = 0 [1]; default 0.3"""
    lr_fast: float = 2e-3
    """a_fast, the fast actor's step size (Adam learning rate) at n = 0 [1]; default 2e-3"""
    lr_critic: float = 3e-3
    """a_critic, the critic's step size at n = 0 [1]; default 3e-3"""
    schedule: str = "decaying"
    """step-size family: "constant" or "decaying" a / (1 + n / n0)^rho; default decaying"""
    decay_start: float = 100.0
    """n0 of the decaying schedule [iterations]; default 100"""
    decay_power_critic: float = 0.55
    """rho of the critic's decaying schedule, in (0.5, 1] [1]; default 0.55"""
    decay_power_fast: float = 0.6
    """rho of the fast actor's decaying schedule, in (0.5, 1] [1]; default 0.6"""
    decay_power_slow: float = 0.9
    """rho of the slow actor's decaying schedule, in (0.5, 1], >= the fast one's [1]; default 0.9"""
    replenisher_every: int = 1
    """update the replenisher every k-th iteration [iterations]; default 1"""
    recommender_every: int = 1
    """update the recommender every k-th iteration [iterations]; default 1"""
    frozen: tuple = ()
    """agents never updated: any of "replenisher", "recommender", "joint", "critic"; default ()"""
    optimizer: str = "adam"
    """"adam" or "sgd" (the plain stochastic-approximation recursion); default adam"""
    seed: int = 0
    """seed of the networks' initialization, the simulator and the action sampling; default 0"""
    device: str = "cpu"
    """torch device of the networks and tensors, e.g. "cpu" or "cuda"; default cpu"""
    threads: int = 1
    """torch CPU threads [threads]; default 1"""
    checkpoint_every: int = 25
    """write a checkpoint every k iterations, and at the end [iterations]; default 25"""
    eval_replications: int = 20
    """replications of the final evaluation with coordlib.evaluate [count]; default 20"""
    eval_periods: int = 500
    """periods per replication of the final evaluation [periods]; default 500"""
    eval_warmup: int = 100
    """periods discarded at the start of each evaluation replication [periods]; default 100"""
    eval_seed: int = 0
    """seed of the final evaluation (0, as for the heuristics: common random numbers); default 0"""
    eval_deterministic: bool = True
    """evaluate the mode of each policy (True) or sample actions as in training; default True"""

    def __post_init__(self):
        if isinstance(self.frozen, (list, str)):      # "critic" or ["critic"] -> ("critic",)
            object.__setattr__(self, "frozen", (self.frozen,) if isinstance(self.frozen, str)
                               else tuple(self.frozen))
        _validate(self)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"TrainConfig: unknown field(s) {sorted(unknown)}; "
                              f"known: {', '.join(f.name for f in dataclasses.fields(self))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["frozen"] = list(self.frozen)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        if "frozen" in d:
            d["frozen"] = tuple(d["frozen"])
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"TrainConfig: unknown field(s) {sorted(unknown)}")
        return cls(**d)


def config_docs() -> dict[str, str]:
    """Each field of :class:`TrainConfig` with its one-line docstring (for help texts and notebooks)."""
    tree = ast.parse(inspect.getsource(TrainConfig))
    body, docs = tree.body[0].body, {}
    for node, following in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr) \
                and isinstance(following.value, ast.Constant):
            docs[node.target.id] = following.value.value
    return docs


_CHOICES = {"actor": ("per_department", "joint"), "critic": ("centralized", "per_agent"),
            "replenisher_reward": REWARDS, "recommender_reward": REWARDS,
            "fast_agent": ROLES, "replenisher_credit": ("product", "firm"), "schedule": ("constant", "decaying"),
            "optimizer": ("adam", "sgd")}
_FROZEN = ("replenisher", "recommender", "joint", "critic")


def _validate(c: TrainConfig) -> None:
    def fail(name, rule):
        raise ConfigError(f"TrainConfig.{name}: {rule}, got {getattr(c, name)!r}")

    for name in ("iterations", "n_envs", "rollout_length", "epochs", "minibatches", "hidden",
                 "replenisher_every", "recommender_every", "threads", "checkpoint_every",
                 "eval_replications", "eval_periods"):
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            fail(name, "must be a whole number >= 1")
    for name in ("seed", "eval_seed", "eval_warmup"):
        v = getattr(c, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            fail(name, "must be a whole number >= 0")
    if isinstance(c.order_levels, bool) or not isinstance(c.order_levels, int) or c.order_levels < 2:
        fail("order_levels", "must be a whole number >= 2")
    if c.eval_warmup >= c.eval_periods:
        fail("eval_warmup", f"must be smaller than eval_periods ({c.eval_periods})")
    if c.n_envs % c.minibatches:
        fail("minibatches", f"must divide n_envs ({c.n_envs})")
    for name in ("gamma", "gae_lambda", "reward_centering"):
        v = getattr(c, name)
        if not _real(v) or not 0 <= v <= 1 or (name == "gamma" and v == 1):
            fail(name, "must lie in [0, 1)" if name == "gamma" else "must lie in [0, 1]")
    for name in ("clip", "max_grad_norm", "level_cover", "exposure_noise", "level_noise",
                 "timescale_ratio",
                 "lr_fast", "lr_critic", "decay_start"):
        v = getattr(c, name)
        if not _real(v) or not v > 0 or not math.isfinite(v):
            fail(name, "must be a positive finite number")
    for name in ("entropy_coef", "exposure_entropy_coef", "entropy_decay"):
        v = getattr(c, name)
        if not _real(v) or not v >= 0 or not math.isfinite(v):
            fail(name, "must be a finite number >= 0")
    for name in ("decay_power_critic", "decay_power_fast", "decay_power_slow"):
        v = getattr(c, name)
        if not _real(v) or not 0.5 < v <= 1:
            fail(name, "must lie in (0.5, 1] (Robbins-Monro: sum alpha = inf, sum alpha^2 < inf)")
    if c.decay_power_slow < c.decay_power_fast:
        fail("decay_power_slow", f"must be >= decay_power_fast ({c.decay_power_fast}) so that "
             "the slow step size does not outpace the fast one")
    for name, choices in _CHOICES.items():
        if getattr(c, name) not in choices:
            fail(name, f"must be one of {', '.join(choices)}")
    for name in ("memory", "eval_deterministic"):
        if not isinstance(getattr(c, name), bool):
            fail(name, "must be true or false")
    if not isinstance(c.name, str):
        fail("name", "must be a string")
    if not isinstance(c.frozen, tuple) or any(f not in _FROZEN for f in c.frozen):
        fail("frozen", f"must be a tuple of names among {', '.join(_FROZEN)}")
    actors = ("joint",) if c.actor == "joint" else ROLES
    stray = [f for f in c.frozen if f != "critic" and f not in actors]
    if stray:
        fail("frozen", f"names agents this configuration does not have ({', '.join(stray)}); "
             f"its actors are {', '.join(actors)}")
    if c.actor == "joint" and c.replenisher_reward != c.recommender_reward:
        fail("recommender_reward", "must equal replenisher_reward for a joint agent (one reward)")
    try:
        torch.device(c.device)
    except (RuntimeError, TypeError):
        fail("device", "must name a torch device such as 'cpu' or 'cuda'")


def _real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


PRESETS: dict[str, dict] = {
    "mtma": {},
    "single_timescale": dict(timescale_ratio=1.0, lr_critic=TrainConfig.lr_fast,
                             decay_power_critic=TrainConfig.decay_power_fast,
                             decay_power_slow=TrainConfig.decay_power_fast),
    "independent": dict(critic="per_agent"),
    "siloed": dict(critic="per_agent", recommender_reward="gmv"),
    "siloed_cost": dict(critic="per_agent", recommender_reward="gmv",
                        replenisher_reward="operating_cost"),
    "centralized": dict(actor="joint"),
}
"""The named configurations: each differs from ``mtma`` only in what its name says.

``mtma``: two actors on their own views, centralized critic, firm profit, recommender fast
and replenisher slow with decaying step sizes. ``single_timescale``: one step size for
the critic and both actors. ``independent``: one critic per actor on its own view.
``siloed``: per-actor critics, the recommender on GMV and the replenisher on the profit of
the demand it is handed (which, all revenue passing through its stock, is r_t: the
"profit of the demand it is handed" KPI of MODEL.md section 4). ``siloed_cost``: as siloed,
the replenisher on minus its operating cost c q + h I + b l. ``centralized``: one agent with
the joint action, one encoder reading both views, one optimizer.
"""


def config_for(name: str, **overrides) -> TrainConfig:
    """The named configuration (a key of :data:`PRESETS`) with ``overrides`` applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown configuration {name!r}; known: {', '.join(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise ConfigError(f"TrainConfig: unknown field(s) {sorted(unknown)}")
    return TrainConfig(**{"name": name, **PRESETS[name], **overrides})


def step_size(config: TrainConfig, timescale: str, n: int) -> float:
    """alpha(n) of the ``"critic"``, ``"fast"`` or ``"slow"`` timescale at iteration n >= 0."""
    base = {"critic": config.lr_critic, "fast": config.lr_fast,
            "slow": config.lr_fast * config.timescale_ratio}[timescale]
    if config.schedule == "constant":
        return base
    power = {"critic": config.decay_power_critic, "fast": config.decay_power_fast,
             "slow": config.decay_power_slow}[timescale]
    return base / (1.0 + n / config.decay_start) ** power


# ---- the learner --------------------------------------------------------------------------
class Learner:
    """The state of one training run: networks, optimizers, simulator copies, RNGs, curve.

    ``iterate()`` runs one iteration (collect, advantages, update, log). The iterates are the
    networks in ``agents`` (``parameters_of(name)`` gives one agent's parameter vector).
    """

    def __init__(self, scenario: Scenario, config: TrainConfig, init_from=None):
        self.scenario, self.config = scenario, config
        torch.set_num_threads(config.threads)
        self.device = torch.device(config.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            agents = AgentSet(actor=config.actor, critic=config.critic,
                              rewards=(config.replenisher_reward, config.recommender_reward),
                              hidden=config.hidden, memory=config.memory,
                              order_levels=config.order_levels, level_cover=config.level_cover,
                              exposure_noise=config.exposure_noise,
                              level_noise=config.level_noise)
        self.agents = agents.to(self.device)
        if init_from is not None:
            self._initialize_from(init_from)
        self.encoding = self.agents.encoding(scenario, self.device)
        self.sim = Simulator(scenario, batch_size=config.n_envs, seed=config.seed, validate=False)
        self.observation = self.sim.reset()
        self.generator = torch.Generator(self.device)
        self.generator.manual_seed(config.seed)
        self.memory = self.agents.initial_memory(config.n_envs, scenario.n_products, self.device)
        self.groups = {**{name: ("actor", name) for name in self.agents.actors},
                       **{f"critic/{name}": ("critic", name) for name in self.agents.critics}}
        opt = torch.optim.Adam if config.optimizer == "adam" else torch.optim.SGD
        self.optimizers = {g: opt(self._module(g).parameters(), lr=self.step_size(g, 0))
                           for g in self.groups}
        self.iteration = 0
        self.average_reward: dict[str, torch.Tensor] = {}   # g_i per stream and product
        self.curve: list[dict] = []
        self.wall_time = 0.0

    # ---- bookkeeping ------------------------------------------------------------------
    def _module(self, group: str):
        kind, name = self.groups[group]
        return (self.agents.actors if kind == "actor" else self.agents.critics)[name]

    def timescale(self, group: str) -> str:
        """"critic", "fast" or "slow": the step-size schedule of an optimizer group."""
        kind, name = self.groups[group]
        if kind == "critic":
            return "critic"
        return "fast" if name in ("joint", self.config.fast_agent) else "slow"

    def step_size(self, group: str, n: int) -> float:
        return step_size(self.config, self.timescale(group), n)

    def updates_at(self, group: str, n: int) -> bool:
        """Whether ``group`` is updated at iteration n (frozen agents never are)."""
        kind, name = self.groups[group]
        if (kind == "critic" and "critic" in self.config.frozen) or name in self.config.frozen:
            return False
        every = {"replenisher": self.config.replenisher_every,
                 "recommender": self.config.recommender_every}.get(name, 1)
        return kind == "critic" or n % every == 0

    def entropy_scale(self, n: int) -> float:
        """The factor n_e / (n_e + n) of the entropy weights at iteration n (1 if n_e = 0)."""
        n_e = self.config.entropy_decay
        return 1.0 if n_e == 0 else n_e / (n_e + n)

    def parameters_of(self, name: str) -> torch.Tensor:
        """The parameter vector of an actor (``"replenisher"``, ...) or ``"critic/central"``, ..."""
        return torch.nn.utils.parameters_to_vector(self._module(name).parameters()).detach().clone()

    def policy(self, deterministic: Optional[bool] = None) -> LearnedPolicy:
        """The current actors as a coordlib policy (a copy: training does not change it)."""
        import copy
        det = self.config.eval_deterministic if deterministic is None else deterministic
        return LearnedPolicy(copy.deepcopy(self.agents), det, self.device, name=self.config.name)

    # ---- one iteration ----------------------------------------------------------------
    def iterate(self) -> dict:
        start = time.perf_counter()
        self._check_parameters()
        batch = self.collect()
        self.advantages(batch)
        stats = self.update(batch)
        self.iteration += 1
        elapsed = time.perf_counter() - start
        self.wall_time += elapsed
        steps = self.config.n_envs * self.config.rollout_length
        row = {"iteration": self.iteration, "env_steps": self.iteration * steps,
               "profit": float(batch["profit"].mean()), **stats,
               **{f"lr_{g.replace('critic/', 'critic_')}": self.step_size(g, self.iteration - 1)
                  for g in self.groups},
               "wall_time": self.wall_time, "steps_per_s": steps / elapsed}
        self.curve.append(row)
        return row

    @torch.no_grad()
    def collect(self) -> dict:
        """Run every copy ``rollout_length`` periods; store features, actions, log-probs, values."""
        cfg, enc, T = self.config, self.encoding, self.config.rollout_length
        memory0 = {k: v.clone() for k, v in self.memory.items()}
        steps, rewards = [], {r: [] for r in set(self.agents.reward_of.values())}
        profit, review = [], []
        reward_unit = self.scenario.n_products / enc.reward_scale   # critics value N r_i / scale
        memory, obs = self.memory, self.observation
        for _ in range(T):
            features = enc.features(obs)
            out, values, memory = self.agents(features, memory)
            a = sample_actions(out, enc, self.generator)
            orders = enc.orders(a["level_index"][0], obs.replenisher_view())
            result = self.sim.step(orders, exposure_array(a["exposure"][0]))
            for r in rewards:
                rewards[r].append(_reward(result, r, self.scenario) * reward_unit)
            profit.append(result.profit)
            review.append(obs.review)
            steps.append((features, a, values))
            obs = result.observation
        self.memory, self.observation = memory, obs
        # value of the state where the rollout is truncated (the memory copy is discarded)
        _, last_values, _ = self.agents(enc.features(obs), memory)
        batch = {"memory0": memory0, "profit": np.stack(profit),
                 "review": torch.tensor(review, device=self.device),
                 "rewards": {r: torch.as_tensor(np.stack(v), dtype=torch.float32, device=self.device)
                             for r, v in rewards.items()}}
        batch["features"] = {k: torch.cat([s[0][k] for s in steps]) for k in steps[0][0]}
        for key in ("level_index", "logits", "logp_levels", "logp_logits"):
            batch[key] = torch.cat([s[1][key] for s in steps])
        batch["values"] = {c: torch.cat([torch.cat([s[2][c] for s in steps]), last_values[c]])
                           for c in self.agents.critics}        # (T + 1, B, S)
        return batch

    def advantages(self, batch: dict) -> None:
        """GAE per role, on its centered reward stream, per product, with the critic's shares.

        Reward centering: each product's reward r_it is replaced by r_it - g_i, g_i a running
        mean per period (the long-run average the objective is about). The critics then learn
        relative values (bounded as gamma -> 1) instead of g / (1 - gamma) plus small
        differences. GAE is linear in the rewards, so the firm's advantage is the mean of the
        products' advantages. The recommender's exposures move every product's demand and get
        the firm's advantage. Each product's order gets the firm's advantage too
        (``replenisher_credit="firm"``), or its own product's (``"product"``): less noise, but
        biased, since an order also moves the other products' profits through the
        recommender's response (more stock of i, more exposure of i, less demand elsewhere);
        on tiny-margin that bias leads the learners to overstock the low-margin product.
        """
        cfg = self.config
        for stream, reward in batch["rewards"].items():
            mean = reward.mean(dim=(0, 1))
            old = self.average_reward.get(stream)
            self.average_reward[stream] = mean if old is None else \
                old + cfg.reward_centering * (mean - old)
        batch["advantages"], batch["targets"] = {}, {}
        for role in ROLES:
            critic, index = self.agents.value_of[role]
            stream = self.agents.reward_of[role]
            values = batch["values"][critic][..., index]                      # (T + 1, B, N)
            advantage = _gae(batch["rewards"][stream] - self.average_reward[stream], values,
                             cfg.gamma, cfg.gae_lambda)                       # (T, B, N)
            batch["targets"][(critic, index)] = advantage + values[:-1]
            if role == "replenisher" and cfg.replenisher_credit == "product":
                batch["advantages"][role] = advantage
            elif role == "replenisher":
                batch["advantages"][role] = advantage.mean(-1, keepdim=True).expand_as(advantage)
            else:
                batch["advantages"][role] = advantage.mean(-1)

    def update(self, batch: dict) -> dict:
        """PPO epochs over minibatches of copies; each group steps its own optimizer."""
        cfg, n, B = self.config, self.iteration, self.config.n_envs
        active = [g for g in self.groups if self.updates_at(g, n)]
        for g in self.groups:
            for group in self.optimizers[g].param_groups:
                group["lr"] = self.step_size(g, n)
        review = batch["review"]
        advantages = {}
        for role, adv in batch["advantages"].items():
            rows = adv[review] if role == "replenisher" and review.any() else adv
            advantages[role] = (adv - rows.mean()) / (rows.std() + 1e-8)
        log: dict[str, list] = {}
        for _ in range(cfg.epochs):
            order = torch.randperm(B, generator=self.generator, device=self.device)
            for idx in order.chunk(cfg.minibatches):
                features = {k: v[:, idx] for k, v in batch["features"].items()}
                memory = {k: v[idx] for k, v in batch["memory0"].items()}
                out, values, _ = self.agents(features, memory)
                losses = self._losses(out, values, batch, advantages, idx, log)
                total = sum(losses[g] for g in active if g in losses)
                for g in active:
                    self.optimizers[g].zero_grad(set_to_none=True)
                if active:
                    total.backward()
                for g in active:
                    torch.nn.utils.clip_grad_norm_(self._module(g).parameters(), cfg.max_grad_norm)
                    self.optimizers[g].step()
        return {k: float(np.mean(v)) for k, v in log.items()}

    def _losses(self, out, values, batch, advantages, idx, log) -> dict:
        cfg, enc = self.config, self.encoding
        review = batch["review"]
        per_actor: dict[str, torch.Tensor] = {}
        for role in ROLES:
            adv = advantages[role][:, idx]
            if role == "replenisher":
                logits = level_logits(out, enc)
                logp = level_log_probs(logits, enc.level_mask)
                new = logp.gather(-1, batch["level_index"][:, idx].unsqueeze(-1)).squeeze(-1)
                old = batch["logp_levels"][:, idx]
                entropy = level_entropy(logits, enc.level_mask)[review].mean() \
                    if review.any() else torch.zeros((), device=self.device)
                weight = review.float()[:, None, None].expand_as(new)   # orders only at reviews
            else:
                new = gaussian_log_prob(batch["logits"][:, idx], out["exposure_mean"],
                                        out["log_std"])
                old = batch["logp_logits"][:, idx]
                entropy = gaussian_entropy(out["log_std"])
                weight = torch.ones_like(new)
                adv = adv[..., None, None]
            ratio = torch.exp(new - old)
            surrogate = torch.min(ratio * adv, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * adv)
            weight_sum = weight.sum().clamp_min(1.0)
            coef = (cfg.entropy_coef if role == "replenisher" else cfg.exposure_entropy_coef) \
                * self.entropy_scale(self.iteration)
            loss = -(surrogate * weight).sum() / weight_sum - coef * entropy
            name = self.agents.actor_of[role]
            per_actor[name] = per_actor.get(name, 0.0) + loss
            with torch.no_grad():
                kl = (((ratio - 1) - (new - old)) * weight).sum() / weight_sum
                clipped = (((ratio - 1).abs() > cfg.clip).float() * weight).sum() / weight_sum
            _log(log, f"loss_{role}", loss)
            _log(log, f"entropy_{role}", entropy)
            _log(log, f"kl_{role}", kl)
            _log(log, f"clipfrac_{role}", clipped)
        losses = dict(per_actor)
        for (critic, index), target in batch["targets"].items():
            loss = 0.5 * ((values[critic][..., index] - target[:, idx]) ** 2).mean()
            key = f"critic/{critic}"
            losses[key] = losses.get(key, 0.0) + loss
        for g, loss in losses.items():
            _log(log, "loss_" + g.replace("critic/", "critic_"), loss)
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"iteration {self.iteration + 1}: the loss of {g} is {loss.item()} "
                    "(NaN or inf); training stopped, the last good checkpoint is kept")
        return losses

    def _check_parameters(self) -> None:
        for g in self.groups:
            for pname, p in self._module(g).named_parameters():
                if not torch.isfinite(p).all():
                    raise TrainingDivergedError(
                        f"after iteration {self.iteration}: parameter {pname} of {g} holds NaN or "
                        "inf; training stopped, the last good checkpoint is kept")

    # ---- checkpoints ------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything needed to continue exactly: networks, optimizers, RNGs, simulator, curve."""
        return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                "config": self.config.to_dict(), "scenario": self.scenario.name,
                "spec": self.agents.spec, "iteration": self.iteration,
                "wall_time": self.wall_time,
                "average_reward": {k: v.cpu() for k, v in self.average_reward.items()},
                "agents": {k: v.detach().cpu() for k, v in self.agents.state_dict().items()},
                "optimizers": {g: o.state_dict() for g, o in self.optimizers.items()},
                "generator": self.generator.get_state().cpu(),
                "memory": {k: v.detach().cpu() for k, v in self.memory.items()},
                "simulator": _simulator_state(self.sim, self.observation), "curve": self.curve}

    def save(self, path) -> Path:
        """Write a checkpoint atomically (a partial write never replaces a good file)."""
        self._check_parameters()          # never replace a good checkpoint with a broken state
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state_dict(), tmp)
        os.replace(tmp, path)
        return path

    def load_state_dict(self, state: dict) -> None:
        config = TrainConfig.from_dict(state["config"])
        changed = [f for f in _RUN_FIELDS_THAT_MUST_MATCH
                   if getattr(config, f) != getattr(self.config, f)]
        if changed:
            raise CheckpointError("checkpoint was written with a different configuration: "
                                  + ", ".join(f"{f} = {getattr(config, f)!r} there, "
                                              f"{getattr(self.config, f)!r} here" for f in changed))
        if state["scenario"] != self.scenario.name:
            raise CheckpointError(f"checkpoint is for scenario {state['scenario']!r}, "
                                  f"not {self.scenario.name!r}")
        self.agents.load_state_dict(state["agents"])
        for g, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][g])
        self.generator.set_state(state["generator"])     # a CPU ByteTensor on every device
        self.memory = {k: v.to(self.device) for k, v in state["memory"].items()}
        self.observation = _restore_simulator(self.sim, state["simulator"])
        self.iteration, self.wall_time = int(state["iteration"]), float(state["wall_time"])
        self.average_reward = {k: v.to(self.device) for k, v in state["average_reward"].items()}
        self.curve = [dict(row) for row in state["curve"]]

    def _initialize_from(self, source) -> None:
        if isinstance(source, (str, Path)):
            source = load_checkpoint(source)["agents"]
        elif isinstance(source, Learner):
            source = source.agents.state_dict()
        self.agents.load_state_dict(source)


_RUN_FIELDS_THAT_MUST_MATCH = tuple(
    f.name for f in dataclasses.fields(TrainConfig)
    if f.name not in ("name", "iterations", "checkpoint_every", "device", "threads",
                      "eval_replications", "eval_periods", "eval_warmup", "eval_seed",
                      "eval_deterministic"))


def load_checkpoint(path) -> dict:
    """Read a checkpoint safely (``torch.load(weights_only=True)``: no code runs) and check it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError,
            OSError, KeyError) as exc:
        raise CheckpointError(f"{path}: not a readable coordlib checkpoint (corrupt or "
                              f"truncated file?): {exc}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a coordlib checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {state.get('version')}, "
                              f"this coordlib reads version {CHECKPOINT_VERSION}")
    return state


_OBSERVATION_ARRAYS = ("on_hand", "pipeline", "availability", "backlog", "last_sales",
                       "last_lost_sales", "last_customers", "last_demand")


def _simulator_state(sim: Simulator, observation: Observation) -> dict:
    """The simulator copies' state through public attributes: the observation and the RNG."""
    return {"t": observation.t, "review": observation.review, "rng": sim.rng.bit_generator.state,
            **{k: torch.from_numpy(np.ascontiguousarray(getattr(observation, k)))
               for k in _OBSERVATION_ARRAYS}}


def _restore_simulator(sim: Simulator, state: dict) -> Observation:
    arrays = {k: state[k].numpy().copy() for k in _OBSERVATION_ARRAYS}
    sim.set_state(arrays["on_hand"], arrays["pipeline"], arrays["backlog"], t=int(state["t"]))
    sim.rng.bit_generator.state = state["rng"]
    # last period's flows enter only the observation, not the dynamics: rebuild it as saved
    return Observation(int(state["t"]), *(arrays[k] for k in _OBSERVATION_ARRAYS),
                       bool(state["review"]))


def _reward(result, stream: str, scenario: Scenario) -> np.ndarray:
    """One reward stream of a step per product (B, N); summed over products it is the firm's.

    ``profit``: p_i s_i - c_i q_i - h_i I_i' - b_i l_i (r_t of MODEL.md 3.6; backlog variant:
    b_i per backlogged unit); ``gmv``: p_i D_i (the recommender's KPI); ``operating_cost``:
    minus c_i q_i + h_i I_i' + b_i l_i (the replenisher's KPI), MODEL.md section 4.
    """
    s = scenario
    if stream == "gmv":
        return result.demand.sum(axis=1) * s.price
    penalty_units = result.observation.backlog if s.backlog else result.lost_sales
    cost = (result.orders * s.unit_cost + result.on_hand * s.holding_cost
            + penalty_units * s.lost_sale_penalty)
    return result.sales * s.price - cost if stream == "profit" else -cost


def _gae(rewards: torch.Tensor, values: torch.Tensor, gamma: float, lam: float) -> torch.Tensor:
    """Advantages A_t = sum_l (gamma lambda)^l delta_{t+l}, delta_t = r_t + gamma V_{t+1} - V_t."""
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(T)):
        delta = rewards[t] + gamma * values[t + 1] - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
    return advantages


def _log(log: dict, key: str, value) -> None:
    log.setdefault(key, []).append(float(value.detach()) if torch.is_tensor(value) else float(value))


# ---- the training run ---------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` returns."""

    policy: LearnedPolicy
    """the trained actors as a coordlib policy (evaluated in ``summary``)"""
    learner: Learner
    """the final state: networks, optimizers, iterates (``learner.parameters_of``)"""
    curve: pd.DataFrame
    """the learning curve, one row per iteration"""
    summary: dict
    """evaluation (mean profit per period and 95% CI), training time, speed, configuration"""
    out_dir: Optional[Path] = None
    """where curve.csv, checkpoint.pt and summary.json were written (None: nowhere)"""


def train(scenario, config: Optional[TrainConfig] = None, out_dir=None, progress: bool = True,
          resume=False, init_from=None, callback: Optional[Callable] = None,
          evaluate_policy: bool = True) -> TrainResult:
    """Train a learner configuration on a scenario and evaluate it with :func:`coordlib.evaluate`.

    Parameters
    ----------
    scenario : Scenario or str
        the model (MODEL.md), or a shipped scenario's name.
    config : TrainConfig
        hyperparameters; default ``config_for("mtma")``.
    out_dir : path, optional
        where to write ``curve.csv`` (the learning curve), ``checkpoint.pt`` (every
        ``checkpoint_every`` iterations and at the end) and ``summary.json``.
    progress : bool
        show a progress bar with the rollout profit per period and steps per second.
    resume : bool or path
        continue from ``out_dir/checkpoint.pt`` (True) or from the given checkpoint; the
        result is the same as an uninterrupted run with the same configuration.
    init_from : path, Learner or state dict, optional
        start the networks from these weights (e.g. to train one agent against a frozen one).
    callback : callable, optional
        ``callback(learner, row)`` after every iteration (``row`` is the curve's new row).
    evaluate_policy : bool
        evaluate the trained policy (True) or leave ``summary`` without the evaluation.
    """
    scenario = _scenarios.get(scenario)
    config = config_for("mtma") if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(config).__name__}")
    out_dir = Path(out_dir) if out_dir is not None else None
    learner = Learner(scenario, config, init_from=init_from)
    checkpoint = out_dir / "checkpoint.pt" if out_dir is not None else None
    if resume:
        source = checkpoint if resume is True else Path(resume)
        if source is None:
            raise ValueError("resume=True needs out_dir (or pass the checkpoint's path)")
        learner.load_state_dict(load_checkpoint(source))

    from tqdm.auto import tqdm
    bar = tqdm(total=config.iterations, initial=min(learner.iteration, config.iterations),
               disable=not progress, desc=f"{config.name} on {scenario.name}", unit="it",
               dynamic_ncols=True)
    try:
        while learner.iteration < config.iterations:
            row = learner.iterate()
            bar.update(1)
            bar.set_postfix(profit=f"{row['profit']:.2f}", steps_s=f"{row['steps_per_s']:.0f}")
            if callback is not None:
                callback(learner, row)
            if checkpoint is not None and (learner.iteration % config.checkpoint_every == 0
                                           or learner.iteration == config.iterations):
                learner.save(checkpoint)
                _write_curve(learner, out_dir)
    finally:
        bar.close()

    curve = pd.DataFrame(learner.curve)
    policy = learner.policy()
    steps = int(curve["env_steps"].iloc[-1]) if len(curve) else 0
    summary = {"scenario": scenario.name, "config": config.name, "seed": config.seed,
               "iterations": learner.iteration, "env_steps": steps,
               "train_seconds": learner.wall_time,
               "steps_per_second": steps / learner.wall_time if learner.wall_time else None,
               "parameters": learner.agents.parameter_count(),
               "settings": config.to_dict()}
    if evaluate_policy:
        frame = evaluate(scenario, policy, replications=config.eval_replications,
                         periods=config.eval_periods, warmup=config.eval_warmup,
                         seed=config.eval_seed)
        mean, lo, hi = mean_ci(frame["profit"])
        summary.update(profit=mean, profit_ci_low=lo, profit_ci_high=hi,
                       evaluation=dict(replications=config.eval_replications,
                                       periods=config.eval_periods, warmup=config.eval_warmup,
                                       seed=config.eval_seed,
                                       deterministic=config.eval_deterministic))
    if out_dir is not None:
        _write_curve(learner, out_dir)
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return TrainResult(policy, learner, curve, summary, out_dir)


def _write_curve(learner: Learner, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(learner.curve).to_csv(out_dir / "curve.csv", index=False)


# ---- command line -------------------------------------------------------------------------
def cli(argv) -> int:
    """``python -m coordlib train --scenario tiny --config mtma --seed 0 --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="coordlib train",
        description="Train a learner configuration (MTMA or a baseline) on a scenario; write "
                    "curve.csv, checkpoint.pt and summary.json to --out.")
    parser.add_argument("--scenario", required=True, help="a shipped scenario's name or a YAML path")
    parser.add_argument("--config", default="mtma", choices=list(PRESETS),
                        help="named configuration (default mtma)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--iterations", type=int, help="training iterations (default: the preset's)")
    parser.add_argument("--device", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override any TrainConfig field (repeatable); fields: "
                             + ", ".join(config_docs()))
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        overrides = dict(seed=args.seed)
        if args.iterations is not None:
            overrides["iterations"] = args.iterations
        if args.device is not None:
            overrides["device"] = args.device
        for item in args.set:
            key, sep, text = item.partition("=")
            if not sep:
                raise ConfigError(f"--set {item!r}: expected FIELD=VALUE")
            overrides[key.strip()] = _parse_value(key.strip(), text)
        config = config_for(args.config, **overrides)
        result = train(args.scenario, config, out_dir=args.out, progress=not args.no_progress,
                       resume=args.resume)
    except (ConfigError, CheckpointError, TrainingDivergedError, ValueError) as exc:
        print(f"coordlib train: {exc}", file=sys.stderr)
        return 2
    s = result.summary
    print(f"{s['config']} on {s['scenario']} (seed {s['seed']}): mean profit per period "
          f"{s['profit']:.3f} [95% CI {s['profit_ci_low']:.3f}, {s['profit_ci_high']:.3f}], "
          f"{s['iterations']} iterations, {s['env_steps']} steps in {s['train_seconds']:.1f} s "
          f"({s['steps_per_second']:.0f} steps/s); written to {args.out}")
    return 0


def _parse_value(key: str, text: str):
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    if key not in fields:
        raise ConfigError(f"--set: unknown field {key!r}; known: {', '.join(fields)}")
    default = fields[key].default
    if isinstance(default, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ConfigError(f"TrainConfig.{key}: must be true or false, got {text!r}")
        return text.lower() in ("true", "1")
    if isinstance(default, tuple):
        return tuple(x for x in text.split(",") if x)
    for kind in (int, float):
        if isinstance(default, kind):
            try:
                return kind(text)
            except ValueError:
                raise ConfigError(f"TrainConfig.{key}: expected a {kind.__name__}, got {text!r}") from None
    return text


__all__ = ["TrainConfig", "PRESETS", "config_for", "config_docs", "step_size", "train",
           "TrainResult", "Learner", "load_checkpoint", "ConfigError", "CheckpointError",
           "TrainingDivergedError", "cli"]
