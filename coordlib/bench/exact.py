"""Benchmark section ``dp``: time to solve the exact DP (MODEL.md section 5) on tiny and the largest
instance the default table limit accepts, in state-actions backed up per second.
"""
from __future__ import annotations

import time
from typing import Optional, Sequence

import pandas as pd

from ..exact import dp
from ..model.scenario import Scenario
from ..model.scenarios import get as get_scenario
from .common import SectionResult, fmt, row


# ---- 4. the exact DP ----------------------------------------------------------------------------
def dp_candidates() -> list[Scenario]:
    """tiny and its variants with longer lead times (the DP's state grows with L)."""
    tiny = get_scenario("tiny")
    out = [tiny]
    for lead in ([1, 2], [2, 2], [2, 3], [3, 3]):
        out.append(tiny.replace(lead_time=lead, name=f"tiny[L={lead[0]},{lead[1]}]"))
    return out


def dp_instances(exposure_grid: int = 11, max_inventory: Optional[int] = None) -> list[Scenario]:
    """``tiny``, and the variant of :func:`dp_candidates` with the largest post-decision table
    that the DP accepts by default (``coordlib.exact.dp.DEFAULT_MAX_TABLE``)."""
    tiny, *variants = dp_candidates()
    limit = dp.DEFAULT_MAX_TABLE
    fits = []
    for v in variants:
        try:
            size = dp.problem_size(v, exposure_grid, max_inventory)
        except Exception:          # a variant the DP rejects is simply not a candidate
            continue
        if size["post_decision_table"] <= limit:
            fits.append((size["post_decision_table"], v))
    return [tiny] + ([max(fits, key=lambda f: f[0])[1]] if fits else [])


def dp_section(instances: Optional[Sequence] = None, max_inventory: Optional[int] = None,
               exposure_grid: int = 11) -> SectionResult:
    """Time to solve ``tiny`` and the largest variant of it the DP accepts; backups per second.

    ``instances``: scenarios to solve (default: :func:`dp_instances`). Throughput is
    iterations x reduced states x joint actions / seconds: the state-action pairs that the
    relative value iteration backs up (the DP works on a reduced state that is exact, see
    :mod:`coordlib.exact.dp`; the full Markov states are reported beside it).
    """
    if instances is None:
        instances = dp_instances(exposure_grid, max_inventory)
    records, rows = [], []
    for index, instance in enumerate(instances):
        s = get_scenario(instance)
        start = time.perf_counter()
        sol = dp.solve(s, exposure_grid=exposure_grid, max_inventory=max_inventory)
        seconds = time.perf_counter() - start
        reduced = int(getattr(sol, "n_reduced_states", getattr(sol, "n_states", 0)))
        full = int(getattr(sol, "n_states", reduced))
        actions = int(getattr(sol, "n_actions", 0))
        iterations = int(getattr(sol, "iterations", 1))
        rate = iterations * reduced * actions / seconds
        name = getattr(getattr(sol, "scenario", None), "name", s.name)
        records.append({"instance": name, "lead_time": s.lead_time.tolist(),
                        "reduced_states": reduced, "full_states": full, "actions": actions,
                        "iterations": iterations, "seconds": seconds,
                        "state_actions_per_s": rate, "gain": float(sol.gain),
                        "converged": bool(getattr(sol, "converged", True))})
        label = "tiny" if index == 0 else "largest variant of tiny within the DP's table limit"
        size = f"{name}: {reduced:,} reduced ({full:,} full) states x {actions:,} actions"
        rows.append(row("dp", f"time to solve, {label} ({size})", fmt(seconds, "s"), "-",
                        float("nan"), "none (reported)", "n/a",
                        f"{iterations} RVI iterations, g* = {float(sol.gain):.4f}"))
        rows.append(row("dp", f"states x actions per second, {label} ({size})",
                        fmt(rate, "state-actions/s"), "-", float("nan"), "none (reported)", "n/a",
                        "iterations x reduced states x joint actions / seconds"))
    return SectionResult(pd.DataFrame(records), rows)
