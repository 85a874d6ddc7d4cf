"""The named scenarios shipped under ``data/scenarios/`` (MODEL.md section 8 and the project's own).

``tiny`` and ``tiny-margin`` are fixed by MODEL.md section 8; the others are the project's:
``tiny-personal`` (N = 2, K = 2, for the exact DP), ``medium`` (N = 10, K = 3, lead times 1-3),
``large`` (N = 120, K = 5, made by :func:`coordlib.model.scenario.random_scenario` with
:data:`LARGE_RECIPE`), ``seasonal`` (opposite-phase seasonal segments, lead time 2),
``weekly-review`` (review period R = 4), and the coordination-rich ``family-100`` (K = 8) and
``family-1000`` (K = 10) of :mod:`coordlib.model.families`, chosen by
:func:`coordlib.experiments.coordination_scale.select_family` (each YAML's description gives
its recipe and the measures it was chosen by).
"""
from __future__ import annotations

import argparse
import textwrap
from functools import lru_cache
from pathlib import Path

from ..common.files import REPO_DIR
from ..common.help import HelpFormatter
from .scenario import Scenario, ScenarioError

PACKAGED_SCENARIO_DIR = Path(__file__).resolve().parent / "scenario_data"
"""Where an installed wheel holds the scenarios (``data/scenarios/*.yaml``, see pyproject.toml)."""
SCENARIO_DIR = (REPO_DIR / "data" / "scenarios" if (REPO_DIR / "data" / "scenarios").is_dir()
                else PACKAGED_SCENARIO_DIR)
"""The shipped scenarios: ``data/scenarios/`` in a checkout, the packaged copy otherwise."""
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


def _shorten(text: str, width: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``width`` characters."""
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" ...")


def cli(argv) -> int:
    """``python -m coordlib scenarios``: one line per shipped scenario."""
    parser = argparse.ArgumentParser(
        prog="coordlib scenarios", formatter_class=HelpFormatter,
        description="List the shipped scenarios: name, products N, segments K, lead times L "
                    "(lowest to highest), review period R and the scenario's description. Any command's "
                    "--scenario takes one of these names or a YAML path.")
    parser.add_argument("--full", action="store_true",
                        help="print each description whole (default: cut at a word to fit "
                             "one line)")
    args = parser.parse_args(argv)
    for n in names():
        s = get(n)
        head = (f"{n:<14} N={s.n_products:<4} K={s.n_segments:<2} L={s.lead_time.min()}-"
                f"{s.lead_time.max()} R={s.review_period}  ")
        text = " ".join(s.description.split())
        print(head + (text if args.full else _shorten(text, max(20, 100 - len(head)))))
    return 0
