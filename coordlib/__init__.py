"""coordlib: coordinating inventory replenishment and personalized recommendation.

The model (MODEL.md) as a batched simulator, heuristic policies, the exact DP, the
multi-timescale multi-agent learner and the experiments built on them. Importing coordlib
registers the Gymnasium environment ``coordlib/Coordination-v0``; the heavier modules
(theory, dp, structure, training, ...) load on first use.
"""
import importlib

from .scenario import Scenario, ScenarioError
from .simulator import Observation, Simulator, StepResult
from . import scenarios
from . import policies
from . import envs
from .evaluation import evaluate, mean_ci, summarize

__version__ = "0.1.0"

_ON_FIRST_USE = ("convergence", "sweep", "dp", "structure", "theory", "agents", "training",
                 "experiments", "studies", "reproduce", "results", "reporting", "bench")


def __getattr__(name):
    if name in _ON_FIRST_USE:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'coordlib' has no attribute {name!r}")


__all__ = ["Scenario", "ScenarioError", "Simulator", "Observation", "StepResult", "scenarios",
           "policies", "envs", "evaluate", "summarize", "mean_ci", *_ON_FIRST_USE]
