"""The model of MODEL.md sections 1-4: scenarios, the batched simulator, one rollout, evaluation.

- :mod:`.scenario` (the parameters, validated), :mod:`.scenarios` (the shipped ones),
  :mod:`.variants` (one factor of a scenario changed);
- :mod:`.simulator` (sections 3-4: B copies stepped at once), :mod:`.policy` (the interface
  every policy implements), :mod:`.rollout` (the one simulation loop), :mod:`.evaluation`
  (the long-run average profit with a confidence interval).
"""
from ..common.stats import mean_ci
from . import scenarios
from .evaluation import PARTS, evaluate, summarize
from .policy import Action, JointPolicy, Policy, Recommender, Replenisher, joint
from .rollout import trajectories
from .scenario import (
    PRODUCT_FIELDS,
    SEGMENT_FIELDS,
    TOP_LEVEL_KEYS,
    Scenario,
    ScenarioError,
    field_docs,
    random_scenario,
)
from .simulator import INT, Observation, Simulator, StepResult
from .variants import FACTORS, margin_spread_scenario, scenario_variant

__all__ = ['PARTS', 'evaluate', 'summarize', 'Action', 'Policy', 'Replenisher', 'Recommender', 'JointPolicy', 'joint', 'trajectories', 'ScenarioError', 'PRODUCT_FIELDS', 'SEGMENT_FIELDS', 'TOP_LEVEL_KEYS', 'Scenario', 'random_scenario', 'field_docs', 'scenarios', 'mean_ci', 'INT', 'Observation', 'StepResult', 'Simulator', 'margin_spread_scenario', 'FACTORS', 'scenario_variant']
