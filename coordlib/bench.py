"""Benchmarks measured side by side: every figure is a ratio of two measurements taken in one run.

``python -m coordlib bench`` (what ``make bench`` runs) writes ``data/benchmarks/report.md``,
``summary.csv`` (one row per figure) and one CSV per section. Each summary row says what was
measured, the two numbers, their ratio, the target, whether it was met, the machine (cores, CPU
model) and the command that measures it again. Timings of the two sides of a ratio are taken
in alternating rounds, so a burst of load on a shared machine falls on both.

Sections (``--only``), after issue 7 and the "Speed" part of issue 2:

``simulator``
    the full batched step (MODEL.md section 3) against raw Poisson sampling of the same size,
    the floor a step cannot beat. Target: 50% of raw or better at large batches.
``wrappers``
    per-step time of the PettingZoo and Gymnasium wrappers against the raw simulator (no target).
``stockpyl``
    the simulator against stockpyl's simulation of the same single-product base-stock system
    with Poisson demand (backlog variant of MODEL.md section 3): average cost of both, which
    must agree within confidence intervals, and periods per second. Target: 100 times faster.
``dp``
    the exact DP (MODEL.md section 5): states times actions per second, time to solve ``tiny``
    and the largest variant of it within the DP's table limit (no peer: absolute figures).
``learner``
    MTMA (MODEL.md section 6) against Stable-Baselines3 PPO on the Gymnasium form, the same
    budget of environment steps, the same evaluation (:func:`coordlib.evaluate`). Target: MTMA
    ends higher, and reaches SB3's final profit in a third of SB3's time or less.
``reproduce``
    time of the ``smoke`` and ``paper`` reproductions, read from the stamps that
    :mod:`coordlib.reproduce` writes.

A section whose module or optional package is missing gives one row marked ``skipped``
("not available yet") instead of failing the report. Peers used only here (stockpyl,
stable-baselines3) are the optional extra ``bench`` (``pip install .[bench]``).
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .evaluation import evaluate, mean_ci
from .policies import Action, Policy, base_stock, fixed_exposure, joint
from .scenario import Scenario
from .scenarios import get as get_scenario
from .simulator import Observation, Simulator

REPO_DIR = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_DIR / "data" / "benchmarks"
MET = ("yes", "no", "void", "n/a", "skipped")
"""Values of a row's ``met``: target met, not met, comparison void (the two systems disagree,
so their speeds cannot be compared), no target (a figure reported as is), section skipped."""
ROW_FIELDS = ("section", "measured", "ours", "reference", "ratio", "target", "met", "note",
              "machine", "command")


# ---- machinery ----------------------------------------------------------------------------------
def machine() -> str:
    """Cores and CPU model of this machine, as one line."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}"


def side_by_side(*functions: Callable[[], object], rounds: int = 5,
                 min_seconds: float = 0.05) -> tuple[float, ...]:
    """Seconds per call of each function, timed in alternating rounds (median of rounds).

    Each round calls one function repeatedly for at least ``min_seconds``; the functions take
    turns round by round, so slow phases of a shared machine fall on all of them.
    """
    if not functions:
        raise ValueError("side_by_side: give at least one function to time")
    if int(rounds) < 1 or not min_seconds >= 0:
        raise ValueError(f"side_by_side: need rounds >= 1 and min_seconds >= 0, got "
                         f"{rounds!r} and {min_seconds!r}")

    def one_round(fn):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                return elapsed / calls

    for fn in functions:  # warm caches and allocators
        fn()
    seconds = [[] for _ in functions]
    for _ in range(int(rounds)):
        for fn, record in zip(functions, seconds):
            record.append(one_round(fn))
    return tuple(float(np.median(s)) for s in seconds)


class Unavailable(Exception):
    """A section cannot run here: its module is not written yet, or an optional peer is missing."""


def require(module: str, *attributes: str, install: str = ""):
    """Import ``module`` and check it has ``attributes``, or raise :class:`Unavailable` saying why."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        hint = f" (install it: {install})" if install else ""
        raise Unavailable(f"{module} is not available yet{hint}: {exc}") from None
    missing = [a for a in attributes if not hasattr(mod, a)]
    if missing:
        raise Unavailable(f"{module} is not available yet: it has no {', '.join(missing)}")
    return mod


def row(section: str, measured: str, ours: str, reference: str, ratio: float, target: str,
        met: str, note: str = "") -> dict:
    """One summary row; ``machine`` and ``command`` are filled in by :func:`run_sections`."""
    if met not in MET:
        raise ValueError(f"row: met must be one of {MET}, got {met!r}")
    return {"section": section, "measured": measured, "ours": ours, "reference": reference,
            "ratio": float(ratio) if ratio is not None else float("nan"), "target": target,
            "met": met, "note": note, "machine": "", "command": ""}


def skipped_row(section: str, reason: str, measured: str = "") -> dict:
    """The row of a figure that cannot be measured yet, saying why."""
    return row(section, measured or f"{section}: not available yet", "-", "-", float("nan"), "-",
               "skipped", reason)


def yes_no(condition: bool) -> str:
    return "yes" if condition else "no"


def fmt(value: float, unit: str = "", digits: int = 3) -> str:
    """A number with ``digits`` significant digits and its unit, e.g. ``3.2e+06 periods/s``."""
    if value is None or not np.isfinite(value):
        text = "n/a"
    elif value != 0 and (abs(value) >= 10 ** (digits + 2) or abs(value) < 10 ** -(digits)):
        text = f"{value:.{digits - 1}e}"
    else:
        text = f"{value:.{digits}g}"
    return f"{text} {unit}".strip()


def fmt_ci(mean: float, lo: float, hi: float, digits: int = 4) -> str:
    return f"{mean:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"


def difference_ci(a, b, confidence: float = 0.95) -> tuple[float, float, float]:
    """mean(a) - mean(b) with a Welch t-interval (independent samples, unequal variances)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        raise ValueError("difference_ci: need at least two values on each side")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff = float(a.mean() - b.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * se
    return diff, diff - half, diff + half


@dataclass
class SectionResult:
    """What a section returns: its detail table, its summary rows and any further tables."""

    table: pd.DataFrame
    rows: list
    extra: dict = field(default_factory=dict)
    """further tables, name -> DataFrame, written as ``<name>.csv``"""


# ---- 1. the simulator against raw Poisson sampling ----------------------------------------------
def simulator_vs_poisson(scenarios=("tiny", "medium", "large"),
                         product_copies=(1, 10, 100, 1_000, 10_000, 100_000, 1_000_000),
                         rounds: int = 5, min_seconds: float = 0.05) -> pd.DataFrame:
    """Throughput of a full simulator step against drawing its Poisson variates alone.

    A step draws one Poisson variate per segment and product (the demands D_ki) and one per
    segment (the customers who buy nothing): B K (N + 1) variates. The floor draws exactly
    those, with the same means, from the same generator; ``ratio`` = floor time / step time, so
    1.0 would be a step that costs nothing beyond its random numbers. ``ratio_vs_bn`` compares
    with drawing only B N variates (one per product-period), the narrowest reading of the floor.
    The three are timed in alternating rounds. The step runs unchecked (``validate=False``,
    as every wrapper and learner calls it) under uniform exposure and zero orders.
    """
    rows = []
    for name in scenarios:
        s = get_scenario(name)
        N, K = s.n_products, s.n_segments
        for B in sorted({max(1, int(copies) // N) for copies in product_copies}):
            sim = Simulator(s, batch_size=B, seed=0, validate=False)
            x = np.broadcast_to(s.uniform_exposure(), (B, K, N)).copy()
            mean = s.segment_demand_rates(x)
            rest = np.maximum(s.arrival_rate - mean.sum(axis=-1), 0.0)
            per_product = mean.sum(axis=1)
            orders = np.zeros((B, N), dtype=np.int64)
            rng = np.random.default_rng(1)
            step_s, floor_s, bn_s = side_by_side(
                lambda: sim.step(orders, x),
                lambda: (rng.poisson(mean), rng.poisson(rest)),
                lambda: rng.poisson(per_product), rounds=rounds, min_seconds=min_seconds)
            pp = B * N
            rows.append({"scenario": name, "N": N, "K": K, "batch": B, "product_copies": pp,
                         "step_product_periods_per_s": pp / step_s,
                         "floor_product_periods_per_s": pp / floor_s,
                         "bn_floor_product_periods_per_s": pp / bn_s,
                         "ratio": floor_s / step_s, "ratio_vs_bn": bn_s / step_s})
    return pd.DataFrame(rows)


LARGE_BATCH = 100_000
"""Product copies from which a batch counts as large (issue 2: batches up to at least 100,000)."""


def simulator_rows(df: pd.DataFrame, large: int = LARGE_BATCH) -> list[dict]:
    """Both readings of the floor for each scenario, each against 0.5 at large batches.

    A target "at large batches" is met only if it holds at every large batch measured
    (``product_copies >= large``, or the largest batch if none is that large); each row shows
    the large batch with the lowest ratio and lists the others in its note.
    """
    rows = []
    for name, g in df.groupby("scenario", sort=False):
        big = g[g["product_copies"] >= large]
        if big.empty:
            big = g.loc[[g["product_copies"].idxmax()]]
        for column, floor, what, extra in (
                ("ratio", "floor_product_periods_per_s",
                 "its own Poisson draws, B K (N+1) variates", ""),
                ("ratio_vs_bn", "bn_floor_product_periods_per_s",
                 "B N Poisson draws (one per product-period)",
                 "; the narrowest floor, fewer draws than a step needs")):
            worst = big.loc[big[column].idxmin()]
            others = ", ".join(f"{int(r.product_copies):,}: {r[column]:.3g}"
                               for _, r in big.iterrows())
            rows.append(row("simulator",
                            f"full step vs {what}, {name} (N={worst.N}, K={worst.K}), "
                            f"{int(worst.product_copies):,} product copies",
                            fmt(worst.step_product_periods_per_s, "product-periods/s"),
                            fmt(worst[floor], "product-periods/s"), worst[column],
                            ">= 0.5 at large batches", yes_no(bool(big[column].min() >= 0.5)),
                            f"ratio = Poisson time / step time; lowest over large batches "
                            f"(product copies: ratio) {others}{extra}"))
    return rows


def simulator_section(scenarios=("tiny", "medium", "large"),
                      product_copies=(1, 10, 100, 1_000, 10_000, 100_000, 1_000_000),
                      rounds: int = 5, min_seconds: float = 0.05) -> SectionResult:
    table = simulator_vs_poisson(scenarios, product_copies, rounds, min_seconds)
    return SectionResult(table, simulator_rows(table))


# ---- 2. the wrappers against the raw simulator ---------------------------------------------------
WRAPPERS = {"simulator_step": "Simulator.step with action checks",
            "pettingzoo_step": "PettingZoo parallel env step",
            "gymnasium_step": "Gymnasium env step (unwrapped)",
            "gymnasium_make_step": "Gymnasium env step via gymnasium.make (checker wrappers)"}


def wrappers_section(scenarios=("tiny", "medium"), steps: int = 2000, repeats: int = 5,
                     seed: int = 0) -> SectionResult:
    """Per-period time of each wrapper at batch 1 against the unchecked simulator step."""
    envs = require("coordlib.envs", "wrapper_overhead")
    records, rows = [], []
    for name in scenarios:
        result = envs.wrapper_overhead(name, steps=steps, repeats=repeats, seed=seed)
        raw = result["simulator_step_unchecked"]
        for key, label in WRAPPERS.items():
            seconds = result[key]
            records.append({"scenario": result["scenario"], "variant": key,
                            "us_per_step": seconds * 1e6, "raw_us_per_step": raw * 1e6,
                            "overhead_us": (seconds - raw) * 1e6, "ratio": seconds / raw,
                            "steps": result["steps"]})
            rows.append(row("wrappers", f"{label} vs Simulator.step unchecked, {result['scenario']}, batch 1",
                            fmt(seconds * 1e6, "us/step"), fmt(raw * 1e6, "us/step"),
                            seconds / raw, "none (reported)", "n/a",
                            f"ratio = wrapper time / raw step time; overhead "
                            f"{fmt((seconds - raw) * 1e6, 'us')} per step"))
    return SectionResult(pd.DataFrame(records), rows)


# ---- 3. the simulator against stockpyl ----------------------------------------------------------
@dataclass(frozen=True)
class OneProduct:
    """The single-product base-stock system both simulators run (MODEL.md section 3, backlog).

    Demand per period is Poisson(mean_demand) [mu]: one segment of arrival_rate 2 mu, outside
    option and product of equal attraction, no lift, so mu = lambda v / (v_0 + v) exactly.
    Unmet demand is backlogged; per period the cost is h (end-of-period on-hand) plus b
    (end-of-period backlog), exactly stockpyl's holding and stockout costs.
    """

    mean_demand: float = 6.0
    """mu, mean demand per period"""
    lead_time: int = 1
    """L in coordlib's timing: an order placed in period t arrives at the start of t + L"""
    holding_cost: float = 0.5
    """h, per unit on hand at the end of a period"""
    backlog_cost: float = 2.0
    """b, per backlogged unit at the end of a period"""
    level: Optional[int] = None
    """S, the base-stock level; None: the optimal one, the b / (b + h) fractile of L + 1 periods"""

    @property
    def base_stock_level(self) -> int:
        if self.level is not None:
            return int(self.level)
        fractile = self.backlog_cost / (self.backlog_cost + self.holding_cost)
        return int(stats.poisson.ppf(fractile, (self.lead_time + 1) * self.mean_demand))

    @property
    def stockpyl_lead_time(self) -> int:
        """stockpyl's ``shipment_lead_time`` for the same system: L + 1.

        stockpyl orders at the end of a period, after that period's demand, and the order is
        received at the start of the period ``shipment_lead_time`` later; coordlib orders at the
        start of a period, before demand. Ordering at the end of t is ordering at the start of
        t + 1, so both systems see S minus the demand of L + 1 periods at the end of a period.
        """
        return self.lead_time + 1

    def scenario(self) -> Scenario:
        S = self.base_stock_level
        # capacity and max order large enough never to bind (a backlog can exceed S)
        big = int(S + 20 * self.mean_demand + 100)
        return Scenario.from_dict({
            "name": "one-product-backlog",
            "description": "one product, neutral recommendation, Poisson demand, backlog",
            "products": {"price": [10.0], "unit_cost": [5.0], "holding_cost": [self.holding_cost],
                         "lost_sale_penalty": [self.backlog_cost], "lead_time": [self.lead_time],
                         "capacity": [big], "max_order": [big]},
            "segments": {"arrival_rate": [2.0 * self.mean_demand], "outside_attraction": [1.0],
                         "attraction": [[1.0]], "lift": [0.0]},
            "backlog": True, "initial_on_hand": [S]})

    def exact_cost(self) -> float:
        """h E[(S - D)^+] + b E[(D - S)^+] with D ~ Poisson((L + 1) mu) (stockpyl's newsvendor)."""
        from stockpyl.newsvendor import newsvendor_poisson_cost
        return float(newsvendor_poisson_cost(self.base_stock_level, self.holding_cost,
                                             self.backlog_cost,
                                             (self.lead_time + 1) * self.mean_demand))


def stockpyl_costs(system: OneProduct, periods: int, warmup: int, seed: int) -> tuple[float, float]:
    """One stockpyl replication: (mean cost per period after the warm-up, seconds it ran)."""
    from stockpyl import sim
    from stockpyl.supply_chain_network import single_stage_system
    network = single_stage_system(
        local_holding_cost=system.holding_cost, stockout_cost=system.backlog_cost,
        demand_type="P", mean=system.mean_demand, policy_type="BS",
        base_stock_level=system.base_stock_level, shipment_lead_time=system.stockpyl_lead_time)
    start = time.perf_counter()
    sim.simulation(network, periods, rand_seed=seed, progress_bar=False, consistency_checks="N")
    seconds = time.perf_counter() - start
    states = network.nodes[0].state_vars[warmup:periods]
    cost = np.mean([s.holding_cost_incurred + s.stockout_cost_incurred for s in states])
    return float(cost), seconds


def _coordlib_run(scenario: Scenario, level: int, copies: int, periods: int, warmup: int,
                  seed: int) -> tuple[np.ndarray, float]:
    """coordlib.evaluate of base-stock S with neutral exposure: (cost per copy, seconds)."""
    policy = joint(base_stock([level]), fixed_exposure(None))
    start = time.perf_counter()
    frame = evaluate(scenario, policy, replications=copies, periods=periods, warmup=warmup,
                     seed=seed)
    seconds = time.perf_counter() - start
    return (frame["holding_cost"] + frame["penalty_cost"]).to_numpy(), seconds


def stockpyl_section(replications: int = 12, periods: int = 2000, warmup: int = 100,
                     batch: int = 10_000, batch_periods: int = 500, batch_rounds: int = 3,
                     system: OneProduct = OneProduct(), seed: int = 0) -> SectionResult:
    """coordlib against stockpyl on the same single-product base-stock system (backlog).

    Both run the whole simulation as a user would: stockpyl's ``sim.simulation`` (no progress
    bar, no consistency checks: its fastest setting) and :func:`coordlib.evaluate` with the
    base-stock policy. Rounds alternate: one stockpyl replication of ``periods`` periods, one
    coordlib run at batch 1 of ``periods`` periods, and (the first ``batch_rounds`` times) one
    coordlib run of ``batch`` copies x ``batch_periods`` periods. Speed is periods per second
    (copy-periods for the batch), from the median round. The average cost per period after
    ``warmup`` periods is compared with Welch's 95% interval of the difference; if it
    excludes 0 the systems differ and the speed comparison is void.
    """
    require("stockpyl", install="pip install .[bench]")
    require("stockpyl.sim", "simulation")
    s, S = system.scenario(), system.base_stock_level
    sp_cost, sp_time, one_cost, one_time, big_cost, big_time = [], [], [], [], [], []
    for r in range(int(replications)):
        cost, seconds = stockpyl_costs(system, periods, warmup, seed + r)
        sp_cost.append(cost)
        sp_time.append(seconds / periods)
        cost, seconds = _coordlib_run(s, S, 1, periods, warmup, seed + r)
        one_cost.append(float(cost[0]))
        one_time.append(seconds / periods)
        if r < batch_rounds:
            cost, seconds = _coordlib_run(s, S, batch, batch_periods, warmup, seed + 1000 + r)
            big_cost.append(cost)
            big_time.append(seconds / (batch * batch_periods))
    big_cost = np.concatenate(big_cost)
    exact = system.exact_cost()
    sp_mean, sp_lo, sp_hi = mean_ci(sp_cost)
    cl_mean, cl_lo, cl_hi = mean_ci(big_cost)
    diff, diff_lo, diff_hi = difference_ci(big_cost, sp_cost)
    agree = diff_lo <= 0 <= diff_hi
    t_sp, t_one, t_big = (float(np.median(t)) for t in (sp_time, one_time, big_time))
    speedup_big, speedup_one = t_sp / t_big, t_sp / t_one
    what = (f"one product, Poisson({system.mean_demand:g}) demand, backlog, L={system.lead_time} "
            f"(stockpyl shipment_lead_time={system.stockpyl_lead_time}), h={system.holding_cost:g}, "
            f"b={system.backlog_cost:g}, base stock S={S}")
    table = pd.DataFrame([
        {"system": "stockpyl sim.simulation", "batch": 1, "replications": len(sp_cost),
         "periods": periods, "warmup": warmup, "cost": sp_mean, "cost_lo": sp_lo,
         "cost_hi": sp_hi, "seconds_per_period": t_sp, "periods_per_s": 1 / t_sp},
        {"system": "coordlib.evaluate", "batch": 1, "replications": len(one_cost),
         "periods": periods, "warmup": warmup, "cost": float(np.mean(one_cost)),
         "cost_lo": mean_ci(one_cost)[1], "cost_hi": mean_ci(one_cost)[2],
         "seconds_per_period": t_one, "periods_per_s": 1 / t_one},
        {"system": "coordlib.evaluate", "batch": batch, "replications": big_cost.size,
         "periods": batch_periods, "warmup": warmup, "cost": cl_mean, "cost_lo": cl_lo,
         "cost_hi": cl_hi, "seconds_per_period": t_big, "periods_per_s": 1 / t_big},
        {"system": "exact (stockpyl newsvendor_poisson_cost, (L+1) mu)", "batch": np.nan,
         "replications": np.nan, "periods": np.nan, "warmup": np.nan, "cost": exact,
         "cost_lo": exact, "cost_hi": exact, "seconds_per_period": np.nan, "periods_per_s": np.nan},
    ])
    verdict = "agree" if agree else "DISAGREE: speed comparison void"
    rows = [
        row("stockpyl", f"average cost per period (holding + backlog), {what}",
            fmt_ci(cl_mean, cl_lo, cl_hi), fmt_ci(sp_mean, sp_lo, sp_hi), cl_mean / sp_mean,
            "agree within 95% CIs", yes_no(agree),
            f"coordlib: {big_cost.size:,} copies x {batch_periods - warmup} periods; stockpyl: "
            f"{len(sp_cost)} replications x {periods - warmup} periods; difference "
            f"{fmt_ci(diff, diff_lo, diff_hi)} ({verdict}); exact {exact:.4f}"),
        row("stockpyl", f"periods per second, coordlib batched ({batch:,} copies) vs stockpyl, {what}",
            fmt(1 / t_big, "periods/s"), fmt(1 / t_sp, "periods/s"), speedup_big, ">= 100",
            yes_no(speedup_big >= 100) if agree else "void",
            "ratio = stockpyl time per period / coordlib time per copy-period"),
        row("stockpyl", f"periods per second, coordlib at batch 1 vs stockpyl, {what}",
            fmt(1 / t_one, "periods/s"), fmt(1 / t_sp, "periods/s"), speedup_one, ">= 100",
            yes_no(speedup_one >= 100) if agree else "void",
            "ratio = stockpyl time / coordlib time per period; coordlib.evaluate with action checks"),
    ]
    return SectionResult(table, rows)


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
    that the DP accepts by default (``coordlib.dp.DEFAULT_MAX_TABLE``)."""
    dp = require("coordlib.dp", "solve", "problem_size")
    tiny, *variants = dp_candidates()
    limit = getattr(dp, "DEFAULT_MAX_TABLE", float("inf"))
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
    :mod:`coordlib.dp`; the full Markov states are reported beside it).
    """
    dp = require("coordlib.dp", "solve")
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


# ---- 5. the learner against Stable-Baselines3 PPO -----------------------------------------------
class SB3Policy(Policy):
    """A Stable-Baselines3 model as a coordlib policy, so :func:`coordlib.evaluate` can run it.

    Builds each copy's flat joint observation exactly as ``coordlib/Coordination-v0`` does
    (:func:`coordlib.envs.observation_layout` with the env's ``max_periods``), normalizes it with
    the training ``VecNormalize`` statistics if given, takes the model's deterministic action
    and decodes it as the env does (:func:`coordlib.envs.decode_joint_action`).
    """

    def __init__(self, model, normalizer=None, max_periods: int = 200, name: str = "sb3-ppo"):
        self.model, self.normalizer, self.max_periods, self.name = model, normalizer, max_periods, name

    def reset(self, scenario, batch_size, rng):
        from .envs import observation_layout
        super().reset(scenario, batch_size, rng)
        self.layout = observation_layout(scenario, "joint", self.max_periods)

    def flat_observation(self, observation: Observation) -> np.ndarray:
        """(B, D) float32, what the env would return for each copy."""
        return self.layout.flatten(observation)

    def act(self, observation: Observation) -> Action:
        from .envs import decode_joint_action
        flat = self.flat_observation(observation)
        if self.normalizer is not None:
            flat = self.normalizer.normalize_obs(flat)
        action, _ = self.model.predict(flat, deterministic=True)
        action = np.clip(np.asarray(action, dtype=np.float64), 0.0, 1.0)
        orders, exposure = decode_joint_action(self.scenario, action)
        return Action(orders, exposure)


@dataclass(frozen=True)
class LearnerBudget:
    """What both learners get on one scenario, and how both are evaluated."""

    env_steps: int = 122_880
    """environment steps (periods x copies) each learner trains for"""
    n_envs: int = 64
    """MTMA's simulator copies per iteration (iteration = n_envs x rollout_length steps)"""
    rollout_length: int = 32
    """MTMA's periods per copy per iteration"""
    sb3_envs: int = 8
    """SB3's environments (DummyVecEnv); its rollout is the same size as an MTMA iteration"""
    checkpoints: int = 10
    """evaluations during training (plus the final one), for the time to reach a profit"""
    replications: int = 20
    periods: int = 500
    warmup: int = 100
    eval_seed: int = 0
    seed: int = 0
    threads: int = 1
    """torch CPU threads of both learners"""

    @property
    def steps_per_iteration(self) -> int:
        return self.n_envs * self.rollout_length

    @property
    def iterations(self) -> int:
        return max(1, self.env_steps // self.steps_per_iteration)

    @property
    def every(self) -> int:
        return max(1, self.iterations // max(1, self.checkpoints))

    def evaluate(self, scenario, policy) -> tuple[float, float, float]:
        frame = evaluate(scenario, policy, replications=self.replications, periods=self.periods,
                         warmup=self.warmup, seed=self.eval_seed)
        return mean_ci(frame["profit"])


LEARNER_BUDGETS = {"tiny": LearnerBudget(env_steps=122_880),
                   "medium": LearnerBudget(env_steps=61_440, checkpoints=6)}
"""The default budgets: about a minute of MTMA and two of SB3 per scenario on 2 cores."""


def train_mtma(scenario, budget: LearnerBudget, config: str = "mtma") -> pd.DataFrame:
    """Train an MTMA configuration; evaluate at checkpoints (training seconds exclude them)."""
    training = require("coordlib.training", "train", "config_for")
    cfg = training.config_for(config, iterations=budget.iterations, n_envs=budget.n_envs,
                              rollout_length=budget.rollout_length, seed=budget.seed,
                              threads=budget.threads,
                              minibatches=math.gcd(budget.n_envs, 4))
    curve = []

    def checkpoint(learner, step_row):
        if learner.iteration % budget.every == 0 or learner.iteration == budget.iterations:
            mean, lo, hi = budget.evaluate(scenario, learner.policy())
            curve.append({"learner": config, "env_steps": int(step_row["env_steps"]),
                          "train_seconds": float(step_row["wall_time"]), "profit": mean,
                          "profit_lo": lo, "profit_hi": hi})

    training.train(scenario, cfg, progress=False, evaluate_policy=False, callback=checkpoint)
    return pd.DataFrame(curve)


def train_sb3(scenario, budget: LearnerBudget) -> pd.DataFrame:
    """Train SB3 PPO on ``coordlib/Coordination-v0`` (flat Box action); evaluate at checkpoints.

    PPO with SB3's default hyperparameters (learning rate 3e-4, 10 epochs, minibatches of 64,
    gamma 0.99, GAE 0.95, clip 0.2, an MLP of 64 x 64) on ``sb3_envs`` environments whose
    rollouts add up to one MTMA iteration, with ``VecNormalize`` on observations and rewards
    (the standard recipe for continuous-control PPO; counts and profits are far from unit
    scale). Episodes last ``budget.periods`` periods, the evaluation horizon, so the period t
    in the observation stays within what training showed.
    """
    import gymnasium
    import torch
    require("stable_baselines3", "PPO", install="pip install .[bench]")
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize
    from .envs import ENV_ID

    s = get_scenario(scenario)
    torch.set_num_threads(budget.threads)
    venv = VecNormalize(DummyVecEnv([lambda: Monitor(gymnasium.make(ENV_ID, scenario=s,
                                                                     max_periods=budget.periods))
                                     for _ in range(budget.sb3_envs)]), gamma=0.99)
    n_steps = budget.steps_per_iteration // budget.sb3_envs
    model = PPO("MlpPolicy", venv, n_steps=n_steps, batch_size=min(64, n_steps * budget.sb3_envs),
                seed=budget.seed, device="cpu", verbose=0)
    curve = []

    class Checkpoints(BaseCallback):
        def _on_training_start(self):
            self.start, self.paused = time.perf_counter(), 0.0

        def _evaluate(self):
            now = time.perf_counter()
            policy = SB3Policy(model, venv, max_periods=budget.periods)
            mean, lo, hi = budget.evaluate(s, policy)
            curve.append({"learner": "sb3_ppo", "env_steps": int(self.num_timesteps),
                          "train_seconds": now - self.start - self.paused, "profit": mean,
                          "profit_lo": lo, "profit_hi": hi})
            self.paused += time.perf_counter() - now

        def _on_rollout_start(self):
            done = self.num_timesteps // budget.steps_per_iteration
            if done and done % budget.every == 0 and done < budget.iterations:
                self._evaluate()

        def _on_step(self):
            return True

        def _on_training_end(self):
            self._evaluate()

    model.learn(total_timesteps=budget.iterations * budget.steps_per_iteration,
                callback=Checkpoints())
    return pd.DataFrame(curve)


def time_to_reach(curve: pd.DataFrame, profit: float) -> float:
    """Training seconds at the first checkpoint whose evaluated profit is >= ``profit`` (nan: never)."""
    hit = curve[curve["profit"] >= profit]
    return float(hit["train_seconds"].iloc[0]) if len(hit) else float("nan")


def learner_rows(name: str, mtma: pd.DataFrame, sb3: pd.DataFrame, budget: LearnerBudget) -> list[dict]:
    m, b = mtma.iloc[-1], sb3.iloc[-1]
    what = (f"{name}, {budget.iterations * budget.steps_per_iteration:,} env steps each, evaluated "
            f"on {budget.replications} x {budget.periods} periods (warm-up {budget.warmup})")
    higher = m.profit_lo > b.profit_hi
    ratio = m.profit / b.profit if b.profit > 0 and m.profit > 0 else float("nan")
    reach = time_to_reach(mtma, b.profit)
    reach_ratio = reach / b.train_seconds
    speed = (m.env_steps / m.train_seconds) / (b.env_steps / b.train_seconds)
    return [
        row("learner", f"final profit per period, MTMA vs SB3 PPO, {what}",
            fmt_ci(m.profit, m.profit_lo, m.profit_hi), fmt_ci(b.profit, b.profit_lo, b.profit_hi),
            ratio, "MTMA ends higher (95% CIs apart)", yes_no(bool(higher)),
            f"difference {m.profit - b.profit:+.4g}; ratio = MTMA / SB3 (none if a profit is "
            "not positive); SB3: PPO defaults with VecNormalize (coordlib.bench.train_sb3)"),
        row("learner", f"training seconds to reach SB3's final profit ({b.profit:.4g}), {what}",
            fmt(reach, "s") if np.isfinite(reach) else "not reached",
            fmt(b.train_seconds, "s (SB3's whole run)"), reach_ratio, "<= 0.333",
            yes_no(bool(np.isfinite(reach) and reach_ratio <= 1 / 3)),
            f"MTMA's first checkpoint at or above it (checkpoints every "
            f"{budget.every * budget.steps_per_iteration:,} steps, so an upper bound); "
            "evaluation time excluded on both sides"),
        row("learner", f"training env steps per second, MTMA vs SB3 PPO, {name}",
            fmt(m.env_steps / m.train_seconds, "steps/s"),
            fmt(b.env_steps / b.train_seconds, "steps/s"), speed, "none (reported)", "n/a",
            f"MTMA: {budget.n_envs} copies x {budget.rollout_length} periods per iteration; "
            f"SB3: {budget.sb3_envs} envs x {budget.steps_per_iteration // budget.sb3_envs} steps per rollout; "
            f"{budget.threads} torch thread(s) each"),
    ]


def learner_section(budgets: Optional[dict] = None,
                    echo: Callable[[str], None] = lambda m: print(m, flush=True)) -> SectionResult:
    """MTMA against SB3 PPO per scenario, with the same budget and the same evaluation.

    ``budgets``: scenario name -> :class:`LearnerBudget` (default :data:`LEARNER_BUDGETS`).
    """
    require("coordlib.training", "train", "config_for")
    require("stable_baselines3", "PPO", install="pip install .[bench]")
    budgets = LEARNER_BUDGETS if budgets is None else budgets
    curves, rows, records = [], [], []
    for name, budget in budgets.items():
        steps = budget.iterations * budget.steps_per_iteration
        echo(f"[bench] learner: MTMA on {name}, {steps:,} env steps ...")
        mtma = train_mtma(name, budget)
        echo(f"[bench] learner: SB3 PPO on {name}, {steps:,} env steps ...")
        sb3 = train_sb3(name, budget)
        for frame in (mtma, sb3):
            frame.insert(0, "scenario", name)
            curves.append(frame)
            last = frame.iloc[-1]
            records.append({"scenario": name, "learner": last.learner, "env_steps": last.env_steps,
                            "train_seconds": last.train_seconds, "profit": last.profit,
                            "profit_lo": last.profit_lo, "profit_hi": last.profit_hi,
                            "steps_per_s": last.env_steps / last.train_seconds})
        rows += learner_rows(name, mtma, sb3, budget)
    return SectionResult(pd.DataFrame(records), rows,
                         {"learner_curves": pd.concat(curves, ignore_index=True)})


# ---- 6. the reproductions -----------------------------------------------------------------------
def reproduce_section(root: Path = REPO_DIR, profiles=("smoke", "paper")) -> SectionResult:
    """Seconds of each profile's reproduction: the sum of ``seconds`` over its stamps.

    Stamps live in ``build/<profile>/stamps/*.json``, one per notebook, written when the notebook
    last ran (a cached notebook keeps its earlier stamp).
    """
    try:
        from .reproduce import load_manifest
        expected = len(load_manifest())
    except Exception:              # no manifest yet: count what is there
        expected = None
    records, rows, totals = [], [], {}
    for profile in profiles:
        folder = Path(root) / "build" / profile / "stamps"
        stamps = sorted(folder.glob("*.json")) if folder.is_dir() else []
        for path in stamps:
            try:
                record = json.loads(path.read_text())
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "seconds" in record:
                records.append({"profile": profile, "notebook": record.get("notebook", path.stem),
                                "stamp": path.stem, "seconds": float(record["seconds"])})
        found = [r for r in records if r["profile"] == profile]
        if not found:
            rows.append(skipped_row("reproduce", f"no stamps with 'seconds' in {folder} "
                                    f"(run: python -m coordlib reproduce --profile {profile})",
                                    f"time of the {profile} reproduction: not available yet"))
            continue
        totals[profile] = sum(r["seconds"] for r in found)
        of = f" of {expected}" if expected is not None else ""
        rows.append(row("reproduce", f"time of the {profile} reproduction ({len(found)}{of} notebooks stamped)",
                        fmt(totals[profile], "s"), "-", float("nan"), "none (reported)", "n/a",
                        f"sum of 'seconds' in {folder.relative_to(root) if folder.is_relative_to(root) else folder}; "
                        "each stamp is the notebook's last regeneration"))
    if len(totals) == 2 and all(totals.values()):
        rows.append(row("reproduce", "paper reproduction vs smoke reproduction",
                        fmt(totals["paper"], "s"), fmt(totals["smoke"], "s"),
                        totals["paper"] / totals["smoke"], "none (reported)", "n/a",
                        "ratio = paper seconds / smoke seconds"))
    return SectionResult(pd.DataFrame(records, columns=["profile", "notebook", "stamp", "seconds"]),
                         rows)


# ---- sections, budgets and the report -----------------------------------------------------------
SECTIONS: dict[str, Callable[..., SectionResult]] = {
    "simulator": simulator_section, "wrappers": wrappers_section, "stockpyl": stockpyl_section,
    "dp": dp_section, "learner": learner_section, "reproduce": reproduce_section}

QUICK = {
    "simulator": dict(product_copies=(1, 1_000, 100_000), rounds=2, min_seconds=0.02),
    "wrappers": dict(scenarios=("tiny",), steps=500, repeats=2),
    "stockpyl": dict(replications=3, periods=600, warmup=100, batch=1000, batch_periods=300,
                     batch_rounds=2),
    "dp": dict(instances=["tiny"], max_inventory=8),
    "learner": dict(budgets={"tiny": LearnerBudget(env_steps=8192, checkpoints=2,
                                                   replications=8, periods=200, warmup=50)}),
    "reproduce": {},
}
"""Short budgets for ``--quick``: a check that every section runs, not figures to report."""


def run_sections(names: Sequence[str], quick: bool = False, overrides: Optional[dict] = None,
                 echo: Callable[[str], None] = print) -> dict[str, SectionResult]:
    """Run the named sections; a section that cannot run gives a ``skipped`` row."""
    results, host = {}, machine()
    for name in names:
        if name not in SECTIONS:
            raise ValueError(f"unknown section {name!r}; known: {', '.join(SECTIONS)}")
        kwargs = {**(QUICK[name] if quick else {}), **((overrides or {}).get(name, {}))}
        echo(f"[bench] {name} ...")
        start = time.perf_counter()
        try:
            result = SECTIONS[name](**kwargs)
        except Unavailable as exc:
            result = SectionResult(pd.DataFrame(), [skipped_row(name, str(exc))])
        command = f"python -m coordlib bench --only {name}" + (" --quick" if quick else "")
        for r in result.rows:
            r["machine"], r["command"] = host, command
        results[name] = result
        echo(f"[bench] {name}: {time.perf_counter() - start:.1f} s")
        for r in result.rows:
            echo(f"  {r['met']:>7}  {r['measured']}: {r['ours']} vs {r['reference']}, "
                 f"ratio {fmt(r['ratio'])} (target {r['target']})")
    return results


def _versions() -> str:
    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for module in ("torch", "stockpyl", "stable_baselines3"):
        try:
            parts.append(f"{module} {importlib.import_module(module).__version__}")
        except Exception:
            pass
    return ", ".join(parts)


def write_report(results: dict[str, SectionResult], out: Path, command: str = "",
                 seconds: Optional[float] = None) -> Path:
    """Write ``report.md``, ``summary.csv`` and each section's tables (CSV) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [r for res in results.values() for r in res.rows]
    summary = pd.DataFrame(rows, columns=list(ROW_FIELDS))
    summary.to_csv(out / "summary.csv", index=False)
    for name, res in results.items():
        if len(res.table):
            res.table.to_csv(out / f"{name}.csv", index=False)
        for extra, table in res.extra.items():
            table.to_csv(out / f"{extra}.csv", index=False)
    shown = summary.copy()
    shown["command"] = [f"`{c}`" if c else "" for c in summary["command"]]
    shown["ratio"] = [fmt(v) if np.isfinite(v) else "-" for v in summary["ratio"]]
    host = rows[0]["machine"] if rows else machine()
    lines = ["# Benchmarks", "",
             f"Machine: {host}. {_versions()}. Generated {time.strftime('%Y-%m-%d %H:%M')}"
             + (f" in {seconds:.0f} s" if seconds is not None else "")
             + (f" by `{command}`" if command else "") + ".", "",
             "Each ratio compares two measurements taken side by side in one run (alternating "
             "rounds, median), so the figures hold on this machine at this load; the absolute "
             "numbers are noisy on a shared machine, the ratios much less.", "",
             "## Summary", "",
             shown.to_markdown(index=False) if len(shown) else "(no rows)", ""]
    missed = summary[summary["met"].isin(["no", "void"])]
    lines += ["## Targets not met", ""]
    lines += ([f"- **{r.measured}**: {r.ours} vs {r.reference}, ratio {fmt(r.ratio)}, target "
               f"{r.target} ({'comparison void' if r.met == 'void' else 'not met'})"
               for r in missed.itertuples()] or ["Every target measured in this run was met."])
    skipped = summary[summary["met"] == "skipped"]
    if len(skipped):
        lines += ["", "Not measured in this run:", ""]
        lines += [f"- {r.section}: {r.note}" for r in skipped.itertuples()]
    for name, res in results.items():
        if len(res.table):
            lines += ["", f"## {name}", "", res.table.to_markdown(index=False, floatfmt=".4g")]
    lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_readme(readme: Path, summary_csv: Path) -> bool:
    """Quote the report's rows that carry a target in the README's bench block.

    The block is rewritten from ``summary.csv`` of the last full ``make bench``, so the README
    quotes exactly what the report measured. Returns whether the README changed.
    """
    readme, summary_csv = Path(readme), Path(summary_csv)
    if not (readme.is_file() and summary_csv.is_file()):
        return False
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    summary = pd.read_csv(summary_csv, keep_default_na=False)
    rows = summary[summary["met"].isin(["yes", "no", "void"])]
    lines = [README_START, "| measured | ours | reference | ratio | target | met |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows.itertuples():
        ratio = fmt(float(r.ratio)) if str(r.ratio) not in ("", "nan") else "-"
        lines.append(f"| {r.measured} | {r.ours} | {r.reference} | {ratio} | {r.target} | {r.met} |")
    machine_line = rows["machine"].iloc[0] if len(rows) else machine()
    lines += ["", f"Measured by `make bench` on {machine_line}; the full report, with the "
              "commands, is [data/benchmarks/report.md](data/benchmarks/report.md).", README_END]
    head, rest = text.split(README_START, 1)
    new = head + "\n".join(lines) + rest.split(README_END, 1)[1]
    if new == text:
        return False
    readme.write_text(new)
    return True


def cli(argv) -> int:
    parser = argparse.ArgumentParser(prog="coordlib bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections among {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder")
    parser.add_argument("--quick", action="store_true",
                        help="short budgets (a check that each section runs, not for the report)")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        parser.error(f"unknown section(s) {unknown}; known: {', '.join(SECTIONS)}")
    command = "python -m coordlib bench" + (f" --only {','.join(chosen)}"
                                            if chosen != list(SECTIONS) else "")
    command += " --quick" if args.quick else ""
    start = time.perf_counter()
    results = run_sections(chosen, quick=args.quick, echo=lambda m: print(m, flush=True))
    path = write_report(results, args.out, command, time.perf_counter() - start)
    print(f"[bench] report: {path}")
    if chosen == list(SECTIONS) and not args.quick and args.out == DEFAULT_OUT:
        if update_readme(DEFAULT_OUT.parent.parent / "README.md", path.parent / "summary.csv"):
            print("[bench] quoted the targets in README.md")
    return 0


__all__ = ["machine", "side_by_side", "Unavailable", "require", "SectionResult", "SECTIONS",
           "QUICK", "run_sections", "write_report", "simulator_vs_poisson", "simulator_section",
           "wrappers_section", "OneProduct", "stockpyl_section", "dp_candidates", "dp_instances",
           "dp_section", "SB3Policy",
           "LearnerBudget", "LEARNER_BUDGETS", "train_mtma", "train_sb3", "time_to_reach",
           "learner_section", "reproduce_section", "difference_ci", "update_readme", "cli"]
