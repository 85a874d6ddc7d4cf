"""Speed and agreement, measured side by side (``python -m coordlib bench``, ``make bench``).

One module per section of the report: :mod:`.simulator`, :mod:`.wrappers`,
:mod:`.stockpyl_reference`, :mod:`.exact`, :mod:`.learner` (its peers in :mod:`.peers`), :mod:`.reproduction`; :mod:`.common`
holds the timing and row helpers and :mod:`.report` writes the report.
"""
from .common import (
    DEFAULT_OUT,
    MET,
    ROW_FIELDS,
    SectionResult,
    Unavailable,
    difference_ci,
    fmt,
    fmt_ci,
    machine,
    require,
    row,
    side_by_side,
    skipped_row,
    yes_no,
)
from .exact import dp_candidates, dp_instances, dp_section
from .learner import (
    LEARNER_BUDGETS,
    PEER_LABELS,
    LearnerBudget,
    SB3Policy,
    learner_rows,
    learner_section,
    time_to_reach,
    train_mtma,
    train_sb3,
)
from .peers import PEERS, POLICY_SETTINGS, PPO_SETTINGS, TRAINERS, train_independent_ppo, train_ppo
from .report import QUICK, SECTIONS, run_sections, update_readme, write_report
from .reproduction import reproduce_section
from .simulator import LARGE_BATCH, simulator_rows, simulator_section, simulator_vs_poisson
from .stockpyl_reference import OneProduct, stockpyl_costs, stockpyl_section
from .wrappers import WRAPPERS, wrapper_overhead, wrappers_section

__all__ = ['DEFAULT_OUT', 'MET', 'ROW_FIELDS', 'machine', 'side_by_side', 'Unavailable', 'require', 'row', 'skipped_row', 'yes_no', 'fmt', 'fmt_ci', 'difference_ci', 'SectionResult', 'dp_candidates', 'dp_instances', 'dp_section', 'SB3Policy', 'LearnerBudget', 'LEARNER_BUDGETS', 'train_mtma', 'train_sb3', 'time_to_reach', 'learner_rows', 'learner_section', 'PEER_LABELS', 'PEERS', 'PPO_SETTINGS', 'POLICY_SETTINGS', 'TRAINERS', 'train_ppo', 'train_independent_ppo', 'SECTIONS', 'QUICK', 'run_sections', 'write_report', 'update_readme', 'reproduce_section', 'simulator_vs_poisson', 'LARGE_BATCH', 'simulator_rows', 'simulator_section', 'OneProduct', 'stockpyl_costs', 'stockpyl_section', 'wrapper_overhead', 'WRAPPERS', 'wrappers_section']
