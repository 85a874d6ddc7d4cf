"""E0, the quickstart: the siloed and the coordinated heuristic firm side by side, and one trajectory."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..common.stats import mean_ci
from ..model.evaluation import evaluate, summarize
from ..model.rollout import rollout
from ..model.scenarios import get as get_scenario
from ..policies.firms import FIRMS, firm

# ---- E0: the quickstart --------------------------------------------------------------------------
FIRMS_SHOWN = ("siloed", "coordinated")
"""The firms E0 compares (keys of :data:`coordlib.policies.FIRMS`)."""


def compare_heuristics(scenarios, replications=20, periods=500, warmup=100, seed=0,
                       methods=FIRMS_SHOWN) -> pd.DataFrame:
    """Mean profit per period with 95% CIs of the heuristic firms on each scenario.

    ``methods`` name firms of :data:`coordlib.policies.FIRMS`; each one's base-stock levels
    are tuned by simulation (:func:`coordlib.policies.firm`, on a stream other than the
    evaluation's) for the demand its recommender produces. ``method`` holds the firm's label.
    Every firm faces the same demand stream (``seed``), so ``gain``, ``gain_lo``, ``gain_hi``
    are its profit minus the first method's, paired replication by replication (a t-interval
    over the replications' differences; 0 for the first method).
    """
    frames = []
    for name in scenarios:
        s = get_scenario(name)
        for method in methods:
            df = evaluate(s, firm(s, method, seed=seed), replications, periods, warmup, seed)
            df["method"] = FIRMS[method].label
            frames.append(df)
    raw = pd.concat(frames, ignore_index=True)
    table = summarize(raw, by=("scenario", "method"),
                      columns=("profit", "fill_rate", "mean_on_hand"))
    gains = []
    for (scenario, label), g in raw.groupby(["scenario", "method"], sort=False):
        first = raw[(raw.scenario == scenario) & (raw.method == FIRMS[methods[0]].label)]
        diff = g["profit"].to_numpy() - first["profit"].to_numpy()
        mean, lo, hi = mean_ci(diff) if np.any(diff) else (0.0, 0.0, 0.0)
        gains.append({"scenario": scenario, "method": label, "gain": mean, "gain_lo": lo,
                      "gain_hi": hi})
    return table.merge(pd.DataFrame(gains), on=["scenario", "method"], how="left")


def trajectory(scenario, policy, periods: int = 40, seed: int = 0) -> pd.DataFrame:
    """One replication, period by period: stock, orders, exposure, demand, sales, profit.

    Long format: one row per period and product (exposure averaged over segments).
    """

    s = get_scenario(scenario)
    rows = []
    for t, r in rollout(s, policy, 1, periods, seed):
        for i in range(s.n_products):
            rows.append({"period": t, "product": i + 1, "available": r.available[0, i],
                         "order": r.orders[0, i], "exposure": r.exposure[0, :, i].mean(),
                         "demand": r.total_demand[0, i], "sales": r.sales[0, i],
                         "lost_sales": r.lost_sales[0, i], "profit": r.profit[0]})
    return pd.DataFrame(rows)


# ---- E0's trajectory figure: the periods where the two firms differ --------------------------
def firm_trajectories(scenario, methods=FIRMS_SHOWN, periods: int = 2000, seed: int = 0
                      ) -> pd.DataFrame:
    """:func:`trajectory` of each firm in ``methods`` on the same demand stream (``seed``),
    each firm tuned as in :func:`compare_heuristics`; long format with a ``firm`` column."""
    s = get_scenario(scenario)
    frames = [trajectory(s, firm(s, name, seed=seed), periods, seed).assign(firm=name)
              for name in methods]
    return pd.concat(frames, ignore_index=True)


def divergence_window(traj: pd.DataFrame, window: int = 40) -> dict:
    """The rule by which E0 picks the periods its trajectory figure shows.

    Both firms of ``traj`` (:func:`firm_trajectories`, two firms) face the same demand draws
    and, on a scenario like ``tiny``, often the same base-stock levels, so they coincide in
    every period where their recommenders agree: a window chosen without looking would
    often show two identical firms. The rule: the ``window`` consecutive periods holding the
    most periods in which the two exposures differ; on ties, the window that best centres
    them (their mean period nearest its middle), then the earliest.
    Returns ``start``, ``stop`` (exclusive), ``differ_in_window``, ``differ_periods`` and
    ``differ_share`` (over all simulated periods), ``periods`` and the two ``firms``.
    """
    firms = list(dict.fromkeys(traj["firm"]))
    if len(firms) != 2:
        raise ValueError(f"divergence_window: expected the trajectories of two firms, got {firms}")
    x = [traj[traj.firm == f].pivot(index="period", columns="product", values="exposure")
         for f in firms]
    differs = (np.abs(x[0].to_numpy() - x[1].to_numpy()).sum(axis=1) > 1e-9).astype(int)
    periods = differs.size
    if not 1 <= int(window) <= periods:
        raise ValueError(f"window: must lie in 1..{periods} (the periods simulated), got {window!r}")
    counts = np.convolve(differs, np.ones(int(window), dtype=int), mode="valid")
    best = np.flatnonzero(counts == counts.max())
    t = np.arange(periods)
    off_centre = [abs(t[b:b + window][differs[b:b + window] == 1].mean() - (b + (window - 1) / 2))
                  if counts[b] else 0.0 for b in best]
    start = int(best[int(np.argmin(off_centre))])
    first = int(x[0].index[0])
    return {"start": first + start, "stop": first + start + int(window),
            "differ_in_window": int(counts[start]), "differ_periods": int(differs.sum()),
            "differ_share": float(differs.mean()), "periods": periods, "firms": firms}


def plot_trajectories(traj: pd.DataFrame, chosen: dict, scenario: str = "tiny"):
    """E0's trajectory figure: available stock (top) and the share of customers shown each
    product (bottom), one column per firm, over the window ``chosen`` by
    :func:`divergence_window`; grey bands mark the periods where the two firms' exposures
    differ. Returns the figure."""
    shown = traj[(traj.period >= chosen["start"]) & (traj.period < chosen["stop"])]
    x = {f: g.pivot(index="period", columns="product", values="exposure")
         for f, g in shown.groupby("firm", sort=False)}
    a, b = (x[f] for f in chosen["firms"])
    differ = a.index[(np.abs(a.to_numpy() - b.to_numpy()).sum(axis=1) > 1e-9)]
    fig, axes = plt.subplots(2, 2, figsize=(10, 5.2), sharex=True, sharey="row")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for col, name in enumerate(chosen["firms"]):
        g = shown[shown.firm == name]
        for i, (product, p) in enumerate(g.groupby("product")):
            axes[0, col].step(p.period, p.available, where="mid", color=colors[i],
                              label=f"product {product}")
            axes[1, col].step(p.period, p.exposure, where="mid", color=colors[i])
        for ax in axes[:, col]:
            for t in differ:
                ax.axvspan(t - 0.5, t + 0.5, color="0.85", lw=0, zorder=0)
        axes[0, col].set_title(FIRMS[name].label, fontsize="medium")
        axes[1, col].set_xlabel("period t")
    axes[0, 0].set_ylabel("available stock $A_i$")
    axes[1, 0].set_ylabel("exposure $x_i$\n(share shown $i$)")
    axes[1, 0].set_ylim(-0.05, 1.05)
    axes[0, 0].legend(fontsize="small", loc="lower left")
    fig.suptitle(f"{scenario}, same demand draws for both firms: periods {chosen['start']}-"
                 f"{chosen['stop'] - 1}, the {chosen['stop'] - chosen['start']}-period window "
                 f"where their exposures differ most\n(grey: the {chosen['differ_in_window']} "
                 f"periods they differ here; {chosen['differ_periods']} of "
                 f"{chosen['periods']} periods, {100 * chosen['differ_share']:.1f}%, in the "
                 "whole run)", fontsize="medium")
    fig.tight_layout()
    return fig


def plot_comparison(table: pd.DataFrame):
    """E0's profit figure: each firm's mean profit per period as a dot with its 95% interval,
    one panel per scenario on an axis zoomed to the intervals (not from 0, where a gap of
    0.4% would be invisible), with the paired gain over the first firm written beside each
    other firm (``gain``, ``gain_lo``, ``gain_hi`` of :func:`compare_heuristics`)."""
    scenarios = list(dict.fromkeys(table["scenario"]))
    fig, axes = plt.subplots(1, len(scenarios), figsize=(4.6 * len(scenarios), 3.4),
                             squeeze=False)
    for ax, name in zip(axes[0], scenarios):
        sub = table[table.scenario == name].reset_index(drop=True)
        ax.errorbar(range(len(sub)), sub["profit"],
                    yerr=[sub["profit"] - sub["profit_lo"], sub["profit_hi"] - sub["profit"]],
                    fmt="o", capsize=5, color="black")
        for i, r in sub.iterrows():
            if i and "gain" in sub:
                ax.annotate(f"{r.gain:+.2f} [{r.gain_lo:+.2f}, {r.gain_hi:+.2f}]\n"
                            f"({100 * r.gain / abs(sub.profit[0]):+.1f}%) vs {sub.method[0].split(' ')[0]}",
                            (i, r.profit_hi), textcoords="offset points", xytext=(0, 6),
                            ha="center", va="bottom", fontsize="small")
        span = sub["profit_hi"].max() - sub["profit_lo"].min()
        ax.set_ylim(sub["profit_lo"].min() - 0.15 * span, sub["profit_hi"].max() + 0.6 * span)
        ax.set_xlim(-0.5, len(sub) - 0.5)
        ax.set_xticks(range(len(sub)), [m.split(" (")[0] for m in sub["method"]])
        ax.set_title(f"{name} (axis does not start at 0)", fontsize="medium")
        ax.set_ylabel("profit per period (95% CI)")
    fig.tight_layout()
    return fig


# ---- E0's verdict: the rule first, the sentence from the table ------------------------------
GAIN_RULE = ("Rule, stated before the numbers: on each scenario the coordinated firm earns more "
             "than the siloed one when the 95% interval of its paired gain (same demand draws, "
             "replication by replication) lies above 0, less when it lies below 0, and no "
             "difference is detected when it contains 0.")
"""E0's decision rule, in the words the notebook shows before its table."""


def gain_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """:data:`GAIN_RULE` applied to each non-first firm of :func:`compare_heuristics`:
    ``scenario``, ``method``, ``gain``, ``gain_lo``, ``gain_hi``, ``gain_pct`` (of the first
    firm's profit) and ``verdict`` (``higher``, ``lower`` or ``no difference detected``)."""
    rows = []
    for scenario, sub in table.groupby("scenario", sort=False):
        sub = sub.reset_index(drop=True)
        base = float(sub["profit"].iloc[0])
        for _, r in sub.iloc[1:].iterrows():
            verdict = ("higher" if r.gain_lo > 0 else "lower" if r.gain_hi < 0
                       else "no difference detected")
            rows.append({"scenario": scenario, "method": r.method, "gain": float(r.gain),
                         "gain_lo": float(r.gain_lo), "gain_hi": float(r.gain_hi),
                         "gain_pct": 100 * float(r.gain) / abs(base) if base else float("nan"),
                         "verdict": verdict})
    return pd.DataFrame(rows)


def verdict_sentences(table: pd.DataFrame) -> str:
    """One Markdown sentence per scenario, built from :func:`gain_verdicts` of ``table``."""
    words = {"higher": "earns more than", "lower": "earns less than",
             "no difference detected": "is not distinguishable from"}
    first = {s: sub["method"].iloc[0] for s, sub in table.groupby("scenario", sort=False)}
    lines = []
    for _, r in gain_verdicts(table).iterrows():
        lines.append(f"- `{r.scenario}`: {r.method} {words[r.verdict]} {first[r.scenario]}: "
                     f"paired gain {r.gain:+.3f} [{r.gain_lo:+.3f}, {r.gain_hi:+.3f}] per "
                     f"period ({r.gain_pct:+.2f}%).")
    return "\n".join(lines)


def trajectory_sentence(chosen: dict, scenario: str = "tiny") -> str:
    """What the trajectory figure shows, from :func:`divergence_window`'s record."""
    a, b = (FIRMS[f].label for f in chosen["firms"])
    if chosen["differ_periods"] == 0:
        return (f"On `{scenario}` the two firms' exposures are the same in all "
                f"{chosen['periods']} simulated periods: on these demand draws {b} behaves "
                f"exactly as {a}.")
    return (f"On `{scenario}` the exposures of {a} and {b} differ in "
            f"{chosen['differ_periods']} of {chosen['periods']} simulated periods "
            f"({100 * chosen['differ_share']:.2f}%); in every other period the two firms "
            f"coincide. The figure shows periods {chosen['start']}-{chosen['stop'] - 1}, the "
            f"window holding the most of them ({chosen['differ_in_window']}).")
