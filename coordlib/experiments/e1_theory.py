"""E1, the theory notebook: B1, B2 and the static value of coordination (MODEL.md section 5).

The derivations live in :mod:`coordlib.theory` (its package docstring states what each claim
of MODEL.md section 5 turned out to be); this module holds the notebook's checked settings
(:func:`e1_settings`) and the tables and curves it shows, each a derivation's closed form
next to its independent check (numerical optimization, the exact Markov chain, the simulator).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from ..model.scenario import Scenario, ScenarioError
from ..model.scenarios import get
from ..model.variants import scenario_variant
from ..pipeline import reporting
from ..pipeline.reproduce import committed_folders
from ..theory.checks import (
    agreement,
    compare_exposures_monte_carlo,
    newsvendor_profit_monte_carlo,
)
from ..theory.derivation import DEMAND_MODELS, SYSTEMS
from ..theory.newsvendor import (
    _cost_values,
    newsvendor_normal,
    newsvendor_poisson,
    newsvendor_poisson_profit,
)
from ..theory.static_exposure import (
    _statics_functions,
    _two_product_arrays,
    convexity_check,
    demand_rates,
    static_profit_curve,
    static_value_of_coordination,
    static_value_of_coordination_numeric,
)
from .parameters import with_budget


# ---- E1: the tables and curves of notebooks/01_theory.ipynb (MODEL.md section 7) -----------------
@dataclass(frozen=True)
class E1Settings:
    """The validated parameters of the E1 notebook."""

    profile: str
    """"smoke" (fast check) or "paper" (the published numbers)"""
    seed: int
    """seed of every Monte Carlo run"""
    figures_dir: str
    """where figures go (PNG and PDF, names starting with e1_)"""
    tables_dir: str
    """where tables go (CSV, names starting with e1_)"""
    n_mc: int
    """one-period Monte Carlo replications"""
    stationary_replications: int
    """replications of the stationary (multi-period) Monte Carlo"""
    periods: int
    """periods per stationary replication (the first is dropped)"""
    shares: np.ndarray
    """the exposure grid x in [0, 1]"""
    sweep_points: int
    """points per comparative-statics sweep"""
    lead_times: tuple
    """lead times of the exact lost-sales base-stock check"""
    rate_grid: int
    """arrival rates scanned for interior optima"""


BUDGET_MINIMUMS = {"n_mc": 100, "stationary_replications": 2, "periods": 2, "shares": 2,
                   "sweep_points": 2, "rate_grid": 2}
"""The smallest value of each count of E1's budget that its checks can work with."""


def e1_settings(profile="smoke", seed=0, figures_dir="../figures", tables_dir="../data/tables",
                n_mc=None, stationary_replications=None, periods=None, shares=None,
                sweep_points=None, lead_times=None, rate_grid=None) -> E1Settings:
    """Check the notebook parameters and return the settings (creating the output folders).

    The budget, each taken from the profile's budget of E1 in ``notebooks/manifest.yaml`` where
    None (:func:`coordlib.experiments.parameters.with_budget`): ``n_mc``, one-period Monte Carlo
    replications (B1's profit at stock S); ``stationary_replications`` x ``periods``, the
    stationary Monte Carlo of the lost-sales system (the first period dropped); ``shares``,
    points of the exposure grid x_1 in [0, 1] (B2); ``sweep_points``, points of each
    comparative-statics sweep (B5); ``lead_times``, the L of the exact lost-sales base-stock
    check; ``rate_grid``, arrival rates lambda scanned for interior optima (B2).
    """
    given = dict(n_mc=n_mc, stationary_replications=stationary_replications, periods=periods,
                 shares=shares, sweep_points=sweep_points, lead_times=lead_times,
                 rate_grid=rate_grid)
    cfg = with_budget("E1", profile, given)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be a whole number >= 0, got {seed!r}")
    for name, value in (("figures_dir", figures_dir), ("tables_dir", tables_dir)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name}: must be a non-empty path string, got {value!r}")
    for name, low in BUDGET_MINIMUMS.items():
        value = cfg[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name}: must be a whole number >= {low} (or None), got {value!r}")
    lead_times = cfg["lead_times"]
    if (isinstance(lead_times, (str, bytes)) or not isinstance(lead_times, (list, tuple))
            or not lead_times or not all(isinstance(v, (int, np.integer))
                                         and not isinstance(v, bool) and v >= 1
                                         for v in lead_times)):
        raise ValueError(f"lead_times: must be a non-empty list of whole numbers >= 1 (or None), "
                         f"got {lead_times!r}")
    for d in (figures_dir, tables_dir):
        Path(d).mkdir(parents=True, exist_ok=True)
    return E1Settings(profile=profile, seed=int(seed), figures_dir=figures_dir,
                      tables_dir=tables_dir, n_mc=int(cfg["n_mc"]),
                      stationary_replications=int(cfg["stationary_replications"]),
                      periods=int(cfg["periods"]), shares=np.linspace(0, 1, cfg["shares"]),
                      sweep_points=int(cfg["sweep_points"]),
                      lead_times=tuple(int(v) for v in lead_times),
                      rate_grid=int(cfg["rate_grid"]))


INSTANCE_KNOBS = ("lift", "arrival_scale", "margin_scale")
"""The model parameters a reader may change in E1's instances (factors of
:func:`coordlib.model.variants.scenario_variant`): every segment's lift beta_k, the arrival rates
times a factor, each margin's distance from the mean margin times a factor."""


def e1_instances(settings: E1Settings | None = None, **knobs) -> dict:
    """The two-product instances of E1: ``tiny`` and ``tiny-margin`` (MODEL.md section 8) with
    lead time 0 where the theory needs it, and ``tiny`` with lambda = 2.5, the B2 counterexample.

    ``knobs`` (:data:`INSTANCE_KNOBS`; None leaves one as shipped) change every instance, for a
    class to see how the benchmarks move. The committed tables hold the shipped instances, so
    changed ones are refused when ``settings`` write into the committed folders."""
    unknown = sorted(set(knobs) - set(INSTANCE_KNOBS))
    if unknown:
        raise ValueError(f"e1_instances: unknown knob(s) {unknown}; known: {', '.join(INSTANCE_KNOBS)}")
    changed = {k: v for k, v in knobs.items() if v is not None}
    if changed and settings is not None:
        committed = {f.resolve() for f in committed_folders()}
        if {Path(settings.tables_dir).resolve(), Path(settings.figures_dir).resolve()} & committed:
            raise ValueError(f"{', '.join(changed)}: the committed tables and figures hold the "
                             "shipped instances; run changed instances at the smoke profile, or "
                             "give tables_dir and figures_dir of your own")
    tiny, margin = get("tiny"), get("tiny-margin")
    instances = {"tiny": tiny, "tiny-margin": margin,
                 "tiny, lambda=2.5": tiny.replace(arrival_rate=[2.5], name="tiny-lambda-2.5")}
    for factor, value in changed.items():
        instances = {k: scenario_variant(s, factor, value) for k, s in instances.items()}
    return instances


def save_figure(fig, name: str, settings: E1Settings) -> list:
    """Save a figure as PNG and PDF under ``settings.figures_dir`` (name e1_*)."""
    if not name.startswith("e1_"):
        raise ValueError(f"figure name must start with 'e1_', got {name!r}")
    return list(reporting.save_figure(fig, settings.figures_dir, name).values())


def save_table(frame: pd.DataFrame, name: str, settings: E1Settings):
    """Save a table as CSV, Markdown and LaTeX under ``settings.tables_dir`` (name e1_*)."""
    if not name.startswith("e1_"):
        raise ValueError(f"table name must start with 'e1_', got {name!r}")
    return reporting.save_table(frame, settings.tables_dir, name)["csv"]


def _replications(settings: E1Settings, system: str) -> int:
    return settings.n_mc if system == "one-period" else settings.stationary_replications


def _product_args(scenario, i):
    return (scenario.price[i], scenario.unit_cost[i], scenario.holding_cost[i],
            scenario.lost_sale_penalty[i])


def _stockpyl_reference(mu, co, cu):
    """stockpyl's newsvendor (an outside reference): (S normal, cost), (S Poisson, cost)."""
    try:
        # deferred: stockpyl is optional; the reference column is left empty without it
        from stockpyl import newsvendor as spn
    except ImportError:  # stockpyl is a test dependency; the table says so
        return (np.nan, np.nan), (np.nan, np.nan)
    return (spn.newsvendor_normal(co, cu, mu, np.sqrt(mu)),
            spn.newsvendor_poisson(co, cu, mu))


def b1_table(scenario: Scenario, share: float, settings: E1Settings) -> pd.DataFrame:
    """B1 beside its checks, per product and system, at a static split ``share``.

    Columns: closed-form normal (``fractile``, ``z_normal`` = Phi^-1(fractile), the
    standardized stock (S* - mu) / sigma, ``stock_normal``, ``profit_normal``), exact Poisson
    (S*, profit), stockpyl's normal and Poisson newsvendor (S*, profit = m mu - cost), and the
    simulator at the Poisson S* (mean, 95% interval, standard error ``mc_se``), with the check
    columns of :func:`check_columns`, whose ``z`` is the agreement statistic
    (mc_mean - profit_poisson) / mc_se, as in E1's other check tables. Each system is
    simulated on its own stream (:func:`check_stream`).
    """
    mu = demand_rates(scenario, [share])[0]
    x = np.array([[share, 1.0 - share]])
    rows = []
    for system in SYSTEMS:
        S_poisson = np.array([int(newsvendor_poisson(mu[i], *_product_args(scenario, i),
                                                      system=system)["stock"])
                              for i in range(2)])
        mc = newsvendor_profit_monte_carlo(
            scenario, x, S_poisson, system=system, seed=check_stream(settings, "b1", system),
            replications=settings.n_mc if system == "one-period" else settings.stationary_replications,
            periods=settings.periods)
        for i in range(2):
            args = _product_args(scenario, i)
            nrm = newsvendor_normal(mu[i], *args, system=system)
            poi = newsvendor_poisson(mu[i], *args, system=system)
            m_, co, cu = (float(v) for v in _cost_values(system, *args))
            (sn, cn), (sp_, cp) = _stockpyl_reference(mu[i], co, cu)
            row = mc.iloc[i]
            rows.append({"system": system, "product": i + 1, "mu": mu[i],
                         "fractile": float(nrm["critical_fractile"]),
                         "z_normal": float(nrm["z"]),
                         "stock_normal": float(nrm["stock"]),
                         "profit_normal": float(nrm["optimal_profit"]),
                         "stock_poisson": int(poi["stock"]),
                         "profit_poisson": float(poi["optimal_profit"]),
                         "stock_stockpyl_normal": sn, "profit_stockpyl_normal": m_ * mu[i] - cn,
                         "stock_stockpyl_poisson": sp_, "profit_stockpyl_poisson": m_ * mu[i] - cp,
                         "mc_mean": row["mean"], "mc_lo": row["lo"], "mc_hi": row["hi"],
                         "mc_se": row["se"], "mc_n": int(row["n"])})
    frame = pd.DataFrame(rows)
    return check_columns(frame, "profit_poisson", "poisson")


def check_stream(settings: E1Settings, table: str, system: str, rule: str = "") -> list:
    """The seed of one group of simulator checks: ``[seed, table, system, rule]`` as whole
    numbers, so that every table, system and stock rule draws its own demand and the rows of
    E1's tables are independent evidence (one stream shared by all would repeat one draw)."""
    tables = ("b1", "fractiles")
    if table not in tables:
        raise ValueError(f"table: must be one of {tables}, got {table!r}")
    rules = ("", *SYSTEMS)
    if rule not in rules:
        raise ValueError(f"rule: must be one of {rules}, got {rule!r}")
    return [settings.seed, tables.index(table) + 1, SYSTEMS.index(system), rules.index(rule)]


def check_columns(frame: pd.DataFrame, exact: str, name: str = "exact",
                  confidence: float = 0.95) -> pd.DataFrame:
    """Add the verdict columns of a table of simulator checks (:func:`coordlib.theory.checks.agreement`):
    ``z`` = (mc_mean - exact) / mc_se, ``{name}_in_ci`` (inside the row's ``confidence``
    interval ``mc_lo``..``mc_hi``) and ``{name}_in_family_ci`` (inside the Bonferroni interval
    for all rows of the table together: the table's rule, since with many 95% intervals about
    one in twenty misses by chance)."""
    out = frame.copy()
    verdict = agreement(out["mc_mean"], out["mc_se"], out[exact], checks=len(out),
                        confidence=confidence)
    out["z"] = verdict["z"]
    out[f"{name}_in_ci"] = (out["mc_lo"] <= out[exact]) & (out[exact] <= out["mc_hi"])
    out[f"{name}_in_family_ci"] = verdict["in_family_ci"]
    return out


def fractile_table(scenario: Scenario, share: float, settings: E1Settings) -> pd.DataFrame:
    """Which fractile applies where: each product's one-period and stationary Poisson S*,
    evaluated exactly and by simulation in both systems (the stationary one has lead time 0),
    each (system, stock rule) on its own stream, with :func:`check_columns`."""
    mu = demand_rates(scenario, [share])[0]
    x = np.array([[share, 1.0 - share]])
    levels = {rule: np.array([int(newsvendor_poisson(mu[i], *_product_args(scenario, i),
                                                     system=rule)["stock"]) for i in range(2)])
              for rule in SYSTEMS}
    rows = []
    for system in SYSTEMS:
        for rule, S in levels.items():
            mc = newsvendor_profit_monte_carlo(
                scenario, x, S, system=system,
                seed=check_stream(settings, "fractiles", system, rule),
                replications=_replications(settings, system),
                periods=settings.periods)
            for i in range(2):
                exact = float(newsvendor_poisson_profit(S[i], mu[i], *_product_args(scenario, i),
                                                        system=system))
                rows.append({"evaluated_in": system, "stock_rule": f"{rule} fractile",
                             "product": i + 1, "stock": int(S[i]), "exact": exact,
                             "mc_mean": mc["mean"].iloc[i], "mc_lo": mc["lo"].iloc[i],
                             "mc_hi": mc["hi"].iloc[i], "mc_se": mc["se"].iloc[i]})
    return check_columns(pd.DataFrame(rows), "exact")


def b1_stock_curve(scenario: Scenario, shares) -> pd.DataFrame:
    """Optimal stock of each product against the share x shown product 1: normal (continuous)
    and Poisson (integer), both systems. Long format: share, product, demand, system, stock."""
    mu = demand_rates(scenario, shares)
    rows = []
    for system in SYSTEMS:
        for i in range(2):
            args = _product_args(scenario, i)
            for demand, S in (("normal", newsvendor_normal(mu[:, i], *args, system=system)["stock"]),
                              ("poisson", newsvendor_poisson(mu[:, i], *args, system=system)["stock"])):
                rows.append(pd.DataFrame({"share": shares, "product": i + 1, "mu": mu[:, i],
                                          "demand": demand, "system": system,
                                          "stock": np.asarray(S, dtype=float)}))
    return pd.concat(rows, ignore_index=True)


def mismatch_table(price_, unit_cost_, holding_cost_, lost_sale_penalty_, means) -> pd.DataFrame:
    """The mismatch cost m mu - Pi*(mu) against mean demand: normal (the square-root law) and
    exact Poisson, both systems. Long format with ``per_sqrt_mu`` = mismatch / sqrt(mu)."""
    means = np.asarray(means, dtype=float)
    rows = []
    for system in SYSTEMS:
        m_ = float(_cost_values(system, price_, unit_cost_, holding_cost_, lost_sale_penalty_)[0])
        args = (price_, unit_cost_, holding_cost_, lost_sale_penalty_)
        normal = newsvendor_normal(means, *args, system=system)["mismatch_cost"]
        poisson = m_ * means - newsvendor_poisson(means, *args, system=system)["optimal_profit"]
        for demand, cost in (("normal", normal), ("poisson", poisson)):
            rows.append(pd.DataFrame({"mu": means, "system": system, "demand": demand,
                                      "mismatch_cost": cost, "per_sqrt_mu": cost / np.sqrt(means)}))
    return pd.concat(rows, ignore_index=True)


def plot_square_root_law(mismatch: pd.DataFrame, price_: float, unit_cost_: float,
                         holding_cost_: float, lost_sale_penalty_: float):
    """The B2 square-root-law figure of :func:`mismatch_table` (the same four costs), every
    symbol defined on the figure: left the mismatch cost m mu - Pi*(mu), right the same
    divided by sqrt(mu), which the normal approximation makes a constant,
    (c_o + c_u) phi(z*). Returns the figure."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    styles = {"normal": "-", "poisson": "--"}
    colors = dict(zip(SYSTEMS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for (system, demand), g in mismatch.groupby(["system", "demand"], sort=False):
        label = f"{system}, {'normal approximation' if demand == 'normal' else 'exact Poisson'}"
        axes[0].plot(g.mu, g.mismatch_cost, styles[demand], color=colors[system], label=label)
        axes[1].plot(g.mu, g.per_sqrt_mu, styles[demand], color=colors[system])
    axes[0].set(xlabel=r"mean demand per period $\mu$",
                ylabel=r"mismatch cost $m\mu - \Pi^*(\mu)$")
    axes[1].set(xlabel=r"mean demand per period $\mu$",
                ylabel=r"$(m\mu - \Pi^*(\mu)) \,/\, \sqrt{\mu}$")
    axes[0].legend(fontsize="small")
    fig.suptitle(
        "B2: the mismatch cost grows like $\\sqrt{\\mu}$ for one product with price "
        f"p = {price_:g}, unit cost c = {unit_cost_:g}, holding cost h = {holding_cost_:g}, "
        f"lost-sale penalty b = {lost_sale_penalty_:g}\n"
        r"$m = p - c$: margin per unit; $\Pi^*(\mu)$: expected profit per period at the "
        r"optimal stock $S^*$; $m\mu$: the profit if every unit of demand were met "
        "with no stock left over", fontsize="small")
    fig.tight_layout()
    return fig


def chord_gap(curves: pd.DataFrame, column: str = "profit") -> pd.Series:
    """Per (instance, model) curve of :func:`b2_curves`: ``column`` minus the straight line
    (the chord) through its values at the two extreme splits x = 0 and x = 1. A convex curve
    (B2) lies on or below its chord everywhere, so the gap is <= 0; a positive gap is an
    interior split that beats the mix of the extremes. The gap puts every model, whatever its
    profit level, on one scale."""
    share, value = curves["share"].to_numpy(float), curves[column].to_numpy(float)
    gap = np.full(len(curves), np.nan)
    for rows in curves.groupby(["instance", "model"], sort=False).indices.values():
        x, y = share[rows], value[rows]
        lo, hi = np.argmin(x), np.argmax(x)
        gap[rows] = y - (y[lo] + (y[hi] - y[lo]) * (x - x[lo]) / (x[hi] - x[lo]))
    return pd.Series(gap, index=curves.index)


def plot_profit_vs_split(curves: pd.DataFrame):
    """The B2 figure of :func:`b2_curves`: per instance, each model's profit per period minus
    its chord between the extreme splits (:func:`chord_gap`). The models' profit levels differ
    (one-period about half the stationary), and on one profit axis that difference flattens
    the curvature B2 is about; against the chord, convexity is "on or below 0". Returns the
    figure."""
    data = curves.assign(gap=chord_gap(curves))
    instances = list(dict.fromkeys(data["instance"]))
    models = list(dict.fromkeys(data["model"]))
    colors = dict(zip(models, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, axes = plt.subplots(1, len(instances), figsize=(4.6 * len(instances), 3.8),
                             squeeze=False)
    for ax, name in zip(axes[0], instances):
        for model, g in data[data["instance"] == name].groupby("model", sort=False):
            ax.plot(g["share"], g["gap"], color=colors[model], label=model)
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set(title=name, xlabel="share of customers shown product 1 (x)")
    axes[0, 0].set_ylabel("profit per period minus the chord\nbetween x = 0 and x = 1")
    axes[0, -1].legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle("B2: profit against a static exposure split, relative to the straight line "
                 "between the two extreme splits\n(convex, as B2 states: on or below 0 "
                 "everywhere; above 0: an interior split beats both extremes)", fontsize="small")
    fig.tight_layout()
    return fig


def b2_curves(instances: Mapping[str, Scenario], shares, lead_times=(1,)) -> pd.DataFrame:
    """Static profit curves for named two-product instances: normal and Poisson in both
    systems, and the exact lost-sales base-stock system for each lead time in ``lead_times``."""
    frames = []
    for name, sc in instances.items():
        for demand in DEMAND_MODELS:
            for system in SYSTEMS:
                frames.append(static_profit_curve(sc, shares, demand=demand, system=system)
                              .assign(instance=name))
        for L in lead_times:
            frames.append(static_profit_curve(sc, shares, demand="poisson", system="stationary",
                                              lead_time=L).assign(instance=name))
    frame = pd.concat(frames, ignore_index=True)
    frame["model"] = (frame["demand"] + ", " + frame["system"]
                      + np.where(frame["lead_time"] > 0, ", L=" + frame["lead_time"].astype(str), ""))
    return frame


def b2_convexity_table(curves: pd.DataFrame) -> pd.DataFrame:
    """:func:`convexity_check` for every (instance, model) curve of :func:`b2_curves`."""
    rows = []
    for (inst, model), g in curves.groupby(["instance", "model"], sort=False):
        rows.append({"instance": inst, "model": model, **convexity_check(g)})
    return pd.DataFrame(rows)


def interior_optimum_scan(scenario: Scenario, rates, shares) -> pd.DataFrame:
    """Where B2 fails for exact Poisson demand: for each arrival rate, the gain of the best
    static split over the best extreme (0 when an extreme is optimal), both systems."""
    rows = []
    for lam in rates:
        sc = scenario.replace(arrival_rate=[float(lam)])
        for system in SYSTEMS:
            check = convexity_check(static_profit_curve(sc, shares, demand="poisson", system=system))
            rows.append({"arrival_rate": float(lam), "system": system, **check})
    return pd.DataFrame(rows)


def counterexample_table(scenario: Scenario, settings: E1Settings) -> pd.DataFrame:
    """Per system: the best static split under exact Poisson demand (on the settings' grid)
    against the best extreme, exactly and on the simulator (95% interval of the difference)."""
    rows = []
    for system in SYSTEMS:
        curve = static_profit_curve(scenario, settings.shares, demand="poisson", system=system)
        check = convexity_check(curve)
        extreme = 1.0 if curve["profit"].iloc[-1] >= curve["profit"].iloc[0] else 0.0
        mc = compare_exposures_monte_carlo(scenario, check["best_share"], extreme, system=system,
                                           seed=settings.seed,
                                           replications=_replications(settings, system),
                                           periods=settings.periods)
        rows.append({"system": system, "best_share": check["best_share"],
                     "best_extreme": extreme, "exact_gain": mc["exact"], "mc_gain": mc["mean"],
                     "mc_lo": mc["lo"], "mc_hi": mc["hi"], "replications": mc["replications"],
                     "exact_in_ci": bool(mc["lo"] <= mc["exact"] <= mc["hi"])})
    return pd.DataFrame(rows)


def value_checks_table(instances: Mapping[str, Scenario], settings: E1Settings) -> pd.DataFrame:
    """The value of coordination four ways, per instance and system: the closed form (normal),
    direct numerical optimization of the normal model (quadrature), exact Poisson with
    integer stock on the exposure grid, and the simulator (Poisson-optimal stock at the best
    Poisson split against the GMV-greedy split). ``z``, ``poisson_in_ci`` and
    ``poisson_in_family_ci`` judge the simulator as :func:`check_columns` does (the standard
    error ``value_mc_se`` read back from the 95% interval)."""
    rows = []
    for name, sc in instances.items():
        for system in SYSTEMS:
            cf = static_value_of_coordination(sc, system=system)
            nn = static_value_of_coordination_numeric(sc, demand="normal", system=system,
                                               shares=np.linspace(0, 1, 5))
            pn = static_value_of_coordination_numeric(sc, demand="poisson", system=system,
                                               shares=settings.shares)
            mc = compare_exposures_monte_carlo(
                sc, pn["best_share"], pn["gmv_share"], system=system, seed=settings.seed,
                replications=_replications(settings, system),
                periods=settings.periods)
            rows.append({"instance": name, "system": system,
                         "gmv_choice": int(cf["gmv_choice"]), "margin_choice": int(cf["margin_choice"]),
                         "coordinated_choice": int(cf["coordinated_choice"]),
                         "value_closed_form": float(cf["value"]),
                         "value_margin": float(cf["value_margin"]),
                         "value_mismatch": float(cf["value_mismatch"]),
                         "value_normal_numeric": nn["value"], "value_poisson_exact": pn["value"],
                         "poisson_best_share": pn["best_share"], "value_mc": mc["mean"],
                         "value_mc_lo": mc["lo"], "value_mc_hi": mc["hi"],
                         "poisson_in_ci": bool(mc["lo"] <= pn["value"] <= mc["hi"])})
    frame = pd.DataFrame(rows)
    frame["value_mc_se"] = (frame["value_mc_hi"] - frame["value_mc_lo"]) / (2 * stats.norm.ppf(0.975))
    verdict = agreement(frame["value_mc"], frame["value_mc_se"], frame["value_poisson_exact"],
                        checks=len(frame))
    frame["z"] = verdict["z"]
    frame["poisson_in_family_ci"] = verdict["in_family_ci"]
    return frame


SWEEPS = {"lift": (0.0, 6.0), "margin_spread": (0.0, 0.95), "dispersion": (1.0, 4.0),
          "arrival_rate": (1.0, 60.0)}
"""Ranges of the comparative-statics sweeps around a scenario (margin spread: product 2's
unit cost c_2 runs from 0.95 p_2 down to 0, so m_2 - m_1 runs from 0.05 p_2 - m_1 to p_2 - m_1)."""


def value_sweep(scenario: Scenario, points: int = 21) -> pd.DataFrame:
    """The closed-form value of coordination (and its margin and mismatch parts) as lift beta,
    margin spread, demand uncertainty theta and arrival rate lambda vary one at a time.

    Margin spread m_2 - m_1 is moved through c_2 (p_2 fixed), which also moves product 2's
    fractile and mismatch coefficient. Long format: parameter, level, system, value, parts.
    """
    a = _two_product_arrays(scenario)
    rows = []
    for parameter, (lo, hi) in SWEEPS.items():
        grid = np.linspace(lo, hi, points)
        for system in SYSTEMS:
            kwargs, theta = {}, 1.0
            if parameter == "lift":
                kwargs["lift"] = grid
            elif parameter == "arrival_rate":
                kwargs["arrival_rate"] = grid
            elif parameter == "dispersion":
                theta = grid
            else:
                c2 = a["p"][1] * (1.0 - grid)                 # m_2 = grid * p_2
                grid_level = grid * a["p"][1] - (a["p"][0] - a["c"][0])
                kwargs["unit_cost"] = [np.full_like(grid, a["c"][0]), c2]
                kwargs["price"] = [np.full_like(grid, a["p"][0]), np.full_like(grid, a["p"][1])]
                kwargs["holding_cost"] = [np.full_like(grid, a["h"][0]), np.full_like(grid, a["h"][1])]
                kwargs["lost_sale_penalty"] = [np.full_like(grid, a["b"][0]),
                                               np.full_like(grid, a["b"][1])]
            out = static_value_of_coordination(scenario, system=system, dispersion=theta, **kwargs)
            level = grid_level if parameter == "margin_spread" else grid
            rows.append(pd.DataFrame({"parameter": parameter, "level": level, "system": system,
                                      **{k: np.broadcast_to(out[k], grid.shape) for k in
                                         ("value", "value_margin", "value_mismatch")}}))
    return pd.concat(rows, ignore_index=True)


def comparative_statics_table(scenario: Scenario, system: str = "one-period",
                              dispersion_: float = 1.0, step: float = 1e-5) -> pd.DataFrame:
    """The derivatives of W (symmetric family) at a scenario, lambdified, beside central finite
    differences of the general closed form :func:`static_value_of_coordination` (gap Pi_2 - Pi_1).
    The margin spread is moved by lowering c_2 and b_2 (and raising h_2 in the one-period
    system) by the same amount, which keeps product 2's c_o, c_u and so k_2 fixed.

    Needs v_1 = v_2 and p_1 >= p_2 (GMV-greedy shows product 1).
    """
    a = _two_product_arrays(scenario)
    if not np.isclose(a["v"][0], a["v"][1]) or a["p"][0] < a["p"][1]:
        raise ScenarioError(f"{scenario.name}: the symmetric closed form needs v_1 = v_2 and "
                            f"p_1 >= p_2, got v = {a['v'].tolist()}, p = {a['p'].tolist()}")
    fns, k_fn = _statics_functions(system)
    m_, co, cu = zip(*(_cost_values(system, *_product_args(scenario, i)) for i in range(2)))
    k = [float(k_fn(co[i], cu[i])) for i in range(2)]
    dm, dk = float(m_[1] - m_[0]), k[1] - k[0]
    point = dict(lam=a["lam"], v0=a["v0"], v=a["v"][0], beta=a["beta"], theta=dispersion_)

    def gap(margin_shift=0.0, **change):
        # a margin shift of product 2 that keeps its c_o and c_u (so k_2) fixed:
        # c_2 - e, b_2 - e, and in the one-period system h_2 + e
        q = {**point, **change}
        costs = {"unit_cost": a["c"] - [0.0, margin_shift],
                 "lost_sale_penalty": a["b"] - [0.0, margin_shift],
                 "holding_cost": a["h"] + [0.0, margin_shift if system == "one-period" else 0.0]}
        out = static_value_of_coordination(scenario, system=system, dispersion=q["theta"],
                                    arrival_rate=q["lam"], lift=q["beta"], **costs)
        return float(out["profit_show_2"] - out["profit_show_1"])

    args = (point["lam"], point["v0"], point["v"], point["beta"], point["theta"], dm, dk)
    rows = [{"parameter": "W (= V when positive)",
             "symmetric_formula": float(fns["gap_symmetric"](*args)),
             "general_form_check": gap()}]
    for key, name in (("dW_d_lift", "beta"), ("dW_d_dispersion", "theta"),
                      ("dW_d_arrival_rate", "lam"), ("dW_d_margin_spread", "margin_shift")):
        h_ = step * max(1.0, abs(point.get(name, 1.0)))
        base = point.get(name, 0.0)
        fd = (gap(**{name: base + h_}) - gap(**{name: base - h_})) / (2 * h_)
        rows.append({"parameter": key, "symmetric_formula": float(fns[key](*args)),
                     "general_form_check": fd})
    frame = pd.DataFrame(rows)
    frame["system"], frame["margin_spread"], frame["mismatch_spread"] = system, dm, dk
    return frame


FAMILY_RULE = ("Rule, stated before the numbers: a table of simulator checks is judged as one "
               "family. An exact value agrees with the simulator when it lies inside the "
               "table's Bonferroni interval, mc_mean +- z_(1 - 0.05/(2k)) mc_se for the k rows "
               "together (`*_in_family_ci`), so that a correct simulator holds every exact "
               "value of the table with probability at least 95%; the per-row 95% intervals "
               "(`*_in_ci`), which about one row in twenty misses by chance, and the per-row "
               "z = (mc_mean - exact) / mc_se are shown beside it. The simulator agrees with "
               "the theory on a table when every row is inside its family interval.")
"""E1's rule for its tables of simulator checks (:func:`check_columns`), in the notebook's words."""


def check_sentence(frame: pd.DataFrame, name: str, what: str) -> str:
    """:data:`FAMILY_RULE` applied to one table of :func:`check_columns` (verdict columns
    ``{name}_in_family_ci`` and ``{name}_in_ci``): a Markdown sentence with the counts, the
    largest |z| and the combined z (sum of z / sqrt(k), about N(0, 1) without bias)."""
    k = len(frame)
    family = int(frame[f"{name}_in_family_ci"].astype(bool).sum())
    row = int(frame[f"{name}_in_ci"].astype(bool).sum())
    z = frame["z"].to_numpy(dtype=float)
    verdict = "agrees with" if family == k else "does not agree with"
    return (f"{what}: the simulator {verdict} the exact values - {family} of {k} inside the "
            f"family interval ({row} of {k} inside their own 95% interval); largest |z| "
            f"{np.abs(z).max():.2f}, combined z {z.sum() / np.sqrt(k):+.2f}.")


def convexity_sentence(convexity: pd.DataFrame) -> str:
    """What :func:`b2_convexity_table` says about B2, as Markdown: whether every normal curve is
    convex, and each row where an interior split beats both extremes, with its gain."""
    normal = convexity[convexity["model"].str.startswith("normal")]
    convex = int((normal["negative_second_differences"] == 0).sum())
    lines = [f"Normal demand: {convex} of {len(normal)} curves have no negative second "
             f"difference (convex)."]
    interior = convexity[~convexity["best_is_extreme"].astype(bool)]
    if interior.empty:
        lines.append("On every row an extreme split is best.")
    else:
        lines.append(f"On {len(interior)} of {len(convexity)} rows an interior split beats "
                     "both extremes:")
        lines += [f"- `{r.instance}`, {r.model}: x = {r.best_share:.2f}, by "
                  f"{r.interior_gain:.4f} per period" for r in interior.itertuples()]
    return "\n".join(lines)


def closed_form_sentence(checks: pd.DataFrame) -> str:
    """B5's closed form (normal) against the exact Poisson value, per row of
    :func:`value_checks_table` where coordination is worth something, as Markdown."""
    worth = checks[checks["value_poisson_exact"].abs() > 1e-9]
    zero = checks[checks["value_poisson_exact"].abs() <= 1e-9]
    lines = [f"- `{r.instance}`, {r.system}: closed form {r.value_closed_form:.4f}, exact "
             f"Poisson {r.value_poisson_exact:.4f} "
             f"({100 * (r.value_closed_form - r.value_poisson_exact) / abs(r.value_poisson_exact):+.1f}%)"
             for r in worth.itertuples()]
    if len(zero):
        names = ", ".join(sorted({f"`{n}`" for n in zero["instance"]}))
        lines.append(f"- exact value 0 (GMV-greedy already optimal) on {names}.")
    return "\n".join(lines)
