"""E5, E7 and E8 of MODEL.md section 7.

- E5, the timescale ablation (MODEL.md section 6, "Distinct learning speeds"):
  :func:`timescale_ablation` trains MTMA (recommender fast, replenisher slow), the reversed
  ordering, a single timescale and several ratios a_slow / a_fast; :func:`curve_stability`
  and :func:`ablation_table` summarize profit and the stability of the learning curves.
- E7, scalability in N and K: :func:`scaling_run` (one training run on a shipped scenario or on
  a ``random-N<N>-K<K>`` scenario of :func:`coordlib.scenario.random_scenario`, with both
  heuristics evaluated on the same scenario) and :func:`scalability` (the sweep).
- E8, convergence diagnostics (MODEL.md section 6, "Convergence"): :func:`teaching_paths`
  (the linear two-timescale example), :func:`schedule_diagnostics` (the step sizes MTMA
  actually used, fitted and checked against (A3)), :func:`tracking_study` (the recommender in
  the joint run against its best response to a frozen replenisher) and
  :func:`curve_stationarity`.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import convergence, policies
from .evaluation import evaluate, mean_ci
from .experiments import across_seeds

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
    """Train and evaluate one E5 variant (see :func:`coordlib.experiments.train_evaluate`);
    its learning curve goes to ``runs_dir / <scenario>--<variant>--s<seed>/curve.csv``."""
    from .experiments import train_evaluate

    config, overrides = variant(variant_label)
    slug = re.sub(r"[^a-z0-9.]+", "-", variant_label.lower()).strip("-")
    out = None if runs_dir is None else Path(runs_dir) / f"{slug}"
    return train_evaluate(scenario, config, seed, iterations, runs_dir=out,
                          **{**settings, **overrides})


def timescale_ablation(scenarios, seeds, iterations: int, cache_dir, ratios=(0.1, 1.0),
                       settings: dict | None = None, workers: int = 2):
    """Train every variant of :func:`timescale_variants` on every scenario and seed, in one
    :mod:`coordlib.sweep` (cached under ``cache_dir`` by configuration and code version).

    ``settings`` are TrainConfig overrides shared by all variants (e.g. ``n_envs``,
    ``eval_replications``). Returns ``(runs, curves)``: one row per run (evaluated profit per
    period [r_t averaged] with its CI, training time) and the stacked learning curves, both
    with a ``variant`` column.
    """
    from .experiments import run_name
    from .results import code_version
    from .sweep import collect, run_sweep

    labels = list(timescale_variants(ratios))
    root = Path(cache_dir) / "studies" / f"e5-{code_version()}"
    grid = {"name": "e5", "experiment": "coordlib.studies.variant_run",
            "fixed": {"iterations": int(iterations), "runs_dir": str(root / "runs"),
                      **(settings or {})},
            "axes": {"scenario": [str(s) for s in scenarios], "variant_label": labels},
            "seeds": [int(s) for s in seeds]}
    report = run_sweep(grid, root, workers=workers, progress=False)
    if report.failed:
        errors = sorted((root / "jobs").glob("*.error.json"))
        raise RuntimeError(f"{len(report.failed)} ablation run(s) failed; see {errors[:3]}")
    runs = collect(root).rename(columns={"variant_label": "variant"})
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
    """:func:`coordlib.convergence.stationarity` of a learning curve, or NaNs when too short.

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
    profit per period, iteration to iteration) and its stationarity verdict."""
    rows = []
    for key, g in curves.groupby(list(by), sort=False):
        x = g.sort_values("iteration")[column].to_numpy(float)
        last = x[-max(2, int(len(x) * tail)):] if len(x) >= 2 else x
        rows.append({**dict(zip(by, key)), "tail_std": float(np.std(last, ddof=1))
                     if len(last) >= 2 else float("nan"), **curve_stationarity(x, tail)})
    return pd.DataFrame(rows)


def ablation_table(runs: pd.DataFrame, stability: pd.DataFrame) -> pd.DataFrame:
    """E5's table: profit with a 95% CI across seeds, mean tail std of the curve, and the share
    of runs whose curve tail is stationary (NaN when the curves are too short to test)."""
    table = across_seeds(runs, by=("scenario", "variant"))
    stab = stability.copy()
    stab["stationary"] = stab["stationary"].map(lambda v: np.nan if v is None else float(v))
    agg = stab.groupby(["scenario", "variant"], sort=False).agg(
        tail_std=("tail_std", "mean"), stationary_share=("stationary", "mean")).reset_index()
    return table.merge(agg, on=["scenario", "variant"], how="left")


# ---- E7: scalability --------------------------------------------------------------------------
_RANDOM = re.compile(r"^random-N(\d+)-K(\d+)$")


def scenario_for(name: str):
    """A shipped scenario, or ``random-N<N>-K<K>``: :func:`coordlib.scenario.random_scenario`
    with N products and K segments (scenario seed 0, so every run sees the same one)."""
    from .scenario import random_scenario
    from .scenarios import get

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
    from .training import config_for, train

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
    tuning = {"seed": 10_000, **(heuristic_tuning or {})}
    for label, make in (("siloed", policies.siloed_heuristic),
                        ("coordinated", policies.coordinated_heuristic)):
        frame = evaluate(s, make(s, **tuning), cfg.eval_replications, cfg.eval_periods,
                         cfg.eval_warmup, cfg.eval_seed)
        out[f"profit_{label}"] = float(mean_ci(frame["profit"])[0])
    return out


def scalability(scenarios, seeds, iterations: int, cache_dir, settings: dict | None = None,
                heuristic_tuning: dict | None = None, workers: int = 2) -> pd.DataFrame:
    """Run :func:`scaling_run` for every scenario and seed with :mod:`coordlib.sweep` (cached
    under ``cache_dir`` by configuration and code version). Adds ``ratio_siloed`` and
    ``ratio_coordinated``: the learner's profit over each heuristic's."""
    from .results import code_version
    from .sweep import collect, run_sweep

    root = Path(cache_dir) / "studies" / f"e7-{code_version()}"
    fixed = {"iterations": int(iterations), **(settings or {})}
    if heuristic_tuning:
        fixed["heuristic_tuning"] = dict(heuristic_tuning)
    grid = {"name": "e7", "experiment": "coordlib.studies.scaling_run", "fixed": fixed,
            "axes": {"scenario": [str(s) for s in scenarios]},
            "seeds": [int(s) for s in seeds]}
    report = run_sweep(grid, root, workers=workers, progress=False)
    if report.failed:
        errors = sorted((root / "jobs").glob("*.error.json"))
        raise RuntimeError(f"{len(report.failed)} scalability run(s) failed; see {errors[:3]}")
    frame = collect(root)
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


# ---- E8: convergence diagnostics ----------------------------------------------------------------
def teaching_paths(n_steps: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Paths of the linear two-timescale example (:class:`coordlib.convergence.LinearTwoTimescale`)
    under three step-size designs: the right ordering (x fast, b_n / a_n -> 0), the wrong one
    (the schedules swapped) and a single timescale (b_n = a_n, above r_crit = 1/2)."""
    right = convergence.decaying(0.5, 100, 0.6), convergence.decaying(0.1, 100, 1.0)
    designs = {"right ordering (x fast)": dict(step_x=right[0], step_y=right[1]),
               "wrong ordering (y fast)": dict(step_x=right[1], step_y=right[0]),
               "single timescale (b = a)": dict(step_x=right[0], ratio=1.0)}
    frames = []
    for label, kw in designs.items():
        path = convergence.two_timescale_example(n_steps=n_steps, seed=seed, **kw)
        f = path.to_frame()
        f["design"], f["hit_bound"] = label, path.hit_bound
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def schedule_diagnostics(curve: pd.DataFrame, fast: str = "recommender",
                         slow: str = "replenisher", n: int = 1_000_000):
    """Fit the schedules of the step sizes MTMA recorded (``lr_<agent>`` columns of the
    learning curve, alpha(n) of MODEL.md section 6) and check (A3) on the fitted ones.

    Returns ``(fitted, report)``: a table of the fitted a, n0, rho per agent (critic too when
    present) and :class:`coordlib.convergence.ScheduleReport` for (fast, slow).
    """
    fits, rows = {}, []
    n_index = curve["iteration"].to_numpy(float) - 1      # the step used in update n
    for agent in [fast, slow, "critic_central"]:
        col = f"lr_{agent}"
        if col not in curve:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # short curves: n0 loosely identified
            fit = convergence.fit_schedule(curve[col].to_numpy(float), iterations=n_index)
        fits[agent] = fit
        rows.append({"agent": agent, "schedule": repr(fit), "a": getattr(fit, "a", np.nan),
                     "n0": getattr(fit, "n0", np.nan), "rho": fit.rho,
                     "first_step": float(curve[col].iloc[0]),
                     "last_step": float(curve[col].iloc[-1])})
    return pd.DataFrame(rows), convergence.check_schedule(fits[fast], fits[slow], n=n)


def tracking_study(scenario, iterations: int, branch_at: int, seed: int = 0,
                   settings: dict | None = None) -> dict:
    """The recommender (fast) in the joint MTMA run against its best response to a frozen
    replenisher (slow).

    One joint run of ``iterations`` iterations; at iteration ``branch_at`` its networks are
    copied and a second run trains the recommender (and the critic) with the replenisher
    frozen at that point (``frozen=("replenisher",)``, ``init_from`` the joint run's weights),
    for the remaining iterations. After each iteration both runs record the recommender's
    parameter vector and the rollout profit. Returns a dict of frames: ``joint`` (the joint
    curve), ``frozen`` (the frozen run's curve, iterations shifted by ``branch_at``),
    ``tracking`` (per iteration: parameter distance recommender_joint - recommender_frozen,
    relative to the frozen one's norm, and the profit gap) and ``iterates`` (per iteration of
    the joint run: the parameter norm of each actor and of the critic).
    """
    from .training import config_for, train

    if not 1 <= branch_at < iterations:
        raise ValueError(f"branch_at must be in 1..{iterations - 1}, got {branch_at}")
    settings = dict(settings or {})
    joint_params, norms, snapshot = [], [], {}

    def record_joint(learner, row):
        if learner.iteration == branch_at:
            snapshot["state"] = {k: v.detach().clone()
                                 for k, v in learner.agents.state_dict().items()}
        if learner.iteration > branch_at:
            joint_params.append(learner.parameters_of("recommender").numpy())
        norms.append({"iteration": learner.iteration,
                      **{g: float(learner.parameters_of(g).norm()) for g in learner.groups}})

    joint = train(scenario, config_for("mtma", seed=seed, iterations=iterations, **settings),
                  progress=False, callback=record_joint, evaluate_policy=False)
    frozen_params = []
    frozen = train(scenario, config_for("mtma", seed=seed, iterations=iterations - branch_at,
                                        frozen=("replenisher",), **settings),
                   progress=False, init_from=snapshot["state"], evaluate_policy=False,
                   callback=lambda learner, row: frozen_params.append(
                       learner.parameters_of("recommender").numpy()))
    frozen_curve = frozen.curve.assign(iteration=frozen.curve["iteration"] + branch_at)
    its = np.arange(branch_at + 1, iterations + 1)
    params = convergence.tracking_error(np.array(joint_params), np.array(frozen_params),
                                        iterations=its, metric="l2", relative=True)
    profit = convergence.curve_tracking_error(joint.curve, frozen_curve, "profit")
    tracking = pd.DataFrame({"iteration": its, "parameter_distance": params.errors,
                             "profit_gap": profit.errors})
    return {"joint": joint.curve, "frozen": frozen_curve, "tracking": tracking,
            "iterates": pd.DataFrame(norms), "parameter_error": params, "profit_error": profit}
