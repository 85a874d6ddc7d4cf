"""Scenario families: a generator of scenarios (MODEL.md sections 1 and 8) with named knobs.

:func:`family_scenario` builds a lost-sales scenario of N products and K segments from a
:class:`FamilyRecipe`. The recipe, knob by knob:

- **products come in types**: type t = (price tier, margin class, lead time) cycles over
  ``n_types`` combinations, and every product of a type shares p, c, h, b, L, M and Qmax
  (products differ in how attractive they are to each segment). Exact one-product methods
  then solve one table per type, not per product.
- ``price_range`` (low, high): the type's price p, on a geometric ladder.
- ``margin_spread`` in [0, 1): unit margin rates (p - c) / p spread evenly over
  ``mean_margin`` +- margin_spread / 2 across the margin classes; 0 gives one margin rate.
- ``price_margin_link`` in [-1, 1]: how a type's margin rate follows its price tier. 0 crosses
  the price ladder with the margin classes (a Latin-square cycle), so price does not tell
  margin; -1 gives the dearest tier the lowest margin rate (and the cheapest the highest), +1
  the reverse; in between, the margin position is the mix (1 - |link|) crossed + |link|
  ordered. With a negative link the GMV-greedy (siloed) recommender shows the dear,
  low-margin products: the static value of coordination.
- ``lift`` [beta_k]: every segment's recommendation lift.
- ``lead_times``: the lead-time mix (values 0-4 cycled over the types).
- ``capacity_tightness`` > 0: a type's storage capacity M is
  ceil(cover / capacity_tightness), with cover = d + 3 sqrt((L + 1) d), d the demand per
  period of a product of the type (the type's mean) when the segment that values it most is
  shown it and the others are not. Under base-stock the stock on hand after arrivals is about
  one period's demand plus the safety stock of the lead-time demand, so 1 leaves room for
  the recommended product's demand; 2 caps it at about half of that, and stock-outs of
  what is recommended become frequent. The largest order Qmax is a supplier limit that
  does not bind: (L + 1) times the peak demand (every segment shown the product) plus three
  standard deviations, so base-stock levels stay at most Qmax (the fast exact chain of
  :mod:`coordlib.exact.static_coordination`) and storage is what is tight.
- ``taste_heterogeneity`` >= 0: v_ki = a_i exp(taste_heterogeneity z_ki), z_ki standard
  normal, a_i a product's base appeal (log-normal, sd 0.5); 0 gives every segment the same
  tastes. Outside option v_k0 = ``outside_share`` times the segment's total attraction.
- ``demand_level``: mean customer arrivals per product per period (sum_k lambda_k =
  demand_level N), split over segments with weights from a Dirichlet(4) draw.
- costs: h = ``holding_rate`` p, b = ``penalty_rate`` p. Initial on-hand M // 2, no pipeline.

Everything is drawn from one ``numpy`` generator seeded ``seed``: same recipe, same scenario.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from .scenario import Scenario, ScenarioError, check_scenario_size, real_number, whole_number


@dataclass(frozen=True)
class FamilyRecipe:
    """The knobs of :func:`family_scenario` (module docstring), each with its unit."""

    n_products: int = 100
    """N, products"""
    n_segments: int = 5
    """K, customer segments"""
    seed: int = 0
    """seed of every random draw"""
    n_types: int = 20
    """distinct product parameter sets (price tier x margin class x lead time)"""
    price_range: tuple = (5.0, 20.0)
    """lowest and highest price p, per unit"""
    mean_margin: float = 0.4
    """mean unit margin rate (p - c) / p"""
    margin_spread: float = 0.4
    """width of the margin rates around the mean, in [0, 1)"""
    price_margin_link: float = 0.0
    """-1: the dearest products have the lowest margin rate; 0: crossed; +1: the highest"""
    lift: float = 2.0
    """recommendation lift beta_k of every segment"""
    lead_times: tuple = (0, 1, 2, 3, 4)
    """lead-time mix L, cycled over the types"""
    capacity_tightness: float = 1.0
    """cover of the recommended product's demand over capacity M (higher: tighter)"""
    taste_heterogeneity: float = 1.0
    """sd of the log attraction across segments (0: identical tastes)"""
    outside_share: float = 0.5
    """v_k0 over the segment's total attraction sum_i v_ki"""
    demand_level: float = 3.0
    """mean arrivals per product per period"""
    holding_rate: float = 0.02
    """h / p per period"""
    penalty_rate: float = 0.1
    """b / p per unit short"""
    name: str = "family"
    """scenario name"""

    def __post_init__(self):
        # the types first: a string, a bool, NaN or infinity is named, never compared
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("n_products", "n_segments", "n_types", "seed"):
                whole_number(f"family recipe: {f.name}", value, 0)
            elif f.name in ("price_range", "lead_times"):
                if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
                    raise ScenarioError(f"family recipe: {f.name}: expected a list of numbers, "
                                        f"got {value!r}")
                for v in value:
                    real_number(f"family recipe: {f.name}", v)
            elif f.name != "name":
                real_number(f"family recipe: {f.name}", value)
        checks = [
            ("n_products", self.n_products >= 1 and float(self.n_products).is_integer()),
            ("n_segments", self.n_segments >= 1 and float(self.n_segments).is_integer()),
            ("n_types", self.n_types >= 1 and float(self.n_types).is_integer()),
            ("price_range", len(self.price_range) == 2 and 0 < self.price_range[0]
             <= self.price_range[1]),
            ("mean_margin", 0 < self.mean_margin < 1),
            ("margin_spread", 0 <= self.margin_spread < 1
             and 0 < self.mean_margin - self.margin_spread / 2
             and self.mean_margin + self.margin_spread / 2 < 1),
            ("price_margin_link", -1 <= self.price_margin_link <= 1),
            ("lift", self.lift >= 0),
            ("lead_times", len(self.lead_times) >= 1
             and all(float(v).is_integer() and 0 <= v for v in self.lead_times)),
            ("capacity_tightness", self.capacity_tightness > 0),
            ("taste_heterogeneity", self.taste_heterogeneity >= 0),
            ("outside_share", self.outside_share > 0),
            ("demand_level", self.demand_level > 0),
            ("holding_rate", self.holding_rate >= 0),
            ("penalty_rate", self.penalty_rate >= 0),
        ]
        for field_name, ok in checks:
            if not ok:
                raise ScenarioError(f"family recipe: {field_name} out of range, got "
                                    f"{getattr(self, field_name)!r} (see FamilyRecipe)")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["price_range"], out["lead_times"] = list(self.price_range), list(self.lead_times)
        return out


def recipe_fields() -> dict:
    """Each knob of :class:`FamilyRecipe` with its default."""
    return {f.name: f.default for f in fields(FamilyRecipe)}


def family_scenario(recipe: FamilyRecipe | None = None, **knobs) -> Scenario:
    """The scenario of ``recipe`` (or of the default recipe with ``knobs`` changed)."""
    r = FamilyRecipe(**knobs) if recipe is None else (
        FamilyRecipe(**{**recipe.to_dict(), **knobs}) if knobs else recipe)
    N, K, T = int(r.n_products), int(r.n_segments), int(min(r.n_types, r.n_products))
    check_scenario_size(N, K)
    rng = np.random.default_rng(r.seed)
    n_leads = len(r.lead_times)
    n_price = max(1, int(round(math.sqrt(T))))
    n_margin = max(1, math.ceil(T / n_price))
    # the types: price tier x margin class (a Latin-square cycle), lead times cycled
    tier = np.arange(T) % n_price
    margin_class = (np.arange(T) // n_price + tier) % n_margin
    lead = np.asarray(r.lead_times, dtype=np.int64)[np.arange(T) % n_leads]
    lo, hi = r.price_range
    price_t = np.round(lo * (hi / lo) ** (tier / max(n_price - 1, 1)), 2)
    # margin position in [0, 1]: the crossed class, mixed with the price tier's rank
    crossed = margin_class / max(n_margin - 1, 1)
    ordered = tier / max(n_price - 1, 1)
    link = float(r.price_margin_link)
    position = (1 - abs(link)) * crossed + abs(link) * (ordered if link > 0 else 1 - ordered)
    rates = (np.full(T, r.mean_margin) if n_margin == 1 and link == 0 else
             r.mean_margin + r.margin_spread * (position - 0.5))
    cost_t = np.round(price_t * (1 - rates), 2)
    ptype = rng.permutation(np.arange(N) % T)

    appeal = np.exp(rng.normal(0.0, 0.5, N))
    att = np.round(appeal[None, :] * np.exp(r.taste_heterogeneity * rng.normal(size=(K, N))), 4)
    att = np.maximum(att, 1e-4)
    weights = rng.dirichlet(np.full(K, 4.0))
    arrival = np.round(weights * r.demand_level * N, 3)
    v0 = np.round(r.outside_share * att.sum(axis=1), 4)
    beta = np.full(K, float(r.lift))
    # d_i: product i's demand when its best segment is shown it and the others are not
    total = v0 + att.sum(axis=1)
    plain = arrival[:, None] * att / total[:, None]                          # (K, N)
    shown = arrival[:, None] * att * (1 + beta[:, None]) / (total[:, None] + beta[:, None] * att)
    one_segment = plain.sum(axis=0) + (shown - plain).max(axis=0)
    peak = shown.sum(axis=0)
    cap_t, order_t = np.empty(T, dtype=np.int64), np.empty(T, dtype=np.int64)
    for t in range(T):
        members = ptype == t
        d = float(one_segment[members].mean()) if np.any(members) else 1.0
        top = float(peak[members].max()) if np.any(members) else 1.0
        cover = d + 3 * math.sqrt((lead[t] + 1) * d)
        cap_t[t] = max(3, math.ceil(cover / r.capacity_tightness))
        order_t[t] = max(cap_t[t], math.ceil((lead[t] + 1) * (top + 3 * math.sqrt(top))))
    price, cost = price_t[ptype], cost_t[ptype]
    spec = {
        "name": r.name,
        "description": (f"scenario family (coordlib.model.families), N={N}, K={K}: "
                        + ", ".join(f"{k}={v}" for k, v in r.to_dict().items()
                                    if k not in ("name", "n_products", "n_segments"))),
        "products": {
            "price": price.tolist(), "unit_cost": cost.tolist(),
            "holding_cost": np.round(r.holding_rate * price, 4).tolist(),
            "lost_sale_penalty": np.round(r.penalty_rate * price, 4).tolist(),
            "lead_time": lead[ptype].tolist(),
            "capacity": cap_t[ptype].tolist(), "max_order": order_t[ptype].tolist(),
        },
        "segments": {
            "arrival_rate": arrival.tolist(), "outside_attraction": v0.tolist(),
            "lift": beta.tolist(), "attraction": att.tolist(),
        },
        "review_period": 1,
        "initial_on_hand": (cap_t[ptype] // 2).tolist(),
    }
    return Scenario.from_dict(spec)
