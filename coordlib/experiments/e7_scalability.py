"""E7, coordination at scale: every method side by side on scenarios of growing size, against a bound.

For each scenario (shipped, such as the coordination-rich ``family-100`` and ``family-1000`` of
:mod:`coordlib.experiments.coordination_scale`, or generated, ``random-N<N>-K<K>``):

- the learners (:data:`LEARNERS`: MTMA, the siloed learner and the centralized learner), each
  trained ``iterations[scenario]`` iterations per seed and evaluated on its own stream
  (:func:`coordlib.learning.runs.evaluation_seed`), so their intervals across seeds
  hold training and evaluation noise alike; their learning curves are kept to show whether the
  budget has levelled them;
- the model-based baselines of :func:`coordlib.experiments.coordination_scale.coordination_measures`:
  the siloed firm, margin-greedy, the coordinated heuristic (tuned base-stock) and the
  static-coordination optimum (exact, and simulated as a runnable firm), with intervals across
  replications;
- the LP upper bounds (fluid and newsvendor envelope, :mod:`coordlib.theory.fluid_bound`) and,
  on two-product instances, the exact optimum g* (:func:`coordlib.experiments.e3_main_table.dp_gains`);
- the Lagrangian bound (:mod:`coordlib.exact.lagrangian_bound`, :func:`lagrangian_rows`), with
  every method's gap to it and the bracket [best policy, tightest bound] that holds the optimum
  (:func:`bracket_table`).

:func:`scalability_table` puts every method in one table with its gap to the tightest bound
(g* where it exists) and to the best baseline.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..exact.lagrangian_bound import LagrangianBoundError, lagrangian_bound
from ..exact.static_coordination import static_coordination
from ..learning.config import config_for
from ..model.evaluation import evaluate, mean_ci
from ..model.policy import joint
from ..model.scenario import random_scenario
from ..model.scenarios import get
from ..pipeline.sweep import cache_folder, cached_sweep
from ..policies.firms import tuning_seed
from ..policies.replenishment import base_stock
from ..policies.tuning import tune_base_stock
from .coordination_scale import coordination_measures
from .e3_main_table import dp_gains
from .learners import load_policy, run_metrics, run_name, settings_digest, train_run
from .parameters import iterations_by_scenario, seeds_by_scenario

_RANDOM = re.compile(r"^random-N(\d+)-K(\d+)$")
LEARNERS = {"mtma": "MTMA", "siloed": "siloed learner", "centralized": "centralized learner"}
"""The learner configurations of E7 (presets of :mod:`coordlib.learning.config`) and their labels."""
BASELINES = {"siloed": "siloed firm", "margin-greedy": "margin-greedy",
             "coordinated": "coordinated heuristic",
             "static_sim": "static-coordination optimum"}
"""The baselines of :func:`coordination_measures` in E7's table (``static_sim``: the static
optimum's firm simulated on the same evaluation as the other baselines)."""


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


def learner_run(scenario: str, config: str = "mtma", seed: int = 0, iterations: int = 20,
                runs_dir=None, **overrides) -> dict:
    """Train ``config`` on ``scenario`` (see :func:`scenario_for`) and evaluate it on the seed's
    own evaluation stream. The learning curve goes to ``runs_dir / run_name(...) / curve.csv``
    when ``runs_dir`` is given. Returns N, K, the evaluated profit per period with its 95% CI
    over the evaluation's replications, training seconds, environment steps, steps and
    product-steps per second and the parameter count."""

    s = scenario_for(scenario)
    metrics = run_metrics(train_run(s, config, seed, iterations, runs_dir, label=scenario,
                                    **overrides))
    keep = ("profit", "profit_lo", "profit_hi", "train_seconds", "env_steps",
            "steps_per_second", "parameters")
    return {"n_products": s.n_products, "n_segments": s.n_segments,
            **{k: metrics[k] for k in keep},
            "product_steps_per_second": metrics["steps_per_second"] * s.n_products}


def baseline_run(scenario: str, seed: int = 0, replications: int = 10, periods: int = 300,
                 warmup: int = 100, tuning: dict | None = None) -> dict:
    """The baselines and bounds of :func:`coordination_measures` on ``scenario``."""
    m = coordination_measures(scenario_for(scenario), replications=replications,
                              periods=periods, warmup=warmup, seed=int(seed), tune=tuning)
    m.pop("scenario")
    return m


def gap_split(scenario: str, run_dir, replications: int = 6, periods: int = 300,
              warmup: int = 100, seed: int = 0, tuning: dict | None = None) -> pd.DataFrame:
    """Where a trained run loses against the static-coordination optimum: each of its
    departments beside the other department's model-based counterpart.

    Rows (each evaluated with :func:`coordlib.evaluate` on the same stream ``seed``):
    the trained firm (both departments learned); the learned recommender with base-stock
    tuned for the demand it creates (:func:`coordlib.policies.tuning.tune_base_stock`,
    ``tuning`` its arguments); the learned replenisher under the static-optimal exposures;
    and the static-coordination optimum (its exposures and its own product policies). The
    learned recommender is short of the static exposures by what the second row lacks
    against the last, and the learned replenisher of base-stock by the difference between
    the third row and the last. Columns: scenario, method, profit, profit_lo, profit_hi,
    gap_static_pct (100 (profit / static - 1)).
    """
    s = scenario_for(scenario)
    policy, _ = load_policy(run_dir)
    static = static_coordination(s, grid_points=10).policy()
    recommender = policy.department("recommender")
    levels = tune_base_stock(s, recommender, seed=tuning_seed(seed),
                             **(tuning or dict(replications=16, periods=150, warmup=50)))
    firms = {"MTMA (both departments learned)": policy,
             "learned recommender + tuned base-stock": joint(base_stock(levels), recommender),
             "static-optimal exposures + learned replenisher": joint(
                 policy.department("replenisher"), static.recommender),
             "static-coordination optimum": static}
    rows = []
    for method, firm_policy in firms.items():
        frame = evaluate(s, firm_policy, replications, periods, warmup, seed)
        mean, lo, hi = mean_ci(frame["profit"])
        rows.append({"scenario": scenario, "method": method, "profit": mean, "profit_lo": lo,
                     "profit_hi": hi})
    table = pd.DataFrame(rows)
    table["gap_static_pct"] = 100 * (table["profit"] / table["profit"].iloc[-1] - 1)
    return table[list(SPLIT_COLUMNS)]


SPLIT_COLUMNS = ("scenario", "method", "profit", "profit_lo", "profit_hi", "gap_static_pct")
"""The columns of :func:`gap_split`'s table."""


def split_text(split: pd.DataFrame) -> str:
    """The reading of :func:`gap_split`'s table, one sentence per scenario, from its numbers."""
    if split.empty:
        return "No scenario with N >= 100 was trained with MTMA at this profile: nothing to split."
    sentences = []
    for scenario, part in split.groupby("scenario", sort=False):
        gap = part.set_index("method")["gap_static_pct"]
        mtma, rec, rep = (float(gap.iloc[i]) for i in range(3))
        worse = "recommender" if rec < rep else "replenisher"
        sentences.append(
            f"**{scenario}**: against the static-coordination optimum, MTMA is at {mtma:+.1f}%; "
            f"its recommender with tuned base-stock at {rec:+.1f}%, its replenisher under the "
            f"static-optimal exposures at {rep:+.1f}%. The learned {worse} is the larger part "
            "of the shortfall here" + (", and each department alone loses to its model-based "
                                       "counterpart" if max(rec, rep) < 0 else "") + ".")
    return "\n\n".join(sentences)


RUNS = "runs"
"""The folder of E7's training runs, inside its study folder (:func:`learner_run_dir`)."""


def learner_run_dir(cache_dir, scenario: str, config: str, seed: int, settings: dict | None = None,
                    scenario_settings: dict | None = None) -> Path:
    """The folder of one training run of :func:`scalability` (checkpoint, curve, summary), from
    the same arguments."""
    fixed = {**(settings or {}), **(scenario_settings or {}).get(str(scenario), {})}
    return cache_folder(cache_dir, "studies", "e7") / RUNS / run_name(str(scenario), config,
                                                                      int(seed), dict(fixed))


CREDITS = ("firm", "product")
"""The replenisher credits of :class:`coordlib.learning.config.TrainConfig` (``replenisher_credit``)."""
DEFAULT_CREDIT = config_for("mtma").replenisher_credit
"""The credit of a learner whose settings do not name one."""


def scalability(scenarios, seeds, iterations, cache_dir, configs=tuple(LEARNERS),
                settings: dict | None = None, baseline_budget: dict | None = None,
                workers: int = 2, scenario_settings: dict | None = None,
                credit_ablation=()):
    """Every learner of ``configs`` on every scenario and seed, and the baselines once per
    scenario, as cached :mod:`coordlib.pipeline.sweep` sweeps under ``cache_dir``.

    ``seeds``: one list (or count), or a mapping scenario -> list. ``iterations``: one count, or a
    mapping scenario -> count. ``settings``: TrainConfig overrides shared by the learners
    (``n_envs``, ``eval_replications``, ...); ``scenario_settings``: per scenario, overrides on top of them for every learner there (e.g.
    ``{"family-1000": {"n_envs": 8, "replenisher_credit": "product"}}``). On each scenario of
    ``credit_ablation`` MTMA also trains with the other replenisher credit, same budget, as the
    method "MTMA, <credit> credit". ``baseline_budget``: arguments of :func:`baseline_run`.
    Returns ``(learners, baselines, curves)``: one row per learner run (with its ``method``
    and ``credit``), one row per scenario, and the learners' stacked learning curves (columns
    ``scenario``, ``config``, ``method``, ``seed``, ``iteration``, ``profit``).
    """
    scenarios = [str(s) for s in scenarios]
    counts = iterations_by_scenario(iterations, scenarios)
    seed_lists = seeds_by_scenario(seeds, scenarios)
    per_scenario = {str(k): dict(v) for k, v in (scenario_settings or {}).items()}
    stray = sorted(set(per_scenario) - set(scenarios))
    if stray:
        raise ValueError(f"scenario_settings: {stray} not among the scenarios {scenarios}")
    stray = sorted(set(map(str, credit_ablation)) - set(scenarios))
    if stray:
        raise ValueError(f"credit_ablation: {stray} not among the scenarios {scenarios}")
    root = cache_folder(cache_dir, "studies", "e7")
    runs_dir = root / RUNS
    groups: dict = {}   # one sweep per (iterations, overrides, configs, ablation)
    for name in scenarios:
        count = counts[name] if isinstance(counts, dict) else counts
        these = tuple(seed_lists[name] if isinstance(seed_lists, dict) else seed_lists)
        fixed = {**(settings or {}), **per_scenario.get(name, {})}
        credit = fixed.get("replenisher_credit", DEFAULT_CREDIT)
        if credit not in CREDITS:
            raise ValueError(f"replenisher_credit on {name}: {credit!r}; known: {CREDITS}")
        jobs = [(tuple(configs), fixed, False)]
        if name in map(str, credit_ablation):
            other = next(c for c in CREDITS if c != credit)
            jobs.append((("mtma",), {**fixed, "replenisher_credit": other}, True))
        for job_configs, job_fixed, ablation in jobs:
            key = (int(count), repr(sorted(job_fixed.items())), job_configs, ablation, these)
            groups.setdefault(key, (job_fixed, []))[1].append(name)
    frames, curves = [], []
    for (count, _, job_configs, ablation, these), (fixed, names) in groups.items():
        credit = fixed.get("replenisher_credit", DEFAULT_CREDIT)
        tag = (f"{count}it-{settings_digest(fixed)}-s{'-'.join(map(str, these))}"
               + ("-ablation" if ablation else ""))
        grid = {"name": f"e7-{tag}",
                "experiment": learner_run,
                "fixed": {"iterations": count, "runs_dir": str(runs_dir), **fixed},
                "axes": {"scenario": names, "config": list(job_configs)},
                "seeds": list(these)}
        frame = cached_sweep(grid, root / f"learners-{tag}", workers)
        frame["iterations"], frame["credit"] = count, credit
        frame["method"] = [LEARNERS.get(c, c) + (f", {credit} credit" if ablation else "")
                           for c in frame["config"]]
        frames.append(frame)
        for row in frame.itertuples():
            path = runs_dir / run_name(row.scenario, row.config, int(row.seed),
                                       dict(fixed)) / "curve.csv"
            if path.is_file():
                curve = pd.read_csv(path, usecols=["iteration", "profit"])
                curve["scenario"], curve["config"], curve["method"], curve["seed"] = (
                    row.scenario, row.config, row.method, int(row.seed))
                curves.append(curve)
    learners = pd.concat(frames, ignore_index=True)
    grid = {"name": "e7-baselines",
            "experiment": baseline_run,
            "fixed": dict(baseline_budget or {}), "axes": {"scenario": scenarios},
            "seeds": [0]}
    baselines = cached_sweep(grid, root / "baselines", workers)
    optimum = dp_gains([scenario_for(n) for n in scenarios], cache_dir=root / "dp")
    baselines = baselines.merge(optimum[["scenario", "gain"]].rename(columns={"gain": "optimum"}),
                                on="scenario", how="left")
    curves = (pd.concat(curves, ignore_index=True) if curves else
              pd.DataFrame(columns=["iteration", "profit", "scenario", "config", "method",
                                    "seed"]))
    return learners, baselines, curves


def scalability_table(learners: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """E7's table: one row per (scenario, method), sizes ascending.

    Columns: scenario, N, K, method, kind (learner / baseline / bound), ``credit`` (the
    learners' replenisher credit), profit and its 95% CI
    (learners: across seeds of the evaluated profits, each seed on its own stream; baselines:
    across replications), ``bound`` (g* where the exact DP applies, otherwise the tightest LP
    bound), ``gap_bound_pct`` = 100 (profit / bound - 1), ``gap_best_pct`` = 100 (profit /
    best baseline - 1), training seconds, steps and product-steps per second, parameters.
    """
    if "method" not in learners.columns:
        learners = learners.assign(method=learners["config"].map(lambda c: LEARNERS.get(c, c)))
    if "credit" not in learners.columns:
        learners = learners.assign(credit=np.nan)
    rows = []
    for _, b in baselines.iterrows():
        bound = min(b["bound_fluid"], b["bound_newsvendor"])
        exact = b.get("optimum")
        ceiling = float(exact) if exact is not None and not pd.isna(exact) else bound
        best = max(b[k] for k in BASELINES)
        common = {"scenario": b["scenario"], "N": int(b["N"]), "K": int(b["K"]),
                  "bound": ceiling, "best_baseline": best}
        for key, label in BASELINES.items():
            rows.append({**common, "method": label, "kind": "baseline", "profit": b[key],
                         "profit_lo": b[f"{key}_lo"], "profit_hi": b[f"{key}_hi"], "count":
                         np.nan})
        rows.append({**common, "method": "static-coordination optimum (exact)", "kind": "exact",
                     "profit": b["static"], "profit_lo": b["static"], "profit_hi": b["static"]})
        for label, value in (("fluid bound", b["bound_fluid"]),
                             ("newsvendor bound", b["bound_newsvendor"]),
                             ("DP optimum g*", exact)):
            if value is not None and not pd.isna(value):
                rows.append({**common, "method": label, "kind": "bound", "profit": float(value),
                             "profit_lo": float(value), "profit_hi": float(value)})
        part = learners[learners["scenario"] == b["scenario"]]
        for method, runs in part.groupby("method", sort=False):
            mean, lo, hi = mean_ci(runs["profit"].to_numpy(float))
            rows.append({**common, "method": method, "kind": "learner",
                         "credit": runs["credit"].iloc[0],
                         "profit": mean, "profit_lo": lo, "profit_hi": hi,
                         "count": len(runs), "iterations": int(runs["iterations"].iloc[0]),
                         "train_seconds": float(runs["train_seconds"].mean()),
                         "steps_per_second": float(runs["steps_per_second"].mean()),
                         "product_steps_per_second":
                             float(runs["product_steps_per_second"].mean()),
                         "parameters": int(runs["parameters"].iloc[0])})
    table = pd.DataFrame(rows)
    table["gap_bound_pct"] = 100 * (table["profit"] / table["bound"] - 1)
    table["gap_best_pct"] = 100 * (table["profit"] / table["best_baseline"] - 1)
    ablations = [m for m in dict.fromkeys(learners["method"]) if m not in LEARNERS.values()]
    order = {m: i for i, m in enumerate(list(BASELINES.values())
                                        + ["static-coordination optimum (exact)"]
                                        + list(LEARNERS.values()) + ablations
                                        + ["DP optimum g*", "newsvendor bound", "fluid bound"])}
    table["_order"] = table["method"].map(order).fillna(len(order))
    return (table.sort_values(["N", "K", "scenario", "_order"]).drop(columns="_order")
            .reset_index(drop=True))


# ---- E7's figure -------------------------------------------------------------------------------
def plot_scalability(table: pd.DataFrame, curves: pd.DataFrame):
    """E7's figure: left, each method's profit as a share of the bound (g* or the tightest LP
    bound) against N, with its 95% interval; middle, the learners' learning curves (rollout
    profit over the bound, mean over seeds) per scenario, to show whether the budget levelled
    them; right, learner product-steps per second against N. Colour is the method in every
    panel (the scenario is the middle panel's line style); the sizes N sit at equal steps on
    the left, so the methods at one N are side by side. Returns the figure."""
    # deferred: only drawing needs matplotlib and seaborn; the sweep workers never load them
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.ticker import NullFormatter

    methods = [m for m in dict.fromkeys(table["method"]) if not m.endswith("bound")
               and m != "DP optimum g*" and not m.endswith("(exact)")]
    palette = dict(zip(methods, sns.color_palette("colorblind", n_colors=len(methods))))
    markers = dict(zip(methods, "osD^vP*Xhd<>"))
    sizes = sorted(table["N"].unique())
    position = {n: i for i, n in enumerate(sizes)}
    fig, axes = plt.subplots(1, 3, figsize=(15.5, 4.4))
    ax = axes[0]
    for j, method in enumerate(methods):
        part = table[table["method"] == method]
        x = part["N"].map(position).to_numpy(float) + 0.08 * (j - len(methods) / 2)
        share = part["profit"] / part["bound"]
        err = np.vstack([share - part["profit_lo"] / part["bound"],
                         part["profit_hi"] / part["bound"] - share])
        ax.errorbar(x, share, yerr=err, fmt=markers[method], color=palette[method],
                    label=method, capsize=2, ms=5, lw=1)
    ax.axhline(1.0, color="grey", lw=1, ls="--")
    ax.set_xticks(range(len(sizes)), [str(n) for n in sizes])
    ax.set(xlabel="products N", ylabel="profit / bound (g* at N = 2)",
           title="profit per period, 95% intervals")
    ax.legend(fontsize="x-small", loc="lower left")
    ax = axes[1]
    if len(curves):
        bound = table.drop_duplicates("scenario").set_index("scenario")["bound"]
        data = curves.assign(share=curves["profit"] / curves["scenario"].map(bound))
        # colour is the method in every panel; the scenario is the line style
        shown = list(dict.fromkeys(data["method"]))
        colors = {m: palette.get(m, "grey") for m in shown}
        sns.lineplot(data=data, x="iteration", y="share", hue="method", style="scenario",
                     hue_order=shown, palette=colors, errorbar=None, ax=ax)
        ax.legend(fontsize="x-small")
    ax.set(xlabel="training iteration", ylabel="rollout profit / bound",
           title="learning curves (mean over seeds)")
    ax = axes[2]
    learned = table[table["kind"] == "learner"]
    for method, part in learned.groupby("method", sort=False):
        ax.plot(part["N"], part["product_steps_per_second"], marker=markers.get(method, "o"),
                color=palette.get(method), label=method)
    ax.set(xscale="log", yscale="log", xlabel="products N",
           ylabel="learner product-steps per second", title="training speed")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


# ---- E7's rules (the claims ledger's C5 and C8 read them) ------------------------------------
SCALE_SIZE = 100
"""The rules of :func:`scale_checks` look at every scenario with at least this many products."""
SCALE_GAP_PCT = 5.0
"""MTMA's mean within this many percent of the best baseline: "partly" scales."""


def scale_checks(table: pd.DataFrame, method: str = "MTMA") -> pd.DataFrame:
    """Per scenario of ``table`` (:func:`scalability_table`) with N >= :data:`SCALE_SIZE`, the
    learner ``method`` against the baselines: ``reaches_best`` (its 95% interval reaches the
    best baseline's profit), ``gap_best_pct``, ``above_siloed`` (its interval lies above the
    siloed firm's) and ``reaches_static`` (its interval reaches the simulated static-coordination
    optimum). Scenarios without a row for ``method`` are left out."""
    rows = []
    for scenario, part in table[table["N"] >= SCALE_SIZE].groupby("scenario", sort=False):
        by = part.set_index("method")
        if method not in by.index:
            continue
        m, siloed = by.loc[method], by.loc[BASELINES["siloed"]]
        static = by.loc[BASELINES["static_sim"]]
        best = float(m["best_baseline"])
        rows.append({"scenario": scenario, "N": int(m["N"]), "profit": m["profit"],
                     "profit_lo": m["profit_lo"], "profit_hi": m["profit_hi"],
                     "best_baseline": best, "gap_best_pct": float(m["gap_best_pct"]),
                     "reaches_best": bool(m["profit_hi"] >= best),
                     "siloed": siloed["profit"], "siloed_hi": siloed["profit_hi"],
                     "above_siloed": bool(m["profit_lo"] > siloed["profit_hi"]),
                     "static": static["profit"],
                     "reaches_static": bool(m["profit_hi"] >= static["profit"]),
                     "parameters": m.get("parameters")})
    return pd.DataFrame(rows)


def verdict_text(table: pd.DataFrame) -> str:
    """The notebook's verdict paragraph, every number from ``table`` through :func:`scale_checks`."""
    checks = scale_checks(table)
    if checks.empty:
        return (f"No scenario of this run has N >= {SCALE_SIZE} products with an MTMA row: the "
                f"rules are not applied (the paper profile runs family-100 and family-1000).")
    lines = []
    for r in checks.itertuples():
        lines.append(
            f"- **{r.scenario}** (N = {r.N}): MTMA {r.profit:.1f} [{r.profit_lo:.1f}, "
            f"{r.profit_hi:.1f}] against the best baseline {r.best_baseline:.1f} "
            f"({r.gap_best_pct:+.1f}%), the static-coordination optimum {r.static:.1f} "
            f"({'reached' if r.reaches_static else 'not reached'}) and the siloed firm "
            f"{r.siloed:.1f} ({'interval above it' if r.above_siloed else 'interval not above it'}).")
    scales = ("scales (supported)" if checks["reaches_best"].all() else
              "partly scales" if (checks["gap_best_pct"] >= -SCALE_GAP_PCT).all() else
              "does not scale (not supported)")
    beats = checks["above_siloed"].sum()
    return ("\n".join(lines) + f"\n\n**Verdict:** by the rules above, MTMA {scales} at this "
            f"budget; its interval lies above the siloed firm's on {beats} of {len(checks)} "
            f"scenarios with N >= {SCALE_SIZE}." + credit_text(table))


def credit_text(table: pd.DataFrame) -> str:
    """The credit ablation in words: on each scenario with a row "MTMA, <credit> credit", MTMA
    with the profile's credit against it, intervals and whether they are apart. Empty when the
    run has no ablation."""
    lines = []
    for scenario, part in table[table["kind"] == "learner"].groupby("scenario", sort=False):
        by = part.set_index("method")
        other = [m for m in by.index if m.startswith("MTMA, ")]
        if "MTMA" not in by.index or not other:
            continue
        m, o = by.loc["MTMA"], by.loc[other[0]]
        apart = ("above it, intervals apart" if m["profit_lo"] > o["profit_hi"] else
                 "below it, intervals apart" if m["profit_hi"] < o["profit_lo"] else
                 "intervals overlapping")
        lines.append(f"- **{scenario}**: MTMA with {m['credit']} credit {m['profit']:.2f} "
                     f"[{m['profit_lo']:.2f}, {m['profit_hi']:.2f}], with {o['credit']} credit "
                     f"{o['profit']:.2f} [{o['profit_lo']:.2f}, {o['profit_hi']:.2f}]: {apart}.")
    return ("\n\n**The replenisher's credit** (the profile's choice against the other, same "
            "budget):\n" + "\n".join(lines)) if lines else ""


# ---- the Lagrangian bound ----------------------------------------------------------------------
LAGRANGIAN = "Lagrangian bound"
"""The method label of :func:`lagrangian_rows` in E7's table."""
LAGRANGIAN_COLUMNS = ("scenario", "N", "K", "method", "kind", "profit", "seconds",
                      "lead_times_relaxed", "note")


def lagrangian_rows(scenarios, **options) -> pd.DataFrame:
    """One row per scenario: the Lagrangian upper bound on the gain (``profit``, so it sits
    beside the methods), its compute ``seconds``, how many products' lead times the bound
    shortened to keep their DP in reach (``lead_times_relaxed``, step 3 of
    :mod:`coordlib.exact.lagrangian_bound`), and ``note``: why a scenario it refuses has no
    value. ``options``: arguments of :func:`~coordlib.exact.lagrangian_bound.lagrangian_bound`.
    """
    rows = []
    for name in scenarios:
        s = scenario_for(name)
        row = {"scenario": str(name), "N": s.n_products, "K": s.n_segments,
               "method": LAGRANGIAN, "kind": "bound"}
        try:
            b = lagrangian_bound(s, **options)
        except LagrangianBoundError as exc:
            rows.append({**row, "profit": np.nan, "seconds": np.nan,
                         "lead_times_relaxed": np.nan, "note": str(exc)})
            continue
        rows.append({**row, "profit": b.value, "seconds": b.seconds,
                     "lead_times_relaxed": int((b.lead_time_used < s.lead_time).sum()),
                     "note": ""})
    return pd.DataFrame(rows, columns=list(LAGRANGIAN_COLUMNS))


def bracket_table(table: pd.DataFrame, lagrangian: pd.DataFrame) -> pd.DataFrame:
    """Every method of E7's ``table`` against the Lagrangian bound, and the bracket of the optimum.

    Per (scenario, method): ``profit``, ``gap_lagrangian_pct`` = 100 (profit / Lagrangian - 1).
    Per scenario: ``best_policy`` (the highest profit of a runnable method: baseline, exact
    static optimum or learner), ``tightest_bound`` (the least of g*, the LP bounds and the
    Lagrangian bound) and ``bracket_pct`` = 100 (tightest_bound / best_policy - 1): the optimum
    lies in [best_policy, tightest_bound].
    """
    bound = lagrangian.set_index("scenario")["profit"]
    rows = table[table["scenario"].isin(bound.index)].copy()
    rows = pd.concat([rows, lagrangian[lagrangian["scenario"].isin(rows["scenario"])]],
                     ignore_index=True)
    rows["lagrangian"] = rows["scenario"].map(bound)
    rows["gap_lagrangian_pct"] = 100 * (rows["profit"] / rows["lagrangian"] - 1)
    policies = rows[rows["kind"].isin(["baseline", "exact", "learner"])]
    rows["best_policy"] = rows["scenario"].map(policies.groupby("scenario")["profit"].max())
    rows["tightest_bound"] = rows["scenario"].map(
        rows[rows["kind"] == "bound"].groupby("scenario")["profit"].min())
    rows["bracket_pct"] = 100 * (rows["tightest_bound"] / rows["best_policy"] - 1)
    order = {name: i for i, name in enumerate(dict.fromkeys(table["scenario"]))}
    rows["_order"] = rows["scenario"].map(order)
    return (rows.sort_values(["_order"], kind="stable").drop(columns="_order")
            [["scenario", "N", "K", "method", "kind", "profit", "gap_lagrangian_pct",
              "best_policy", "tightest_bound", "bracket_pct"]].reset_index(drop=True))


def bracket_text(brackets: pd.DataFrame) -> str:
    """The bracket of the optimum per scenario, in words, every number from ``brackets``."""
    lines = []
    for scenario, part in brackets.groupby("scenario", sort=False):
        r = part.iloc[0]
        lag = part[part["method"] == LAGRANGIAN]["profit"]
        lag_text = (f"the Lagrangian bound {lag.iloc[0]:.2f}" if lag.notna().any()
                    else "no Lagrangian bound")
        lines.append(f"- **{scenario}** (N = {int(r.N)}): the optimum lies in "
                     f"[{r.best_policy:.2f}, {r.tightest_bound:.2f}], a bracket of "
                     f"{r.bracket_pct:.1f}% of the best policy ({lag_text}).")
    return "\n".join(lines)
