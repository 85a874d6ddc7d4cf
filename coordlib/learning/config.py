"""Every hyperparameter of the learner in one dataclass (:class:`TrainConfig`), its checks, the
presets of MTMA and its baselines (MODEL.md section 6), and the step size of each timescale.
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import math
from dataclasses import dataclass

import numpy as np
import torch

from .agents import REWARD_STREAMS
from .features import ROLES


class ConfigError(ValueError):
    """A training configuration value is invalid; the message names the field."""


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
            "replenisher_reward": REWARD_STREAMS, "recommender_reward": REWARD_STREAMS,
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
