"""Standard environment APIs on the simulator: PettingZoo (:mod:`.parallel`), Gymnasium
(:mod:`.single_agent`, registered as ``coordlib/Coordination-v0``), a Gymnasium vector env
(:mod:`.vector`), and their observation and action spaces (:mod:`.spaces`).
"""
from .parallel import CoordinationParallelEnv, parallel_env
from .single_agent import CoordinationEnv
from .spaces import (
    AGENTS,
    DEFAULT_MAX_PERIODS,
    ENV_ID,
    ENV_REWARDS,
    ObservationLayout,
    customer_bound,
    decode_joint_action,
    exposure_from_scores,
    joint_action_space,
    observation_layout,
    orders_from_fractions,
    unflatten,
)
from .vector import CoordinationVectorEnv

__all__ = ['CoordinationParallelEnv', 'parallel_env', 'CoordinationEnv', 'ENV_ID', 'AGENTS', 'ENV_REWARDS', 'DEFAULT_MAX_PERIODS', 'customer_bound', 'ObservationLayout', 'observation_layout', 'unflatten', 'exposure_from_scores', 'orders_from_fractions', 'joint_action_space', 'decode_joint_action', 'CoordinationVectorEnv']
