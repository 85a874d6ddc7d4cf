"""Benchmark section ``stockpyl``: one product under base-stock, simulated by coordlib and by
stockpyl (a reference inventory library), for agreement of costs and for speed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
from scipy import stats

from ..model.evaluation import evaluate, mean_ci
from ..model.policy import joint
from ..model.scenario import Scenario
from ..policies.recommendation import fixed_exposure
from ..policies.replenishment import base_stock
from .common import SectionResult, difference_ci, fmt, fmt_ci, require, row, yes_no


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
        # deferred: stockpyl is the optional extra [bench]
        from stockpyl.newsvendor import newsvendor_poisson_cost
        return float(newsvendor_poisson_cost(self.base_stock_level, self.holding_cost,
                                             self.backlog_cost,
                                             (self.lead_time + 1) * self.mean_demand))


def stockpyl_costs(system: OneProduct, periods: int, warmup: int, seed: int) -> tuple[float, float]:
    """One stockpyl replication: (mean cost per period after the warm-up, seconds it ran)."""
    # deferred: stockpyl is the optional extra [bench]
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
