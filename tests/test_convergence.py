"""Tests of the convergence diagnostics (MODEL.md section 6): step-size conditions, tracking
error, stationarity and the two-timescale teaching example. Reference values come from closed
forms (zeta and harmonic sums, eigenvalues, Lyapunov equations, AR(1) long-run variance)."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import signal, special, stats

from coordlib.learning import convergence, schedules

# ------------------------------------------------------------------ step-size schedules


def test_decaying_schedule_values_match_formula():
    s = schedules.decaying(0.3, 50, 0.7)
    n = np.array([0, 1, 50, 1000])
    assert np.allclose(s(n), 0.3 / (1 + n / 50) ** 0.7, rtol=1e-15)
    assert s(0) == 0.3 and isinstance(s(3), float)
    assert schedules.constant(0.1)(np.arange(4)).tolist() == [0.1] * 4


def test_rho_1_is_robbins_monro_and_partial_sum_is_logarithmic():
    # a=1, n0=1: alpha_k = 1/(1+k); sum_{k<n} = H_n (harmonic number), sum of squares -> pi^2/6
    n = 10**6
    v = schedules.check_schedule(schedules.decaying(1.0, 1.0, 1.0), schedules.decaying(1.0, 1.0, 1.0), n=n).fast
    harmonic = special.digamma(n + 1) + np.euler_gamma
    assert v.partial_sum == pytest.approx(harmonic, rel=1e-12)
    assert v.partial_sum_squares == pytest.approx(np.pi**2 / 6 - special.zeta(2, n + 1), rel=1e-12)
    assert v.sum_diverges and v.square_sum_converges and v.robbins_monro and v.analytic
    assert v.remainder == math.inf
    # the analytical tail of the squares is within alpha_n^2 of the exact Hurwitz-zeta tail
    assert abs(v.remainder_squares - special.zeta(2, n + 1)) <= v.step_at_n ** 2


def test_rho_half_fails_square_summability():
    # alpha_k = 1/sqrt(1+k): sum alpha_k^2 = H_n diverges
    n = 10**5
    v = schedules.check_schedule(schedules.decaying(1.0, 1.0, 0.5), schedules.constant(1.0), n=n).fast
    assert v.partial_sum_squares == pytest.approx(special.digamma(n + 1) + np.euler_gamma,
                                                  rel=1e-12)
    assert v.sum_diverges and not v.square_sum_converges and not v.robbins_monro
    assert v.remainder_squares == math.inf


def test_rho_1_5_fails_divergence_of_the_sum():
    # alpha_k = (1+k)^-1.5: sum converges to zeta(1.5) = 2.612375348685488...
    n = 10**6
    v = schedules.check_schedule(schedules.decaying(1.0, 1.0, 1.5), schedules.constant(1.0), n=n).fast
    assert v.partial_sum == pytest.approx(special.zeta(1.5) - special.zeta(1.5, n + 1), rel=1e-12)
    assert special.zeta(1.5) == pytest.approx(2.612375348685488, rel=1e-15)
    assert not v.sum_diverges and v.square_sum_converges and not v.robbins_monro
    # integral tail 2/sqrt(1+n) lies within alpha_n of the exact tail zeta(1.5, n+1)
    tail = special.zeta(1.5, n + 1)
    assert v.remainder <= tail <= v.remainder + v.step_at_n


def test_constant_schedule_fails_robbins_monro():
    v = schedules.check_schedule(schedules.constant(0.05), schedules.constant(0.005), n=1000)
    assert v.fast.partial_sum == pytest.approx(50.0) and v.fast.partial_sum_squares == pytest.approx(2.5)
    assert v.fast.sum_diverges and not v.fast.square_sum_converges and not v.fast.robbins_monro
    # constant ratio 0.1: small, but not -> 0
    assert v.ratio_at_n == pytest.approx(0.1) and v.ratio_limit == pytest.approx(0.1)
    assert not v.ratio_tends_to_zero and not v.two_timescale


def test_two_timescale_ratio_verdicts():
    fast, slow = schedules.decaying(0.5, 100, 0.6), schedules.decaying(0.1, 100, 1.0)
    ok = schedules.check_schedule(fast, slow, n=10**5)
    assert ok.ratio_at_n == pytest.approx(0.2 * (1 + 10**5 / 100) ** -0.4, rel=1e-12)
    assert ok.ratio_limit == 0 and ok.ratio_tends_to_zero and ok.two_timescale
    wrong = schedules.check_schedule(slow, fast, n=10**5)
    assert wrong.ratio_limit == math.inf and not wrong.two_timescale
    # equal exponents: the ratio tends to (a_s n0_s^rho) / (a_f n0_f^rho)
    same = schedules.check_schedule(schedules.decaying(1.0, 10, 0.8), schedules.decaying(0.5, 40, 0.8), n=10**6)
    limit = 0.5 * 4**0.8
    assert same.ratio_limit == pytest.approx(limit, rel=1e-12) and not same.two_timescale
    assert same.ratio_at_n == pytest.approx(limit, rel=1e-4)
    assert "two-timescale conditions hold: True" in str(ok)
    assert list(ok.to_frame().index) == ["fast", "slow"]


def test_numerical_verdict_for_an_arbitrary_callable():
    rep = schedules.check_schedule(lambda n: 1.0 / (1.0 + np.asarray(n, float)) ** 0.75,
                            lambda n: 1.0 / (1.0 + np.asarray(n, float)), n=10**5)
    assert not rep.fast.analytic and rep.fast.rho == pytest.approx(0.75, abs=1e-4)
    assert rep.fast.robbins_monro and rep.slow.robbins_monro and rep.two_timescale


def test_fit_schedule_recovers_the_recorded_schedule():
    truth = schedules.decaying(0.3, 50, 0.7)
    fitted = schedules.fit_schedule(truth(np.arange(5000)))
    assert isinstance(fitted, schedules.Decaying)
    assert (fitted.a, fitted.n0, fitted.rho) == pytest.approx((0.3, 50, 0.7), rel=1e-5)
    strided = schedules.fit_schedule(truth(np.arange(0, 20000, 10)), iterations=np.arange(0, 20000, 10))
    assert strided.rho == pytest.approx(0.7, rel=1e-5)
    fitted_constant = schedules.fit_schedule(np.full(100, 3e-4))
    assert isinstance(fitted_constant, schedules.Constant) and fitted_constant.a == pytest.approx(3e-4)
    with pytest.raises(ValueError, match="not of the form"):
        schedules.fit_schedule(np.where(np.arange(1000) < 500, 1e-3, 1e-4))  # a step decay


def test_schedule_validation_errors():
    with pytest.raises(ValueError, match="initial step size"):
        schedules.decaying(-1, 10, 1)
    with pytest.raises(ValueError, match="rho"):
        schedules.decaying(1, 10, float("nan"))
    with pytest.raises(ValueError, match="n must be"):
        schedules.check_schedule(0.1, 0.01, n=0)
    with pytest.raises(ValueError, match="keys"):
        schedules.as_schedule({"lr": 0.1})
    with pytest.raises(ValueError, match=">= 0"):
        schedules.constant(0.1)(-1)


# ------------------------------------------------------------------ tracking error


def test_tracking_error_on_synthetic_iterates():
    T = 200
    t = np.arange(T)
    br = np.column_stack([np.sin(t / 20), np.cos(t / 20), np.ones(T)])
    offset = np.exp(-t / 30)[:, None] * np.array([3.0, 4.0, 0.0])  # norm 5 e^{-t/30}
    te = convergence.tracking_error(br + offset, br, window=10)
    assert np.allclose(te.errors, 5 * np.exp(-t / 30), rtol=1e-12)
    assert te.initial == pytest.approx(5 * np.exp(-np.arange(10) / 30).mean(), rel=1e-12)
    assert te.final == pytest.approx(5 * np.exp(-np.arange(190, 200) / 30).mean(), rel=1e-12)
    rms = convergence.tracking_error(br + offset, br, metric="rms")
    assert np.allclose(rms.errors, 5 * np.exp(-t / 30) / np.sqrt(3))
    rel = convergence.tracking_error(br + offset, br, relative=True)
    assert np.allclose(rel.errors, 5 * np.exp(-t / 30) / np.sqrt(2.0))  # |br_t| = sqrt(2)
    assert list(te.to_frame().columns) == ["iteration", "tracking_error"]


def test_tracking_error_total_variation_on_exposures():
    # 3 records x 2 probe states x 1 segment x 2 products
    joint = np.array([[[[0.5, 0.5]], [[1.0, 0.0]]]] * 3)
    best = np.array([[[[0.8, 0.2]], [[0.0, 1.0]]]] * 3)
    te = convergence.tracking_error(joint, best, metric="tv")
    assert np.allclose(te.errors, (0.3 + 1.0) / 2)
    with pytest.raises(ValueError, match="simplex"):
        convergence.tracking_error(joint * 2, best, metric="tv")
    with pytest.raises(ValueError, match="same shape"):
        convergence.tracking_error(joint[:2], best)


def test_curve_tracking_error_aligns_on_iteration():
    joint = pd.DataFrame({"iteration": [0, 10, 20, 30], "profit": [1.0, 2.0, 3.0, 3.5]})
    frozen = pd.DataFrame({"iteration": [10, 20, 30, 40], "profit": [2.5, 3.25, 3.5, 3.6]})
    te = convergence.curve_tracking_error(joint, frozen, "profit")
    assert te.iterations.tolist() == [10, 20, 30]
    assert te.errors.tolist() == pytest.approx([0.5, 0.25, 0.0])
    with pytest.raises(ValueError, match="lacks"):
        convergence.curve_tracking_error(joint, frozen, "gmv")


def test_frozen_slow_runs_recover_the_best_response_and_the_tracking_error():
    """The empirical method (train the fast agent against a frozen slow agent at checkpoints)
    estimates lambda(y_n) = A y_n + c, so its tracking error matches the exact one."""
    problem = convergence.LinearTwoTimescale()
    joint = convergence.two_timescale_example(0.05, 0.005, 3000, seed=4)
    checkpoints = np.arange(0, 3001, 300)
    estimates = []
    for k, n in enumerate(checkpoints):
        frozen = convergence.two_timescale_example(0.05, 0.005, 4000, seed=100 + k, x0=joint.x[n],
                                          y0=joint.y[n], freeze_y=True)
        assert np.all(frozen.y == joint.y[n])
        estimates.append(frozen.x[-3000:].mean())
    estimates = np.array(estimates)
    exact = problem.best_response(joint.y[checkpoints])
    # under frozen y, x_{n+1} - lambda = (1 - a)(x_n - lambda) + a xi: an AR(1) whose long-run
    # variance is a^2 / a^2 = noise_x^2 = 1, so the mean of 3000 values has sd 1/sqrt(3000)
    # (the 1000 steps dropped leave a transient of e^-50). Measured largest gap: 0.035.
    sd_mean = math.sqrt(1 / 3000)
    assert np.max(np.abs(estimates - exact)) < 4 * sd_mean
    measured = convergence.tracking_error(joint.x[checkpoints], estimates, metric="abs")
    truth = convergence.tracking_error(joint.x[checkpoints], exact, metric="abs")
    assert np.max(np.abs(measured.errors - truth.errors)) < 4 * sd_mean


# ------------------------------------------------------------------ stationarity


def ar1(T, phi, seed):
    """Stationary AR(1) x_t = phi x_{t-1} + e_t, e ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    x_prev = rng.standard_normal() / math.sqrt(1 - phi**2)
    x, _ = signal.lfilter([1.0], [1.0, -phi], rng.standard_normal(T), zi=[phi * x_prev])
    return x


def test_stationarity_accepts_ar1_with_controlled_false_alarm_rate():
    # measured: 8 / 200 = 4.0% false alarms at alpha = 0.05 (phi = 0.8, T = 4000, 20 batches).
    # If the true rate were 5%, P(>= 20 of 200) = 0.3%: 20 is the bound asserted.
    rejected = [not convergence.stationarity(ar1(4000, 0.8, [11, s])).stationary for s in range(200)]
    assert sum(rejected) < 20
    result = convergence.stationarity(ar1(4000, 0.8, [11, 0]))
    assert result.stationary and result.slope_ci[0] < 0 < result.slope_ci[1]


def test_stationarity_batch_means_variance_matches_ar1_long_run_variance():
    # AR(1) with unit innovations: long-run variance 1/(1-phi)^2 = 25, and the inefficiency
    # (long-run / marginal variance) (1+phi)/(1-phi) = 9. Ten series of 2e5, 100 batches:
    # relative sd of the averaged estimate about sqrt(2/99)/sqrt(10) = 4.5%; tolerance 15%.
    results = [convergence.stationarity(ar1(200_000, 0.8, [13, s]), batches=100) for s in range(10)]
    assert np.mean([r.long_run_variance for r in results]) == pytest.approx(25.0, rel=0.15)
    assert np.mean([r.inefficiency for r in results]) == pytest.approx(9.0, rel=0.15)
    assert abs(np.mean([r.batch_lag1_autocorrelation for r in results])) < 0.1


def test_stationarity_detects_a_linear_drift():
    T, phi = 4000, 0.8
    sd = 1 / math.sqrt(1 - phi**2)
    drift = 2 * sd / T  # the mean moves by two marginal sds over the series
    result = convergence.stationarity(ar1(T, phi, [12, 0]) + drift * np.arange(T))
    assert not result.stationary
    assert result.slope_ci[0] <= drift <= result.slope_ci[1] and result.slope_ci[0] > 0
    # measured power: 98 / 100 seeds
    detected = [not convergence.stationarity(ar1(T, phi, [12, s]) + drift * np.arange(T)).stationary
                for s in range(100)]
    assert sum(detected) >= 90


def test_stationarity_on_learning_curves():
    t = np.arange(3000)
    noise = ar1(3000, 0.5, [14, 0])
    still_learning = 100 * (1 - np.exp(-t / 1000)) + noise  # tail still rises by ~20
    settled = 100 * (1 - np.exp(-t / 60)) + noise  # within e^-25 of 100 on the tail
    assert not convergence.stationarity(still_learning).stationary
    assert convergence.stationarity(settled).stationary


def test_stationarity_detects_growing_oscillation_of_a_single_timescale():
    path = convergence.two_timescale_example(0.01, 0.01, 3000, seed=0, bound=math.inf)
    result = convergence.stationarity(path.x)
    assert not result.stationary and result.spread_ratio > 10 and result.spread_p < 0.05 / 3


def test_iterate_stationarity_names_the_drifting_coordinate():
    z = np.column_stack([ar1(4000, 0.5, [15, 0]), ar1(4000, 0.5, [15, 1]) + np.arange(4000) / 500])
    out = convergence.iterate_stationarity(z, names=["recommender", "replenisher"])
    assert not out.stationary
    assert out.table.set_index("coordinate")["stationary"].to_dict() == {
        "recommender": True, "replenisher": False}


def test_stationarity_validation_errors():
    with pytest.raises(ValueError, match="NaN"):
        convergence.stationarity([1.0, np.nan] * 100)
    with pytest.raises(ValueError, match="even"):
        convergence.stationarity(np.zeros(100), batches=7)
    with pytest.raises(ValueError, match="too short"):
        convergence.stationarity(np.zeros(30))
    assert convergence.stationarity(np.ones(200)).stationary  # a constant series is stationary
    # degenerate batches: a jump between two constant stretches is a shift; noise that dies
    # out to a constant is not counted against stationarity, noise that appears is
    assert not convergence.stationarity(np.r_[np.zeros(100), np.ones(100)], tail=1).stationary
    noise = np.random.default_rng(0).normal(size=100)
    assert convergence.stationarity(np.r_[noise, np.zeros(100)], tail=1).stationary
    assert not convergence.stationarity(np.r_[np.zeros(100), noise], tail=1).stationary


# ------------------------------------------------------------------ the teaching example


def test_example_closed_forms():
    p = convergence.LinearTwoTimescale()
    assert p.limit() == (1.5, 1.0) and p.critical_ratio() == 0.5
    for r in (0.05, 0.3, 0.49, 0.51, 1.0, 10.0):
        numeric = np.linalg.eigvals(np.diag([1.0, r]) @ p.jacobian())
        assert np.allclose(np.sort_complex(numeric), np.sort_complex(p.eigenvalues(r)))
    assert np.all(p.eigenvalues(0.49).real < 0) and np.all(p.eigenvalues(0.51).real > 0)
    assert p.eigenvalues(1.0) == pytest.approx([0.5 + 0.75**0.5 * 1j, 0.5 - 0.75**0.5 * 1j])
    # the slow mode on the slow clock tends to the reduced ODE's eigenvalue -1 as r -> 0
    assert max(p.eigenvalues(1e-4).real) / 1e-4 == pytest.approx(-1.0, rel=1e-3)
    # the mean fields vanish at the limit
    assert p.h(*p.limit()) == 0 and p.g(*p.limit()) == 0


def test_moment_recursion_matches_lyapunov_equation():
    p = convergence.LinearTwoTimescale()
    mean, cov = p.moments(0.05, 0.005, 6000)
    assert np.allclose(cov[-1], p.stationary_covariance(0.05, 0.005), rtol=1e-9)
    assert np.allclose(mean[-1], p.limit(), atol=1e-9)


def test_example_converges_with_the_right_ordering():
    """Decaying steps a_n = 0.5(1+n/100)^-0.6, b_n = 0.1(1+n/100)^-1 (b/a -> 0). The iterate
    after 20000 steps is Gaussian with exactly known moments; the tolerance is the 99.9%
    ellipse of that Gaussian."""
    p = convergence.LinearTwoTimescale()
    step_x, step_y = schedules.decaying(0.5, 100, 0.6), schedules.decaying(0.1, 100, 1.0)
    assert schedules.check_schedule(step_x, step_y).two_timescale
    mean, cov = p.moments(step_x, step_y, 20_000)
    limit = np.array(p.limit())
    assert np.allclose(mean[-1], limit, atol=1e-3)
    tol = math.sqrt(stats.chi2.ppf(0.999, 2) * np.linalg.eigvalsh(cov[-1]).max())
    # the noise ball (radius 0.42: sds 0.11 for x, 0.05 for y) is a quarter of the initial
    # distance sqrt(1.5^2 + 1) = 1.80, and keeps shrinking (a.s. convergence)
    assert tol < 0.25 * math.hypot(*limit)
    trace = np.trace(cov, axis1=1, axis2=2)
    assert np.all(np.diff(trace[10_000:]) < 0) and trace[-1] < 0.5 * trace[5_000]
    d2, initial, final = [], [], []
    for seed in range(12):
        path = convergence.two_timescale_example(step_x, step_y, 20_000, seed=seed)
        assert path.hit_bound is None
        z = np.array([path.x[-1], path.y[-1]]) - mean[-1]
        d2.append(z @ np.linalg.solve(cov[-1], z))
        assert path.distance[-1] < tol
        te = convergence.tracking_error(path.x, path.best_response)  # windows of 2000 steps
        initial.append(te.initial)
        final.append(te.final)
    # Mahalanobis distances follow chi2(2) (Kolmogorov-Smirnov)
    assert stats.kstest(d2, stats.chi2(2).cdf).pvalue > 0.001
    # the fast iterate tracks lambda(y_n): E|x_n - lambda(y_n)| (exact: 0.258 over the first
    # 2000 steps, 0.086 over the last 2000) matches the seeds' average within 4 standard errors
    exact = p.expected_tracking_error(step_x, step_y, 20_000)
    for measured, expected in ((initial, exact[:2000].mean()), (final, exact[-2000:].mean())):
        assert abs(np.mean(measured) - expected) < 4 * np.std(measured, ddof=1) / math.sqrt(12)
    assert exact[-2000:].mean() < 0.4 * exact[:2000].mean()


def test_example_fails_with_the_wrong_ordering():
    """Swapped schedules: b_n/a_n -> infinity, and y's own dynamics are unstable for frozen x."""
    p = convergence.LinearTwoTimescale()
    step_x, step_y = schedules.decaying(0.1, 100, 1.0), schedules.decaying(0.5, 100, 0.6)
    assert not schedules.check_schedule(step_x, step_y).two_timescale
    mean, _ = p.moments(step_x, step_y, 2000)
    assert not np.all(np.abs(mean[-1]) < 1e6)  # the exact mean (no projection) explodes
    for seed in range(5):
        path = convergence.two_timescale_example(step_x, step_y, 20_000, seed=seed)
        assert path.hit_bound is not None and path.hit_bound < 100
        assert np.median(path.distance[-5000:]) > 100  # stuck oscillating at the box
        assert np.ptp(path.y[-5000:]) > 1000  # y swings across the box [-1000, 1000]


def test_constant_steps_converge_to_a_noise_ball_around_the_limit():
    """Constant a = 0.05, b = 0.005 (ratio 0.1 < 1/2): the time average over the last 10000
    steps lies in the 99.9% ellipse of its exact covariance; the tracking error settles at
    E|x - lambda(y)| = sqrt(2/pi) sqrt(v), v = (1, -A) P (1, -A)' from the Lyapunov equation."""
    p = convergence.LinearTwoTimescale()
    a, b, W = 0.05, 0.005, 10_000
    C = p.time_average_covariance(a, b, W)
    P = p.stationary_covariance(a, b)
    u = np.array([1.0, -p.A])
    floor = math.sqrt(2 / math.pi * u @ P @ u)
    limit = np.array(p.limit())
    floors = []
    for seed in range(5):
        path = convergence.two_timescale_example(a, b, 20_000, seed=seed)
        z = np.array([path.x[-W:].mean(), path.y[-W:].mean()]) - limit
        assert z @ np.linalg.solve(C, z) < stats.chi2.ppf(0.999, 2)
        floors.append(path.tracking[-W:].mean())
    # each mean of |x - lambda| over 10000 steps: sd about 0.11 sqrt(2 x 20 / 10000) = 0.007;
    # the average of 5 has sd 0.003; tolerance 0.015 (10% of the floor, 5 sds).
    # Measured: 0.1529 against the floor 0.1501.
    assert np.mean(floors) == pytest.approx(floor, abs=0.015)
    assert p.expected_tracking_error(a, b, 20_000)[-1] == pytest.approx(floor, rel=1e-9)
    # swapped constant steps (ratio 10) and a single timescale (ratio 1) both fail
    assert convergence.two_timescale_example(b, a, 20_000, seed=0).hit_bound is not None
    assert convergence.two_timescale_example(a, ratio=1.0, n_steps=20_000, seed=0).hit_bound is not None
    assert convergence.two_timescale_example(a, ratio=0.1, n_steps=20_000, seed=0).hit_bound is None


def test_example_is_deterministic_and_validates_input():
    one = convergence.two_timescale_example(n_steps=500, seed=3)
    two = convergence.two_timescale_example(n_steps=500, seed=3)
    assert np.array_equal(one.x, two.x) and np.array_equal(one.y, two.y)
    assert not np.array_equal(one.x, convergence.two_timescale_example(n_steps=500, seed=4).x)
    assert len(one.to_frame()) == 501
    with pytest.raises(ValueError, match="n_steps"):
        convergence.two_timescale_example(n_steps=0)
    with pytest.raises(ValueError, match="unstable"):
        convergence.LinearTwoTimescale().stationary_covariance(0.005, 0.05)
