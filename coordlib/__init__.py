"""coordlib: coordinating inventory replenishment and personalized recommendation.

The package follows MODEL.md, one subpackage per part, data flowing one way:

- :mod:`coordlib.model` (sections 1-4): scenarios, the batched simulator, rollout, evaluation;
- :mod:`coordlib.policies` (section 6, heuristics): department rules and the heuristic firms;
- :mod:`coordlib.envs`: PettingZoo and Gymnasium environments on the simulator;
- :mod:`coordlib.theory` (section 5): SymPy derivations of the analytical benchmarks;
- :mod:`coordlib.exact` (section 5): the exact DP, exact policy evaluation, B3-B5 structure;
- :mod:`coordlib.learning` (section 6): the multi-timescale multi-agent learner;
- :mod:`coordlib.experiments` (section 7): one module per notebook;
- :mod:`coordlib.pipeline`: sweeps, the results store, reproduction, reporting;
- :mod:`coordlib.bench`: speed and agreement benchmarks.

Importing coordlib registers the Gymnasium environments ``coordlib/Coordination-v0`` and
``coordlib/CoordinationNormalized-v0`` (without a prior import:
``gymnasium.make("coordlib:coordlib/Coordination-v0")``); the heavier subpackages load on first
use (``coordlib.learning`` imports torch).

Front-door helpers: :func:`evaluate` and :func:`summarize` (profit per period with a 95% CI),
:func:`from_gymnasium` / :func:`from_pettingzoo` (a model trained on the standard environments
as a policy that :func:`evaluate` runs), and ``load_run(path)`` (a trained run's folder as a
:class:`coordlib.learning.runs.TrainedRun`: its policy and its summary).
"""
import importlib

from . import envs, policies
from .common.stats import mean_ci
from .envs.adapters import from_gymnasium, from_pettingzoo
from .model import (
    Observation,
    Scenario,
    ScenarioError,
    Simulator,
    StepResult,
    evaluate,
    scenarios,
    summarize,
)

__version__ = "0.1.0"

_ON_FIRST_USE = ("theory", "exact", "learning", "experiments", "pipeline", "bench")


_LOADED_ON_FIRST_USE = {"load_run": "learning.runs"}   # name -> module (torch loads with it)


def __getattr__(name):
    if name in _LOADED_ON_FIRST_USE:
        value = getattr(importlib.import_module(f".{_LOADED_ON_FIRST_USE[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _ON_FIRST_USE:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'coordlib' has no attribute {name!r}")


__all__ = ["Scenario", "ScenarioError", "Simulator", "Observation", "StepResult", "scenarios",
           "policies", "envs", "evaluate", "summarize", "mean_ci", "model", "from_gymnasium",
           "from_pettingzoo", "load_run", *_ON_FIRST_USE]
