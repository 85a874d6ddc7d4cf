"""A runnable policy from the Lagrangian bound's product DPs (MODEL.md sections 2-3).

At the bound's final prices each product i has relative values h_i of its own controlled-rate
DP (:mod:`coordlib.exact.lagrangian_bound`). The Lagrangian index policy acts, each period, as
if the firm's value were sum_i h_i: product i's worth of a demand rate mu in its state s is

    V_i(s, mu) = max_q E[r_i(s, q, D) + h_i(s')],  D ~ Poisson(mu)   (no Lagrangian charge),

tabulated on the DP's rate grid and interpolated between its points. Each segment in turn
gives its one slot to the product whose V rises most with the rate that slot adds, a_ki
beta_k / D_ki on top of the rate it already has (segments are independent, so a firm may do
this; the slot is shown with probability 1, MODEL.md section 2). Each product then orders the
DP's best order q at its state and the rate it actually gets. Unlike the bound, this is a
policy anyone can simulate (:func:`coordlib.model.evaluation.evaluate`): its profit is a lower
bound on the optimum g*, the bound an upper one.
"""
from __future__ import annotations

import numpy as np

from ..model.policy import Action, Policy
from ..model.scenario import Scenario
from ..model.scenarios import get as get_scenario
from .lagrangian_bound import (
    LagrangianBound,
    LagrangianBoundError,
    _kernels,
    _period_reward,
    _q_values,
    _segment_geometry,
    _tables,
    _type_groups,
    controlled_rate_gain,
    lagrangian_bound,
    rate_options,
)

__all__ = ["LagrangianIndexPolicy", "lagrangian_index_policy"]

_BLOCK = 8      # products of one type tabulated together (memory: S x Qmax x rate points each)


class _Group:
    """Products of one type: rate grids (P, G), V and the best order per (state, rate point)."""

    def __init__(self, s: Scenario, members, bound: LagrangianBound, points: int, tol: float):
        i = members[0]
        self.members = members
        self.L, self.M = int(bound.lead_time_used[i]), int(s.capacity[i])
        self.Qmax = min(int(s.max_order[i]), self.M)
        p, c, h, b = (float(v[i]) for v in (s.price, s.unit_cost, s.holding_cost,
                                            s.lost_sale_penalty))
        opts = rate_options(s, bound.prices, members, points, bound.aggregate_prices)
        self.rates = opts.rates
        A_of, nxt = _tables(self.L, self.M, self.Qmax)
        values, orders = [], []
        for j in range(0, len(members), _BLOCK):
            part = slice(j, j + _BLOCK)
            rates, costs = opts.rates[part], opts.costs[part]
            hv = controlled_rate_gain(p, c, h, b, self.L, self.M, self.Qmax, rates, costs,
                                      tol=tol, certify_rates=False).relative_values
            kern, sales = _kernels(rates, self.M)
            reward = _period_reward(p, c, h, b, rates, sales, self.M)
            qv = _q_values(hv, kern, reward, np.zeros_like(rates), A_of, nxt, c, self.L)
            if self.L == 0:            # U[p, A, g] -> W[p, I, q, g] = U[p, min(I + q, M), g] - c q
                qv = (qv[:, nxt, :]
                      - c * np.arange(self.Qmax + 1)[None, None, :, None])
            values.append(qv.max(axis=2))
            orders.append(qv.argmax(axis=2))
        self.values = np.concatenate(values)                            # (P, S, G)
        self.orders = np.concatenate(orders)

    def states(self, obs) -> np.ndarray:
        """(B, P) the DP state of each product: on-hand (L = 0) or (A, o_1..o_{L-1})."""
        if self.L == 0:
            return np.clip(obs.on_hand[:, self.members], 0, self.M).astype(int)
        Qn = self.Qmax + 1
        idx = np.clip(obs.availability[:, self.members], 0, self.M).astype(int)
        for d in range(1, self.L):
            o = np.clip(obs.pipeline[:, self.members, d], 0, self.Qmax).astype(int)
            idx = idx * Qn + o
        return idx

    def _cell(self, mu):
        """Left grid point and weight of rates mu (B, P) on each product's grid."""
        r = self.rates[None]                                            # (1, P, G)
        mu = np.clip(mu, r[..., 0], r[..., -1])
        left = np.clip((r <= mu[..., None]).sum(axis=-1) - 1, 0, r.shape[-1] - 2)
        lo = np.take_along_axis(np.broadcast_to(r, mu.shape + r.shape[-1:]), left[..., None],
                                axis=-1)[..., 0]
        hi = np.take_along_axis(np.broadcast_to(r, mu.shape + r.shape[-1:]), left[..., None] + 1,
                                axis=-1)[..., 0]
        w = np.where(hi > lo, (mu - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0)
        return left, w

    def value(self, rows, mu):
        """V_i(s, mu) interpolated; rows (B, P, G) the V rows of the products' states."""
        left, w = self._cell(mu)
        v0 = np.take_along_axis(rows, left[..., None], axis=-1)[..., 0]
        v1 = np.take_along_axis(rows, left[..., None] + 1, axis=-1)[..., 0]
        return v0 + w * (v1 - v0)

    def rows(self, states):
        P = len(self.members)
        return (self.values[np.arange(P)[None, :], states],
                self.orders[np.arange(P)[None, :], states])


class LagrangianIndexPolicy(Policy):
    """The Lagrangian index policy of a scenario (module docstring). Build it with
    :func:`lagrangian_index_policy`."""

    name = "Lagrangian index"

    def __init__(self, scenario: Scenario, groups: list[_Group]):
        self.target, self.groups = scenario, groups
        a, _, _, inv_d = _segment_geometry(scenario)
        self.a, self.inv_d = a, inv_d                                   # (K, N)
        self.boost = a * scenario.lift[:, None] * inv_d                 # one slot's added rate
        self.typical = inv_d.mean(axis=1)                               # sigma_k to rank with

    def reset(self, scenario, batch_size, rng):
        if scenario.name != self.target.name or scenario.n_products != self.target.n_products:
            raise LagrangianBoundError(f"Lagrangian index policy: built for "
                                       f"{self.target.name!r}, asked to run {scenario.name!r}")
        super().reset(scenario, batch_size, rng)

    def _values(self, rows, mu):
        out = np.empty_like(mu)
        for g, r in zip(self.groups, rows):
            out[:, g.members] = g.value(r, mu[:, g.members])
        return out

    def act(self, observation) -> Action:
        s = self.target
        B, K, N = observation.batch_size, s.n_segments, s.n_products
        rows = [g.rows(g.states(observation)) for g in self.groups]
        value_rows = [r[0] for r in rows]
        mu = np.broadcast_to((self.a * self.typical[:, None]).sum(axis=0), (B, N)).copy()
        exposure = np.zeros((B, K, N))
        now = self._values(value_rows, mu)
        for k in range(K):
            gain = self._values(value_rows, mu + self.boost[k]) - now
            shown = gain.argmax(axis=1)
            exposure[np.arange(B), k, shown] = 1.0
            mu[np.arange(B), shown] += self.boost[k, shown]
            now[np.arange(B), shown] += gain[np.arange(B), shown]
        sigma = (exposure * self.inv_d[None]).sum(axis=2)                # (B, K)
        true_mu = (self.a[None] * (sigma[:, :, None] + s.lift[None, :, None] * exposure
                                   * self.inv_d[None])).sum(axis=1)
        orders = np.zeros((B, N), dtype=int)
        if observation.review:
            for g, (_, order_rows) in zip(self.groups, rows):
                left, w = g._cell(true_mu[:, g.members])
                nearest = left + (w > 0.5)
                orders[:, g.members] = np.take_along_axis(order_rows, nearest[..., None],
                                                          axis=-1)[..., 0]
        return Action(orders, exposure)


def lagrangian_index_policy(scenario, bound: LagrangianBound | None = None, points: int = 24,
                            tol: float = 1e-5) -> LagrangianIndexPolicy:
    """The Lagrangian index policy at a bound's prices (module docstring).

    ``scenario``: a Scenario or a shipped name; ``bound``: a :class:`LagrangianBound` of it
    (default: :func:`lagrangian_bound` with ``points``); ``points``: rate grid points of the
    product DPs [mu_i]; ``tol``: their relative span tolerance. Every product's DP must keep
    its own lead time L_i (the policy reads its pipeline), otherwise it is refused.
    """
    s = get_scenario(scenario)
    bound = lagrangian_bound(s, points=points) if bound is None else bound
    short = np.flatnonzero(bound.lead_time_used != s.lead_time)
    if short.size:
        raise LagrangianBoundError(f"Lagrangian index policy: {short.size} products' DPs have a "
                                   "shortened lead time; raise max_work so that every L_i is kept")
    if s.review_period != 1:
        raise LagrangianBoundError("Lagrangian index policy: only review period R = 1")
    groups = [_Group(s, members, bound, int(points), float(tol))
              for members in _type_groups(s, bound.lead_time_used)]
    return LagrangianIndexPolicy(s, groups)
