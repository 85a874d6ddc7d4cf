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
from ..pipeline.sweep import cache_folder, cached_sweep
from .learners import across_seeds, run_name, train_evaluate

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


def variant_run(scenario: str, variant_label: str, seed: int = 0, iterations: int = 20,
                runs_dir=None, **settings) -> dict:
    """Train and evaluate one E5 variant (see :func:`coordlib.experiments.learners.train_evaluate`);
    its learning curve goes to ``runs_dir / <scenario>--<variant>--s<seed>/curve.csv``."""

    config, overrides = variant(variant_label)
    slug = re.sub(r"[^a-z0-9.]+", "-", variant_label.lower()).strip("-")
    out = None if runs_dir is None else Path(runs_dir) / f"{slug}"
    return train_evaluate(scenario, config, seed, iterations, runs_dir=out,
                          **{**settings, **overrides})


def timescale_ablation(scenarios, seeds, iterations: int, cache_dir, ratios=(0.1, 1.0),
                       settings: dict | None = None, workers: int = 2):
    """Train every variant of :func:`timescale_variants` on every scenario and seed, in one
    :mod:`coordlib.pipeline.sweep` (cached under ``cache_dir`` by configuration and code version).

    ``settings`` are TrainConfig overrides shared by all variants (e.g. ``n_envs``,
    ``eval_replications``). Returns ``(runs, curves)``: one row per run (evaluated profit per
    period [r_t averaged] with its CI, training time) and the stacked learning curves, both
    with a ``variant`` column.
    """

    labels = list(timescale_variants(ratios))
    root = cache_folder(cache_dir, "studies", "e5")
    grid = {"name": "e5", "experiment": "coordlib.experiments.e5_timescales.variant_run",
            "fixed": {"iterations": int(iterations), "runs_dir": str(root / "runs"),
                      **(settings or {})},
            "axes": {"scenario": [str(s) for s in scenarios], "variant_label": labels},
            "seeds": [int(s) for s in seeds]}
    runs = cached_sweep(grid, root, workers).rename(columns={"variant_label": "variant"})
    runs = runs[runs["variant"].isin(labels) & runs["scenario"].isin(list(scenarios))
                & runs["seed"].isin(list(seeds))].reset_index(drop=True)
    curves = []
    for row in runs.itertuples():
        config, overrides = variant(row.variant)
        slug = re.sub(r"[^a-z0-9.]+", "-", row.variant.lower()).strip("-")
        path = (root / "runs" / slug
                / run_name(row.scenario, config, row.seed, {**(settings or {}), **overrides})
                / "curve.csv")
        curve = pd.read_csv(path)
        curve["scenario"], curve["variant"], curve["seed"] = row.scenario, row.variant, row.seed
        curves.append(curve)
    return runs, pd.concat(curves, ignore_index=True)


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
    moves (oscillates) at the end of training."""
    rows = []
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


def ablation_table(runs: pd.DataFrame, stability: pd.DataFrame) -> pd.DataFrame:
    """E5's table: profit with a 95% CI across seeds, ``seed_spread`` (the standard deviation of
    the evaluated profit across seeds; NaN with one seed), mean tail std of the curve, the share
    of runs whose curve tail is stationary (NaN when the curves are too short to test), and
    the means over seeds of ``auc`` and ``tail_kl_<agent>`` when :func:`curve_stability` has
    them."""
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
    return table.merge(agg, on=["scenario", "variant"], how="left")
