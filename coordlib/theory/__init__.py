"""Analytical benchmarks (MODEL.md section 5) as SymPy derivations, checked numerically.

:mod:`.derivation` (symbols and the derivation machinery), :mod:`.newsvendor` (B1),
:mod:`.static_exposure` (B2 and the static value of coordination of B5), :mod:`.lost_sales`
(base-stock with lead time under lost sales) and :mod:`.checks` (Monte Carlo on the simulator).

Every derivation is a function returning a :class:`Derivation`: an ordered list of steps (each a
SymPy equation with one sentence saying what it means) and the named results. A step that
restates an expression in readable form (with phi, Phi and the standard normal loss G) is
checked against the expression SymPy computed, so the page cannot drift from the algebra.
Every closed-form number comes from ``sympy.lambdify`` of those results; no formula is typed
twice. The independent checks are named as such: direct numerical optimization
(:func:`static_value_of_coordination_numeric`), the exact lost-sales Markov chain
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
  :func:`coordlib.policies.replenishment.critical_fractile` uses. See :func:`derive_cost_structures`.

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
  :func:`coordlib.experiments.e1_theory.interior_optimum_scan`). With beta = 0 the profit does not depend on x at all.
* Value of coordination (static, two products): a closed form (:func:`derive_value_of_coordination`)
  that is zero when the GMV-greedy choice is also the newsvendor-optimal one (e.g. ``tiny``)
  and, with symmetric attractions, equals max(0, Dm Dmu - Dk sqrt(theta) Dsqrt(mu)).
"""
from .checks import (
    compare_exposures_monte_carlo,
    newsvendor_profit_monte_carlo,
    newsvendor_scenario,
    simulate_newsvendor,
)
from .derivation import (
    DEMAND_MODELS,
    SYSTEMS,
    Derivation,
    E_f,
    Pi_f,
    explicit,
    poisson_cdf,
    poisson_pmf,
    product_symbols,
    standard_normal_cdf,
    standard_normal_loss,
    standard_normal_pdf,
)
from .lost_sales import lost_sales_base_stock, lost_sales_base_stock_optimum
from .newsvendor import (
    derive_cost_structures,
    derive_exposure_effects,
    derive_newsvendor_normal,
    derive_newsvendor_poisson,
    newsvendor_costs,
    newsvendor_normal,
    newsvendor_normal_profit,
    newsvendor_poisson,
    newsvendor_poisson_profit,
)
from .static_exposure import (
    comparative_statics_signs,
    convexity_check,
    demand_rates,
    derive_static_exposure,
    derive_value_of_coordination,
    mnl_demand_rates_two_products,
    static_profit_curve,
    static_value_of_coordination,
    static_value_of_coordination_numeric,
)

__all__ = ['newsvendor_scenario', 'newsvendor_profit_monte_carlo', 'simulate_newsvendor', 'compare_exposures_monte_carlo', 'SYSTEMS', 'DEMAND_MODELS', 'Pi_f', 'E_f', 'standard_normal_pdf', 'standard_normal_cdf', 'standard_normal_loss', 'explicit', 'poisson_pmf', 'poisson_cdf', 'product_symbols', 'Derivation', 'lost_sales_base_stock', 'lost_sales_base_stock_optimum', 'newsvendor_costs', 'derive_cost_structures', 'derive_newsvendor_normal', 'derive_newsvendor_poisson', 'derive_exposure_effects', 'newsvendor_normal', 'newsvendor_normal_profit', 'newsvendor_poisson_profit', 'newsvendor_poisson', 'mnl_demand_rates_two_products', 'derive_static_exposure', 'derive_value_of_coordination', 'comparative_statics_signs', 'demand_rates', 'static_profit_curve', 'convexity_check', 'static_value_of_coordination', 'static_value_of_coordination_numeric']
