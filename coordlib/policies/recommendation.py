"""Recommendation rules (marketing, MODEL.md section 4): fixed exposure, GMV-greedy (the siloed
KPI), margin-greedy, and the inventory-aware rule (recommend what you stock, B3).
"""
from __future__ import annotations

import numpy as np

from ..model.policy import Recommender
from ..model.scenario import Scenario


# ---- recommendation -----------------------------------------------------------------------
class FixedExposure(Recommender):
    """The same exposure x (K, N) every period, whatever the state (default: uniform)."""

    def __init__(self, exposure=None):
        self.x = None if exposure is None else np.asarray(exposure, dtype=float)
        self.name = "uniform" if exposure is None else "fixed-exposure"

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        x = scenario.uniform_exposure() if self.x is None else self.x
        if x.ndim == 1 and scenario.n_segments == 1:
            x = x[None]
        self._x = scenario.check_exposure(x)

    def exposure(self, view):
        return self._x


def fixed_exposure(x=None) -> FixedExposure:
    """A static recommender: exposure x (K, N) in every period; None means uniform."""
    return FixedExposure(x)


def expected_value_per_customer(scenario: Scenario, value) -> np.ndarray:
    """(K, N): the expected value sum_i value_i P_ki(j) of a segment-k customer shown product j."""
    return scenario.purchase_probabilities @ np.asarray(value, dtype=float)


def _one_hot(index, n):
    return np.eye(n)[index]


class Greedy(Recommender):
    """Show each segment the product of highest expected value per customer (GMV or margin)."""

    def __init__(self, value: str):
        if value not in ("gmv", "margin"):
            raise ValueError(f"greedy recommender: value must be 'gmv' or 'margin', got {value!r}")
        self.value = value
        self.name = f"{value}-greedy"

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        unit = scenario.price if self.value == "gmv" else scenario.price - scenario.unit_cost
        score = expected_value_per_customer(scenario, unit)
        self._x = _one_hot(score.argmax(axis=1), scenario.n_products)

    def exposure(self, view):
        return self._x


def gmv_greedy() -> Greedy:
    """The siloed recommender: each segment sees the product maximizing its GMV, sum_i p_i P_ki(j)."""
    return Greedy("gmv")


def margin_greedy() -> Greedy:
    """Each segment sees the product maximizing its expected margin, sum_i (p_i - c_i) P_ki(j)."""
    return Greedy("margin")


class InventoryAware(Recommender):
    """A coordinated heuristic: recommend what you stock (B3).

    Each segment k is shown the product j of highest expected margin per customer, counting
    only the sales that available stock can serve:
    score_kj = sum_i P_ki(j) m_i f_i, with m_i = p_i - c_i + b_i (a sale also avoids the
    goodwill penalty) and f_i = min(1, A_i / (coverage * d_i)), where A_i is the available
    stock and d_i the demand product i would get if every segment were shown it. With ample
    stock this is margin-greedy; as a product runs short its score falls and exposure moves
    to products that can serve the customer.
    """

    def __init__(self, coverage: float = 1.0):
        if coverage <= 0:
            raise ValueError(f"inventory_aware: coverage must be > 0, got {coverage}")
        self.coverage = coverage
        self.name = "inventory-aware"

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        s = scenario
        self._margin = s.price - s.unit_cost + s.lost_sale_penalty
        # d_i: demand of product i when every segment is shown i, at the base arrival rates
        self._lifted = s.arrival_rate[:, None] * np.diagonal(s.purchase_probabilities, axis1=1,
                                                             axis2=2)

    def exposure(self, view):
        s = self.scenario
        avail = np.asarray(view["availability"], dtype=float)           # (B, N)
        season = s.arrival_rates(view["t"]) / np.maximum(s.arrival_rate, 1e-12)
        need = self.coverage * (self._lifted * season[:, None]).sum(axis=0)
        servable = np.minimum(1.0, avail / np.maximum(need, 1e-12))
        w = servable * self._margin
        if s.n_products < 256:
            score = np.einsum("kji,bi->bkj", s.purchase_probabilities, w)
        else:   # the same score through the MNL form of P, without the K x N x N product
            v, beta = s.attraction, s.lift[:, None]
            denom = s.outside_attraction[:, None] + v.sum(axis=1)[:, None] + beta * v
            score = ((w @ v.T)[:, :, None] + beta * v * w[:, None, :]) / denom
        return _one_hot(score.argmax(axis=-1), s.n_products)


def inventory_aware(coverage: float = 1.0) -> InventoryAware:
    """The coordinated heuristic recommender (recommend what you stock)."""
    return InventoryAware(coverage)
