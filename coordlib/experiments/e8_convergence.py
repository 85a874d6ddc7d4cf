"""E8, convergence diagnostics (MODEL.md section 6): the linear teaching example, the step sizes the
learner used, the fast agent against its best response to a frozen slow agent.

The result tested is Borkar's two-timescale theorem (Borkar 1997, "Stochastic approximation with
two time scales", Systems & Control Letters 29; Borkar 2008, chapter 6) and its extension to N
timescales (Deb and Bhatnagar, "N-timescale stochastic approximation", 2022), which covers MTMA's
three-level arrangement critic (fastest) / recommender (fast) / replenisher (slow). Its
assumptions, and where the implementation stands on each:

- (A1) the mean fields h, g are Lipschitz: met locally (smooth networks, bounded inputs), not
  globally (PPO's clipped surrogate is piecewise smooth);
- (A2) martingale-difference noise with second moments at most K (1 + |x|^2 + |y|^2): not met
  as stated: rollouts give Markov noise (Borkar's Markov-noise variant applies), and Adam
  rescales each step by its own running moments;
- (A3) sum a_n = sum b_n = inf, sum a_n^2 + b_n^2 < inf, b_n / a_n -> 0 (and, for N timescales,
  each slower over each faster -> 0): met by the configured schedules
  (:func:`schedule_diagnostics` checks the recorded ones); :data:`SEPARATED_SCHEDULE` makes the
  ratio small *within* the run, which the default (0.3 -> 0.2 over 300 updates) does not;
- (A4) iterates bounded almost surely: not guaranteed (no projection of the network weights);
  observed through the parameter norms (``iterates``);
- (A5) for each slow y, the fast ODE has a globally asymptotically stable equilibrium
  lambda(y), Lipschitz in y: not verifiable for neural policies; :func:`tracking_study`
  measures its consequence (the fast agent near its best response to a frozen slow agent) with
  the noise floor of that best response as its error bar;
- (A6) the slow ODE along lambda has a globally asymptotically stable equilibrium: not
  verifiable; the stationarity tests on the slow iterates measure its consequence.

On the linear teaching example (:func:`teaching_paths`) every assumption holds and the limit is
known, so the same diagnostics read there show what a confirmation looks like.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..learning import convergence, schedules
from ..learning.config import config_for
from ..learning.training import train
from ..model.rollout import exposures_on, visited
from .e5_timescales import curve_stationarity

# ---- E8: convergence diagnostics ----------------------------------------------------------------
SEPARATED_SCHEDULE = {"timescale_ratio": 0.1, "decay_start": 10.0}
"""TrainConfig overrides under which alpha_slow / alpha_fast falls from 0.1 to below 0.04 within
300 updates (0.1 (1 + n / 10)^-0.3), so that the slow agent is nearly still on the fast one's
clock during the run, not only as n -> infinity."""

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


WINDOW = 0.25
"""Share of the records after the branch point that :func:`window_means` averages at each end:
single records of a tracking distance swing with the rollout noise, means over a quarter of
the records do not."""


def window_means(values, share: float = WINDOW) -> dict:
    """Mean and standard error of the first and of the last ``share`` of a series of records
    (at least two records each, so short runs use more than ``share``): ``{"early",
    "early_se", "late", "late_se"}``. The standard error is that of a mean of consecutive
    records read as independent, so it is a lower bound where the records are correlated."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if not 0 < share <= 0.5:
        raise ValueError(f"share must be in (0, 0.5], got {share!r}")
    k = max(2, int(len(x) * share))
    if 2 * k > len(x):
        raise ValueError(f"window_means: {len(x)} records are too few for two windows of at "
                         f"least 2 (share {share:g})")
    early, late = x[:k], x[-k:]
    return {"early": float(early.mean()), "early_se": float(early.std(ddof=1) / np.sqrt(k)),
            "late": float(late.mean()), "late_se": float(late.std(ddof=1) / np.sqrt(k))}


TRACKED = {"parameter_distance": "relative parameter distance",
           "noise_floor": "best-response noise floor",
           "exposure_distance": "exposure distance",
           "exposure_noise_floor": "exposure noise floor"}
"""The columns of :func:`tracking_study`'s ``tracking`` frame that :func:`tracking_checks`
summarizes, with their names in E8's diagnostics table."""


def tracking_label(name: str, end: str, error: bool = False) -> str:
    """The diagnostics-table label of a tracking window mean (``end`` "early" or "late")."""
    if end not in ("early", "late"):
        raise ValueError(f"end must be 'early' or 'late', got {end!r}")
    where = "first" if end == "early" else "last"
    what = "standard error of the mean" if error else "mean"
    return f"tracking: {name}, {what} over the {where} {WINDOW:.0%} of records"


def tracking_checks(tracking: pd.DataFrame) -> list[dict]:
    """E8's tracking rows: for each column of :data:`TRACKED` present, the mean and standard
    error over the first and the last :data:`WINDOW` of the records after the branch point
    (:func:`window_means`), as ``{"check", "value"}`` rows."""
    rows = []
    for column, name in TRACKED.items():
        if column in tracking:
            m = window_means(tracking[column])
            rows += [{"check": tracking_label(name, end, error),
                      "value": m[end + ("_se" if error else "")]}
                     for end in ("early", "late") for error in (False, True)]
    return rows


def teaching_diagnostics(paths: pd.DataFrame, branch: float = 0.5, batches: int = 6) -> pd.DataFrame:
    """The learner's diagnostics read on :func:`teaching_paths`, where lambda(y) is exact: per
    design, the tracking distance |x_n - lambda(y_n)| averaged over the first and the last
    :data:`WINDOW` of the updates after the fraction ``branch`` of the run
    (:func:`window_means`: ``tracking_early``, ``tracking_late``), the final distance to the
    limit, and the
    stationarity verdict on the tail (after ``branch``) of the slow iterate y (None when the
    path was stopped by the projection bound, ``hit_bound``: a pinned iterate is not a
    stationary one)."""
    if not 0 < branch < 1:
        raise ValueError(f"branch must be in (0, 1), got {branch!r}")
    rows = []
    for design, g in paths.groupby("design", sort=False):
        g = g.sort_values("n")
        after = g[g["n"] >= branch * g["n"].max()]
        bound = g["hit_bound"].dropna() if "hit_bound" in g else pd.Series(dtype=float)
        hit = int(bound.iloc[0]) if len(bound) else None
        means = window_means(after["tracking"])
        rows.append({"design": design, "tracking_early": means["early"],
                     "tracking_late": means["late"],
                     "distance_last": float(g["distance"].iloc[-1]), "hit_bound": hit,
                     "slow_stationary": None if hit is not None else bool(
                         convergence.stationarity(after["y"].to_numpy(float), tail=1.0,
                                                  batches=batches).stationary)})
    return pd.DataFrame(rows)


def recorded_ratio(curve: pd.DataFrame, fast: str = "recommender",
                   slow: str = "replenisher") -> dict:
    """alpha_slow / alpha_fast as recorded in the learning curve, at its first and last update."""
    for agent in (fast, slow):
        if f"lr_{agent}" not in curve:
            raise ValueError(f"recorded_ratio: the curve has no column lr_{agent}")
    r = curve[f"lr_{slow}"].to_numpy(float) / curve[f"lr_{fast}"].to_numpy(float)
    return {"first": float(r[0]), "last": float(r[-1])}


def schedule_diagnostics(curve: pd.DataFrame, fast: str = "recommender",
                         slow: str = "replenisher", n: int | None = None):
    """Fit the schedules of the step sizes MTMA recorded (``lr_<agent>`` columns of the
    learning curve, alpha(n) of MODEL.md section 6) and check (A3) on the fitted ones.

    Returns ``(fitted, report)``: a table of the fitted a, n0, rho per agent (critic too when
    present) and :class:`coordlib.learning.schedules.ScheduleReport` for (fast, slow), its
    partial sums and ratio taken at ``n`` (None: the run's last update).
    """
    if n is None:
        n = max(1, len(curve))
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
                   settings: dict | None = None, replicate_seed: int | None = None) -> dict:
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

    ``replicate_seed`` adds a second frozen run from the same snapshot with other rollout noise;
    ``tracking["noise_floor"]`` is then the relative distance between the two frozen runs'
    recommenders: the error of the best response itself, below which the joint run's distance
    cannot be told from zero.

    The same comparison in policy space: ``tracking["exposure_distance"]`` is the mean total
    variation distance, 1/2 sum_i |x_ki - x'_ki| averaged over segments, copies and periods,
    between the exposures the joint and the frozen recommender choose on one fixed path of
    states (:func:`coordlib.model.rollout.visited` by the snapshot's policy), and
    ``exposure_noise_floor`` the same between the two frozen runs. Parameters are not
    identifiable (different weights can make the same policy), so the distance of the policies
    is the one the theorem's lambda(y) speaks of; it is in [0, 1] on every scenario.
    """

    if not 1 <= branch_at < iterations:
        raise ValueError(f"branch_at must be in 1..{iterations - 1}, got {branch_at}")
    settings = dict(settings or {})
    joint_params, norms, snapshot = [], [], {}

    joint_exposures = []

    def record_joint(learner, row):
        if learner.iteration == branch_at:
            snapshot["state"] = {k: v.detach().clone()
                                 for k, v in learner.agents.state_dict().items()}
            snapshot["path"] = visited(scenario, learner.policy(True), seed=seed + 4099)
        if learner.iteration > branch_at:
            joint_params.append(learner.parameters_of("recommender").numpy())
            joint_exposures.append(exposures_on(scenario, learner.policy(True),
                                                snapshot["path"]))
        norms.append({"iteration": learner.iteration,
                      **{g: float(learner.parameters_of(g).norm()) for g in learner.groups}})

    joint = train(scenario, config_for("mtma", seed=seed, iterations=iterations, **settings),
                  progress=False, callback=record_joint, evaluate_policy=False)
    if replicate_seed is not None and int(replicate_seed) == int(seed):
        raise ValueError(f"replicate_seed must differ from seed {seed}, got {replicate_seed}")

    def frozen_run(run_seed):
        params, exposures = [], []

        def record(learner, row):
            params.append(learner.parameters_of("recommender").numpy())
            exposures.append(exposures_on(scenario, learner.policy(True), snapshot["path"]))

        result = train(scenario, config_for("mtma", seed=run_seed,
                                            iterations=iterations - branch_at,
                                            frozen=("replenisher",), **settings),
                       progress=False, init_from=snapshot["state"], evaluate_policy=False,
                       callback=record)
        return result, params, exposures

    frozen, frozen_params, frozen_exposures = frozen_run(seed)
    frozen_curve = frozen.curve.assign(iteration=frozen.curve["iteration"] + branch_at)
    its = np.arange(branch_at + 1, iterations + 1)
    params = convergence.tracking_error(np.array(joint_params), np.array(frozen_params),
                                        iterations=its, metric="l2", relative=True)
    profit = convergence.curve_tracking_error(joint.curve, frozen_curve, "profit")
    tracking = pd.DataFrame({"iteration": its, "parameter_distance": params.errors,
                             "profit_gap": profit.errors,
                             "exposure_distance": _exposure_distance(joint_exposures,
                                                                     frozen_exposures)})
    if replicate_seed is not None:
        _, replicate_params, replicate_exposures = frozen_run(int(replicate_seed))
        tracking["noise_floor"] = convergence.tracking_error(
            np.array(replicate_params), np.array(frozen_params), iterations=its, metric="l2",
            relative=True).errors
        tracking["exposure_noise_floor"] = _exposure_distance(replicate_exposures,
                                                              frozen_exposures)
    return {"joint": joint.curve, "frozen": frozen_curve, "tracking": tracking,
            "iterates": pd.DataFrame(norms), "parameter_error": params, "profit_error": profit}


STUDY_FRAMES = ("joint", "frozen", "tracking", "iterates")
"""The frames of :func:`tracking_study` that :func:`cached_study` keeps."""
TEACHING = "teaching example"
"""The ``scenario`` of the diagnostics rows read on the teaching example (:func:`diagnostics_table`)."""


def cached_study(store, scenario: str, iterations: int, branch_at: int, seed: int,
                 n_envs: int) -> dict:
    """:func:`tracking_study` of ``scenario`` on :data:`SEPARATED_SCHEDULE` with a replicate
    frozen run (seed + 1, the noise floor), computed once per code version in ``store`` (a
    :class:`coordlib.pipeline.results.ResultStore`); the frames of :data:`STUDY_FRAMES`."""
    settings = dict(n_envs=n_envs, **SEPARATED_SCHEDULE)
    key = dict(study="e8-tracking", scenario=scenario, seed=seed, iterations=iterations,
               branch_at=branch_at, replicate_seed=seed + 1, **settings)

    def compute():
        out = tracking_study(scenario, iterations, branch_at, seed=seed, settings=settings,
                             replicate_seed=seed + 1)
        return {k: out[k].to_dict("records") for k in STUDY_FRAMES}

    record = store.cached("studies", key, compute)
    return {k: pd.DataFrame(record[k]) for k in STUDY_FRAMES}


def learner_checks(study: dict) -> list[dict]:
    """The learner's rows of E8's diagnostics from one :func:`cached_study`: stationarity of
    the learning curve and of the iterates (None where the run is too short to test), the
    recorded schedules (Robbins-Monro, ratio -> 0, the ratio at the first and the last
    update), the tracking window means (:func:`tracking_checks`) and the mean profit gap."""
    joint, tracking, iterates = study["joint"], study["tracking"], study["iterates"]
    curve = curve_stationarity(joint["profit"])
    groups = [c for c in iterates.columns if c != "iteration"]
    stationary = None
    if len(iterates) // 2 // 6 >= 2:
        stationary = convergence.iterate_stationarity(iterates[groups].to_numpy(), names=groups,
                                                      batches=6).stationary
    _, report = schedule_diagnostics(joint)
    ratio = recorded_ratio(joint)
    return [{"check": "learning curve (profit) stationary", "value": curve["stationary"]},
            {"check": "learning curve: trend of the tail [profit per iteration]",
             "value": curve["slope"]},
            {"check": "iterates (parameter norms) stationary", "value": stationary},
            {"check": "schedules Robbins-Monro (fast, slow)",
             "value": report.fast.robbins_monro and report.slow.robbins_monro},
            {"check": "slow/fast step ratio -> 0", "value": report.ratio_tends_to_zero},
            {"check": "slow/fast step ratio at the first update (recorded)",
             "value": ratio["first"]},
            {"check": "slow/fast step ratio at the last update (recorded)",
             "value": ratio["last"]},
            *tracking_checks(tracking),
            {"check": "tracking: mean |profit gap| per period",
             "value": float(tracking["profit_gap"].mean())}]


def shown(value):
    """A diagnostics value as the table shows it: yes/no, a rounded number, or the reason a
    check was not made (None: the curve was too short to test); text is kept as it is."""
    if isinstance(value, str):
        return value
    if value is None:
        return "not tested (curve too short)"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return round(float(value), 6)


def diagnostics_table(rows_by_scenario: dict) -> pd.DataFrame:
    """E8's diagnostics table: one row per (scenario, check), values as :func:`shown` gives
    them; ``rows_by_scenario`` maps a scenario (or :data:`TEACHING`) to its ``{"check",
    "value"}`` rows."""
    return pd.DataFrame([{"scenario": scenario, "check": r["check"], "value": shown(r["value"])}
                         for scenario, rows in rows_by_scenario.items() for r in rows])


def _exposure_distance(a, b) -> np.ndarray:
    """Per record, the mean total variation distance between two lists of exposures
    (T, B, K, N) chosen on the same path."""
    return np.array([0.5 * np.abs(x - y).sum(axis=-1).mean() for x, y in zip(a, b)])


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


def teaching_summary(paths: pd.DataFrame) -> pd.DataFrame:
    """Per design of :func:`teaching_paths`: the distance to the limit (x*, y*) averaged over
    the first and the last :data:`WINDOW` of the updates (:func:`window_means`), their ratio,
    and whether the path hit the projection bound. Columns: design, early, late, shrink
    (late / early), hit_bound."""
    rows = []
    for design, g in paths.groupby("design", sort=False):
        means = window_means(g.sort_values("n")["distance"])
        rows.append({"design": design, "early": means["early"], "late": means["late"],
                     "shrink": means["late"] / means["early"],
                     "hit_bound": bool(g["hit_bound"].any())})
    return pd.DataFrame(rows)


def teaching_sentence(paths: pd.DataFrame) -> str:
    """What the teaching figure shows, in numbers from :func:`teaching_summary`: how far each
    design is from the limit early and late, so the text says "approaches" where the distance
    is still falling and "runs off" where the path hits the bound."""
    parts = []
    for r in teaching_summary(paths).itertuples():
        if r.hit_bound:
            parts.append(f"{r.design}: runs off to the projection bound (mean distance "
                         f"{r.late:.3g} over the last quarter)")
        else:
            parts.append(f"{r.design}: approaches the limit without reaching it in "
                         f"{int(paths['n'].max()):,} updates (mean distance {r.early:.3g} over the "
                         f"first quarter, {r.late:.3g} over the last: x{r.shrink:.2f}; the noise "
                         f"shrinks only as fast as the step sizes decay)")
    return "; ".join(parts) + "."


def plot_teaching(paths: pd.DataFrame, limit, every: int = 20):
    """E8's teaching figure: one panel per design of :func:`teaching_paths` (the distance to
    the limit (x*, y*) against the update n, log scale, every ``every``-th update, with its
    rolling median over 50 points), so no design's curve hides another's, and the right
    ordering's path in the (x, y) plane with the limit marked. Returns the figure."""
    # deferred: only drawing needs matplotlib
    import matplotlib.pyplot as plt

    designs = list(dict.fromkeys(paths["design"]))
    colors = dict(zip(designs, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig = plt.figure(figsize=(15, 4.2))
    grid = fig.add_gridspec(1, len(designs) + 1, width_ratios=[1] * len(designs) + [1.3])
    first = None
    for k, design in enumerate(designs):
        ax = fig.add_subplot(grid[0, k], sharey=first)
        first = first or ax
        thin = paths[(paths["design"] == design) & (paths["n"] % every == 0)]
        ax.plot(thin["n"], thin["distance"], color=colors[design], lw=0.6, alpha=0.6)
        ax.plot(thin["n"], thin["distance"].rolling(50, min_periods=1, center=True).median(),
                color="black", lw=1.2, label="rolling median")
        ax.set(yscale="log", xlabel="update n", title=design)
        ax.set_title(design, fontsize="small")
        if k == 0:
            ax.set_ylabel("distance to (x*, y*)")
            ax.legend(fontsize="x-small", loc="lower left")
    ax = fig.add_subplot(grid[0, len(designs)])
    right = paths[(paths["design"] == designs[0]) & (paths["n"] % every == 0)]
    ax.plot(right["x"], right["y"], lw=0.6, color=colors[designs[0]])
    ax.plot(*limit, "*", color="black", ms=14, label="(x*, y*)")
    ax.legend(fontsize="small")
    ax.set(xlabel="x", ylabel="y", title=f"{designs[0]}: path in the (x, y) plane")
    ax.title.set_fontsize("small")
    fig.tight_layout()
    return fig
