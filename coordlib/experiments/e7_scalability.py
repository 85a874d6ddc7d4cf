"""E7, scalability in N and K: a learner trained on shipped or generated scenarios of growing size,
beside the heuristic firms on the same evaluation, with training time and steps per second.
"""
from __future__ import annotations

import re

import pandas as pd

from ..learning.config import config_for
from ..learning.training import train
from ..model.evaluation import evaluate, mean_ci
from ..model.scenario import random_scenario
from ..model.scenarios import get
from ..pipeline.sweep import cache_folder, cached_sweep
from ..policies.firms import firm
from .learners import across_seeds

# ---- E7: scalability --------------------------------------------------------------------------
_RANDOM = re.compile(r"^random-N(\d+)-K(\d+)$")


def scenario_for(name: str):
    """A shipped scenario, or ``random-N<N>-K<K>``: :func:`coordlib.model.scenario.random_scenario`
    with N products and K segments (scenario seed 0, so every run sees the same one)."""

    m = _RANDOM.match(str(name))
    if m:
        n, k = int(m.group(1)), int(m.group(2))
        if n < 1 or k < 1:
            raise ValueError(f"scenario {name!r}: N and K must be >= 1")
        return random_scenario(n, k, seed=0, name=str(name))
    return get(name)


def random_names(sizes) -> list[str]:
    """``[(N, K), ...]`` -> the scenario names understood by :func:`scenario_for`."""
    return [f"random-N{int(n)}-K{int(k)}" for n, k in sizes]


def scaling_run(scenario: str, config: str = "mtma", seed: int = 0, iterations: int = 20,
                heuristic_tuning: dict | None = None, **overrides) -> dict:
    """Train ``config`` on ``scenario`` (see :func:`scenario_for`), evaluate it, and evaluate
    the siloed and coordinated heuristics with the same evaluation (common random numbers).

    Returns the scenario's N and K, the learner's profit per period with its 95% CI, the
    heuristics' profits, training seconds, environment steps, steps per second and the
    learner's parameter count.
    """

    s = scenario_for(scenario)
    cfg = config_for(config, seed=int(seed), iterations=int(iterations), **overrides)
    result = train(s, cfg, progress=False)
    out = {"n_products": s.n_products, "n_segments": s.n_segments,
           "profit": float(result.summary["profit"]),
           "profit_lo": float(result.summary["profit_ci_low"]),
           "profit_hi": float(result.summary["profit_ci_high"]),
           "train_seconds": float(result.summary["train_seconds"]),
           "env_steps": int(result.summary["env_steps"]),
           "steps_per_second": float(result.summary["steps_per_second"]),
           "parameters": int(result.summary["parameters"])}
    for name in ("siloed", "coordinated"):
        policy = firm(s, name, cfg.eval_seed, **(heuristic_tuning or {}))
        frame = evaluate(s, policy, cfg.eval_replications, cfg.eval_periods,
                         cfg.eval_warmup, cfg.eval_seed)
        out[f"profit_{name}"] = float(mean_ci(frame["profit"])[0])
    return out


def scalability(scenarios, seeds, iterations: int, cache_dir, settings: dict | None = None,
                heuristic_tuning: dict | None = None, workers: int = 2) -> pd.DataFrame:
    """Run :func:`scaling_run` for every scenario and seed with :mod:`coordlib.pipeline.sweep` (cached
    under ``cache_dir`` by configuration and code version). Adds ``ratio_siloed`` and
    ``ratio_coordinated``: the learner's profit over each heuristic's."""

    root = cache_folder(cache_dir, "studies", "e7")
    fixed = {"iterations": int(iterations), **(settings or {})}
    if heuristic_tuning:
        fixed["heuristic_tuning"] = dict(heuristic_tuning)
    grid = {"name": "e7", "experiment": "coordlib.experiments.e7_scalability.scaling_run", "fixed": fixed,
            "axes": {"scenario": [str(s) for s in scenarios]},
            "seeds": [int(s) for s in seeds]}
    frame = cached_sweep(grid, root, workers)
    frame["ratio_siloed"] = frame["profit"] / frame["profit_siloed"]
    frame["ratio_coordinated"] = frame["profit"] / frame["profit_coordinated"]
    return frame


def scalability_table(runs: pd.DataFrame) -> pd.DataFrame:
    """E7's table: per scenario, N, K, profit with a CI across seeds, the heuristics' profits,
    the profit ratios, training seconds, steps per second and parameter count (means over
    seeds)."""
    table = across_seeds(runs, by=("scenario",))
    means = runs.groupby("scenario", sort=False)[
        ["n_products", "n_segments", "profit_siloed", "profit_coordinated", "ratio_siloed",
         "ratio_coordinated", "steps_per_second", "parameters"]].mean().reset_index()
    out = table.merge(means, on="scenario")
    out["n_products"] = out["n_products"].astype(int)
    out["n_segments"] = out["n_segments"].astype(int)
    out["parameters"] = out["parameters"].astype(int)
    return out.sort_values(["n_products", "n_segments"]).reset_index(drop=True)


# ---- E7's figure -------------------------------------------------------------------------------
def plot_scalability(runs: pd.DataFrame):
    """E7's figure from :func:`scalability`: the learner's profit over each heuristic's
    against N (mean and 95% t-interval across seeds), training time and simulated periods
    per second against N, one colour and marker per K (a categorical palette: every K as
    visible as any other). Returns the figure."""
    # deferred: only drawing needs matplotlib and seaborn; the sweep workers never load them
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    data = runs.assign(K=runs["n_segments"].map(lambda k: f"K = {int(k)}"))
    order = [f"K = {k}" for k in sorted(runs["n_segments"].unique())]
    palette = dict(zip(order, sns.color_palette("colorblind", n_colors=len(order))))
    long = runs.melt(id_vars=["scenario", "n_products", "n_segments", "seed"],
                     value_vars=["ratio_siloed", "ratio_coordinated"], var_name="baseline",
                     value_name="ratio")
    long["baseline"] = long["baseline"].str.replace("ratio_", "")

    def t_interval(values):          # the tables' interval (mean_ci), not a bootstrap
        mean, lo, hi = mean_ci(values)
        return (mean, mean) if len(values) < 2 else (lo, hi)

    fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.2))
    sns.pointplot(data=long, x="n_products", y="ratio", hue="baseline", ax=axes[0],
                  errorbar=t_interval, dodge=0.2, palette="colorblind")
    axes[0].axhline(1.0, color="grey", lw=1, ls="--")
    axes[0].set(xlabel="products N", ylabel="learner profit / heuristic profit",
                title="mean, 95% t-interval across seeds")
    for ax, column, label in ((axes[1], "train_seconds", "training time [s]"),
                              (axes[2], "steps_per_second", "simulated periods per second")):
        sns.scatterplot(data=data, x="n_products", y=column, hue="K", style="K",
                        hue_order=order, style_order=order, palette=palette, s=70,
                        edgecolor="black", linewidth=0.6, ax=ax)
        ax.set(xscale="log", xlabel="products N", ylabel=label)
        sizes = sorted(int(n) for n in runs["n_products"].unique())
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend(title="segments", fontsize="small")
    axes[2].set_yscale("log")
    axes[2].yaxis.set_major_formatter(ScalarFormatter())
    axes[2].yaxis.set_minor_formatter(ScalarFormatter())
    fig.tight_layout()
    return fig
