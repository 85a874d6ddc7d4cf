"""Exact methods on small instances (MODEL.md section 5): the DP (:mod:`.dp`), exact policy
evaluation (:mod:`.policy_evaluation`), the B3/B4 structure checks (:mod:`.structure`), the B5
value of coordination (:mod:`.coordination`) and maps of optimal policies (:mod:`.policy_maps`).
:mod:`.single_product` solves one product under lost sales with lead times up to 4 and more,
and evaluates base-stock and capped base-stock exactly; :mod:`.zipkin` gives Zipkin's (2008)
instances as scenarios and their optimal policy as a coordlib policy.
"""
from . import single_product, zipkin
from .coordination import (
    b5_decomposition,
    best_joint_base_stock,
    best_static,
    gmv_greedy_exposure,
    value_of_coordination,
)
from .dp import (
    DEFAULT_MAX_TABLE,
    DPError,
    DPPolicy,
    DPSolution,
    end_stock_probabilities,
    expected_period_profit,
    grid_exposures,
    problem_size,
    reduce_scenario,
    same_model,
    solve,
)
from .policy_evaluation import (
    DEFAULT_MAX_CHAIN,
    PolicyEvaluation,
    base_stock_gain,
    best_base_stock,
    evaluate_policy,
    product_base_stock_gains,
    stationary_distribution,
    transition_matrix,
)
from .policy_maps import (
    PIPELINE_READINGS,
    high_probability_level,
    inventory_axis_label,
    order_exception_profile,
    policy_map,
    region_edges,
)
from .structure import (
    EXPOSURE_HORIZONS,
    b3_exposure_exceptions,
    b3_order_exceptions,
    b3_report,
    b4_cross_correlation,
    b4_peak_lags,
    cross_correlation,
    expected_exposure,
    occupancy,
    simulate_optimal_policy,
)

__all__ = [
    'single_product', 'zipkin', 'gmv_greedy_exposure', 'best_static', 'value_of_coordination', 'b5_decomposition', 'best_joint_base_stock', 'DEFAULT_MAX_TABLE', 'DPError', 'end_stock_probabilities', 'expected_period_profit', 'grid_exposures', 'reduce_scenario', 'same_model', 'DPSolution', 'DPPolicy', 'problem_size', 'solve', 'DEFAULT_MAX_CHAIN', 'PolicyEvaluation', 'stationary_distribution', 'evaluate_policy', 'transition_matrix', 'base_stock_gain', 'product_base_stock_gains', 'best_base_stock', 'PIPELINE_READINGS', 'policy_map', 'inventory_axis_label', 'high_probability_level', 'region_edges', 'order_exception_profile', 'occupancy', 'b3_exposure_exceptions', 'EXPOSURE_HORIZONS', 'expected_exposure', 'b3_order_exceptions', 'b3_report', 'simulate_optimal_policy', 'cross_correlation', 'b4_cross_correlation', 'b4_peak_lags']
