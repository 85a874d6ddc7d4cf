"""Analytical benchmarks (MODEL.md section 5) as SymPy derivations, checked numerically.

:mod:`.derivation` (symbols and the derivation machinery), :mod:`.newsvendor` (B1),
:mod:`.static_exposure` (B2 and the static value of coordination of B5), :mod:`.lost_sales`
(base-stock with lead time under lost sales) and :mod:`.checks` (Monte Carlo on the simulator).
"""
from .checks import (newsvendor_scenario, newsvendor_profit_monte_carlo, simulate_newsvendor, compare_exposures_monte_carlo)
from .derivation import (SYSTEMS, DEMAND_MODELS, Pi_f, E_f, standard_normal_pdf, standard_normal_cdf, standard_normal_loss, explicit, poisson_pmf, poisson_cdf, product_symbols, Derivation)
from .lost_sales import (lost_sales_base_stock, lost_sales_base_stock_optimum)
from .newsvendor import (newsvendor_costs, derive_cost_structures, derive_newsvendor_normal, derive_newsvendor_poisson, derive_exposure_effects, newsvendor_normal, newsvendor_normal_profit, newsvendor_poisson_profit, newsvendor_poisson)
from .static_exposure import (mnl_demand_rates_two_products, derive_static_exposure, derive_value_of_coordination, comparative_statics_signs, demand_rates, static_profit_curve, convexity_check, static_value_of_coordination, static_value_of_coordination_numeric)

__all__ = ['newsvendor_scenario', 'newsvendor_profit_monte_carlo', 'simulate_newsvendor', 'compare_exposures_monte_carlo', 'SYSTEMS', 'DEMAND_MODELS', 'Pi_f', 'E_f', 'standard_normal_pdf', 'standard_normal_cdf', 'standard_normal_loss', 'explicit', 'poisson_pmf', 'poisson_cdf', 'product_symbols', 'Derivation', 'lost_sales_base_stock', 'lost_sales_base_stock_optimum', 'newsvendor_costs', 'derive_cost_structures', 'derive_newsvendor_normal', 'derive_newsvendor_poisson', 'derive_exposure_effects', 'newsvendor_normal', 'newsvendor_normal_profit', 'newsvendor_poisson_profit', 'newsvendor_poisson', 'mnl_demand_rates_two_products', 'derive_static_exposure', 'derive_value_of_coordination', 'comparative_statics_signs', 'demand_rates', 'static_profit_curve', 'convexity_check', 'static_value_of_coordination', 'static_value_of_coordination_numeric']
