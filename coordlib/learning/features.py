"""What each agent sees, scaled: the scenario's static features and each department's view
(MODEL.md section 4) turned into per-product feature vectors; the order levels of the replenisher.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from scipy import stats

from .. import policies
from ..model.scenario import Scenario
from ..model.simulator import Observation
from ..policies.replenishment import order_up_to

ROLES = ("replenisher", "recommender")
"""The two departments; each role is played by its own actor, or by the joint actor."""
FEATURE_CLIP = 10.0
"""Every feature is clipped to [-FEATURE_CLIP, FEATURE_CLIP] (after scaling)."""

N_STATIC, N_TIME = 16, 4
N_REPLENISHER = 8 + N_STATIC + N_TIME
N_RECOMMENDER = 3 + N_STATIC + N_TIME
N_SEGMENT = 12
"""Features per (segment, product) pair: the first N_SEGMENT_DYNAMIC change every period, the
others are the scenario's (``segment_static``, stored once, not per period and copy)."""
N_SEGMENT_DYNAMIC = 4
STATIC_KEYS = ("segment_static",)
"""Keys of :meth:`ScenarioEncoding.features` without time and copy axes: the same every period."""
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
        self._last_context = (None, None)
        rate = np.where(s.arrival_rate > 0, s.arrival_rate, 1.0)
        gmv = P @ s.price                                              # (K, N): value of showing j
        margin = P @ (s.price - s.unit_cost + s.lost_sale_penalty)
        self._segment_static = _clip(np.stack([
            self.shown_buys, s.arrival_rate[:, None] * self.shown_buys / self.demand_scale,
            gmv / mean_price, margin / mean_price,
            _standardized(gmv, axis=1), _standardized(margin, axis=1),
            np.broadcast_to((s.arrival_rate / rate.mean())[:, None], gmv.shape),
            np.broadcast_to((s.lift / (1 + s.lift))[:, None], gmv.shape)], axis=-1))
        self.segment_static = torch.as_tensor(self._segment_static, dtype=torch.float32,
                                              device=self.device)          # (K, N, static)
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
        # the capped order law: the order's cap, in grid steps, up to Qmax_i; its prior is the
        # 90% quantile of a review period's demand at peak exposure (binding one time in ten)
        self.level_step = step
        cap_top = np.maximum(s.max_order / step, 1.0)
        self.cap_top = torch.as_tensor(cap_top, dtype=torch.float32, device=self.device)
        cap = stats.poisson.ppf(0.9, self.demand_scale * s.review_period) / step
        cap_share = np.clip(cap / cap_top, 0.02, 0.98)
        self.cap_prior = torch.as_tensor(np.log(cap_share / (1 - cap_share)),
                                         dtype=torch.float32, device=self.device)

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
        """(B, N, N_RECOMMENDER) per product and (B, K, N, N_SEGMENT_DYNAMIC) per (segment,
        product): the pair's features that change every period (the others:
        ``segment_static``)."""
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
        return self._with_context(per_product, view["t"]), _clip(dynamic)

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
        position = view["inventory_position"]
        return np.stack([on_hand, due_now, due_next, later, position, backlog], -1) \
            / self.stock_scale[:, None]

    def _context(self, t: int) -> np.ndarray:
        """(N, N_STATIC + N_TIME): the static features and period t's; every view of one
        observation reads the same, so the last period's is kept."""
        if self._last_context[0] != t:
            self._last_context = (t, np.concatenate([self._static, self._time(t)], -1))
        return self._last_context[1]

    def _with_context(self, dynamic: np.ndarray, t: int) -> np.ndarray:
        B, N = dynamic.shape[:2]
        context = self._context(t)
        return _clip(np.concatenate([dynamic, np.broadcast_to(context, (B, N, context.shape[-1]))], -1))

    def features(self, observation: Observation, critic: bool = True, views=None) -> dict:
        """Every view of one observation as tensors with a leading time axis of length 1.

        Keys: ``replenisher``, ``recommender``, ``segment``, ``joint`` and, with ``critic``,
        ``full``, and with the replenisher's view ``position``, each product's inventory
        position in grid steps (what the capped order law is centred on, unscaled); ``views``
        keeps only the keys named (what the networks read, see
        :attr:`coordlib.learning.agents.AgentSet.views`). Each actor reads only its own key
        (``joint`` is the centralized agent's). With ``segment`` comes ``segment_static``
        (K, N, N_SEGMENT - N_SEGMENT_DYNAMIC), the pairs' features that never change, without
        the time and copy axes (:data:`STATIC_KEYS`).
        """
        wanted = set(views) if views is not None else {"replenisher", "recommender", "segment",
                                                       "joint", "full"}
        if not critic:
            wanted.discard("full")
        return self.features_of(
            observation.replenisher_view() if wanted & {"replenisher", "joint"} else None,
            observation.recommender_view() if wanted & {"recommender", "segment", "joint"}
            else None,
            observation.full_state() if "full" in wanted else None, wanted)

    def features_of(self, replenisher_view: Optional[dict] = None,
                    recommender_view: Optional[dict] = None, full_state: Optional[dict] = None,
                    views=None) -> dict:
        """:meth:`features` from the departments' views themselves (what one department's
        actor acting alone has): the keys ``views`` names that the given views make."""
        wanted = set(views) if views is not None else {"replenisher", "recommender", "segment",
                                                       "joint", "full"}
        out = {}
        if replenisher_view is not None and wanted & {"replenisher", "joint"}:
            out["replenisher"] = self.replenisher_features(replenisher_view)
        if recommender_view is not None and wanted & {"recommender", "segment", "joint"}:
            out["recommender"], out["segment"] = self.recommender_features(recommender_view)
        if "joint" in wanted and {"replenisher", "recommender"} <= set(out):
            out["joint"] = np.concatenate([out["replenisher"], out["recommender"]], -1)
        if full_state is not None and "full" in wanted:
            out["full"] = self.full_features(full_state)
        tensors = {k: torch.as_tensor(np.asarray(v, dtype=np.float32), device=self.device)[None]
                   for k, v in out.items() if k in wanted}
        if "segment" in tensors:
            tensors["segment_static"] = self.segment_static
        if replenisher_view is not None and wanted & {"replenisher", "joint"}:
            position = replenisher_view["inventory_position"] / self.level_step
            tensors["position"] = torch.as_tensor(np.asarray(position, dtype=np.float32),
                                                  device=self.device)[None]
        return tensors

    def orders(self, level_index: torch.Tensor, view: dict) -> np.ndarray:
        """q_i = min(Qmax_i, max(0, S_i - IP_i)) for the chosen level indices (B, N)."""
        levels = torch.gather(self._levels_t.expand(level_index.shape[0], -1, -1), 2,
                              level_index.unsqueeze(-1)).squeeze(-1).cpu().numpy()
        return order_up_to(levels, view["inventory_position"],
                           self.scenario.max_order).astype(np.int64)


def _clip(x):
    return np.clip(x, -FEATURE_CLIP, FEATURE_CLIP)


def _standardized(x, axis=-1):
    """(x - mean) / std across products (0 where all products agree)."""
    x = np.asarray(x, dtype=float)
    spread = x.std(axis=axis, keepdims=True)
    return np.where(spread > 1e-9, (x - x.mean(axis=axis, keepdims=True))
                    / np.where(spread > 1e-9, spread, 1.0), 0.0)
