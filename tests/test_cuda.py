"""The learner on a CUDA device (``TrainConfig.device="cuda"``): skipped where there is none.

What must hold on a GPU as on the CPU: training runs with every tensor on the device, a
checkpoint written there loads anywhere (it holds CPU tensors) and its policy acts the same
on either device, resuming gives the same result as an uninterrupted run, and the evaluation
goes through the same ``coordlib.evaluate``.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from coordlib import evaluate
from coordlib.experiments import learners
from coordlib.learning import checkpoints
from coordlib.learning.agents import AgentSet
from coordlib.learning.config import config_for
from coordlib.learning.policy import LearnedPolicy
from coordlib.learning.training import train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

FAST = dict(n_envs=8, rollout_length=8, epochs=2, minibatches=2, hidden=16,
            eval_replications=3, eval_periods=30, eval_warmup=5, checkpoint_every=1)


def test_training_on_cuda_keeps_every_tensor_there_and_evaluates(tmp_path):
    result = train("tiny", config_for("mtma", iterations=3, device="cuda", **FAST),
                   out_dir=tmp_path, progress=False)
    learner = result.learner
    assert all(p.is_cuda for p in learner.agents.parameters())
    assert all(v.is_cuda for v in learner.memory.values())
    assert len(result.curve) == 3 and np.isfinite(result.curve["profit"]).all()
    s = result.summary
    assert s["profit_ci_low"] <= s["profit"] <= s["profit_ci_high"]
    state = checkpoints.load_checkpoint(tmp_path / "checkpoint.pt")
    assert all(not v.is_cuda for v in state["agents"].values())


def test_a_cuda_checkpoint_acts_the_same_on_the_cpu(tmp_path):
    train("tiny-personal", config_for("mtma", iterations=2, device="cuda", **FAST),
          out_dir=tmp_path, progress=False, evaluate_policy=False)
    cpu_policy, name = learners.load_policy(tmp_path)
    state = checkpoints.load_checkpoint(tmp_path / "checkpoint.pt")
    agents = AgentSet.from_spec(state["spec"])
    agents.load_state_dict(state["agents"])
    cuda_policy = LearnedPolicy(agents, deterministic=True, device="cuda")
    kw = dict(replications=4, periods=60, warmup=10, seed=3)
    on_cpu = evaluate(name, cpu_policy, **kw)["profit"].to_numpy()
    on_cuda = evaluate(name, cuda_policy, **kw)["profit"].to_numpy()
    # float32 on two devices: identical orders and near-identical exposures give profits
    # that agree to well below a unit of stock
    assert np.allclose(on_cpu, on_cuda, atol=1e-3), (on_cpu, on_cuda)


def test_resume_on_cuda_gives_the_same_result_as_an_uninterrupted_run(tmp_path):
    config = config_for("mtma", iterations=4, device="cuda", **FAST)
    whole = train("tiny", config, out_dir=tmp_path / "whole", progress=False,
                  evaluate_policy=False)
    train("tiny", config.replace(iterations=2), out_dir=tmp_path / "split", progress=False,
          evaluate_policy=False)
    resumed = train("tiny", config, out_dir=tmp_path / "split", progress=False, resume=True,
                    evaluate_policy=False)
    a, b = whole.learner.agents.state_dict(), resumed.learner.agents.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert np.array_equal(whole.learner.sim.on_hand, resumed.learner.sim.on_hand)


def test_same_seed_same_numbers_on_cuda(tmp_path):
    config = config_for("mtma", iterations=2, device="cuda", **FAST)
    first = train("tiny", config, progress=False, evaluate_policy=False)
    second = train("tiny", config, progress=False, evaluate_policy=False)
    a, b = first.learner.agents.state_dict(), second.learner.agents.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert first.curve["profit"].tolist() == second.curve["profit"].tolist()


def test_the_torch_simulator_on_cuda_gives_the_cpu_numbers_on_the_same_draws():
    from coordlib import Simulator, scenarios
    from coordlib.model.torch_simulator import TorchSimulator

    s = scenarios.get("medium")
    numpy_sim = Simulator(s, batch_size=64, seed=3)
    cuda_sim = TorchSimulator(s, batch_size=64, device="cuda")
    rng = np.random.default_rng(0)
    for _ in range(20):
        orders = rng.integers(0, s.max_order + 1, (64, s.n_products))
        r = numpy_sim.step(orders, s.uniform_exposure())
        t = cuda_sim.step(orders, s.uniform_exposure(), demand=r.demand)
        assert t.profit.is_cuda
        np.testing.assert_allclose(t.profit.cpu().numpy(), r.profit, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(cuda_sim.on_hand.cpu().numpy(), r.observation.on_hand)
