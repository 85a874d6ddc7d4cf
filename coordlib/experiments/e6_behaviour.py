"""E6, behaviour of trained agents against B3 (exposure follows stock) and B4 (orders lead exposure).

MODEL.md sections 4-6: :func:`behaviour` measures one policy; :func:`b4_side_by_side` puts
the exact DP optimum, the coordinated heuristic and a learned MTMA policy on one instance,
same simulation budget and seeds, and :func:`b4_diagnostics` measures why a policy's orders
lead or follow its exposure.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from ..exact import dp
from ..exact.structure import cross_correlation
from ..learning.config import config_for
from ..learning.training import train
from ..model.policy import Action, Policy
from ..model.rollout import rollout, trajectories
from ..model.scenarios import get as get_scenario
from ..model.simulator import Simulator
from ..model.variants import scenario_variant
from ..policies.firms import firm
from .parameters import ParameterError


def b3_slopes(traj: dict) -> pd.DataFrame:
    """B3 on trajectories: exposure of product i regressed on its own and the others' stock.

    Pooled least squares exposure_i = a + b_own A_i + b_other sum_{j != i} A_j over all
    replications and periods. B3 (co-movement) reads as b_own >= 0 and b_other <= 0.
    Columns: product, slope_own, slope_other, mean_exposure, corr_own (correlation of
    exposure_i with A_i; NaN where either is constant).
    """
    x, a = traj["exposure"], traj["available"].astype(float)
    rows = []
    for i in range(x.shape[-1]):
        y = x[..., i].ravel()
        own = a[..., i].ravel()
        other = (a.sum(axis=-1) - a[..., i]).ravel()
        design = np.column_stack([np.ones_like(own), own, other])
        coef = np.linalg.lstsq(design, y, rcond=None)[0]
        corr = (float(np.corrcoef(y, own)[0, 1]) if y.std() > 0 and own.std() > 0
                else float("nan"))
        rows.append({"product": i + 1, "slope_own": float(coef[1]),
                     "slope_other": float(coef[2]), "mean_exposure": float(y.mean()),
                     "corr_own": corr})
    return pd.DataFrame(rows)


def b4_lags(traj: dict, lead_time, max_lag: int = 6) -> pd.DataFrame:
    """B4 on trajectories: corr(q_i(t), exposure_i(t + k)) for k = -max_lag..max_lag.

    ``lead_time``: [L_i] per product. Columns: product, lead_time, lag, correlation.
    """

    rows = []
    for i in range(traj["orders"].shape[-1]):
        c = cross_correlation(traj["orders"][..., i].astype(float), traj["exposure"][..., i],
                              max_lag)
        for k, v in zip(range(-max_lag, max_lag + 1), c):
            rows.append({"product": i + 1, "lead_time": int(lead_time[i]), "lag": k,
                         "correlation": float(v)})
    return pd.DataFrame(rows)


def peak_lags(frame: pd.DataFrame, by) -> pd.DataFrame:
    """B4's peak: the lag k of the largest corr(q_i(t), exposure_i(t + k)) per group ``by``.

    ``frame``: the tidy output of :func:`b4_lags` (with the columns of ``by``). Columns: ``by``,
    ``lead_time``, ``peak_lag``, ``peak_correlation`` (NaN where every correlation is NaN, as
    for a product never ordered).
    """
    rows = []
    for key, g in frame.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        lead = int(g["lead_time"].iloc[0])
        g = g.dropna(subset=["correlation"])
        best = g.loc[g["correlation"].idxmax()] if len(g) else None
        rows.append({**dict(zip(by, key)), "lead_time": lead,
                     "peak_lag": int(best["lag"]) if best is not None else np.nan,
                     "peak_correlation": float(best["correlation"]) if best is not None
                     else float("nan")})
    return pd.DataFrame(rows)


def behaviour(scenario, policy, replications: int = 16, periods: int = 400, warmup: int = 100,
              seed: int = 0, max_lag: int = 6,
              threads: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """E6 for one policy: (B3 slopes, B4 cross-correlations, trajectories) on ``scenario``.

    B3 frame adds ``peak_lag`` and ``peak_correlation`` of B4 per product, and ``profit``
    (mean profit per period of the simulated trajectories). ``threads``: torch threads
    while simulating (one is fastest for these small networks; restored afterwards).
    """
    # deferred: only to pin torch's threads while learned policies are simulated
    import torch

    s = get_scenario(scenario)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        traj = trajectories(s, policy, replications, periods, warmup, seed)
    finally:
        torch.set_num_threads(before)
    b3 = b3_slopes(traj)
    b4 = b4_lags(traj, s.lead_time, max_lag)
    peaks = peak_lags(b4, ["product"]).drop(columns="lead_time")
    peaks["peak_lag"] = peaks["peak_lag"].astype(float)
    b3 = b3.merge(peaks, on="product")
    b3["lead_time"] = [int(L) for L in s.lead_time]
    b3["profit"] = float(traj["profit"].mean())
    return b3, b4, traj


def exposure_by_stock(traj: dict, product: int = 1) -> pd.DataFrame:
    """E6 (B3 picture): every period's exposure of ``product`` (1-based) next to its stock.

    Columns: ``available`` [A_i], ``others_available`` (sum of A_j, j != i), ``exposure``
    (arrival-weighted share of product i).
    """
    i = int(product) - 1
    a = traj["available"]
    return pd.DataFrame({"available": a[..., i].ravel(),
                         "others_available": (a.sum(axis=-1) - a[..., i]).ravel(),
                         "exposure": traj["exposure"][..., i].ravel()})


def exposure_by_stock_all(traj: dict) -> pd.DataFrame:
    """:func:`exposure_by_stock` of every product, with a ``product`` column (1-based)."""
    return pd.concat([exposure_by_stock(traj, i + 1).assign(product=i + 1)
                      for i in range(traj["available"].shape[-1])], ignore_index=True)


def shown_product(table: pd.DataFrame, scenario: str, policy_prefix: str = "learned") -> int:
    """The product E6's figure shows on ``scenario``: the one the learned policy exposes most
    (highest ``mean_exposure`` of E6's table, mean over training seeds; the lowest index on a
    tie), so that the picture is of a product customers see, not of one shown a fraction of a
    percent of the time."""
    rows = table[(table["scenario"] == scenario)
                 & table["policy"].str.startswith(policy_prefix)].sort_values("product")
    if rows.empty:
        rows = table[table["scenario"] == scenario].sort_values("product")
    if rows.empty:
        raise ValueError(f"shown_product: no rows for scenario {scenario!r} in E6's table")
    return int(rows.loc[rows["mean_exposure"].idxmax(), "product"])


def plot_behaviour(points: pd.DataFrame, b4: pd.DataFrame, table: pd.DataFrame, scenarios):
    """E6's figure, one column per scenario, on the product of :func:`shown_product`. Top
    (B3): mean exposure [x_i] by available stock [A_i] (``points``, every product:
    :func:`exposure_by_stock_all`). Bottom (B4): corr(q_i(t), x_i(t + lag)) (``b4``), mean
    over training seeds; the dotted grey line is the lead time L_i, and a dashed line per
    policy is the table's peak lag (the mean over seeds of each seed's peak, the number the
    claims ledger reads), so the figure and the table show the same statistic. Returns the
    figure."""
    # deferred: only drawing needs matplotlib and seaborn; the simulation never loads them
    import matplotlib.pyplot as plt
    import seaborn as sns

    policies = list(dict.fromkeys(table["policy"]))
    colors = dict(zip(policies, sns.color_palette("colorblind", n_colors=len(policies))))
    n = len(scenarios)
    fig, axes = plt.subplots(2, n, figsize=(4.8 * n, 7.2), squeeze=False)
    for col, name in enumerate(scenarios):
        product = shown_product(table, name)
        rows = table[(table["scenario"] == name) & (table["product"] == product)]
        share = rows[rows["policy"].str.startswith("learned")]["mean_exposure"]
        shown = f", exposure {share.iloc[0]:.0%}" if len(share) else ""
        ax = axes[0, col]
        sub = points[(points["scenario"] == name) & (points["product"] == product)]
        sns.lineplot(data=sub, x="available", y="exposure", hue="policy", palette=colors,
                     marker="o", errorbar=None, ax=ax, legend=col == 0)
        ax.set_title(f"{name}: B3, product {product}{shown}")
        ax.set_xlabel(f"available stock A_{product}")
        ax.set_ylabel(f"exposure of product {product} (mean)")
        ax = axes[1, col]
        sub = b4[(b4["scenario"] == name) & (b4["product"] == product)]
        sns.lineplot(data=sub, x="lag", y="correlation", hue="policy", palette=colors,
                     marker="o", ax=ax, errorbar=None, legend=False)
        ax.axvline(int(sub["lead_time"].iloc[0]), color="grey", ls=":", lw=1)
        for r in rows.itertuples():
            ax.axvline(r.peak_lag, color=colors[r.policy], ls="--", lw=1.2)
        ax.axhline(0, color="black", lw=0.5)
        peaks = ", ".join(f"{r.policy.split(' (')[0]} {r.peak_lag:+.2f}" for r in rows.itertuples())
        ax.set_title(f"{name}: B4, product {product}\npeak lag (table): {peaks}", fontsize="small")
        ax.set_ylabel(f"corr(q_{product}(t), exposure_{product}(t + lag))")
    fig.suptitle("dotted: lead time L; dashed: each policy's peak lag, mean over seeds (the "
                 "table's)", fontsize="small")
    fig.tight_layout()
    return fig


# ---- B4 side by side: the DP optimum, the coordinated heuristic and a learned policy -------
B4_POLICIES = ("DP optimum", "coordinated heuristic", "learned (mtma)")
"""The policies of :func:`b4_side_by_side`, in reading order (the DP only where it applies)."""


class MixedPolicy(Policy):
    """The orders of one policy with the exposures of another, both deciding on the same
    observation: swapping one department's rule tells which department sets B4's lag."""

    def __init__(self, orders_from: Policy, exposure_from: Policy, name: str = "mixed"):
        self.orders_from, self.exposure_from, self.name = orders_from, exposure_from, name

    def reset(self, scenario, batch_size, rng):
        super().reset(scenario, batch_size, rng)
        self.orders_from.reset(scenario, batch_size, rng)
        self.exposure_from.reset(scenario, batch_size, rng)

    def act(self, observation) -> Action:
        return Action(self.orders_from.act(observation).orders,
                      self.exposure_from.act(observation).exposure)


def b4_instance(name: str, long_lead_max_inventory: Optional[int] = None):
    """The scenario of one B4 instance: a shipped scenario's name, or ``"<base> L=<value>"``
    (the base with every lead time L_i = value, as in E2's instances); one with some L_i >= 2
    and N = 2 has capacity M_i and max order Qmax_i capped at ``long_lead_max_inventory`` (as
    E2 caps its long-lead DP instances) so that its DP stays small."""
    base, _, lead = name.partition(" L=")
    s = scenario_variant(base, "lead_time", int(lead)) if lead else get_scenario(base)
    if s.n_products == 2 and s.lead_time.max() >= 2 and long_lead_max_inventory is not None:
        s = dp.reduce_scenario(s, long_lead_max_inventory)[0]
    return s


def decision_trajectories(scenario, policy, replications: int = 16, periods: int = 400,
                          warmup: int = 100, seed: int = 0) -> dict:
    """:func:`coordlib.model.rollout.trajectories` (same loop, seed and periods) plus what the
    replenisher saw when it ordered (MODEL.md section 4).

    Extra arrays, (replications, periods - warmup, ...): ``on_hand`` [I_i before arrivals],
    ``pipeline`` (N, Lmax) outstanding orders, ``position`` [IP_i before ordering],
    ``last_sales`` and ``last_lost_sales`` (of the period before), ``sales`` [s_i]. Needs
    ``warmup`` >= 1 (period t's view is the previous period's outcome).
    """
    if warmup < 1:
        raise ValueError(f"warmup: must be >= 1, got {warmup}")
    s = get_scenario(scenario)
    w = s.arrival_rate / s.arrival_rate.sum()
    keys = ("orders", "exposure", "available", "profit", "sales", "on_hand", "pipeline",
            "position", "last_sales", "last_lost_sales")
    out = {k: [] for k in keys}
    previous = None
    for _, r in rollout(s, policy, replications, periods, seed, warmup - 1):
        if previous is not None:
            seen = previous.observation
            out["orders"].append(r.orders)
            out["exposure"].append(np.einsum("bkn,k->bn", r.exposure, w))
            out["available"].append(r.available)
            out["profit"].append(r.profit)
            out["sales"].append(r.sales)
            out["on_hand"].append(seen.on_hand)
            out["pipeline"].append(seen.pipeline)
            out["position"].append(seen.inventory_position)
            out["last_sales"].append(seen.last_sales)
            out["last_lost_sales"].append(seen.last_lost_sales)
        previous = r
    return {k: np.stack(v, axis=1) for k, v in out.items()}


def _r_squared(design: np.ndarray, target: np.ndarray) -> float:
    """R^2 of the least-squares fit of ``target`` on ``design`` plus a constant."""
    X = np.column_stack([np.ones(len(target)), design])
    fit = X @ np.linalg.lstsq(X, target, rcond=None)[0]
    total = ((target - target.mean()) ** 2).sum()
    return float(1 - ((target - fit) ** 2).sum() / total) if total > 0 else float("nan")


def b4_diagnostics(traj: dict, lead_time) -> pd.DataFrame:
    """Why a policy's orders lead or follow its exposure: one row per product.

    ``traj``: :func:`decision_trajectories`. Columns: ``product``, ``lead_time`` [L_i];
    hypothesis (a), the recommender's reaction to stock: ``slope_own`` and ``corr_own`` of
    B3 (:func:`b3_slopes`); the two channels of B4: ``corr_before`` = corr(q_i(t), x_i(t - 1))
    (orders replace the sales that exposure caused) and ``corr_at_arrival`` =
    corr(q_i(t), x_i(t + L_i)) (exposure shifts toward the order when it lands),
    ``corr_last_sales`` = corr(q_i(t), s_i(t - 1)); the order-up-to target IP_i + q_i:
    ``target_sd`` (its standard deviation, 0 for a base-stock rule that never hits Qmax_i) and
    ``corr_target_at_arrival`` = corr(IP_i(t) + q_i(t), x_i(t + L_i)); hypothesis (b), what
    the replenisher's view holds of the exposure to come: ``r2_view_at_arrival``, the R^2 of
    x_i(t + L_i) on a linear function of its view at t (on-hand, pipeline, last sales and
    lost sales of every product; a lower bound on what a nonlinear reader could predict).
    Correlations are pooled over replications, each row centred on its own mean.
    """
    b3 = b3_slopes(traj).set_index("product")
    q, x = traj["orders"].astype(float), traj["exposure"]
    R, T, N = q.shape
    view = np.concatenate([traj["on_hand"], traj["pipeline"].reshape(R, T, -1),
                           traj["last_sales"], traj["last_lost_sales"]], -1).astype(float)
    rows = []
    for i in range(N):
        L = int(lead_time[i])
        lag = max(L, 1)
        cc = cross_correlation(q[..., i], x[..., i], lag)
        target = traj["position"][..., i] + q[..., i]
        target_c = target - target.mean(axis=1, keepdims=True)
        rows.append({
            "product": i + 1, "lead_time": L,
            "slope_own": float(b3.loc[i + 1, "slope_own"]),
            "corr_own": float(b3.loc[i + 1, "corr_own"]),
            "corr_before": float(cc[lag - 1]), "corr_at_arrival": float(cc[lag + L]),
            "corr_last_sales": float(cross_correlation(q[..., i], traj["last_sales"][..., i]
                                                       .astype(float), 0)[0]),
            "target_sd": float(np.sqrt((target_c ** 2).mean())),
            "corr_target_at_arrival": float(cross_correlation(target, x[..., i], lag)[lag + L]),
            "r2_view_at_arrival": _r_squared(view[:, :T - L].reshape(-1, view.shape[-1]),
                                             x[:, L:, i].ravel())})
    return pd.DataFrame(rows)


def department_views(scenario) -> pd.DataFrame:
    """What each actor of MTMA reads (MODEL.md section 4, ``Observation`` views, the inputs of
    :class:`coordlib.learning.features.ScenarioEncoding`): one row per role with its inputs and
    whether exposure is among them."""
    obs = Simulator(get_scenario(scenario), batch_size=1, seed=0).reset()
    rows = []
    for role, view in (("replenisher", obs.replenisher_view()),
                       ("recommender", obs.recommender_view()), ("critic", obs.full_state())):
        names = sorted(k for k in view if k not in ("t", "review"))
        rows.append({"role": role, "inputs": ", ".join(names),
                     "sees_exposure": any("exposure" in n for n in names)})
    return pd.DataFrame(rows)


def b4_side_by_side(scenario, learned: Optional[Policy] = None, train_iterations: int = 120,
                    train_seed: int = 0, exposure_grid: int = 11, replications: int = 16,
                    periods: int = 400, warmup: int = 100, seed: int = 0, max_lag: int = 6,
                    swaps: bool = True, threads: int = 1) -> dict:
    """B4 (MODEL.md section 5) for the DP optimum, the coordinated heuristic and MTMA on one instance.

    ``scenario``: a Scenario (e.g. :func:`b4_instance`) or a shipped name. The DP
    (:func:`coordlib.exact.dp.solve` on ``exposure_grid`` points, its optimal policy as E2
    simulates it) runs where N = 2; the coordinated heuristic is
    ``firm(scenario, "coordinated", seed)``; the learned policy is ``learned`` or, when None,
    MTMA trained on the scenario (``config_for("mtma", iterations=train_iterations,
    seed=train_seed)``). Every policy is simulated on the same ``replications`` x ``periods``
    periods after ``warmup``, seed ``seed``. With ``swaps``, mixed firms (:class:`MixedPolicy`)
    are added to the diagnostics: the learned orders with the DP's (where it applies) and with
    the heuristic's exposures, and the DP's and the heuristic's orders with the learned
    exposures, to tell which department sets the lag.

    Returns DataFrames: ``peaks`` (policy, product, lead_time, peak_lag, peak_correlation,
    profit: the side-by-side B4 table), ``cross_correlation`` (policy, product, lead_time, lag,
    correlation), ``diagnostics`` (policy, :func:`b4_diagnostics`, the peak and the profit; the
    swaps too), ``instance`` (one row:
    scenario, products, lead times, train iterations and seconds, whether the DP applied, g*).
    """
    # deferred: only to pin torch's threads while the learner trains and runs
    import torch

    s = get_scenario(scenario)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        policies, gain = {}, float("nan")
        if s.n_products == 2:
            solution = dp.solve(s, exposure_grid=exposure_grid)
            policies[B4_POLICIES[0]], gain = solution.policy, solution.gain
        policies[B4_POLICIES[1]] = firm(s, "coordinated", seed)
        train_seconds = 0.0
        if learned is None:
            result = train(s, config_for("mtma", iterations=int(train_iterations),
                                         seed=int(train_seed), threads=int(threads)),
                           progress=False, evaluate_policy=False)
            learned, train_seconds = result.policy, float(result.summary["train_seconds"])
        policies[B4_POLICIES[2]] = learned
        if swaps:
            for other in B4_POLICIES[:2]:
                if other in policies:
                    short = other.split()[0] if other == B4_POLICIES[0] else "heuristic"
                    policies[f"learned orders + {short} exposure"] = MixedPolicy(
                        learned, policies[other])
                    policies[f"{short} orders + learned exposure"] = MixedPolicy(
                        policies[other], learned)
        lags, diagnostics, profits = [], [], {}
        for label, policy in policies.items():
            traj = decision_trajectories(s, policy, replications, periods, warmup, seed)
            lags.append(b4_lags(traj, s.lead_time, max_lag).assign(policy=label))
            diagnostics.append(b4_diagnostics(traj, s.lead_time).assign(policy=label))
            profits[label] = float(traj["profit"].mean())
    finally:
        torch.set_num_threads(before)
    lags = pd.concat(lags, ignore_index=True)
    lags = lags[["policy", "product", "lead_time", "lag", "correlation"]]
    peaks = peak_lags(lags, ["policy", "product"])
    peaks["profit"] = peaks["policy"].map(profits)
    diagnostics = pd.concat(diagnostics, ignore_index=True).merge(
        peaks.drop(columns="lead_time"), on=["policy", "product"])
    diagnostics = diagnostics[["policy"] + [c for c in diagnostics if c != "policy"]]
    main = list(B4_POLICIES)
    instance = pd.DataFrame([{"scenario": s.name, "products": s.n_products,
                              "lead_times": " ".join(str(int(L)) for L in s.lead_time),
                              "dp_applies": B4_POLICIES[0] in policies, "g_star": gain,
                              "train_iterations": int(train_iterations),
                              "train_seconds": train_seconds}])
    return {"peaks": peaks[peaks.policy.isin(main)].reset_index(drop=True),
            "cross_correlation": lags[lags.policy.isin(main)].reset_index(drop=True),
            "diagnostics": diagnostics, "instance": instance}


B4_RULES = {"anticipates_min_lag": 1, "weak_reaction_fraction": 0.5, "static_target_sd": 0.05,
            "replaces_sales_corr": 0.95, "visible_r2": 0.1}
"""The decision rules of :func:`b4_verdict`, fixed before any number is seen.

``anticipates_min_lag``: a policy's orders lead its exposure (B4) when the peak lag is at
least this. ``weak_reaction_fraction``: hypothesis (a), the learned recommender barely
reacts to stock, holds when its B3 slope on own stock is below this fraction of the
reference's (the DP where it applies, else the coordinated heuristic). ``static_target_sd``
[units] and ``replaces_sales_corr``: hypothesis (b), the learned replenisher only reacts,
holds when its order-up-to target IP_i + q_i varies by less than this and its order tracks
last period's sales at least this closely (a fixed base-stock rule: q_i(t) = s_i(t - 1), so
its order follows the exposure that caused those sales). ``visible_r2``: the exposure to come
is visible in the replenisher's view when a linear reading of the view explains at least
this share of its variance (so anticipation is not ruled out by what the view holds)."""


def b4_verdict(result: dict, rules: Optional[dict] = None) -> pd.DataFrame:
    """The verdict of :func:`b4_side_by_side` per product of the learned policy, by :data:`B4_RULES`.

    Columns: ``scenario``, ``product``, ``lead_time``, ``dp_peak_lag`` (NaN without a DP),
    ``heuristic_peak_lag``, ``learned_peak_lag``, ``learned_anticipates``, ``reference``,
    ``slope_ratio`` (learned slope_own / reference's), ``weak_reaction`` (hypothesis a),
    ``fixed_base_stock`` (hypothesis b), ``exposure_visible``, ``lag: <swap>`` (the peak lag
    of each mixed firm of the result), ``verdict`` (a sentence).
    """
    rules = {**B4_RULES, **(rules or {})}
    d = result["diagnostics"].set_index(["policy", "product"])
    name = result["instance"]["scenario"].iloc[0]
    has_dp = B4_POLICIES[0] in d.index.get_level_values(0)
    reference = B4_POLICIES[0] if has_dp else B4_POLICIES[1]
    swaps = [label for label in dict.fromkeys(d.index.get_level_values(0))
             if " orders + " in label]
    rows = []
    for product in sorted(d.loc[B4_POLICIES[2]].index):
        me, ref = d.loc[(B4_POLICIES[2], product)], d.loc[(reference, product)]
        ratio = (float(me.slope_own / ref.slope_own) if ref.slope_own != 0 else float("nan"))
        weak = bool(ratio < rules["weak_reaction_fraction"])
        fixed = bool(me.target_sd < rules["static_target_sd"]
                     and me.corr_last_sales >= rules["replaces_sales_corr"])
        visible = bool(me.r2_view_at_arrival >= rules["visible_r2"])
        anticipates = bool(me.peak_lag >= rules["anticipates_min_lag"])
        dp_lag = float(d.loc[(B4_POLICIES[0], product), "peak_lag"]) if has_dp else float("nan")
        text = (f"{name}, product {product} (L = {int(me.lead_time)}): learned peak lag "
                f"{_lag(me.peak_lag)}" + (f", DP {_lag(dp_lag)}" if has_dp else "")
                + f", heuristic {_lag(d.loc[(B4_POLICIES[1], product), 'peak_lag'])}; "
                f"(a) learned recommender's stock slope {me.slope_own:.3f} = {ratio:.0%} of the "
                f"{reference}'s: {'supported' if weak else 'refuted'}; (b) order-up-to target "
                f"sd {me.target_sd:.2f} units, corr(q(t), s(t-1)) {me.corr_last_sales:.2f}: "
                + ("a fixed base-stock rule, its order replaces the sales exposure caused"
                   if fixed else "the target moves with the state")
                + f"; R^2 of the exposure at arrival from its view {me.r2_view_at_arrival:.2f}"
                + (" (visible: the view holds it)" if visible else " (not visible linearly)")
                + "".join(f"; {label}: peak lag {_lag(d.loc[(label, product), 'peak_lag'])}"
                          for label in swaps))
        rows.append({"scenario": name, "product": int(product), "lead_time": int(me.lead_time),
                     "dp_peak_lag": dp_lag,
                     "heuristic_peak_lag": float(d.loc[(B4_POLICIES[1], product), "peak_lag"]),
                     "learned_peak_lag": float(me.peak_lag), "learned_anticipates": anticipates,
                     "reference": reference, "slope_ratio": ratio, "weak_reaction": weak,
                     "fixed_base_stock": fixed, "exposure_visible": visible,
                     **{f"lag: {label}": float(d.loc[(label, product), "peak_lag"])
                        for label in swaps}, "verdict": text})
    return pd.DataFrame(rows)


def _lag(value) -> str:
    """A peak lag as text: signed, or "n/a" where the product is never ordered."""
    return "n/a" if pd.isna(value) else f"{int(value):+d}"


def b4_summary(verdict: pd.DataFrame) -> str:
    """One sentence per instance from :func:`b4_verdict`: how many products each rule holds for."""
    n = len(verdict)
    name = verdict["scenario"].iloc[0]
    dp = verdict["dp_peak_lag"]
    dp_part = (f"the DP's orders lead on {int((dp >= B4_RULES['anticipates_min_lag']).sum())}/{n}"
               if dp.notna().all() else "no DP")
    return (f"{name}: the learned orders lead exposure (peak lag >= "
            f"{B4_RULES['anticipates_min_lag']}) on {int(verdict.learned_anticipates.sum())}/{n} "
            f"products, {dp_part}; (a) weak stock reaction of the learned recommender on "
            f"{int(verdict.weak_reaction.sum())}/{n}; (b) fixed base-stock replenisher on "
            f"{int(verdict.fixed_base_stock.sum())}/{n}; exposure at arrival visible in the "
            f"replenisher's view on {int(verdict.exposure_visible.sum())}/{n}.")


def check_b4_parameters(b4_scenarios, b4_long_lead_max_inventory, b4_iterations) -> None:
    """E6's B4 parameters: a non-empty list of instance names (:func:`b4_instance`), a cap
    >= 1 or None, and a whole number of training iterations >= 1; ParameterError otherwise."""
    _check_instances("b4_scenarios", b4_scenarios, b4_long_lead_max_inventory)
    cap = b4_long_lead_max_inventory
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, (int, np.integer))
                            or cap < 1):
        raise ParameterError(f"b4_long_lead_max_inventory: expected a whole number >= 1 or "
                             f"None, got {cap!r}")
    if isinstance(b4_iterations, bool) or not isinstance(b4_iterations, (int, np.integer)) \
            or b4_iterations < 1:
        raise ParameterError(f"b4_iterations: expected a whole number >= 1, got {b4_iterations!r}")


def check_b4_variant_parameters(b4_variant_instances, b4_variant_seeds,
                                b4_long_lead_max_inventory=None) -> None:
    """E6's parameters of :func:`b4_learner_variants`: a non-empty list of instance names and a
    non-empty list of distinct whole seeds >= 0; ParameterError otherwise."""
    _check_instances("b4_variant_instances", b4_variant_instances, b4_long_lead_max_inventory)
    seeds = b4_variant_seeds
    if isinstance(seeds, str) or not isinstance(seeds, (list, tuple)) or not seeds or any(
            isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0 for x in seeds) \
            or len(set(seeds)) < len(seeds):
        raise ParameterError(f"b4_variant_seeds: expected a non-empty list of distinct whole "
                             f"numbers >= 0, got {seeds!r}")


def _check_instances(parameter: str, names, cap) -> None:
    if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
        raise ParameterError(f"{parameter}: expected a non-empty list of instance names, "
                             f"got {names!r}")
    for name in names:
        try:
            b4_instance(name, cap)
        except (ValueError, KeyError, TypeError) as error:
            raise ParameterError(f"{parameter}: {name!r} is not an instance ({error})") from None


B4_LEARNER_VARIANTS = {
    "mtma": ("mtma", {}),
    "mtma, 3x the iterations": ("mtma", {"iteration_factor": 3}),
    "reversed (replenisher fast)": ("mtma", {"fast_agent": "replenisher"}),
    "centralized (joint view)": ("centralized", {}),
}
"""Changes to the learner tried by :func:`b4_learner_variants`: a longer budget, the
replenisher learning fast, one actor that sees both departments' views."""


def b4_learner_variants(instances, seeds=(0, 1), iterations: int = 150,
                        variants=tuple(B4_LEARNER_VARIANTS), long_lead_max_inventory: int = 8,
                        replications: int = 16, periods: int = 600, warmup: int = 100,
                        seed: int = 0, max_lag: int = 6) -> pd.DataFrame:
    """Whether a change to the learner makes its orders lead its exposure (B4): each variant of
    :data:`B4_LEARNER_VARIANTS` trained with each seed on each instance (:func:`b4_instance`),
    then simulated on the same ``replications`` x ``periods`` after ``warmup`` (seed ``seed``).

    One row per (instance, variant, seed, product): ``peak_lag``, ``target_sd`` and
    ``corr_last_sales`` (hypothesis (b) of :func:`b4_diagnostics`: a fixed base-stock rule has
    target sd 0 and order = last sales), ``corr_target_at_arrival``, ``slope_own``, ``profit``
    and ``train_seconds``."""
    unknown = [v for v in variants if v not in B4_LEARNER_VARIANTS]
    if unknown:
        raise ValueError(f"unknown learner variant(s) {unknown}; known: "
                         f"{', '.join(B4_LEARNER_VARIANTS)}")
    rows = []
    for name in instances:
        s = b4_instance(name, long_lead_max_inventory)
        for label in variants:
            preset, overrides = B4_LEARNER_VARIANTS[label]
            overrides = dict(overrides)
            count = int(iterations) * int(overrides.pop("iteration_factor", 1))
            for train_seed in seeds:
                run = train(s, config_for(preset, iterations=count, seed=int(train_seed),
                                          **overrides), progress=False, evaluate_policy=False)
                traj = decision_trajectories(s, run.policy, replications, periods, warmup, seed)
                diagnostics = b4_diagnostics(traj, s.lead_time).set_index("product")
                peaks = peak_lags(b4_lags(traj, s.lead_time, max_lag).assign(policy=label),
                                  ["policy", "product"]).set_index("product")
                for product, d in diagnostics.iterrows():
                    rows.append({"instance": name, "variant": label, "seed": int(train_seed),
                                 "iterations": count, "product": int(product),
                                 "lead_time": int(d["lead_time"]),
                                 "peak_lag": peaks.loc[product, "peak_lag"],
                                 **{c: float(d[c]) for c in ("target_sd", "corr_last_sales",
                                                             "corr_target_at_arrival",
                                                             "slope_own")},
                                 "profit": float(traj["profit"].mean()),
                                 "train_seconds": float(run.summary["train_seconds"])})
    return pd.DataFrame(rows)


def b4_variant_summary(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`b4_learner_variants` per (instance, variant): the runs (seeds), the iterations,
    the share of (run, product) pairs whose orders lead exposure (peak lag at least
    ``B4_RULES["anticipates_min_lag"]``), the mean peak lag, the share that is a fixed base-stock
    rule (:data:`B4_RULES`: target sd below ``static_target_sd`` and order tracking last sales at
    least ``replaces_sales_corr``), the mean profit per period and its difference from the
    variant ``mtma`` on the same instance (NaN where ``mtma`` was not run)."""
    t = table.assign(
        leads=table["peak_lag"] >= B4_RULES["anticipates_min_lag"],
        base_stock=(table["target_sd"] < B4_RULES["static_target_sd"])
        & (table["corr_last_sales"] >= B4_RULES["replaces_sales_corr"]))
    runs = t.groupby(["instance", "variant", "seed"], sort=False)["profit"].first()
    summary = t.groupby(["instance", "variant"], sort=False).agg(
        runs=("seed", "nunique"), iterations=("iterations", "first"),
        leads_share=("leads", "mean"), mean_peak_lag=("peak_lag", "mean"),
        base_stock_share=("base_stock", "mean"), target_sd=("target_sd", "mean"),
        corr_last_sales=("corr_last_sales", "mean")).reset_index()
    profit = runs.groupby(["instance", "variant"], sort=False).mean().rename("profit")
    summary = summary.merge(profit.reset_index(), on=["instance", "variant"])
    reference = summary[summary["variant"] == "mtma"].set_index("instance")["profit"]
    summary["profit_vs_mtma"] = summary["profit"] - summary["instance"].map(reference)
    return summary


def b4_variant_text(summary: pd.DataFrame) -> str:
    """The reading of :func:`b4_variant_summary` in one sentence per instance."""
    lines = []
    for name, g in summary.groupby("instance", sort=False):
        leading = g[g["leads_share"] > 0]
        lead_part = ("no variant's orders lead its exposure on any product and seed" if
                     leading.empty else "orders lead exposure under " + ", ".join(
                         f"{r.variant} ({r.leads_share:.0%} of products x seeds, profit "
                         f"{r.profit_vs_mtma:+.3f} against mtma)" for r in leading.itertuples()))
        lags = ", ".join(f"{r.variant} {r.mean_peak_lag:+.1f}" for r in g.itertuples())
        base = ", ".join(f"{r.variant} {r.base_stock_share:.0%}" for r in g.itertuples())
        lines.append(f"{name}: {lead_part}; mean peak lag {lags}; a fixed base-stock "
                     f"replenisher in {base} of products x seeds.")
    return "\n".join(lines)
