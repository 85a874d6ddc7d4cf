"""E8, convergence diagnostics (MODEL.md section 6): the linear teaching example, the step sizes the
learner used, the fast agent against its best response to a frozen slow agent.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..learning import convergence, schedules
from ..learning.config import config_for
from ..learning.training import train


# ---- E8: convergence diagnostics ----------------------------------------------------------------
def teaching_paths(n_steps: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Paths of the linear two-timescale example (:class:`coordlib.learning.convergence.LinearTwoTimescale`)
    under three step-size designs: the right ordering (x fast, b_n / a_n -> 0), the wrong one
    (the schedules swapped) and a single timescale (b_n = a_n, above r_crit = 1/2)."""
    right = schedules.decaying(0.5, 100, 0.6), schedules.decaying(0.1, 100, 1.0)
    designs = {"right ordering (x fast)": dict(step_x=right[0], step_y=right[1]),
               "wrong ordering (y fast)": dict(step_x=right[1], step_y=right[0]),
               "single timescale (b = a)": dict(step_x=right[0], ratio=1.0)}
    frames = []
    for label, kw in designs.items():
        path = convergence.two_timescale_example(n_steps=n_steps, seed=seed, **kw)
        f = path.to_frame()
        f["design"], f["hit_bound"] = label, path.hit_bound
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def schedule_diagnostics(curve: pd.DataFrame, fast: str = "recommender",
                         slow: str = "replenisher", n: int = 1_000_000):
    """Fit the schedules of the step sizes MTMA recorded (``lr_<agent>`` columns of the
    learning curve, alpha(n) of MODEL.md section 6) and check (A3) on the fitted ones.

    Returns ``(fitted, report)``: a table of the fitted a, n0, rho per agent (critic too when
    present) and :class:`coordlib.learning.schedules.ScheduleReport` for (fast, slow).
    """
    fits, rows = {}, []
    n_index = curve["iteration"].to_numpy(float) - 1      # the step used in update n
    for agent in [fast, slow, "critic_central"]:
        col = f"lr_{agent}"
        if col not in curve:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # short curves: n0 loosely identified
            fit = schedules.fit_schedule(curve[col].to_numpy(float), iterations=n_index)
        fits[agent] = fit
        rows.append({"agent": agent, "schedule": repr(fit), "a": getattr(fit, "a", np.nan),
                     "n0": getattr(fit, "n0", np.nan), "rho": fit.rho,
                     "first_step": float(curve[col].iloc[0]),
                     "last_step": float(curve[col].iloc[-1])})
    return pd.DataFrame(rows), schedules.check_schedule(fits[fast], fits[slow], n=n)


def tracking_study(scenario, iterations: int, branch_at: int, seed: int = 0,
                   settings: dict | None = None) -> dict:
    """The recommender (fast) in the joint MTMA run against its best response to a frozen
    replenisher (slow).

    One joint run of ``iterations`` iterations; at iteration ``branch_at`` its networks are
    copied and a second run trains the recommender (and the critic) with the replenisher
    frozen at that point (``frozen=("replenisher",)``, ``init_from`` the joint run's weights),
    for the remaining iterations. After each iteration both runs record the recommender's
    parameter vector and the rollout profit. Returns a dict of frames: ``joint`` (the joint
    curve), ``frozen`` (the frozen run's curve, iterations shifted by ``branch_at``),
    ``tracking`` (per iteration: parameter distance recommender_joint - recommender_frozen,
    relative to the frozen one's norm, and the profit gap) and ``iterates`` (per iteration of
    the joint run: the parameter norm of each actor and of the critic).
    """

    if not 1 <= branch_at < iterations:
        raise ValueError(f"branch_at must be in 1..{iterations - 1}, got {branch_at}")
    settings = dict(settings or {})
    joint_params, norms, snapshot = [], [], {}

    def record_joint(learner, row):
        if learner.iteration == branch_at:
            snapshot["state"] = {k: v.detach().clone()
                                 for k, v in learner.agents.state_dict().items()}
        if learner.iteration > branch_at:
            joint_params.append(learner.parameters_of("recommender").numpy())
        norms.append({"iteration": learner.iteration,
                      **{g: float(learner.parameters_of(g).norm()) for g in learner.groups}})

    joint = train(scenario, config_for("mtma", seed=seed, iterations=iterations, **settings),
                  progress=False, callback=record_joint, evaluate_policy=False)
    frozen_params = []
    frozen = train(scenario, config_for("mtma", seed=seed, iterations=iterations - branch_at,
                                        frozen=("replenisher",), **settings),
                   progress=False, init_from=snapshot["state"], evaluate_policy=False,
                   callback=lambda learner, row: frozen_params.append(
                       learner.parameters_of("recommender").numpy()))
    frozen_curve = frozen.curve.assign(iteration=frozen.curve["iteration"] + branch_at)
    its = np.arange(branch_at + 1, iterations + 1)
    params = convergence.tracking_error(np.array(joint_params), np.array(frozen_params),
                                        iterations=its, metric="l2", relative=True)
    profit = convergence.curve_tracking_error(joint.curve, frozen_curve, "profit")
    tracking = pd.DataFrame({"iteration": its, "parameter_distance": params.errors,
                             "profit_gap": profit.errors})
    return {"joint": joint.curve, "frozen": frozen_curve, "tracking": tracking,
            "iterates": pd.DataFrame(norms), "parameter_error": params, "profit_error": profit}


# ---- E8's figures ------------------------------------------------------------------------------
def plot_tracking(tracking: pd.DataFrame, joint: pd.DataFrame, frozen: pd.DataFrame,
                  branch_at: int):
    """E8's tracking figure from :func:`tracking_study`: left, the relative distance
    d_n = |theta_joint - theta_frozen| / |theta_frozen| of the recommender's parameters (the
    definition in the panel's title, a short label on its axis); right, the rollout profit
    of both runs with the branch point marked. Returns the figure."""
    # deferred: only drawing needs matplotlib; the sweep workers that run the study never load it
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    axes[0].plot(tracking["iteration"], tracking["parameter_distance"], marker="o", ms=3)
    axes[0].set_title(r"$d_n = \|\theta^{joint}_n - \theta^{frozen}_n\| \,/\, "
                      r"\|\theta^{frozen}_n\|$, recommender parameters", fontsize="medium")
    axes[0].set(xlabel="iteration n", ylabel="relative distance $d_n$")
    for name, curve in (("joint", joint), ("replenisher frozen", frozen)):
        axes[1].plot(curve["iteration"], curve["profit"], label=name)
    axes[1].axvline(branch_at, color="grey", ls="--", lw=1)
    axes[1].annotate(f"branch at {branch_at}", (branch_at, 1.0), xycoords=("data", "axes fraction"),
                     xytext=(3, -12), textcoords="offset points", fontsize="small", color="grey")
    axes[1].set(xlabel="iteration n", ylabel="rollout profit per period",
                title="training rollout profit (sampled actions)")
    axes[1].legend(fontsize="small")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig
