"""Analytical benchmarks (MODEL.md section 5) as SymPy derivations, checked numerically.

:mod:`.derivation` (symbols and the derivation machinery), :mod:`.newsvendor` (B1),
:mod:`.static_exposure` (B2 and the static value of coordination of B5), :mod:`.lost_sales`
(base-stock with lead time under lost sales) and :mod:`.checks` (Monte Carlo on the simulator).
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
