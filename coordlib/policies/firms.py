"""The heuristic firms of MODEL.md section 6, in one registry, and the one tuning-seed rule.

A firm is a recommender and base-stock replenishment whose levels [S_i] are tuned by
simulation for the demand that recommender produces (:func:`tune_base_stock`). Every table,
sweep and command reads :data:`FIRMS`: adding a heuristic firm here adds it everywhere.
The tuning stream is always :func:`tuning_seed` of the evaluation seed, so the same firm gets
the same levels in every experiment.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..model.evaluation import evaluate, summarize
from ..model.policy import JointPolicy, Recommender, joint
from ..model.scenario import Scenario, ScenarioError
from ..model.scenarios import get as get_scenario
from .recommendation import fixed_exposure, gmv_greedy, inventory_aware, margin_greedy
from .replenishment import base_stock
from .tuning import tune_base_stock


@dataclass(frozen=True)
class Firm:
    """A heuristic firm: its recommender rule and, for tables, a label and a description."""

    name: str
    """registry key, e.g. ``"siloed"``"""
    label: str
    """how tables name it"""
    description: str
    """one line: what each department does"""
    recommender: Callable[[], Recommender]
    """makes a fresh recommender (the replenisher is base-stock tuned for its demand)"""
    main_table: bool = True
    """whether the main table (E3) and the other method comparisons list it"""


FIRMS = {f.name: f for f in (
    Firm("siloed", "siloed (GMV-greedy + base-stock)",
         "GMV-greedy recommender, base-stock tuned for the demand it produces (MODEL.md 6)",
         gmv_greedy),
    Firm("coordinated", "coordinated (inventory-aware + base-stock)",
         "inventory-aware recommender, base-stock tuned for its demand (MODEL.md 6)",
         inventory_aware),
    Firm("margin-greedy", "margin-greedy + base-stock",
         "margin-greedy recommender (static coordination only), tuned base-stock",
         margin_greedy),
    Firm("uniform", "uniform + base-stock",
         "every product shown equally often, tuned base-stock",
         lambda: fixed_exposure(None), main_table=False),
)}
"""The heuristic firms by name (MODEL.md section 6, baselines)."""


def tuning_seed(seed: int) -> int:
    """The seed of base-stock tuning: a stream independent of the evaluation's ``seed``.

    Tuning and evaluating on the same demand draws would overfit the levels to that draw.
    """
    return int(np.random.SeedSequence([int(seed), 7919]).generate_state(1)[0])


def firm(scenario: Scenario, name: str, seed: int = 0, **tune_kwargs) -> JointPolicy:
    """The heuristic firm ``name`` (a key of :data:`FIRMS`) on ``scenario``.

    Its base-stock levels are tuned on the stream :func:`tuning_seed` (``seed``), where
    ``seed`` is the seed the firm will be evaluated with; ``tune_kwargs`` go to
    :func:`tune_base_stock` (``replications``, ``periods``, ``warmup``, ``offsets``).
    """
    if name not in FIRMS:
        raise ScenarioError(f"unknown heuristic firm {name!r}; known: {', '.join(FIRMS)}")
    if "seed" in tune_kwargs:
        raise TypeError("firm: the tuning seed is tuning_seed(seed); pass the evaluation seed")
    recommender = FIRMS[name].recommender()
    levels = tune_base_stock(scenario, recommender, seed=tuning_seed(seed), **tune_kwargs)
    return joint(base_stock(levels), recommender)


def siloed_heuristic(scenario: Scenario, seed: int = 0, **tune_kwargs) -> JointPolicy:
    """The siloed firm: GMV-greedy recommender, base-stock tuned for the demand it produces."""
    return firm(scenario, "siloed", seed, **tune_kwargs)


def coordinated_heuristic(scenario: Scenario, seed: int = 0, **tune_kwargs) -> JointPolicy:
    """Inventory-aware recommender with base-stock levels tuned for the demand it produces."""
    return firm(scenario, "coordinated", seed, **tune_kwargs)


def cli(argv) -> int:
    """``python -m coordlib evaluate``: a heuristic firm on a scenario, mean profit with its CI."""
    parser = argparse.ArgumentParser(prog="coordlib evaluate", description=cli.__doc__)
    parser.add_argument("--scenario", default="tiny", help="shipped name or YAML path")
    parser.add_argument("--policy", default="siloed", choices=list(FIRMS))
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--periods", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    scenario = get_scenario(args.scenario)
    policy = firm(scenario, args.policy, seed=args.seed)
    frame = evaluate(scenario, policy, args.replications, args.periods, args.warmup, args.seed)
    print(summarize(frame, columns=("profit", "fill_rate")).to_string(index=False))
    return 0
