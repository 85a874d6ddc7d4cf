"""Shared test set-up: a reproducible hypothesis profile and an exact base-stock reference.

The exact reference (:func:`exact_lost_sales_base_stock`) is written from MODEL.md section 3
alone, without calling the simulator, so that the simulator, the base-stock policy and the
evaluation can be held against it (the outside check of issue 2).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from scipy import stats

# Derandomized so the suite gives the same examples on every run (same seed, same numbers);
# modest example counts keep the suite fast on a small machine.
settings.register_profile("coordlib", deadline=None, max_examples=40, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("coordlib")


def exact_lost_sales_base_stock(level: int, lead_time: int, mean_demand: float, price: float,
                                unit_cost: float, holding_cost: float,
                                lost_sale_penalty: float) -> dict:
    """Long-run average profit and its parts of one product under base-stock, lost sales.

    The Markov chain of MODEL.md section 3 with one product and Poisson(mu) demand, solved
    exactly: the state at the start of a period is (I, o_0, ..., o_{L-1}), on-hand before
    arrivals and the outstanding orders by arrival period (o_0 arrives now). The base-stock
    order is q = S - (I + sum o) (never negative once the chain starts at IP = S); capacity and
    Qmax are assumed not to bind. For L = 0 the order arrives at once and the stock for sale is
    always S. Returns the gain ``profit`` and ``revenue``, ``purchase_cost``, ``holding_cost``,
    ``penalty_cost`` under the stationary distribution, each per period.
    """
    S, L, mu = int(level), int(lead_time), float(mean_demand)
    pmf = stats.poisson.pmf(np.arange(S + 1), mu)
    at_least = stats.poisson.sf(np.arange(-1, S), mu)       # at_least[a] = P(D >= a)

    def successors(state):
        on_hand, pipe = state[0], state[1:]
        order = S - on_hand - sum(pipe)
        available = S if L == 0 else on_hand + pipe[0]
        rest = (pipe[1:] + (order,)) if L > 0 else ()
        # demand d < available leaves available - d; any d >= available leaves 0
        out = [((available - d,) + rest, pmf[d]) for d in range(available)]
        out.append(((0,) + rest, 1.0 - pmf[:available].sum()))
        return order, available, out

    start = (S,) + (0,) * L
    index, frontier = {start: 0}, [start]
    while frontier:                      # the states reachable from IP = S
        state = frontier.pop()
        for nxt, _ in successors(state)[2]:
            if nxt not in index:
                index[nxt] = len(index)
                frontier.append(nxt)
    n = len(index)
    P = np.zeros((n, n))
    parts = np.zeros((n, 4))             # revenue, purchase, holding, penalty per state
    for state, row in index.items():
        order, available, out = successors(state)
        for nxt, prob in out:
            P[row, index[nxt]] += prob
        # E min(A, D) = sum_{d < A} d P(d) + A P(D >= A)
        d = np.arange(available)
        expected_sales = (d * pmf[:available]).sum() + available * at_least[available]
        leftover = available - expected_sales          # E (A - D)^+
        lost = mu - expected_sales                     # E (D - A)^+
        parts[row] = (price * expected_sales, unit_cost * order, holding_cost * leftover,
                      lost_sale_penalty * lost)
    # stationary distribution: pi (P - I) = 0, sum pi = 1 (the chain is unichain: D = 0 leads
    # every state to (S, 0, ..., 0))
    A = (P - np.eye(n)).T
    A[-1] = 1.0                          # one balance equation is redundant: normalize instead
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    pi = np.linalg.solve(A, rhs)
    assert np.allclose(pi @ P, pi, atol=1e-10) and abs(pi.sum() - 1) < 1e-10
    revenue, purchase, holding, penalty = pi @ parts
    return {"profit": revenue - purchase - holding - penalty, "revenue": revenue,
            "purchase_cost": purchase, "holding_cost": holding, "penalty_cost": penalty,
            "states": n}


@pytest.fixture(scope="session")
def exact_base_stock():
    """The exact lost-sales base-stock gain of one product (see :func:`exact_lost_sales_base_stock`)."""
    return exact_lost_sales_base_stock
