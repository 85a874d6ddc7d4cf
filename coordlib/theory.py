"""Analytical benchmarks B1, B2 and the static part of B5 (MODEL.md section 5), derived with SymPy.

Every derivation is a function returning a :class:`Derivation`: an ordered list of steps (each a
SymPy equation with one sentence saying what it means) and the named results. A step that
restates an expression in readable form (with phi, Phi and the standard normal loss G) is
checked against the expression SymPy computed, so the page cannot drift from the algebra.
Every closed-form number comes from ``sympy.lambdify`` of those results; no formula is typed
twice. The independent checks are named as such: direct numerical optimization
(:func:`value_of_coordination_numeric`), the exact lost-sales Markov chain
(:func:`lost_sales_base_stock`) and the simulator (:func:`newsvendor_profit_monte_carlo`).

Two demand models, always named:

* **normal** (closed form): demand D ~ N(mu, sigma^2) with sigma = sqrt(theta mu); theta = 1
  matches the variance of Poisson demand (MODEL.md 3.3), theta > 1 is extra demand
  uncertainty. Stock is continuous.
* **poisson** (exact, numerical): D ~ Poisson(mu) as in the simulator, integer stock, profit
  from exact Poisson sums (the loss function in closed form with the incomplete gamma
  function); the optimal stock is found numerically as the smallest S with F(S) >= fractile.

Two inventory systems, always named:

* ``"one-period"`` (B1 as stated): start empty, buy S at c each, sell min(S, D) at p, hold the
  leftovers at h, pay b per lost sale. Overage cost c_o = c + h, underage c_u = p + b - c,
  critical fractile (p + b - c) / (p + b + h).
* ``"stationary"``: the simulator's multi-period lost-sales system with lead time 0 and
  order-up-to S every period. The order arrives at once, so every period starts with S on
  hand and the order replaces last period's sales: the firm pays c only for units it sells.
  A leftover unit is not wasted (it is sold later), it only costs h: c_o = h,
  c_u = p + b - c, fractile (p + b - c) / (p + b - c + h), the level
  :func:`coordlib.policies.critical_fractile` uses. See :func:`derive_cost_structures`.

Claims of MODEL.md section 5 and what the derivations find:

* B1 holds. Normal: S* = mu + z* sigma; d^2 Pi / dS dx = (c_o + c_u) delta phi(z) (S + mu) /
  (2 sqrt(theta) mu^(3/2)) >= 0 for every S >= 0 (supermodular). dS*/dx =
  delta (1 + z* sqrt(theta) / (2 sqrt(mu))) is negative only where mu < theta z*^2 / 4, which
  needs a fractile below 1/2 and lies inside the region mu < theta z*^2 where the normal
  S* is negative (so S* clipped at 0 never falls). Poisson: the marginal value of the
  (S+1)-th unit rises with exposure by (c_o + c_u) delta f(S; mu) >= 0.
* B2 holds for the normal approximation, in both systems, for any margins (not only equal
  ones): the mismatch cost (c_o + c_u) phi(z*) sqrt(theta mu) is concave in mu, mu is linear
  in the exposure (MNL, one recommendation slot), so profit is convex in the static split and
  strictly so iff beta > 0. It FAILS for exact Poisson demand with integer stock: for each
  fixed S the profit is strictly concave in mu (d^2 Pi / d mu^2 = -(c_o + c_u) f(S - 1; mu)),
  so the optimal profit is only piecewise concave between the points where S* jumps, and
  the best static exposure can be interior. Counterexample: ``tiny`` with lambda = 2.5: in one
  period the uniform split x = 1/2 beats both extremes by 0.565 per period (confirmed on the
  simulator); in the stationary system x = 0.18 beats them by 0.068; under lost sales with lead
  time 1 and base-stock, x = 0.15 by 0.001 (:func:`static_profit_curve`,
  :func:`interior_optimum_scan`). With beta = 0 the profit does not depend on x at all.
* Value of coordination (static, two products): a closed form (:func:`derive_value_of_coordination`)
  that is zero when the GMV-greedy choice is also the newsvendor-optimal one (e.g. ``tiny``)
  and, with symmetric attractions, equals max(0, Dm Dmu - Dk sqrt(theta) Dsqrt(mu)).
"""
from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np
import pandas as pd
import sympy as sp
from scipy import integrate, optimize, sparse, special, stats
from scipy.sparse import linalg as sparse_linalg

from . import reporting
from .evaluation import mean_ci
from .scenario import Scenario, ScenarioError
from .simulator import Simulator

SYSTEMS = ("one-period", "stationary")
DEMAND_MODELS = ("normal", "poisson")

# ---- symbols (MODEL.md names) ----------------------------------------------------------------
price = sp.Symbol("p", positive=True)                  #: selling price [p_i]
unit_cost = sp.Symbol("c", nonnegative=True)           #: purchase cost per unit [c_i]
holding_cost = sp.Symbol("h", nonnegative=True)        #: holding cost per unit left [h_i]
lost_sale_penalty = sp.Symbol("b", nonnegative=True)   #: goodwill cost per lost sale [b_i]
mean_demand = sp.Symbol("mu", positive=True)           #: mean demand of the period [mu_i]
demand_sd = sp.Symbol("sigma", positive=True)          #: standard deviation of demand
dispersion = sp.Symbol("theta", positive=True)         #: variance / mean of demand (1: Poisson)
stock = sp.Symbol("S", positive=True)                  #: stock after arrivals (continuous)
units = sp.Symbol("S", integer=True, nonnegative=True)  #: stock after arrivals (Poisson, integer)
margin = sp.Symbol("m", real=True)                     #: margin per unit sold, p - c
overage = sp.Symbol("c_o", positive=True)              #: cost of one unit too many
underage = sp.Symbol("c_u", positive=True)             #: cost of one unit too few
z = sp.Symbol("z", real=True)                          #: standardized stock (S - mu) / sigma
exposure = sp.Symbol("x", nonnegative=True)            #: own exposure share [x_ki]
base_rate = sp.Symbol("alpha", positive=True)          #: mean demand at zero own exposure
exposure_slope = sp.Symbol("delta", positive=True)     #: d mu / d x, the lift effect
arrival_rate = sp.Symbol("lambda", positive=True)      #: customers per period [lambda_k]
outside_attraction = sp.Symbol("v_0", positive=True)   #: [v_k0]
lift = sp.Symbol("beta", nonnegative=True)             #: recommendation lift [beta_k]

# display-only functions: standard normal density, distribution and loss
phi_f, Phi_f, G_f = sp.Function("phi"), sp.Function("Phi"), sp.Function("G")
Pi_f = sp.Function(r"\Pi")
E_f = sp.Function(r"\mathbb{E}")
_D = sp.Symbol("D", real=True)


def standard_normal_pdf(arg):
    """phi(arg) as an explicit SymPy expression."""
    return sp.exp(-arg ** 2 / 2) / sp.sqrt(2 * sp.pi)


def standard_normal_cdf(arg):
    """Phi(arg) as an explicit SymPy expression (with erf)."""
    return (1 + sp.erf(arg / sp.sqrt(2))) / 2


def standard_normal_loss(arg):
    """G(arg) = E (Z - arg)^+ = phi(arg) - arg (1 - Phi(arg)) for Z ~ N(0, 1), explicit."""
    return standard_normal_pdf(arg) - arg * (1 - standard_normal_cdf(arg))


def explicit(expr):
    """Replace the display functions phi, Phi, G by their explicit SymPy expressions."""
    t = sp.Dummy("t")
    return sp.sympify(expr).subs({G_f: sp.Lambda(t, standard_normal_loss(t)),
                                  phi_f: sp.Lambda(t, standard_normal_pdf(t)),
                                  Phi_f: sp.Lambda(t, standard_normal_cdf(t))})


def poisson_pmf(k, mu):
    """f(k; mu) = mu^k e^(-mu) / k!, the Poisson probability mass (explicit)."""
    return mu ** k * sp.exp(-mu) / sp.factorial(k)


def poisson_cdf(k, mu):
    """F(k; mu) = P(D <= k) = Gamma(k + 1, mu) / k! (upper incomplete gamma), for integer k >= 0."""
    return sp.uppergamma(k + 1, mu) / sp.factorial(k)


def product_symbols(i: int) -> dict:
    """The symbols p_i, c_i, h_i, b_i, v_i of product i (for the two-product derivations)."""
    return {"price": sp.Symbol(f"p_{i}", positive=True),
            "unit_cost": sp.Symbol(f"c_{i}", nonnegative=True),
            "holding_cost": sp.Symbol(f"h_{i}", nonnegative=True),
            "lost_sale_penalty": sp.Symbol(f"b_{i}", nonnegative=True),
            "attraction": sp.Symbol(f"v_{i}", positive=True)}


# ---- the derivation container ------------------------------------------------------------------
@dataclass(frozen=True)
class Derivation:
    """A derivation: titled steps (what it means, a SymPy equation) and named results.

    ``results[name]`` is a SymPy expression; :meth:`function` lambdifies it. In Jupyter the
    object renders itself as Markdown with one LaTeX display per step.
    """

    title: str
    assumptions: str
    steps: tuple = ()
    results: Mapping[str, sp.Expr] = field(default_factory=dict)
    substitutions: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    """symbols of the results that stand for expressions (substituted before lambdify)"""

    def __getitem__(self, name):
        return self.results[name]

    def function(self, name: str, args):
        """A NumPy/SciPy function of ``args`` (symbols) computing ``results[name]``."""
        return _lambdify(tuple(args), self.results[name].subs(self.substitutions))

    def to_markdown(self) -> str:
        lines = [f"**{self.title}**", "", f"*Assumptions.* {self.assumptions}", ""]
        for n, (text, obj) in enumerate(self.steps, 1):
            lines += [f"{n}. {text}", "", f"$$ {sp.latex(obj)} $$", ""]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _checked(lhs, readable, computed, text, subs=None):
    """A step showing ``lhs = readable``, after checking that ``readable`` (with ``subs``
    applied, e.g. z = (S - mu)/sigma) equals ``computed``."""
    if computed is not None:
        gap = sp.simplify(explicit(readable).subs(subs or {}) - explicit(computed))
        if gap != 0:
            raise AssertionError(f"derivation step {text!r}: readable form differs from the "
                                 f"computed one by {gap}")
    return (text, sp.Eq(lhs, readable, evaluate=False))


# ---- numerics from the SymPy results -------------------------------------------------------------
_safe_exp = sp.Function("safe_exp")
_gammaincc = sp.Function("gammaincc")
_gammaln = sp.Function("gammaln")  # SymPy turns loggamma(S + 1) of an integer S into log(gamma)
_MODULES = [{"safe_exp": np.exp, "gammaincc": special.gammaincc, "gammaln": special.gammaln,
             "erfinv": special.erfinv}, "scipy", "numpy"]


def _log_space(expr):
    """Rewrite Poisson factors mu^k e^-mu / k! and Gamma(k+1, mu) / k! so that NumPy never
    forms mu^k or k! on their own (they overflow long before the probabilities do)."""
    expr = sp.sympify(expr).rewrite(sp.gamma)
    expr = expr.replace(sp.uppergamma, lambda a, x: _gammaincc(a, x) * sp.gamma(a))

    def has_inverse_gamma(e):
        return e.is_Mul and any(f.is_Pow and isinstance(f.base, sp.gamma) and f.exp.is_negative
                                for f in e.args)

    def fold(e):
        log_part, rest = sp.Integer(0), []
        for f in e.args:
            if isinstance(f, sp.exp):
                log_part += f.args[0]
            elif f.is_Pow and isinstance(f.base, sp.gamma):
                log_part += f.exp * _gammaln(f.base.args[0])
            elif f.is_Pow and f.base.is_positive and f.exp.free_symbols:
                log_part += f.exp * sp.log(f.base)
            else:
                rest.append(f)
        return sp.Mul(*rest) * _safe_exp(log_part)

    return expr.replace(has_inverse_gamma, fold)


def _lambdify(args, expr):
    return sp.lambdify(args, _log_space(expr), modules=_MODULES)


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


# ---- B2: static exposure split ------------------------------------------------------------------
def mnl_demand_rates_two_products():
    """(mu_1(x), mu_2(x)) for one segment shown product 1 with probability x (MODEL.md 3.3).

    mu_i(x) = lambda (x P_i(1) + (1 - x) P_i(2)), P_i(j) = v_i (1 + beta [i = j]) /
    (v_0 + v_1 + v_2 + beta v_j).
    """
    v1, v2 = product_symbols(1)["attraction"], product_symbols(2)["attraction"]
    lam, v0, beta, x = arrival_rate, outside_attraction, lift, exposure
    D1, D2 = v0 + v1 + v2 + beta * v1, v0 + v1 + v2 + beta * v2
    P = {(1, 1): v1 * (1 + beta) / D1, (2, 1): v2 / D1,
         (1, 2): v1 / D2, (2, 2): v2 * (1 + beta) / D2}
    return (lam * (x * P[1, 1] + (1 - x) * P[1, 2]), lam * (x * P[2, 1] + (1 - x) * P[2, 2]))


@functools.lru_cache(maxsize=None)
def derive_static_exposure() -> Derivation:
    """B2: with newsvendor-optimal stock (normal approximation), the firm's profit is convex in
    a static exposure split x (share of product 1), for any margins; strictly iff beta > 0.

    Pi(x) = sum_i [m_i mu_i(x) - k_i sqrt(theta mu_i(x))], k_i = (c_o,i + c_u,i) phi(z_i*) > 0.
    Results: ``profit`` (generic affine mu_i = alpha_i + delta_i x), ``second_derivative`` and
    ``second_derivative_readable`` (``second_derivative_in_mu``: the same with mu_i > 0
    symbols), ``d_mu1_dx``, ``d_mu2_dx`` (MNL, factored: both carry the factor beta), ``mu1``,
    ``mu2`` (MNL).
    """
    a1, a2 = sp.symbols("alpha_1 alpha_2", positive=True)
    d1, d2 = sp.symbols("delta_1 delta_2", real=True)
    m1, m2 = sp.symbols("m_1 m_2", real=True)
    k1, k2 = sp.symbols("k_1 k_2", positive=True)
    x = exposure
    mus = (a1 + d1 * x, a2 + d2 * x)
    profit = sum(m * mu - k * sp.sqrt(dispersion * mu) for m, k, mu in zip((m1, m2), (k1, k2), mus))
    second = sp.diff(profit, x, 2)
    M1, M2 = sp.symbols("mu_1 mu_2", positive=True)  # mean demands are positive
    readable_mu = sum(k * sp.sqrt(dispersion) * d ** 2 / (4 * M ** sp.Rational(3, 2))
                      for k, d, M in zip((k1, k2), (d1, d2), (M1, M2)))
    readable = readable_mu.subs({M1: mus[0], M2: mus[1]})
    if sp.simplify(second - readable) != 0:
        raise AssertionError("B2 second derivative: readable form differs")
    if not readable_mu.is_nonnegative:
        raise AssertionError("B2: SymPy cannot confirm convexity")
    mu1, mu2 = mnl_demand_rates_two_products()
    if sp.diff(mu1, x, 2) != 0 or sp.simplify(sp.diff(mu2, x, 2)) != 0:
        raise AssertionError("MNL demand is not linear in exposure")
    dmu1, dmu2 = sp.factor(sp.diff(mu1, x)), sp.factor(sp.diff(mu2, x))
    mu_f = sp.Function("mu")
    steps = [
        ("Two products, one segment, product 1 shown with probability x: MNL demand is "
         "linear in x (second derivative 0, checked):",
         sp.Tuple(sp.Eq(mu_f(1, x), mu1), sp.Eq(mu_f(2, x), mu2))),
        ("Exposure moves demand from one product to the other at rates proportional to the "
         "lift beta:",
         sp.Tuple(sp.Eq(sp.Derivative(mu_f(1, x), x), dmu1),
                  sp.Eq(sp.Derivative(mu_f(2, x), x), dmu2))),
        ("With newsvendor-optimal stock, profit is margin minus mismatch cost, "
         "k_i = (c_o,i + c_u,i) phi(z_i*):",
         sp.Eq(Pi_f(x), profit.subs({a1 + d1 * x: mu_f(1, x), a2 + d2 * x: mu_f(2, x)}),
               evaluate=False)),
        ("The mismatch cost is concave in mu (square-root law) and mu is linear in x, so the "
         "profit is convex in x (a sum of positive terms, checked by SymPy):",
         sp.Eq(sp.Derivative(Pi_f(x), (x, 2)),
               readable.subs({a1 + d1 * x: mu_f(1, x), a2 + d2 * x: mu_f(2, x),
                              d1: sp.Derivative(mu_f(1, x), x), d2: sp.Derivative(mu_f(2, x), x)}),
               evaluate=False)),
        ("Convex on [0, 1], so the best static split is extreme: show one product only. "
         "Margins enter linearly and only tilt which extreme wins; with beta = 0 demand does "
         "not depend on x and every split is as good.",
         sp.Eq(sp.Symbol("x^*"), sp.Symbol(r"\{0, 1\}"), evaluate=False)),
    ]
    return Derivation(
        "B2: profit is convex in a static exposure split (normal approximation)",
        "Two products, one segment (MNL, MODEL.md 3.3); newsvendor-optimal stock in either "
        "system; sigma_i = sqrt(theta mu_i). The same holds per segment for K > 1 (profit is "
        "convex in each segment's exposure row, so some vertex is optimal).",
        tuple(steps),
        {"profit": profit, "second_derivative": second, "second_derivative_readable": readable,
         "second_derivative_in_mu": readable_mu,
         "mu1": mu1, "mu2": mu2, "d_mu1_dx": dmu1, "d_mu2_dx": dmu2})


# ---- B5 (static part): value of coordination over the GMV-greedy recommender ---------------------
@functools.lru_cache(maxsize=None)
def derive_value_of_coordination(system: str = "one-period") -> Derivation:
    """Static value of coordination, two products, one segment, normal approximation.

    The siloed firm: marketing shows the GMV-greedy product (highest sum_i p_i P_i(j); ties to
    product 1 as :class:`coordlib.policies.Greedy`), operations stock newsvendor-optimally
    for the demand it gets. The coordinated static firm shows the product maximizing the
    newsvendor-optimal profit (an extreme by B2). Results:

    * ``profit_show_1``, ``profit_show_2``: Pi_j = sum_i [m_i mu_ij - (c_o,i + c_u,i)
      phi(z_i*) sqrt(theta mu_ij)] (from :func:`derive_newsvendor_normal`),
    * ``gmv_1``, ``gmv_2``, ``margin_1``, ``margin_2``: each recommender's score,
    * ``value``: V = max(Pi_1, Pi_2) - Pi_GMV; ``value_margin`` (margin-greedy over GMV-greedy)
      and ``value_mismatch`` (coordinated over margin-greedy): V = value_margin + value_mismatch,
    * symmetric attractions (v_1 = v_2 = v, p_1 >= p_2 so GMV shows product 1):
      ``gap_symmetric`` W = Pi_2 - Pi_1 = Dm Dmu - Dk sqrt(theta) Dsqrt(mu), V = max(0, W),
      with Dm = m_2 - m_1, Dk = k_2 - k_1, Dmu = mu_H - mu_L, Dsqrt(mu) = sqrt(mu_H) - sqrt(mu_L),
    * comparative statics of W: ``dW_d_margin_spread``, ``dW_d_dispersion``, ``dW_d_lift``,
      ``dW_d_arrival_rate``, and ``d_Dmu_d_lift`` > 0, ``d_Dsqrt_d_u`` > 0 (u = sqrt(1 + beta)).

    All arguments of the lambdified results are symbols of this module and
    :func:`product_symbols`; see :func:`value_of_coordination` for the numbers.
    """
    _check_system(system)
    nv = derive_newsvendor_normal()
    prod = [product_symbols(1), product_symbols(2)]
    mu1, mu2 = mnl_demand_rates_two_products()
    costs = newsvendor_costs(system)

    # per product, the optimal profit is m mu - k sqrt(theta mu) with k = (c_o + c_u) phi(z*)
    k_of_costs = (overage + underage) * standard_normal_pdf(nv["z_star"])
    per_product = margin * mean_demand - k_of_costs * sp.sqrt(dispersion * mean_demand)
    if sp.simplify(per_product - nv["optimal_profit_theta"]) != 0:
        raise AssertionError("value of coordination: per-product optimal profit differs")
    m1, m2 = sp.symbols("m_1 m_2", real=True)
    k1, k2 = sp.symbols("k_1 k_2", positive=True)
    ms, ks = (m1, m2), (k1, k2)
    mus = {1: (mu1.subs(exposure, 1), mu2.subs(exposure, 1)),
           2: (mu1.subs(exposure, 0), mu2.subs(exposure, 0))}
    Pi = {j: sum(ms[i] * mus[j][i] - ks[i] * sp.sqrt(dispersion * mus[j][i]) for i in range(2))
          for j in (1, 2)}
    gmv = {j: prod[0]["price"] * mus[j][0] + prod[1]["price"] * mus[j][1] for j in (1, 2)}
    mar = {j: m1 * mus[j][0] + m2 * mus[j][1] for j in (1, 2)}
    pi_gmv = sp.Piecewise((Pi[1], gmv[1] >= gmv[2]), (Pi[2], True))
    pi_margin = sp.Piecewise((Pi[1], mar[1] >= mar[2]), (Pi[2], True))
    pi_coord = sp.Max(Pi[1], Pi[2])
    # m_i and k_i in terms of the product's p, c, h, b (substituted for the numbers)
    product_values = {}
    for i, s in enumerate(prod):
        sub = {price: s["price"], unit_cost: s["unit_cost"], holding_cost: s["holding_cost"],
               lost_sale_penalty: s["lost_sale_penalty"]}
        c = {kk: vv.subs(sub) for kk, vv in costs.items()}
        product_values[ms[i]] = c[margin]
        product_values[ks[i]] = k_of_costs.subs(c)

    # symmetric attractions: the closed form and its comparative statics
    v = sp.Symbol("v", positive=True)
    dm, dk = sp.Symbol(r"\Delta_m", real=True), sp.Symbol(r"\Delta_k", real=True)
    D = outside_attraction + 2 * v + lift * v
    mu_H, mu_L = arrival_rate * v * (1 + lift) / D, arrival_rate * v / D
    W = dm * (mu_H - mu_L) - dk * sp.sqrt(dispersion) * (sp.sqrt(mu_H) - sp.sqrt(mu_L))
    sym = {prod[0]["attraction"]: v, prod[1]["attraction"]: v}
    general_gap = (Pi[2] - Pi[1]).subs(sym)
    if sp.simplify(general_gap - W.subs({dm: m2 - m1, dk: k2 - k1})) != 0:
        raise AssertionError("value of coordination: symmetric closed form differs")
    Dmu, Dsqrt = sp.simplify(mu_H - mu_L), sp.sqrt(mu_H) - sp.sqrt(mu_L)
    u = sp.Symbol("u", positive=True)
    Dsqrt_u = sp.sqrt(arrival_rate * v) * (u - 1) / sp.sqrt(outside_attraction + v + u ** 2 * v)
    if sp.simplify(Dsqrt.subs(lift, u ** 2 - 1) - Dsqrt_u) != 0:
        raise AssertionError("value of coordination: u-substitution differs")
    d_Dmu = sp.factor(sp.diff(Dmu, lift))
    d_Dsqrt_u = sp.factor(sp.simplify(sp.diff(Dsqrt_u, u)))
    for name, e in (("d Dmu / d beta", d_Dmu), ("d Dsqrt / d u", d_Dsqrt_u)):
        if not e.is_positive:
            raise AssertionError(f"value of coordination: SymPy cannot confirm {name} > 0")
    dW = {"dW_d_margin_spread": sp.factor(sp.diff(W, dm)),
          "dW_d_dispersion": sp.factor(sp.diff(W, dispersion)),
          "dW_d_lift": sp.diff(W, lift), "dW_d_arrival_rate": sp.simplify(sp.diff(W, arrival_rate))}
    Dmu_s, Dsq_s = sp.Symbol(r"\Delta\mu", positive=True), sp.Symbol(r"\Delta\sqrt{\mu}", positive=True)
    readable_lam = (dm * Dmu_s - dk * sp.sqrt(dispersion) * Dsq_s / 2) / arrival_rate
    if sp.simplify(readable_lam.subs({Dmu_s: Dmu, Dsq_s: Dsqrt}) - dW["dW_d_arrival_rate"]) != 0:
        raise AssertionError("dW/dlambda: readable form differs")
    gmv_gap = sp.factor((gmv[1] - gmv[2]).subs(sym))
    if sp.simplify(gmv_gap - arrival_rate * v * lift * (prod[0]["price"] - prod[1]["price"]) / D) != 0:
        raise AssertionError("value of coordination: symmetric GMV gap differs")
    mu_f = sp.Function("mu")
    i_, j_ = sp.Symbol("i"), sp.Symbol("j")
    mu_ij = mu_f(i_, j_)
    steps = [
        ("Profit when product j is shown to everyone (newsvendor-optimal stock of both):",
         sp.Eq(sp.Symbol(r"\Pi_j"), sp.Sum(sp.Symbol("m_i") * mu_ij
                                           - sp.Symbol("k_i") * sp.sqrt(dispersion * mu_ij),
                                           (i_, 1, 2)), evaluate=False)),
        ("GMV-greedy (siloed marketing) shows the product with more purchase intent revenue; "
         "with symmetric attractions that is the higher-priced product:",
         sp.Tuple(sp.Eq(sp.Symbol(r"\mathrm{GMV}_j"), sp.Sum(sp.Symbol("p_i") * mu_ij, (i_, 1, 2)),
                        evaluate=False),
                  sp.Eq(sp.Symbol(r"\mathrm{GMV}_1 - \mathrm{GMV}_2"), gmv_gap, evaluate=False))),
        ("Value of coordination: the coordinated static optimum (an extreme, by B2) over the "
         "product GMV-greedy shows; it splits into a margin part (margin-greedy over GMV-greedy) "
         "and a mismatch part (the square-root law over margin-greedy).",
         sp.Eq(sp.Symbol("V"), sp.Max(sp.Symbol(r"\Pi_1"), sp.Symbol(r"\Pi_2"))
               - sp.Symbol(r"\Pi_{\mathrm{GMV}}"), evaluate=False)),
        ("Symmetric attractions (v_1 = v_2 = v) and p_1 >= p_2, so GMV-greedy shows product 1; "
         "shown product demand mu_H, the other mu_L (checked against the general form):",
         sp.Eq(sp.Symbol("V"), sp.Max(0, dm * Dmu_s - dk * sp.sqrt(dispersion) * Dsq_s),
               evaluate=False)),
        ("where", sp.Tuple(sp.Eq(Dmu_s, Dmu), sp.Eq(Dsq_s, Dsqrt),
                           sp.Eq(dm, sp.Symbol("m_2") - sp.Symbol("m_1")),
                           sp.Eq(dk, sp.Symbol("k_2") - sp.Symbol("k_1")))),
        ("Margin spread: V grows one for one with Dm times the demand the lift moves:",
         sp.Eq(sp.Derivative(sp.Symbol("W"), dm), dW["dW_d_margin_spread"], evaluate=False)),
        ("Demand uncertainty theta: V grows with it iff the product GMV ignores has the lower "
         "mismatch coefficient (Dk < 0):",
         sp.Eq(sp.Derivative(sp.Symbol("W"), dispersion), dW["dW_d_dispersion"], evaluate=False)),
        ("Lift beta: both gaps widen with beta (u = sqrt(1 + beta)); so V grows with beta "
         "whenever Dm >= 0 >= Dk:",
         sp.Tuple(sp.Eq(sp.Derivative(Dmu_s, lift), d_Dmu),
                  sp.Eq(sp.Derivative(Dsq_s, u), d_Dsqrt_u))),
        ("Arrival rate lambda: the margin part grows like lambda, the mismatch part like "
         "sqrt(lambda):",
         sp.Eq(sp.Derivative(sp.Symbol("W"), arrival_rate), readable_lam, evaluate=False)),
    ]
    results = {"profit_show_1": Pi[1], "profit_show_2": Pi[2], "gmv_1": gmv[1], "gmv_2": gmv[2],
               "margin_1": mar[1], "margin_2": mar[2], "profit_gmv": pi_gmv,
               "profit_margin_greedy": pi_margin, "profit_coordinated": pi_coord,
               "value": pi_coord - pi_gmv, "value_margin": pi_margin - pi_gmv,
               "value_mismatch": pi_coord - pi_margin, "gap_symmetric": W,
               "mismatch_coefficient": k_of_costs,
               "d_Dmu_d_lift": d_Dmu, "d_Dsqrt_d_u": d_Dsqrt_u, **dW}
    return Derivation(
        f"B5 (static part): the value of coordination over GMV-greedy, two products ({system})",
        "One segment, two products (MNL); newsvendor-optimal stock for the demand each "
        "recommendation produces; normal approximation with sigma_i = sqrt(theta mu_i); "
        "m_i = p_i - c_i and k_i = (c_o,i + c_u,i) phi(z_i*) (``product_values``).",
        tuple(steps), results, product_values)


def comparative_statics_signs(system: str = "one-period") -> pd.DataFrame:
    """Signs of the derivatives of W (symmetric family), from SymPy's assumption system.

    One row per parameter: the derivative (LaTeX), its sign in the aligned case (the product
    GMV-greedy ignores has the higher margin and the lower mismatch coefficient: Dm > 0 > Dk)
    and in general, with the condition.
    """
    der = derive_value_of_coordination(system)
    dm, dk = sp.Symbol(r"\Delta_m", real=True), sp.Symbol(r"\Delta_k", real=True)
    a, b_ = sp.symbols("a b", positive=True)
    aligned = {dm: a, dk: -b_}
    rows = []
    general = {
        "dW_d_margin_spread": "> 0 always (beta > 0)",
        "dW_d_dispersion": "sign of -Dk",
        "dW_d_lift": "> 0 if Dm >= 0 >= Dk; otherwise either sign",
        "dW_d_arrival_rate": "> 0 if Dm >= 0 >= Dk, or if V > 0 and Dk >= 0; otherwise either sign",
    }
    # beta = w^2 + 2w with w = sqrt(1 + beta) - 1 > 0: SymPy then sees sqrt(1 + beta) - 1 = w > 0
    w = sp.Symbol("w", positive=True)
    for key, cond in general.items():
        e = der[key]
        if key == "dW_d_lift":
            # through d Dmu / d beta > 0 and d Dsqrt / d beta > 0 (proved in the derivation):
            # dW/dbeta = Dm (+) - Dk sqrt(theta) (+)
            pos = sp.symbols("P Q", positive=True)
            sign_aligned = (a * pos[0] + b_ * sp.sqrt(dispersion) * pos[1]).is_positive
        else:
            sign_aligned = sp.factor(e.subs(aligned).subs(lift, (w + 1) ** 2 - 1)).is_positive
        rows.append({"parameter": key.replace("dW_d_", ""), "derivative": sp.latex(e),
                     "positive_when_aligned": bool(sign_aligned), "general": cond})
    return pd.DataFrame(rows)


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


# ---- numbers: two products, static exposure ------------------------------------------------------
def _two_product_arrays(scenario: Scenario) -> dict:
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: expected a coordlib.Scenario, got {type(scenario).__name__}")
    if scenario.n_products != 2 or scenario.n_segments != 1:
        raise ScenarioError(f"the two-product closed forms need N = 2 and K = 1, got "
                            f"N = {scenario.n_products}, K = {scenario.n_segments} ({scenario.name})")
    if scenario.seasonal:
        raise ScenarioError(f"{scenario.name}: the static theory assumes constant arrival rates "
                            "(no seasonality)")
    if scenario.backlog:
        raise ScenarioError(f"{scenario.name}: the theory is for lost sales (backlog: false)")
    s = scenario
    return {"lam": float(s.arrival_rate[0]), "v0": float(s.outside_attraction[0]),
            "v": s.attraction[0].astype(float), "beta": float(s.lift[0]),
            "p": s.price.astype(float), "c": s.unit_cost.astype(float),
            "h": s.holding_cost.astype(float), "b": s.lost_sale_penalty.astype(float)}


def demand_rates(scenario: Scenario, share) -> np.ndarray:
    """(len(share), 2): mu_i(x) of a two-product, one-segment scenario shown product 1 with
    probability ``share`` [x_k1] (lambdified from :func:`mnl_demand_rates_two_products`)."""
    a = _two_product_arrays(scenario)
    x = np.atleast_1d(np.asarray(share, dtype=float))
    if np.any(x < 0) or np.any(x > 1):
        raise ValueError(f"share: must lie in [0, 1], got {share}")
    fn = _mnl_function()
    mu1, mu2 = fn(x, a["lam"], a["v0"], a["v"][0], a["v"][1], a["beta"])
    return np.stack(np.broadcast_arrays(mu1, mu2), axis=-1)


@functools.lru_cache(maxsize=None)
def _mnl_function():
    v1, v2 = product_symbols(1)["attraction"], product_symbols(2)["attraction"]
    return _lambdify((exposure, arrival_rate, outside_attraction, v1, v2, lift),
                     sp.Tuple(*mnl_demand_rates_two_products()))


def static_profit_curve(scenario: Scenario, shares=None, *, demand: str = "normal",
                        system: str = "one-period", lead_time: int = 0,
                        dispersion: float = 1.0) -> pd.DataFrame:
    """The firm's profit per period against a static split x (share shown product 1), with
    each product stocked optimally for the demand x produces (B2).

    ``demand="normal"``: closed form, continuous stock (convex in x by B2).
    ``demand="poisson"``: exact, integer stock. With ``system="stationary"`` and
    ``lead_time`` > 0 the stock policy is base-stock with lead time L under lost sales, solved
    exactly per product (:func:`lost_sales_base_stock`), the best level for each x.
    Returns columns ``share``, ``mu_1``, ``mu_2``, ``stock_1``, ``stock_2``, ``profit_1``,
    ``profit_2``, ``profit``, ``demand``, ``system``, ``lead_time``.
    """
    if demand not in DEMAND_MODELS:
        raise ValueError(f"demand: must be one of {DEMAND_MODELS}, got {demand!r}")
    _check_system(system)
    if lead_time and (system != "stationary" or demand != "poisson"):
        raise ValueError("lead_time > 0 needs system='stationary' and demand='poisson' "
                         "(no closed form under lost sales)")
    a = _two_product_arrays(scenario)
    shares = np.linspace(0, 1, 101) if shares is None else np.asarray(shares, dtype=float)
    mu = demand_rates(scenario, shares)
    out = {"share": shares, "mu_1": mu[:, 0], "mu_2": mu[:, 1]}
    for i in range(2):
        args = (mu[:, i], a["p"][i], a["c"][i], a["h"][i], a["b"][i])
        if demand == "normal":
            r = newsvendor_normal(*args, system=system, dispersion=dispersion)
            S, prof = r["stock"], r["optimal_profit"]
        elif lead_time == 0:
            r = newsvendor_poisson(*args, system=system)
            S, prof = r["stock"], r["optimal_profit"]
        else:
            best = [lost_sales_base_stock_optimum(m, lead_time, a["p"][i], a["c"][i], a["h"][i],
                                                  a["b"][i]) for m in mu[:, i]]
            S = np.array([s for s, _ in best]); prof = np.array([g for _, g in best])
        out[f"stock_{i + 1}"], out[f"profit_{i + 1}"] = S, prof
    frame = pd.DataFrame(out)
    frame["profit"] = frame["profit_1"] + frame["profit_2"]
    frame["demand"], frame["system"], frame["lead_time"] = demand, system, lead_time
    return frame


def convexity_check(curve: pd.DataFrame) -> dict:
    """Second differences of a profit curve on an even grid: the most negative one, how many
    are negative (below -1e-9), and whether the best share is an extreme."""
    y = curve["profit"].to_numpy()
    d2 = np.diff(y, 2)
    best = int(np.argmax(y))
    extreme_best = max(y[0], y[-1])
    return {"min_second_difference": float(d2.min()),
            "negative_second_differences": int((d2 < -1e-9).sum()),
            "points": int(y.size), "best_share": float(curve["share"].iloc[best]),
            "best_profit": float(y[best]), "best_extreme_profit": float(extreme_best),
            "interior_gain": float(y[best] - extreme_best),
            "best_is_extreme": bool(y[best] <= extreme_best + 1e-9)}


@functools.lru_cache(maxsize=None)
def _value_functions(system):
    d = derive_value_of_coordination(system)
    p1, p2 = product_symbols(1), product_symbols(2)
    args = (arrival_rate, outside_attraction, p1["attraction"], p2["attraction"], lift, dispersion,
            *(p1[k] for k in ("price", "unit_cost", "holding_cost", "lost_sale_penalty")),
            *(p2[k] for k in ("price", "unit_cost", "holding_cost", "lost_sale_penalty")))
    keys = ("profit_show_1", "profit_show_2", "gmv_1", "gmv_2", "margin_1", "margin_2",
            "profit_gmv", "profit_margin_greedy", "profit_coordinated", "value", "value_margin",
            "value_mismatch")
    return {k: d.function(k, args) for k in keys}


def value_of_coordination(scenario: Scenario, *, system: str = "one-period",
                          dispersion: float = 1.0, **overrides) -> dict:
    """B5 static part, closed form (normal approximation), for a two-product, one-segment scenario.

    ``overrides`` replace scenario values by name: ``arrival_rate``, ``outside_attraction``,
    ``lift``, ``attraction`` (2 values), ``price``, ``unit_cost``, ``holding_cost``,
    ``lost_sale_penalty`` (2 values each); scalars or arrays broadcast (for sweeps).
    Returns a dict of arrays: each recommender's profit, the GMV-greedy and margin-greedy
    choices (1 or 2), the coordinated choice, ``value`` = V and its parts ``value_margin`` and
    ``value_mismatch``.
    """
    a = _two_product_arrays(scenario)
    names = {"arrival_rate": "lam", "outside_attraction": "v0", "lift": "beta", "attraction": "v",
             "price": "p", "unit_cost": "c", "holding_cost": "h", "lost_sale_penalty": "b"}
    for key, value in overrides.items():
        if key not in names:
            raise ValueError(f"value_of_coordination: unknown override {key!r}; "
                             f"allowed: {sorted(names)}")
        a[names[key]] = np.asarray(value, dtype=float)
    for i in range(2):
        _cost_values(system, a["p"][i], a["c"][i], a["h"][i], a["b"][i])  # validates
    fn = _value_functions(system)
    args = (a["lam"], a["v0"], a["v"][0], a["v"][1], a["beta"], dispersion,
            a["p"][0], a["c"][0], a["h"][0], a["b"][0], a["p"][1], a["c"][1], a["h"][1], a["b"][1])
    out = {k: np.asarray(f(*args), dtype=float) for k, f in fn.items()}
    out["gmv_choice"] = np.where(out["gmv_1"] >= out["gmv_2"], 1, 2)
    out["margin_choice"] = np.where(out["margin_1"] >= out["margin_2"], 1, 2)
    out["coordinated_choice"] = np.where(out["profit_show_1"] >= out["profit_show_2"], 1, 2)
    return out


def value_of_coordination_numeric(scenario: Scenario, *, demand: str = "normal",
                                  system: str = "one-period", shares=None) -> dict:
    """The value of coordination by direct numerical optimization, independent of the closed form.

    ``demand="normal"``: expected profit by numerical integration against the normal density
    (scipy.integrate.quad), stock by scipy.optimize.minimize_scalar, exposure on a grid of
    ``shares`` (default 0, 0.02, ..., 1). ``demand="poisson"``: exact Poisson sums over integer
    stock, the same grid. Returns ``value``, ``best_share``, ``profit_best``, ``profit_gmv``,
    ``gmv_share`` (1.0 or 0.0).
    """
    _check_system(system)
    if demand not in DEMAND_MODELS:
        raise ValueError(f"demand: must be one of {DEMAND_MODELS}, got {demand!r}")
    a = _two_product_arrays(scenario)
    shares = np.linspace(0, 1, 51) if shares is None else np.asarray(shares, dtype=float)
    gmv_share = 1.0 if (a["p"] @ scenario.purchase_probabilities[0, 0]
                        >= a["p"] @ scenario.purchase_probabilities[0, 1]) else 0.0
    grid = np.unique(np.append(shares, gmv_share))
    mu = demand_rates(scenario, grid)
    total = np.zeros(grid.size)
    for i in range(2):
        p_, c_, h_, b_ = a["p"][i], a["c"][i], a["h"][i], a["b"][i]
        if system == "one-period":
            m_, co, cu = p_ - c_, c_ + h_, p_ + b_ - c_
        else:
            m_, co, cu = p_ - c_, h_, p_ + b_ - c_
        for n, mean in enumerate(mu[:, i]):
            if demand == "normal":
                total[n] += _normal_profit_by_quadrature(mean, np.sqrt(mean), m_, co, cu)
            else:
                S = np.arange(int(mean + 12 * np.sqrt(mean) + 20))
                pmf = stats.poisson.pmf(np.arange(S[-1] + 200)[:, None], mean)
                d = np.arange(S[-1] + 200)[:, None]
                val = (m_ * mean - co * (np.maximum(S - d, 0) * pmf).sum(0)
                       - cu * (np.maximum(d - S, 0) * pmf).sum(0))
                total[n] += val.max()
    best = int(np.argmax(total))
    at_gmv = total[np.flatnonzero(grid == gmv_share)[0]]
    return {"value": float(total[best] - at_gmv), "best_share": float(grid[best]),
            "profit_best": float(total[best]), "profit_gmv": float(at_gmv), "gmv_share": gmv_share}


def _normal_profit_by_quadrature(mean, sd, m_, co, cu):
    pdf = stats.norm(mean, sd).pdf

    def neg_profit(S):
        over = integrate.quad(lambda d: (S - d) * pdf(d), -np.inf, S)[0]
        under = integrate.quad(lambda d: (d - S) * pdf(d), S, np.inf)[0]
        return -(m_ * mean - co * over - cu * under)

    r = optimize.minimize_scalar(neg_profit, bounds=(mean - 8 * sd, mean + 8 * sd),
                                 method="bounded", options={"xatol": 1e-9})
    return -r.fun


# ---- exact multi-period lost sales with lead time (no closed form) -------------------------------
def lost_sales_base_stock(mean, stock_level: int, lead_time: int, price, unit_cost, holding_cost,
                          lost_sale_penalty, *, capacity: Optional[int] = None,
                          max_order: Optional[int] = None) -> float:
    """Exact long-run profit per period of one product under base-stock S, lost sales, lead
    time L, Poisson(mean) demand and a fixed exposure (MODEL.md 3, one product).

    A Markov chain on (on-hand, pipeline) before ordering, with I + pipeline <= S; the gain is
    the stationary expected profit (a sparse linear solve). With L = 0 it equals the
    ``"stationary"`` newsvendor of :func:`newsvendor_poisson_profit`. Numerical, not SymPy:
    there is no closed form under lost sales with L >= 1. ``capacity`` [M_i] caps on-hand
    after arrivals; ``max_order`` [Qmax_i] caps orders (default: no caps).
    """
    mu = float(_check_mean(mean))
    S, L = int(stock_level), int(lead_time)
    if S < 0 or L < 0:
        raise ValueError(f"stock_level and lead_time must be >= 0, got {stock_level}, {lead_time}")
    M = S if capacity is None else int(capacity)
    Q = S if max_order is None else int(max_order)
    n = math.comb(S + L + 1, L + 1)               # (on-hand, pipeline) with total <= S
    if n > 60_000:
        raise ValueError(f"lost_sales_base_stock: {n} states for S = {S}, L = {L}; too large "
                         "(at most 60000)")
    states = np.array([s for s in itertools.product(range(S + 1), repeat=L + 1) if sum(s) <= S],
                      dtype=np.int64).reshape(-1, L + 1)
    radix = (S + 1) ** np.arange(L, -1, -1)
    index = np.full((S + 1) ** (L + 1), -1, dtype=np.int64)
    index[states @ radix] = np.arange(n)
    on_hand, pipe = states[:, 0], states[:, 1:]
    q = np.clip(S - states.sum(axis=1), 0, Q)
    if L == 0:
        A = np.minimum(on_hand + q, M)
        new_pipe = np.zeros((n, 0), dtype=np.int64)
    else:
        A = np.minimum(on_hand + pipe[:, 0], M)
        new_pipe = np.concatenate([pipe[:, 1:], q[:, None]], axis=1)
    d = np.arange(S + 1)
    pmf = stats.poisson.pmf(d, mu)
    tail = stats.poisson.sf(d - 1, mu)                       # P(D >= d)
    prob = np.where(d[None, :] < A[:, None], pmf[None, :], 0.0)
    prob[np.arange(n), A] = tail[A]                          # demand >= A empties the shelf
    left = np.maximum(A[:, None] - d[None, :], 0)
    nxt = index[(np.concatenate([left[..., None], np.broadcast_to(new_pipe[:, None, :],
                                                                  (n, S + 1, L))], axis=2)
                 @ radix)]
    shortage = _poisson_functions()["shortage"](A.astype(float), mu)
    sales = mu - shortage
    reward = (price * sales - unit_cost * q - holding_cost * (A - sales)
              - lost_sale_penalty * shortage)
    # stationary distribution by power iteration (the chain mixes in a few lead times; a
    # direct sparse solve fills in badly for L >= 2), checked against its residual
    keep = prob > 0
    P = sparse.csr_matrix((prob[keep], (np.broadcast_to(np.arange(n)[:, None], prob.shape)[keep],
                                        nxt[keep])), shape=(n, n))
    PT = P.T.tocsr()
    pi = np.full(n, 1.0 / n)
    for _ in range(200_000):
        new = PT @ pi
        if np.abs(new - pi).sum() < 1e-15:
            break
        pi = new
    pi = new / new.sum()
    residual = np.abs(PT @ pi - pi).sum()
    if residual > 1e-12:
        raise RuntimeError(f"lost_sales_base_stock: stationary distribution did not converge "
                           f"(residual {residual:.2e}, S = {S}, L = {L}, mu = {mu})")
    return float(pi @ reward)


def lost_sales_base_stock_optimum(mean, lead_time: int, price, unit_cost, holding_cost,
                                  lost_sale_penalty, *, full_search: bool = False) -> tuple[int, float]:
    """(S*, gain): the best base-stock level for one product under lost sales (exact).

    The long-run cost of base-stock S under lost sales is convex in S (Janakiraman and Roundy,
    Operations Research 52(5), 2004), so the search walks up from S = 0 and stops at the first
    decrease; ``full_search=True`` evaluates every S up to the 0.9999 quantile of demand over
    L + 1 periods instead (used by the tests to check the shortcut).
    """
    mu = float(_check_mean(mean))
    top = int(stats.poisson.ppf(0.9999, mu * (lead_time + 1))) + 2
    args = (lead_time, price, unit_cost, holding_cost, lost_sale_penalty)
    best, best_gain = 0, lost_sales_base_stock(mu, 0, *args)
    for S in range(1, top + 1):
        gain = lost_sales_base_stock(mu, S, *args)
        if gain > best_gain:
            best, best_gain = S, gain
        elif not full_search:
            break
    return best, float(best_gain)


# ---- the simulator connection --------------------------------------------------------------------
def newsvendor_scenario(scenario: Scenario, stock_level) -> Scenario:
    """The scenario with lead time 0 and capacity, max_order raised to at least the stock, so
    that an order of S arrives at once and nothing caps it (the B1 setting)."""
    S = np.broadcast_to(np.asarray(stock_level, dtype=np.int64), (scenario.n_products,))
    if np.any(S < 0):
        raise ValueError(f"stock_level: must be >= 0, got {stock_level}")
    if scenario.seasonal or scenario.backlog:
        raise ScenarioError(f"{scenario.name}: the newsvendor check needs constant arrival rates "
                            "and lost sales")
    return scenario.replace(lead_time=[0] * scenario.n_products,
                            capacity=np.maximum(scenario.capacity, S).tolist(),
                            max_order=np.maximum(scenario.max_order, S).tolist(),
                            initial_on_hand=np.minimum(S, np.maximum(scenario.capacity, S)).tolist())


def newsvendor_profit_monte_carlo(scenario: Scenario, exposure, stock_level, *,
                                  system: str = "one-period", replications: int = 100_000,
                                  periods: int = 200, seed: int = 0,
                                  confidence: float = 0.95) -> pd.DataFrame:
    """Simulated profit of stocking ``stock_level`` [S_i] under a fixed ``exposure`` [x_k],
    on :class:`coordlib.Simulator` with lead time 0 (:func:`newsvendor_scenario`).

    ``system="one-period"``: every replication starts empty, orders S, and runs one period;
    the profit p s - c S - h I' - b l is the B1 newsvendor profit. ``system="stationary"``:
    order up to S every period for ``periods`` periods (the first is dropped: it buys the
    initial stock); the replication mean is the long-run profit per period. One row per
    product plus a row ``"total"``: ``mean``, ``lo``, ``hi`` (t-interval over independent
    replications), ``n``.
    """
    values = simulate_newsvendor(scenario, exposure, stock_level, system=system,
                                 replications=replications, periods=periods, seed=seed)
    rows = []
    for name, col in [(f"product_{i + 1}", values[:, i]) for i in range(values.shape[1])] + [
            ("total", values.sum(axis=1))]:
        mean, lo, hi = mean_ci(col, confidence)
        rows.append({"product": name, "mean": mean, "lo": lo, "hi": hi, "n": col.size})
    frame = pd.DataFrame(rows)
    frame["system"] = system
    return frame


def simulate_newsvendor(scenario: Scenario, exposure, stock_level, *, system: str = "one-period",
                        replications: int = 100_000, periods: int = 200,
                        seed: int = 0) -> np.ndarray:
    """(replications, N): each independent replication's profit per product (per period in
    the stationary system); the raw draws behind :func:`newsvendor_profit_monte_carlo`."""
    _check_system(system)
    sc = newsvendor_scenario(scenario, stock_level)
    S = np.broadcast_to(np.asarray(stock_level, dtype=np.int64), (sc.n_products,))
    x = sc.check_exposure(np.asarray(exposure, dtype=float).reshape(sc.n_segments, sc.n_products))
    if int(replications) < 2:
        raise ValueError(f"replications: need at least 2, got {replications}")
    if system == "one-period":
        chunk, parts = 200_000, []
        for k, start in enumerate(range(0, int(replications), chunk)):
            B = min(chunk, int(replications) - start)
            sim = Simulator(sc, batch_size=B, seed=seed if k == 0 else [seed, k], validate=False)
            sim.set_state(on_hand=np.zeros(sc.n_products, dtype=np.int64), t=0)
            parts.append(_product_profit(sc, sim.step(np.broadcast_to(S, (B, sc.n_products)), x)))
        return np.concatenate(parts)
    if int(periods) < 2:
        raise ValueError(f"periods: need at least 2 in the stationary system, got {periods}")
    sim = Simulator(sc, batch_size=int(replications), seed=seed, validate=False)
    sim.set_state(on_hand=S)
    total = np.zeros((int(replications), sc.n_products))
    for t in range(int(periods)):
        r = sim.step(np.clip(S - sim.on_hand, 0, sc.max_order), x)
        if t > 0:
            total += _product_profit(sc, r)
    return total / (int(periods) - 1)


def compare_exposures_monte_carlo(scenario: Scenario, share_a: float, share_b: float, *,
                                  system: str = "one-period", replications: int = 100_000,
                                  periods: int = 200, seed: int = 0,
                                  confidence: float = 0.95) -> dict:
    """Simulated profit difference between two static splits (share shown product 1), each
    with the exact Poisson-optimal stock for the demand it produces: ``mean``, ``lo``, ``hi``
    (normal interval for a difference of independent means), and the exact value ``exact``.
    """
    draws, exact = [], []
    for n, share in enumerate((share_a, share_b)):
        curve = static_profit_curve(scenario, [share], demand="poisson", system=system)
        S = curve[["stock_1", "stock_2"]].to_numpy()[0].astype(np.int64)
        x = np.array([[share, 1.0 - share]])
        draws.append(simulate_newsvendor(scenario, x, S, system=system, replications=replications,
                                         periods=periods, seed=[seed, n]).sum(axis=1))
        exact.append(float(curve["profit"].iloc[0]))
    diff = draws[0].mean() - draws[1].mean()
    se = np.sqrt(draws[0].var(ddof=1) / draws[0].size + draws[1].var(ddof=1) / draws[1].size)
    half = stats.norm.ppf(0.5 + confidence / 2) * se
    return {"mean": float(diff), "lo": float(diff - half), "hi": float(diff + half),
            "exact": exact[0] - exact[1], "replications": int(replications)}


def _product_profit(sc, r):
    return (sc.price * r.sales - sc.unit_cost * r.orders - sc.holding_cost * r.on_hand
            - sc.lost_sale_penalty * r.lost_sales)


# ---- E1: the tables and curves of notebooks/01_theory.ipynb (MODEL.md section 7) -----------------
PROFILES = {
    "smoke": {"n_mc": 20_000, "stationary_replications": 400, "periods": 101, "shares": 21,
              "sweep_points": 7, "lead_times": (1,), "rate_grid": 25},
    "paper": {"n_mc": 1_000_000, "stationary_replications": 4_000, "periods": 401, "shares": 101,
              "sweep_points": 41, "lead_times": (1, 2), "rate_grid": 121},
}
"""What each notebook profile computes: Monte Carlo replications (one period, and stationary
replications x periods), points on the exposure grid and in each sweep, the lead times of the
exact lost-sales check and the number of arrival rates scanned for counterexamples."""


@dataclass(frozen=True)
class E1Settings:
    """The validated parameters of the E1 notebook."""

    profile: str
    """"smoke" (fast check) or "paper" (the published numbers)"""
    seed: int
    """seed of every Monte Carlo run"""
    figures_dir: str
    """where figures go (PNG and PDF, names starting with e1_)"""
    tables_dir: str
    """where tables go (CSV, names starting with e1_)"""
    n_mc: int
    """one-period Monte Carlo replications"""
    stationary_replications: int
    """replications of the stationary (multi-period) Monte Carlo"""
    periods: int
    """periods per stationary replication (the first is dropped)"""
    shares: np.ndarray
    """the exposure grid x in [0, 1]"""
    sweep_points: int
    """points per comparative-statics sweep"""
    lead_times: tuple
    """lead times of the exact lost-sales base-stock check"""
    rate_grid: int
    """arrival rates scanned for interior optima"""


def e1_settings(profile="smoke", seed=0, figures_dir="../figures", tables_dir="../data/tables",
                n_mc=None) -> E1Settings:
    """Check the notebook parameters and return the settings (creating the output folders).

    ``n_mc``: one-period Monte Carlo replications; None takes the profile's default.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile: must be one of {sorted(PROFILES)}, got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be a whole number >= 0, got {seed!r}")
    for name, value in (("figures_dir", figures_dir), ("tables_dir", tables_dir)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name}: must be a non-empty path string, got {value!r}")
    cfg = dict(PROFILES[profile])
    if n_mc is not None:
        if isinstance(n_mc, bool) or not isinstance(n_mc, (int, np.integer)) or n_mc < 100:
            raise ValueError(f"n_mc: must be a whole number >= 100 (or None), got {n_mc!r}")
        cfg["n_mc"] = int(n_mc)
    from pathlib import Path
    for d in (figures_dir, tables_dir):
        Path(d).mkdir(parents=True, exist_ok=True)
    return E1Settings(profile=profile, seed=int(seed), figures_dir=figures_dir,
                      tables_dir=tables_dir, n_mc=cfg["n_mc"],
                      stationary_replications=cfg["stationary_replications"],
                      periods=cfg["periods"], shares=np.linspace(0, 1, cfg["shares"]),
                      sweep_points=cfg["sweep_points"], lead_times=tuple(cfg["lead_times"]),
                      rate_grid=cfg["rate_grid"])


def e1_instances() -> dict:
    """The two-product instances of E1: ``tiny`` and ``tiny-margin`` (MODEL.md section 8) with
    lead time 0 where the theory needs it, and ``tiny`` with lambda = 2.5, the B2 counterexample."""
    from .scenarios import get
    tiny, margin = get("tiny"), get("tiny-margin")
    return {"tiny": tiny, "tiny-margin": margin,
            "tiny, lambda=2.5": tiny.replace(arrival_rate=[2.5], name="tiny-lambda-2.5")}


def save_figure(fig, name: str, settings: E1Settings) -> list:
    """Save a figure as PNG and PDF under ``settings.figures_dir`` (name e1_*)."""
    if not name.startswith("e1_"):
        raise ValueError(f"figure name must start with 'e1_', got {name!r}")
    return list(reporting.save_figure(fig, settings.figures_dir, name).values())


def save_table(frame: pd.DataFrame, name: str, settings: E1Settings):
    """Save a table as CSV, Markdown and LaTeX under ``settings.tables_dir`` (name e1_*)."""
    if not name.startswith("e1_"):
        raise ValueError(f"table name must start with 'e1_', got {name!r}")
    return reporting.save_table(frame, settings.tables_dir, name)["csv"]


def _replications(settings: E1Settings, system: str) -> int:
    return settings.n_mc if system == "one-period" else settings.stationary_replications


def _product_args(scenario, i):
    return (scenario.price[i], scenario.unit_cost[i], scenario.holding_cost[i],
            scenario.lost_sale_penalty[i])


def _stockpyl_reference(mu, co, cu):
    """stockpyl's newsvendor (an outside reference): (S normal, cost), (S Poisson, cost)."""
    try:
        from stockpyl import newsvendor as spn
    except ImportError:  # stockpyl is a test dependency; the table says so
        return (np.nan, np.nan), (np.nan, np.nan)
    return (spn.newsvendor_normal(co, cu, mu, np.sqrt(mu)),
            spn.newsvendor_poisson(co, cu, mu))


def b1_table(scenario: Scenario, share: float, settings: E1Settings) -> pd.DataFrame:
    """B1 beside its checks, per product and system, at a static split ``share``.

    Columns: closed-form normal (fractile, z, S*, profit), exact Poisson (S*, profit),
    stockpyl's normal and Poisson newsvendor (S*, profit = m mu - cost), and the simulator at
    the Poisson S* (mean and 95% interval; ``poisson_in_ci``).
    """
    mu = demand_rates(scenario, [share])[0]
    x = np.array([[share, 1.0 - share]])
    rows = []
    for system in SYSTEMS:
        S_poisson = np.array([int(newsvendor_poisson(mu[i], *_product_args(scenario, i),
                                                      system=system)["stock"])
                              for i in range(2)])
        mc = newsvendor_profit_monte_carlo(
            scenario, x, S_poisson, system=system, seed=settings.seed,
            replications=settings.n_mc if system == "one-period" else settings.stationary_replications,
            periods=settings.periods)
        for i in range(2):
            args = _product_args(scenario, i)
            nrm = newsvendor_normal(mu[i], *args, system=system)
            poi = newsvendor_poisson(mu[i], *args, system=system)
            m_, co, cu = (float(v) for v in _cost_values(system, *args))
            (sn, cn), (sp_, cp) = _stockpyl_reference(mu[i], co, cu)
            row = mc.iloc[i]
            rows.append({"system": system, "product": i + 1, "mu": mu[i],
                         "fractile": float(nrm["critical_fractile"]), "z": float(nrm["z"]),
                         "stock_normal": float(nrm["stock"]),
                         "profit_normal": float(nrm["optimal_profit"]),
                         "stock_poisson": int(poi["stock"]),
                         "profit_poisson": float(poi["optimal_profit"]),
                         "stock_stockpyl_normal": sn, "profit_stockpyl_normal": m_ * mu[i] - cn,
                         "stock_stockpyl_poisson": sp_, "profit_stockpyl_poisson": m_ * mu[i] - cp,
                         "mc_mean": row["mean"], "mc_lo": row["lo"], "mc_hi": row["hi"],
                         "mc_n": int(row["n"]),
                         "poisson_in_ci": bool(row["lo"] <= float(poi["optimal_profit"]) <= row["hi"])})
    return pd.DataFrame(rows)


def fractile_table(scenario: Scenario, share: float, settings: E1Settings) -> pd.DataFrame:
    """Which fractile applies where: each product's one-period and stationary Poisson S*,
    evaluated exactly and by simulation in both systems (the stationary one has lead time 0)."""
    mu = demand_rates(scenario, [share])[0]
    x = np.array([[share, 1.0 - share]])
    levels = {rule: np.array([int(newsvendor_poisson(mu[i], *_product_args(scenario, i),
                                                     system=rule)["stock"]) for i in range(2)])
              for rule in SYSTEMS}
    rows = []
    for system in SYSTEMS:
        for rule, S in levels.items():
            mc = newsvendor_profit_monte_carlo(
                scenario, x, S, system=system, seed=settings.seed,
                replications=_replications(settings, system),
                periods=settings.periods)
            for i in range(2):
                exact = float(newsvendor_poisson_profit(S[i], mu[i], *_product_args(scenario, i),
                                                        system=system))
                rows.append({"evaluated_in": system, "stock_rule": f"{rule} fractile",
                             "product": i + 1, "stock": int(S[i]), "exact": exact,
                             "mc_mean": mc["mean"].iloc[i], "mc_lo": mc["lo"].iloc[i],
                             "mc_hi": mc["hi"].iloc[i]})
    return pd.DataFrame(rows)


def b1_stock_curve(scenario: Scenario, shares) -> pd.DataFrame:
    """Optimal stock of each product against the share x shown product 1: normal (continuous)
    and Poisson (integer), both systems. Long format: share, product, demand, system, stock."""
    mu = demand_rates(scenario, shares)
    rows = []
    for system in SYSTEMS:
        for i in range(2):
            args = _product_args(scenario, i)
            for demand, S in (("normal", newsvendor_normal(mu[:, i], *args, system=system)["stock"]),
                              ("poisson", newsvendor_poisson(mu[:, i], *args, system=system)["stock"])):
                rows.append(pd.DataFrame({"share": shares, "product": i + 1, "mu": mu[:, i],
                                          "demand": demand, "system": system,
                                          "stock": np.asarray(S, dtype=float)}))
    return pd.concat(rows, ignore_index=True)


def mismatch_table(price_, unit_cost_, holding_cost_, lost_sale_penalty_, means) -> pd.DataFrame:
    """The mismatch cost m mu - Pi*(mu) against mean demand: normal (the square-root law) and
    exact Poisson, both systems. Long format with ``per_sqrt_mu`` = mismatch / sqrt(mu)."""
    means = np.asarray(means, dtype=float)
    rows = []
    for system in SYSTEMS:
        m_ = float(_cost_values(system, price_, unit_cost_, holding_cost_, lost_sale_penalty_)[0])
        args = (price_, unit_cost_, holding_cost_, lost_sale_penalty_)
        normal = newsvendor_normal(means, *args, system=system)["mismatch_cost"]
        poisson = m_ * means - newsvendor_poisson(means, *args, system=system)["optimal_profit"]
        for demand, cost in (("normal", normal), ("poisson", poisson)):
            rows.append(pd.DataFrame({"mu": means, "system": system, "demand": demand,
                                      "mismatch_cost": cost, "per_sqrt_mu": cost / np.sqrt(means)}))
    return pd.concat(rows, ignore_index=True)


def b2_curves(instances: Mapping[str, Scenario], shares, lead_times=(1,)) -> pd.DataFrame:
    """Static profit curves for named two-product instances: normal and Poisson in both
    systems, and the exact lost-sales base-stock system for each lead time in ``lead_times``."""
    frames = []
    for name, sc in instances.items():
        for demand in DEMAND_MODELS:
            for system in SYSTEMS:
                frames.append(static_profit_curve(sc, shares, demand=demand, system=system)
                              .assign(instance=name))
        for L in lead_times:
            frames.append(static_profit_curve(sc, shares, demand="poisson", system="stationary",
                                              lead_time=L).assign(instance=name))
    frame = pd.concat(frames, ignore_index=True)
    frame["model"] = (frame["demand"] + ", " + frame["system"]
                      + np.where(frame["lead_time"] > 0, ", L=" + frame["lead_time"].astype(str), ""))
    return frame


def b2_convexity_table(curves: pd.DataFrame) -> pd.DataFrame:
    """:func:`convexity_check` for every (instance, model) curve of :func:`b2_curves`."""
    rows = []
    for (inst, model), g in curves.groupby(["instance", "model"], sort=False):
        rows.append({"instance": inst, "model": model, **convexity_check(g)})
    return pd.DataFrame(rows)


def interior_optimum_scan(scenario: Scenario, rates, shares) -> pd.DataFrame:
    """Where B2 fails for exact Poisson demand: for each arrival rate, the gain of the best
    static split over the best extreme (0 when an extreme is optimal), both systems."""
    rows = []
    for lam in rates:
        sc = scenario.replace(arrival_rate=[float(lam)])
        for system in SYSTEMS:
            check = convexity_check(static_profit_curve(sc, shares, demand="poisson", system=system))
            rows.append({"arrival_rate": float(lam), "system": system, **check})
    return pd.DataFrame(rows)


def counterexample_table(scenario: Scenario, settings: E1Settings) -> pd.DataFrame:
    """Per system: the best static split under exact Poisson demand (on the settings' grid)
    against the best extreme, exactly and on the simulator (95% interval of the difference)."""
    rows = []
    for system in SYSTEMS:
        curve = static_profit_curve(scenario, settings.shares, demand="poisson", system=system)
        check = convexity_check(curve)
        extreme = 1.0 if curve["profit"].iloc[-1] >= curve["profit"].iloc[0] else 0.0
        mc = compare_exposures_monte_carlo(scenario, check["best_share"], extreme, system=system,
                                           seed=settings.seed,
                                           replications=_replications(settings, system),
                                           periods=settings.periods)
        rows.append({"system": system, "best_share": check["best_share"],
                     "best_extreme": extreme, "exact_gain": mc["exact"], "mc_gain": mc["mean"],
                     "mc_lo": mc["lo"], "mc_hi": mc["hi"], "replications": mc["replications"],
                     "exact_in_ci": bool(mc["lo"] <= mc["exact"] <= mc["hi"])})
    return pd.DataFrame(rows)


def value_checks_table(instances: Mapping[str, Scenario], settings: E1Settings) -> pd.DataFrame:
    """The value of coordination four ways, per instance and system: the closed form (normal),
    direct numerical optimization of the normal model (quadrature), exact Poisson with
    integer stock on the exposure grid, and the simulator (Poisson-optimal stock at the best
    Poisson split against the GMV-greedy split)."""
    rows = []
    for name, sc in instances.items():
        for system in SYSTEMS:
            cf = value_of_coordination(sc, system=system)
            nn = value_of_coordination_numeric(sc, demand="normal", system=system,
                                               shares=np.linspace(0, 1, 5))
            pn = value_of_coordination_numeric(sc, demand="poisson", system=system,
                                               shares=settings.shares)
            mc = compare_exposures_monte_carlo(
                sc, pn["best_share"], pn["gmv_share"], system=system, seed=settings.seed,
                replications=_replications(settings, system),
                periods=settings.periods)
            rows.append({"instance": name, "system": system,
                         "gmv_choice": int(cf["gmv_choice"]), "margin_choice": int(cf["margin_choice"]),
                         "coordinated_choice": int(cf["coordinated_choice"]),
                         "value_closed_form": float(cf["value"]),
                         "value_margin": float(cf["value_margin"]),
                         "value_mismatch": float(cf["value_mismatch"]),
                         "value_normal_numeric": nn["value"], "value_poisson_exact": pn["value"],
                         "poisson_best_share": pn["best_share"], "value_mc": mc["mean"],
                         "value_mc_lo": mc["lo"], "value_mc_hi": mc["hi"],
                         "poisson_in_ci": bool(mc["lo"] <= pn["value"] <= mc["hi"])})
    return pd.DataFrame(rows)


SWEEPS = {"lift": (0.0, 6.0), "margin_spread": (0.0, 0.95), "dispersion": (1.0, 4.0),
          "arrival_rate": (1.0, 60.0)}
"""Ranges of the comparative-statics sweeps around a scenario (margin spread: product 2's
unit cost c_2 runs from 0.95 p_2 down to 0, so m_2 - m_1 runs from 0.05 p_2 - m_1 to p_2 - m_1)."""


def value_sweep(scenario: Scenario, points: int = 21) -> pd.DataFrame:
    """The closed-form value of coordination (and its margin and mismatch parts) as lift beta,
    margin spread, demand uncertainty theta and arrival rate lambda vary one at a time.

    Margin spread m_2 - m_1 is moved through c_2 (p_2 fixed), which also moves product 2's
    fractile and mismatch coefficient. Long format: parameter, level, system, value, parts.
    """
    a = _two_product_arrays(scenario)
    rows = []
    for parameter, (lo, hi) in SWEEPS.items():
        grid = np.linspace(lo, hi, points)
        for system in SYSTEMS:
            kwargs, theta = {}, 1.0
            if parameter == "lift":
                kwargs["lift"] = grid
            elif parameter == "arrival_rate":
                kwargs["arrival_rate"] = grid
            elif parameter == "dispersion":
                theta = grid
            else:
                c2 = a["p"][1] * (1.0 - grid)                 # m_2 = grid * p_2
                grid_level = grid * a["p"][1] - (a["p"][0] - a["c"][0])
                kwargs["unit_cost"] = [np.full_like(grid, a["c"][0]), c2]
                kwargs["price"] = [np.full_like(grid, a["p"][0]), np.full_like(grid, a["p"][1])]
                kwargs["holding_cost"] = [np.full_like(grid, a["h"][0]), np.full_like(grid, a["h"][1])]
                kwargs["lost_sale_penalty"] = [np.full_like(grid, a["b"][0]),
                                               np.full_like(grid, a["b"][1])]
            out = value_of_coordination(scenario, system=system, dispersion=theta, **kwargs)
            level = grid_level if parameter == "margin_spread" else grid
            rows.append(pd.DataFrame({"parameter": parameter, "level": level, "system": system,
                                      **{k: np.broadcast_to(out[k], grid.shape) for k in
                                         ("value", "value_margin", "value_mismatch")}}))
    return pd.concat(rows, ignore_index=True)


@functools.lru_cache(maxsize=None)
def _statics_functions(system):
    d = derive_value_of_coordination(system)
    v = sp.Symbol("v", positive=True)
    dm, dk = sp.Symbol(r"\Delta_m", real=True), sp.Symbol(r"\Delta_k", real=True)
    args = (arrival_rate, outside_attraction, v, lift, dispersion, dm, dk)
    keys = ("gap_symmetric", "dW_d_margin_spread", "dW_d_dispersion", "dW_d_lift",
            "dW_d_arrival_rate")
    k_fn = _lambdify((overage, underage), d["mismatch_coefficient"])
    return {k: _lambdify(args, d[k]) for k in keys}, k_fn


def comparative_statics_table(scenario: Scenario, system: str = "one-period",
                              dispersion_: float = 1.0, step: float = 1e-5) -> pd.DataFrame:
    """The derivatives of W (symmetric family) at a scenario, lambdified, beside central finite
    differences of the general closed form :func:`value_of_coordination` (gap Pi_2 - Pi_1).
    The margin spread is moved by lowering c_2 and b_2 (and raising h_2 in the one-period
    system) by the same amount, which keeps product 2's c_o, c_u and so k_2 fixed.

    Needs v_1 = v_2 and p_1 >= p_2 (GMV-greedy shows product 1).
    """
    a = _two_product_arrays(scenario)
    if not np.isclose(a["v"][0], a["v"][1]) or a["p"][0] < a["p"][1]:
        raise ScenarioError(f"{scenario.name}: the symmetric closed form needs v_1 = v_2 and "
                            f"p_1 >= p_2, got v = {a['v'].tolist()}, p = {a['p'].tolist()}")
    fns, k_fn = _statics_functions(system)
    m_, co, cu = zip(*(_cost_values(system, *_product_args(scenario, i)) for i in range(2)))
    k = [float(k_fn(co[i], cu[i])) for i in range(2)]
    dm, dk = float(m_[1] - m_[0]), k[1] - k[0]
    point = dict(lam=a["lam"], v0=a["v0"], v=a["v"][0], beta=a["beta"], theta=dispersion_)

    def gap(margin_shift=0.0, **change):
        # a margin shift of product 2 that keeps its c_o and c_u (so k_2) fixed:
        # c_2 - e, b_2 - e, and in the one-period system h_2 + e
        q = {**point, **change}
        costs = {"unit_cost": a["c"] - [0.0, margin_shift],
                 "lost_sale_penalty": a["b"] - [0.0, margin_shift],
                 "holding_cost": a["h"] + [0.0, margin_shift if system == "one-period" else 0.0]}
        out = value_of_coordination(scenario, system=system, dispersion=q["theta"],
                                    arrival_rate=q["lam"], lift=q["beta"], **costs)
        return float(out["profit_show_2"] - out["profit_show_1"])

    args = (point["lam"], point["v0"], point["v"], point["beta"], point["theta"], dm, dk)
    rows = [{"parameter": "W (= V when positive)",
             "symmetric_formula": float(fns["gap_symmetric"](*args)),
             "general_form_check": gap()}]
    for key, name in (("dW_d_lift", "beta"), ("dW_d_dispersion", "theta"),
                      ("dW_d_arrival_rate", "lam"), ("dW_d_margin_spread", "margin_shift")):
        h_ = step * max(1.0, abs(point.get(name, 1.0)))
        base = point.get(name, 0.0)
        fd = (gap(**{name: base + h_}) - gap(**{name: base - h_})) / (2 * h_)
        rows.append({"parameter": key, "symmetric_formula": float(fns[key](*args)),
                     "general_form_check": fd})
    frame = pd.DataFrame(rows)
    frame["system"], frame["margin_spread"], frame["mismatch_spread"] = system, dm, dk
    return frame


__all__ = [
    "Derivation", "SYSTEMS", "DEMAND_MODELS", "derive_cost_structures", "derive_newsvendor_normal",
    "derive_newsvendor_poisson", "derive_exposure_effects", "derive_static_exposure",
    "derive_value_of_coordination", "comparative_statics_signs", "mnl_demand_rates_two_products",
    "newsvendor_costs", "newsvendor_normal", "newsvendor_normal_profit", "newsvendor_poisson",
    "newsvendor_poisson_profit", "demand_rates", "static_profit_curve", "convexity_check",
    "value_of_coordination", "value_of_coordination_numeric", "lost_sales_base_stock",
    "lost_sales_base_stock_optimum", "newsvendor_scenario", "newsvendor_profit_monte_carlo",
    "simulate_newsvendor", "compare_exposures_monte_carlo", "PROFILES", "E1Settings",
    "e1_settings", "e1_instances", "save_figure", "save_table", "b1_table", "fractile_table",
    "b1_stock_curve", "mismatch_table", "b2_curves", "b2_convexity_table", "interior_optimum_scan",
    "counterexample_table", "value_checks_table", "value_sweep", "comparative_statics_table",
    "explicit", "standard_normal_pdf", "standard_normal_cdf", "standard_normal_loss",
    "poisson_pmf", "poisson_cdf", "product_symbols",
]
