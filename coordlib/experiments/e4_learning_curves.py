"""E4, learning curves: profit against environment steps with bands across seeds, final values."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import EngFormatter

from ..model.evaluation import mean_ci
from ..model.evaluation import summarize as _summarize
from .e3_main_table import dp_gains, heuristic_table
from .e5_timescales import curve_stationarity

ROLLOUT = "last_rollout_profit"
"""E4's name for the last training rollout's profit per period (:func:`final_means`): not the
evaluated profit that E3 reports (``profit``), which it sits beside."""


def curve_bands(curves: pd.DataFrame, by=("scenario", "config"), x: str = "env_steps",
                column: str = "profit", confidence: float = 0.95) -> pd.DataFrame:
    """E4: mean of ``column`` over seeds at each ``x`` with a t-interval across seeds."""

    rows = []
    for key, g in curves.groupby([*by, x], sort=True):
        mean, lo, hi = mean_ci(g[column], confidence)
        rows.append({**dict(zip((*by, x), key)), "seeds": len(g), column: mean,
                     f"{column}_lo": lo, f"{column}_hi": hi})
    return pd.DataFrame(rows)


def final_means(curves: pd.DataFrame, by=("scenario", "config"),
                columns=("profit", "steps_per_s")) -> pd.DataFrame:
    """E4: the last iteration of every run's curve, mean over seeds with a 95% t-interval.
    The rollout profit (actions sampled, as the learner collects them) is named
    :data:`ROLLOUT` (``last_rollout_profit``, ``_lo``, ``_hi``) so that it is not read as the
    deterministic evaluation of E3's ``profit``."""

    last = curves.loc[curves.groupby([*by, "seed"], sort=False)["iteration"].idxmax()]
    out = _summarize(last, by=by, columns=columns)
    iters = last.groupby(list(by), sort=False)[["iteration", "env_steps"]].max().reset_index()
    renamed = {f"profit{end}": f"{ROLLOUT}{end}" for end in ("", "_lo", "_hi")}
    return out.merge(iters, on=list(by)).rename(columns={"n": "seeds", **renamed})


def convergence_verdicts(bands: pd.DataFrame, tail: float = 0.5, batches: int = 6) -> pd.DataFrame:
    """Whether each configuration's learning curve had levelled off when it was evaluated: the
    seed-mean curve of :func:`curve_bands` per scenario and configuration, its last ``tail``
    tested for a shift, a trend or a growing spread
    (:func:`coordlib.experiments.e5_timescales.curve_stationarity`). Columns: scenario, config,
    stationary (True, False, or None for a curve too short to test), slope (profit per
    iteration over the tail's batches), verdict (``levelled off``, ``still changing`` or
    ``too short to tell``)."""
    rows = []
    for (scenario, config), g in bands.groupby(["scenario", "config"], sort=False):
        found = curve_stationarity(g.sort_values("env_steps")["profit"], tail, batches)
        verdict = {True: "levelled off", False: "still changing", None: "too short to tell"}[
            found["stationary"]]
        rows.append({"scenario": scenario, "config": config, "stationary": found["stationary"],
                     "slope": found["slope"], "verdict": verdict})
    return pd.DataFrame(rows, columns=["scenario", "config", "stationary", "slope", "verdict"])


def reference_lines(heuristics: pd.DataFrame, optimum: pd.DataFrame) -> pd.DataFrame:
    """The lines a learning curve is read against, per scenario: the best heuristic firm
    (highest mean of :func:`coordlib.experiments.e3_main_table.heuristic_table`) and the DP
    optimum g* where one exists (:func:`coordlib.experiments.e3_main_table.dp_gains`).
    Columns: scenario, reference (its label), profit, kind (``"heuristic"`` or ``"DP"``)."""
    rows = []
    for name, g in heuristics.groupby("scenario", sort=False):
        best = g.loc[g["profit"].idxmax()]
        rows.append({"scenario": name, "reference": f"best heuristic ({best['method']})",
                     "profit": float(best["profit"]), "kind": "heuristic"})
    for r in optimum.itertuples():
        rows.append({"scenario": r.scenario, "reference": "DP optimum g*",
                     "profit": float(r.gain), "kind": "DP"})
    return pd.DataFrame(rows, columns=["scenario", "reference", "profit", "kind"])


def references_for(scenarios, replications: int = 20, periods: int = 500, warmup: int = 100,
                   seed: int = 0, cache_dir=None) -> pd.DataFrame:
    """:func:`reference_lines` computed for ``scenarios``: the heuristic firms evaluated as in
    E3 (same replications, periods, warm-up and seed) and g* from the exact DP (cached under
    ``cache_dir``)."""
    return reference_lines(heuristic_table(scenarios, replications=replications,
                                           periods=periods, warmup=warmup, seed=seed),
                           dp_gains(scenarios, cache_dir=cache_dir))


def plot_learning_curves(bands: pd.DataFrame, final: pd.DataFrame,
                         evaluated: pd.DataFrame | None = None,
                         references: pd.DataFrame | None = None):
    """E4's figure, one column per scenario.

    Top: the training rollout profit per period (actions sampled from the policies, as the
    learner collects them; :func:`curve_bands`, mean and 95% band across seeds) against
    environment steps. At the right end, ``evaluated`` (:func:`coordlib.experiments.learners.across_seeds`
    of the runs: the deterministic evaluation E3's table reports, seeds x replications) as a
    dot with its interval, and ``references`` (:func:`reference_lines`: the best heuristic,
    dotted, and g*, dashed) as horizontal lines. Bottom: environment steps per second
    (``final``, :func:`final_means`). The columns follow the scenarios' order in ``final``
    (the runs' order, E3's), not the alphabet. Returns the figure.
    """
    scenarios = list(dict.fromkeys(final["scenario"]))
    scenarios += [s for s in dict.fromkeys(bands["scenario"]) if s not in scenarios]
    configs = list(dict.fromkeys(bands["config"]))
    colors = dict(zip(configs, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    n = len(scenarios)
    fig, axes = plt.subplots(2, n, figsize=(max(5.2 * n, 7.5), 7.0), squeeze=False,
                             gridspec_kw={"height_ratios": [2.2, 1]})
    for col, name in enumerate(scenarios):
        ax = axes[0, col]
        sub = bands[bands.scenario == name]
        right = float(sub["env_steps"].max())
        for config, g in sub.groupby("config", sort=False):
            ax.plot(g.env_steps, g.profit, color=colors[config], label=f"{config}: rollout")
            ax.fill_between(g.env_steps, g.profit_lo, g.profit_hi, color=colors[config],
                            alpha=0.2, lw=0)
        if evaluated is not None:
            ev = evaluated[evaluated.scenario == name].reset_index(drop=True)
            for i, r in ev.iterrows():
                x = right * (1.03 + 0.025 * i)
                ax.errorbar([x], [r.profit], yerr=[[r.profit - r.profit_lo],
                                                   [r.profit_hi - r.profit]],
                            fmt="D", ms=5, capsize=3, color=colors.get(r.config, "black"),
                            label=f"{r.config}: evaluated" if col == 0 else None)
        if references is not None:
            lines = [ax.axhline(r.profit, color="black", lw=1.1,
                                ls="--" if r.kind == "DP" else ":",
                                label=f"{r.reference} = {r.profit:.2f}")
                     for r in references[references.scenario == name].itertuples()]
            if lines:
                ax.add_artist(ax.legend(handles=lines, loc="lower right", fontsize="x-small",
                                        framealpha=0.9))
        ax.set_title(name)
        ax.set_ylabel("profit per period")
        ax.set_xlabel("environment steps")
        ax.xaxis.set_major_formatter(EngFormatter())
        speed = final[final.scenario == name].reset_index(drop=True)
        bar = axes[1, col]
        bar.bar(range(len(speed)), speed.steps_per_s,
                color=[colors.get(c, "grey") for c in speed.config])
        bar.errorbar(range(len(speed)), speed.steps_per_s,
                     yerr=[speed.steps_per_s - speed.steps_per_s_lo,
                           speed.steps_per_s_hi - speed.steps_per_s],
                     fmt="none", color="black", capsize=3)
        bar.set_xticks(range(len(speed)), speed.config, rotation=30, ha="right")
        bar.set_ylabel("env steps per second")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    keep = [(h, lab) for h, lab in zip(handles, labels) if lab.endswith((": rollout", ": evaluated"))]
    fig.legend(*zip(*keep), loc="lower center", ncol=min(4, max(1, len(keep))),
               fontsize="small", bbox_to_anchor=(0.5, -0.01), frameon=False)
    fig.suptitle("lines: training rollout profit (actions sampled), mean and 95% band across "
                 "seeds\ndiamonds: the deterministic evaluation E3 reports, 95% interval over "
                 "seeds x replications\ndashed: DP optimum g*; dotted: best heuristic firm",
                 fontsize="small")
    fig.tight_layout(rect=(0, 0.05 + 0.02 * np.ceil(len(labels) / 4), 1, 1))
    return fig


def reading_sentences(final: pd.DataFrame, evaluated: pd.DataFrame,
                      references: pd.DataFrame, verdicts: pd.DataFrame | None = None) -> str:
    """What E4's figure shows, per scenario and configuration, as Markdown built from the
    tables: the last rollout profit (:func:`final_means`), the deterministic evaluation with
    its seeds x replications interval (:func:`coordlib.experiments.learners.across_seeds`) and
    its distance to each reference line (:func:`reference_lines`) in percent of the line;
    with ``verdicts`` (:func:`convergence_verdicts`), a first line counting the curves that
    levelled off and each curve's verdict."""
    lines = []
    if verdicts is not None and len(verdicts):
        tally = verdicts["verdict"].value_counts()
        lines.append("**Convergence: " + ", ".join(f"{n} of {len(verdicts)} curves {v}"
                                                   for v, n in tally.items())
                     + "** (the last half of each seed-mean curve tested for a shift, a trend "
                       "or a growing spread).\n")
    for r in evaluated.itertuples():
        last = final[(final.scenario == r.scenario) & (final.config == r.config)]
        roll = f"last rollout {last[ROLLOUT].iloc[0]:.2f}; " if len(last) else ""
        if verdicts is not None:
            found = verdicts[(verdicts.scenario == r.scenario) & (verdicts.config == r.config)]
            roll += f"curve {found['verdict'].iloc[0]}; " if len(found) else ""
        refs = references[references.scenario == r.scenario]
        gaps = "; ".join(f"{100 * (r.profit - ref.profit) / abs(ref.profit):+.1f}% vs "
                         f"{ref.reference}" for ref in refs.itertuples() if ref.profit)
        lines.append(f"- `{r.scenario}` / {r.config}: {roll}evaluated {r.profit:.2f} "
                     f"[{r.profit_lo:.2f}, {r.profit_hi:.2f}]" + (f" ({gaps})" if gaps else ""))
    return "\n".join(lines)
