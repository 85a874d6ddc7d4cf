"""Trained agents as coordlib policies (decentralized execution): :class:`LearnedPolicy`, the
firm, and :class:`LearnedReplenisher` and :class:`LearnedRecommender`, one department alone
beside any other department's rule. Each reads only its own view of the observation
(MODEL.md section 4), and is evaluated by :func:`coordlib.evaluate` exactly like the heuristics.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from ..model.policy import Action, Policy, Recommender, Replenisher
from ..model.simulator import Observation
from .agents import AgentSet
from .distributions import exposure_array, sample_actions, sample_exposures, sample_levels


class LearnedPolicy(Policy):
    """Trained actors as a :class:`coordlib.model.policy.Policy` (decentralized execution).

    Each actor reads only its own view of the batched observation. ``reset`` clears the
    recurrent memory and binds the scenario (the networks do not depend on N or K, so a
    policy trained on one scenario runs on any other, though it is only meant for its own).

    Parameters
    ----------
    agents : AgentSet
        the trained networks (the critics are not used).
    deterministic : bool
        True (default): the most likely order-up-to level and the exposure softmax(m) of
        the mean logits; False: actions sampled as in training (from a generator seeded by
        the ``rng`` that ``reset`` receives).
    device : str
        where the networks run.
    """

    def __init__(self, agents: AgentSet, deterministic: bool = True, device="cpu",
                 name: str = "learned"):
        self.agents = agents.to(device).eval()
        self.deterministic, self.device, self.name = deterministic, torch.device(device), name

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        self.encoding = self.agents.encoding(scenario, self.device)
        self.memory = self.agents.initial_memory(batch_size, scenario.n_products, self.device,
                                                 critics=False)
        self.generator = torch.Generator(self.device)
        self.generator.manual_seed(int(rng.integers(2 ** 62)))

    @torch.no_grad()
    def act(self, observation: Observation) -> Action:
        features = self.agents.normalize(
            self.encoding.features(observation, critic=False, views=self.agents.views))
        features, self.memory = self.agents.trace(features, self.memory)
        out, _, self.memory = self.agents(features, self.memory, critics=False)
        a = sample_actions(out, self.encoding, self.generator, self.deterministic,
                           self.agents.levels)
        orders = self.encoding.orders(a["level_index"][0], observation.replenisher_view())
        return Action(orders, exposure_array(a["exposure"][0]))

    def department(self, role: str):
        """One department of the trained policy acting alone (``"replenisher"``: a
        :class:`LearnedReplenisher`; ``"recommender"``: a :class:`LearnedRecommender`), with
        its own copy of the networks, to pair with another department's rule
        (:func:`coordlib.model.policy.joint`)."""
        kinds = {"replenisher": LearnedReplenisher, "recommender": LearnedRecommender}
        if role not in kinds:
            raise ValueError(f"role must be one of {', '.join(kinds)}, got {role!r}")
        return kinds[role](copy.deepcopy(self.agents), self.deterministic, self.device)


class _Department:
    """One department's trained actor acting alone on its own view (:meth:`LearnedPolicy.department`)."""

    role = ""

    def __init__(self, agents: AgentSet, deterministic: bool = True, device="cpu"):
        if agents.actor_of[self.role] != self.role:
            raise ValueError(f"the {self.role} of a joint actor cannot act alone: it reads both "
                             "departments' views")
        self.agents = agents.to(device).eval()
        self.actor = self.agents.actors[self.role]
        self.deterministic, self.device = deterministic, torch.device(device)
        self.name = f"learned {self.role}"

    def reset(self, scenario, batch_size, rng):
        self.scenario = scenario
        self.encoding = self.agents.encoding(scenario, self.device)
        memory = self.agents.initial_memory(batch_size, scenario.n_products, self.device,
                                            critics=False)
        self.memory = {k: v for k, v in memory.items()
                       if k in (f"actor/{self.role}", f"trace/{self.actor.view}")}
        self.generator = torch.Generator(self.device)
        self.generator.manual_seed(int(rng.integers(2 ** 62)))

    def _out(self, **views) -> dict:
        features = self.agents.normalize(self.encoding.features_of(**views,
                                                                   views=self.agents.views))
        features, self.memory = self.agents.trace(features, self.memory)
        key = f"actor/{self.role}"
        out, state = self.actor(features, self.memory.get(key))
        if state is not None:
            self.memory[key] = state
        return out


class LearnedReplenisher(_Department, Replenisher):
    """The trained replenisher alone, as a :class:`coordlib.model.policy.Replenisher`: its
    orders from the operations view only, beside any recommender."""

    role = "replenisher"

    @torch.no_grad()
    def orders(self, view: dict) -> np.ndarray:
        out = self._out(replenisher_view=view)
        a = sample_levels(out, self.encoding, self.generator, self.deterministic,
                          self.agents.levels)
        return self.encoding.orders(a["level_index"][0], view)


class LearnedRecommender(_Department, Recommender):
    """The trained recommender alone, as a :class:`coordlib.model.policy.Recommender`: its
    exposures from the marketing view only, beside any replenisher."""

    role = "recommender"

    @torch.no_grad()
    def exposure(self, view: dict) -> np.ndarray:
        out = self._out(recommender_view=view)
        return exposure_array(sample_exposures(out, self.generator,
                                               self.deterministic)["exposure"][0])
