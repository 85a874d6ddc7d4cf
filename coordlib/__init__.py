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

Importing coordlib registers the Gymnasium environment ``coordlib/Coordination-v0``; the
heavier subpackages load on first use (``coordlib.learning`` imports torch).
"""
import importlib

from . import envs, policies
from .common.stats import mean_ci
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


def __getattr__(name):
    if name in _ON_FIRST_USE:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'coordlib' has no attribute {name!r}")


__all__ = ["Scenario", "ScenarioError", "Simulator", "Observation", "StepResult", "scenarios",
           "policies", "envs", "evaluate", "summarize", "mean_ci", "model", *_ON_FIRST_USE]
