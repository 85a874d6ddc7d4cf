"""E9, sensitivity of the value of coordination to lift, lead time, margin spread and demand level:
exactly on the DP instances, by simulation of the heuristics beyond them.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from ..model.evaluation import evaluate, mean_ci
from ..model.scenarios import get as get_scenario
from ..model.variants import scenario_variant
from ..policies.firms import firm
from .parameters import ParameterError, _check_cap, _check_values, check_parameters, with_budget

E9_SIMULATION_FACTORS = {"sim_lift_scales": "lift_scale", "sim_margin_scales": "margin_scale",
                         "sim_lead_time_shifts": "lead_time_shift",
                         "sim_arrival_scales": "arrival_scale"}
"""Which :func:`scenario_variant` factor each ``sim_*`` parameter of E9 varies."""


def e9_settings(profile: str = "smoke", **params):
    """E9's checked parameters: the profile's budget of E9 in ``notebooks/manifest.yaml`` filled
    in where a parameter is None (:func:`coordlib.experiments.parameters.with_budget`), then
    checked; a wrong one raises ParameterError naming it (``*_dir`` folders are created).

    DP part (:func:`coordlib.exact.coordination.b5_decomposition` on each of ``bases``):
    ``lifts`` [beta_k], ``margin_spreads`` [p_2 - c_2 - (p_1 - c_1)], ``lead_times`` [L_i],
    ``arrival_rates`` [sum_k lambda_k]; ``max_inventory`` caps M_i and Qmax_i of every row but the
    lead-time rows, which use ``lead_time_max_inventory`` (None: no cap). Simulation part
    (:func:`heuristic_sensitivity` on ``simulation_scenario``; None skips it): the ``sim_*``
    values of the factors of :data:`E9_SIMULATION_FACTORS`, on ``replications`` x ``periods``
    periods after ``warmup``."""

    values = with_budget("E9", profile, params)
    values["profile"] = profile
    for key in ("lifts", "margin_spreads", "arrival_rates", "sim_lift_scales",
                "sim_margin_scales", "sim_arrival_scales"):
        _check_values(key, values[key])
    for key in ("lead_times", "sim_lead_time_shifts"):
        _check_values(key, values[key], whole=True)
    for key in ("max_inventory", "lead_time_max_inventory"):
        _check_cap(key, values.get(key))
    grid = values.get("exposure_grid")
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ParameterError(f"exposure_grid: expected a whole number >= 2, got {grid!r}")
    if not isinstance(values.get("coordinated", False), bool):
        raise ParameterError(f"coordinated: expected True or False, got {values['coordinated']!r}")
    bases = values["bases"]
    check_parameters(scenarios=bases)
    for name in bases:
        if get_scenario(name).n_products != 2:
            raise ParameterError(f"bases: {name!r} has N = {get_scenario(name).n_products} "
                                 "products; the exact DP handles N = 2")
    sim = values.get("simulation_scenario")
    if sim is not None:
        check_parameters(scenario=sim)
        for key, factor in E9_SIMULATION_FACTORS.items():
            for v in values[key]:
                try:
                    scenario_variant(sim, factor, v)
                except ValueError as exc:
                    raise ParameterError(f"{key}: {exc}") from None
    rest = {k: v for k, v in values.items()
            if k not in ("bases", "simulation_scenario") and not k.startswith("sim_")}
    checked = check_parameters(**rest)
    return type(checked)({**values, **checked.values})


# ---- E9: the heuristics by simulation on a larger scenario ------------------------------------
def heuristic_sensitivity(base, factors: Mapping[str, Sequence[float]], replications: int = 10,
                          periods: int = 500, warmup: int = 100, seed: int = 0,
                          cache: Optional[Callable] = None) -> pd.DataFrame:
    """Siloed vs coordinated heuristic, simulated, one factor of :func:`scenario_variant` at a time.

    For every (factor, value) the siloed firm (:func:`coordlib.policies.firms.siloed_heuristic`) and
    the coordinated one (:func:`coordlib.policies.firms.coordinated_heuristic`), each with base-stock
    levels tuned by simulation (:func:`coordlib.policies.firm`), are evaluated on ``replications``
    replications of ``periods`` periods after ``warmup`` (seed ``seed``; the same simulator
    seed for both firms). For any scenario size: this is how B5 is checked beyond the DP.
    Returns one row per (factor, value): ``profit_siloed``, ``profit_coordinated`` and
    ``gain`` (coordinated - siloed, paired by replication), each with ``_lo``/``_hi`` (95%
    Student-t interval), and ``arrival_cv`` = 1/sqrt(sum_k lambda_k).
    ``cache`` as in :func:`coordlib.exact.coordination.b5_decomposition`.
    """

    base = get_scenario(base)
    rows = []
    for factor, values in factors.items():
        for value in values:
            s = scenario_variant(base, factor, value)

            def compute(s=s):
                profit = {}
                for name in ("siloed", "coordinated"):
                    profit[name] = evaluate(s, firm(s, name, seed), replications, periods,
                                            warmup, seed)["profit"].to_numpy()
                row = {}
                for name, v in (("profit_siloed", profit["siloed"]),
                                ("profit_coordinated", profit["coordinated"]),
                                ("gain", profit["coordinated"] - profit["siloed"])):
                    row[name], row[f"{name}_lo"], row[f"{name}_hi"] = mean_ci(v)
                return row
            config = {"function": "heuristic_sensitivity", "scenario": s.to_dict(),
                      "replications": replications, "periods": periods, "warmup": warmup,
                      "seed": seed}
            row = compute() if cache is None else cache("e9_heuristics", config, compute)
            rows.append({"base": base.name, "factor": factor, "value": float(value),
                         "arrival_cv": float(1 / np.sqrt(s.arrival_rate.sum())), **row})
    return pd.DataFrame(rows)


# ---- the sentences of the notebook, built from its tables ------------------------------------
PARTS = {"static_part": "static part", "exposure_part": "inventory-aware part",
         "total": "value of coordination", "total_percent": "value of coordination in percent"}
"""The columns of ``e9_exact`` that :func:`exact_text` follows along each factor."""

TOLERANCE = 5e-4
"""Changes smaller than this (profit per period, or percent) count as no change in the text
(half the last digit the text shows)."""

UNCERTAINTY_FALLS_WITH = {"arrival_rate"}
"""Factors along which demand uncertainty falls: B5's parts should fall along them."""


def trend(values: Sequence[float], xs: Sequence[float]) -> str:
    """How a sequence moves along increasing ``xs``: "grows", "falls", "stays at ..." when
    monotone, else "is not monotone: it peaks at x" (an inner maximum) or "is not monotone:
    its lowest is at x"."""
    v = np.asarray(values, float)
    x = np.asarray(xs, float)
    d = np.diff(v)
    if len(v) < 2 or np.all(np.abs(d) <= TOLERANCE):
        return f"stays at {v[0]:.3g}"
    if np.all(d >= -TOLERANCE):
        return "grows"
    if np.all(d <= TOLERANCE):
        return "falls"
    top, low = int(np.argmax(v)), int(np.argmin(v))
    if 0 < top < len(v) - 1:
        return f"is not monotone: it peaks at {x[top]:g}"
    return f"is not monotone: its lowest is at {x[low]:g}"


def exact_text(exact: pd.DataFrame) -> str:
    """What the exact rows of E9 show, from ``e9_exact``: per base and factor the static part,
    the inventory-aware part, the total (per period) and the total in percent of the siloed
    profit at the smallest and the largest value, how each moves (:func:`trend`), and B5's
    "grows with the factor" (holds when the static and the inventory-aware part both never
    fall); then the range of the ordering part and the rows whose best static exposure is
    interior."""
    lines = []
    for (base, factor), sub in exact.sort_values("value").groupby(["base", "factor"], sort=False):
        xs = sub["value"].to_numpy(float)
        parts = []
        for col, label in PARTS.items():
            v = sub[col].to_numpy(float)
            unit = "%" if col == "total_percent" else ""
            parts.append(f"the {label} {trend(v, xs)} ({v[0]:.3f}{unit} at {xs[0]:g}, "
                         f"{v[-1]:.3f}{unit} at {xs[-1]:g})")
        want = "falls" if factor in UNCERTAINTY_FALLS_WITH else "grows"
        grows = all(trend(sub[c].to_numpy(float), xs) == want or
                    trend(sub[c].to_numpy(float), xs).startswith("stays")
                    for c in ("static_part", "exposure_part"))
        rule = ("each part grows with demand uncertainty, i.e. falls with the arrival rate"
                if want == "falls" else "each part grows")
        lines.append(f"- `{base}`, {factor.replace('_', ' ')}: " + "; ".join(parts) +
                     f". B5's \"{rule}\" (static and inventory-aware parts) "
                     f"{'holds' if grows else 'fails'} here.")
    o = exact["ordering_part"].to_numpy(float)
    lines.append(f"\nThe ordering part (optimal ordering beyond base-stock, not a coordination "
                 f"effect) lies between {o.min():.3f} and {o.max():.3f} per period.")
    shares = exact["static_share_1"].astype(str).str.strip("[]").str.split(",")
    interior = [(r.base, r.factor, r.value, s) for r, s in zip(exact.itertuples(), shares)
                if any(0 < float(x) < 1 for x in s if x.strip())]
    if interior:
        lines.append("The best static exposure is interior (not all on one product) on "
                     + ", ".join(f"`{b}` {f.replace('_', ' ')} = {v:g} "
                                 f"(share of product 1: {', '.join(x.strip() for x in s)})"
                                 for b, f, v, s in interior) + ".")
    else:
        lines.append("The best static exposure is extreme (all on one product) on every row.")
    return "\n".join(lines)


def simulation_text(simulated: pd.DataFrame) -> str:
    """What the simulation rows of E9 show, from ``e9_simulation``: per factor the gain of the
    coordinated heuristic over the siloed one at every value, with its 95% interval and
    percent, and whether it is above, below or not distinguishable from zero."""
    if simulated.empty:
        return "The simulation check was skipped in this run."
    lines = []
    for factor, sub in simulated.sort_values("value").groupby("factor", sort=False):
        cells = []
        for r in sub.itertuples():
            word = ("above zero" if r.gain_lo > 0 else "below zero" if r.gain_hi < 0
                    else "exactly zero" if abs(r.gain_hi - r.gain_lo) <= TOLERANCE
                    and abs(r.gain) <= TOLERANCE else "not distinguishable from zero")
            cells.append(f"{r.value:g}: {r.gain:+.2f} [{r.gain_lo:+.2f}, {r.gain_hi:+.2f}] "
                         f"({r.gain_percent:+.1f}%), {word}")
        lines.append(f"- {factor.replace('_', ' ')}: the mean gain {trend(sub['gain'], sub['value'])}."
                     f" By value: " + "; ".join(cells) + ".")
    losses = simulated[simulated["gain_hi"] < 0]
    lines.append("" if losses.empty else
                 f"\nThe coordinated heuristic loses to the siloed firm at {len(losses)} of "
                 f"{len(simulated)} values. The exact value of coordination is never negative "
                 "(g* >= g_siloed: the optimum can copy the siloed firm), so a loss is a limit of "
                 "the heuristic, not of coordination.")
    return "\n".join(lines).rstrip()
