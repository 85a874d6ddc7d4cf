"""The Lagrangian index policy (coordlib.exact.lagrangian_index): a runnable policy, so its
simulated profit stays below the exact optimum g* and the Lagrangian bound; its actions are
feasible; it refuses what it cannot read."""
import numpy as np
import pytest

from coordlib.exact import solve
from coordlib.exact.lagrangian_bound import LagrangianBoundError, lagrangian_bound
from coordlib.exact.lagrangian_index import lagrangian_index_policy
from coordlib.model.evaluation import evaluate
from coordlib.model.rollout import rollout
from coordlib.model.scenarios import get


@pytest.mark.parametrize("name", ["tiny", "tiny-capacity"])
def test_index_policy_profit_is_below_the_exact_optimum(name):
    frame = evaluate(name, lagrangian_index_policy(name), replications=8, periods=300,
                     warmup=100, seed=0)
    mean, se = frame["profit"].mean(), frame["profit"].std(ddof=1) / np.sqrt(len(frame))
    # a policy's mean profit exceeds g* only by sampling error (4 standard errors)
    assert mean <= solve(name).gain + 4 * se


def test_index_policy_actions_are_feasible():
    s = get("tiny-personal")
    policy = lagrangian_index_policy(s)
    for _, step in rollout(s, policy, 3, 40, 1, 0):
        x = step.exposure
        assert np.allclose(x.sum(axis=2), 1.0)
        assert set(np.unique(x)) <= {0.0, 1.0}                       # one slot, one product
        assert np.all((step.orders >= 0) & (step.orders <= s.max_order))


def test_index_policy_refuses_shortened_lead_times():
    bound = lagrangian_bound("tiny", max_work=5e4)
    assert np.any(bound.lead_time_used < get("tiny").lead_time)
    with pytest.raises(LagrangianBoundError, match="lead time"):
        lagrangian_index_policy("tiny", bound=bound)
