"""Step-size schedules alpha(n) and the conditions of two-timescale stochastic approximation
(Robbins-Monro sums, alpha_slow / alpha_fast -> 0), checked on a schedule.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Union

import numpy as np
import pandas as pd
from scipy import optimize

# ---------------------------------------------------------------------------------------------
# Step-size schedules
# ---------------------------------------------------------------------------------------------


def _positive(name: str, value, allow_zero: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return value


def _steps_index(n) -> np.ndarray:
    n = np.asarray(n, dtype=float)
    if np.any(~np.isfinite(n)) or np.any(n < 0):
        raise ValueError("schedule: the update index n must be finite and >= 0")
    return n


@dataclass(frozen=True)
class Constant:
    """Constant step size alpha_n = a (MODEL.md section 6, the constant schedule family).

    Satisfies sum alpha = infinity but not sum alpha^2 < infinity: the iterates converge in
    distribution to a neighbourhood of size O(sqrt(a)), not almost surely.
    """

    a: float

    def __post_init__(self):
        object.__setattr__(self, "a", _positive("constant: step size a", self.a))

    def __call__(self, n):
        """Step size at update n (0-based); n may be an array."""
        n = _steps_index(n)
        out = np.full(n.shape, self.a)
        return float(out) if out.ndim == 0 else out

    @property
    def rho(self) -> float:
        """Decay exponent: 0."""
        return 0.0

    @property
    def scale(self) -> float:
        """C in alpha_n ~ C n^(-rho) as n -> infinity."""
        return self.a


@dataclass(frozen=True)
class Decaying:
    """Decaying step size alpha_n = a / (1 + n / n0)^rho (MODEL.md section 6).

    a: initial step size alpha_0; n0: the number of updates over which it starts to decay
    (in updates); rho: the decay exponent. Robbins-Monro (sum alpha = infinity, sum alpha^2 <
    infinity) holds iff 1/2 < rho <= 1.
    """

    a: float
    n0: float
    rho: float

    def __post_init__(self):
        object.__setattr__(self, "a", _positive("decaying: initial step size a", self.a))
        object.__setattr__(self, "n0", _positive("decaying: n0", self.n0))
        object.__setattr__(self, "rho", _positive("decaying: exponent rho", self.rho,
                                                  allow_zero=True))

    def __call__(self, n):
        """Step size at update n (0-based); n may be an array."""
        n = _steps_index(n)
        out = self.a / (1.0 + n / self.n0) ** self.rho
        return float(out) if np.ndim(out) == 0 else out

    @property
    def scale(self) -> float:
        """C in alpha_n ~ C n^(-rho) as n -> infinity: a n0^rho."""
        return self.a * self.n0 ** self.rho


Schedule = Union[Constant, Decaying]


def constant(a: float) -> Constant:
    """The constant schedule alpha_n = a."""
    return Constant(a)


def decaying(a: float, n0: float, rho: float) -> Decaying:
    """The decaying schedule alpha_n = a / (1 + n/n0)^rho."""
    return Decaying(a, n0, rho)


def as_schedule(spec) -> Union[Schedule, Callable]:
    """A schedule from a number (constant), a :class:`Constant`/:class:`Decaying`, a dict
    ``{"a": .., "n0": .., "rho": ..}`` (or ``{"a": ..}``), or any callable n -> alpha_n.

    Callables of unknown form are returned unchanged; :func:`check_schedule` then judges them
    numerically instead of analytically.
    """
    if isinstance(spec, (Constant, Decaying)):
        return spec
    if isinstance(spec, bool):
        raise ValueError(f"not a step-size schedule: {spec!r}")
    if isinstance(spec, (int, float, np.integer, np.floating)):
        return Constant(spec)
    if isinstance(spec, dict):
        keys = set(spec)
        if keys == {"a"}:
            return Constant(spec["a"])
        if keys == {"a", "n0", "rho"}:
            return Decaying(spec["a"], spec["n0"], spec["rho"])
        raise ValueError(f"a schedule dict needs keys {{a}} or {{a, n0, rho}}, got {sorted(keys)}")
    if callable(spec):
        return spec
    raise ValueError(f"not a step-size schedule: {spec!r}")


def scaled(schedule, factor: float) -> Schedule:
    """The schedule ``factor * schedule`` (same family): alpha'_n = factor alpha_n."""
    schedule = as_schedule(schedule)
    factor = _positive("scaled: factor", factor)
    if isinstance(schedule, Constant):
        return Constant(factor * schedule.a)
    if isinstance(schedule, Decaying):
        return Decaying(factor * schedule.a, schedule.n0, schedule.rho)
    raise ValueError("scaled: only constant and decaying schedules can be scaled")


def _local_exponent(schedule: Callable, n: int) -> float:
    """-d log alpha / d log n between n and 2n, a numerical estimate of rho."""
    lo, hi = float(schedule(n)), float(schedule(2 * n))
    if lo <= 0 or hi <= 0:
        raise ValueError("schedule: step sizes must be > 0")
    return -math.log(hi / lo) / math.log(2.0)


@dataclass(frozen=True)
class ScheduleVerdict:
    """One schedule's Robbins-Monro verdict (MODEL.md section 6: sum alpha = inf, sum alpha^2 < inf).

    ``partial_sum`` and ``partial_sum_squares`` are sum_{k<n} alpha_k and sum_{k<n} alpha_k^2;
    ``remainder`` and ``remainder_squares`` the analytical tails sum_{k>=n} (infinite when the
    series diverges; the integral approximation, within alpha_n of the true tail, otherwise;
    NaN for a converging callable of unknown form). ``analytic`` is False when the verdicts
    come from the local exponent of such a callable.
    """

    schedule: str
    rho: float
    step_at_n: float
    partial_sum: float
    partial_sum_squares: float
    remainder: float
    remainder_squares: float
    sum_diverges: bool
    square_sum_converges: bool
    robbins_monro: bool
    analytic: bool


@dataclass(frozen=True)
class ScheduleReport:
    """The two-timescale step-size conditions (A3) for a fast and a slow schedule.

    ``ratio_at_n`` = alpha_slow(n) / alpha_fast(n); ``ratio_limit`` its limit (0, a positive
    constant, or infinity); ``two_timescale`` is True when both schedules are Robbins-Monro and
    the ratio tends to 0, the premise of the convergence result in the module docstring.
    """

    n: int
    fast: ScheduleVerdict
    slow: ScheduleVerdict
    ratio_at_n: float
    ratio_limit: float
    ratio_tends_to_zero: bool
    two_timescale: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per schedule (``fast``, ``slow``)."""
        return pd.DataFrame([asdict(self.fast), asdict(self.slow)], index=["fast", "slow"])

    def __str__(self) -> str:
        lines = [f"step-size check at n = {self.n}"]
        for name, v in (("fast", self.fast), ("slow", self.slow)):
            lines.append(
                f"  {name}: {v.schedule}  sum alpha {'= inf' if v.sum_diverges else '< inf'}"
                f" (partial {v.partial_sum:.4g}), sum alpha^2 "
                f"{'< inf' if v.square_sum_converges else '= inf'}"
                f" (partial {v.partial_sum_squares:.4g}); Robbins-Monro: {v.robbins_monro}")
        lines.append(f"  slow/fast at n: {self.ratio_at_n:.4g}, limit {self.ratio_limit:.4g}; "
                     f"two-timescale conditions hold: {self.two_timescale}")
        return "\n".join(lines)


def _verdict(schedule, n: int) -> ScheduleVerdict:
    steps = np.asarray(schedule(np.arange(n, dtype=float)), dtype=float)
    if steps.shape != (n,) or np.any(~np.isfinite(steps)) or np.any(steps <= 0):
        raise ValueError(f"schedule {schedule!r}: step sizes must be finite and > 0")
    s1, s2 = float(steps.sum()), float(np.square(steps).sum())
    if isinstance(schedule, (Constant, Decaying)):
        rho, analytic = schedule.rho, True
    else:
        rho, analytic = _local_exponent(schedule, n), False
    diverges, squares_converge = rho <= 1.0, rho > 0.5
    if isinstance(schedule, Decaying) and not diverges:
        remainder = schedule.a * schedule.n0 / (rho - 1) * (1 + n / schedule.n0) ** (1 - rho)
    else:
        remainder = math.inf if diverges else float("nan")
    if isinstance(schedule, Decaying) and squares_converge:
        remainder_sq = (schedule.a ** 2 * schedule.n0 / (2 * rho - 1)
                        * (1 + n / schedule.n0) ** (1 - 2 * rho))
    else:
        remainder_sq = float("nan") if squares_converge else math.inf
    return ScheduleVerdict(schedule=repr(schedule), rho=float(rho), step_at_n=float(schedule(n)),
                           partial_sum=s1, partial_sum_squares=s2, remainder=float(remainder),
                           remainder_squares=float(remainder_sq), sum_diverges=diverges,
                           square_sum_converges=squares_converge,
                           robbins_monro=diverges and squares_converge, analytic=analytic)


def check_schedule(fast, slow, n: int = 1_000_000) -> ScheduleReport:
    """Check the step-size conditions (A3) of a fast and a slow schedule.

    Parameters
    ----------
    fast, slow
        the step sizes of the fast agent (alpha_fast(n), default the recommender) and of the
        slow one (alpha_slow(n), default the replenisher), MODEL.md section 6: anything
        :func:`as_schedule` accepts.
    n : int
        horizon (updates) of the partial sums and of the ratio.

    Constant and decaying schedules are judged analytically from their exponent rho
    (sum alpha = inf iff rho <= 1, sum alpha^2 < inf iff rho > 1/2; alpha_slow/alpha_fast ->
    0 iff rho_slow > rho_fast, -> C_slow/C_fast if equal, with alpha ~ C n^-rho). Other
    callables are judged from the local exponent between n and 2n (``analytic=False``).
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"check_schedule: n must be a whole number >= 1, got {n!r}")
    n = int(n)
    fast, slow = as_schedule(fast), as_schedule(slow)
    vf, vs = _verdict(fast, n), _verdict(slow, n)
    ratio = float(slow(n)) / float(fast(n))
    if vs.analytic and vf.analytic and vs.rho == vf.rho:
        limit = slow.scale / fast.scale
    elif vs.rho > vf.rho:
        limit = 0.0
    elif vs.rho < vf.rho:
        limit = math.inf
    else:  # numerical, equal local exponents: the ratio is (nearly) constant
        limit = ratio
    tends = limit == 0.0
    return ScheduleReport(n=n, fast=vf, slow=vs, ratio_at_n=ratio, ratio_limit=float(limit),
                          ratio_tends_to_zero=tends,
                          two_timescale=tends and vf.robbins_monro and vs.robbins_monro)


def fit_schedule(step_sizes, iterations=None, rtol: float = 1e-6) -> Schedule:
    """Recover the schedule that produced recorded step sizes (e.g. a learning-curve column).

    Parameters
    ----------
    step_sizes : array (T,)
        recorded alpha_n, all > 0.
    iterations : array (T,), optional
        the update index n of each record (default 0, 1, ..., T-1); the fitted n0 is in
        these units.
    rtol : float
        largest relative misfit accepted; a larger one raises ValueError (the records are not
        of the form a / (1 + n/n0)^rho).

    Returns :class:`Constant` when all records are equal, otherwise the least-squares
    :class:`Decaying` fit of log alpha (for each n0 the problem is linear in log a and rho, so
    n0 is found by a one-dimensional search). When the records stop well before n = n0, rho and
    n0 are not separately identified and a warning says so.
    """
    steps = np.asarray(step_sizes, dtype=float)
    if steps.ndim != 1 or steps.size < 2:
        raise ValueError("fit_schedule: step_sizes must be a 1-D array of at least 2 values")
    if np.any(~np.isfinite(steps)) or np.any(steps <= 0):
        raise ValueError("fit_schedule: step sizes must be finite and > 0")
    n = np.arange(steps.size, dtype=float) if iterations is None else np.asarray(iterations, float)
    if n.shape != steps.shape or np.any(n < 0) or np.any(np.diff(n) <= 0):
        raise ValueError("fit_schedule: iterations must be increasing, >= 0, one per step size")
    if np.all(np.abs(steps / steps[0] - 1) <= rtol):
        return Constant(float(steps.mean()))
    logs = np.log(steps)

    def solve(log_n0):
        design = np.column_stack([np.ones_like(n), -np.log1p(n / math.exp(log_n0))])
        coef, *_ = np.linalg.lstsq(design, logs, rcond=None)
        return coef, float(np.max(np.abs(design @ coef - logs)))

    span = max(n.max(), 1.0)
    grid = np.linspace(math.log(span) - 12, math.log(span) + 12, 241)
    best = grid[int(np.argmin([solve(g)[1] for g in grid]))]
    step = grid[1] - grid[0]
    res = optimize.minimize_scalar(lambda g: solve(g)[1], bounds=(best - step, best + step),
                                   method="bounded", options={"xatol": 1e-10})
    (log_a, rho), misfit = solve(res.x)
    if misfit > rtol:
        raise ValueError(f"fit_schedule: the step sizes are not of the form a/(1+n/n0)^rho "
                         f"(largest relative misfit {misfit:.3g} > rtol {rtol:g})")
    n0 = math.exp(res.x)
    if n0 > n.max():
        warnings.warn(f"fit_schedule: the records end at n = {n.max():g} < n0 = {n0:.4g}; "
                      "rho and n0 are not well identified", stacklevel=2)
    return Decaying(math.exp(log_a), n0, max(float(rho), 0.0))
