"""Hindsight differentiable policy optimization (HDPO) for the replenisher: the field's strongest
learner on lost-sales inventory benchmarks, as a peer of MTMA.

After Alvo, Russo, Kanoria and Lee, "Neural inventory control in networks via hindsight
differentiable policy optimization" (arXiv 2306.11246), written anew for this model:

- the policy is a small network applied to each product alike, from its on-hand stock and its
  pipeline (in units of its own mean demand per period) to a real order in [0, Qmax_i];
- the loss is minus the mean profit per period of a batch of simulated trajectories, and its
  gradient is taken through the whole trajectory (the relaxed
  :class:`coordlib.model.torch_simulator.TorchSimulator`: sales are the minimum of stock and
  demand, the pipeline shifts; pathwise gradients, no critic, no exploration noise);
- the trajectories replay a fixed set of demand traces drawn once (common random numbers across
  iterations), and a separate development set of traces, with orders rounded as at evaluation,
  picks the iterate that is kept (early stopping);
- the trained policy rounds its orders and is evaluated by :func:`coordlib.evaluate` exactly as
  MTMA and the heuristics are.

HDPO needs the demand to be a fixed sample given the decisions, which holds for the replenisher
when the exposures are fixed: here the recommender is a fixed exposure (uniform by default),
and HDPO learns the orders for the demand it creates. (The recommender changes the demand's
rate itself, which a sampled count does not differentiate.)
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ..model.policy import Replenisher, joint
from ..model.scenario import Scenario
from ..model.torch_simulator import TorchSimulator
from ..policies.recommendation import fixed_exposure


@dataclass(frozen=True)
class HDPOConfig:
    """HDPO's settings (defaults: those of the reference implementation's lost-sales runs,
    scaled to a CPU)."""

    iterations: int = 600
    """gradient steps"""
    batch: int = 256
    """trajectories per step (drawn from the training traces)"""
    traces: int = 4096
    """training demand traces, drawn once"""
    dev_traces: int = 1024
    """development traces, drawn once, for early stopping"""
    periods: int = 60
    """periods per trajectory"""
    warmup: int = 20
    """first periods of each trajectory left out of the loss (the start state is arbitrary)"""
    hidden: int = 64
    """width of the network's two hidden layers"""
    lr: float = 3e-3
    """Adam's step size"""
    dev_every: int = 25
    """steps between two development evaluations"""
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        for name in ("iterations", "batch", "traces", "dev_traces", "periods", "hidden",
                     "dev_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"HDPOConfig.{name}: must be a whole number >= 1, got {value!r}")
        if not 0 <= self.warmup < self.periods:
            raise ValueError(f"HDPOConfig.warmup: must lie in 0..periods - 1, got {self.warmup}")
        if self.batch > self.traces:
            raise ValueError(f"HDPOConfig.batch ({self.batch}) exceeds traces ({self.traces})")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"HDPOConfig.lr: must be a positive number, got {self.lr!r}")


class OrderNetwork(nn.Module):
    """Per product, the same weights: (on-hand, pipeline) in units of the product's mean demand
    per period -> an order in [0, Qmax_i], Qmax_i sigmoid(...)."""

    def __init__(self, lead_slots: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1 + lead_slots, hidden), nn.ELU(),
                                 nn.Linear(hidden, hidden), nn.ELU(), nn.Linear(hidden, 1))

    def forward(self, on_hand, pipeline, scale, max_order):
        x = torch.cat([on_hand[..., None], pipeline], -1) / scale[:, None]
        return max_order * torch.sigmoid(self.net(x).squeeze(-1))


@dataclass
class HDPOResult:
    """What :func:`train_hdpo` returns."""

    policy: object
    """the kept iterate as a coordlib policy (rounded orders, the fixed exposure)"""
    curve: list
    """one row per development evaluation: iteration, training loss, development profit"""
    best_iteration: int
    train_seconds: float
    config: dict


def train_hdpo(scenario: Scenario, config: HDPOConfig = HDPOConfig(), exposure=None) -> HDPOResult:
    """Train HDPO's order network on ``scenario`` under the fixed ``exposure`` (K, N; None:
    uniform) and keep the iterate with the best development profit."""
    torch.manual_seed(config.seed)
    device = torch.device(config.device)
    x = scenario.uniform_exposure() if exposure is None else scenario.check_exposure(exposure)
    sim = TorchSimulator(scenario, batch_size=config.traces, device=device, seed=config.seed)
    train_demand = _traces(sim, x, config.periods)
    dev_sim = TorchSimulator(scenario, batch_size=config.dev_traces, device=device,
                             seed=config.seed + 1)
    dev_demand = _traces(dev_sim, x, config.periods)
    net = OrderNetwork(scenario.max_lead_time, config.hidden).to(device).double()
    scale = torch.as_tensor(np.maximum(scenario.demand_rate(x), 1e-6), dtype=torch.float64,
                            device=device)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    generator = torch.Generator(device).manual_seed(config.seed)
    curve, best, best_state, best_iteration = [], -math.inf, None, 0
    start = time.perf_counter()
    for iteration in range(1, config.iterations + 1):
        pick = torch.randperm(config.traces, generator=generator, device=device)[:config.batch]
        profit = _rollout(scenario, net, scale, x, train_demand[pick], config, relaxed=True)
        loss = -profit
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if iteration % config.dev_every == 0 or iteration == config.iterations:
            with torch.no_grad():
                dev = float(_rollout(scenario, net, scale, x, dev_demand, config, relaxed=False))
            curve.append({"iteration": iteration, "train_profit": float(profit.detach()),
                          "dev_profit": dev})
            if dev > best:
                best, best_state, best_iteration = dev, copy.deepcopy(net.state_dict()), iteration
    net.load_state_dict(best_state)
    seconds = time.perf_counter() - start
    return HDPOResult(hdpo_policy(net.cpu(), x), curve, best_iteration, seconds, asdict(config))


def _traces(sim: TorchSimulator, exposure, periods: int) -> torch.Tensor:
    """(traces, periods, K, N) demand draws of ``sim``'s stream under ``exposure``."""
    x = torch.as_tensor(exposure, dtype=sim.dtype, device=sim.device).expand(
        sim.batch_size, *np.shape(exposure))
    draws = []
    for t in range(periods):
        sim.t = t
        draws.append(torch.poisson(sim.demand_mean(x), generator=sim.generator))
    return torch.stack(draws, 1)


def _rollout(scenario, net, scale, exposure, demand, config: HDPOConfig, relaxed: bool):
    """Mean profit per period after the warm-up of the trajectories on ``demand``
    (B, periods, K, N), the network ordering (real orders if ``relaxed``, else rounded)."""
    sim = TorchSimulator(scenario, batch_size=demand.shape[0], device=demand.device,
                         relaxed=relaxed)
    max_order = sim.max_order
    total = 0.0
    for t in range(config.periods):
        orders = net(sim.on_hand, sim.pipeline, scale, max_order)
        if not relaxed:
            orders = torch.round(orders)
        step = sim.step(orders, exposure, demand=demand[:, t])
        if t >= config.warmup:
            total = total + step.profit.mean()
    return total / (config.periods - config.warmup)


class HDPOReplenisher(Replenisher):
    """The trained order network as a replenisher: rounded orders from the operations view."""

    def __init__(self, net: OrderNetwork, exposure):
        self.net, self.exposure = net.eval(), np.asarray(exposure, dtype=float)
        self.name = "HDPO"

    def reset(self, scenario, batch_size, rng):
        self.scenario = scenario
        self.scale = torch.as_tensor(np.maximum(scenario.demand_rate(self.exposure), 1e-6),
                                     dtype=torch.float64)
        self.max_order = torch.tensor(np.array(scenario.max_order, dtype=float))

    @torch.no_grad()
    def orders(self, view: dict) -> np.ndarray:
        on_hand = torch.as_tensor(np.asarray(view["on_hand"], dtype=float))
        pipeline = torch.as_tensor(np.asarray(view["pipeline"], dtype=float))
        orders = self.net(on_hand, pipeline, self.scale, self.max_order)
        return torch.round(orders).numpy().astype(np.int64)


def hdpo_policy(net: OrderNetwork, exposure):
    """The trained network with the fixed exposure it was trained under, as a coordlib policy."""
    return joint(HDPOReplenisher(net, exposure), fixed_exposure(exposure))
