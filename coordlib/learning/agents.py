"""The agents of the multi-timescale multi-agent learner (MODEL.md section 6): networks and policy.

Two actors, one per department, each reading only its own view (MODEL.md section 4):

- the **replenisher** reads ``Observation.replenisher_view()`` and picks, per product, an
  order-up-to level S_i from a grid; the order is q_i = min(Qmax_i, max(0, S_i - IP_i)) with
  IP_i its own inventory position (MODEL.md section 3, base-stock). With the state as input
  this covers every sensible order (S = IP + q). The level is drawn from a discretized
  normal over the grid, centred by the network: the levels are ordered, and a gradient then
  moves the centre towards better levels as for a continuous action (a plain categorical
  over levels reweights unrelated categories, and in our runs on tiny-margin it collapsed
  on one level for both products). The centre starts at the newsvendor level of B1 for
  uniform exposure, the learner's prior (:class:`ScenarioEncoding`).
- the **recommender** reads ``Observation.recommender_view()`` and picks, per segment k, an
  exposure x_k in the simplex. The action is logistic-normal: per (k, j) a logit
  z_kj ~ Normal(m_kj, sigma^2) and x_k = softmax(z_k). The policy is a density over z, so the
  likelihood ratio is well defined, and every exposure it produces is a point of the simplex
  (the simulator receives softmax(z)); a near-vertex exposure needs only a large logit gap.
  (A categorical "which product to show" sampled per period would reach only the vertices;
  MODEL.md lets every customer be shown product j with probability x_kj, a continuous action.)

A **critic** estimates the value of a reward stream: one centralized critic on the full
state (``Observation.full_state()``), or one per actor on that actor's own view. Every reward
stream is a sum over products, and the critic values each product's share.

Scaling with N: every network applies the same weights to each product's features (static
scenario features, absolute and relative to the other products; the department's
observations in units of the product's own demand; the period) and mixes products only
through means over products. The number of parameters depends on the layer width, never on
N, K or the lead times; the exposure head scores each (segment, product) pair with one
shared network. Memory is a GRU per product, shared across products, over the department's
own observation history (``memory=False``: a feed-forward encoder of the current view).

:class:`LearnedPolicy` wraps trained actors as a :class:`coordlib.model.policy.Policy`, so learned
agents are evaluated by :func:`coordlib.evaluate` exactly like the heuristics.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..model.policy import Action, Policy
from ..model.scenario import Scenario
from ..model.simulator import Observation
from .features import N_SEGMENT, ROLES, VIEW_FEATURES, ScenarioEncoding

REWARD_STREAMS = ("profit", "gmv", "operating_cost")
"""Reward streams: the firm's profit r_t, the GMV sum_i p_i D_i, minus the operating cost
sum_i (c_i q_i + h_i I_i' + b_i l_i) (MODEL.md section 4)."""


# ---- networks -----------------------------------------------------------------------------
def _layer(n_in: int, n_out: int, std: float = math.sqrt(2)) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(layer.weight, std)
    nn.init.zeros_(layer.bias)
    return layer


class ProductEncoder(nn.Module):
    """Per-product features -> per-product representation, the same weights for every product.

    Each product is embedded by an MLP, then mixed with the mean embedding over products (the
    only place products meet); with memory, a GRU cell per product runs over the periods.
    Input (T, B, N, F) and memory (B, N, H); output (T, B, N, D) and the memory after T.
    """

    def __init__(self, n_features: int, hidden: int, memory: bool):
        super().__init__()
        self.embed = nn.Sequential(_layer(n_features, hidden), nn.Tanh(),
                                   _layer(hidden, hidden), nn.Tanh())
        self.mix = _layer(2 * hidden, hidden)
        self.cell = nn.GRU(hidden, hidden) if memory else None
        self.hidden = hidden
        self.out_features = 2 * hidden if memory else hidden

    def forward(self, x: torch.Tensor, memory: Optional[torch.Tensor]):
        e = self.embed(x)
        u = torch.tanh(self.mix(torch.cat([e, e.mean(-2, keepdim=True).expand_as(e)], -1)))
        if self.cell is None:
            return u, memory
        T, B, N, H = u.shape
        h_seq, h = self.cell(u.reshape(T, B * N, H), memory.reshape(1, B * N, H))
        return torch.cat([u, h_seq.reshape(T, B, N, H)], -1), h.reshape(B, N, H)


def _with_pool(o: torch.Tensor) -> torch.Tensor:
    return torch.cat([o, o.mean(-2, keepdim=True).expand_as(o)], -1)


class Actor(nn.Module):
    """One agent: an encoder of its view and the heads of the decisions it owns.

    ``orders``: a head giving per product the centre and the spread of a discretized normal
    over the order-up-to grid, mu_i = top_i sigmoid(a_i + a0_i) in grid steps (a0_i puts
    a_i = 0 at the newsvendor level for uniform exposure, see :class:`ScenarioEncoding`) and
    sigma_i = level_noise exp(b_i): P(level m) proportional to exp(-(m - mu_i)^2 / (2 sigma_i^2))
    over the grid. The levels are ordered, and this keeps
    the order: a gradient moves mu towards better levels, as for a continuous action,
    instead of reweighting unrelated categories. ``exposure``: a head scoring each (segment,
    product) pair, the mean m_kj of the logistic-normal logit, and one learned log standard
    deviation (shared by all pairs).
    """

    def __init__(self, view: str, hidden: int, memory: bool, order_levels: int,
                 orders: bool, exposure: bool, exposure_noise: float, level_noise: float = 3.0):
        super().__init__()
        self.view = view
        self.encoder = ProductEncoder(VIEW_FEATURES[view], hidden, memory)
        D = self.encoder.out_features
        if orders:
            self.order_head = nn.Sequential(_layer(2 * D, hidden), nn.Tanh(),
                                            _layer(hidden, 2, std=0.01))
            self.level_noise = level_noise
        else:
            self.order_head = None
        if exposure:
            # the first layer on [o_j, mean o, segment features of (k, j)], split so that the
            # product part is computed once per product rather than once per (k, j)
            self.exposure_product = _layer(2 * D, hidden)
            self.exposure_segment = nn.Linear(N_SEGMENT, hidden, bias=False)
            nn.init.orthogonal_(self.exposure_segment.weight, math.sqrt(2))
            self.exposure_head = nn.Sequential(nn.Tanh(), _layer(hidden, 1, std=0.01))
            self.log_std = nn.Parameter(torch.tensor(math.log(exposure_noise)))
        else:
            self.exposure_head, self.log_std = None, None

    def forward(self, features: dict, memory):
        o, memory = self.encoder(features[self.view], memory)
        o = _with_pool(o)                                                   # (T, B, N, 2D)
        out = {}
        if self.order_head is not None:
            centre, spread = self.order_head(o).unbind(-1)                  # (T, B, N) each
            out["level_mean"] = centre
            out["level_log_std"] = (math.log(self.level_noise) + spread).clamp(math.log(0.2),
                                                                               math.log(50.0))
        if self.exposure_head is not None:
            seg = features["segment"]                                       # (T, B, K, N, F)
            pre = self.exposure_product(o).unsqueeze(2) + self.exposure_segment(seg)
            out["exposure_mean"] = self.exposure_head(pre).squeeze(-1)      # (T, B, K, N)
            out["log_std"] = self.log_std.clamp(-5.0, 1.0)
        return out, memory


class Critic(nn.Module):
    """Values of one or more reward streams from a view, decomposed over products.

    Every stream is a sum over products (profit, GMV and operating cost all are), so the
    critic gives each product's share: output (T, B, N, S), u_i = the value of N r_i (the
    product's reward in reward-scale units, centered), and the stream's value is the mean over
    products. Each product's share is trained on its own reward, N targets per state instead
    of one, and the firm's value is still exact (the mean of the shares).
    """

    def __init__(self, view: str, hidden: int, memory: bool, n_streams: int):
        super().__init__()
        self.view = view
        self.encoder = ProductEncoder(VIEW_FEATURES[view], hidden, memory)
        self.head = nn.Sequential(_layer(2 * self.encoder.out_features, hidden), nn.Tanh(),
                                  _layer(hidden, n_streams, std=1.0))

    def forward(self, features: dict, memory):
        o, memory = self.encoder(features[self.view], memory)
        return self.head(_with_pool(o)), memory                             # (T, B, N, S)


class AgentSet(nn.Module):
    """The actors and critics of one learner configuration (MODEL.md section 6).

    Parameters
    ----------
    actor : {"per_department", "joint"}
        two actors on their own views (decentralized execution), or one centralized agent
        whose single encoder reads both views and feeds both heads.
    critic : {"centralized", "per_agent"}
        one critic on the full state with one output per distinct reward stream, or one
        critic per actor on that actor's view.
    rewards : (str, str)
        the reward stream of the replenisher and of the recommender, each in :data:`REWARD_STREAMS`.
    hidden, memory, order_levels, level_cover, exposure_noise, level_noise
        layer width; GRU memory on or off; G; the top of the level grid (see
        :class:`ScenarioEncoding`); the initial sigma of the exposure logits and of the
        order-up-to level (in grid steps).
    """

    def __init__(self, actor: str = "per_department", critic: str = "centralized",
                 rewards=("profit", "profit"), hidden: int = 32, memory: bool = True,
                 order_levels: int = 48, level_cover: float = 2.5, exposure_noise: float = 1.5,
                 level_noise: float = 3.0):
        super().__init__()
        rewards = tuple(rewards)
        self.spec = dict(actor=actor, critic=critic, rewards=list(rewards), hidden=hidden,
                         memory=memory, order_levels=order_levels, level_cover=level_cover,
                         exposure_noise=exposure_noise, level_noise=level_noise)
        if actor == "joint":
            if rewards[0] != rewards[1]:
                raise ValueError("a joint agent has one reward: replenisher_reward and "
                                 f"recommender_reward must agree, got {rewards}")
            self.actor_of = {"replenisher": "joint", "recommender": "joint"}
            self.actors = nn.ModuleDict({"joint": Actor("joint", hidden, memory, order_levels,
                                                        True, True, exposure_noise, level_noise)})
        else:
            self.actor_of = {r: r for r in ROLES}
            self.actors = nn.ModuleDict({
                "replenisher": Actor("replenisher", hidden, memory, order_levels, True, False,
                                     exposure_noise, level_noise),
                "recommender": Actor("recommender", hidden, memory, order_levels, False, True,
                                     exposure_noise)})
        self.reward_of = dict(zip(ROLES, rewards))
        if critic == "centralized":
            streams = list(dict.fromkeys(rewards))
            self.critics = nn.ModuleDict({"central": Critic("full", hidden, False, len(streams))})
            self.value_of = {r: ("central", streams.index(self.reward_of[r])) for r in ROLES}
        else:
            self.critics = nn.ModuleDict({
                name: Critic(self.actors[name].view, hidden, memory, 1) for name in self.actors})
            self.value_of = {r: (self.actor_of[r], 0) for r in ROLES}
        self.order_levels, self.level_cover = order_levels, level_cover

    @classmethod
    def from_spec(cls, spec: dict) -> "AgentSet":
        return cls(**spec)

    def encoding(self, scenario: Scenario, device="cpu") -> ScenarioEncoding:
        return ScenarioEncoding(scenario, self.order_levels, self.level_cover, device)

    def initial_memory(self, batch_size: int, n_products: int, device="cpu",
                       critics: bool = True) -> dict:
        """Zero GRU states, ``{"actor/NAME" or "critic/NAME": (B, N, H)}`` for modules with memory."""
        memory = {}
        groups = [("actor", self.actors)] + ([("critic", self.critics)] if critics else [])
        for kind, modules in groups:
            for name, module in modules.items():
                if module.encoder.cell is not None:
                    memory[f"{kind}/{name}"] = torch.zeros(batch_size, n_products,
                                                           module.encoder.hidden, device=device)
        return memory

    def forward(self, features: dict, memory: dict, critics: bool = True):
        """Run the actors (and critics) over a (T, B, ...) sequence of features.

        Returns ``(out, values, memory)``: ``out`` holds ``level_mean`` (T, B, N) and
        ``level_log_std`` (T, B, N),
        ``exposure_mean`` (T, B, K, N) and ``log_std``; ``values`` maps critic names to
        per-product values (T, B, N, S); ``memory`` is the state after the last period.
        """
        memory = dict(memory)
        out = {}
        for name, actor in self.actors.items():
            key = f"actor/{name}"
            result, memory[key] = actor(features, memory.get(key))
            out.update(result)
        values = {}
        if critics:
            for name, critic in self.critics.items():
                key = f"critic/{name}"
                values[name], memory[key] = critic(features, memory.get(key))
        return out, values, {k: v for k, v in memory.items() if v is not None}

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


# ---- the action distributions -------------------------------------------------------------
def level_logits(out: dict, encoding: "ScenarioEncoding") -> torch.Tensor:
    """(T, B, N, G) logits of the discretized normal over each product's level grid."""
    mu = encoding.top_index * torch.sigmoid(out["level_mean"] + encoding.level_prior)
    grid = torch.arange(encoding.levels.shape[1], device=mu.device, dtype=mu.dtype)
    return -0.5 * ((grid - mu.unsqueeze(-1)) / out["level_log_std"].exp().unsqueeze(-1)) ** 2


def level_log_probs(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """log pi(level) per product; grid points beyond the product's top are masked out."""
    return torch.log_softmax(logits.masked_fill(~mask, -1e9), -1)


def sample_actions(out: dict, encoding: "ScenarioEncoding", generator: torch.Generator,
                   deterministic: bool = False) -> dict:
    """Draw (or, deterministic, take the mode of) the levels and the exposure logits.

    Returns ``level_index`` (T, B, N), ``logits`` z (T, B, K, N), ``exposure`` softmax(z)
    (T, B, K, N), and the per-factor log-probabilities ``logp_levels`` and ``logp_logits``.
    Sampling uses ``generator`` only (Gumbel-max for the levels), so runs are reproducible.
    """
    logp = level_log_probs(level_logits(out, encoding), encoding.level_mask)
    if deterministic:
        index = logp.argmax(-1)
    else:
        u = torch.rand(logp.shape, generator=generator, device=logp.device)
        index = (logp - torch.log(-torch.log(u.clamp_min(1e-12)))).argmax(-1)
    mean, log_std = out["exposure_mean"], out["log_std"]
    if deterministic:
        z = mean
    else:
        z = mean + log_std.exp() * torch.randn(mean.shape, generator=generator, device=mean.device)
    return {"level_index": index, "logits": z, "exposure": torch.softmax(z, -1),
            "logp_levels": logp.gather(-1, index.unsqueeze(-1)).squeeze(-1),
            "logp_logits": gaussian_log_prob(z, mean, log_std)}


def gaussian_log_prob(z, mean, log_std):
    return -0.5 * ((z - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)


def level_entropy(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    logp = level_log_probs(logits, mask)
    return -(logp.exp() * logp).sum(-1)


def gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    return 0.5 * math.log(2 * math.pi * math.e) + log_std


def exposure_array(exposure: torch.Tensor) -> np.ndarray:
    """float64 exposures whose rows sum to one to float64 precision."""
    x = exposure.detach().cpu().double().numpy()
    return x / x.sum(-1, keepdims=True)


# ---- the learned policy as a coordlib policy ----------------------------------------------
class LearnedPolicy(Policy):
    """Trained actors as a :class:`coordlib.model.policy.Policy` (decentralized execution).

    Each actor reads only its own view of the batched observation. ``reset`` clears the
    recurrent memory and binds the scenario (the networks do not depend on N or K, so a
    policy trained on one scenario runs on any other, though it is only meant for its own).

    Parameters
    ----------
    agents : AgentSet
        the trained networks (the critics are not used).
    deterministic : bool
        True (default): the most likely order-up-to level and the exposure softmax(m) of
        the mean logits; False: actions sampled as in training (from a generator seeded by
        the ``rng`` that ``reset`` receives).
    device : str
        where the networks run.
    """

    def __init__(self, agents: AgentSet, deterministic: bool = True, device="cpu",
                 name: str = "learned"):
        self.agents = agents.to(device).eval()
        self.deterministic, self.device, self.name = deterministic, torch.device(device), name

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        self.encoding = self.agents.encoding(scenario, self.device)
        self.memory = self.agents.initial_memory(batch_size, scenario.n_products, self.device,
                                                 critics=False)
        self.generator = torch.Generator(self.device)
        self.generator.manual_seed(int(rng.integers(2 ** 62)))

    @torch.no_grad()
    def act(self, observation: Observation) -> Action:
        features = self.encoding.features(observation, critic=False)
        out, _, self.memory = self.agents(features, self.memory, critics=False)
        a = sample_actions(out, self.encoding, self.generator, self.deterministic)
        orders = self.encoding.orders(a["level_index"][0], observation.replenisher_view())
        return Action(orders, exposure_array(a["exposure"][0]))
