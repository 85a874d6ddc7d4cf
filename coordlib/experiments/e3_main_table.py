"""E3, the main table: every heuristic firm and learner on every scenario, with gaps to the siloed
firm and to the DP optimum g* where one exists.
"""
from __future__ import annotations

import pandas as pd

from ..exact import dp
from ..model.evaluation import evaluate, summarize
from ..model.scenarios import get as get_scenario
from ..pipeline.results import ResultStore
from ..policies.firms import FIRMS, firm

E3_FIRMS = tuple(name for name, f in FIRMS.items() if f.main_table)
"""The heuristic firms of the main table: every firm of :data:`coordlib.policies.FIRMS` marked
``main_table`` (adding a firm there adds it here)."""


def heuristic_table(scenarios, methods=E3_FIRMS, replications: int = 20,
                    periods: int = 500, warmup: int = 100, seed: int = 0) -> pd.DataFrame:
    """Mean profit per period with 95% CIs (across replications) of heuristic firms.

    ``methods`` name :data:`coordlib.policies.FIRMS`; each one's base-stock levels [S_i]
    are tuned on the stream :func:`coordlib.policies.firms.tuning_seed` (``seed``), and
    the firm is evaluated with :func:`coordlib.evaluate` (``replications`` x ``periods``,
    ``warmup`` discarded, ``seed``). Columns: scenario, method, n, profit, profit_lo, profit_hi.
    """

    frames = []
    for name in scenarios:
        s = get_scenario(name)
        for method in methods:
            policy = firm(s, method, seed)
            df = evaluate(s, policy, replications, periods, warmup, seed)
            df["method"] = method
            frames.append(df)
    raw = pd.concat(frames, ignore_index=True)
    return summarize(raw, by=("scenario", "method"), columns=("profit",))


def dp_gains(scenarios, exposure_grid: int = 11, cache_dir=None) -> pd.DataFrame:
    """g*, the exact optimal profit per period (:func:`coordlib.exact.dp.solve`), where the DP applies.

    Scenarios the exact DP does not handle (N != 2, backlog, seasonality) are left out.
    Results are kept in a :class:`coordlib.pipeline.results.ResultStore` under ``cache_dir`` when
    given, keyed by the scenario's content (every field of :meth:`Scenario.to_dict` but its name
    and description) and the code version, never by its name.
    Columns: scenario, gain, gain_low, gain_high (the final value-iteration bounds).
    """

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

        content = {k: v for k, v in s.to_dict().items() if k not in ("name", "description")}
        value = store.cached("dp_gain", {"scenario": content, "exposure_grid": exposure_grid},
                             compute)
        rows.append({"scenario": name if isinstance(name, str) else s.name, **value})
    return pd.DataFrame(rows, columns=["scenario", "gain", "gain_low", "gain_high"])


def main_table(heuristics: pd.DataFrame, learners: pd.DataFrame, optimum: pd.DataFrame,
               baseline: str = "siloed") -> pd.DataFrame:
    """E3: every method on every scenario, with its gaps to the siloed baseline and to g*.

    ``heuristics`` from :func:`heuristic_table`, ``learners`` from :func:`coordlib.experiments.learners.across_seeds`
    (column ``config``), ``optimum`` from :func:`dp_gains`. Adds ``gap_siloed_pct`` =
    100 (profit - profit of heuristic ``baseline``) / |profit of ``baseline``| and
    ``gap_dp_pct`` = 100 (profit - g*) / |g*| (NaN where there is no g*). The DP optimizes
    over the exposure grid of :func:`coordlib.exact.dp.solve`, so a method may come marginally
    above g*; ``interval`` says what the CI is across (replications, seeds, or none).
    """
    h = heuristics.assign(kind="heuristic", interval="replications")
    h = h.rename(columns={"n": "count"})
    lr = learners.rename(columns={"config": "method", "seeds": "count"})
    lr = lr.assign(kind="learner", interval=lr["interval"] if "interval" in lr else "seeds",
                   method="learner: " + lr["method"])
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
