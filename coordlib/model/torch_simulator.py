"""The model's dynamics (MODEL.md section 3) in torch, batched as :class:`coordlib.Simulator` is,
on any torch device, and differentiable in the orders where the dynamics allow it.

:class:`TorchSimulator` holds B copies of one scenario and steps them at once: place the
orders of a review period, receive what is due (capped by capacity), draw the segment-product
demands (Poisson splitting, MODEL.md 3.3), sell, lose or backlog, hold, and account for the
period's profit. Two modes:

- **hard** (the default): orders are whole units in 0..Qmax and every number is the one the
  numpy :class:`coordlib.Simulator` computes. Given the same demand draws (``demand=`` in
  :meth:`TorchSimulator.step`: common random numbers), the two agree exactly, state and profit,
  step by step; the tests check it on every shipped scenario.
- **relaxed**: orders are any real numbers in [0, Qmax] (a policy's continuous output), kept
  as they are; the states become real numbers, and the period's profit is a piecewise-linear
  function of the orders (min and max of the arrivals, the capacity and the demand), so
  ``profit.backward()`` gives the pathwise gradient of a sampled trajectory's profit with
  respect to every order that reached it (the gradient hindsight-differentiable policy
  optimization uses). The demand is a sample, so its rate, and with it the exposures, get no
  gradient here.

Demand is drawn from a ``torch.Generator`` seeded like the numpy simulator's stream, but the two
libraries draw Poisson variates differently: the same seed gives the same law, not the same
numbers. To compare the two on the same draws, pass the numpy draws as ``demand``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .scenario import Scenario, ScenarioError, check_memory
from .simulator import simulator_bytes


@dataclass
class TorchStep:
    """One period of every copy (tensors; (B, N) per product, (B,) per copy)."""

    profit: torch.Tensor
    revenue: torch.Tensor
    purchase_cost: torch.Tensor
    holding_cost: torch.Tensor
    penalty_cost: torch.Tensor
    orders: torch.Tensor
    """the orders placed (zero outside a review period)"""
    arrivals: torch.Tensor
    available: torch.Tensor
    """stock after arrivals, capped by capacity"""
    overflow: torch.Tensor
    demand: torch.Tensor
    """(B, K, N) demand per segment and product"""
    sales: torch.Tensor
    lost_sales: torch.Tensor
    on_hand: torch.Tensor
    """stock at the end of the period"""
    penalty_units: torch.Tensor
    """lost sales, or under backlog the units waiting at the end of the period"""


class TorchSimulator:
    """B copies of a scenario on a torch device (MODEL.md section 3; see the module docstring).

    Parameters
    ----------
    scenario : Scenario
        the model.
    batch_size : int
        copies stepped at once.
    device : str or torch.device
        where the state and the arithmetic live (``"cpu"``, ``"cuda"``, ...).
    relaxed : bool
        False: whole-unit orders, the numpy simulator's numbers; True: real orders, a profit
        differentiable in them.
    seed : int, optional
        seed of the demand stream (a ``torch.Generator`` on ``device``).
    dtype : torch.dtype
        float64 (default: whole units stay exact far beyond any scenario's sizes) or float32.
    """

    def __init__(self, scenario: Scenario, batch_size: int = 1, device="cpu",
                 relaxed: bool = False, seed: Optional[int] = None,
                 dtype: torch.dtype = torch.float64):
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario: expected a coordlib.Scenario, got {type(scenario).__name__}")
        if (isinstance(batch_size, (bool, np.bool_))
                or not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
            raise ValueError(f"batch_size: must be a whole number >= 1, got {batch_size!r}")
        check_memory(f"torch simulator with batch_size = {batch_size}",
                     simulator_bytes(scenario, batch_size))
        self.scenario, self.batch_size, self.relaxed = scenario, int(batch_size), bool(relaxed)
        self.device, self.dtype = torch.device(device), dtype
        s = scenario
        self._N, self._K, self._L = s.n_products, s.n_segments, s.max_lead_time

        def tensor(a):
            return torch.tensor(np.array(a, dtype=float), dtype=dtype, device=self.device)

        self.price, self.unit_cost = tensor(s.price), tensor(s.unit_cost)
        self.holding, self.penalty = tensor(s.holding_cost), tensor(s.lost_sale_penalty)
        self.capacity, self.max_order = tensor(s.capacity), tensor(s.max_order)
        denominator = (s.outside_attraction[:, None] + s.attraction.sum(axis=1)[:, None]
                       + s.lift[:, None] * s.attraction)
        self._inverse_denominator = tensor(1.0 / denominator)              # (K, N)
        self._lift_share = tensor(s.lift[:, None] / denominator)           # (K, N)
        self._attraction = tensor(s.attraction)
        # E[d, i] = 1 where L_i = d: an order of product i joins the pipeline slot L_i
        self._slot = tensor(np.eye(self._L + 1)[s.lead_time].T)            # (L + 1, N)
        self._seed = seed
        self.reset(seed)

    # ---- state ---------------------------------------------------------------------------
    def reset(self, seed: Optional[int] = None) -> None:
        """Back to the scenario's initial state; re-seed the demand stream if ``seed`` is given."""
        if seed is not None:
            self._seed = seed
        self.generator = torch.Generator(self.device)
        if self._seed is not None:
            self.generator.manual_seed(int(self._seed))
        B, N, L, s = self.batch_size, self._N, self._L, self.scenario
        self.t = 0
        self.on_hand = self._full(s.initial_on_hand)
        # due[d] (B, N) arrives at the start of period t + d; slot L is always empty here
        pipeline = np.zeros((N, L + 1))
        pipeline[:, :L] = s.initial_pipeline
        self.due = self._full(pipeline.T[:, None, :])                     # (L + 1, B, N)
        self.backlog = torch.zeros(B, N, dtype=self.dtype, device=self.device)

    def _full(self, array) -> torch.Tensor:
        a = torch.tensor(np.array(array, dtype=float), dtype=self.dtype, device=self.device)
        shape = (self.batch_size, self._N) if a.dim() == 1 else (a.shape[0], self.batch_size,
                                                                 self._N)
        return a.expand(shape).clone()

    @property
    def pipeline(self) -> torch.Tensor:
        """(B, N, max L) outstanding orders: column d arrives at the start of period t + d, as in
        :attr:`coordlib.model.simulator.Observation.pipeline`."""
        return self.due[:self._L].permute(1, 2, 0)

    def set_state(self, on_hand, pipeline=None, backlog=None, t: Optional[int] = None) -> None:
        """Put every copy in a given state: ``on_hand`` and ``backlog`` (B, N) or (N,),
        ``pipeline`` (B, N, max L) or (N, max L), as :meth:`coordlib.Simulator.set_state` takes."""
        B, N, L = self.batch_size, self._N, self._L

        def batch(value, shape):
            a = torch.as_tensor(value, dtype=self.dtype, device=self.device)
            return a.expand(shape).clone()

        self.on_hand = batch(on_hand, (B, N))
        due = torch.zeros(L + 1, B, N, dtype=self.dtype, device=self.device)
        if pipeline is not None:
            due[:L] = batch(pipeline, (B, N, L)).permute(2, 0, 1)
        self.due = due
        self.backlog = (torch.zeros(B, N, dtype=self.dtype, device=self.device)
                        if backlog is None else batch(backlog, (B, N)))
        if t is not None:
            self.t = int(t)

    # ---- dynamics ------------------------------------------------------------------------
    def demand_mean(self, exposure: torch.Tensor) -> torch.Tensor:
        """(B, K, N) mean demand per segment and product under ``exposure`` (B, K, N) at the
        current period: lambda_k(t) sum_j x_kj P_ki(j) (MODEL.md 3.3)."""
        rate = torch.as_tensor(self.scenario.arrival_rates(self.t), dtype=self.dtype,
                               device=self.device)                         # (K,)
        scale = rate[:, None] * self._attraction                           # lambda_k v_ki
        shown = torch.einsum("bkn,kn->bk", exposure, self._inverse_denominator)
        return shown[:, :, None] * scale + exposure * (scale * self._lift_share)

    def step(self, orders, exposure, demand=None) -> TorchStep:
        """Advance every copy by one period (MODEL.md section 3).

        ``orders``: (B, N) or (N,); hard mode: whole units in 0..max_order; relaxed: reals in
        [0, max_order]; taken as 0 outside a review period. ``exposure``: (B, K, N) or (K, N),
        rows in the simplex. ``demand``: (B, K, N) segment-product demands to use instead of a
        draw (common random numbers), whole and non-negative.
        """
        B, K, N = self.batch_size, self._K, self._N
        orders = self._orders(orders)
        exposure = torch.as_tensor(exposure, dtype=self.dtype, device=self.device)
        exposure = exposure.expand(B, K, N)
        if not self.scenario.is_review_period(self.t):
            orders = orders * 0

        # 1-2. place orders; arrivals of what is due now, capped by capacity
        due = self.due + self._slot[:, None, :] * orders[None]
        arrivals = due[0]
        stock = self.on_hand + arrivals
        available = torch.minimum(stock, self.capacity)
        overflow = stock - available

        # 3. demand by Poisson splitting, per segment and product
        if demand is None:
            with torch.no_grad():
                demand = torch.poisson(self.demand_mean(exposure), generator=self.generator)
        else:
            demand = self._demand(demand)
        total = demand.sum(dim=1)

        # 4-5. sales, lost sales (or backlog), next on-hand
        if self.scenario.backlog:
            wanted = self.backlog + total
            sales = torch.minimum(available, wanted)
            self.backlog = wanted - sales
            lost = torch.zeros_like(sales)
            penalty_units = self.backlog
        else:
            sales = torch.minimum(available, total)
            lost = total - sales
            penalty_units = lost
        on_hand = available - sales

        # 6. profit and its parts
        revenue = sales @ self.price
        purchase_cost = orders @ self.unit_cost
        holding_cost = on_hand @ self.holding
        penalty_cost = penalty_units @ self.penalty
        profit = revenue - purchase_cost - holding_cost - penalty_cost

        self.due = torch.cat([due[1:], torch.zeros_like(due[:1])])
        self.on_hand = on_hand
        self.t += 1
        return TorchStep(profit, revenue, purchase_cost, holding_cost, penalty_cost, orders,
                         arrivals, available, overflow, demand, sales, lost, on_hand,
                         penalty_units)

    def _orders(self, orders) -> torch.Tensor:
        orders = torch.as_tensor(orders, dtype=self.dtype, device=self.device)
        if orders.shape not in ((self._N,), (self.batch_size, self._N)):
            raise ScenarioError(f"orders: expected shape (N,) or (B, N) = "
                                f"{(self.batch_size, self._N)}, got {tuple(orders.shape)}")
        orders = orders.expand(self.batch_size, self._N)
        with torch.no_grad():
            outside = bool(((orders < 0) | (orders > self.max_order)).any())
            fractional = not self.relaxed and bool((orders != torch.round(orders)).any())
        if outside or fractional or not bool(torch.isfinite(orders).all()):
            what = "real numbers" if self.relaxed else "whole units"
            raise ScenarioError(f"orders: must be {what} in 0..max_order "
                                f"{self.scenario.max_order.tolist()}")
        return orders

    def _demand(self, demand) -> torch.Tensor:
        demand = torch.as_tensor(np.asarray(demand) if not torch.is_tensor(demand) else demand,
                                 dtype=self.dtype, device=self.device)
        shape = (self.batch_size, self._K, self._N)
        if tuple(demand.shape) != shape:
            raise ScenarioError(f"demand: expected shape (B, K, N) = {shape}, "
                                f"got {tuple(demand.shape)}")
        if bool((demand < 0).any()) or bool((demand != torch.round(demand)).any()):
            raise ScenarioError("demand: must be whole, non-negative units")
        return demand

    def __repr__(self) -> str:
        mode = "relaxed" if self.relaxed else "hard"
        return (f"TorchSimulator(scenario={self.scenario.name!r}, batch_size={self.batch_size}, "
                f"device={str(self.device)!r}, {mode}, t={self.t})")
