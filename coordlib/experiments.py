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
