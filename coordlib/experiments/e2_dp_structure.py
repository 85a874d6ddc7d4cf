"""E2, the structure of the optimal policy on the exact DP: B3 over the whole policy table, B4 by
simulation of the optimum, B5 gains; the notebook's instances and checked parameters.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import pandas as pd

from ..exact import dp
from ..exact.coordination import value_of_coordination
from ..exact.policy_maps import (
    PIPELINE_READINGS,
    _frame_of_states,
    _most_visited,
    order_exception_profile,
    policy_map,
)
from ..exact.structure import b3_report, b4_cross_correlation, b4_peak_lags
from ..model.scenarios import get as get_scenario
from ..model.variants import scenario_variant
from .parameters import ParameterError, _check_cap, check_parameters, with_budget


def dp_structure(scenario, max_inventory: Optional[int] = None, exposure_grid: int = 11,
                 pipeline: str = "stationary", replications: int = 32, periods: int = 600,
                 warmup: int = 100, max_lag: int = 6, seed: int = 0, max_exception_rows: int = 100,
                 cache: Optional[Callable] = None) -> dict:
    """Everything E2 shows about one DP instance, as tables (MODEL.md section 5, B3-B5).

    Solves the instance (:func:`coordlib.exact.dp.solve` with ``max_inventory`` [caps M_i and
    Qmax_i] and ``exposure_grid``) and returns a dict of DataFrames: ``solution`` (one row:
    g*, its RVI bounds, state and action counts, iterations, seconds), ``policy_map``
    (:func:`policy_map` with ``pipeline``), ``b3_summary`` and ``b3_exposure_exceptions``
    (:func:`b3_report`, every exception; states written as text over ``state_axes``),
    ``b3_order_profile`` (:func:`order_exception_profile` of every order exception, all three
    readings), ``b3_order_exceptions`` (the order exceptions of the ``protection`` reading:
    all of them, or with more than ``max_exception_rows`` per statement the
    ``max_exception_rows`` whose states are most often visited, max(prob_state, prob_high);
    the exact counts are in ``b3_summary``), ``b4`` and ``b4_peaks`` (:func:`b4_cross_correlation` on
    ``replications`` x ``periods`` simulated periods after ``warmup``, seed ``seed``, lags
    up to ``max_lag``; empty when every L_i = 0) and ``gains`` (one row of
    :func:`value_of_coordination` with the coordinated heuristic). ``cache`` as in
    :func:`coordlib.exact.coordination.b5_decomposition`: the whole dict is stored under one key.
    """
    s = get_scenario(scenario)

    def compute():
        sol = dp.solve(s, exposure_grid=exposure_grid, max_inventory=max_inventory)
        summary, exposure_ex, order_ex = b3_report(sol)
        out = {"solution": pd.DataFrame([{
            "scenario": sol.scenario.name, "lead_time": int(sol.scenario.lead_time.max()),
            "segments": sol.scenario.n_segments, "g_star": sol.gain,
            "g_lower": sol.gain_bounds[0], "g_upper": sol.gain_bounds[1],
            "full_states": sol.n_states, "reduced_states": sol.n_reduced_states,
            "order_actions": sol.n_order_actions, "exposure_actions": sol.n_exposure_actions,
            "iterations": sol.iterations, "converged": sol.converged, "seconds": sol.seconds,
            "state_axes": ", ".join(sol.state_axes), "note": sol.note}]),
            "policy_map": policy_map(sol, pipeline),
            "b3_summary": summary, "b3_exposure_exceptions": _frame_of_states(exposure_ex),
            "b3_order_profile": order_exception_profile(order_ex, sol.state_axes),
            "b3_order_exceptions": _frame_of_states(_most_visited(
                order_ex[order_ex.statement.str.contains("protection")], max_exception_rows))}
        if sol.scenario.lead_time.max() > 0:
            b4 = b4_cross_correlation(sol, replications, periods, warmup, max_lag, seed)
            out["b4"], out["b4_peaks"] = b4, b4_peak_lags(b4)
        else:
            out["b4"] = out["b4_peaks"] = pd.DataFrame()
        gains = value_of_coordination(s, coordinated=True, solution=sol)
        out["gains"] = pd.DataFrame([{k: (str(v) if isinstance(v, list) else v)
                                      for k, v in gains.items()}])
        return {k: v.to_dict("records") for k, v in out.items()}

    config = {"function": "dp_structure", "scenario": s.to_dict(), "max_inventory": max_inventory,
              "exposure_grid": exposure_grid, "pipeline": pipeline, "replications": replications,
              "periods": periods, "warmup": warmup, "max_lag": max_lag, "seed": seed,
              "max_exception_rows": max_exception_rows}
    records = compute() if cache is None else cache("e2_dp_structure", config, compute)
    return {k: pd.DataFrame(v) for k, v in records.items()}


# ---- notebook settings ----------------------------------------------------------------------
def e2_settings(profile: str = "smoke", **params):
    """E2's checked parameters: the profile's budget of E2 in ``notebooks/manifest.yaml`` filled
    in where a parameter is None (:func:`coordlib.experiments.parameters.with_budget`), then checked (:func:`coordlib.experiments.parameters.check_parameters`, which
    creates the ``*_dir`` folders); a wrong one raises ParameterError naming it.

    Besides the folders and ``seed``: ``scenarios`` (shipped N = 2 scenarios), ``variant_base``
    and ``variant_lead_times`` (extra instances: the base with every L_i set to each value),
    ``max_inventory`` (caps M_i and Qmax_i of the instances with every L_i <= 1; None: no cap),
    ``long_lead_max_inventory`` (those with some L_i >= 2), ``exposure_grid`` (points per
    segment), ``pipeline``
    (:data:`PIPELINE_READINGS`), ``picture_scenario`` (one of the instance names of
    :func:`e2_instances`), ``replications``, ``periods``, ``warmup``, ``max_lag``.
    """

    values = with_budget("E2", profile, params)
    values["profile"] = profile
    for key in ("max_inventory", "long_lead_max_inventory"):
        _check_cap(key, values.get(key))
    grid = values.get("exposure_grid")
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 2:
        raise ParameterError(f"exposure_grid: expected a whole number >= 2, got {grid!r}")
    if values.get("pipeline", "stationary") not in PIPELINE_READINGS:
        raise ParameterError(f"pipeline: one of {', '.join(PIPELINE_READINGS)}, "
                             f"got {values.get('pipeline')!r}")
    lead_times = values.get("variant_lead_times", [])
    if isinstance(lead_times, (str, bytes)) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
            for v in lead_times):
        raise ParameterError(f"variant_lead_times: expected a list of whole numbers >= 0, "
                             f"got {lead_times!r}")
    if "max_lag" in values and (not isinstance(values["max_lag"], (int, np.integer))
                                or values["max_lag"] < 1):
        raise ParameterError(f"max_lag: expected a whole number >= 1, got {values['max_lag']!r}")
    checked = check_parameters(**{k: v for k, v in values.items() if k != "variant_base"})
    if "variant_base" in values:
        check_parameters(scenario=values["variant_base"])
    out = {**checked.values, "variant_base": values.get("variant_base")}
    names = list(e2_instances(out))
    if out.get("picture_scenario") is not None and out["picture_scenario"] not in names:
        raise ParameterError(f"picture_scenario: {out['picture_scenario']!r} is not one of the "
                             f"instances {names}")
    for name, (s, _) in e2_instances(out).items():
        if s.n_products != 2:
            raise ParameterError(f"scenarios: {name!r} has N = {s.n_products} products; the "
                                 "exact DP handles N = 2")
    return type(checked)(out)


def e2_instances(settings) -> dict:
    """The DP instances of E2: name -> (Scenario, max_inventory), in reading order.

    Each shipped scenario of ``settings["scenarios"]`` under its own name, then
    ``variant_base`` with every lead time set to each of ``variant_lead_times`` (named
    ``"<base> L=<value>"``). Instances with some L_i >= 2 get ``long_lead_max_inventory``,
    the others ``max_inventory``.
    """
    settings = settings if isinstance(settings, dict) else settings.values
    out = {}
    named = [(n, get_scenario(n)) for n in settings.get("scenarios", [])]
    base = settings.get("variant_base")
    if base is not None:
        named += [(f"{get_scenario(base).name} L={L}", scenario_variant(base, "lead_time", L))
                  for L in settings.get("variant_lead_times", [])]
    for name, s in named:
        cap = (settings.get("long_lead_max_inventory") if s.lead_time.max() >= 2
               else settings.get("max_inventory"))
        out[name] = (s, cap)
    return out


# ---- the sentences of the notebook, built from its tables ------------------------------------
TOLERANCE = 1e-9
"""Differences smaller than this (profit per period, shares, units) count as zero in the text."""

READINGS = ("current", "arrival", "protection")
"""The three readings of B3's order statement, in the words of :func:`b3_report`'s rows."""


def _holds(ok: bool) -> str:
    return "holds" if ok else "fails"


def _visited_pairs(frame: pd.DataFrame, column: str):
    """Differences of ``column`` along the other product's stock (inventory_2) between
    neighbouring stock pairs that the optimal system both visits (probability > 0)."""
    visited = frame[frame["probability"] > 0]
    grid = visited.pivot(index="inventory_1", columns="inventory_2", values=column)
    grid = grid.reindex(columns=range(int(frame.inventory_2.min()), int(frame.inventory_2.max()) + 1))
    diff = np.diff(grid.to_numpy(float), axis=1)
    return diff[~np.isnan(diff)]


def exposure_map_text(maps: dict) -> str:
    """What the exposure heatmaps show, per instance, from ``{instance: policy_map frame}``: the
    stationary mean share of exposure on product 1 (``exposure_1`` weighted by
    ``probability``) and how that share moves with product 2's stock between neighbouring
    visited pairs (falls, stays, rises: "recommend what you stock" wants it never to rise)."""
    lines = []
    for name, frame in maps.items():
        prob = frame["probability"].fillna(0).to_numpy(float)
        mean = float(np.nansum(prob * frame["exposure_1"].to_numpy(float)) / prob.sum())
        d = _visited_pairs(frame, "exposure_1")
        up, down = int((d > TOLERANCE).sum()), int((d < -TOLERANCE).sum())
        lines.append(
            f"- `{name}`: product 1 gets {mean:.2f} of the exposure on average over the "
            f"stationary distribution (product 2 {1 - mean:.2f}); one more unit of product 2 "
            f"lowers product 1's share at {down}, leaves it unchanged at {len(d) - up - down} and "
            f"raises it at {up} of {len(d)} neighbouring visited stock pairs"
            f" ({'never rises: recommend what you stock' if up == 0 else 'it sometimes rises'}).")
    return "\n".join(lines)


def order_map_text(maps: dict) -> str:
    """What the order heatmaps show, per instance: how product 1's optimal order moves with
    product 2's stock (at fixed own stock) between neighbouring visited pairs. A siloed
    replenisher's order does not depend on the other product at all."""
    lines = []
    for name, frame in maps.items():
        d = _visited_pairs(frame, "order_1")
        up, down = int((d > TOLERANCE).sum()), int((d < -TOLERANCE).sum())
        same = len(d) - up - down
        verdict = ("does not depend on the other product's stock" if up + down == 0 else
                   "depends on the other product's stock, mostly falling with it" if down > up
                   else "depends on the other product's stock, mostly rising with it" if up > down
                   else "depends on the other product's stock, in both directions")
        lines.append(f"- `{name}`: at fixed own stock, product 1's order {verdict}: one more "
                     f"unit of product 2 lowers it at {down}, leaves it at {same} and raises it "
                     f"at {up} of {len(d)} neighbouring visited pairs.")
    return "\n".join(lines)


def picture_text(frame: pd.DataFrame, level: float, name: str) -> str:
    """The right panel of the B3 picture in words: of the lines drawn (one per own stock A_1,
    states with ``probability >= level``), how many rise throughout with the expected exposure
    (order non-decreasing, ties in the exposure ignored), and where the others dip."""
    typical = frame[frame["probability"] >= level]
    rising, dips = 0, []
    for a1, sub in typical.groupby("inventory_1"):
        sub = sub.sort_values("expected_exposure_1")
        x, q = sub["expected_exposure_1"].to_numpy(float), sub["order_1"].to_numpy(float)
        drop = [(q[j] - q[j + 1]) for j in range(len(q) - 1)
                if q[j + 1] < q[j] - TOLERANCE and x[j + 1] > x[j] + TOLERANCE]
        if drop:
            dips.append(f"A_1 = {int(a1)} (largest dip {max(drop):g} units)")
        else:
            rising += 1
    total = rising + len(dips)
    text = (f"On `{name}`, {rising} of {total} lines drawn on the right rise (or stay level) "
            f"throughout with the expected exposure")
    return text + (": stock what you recommend holds on every line." if not dips else
                   f"; the order dips on {len(dips)}: " + ", ".join(dips) +
                   " (see the exceptions of section 5).")


def _reading(statement: str) -> str:
    return next((r for r in READINGS if f"its {r} exposure" in statement), "")


def b3_text(summary: pd.DataFrame, profile: pd.DataFrame) -> str:
    """What B3 shows, from ``e2_b3_summary`` and ``e2_b3_order_profile``: per instance, whether
    "recommend what you stock" holds per segment and for the arrival-weighted exposure
    (``segment`` "all", where there is more than one segment), and per reading of "stock what
    you recommend" whether it holds, else its exceptions of comparisons per product, the
    stationary mass involved, the share with the other product at 2 units or fewer and the
    other product's stock above which no exception is left."""
    out = []
    exposure = summary[summary["statement"].str.startswith("exposure")]
    seg = exposure["segment"].astype(str)
    lines = []
    for name, sub in exposure.groupby("instance", sort=False):
        per = sub[seg.loc[sub.index] != "all"]
        pooled = sub[seg.loc[sub.index] == "all"]
        e, c = int(per["exceptions"].sum()), int(per["comparisons"].sum())
        if e == 0:
            text = f"holds with no exception ({c} comparisons)"
        else:
            text = (f"fails at {e} of {c} comparisons ({int(per['strict_exceptions'].sum())} "
                    f"strict), in states holding {per['stationary_mass'].max():.2%} of the "
                    f"stationary mass")
        if len(pooled):
            pe = int(pooled["exceptions"].sum())
            text += ("; for the arrival-weighted exposure of each product it holds with no "
                     "exception" if pe == 0 else
                     f"; for the arrival-weighted exposure it fails at {pe} comparisons")
        lines.append(f"  - `{name}`: {text}.")
    out.append("* *Recommend what you stock* (exposure statements, per segment):\n" +
               "\n".join(lines))
    orders = summary[summary["statement"].str.startswith("order")].copy()
    orders["reading"] = orders["statement"].map(_reading)
    prof = profile.copy() if len(profile) else pd.DataFrame(
        columns=["instance", "statement", "product", "share_other_low", "other_inventory_high_max"])
    prof["reading"] = prof["statement"].map(_reading)
    for reading in READINGS:
        lines = []
        for name, sub in orders[orders["reading"] == reading].groupby("instance", sort=False):
            sub = sub.sort_values("product")
            if int(sub["exceptions"].sum()) == 0:
                lines.append(f"  - `{name}`: holds with no exception "
                             f"({int(sub['comparisons'].iloc[0])} comparisons per product).")
                continue
            counts = " and ".join(f"{int(r.exceptions)}" for r in sub.itertuples())
            share = " and ".join(f"{r.exceptions / r.comparisons:.1%}" for r in sub.itertuples())
            mass = " and ".join(f"{r.stationary_mass:.1%}" for r in sub.itertuples())
            text = (f"fails at {counts} of {int(sub['comparisons'].iloc[0])} comparisons "
                    f"(products {' and '.join(str(int(p)) for p in sub['product'])}; {share}), "
                    f"in states holding {mass} of the stationary mass")
            pr = prof[(prof["instance"] == name) & (prof["reading"] == reading)]
            if len(pr):
                low = " and ".join(f"{v:.0%}" for v in pr.sort_values("product")["share_other_low"])
                top = int(pr["other_inventory_high_max"].max())
                text += (f"; {low} of the exceptions have the other product at 2 units or fewer "
                         f"in the state with the higher exposure, and none has it above {top}, "
                         f"so the statement holds over every pair where the other product has "
                         f"at least {top + 1} units there")
            lines.append(f"  - `{name}`: {text}.")
        out.append(f"* *Stock what you recommend*, {reading} reading:\n" + "\n".join(lines))
    return "\n".join(out)


def b4_text(peaks: pd.DataFrame, cross: pd.DataFrame) -> str:
    """What B4 shows, from ``e2_b4_peak_lags`` and ``e2_b4_cross_correlation``: per instance and
    product the lag of the peak correlation against the lead time ("holds" when they are
    equal), the peak and the lag-0 correlation; then the count over all products."""
    if peaks.empty:
        return "No instance of this run has a lead time: B4 is not checked."
    lines = []
    for r in peaks.itertuples():
        zero = cross[(cross["instance"] == r.instance) & (cross["product"] == r.product)
                     & (cross["lag"] == 0)]["correlation"]
        lag0 = (f"; at lag 0 it is {float(zero.iloc[0]):+.3f}"
                if len(zero) and int(r.peak_lag) != 0 else "")
        ok = int(r.peak_lag) == int(r.lead_time)
        lines.append(f"- `{r.instance}`, product {int(r.product)} (L = {int(r.lead_time)}): the "
                     f"correlation peaks at lag {int(r.peak_lag)} ({r.peak_correlation:+.3f})"
                     f"{lag0}: B4 {_holds(ok)}.")
    ok = int((peaks["peak_lag"].astype(int) == peaks["lead_time"].astype(int)).sum())
    return ("\n".join(lines) + f"\n\nThe peak lies at the lead time, as B4 says, for {ok} of "
            f"{len(peaks)} products.")


def b5_text(gains: pd.DataFrame) -> str:
    """What B5 shows, from ``e2_gains``: per instance the value of coordination g* - g_siloed
    (also in percent of g*), its static part and the dynamic parts (ordering, exposure), and
    how much of it the coordinated heuristic captures (or that it is worse than siloed)."""
    lines = []
    for r in gains.itertuples():
        if abs(r.total) <= 1e-6:
            head = (f"the siloed firm is already optimal (total {r.total:.2g}, within 1e-6 of "
                    f"g* = {r.g_star:.2f})")
        else:
            main = "static" if abs(r.static_part) >= abs(r.ordering_part + r.exposure_part) \
                else "dynamic"
            head = (f"value of coordination {r.total:.2f} per period ({100 * r.total / r.g_star:.1f}% "
                    f"of g*), mostly {main}: static {r.static_part:.2f}, dynamic "
                    f"{r.ordering_part + r.exposure_part:.2f} (ordering {r.ordering_part:.2f}, "
                    f"inventory-aware exposure {r.exposure_part:.2f})")
        if r.g_coordinated < r.g_siloed - TOLERANCE:
            tail = (f"the coordinated heuristic is worse than the siloed firm "
                    f"({r.g_coordinated:.2f} against {r.g_siloed:.2f})")
        elif abs(r.total) > 1e-6:
            tail = (f"the coordinated heuristic captures "
                    f"{(r.g_coordinated - r.g_siloed) / r.total:.0%} of it "
                    f"({r.g_coordinated:.2f}, g* {r.g_star:.2f})")
        else:
            tail = f"the coordinated heuristic earns {r.g_coordinated:.2f}"
        lines.append(f"- `{r.instance}`: {head}; {tail}.")
    return "\n".join(lines)
