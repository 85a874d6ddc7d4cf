"""B1, the newsvendor with exposure (MODEL.md section 5): the critical fractile under normal and
Poisson demand, and how the optimal stock rises with exposure.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp
from scipy import integrate, optimize, stats

from .derivation import (
    _D,
    SYSTEMS,
    Derivation,
    E_f,
    G_f,
    Phi_f,
    Pi_f,
    _checked,
    _lambdify,
    base_rate,
    demand_sd,
    dispersion,
    explicit,
    exposure,
    exposure_slope,
    holding_cost,
    lost_sale_penalty,
    margin,
    mean_demand,
    overage,
    phi_f,
    poisson_cdf,
    poisson_pmf,
    price,
    standard_normal_cdf,
    standard_normal_loss,
    standard_normal_pdf,
    stock,
    underage,
    unit_cost,
    units,
    z,
)


# ---- the cost structures of the two systems ------------------------------------------------------
def newsvendor_costs(system: str = "one-period") -> dict:
    """The margin m, overage c_o and underage c_u of a system, in terms of p, c, h, b.

    ``"one-period"``: m = p - c, c_o = c + h, c_u = p + b - c. ``"stationary"`` (lead time 0,
    order-up-to every period, lost sales): m = p - c, c_o = h, c_u = p + b - c.
    """
    _check_system(system)
    over = unit_cost + holding_cost if system == "one-period" else holding_cost
    return {margin: price - unit_cost, overage: over,
            underage: price + lost_sale_penalty - unit_cost}


@functools.lru_cache(maxsize=None)
def derive_cost_structures() -> Derivation:
    """Why the two systems have different overage costs (pathwise identities, both cases D <= S
    and D > S checked by SymPy).

    One period: profit = p min(S, D) - c S - h (S - D)^+ - b (D - S)^+.
    Stationary (lead time L = 0, order up to S in every period, lost sales): the order placed
    at the start of period t arrives at once, so A_t = S; it equals S - I_t = S - (S - D_{t-1})^+
    = min(S, D_{t-1}), last period's sales. In the long-run average the purchase cost is
    c E min(S, D) and the profit per period is (p - c) min(S, D) - h (S - D)^+ - b (D - S)^+.
    Both are m D - c_o (S - D)^+ - c_u (D - S)^+ with m = p - c and c_u = p + b - c; only the
    overage differs: c + h (one period: an unsold unit wastes its cost) against h (stationary:
    it is sold later, only holding it costs).
    """
    S_, D_ = sp.symbols("S D", positive=True)
    short = sp.Symbol("s", positive=True)  # D = S + short  (stockout)
    left = sp.Symbol("l", positive=True)   # S = D + left   (leftover)
    steps = []
    generic = lambda m_, co, cu, over_units, under_units, demand: (
        m_ * demand - co * over_units - cu * under_units)
    one = lambda sales, over_units, under_units: (
        price * sales - unit_cost * S_ - holding_cost * over_units - lost_sale_penalty * under_units)
    stat = lambda sales, over_units, under_units: (
        (price - unit_cost) * sales - holding_cost * over_units - lost_sale_penalty * under_units)
    for system, realized in (("one-period", one), ("stationary", stat)):
        costs = newsvendor_costs(system)
        for case, subs, sales, over_units, under_units in (
                ("D <= S", {S_: D_ + left}, D_, left, 0),
                ("D > S", {D_: S_ + short}, S_, 0, short)):
            lhs = realized(sales, over_units, under_units).subs(subs)
            rhs = generic(costs[margin], costs[overage], costs[underage], over_units,
                          under_units, D_).subs(subs)
            if sp.simplify(lhs - rhs) != 0:
                raise AssertionError(f"cost structure {system}, case {case}: identity fails")
    m_sym = sp.Symbol("r", real=True)
    steps.append(("One period, realized profit (buy S, sell min(S, D), hold the rest):",
                  sp.Eq(m_sym, price * sp.Min(S_, D_) - unit_cost * S_
                        - holding_cost * sp.Max(S_ - D_, 0)
                        - lost_sale_penalty * sp.Max(D_ - S_, 0), evaluate=False)))
    steps.append(("Stationary, lead time 0, order up to S: this period's order replaces last "
                  "period's sales, so on average the firm buys only what it sells:",
                  sp.Eq(m_sym, (price - unit_cost) * sp.Min(S_, D_)
                        - holding_cost * sp.Max(S_ - D_, 0)
                        - lost_sale_penalty * sp.Max(D_ - S_, 0), evaluate=False)))
    steps.append(("Both are the newsvendor form (checked by SymPy for D <= S and D > S):",
                  sp.Eq(m_sym, margin * D_ - overage * sp.Max(S_ - D_, 0)
                        - underage * sp.Max(D_ - S_, 0), evaluate=False)))
    for system in SYSTEMS:
        costs = newsvendor_costs(system)
        steps.append((f"{system}: margin, overage and underage costs",
                      sp.Tuple(*(sp.Eq(k, v) for k, v in costs.items()))))
        fr = sp.simplify(costs[underage] / (costs[underage] + costs[overage]))
        steps.append((f"{system}: critical fractile c_u / (c_u + c_o)",
                      sp.Eq(sp.Symbol(r"F^{*}_{\mathrm{" + system + "}}"), fr, evaluate=False)))
    return Derivation(
        "The two systems: one period, and the stationary lost-sales system with lead time 0",
        "Lost sales (MODEL.md 3); the stationary system uses lead time L = 0, review period "
        "R = 1, order-up-to S with S <= capacity M and S <= Qmax, so arrivals restore S.",
        tuple(steps),
        {f"fractile_{s}": sp.simplify(newsvendor_costs(s)[underage]
                                      / (newsvendor_costs(s)[underage] + newsvendor_costs(s)[overage]))
         for s in SYSTEMS})


def _check_system(system):
    if system not in SYSTEMS:
        raise ValueError(f"system: must be one of {SYSTEMS}, got {system!r}")


# ---- B1: the newsvendor, normal approximation --------------------------------------------------
@functools.lru_cache(maxsize=None)
def derive_newsvendor_normal() -> Derivation:
    """B1, normal approximation: optimal stock and profit of Pi(S) = m mu - c_o E(S - D)^+
    - c_u E(D - S)^+ with D ~ N(mu, sigma^2).

    Assumptions: c_o > 0, c_u > 0 (see :func:`newsvendor_costs` for each system), stock is
    continuous and may be any real number (the normal S* can be negative for tiny mu and a
    fractile below 1/2; stock is then 0 in practice).

    Results: ``profit`` (of S, mu, sigma), ``marginal_profit``, ``curvature``,
    ``critical_fractile``, ``z_star``, ``stock`` (S*), ``optimal_profit``, ``mismatch_cost``,
    and ``*_theta`` versions with sigma = sqrt(theta mu).
    """
    S, mu, sd = stock, mean_demand, demand_sd
    d = sp.Symbol("d", real=True)
    zz = (S - mu) / sd
    pdf = sp.exp(-(d - mu) ** 2 / (2 * sd ** 2)) / sp.sqrt(2 * sp.pi * sd ** 2)
    shortage_integral = sp.integrate((d - S) * pdf, (d, S, sp.oo))         # E (D - S)^+
    shortage = sd * standard_normal_loss(zz)          # the same, checked in the step below
    profit = margin * mu - overage * (S - mu + shortage) - underage * shortage
    steps = [
        ("Expected profit of stock S: every unit sold earns the margin m, every unit left over "
         "costs c_o, every unit of demand not served costs c_u.",
         sp.Eq(Pi_f(S), margin * mu - overage * E_f(sp.Max(S - _D, 0))
               - underage * E_f(sp.Max(_D - S, 0)), evaluate=False)),
        _checked(E_f(sp.Max(_D - S, 0)), sd * G_f(z), shortage_integral, subs={z: zz},
                 text="Normal demand D ~ N(mu, sigma^2) with z = (S - mu)/sigma: the expected shortage "
                 "is sigma G(z), G the standard normal loss function (SymPy integral), and "
                 "E(S - D)^+ = S - mu + sigma G(z)."),
        _checked(Pi_f(S), margin * mu - overage * (S - mu) - (overage + underage) * sd * G_f(z),
                 profit, "Hence:", subs={z: zz}),
    ]
    marginal = sp.diff(profit, S)
    curvature = sp.diff(profit, S, 2)
    steps.append(_checked(sp.Derivative(Pi_f(S), S),
                          -overage + (overage + underage) * (1 - Phi_f(z)),
                          marginal, "One more unit is sold with probability 1 - Phi(z):",
                          subs={z: zz}))
    steps.append(_checked(sp.Derivative(Pi_f(S), (S, 2)),
                          -(overage + underage) * phi_f(z) / sd, curvature,
                          "Concave in S, so the first-order condition gives the optimum:",
                          subs={z: zz}))
    solutions = sp.solve(sp.Eq(marginal, 0), S)
    if len(solutions) != 1:
        raise AssertionError(f"newsvendor: expected one stationary point, got {solutions}")
    S_star = solutions[0]
    z_star = sp.simplify((S_star - mu) / sd)
    fractile = sp.simplify(standard_normal_cdf(z_star))
    steps.append(("Critical fractile: stock so that demand is covered with probability "
                  "c_u / (c_u + c_o).",
                  sp.Eq(Phi_f(sp.Symbol("z^*")), fractile, evaluate=False)))
    steps.append(("Optimal stock (z* = Phi^{-1}(c_u/(c_u + c_o)), here with erfinv):",
                  sp.Eq(sp.Symbol("S^*"), S_star, evaluate=False)))
    optimal = profit.subs(S, S_star)
    zs = sp.Symbol("z^*")
    readable_opt = margin * mu - (overage + underage) * phi_f(zs) * sd
    gap = sp.simplify(explicit(readable_opt).subs(zs, z_star) - optimal)
    if gap != 0:
        raise AssertionError(f"newsvendor optimal profit: closed form differs by {gap}")
    steps.append(("Optimal expected profit: the riskless margin minus the mismatch cost "
                  "(c_o + c_u) phi(z*) sigma (checked by substituting S* into the profit).",
                  sp.Eq(Pi_f(sp.Symbol("S^*")), readable_opt, evaluate=False)))
    mismatch = (overage + underage) * standard_normal_pdf(z_star) * sd
    sd_theta = sp.sqrt(dispersion * mu)
    steps.append(("With sigma = sqrt(theta mu) (theta = 1 for Poisson demand) the mismatch cost "
                  "grows like sqrt(mu): the square-root law.",
                  sp.Eq(sp.Symbol(r"\mathrm{mismatch}(\mu)"),
                        (overage + underage) * phi_f(zs) * sd_theta, evaluate=False)))
    results = {"profit": profit, "marginal_profit": marginal, "curvature": curvature,
               "critical_fractile": fractile, "z_star": z_star, "stock": S_star,
               "optimal_profit": optimal, "mismatch_cost": mismatch,
               "shortage": shortage}
    for key in ("profit", "stock", "optimal_profit", "mismatch_cost"):
        results[f"{key}_theta"] = results[key].subs(sd, sd_theta)
    return Derivation(
        "B1: the newsvendor with normal demand",
        "D ~ N(mu, sigma^2); c_o > 0 and c_u > 0; stock continuous.",
        tuple(steps), results)


# ---- B1: the newsvendor, exact Poisson ----------------------------------------------------------
@functools.lru_cache(maxsize=None)
def derive_newsvendor_poisson() -> Derivation:
    """B1, exact Poisson demand and integer stock S (the simulator's model, MODEL.md 3.3).

    Results: ``pmf``, ``cdf``, ``shortage`` L(S, mu) = E (D - S)^+ =
    (mu - S)(1 - F(S)) + mu f(S), ``profit`` Pi(S, mu), ``marginal_value`` Pi(S + 1) - Pi(S) =
    -c_o + (c_o + c_u)(1 - F(S)), ``d_cdf_d_mu`` = -f(S), ``profit_curvature_in_mu`` =
    d^2 Pi / d mu^2 = -(c_o + c_u) f(S - 1; mu) (concave in mu for fixed S: the root of the
    B2 failure). The optimum, the smallest S with F(S) >= c_u / (c_u + c_o), is numerical
    (:func:`newsvendor_poisson`).
    """
    S, mu = units, mean_demand
    f, F = poisson_pmf(S, mu), poisson_cdf(S, mu)
    shortage = (mu - S) * (1 - F) + mu * f
    profit = (margin + overage) * mu - overage * S - (overage + underage) * shortage
    fs, Fs = sp.Function("f"), sp.Function("F")
    steps = [
        ("Poisson demand: probability mass and distribution (upper incomplete gamma).",
         sp.Tuple(sp.Eq(fs(S), f), sp.Eq(Fs(S), F))),
        ("Expected shortage: sum_{d > S} (d - S) f(d) = mu P(D >= S) - S P(D > S), using "
         "d f(d) = mu f(d - 1):",
         sp.Eq(E_f(sp.Max(_D - S, 0)), (mu - S) * (1 - Fs(S)) + mu * fs(S), evaluate=False)),
        ("Profit, with E(S - D)^+ = S - mu + E(D - S)^+:",
         sp.Eq(Pi_f(S), (margin + overage) * mu - overage * S
               - (overage + underage) * E_f(sp.Max(_D - S, 0)), evaluate=False)),
        ("The (S+1)-th unit is used only if D > S: Pi(S+1) - Pi(S) = -c_o + (c_o + c_u)(1 - F(S)), "
         "decreasing in S, so the optimal stock is the smallest S with F(S) >= c_u/(c_u + c_o) "
         "(found numerically: no closed form for the Poisson quantile).",
         sp.Eq(Pi_f(S + 1) - Pi_f(S), -overage + (overage + underage) * (1 - Fs(S)),
               evaluate=False)),
    ]
    dF = sp.simplify(sp.diff(F, mu))
    if sp.simplify(dF + f) != 0:
        raise AssertionError(f"Poisson: dF/dmu = {dF}, expected -f")
    steps.append(("More demand makes every stock level more likely to run out (SymPy "
                  "differentiates the incomplete gamma function):",
                  sp.Eq(sp.Derivative(Fs(S), mu), dF, evaluate=False)))
    d_shortage = sp.simplify(sp.diff(shortage, mu))
    curvature = sp.simplify(sp.diff(profit, mu, 2))
    expected_curv = -(overage + underage) * poisson_pmf(S - 1, mu)
    if sp.simplify(curvature - expected_curv) != 0:
        raise AssertionError(f"Poisson: d2Pi/dmu2 = {curvature}")
    steps.append(("For a fixed stock S, profit is concave in mean demand: the expected "
                  "shortage has slope P(D >= S) and curvature f(S - 1).",
                  sp.Eq(sp.Derivative(Pi_f(S), (mu, 2)),
                        -(overage + underage) * fs(S - 1), evaluate=False)))
    return Derivation(
        "B1: the newsvendor with exact Poisson demand",
        "D ~ Poisson(mu); integer stock S >= 0; c_o > 0 and c_u > 0.",
        tuple(steps),
        {"pmf": f, "cdf": F, "shortage": shortage, "profit": profit,
         "marginal_value": -overage + (overage + underage) * (1 - F), "d_cdf_d_mu": dF,
         "d_shortage_d_mu": d_shortage, "profit_curvature_in_mu": curvature})


# ---- B1: exposure, monotone stock and supermodularity --------------------------------------------
@functools.lru_cache(maxsize=None)
def derive_exposure_effects() -> Derivation:
    """B1 with exposure: mu(x) = alpha + delta x (linear, as MNL demand is), sigma = sqrt(theta mu).

    Results: ``stock_of_x`` S*(x), ``d_stock_d_x`` = delta (1 + z* sqrt(theta) / (2 sqrt(mu))),
    ``decreasing_below`` (the mu below which the normal S* falls with x: theta z*^2 / 4, only
    for z* < 0), ``negative_below`` (theta z*^2: the normal S* < 0 below it),
    ``cross_partial`` d^2 Pi / dS dx and its readable form ``cross_partial_readable`` =
    (c_o + c_u) delta phi(z) (S + mu) / (2 sqrt(theta) mu^(3/2)) >= 0 for S >= 0,
    ``poisson_cross_difference`` = d/dx [Pi(S+1) - Pi(S)] = (c_o + c_u) delta f(S; mu) >= 0.
    Assumptions: delta > 0 (own exposure raises own demand: true under MNL iff beta > 0).
    """
    normal = derive_newsvendor_normal()
    poisson = derive_newsvendor_poisson()
    mu_x = base_rate + exposure_slope * exposure
    S_x = normal["stock_theta"].subs(mean_demand, mu_x)
    dS = sp.simplify(sp.diff(S_x, exposure))
    zs = sp.Symbol("z^*", real=True)
    dS_readable = exposure_slope * (1 + zs * sp.sqrt(dispersion) / (2 * sp.sqrt(mu_x)))
    if sp.simplify(dS_readable.subs(zs, normal["z_star"]) - dS) != 0:
        raise AssertionError("dS*/dx: readable form differs")
    profit_x = normal["profit_theta"].subs(mean_demand, mu_x)
    cross = sp.diff(profit_x, stock, exposure)
    # chain rule (mu is linear in x): d2Pi/dSdx = delta d2Pi/dSdmu; simplify on the mu form
    cross_mu = sp.diff(normal["profit_theta"], stock, mean_demand)
    z_mu = (stock - mean_demand) / sp.sqrt(dispersion * mean_demand)
    readable_mu = ((overage + underage) * standard_normal_pdf(z_mu) * (stock + mean_demand)
                   / (2 * sp.sqrt(dispersion) * mean_demand ** sp.Rational(3, 2)))
    if sp.simplify(cross_mu - readable_mu) != 0:
        raise AssertionError("cross partial: readable form differs")
    cross_readable = exposure_slope * readable_mu.subs(mean_demand, mu_x)
    if not cross_readable.is_nonnegative:
        raise AssertionError("cross partial: SymPy cannot confirm its sign")
    poisson_cross = sp.simplify(sp.diff(poisson["marginal_value"].subs(mean_demand, mu_x),
                                        exposure))
    poisson_readable = (overage + underage) * exposure_slope * poisson_pmf(units, mu_x)
    if sp.simplify(poisson_cross - poisson_readable) != 0:
        raise AssertionError("Poisson cross difference: readable form differs")
    mu = mean_demand
    steps = [
        ("Mean demand is linear in own exposure (MNL with one recommendation slot, MODEL.md 3.3); "
         "delta > 0 iff the lift beta > 0.",
         sp.Eq(sp.Function("mu")(exposure), mu_x)),
        ("Optimal stock as exposure grows:",
         sp.Eq(sp.Derivative(sp.Symbol("S^*"), exposure), dS_readable, evaluate=False)),
        ("It rises whenever z* >= 0 (fractile >= 1/2). For z* < 0 it falls only where "
         "mu < theta z*^2 / 4, inside the region mu < theta z*^2 where the normal S* is "
         "negative; with stock clipped at 0 the optimal stock never falls.",
         sp.Tuple(sp.Eq(sp.Symbol(r"\mu_{\mathrm{falls}}"), dispersion * zs ** 2 / 4),
                  sp.Eq(sp.Symbol(r"\mu_{S^*<0}"), dispersion * zs ** 2))),
        ("Supermodularity: more exposure makes the marginal unit of stock more valuable "
         "(positive for every S >= 0, checked by SymPy):",
         sp.Eq(sp.Derivative(Pi_f(stock), stock, exposure),
               (overage + underage) * exposure_slope * phi_f(z) * (stock + mu)
               / (2 * sp.sqrt(dispersion) * mu ** sp.Rational(3, 2)), evaluate=False)),
        ("Exact Poisson: the value of the (S+1)-th unit rises with exposure by",
         sp.Eq(sp.Derivative(Pi_f(units + 1) - Pi_f(units), exposure),
               (overage + underage) * exposure_slope * sp.Function("f")(units), evaluate=False)),
    ]
    return Derivation(
        "B1: optimal stock rises with exposure; profit is supermodular in (stock, exposure)",
        "mu(x) = alpha + delta x with delta > 0; sigma = sqrt(theta mu) (normal) or Poisson.",
        tuple(steps),
        {"stock_of_x": S_x, "d_stock_d_x": dS, "d_stock_d_x_readable": dS_readable,
         "decreasing_below": dispersion * zs ** 2 / 4, "negative_below": dispersion * zs ** 2,
         "cross_partial": cross, "cross_partial_readable": cross_readable,
         "poisson_cross_difference": poisson_cross})


# ---- numbers: B1 ---------------------------------------------------------------------------------
def _cost_values(system, p, c, h, b):
    """(margin, overage, underage) as arrays, from the SymPy cost structure."""
    costs = newsvendor_costs(system)
    fn = {k: _cost_function(system, k.name) for k in costs}
    m_, co, cu = (np.asarray(fn[k](p, c, h, b), dtype=float) * np.ones_like(np.asarray(p, float))
                  for k in (margin, overage, underage))
    if np.any(co <= 0):
        raise ValueError(f"newsvendor ({system}): the overage cost must be positive "
                         f"({'c + h' if system == 'one-period' else 'h'} > 0), got {co}")
    if np.any(cu <= 0):
        raise ValueError(f"newsvendor ({system}): the underage cost p + b - c must be positive, "
                         f"got {cu} (stocking never pays)")
    return m_, co, cu


@functools.lru_cache(maxsize=None)
def _cost_function(system, name):
    costs = newsvendor_costs(system)
    key = {k.name: k for k in costs}[name]
    return _lambdify((price, unit_cost, holding_cost, lost_sale_penalty), costs[key])


@functools.lru_cache(maxsize=None)
def _normal_functions():
    d = derive_newsvendor_normal()
    args = (mean_demand, dispersion, margin, overage, underage)
    return {k: d.function(f"{k}_theta" if f"{k}_theta" in d.results else k, args)
            for k in ("stock", "optimal_profit", "mismatch_cost")} | {
        "critical_fractile": d.function("critical_fractile", (overage, underage)),
        "z_star": d.function("z_star", (overage, underage)),
        "profit": d.function("profit_theta", (stock,) + args)}


@functools.lru_cache(maxsize=None)
def _poisson_functions():
    d = derive_newsvendor_poisson()
    return {"profit": d.function("profit", (units, mean_demand, margin, overage, underage)),
            "cdf": d.function("cdf", (units, mean_demand)),
            "pmf": d.function("pmf", (units, mean_demand)),
            "shortage": d.function("shortage", (units, mean_demand))}


def _check_mean(mu):
    mu = np.asarray(mu, dtype=float)
    if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
        raise ValueError(f"mean demand must be positive and finite, got {mu}")
    return mu


def newsvendor_normal(mean, price, unit_cost, holding_cost, lost_sale_penalty, *,
                      system: str = "one-period", dispersion: float = 1.0) -> dict:
    """B1, normal approximation (closed form): dict of arrays ``critical_fractile``, ``z``,
    ``stock`` (S*, continuous, may be negative for tiny mu), ``optimal_profit``,
    ``mismatch_cost``.

    ``mean`` [mu_i], ``price`` [p_i], ``unit_cost`` [c_i], ``holding_cost`` [h_i],
    ``lost_sale_penalty`` [b_i]: scalars or broadcastable arrays. ``system``: "one-period" or
    "stationary" (see the module docstring). ``dispersion`` [theta]: Var D / E D.
    """
    mu = _check_mean(mean)
    if dispersion <= 0:
        raise ValueError(f"dispersion must be positive, got {dispersion}")
    m_, co, cu = _cost_values(system, price, unit_cost, holding_cost, lost_sale_penalty)
    fn = _normal_functions()
    return {"critical_fractile": fn["critical_fractile"](co, cu) + 0 * mu,
            "z": fn["z_star"](co, cu) + 0 * mu,
            "stock": fn["stock"](mu, dispersion, m_, co, cu),
            "optimal_profit": fn["optimal_profit"](mu, dispersion, m_, co, cu),
            "mismatch_cost": fn["mismatch_cost"](mu, dispersion, m_, co, cu)}


def newsvendor_normal_profit(stock_level, mean, price, unit_cost, holding_cost, lost_sale_penalty,
                             *, system: str = "one-period", dispersion: float = 1.0):
    """Expected profit of stock S under normal demand (the ``profit`` result, lambdified)."""
    mu = _check_mean(mean)
    m_, co, cu = _cost_values(system, price, unit_cost, holding_cost, lost_sale_penalty)
    return _normal_functions()["profit"](np.asarray(stock_level, float), mu, dispersion, m_, co, cu)


def newsvendor_poisson_profit(stock_level, mean, price, unit_cost, holding_cost, lost_sale_penalty,
                              *, system: str = "one-period"):
    """Exact expected profit of integer stock S under Poisson(mean) demand (lambdified)."""
    mu = _check_mean(mean)
    S = np.asarray(stock_level)
    if np.any(S < 0) or np.any(S != np.round(S)):
        raise ValueError(f"stock must be whole units >= 0, got {stock_level}")
    m_, co, cu = _cost_values(system, price, unit_cost, holding_cost, lost_sale_penalty)
    return _poisson_functions()["profit"](S.astype(float), mu, m_, co, cu)


def newsvendor_poisson(mean, price, unit_cost, holding_cost, lost_sale_penalty, *,
                       system: str = "one-period") -> dict:
    """B1, exact Poisson demand (numerical): dict of arrays ``critical_fractile``, ``stock``
    (the smallest integer S with F(S; mu) >= fractile) and ``optimal_profit`` (exact sums).

    Arguments as :func:`newsvendor_normal`; broadcast together.
    """
    mu = _check_mean(mean)
    m_, co, cu = _cost_values(system, price, unit_cost, holding_cost, lost_sale_penalty)
    mu, m_, co, cu = np.broadcast_arrays(mu, m_, co, cu)
    fractile = _normal_functions()["critical_fractile"](co, cu)
    top = int(np.max(mu + 12 * np.sqrt(mu) + 20))
    grid = np.arange(top + 1, dtype=float).reshape((-1,) + (1,) * mu.ndim)
    cdf = _poisson_functions()["cdf"](grid, mu)
    S = np.argmax(cdf >= fractile - 1e-12, axis=0).astype(float)
    profit = _poisson_functions()["profit"](S, mu, m_, co, cu)
    return {"critical_fractile": fractile, "stock": S.astype(np.int64), "optimal_profit": profit}


def _normal_profit_by_quadrature(mean, sd, m_, co, cu):
    pdf = stats.norm(mean, sd).pdf

    def neg_profit(S):
        over = integrate.quad(lambda d: (S - d) * pdf(d), -np.inf, S)[0]
        under = integrate.quad(lambda d: (d - S) * pdf(d), S, np.inf)[0]
        return -(m_ * mean - co * over - cu * under)

    r = optimize.minimize_scalar(neg_profit, bounds=(mean - 8 * sd, mean + 8 * sd),
                                 method="bounded", options={"xatol": 1e-9})
    return -r.fun
