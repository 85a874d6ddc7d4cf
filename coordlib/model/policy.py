"""The policy interface (MODEL.md sections 2 and 4): an :class:`Action` per period, department
rules that decide on their own view, and the firm's joint policy made of one rule per department.
"""
from typing import NamedTuple

import numpy as np

from .scenario import Scenario
from .simulator import Observation


class Action(NamedTuple):
    """The firm's decisions for one period: orders (B, N) and exposures (B, K, N)."""

    orders: np.ndarray
    exposure: np.ndarray


class Policy:
    """Base class of joint policies. Subclasses override :meth:`act` (and :meth:`reset` if stateful)."""

    name = "policy"

    def reset(self, scenario: Scenario, batch_size: int, rng: np.random.Generator) -> None:
        """Called before the first period of an evaluation: bind the scenario, clear memory."""
        self.scenario = scenario

    def act(self, observation: Observation) -> Action:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class Replenisher:
    """Base class of the operations department's rules: :meth:`orders` from its view."""

    name = "replenisher"

    def reset(self, scenario: Scenario, batch_size: int, rng: np.random.Generator) -> None:
        self.scenario = scenario

    def orders(self, view: dict) -> np.ndarray:
        raise NotImplementedError


class Recommender:
    """Base class of the marketing department's rules: :meth:`exposure` from its view."""

    name = "recommender"

    def reset(self, scenario: Scenario, batch_size: int, rng: np.random.Generator) -> None:
        self.scenario = scenario

    def exposure(self, view: dict) -> np.ndarray:
        raise NotImplementedError


class JointPolicy(Policy):
    """The firm's policy when each department decides on its own view (decentralized execution)."""

    def __init__(self, replenisher: Replenisher, recommender: Recommender):
        self.replenisher, self.recommender = replenisher, recommender
        self.name = f"{replenisher.name} + {recommender.name}"

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        self.replenisher.reset(scenario, batch_size, rng)
        self.recommender.reset(scenario, batch_size, rng)

    def act(self, observation: Observation) -> Action:
        return Action(self.replenisher.orders(observation.replenisher_view()),
                      self.recommender.exposure(observation.recommender_view()))


def joint(replenisher: Replenisher, recommender: Recommender) -> JointPolicy:
    """The firm's policy made of one rule per department."""
    return JointPolicy(replenisher, recommender)
