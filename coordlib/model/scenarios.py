"""The named scenarios shipped under ``data/scenarios/`` (MODEL.md section 8 and the project's own).

``tiny`` and ``tiny-margin`` are fixed by MODEL.md section 8; the others are the project's:
``tiny-personal`` (N = 2, K = 2, for the exact DP), ``medium`` (N = 10, K = 3, lead times 1-3),
``large`` (N = 120, K = 5, made by :func:`coordlib.model.scenario.random_scenario` with
:data:`LARGE_RECIPE`), ``seasonal`` (opposite-phase seasonal segments, lead time 2) and
``weekly-review`` (review period R = 4).
"""
from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

from ..common.files import REPO_DIR
from .scenario import Scenario, ScenarioError

SCENARIO_DIR = REPO_DIR / "data" / "scenarios"
LARGE_RECIPE = dict(n_products=120, n_segments=5, seed=2025, max_lead_time=3, name="large")
"""The arguments of ``random_scenario`` that made ``data/scenarios/large.yaml``."""


def names() -> list[str]:
    """The names of the shipped scenarios, sorted."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


@lru_cache(maxsize=None)
def _load(name: str) -> Scenario:
    return Scenario.from_yaml(SCENARIO_DIR / f"{name}.yaml")


def get(name) -> Scenario:
    """A shipped scenario by name, a scenario from a YAML path, or a Scenario passed through."""
    if isinstance(name, Scenario):
        return name
    if not isinstance(name, (str, Path)):
        raise ScenarioError(f"scenario: expected a name or a path, got {type(name).__name__}")
    text = str(name)
    if text.endswith((".yaml", ".yml")):
        return Scenario.from_yaml(text)
    if text not in names():
        raise ScenarioError(f"unknown scenario {text!r}; known scenarios: {', '.join(names())}")
    return _load(text)


def cli(argv) -> int:
    """``python -m coordlib scenarios``: one line per shipped scenario."""
    argparse.ArgumentParser(prog="coordlib scenarios", description=__doc__).parse_args(argv)
    for n in names():
        s = get(n)
        print(f"{n:<14} N={s.n_products:<4} K={s.n_segments:<2} L={s.lead_time.min()}-"
              f"{s.lead_time.max()} R={s.review_period}  {s.description[:60]}")
    return 0
