"""Standard environment APIs on the simulator: PettingZoo (:mod:`.parallel`), Gymnasium
(:mod:`.single_agent`, registered as ``coordlib/Coordination-v0``), a Gymnasium vector env
(:mod:`.vector`), and their observation and action spaces (:mod:`.spaces`).
"""
from .parallel import (CoordinationParallelEnv, parallel_env)
from .single_agent import (CoordinationEnv)
from .spaces import (ENV_ID, AGENTS, ENV_REWARDS, DEFAULT_MAX_PERIODS, customer_bound, ObservationLayout, observation_layout, unflatten, exposure_from_scores, orders_from_fractions, joint_action_space, decode_joint_action)
from .vector import (CoordinationVectorEnv)

__all__ = ['CoordinationParallelEnv', 'parallel_env', 'CoordinationEnv', 'ENV_ID', 'AGENTS', 'ENV_REWARDS', 'DEFAULT_MAX_PERIODS', 'customer_bound', 'ObservationLayout', 'observation_layout', 'unflatten', 'exposure_from_scores', 'orders_from_fractions', 'joint_action_space', 'decode_joint_action', 'CoordinationVectorEnv']
