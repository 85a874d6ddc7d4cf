"""coordlib: coordinating inventory replenishment and personalized recommendation.

The model (MODEL.md) as a batched simulator, heuristic policies, the exact DP, the
multi-timescale multi-agent learner and the experiments built on them.
"""
from .scenario import Scenario, ScenarioError
from .simulator import Observation, Simulator, StepResult
from . import scenarios
from . import policies
from . import envs
from . import convergence
from . import sweep
from . import dp, structure, theory
from .evaluation import evaluate, mean_ci, summarize

__version__ = "0.1.0"
__all__ = ["Scenario", "ScenarioError", "Simulator", "Observation", "StepResult", "scenarios",
           "policies", "envs", "convergence", "sweep", "dp", "structure", "theory", "evaluate", "summarize", "mean_ci"]
