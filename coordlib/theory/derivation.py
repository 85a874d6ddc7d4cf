"""The derivation machinery: SymPy symbols named as in MODEL.md, a :class:`Derivation` record of
checked steps, and numerics by ``lambdify`` of the same expressions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import sympy as sp
from scipy import special

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
