"""E10, sweeps: the experiment a grid runs by default, one heuristic firm tuned and evaluated on a
scenario with some fields overridden (``experiment: evaluate_heuristic`` in data/sweeps/*.yaml).
"""
from __future__ import annotations

import inspect

import pandas as pd

from ..model.evaluation import evaluate
from ..model.scenario import FIELD_NAMES, suggestion
from ..model.scenarios import get as get_scenario
from ..pipeline.sweep import t_interval
from ..policies.firms import FIRMS, firm

METRICS = ("profit", "revenue", "purchase_cost", "holding_cost", "penalty_cost", "fill_rate",
           "lost_sales_rate", "mean_on_hand", "mean_demand")


def evaluate_heuristic(scenario="tiny", policy: str = "siloed", seed: int = 0,
                       replications: int = 20, periods: int = 500, warmup: int = 100,
                       tune_replications: int = 64, tune_periods: int = 200,
                       tune_warmup: int = 50, **scenario_overrides) -> dict:
    """Tune and evaluate one heuristic firm on one scenario: the sweep's built-in experiment.

    Parameters
    ----------
    scenario : str or Scenario
        a shipped scenario's name or a YAML path.
    policy : str
        a key of :data:`coordlib.policies.FIRMS` ("siloed", "coordinated", "margin-greedy", ...).
    seed : int
        seed of the evaluation (:func:`coordlib.evaluate`); tuning uses :func:`coordlib.policies.firms.tuning_seed`.
    replications, periods, warmup : int
        evaluation: independent replications, periods each, periods discarded.
    tune_replications, tune_periods, tune_warmup : int
        the same for :func:`coordlib.policies.tuning.tune_base_stock`, which sets the levels [S_i].
    **scenario_overrides
        scenario fields changed with :meth:`coordlib.model.scenario.Scenario.replace`, e.g. ``lift`` [beta_k],
        ``lead_time`` [L_i], ``arrival_rate`` [lambda_k], ``price`` [p_i]; a scalar is
        broadcast to every product or segment.

    Returns
    -------
    dict of numbers: the means over replications of :data:`METRICS` (per period after the
    warm-up, as in :func:`coordlib.evaluate`), and ``base_stock_1`` .. ``base_stock_N``, the
    tuned order-up-to levels S_i.
    """
    base = get_scenario(scenario)
    model = base.replace(**scenario_overrides) if scenario_overrides else base
    policy_obj = firm(model, policy, seed, replications=tune_replications,
                      periods=tune_periods, warmup=tune_warmup)
    frame = evaluate(model, policy_obj, replications=replications, periods=periods,
                     warmup=warmup, seed=seed)
    out = {name: float(frame[name].mean()) for name in METRICS}
    for i, level in enumerate(policy_obj.replenisher.levels, start=1):
        out[f"base_stock_{i}"] = int(level)
    return out


def check_parameters(scenario="tiny", policy: str = "siloed", **rest) -> None:
    """Check one job of :func:`evaluate_heuristic` without running it (a sweep checks its whole
    grid this way before the first job starts): the scenario, the firm, and every other name,
    an argument of the function or a scenario field with a valid value; a misspelt name is
    named with the closest valid ones."""
    base = get_scenario(scenario)
    if policy not in FIRMS:
        raise ValueError(f"policy: unknown firm {policy!r}; known: {', '.join(FIRMS)}")
    arguments = [n for n in inspect.signature(evaluate_heuristic).parameters
                 if n not in ("scenario", "policy", "seed", "scenario_overrides")]
    overrides = {k: v for k, v in rest.items() if k not in arguments}
    for key in overrides:
        if key not in FIELD_NAMES:
            raise ValueError(f"{key!r}: neither an argument of evaluate_heuristic nor a scenario "
                             "field" + suggestion(key, [*arguments, *FIELD_NAMES]))
    if overrides:
        base.replace(**overrides)


evaluate_heuristic.check_parameters = check_parameters


def static_share(scenario="tiny-margin", seed: int = 0, **kwargs) -> dict:
    """How much of the value of coordination at a scenario is static: the margin-greedy firm
    (margin-aware exposure, no inventory information) against the coordinated one, each
    over the siloed firm, all three by :func:`evaluate_heuristic` on the same ``seed``
    (common random numbers; ``kwargs`` as there). Returns the three profits, ``total``
    (coordinated - siloed), ``static`` (margin-greedy - siloed) and ``share`` = static / total
    (NaN when the total is 0)."""
    profit = {name: evaluate_heuristic(scenario, name, seed, **kwargs)["profit"]
              for name in ("siloed", "margin-greedy", "coordinated")}
    total = profit["coordinated"] - profit["siloed"]
    static = profit["margin-greedy"] - profit["siloed"]
    return {**{f"profit_{k}": v for k, v in profit.items()}, "total": total, "static": static,
            "share": static / total if total else float("nan")}


def plot_sensitivity(results: pd.DataFrame, gain: pd.DataFrame, base: str,
                     static: dict | None = None):
    """E10's figure: left, each firm's profit per period against the lift beta, one line per
    lead time L; right, the value of coordination (coordinated - siloed, paired by seed).
    Intervals are the tables' Student-t intervals over seeds. The title names the ``base``
    scenario every job modifies and, given ``static`` (:func:`static_share` at the base),
    how much of the value there is static. Returns the figure."""
    # deferred: only drawing needs matplotlib and seaborn; every sweep worker imports this module
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6), constrained_layout=True)
    sns.lineplot(data=results, x="lift", y="profit", hue="lead_time", style="policy",
                 markers=True, errorbar=t_interval, palette="viridis", ax=axes[0])
    axes[0].set(xlabel=r"recommendation lift $\beta$", ylabel="profit per period",
                title="profit of each firm (mean, 95% CI over seeds)")
    sns.move_legend(axes[0], "upper left", bbox_to_anchor=(1.01, 1), fontsize="small",
                    title_fontsize="small", frameon=False)
    sns.lineplot(data=gain, x="lift", y="profit", hue="lead_time", marker="o",
                 errorbar=t_interval, palette="viridis", ax=axes[1])
    axes[1].axhline(0, color="0.3", lw=0.8)
    axes[1].set(xlabel=r"recommendation lift $\beta$", ylabel="coordinated - siloed",
                title="value of coordination (paired by seed)")
    axes[1].legend(title="lead time L")
    sc = get_scenario(base)
    title = (f"base scenario {sc.name} (its own lift $\\beta$ = {sc.lift.max():g}, lead time "
             f"L = {sc.lead_time.max()}); each job changes these two")
    if static is not None:
        title += (f"\nat the base, the margin-greedy firm (static, margin-aware exposure, no "
                  f"inventory information) earns {100 * static['share']:.0f}% of the coordinated "
                  f"firm's gain over the siloed one ({static['static']:.2f} of "
                  f"{static['total']:.2f} per period)")
    fig.suptitle(title, fontsize="medium")
    return fig


GROWTH_RULE = ("Rule, stated before the numbers: the value of coordination grows with the lift at "
               "a lead time when the lower end of its 95% interval at the largest lift lies "
               "above the upper end of its interval at the smallest lift; it grows on the grid "
               "when it does so at every lead time.")
"""E10's decision rule, in the notebook's words."""


def growth_verdict(gain_table: pd.DataFrame, base: str) -> str:
    """:data:`GROWTH_RULE` on :func:`coordlib.pipeline.sweep.aggregate` of the paired gains
    (columns ``lift``, ``lead_time``, ``profit``, ``profit_lo``, ``profit_hi``), as Markdown:
    the verdict, then each lead time's gain at the smallest and the largest lift."""
    lo_lift, hi_lift = gain_table["lift"].min(), gain_table["lift"].max()
    lines, grows = [], 0
    leads = sorted(gain_table["lead_time"].unique())
    for lead in leads:
        sub = gain_table[gain_table["lead_time"] == lead].set_index("lift")
        a, b = sub.loc[lo_lift], sub.loc[hi_lift]
        ok = bool(b["profit_lo"] > a["profit_hi"])
        grows += ok
        lines.append(f"- L = {lead:g}: {a['profit']:.2f} [{a['profit_lo']:.2f}, "
                     f"{a['profit_hi']:.2f}] at lift {lo_lift:g}, {b['profit']:.2f} "
                     f"[{b['profit_lo']:.2f}, {b['profit_hi']:.2f}] at lift {hi_lift:g}"
                     f"{'' if ok else ' (intervals not separated)'}")
    verdict = ("grows with the lift at every lead time" if grows == len(leads) else
               f"grows with the lift at {grows} of {len(leads)} lead times")
    return "\n".join([f"**Verdict on `{base}`:** the value of coordination (coordinated - "
                      f"siloed, per period) {verdict}."] + lines)
