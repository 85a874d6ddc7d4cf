"""How much coordination is worth on a scenario, measured by model-based baselines and a bound.

For the scenario families (:mod:`coordlib.model.families`) and any lost-sales scenario:
the siloed heuristic, the coordinated heuristic and margin-greedy (simulated, tuned
base-stock), the static-coordination optimum (:mod:`coordlib.exact.static_coordination`,
exact and simulated) and the fluid bounds (:mod:`coordlib.theory.fluid_bound`). The
selection rule of the shipped coordination-rich scenarios (:data:`SELECTION_RULE`) reads these
measures only, never a learner's result.

:func:`select_family` measures a small grid of family recipes (:data:`FAMILY_GRID`) and marks,
per size N, the candidate :data:`SELECTION_RULE` and :data:`SELECTION_ORDER` choose;
:func:`ship_family` writes the chosen ones as ``data/scenarios/family-N.yaml`` (each YAML's
description gives its recipe; the table's ``recipe`` column gives it as JSON, and
:func:`family_recipe` rebuilds it) and the table as ``data/tables/coordination_selection.*``.

``python -m coordlib.experiments.coordination_scale NAME_OR_YAML ...`` prints the measures;
``python -m coordlib.experiments.coordination_scale select`` reruns the selection.
"""
from __future__ import annotations

import json
import sys
import time

import pandas as pd

from ..common.files import REPO_DIR
from ..exact.static_coordination import static_coordination
from ..model.evaluation import evaluate, summarize
from ..model.families import FamilyRecipe, family_scenario
from ..model.scenarios import SCENARIO_DIR
from ..model.scenarios import get as get_scenario
from ..pipeline import reporting
from ..policies.firms import firm
from ..theory.fluid_bound import fluid_bound

STATIC_SHARE = 0.03
"""Least static value of coordination, (g_static - g_siloed) / g_siloed, of a rich scenario."""
DYNAMIC_SHARE = 0.01
"""Least dynamic value, (g_coordinated - g_static) / g_siloed, or room left above the static
optimum under the tightest bound, (bound - g_static) / g_siloed, of a rich scenario."""
SELECTION_RULE = (
    f"a scenario is coordination-rich when the static-coordination optimum beats the siloed "
    f"firm by at least {STATIC_SHARE:.0%} of the siloed profit, and the coordinated heuristic "
    f"beats the static optimum, or the tightest bound exceeds it, by at least "
    f"{DYNAMIC_SHARE:.0%} of the siloed profit")
"""The rule the shipped coordination-rich family scenarios were chosen by."""


def coordination_measures(scenario, replications: int = 10, periods: int = 300,
                          warmup: int = 100, seed: int = 0, tune: dict | None = None,
                          firms=("siloed", "margin-greedy", "coordinated")) -> dict:
    """The measures of :data:`SELECTION_RULE` on one scenario, with timings in seconds.

    Heuristic firms are tuned (``tune``: arguments of :func:`coordlib.policies.firms.firm`)
    and simulated with :func:`coordlib.evaluate` (``replications`` x ``periods``, the first
    ``warmup`` discarded, ``seed``); the static optimum is exact (``static``) and simulated
    (``static_sim``); ``bound_fluid`` and ``bound_newsvendor`` are the LP bounds.
    """
    s = get_scenario(scenario)
    tune = dict(replications=16, periods=150, warmup=50) if tune is None else dict(tune)
    out: dict = {"scenario": s.name, "N": s.n_products, "K": s.n_segments}
    for kind in ("fluid", "newsvendor"):
        b = fluid_bound(s, kind)
        out[f"bound_{kind}"], out[f"seconds_bound_{kind}"] = b.value, b.seconds
    started = time.perf_counter()
    static = static_coordination(s, grid_points=10)
    out["static"], out["seconds_static"] = static.gain, time.perf_counter() - started
    policies = {name: None for name in firms}
    for name in firms:
        started = time.perf_counter()
        policies[name] = firm(s, name, seed, **tune)
        out[f"seconds_tune_{name}"] = time.perf_counter() - started
    policies["static_sim"] = static.policy()
    for name, policy in policies.items():
        started = time.perf_counter()
        frame = evaluate(s, policy, replications, periods, warmup, seed)
        row = summarize(frame).iloc[0]
        out[name], out[f"{name}_lo"], out[f"{name}_hi"] = row.profit, row.profit_lo, row.profit_hi
        out[f"seconds_eval_{name}"] = time.perf_counter() - started
    base = abs(out["siloed"])
    out["static_share"] = (out["static"] - out["siloed"]) / base
    out["dynamic_share"] = (out["coordinated"] - out["static"]) / base
    out["room_share"] = (out["bound_newsvendor"] - out["static"]) / base
    out["rich"] = bool(out["static_share"] >= STATIC_SHARE
                       and max(out["dynamic_share"], out["room_share"]) >= DYNAMIC_SHARE)
    return out


SELECTION_ORDER = (
    "among the coordination-rich candidates of one size N, the one with the largest dynamic "
    "share (the coordinated heuristic's gain over the static optimum: the measured value of "
    "inventory-aware exposure), then the largest room share")
"""How one scenario per size is picked when several candidates pass :data:`SELECTION_RULE`."""
FAMILY_BASE = dict(n_segments=8, seed=0, price_margin_link=-1.0, margin_spread=0.6, lift=4.0,
                   lead_times=(0, 1, 2), capacity_tightness=1.5, taste_heterogeneity=1.0,
                   demand_level=3.0)
"""The recipe every candidate of :data:`FAMILY_GRID` starts from (knobs of FamilyRecipe):
dear products carry the lowest margin rates (GMV-greedy shows them), storage caps the
recommended product's demand, lead times 0-2 (the static optimum's exact chains stay small)."""
FAMILY_GRID = {
    100: (dict(), dict(price_margin_link=0.0), dict(capacity_tightness=1.0),
          dict(price_margin_link=0.0, capacity_tightness=1.0), dict(lift=8.0)),
    1000: (dict(n_segments=10), dict(n_segments=10, capacity_tightness=1.0)),
}
"""The candidates per size N: changes to :data:`FAMILY_BASE` (the price-margin link crossed
against reversed, storage tight against ample, a larger lift)."""
SELECTION_BUDGET = {
    100: dict(replications=8, periods=300, warmup=100,
              tune=dict(replications=16, periods=150, warmup=50)),
    1000: dict(replications=4, periods=200, warmup=50,
               tune=dict(replications=6, periods=120, warmup=40)),
}
"""Simulation budget of :func:`coordination_measures` per size (intervals well inside the
rule's 1% at N = 1,000 come from the many products per replication)."""
TABLES_DIR = REPO_DIR / "data" / "tables"
SELECTION_TABLE = "coordination_selection"
"""``data/tables/coordination_selection.{csv,md,tex}``: one row per candidate."""


def family_recipe(n_products: int, changes: dict) -> FamilyRecipe:
    """The candidate recipe: :data:`FAMILY_BASE` with ``changes``, named ``family-N``."""
    return FamilyRecipe(**{**FAMILY_BASE, **changes, "n_products": int(n_products),
                           "name": f"family-{int(n_products)}"})


def select_family(sizes=(100, 1000), grid=None, seed: int = 0, budget=None,
                  progress=None) -> pd.DataFrame:
    """The selection table: every candidate of ``grid`` (default :data:`FAMILY_GRID`) per size,
    its measures (:func:`coordination_measures` with ``budget``, default
    :data:`SELECTION_BUDGET`), whether it is coordination-rich, and ``chosen`` per size by
    :data:`SELECTION_ORDER`. ``progress``: called with each finished row."""
    grid = FAMILY_GRID if grid is None else grid
    budget = SELECTION_BUDGET if budget is None else budget
    rows = []
    for n in sizes:
        if n not in grid or n not in budget:
            raise ValueError(f"select_family: no candidates or budget for N={n}")
        for changes in grid[n]:
            recipe = family_recipe(n, changes)
            started = time.perf_counter()
            m = coordination_measures(family_scenario(recipe), seed=seed, **budget[n])
            row = {"N": m["N"], "K": m["K"],
                   "changes": ", ".join(f"{k}={v}" for k, v in changes.items()) or "base",
                   "recipe": json.dumps(recipe.to_dict(), sort_keys=True)}
            row.update({k: m[k] for k in (
                "siloed", "margin-greedy", "coordinated", "static", "static_sim",
                "bound_newsvendor", "bound_fluid", "static_share", "dynamic_share",
                "room_share", "rich")})
            row["halfwidth_share"] = max((m[f"{k}_hi"] - m[f"{k}_lo"]) / 2 for k in (
                "siloed", "coordinated", "static_sim")) / abs(m["siloed"])
            row["seconds_static"] = m["seconds_static"]
            row["seconds"] = time.perf_counter() - started
            rows.append(row)
            if progress is not None:
                progress(row)
    frame = pd.DataFrame(rows)
    frame["chosen"] = False
    for n, part in frame[frame.rich].groupby("N"):
        best = part.sort_values(["dynamic_share", "room_share"], ascending=False).index[0]
        frame.loc[best, "chosen"] = True
    return frame


def family_description(row) -> str:
    """The shipped scenario's description: its recipe and the rule's measured numbers."""
    recipe = json.loads(row["recipe"])
    knobs = ", ".join(f"{k}={v}" for k, v in recipe.items() if k != "name")
    return (f"Coordination-rich scenario family member: coordlib.model.families.family_scenario"
            f"(FamilyRecipe(...)) with {knobs}. "
            f"Chosen by coordlib.experiments.coordination_scale.select_family "
            f"(data/tables/{SELECTION_TABLE}.csv) under SELECTION_RULE (static >= "
            f"{STATIC_SHARE:.0%}, dynamic or room >= {DYNAMIC_SHARE:.0%} of siloed profit), no "
            f"learner looked at. Profit per period: siloed {row['siloed']:.1f}, margin-greedy "
            f"{row['margin-greedy']:.1f}, coordinated heuristic {row['coordinated']:.1f}, "
            f"static-coordination optimum {row['static']:.1f} (simulated "
            f"{row['static_sim']:.1f}), newsvendor bound {row['bound_newsvendor']:.1f}, fluid "
            f"bound {row['bound_fluid']:.1f}; static share {row['static_share']:.1%}, dynamic "
            f"share {row['dynamic_share']:.1%}, room above static {row['room_share']:.1%}.")


def ship_family(frame: pd.DataFrame, scenario_dir=SCENARIO_DIR, tables_dir=TABLES_DIR) -> list:
    """Write each chosen row of ``frame`` as ``family-N.yaml`` in ``scenario_dir`` and the
    table in ``tables_dir``; return the YAML paths."""
    paths = []
    for _, row in frame[frame.chosen].iterrows():
        recipe = FamilyRecipe(**json.loads(row["recipe"]))
        scenario = family_scenario(recipe).replace(description=family_description(row))
        path = scenario_dir / f"{recipe.name}.yaml"
        scenario.to_yaml(path)
        paths.append(path)
    reporting.save_table(frame, tables_dir, SELECTION_TABLE, float_format="{:.4f}")
    return paths


def main(argv) -> int:
    if argv[:1] == ["select"]:
        frame = select_family(progress=lambda row: print(
            {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()
             if k != "recipe"}, flush=True))
        for path in ship_family(frame):
            print(f"wrote {path}")
        return 0
    for name in argv:
        m = coordination_measures(name)
        print(f"{m['scenario']} (N={m['N']}, K={m['K']}):")
        for key in ("siloed", "margin-greedy", "coordinated", "static_sim"):
            print(f"  {key:<14} {m[key]:12.2f}  [{m[key + '_lo']:.2f}, {m[key + '_hi']:.2f}]")
        for key in ("static", "bound_newsvendor", "bound_fluid"):
            print(f"  {key:<14} {m[key]:12.2f}")
        print(f"  static share {m['static_share']:.2%}, dynamic share {m['dynamic_share']:.2%}, "
              f"room above static {m['room_share']:.2%}, rich: {m['rich']}")
        print("  seconds: " + ", ".join(f"{k[8:]}={v:.1f}" for k, v in m.items()
                                        if k.startswith("seconds_")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
