"""Scenario variants: one factor of a scenario changed at a time (lift, margin spread, lead time,
demand level), the building block of the sensitivity experiments.
"""
from __future__ import annotations

import numpy as np

from .scenario import Scenario, real_number
from .scenarios import get as get_scenario


def margin_spread_scenario(base: Scenario, spread: float) -> Scenario:
    """``base`` with unit costs moved so the margins p_i - c_i differ by ``spread`` around their mean.

    Product 1 gets the lower margin; prices stay, so a GMV-greedy recommender does not see it.
    """
    margin = base.price - base.unit_cost
    mean = margin.mean()
    target = np.array([mean - spread / 2, mean + spread / 2])
    cost = base.price - target
    if np.any(cost < 0):
        raise ValueError(f"margin spread {spread}: would need a negative unit cost")
    return base.replace(unit_cost=cost.tolist())


FACTORS = ("lift", "lift_scale", "margin_spread", "margin_scale", "lead_time",
           "lead_time_shift", "arrival_rate", "arrival_scale", "tastes_reversed")
"""The factors of B5 and E9 that :func:`scenario_variant` knows (see there)."""


def scenario_variant(base, factor: str, value) -> Scenario:
    """``base`` with one factor of B5 / E9 set to ``value`` (named ``base[factor=value]``).

    ``lift``: every segment's lift beta_k = value. ``lift_scale``: beta_k times value.
    ``margin_spread``: margins p_i - c_i differ by value around their mean (N = 2, see
    :func:`margin_spread_scenario`). ``margin_scale``: each margin's distance from the mean
    margin times value (unit costs move, prices stay, any N; 0 gives equal margins).
    ``lead_time``: every L_i = value. ``lead_time_shift``: L_i + value. ``arrival_rate``: the
    total arrival rate sum_k lambda_k = value, each segment scaled in proportion.
    ``arrival_scale``: every lambda_k times value. With Poisson demand the variance equals the
    mean, so the arrival rate is also the knob of demand variability: a product's demand in a
    period has coefficient of variation 1 / sqrt(mu_i). ``tastes_reversed``: value 1 reverses
    each segment's attractions across the products (v_kj becomes v_k,N+1-j: the product a
    segment liked most becomes the one it likes least; the products' economics stay), value 0
    keeps them: the demand shift of E5.
    """
    base = get_scenario(base)
    if factor not in FACTORS:
        raise ValueError(f"factor: unknown factor {factor!r}; choose one of {', '.join(FACTORS)}")
    value = real_number(f"scenario_variant: {factor}", value)
    if factor in ("lift", "lift_scale", "margin_scale", "arrival_rate", "arrival_scale") and value < 0:
        raise ValueError(f"{factor}: must be >= 0, got {value}")
    if factor == "tastes_reversed" and value not in (0.0, 1.0):
        raise ValueError(f"tastes_reversed: must be 0 or 1, got {value:g}")
    if factor in ("lead_time", "lead_time_shift") and value != int(value):
        raise ValueError(f"{factor}: must be a whole number, got {value}")
    if factor == "lift":
        s = base.replace(lift=[value] * base.n_segments)
    elif factor == "lift_scale":
        s = base.replace(lift=(base.lift * value).tolist())
    elif factor == "margin_spread":
        if base.n_products != 2:
            raise ValueError(f"margin_spread: needs N = 2 products (use margin_scale), "
                             f"got N = {base.n_products}")
        s = margin_spread_scenario(base, value)
    elif factor == "margin_scale":
        margin = base.price - base.unit_cost
        cost = base.price - (margin.mean() + value * (margin - margin.mean()))
        if np.any(cost < 0):
            raise ValueError(f"margin_scale {value}: would need a negative unit cost")
        s = base.replace(unit_cost=cost.tolist())
    elif factor in ("lead_time", "lead_time_shift"):
        lead = (np.full(base.n_products, int(value)) if factor == "lead_time"
                else base.lead_time + int(value))
        if np.any(lead < 0):
            raise ValueError(f"{factor} {value}: would give a negative lead time")
        s = base.replace(lead_time=lead.tolist())
    elif factor == "tastes_reversed":
        s = base.replace(attraction=(base.attraction[:, ::-1] if value else base.attraction)
                         .tolist())
    else:
        total = base.arrival_rate.sum()
        scale = value / total if factor == "arrival_rate" else value
        s = base.replace(arrival_rate=(base.arrival_rate * scale).tolist())
    return s.replace(name=f"{base.name}[{factor}={value:g}]")
