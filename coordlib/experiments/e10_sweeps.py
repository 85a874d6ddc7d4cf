"""E10, sweeps: the experiment a grid runs by default, one heuristic firm tuned and evaluated on a
scenario with some fields overridden (``experiment: evaluate_heuristic`` in data/sweeps/*.yaml).
"""
from __future__ import annotations

from ..model.evaluation import evaluate
from ..model.scenarios import get as get_scenario
from ..policies.firms import firm

METRICS = ("profit", "revenue", "purchase_cost", "holding_cost", "penalty_cost", "fill_rate",
           "lost_sales_rate", "mean_on_hand", "mean_demand")


def evaluate_heuristic(scenario="tiny", policy: str = "siloed", seed: int = 0,
                       replications: int = 20, periods: int = 500, warmup: int = 100,
                       tune_replications: int = 64, tune_periods: int = 200,
                       tune_warmup: int = 50, **scenario_overrides) -> dict:
    """Tune and evaluate one heuristic firm on one scenario: the sweep's built-in experiment.

    Parameters
    ----------
    scenario : str or Scenario
        a shipped scenario's name or a YAML path.
    policy : str
        a key of :data:`coordlib.policies.FIRMS` ("siloed", "coordinated", "margin-greedy", ...).
    seed : int
        seed of the evaluation (:func:`coordlib.evaluate`); tuning uses :func:`coordlib.policies.firms.tuning_seed`.
    replications, periods, warmup : int
        evaluation: independent replications, periods each, periods discarded.
    tune_replications, tune_periods, tune_warmup : int
        the same for :func:`coordlib.policies.tuning.tune_base_stock`, which sets the levels [S_i].
    **scenario_overrides
        scenario fields changed with :meth:`coordlib.model.scenario.Scenario.replace`, e.g. ``lift`` [beta_k],
        ``lead_time`` [L_i], ``arrival_rate`` [lambda_k], ``price`` [p_i]; a scalar is
        broadcast to every product or segment.

    Returns
    -------
    dict of numbers: the means over replications of :data:`METRICS` (per period after the
    warm-up, as in :func:`coordlib.evaluate`), and ``base_stock_1`` .. ``base_stock_N``, the
    tuned order-up-to levels S_i.
    """
    base = get_scenario(scenario)
    model = base.replace(**scenario_overrides) if scenario_overrides else base
    policy_obj = firm(model, policy, seed, replications=tune_replications,
                      periods=tune_periods, warmup=tune_warmup)
    frame = evaluate(model, policy_obj, replications=replications, periods=periods,
                     warmup=warmup, seed=seed)
    out = {name: float(frame[name].mean()) for name in METRICS}
    for i, level in enumerate(policy_obj.replenisher.levels, start=1):
        out[f"base_stock_{i}"] = int(level)
    return out
