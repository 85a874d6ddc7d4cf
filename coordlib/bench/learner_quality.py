"""Benchmark section ``learner-quality``: how close MTMA comes to the best known value, row by row.

Every change to the learner is judged here. A fixed panel of instances (:data:`PANEL`) is
trained at a fixed budget with several seeds, and each trained policy is held against the
best known policy of its instance, evaluated on the same random stream:

- the exact optimum of the DP (``tiny``, ``tiny-margin``, ``tiny-personal`` and the
  capacity-binding ``tiny-capacity``): the DP policy, gain g*;
- the optimal policy of Zipkin's (2008) lost-sales instances (five of the sixteen, L = 1 to
  4), with the best base-stock beside it;
- on ``medium``, the best of the heuristic firms (siloed, coordinated, margin-greedy) and the
  static-coordination optimum, the best read from the same streams;
- on ``family-100``, the static-coordination optimum (:mod:`coordlib.exact.static_coordination`).

**The gap of a row** is 100 (reference - learner) / |reference value| per seed, the profit per
period of both read on the seed's own evaluation stream
(:func:`coordlib.learning.runs.evaluation_seed`), and the reference value its exact gain where
there is one (g*, the optimal cost, the static optimum's gain), else its simulated mean. A gap
of 1 means the learner earns 1% of the reference less; on Zipkin's instances it is the cost
above the optimum in percent of the optimal cost. Its interval is the t-interval across the
seeds: it holds the training noise and the evaluation noise, and the common stream removes
most of the evaluation noise the two policies share (all of it on Zipkin's instances, where
demand does not depend on the action).

**Against the previous version.** The committed result (``data/benchmarks/learner-quality-
runs.csv``, one row per panel row and seed, with the code version that made it) is read before
the panel runs, and each row's change of gap is given with its Welch interval at
:data:`CHANGE_CONFIDENCE` (90%: its ends are one-sided 95% bounds): a row **got worse** when
the interval lies above zero, that is when the one-sided test of "no worse" rejects at 5%.
With three to five seeds a row alone detects only large changes, so the rows of one kind (the
four DP instances, the five Zipkin instances) are also judged together
(:func:`_group_record`: the mean of their gaps, each row's seeds a stratum), which catches a
change of a fraction of a point spread over every row.

**The gate** (``--gate``) fails on a group that got worse at 5%, on a row that got worse at 5%
over the rows together (Bonferroni, :data:`GATE_LEVEL`), and on a row whose change has no
interval (a single seed on either side). Rows printed "worse" that do not fail the gate are
worth a look, not a rejection: eleven rows at 5% each flag one of them in about four runs of
ten for a change that does nothing to the learner. A gated run replaces the committed result
only when it passes; a failing one writes its report to ``build/bench-gate``.

**A trial** of a change before it becomes the default (``--rows``, ``--seeds``, ``--set
FIELD=VALUE``, :func:`trial_panel`) trains some rows, with other seeds or TrainConfig settings,
and is compared with the committed result in the same report; it writes to ``build/bench-trial``
and never replaces the committed result. Three seeds on three rows detect only large changes:
a setting chosen on a trial is judged on the whole panel before it is kept.

The panel's budgets are those of the paper profile (E3's 300 iterations x 64 copies on the
two-product instances and on medium, E11's 300 x 64 on Zipkin's with its 64
order-up-to levels, E7's 400 x 8 on family-100), so a change the panel passes does not move
the published tables the other way.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd
from scipy import stats

from ..exact import dp
from ..exact.single_product import best_base_stock, zipkin_instance
from ..exact.static_coordination import static_coordination
from ..exact.zipkin import LEARNER_SETTINGS as ZIPKIN_SETTINGS
from ..exact.zipkin import zipkin_optimum, zipkin_scenario
from ..learning.config import config_for
from ..learning.runs import evaluation_seed
from ..learning.training import seeded_run
from ..model import scenarios
from ..model.evaluation import evaluate
from ..model.policy import joint
from ..model.scenario import Scenario
from ..pipeline.results import code_version, git_revision
from ..policies.firms import firm
from ..policies.recommendation import fixed_exposure
from ..policies.replenishment import base_stock
from .common import DEFAULT_OUT, SectionResult, row

CHANGE_CONFIDENCE = 0.90
"""Confidence of the interval of a row's change against the previous result: its low end is a
one-sided 95% bound, so "worse" is the one-sided 5% test of no change."""
GATE_LEVEL = 0.05
"""Family-wise level of ``--gate`` over the rows: a row fails the gate when its one-sided
Welch test of "no worse" rejects at GATE_LEVEL / (rows compared) (Bonferroni); each group of
rows (:data:`GROUPS`) fails it at GATE_LEVEL."""
RUNS_FILE = "learner-quality-runs.csv"
"""Per panel row and seed: the learner's and the reference's profits on one stream, the gap."""
TARGETS = {
    "optimum": "gap <= 0.5% (>= 99.5% of g*)",
    "zipkin": "gap <= 2% and cost below the best base-stock's",
    "best-heuristic": "interval reaches the best heuristic (low end <= 0), mean gap <= 1%",
    "static": "interval reaches the static optimum (low end <= 0), mean gap <= 1%",
}
"""What a row is held against, and its target (:func:`target_met` decides it): the DP optimum,
Zipkin's optimum (with the best base-stock beside it), the best heuristic firm or static optimum
on the same streams, the static-coordination optimum."""


@dataclass(frozen=True)
class PanelRow:
    """One instance of the panel: what is trained, how long, and what it is held against."""

    name: str
    """the row's label, e.g. ``"zipkin L=4 p=9"``"""
    scenario: str
    """a shipped scenario's name, or ``"zipkin:L:p"`` for Zipkin's instance (L, p)"""
    reference: str
    """what it is held against: a key of :data:`TARGETS`"""
    iterations: int
    """training iterations of every seed"""
    n_envs: int
    """simulator copies per rollout"""
    seeds: tuple = (0, 1, 2)
    """training seeds; each is evaluated on its own stream"""
    settings: dict = field(default_factory=dict)
    """further TrainConfig overrides of the row (those the paper profile uses there)"""
    evaluation: tuple = (20, 500, 100)
    """replications, periods and warm-up of every evaluation"""

    def __post_init__(self):
        if self.reference not in TARGETS:
            raise ValueError(f"PanelRow {self.name!r}: reference must be one of "
                             f"{', '.join(TARGETS)}, got {self.reference!r}")
        if len(set(self.seeds)) < 2:
            raise ValueError(f"PanelRow {self.name!r}: needs at least two distinct seeds (a "
                             f"row's change is judged by their spread), got {self.seeds}")
        if self.reference == "zipkin" or self.scenario.startswith("zipkin:"):
            parts = self.scenario.split(":")
            if len(parts) != 3 or not all(p.isdigit() for p in parts[1:]):
                raise ValueError(f"PanelRow {self.name!r}: scenario must read 'zipkin:L:p' "
                                 f"with whole L and p, got {self.scenario!r}")

    @property
    def target(self) -> str:
        return TARGETS[self.reference]

    def build(self) -> Scenario:
        if self.scenario.startswith("zipkin:"):
            _, lead_time, penalty = self.scenario.split(":")
            return zipkin_scenario(float(penalty), int(lead_time))
        return scenarios.get(self.scenario)


def _zipkin(lead_time: int, penalty: int) -> PanelRow:
    return PanelRow(f"zipkin L={lead_time} p={penalty}", f"zipkin:{lead_time}:{penalty}", "zipkin",
                    iterations=300, n_envs=64, seeds=(0, 1, 2, 3, 4),
                    settings=dict(ZIPKIN_SETTINGS), evaluation=(32, 2000, 200))


PANEL: tuple[PanelRow, ...] = (
    *(PanelRow(name, name, "optimum", iterations=300, n_envs=64, seeds=(0, 1, 2, 3, 4))
      for name in ("tiny", "tiny-margin", "tiny-personal", "tiny-capacity")),
    *(_zipkin(L, p) for L, p in ((1, 9), (2, 4), (3, 19), (4, 9), (4, 39))),
    PanelRow("medium", "medium", "best-heuristic", iterations=300, n_envs=64),
    PanelRow("family-100", "family-100", "static", iterations=400, n_envs=8,
             settings={"replenisher_credit": "product"}, evaluation=(6, 300, 100)),
)
"""The panel: what each past learner change broke or could break (lost sales with lead times up
to 4, a binding capacity, two segments, margins, ten products with lead times 1-3, N = 100)."""


def trial_panel(panel=PANEL, rows=None, seeds=None, settings=None) -> tuple[PanelRow, ...]:
    """The panel for a trial of a learner change before it becomes the default: only the rows
    named in ``rows`` (all by default), trained with ``seeds`` (each row's own by default) and
    with the TrainConfig ``settings`` on every row, over the row's own; ``iterations`` and
    ``n_envs`` replace the row's budget, and the seed and the evaluation stay the panel's.
    The command line: ``coordlib bench --only learner-quality --rows ... --seeds ... --set
    FIELD=VALUE``."""
    names = [r.name for r in panel]
    unknown = [r for r in rows or () if r not in names]
    if unknown:
        raise ValueError(f"rows {unknown} are not in the panel; its rows: {', '.join(names)}")
    settings = dict(settings or {})
    fixed = sorted(k for k in settings if k == "seed" or k.startswith("eval_"))
    if fixed:
        raise ValueError(f"{', '.join(fixed)}: set by the panel (each seed is evaluated on its "
                         "own stream, as the committed result is); give seeds with --seeds")
    config_for("mtma", **settings)                     # a bad field or value, named, now
    budget = {k: int(settings.pop(k)) for k in ("iterations", "n_envs") if k in settings}
    chosen = [r for r in panel if not rows or r.name in rows]
    return tuple(replace(
        r, seeds=tuple(seeds) if seeds is not None else r.seeds,
        settings={**r.settings, **settings}, **budget) for r in chosen)


# ---- the jobs (each in its own process) -----------------------------------------------------
def learner_job(panel_row: PanelRow, seed: int) -> dict:
    """Train MTMA on the row's instance with one seed; its profit on the seed's stream."""
    scenario = panel_row.build()
    replications, periods, warmup = panel_row.evaluation
    result = seeded_run(scenario, "mtma", seed, panel_row.iterations, n_envs=panel_row.n_envs,
                        eval_replications=replications, eval_periods=periods,
                        eval_warmup=warmup, **panel_row.settings)
    return {"row": panel_row.name, "seed": int(seed),
            "learner": float(result.summary["profit"]),
            "train_seconds": float(result.summary["train_seconds"])}


def _references(panel_row: PanelRow, scenario: Scenario) -> dict:
    """name -> (policy, exact gain or None) of the row's reference kind."""
    kind = panel_row.reference
    if kind == "optimum":
        solution = dp.solve(scenario)
        return {"DP optimum": (solution.policy, float(solution.gain))}
    if kind == "zipkin":
        _, lead_time, penalty = panel_row.scenario.split(":")
        policy, gain = zipkin_optimum(float(penalty), int(lead_time))
        best = best_base_stock(**zipkin_instance(float(penalty), int(lead_time)))
        return {"optimum": (policy, gain),
                f"best base-stock S={best.level}": (
                    joint(base_stock([best.level]), fixed_exposure(None)), -float(best.cost))}
    static = static_coordination(scenario, grid_points=10)
    references = {"static-coordination optimum": (static.policy(), float(static.gain))}
    if kind == "best-heuristic":
        for name in ("siloed", "coordinated", "margin-greedy"):
            references[name] = (firm(scenario, name, 0), None)
    return references


def reference_job(panel_row: PanelRow) -> list[dict]:
    """Every reference policy of the row on every seed's evaluation stream."""
    scenario = panel_row.build()
    replications, periods, warmup = panel_row.evaluation
    out = []
    for name, (policy, exact) in _references(panel_row, scenario).items():
        for seed in panel_row.seeds:
            frame = evaluate(scenario, policy, replications, periods, warmup,
                             seed=evaluation_seed(int(seed)))
            out.append({"row": panel_row.name, "seed": int(seed), "reference": name,
                        "profit": float(frame["profit"].mean()), "exact": exact})
    return out


def _run_job(job: tuple):
    kind, panel_row, seed = job
    return kind, (learner_job(panel_row, seed) if kind == "learner" else reference_job(panel_row))


def run_panel(panel=PANEL, workers: Optional[int] = None,
              echo: Callable[[str], None] = print) -> pd.DataFrame:
    """Train and evaluate every (row, seed) of ``panel`` in ``workers`` processes (default: the
    CPUs); one row per (panel row, seed) with the gap (see :func:`panel_runs`)."""
    workers = max(1, int(workers or os.cpu_count() or 1))
    jobs = [("reference", r, None) for r in panel]
    jobs += [("learner", r, s) for r in panel for s in r.seeds]
    # the references first (they solve a DP or a static optimum), then the longest learners
    jobs.sort(key=lambda j: -(j[1].iterations * j[1].n_envs * j[1].build().n_products
                              if j[0] == "learner" else math.inf))
    learners, references = [], []
    version = code_version(), git_revision()    # of the code the workers import, at their start
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {pool.submit(_run_job, job): job for job in jobs}
        for done in as_completed(futures):
            kind, value = done.result()
            if kind == "learner":
                learners.append(value)
                echo(f"  {value['row']} seed {value['seed']}: {value['learner']:.4g} "
                     f"({value['train_seconds']:.0f} s of training)")
            else:
                references.extend(value)
    return panel_runs(panel, pd.DataFrame(learners), pd.DataFrame(references), version)


def panel_runs(panel, learners: pd.DataFrame, references: pd.DataFrame,
               version: Optional[tuple] = None) -> pd.DataFrame:
    """One row per (panel row, seed): the learner's profit, its reference's on the same stream,
    the reference value (exact where known) and ``gap_pct``; ``version`` (code version, git
    revision) names the code that trained them (default: the repository's now).

    The reference of a row is its first reference (the optimum, the static optimum), except on
    ``best-heuristic`` rows, where it is the reference with the highest mean over the seeds'
    streams. Zipkin's rows also carry ``base_stock`` (the best base-stock on the same stream).
    """
    rows = []
    for panel_row in panel:
        refs = references[references["row"] == panel_row.name]
        means = refs.groupby("reference", sort=False)["profit"].mean()
        chosen = means.idxmax() if panel_row.reference == "best-heuristic" else means.index[0]
        for _, run in learners[learners["row"] == panel_row.name].sort_values("seed").iterrows():
            on_stream = refs[refs["seed"] == run["seed"]].set_index("reference")
            ref = on_stream.loc[chosen]
            exact = ref["exact"]
            value = float(exact) if exact is not None and np.isfinite(exact) else \
                float(means[chosen])
            gap = 100.0 * (float(ref["profit"]) - run["learner"]) / abs(value)
            record = {"row": panel_row.name, "seed": int(run["seed"]),
                      "iterations": panel_row.iterations, "n_envs": panel_row.n_envs,
                      "reference": chosen, "reference_value": value,
                      "reference_profit": float(ref["profit"]), "learner": run["learner"],
                      "gap_pct": gap, "train_seconds": run["train_seconds"]}
            if panel_row.reference == "zipkin":
                other = [r for r in on_stream.index if r.startswith("best base-stock")][0]
                record["base_stock"] = float(on_stream.loc[other, "profit"])
            rows.append(record)
    frame = pd.DataFrame(rows)
    frame["code_version"], frame["git_revision"] = version or (code_version(), git_revision())
    return frame


# ---- the summary, the comparison and the targets ----------------------------------------------
def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-interval of ``values`` (a single value: its own, without an interval)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, values.size - 1)
                 * values.std(ddof=1) / math.sqrt(values.size))
    return mean, mean - half, mean + half


def target_met(panel_row: PanelRow, runs: pd.DataFrame) -> bool:
    """Whether a row's runs meet its target (:attr:`PanelRow.target`)."""
    gap, lo, _ = t_interval(runs["gap_pct"])
    if panel_row.reference == "optimum":
        return gap <= 0.5
    if panel_row.reference == "zipkin":       # cost below the best base-stock's, same streams
        return gap <= 2.0 and float(runs["learner"].mean()) > float(runs["base_stock"].mean())
    return gap <= 1.0 and (bool(lo <= 0) if np.isfinite(lo) else gap <= 0)


def compare(runs: pd.DataFrame, previous: Optional[pd.DataFrame], panel=PANEL) -> pd.DataFrame:
    """One row per panel row, then one per group of rows (:func:`_group_record`): the gap
    with its interval, the previous version's, their change with a Welch interval at
    :data:`CHANGE_CONFIDENCE`, the one-sided p-value of "no worse" (``p_worse``), the verdict
    (``worse``, ``better``, ``level``; ``new`` where the previous result has no such row;
    ``undetermined`` where either side has a single seed, so that no interval can be drawn)
    and ``fails_gate`` (:data:`GATE_LEVEL`). A row is held against its previous result even
    when its budget changed with the paper profile's (``previous_budget`` names the old one):
    the question is whether the published row got worse."""
    out = []
    for panel_row in panel:
        these = runs[runs["row"] == panel_row.name]
        if these.empty:
            continue
        gap, lo, hi = t_interval(these["gap_pct"])
        record = {"row": panel_row.name, "reference": these["reference"].iloc[0],
                  "reference_value": float(these["reference_value"].iloc[0]),
                  "seeds": len(these), "learner": float(these["learner"].mean()),
                  "gap_pct": gap, "gap_lo": lo, "gap_hi": hi,
                  "train_seconds": float(these["train_seconds"].mean()),
                  "target": panel_row.target, "met": target_met(panel_row, these)}
        if "base_stock" in these and these["base_stock"].notna().all():
            bs = float(these["base_stock"].mean())
            record["base_stock_gap_pct"] = 100.0 * (float(these["reference_profit"].mean()) - bs) \
                / abs(record["reference_value"])
        old = None if previous is None else previous[previous["row"] == panel_row.name]
        if old is None or old.empty:
            record.update(_NO_CHANGE, verdict="new", previous_budget="")
        else:
            record["previous_gap_pct"] = float(old["gap_pct"].mean())
            record["previous_code_version"] = str(old["code_version"].iloc[0])
            record["previous_budget"] = _budget_change(old, panel_row)
            if len(old) > 1 and len(these) > 1:
                record.update(_change(*_welch(these["gap_pct"], old["gap_pct"])))
            else:
                record.update(_NO_CHANGE, change=gap - record["previous_gap_pct"],
                              verdict="undetermined")
        out.append(record)
    compared = sum(r["verdict"] != "new" for r in out)
    for r in out:
        r["fails_gate"] = r["verdict"] == "undetermined" or (
            r["verdict"] == "worse" and r["p_worse"] < GATE_LEVEL / max(compared, 1))
    out += [_group_record(kind, label, runs, previous, panel) for kind, label in GROUPS.items()
            if sum(r.reference == kind and r.name in set(runs["row"]) for r in panel) > 1]
    return pd.DataFrame(out)


_NO_CHANGE = {"previous_gap_pct": float("nan"), "change": float("nan"),
              "change_lo": float("nan"), "change_hi": float("nan"), "p_worse": float("nan")}


def _budget_change(old: pd.DataFrame, panel_row: PanelRow) -> str:
    budget = (int(old["iterations"].iloc[0]), int(old["n_envs"].iloc[0]))
    return "" if budget == (panel_row.iterations, panel_row.n_envs) \
        else f"{budget[0]} iterations x {budget[1]} copies"


def _welch(new, old) -> tuple[float, float, float]:
    """mean(new) - mean(old), its standard error and Welch's degrees of freedom."""
    new, old = np.asarray(new, dtype=float), np.asarray(old, dtype=float)
    vn, vo = new.var(ddof=1) / new.size, old.var(ddof=1) / old.size
    dof = (vn + vo) ** 2 / (vn ** 2 / (new.size - 1) + vo ** 2 / (old.size - 1)) \
        if vn + vo > 0 else 1.0
    return float(new.mean() - old.mean()), math.sqrt(vn + vo), dof


def _change(change: float, se: float, dof: float) -> dict:
    """The change's interval at :data:`CHANGE_CONFIDENCE`, the one-sided p-value of "no worse"
    and the verdict (``worse`` when that p-value is below (1 - CHANGE_CONFIDENCE) / 2)."""
    if se > 0:
        half = float(stats.t.ppf(0.5 + CHANGE_CONFIDENCE / 2, dof)) * se
        p_worse = float(stats.t.sf(change / se, dof))
    else:                                       # every seed the same on both sides
        half, p_worse = 0.0, 0.0 if change > 0 else 1.0
    lo, hi = change - half, change + half
    return {"change": change, "change_lo": lo, "change_hi": hi, "p_worse": p_worse,
            "verdict": "worse" if lo > 0 else "better" if hi < 0 else "level"}


GROUPS = {"optimum": "two-product rows (DP)", "zipkin": "Zipkin rows"}
"""Rows of one reference kind judged together (:func:`_group_record`), by their label."""
GROUP_TARGETS = {"optimum": 0.5, "zipkin": 1.0}
"""Target of a group's mean gap, in percent (Zipkin's: the issue's target for the mean over the
sixteen instances, applied to the panel's five)."""


def _stratified(gaps: list, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean over rows of the rows' mean gaps, and its t-interval from the seeds' spread within
    each row (Welch-Satterthwaite degrees of freedom): rows are strata, each with its seeds."""
    means = np.array([np.mean(g) for g in gaps])
    parts = np.array([np.var(g, ddof=1) / len(g) if len(g) > 1 else np.nan for g in gaps])
    dofs = np.array([len(g) - 1 for g in gaps])
    mean = float(means.mean())
    if np.isnan(parts).any():
        return mean, float("nan"), float("nan")
    var = parts.sum() / len(gaps) ** 2
    dof = parts.sum() ** 2 / np.sum(parts ** 2 / np.maximum(dofs, 1)) if var > 0 else 1.0
    half = float(stats.t.ppf(0.5 + confidence / 2, dof) * math.sqrt(var))
    return mean, mean - half, mean + half


def _group_record(kind: str, label: str, runs: pd.DataFrame, previous, panel) -> dict:
    """The rows of one reference kind together: the mean of their gaps, and its change against
    the previous result over the rows both have (each row's seeds a stratum), with far more
    power than any row alone: a change spread over every row shows here first."""
    names = [r.name for r in panel if r.reference == kind and r.name in set(runs["row"])]
    gaps = [runs.loc[runs["row"] == n, "gap_pct"].to_numpy() for n in names]
    gap, lo, hi = _stratified(gaps)
    record = {"row": f"all {label}", "reference": runs.loc[runs["row"] == names[0],
                                                           "reference"].iloc[0],
              "reference_value": float("nan"), "seeds": sum(len(g) for g in gaps),
              "learner": float("nan"), "gap_pct": gap, "gap_lo": lo, "gap_hi": hi,
              "train_seconds": float(runs.loc[runs["row"].isin(names), "train_seconds"].mean()),
              "target": f"mean gap <= {GROUP_TARGETS[kind]:g}%",
              "met": bool(gap <= GROUP_TARGETS[kind]), "previous_budget": ""}
    both = [] if previous is None else [n for n in names if n in set(previous["row"])]
    if not both:
        record.update(_NO_CHANGE, verdict="new", fails_gate=False)
        return record
    new = [runs.loc[runs["row"] == n, "gap_pct"].to_numpy() for n in both]
    old = [previous.loc[previous["row"] == n, "gap_pct"].to_numpy() for n in both]
    record["previous_gap_pct"] = _stratified(old)[0]
    changed = [p for p in panel if p.name in both
               and _budget_change(previous[previous["row"] == p.name], p)]
    record["previous_budget"] = f"other budgets on {len(changed)} of {len(both)} rows" \
        if changed else ""
    change = float(np.mean([a.mean() - b.mean() for a, b in zip(new, old)]))
    if min(min(a.size, b.size) for a, b in zip(new, old)) < 2:
        record.update(_NO_CHANGE, change=change, verdict="undetermined", fails_gate=True)
        return record
    # the change's variance: both versions' within-row variances, rows as strata
    parts = [np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b) for a, b in zip(new, old)]
    dof_parts = [(np.var(a, ddof=1) / len(a)) ** 2 / (len(a) - 1)
                 + (np.var(b, ddof=1) / len(b)) ** 2 / (len(b) - 1) for a, b in zip(new, old)]
    se = math.sqrt(sum(parts)) / len(both)
    dof = sum(parts) ** 2 / sum(dof_parts) if sum(dof_parts) > 0 else 1.0
    record.update(_change(change, se, dof))
    record["fails_gate"] = record["verdict"] == "worse" and record["p_worse"] < GATE_LEVEL
    return record


def _shown_gap(r) -> str:
    if not np.isfinite(r["gap_lo"]):
        return f"{r['gap_pct']:.2f}%"
    return f"{r['gap_pct']:.2f}% [{r['gap_lo']:.2f}, {r['gap_hi']:.2f}]"


def summary_lines(table: pd.DataFrame) -> list[str]:
    """What the report prints: each row's gap and change, then the rows that got worse."""
    lines = []
    for _, r in table.iterrows():
        budget = f" at {r['previous_budget']}" if r.get("previous_budget") else ""
        change = "" if r["verdict"] == "new" else (
            f"; previous {r['previous_gap_pct']:.2f}%{budget}, change {r['change']:+.2f} points"
            + (f" [{r['change_lo']:+.2f}, {r['change_hi']:+.2f}]"
               if np.isfinite(r["change_lo"]) else "") + f": {r['verdict']}")
        lines.append(f"{r['row']}: gap to {r['reference']} {_shown_gap(r)} over {r['seeds']} seeds"
                     f"{change}; target {r['target']}: {'met' if r['met'] else 'not met'}")
    worse = table[table["verdict"] == "worse"]
    lines.append("rows that got worse beyond their intervals (one-sided 5%): " + (
        ", ".join(f"{r['row']} (+{r['change']:.2f} points)" for _, r in worse.iterrows())
        if len(worse) else "none"))
    failing = table[table["fails_gate"].astype(bool)] if "fails_gate" in table else table[:0]
    lines.append(f"rows that fail the gate (family-wise {GATE_LEVEL:.0%} over the rows, "
                 f"{GATE_LEVEL:.0%} per group; a single seed is undetermined): " + (
                     ", ".join(failing["row"]) if len(failing) else "none"))
    return lines


def learner_quality_section(panel=PANEL, workers: Optional[int] = None,
                            previous: Optional[Path] = DEFAULT_OUT / RUNS_FILE,
                            echo: Callable[[str], None] = print) -> SectionResult:
    """Run the panel, compare it with the result in ``previous`` (the committed one by
    default; None: no comparison) and report each row."""
    previous = pd.read_csv(previous) if previous is not None and Path(previous).is_file() \
        else None
    started = time.perf_counter()
    runs = run_panel(panel, workers, echo)
    seconds = time.perf_counter() - started
    table = compare(runs, previous, panel)
    for line in summary_lines(table):
        echo("  " + line)
    rows = []
    for _, r in table.iterrows():
        previous_text = "-" if r["verdict"] == "new" else f"previous {r['previous_gap_pct']:.2f}%"
        note = r["verdict"] if r["verdict"] == "new" else (
            f"{r['verdict']}: change {r['change']:+.2f} points"
            + (f" [{r['change_lo']:+.2f}, {r['change_hi']:+.2f}]"
               if np.isfinite(r["change_lo"]) else "")
            + ("; fails the gate" if r["fails_gate"] else ""))
        rows.append(row("learner-quality", f"MTMA gap to {r['reference']}, {r['row']}",
                        _shown_gap(r), previous_text, float("nan"), r["target"],
                        "yes" if r["met"] else "no", note))
    rows.append(row("learner-quality", "panel wall time (all rows and seeds)",
                    f"{seconds / 60:.1f} min", "-", float("nan"), "<= 15 min on two cores",
                    "yes" if seconds <= 900 else "no",
                    f"{len(runs)} training runs in {workers or os.cpu_count()} processes"))
    return SectionResult(table, rows, extra={RUNS_FILE.removesuffix(".csv"): runs})
