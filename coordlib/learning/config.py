"""Every hyperparameter of the learner in one dataclass (:class:`TrainConfig`), its checks, the
presets of MTMA and its baselines (MODEL.md section 6), and the step size of each timescale.

Each field is declared once, with :func:`param`: its default, its one-line meaning and unit,
and the rule its value must satisfy. :func:`config_docs`, the command line
(``python -m coordlib train --help``) and the validation all read that declaration.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from .agents import REWARD_STREAMS
from .features import ROLES
from .schedules import Constant, Decaying, Schedule


class ConfigError(ValueError):
    """A training configuration value is invalid; the message names the field."""


# ---- the rule each field's value obeys ------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """A per-field check: ``rule(value)`` is True when the value is allowed; ``text`` states the
    rule in the error message; ``choices`` lists the allowed names where there is such a list
    (of the value, or of a tuple's items), for the command line."""

    text: str
    ok: Callable[[object], bool]
    choices: Optional[tuple] = None

    def __call__(self, value) -> bool:
        return bool(self.ok(value))


def _real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _whole(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def whole(low: int) -> Rule:
    return Rule(f"must be a whole number >= {low}", lambda v: _whole(v) and v >= low)


def one_of(*choices: str) -> Rule:
    return Rule(f"must be one of {', '.join(choices)}", lambda v: v in choices, choices)


def names_among(*names: str) -> Rule:
    return Rule(f"must be a tuple of names among {', '.join(names)}",
                lambda v: isinstance(v, tuple) and all(x in names for x in v), names)


def _torch_device(v) -> bool:
    try:
        torch.device(v)
    except (RuntimeError, TypeError):
        return False
    return True


POSITIVE = Rule("must be a positive finite number", lambda v: _real(v) and 0 < v < math.inf)
STEP_SIZE = Rule("must lie in (0, 1] (a larger step size diverges)",
                 lambda v: _real(v) and 0 < v <= 1)
NON_NEGATIVE = Rule("must be a finite number >= 0", lambda v: _real(v) and 0 <= v < math.inf)
PROBABILITY = Rule("must lie in [0, 1]", lambda v: _real(v) and 0 <= v <= 1)
DISCOUNT = Rule("must lie in [0, 1)", lambda v: _real(v) and 0 <= v < 1)
ROBBINS_MONRO = Rule("must lie in (0.5, 1] (Robbins-Monro: sum alpha = inf, sum alpha^2 < inf)",
                     lambda v: _real(v) and 0.5 < v <= 1)
BOOLEAN = Rule("must be true or false", lambda v: isinstance(v, bool))
TEXT = Rule("must be a string", lambda v: isinstance(v, str))
DEVICE = Rule("must name a torch device such as 'cpu' or 'cuda'", _torch_device)
AGENTS = ("replenisher", "recommender", "joint", "critic")


def param(default, help: str, check: Rule, unit: Optional[str] = None):
    """A :class:`TrainConfig` field: its default, its meaning (one line), its rule, its unit."""
    return dataclasses.field(default=default,
                             metadata={"help": help, "check": check, "unit": unit})


# ---- the configuration ----------------------------------------------------------------------
@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of the learner; presets in :data:`PRESETS`. Units in brackets."""

    name: str = param("custom", "label of the configuration, e.g. the preset's name", TEXT,
                      "text")
    iterations: int = param(300, "training iterations, each one rollout and one update",
                            whole(1), "count")
    n_envs: int = param(64, "copies of the simulator run side by side", whole(1), "copies")
    rollout_length: int = param(32, "periods per copy per iteration, truncated with a "
                                "bootstrapped value", whole(1), "periods")
    gamma: float = param(0.99, "discount per period", DISCOUNT, "1")
    gae_lambda: float = param(0.95, "GAE lambda", PROBABILITY, "1")
    replenisher_credit: str = param(
        "firm", "advantage of each product's order: firm (GAE of the total) or product (of its "
        "own reward; lower variance, biased)", one_of("product", "firm"))
    reward_centering: float = param(0.1, "rate of the running average reward g subtracted from "
                                    "each reward (0: g = first rollout's mean)", PROBABILITY, "1")
    epochs: int = param(2, "passes over each rollout in the update (2 learned as well per "
                        "iteration as 4 on tiny-margin and medium, at less cost)", whole(1),
                        "count")
    minibatches: int = param(4, "minibatches per epoch, groups of whole copies; must divide "
                             "n_envs", whole(1), "count")
    clip: float = param(0.2, "PPO clip range epsilon of the likelihood ratio", POSITIVE, "1")
    entropy_coef: float = param(0.01, "weight of the mean entropy per product of the "
                                "order-up-to level in the loss", NON_NEGATIVE, "1")
    exposure_entropy_coef: float = param(0.01, "weight of the mean entropy per exposure logit "
                                         "in the recommender's loss", NON_NEGATIVE, "1")
    entropy_decay: float = param(0.0, "n_e: both entropy weights are scaled by n_e / (n_e + n) "
                                 "at iteration n; 0 keeps them constant", NON_NEGATIVE,
                                 "iterations")
    max_grad_norm: float = param(0.5, "gradient-norm clip per optimizer", POSITIVE, "1")
    architecture: str = param("compact", "compact (input traces as memory, bilinear exposure "
                              "head, two layers) or reference (GRU memory, an MLP per "
                              "(segment, product) pair, four layers)",
                              one_of("compact", "reference"))
    hidden: int = param(32, "width of every hidden layer (and of the reference GRU)", whole(1),
                        "units")
    memory: bool = param(True, "memory of the agent's own observation history (compact: "
                         "traces of its inputs; reference: a GRU) on or off", BOOLEAN)
    normalize_features: bool = param(True, "standardize the features by their running mean "
                                     "and standard deviation over the rollouts", BOOLEAN)
    order_law: str = param("capped", "level (the head sets an order-up-to level) or capped (it "
                           "sets a level and a cap of the order: capped base-stock, refined by "
                           "state); the reference networks always use level", one_of("level", "capped"))
    order_levels: int = param(48, "G, order-up-to levels per product", whole(2), "count")
    level_cover: float = param(2.5, "highest order-up-to level, in periods of peak demand over "
                               "L_i + R", POSITIVE, "periods")
    exposure_noise: float = param(1.5, "initial standard deviation of the exposure logits (0.5 "
                                  "explores too little: on medium it learned half as fast)",
                                  POSITIVE, "logit units")
    level_noise: float = param(1.0, "initial standard deviation of the order-up-to level (3 "
                               "stayed noisy where the grid is short, e.g. tiny-capacity)",
                               POSITIVE, "grid steps")
    actor: str = param("per_department", "per_department (two actors on their own views) or "
                       "joint (one agent)", one_of("per_department", "joint"))
    critic: str = param("centralized", "centralized (one critic on the full state) or "
                        "per_agent", one_of("centralized", "per_agent"))
    replenisher_reward: str = param("profit", "the replenisher's reward: profit, gmv or "
                                    "operating_cost (minus c q + h I + b l)",
                                    one_of(*REWARD_STREAMS))
    recommender_reward: str = param("profit", "the recommender's reward: profit, gmv (sum p_i "
                                    "D_i) or operating_cost", one_of(*REWARD_STREAMS))
    fast_agent: str = param("recommender", "which actor learns on the fast timescale",
                            one_of(*ROLES))
    timescale_ratio: float = param(0.3, "a_slow / a_fast, the slow actor's step size relative "
                                   "to the fast one's at n = 0", POSITIVE, "1")
    lr_fast: float = param(2e-3, "a_fast, the fast actor's step size (Adam learning rate) at "
                           "n = 0", STEP_SIZE, "1")
    lr_critic: float = param(3e-3, "a_critic, the critic's step size at n = 0", STEP_SIZE, "1")
    schedule: str = param("decaying", "step-size family: constant, or decaying "
                          "a / (1 + n / n0)^rho", one_of("constant", "decaying"))
    decay_start: float = param(100.0, "n0 of the decaying schedule", POSITIVE, "iterations")
    decay_power_critic: float = param(0.55, "rho of the critic's decaying schedule, in "
                                      "(0.5, 1]", ROBBINS_MONRO, "1")
    decay_power_fast: float = param(0.6, "rho of the fast actor's decaying schedule, in "
                                    "(0.5, 1]", ROBBINS_MONRO, "1")
    decay_power_slow: float = param(0.9, "rho of the slow actor's decaying schedule, in "
                                    "(0.5, 1], >= the fast one's", ROBBINS_MONRO, "1")
    replenisher_every: int = param(1, "update the replenisher every k-th iteration", whole(1),
                                   "iterations")
    recommender_every: int = param(1, "update the recommender every k-th iteration", whole(1),
                                   "iterations")
    frozen: tuple = param((), f"agents never updated: any of {', '.join(AGENTS)}",
                          names_among(*AGENTS))
    optimizer: str = param("adam", "adam, or sgd (the plain stochastic-approximation "
                           "recursion)", one_of("adam", "sgd"))
    seed: int = param(0, "seed of the networks' initialization, the simulator and the action "
                      "sampling", whole(0))
    device: str = param("cpu", "torch device of the networks and tensors, e.g. cpu or cuda",
                        DEVICE)
    threads: int = param(1, "torch CPU threads", whole(1), "threads")
    checkpoint_every: int = param(25, "write a checkpoint every k iterations, and at the end",
                                  whole(1), "iterations")
    eval_replications: int = param(20, "replications of the final evaluation with "
                                   "coordlib.evaluate", whole(1), "count")
    eval_periods: int = param(500, "periods per replication of the final evaluation",
                              whole(1), "periods")
    eval_warmup: int = param(100, "periods discarded at the start of each evaluation "
                             "replication; < eval_periods", whole(0), "periods")
    eval_seed: int = param(0, "seed of the final evaluation (0, as for the heuristics: common "
                           "random numbers)", whole(0))
    eval_deterministic: bool = param(True, "evaluate the mode of each policy (true) or sample "
                                     "actions as in training (false)", BOOLEAN)

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

    def schedule_of(self, timescale: str) -> Schedule:
        """The step-size schedule alpha(n) of the ``"critic"``, ``"fast"`` or ``"slow"``
        timescale: :class:`Constant` a, or :class:`Decaying` a / (1 + n / n0)^rho with
        a_slow = timescale_ratio * a_fast (MODEL.md section 6)."""
        scales = {"critic": (self.lr_critic, self.decay_power_critic),
                  "fast": (self.lr_fast, self.decay_power_fast),
                  "slow": (self.lr_fast * self.timescale_ratio, self.decay_power_slow)}
        if timescale not in scales:
            raise ValueError(f"unknown timescale {timescale!r}; known: {', '.join(scales)}")
        a, rho = scales[timescale]
        return Constant(a) if self.schedule == "constant" else Decaying(a, self.decay_start, rho)


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def config_docs() -> dict[str, str]:
    """Each field of :class:`TrainConfig` with its one-line meaning, unit and default, e.g.
    ``"discount per period [1]; default 0.99"`` (for help texts and notebooks)."""
    docs = {}
    for f in dataclasses.fields(TrainConfig):
        unit = f" [{f.metadata['unit']}]" if f.metadata["unit"] else ""
        docs[f.name] = f"{f.metadata['help']}{unit}; default {_shown(f.default)}"
    return docs


def _validate(c: TrainConfig) -> None:
    """Each field against its own rule (declared with :func:`param`), then the rules that tie
    fields together."""
    for f in dataclasses.fields(c):
        if not f.metadata["check"](getattr(c, f.name)):
            _fail(c, f.name, f.metadata["check"].text)
    if c.lr_fast * c.timescale_ratio > 1:
        _fail(c, "timescale_ratio", f"times lr_fast ({c.lr_fast}), the slow step size, must be "
              "at most 1")
    if c.n_envs % c.minibatches:
        _fail(c, "minibatches", f"must divide n_envs ({c.n_envs})")
    if c.eval_warmup >= c.eval_periods:
        _fail(c, "eval_warmup", f"must be smaller than eval_periods ({c.eval_periods})")
    if c.decay_power_slow < c.decay_power_fast:
        _fail(c, "decay_power_slow", f"must be >= decay_power_fast ({c.decay_power_fast}) so "
              "that the slow step size does not outpace the fast one")
    actors = ("joint",) if c.actor == "joint" else ROLES
    stray = [f for f in c.frozen if f != "critic" and f not in actors]
    if stray:
        _fail(c, "frozen", f"names agents this configuration does not have "
              f"({', '.join(stray)}); its actors are {', '.join(actors)}")
    if c.actor == "joint" and c.replenisher_reward != c.recommender_reward:
        _fail(c, "recommender_reward", "must equal replenisher_reward for a joint agent (one "
              "reward)")


def _fail(c: TrainConfig, name: str, rule: str):
    raise ConfigError(f"TrainConfig.{name}: {rule}, got {getattr(c, name)!r}")


# ---- the named configurations ---------------------------------------------------------------
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
"""The named configurations (MODEL.md section 6): each differs from ``mtma`` only in what its
name says (:data:`coordlib.learning.training.PRESET_DOCS`)."""

PRESET_DOCS: dict[str, str] = {
    "mtma": "two actors on their own views, centralized critic, firm profit, recommender fast "
            "and replenisher slow with decaying step sizes",
    "single_timescale": "one step size for the critic and both actors",
    "independent": "one critic per actor on its own view",
    "siloed": "per-actor critics, the recommender on GMV and the replenisher on the profit of "
              "the demand it is handed (all revenue passes through its stock: r_t)",
    "siloed_cost": "as siloed, the replenisher on minus its operating cost c q + h I + b l",
    "centralized": "one agent with the joint action, one encoder reading both views, one "
                   "optimizer",
}
"""One line per preset of :data:`PRESETS`, for help texts."""


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
    """alpha(n) of the ``"critic"``, ``"fast"`` or ``"slow"`` timescale at iteration n >= 0
    (:meth:`TrainConfig.schedule_of`)."""
    return config.schedule_of(timescale)(n)
