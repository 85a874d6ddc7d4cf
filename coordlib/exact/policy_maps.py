"""Optimal policies drawn over the inventory state (for E2's heatmaps): the policy table collapsed
over the pipeline, high-probability regions, and where the B3 order exceptions lie.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..model.scenarios import get as get_scenario
from . import dp
from .structure import _inventory_axes, expected_exposure, occupancy

# ---- E2: the policy over the inventory state -------------------------------------------------
PIPELINE_READINGS = ("stationary", "mode")
"""How :func:`policy_map` collapses pipeline coordinates (see there)."""


def policy_map(solution: dp.DPSolution, pipeline: str = "stationary") -> pd.DataFrame:
    """The optimal policy over the inventory state (inventory_1, inventory_2): one row per pair.

    ``inventory_i`` is the stock available for sale A_i (L_i >= 1) or the on-hand before
    ordering I_i (L_i = 0), as in B3. Columns: ``share_1_segment_k`` (x_k1, each segment's
    share of product 1), ``exposure_1`` and ``exposure_2`` (arrival-weighted shares),
    ``expected_exposure_1/2`` (over the protection interval t..t + L_i,
    :func:`expected_exposure`), ``order_1``, ``order_2`` [q_i], and ``probability``: the
    stationary probability of the pair under the optimal policy (0 for pairs it never visits).

    With R > 1 only the review phase t mod R = 0 is shown (orders are placed there), and
    ``probability`` is that of the phase and the pair together. When the
    reduced state has pipeline coordinates (L_i >= 2: orders arriving in 2..L_i periods),
    ``pipeline`` says how they are collapsed: ``"stationary"`` averages each quantity over
    the pipeline's conditional stationary distribution given the inventory pair;
    ``"mode"`` takes the quantity at the pipeline value most likely given the pair. Both
    leave NaN at pairs of probability 0 (``reading`` column: ``exact`` when there is no
    pipeline to collapse, else the reading used).
    """
    if pipeline not in PIPELINE_READINGS:
        raise ValueError(f"pipeline: one of {PIPELINE_READINGS}, got {pipeline!r}")
    K = solution.scenario.n_segments
    quantities = {f"share_1_segment_{k + 1}": solution.exposure[..., k, 0] for k in range(K)}
    share = solution.exposure_share
    protection = expected_exposure(solution, "protection")
    for i in range(2):
        quantities[f"exposure_{i + 1}"] = share[..., i]
        quantities[f"expected_exposure_{i + 1}"] = protection[..., i]
        quantities[f"order_{i + 1}"] = solution.orders[..., i].astype(float)
    inv = _inventory_axes(solution)
    rest = [a for a in range(1, len(solution.state_shape)) if a not in inv]
    prob = occupancy(solution)
    perm = [a - 1 for a in inv + rest]               # phase dropped
    n1, n2 = solution.state_shape[inv[0]], solution.state_shape[inv[1]]

    def flat(arr):                                   # review phase: (n1, n2, pipeline states)
        return np.transpose(arr[0], perm).reshape(n1, n2, -1)

    p = flat(prob)
    mass = p.sum(axis=-1)
    out = {}
    if not rest:
        reading = "exact"
        for name, q in quantities.items():
            out[name] = flat(q)[..., 0]
    else:
        reading = pipeline
        with np.errstate(invalid="ignore", divide="ignore"):
            weight = np.where(mass[..., None] > 0, p / mass[..., None], np.nan)
        mode = p.argmax(axis=-1)
        for name, q in quantities.items():
            q = flat(q)
            if pipeline == "stationary":
                value = np.nansum(weight * q, axis=-1)
            else:
                value = np.take_along_axis(q, mode[..., None], axis=-1)[..., 0]
            out[name] = np.where(mass > 0, value, np.nan)
    I1, I2 = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
    frame = pd.DataFrame({"inventory_1": I1.ravel(), "inventory_2": I2.ravel(),
                          **{k: v.ravel() for k, v in out.items()}, "probability": mass.ravel()})
    frame.insert(0, "scenario", solution.scenario.name)
    frame["reading"] = reading
    return frame


def inventory_axis_label(scenario, i: int) -> str:
    """What ``inventory_i`` of :func:`policy_map` is for product i (1-based), with its unit."""
    s = get_scenario(scenario)
    return (f"on-hand $I_{i}$ before ordering (units)" if s.lead_time[i - 1] == 0
            else f"available stock $A_{i}$ (units)")


def high_probability_level(probability, mass: float = 0.95) -> float:
    """The smallest probability p such that the states of probability >= p hold ``mass`` in all.

    ``probability``: stationary probabilities (any shape, NaN ignored). The states at or above
    the returned level form the smallest set of states whose total probability reaches
    ``mass`` (the "typical" states a heatmap outlines).
    """
    if not 0 < mass <= 1:
        raise ValueError(f"mass: must lie in (0, 1], got {mass!r}")
    p = np.sort(np.nan_to_num(np.asarray(probability, dtype=float).ravel()))[::-1]
    if p.sum() <= 0:
        raise ValueError("probability: no state has positive probability")
    k = int(np.searchsorted(np.cumsum(p) / p.sum(), mass - 1e-12))
    return float(p[min(k, p.size - 1)])


def region_edges(mask) -> np.ndarray:
    """(n, 2, 2): the cell edges that outline the True cells of a 2-d ``mask``, for a heatmap.

    Cell (r, c) is the unit square centred on (x, y) = (c, r) (as ``imshow`` draws it); an
    edge is returned where a True cell meets a False cell or the border, as
    ((x0, y0), (x1, y1)), ready for a matplotlib ``LineCollection``.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise ValueError(f"mask: must be 2-d, got shape {m.shape}")
    padded = np.pad(m, 1)
    edges = []
    for r, c in zip(*np.nonzero(m)):
        pr, pc = r + 1, c + 1
        if not padded[pr - 1, pc]:
            edges.append(((c - .5, r - .5), (c + .5, r - .5)))
        if not padded[pr + 1, pc]:
            edges.append(((c - .5, r + .5), (c + .5, r + .5)))
        if not padded[pr, pc - 1]:
            edges.append(((c - .5, r - .5), (c - .5, r + .5)))
        if not padded[pr, pc + 1]:
            edges.append(((c + .5, r - .5), (c + .5, r + .5)))
    return np.array(edges, dtype=float).reshape(-1, 2, 2)


def order_exception_profile(order_exceptions: pd.DataFrame, state_axes: Sequence[str],
                            low_stock: int = 2) -> pd.DataFrame:
    """Where the order exceptions of B3 lie: one row per statement (product and reading).

    ``order_exceptions``: rows of :func:`coordlib.exact.structure.b3_order_exceptions` (states as tuples over
    ``state_axes``). For each exception the other product's inventory (``available_j`` or
    ``on_hand_j``) is read in ``high_state``, the state with the higher expected exposure and the
    lower order. Columns: ``statement``, ``product``, ``exceptions``,
    ``other_inventory_high_max`` (the largest such inventory; NaN without exceptions) and
    ``share_other_low`` (share of exceptions where it is at most ``low_stock`` units).
    """
    axes = list(state_axes)
    rows = []
    for statement, g in order_exceptions.groupby("statement", sort=False):
        product = int(g["product"].iloc[0])
        other = 2 if product == 1 else 1
        axis = next(a for a, n in enumerate(axes) if n in (f"available_{other}", f"on_hand_{other}"))
        stock = np.array([tuple(s)[axis] for s in g["high_state"]])
        rows.append({"statement": statement, "product": product, "exceptions": len(g),
                     "other_inventory_high_max": int(stock.max()),
                     "share_other_low": float(np.mean(stock <= low_stock))})
    return pd.DataFrame(rows, columns=["statement", "product", "exceptions",
                                       "other_inventory_high_max", "share_other_low"])


def _most_visited(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """Per statement, the ``rows`` exceptions whose states are most often visited (all if fewer)."""
    if frame.empty:
        return frame
    key = np.maximum(frame["prob_state"], frame["prob_high"])
    ordered = frame.assign(_key=key).sort_values("_key", ascending=False, kind="stable")
    return ordered.groupby("statement", sort=False).head(int(rows)).drop(columns="_key")


def _frame_of_states(frame: pd.DataFrame) -> pd.DataFrame:
    """State tuples as text such as '(0, 1, 2)', so that a frame survives a JSON round trip."""
    frame = frame.copy()
    for column in ("state", "next_state", "high_state"):
        if column in frame:
            frame[column] = [str(tuple(v)) for v in frame[column]]
    return frame
