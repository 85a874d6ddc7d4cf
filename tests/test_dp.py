"""The exact DP (MODEL.md section 5) against independent computations and the simulator.

- the one-period tables against brute-force Poisson sums;
- the vectorized RVI on the reduced state against a brute-force value iteration written
  directly from MODEL.md section 3 on the full Markov state (loops, explicit transitions);
- exact policy evaluation against the one-product Markov chain of ``conftest.py``;
- the simulator under the DP-optimal policy and under fixed policies against the exact gains,
  within Monte-Carlo 95% confidence intervals (seeds fixed in advance, not searched);
- the DP gain against every heuristic's exact gain; convergence; errors; the command line.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from coordlib import evaluate, mean_ci, policies, scenarios
from coordlib.exact import dp, policy_evaluation
from coordlib.exact.dp import DPError


@pytest.fixture(scope="module")
def tiny():
    return scenarios.get("tiny")


@pytest.fixture(scope="module")
def tiny_solution(tiny):
    return dp.solve(tiny)


# ---- one-period tables --------------------------------------------------------------------------
@pytest.mark.parametrize("mu", [0.0, 0.7, 3.6, 11.0])
def test_end_stock_probabilities_match_brute_force_poisson_sums(mu):
    """P(A - min(A, D) = e) and E[profit] summed over D = 0..200 (tail < 1e-60 for mu <= 11)."""
    M, p, h, b = 12, 10.0, 0.5, 2.0
    d = np.arange(201)
    pmf = stats.poisson.pmf(d, mu)
    table = dp.end_stock_probabilities([mu], M)[0]
    profit = dp.expected_period_profit([mu], M, p, h, b)[0]
    for A in range(M + 1):
        sales = np.minimum(A, d)
        brute = np.bincount(A - sales, weights=pmf, minlength=M + 1)
        assert np.allclose(table[A], brute, atol=1e-14)
        expected = (pmf * (p * sales - h * (A - sales) - b * (d - sales))).sum()
        assert profit[A] == pytest.approx(expected, abs=1e-10)


# ---- brute force, written from MODEL.md section 3 on the full state ------------------------------
def brute_force_gain(s, grid_points: int, iterations: int = 3000, tol: float = 1e-9) -> float:
    """Average-reward value iteration on the full state (phase, I_i, o_i0..o_i,L-1), with
    explicit loops over states, actions and joint demand outcomes (demand truncated at 30
    units, the tail lumped at 30: sales saturate at A <= M long before, and the mean demand
    here is below 2, so P(D >= 30) < 1e-25)."""
    N, L, M, Q, R = 2, s.lead_time, s.capacity, s.max_order, s.review_period
    cap = 30
    pmf_cache = {}
    per_product = [list(itertools.product(range(M[i] + 1), *[range(Q[i] + 1)] * int(L[i])))
                   for i in range(N)]
    states = [(ph, a, b) for ph in range(R) for a in per_product[0] for b in per_product[1]]
    index = {st: n for n, st in enumerate(states)}
    shares = np.linspace(0, 1, grid_points)
    exposures = [np.array([[x1, 1 - x1] for x1 in combo])
                 for combo in itertools.product(shares, repeat=s.n_segments)]
    orders = list(itertools.product(range(Q[0] + 1), range(Q[1] + 1)))
    n_actions = len(orders) * len(exposures)
    P = np.zeros((n_actions, len(states), len(states)))
    r = np.full((n_actions, len(states)), -np.inf)
    for (ph, st1, st2), row in index.items():
        for a, (q, x) in enumerate(itertools.product(orders, exposures)):
            if ph != 0 and q != (0, 0):
                continue                          # orders only when t mod R = 0
            mu = s.demand_rate(x)
            outcome, reward = [], 0.0
            for i, st in enumerate((st1, st2)):
                I, pipe = st[0], st[1:]
                if L[i] == 0:
                    A, nxt_pipe = min(I + q[i], M[i]), ()
                else:
                    A, nxt_pipe = min(I + pipe[0], M[i]), pipe[1:] + (q[i],)
                if mu[i] not in pmf_cache:
                    pmf = stats.poisson.pmf(np.arange(cap), mu[i])
                    pmf_cache[mu[i]] = np.append(pmf, 1 - pmf.sum()).tolist()
                pmf = pmf_cache[mu[i]]
                p, h, b = (float(v[i]) for v in (s.price, s.holding_cost, s.lost_sale_penalty))
                dist = {}
                for D, pr in enumerate(pmf):
                    sold = min(A, D)
                    nxt = (A - sold,) + nxt_pipe
                    dist[nxt] = dist.get(nxt, 0.0) + pr
                    reward += pr * (p * sold - h * (A - sold) - b * (D - sold))
                reward -= s.unit_cost[i] * q[i]
                outcome.append(dist)
            r[a, row] = reward
            for (n1, p1), (n2, p2) in itertools.product(outcome[0].items(), outcome[1].items()):
                P[a, row, index[((ph + 1) % R, n1, n2)]] += p1 * p2
    h = np.zeros(len(states))
    for _ in range(iterations):
        u = (r + P @ h).max(axis=0)
        d = u - h
        if d.max() - d.min() < tol:
            return float((d.max() + d.min()) / 2)
        h = 0.5 * h + 0.5 * u               # aperiodicity transform, tau = 0.5
        h -= h[0]
    raise AssertionError("brute-force value iteration did not converge")


@pytest.mark.parametrize("lead_time, capacity, review_period, grid", [
    (1, 3, 1, 3), (0, 4, 1, 3), (2, 2, 1, 2), (1, 2, 2, 3)])
def test_rvi_matches_brute_force_value_iteration_on_full_state(tiny, lead_time, capacity,
                                                               review_period, grid):
    """Reduced state + separable Bellman step == brute force on the full Markov state."""
    s = tiny.replace(lead_time=[lead_time] * 2, capacity=[capacity] * 2,
                     max_order=[capacity] * 2, initial_on_hand=[capacity] * 2,
                     arrival_rate=[3.0], review_period=review_period)
    sol = dp.solve(s, exposure_grid=grid, tol=1e-9)
    assert sol.gain == pytest.approx(brute_force_gain(s, grid), abs=2e-8)


# ---- solving tiny and its variants ----------------------------------------------------------------
def test_tiny_solves_in_seconds_and_reports_its_size(tiny_solution):
    sol = tiny_solution
    assert sol.converged and sol.span < 1e-7
    assert sol.gain_bounds[0] <= sol.gain <= sol.gain_bounds[1]
    assert sol.n_states == 21 ** 4                 # (I_i, o_i0) per product
    assert sol.n_reduced_states == 21 ** 2         # A_i per product
    assert sol.n_actions == 21 * 21 * 11
    assert sol.seconds < 30                        # about 1 s on a laptop core
    assert sol.orders.shape == (1, 21, 21, 2) and sol.exposure.shape == (1, 21, 21, 1, 2)


def test_rvi_converged_tighter_tolerance_gives_the_same_gain(tiny):
    loose = dp.solve(tiny, max_inventory=10, tol=1e-5)
    tight = dp.solve(tiny, max_inventory=10, tol=1e-10)
    assert tight.span < 1e-10
    assert tight.gain_bounds[0] <= tight.gain <= tight.gain_bounds[1]
    assert loose.gain == pytest.approx(tight.gain, abs=1e-5 / 2 + 1e-10)


def test_same_inputs_give_the_same_tables(tiny):
    a = dp.solve(tiny, max_inventory=8)
    b = dp.solve(tiny, max_inventory=8)
    assert a.gain == b.gain
    assert np.array_equal(a.orders, b.orders) and np.array_equal(a.exposure_index, b.exposure_index)


def test_dp_tables_gain_equals_exact_chain_gain(tiny_solution, tiny):
    """The RVI gain against the stationary distribution of the chain the tables induce."""
    ev = policy_evaluation.evaluate_policy(tiny, tiny_solution)
    assert ev.gain == pytest.approx(tiny_solution.gain, abs=1e-7)
    assert ev.stationary.sum() == pytest.approx(1.0)


def test_dp_policy_on_full_state_equals_reduced_state_evaluation(tiny):
    """The DP policy object, asked state by state on the full Markov state (I, o_0) through
    observations, gives the same exact gain as its tables on the reduced state."""
    for lead in (1, 2):
        s = tiny.replace(lead_time=[lead] * 2)
        sol = dp.solve(s, max_inventory=6)
        full = policy_evaluation.evaluate_policy(sol.scenario, _AsPlain(sol.policy))
        assert full.method.startswith("policy")
        assert full.gain == pytest.approx(sol.gain, abs=1e-7)


class _AsPlain(policies.Policy):
    """Hide the DP policy's type so evaluate_policy takes the generic full-state route."""

    name = "dp-as-plain"

    def __init__(self, inner):
        self.inner = inner

    def reset(self, scenario, batch_size, rng):
        self.inner.reset(scenario, batch_size, rng)

    def act(self, observation):
        return self.inner.act(observation)


def test_max_inventory_reduces_capacity_and_says_so(tiny):
    sol = dp.solve(tiny, max_inventory=8)
    assert sol.scenario.capacity.tolist() == [8, 8] and sol.scenario.max_order.tolist() == [8, 8]
    assert "max_inventory=8" in sol.note and "reduced" in sol.note
    assert dp.solve(tiny, max_inventory=50).note == ""


# ---- exact evaluation against independent references -----------------------------------------------
@pytest.mark.parametrize("lead_time, levels, share", [(0, (5, 3), 1.0), (1, (9, 6), 0.7),
                                                      (2, (8, 6), 0.4)])
def test_evaluate_policy_matches_one_product_markov_chain(tiny, exact_base_stock, lead_time,
                                                          levels, share):
    """Fixed exposure: the two products are independent one-product chains; the reference is
    the chain of conftest.py, written from MODEL.md alone. Capacity and Qmax do not bind."""
    s = tiny.replace(lead_time=[lead_time] * 2, capacity=[15, 15], max_order=[15, 15],
                     initial_on_hand=[0, 0])
    x = np.array([[share, 1 - share]])
    mu = s.demand_rate(x)
    reference = [exact_base_stock(levels[i], lead_time, mu[i], 10.0, 5.0, 0.5, 2.0) for i in range(2)]
    joint = policy_evaluation.evaluate_policy(s, policies.joint(policies.base_stock(levels),
                                                 policies.fixed_exposure(x)))
    separable = policy_evaluation.base_stock_gain(s, levels, x)
    for ev in (joint, separable):
        assert ev.gain == pytest.approx(sum(r["profit"] for r in reference), abs=1e-9)
        for part in ("revenue", "purchase_cost", "holding_cost", "penalty_cost"):
            assert getattr(ev, part) == pytest.approx(sum(r[part] for r in reference), abs=1e-9)


def test_best_base_stock_is_the_argmax_of_the_exact_gains(tiny):
    s = tiny.replace(capacity=[12, 12], max_order=[12, 12])
    levels, gain, table = policy_evaluation.best_base_stock(s, [[1.0, 0.0]])
    for i in range(2):
        g = table[table["product"] == i + 1].set_index("level")["gain"]
        assert levels[i] == g.idxmax()
    assert gain == pytest.approx(policy_evaluation.base_stock_gain(s, levels, [[1.0, 0.0]]).gain, abs=1e-12)


# ---- the simulator against the exact gains ---------------------------------------------------------
def _assert_in_ci(frame, exact):
    mean, lo, hi = mean_ci(frame["profit"])
    assert lo <= exact <= hi, f"exact gain {exact:.4f} outside the 95% CI [{lo:.4f}, {hi:.4f}]"
    assert hi - lo < 0.5                           # the check has power


@pytest.mark.parametrize("variant", ["tiny", "tiny L0", "tiny R2 M10", "tiny-personal M10"])
def test_simulator_under_dp_policy_matches_exact_gain(variant):
    name, *mods = variant.split()
    s = scenarios.get(name)
    if "L0" in mods:
        s = s.replace(lead_time=[0, 0])
    if "R2" in mods:
        s = s.replace(review_period=2)
    sol = dp.solve(s, max_inventory=10 if "M10" in mods else None)
    frame = evaluate(sol.scenario, sol.policy, replications=40, periods=500, warmup=100, seed=0)
    _assert_in_ci(frame, sol.gain)


@pytest.mark.parametrize("lead_time, levels", [(1, (10, 5)), (2, (13, 7))])
def test_simulator_under_fixed_policies_matches_exact_gain(tiny, lead_time, levels):
    s = tiny.replace(lead_time=[lead_time] * 2, capacity=[14, 14], max_order=[14, 14])
    x = [[1.0, 0.0]]
    gain = policy_evaluation.base_stock_gain(s, levels, x).gain
    policy = policies.joint(policies.base_stock(levels), policies.fixed_exposure(x))
    frame = evaluate(s, policy, replications=40, periods=500, warmup=100, seed=0)
    _assert_in_ci(frame, gain)
    # the coordinated heuristic (state-dependent exposure) through the full-state chain
    heuristic = policies.joint(policies.base_stock(levels), policies.inventory_aware())
    exact = policy_evaluation.evaluate_policy(s, heuristic).gain
    frame = evaluate(s, heuristic, replications=40, periods=500, warmup=100, seed=0)
    _assert_in_ci(frame, exact)


# ---- the DP is the ceiling ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny", "tiny-margin"])
def test_dp_gain_is_at_least_every_heuristic_gain(name):
    s = scenarios.get(name)
    sol = dp.solve(s)
    margin_greedy = np.eye(2)[policies.expected_value_per_customer(s, s.price - s.unit_cost)
                              .argmax(axis=1)]
    gains = {}
    for label, x in (("gmv-greedy", [[1.0, 0.0]]), ("uniform", [[0.5, 0.5]]),
                     ("margin-greedy", margin_greedy)):
        levels, gains[label], _ = policy_evaluation.best_base_stock(s, x)
    levels, _, _ = policy_evaluation.best_base_stock(s, [[0.5, 0.5]])
    gains["inventory-aware"] = policy_evaluation.evaluate_policy(
        s, policies.joint(policies.base_stock(levels), policies.inventory_aware())).gain
    for label, g in gains.items():
        assert sol.gain >= g - 1e-7, f"{label}: {g} > g* = {sol.gain}"
    assert sol.gain > max(gains.values())          # coordination is worth something here


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["tiny-personal", "tiny-margin L2 M12"])
def test_full_size_instances_match_the_simulator(variant):
    """Paper-scale: tiny-personal at full capacity (K = 2, 121 exposures) and lead time 2 with
    capacity and max order 12 (about 30 s to solve), against 100 x 1000 simulated periods."""
    name, *mods = variant.split()
    s = scenarios.get(name)
    if "L2" in mods:
        s = s.replace(lead_time=[2, 2])
    sol = dp.solve(s, max_inventory=12 if "M12" in mods else None)
    assert sol.converged
    assert policy_evaluation.evaluate_policy(sol.scenario, sol).gain == pytest.approx(sol.gain, abs=1e-7)
    frame = evaluate(sol.scenario, sol.policy, replications=100, periods=1000, warmup=100, seed=0)
    _assert_in_ci(frame, sol.gain)


# ---- errors and the command line ------------------------------------------------------------------
def test_unsupported_scenarios_raise_clear_errors(tiny):
    with pytest.raises(DPError, match="N = 3"):
        dp.solve("weekly-review")
    with pytest.raises(DPError, match="backlog"):
        dp.solve(tiny.replace(backlog=True))
    with pytest.raises(DPError, match="seasonal"):
        dp.solve(tiny.replace(season_amplitude=[0.5], season_period=[12]))
    with pytest.raises(DPError, match="max_inventory"):
        dp.solve(tiny, max_inventory=0)
    with pytest.raises(DPError, match="exposure_grid"):
        dp.solve(tiny, exposure_grid=1)


def test_too_large_scenario_names_its_state_and_action_counts(tiny):
    with pytest.raises(DPError, match=r"85766121 full states \(194481 reduced\).*4851 actions"):
        dp.solve(tiny.replace(lead_time=[2, 2]))


def test_dp_policy_refuses_another_scenario(tiny):
    sol = dp.solve(tiny, max_inventory=8)
    with pytest.raises(DPError, match="parameters differ"):
        evaluate(tiny, sol.policy, replications=2, periods=5, warmup=1)


def test_evaluate_policy_refuses_a_chain_that_is_too_large(tiny):
    policy = policies.joint(policies.base_stock([15, 15]), policies.inventory_aware())
    with pytest.raises(DPError, match="more than 100"):
        policy_evaluation.evaluate_policy(tiny, policy, max_states=100)


def test_cli_prints_gain_states_actions_time(capsys):
    from coordlib.cli import main
    assert main(["dp", "--scenario", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "gain g*" in out and "194481 full Markov states" in out and "4851" in out
    assert "time" in out
    assert main(["dp", "--scenario", "weekly-review"]) == 2
    assert "N = 3" in capsys.readouterr().err
