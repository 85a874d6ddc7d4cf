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
    for key in ("replications", "periods", "iterations", "n_mc", "envs"):
        if key in params:
            _whole(key, params[key], 1)
    if "warmup" in params:
        _whole("warmup", params["warmup"], 0)
        if "periods" in params and params["warmup"] >= params["periods"]:
            raise ParameterError(f"warmup ({params['warmup']}) must be below periods "
                                 f"({params['periods']})")
    for key, value in params.items():
        if key.endswith("_dir"):
            Path(value).mkdir(parents=True, exist_ok=True)
    return Parameters(out)


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


def learner_sweep(name: str, scenarios, configs, seeds, iterations: int, cache_dir,
                  axes: dict | None = None, workers: int = 2, scheduler=None,
                  progress: bool = False) -> pd.DataFrame:
    """Train every (scenario, configuration, seed, axes value) with :mod:`coordlib.sweep`.

    Runs in parallel local processes (or on a Dask cluster given ``scheduler``); results and
    runs (curves, checkpoints) are kept under ``cache_dir`` in a folder named after the
    sweep and the code version, so a re-run with unchanged code trains nothing. Returns one
    row per run (see :func:`coordlib.sweep.collect`).
    """
    from .results import code_version
    from .sweep import collect, run_sweep

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
