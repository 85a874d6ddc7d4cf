"""What the notebooks call: each experiment of MODEL.md section 7 as a library function.

Notebooks stay thin: they check their parameters here, compute or load results through these
functions, and show them. Every function is reachable from the tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import policies
from .evaluation import evaluate, summarize
from .scenario import ScenarioError
from .scenarios import get as get_scenario, names as scenario_names

PROFILES = ("smoke", "paper")


class ParameterError(ValueError):
    """A notebook parameter is wrong (the message names it)."""


@dataclass(frozen=True)
class Parameters:
    """A notebook's checked parameters (attribute access; folders created)."""

    values: dict

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def check_parameters(**params) -> Parameters:
    """Validate a notebook's ``parameters`` cell; raise :class:`ParameterError` naming the culprit.

    Known names are checked by their meaning: ``profile`` (smoke or paper), ``seed`` (whole
    number >= 0), ``seeds`` (list of them, or a count >= 1), ``scenario``/``scenarios``
    (shipped names or YAML paths), counts such as ``replications``, ``periods``,
    ``iterations`` (whole numbers >= 1), ``warmup`` (>= 0, below ``periods``), and folders
    ending in ``_dir`` (created).
    """
    out = dict(params)
    profile = params.get("profile")
    if profile is not None and profile not in PROFILES:
        raise ParameterError(f"profile: unknown profile {profile!r}; choose one of "
                             f"{', '.join(PROFILES)}")
    if "seed" in params:
        _whole("seed", params["seed"], 0)
    if "seeds" in params:
        seeds = params["seeds"]
        if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
            _whole("seeds", seeds, 1)
            out["seeds"] = list(range(int(seeds)))
        elif isinstance(seeds, (list, tuple)) and seeds:
            for s in seeds:
                _whole("seeds", s, 0)
            out["seeds"] = [int(s) for s in seeds]
        else:
            raise ParameterError(f"seeds: expected a count >= 1 or a non-empty list of seeds, "
                                 f"got {seeds!r}")
    for key in ("scenario", "scenarios"):
        if key in params:
            values = params[key] if key == "scenarios" else [params[key]]
            if isinstance(values, str) or not values:
                raise ParameterError(f"{key}: expected a non-empty list of scenario names")
            for v in values:
                try:
                    get_scenario(v)
                except ScenarioError as exc:
                    raise ParameterError(f"{key}: {exc}") from None
    for key in ("replications", "periods", "n_mc", "envs"):
        if key in params:
            _whole(key, params[key], 1)
    if "iterations" in params:
        out["iterations"] = iterations_by_scenario(params["iterations"],
                                                   out.get("scenarios", params.get("scenarios")))
    if "warmup" in params:
        _whole("warmup", params["warmup"], 0)
        if "periods" in params and params["warmup"] >= params["periods"]:
            raise ParameterError(f"warmup ({params['warmup']}) must be below periods "
                                 f"({params['periods']})")
    for key, value in params.items():
        if key.endswith("_dir"):
            Path(value).mkdir(parents=True, exist_ok=True)
    return Parameters(out)


def iterations_by_scenario(iterations, scenarios=None):
    """Check ``iterations``: one count for every scenario, or a mapping scenario -> count.

    A mapping must name every scenario of ``scenarios`` (when given) and nothing else; it
    lets the cheap instances train longer than the expensive ones in one experiment. Returns
    the count or the mapping (with plain ``int`` values).
    """
    if not isinstance(iterations, dict):
        _whole("iterations", iterations, 1)
        return int(iterations)
    for name, count in iterations.items():
        _whole(f"iterations[{name!r}]", count, 1)
    if scenarios is not None and not isinstance(scenarios, str):
        missing = [s for s in scenarios if s not in iterations]
        extra = [s for s in iterations if s not in scenarios]
        if missing or extra:
            raise ParameterError(
                "iterations: a mapping needs one count per scenario"
                + (f"; missing {missing}" if missing else "")
                + (f"; not in scenarios {extra}" if extra else ""))
    return {str(k): int(v) for k, v in iterations.items()}


def _whole(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(f"{name}: expected a whole number >= {low}, got {value!r}")


# ---- E0: the quickstart --------------------------------------------------------------------------
HEURISTICS = {
    "siloed (base-stock + GMV-greedy)": policies.siloed_heuristic,
    "coordinated (base-stock + inventory-aware)": policies.coordinated_heuristic,
}


def compare_heuristics(scenarios, replications=20, periods=500, warmup=100, seed=0,
                       methods=None) -> pd.DataFrame:
    """Mean profit per period with 95% CIs of the heuristic firms on each scenario.

    Each heuristic's base-stock levels are tuned by simulation (a seed other than the
    evaluation's) for the demand its recommender produces.
    """
    methods = methods or HEURISTICS
    frames = []
    for name in scenarios:
        s = get_scenario(name)
        for label, make in methods.items():
            policy = make(s, seed=seed + 10_000)
            df = evaluate(s, policy, replications, periods, warmup, seed)
            df["method"] = label
            frames.append(df)
    raw = pd.concat(frames, ignore_index=True)
    return summarize(raw, by=("scenario", "method"),
                     columns=("profit", "fill_rate", "mean_on_hand"))


def trajectory(scenario, policy, periods: int = 40, seed: int = 0) -> pd.DataFrame:
    """One replication, period by period: stock, orders, exposure, demand, sales, profit.

    Long format: one row per period and product (exposure averaged over segments).
    """
    from .simulator import Simulator

    s = get_scenario(scenario)
    sim = Simulator(s, batch_size=1, seed=seed)
    obs = sim.reset()
    policy.reset(s, 1, np.random.default_rng(seed))
    rows = []
    for t in range(periods):
        a = policy.act(obs)
        r = sim.step(a.orders, a.exposure)
        for i in range(s.n_products):
            rows.append({"period": t, "product": i + 1, "available": r.available[0, i],
                         "order": r.orders[0, i], "exposure": r.exposure[0, :, i].mean(),
                         "demand": r.total_demand[0, i], "sales": r.sales[0, i],
                         "lost_sales": r.lost_sales[0, i], "profit": r.profit[0]})
        obs = r.observation
    return pd.DataFrame(rows)


# ---- learners: training runs as sweeps (E3-E8) -------------------------------------------------
def run_name(scenario: str, config: str, seed: int, overrides: dict | None = None) -> str:
    """The folder name of one training run: scenario, configuration, seed, overrides' hash."""
    import hashlib
    import json

    tag = ""
    if overrides:
        text = json.dumps(overrides, sort_keys=True)
        tag = "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{scenario}--{config}--s{seed}{tag}"


def train_evaluate(scenario="tiny", config: str = "mtma", seed: int = 0, iterations: int = 300,
                   runs_dir=None, **overrides) -> dict:
    """Train one learner configuration and evaluate it: the experiment behind E3-E8.

    ``config`` names a preset of :data:`coordlib.training.PRESETS`; ``overrides`` change
    :class:`coordlib.training.TrainConfig` fields (e.g. ``timescale_ratio``). When
    ``runs_dir`` is given, the run's learning curve, checkpoint and summary are written to
    ``runs_dir / run_name(...)``. Returns flat metrics: the evaluated mean profit per period
    with its 95% CI, training time, environment steps, steps per second, parameter count.
    """
    from .training import config_for, train

    cfg = config_for(config, seed=int(seed), iterations=int(iterations), **overrides)
    out = None if runs_dir is None else Path(runs_dir) / run_name(scenario, config, seed, overrides)
    result = train(scenario, cfg, out_dir=out, progress=False)
    s = result.summary
    return {"profit": float(s["profit"]), "profit_lo": float(s["profit_ci_low"]),
            "profit_hi": float(s["profit_ci_high"]), "train_seconds": float(s["train_seconds"]),
            "env_steps": int(s["env_steps"]), "steps_per_second": float(s["steps_per_second"]),
            "parameters": int(s["parameters"])}


def learner_sweep(name: str, scenarios, configs, seeds, iterations, cache_dir,
                  axes: dict | None = None, workers: int = 2, scheduler=None,
                  progress: bool = False) -> pd.DataFrame:
    """Train every (scenario, configuration, seed, axes value) with :mod:`coordlib.sweep`.

    ``iterations`` is one count for every scenario or a mapping scenario -> count (see
    :func:`iterations_by_scenario`). Runs in parallel local processes (or on a Dask cluster
    given ``scheduler``); results and runs (curves, checkpoints) are kept under ``cache_dir``
    in a folder named after the sweep, the iteration count and the code version
    (``NAME-300it-VERSION``), so a re-run with unchanged code trains nothing. Returns one
    row per run (see :func:`coordlib.sweep.collect`), with its ``iterations``.
    """
    scenarios = list(scenarios)
    counts = iterations_by_scenario(iterations, scenarios)
    groups: dict[int, list] = {}
    for s in scenarios:
        groups.setdefault(counts[s] if isinstance(counts, dict) else counts, []).append(s)
    return pd.concat([_learner_sweep(name, group, configs, seeds, count, cache_dir, axes,
                                     workers, scheduler, progress)
                      for count, group in groups.items()], ignore_index=True)


def _learner_sweep(name, scenarios, configs, seeds, iterations, cache_dir, axes, workers,
                   scheduler, progress) -> pd.DataFrame:
    from .results import code_version
    from .sweep import collect, run_sweep

    name = f"{name}-{iterations}it"
    root = Path(cache_dir) / "learners" / f"{name}-{code_version()}"
    grid = {"name": name, "experiment": "coordlib.experiments.train_evaluate",
            "fixed": {"iterations": int(iterations), "runs_dir": str(root / "runs")},
            "axes": {"scenario": list(scenarios), "config": list(configs), **(axes or {})},
            "seeds": [int(s) for s in seeds]}
    report = run_sweep(grid, root, scheduler=scheduler, workers=workers, progress=progress)
    if report.failed:
        errors = sorted((root / "jobs").glob("*.error.json"))
        raise RuntimeError(f"{len(report.failed)} training run(s) failed; see {errors[:3]}")
    frame = collect(root)
    frame["runs_dir"] = str(root / "runs")
    return frame


def learning_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """The learning curves (``curve.csv``) of the runs of :func:`learner_sweep`, stacked.

    Adds the run's ``scenario``, ``config`` and ``seed`` to every row.
    """
    frames = []
    for row in runs.itertuples():
        overrides = {k: getattr(row, k) for k in runs.columns
                     if k not in _RUN_COLUMNS and not k.startswith(("profit", "train_", "env_",
                                                                    "steps_", "parameters"))}
        path = Path(row.runs_dir) / run_name(row.scenario, row.config, row.seed,
                                              overrides or None) / "curve.csv"
        curve = pd.read_csv(path)
        curve["scenario"], curve["config"], curve["seed"] = row.scenario, row.config, row.seed
        for k, v in overrides.items():
            curve[k] = v
        frames.append(curve)
    return pd.concat(frames, ignore_index=True)


_RUN_COLUMNS = {"job_id", "experiment", "scenario", "config", "seed", "iterations", "runs_dir",
                "elapsed_s", "status"}


def across_seeds(runs: pd.DataFrame, by=("scenario", "config"), column: str = "profit",
                 confidence: float = 0.95) -> pd.DataFrame:
    """Mean of ``column`` over seeds with a t-interval across seeds (each seed one value)."""
    from .evaluation import mean_ci

    rows = []
    for key, g in runs.groupby(list(by), sort=False):
        mean, lo, hi = mean_ci(g[column], confidence)
        rows.append({**dict(zip(by, key)), "seeds": len(g), column: mean,
                     f"{column}_lo": lo, f"{column}_hi": hi,
                     "train_seconds": float(g["train_seconds"].mean())
                     if "train_seconds" in g else float("nan")})
    return pd.DataFrame(rows)


# ---- E3, E4, E6: the main table, learning curves, behaviour of the learned agents ----------
E3_HEURISTICS = {
    "siloed": "siloed heuristic (GMV-greedy + base-stock)",
    "coordinated": "coordinated heuristic (inventory-aware + base-stock)",
    "margin-greedy": "margin-greedy + base-stock",
}
"""The heuristic firms of the main table: :func:`coordlib.sweep.heuristic_policy` name -> label."""


def check_learners(configs, workers: int = 2) -> None:
    """Check a notebook's ``configs`` (names of :data:`coordlib.training.PRESETS`) and ``workers``."""
    from .training import PRESETS

    if isinstance(configs, str) or not isinstance(configs, (list, tuple)) or not configs:
        raise ParameterError(f"configs: expected a non-empty list of configuration names, "
                             f"got {configs!r}")
    for c in configs:
        if c not in PRESETS:
            raise ParameterError(f"configs: unknown configuration {c!r}; known: "
                                 f"{', '.join(PRESETS)}")
    _whole("workers", workers, 1)


def heuristic_table(scenarios, methods=tuple(E3_HEURISTICS), replications: int = 20,
                    periods: int = 500, warmup: int = 100, seed: int = 0) -> pd.DataFrame:
    """Mean profit per period with 95% CIs (across replications) of heuristic firms.

    ``methods`` name :func:`coordlib.sweep.heuristic_policy` firms; each one's base-stock
    levels [S_i] are tuned on the stream :func:`coordlib.sweep.tuning_seed` (``seed``), and
    the firm is evaluated with :func:`coordlib.evaluate` (``replications`` x ``periods``,
    ``warmup`` discarded, ``seed``). Columns: scenario, method, n, profit, profit_lo, profit_hi.
    """
    from .sweep import heuristic_policy, tuning_seed

    frames = []
    for name in scenarios:
        s = get_scenario(name)
        for method in methods:
            policy = heuristic_policy(s, method, seed=tuning_seed(seed))
            df = evaluate(s, policy, replications, periods, warmup, seed)
            df["method"] = method
            frames.append(df)
    raw = pd.concat(frames, ignore_index=True)
    return summarize(raw, by=("scenario", "method"), columns=("profit",))


def dp_gains(scenarios, exposure_grid: int = 11, cache_dir=None) -> pd.DataFrame:
    """g*, the exact optimal profit per period (:func:`coordlib.dp.solve`), where the DP applies.

    Scenarios the exact DP does not handle (N != 2, backlog, seasonality) are left out.
    Results are kept in a :class:`coordlib.results.ResultStore` under ``cache_dir`` when given.
    Columns: scenario, gain, gain_low, gain_high (the final value-iteration bounds).
    """
    from . import dp
    from .results import ResultStore

    store = ResultStore(cache_dir, enabled=cache_dir is not None)
    rows = []
    for name in scenarios:
        s = get_scenario(name)
        try:
            dp._check_supported(s)
        except dp.DPError:
            continue

        def compute(s=s):
            sol = dp.solve(s, exposure_grid=exposure_grid)
            return {"gain": float(sol.gain), "gain_low": float(sol.gain_bounds[0]),
                    "gain_high": float(sol.gain_bounds[1])}

        value = store.cached("dp_gain", {"scenario": s.name, "exposure_grid": exposure_grid},
                             compute)
        rows.append({"scenario": name, **value})
    return pd.DataFrame(rows, columns=["scenario", "gain", "gain_low", "gain_high"])


def main_table(heuristics: pd.DataFrame, learners: pd.DataFrame, optimum: pd.DataFrame,
               baseline: str = "siloed") -> pd.DataFrame:
    """E3: every method on every scenario, with its gaps to the siloed baseline and to g*.

    ``heuristics`` from :func:`heuristic_table`, ``learners`` from :func:`across_seeds`
    (column ``config``), ``optimum`` from :func:`dp_gains`. Adds ``gap_siloed_pct`` =
    100 (profit - profit of heuristic ``baseline``) / |profit of ``baseline``| and
    ``gap_dp_pct`` = 100 (profit - g*) / |g*| (NaN where there is no g*). The DP optimizes
    over the exposure grid of :func:`coordlib.dp.solve`, so a method may come marginally
    above g*; ``interval`` says what the CI is across (replications, seeds, or none).
    """
    h = heuristics.assign(kind="heuristic", interval="replications")
    h = h.rename(columns={"n": "count"})
    lr = learners.rename(columns={"config": "method", "seeds": "count"})
    lr = lr.assign(kind="learner", interval="seeds", method="learner: " + lr["method"])
    d = optimum.rename(columns={"gain": "profit"}).assign(
        method="DP optimum g*", kind="DP", interval="exact", count=1,
        profit_lo=float("nan"), profit_hi=float("nan"))
    columns = ["scenario", "kind", "method", "count", "interval", "profit", "profit_lo",
               "profit_hi"]
    table = pd.concat([f.reindex(columns=columns) for f in (h, lr, d) if len(f)],
                      ignore_index=True)
    base = heuristics[heuristics["method"] == baseline].set_index("scenario")["profit"]
    best = optimum.set_index("scenario")["gain"] if len(optimum) else pd.Series(dtype=float)
    ref_base = table["scenario"].map(base).astype(float)
    ref_dp = table["scenario"].map(best).astype(float)
    table["gap_siloed_pct"] = 100 * (table["profit"] - ref_base) / ref_base.abs()
    table["gap_dp_pct"] = 100 * (table["profit"] - ref_dp) / ref_dp.abs()
    order = {name: i for i, name in enumerate(dict.fromkeys(table["scenario"]))}
    kinds = {"heuristic": 0, "learner": 1, "DP": 2}
    table = table.sort_values(["scenario", "kind"], key=lambda c: c.map(order) if c.name ==
                              "scenario" else c.map(kinds), kind="stable")
    return table.reset_index(drop=True)


def curve_bands(curves: pd.DataFrame, by=("scenario", "config"), x: str = "env_steps",
                column: str = "profit", confidence: float = 0.95) -> pd.DataFrame:
    """E4: mean of ``column`` over seeds at each ``x`` with a t-interval across seeds."""
    from .evaluation import mean_ci

    rows = []
    for key, g in curves.groupby([*by, x], sort=True):
        mean, lo, hi = mean_ci(g[column], confidence)
        rows.append({**dict(zip((*by, x), key)), "seeds": len(g), column: mean,
                     f"{column}_lo": lo, f"{column}_hi": hi})
    return pd.DataFrame(rows)


def final_means(curves: pd.DataFrame, by=("scenario", "config"),
                columns=("profit", "steps_per_s")) -> pd.DataFrame:
    """E4: the last iteration of every run's curve, mean over seeds with a 95% t-interval."""
    from .evaluation import summarize as _summarize

    last = curves.loc[curves.groupby([*by, "seed"], sort=False)["iteration"].idxmax()]
    out = _summarize(last, by=by, columns=columns)
    iters = last.groupby(list(by), sort=False)[["iteration", "env_steps"]].max().reset_index()
    return out.merge(iters, on=list(by)).rename(columns={"n": "seeds"})


def run_dirs(runs: pd.DataFrame) -> pd.Series:
    """The folder of each run of :func:`learner_sweep` (curve.csv, checkpoint.pt, summary.json)."""
    return runs.apply(lambda r: str(Path(r["runs_dir"]) / run_name(r["scenario"], r["config"],
                                                                   int(r["seed"]))), axis=1)


def load_policy(run_dir, deterministic: bool | None = None):
    """The trained actors of a run folder's ``checkpoint.pt`` as a :class:`LearnedPolicy`.

    Returns ``(policy, scenario_name)``; ``deterministic`` defaults to the run's
    ``eval_deterministic`` (the setting its evaluation used).
    """
    from .agents import AgentSet, LearnedPolicy
    from .training import load_checkpoint

    state = load_checkpoint(Path(run_dir) / "checkpoint.pt")
    agents = AgentSet.from_spec(state["spec"])
    agents.load_state_dict(state["agents"])
    config = state["config"]
    det = config.get("eval_deterministic", True) if deterministic is None else deterministic
    return LearnedPolicy(agents, det, name=config.get("name", "learned")), state["scenario"]


def simulate_policy(scenario, policy, replications: int = 16, periods: int = 400,
                    warmup: int = 100, seed: int = 0) -> dict:
    """Trajectories of any policy after a warm-up (:func:`coordlib.structure.trajectories`)."""
    from .structure import trajectories

    return trajectories(get_scenario(scenario), policy, replications, periods, warmup, seed)


def b3_slopes(traj: dict) -> pd.DataFrame:
    """B3 on trajectories: exposure of product i regressed on its own and the others' stock.

    Pooled least squares exposure_i = a + b_own A_i + b_other sum_{j != i} A_j over all
    replications and periods. B3 (co-movement) reads as b_own >= 0 and b_other <= 0.
    Columns: product, slope_own, slope_other, mean_exposure, corr_own (correlation of
    exposure_i with A_i; NaN where either is constant).
    """
    x, a = traj["exposure"], traj["available"].astype(float)
    rows = []
    for i in range(x.shape[-1]):
        y = x[..., i].ravel()
        own = a[..., i].ravel()
        other = (a.sum(axis=-1) - a[..., i]).ravel()
        design = np.column_stack([np.ones_like(own), own, other])
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        corr = (float(np.corrcoef(y, own)[0, 1]) if y.std() > 0 and own.std() > 0
                else float("nan"))
        rows.append({"product": i + 1, "slope_own": float(coef[1]),
                     "slope_other": float(coef[2]), "mean_exposure": float(y.mean()),
                     "corr_own": corr})
    return pd.DataFrame(rows)


def b4_lags(traj: dict, lead_time, max_lag: int = 6) -> pd.DataFrame:
    """B4 on trajectories: corr(q_i(t), exposure_i(t + k)) for k = -max_lag..max_lag.

    ``lead_time``: [L_i] per product. Columns: product, lead_time, lag, correlation.
    """
    from .structure import cross_correlation

    rows = []
    for i in range(traj["orders"].shape[-1]):
        c = cross_correlation(traj["orders"][..., i].astype(float), traj["exposure"][..., i],
                              max_lag)
        for k, v in zip(range(-max_lag, max_lag + 1), c):
            rows.append({"product": i + 1, "lead_time": int(lead_time[i]), "lag": k,
                         "correlation": float(v)})
    return pd.DataFrame(rows)


def behaviour(scenario, policy, replications: int = 16, periods: int = 400, warmup: int = 100,
              seed: int = 0, max_lag: int = 6,
              threads: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """E6 for one policy: (B3 slopes, B4 cross-correlations, trajectories) on ``scenario``.

    B3 frame adds ``peak_lag`` and ``peak_correlation`` of B4 per product, and ``profit``
    (mean profit per period of the simulated trajectories). ``threads``: torch threads
    while simulating (one is fastest for these small networks; restored afterwards).
    """
    import torch

    s = get_scenario(scenario)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        traj = simulate_policy(s, policy, replications, periods, warmup, seed)
    finally:
        torch.set_num_threads(before)
    b3 = b3_slopes(traj)
    b4 = b4_lags(traj, s.lead_time, max_lag)
    peaks = []
    for product, g in b4.groupby("product", sort=True):
        g = g.dropna(subset=["correlation"])
        best = g.loc[g["correlation"].idxmax()] if len(g) else None
        peaks.append({"product": product,
                      "peak_lag": float(best["lag"]) if best is not None else float("nan"),
                      "peak_correlation": float(best["correlation"]) if best is not None
                      else float("nan")})
    b3 = b3.merge(pd.DataFrame(peaks), on="product")
    b3["lead_time"] = [int(L) for L in s.lead_time]
    b3["profit"] = float(traj["profit"].mean())
    return b3, b4, traj


def exposure_by_stock(traj: dict, product: int = 1) -> pd.DataFrame:
    """E6 (B3 picture): every period's exposure of ``product`` (1-based) next to its stock.

    Columns: ``available`` [A_i], ``others_available`` (sum of A_j, j != i), ``exposure``
    (arrival-weighted share of product i).
    """
    i = int(product) - 1
    a = traj["available"]
    return pd.DataFrame({"available": a[..., i].ravel(),
                         "others_available": (a.sum(axis=-1) - a[..., i]).ravel(),
                         "exposure": traj["exposure"][..., i].ravel()})
