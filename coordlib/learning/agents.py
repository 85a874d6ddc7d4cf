"""The agents of the multi-timescale multi-agent learner (MODEL.md section 6): their networks.

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
N, K or the lead times. Two network families (``architecture``):

- ``compact`` (the default): one layer on the view's features and their exponential traces
  (the memory: fixed rates, nothing learned through time, see :func:`traces`), one pooled
  layer ``W o_i + U mean(o)``, linear heads; the exposure logit of (k, j) is bilinear in the
  product's representation and the pair's features, and the order-up-to level follows the
  interval law (:data:`LEVEL_LAWS`), O(1) per product. About 10k multiply-adds per
  product-period for all three networks; cost and memory linear in N x copies.
- ``reference``: a two-layer embedding, a pooled layer on ``[o_i; mean o]`` and a GRU per
  product over the department's own history; an MLP scores every (segment, product) pair
  and the level law scores every grid point. About 4 times the cost per product-period.

``memory=False`` drops the traces (or the GRU): a feed-forward encoder of the current view.

The laws the heads parameterize (sampling, log-probabilities, entropies) are in
:mod:`coordlib.learning.distributions`; :class:`coordlib.learning.policy.LearnedPolicy` wraps
trained actors as a :class:`coordlib.model.policy.Policy`, so learned agents are evaluated by
:func:`coordlib.evaluate` exactly like the heuristics.
"""
from __future__ import annotations

import functools
import math
from typing import Optional

import torch
from torch import nn

from ..model.scenario import Scenario
from .features import N_SEGMENT, N_SEGMENT_DYNAMIC, ROLES, VIEW_FEATURES, ScenarioEncoding

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

    def initial_memory(self, batch_size: int, n_products: int, device) -> Optional[torch.Tensor]:
        if self.cell is None:
            return None
        return torch.zeros(batch_size, n_products, self.hidden, device=device)

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


# ---- the compact networks -----------------------------------------------------------------
class _Tanh(torch.autograd.Function):
    """tanh(a) = 2 sigmoid(2 a) - 1, with the backward 1 - tanh^2 from the saved output."""

    @staticmethod
    def forward(ctx, a):
        y = torch.sigmoid(2 * a).mul_(2).sub_(1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


def tanh(a: torch.Tensor) -> torch.Tensor:
    """tanh through the logistic function: the same values (to float32 rounding) at a quarter
    of the cost of ``torch.tanh`` forward and backward on CPUs whose tanh kernel is slow.
    Without a gradient to record (rollouts, evaluation) the same arithmetic runs without the
    autograd node."""
    if torch.is_grad_enabled() and a.requires_grad:
        return _Tanh.apply(a)
    return torch.sigmoid(2 * a).mul_(2).sub_(1)

TRACE_RATES = (0.5, 0.1)
"""Rates beta of the compact encoder's traces m_t = (1 - beta) m_(t-1) + beta x_t of its input:
a memory of about 2 and 10 periods, without backpropagation through time."""


class PooledLinear(nn.Module):
    """y_i = W o_i + U mean_j(o_j) + b: a linear layer on [o_i; mean o] without the concatenation.

    The same function as ``Linear(2 D, H)`` on ``[o_i; mean o]`` (with [W U] its weight), at half
    the cost: U is applied once per copy, to the mean, instead of once per product.
    """

    def __init__(self, n_in: int, n_out: int, std: float = math.sqrt(2)):
        super().__init__()
        joint = _layer(2 * n_in, n_out, std)
        self.own = nn.Linear(n_in, n_out)
        self.pooled = nn.Linear(n_in, n_out, bias=False)
        with torch.no_grad():
            self.own.weight.copy_(joint.weight[:, :n_in])
            self.own.bias.zero_()
            self.pooled.weight.copy_(joint.weight[:, n_in:])

    def forward(self, o: torch.Tensor) -> torch.Tensor:
        return self.own(o) + self.pooled(o.mean(-2, keepdim=True))


class CompactEncoder(nn.Module):
    """Per-product features -> per-product representation, at a fraction of the cost of
    :class:`ProductEncoder`: one layer on the features (with memory: the features and their
    traces, see :meth:`AgentSet.trace`), one :class:`PooledLinear` layer mixing products.

    Input (T, B, N, F x (1 + len(TRACE_RATES)) with memory, else F); output (T, B, N, H). The
    memory is a fixed exponential trace of the inputs: no recurrence is learned, so every
    period of a rollout is an independent row of the update.
    """

    def __init__(self, n_features: int, hidden: int, memory: bool):
        super().__init__()
        self.hidden = self.out_features = hidden
        self.embed = _layer(n_features * (1 + len(TRACE_RATES) if memory else 1), hidden)
        self.mix = PooledLinear(hidden, hidden)

    def initial_memory(self, batch_size: int, n_products: int, device) -> None:
        return None

    def forward(self, x: torch.Tensor, memory=None):
        return tanh(self.mix(tanh(self.embed(x)))), memory


def segment_features(features: dict) -> torch.Tensor:
    """The (T, B, K, N, N_SEGMENT) features of every (segment, product) pair: the dynamic ones
    of ``features["segment"]`` followed by the static ones of ``features["segment_static"]``."""
    dynamic = features["segment"]
    static = features["segment_static"]
    return torch.cat([dynamic, static.expand(*dynamic.shape[:-1], static.shape[-1])], -1)


@functools.lru_cache(maxsize=32)
def _trace_rates(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(rates, 1): the rates of :data:`TRACE_RATES`, to broadcast over (..., rates, F)."""
    return torch.tensor(TRACE_RATES, dtype=dtype, device=device)[:, None]


def traces(x: torch.Tensor, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Traces (T, B, N, F x rates) of x (T, B, N, F) at :data:`TRACE_RATES`, from the state
    ``memory`` (B, N, F x rates) before the first period; and the state after the last.
    The last axis holds the rates in turn: [x's trace at the first rate, at the second, ...]."""
    beta = _trace_rates(x.dtype, x.device)
    T, B, N, F = x.shape
    out, m = [], memory.reshape(B, N, len(TRACE_RATES), F)
    for t in range(T):
        m = m + beta * (x[t, :, :, None] - m)
        out.append(m)
    return torch.stack(out).reshape(T, B, N, -1), m.reshape(B, N, -1)


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
            seg = segment_features(features)                               # (T, B, K, N, F)
            pre = self.exposure_product(o).unsqueeze(2) + self.exposure_segment(seg)
            out["exposure_mean"] = self.exposure_head(pre).squeeze(-1)      # (T, B, K, N)
            out["log_std"] = self.log_std.clamp(-5.0, 1.0)
        return out, memory


ORDER_LAWS = ("level", "capped")
"""How the compact replenisher's head sets the centre of the level law (grid steps): ``level``,
a level S = top sigmoid(a + prior) (the order is S - IP, any state-dependence comes from the
network); ``capped``, the level of capped base-stock (Xin 2021), P + min(C, max(0, S - P)), with
both S and the cap C from the network (:func:`capped_centre`), so that on a grid of whole units
the best capped base-stock policy is two constants, and the network refines it by state (on a
coarser grid, see :class:`coordlib.learning.features.ScenarioEncoding`, only the policies whose
S and C lie on it are)."""


class CompactActor(nn.Module):
    """One agent on a :class:`CompactEncoder`, with the heads of :class:`Actor` made cheap.

    ``orders``: a linear head on the product's representation o_i gives the centre and spread
    of the discretized normal over the level grid, parameterized as in :class:`Actor`; with
    ``order_law="capped"`` a third output gives the cap of the order (:data:`ORDER_LAWS`).
    ``exposure``: the mean logit of product j for segment k is bilinear,
    m_kj = w(o_j) . f_kj + c(o_j), with f_kj the (segment, product) features and w, c a
    linear map of o_j: the pair's score costs one dot product of length N_SEGMENT, not an MLP
    per pair, and never materializes a (K x N x hidden) tensor. The static part of f_kj is
    contracted with w as one (K, N) x (T, B, N) product, never copied per period and copy.
    """

    def __init__(self, view: str, hidden: int, memory: bool, order_levels: int,
                 orders: bool, exposure: bool, exposure_noise: float, level_noise: float = 3.0,
                 order_law: str = "level"):
        super().__init__()
        self.view = view
        self.encoder = CompactEncoder(VIEW_FEATURES[view], hidden, memory)
        self.capped = order_law == "capped"
        self.order_head = _layer(hidden, 3 if self.capped else 2, std=0.01) if orders else None
        self.level_noise = level_noise
        if exposure:
            self.exposure_head = _layer(hidden, N_SEGMENT + 1, std=0.01)
            self.log_std = nn.Parameter(torch.tensor(math.log(exposure_noise)))
        else:
            self.exposure_head, self.log_std = None, None

    def forward(self, features: dict, memory):
        o, memory = self.encoder(features[self.view], memory)              # (T, B, N, H)
        out = {}
        if self.order_head is not None:
            centre, spread, *cap = self.order_head(o).unbind(-1)
            out["level_mean"] = centre
            if self.capped:
                out["level_cap"], out["position"] = cap[0], features["position"]
            out["level_log_std"] = (math.log(self.level_noise) + spread).clamp(math.log(0.2),
                                                                               math.log(50.0))
        if self.exposure_head is not None:
            coef = self.exposure_head(o)                                    # (T, B, N, F + 1)
            d = N_SEGMENT_DYNAMIC
            dynamic = (features["segment"] * coef[..., None, :, :d]).sum(-1)  # (T, B, K, N)
            static = torch.einsum("knf,tbnf->tbkn", features["segment_static"], coef[..., d:-1])
            out["exposure_mean"] = dynamic + static + coef[..., None, :, -1]
            out["log_std"] = self.log_std.clamp(-5.0, 1.0)
        return out, memory


class CompactCritic(nn.Module):
    """:class:`Critic` on a :class:`CompactEncoder`: per-product value shares, linear head."""

    def __init__(self, view: str, hidden: int, memory: bool, n_streams: int):
        super().__init__()
        self.view = view
        self.encoder = CompactEncoder(VIEW_FEATURES[view], hidden, memory)
        self.head = _layer(hidden, n_streams, std=1.0)

    def forward(self, features: dict, memory):
        o, memory = self.encoder(features[self.view], memory)
        return self.head(o), memory


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


class RunningNormalizer(nn.Module):
    """Standardizes one view's features by the running mean and standard deviation of every
    value of them the learner has observed (over periods, copies and products), as
    observation normalization does in PPO implementations (CleanRL, SB3's VecNormalize).

    The features of :class:`ScenarioEncoding` are scaled by the scenario's own units, but not
    centered: on a scenario whose numbers are far from those units (Zipkin's instances have
    price 1 and a penalty of 9 to 39 times it) constant inputs of 10 drive every tanh unit of
    the first layer into saturation, and the networks then act the same in every state. A
    feature that never varies is mapped to 0; ``min_std`` keeps one that has barely varied
    yet (the first periods start from one state) from being blown up, and ``clip`` bounds the
    result. The statistics are buffers: they are saved with the networks, and a trained policy
    acts with them frozen (only :class:`coordlib.learning.mtma.Learner` updates them, from the
    rollouts it collects).
    """

    def __init__(self, n_features: int, clip: float = 5.0, min_std: float = 0.01):
        super().__init__()
        self.clip, self.min_std = clip, min_std
        self.register_buffer("mean", torch.zeros(n_features, dtype=torch.float64))
        self.register_buffer("var", torch.ones(n_features, dtype=torch.float64))
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold the values of ``x`` (..., F) into the statistics (Chan et al.'s parallel
        update of mean and variance)."""
        x = x.reshape(-1, x.shape[-1]).double()
        n = float(x.shape[0])
        if n == 0:
            return
        mean, var = x.mean(0), x.var(0, unbiased=False)
        total = self.count + n
        delta = mean - self.mean
        self.var.copy_((self.var * self.count + var * n + delta ** 2 * self.count * n / total)
                       / total)
        self.mean.add_(delta * n / total)
        self.count.copy_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        std = self.var.sqrt().clamp_min(self.min_std)
        return ((x - self.mean.to(x.dtype)) / std.to(x.dtype)).clamp(-self.clip, self.clip)


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
    architecture : {"compact", "reference"}
        :class:`CompactActor` / :class:`CompactCritic` (traces as memory, bilinear exposure
        head) or :class:`Actor` / :class:`Critic` (a GRU as memory, an MLP per (segment,
        product) pair).
    hidden, memory, order_levels, level_cover, exposure_noise, level_noise
        layer width; memory on or off; G; the top of the level grid (see
        :class:`ScenarioEncoding`); the initial sigma of the exposure logits and of the
        order-up-to level (in grid steps).
    normalize : bool
        standardize every view's features by their running statistics
        (:class:`RunningNormalizer`, :meth:`normalize`) before the networks read them.
    order_law : {"level", "capped"}
        how the compact replenisher centres its level law (:data:`ORDER_LAWS`); the reference
        networks always use ``"level"``.
    """

    def __init__(self, actor: str = "per_department", critic: str = "centralized",
                 rewards=("profit", "profit"), hidden: int = 32, memory: bool = True,
                 order_levels: int = 48, level_cover: float = 2.5, exposure_noise: float = 1.5,
                 level_noise: float = 1.0, architecture: str = "compact",
                 normalize: bool = True, order_law: str = "capped"):
        super().__init__()
        rewards = tuple(rewards)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, "
                             f"got {architecture!r}")
        actor_class, critic_class = ARCHITECTURES[architecture]
        self.spec = dict(actor=actor, critic=critic, rewards=list(rewards), hidden=hidden,
                         memory=memory, order_levels=order_levels, level_cover=level_cover,
                         exposure_noise=exposure_noise, level_noise=level_noise,
                         architecture=architecture, normalize=normalize, order_law=order_law)
        if order_law not in ORDER_LAWS:
            raise ValueError(f"order_law must be one of {ORDER_LAWS}, got {order_law!r}")
        if architecture != "compact":        # the reference networks keep the level law
            self.spec["order_law"] = order_law = "level"
        law = {"order_law": order_law} if architecture == "compact" else {}
        if actor == "joint":
            if rewards[0] != rewards[1]:
                raise ValueError("a joint agent has one reward: replenisher_reward and "
                                 f"recommender_reward must agree, got {rewards}")
            self.actor_of = {"replenisher": "joint", "recommender": "joint"}
            self.actors = nn.ModuleDict({"joint": actor_class(
                "joint", hidden, memory, order_levels, True, True, exposure_noise, level_noise,
                **law)})
        else:
            self.actor_of = {r: r for r in ROLES}
            self.actors = nn.ModuleDict({
                "replenisher": actor_class("replenisher", hidden, memory, order_levels, True,
                                           False, exposure_noise, level_noise, **law),
                "recommender": actor_class("recommender", hidden, memory, order_levels, False,
                                           True, exposure_noise)})
        self.reward_of = dict(zip(ROLES, rewards))
        if critic == "centralized":
            streams = list(dict.fromkeys(rewards))
            self.critics = nn.ModuleDict({"central": critic_class("full", hidden, False,
                                                                  len(streams))})
            self.value_of = {r: ("central", streams.index(self.reward_of[r])) for r in ROLES}
        else:
            self.critics = nn.ModuleDict({
                name: critic_class(self.actors[name].view, hidden, memory, 1)
                for name in self.actors})
            self.value_of = {r: (self.actor_of[r], 0) for r in ROLES}
        self.order_levels, self.level_cover = order_levels, level_cover
        self.levels = "interval" if architecture == "compact" else "grid"
        self.views = sorted({m.view for m in [*self.actors.values(), *self.critics.values()]}
                            | ({"segment"} if any(a.exposure_head is not None
                                                  for a in self.actors.values()) else set()))
        """the feature keys the networks read (:meth:`ScenarioEncoding.features`)"""
        self.traced_views = sorted({m.view for m in [*self.actors.values(), *self.critics.values()]
                                    if architecture == "compact" and memory and m.view != "full"})
        widths = {**VIEW_FEATURES, "segment": N_SEGMENT_DYNAMIC,
                  "segment_static": N_SEGMENT - N_SEGMENT_DYNAMIC}
        keys = [*self.views, *(["segment_static"] if "segment" in self.views else [])]
        self.normalizers = nn.ModuleDict({k: RunningNormalizer(widths[k]) for k in keys}
                                         if normalize else {})

    @classmethod
    def from_spec(cls, spec: dict) -> "AgentSet":
        # runs saved before the compact networks, and before normalization
        return cls(**{"architecture": "reference", "normalize": False, "order_law": "level",
                      **spec})

    def views_of(self, module: nn.Module) -> set:
        """The feature keys (and so the normalizers) that ``module``, an actor or a critic,
        reads."""
        pairs = getattr(module, "exposure_head", None) is not None
        return {module.view, *(("segment", "segment_static") if pairs else ())}

    def normalize(self, features: dict, update: tuple = ()) -> dict:
        """``features`` of :meth:`ScenarioEncoding.features` standardized by the running
        statistics (:class:`RunningNormalizer`); the keys in ``update`` are first folded into
        their statistics (the learner's rollouts only; the static pair features once). The
        identity without normalization."""
        if not self.normalizers:
            return features
        out = dict(features)
        for key, normalizer in self.normalizers.items():
            if key not in out:
                continue
            if key in update and (key != "segment_static" or normalizer.count == 0):
                normalizer.update(out[key])
            out[key] = normalizer(out[key])
        return out

    def encoding(self, scenario: Scenario, device="cpu") -> ScenarioEncoding:
        return ScenarioEncoding(scenario, self.order_levels, self.level_cover, device)

    def initial_memory(self, batch_size: int, n_products: int, device="cpu",
                       critics: bool = True) -> dict:
        """Zero GRU states, ``{"actor/NAME" or "critic/NAME": (B, N, H)}`` for modules with memory."""
        memory = {}
        groups = [("actor", self.actors)] + ([("critic", self.critics)] if critics else [])
        for kind, modules in groups:
            for name, module in modules.items():
                state = module.encoder.initial_memory(batch_size, n_products, device)
                if state is not None:
                    memory[f"{kind}/{name}"] = state
        for view in self.traced_views:
            memory[f"trace/{view}"] = torch.zeros(batch_size, n_products,
                                                  VIEW_FEATURES[view] * len(TRACE_RATES),
                                                  device=device)
        return memory

    def trace(self, features: dict, memory: dict) -> tuple[dict, dict]:
        """The compact networks' memory: each traced view's features (T, B, N, F) extended by
        their traces (:func:`traces`), and the memory after the last period. The identity for
        the reference networks, whose memory is inside the encoders."""
        if not self.traced_views:
            return features, memory
        features, memory = dict(features), dict(memory)
        for view in self.traced_views:
            key = f"trace/{view}"
            if key in memory:
                extra, memory[key] = traces(features[view], memory[key])
                features[view] = torch.cat([features[view], extra], -1)
        return features, memory

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


ARCHITECTURES = {"compact": (CompactActor, CompactCritic), "reference": (Actor, Critic)}
"""The network families of :class:`AgentSet`: actor and critic classes."""
