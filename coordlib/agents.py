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

:class:`LearnedPolicy` wraps trained actors as a :class:`coordlib.policies.Policy`, so learned
agents are evaluated by :func:`coordlib.evaluate` exactly like the heuristics.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from scipy import stats
from torch import nn

from . import policies
from .policies import Action, Policy
from .scenario import Scenario
from .simulator import Observation

ROLES = ("replenisher", "recommender")
"""The two departments; each role is played by its own actor, or by the joint actor."""
REWARDS = ("profit", "gmv", "operating_cost")
"""Reward streams: the firm's profit r_t, the GMV sum_i p_i D_i, minus the operating cost
sum_i (c_i q_i + h_i I_i' + b_i l_i) (MODEL.md section 4)."""
FEATURE_CLIP = 10.0
"""Every feature is clipped to [-FEATURE_CLIP, FEATURE_CLIP] (after scaling)."""

N_STATIC, N_TIME = 16, 4
N_REPLENISHER = 8 + N_STATIC + N_TIME
N_RECOMMENDER = 3 + N_STATIC + N_TIME
N_SEGMENT = 12
N_FULL = 6 + N_STATIC + N_TIME
VIEW_FEATURES = {"replenisher": N_REPLENISHER, "recommender": N_RECOMMENDER,
                 "joint": N_REPLENISHER + N_RECOMMENDER, "full": N_FULL}
"""Features per product of each view (the joint view is both departments' views together)."""


# ---- the scenario as features -------------------------------------------------------------
class ScenarioEncoding:
    """A scenario's numbers in the units the networks read, and the order-level grid.

    Quantities are scaled per product: flows by the product's peak demand
    d_i = sum_k lambda_k P_ki(i) (its demand when every customer is shown it), stocks by
    d_i (L_i + R). Rewards are scaled by the GMV under uniform exposure, sum_i p_i mu_i(x_unif).
    Static product features: price, margin rate, h/p, b/p, L, M and Qmax in demand units, the
    critical fractile (p + b - c) / (p + b - c + h) and the newsvendor levels of B1 (Poisson
    demand over L_i + R under uniform exposure and at peak demand), and the same standardized
    across products. ``newsvendor_level`` is also the order head's prior centre
    (``level_prior``), so an untrained replenisher is the base-stock heuristic at the
    fractile levels for uniform exposure.

    Parameters
    ----------
    scenario : Scenario
    order_levels : int
        G, the number of order-up-to levels per product.
    level_cover : float
        the highest level, in periods of peak demand over L_i + R: with
        top_i = min(level_cover d_i (L_i + R), M_i + L_i Qmax_i) (the largest inventory
        position), the grid is S_im = round(m step_i), step_i = max(1, top_i / (G - 1)), for
        m = 0..ceil(top_i / step_i): whole units when the range allows (grid points beyond the
        top are masked).
    device : str
        where the feature tensors are created.
    """

    def __init__(self, scenario: Scenario, order_levels: int = 48, level_cover: float = 2.5,
                 device="cpu"):
        s = scenario
        self.scenario, self.device = s, torch.device(device)
        self.n_products, self.n_segments = s.n_products, s.n_segments
        P = s.purchase_probabilities                                   # [k, j, i]
        self.shown_buys = np.einsum("kii->ki", P)                      # P_kj(j), (K, N)
        peak = s.arrival_rate @ self.shown_buys
        self.demand_scale = np.where(peak > 0, peak, 1.0)              # d_i
        self.horizon = (s.lead_time + s.review_period).astype(float)   # L_i + R
        self.stock_scale = self.demand_scale * self.horizon
        self._uniform = P.mean(axis=1)                                 # (K, N) per customer
        mean_demand = s.arrival_rate @ self._uniform                   # mu_i(x_unif), season-averaged
        self._mean_demand = np.where(mean_demand > 0, mean_demand, 1.0)
        self.reward_scale = float(max(s.price @ mean_demand, 1e-6))
        mean_price = s.price.mean()
        # newsvendor levels (B1): the critical fractile of Poisson demand over L_i + R, for
        # the demand under uniform exposure and for the peak demand d_i
        fractile = policies.critical_fractile(s)
        self.newsvendor_level = policies.fractile_levels(s).astype(float)
        peak_level = stats.poisson.ppf(fractile, self.demand_scale * self.horizon)
        margin_rate = (s.price - s.unit_cost) / s.price
        static = np.stack([s.price / mean_price, margin_rate,
                           s.holding_cost / s.price, s.lost_sale_penalty / s.price,
                           s.lead_time / 4.0, s.capacity / self.stock_scale,
                           s.max_order / (self.demand_scale * s.review_period),
                           self.demand_scale / self.demand_scale.mean(),
                           mean_demand / self.demand_scale, fractile,
                           self.newsvendor_level / self.stock_scale, peak_level / self.stock_scale,
                           # the same, relative to the other products: what sets them apart
                           _standardized(s.price), _standardized(margin_rate),
                           _standardized(fractile), _standardized(self.newsvendor_level)],
                          axis=-1)
        self._static = _clip(static)                                   # (N, N_STATIC)
        rate = np.where(s.arrival_rate > 0, s.arrival_rate, 1.0)
        gmv = P @ s.price                                              # (K, N): value of showing j
        margin = P @ (s.price - s.unit_cost + s.lost_sale_penalty)
        self._segment_static = _clip(np.stack([
            self.shown_buys, s.arrival_rate[:, None] * self.shown_buys / self.demand_scale,
            gmv / mean_price, margin / mean_price,
            _standardized(gmv, axis=1), _standardized(margin, axis=1),
            np.broadcast_to((s.arrival_rate / rate.mean())[:, None], gmv.shape),
            np.broadcast_to((s.lift / (1 + s.lift))[:, None], gmv.shape)], axis=-1))
        self._rate = rate

        # the order-up-to grid: whole units where the range allows, the top at level_cover
        G = int(order_levels)
        largest = s.capacity + s.lead_time * s.max_order          # the largest position
        top = np.maximum(np.minimum(level_cover * self.stock_scale, largest), 1.0)
        step = np.maximum(1.0, top / (G - 1))
        top_index = np.minimum(np.ceil(top / step), G - 1)
        index = np.arange(G)[None, :]
        levels = np.minimum(np.round(index * step[:, None]), np.ceil(top)[:, None])
        self.levels = levels.astype(np.int64)                          # (N, G) [S_im]
        self.level_mask = torch.as_tensor(index <= top_index[:, None], device=self.device)
        self.top_index = torch.as_tensor(top_index, dtype=torch.float32, device=self.device)
        # the level head is centred on the newsvendor level: mu = top sigmoid(a + prior)
        share = np.clip(self.newsvendor_level / step / top_index, 0.02, 0.98)
        self.level_prior = torch.as_tensor(np.log(share / (1 - share)), dtype=torch.float32,
                                           device=self.device)
        self._levels_t = torch.as_tensor(self.levels, device=self.device)

    # ---- per period -------------------------------------------------------------------
    def _time(self, t: int) -> np.ndarray:
        """(N, N_TIME): review flag, position in the review cycle, seasonal demand now and at arrival."""
        s = self.scenario
        now = s.arrival_rates(t) @ self._uniform / self._mean_demand
        at_arrival = np.einsum("ik,ki->i", s.arrival_rates(t + s.lead_time), self._uniform)
        at_arrival = at_arrival / self._mean_demand
        N = self.n_products
        return np.stack([np.full(N, float(s.is_review_period(t))),
                         np.full(N, (t % s.review_period) / s.review_period), now, at_arrival], -1)

    def replenisher_features(self, view: dict) -> np.ndarray:
        """(B, N, N_REPLENISHER) from the operations department's view only."""
        stock = self._stock_features(view)
        flows = np.stack([view["last_sales"], view["last_lost_sales"]], -1) / self.demand_scale[:, None]
        return self._with_context(np.concatenate([stock, flows], -1), view["t"])

    def recommender_features(self, view: dict) -> tuple[np.ndarray, np.ndarray]:
        """(B, N, N_RECOMMENDER) per product and (B, K, N, N_SEGMENT) per (segment, product)."""
        s, d = self.scenario, self.demand_scale
        avail = np.asarray(view["availability"], dtype=float)                     # (B, N)
        demand = np.asarray(view["last_demand"], dtype=float)                     # (B, K, N)
        per_product = np.stack([avail / d, avail / self.stock_scale, demand.sum(1) / d], -1)
        rate_now = s.arrival_rates(view["t"])                                     # (K,)
        B, K, N = demand.shape
        cover = avail[:, None, :] / np.maximum(rate_now[:, None] * self.shown_buys, 1e-3)
        dynamic = np.stack([
            demand / d,
            np.broadcast_to((view["last_customers"] / self._rate)[:, :, None], (B, K, N)),
            np.broadcast_to((rate_now / self._rate)[None, :, None], (B, K, N)),
            np.minimum(cover, 2 * FEATURE_CLIP) / 5.0], -1)
        segment = np.concatenate([dynamic, np.broadcast_to(self._segment_static,
                                                           (B, K, N, N_SEGMENT - 4))], -1)
        return self._with_context(per_product, view["t"]), _clip(segment)

    def full_features(self, state: dict) -> np.ndarray:
        """(B, N, N_FULL) from the full state (on-hand, pipeline, backlog, period)."""
        return self._with_context(self._stock_features(state), state["t"])

    def _stock_features(self, view) -> np.ndarray:
        on_hand, pipe, backlog = view["on_hand"], view["pipeline"], view["backlog"]
        B, N, L = pipe.shape
        zero = np.zeros((B, N))
        due_now = pipe[..., 0] if L > 0 else zero
        due_next = pipe[..., 1] if L > 1 else zero
        later = pipe[..., 2:].sum(-1) if L > 2 else zero
        position = on_hand + pipe.sum(-1) - backlog
        return np.stack([on_hand, due_now, due_next, later, position, backlog], -1) \
            / self.stock_scale[:, None]

    def _with_context(self, dynamic: np.ndarray, t: int) -> np.ndarray:
        B, N = dynamic.shape[:2]
        context = np.concatenate([self._static, self._time(t)], -1)
        return _clip(np.concatenate([dynamic, np.broadcast_to(context, (B, N, context.shape[-1]))], -1))

    def features(self, observation: Observation, critic: bool = True) -> dict:
        """Every view of one observation as tensors with a leading time axis of length 1.

        Keys: ``replenisher``, ``recommender``, ``segment``, ``joint`` and, with ``critic``,
        ``full``. Each actor reads only its own key (``joint`` is the centralized agent's).
        """
        rep = self.replenisher_features(observation.replenisher_view())
        rec, seg = self.recommender_features(observation.recommender_view())
        out = {"replenisher": rep, "recommender": rec, "segment": seg,
               "joint": np.concatenate([rep, rec], -1)}
        if critic:
            out["full"] = self.full_features(observation.full_state())
        return {k: torch.as_tensor(np.asarray(v, dtype=np.float32), device=self.device)[None]
                for k, v in out.items()}

    def orders(self, level_index: torch.Tensor, view: dict) -> np.ndarray:
        """q_i = min(Qmax_i, max(0, S_i - IP_i)) for the chosen level indices (B, N)."""
        levels = torch.gather(self._levels_t.expand(level_index.shape[0], -1, -1), 2,
                              level_index.unsqueeze(-1)).squeeze(-1).cpu().numpy()
        position = view["on_hand"] + view["pipeline"].sum(-1) - view["backlog"]
        return np.clip(levels - position, 0, self.scenario.max_order).astype(np.int64)


def _clip(x):
    return np.clip(x, -FEATURE_CLIP, FEATURE_CLIP)


def _standardized(x, axis=-1):
    """(x - mean) / std across products (0 where all products agree)."""
    x = np.asarray(x, dtype=float)
    spread = x.std(axis=axis, keepdims=True)
    return np.where(spread > 1e-9, (x - x.mean(axis=axis, keepdims=True))
                    / np.where(spread > 1e-9, spread, 1.0), 0.0)


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
        the reward stream of the replenisher and of the recommender, each in :data:`REWARDS`.
    hidden, memory, order_levels, level_cover, exposure_noise, level_noise
        layer width; GRU memory on or off; G; the top of the level grid (see
        :class:`ScenarioEncoding`); the initial sigma of the exposure logits and of the
        order-up-to level (in grid steps).
    """

    def __init__(self, actor: str = "per_department", critic: str = "centralized",
                 rewards=("profit", "profit"), hidden: int = 64, memory: bool = True,
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
    """Trained actors as a :class:`coordlib.policies.Policy` (decentralized execution).

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


__all__ = ["AgentSet", "Actor", "Critic", "ProductEncoder", "ScenarioEncoding", "LearnedPolicy",
           "ROLES", "REWARDS", "sample_actions", "level_logits", "level_log_probs", "level_entropy",
           "gaussian_log_prob", "gaussian_entropy", "exposure_array"]
