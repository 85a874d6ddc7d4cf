"""Monte Carlo checks of the theory on the simulator: the one-period and stationary newsvendor with
exposure, and the difference between two static exposure splits.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..model.evaluation import mean_ci
from ..model.policy import joint
from ..model.rollout import rollout
from ..model.scenario import Scenario, ScenarioError
from ..model.simulator import Simulator
from ..policies.recommendation import fixed_exposure
from ..policies.replenishment import base_stock
from .newsvendor import _check_system
from .static_exposure import static_profit_curve


# ---- the simulator connection --------------------------------------------------------------------
def newsvendor_scenario(scenario: Scenario, stock_level) -> Scenario:
    """The scenario with lead time 0 and capacity, max_order raised to at least the stock, so
    that an order of S arrives at once and nothing caps it (the B1 setting)."""
    S = np.broadcast_to(np.asarray(stock_level, dtype=np.int64), (scenario.n_products,))
    if np.any(S < 0):
        raise ValueError(f"stock_level: must be >= 0, got {stock_level}")
    if scenario.seasonal or scenario.backlog:
        raise ScenarioError(f"{scenario.name}: the newsvendor check needs constant arrival rates "
                            "and lost sales")
    return scenario.replace(lead_time=[0] * scenario.n_products,
                            capacity=np.maximum(scenario.capacity, S).tolist(),
                            max_order=np.maximum(scenario.max_order, S).tolist(),
                            initial_on_hand=np.minimum(S, np.maximum(scenario.capacity, S)).tolist())


def newsvendor_profit_monte_carlo(scenario: Scenario, exposure, stock_level, *,
                                  system: str = "one-period", replications: int = 100_000,
                                  periods: int = 200, seed: int = 0,
                                  confidence: float = 0.95) -> pd.DataFrame:
    """Simulated profit of stocking ``stock_level`` [S_i] under a fixed ``exposure`` [x_k],
    on :class:`coordlib.Simulator` with lead time 0 (:func:`newsvendor_scenario`).

    ``system="one-period"``: every replication starts empty, orders S, and runs one period;
    the profit p s - c S - h I' - b l is the B1 newsvendor profit. ``system="stationary"``:
    order up to S every period for ``periods`` periods (the first is dropped: it buys the
    initial stock); the replication mean is the long-run profit per period. One row per
    product plus a row ``"total"``: ``mean``, ``lo``, ``hi`` (t-interval over independent
    replications), ``se`` (standard error of the mean), ``n``.
    """
    values = simulate_newsvendor(scenario, exposure, stock_level, system=system,
                                 replications=replications, periods=periods, seed=seed)
    rows = []
    for name, col in [(f"product_{i + 1}", values[:, i]) for i in range(values.shape[1])] + [
            ("total", values.sum(axis=1))]:
        mean, lo, hi = mean_ci(col, confidence)
        rows.append({"product": name, "mean": mean, "lo": lo, "hi": hi,
                     "se": float(col.std(ddof=1) / np.sqrt(col.size)), "n": col.size})
    frame = pd.DataFrame(rows)
    frame["system"] = system
    return frame


def simulate_newsvendor(scenario: Scenario, exposure, stock_level, *, system: str = "one-period",
                        replications: int = 100_000, periods: int = 200,
                        seed: int = 0) -> np.ndarray:
    """(replications, N): each independent replication's profit per product (per period in
    the stationary system); the raw draws behind :func:`newsvendor_profit_monte_carlo`."""
    _check_system(system)
    sc = newsvendor_scenario(scenario, stock_level)
    S = np.broadcast_to(np.asarray(stock_level, dtype=np.int64), (sc.n_products,))
    x = sc.check_exposure(np.asarray(exposure, dtype=float).reshape(sc.n_segments, sc.n_products))
    if int(replications) < 2:
        raise ValueError(f"replications: need at least 2, got {replications}")
    if system == "one-period":
        chunk, parts = 200_000, []
        for k, start in enumerate(range(0, int(replications), chunk)):
            B = min(chunk, int(replications) - start)
            stream = seed if k == 0 else [*(int(v) for v in np.atleast_1d(seed)), k]
            sim = Simulator(sc, batch_size=B, seed=stream, validate=False)
            sim.set_state(on_hand=np.zeros(sc.n_products, dtype=np.int64), t=0)
            parts.append(sim.step(np.broadcast_to(S, (B, sc.n_products)), x).product_profit)
        return np.concatenate(parts)
    if int(periods) < 2:
        raise ValueError(f"periods: need at least 2 in the stationary system, got {periods}")
    total = np.zeros((int(replications), sc.n_products))
    policy = joint(base_stock(S), fixed_exposure(x))     # the scenario starts with S on hand
    for _, r in rollout(sc, policy, int(replications), int(periods), seed, warmup=1,
                        validate=False):
        total += r.product_profit
    return total / (int(periods) - 1)


def agreement(mean, se, exact, checks: int = 1, confidence: float = 0.95) -> dict:
    """Does a simulated mean agree with its exact value? ``z`` = (mean - exact) / se; ``in_ci``:
    exact inside the two-sided ``confidence`` interval mean +- z_(1 - alpha/2) se; ``in_family_ci``:
    inside the Bonferroni interval for ``checks`` such comparisons made together (each at
    level 1 - alpha / checks), the rule a table of several checks is judged by. With many
    95% intervals about one in twenty misses by chance, so ``in_ci`` alone is no verdict.
    Arrays broadcast; normal quantiles (the checks use thousands of replications).
    """
    if int(checks) < 1:
        raise ValueError(f"checks: must be a whole number >= 1, got {checks!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: must lie in (0, 1), got {confidence!r}")
    z = (np.asarray(mean, dtype=float) - np.asarray(exact, dtype=float)) / np.asarray(se, dtype=float)
    alpha = 1.0 - confidence
    return {"z": z, "in_ci": np.abs(z) <= stats.norm.ppf(1 - alpha / 2),
            "in_family_ci": np.abs(z) <= stats.norm.ppf(1 - alpha / (2 * int(checks)))}


def compare_exposures_monte_carlo(scenario: Scenario, share_a: float, share_b: float, *,
                                  system: str = "one-period", replications: int = 100_000,
                                  periods: int = 200, seed: int = 0,
                                  confidence: float = 0.95) -> dict:
    """Simulated profit difference between two static splits (share shown product 1), each
    with the exact Poisson-optimal stock for the demand it produces: ``mean``, ``lo``, ``hi``
    (normal interval for a difference of independent means), and the exact value ``exact``.
    """
    draws, exact = [], []
    for n, share in enumerate((share_a, share_b)):
        curve = static_profit_curve(scenario, [share], demand="poisson", system=system)
        S = curve[["stock_1", "stock_2"]].to_numpy()[0].astype(np.int64)
        x = np.array([[share, 1.0 - share]])
        draws.append(simulate_newsvendor(scenario, x, S, system=system, replications=replications,
                                         periods=periods, seed=[seed, n]).sum(axis=1))
        exact.append(float(curve["profit"].iloc[0]))
    diff = draws[0].mean() - draws[1].mean()
    se = np.sqrt(draws[0].var(ddof=1) / draws[0].size + draws[1].var(ddof=1) / draws[1].size)
    half = stats.norm.ppf(0.5 + confidence / 2) * se
    return {"mean": float(diff), "lo": float(diff - half), "hi": float(diff + half),
            "exact": exact[0] - exact[1], "replications": int(replications)}
