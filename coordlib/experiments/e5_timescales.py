"""E5, the timescale ablation (MODEL.md section 6, "Distinct learning speeds").

:func:`timescale_ablation` trains MTMA (recommender fast, replenisher slow), the reversed
ordering, a single timescale and several ratios a_slow / a_fast on the same budget;
:func:`curve_stability` and :func:`ablation_table` summarize profit and the stability of the
learning curves (:func:`curve_stationarity`, also used by E8).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..learning import convergence
from ..model.evaluation import mean_ci
from ..model.variants import scenario_variant
from ..pipeline.sweep import cache_folder, cached_sweep
from .learners import across_seeds, run_metrics, run_name, settings_digest, train_run

# ---- E5: timescale ablation -----------------------------------------------------------------
BASE_VARIANTS = {
    "mtma (recommender fast)": ("mtma", {}),
    "reversed (replenisher fast)": ("mtma", {"fast_agent": "replenisher"}),
    "single timescale": ("single_timescale", {}),
}


def timescale_variants(ratios=()) -> dict:
    """The E5 configurations: label -> (preset, TrainConfig overrides).

    ``ratios`` adds MTMA with a_slow / a_fast = r for each r (``timescale_ratio``).
    """
    variants = dict(BASE_VARIANTS)
    for r in ratios:
        if not float(r) > 0:
            raise ValueError(f"ratios: every a_slow / a_fast must be > 0, got {r!r}")
        variants[f"mtma, ratio {float(r):g}"] = ("mtma", {"timescale_ratio": float(r)})
    return variants


def variant(label: str) -> tuple:
    """(preset, overrides) of a label of :func:`timescale_variants` (``"mtma, ratio r"`` for any r)."""
    if label in BASE_VARIANTS:
        return BASE_VARIANTS[label]
    m = re.fullmatch(r"mtma, ratio ([0-9.eE+-]+)", label)
    if m is None:
        raise ValueError(f"unknown timescale variant {label!r}; known: {', '.join(BASE_VARIANTS)}"
                         ", or 'mtma, ratio r'")
    return timescale_variants([float(m.group(1))])[label]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", str(text).lower()).strip("-")


def _variant_folder(runs_dir, variant_label: str, shift=None, shift_iterations: int = 0):
    """The folder of a variant's runs: one per variant, and per demand shift when there is one
    (so that the curves after a shift are never read for another shift, or for none)."""
    if runs_dir is None:
        return None
    tag = "" if shift is None or not int(shift_iterations) else \
        f"--shift-{settings_digest({'shift': list(shift), 'iterations': int(shift_iterations)})}"
    return Path(runs_dir) / f"{_slug(variant_label)}{tag}"


def variant_run(scenario: str, variant_label: str, seed: int = 0, iterations: int = 20,
                runs_dir=None, shift=None, shift_iterations: int = 0, **settings) -> dict:
    """Train and evaluate one E5 variant (see :func:`coordlib.experiments.learners.train_evaluate`);
    its learning curve goes to ``curve.csv`` in the run's folder under ``runs_dir``.

    With ``shift = [factor, value]`` (a factor of :func:`coordlib.model.variants.scenario_variant`)
    and ``shift_iterations > 0``, the learner then goes on training for ``shift_iterations``
    iterations in the shifted world (:meth:`coordlib.learning.mtma.Learner.retarget`: an
    unannounced change, same networks, optimizers and step sizes); that part of the curve goes
    to ``shift_curve.csv`` beside the curve (:func:`shift_summary` reads it). The metrics are
    those of the evaluation after the budget, before the shift."""

    config, overrides = variant(variant_label)
    out = _variant_folder(runs_dir, variant_label, shift, shift_iterations)
    result = train_run(scenario, config, seed, iterations, runs_dir=out,
                       **{**settings, **overrides})
    metrics = run_metrics(result)
    if shift is None or not int(shift_iterations):
        return metrics
    factor, value = shift
    learner = result.learner
    start = len(learner.curve)
    learner.retarget(scenario_variant(scenario, factor, value))
    for _ in range(int(shift_iterations)):
        learner.iterate()
    if result.out_dir is not None:
        pd.DataFrame(learner.curve[start:]).to_csv(Path(result.out_dir) / "shift_curve.csv",
                                                   index=False)
    return metrics


RECOVERY_WINDOW = 5
"""Iterations of the rolling mean that :func:`recovery` reads (the rollout profit is noisy)."""
RECOVERY_SHARE = 0.9
"""Settled: the rolling mean has covered this share of the way from where it starts after the
shift to the level it ends at."""
RECOVERY_TAIL = 0.2
"""The final level after the shift: the mean over this last share of the post-shift curve."""
RECOVERY_FLAT = 0.01
"""A change after the shift smaller than this share of the final level counts as none."""


def recovery(before, after) -> dict:
    """What a learner does after a demand shift, from its rollout profit per iteration before
    and after it. ``pre_shift``: the mean over the last :data:`RECOVERY_TAIL` before the shift;
    ``shift_area``: the mean profit over every iteration after it, as a share of ``pre_shift``
    (the adaptability measure of C6: it is high when the learner loses little and regains
    fast, and low when it collapses or is slow); ``shift_low``: the lowest rolling mean (over
    :data:`RECOVERY_WINDOW` iterations, full windows only); ``shift_final``: the mean over the
    last :data:`RECOVERY_TAIL` after the shift; ``settling_iterations``: the first iteration
    after the shift at which the rolling mean has covered :data:`RECOVERY_SHARE` of the way
    from its first full window to ``shift_final`` (0 when that way is under
    :data:`RECOVERY_FLAT` of the final level: nothing to adapt)."""
    before, after = np.asarray(before, float), np.asarray(after, float)
    n = after.size
    if n < 2 * RECOVERY_WINDOW:
        raise ValueError(f"recovery: needs at least {2 * RECOVERY_WINDOW} iterations after the "
                         f"shift, got {n}")
    if before.size == 0:
        raise ValueError("recovery: needs the curve before the shift")
    pre = float(before[-max(1, int(round(RECOVERY_TAIL * before.size))):].mean())
    rolling = np.convolve(after, np.ones(RECOVERY_WINDOW) / RECOVERY_WINDOW, mode="valid")
    final = float(after[-max(1, int(round(RECOVERY_TAIL * n))):].mean())
    start = float(rolling[0])
    way = final - start
    if abs(way) <= RECOVERY_FLAT * abs(final):
        settle = 0
    else:
        reached = np.flatnonzero((rolling - start) / way >= RECOVERY_SHARE)
        settle = int(reached[0] + RECOVERY_WINDOW) if reached.size else n
    return {"pre_shift": pre, "shift_area": float(after.mean() / pre) if pre else float("nan"),
            "shift_low": float(rolling.min()), "shift_final": final,
            "settling_iterations": settle}


def shift_summary(curves: pd.DataFrame, by=("scenario", "variant", "seed")) -> pd.DataFrame:
    """:func:`recovery` of every run of ``curves`` (:func:`timescale_ablation`'s) that trained
    through a demand shift, one row per run; empty without shifts."""
    if "phase" not in curves.columns or not (curves["phase"] == AFTER_SHIFT).any():
        return pd.DataFrame(columns=list(by))
    rows = []
    for key, g in curves.groupby(list(by), sort=False):
        after = g[g["phase"] == AFTER_SHIFT].sort_values("iteration")["profit"]
        if after.empty:
            continue
        before = g[g["phase"] != AFTER_SHIFT].sort_values("iteration")["profit"]
        rows.append({**dict(zip(by, key)), **recovery(before, after)})
    return pd.DataFrame(rows)


def timescale_ablation(scenarios, seeds, iterations: int, cache_dir, ratios=(0.1, 1.0),
                       settings: dict | None = None, workers: int = 2, shifts: dict | None = None,
                       shift_iterations: int = 0):
    """Train every variant of :func:`timescale_variants` on every scenario and seed, in
    :mod:`coordlib.pipeline.sweep` sweeps (cached under ``cache_dir`` by configuration and code
    version).

    ``settings`` are TrainConfig overrides shared by all variants (e.g. ``n_envs``,
    ``eval_replications``). ``shifts``: per scenario, the demand shift ``[factor, value]`` that
    the runs then train through for ``shift_iterations`` iterations (:func:`variant_run`).
    Returns ``(runs, curves)``: one row per run (evaluated profit per period [r_t averaged]
    with its CI, training time, the recovery metrics with a shift) and the stacked learning
    curves, both with a ``variant`` column; ``phase`` tells the curve rows before the shift
    (``"training"``) from those after it (:data:`AFTER_SHIFT`, iterations counted on).
    """

    labels = list(timescale_variants(ratios))
    shifts = {str(k): list(v) for k, v in (shifts or {}).items()}
    stray = sorted(set(shifts) - set(map(str, scenarios)))
    if stray:
        raise ValueError(f"shifts: {stray} not among the scenarios {list(scenarios)}")
    for name, (factor, value) in shifts.items():
        scenario_variant(name, factor, value)             # a bad shift fails before training
    if shifts and int(shift_iterations) < 2 * RECOVERY_WINDOW:
        raise ValueError(f"shift_iterations: at least {2 * RECOVERY_WINDOW} to measure a "
                         f"recovery, got {shift_iterations!r}")
    root = cache_folder(cache_dir, "studies", "e5")
    frames = []
    for name in map(str, scenarios):
        shift = ({"shift": shifts[name], "shift_iterations": int(shift_iterations)}
                 if name in shifts else {})
        grid = {"name": f"e5-{name}",
                "experiment": variant_run,
                "fixed": {"iterations": int(iterations), "runs_dir": str(root / "runs"),
                          **(settings or {}), **shift},
                "axes": {"scenario": [name], "variant_label": labels},
                "seeds": [int(s) for s in seeds]}
        frames.append(cached_sweep(grid, root / _slug(name), workers))
    runs = pd.concat(frames, ignore_index=True).rename(columns={"variant_label": "variant"})
    runs = runs[runs["variant"].isin(labels) & runs["scenario"].isin(list(scenarios))
                & runs["seed"].isin(list(seeds))].reset_index(drop=True)
    curves = []
    for row in runs.itertuples():
        config, overrides = variant(row.variant)
        folder = _variant_folder(root / "runs", row.variant, shifts.get(row.scenario),
                                 shift_iterations)
        path = (folder / run_name(row.scenario, config, row.seed,
                                  {**(settings or {}), **overrides}) / "curve.csv")
        for phase, file in (("training", path), (AFTER_SHIFT, path.with_name("shift_curve.csv"))):
            if phase == "training" or file.is_file():
                curve = pd.read_csv(file)
                curve["scenario"], curve["variant"], curve["seed"] = (row.scenario, row.variant,
                                                                      row.seed)
                curve["phase"] = phase
                curves.append(curve)
    return runs, pd.concat(curves, ignore_index=True)


AFTER_SHIFT = "after the shift"
"""The ``phase`` of the curve rows trained after the demand shift (the others: ``"training"``)."""


def curve_stationarity(series, tail: float = 0.5, batches: int = 6) -> dict:
    """:func:`coordlib.learning.convergence.stationarity` of a learning curve, or NaNs when too short.

    Returns ``stationary`` (True/False, or None when the tail holds fewer than 2 points per
    batch), ``slope`` (trend of the profit per iteration), ``spread_ratio`` and ``tail_mean``.
    """
    x = np.asarray(series, dtype=float)
    if int(x.size * tail) // batches < 2:
        return {"stationary": None, "slope": float("nan"), "spread_ratio": float("nan"),
                "tail_mean": float(x[-max(1, int(x.size * tail)):].mean()) if x.size else
                float("nan")}
    s = convergence.stationarity(x, tail=tail, batches=batches)
    return {"stationary": s.stationary, "slope": s.slope, "spread_ratio": s.spread_ratio,
            "tail_mean": s.tail_mean}


def curve_stability(curves: pd.DataFrame, by=("scenario", "variant", "seed"),
                    column: str = "profit", tail: float = 0.5) -> pd.DataFrame:
    """Per run: the standard deviation of the last ``tail`` of the learning curve (the rollout
    profit per period, iteration to iteration), its stationarity verdict, ``auc`` (the area
    under the learning curve per iteration: the mean of ``column`` over all iterations) and,
    where the curve records them (``kl_<agent>``), ``tail_kl_<agent>``: the mean KL divergence
    between successive policies of each agent over the last ``tail``, how much the policy still
    moves (oscillates) at the end of training. Rows after a demand shift are left out."""
    rows = []
    if "phase" in curves.columns:
        curves = curves[curves["phase"] != AFTER_SHIFT]
    for key, g in curves.groupby(list(by), sort=False):
        g = g.sort_values("iteration")
        x = g[column].to_numpy(float)
        cut = max(2, int(len(x) * tail)) if len(x) >= 2 else len(x)
        last = x[-cut:]
        kl = {f"tail_kl_{c[3:]}": float(g[c].to_numpy(float)[-cut:].mean())
              for c in g.columns if c.startswith("kl_")}
        rows.append({**dict(zip(by, key)), "tail_std": float(np.std(last, ddof=1))
                     if len(last) >= 2 else float("nan"), **curve_stationarity(x, tail),
                     "auc": float(x.mean()) if len(x) else float("nan"), **kl})
    return pd.DataFrame(rows)


def ablation_table(runs: pd.DataFrame, stability: pd.DataFrame,
                   shifted: pd.DataFrame | None = None) -> pd.DataFrame:
    """E5's table: profit with a 95% CI across seeds, ``seed_spread`` (the standard deviation of
    the evaluated profit across seeds; NaN with one seed), mean tail std of the curve, the share
    of runs whose curve tail is stationary (NaN when the curves are too short to test), and
    the means over seeds of ``auc`` and ``tail_kl_<agent>`` when :func:`curve_stability` has
    them; given ``shifted`` (:func:`shift_summary`), ``adaptation``: the mean over seeds of
    ``shift_area`` with a 95% t-interval (``adaptation_lo``, ``adaptation_hi``), and the means
    of ``settling_iterations``, ``pre_shift``, ``shift_low`` and ``shift_final``."""
    table = across_seeds(runs, by=("scenario", "variant"))
    spread = runs.groupby(["scenario", "variant"], sort=False)["profit"].agg(
        lambda v: float(np.std(v, ddof=1)) if len(v) >= 2 else float("nan"))
    table = table.merge(spread.rename("seed_spread").reset_index(), on=["scenario", "variant"],
                        how="left")
    stab = stability.copy()
    stab["stationary"] = stab["stationary"].map(lambda v: np.nan if v is None else float(v))
    extra = {c: (c, "mean") for c in stab.columns if c == "auc" or c.startswith("tail_kl_")}
    agg = stab.groupby(["scenario", "variant"], sort=False).agg(
        tail_std=("tail_std", "mean"), stationary_share=("stationary", "mean"),
        **extra).reset_index()
    table = table.merge(agg, on=["scenario", "variant"], how="left")
    if shifted is not None and len(shifted):
        rows = []
        for (scenario, label), g in shifted.groupby(["scenario", "variant"], sort=False):
            mean, lo, hi = mean_ci(g["shift_area"].to_numpy(float))
            rows.append({"scenario": scenario, "variant": label, "adaptation": mean,
                         "adaptation_lo": lo, "adaptation_hi": hi,
                         **{c: float(g[c].mean()) for c in ("settling_iterations", "pre_shift",
                                                            "shift_low", "shift_final")}})
        table = table.merge(pd.DataFrame(rows), on=["scenario", "variant"], how="left")
    return table


MTMA_VARIANT = next(iter(BASE_VARIANTS))
"""The label of MTMA's default ordering, the variant the others are compared with."""


def relative_to_mtma(table: pd.DataFrame, column: str = "profit") -> pd.DataFrame:
    """``table`` with ``<column>_pct`` (and ``_pct_lo``, ``_pct_hi`` from ``<column>_lo``,
    ``<column>_hi``): per scenario, the percent difference from MTMA's mean there, so that
    scenarios whose profits differ tenfold share one axis without hiding the intervals."""
    base = table[table["variant"] == MTMA_VARIANT].set_index("scenario")[column]
    missing = sorted(set(table["scenario"]) - set(base.index))
    if missing:
        raise ValueError(f"relative_to_mtma: no {MTMA_VARIANT!r} row on {missing}")
    ref = table["scenario"].map(base)
    out = table.copy()
    for suffix in ("", "_lo", "_hi"):
        out[f"{column}_pct{suffix}"] = 100 * (table[f"{column}{suffix}"] / ref - 1)
    return out


def leaders(table: pd.DataFrame) -> pd.DataFrame:
    """Per scenario (profits differ tenfold between them, so one maximum over all would only
    name the largest scenario): the variant with the highest evaluated profit, with its 95%
    interval and whether it lies apart from MTMA's (``apart``), and the variant with the
    steadiest learning curve (lowest ``tail_std``)."""
    rows = []
    for scenario, g in table.groupby("scenario", sort=False):
        best, steadiest = g.loc[g["profit"].idxmax()], g.loc[g["tail_std"].idxmin()]
        mtma = g[g["variant"] == MTMA_VARIANT]
        apart = (bool(best["profit_lo"] > mtma["profit_hi"].iloc[0]) if len(mtma)
                 and best["variant"] != MTMA_VARIANT else False)
        rows.append({"scenario": scenario, "highest_profit": best["variant"],
                     "profit": float(best["profit"]), "profit_lo": float(best["profit_lo"]),
                     "profit_hi": float(best["profit_hi"]), "apart_from_mtma": apart,
                     "steadiest": steadiest["variant"], "tail_std": float(steadiest["tail_std"])})
    return pd.DataFrame(rows)


def plot_timescales(table: pd.DataFrame, curves: pd.DataFrame,
                    shifted: pd.DataFrame | None = None):
    """E5's figure. Colour is the variant in every panel, line style (or the x position) the
    scenario. Left: each variant's evaluated profit with its 95% interval, as a percent
    difference from MTMA's mean on the same scenario (:func:`relative_to_mtma`; the scenarios'
    profits differ tenfold). Middle: the learning curves before the demand shift (rollout
    profit over MTMA's evaluated profit on the scenario; mean over seeds, 95% band). Right,
    where ``curves`` has rows after the shift: the rollout profit after it over the run's own
    level before it (``pre_shift`` of :func:`shift_summary`). Returns the figure."""
    # deferred: only drawing needs matplotlib and seaborn; the sweep workers never load them
    import matplotlib.pyplot as plt
    import seaborn as sns

    variants = list(dict.fromkeys(table["variant"]))
    scenarios = list(dict.fromkeys(table["scenario"]))
    colors = dict(zip(variants, sns.color_palette("colorblind", n_colors=len(variants))))
    dashes = dict(zip(scenarios, ["", (4, 2), (1, 1.5), (6, 2, 1, 2), (3, 1, 1, 1)]))
    after = (curves["phase"] == AFTER_SHIFT if "phase" in curves
             else pd.Series(False, index=curves.index))
    training, later = curves[~after], curves[after]
    panels = 3 if len(later) else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.8 * panels, 4.4))
    ax = axes[0]
    relative = relative_to_mtma(table)
    width = 0.6
    for j, variant in enumerate(variants):
        part = relative[relative["variant"] == variant]
        x = part["scenario"].map(scenarios.index).to_numpy(float) + width * (
            j / max(1, len(variants) - 1) - 0.5)
        ax.errorbar(x, part["profit_pct"], yerr=[part["profit_pct"] - part["profit_pct_lo"],
                                                 part["profit_pct_hi"] - part["profit_pct"]],
                    fmt="o", capsize=3, color=colors[variant], label=variant)
    ax.axhline(0.0, color="grey", lw=1, ls="--")
    ax.set_xticks(range(len(scenarios)), scenarios)
    ax.set(xlabel="scenario", ylabel="evaluated profit vs MTMA's mean [%]",
           title="evaluated profit, 95% intervals")
    ax.legend(title="variant (colour in every panel)", fontsize="x-small", title_fontsize="small")
    level = table[table["variant"] == MTMA_VARIANT].set_index("scenario")["profit"]
    training = training.assign(share=training["profit"] / training["scenario"].map(level))
    sns.lineplot(data=training, x="iteration", y="share", hue="variant", style="scenario",
                 hue_order=variants, style_order=scenarios, palette=colors, dashes=dashes,
                 errorbar=("ci", 95), ax=axes[1])
    axes[1].set(ylabel="rollout profit / MTMA's evaluated profit",
                title="learning curves (mean over seeds)")
    axes[1].legend(fontsize="x-small")
    if len(later) and shifted is not None:
        first = later.groupby(["scenario", "variant", "seed"])["iteration"].transform("min")
        recovering = later.assign(after=later["iteration"] - first + 1).merge(
            shifted[["scenario", "variant", "seed", "pre_shift"]],
            on=["scenario", "variant", "seed"])
        recovering["share"] = recovering["profit"] / recovering["pre_shift"]
        sns.lineplot(data=recovering, x="after", y="share", hue="variant", style="scenario",
                     hue_order=variants, style_order=scenarios, palette=colors, dashes=dashes,
                     errorbar=None, ax=axes[2], legend=False)
        axes[2].axhline(1.0, color="grey", lw=1, ls="--")
        axes[2].set(xlabel="iterations after the demand shift",
                    ylabel="rollout profit / level before the shift", title="recovery")
    fig.tight_layout()
    return fig
