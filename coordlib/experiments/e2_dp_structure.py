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
from .parameters import ParameterError, _check_cap, _resolve, check_parameters


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
E2_DEFAULTS = {
    "smoke": dict(max_inventory=6, long_lead_max_inventory=4, exposure_grid=6, replications=8,
                  periods=300),
    "paper": dict(max_inventory=None, long_lead_max_inventory=10, exposure_grid=11,
                  replications=32, periods=600),
}
"""Profile defaults of E2 (``notebooks/02_dp_structure.ipynb``): what a parameter left None takes.

``max_inventory`` caps M_i and Qmax_i of the instances with every L_i <= 1 (None: no cap),
``long_lead_max_inventory`` those with some L_i >= 2; ``exposure_grid`` points per segment;
``replications`` and ``periods`` size the B4 simulation."""


def e2_settings(profile: str = "smoke", **params):
    """E2's checked parameters: profile defaults (:data:`E2_DEFAULTS`) filled in where a
    parameter is None, then checked (:func:`coordlib.experiments.parameters.check_parameters`, which
    creates the ``*_dir`` folders); a wrong one raises ParameterError naming it.

    Besides the folders and ``seed``: ``scenarios`` (shipped N = 2 scenarios), ``variant_base``
    and ``variant_lead_times`` (extra instances: the base with every L_i set to each value),
    ``max_inventory``, ``long_lead_max_inventory``, ``exposure_grid``, ``pipeline``
    (:data:`PIPELINE_READINGS`), ``picture_scenario`` (one of the instance names of
    :func:`e2_instances`), ``replications``, ``periods``, ``warmup``, ``max_lag``.
    """

    values = _resolve(profile, E2_DEFAULTS, params)
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
