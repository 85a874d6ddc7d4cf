"""Scenarios: every parameter of the model (MODEL.md sections 1-2), validated.

A :class:`Scenario` holds per-product arrays (length N), per-segment arrays (length K), the
segment-by-product attraction matrix (K x N), the review period and the initial state. It is
built from a plain dict (the same layout as the YAML files under ``data/scenarios/``) and every
problem with the input is reported as a :class:`ScenarioError` naming the field.

Every value is bounded (:data:`LIMITS`) so that each quantity a step can reach fits in int64
(stock, orders, demand) and float64 (money), and the arrays a scenario and its simulator build
(K x N^2 purchase probabilities, N x max L pipeline) are checked against the memory of the
machine before they are allocated.
"""
from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from ..common.files import atomic_write_text, load_yaml


class ScenarioError(ValueError):
    """A scenario (or an action checked against one) breaks the model's rules."""


PRODUCT_FIELDS = {
    # name: (dtype, default or None if required, minimum, docstring)
    "price": (float, None, "positive", "selling price per unit sold [p_i]"),
    "unit_cost": (float, None, "nonneg", "purchase cost per unit ordered [c_i]"),
    "holding_cost": (float, None, "nonneg", "cost per unit on hand at the end of a period [h_i]"),
    "lost_sale_penalty": (float, None, "nonneg", "goodwill cost per unit of unmet demand [b_i]"),
    "lead_time": (int, 0, "nonneg", "periods between ordering and arrival [L_i]"),
    "capacity": (int, None, "positive", "storage cap on on-hand after arrivals [M_i]"),
    "max_order": (int, None, "nonneg", "largest order in one decision [Qmax_i]"),
}
SEGMENT_FIELDS = {
    "arrival_rate": (float, None, "nonneg", "mean customer arrivals per period [lambda_k]"),
    "outside_attraction": (float, 1.0, "positive", "attraction of no purchase [v_k0]"),
    "lift": (float, 0.0, "nonneg", "recommendation lift [beta_k]"),
    "season_amplitude": (float, 0.0, "unit", "relative seasonal swing [a_k], in [0, 1]"),
    "season_period": (float, 1.0, "positive", "seasonal cycle length in periods [P_k]"),
    "season_phase": (float, 0.0, "any", "seasonal phase in radians [phi_k]"),
}
UNITS_LIMIT = 10**9
"""The largest stock, order, pipeline entry or capacity in units, and the largest mean number of
arrivals per period: sums over products, segments and periods of such counts stay far below
int64's 9.2e18, and a Poisson draw of a mean this size is exact in numpy."""
MONEY_LIMIT = 1e12
"""The largest price or cost per unit (and the largest attraction or lift): a period's profit,
at most N x MONEY_LIMIT x UNITS_LIMIT, stays a finite float64."""
LEAD_TIME_LIMIT = 10**6
"""The longest lead time in periods (the pipeline holds max L columns per product)."""
LIMITS = {
    "price": MONEY_LIMIT, "unit_cost": MONEY_LIMIT, "holding_cost": MONEY_LIMIT,
    "lost_sale_penalty": MONEY_LIMIT, "lead_time": LEAD_TIME_LIMIT, "capacity": UNITS_LIMIT,
    "max_order": UNITS_LIMIT, "arrival_rate": UNITS_LIMIT, "outside_attraction": MONEY_LIMIT,
    "lift": MONEY_LIMIT, "season_period": 1e12, "season_phase": 1e12, "attraction": MONEY_LIMIT,
    "review_period": UNITS_LIMIT, "initial_on_hand": UNITS_LIMIT,
    "initial_pipeline": UNITS_LIMIT,
}
"""The largest absolute value each field may take (see :data:`UNITS_LIMIT`, :data:`MONEY_LIMIT`)."""


def memory_limit_bytes() -> int:
    """The most memory one scenario's or simulator's arrays may take: half the machine's RAM."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def check_memory(what: str, n_bytes: float) -> None:
    """Raise a ScenarioError when ``n_bytes`` of arrays for ``what`` would not fit in memory."""
    limit = memory_limit_bytes()
    if n_bytes > limit:
        raise ScenarioError(f"{what}: needs {n_bytes / 2**30:,.1f} GiB of arrays, more than the "
                            f"{limit / 2**30:,.1f} GiB (half this machine's memory) allowed")


def check_scenario_size(n_products: int, n_segments: int) -> None:
    """Refuse, before anything is allocated, a scenario whose arrays would not fit: the purchase
    probabilities P[k, j, i] and their intermediates, three K x N x N arrays."""
    check_memory(f"scenario with N = {n_products} products and K = {n_segments} segments",
                 3 * 8.0 * n_segments * n_products * n_products)


def whole_number(name: str, value, low: int = 0, high: float = math.inf,
                 error: type[Exception] = ScenarioError) -> int:
    """``value`` as an int when it is a whole number in [low, high] (a bool, a string, NaN or
    infinity is not); else ``error`` naming ``name`` and the value."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating))
            or not math.isfinite(value) or value != int(value) or not low <= value <= high):
        bound = f" and <= {high:g}" if math.isfinite(high) else ""
        raise error(f"{name}: must be a whole number >= {low}{bound}, got {value!r}")
    return int(value)


def real_number(name: str, value, error: type[Exception] = ScenarioError) -> float:
    """``value`` as a float when it is a finite real number (not a bool or a string); else
    ``error`` naming ``name``."""
    if (isinstance(value, (bool, np.bool_))
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value)):
        raise error(f"{name}: must be a finite number, got {value!r}")
    return float(value)


def suggestion(name: str, known) -> str:
    """'; did you mean X?' for the known names closest to a misspelt ``name`` ('' if none is)."""
    close = difflib.get_close_matches(str(name), list(known), n=2)
    return f"; did you mean {' or '.join(close)}?" if close else ""


TOP_LEVEL_KEYS = {"name", "description", "products", "segments", "review_period", "backlog",
                  "initial_on_hand", "initial_pipeline"}


FIELD_NAMES = (*PRODUCT_FIELDS, *SEGMENT_FIELDS, "attraction", *sorted(TOP_LEVEL_KEYS))
"""Every field :meth:`Scenario.replace` changes."""


@dataclass(frozen=True, eq=False)
class Scenario:
    """The model's parameters (MODEL.md sections 1-2); arrays are read-only numpy arrays.

    Per product (length N): ``price`` [p], ``unit_cost`` [c], ``holding_cost`` [h],
    ``lost_sale_penalty`` [b], ``lead_time`` [L], ``capacity`` [M], ``max_order`` [Qmax].
    Per segment (length K): ``arrival_rate`` [lambda], ``outside_attraction`` [v_0],
    ``lift`` [beta], ``season_amplitude`` [a], ``season_period`` [P], ``season_phase`` [phi].
    ``attraction`` (K x N) [v_ki]. ``review_period`` [R]: orders are placed when t mod R = 0.
    ``backlog``: False (default) for lost sales, True for the backlog variant.
    ``initial_on_hand`` (N) and ``initial_pipeline`` (N x max L): the pipeline's column d holds
    what arrives at the start of period d.
    """

    price: np.ndarray
    unit_cost: np.ndarray
    holding_cost: np.ndarray
    lost_sale_penalty: np.ndarray
    lead_time: np.ndarray
    capacity: np.ndarray
    max_order: np.ndarray
    arrival_rate: np.ndarray
    outside_attraction: np.ndarray
    lift: np.ndarray
    season_amplitude: np.ndarray
    season_period: np.ndarray
    season_phase: np.ndarray
    attraction: np.ndarray
    initial_on_hand: np.ndarray
    initial_pipeline: np.ndarray
    review_period: int = 1
    backlog: bool = False
    name: str = "custom"
    description: str = ""
    _purchase_matrix: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        p = _purchase_probabilities(self.outside_attraction, self.attraction, self.lift)
        p.setflags(write=False)
        object.__setattr__(self, "_purchase_matrix", p)

    # ---- sizes -------------------------------------------------------------------------
    @property
    def n_products(self) -> int:
        """N, the number of products."""
        return self.price.shape[0]

    @property
    def n_segments(self) -> int:
        """K, the number of customer segments."""
        return self.arrival_rate.shape[0]

    @property
    def max_lead_time(self) -> int:
        """The longest lead time, max_i L_i (the pipeline's length)."""
        return int(self.lead_time.max(initial=0))

    @property
    def seasonal(self) -> bool:
        return bool(np.any(self.season_amplitude > 0))

    # ---- the demand model (MODEL.md section 3, step 3) -----------------------------------
    @property
    def purchase_probabilities(self) -> np.ndarray:
        """P[k, j, i]: probability that a segment-k customer shown product j buys product i."""
        return self._purchase_matrix

    def arrival_rates(self, t) -> np.ndarray:
        """lambda_k(t) = lambda_k (1 + a_k sin(2 pi t / P_k + phi_k)); shape (K,) or t.shape+(K,)."""
        t = np.asarray(t, dtype=float)[..., None]
        return self.arrival_rate * (1.0 + self.season_amplitude
                                    * np.sin(2 * np.pi * t / self.season_period + self.season_phase))

    def segment_demand_rates(self, exposure, t=0) -> np.ndarray:
        """Mean demand per segment and product, lambda_k(t) sum_j x_kj P_ki(j); shape (..., K, N)."""
        exposure = np.asarray(exposure, dtype=float)
        per_customer = np.einsum("...kj,kji->...ki", exposure, self._purchase_matrix)
        return self.arrival_rates(t)[..., :, None] * per_customer

    def demand_rate(self, exposure, t=0) -> np.ndarray:
        """mu_i(x) = sum_k lambda_k(t) sum_j x_kj P_ki(j), the mean demand per product (..., N)."""
        return self.segment_demand_rates(exposure, t).sum(axis=-2)

    def is_review_period(self, t) -> bool:
        """True when orders may be placed in period t (t mod R = 0)."""
        return int(t) % self.review_period == 0

    # ---- exposures -----------------------------------------------------------------------
    def uniform_exposure(self) -> np.ndarray:
        """Every product shown equally often to every segment, shape (K, N)."""
        return np.full((self.n_segments, self.n_products), 1.0 / self.n_products)

    def check_exposure(self, exposure, atol: float = 1e-6) -> np.ndarray:
        """Return ``exposure`` as a float array (..., K, N), or raise naming what is wrong."""
        x = np.asarray(exposure, dtype=float)
        if x.shape[-2:] != (self.n_segments, self.n_products):
            raise ScenarioError(f"exposure: expected trailing shape (K, N) = "
                                f"{(self.n_segments, self.n_products)}, got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ScenarioError("exposure: contains NaN or inf")
        if np.any(x < -atol):
            raise ScenarioError(f"exposure: not in the simplex, has a negative entry {x.min():.3g}")
        sums = x.sum(axis=-1)
        if np.any(np.abs(sums - 1.0) > atol):
            worst = sums.flat[np.argmax(np.abs(sums - 1.0))]
            raise ScenarioError(f"exposure: not in the simplex, a segment's row sums to {worst:.6g}"
                                " instead of 1")
        return x

    def check_orders(self, orders) -> np.ndarray:
        """Return ``orders`` as an int64 array (..., N), or raise naming what is wrong."""
        q = np.asarray(orders)
        if q.shape[-1:] != (self.n_products,):
            raise ScenarioError(f"orders: expected trailing shape (N,) = ({self.n_products},),"
                                f" got {q.shape}")
        if q.dtype.kind == "f":
            if not np.all(np.isfinite(q)):
                raise ScenarioError("orders: contains NaN or inf")
            if np.any(q != np.round(q)):
                raise ScenarioError("orders: must be whole units")
        elif q.dtype.kind not in "iub":
            raise ScenarioError(f"orders: must be integers, got dtype {q.dtype}")
        q = q.astype(np.int64)
        if np.any(q < 0) or np.any(q > self.max_order):
            raise ScenarioError("orders: must lie in 0..max_order for each product "
                                f"(max_order = {self.max_order.tolist()})")
        return q

    # ---- construction --------------------------------------------------------------------
    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> "Scenario":
        """Build and validate a scenario from the YAML layout (see ``data/scenarios/tiny.yaml``)."""
        return _from_dict(spec)

    @classmethod
    def from_yaml(cls, path) -> "Scenario":
        """Read a scenario from a YAML file."""
        path = Path(path)
        spec = load_yaml(path, ScenarioError, "scenario file")
        spec.setdefault("name", path.stem)
        return _from_dict(spec)

    def to_dict(self) -> dict:
        """The YAML layout of this scenario (round-trips through :meth:`from_dict`)."""
        out = {"name": self.name, "description": self.description,
               "products": {k: getattr(self, k).tolist() for k in PRODUCT_FIELDS},
               "segments": {k: getattr(self, k).tolist() for k in SEGMENT_FIELDS},
               "review_period": self.review_period, "backlog": self.backlog,
               "initial_on_hand": self.initial_on_hand.tolist()}
        out["segments"]["attraction"] = self.attraction.tolist()
        if self.initial_pipeline.size:
            out["initial_pipeline"] = self.initial_pipeline.tolist()
        return out

    def to_yaml(self, path) -> None:
        atomic_write_text(path, yaml.safe_dump(self.to_dict(), sort_keys=False,
                                             default_flow_style=None))

    def replace(self, **changes) -> "Scenario":
        """A copy with some fields changed, validated again (e.g. ``replace(lift=[4.0])``)."""
        spec = self.to_dict()
        for key, value in changes.items():
            if key in PRODUCT_FIELDS:
                spec["products"][key] = value
            elif key in SEGMENT_FIELDS or key == "attraction":
                spec["segments"][key] = value
            elif key in TOP_LEVEL_KEYS:
                spec[key] = value
            else:
                raise ScenarioError(f"replace: unknown field {key!r}"
                                    + suggestion(key, FIELD_NAMES))
        if "lead_time" in changes and "initial_pipeline" not in changes:
            spec.pop("initial_pipeline", None)
        return _from_dict(spec)


def _purchase_probabilities(v0, v, beta) -> np.ndarray:
    """P[k, j, i] = v_ki (1 + beta_k [i = j]) / (v_k0 + sum_l v_kl + beta_k v_kj) (MODEL.md 3.3)."""
    K, N = v.shape
    boosted = v[:, None, :] * (1.0 + beta[:, None, None] * np.eye(N)[None])  # [k, j, i]
    denom = v0[:, None] + v.sum(axis=1)[:, None] + beta[:, None] * v       # [k, j]
    return boosted / denom[:, :, None]


def _check_numbers(where: str, value) -> None:
    """Refuse booleans, strings and None where numbers belong (numpy would take 'true' as 1)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, np.ndarray):
            if v.dtype.kind not in "iuf":
                raise ScenarioError(f"{where}: expected numbers, got an array of {v.dtype}")
        elif isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)):
            raise ScenarioError(f"{where}: expected numbers, got {v!r} "
                                f"({type(v).__name__})")


def _as_array(section: str, key: str, value, dtype, length=None) -> np.ndarray:
    where = f"{section}.{key}" if section else key
    _check_numbers(where, value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: expected numbers, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ScenarioError(f"{where}: contains NaN or inf")
    limit = LIMITS.get(key)
    if limit is not None and arr.size and np.abs(arr).max() > limit:
        raise ScenarioError(f"{where}: must be at most {limit:.0e} in absolute value (so that "
                            f"every quantity a step reaches fits in int64 and float64), got "
                            f"{arr.reshape(-1)[np.argmax(np.abs(arr))]:.6g}")
    if length is not None and arr.ndim == 0:
        arr = np.full(length, float(arr))
    if dtype is int:
        if np.any(arr != np.round(arr)):
            raise ScenarioError(f"{where}: must be whole numbers, got {arr.tolist()}")
        arr = arr.astype(np.int64)
    return arr


def _check_sign(where: str, arr: np.ndarray, rule: str) -> None:
    if rule == "positive" and np.any(arr <= 0):
        raise ScenarioError(f"{where}: must be positive, got {arr.tolist()}")
    if rule == "nonneg" and np.any(arr < 0):
        raise ScenarioError(f"{where}: must not be negative, got {arr.tolist()}")
    if rule == "unit" and (np.any(arr < 0) or np.any(arr > 1)):
        raise ScenarioError(f"{where}: must lie in [0, 1], got {arr.tolist()}")


def _section(spec, name) -> dict:
    sec = spec.get(name)
    if not isinstance(sec, Mapping):
        raise ScenarioError(f"{name}: missing, or not a mapping of field names to values")
    return dict(sec)


def _from_dict(spec: Mapping[str, Any]) -> Scenario:
    if not isinstance(spec, Mapping):
        raise ScenarioError(f"scenario: expected a mapping, got {type(spec).__name__}")
    unknown = set(spec) - TOP_LEVEL_KEYS
    if unknown:
        raise ScenarioError(f"scenario: unknown keys {sorted(unknown)}; "
                            f"allowed: {sorted(TOP_LEVEL_KEYS)}")
    products, segments = _section(spec, "products"), _section(spec, "segments")
    for sec_name, sec, allowed in (("products", products, set(PRODUCT_FIELDS)),
                                   ("segments", segments, set(SEGMENT_FIELDS) | {"attraction"})):
        bad = set(sec) - allowed
        if bad:
            raise ScenarioError(f"{sec_name}: unknown keys {sorted(bad)}; allowed: {sorted(allowed)}")

    if "price" not in products:
        raise ScenarioError("products.price: missing (it fixes N, the number of products)")
    N = _as_array("products", "price", products["price"], float).reshape(-1).shape[0]
    if "arrival_rate" not in segments:
        raise ScenarioError("segments.arrival_rate: missing (it fixes K, the number of segments)")
    K = _as_array("segments", "arrival_rate", segments["arrival_rate"], float).reshape(-1).shape[0]
    if N == 0 or K == 0:
        raise ScenarioError("scenario: needs at least one product and one segment")
    check_scenario_size(N, K)

    kwargs: dict[str, Any] = {}
    for sec_name, sec, fields, length in (("products", products, PRODUCT_FIELDS, N),
                                          ("segments", segments, SEGMENT_FIELDS, K)):
        for key, (dtype, default, rule, _doc) in fields.items():
            if key not in sec:
                if default is None:
                    raise ScenarioError(f"{sec_name}.{key}: missing")
                sec[key] = default
            arr = _as_array(sec_name, key, sec[key], dtype, length)
            if arr.shape != (length,):
                raise ScenarioError(f"{sec_name}.{key}: expected {length} values "
                                    f"(one per {sec_name[:-1]}), got shape {arr.shape}")
            _check_sign(f"{sec_name}.{key}", arr, rule)
            kwargs[key] = arr

    if "attraction" not in segments:
        raise ScenarioError("segments.attraction: missing (K x N matrix of v_ki)")
    att = _as_array("segments", "attraction", segments["attraction"], float)
    if att.ndim == 1 and K == 1:
        att = att[None, :]
    if att.shape != (K, N):
        raise ScenarioError(f"segments.attraction: expected shape (K, N) = {(K, N)}, got {att.shape}")
    _check_sign("segments.attraction", att, "nonneg")
    zero_rows = np.flatnonzero(att.sum(axis=1) == 0)
    if zero_rows.size:
        raise ScenarioError(f"segments.attraction: row(s) {zero_rows.tolist()} are all zero "
                            "(such a segment never buys anything)")
    kwargs["attraction"] = att

    R = _as_array("", "review_period", spec.get("review_period", 1), int)
    if R.ndim != 0 or R < 1:
        raise ScenarioError(f"review_period: must be a whole number >= 1, got {R.tolist()}")
    backlog = spec.get("backlog", False)
    if not isinstance(backlog, bool):
        raise ScenarioError(f"backlog: must be true or false, got {backlog!r}")

    inv = _as_array("", "initial_on_hand", spec.get("initial_on_hand", 0), int, N)
    if inv.shape != (N,):
        raise ScenarioError(f"initial_on_hand: expected {N} values, got shape {inv.shape}")
    _check_sign("initial_on_hand", inv, "nonneg")
    over = np.flatnonzero(inv > kwargs["capacity"])
    if over.size:
        raise ScenarioError(f"initial_on_hand: exceeds capacity for product(s) {over.tolist()}")
    Lmax = int(kwargs["lead_time"].max())
    check_memory(f"lead time {Lmax} for N = {N} products (pipeline N x max L)", 8.0 * N * Lmax)
    pipe = spec.get("initial_pipeline")
    if pipe is None:
        pipe = np.zeros((N, Lmax), dtype=np.int64)
    else:
        pipe = _as_array("", "initial_pipeline", pipe, int)
        if pipe.ndim == 1 and Lmax > 0:
            pipe = pipe.reshape(N, -1) if pipe.size == N * Lmax else pipe
        if pipe.shape != (N, Lmax):
            raise ScenarioError(f"initial_pipeline: expected shape (N, max lead time) = {(N, Lmax)},"
                                f" got {pipe.shape}")
        _check_sign("initial_pipeline", pipe, "nonneg")
        too_late = np.arange(Lmax)[None, :] >= kwargs["lead_time"][:, None]
        if np.any(pipe[too_late] > 0):
            raise ScenarioError("initial_pipeline: product i can only have units arriving in "
                                "periods 0..L_i - 1")

    name = spec.get("name", "custom")
    description = spec.get("description", "") or ""
    if not isinstance(name, str) or not isinstance(description, str):
        raise ScenarioError("name and description: must be strings")

    for arr in (*kwargs.values(), inv, pipe):
        arr.setflags(write=False)
    return Scenario(**kwargs, initial_on_hand=inv, initial_pipeline=pipe,
                    review_period=int(R), backlog=backlog, name=name, description=description)


def random_scenario(n_products: int, n_segments: int, seed: int = 0, *, max_lead_time: int = 3,
                    review_period: int = 1, seasonal: bool = False, name: str = "random") -> Scenario:
    """A random valid scenario for tests and scaling studies (deterministic in ``seed``).

    Segments have distinct tastes (attractions drawn per segment), products distinct margins.
    """
    N = whole_number("random_scenario: n_products", n_products, 1)
    K = whole_number("random_scenario: n_segments", n_segments, 1)
    seed = whole_number("random_scenario: seed", seed, 0)
    max_lead_time = whole_number("random_scenario: max_lead_time", max_lead_time, 0,
                                 LEAD_TIME_LIMIT)
    review_period = whole_number("random_scenario: review_period", review_period, 1,
                                 LEAD_TIME_LIMIT)
    check_scenario_size(N, K)
    rng = np.random.default_rng(seed)
    price = np.round(rng.uniform(5, 20, N), 2)
    unit_cost = np.round(price * rng.uniform(0.3, 0.7, N), 2)
    att = np.round(rng.gamma(1.5, 1.0, (K, N)) + 0.05, 3)
    rate = np.round(rng.uniform(4, 10, K) * max(1.0, N / 4), 2)
    lead_time = rng.integers(0, max_lead_time + 1, N)
    v0 = np.round(rng.uniform(0.5, 2.0, K), 3)
    lift = np.round(rng.uniform(0.5, 3.0, K), 3)
    # room for a few periods of demand under uniform exposure, covering the lead time
    mu = _purchase_probabilities(v0, att, lift).mean(axis=1).T @ rate
    capacity = np.maximum(10, np.ceil(3 * mu * (lead_time + 1) * review_period)).astype(int)
    spec = {
        "name": name,
        "description": f"random scenario, N={N}, K={K}, seed={seed}",
        "products": {
            "price": price.tolist(), "unit_cost": unit_cost.tolist(),
            "holding_cost": np.round(0.05 * price, 3).tolist(),
            "lost_sale_penalty": np.round(0.2 * price, 3).tolist(),
            "lead_time": lead_time.tolist(),
            "capacity": capacity.tolist(), "max_order": capacity.tolist(),
        },
        "segments": {
            "arrival_rate": rate.tolist(), "outside_attraction": v0.tolist(),
            "lift": lift.tolist(), "attraction": att.tolist(),
        },
        "review_period": review_period,
        "initial_on_hand": (capacity // 2).tolist(),
    }
    if seasonal:
        spec["segments"].update(season_amplitude=np.round(rng.uniform(0.2, 0.6, K), 3).tolist(),
                                season_period=[12.0] * K,
                                season_phase=np.round(rng.uniform(0, 2 * np.pi, K), 3).tolist())
    return _from_dict(spec)


def field_docs() -> dict[str, str]:
    """Each scenario field with its meaning and MODEL.md symbol (for documentation)."""
    docs = {k: v[3] for k, v in {**PRODUCT_FIELDS, **SEGMENT_FIELDS}.items()}
    docs["attraction"] = "attraction of product i for segment k [v_ki], K x N"
    return docs
