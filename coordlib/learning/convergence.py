"""Convergence diagnostics of the multi-timescale learner (MODEL.md section 6, "Convergence").

The result MTMA relies on
-------------------------
Two-timescale stochastic approximation (Borkar 1997, "Stochastic approximation with two time
scales", Systems & Control Letters 29, 291-294; Borkar 2008, "Stochastic Approximation: A
Dynamical Systems Viewpoint", chapter 6 "Multiple timescales"). Two coupled iterations,

    x_{n+1} = x_n + a_n (h(x_n, y_n) + M_{n+1})        (fast)
    y_{n+1} = y_n + b_n (g(x_n, y_n) + M'_{n+1})       (slow)

under the assumptions

(A1) h and g are Lipschitz;
(A2) M, M' are martingale-difference sequences with respect to the history, with conditional
     second moments bounded by K (1 + |x_n|^2 + |y_n|^2) (bounded conditional variance is a
     special case);
(A3) sum a_n = sum b_n = infinity, sum (a_n^2 + b_n^2) < infinity, and b_n / a_n -> 0;
(A4) the iterates stay bounded almost surely (enforced in practice by projection);
(A5) for every fixed y the fast ODE  xdot = h(x, y)  has a globally asymptotically stable
     equilibrium lambda(y), and lambda is Lipschitz;
(A6) the slow ODE  ydot = g(lambda(y), y)  has a globally asymptotically stable equilibrium y*;

conclude that (x_n, y_n) -> (lambda(y*), y*) almost surely. On the slow clock the fast iterate
looks equilibrated (x_n - lambda(y_n) -> 0: the fast one *tracks* its equilibrium); on the fast
clock the slow one looks frozen. Iterating the argument gives any number of timescales.

How MTMA maps onto it (MODEL.md section 6): the critic is the fastest iterate (it tracks the
value of the current pair of policies), the recommender is fast (it tracks its best response
to the current replenisher, on advantages of the shared profit), and the replenisher is slow
(it follows the ODE of its averaged policy gradient along the recommender's response). The step
sizes alpha_critic(n) >> alpha_recommender(n) >> alpha_replenisher(n), with each ratio -> 0, are
condition (A3) applied twice.

What the learner does *not* satisfy, and what that leaves: the actors and the critic are
neural networks, so the objectives are non-convex and the fast ODE has many equilibria: (A5)
and (A6) hold at best locally, so the guarantee is convergence to a locally asymptotically
stable point of the ODE once the iterates enter its domain of attraction (not to the DP optimum
g*, nor to a global best response). The critic's limit is only an approximation of the value
(a biased advantage, so a neighbourhood of an equilibrium at best); PPO's clipping and its
reuse of minibatches make the update a surrogate step, not an unbiased sample of one fixed mean
field; samples come from a Markov chain, not martingale differences (Borkar 2008, chapter 6,
"averaging the natural timescale", covers Markov noise under further conditions); Adam rescales each coordinate, so only
the base step sizes follow the schedule; constant step sizes give convergence in distribution
to a neighbourhood of size O(sqrt(step)), not almost surely. The checks below are therefore
empirical: they test the consequences of the theorem (the schedule conditions, the fast agent
tracking its best response to a frozen slow agent, stationarity of the iterates and the
learning curve), not its assumptions.

Contents
--------
- Step-size schedules: :func:`coordlib.learning.schedules.constant`, :func:`decaying`, :func:`coordlib.learning.schedules.fit_schedule` (recover one
  from recorded step sizes) and :func:`coordlib.learning.schedules.check_schedule` (Robbins-Monro and ratio verdicts).
- Tracking error: :func:`tracking_error`, :func:`curve_tracking_error`.
- Stationarity: :func:`stationarity`, :func:`iterate_stationarity`.
- The teaching example: :class:`LinearTwoTimescale` and :func:`two_timescale_example`, a
  linear two-timescale system whose limit is known in closed form, that converges with the
  right ordering and oscillates or drifts with the wrong one.

Everything here takes plain inputs (numbers, arrays, callables, DataFrames), so it applies to
any learner's records; none of it draws figures.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
from scipy import linalg, stats

from .schedules import _positive, as_schedule, decaying, scaled

# ---------------------------------------------------------------------------------------------
# Tracking error of the fast agent
# ---------------------------------------------------------------------------------------------

DISTANCES = ("l2", "rms", "max", "abs", "tv")


@dataclass(frozen=True)
class TrackingError:
    """Distance between the fast agent's iterate in the joint run and its best response.

    ``errors[t]`` is the distance at record t (``iterations[t]``); ``initial`` and ``final``
    are its means over the first and the last ``window`` records, ``reduction`` = final /
    initial. Two-timescale theory predicts errors -> 0 (with decaying steps) or to a noise
    floor (with constant steps).
    """

    iterations: np.ndarray
    errors: np.ndarray
    metric: str
    relative: bool
    window: int
    initial: float
    final: float
    reduction: float

    def to_frame(self) -> pd.DataFrame:
        """Columns ``iteration``, ``tracking_error``."""
        return pd.DataFrame({"iteration": self.iterations, "tracking_error": self.errors})


def _distance(diff: np.ndarray, metric: str, reference: Optional[np.ndarray] = None) -> np.ndarray:
    flat = diff.reshape(diff.shape[0], -1)
    if metric in ("l2", "abs"):
        return np.sqrt(np.square(flat).sum(axis=1))
    if metric == "rms":
        return np.sqrt(np.square(flat).mean(axis=1))
    if metric == "max":
        return np.abs(flat).max(axis=1)
    # tv: half the L1 distance over the last axis, averaged over the others
    tv = 0.5 * np.abs(diff).sum(axis=-1)
    return tv.reshape(diff.shape[0], -1).mean(axis=1)


def tracking_error(joint, best_response, *, iterations=None, metric: str = "l2",
                   relative: bool = False, window: Optional[int] = None) -> TrackingError:
    """Tracking error of the fast agent over time: distance(joint[t], best_response[t]).

    Parameters
    ----------
    joint : array (T, ...)
        the fast agent's iterate x_n in the joint run at T records: its parameters, or its
        outputs on a fixed probe set of states (e.g. the recommender's exposures x_k, shape
        (T, states, K, N)), or a scalar metric such as its profit (shape (T,)).
    best_response : array, same shape
        lambda(y_n): the fast agent's best response to the slow agent held fixed at the same
        record (trained with the slow agent frozen), measured the same way.
    iterations : array (T,), optional
        the update index of each record (default 0..T-1).
    metric : str
        ``"l2"`` (Euclidean norm over all trailing entries; ``"abs"`` is the same for
        scalars), ``"rms"`` (root mean square), ``"max"`` (largest absolute entry) or ``"tv"``
        (total-variation distance 1/2 sum_j |x_j - x'_j| over the last axis, which must hold
        points of the simplex such as exposures; averaged over the other axes).
    relative : bool
        divide each distance by the same norm of ``best_response`` (not for ``"tv"``).
    window : int, optional
        records averaged for ``initial`` and ``final`` (default max(1, T // 10)).
    """
    x, br = np.asarray(joint, dtype=float), np.asarray(best_response, dtype=float)
    if x.shape != br.shape:
        raise ValueError(f"tracking_error: joint {x.shape} and best_response {br.shape} "
                         "must have the same shape")
    if x.ndim == 0 or x.shape[0] < 1:
        raise ValueError("tracking_error: need at least one record (first axis = time)")
    if np.any(~np.isfinite(x)) or np.any(~np.isfinite(br)):
        raise ValueError("tracking_error: iterates must be finite")
    if metric not in DISTANCES:
        raise ValueError(f"tracking_error: metric must be one of {DISTANCES}, got {metric!r}")
    if metric == "tv":
        if relative:
            raise ValueError("tracking_error: the tv distance is already relative")
        for name, p in (("joint", x), ("best_response", br)):
            if x.ndim < 2 or np.any(p < -1e-9) or np.any(np.abs(p.sum(axis=-1) - 1) > 1e-6):
                raise ValueError(f"tracking_error: metric 'tv' needs {name} on the simplex "
                                 "(non-negative, summing to 1 over the last axis)")
    if metric == "abs" and x.ndim != 1:
        raise ValueError("tracking_error: metric 'abs' is for scalar records (shape (T,))")
    T = x.shape[0]
    it = np.arange(T) if iterations is None else np.asarray(iterations)
    if it.shape != (T,):
        raise ValueError(f"tracking_error: iterations must have shape ({T},)")
    errors = _distance(x - br, metric)
    if relative:
        scale = _distance(br, metric)
        if np.any(scale <= 0):
            raise ValueError("tracking_error: relative error undefined where best_response is 0")
        errors = errors / scale
    window = max(1, T // 10) if window is None else int(window)
    if not 1 <= window <= T:
        raise ValueError(f"tracking_error: window must be in 1..{T}, got {window}")
    initial, final = float(errors[:window].mean()), float(errors[-window:].mean())
    return TrackingError(iterations=it, errors=errors, metric=metric, relative=relative,
                         window=window, initial=initial, final=final,
                         reduction=final / initial if initial > 0 else float("nan"))


def curve_tracking_error(joint_curve: pd.DataFrame, frozen_curve: pd.DataFrame, column: str,
                         on: str = "iteration", relative: bool = False,
                         window: Optional[int] = None) -> TrackingError:
    """Tracking error from two learning curves: the joint run and the run with the slow agent
    frozen (its fast agent then learns its best response to the frozen slow agent).

    ``column`` is the scalar compared (e.g. the mean profit per period), ``on`` the column both
    curves are aligned on (records present in both are kept). The distance is |difference|.
    """
    for name, frame in (("joint_curve", joint_curve), ("frozen_curve", frozen_curve)):
        missing = {column, on} - set(frame.columns)
        if missing:
            raise ValueError(f"curve_tracking_error: {name} lacks column(s) {sorted(missing)}")
    merged = pd.merge(joint_curve[[on, column]], frozen_curve[[on, column]], on=on,
                      suffixes=("_joint", "_frozen")).sort_values(on)
    if merged.empty:
        raise ValueError(f"curve_tracking_error: the curves share no value of {on!r}")
    return tracking_error(merged[f"{column}_joint"].to_numpy(),
                          merged[f"{column}_frozen"].to_numpy(), iterations=merged[on].to_numpy(),
                          metric="abs", relative=relative, window=window)


# ---------------------------------------------------------------------------------------------
# Stationarity
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stationarity:
    """Stationarity tests on the tail of a series (a learning curve or one coordinate of the
    iterates). The tail is cut into ``batches`` consecutive batches; the batch means are
    nearly independent once a batch is much longer than the correlation time, which is what
    makes the tests valid for autocorrelated series.

    - mean shift: Welch t-test of the batch means of the first half of the tail against those
      of the second half (``mean_first``, ``mean_second``, ``welch_t``, ``welch_p``);
    - trend: least-squares slope of the batch means on time, per step, with its
      (1 - alpha/3) confidence interval (``slope``, ``slope_ci``, ``slope_p``);
    - spread: Welch t-test of the log within-batch variances, first half against second half
      (``spread_ratio`` = mean within-batch variance second / first, ``spread_p``), which
      catches growing oscillations that leave the mean unchanged (the symptom of a wrong
      timescale ordering). By default one-sided: fluctuations that shrink are what decaying
      step sizes produce while the iterates converge, and are not counted against them;
    - batch-means variance: ``tail_mean`` with its standard error ``tail_mean_se``, the
      long-run variance (batch size x variance of the batch means), the plain sample variance
      and their ratio ``inefficiency`` (about 1 + 2 sum of autocorrelations).
    - ``batch_lag1_autocorrelation``: lag-1 autocorrelation of the detrended batch means. The
      tests assume it is near 0 (its sd is about 1/sqrt(batches)); well above that (say > 0.5
      with 20 batches) the batches are shorter than the correlation time, the p-values are too
      small, and a longer series or fewer batches is needed. Slow iterates under decaying
      steps are the typical case: their correlation time grows like 1/b_n.

    ``stationary`` is True when no test rejects at level alpha/3 (Bonferroni: the overall
    false-alarm rate is at most about alpha when the batch means are independent).
    """

    stationary: bool
    alpha: float
    n_tail: int
    batches: int
    batch_size: int
    mean_first: float
    mean_second: float
    welch_t: float
    welch_p: float
    slope: float
    slope_ci: tuple
    slope_p: float
    spread_ratio: float
    spread_p: float
    tail_mean: float
    tail_mean_se: float
    long_run_variance: float
    sample_variance: float
    inefficiency: float
    batch_lag1_autocorrelation: float

    def to_dict(self) -> dict:
        return asdict(self)


def _validate_series(series, name: str) -> np.ndarray:
    x = np.asarray(series, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{name}: the series must be 1-D, got shape {x.shape}")
    if np.any(~np.isfinite(x)):
        raise ValueError(f"{name}: the series holds NaN or inf")
    return x


def _pvalue(p, difference: float, alternative: str) -> float:
    """A t-test's p-value; where it is undefined (both groups without spread), 0 when the
    groups differ in the tested direction and 1 otherwise."""
    if np.isfinite(p):
        return float(p)
    if alternative == "increase":
        return 0.0 if difference > 0 else 1.0
    return 0.0 if difference != 0 else 1.0


def stationarity(series, *, tail: float = 0.5, batches: int = 20, alpha: float = 0.05,
                 spread: str = "increase") -> Stationarity:
    """Test whether the tail of ``series`` is stationary (see :class:`Stationarity`).

    Parameters
    ----------
    series : array (T,) or pandas Series
        e.g. the learning curve's mean profit per period per iteration, or one coordinate of
        the iterates; ordered in time.
    tail : float in (0, 1]
        fraction of the series examined, counted from its end (the burn-in is ignored).
    batches : int
        number of batches the tail is cut into; even, >= 6. The batch size is the tail length
        // batches (leftover points at the start of the tail are dropped).
    alpha : float
        overall level of the three tests.
    spread : str
        ``"increase"`` (default) rejects only a growing spread; ``"change"`` also a shrinking one.
    """
    x = _validate_series(series, "stationarity")
    if spread not in ("increase", "change"):
        raise ValueError(f"stationarity: spread must be 'increase' or 'change', got {spread!r}")
    if not 0 < tail <= 1:
        raise ValueError(f"stationarity: tail must be in (0, 1], got {tail!r}")
    if isinstance(batches, bool) or int(batches) != batches or batches < 6 or batches % 2:
        raise ValueError(f"stationarity: batches must be an even whole number >= 6, got {batches!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"stationarity: alpha must be in (0, 1), got {alpha!r}")
    batches = int(batches)
    n_tail = int(x.size * tail)
    size = n_tail // batches
    if size < 2:
        raise ValueError(f"stationarity: the tail ({n_tail} points) is too short for {batches} "
                         "batches of at least 2 points")
    used = size * batches
    start = x.size - used
    blocks = x[start:].reshape(batches, size)
    means = blocks.mean(axis=1)
    variances = blocks.var(axis=1, ddof=1)
    half = batches // 2
    level = alpha / 3

    centers = start + size * np.arange(batches) + (size - 1) / 2
    if np.ptp(means) == 0:  # identical batch means: no evidence of a shift or a trend
        welch_t, welch_p, slope, stderr, slope_p, intercept = 0.0, 1.0, 0.0, 0.0, 1.0, means[0]
    else:
        with warnings.catch_warnings():  # degenerate (spread-free) groups are handled below
            warnings.simplefilter("ignore", RuntimeWarning)
            welch = stats.ttest_ind(means[:half], means[half:], equal_var=False)
        fit = stats.linregress(centers, means)
        welch_t = float(welch.statistic)
        welch_p = _pvalue(welch.pvalue, means[half:].mean() - means[:half].mean(), "change")
        slope, stderr, slope_p, intercept = fit.slope, fit.stderr, float(fit.pvalue), fit.intercept
    q = stats.t.ppf(1 - level / 2, batches - 2)
    if np.ptp(variances) == 0:  # identical spreads (e.g. a constant series)
        spread_p = 1.0
    else:  # the floor keeps constant stretches (zero variance) finite on the log scale
        logs = np.log(variances + 1e-12 * variances.max())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            test = stats.ttest_ind(logs[:half], logs[half:], equal_var=False,
                                   alternative="less" if spread == "increase" else "two-sided")
        spread_p = _pvalue(test.pvalue, logs[half:].mean() - logs[:half].mean(), spread)
    first, second = variances[:half].mean(), variances[half:].mean()
    spread_ratio = float(second / first) if first > 0 else (1.0 if second == 0 else math.inf)

    var_means = float(means.var(ddof=1))
    sample_var = float(x[start:].var(ddof=1))
    resid = means - (intercept + slope * centers)
    lag1 = (float(np.sum(resid[:-1] * resid[1:]) / np.sum(resid ** 2))
            if np.any(resid != 0) else float("nan"))
    return Stationarity(
        stationary=bool(min(welch_p, slope_p, spread_p) >= level), alpha=float(alpha),
        n_tail=used, batches=batches, batch_size=size,
        mean_first=float(means[:half].mean()), mean_second=float(means[half:].mean()),
        welch_t=welch_t, welch_p=welch_p, slope=float(slope),
        slope_ci=(float(slope - q * stderr), float(slope + q * stderr)),
        slope_p=slope_p, spread_ratio=spread_ratio, spread_p=spread_p,
        tail_mean=float(means.mean()), tail_mean_se=math.sqrt(var_means / batches),
        long_run_variance=size * var_means, sample_variance=sample_var,
        inefficiency=size * var_means / sample_var if sample_var > 0 else float("nan"),
        batch_lag1_autocorrelation=lag1)


@dataclass(frozen=True)
class IterateStationarity:
    """:func:`stationarity` per coordinate of the iterates; ``stationary`` when no coordinate
    rejects at level alpha / d (Bonferroni over the d coordinates)."""

    stationary: bool
    alpha: float
    table: pd.DataFrame


def iterate_stationarity(iterates, *, names=None, tail: float = 0.5, batches: int = 20,
                         alpha: float = 0.05, spread: str = "increase") -> IterateStationarity:
    """Stationarity of multi-dimensional iterates (T, d): e.g. the parameters of an agent or
    its outputs on a probe set at T records. Each coordinate is tested at level alpha / d."""
    z = np.asarray(iterates, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2 or z.shape[1] < 1:
        raise ValueError(f"iterate_stationarity: iterates must have shape (T, d), got {z.shape}")
    d = z.shape[1]
    names = [f"x{j}" for j in range(d)] if names is None else list(names)
    if len(names) != d:
        raise ValueError(f"iterate_stationarity: {len(names)} names for {d} coordinates")
    rows = []
    for j in range(d):
        result = stationarity(z[:, j], tail=tail, batches=batches, alpha=alpha / d,
                              spread=spread)
        row = {"coordinate": names[j], **result.to_dict()}
        row["slope_lo"], row["slope_hi"] = row.pop("slope_ci")
        rows.append(row)
    table = pd.DataFrame(rows)
    return IterateStationarity(stationary=bool(table["stationary"].all()), alpha=float(alpha),
                               table=table)


# ---------------------------------------------------------------------------------------------
# The teaching example: a linear two-timescale system with a closed-form limit
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinearTwoTimescale:
    """A linear two-timescale system whose limit is known, and which fails when reversed.

    The fast iterate x follows its best response lambda(y) = A y + c to the slow iterate y:

        h(x, y) = -(x - lambda(y))
        g(x, y) = -(y - y_star) - kappa (x - lambda(y))

    with noises noise_x xi, noise_y xi' (independent standard normals: martingale differences
    with bounded variance, (A2)). For frozen y the fast ODE xdot = h has the globally stable
    equilibrium lambda(y) (A5); on the slow manifold x = lambda(y) the kappa term vanishes and
    the slow ODE is ydot = -(y - y_star) (A6). The limit is therefore

        (x*, y*) = (A y_star + c, y_star).

    With x frozen, however, ydot = (kappa A - 1) y + const: for kappa A > 1 the slow agent's
    own dynamics are unstable, and only the fast agent's tracking holds it. Reversing the
    timescales (y fast, x slow) needs the fast ODE ydot = g(x, y) to have a stable equilibrium
    for frozen x, which it does not: the reverse reduction fails.

    Eigenvalues. With constant steps a (for x) and b = r a (for y), the mean dynamics on the
    fast clock are d/dt (x - x*, y - y*) = J_r (x - x*, y - y*), with

        J_r = [[-1, A], [-r kappa, r (kappa A - 1)]],   trace T = r (kappa A - 1) - 1,
        det = r,   eigenvalues s = T/2 +- sqrt(T^2/4 - r).

    det > 0 always, so the system is stable iff T < 0, i.e. iff r < r_crit = 1/(kappa A - 1)
    (r_crit = infinity when kappa A <= 1). As r -> 0: s_1 -> -1 (the fast mode) and s_2 ~ -r
    (the slow mode: the reduced ODE ydot = -(y - y*) on the slow clock). As r -> infinity:
    s_1 ~ r (kappa A - 1) > 0: the reversed ordering diverges. For r just above r_crit the
    eigenvalues are complex with positive real part: a growing oscillation. With decaying
    schedules, r_n = b_n / a_n -> 0 gives convergence and r_n -> infinity divergence. The
    defaults A = 1, c = 0.5, y_star = 1, kappa = 3 give (x*, y*) = (1.5, 1) and r_crit = 1/2:
    even a single timescale (r = 1) fails.
    """

    A: float = 1.0
    c: float = 0.5
    y_star: float = 1.0
    kappa: float = 3.0
    noise_x: float = 1.0
    noise_y: float = 1.0

    def __post_init__(self):
        for name in ("A", "c", "y_star", "kappa"):
            if not math.isfinite(float(getattr(self, name))):
                raise ValueError(f"LinearTwoTimescale: {name} must be finite")
        for name in ("noise_x", "noise_y"):
            _positive(f"LinearTwoTimescale: {name}", getattr(self, name), allow_zero=True)

    def best_response(self, y):
        """lambda(y) = A y + c, the fast iterate's equilibrium for frozen y."""
        return self.A * np.asarray(y, dtype=float) + self.c

    def h(self, x, y):
        """Mean field of the fast iterate."""
        return -(x - self.best_response(y))

    def g(self, x, y):
        """Mean field of the slow iterate."""
        return -(y - self.y_star) - self.kappa * (x - self.best_response(y))

    def limit(self) -> tuple[float, float]:
        """(x*, y*) = (A y_star + c, y_star)."""
        return float(self.best_response(self.y_star)), float(self.y_star)

    def jacobian(self) -> np.ndarray:
        """Jacobian of (h, g) in (x, y): [[-1, A], [-kappa, kappa A - 1]]."""
        return np.array([[-1.0, self.A], [-self.kappa, self.kappa * self.A - 1.0]])

    def critical_ratio(self) -> float:
        """r_crit = 1 / (kappa A - 1): constant-step ratios b/a below it are stable."""
        k = self.kappa * self.A - 1.0
        return 1.0 / k if k > 0 else math.inf

    def eigenvalues(self, ratio: float) -> np.ndarray:
        """Eigenvalues of J_r (fast clock) for the step ratio r = b/a, in closed form."""
        r = _positive("eigenvalues: ratio", ratio)
        trace = r * (self.kappa * self.A - 1.0) - 1.0
        root = np.sqrt(complex(trace ** 2 / 4 - r))
        return np.array([trace / 2 + root, trace / 2 - root])

    def _noise_cov(self) -> np.ndarray:
        return np.diag([self.noise_x ** 2, self.noise_y ** 2])

    def stationary_covariance(self, a: float, b: float) -> np.ndarray:
        """Stationary covariance of (x_n, y_n) for constant steps a, b (discrete Lyapunov
        equation P = F P F' + D S D with F = I + D J, D = diag(a, b), S the noise covariance).
        Raises when the recursion is unstable (spectral radius of F >= 1)."""
        D = np.diag([_positive("a", a), _positive("b", b)])
        F = np.eye(2) + D @ self.jacobian()
        radius = float(np.max(np.abs(np.linalg.eigvals(F))))
        if radius >= 1:
            raise ValueError(f"stationary_covariance: unstable recursion (spectral radius "
                             f"{radius:.4g} >= 1)")
        return linalg.solve_discrete_lyapunov(F, D @ self._noise_cov() @ D)

    def time_average_covariance(self, a: float, b: float, window: int) -> np.ndarray:
        """Covariance of the average of ``window`` consecutive stationary iterates (constant
        steps a, b): (1/W) [P + sum_{k=1}^{W-1} (1 - k/W) (F^k P + P F'^k)]."""
        P = self.stationary_covariance(a, b)
        F = np.eye(2) + np.diag([a, b]) @ self.jacobian()
        W = int(window)
        if W < 1:
            raise ValueError("time_average_covariance: window must be >= 1")
        total, Fk = P.copy(), np.eye(2)
        for k in range(1, W):
            Fk = Fk @ F
            C = Fk @ P
            total += (1 - k / W) * (C + C.T)
        return total / W

    def moments(self, step_x, step_y, n_steps: int, x0: float = 0.0, y0: float = 0.0):
        """Exact mean (n_steps+1, 2) and covariance (n_steps+1, 2, 2) of (x_n, y_n) without
        projection: the recursion is linear with Gaussian noise, so m_{n+1} = F_n m_n + D_n f,
        P_{n+1} = F_n P_n F_n' + D_n S D_n, with F_n = I + D_n J, D_n = diag(a_n, b_n)."""
        step_x, step_y = as_schedule(step_x), as_schedule(step_y)
        n = np.arange(int(n_steps), dtype=float)
        a, b = np.asarray(step_x(n), float), np.asarray(step_y(n), float)
        J, S = self.jacobian(), self._noise_cov()
        z_star = np.array(self.limit())
        mean = np.empty((n.size + 1, 2))
        cov = np.empty((n.size + 1, 2, 2))
        m, P = np.array([x0, y0], float) - z_star, np.zeros((2, 2))
        mean[0], cov[0] = m + z_star, P
        with np.errstate(over="ignore", invalid="ignore"):
            for i in range(n.size):
                D = np.diag([a[i], b[i]])
                F = np.eye(2) + D @ J
                m = F @ m
                P = F @ P @ F.T + D @ S @ D
                mean[i + 1], cov[i + 1] = m + z_star, P
        return mean, cov

    def expected_tracking_error(self, step_x, step_y, n_steps: int, x0: float = 0.0,
                                y0: float = 0.0) -> np.ndarray:
        """Exact E|x_n - lambda(y_n)| for n = 0..n_steps (no projection): x_n - lambda(y_n)
        is Gaussian with mean mu_n and variance v_n from :meth:`moments`, and the mean of
        |N(mu, v)| is sqrt(2v/pi) exp(-mu^2/2v) + mu (1 - 2 Phi(-mu/sqrt(v)))."""
        mean, cov = self.moments(step_x, step_y, n_steps, x0, y0)
        u = np.array([1.0, -self.A])
        mu = mean @ u - self.c
        sd = np.sqrt(np.einsum("i,nij,j->n", u, cov, u))
        out = np.abs(mu)
        pos = sd > 0
        m, s = mu[pos], sd[pos]
        out[pos] = (s * np.sqrt(2 / np.pi) * np.exp(-0.5 * (m / s) ** 2)
                    + m * (1 - 2 * stats.norm.cdf(-m / s)))
        return out


@dataclass(frozen=True)
class ExamplePath:
    """Iterate paths of :func:`two_timescale_example` (index n = 0..n_steps).

    ``x``, ``y``: the iterates; ``step_x``, ``step_y``: the steps a_n, b_n used from n to n+1
    (last entry NaN); ``best_response``: lambda(y_n); ``tracking``: |x_n - lambda(y_n)|;
    ``distance``: Euclidean distance of (x_n, y_n) to the limit; ``hit_bound``: first n at
    which the projection on the box [-bound, bound]^2 acted (None if never).
    """

    n: np.ndarray
    x: np.ndarray
    y: np.ndarray
    step_x: np.ndarray
    step_y: np.ndarray
    best_response: np.ndarray
    tracking: np.ndarray
    distance: np.ndarray
    limit: tuple
    hit_bound: Optional[int]
    problem: LinearTwoTimescale = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per n, for plotting."""
        return pd.DataFrame({"n": self.n, "x": self.x, "y": self.y, "step_x": self.step_x,
                             "step_y": self.step_y, "best_response": self.best_response,
                             "tracking": self.tracking, "distance": self.distance})


def two_timescale_example(step_x=decaying(0.5, 100, 0.6), step_y=decaying(0.1, 100, 1.0),
                          n_steps: int = 20_000, seed: int = 0, *, ratio: Optional[float] = None,
                          problem: Optional[LinearTwoTimescale] = None, x0: float = 0.0,
                          y0: float = 0.0, freeze_y: bool = False,
                          bound: float = 1e3) -> ExamplePath:
    """Run the stochastic approximation of :class:`LinearTwoTimescale`.

        x_{n+1} = P(x_n + a_n (h(x_n, y_n) + noise_x xi_n))
        y_{n+1} = P(y_n + b_n (g(x_n, y_n) + noise_y xi'_n))

    Parameters
    ----------
    step_x, step_y
        schedules of x (a_n, designed to be fast) and of y (b_n, designed to be slow); anything
        :func:`as_schedule` accepts (a number is a constant step). The defaults satisfy the
        two-timescale conditions (b_n/a_n = 0.2 (1+n/100)^-0.4 -> 0); swap them for the wrong
        ordering.
    n_steps : int
        number of updates.
    seed : int
        seed of the noise; same seed, same path.
    ratio : float, optional
        if given, step_y is replaced by ``ratio * step_x`` (a constant ratio b_n/a_n = r;
        stable iff r < problem.critical_ratio()).
    problem : LinearTwoTimescale, optional
        the system (default ``LinearTwoTimescale()``).
    x0, y0 : float
        initial iterates.
    freeze_y : bool
        hold y at y0 (b_n = 0): then x tracks the best response lambda(y0) to a frozen slow
        agent, the experiment the tracking-error check compares the joint run with.
    bound : float
        projection box [-bound, bound] for both iterates (condition (A4)); inf for none.
    """
    problem = LinearTwoTimescale() if problem is None else problem
    if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"two_timescale_example: n_steps must be a whole number >= 1, got {n_steps!r}")
    bound = _positive("two_timescale_example: bound", bound) if bound != math.inf else math.inf
    n_steps = int(n_steps)
    step_x = as_schedule(step_x)
    step_y = scaled(step_x, ratio) if ratio is not None else as_schedule(step_y)
    idx = np.arange(n_steps, dtype=float)
    a = np.asarray(step_x(idx), dtype=float)
    b = np.zeros(n_steps) if freeze_y else np.asarray(step_y(idx), dtype=float)
    for name, s in (("step_x", a), ("step_y", b)):
        if s.shape != (n_steps,) or np.any(~np.isfinite(s)) or np.any(s < 0):
            raise ValueError(f"two_timescale_example: {name} must give finite steps >= 0")
    xi = np.random.default_rng(seed).standard_normal((n_steps, 2))
    xi[:, 0] *= problem.noise_x
    xi[:, 1] *= problem.noise_y
    A, c, ys, kappa = problem.A, problem.c, problem.y_star, problem.kappa
    x = np.empty(n_steps + 1)
    y = np.empty(n_steps + 1)
    x[0], y[0] = x0, y0
    xn, yn, hit = float(x0), float(y0), None
    a_l, b_l, ex, ey = a.tolist(), b.tolist(), xi[:, 0].tolist(), xi[:, 1].tolist()
    for i in range(n_steps):  # scalar loop: clear, and fast enough for 10^5 steps
        lag = xn - (A * yn + c)
        xn, yn = xn + a_l[i] * (-lag + ex[i]), yn + b_l[i] * (-(yn - ys) - kappa * lag + ey[i])
        if abs(xn) > bound or abs(yn) > bound:
            hit = i + 1 if hit is None else hit
            xn, yn = min(max(xn, -bound), bound), min(max(yn, -bound), bound)
        x[i + 1], y[i + 1] = xn, yn
    limit = problem.limit()
    br = problem.best_response(y)
    return ExamplePath(n=np.arange(n_steps + 1), x=x, y=y, step_x=np.append(a, np.nan),
                       step_y=np.append(b, np.nan), best_response=br, tracking=np.abs(x - br),
                       distance=np.hypot(x - limit[0], y - limit[1]), limit=limit,
                       hit_bound=hit, problem=problem)
