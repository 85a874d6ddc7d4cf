"""Exact methods on small instances (MODEL.md section 5): the DP (:mod:`.dp`), exact policy
evaluation (:mod:`.policy_evaluation`), the B3/B4 structure checks (:mod:`.structure`), the B5
value of coordination (:mod:`.coordination`) and maps of optimal policies (:mod:`.policy_maps`).
"""
from .coordination import (gmv_greedy_exposure, best_static, value_of_coordination, b5_decomposition, best_joint_base_stock)
from .dp import (DEFAULT_MAX_TABLE, DPError, end_stock_probabilities, expected_period_profit, grid_exposures, reduce_scenario, same_model, DPSolution, DPPolicy, problem_size, solve)
from .policy_evaluation import (DEFAULT_MAX_CHAIN, PolicyEvaluation, stationary_distribution, evaluate_policy, transition_matrix, base_stock_gain, product_base_stock_gains, best_base_stock)
from .policy_maps import (PIPELINE_READINGS, policy_map, inventory_axis_label, high_probability_level, region_edges, order_exception_profile)
from .structure import (occupancy, b3_exposure_exceptions, EXPOSURE_HORIZONS, expected_exposure, b3_order_exceptions, b3_report, simulate_optimal_policy, cross_correlation, b4_cross_correlation, b4_peak_lags)

__all__ = ['gmv_greedy_exposure', 'best_static', 'value_of_coordination', 'b5_decomposition', 'best_joint_base_stock', 'DEFAULT_MAX_TABLE', 'DPError', 'end_stock_probabilities', 'expected_period_profit', 'grid_exposures', 'reduce_scenario', 'same_model', 'DPSolution', 'DPPolicy', 'problem_size', 'solve', 'DEFAULT_MAX_CHAIN', 'PolicyEvaluation', 'stationary_distribution', 'evaluate_policy', 'transition_matrix', 'base_stock_gain', 'product_base_stock_gains', 'best_base_stock', 'PIPELINE_READINGS', 'policy_map', 'inventory_axis_label', 'high_probability_level', 'region_edges', 'order_exception_profile', 'occupancy', 'b3_exposure_exceptions', 'EXPOSURE_HORIZONS', 'expected_exposure', 'b3_order_exceptions', 'b3_report', 'simulate_optimal_policy', 'cross_correlation', 'b4_cross_correlation', 'b4_peak_lags']
