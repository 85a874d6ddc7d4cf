"""The heuristic firms of MODEL.md section 6, in one registry, and the one tuning-seed rule.

A firm is a recommender and base-stock replenishment whose levels [S_i] are tuned by
simulation for the demand that recommender produces (:func:`tune_base_stock`); every firm also
comes with capped base-stock (Xin 2021) instead, its levels and caps tuned the same way
(:func:`tune_capped_base_stock`, ``firm(..., replenishment="capped")``). Every table,
sweep and command reads :data:`FIRMS`: adding a heuristic firm here adds it everywhere.
The tuning stream is always :func:`tuning_seed` of the evaluation seed, so the same firm gets
the same levels in every experiment.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..common.help import HelpFormatter
from ..model.evaluation import evaluate, summarize
from ..model.policy import JointPolicy, Recommender, joint
from ..model.scenario import Scenario, ScenarioError
from ..model.scenarios import get as get_scenario
from .recommendation import fixed_exposure, gmv_greedy, inventory_aware, margin_greedy
from .replenishment import base_stock, capped_base_stock
from .tuning import tune_base_stock, tune_capped_base_stock


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
REPLENISHMENTS = ("base-stock", "capped")
"""The replenishment rules every firm comes with: tuned base-stock, or tuned capped base-stock."""


def tuning_seed(seed: int) -> int:
    """The seed of base-stock tuning: a stream independent of the evaluation's ``seed``.

    Tuning and evaluating on the same demand draws would overfit the levels to that draw.
    """
    return int(np.random.SeedSequence([int(seed), 7919]).generate_state(1)[0])


def firm(scenario: Scenario, name: str, seed: int = 0, replenishment: str = "base-stock",
         **tune_kwargs) -> JointPolicy:
    """The heuristic firm ``name`` (a key of :data:`FIRMS`) on ``scenario``.

    Its base-stock levels (``replenishment="capped"``: capped base-stock levels and caps) are
    tuned on the stream :func:`tuning_seed` (``seed``), where ``seed`` is the seed the firm
    will be evaluated with; ``tune_kwargs`` go to :func:`tune_base_stock` (``replications``,
    ``periods``, ``warmup``, ``offsets``) or :func:`tune_capped_base_stock` (also
    ``cap_factors``, ``level_steps``).
    """
    if name not in FIRMS:
        raise ScenarioError(f"unknown heuristic firm {name!r}; known: {', '.join(FIRMS)}")
    if replenishment not in REPLENISHMENTS:
        raise ScenarioError(f"unknown replenishment {replenishment!r}; known: "
                            f"{', '.join(REPLENISHMENTS)}")
    if "seed" in tune_kwargs:
        raise TypeError("firm: the tuning seed is tuning_seed(seed); pass the evaluation seed")
    recommender = FIRMS[name].recommender()
    if replenishment == "capped":
        levels, caps = tune_capped_base_stock(scenario, recommender, seed=tuning_seed(seed),
                                              **tune_kwargs)
        return joint(capped_base_stock(levels, caps), recommender)
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
    parser = argparse.ArgumentParser(
        prog="coordlib evaluate", formatter_class=HelpFormatter,
        description="Evaluate a heuristic firm of the registry (coordlib.policies.FIRMS) on a "
                    "scenario: its base-stock levels are tuned by simulation for the demand its "
                    "recommender produces, then the mean profit per period and the fill rate are "
                    "printed with 95% confidence intervals across replications.")
    parser.add_argument("--scenario", default="tiny",
                        help="a shipped scenario's name (python -m coordlib scenarios) or a "
                             "YAML path")
    firms = "\n".join(f"  {f.name}: {f.description}" for f in FIRMS.values())
    parser.add_argument("--policy", default="siloed", choices=list(FIRMS), metavar="FIRM",
                        help="the heuristic firm, one of:\n" + firms.replace("%", "%%"))
    parser.add_argument("--replications", type=int, default=20,
                        help="independent replications (the confidence interval is across them)")
    parser.add_argument("--periods", type=int, default=500,
                        help="periods simulated per replication")
    parser.add_argument("--warmup", type=int, default=100,
                        help="first periods left out of the mean (the start from the initial "
                             "state)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the evaluation; the tuning uses an independent stream "
                             "derived from it")
    args = parser.parse_args(argv)
    # checked before the base-stock tuning, which takes seconds
    for name, low in (("replications", 1), ("periods", 1), ("warmup", 0), ("seed", 0)):
        if getattr(args, name) < low:
            parser.exit(2, f"coordlib evaluate: --{name} must be at least {low}, got "
                           f"{getattr(args, name)}\n")
    if args.warmup >= args.periods:
        parser.exit(2, f"coordlib evaluate: --warmup ({args.warmup}) must be smaller than "
                       f"--periods ({args.periods})\n")
    try:
        scenario = get_scenario(args.scenario)
    except ScenarioError as exc:
        parser.exit(2, f"coordlib evaluate: {exc}\n")
    policy = firm(scenario, args.policy, seed=args.seed)
    frame = evaluate(scenario, policy, args.replications, args.periods, args.warmup, args.seed)
    print(summarize(frame, columns=("profit", "fill_rate")).to_string(index=False))
    return 0
