"""Zipkin's (2008) lost-sales instances as coordlib scenarios, and their optimal policy.

One product, Poisson demand of mean 5, h = 1, lost-sales penalty b, lead time L (MODEL.md
section 3 with N = K = 1: the recommendation is trivial, the one product is shown to every
customer). :func:`zipkin_scenario` is the instance of
:func:`coordlib.exact.single_product.zipkin_instance` as a
:class:`~coordlib.model.scenario.Scenario`, and :class:`SingleProductOptimum` runs the optimal
policy of :func:`coordlib.exact.single_product.solve` on the simulator, so the exact optimum
can be evaluated on the same random stream as any other policy. :data:`LEARNER_SETTINGS` is
what a learner on these instances sets beside its budget.
"""
from __future__ import annotations

import numpy as np

from ..model.policy import Action, Policy
from ..model.scenario import Scenario
from . import single_product

ARRIVALS_PER_DEMAND = 2.0
"""Customers per unit of demand in :func:`zipkin_scenario`: v_0 = v_1 = 1 and no lift, so half
of the customers buy and lambda = 2 mu."""


def zipkin_scenario(lost_sale_penalty, lead_time) -> Scenario:
    """Zipkin's (2008) instance (p = ``lost_sale_penalty`` [b], L = ``lead_time``) as a Scenario.

    N = K = 1; arrival rate lambda = 10 with v_0 = v_1 = 1 and lift 0, so demand is Poisson
    of mean 5 whatever the exposure; price = unit cost = 1, h = 1, and the capacity and
    largest order of :func:`coordlib.exact.single_product.zipkin_instance` (they do not bind).
    """
    a = single_product.zipkin_instance(lost_sale_penalty, lead_time)
    return Scenario.from_dict({
        "name": f"zipkin-L{a['lead_time']}-p{a['lost_sale_penalty']:g}",
        "description": "Zipkin (2008) lost-sales instance: Poisson(5) demand, h = 1, "
                       f"p = {a['lost_sale_penalty']:g}, L = {a['lead_time']}",
        "products": {"price": [a["price"]], "unit_cost": [a["unit_cost"]],
                     "holding_cost": [a["holding_cost"]],
                     "lost_sale_penalty": [a["lost_sale_penalty"]],
                     "lead_time": [a["lead_time"]], "capacity": [a["capacity"]],
                     "max_order": [a["max_order"]]},
        "segments": {"arrival_rate": [ARRIVALS_PER_DEMAND * a["demand_rate"]],
                     "outside_attraction": [1.0], "lift": [0.0], "attraction": [[1.0]]},
        "initial_on_hand": [0]})


class SingleProductOptimum(Policy):
    """The optimal policy of :func:`coordlib.exact.single_product.solve` as a coordlib policy.

    Orders are read from the optimal table at the reduced state (A, o_1, ..., o_{L-1}) of
    each copy; the one product is shown to every customer.
    """

    name = "single-product optimum"

    def __init__(self, solution: single_product.SolveResult):
        self.solution = solution

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        if scenario.n_products != 1 or int(scenario.lead_time[0]) != self.solution.lead_time:
            raise ValueError("SingleProductOptimum: the scenario must have one product with "
                             f"lead time {self.solution.lead_time}")
        self._exposure = np.ones((batch_size, scenario.n_segments, 1))

    def act(self, observation) -> Action:
        sol = self.solution
        on_hand, pipeline = observation.on_hand[:, 0], observation.pipeline[:, 0, :]
        if sol.lead_time == 0:
            orders = sol.order[np.minimum(on_hand, sol.capacity)]
        else:
            available = np.minimum(on_hand + pipeline[:, 0], sol.capacity)
            orders = sol.order[(available, *pipeline[:, 1:sol.lead_time].T)]
        return Action(orders[:, None].astype(np.int64), self._exposure)


def zipkin_optimum(lost_sale_penalty, lead_time) -> tuple[SingleProductOptimum, float]:
    """The optimal policy of Zipkin's instance (p, L) and its exact gain per period
    (minus the optimal cost)."""
    solution = single_product.solve(**single_product.zipkin_instance(lost_sale_penalty,
                                                                      lead_time))
    return SingleProductOptimum(solution), -float(solution.cost)


LEARNER_SETTINGS = {"order_levels": 64}
"""MTMA's settings on Zipkin's instances beside the profile's budget: 64 order-up-to levels, so
that the level grid is whole units up to its top (2.5 periods of demand over L + 1: 62.5 units
at L = 4). With the default 48 its step is 1.06 units at L = 3 and 1.33 at L = 4, and some
capped base-stock policies are not on it."""
