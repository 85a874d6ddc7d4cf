"""The multi-timescale multi-agent learner (MODEL.md section 6).

:mod:`.config` (every hyperparameter, the presets of the baselines), :mod:`.schedules`
(step sizes), :mod:`.features` (what each agent sees, scaled), :mod:`.agents` (the networks),
:mod:`.distributions` (the action laws of their heads), :mod:`.policy` (trained agents as
coordlib policies), :mod:`.mtma` (the algorithm: collect, advantages, update per agent, log),
:mod:`.checkpoints` and :mod:`.footprint` (saving and restoring a learner; the memory of an
iteration), :mod:`.training` (the driver) and :mod:`.convergence` (diagnostics); :mod:`.hdpo`
is the HDPO peer (pathwise gradients through :mod:`coordlib.model.torch_simulator`).
"""
from .agents import REWARD_STREAMS, Actor, AgentSet, Critic, ProductEncoder
from .checkpoints import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, load_checkpoint
from .config import PRESETS, ConfigError, TrainConfig, config_docs, config_for, step_size
from .convergence import (
    DISTANCES,
    ExamplePath,
    IterateStationarity,
    LinearTwoTimescale,
    Stationarity,
    TrackingError,
    curve_tracking_error,
    iterate_stationarity,
    stationarity,
    tracking_error,
    two_timescale_example,
)
from .distributions import (
    exposure_array,
    gaussian_entropy,
    gaussian_log_prob,
    level_entropy,
    level_log_probs,
    level_logits,
    sample_actions,
)
from .features import (
    FEATURE_CLIP,
    N_FULL,
    N_RECOMMENDER,
    N_REPLENISHER,
    N_SEGMENT,
    N_SEGMENT_DYNAMIC,
    ROLES,
    STATIC_KEYS,
    VIEW_FEATURES,
    ScenarioEncoding,
)
from .mtma import Learner, TrainingDivergedError
from .policy import LearnedPolicy
from .schedules import (
    Constant,
    Decaying,
    Schedule,
    ScheduleReport,
    ScheduleVerdict,
    as_schedule,
    check_schedule,
    constant,
    decaying,
    fit_schedule,
    scaled,
)
from .training import TrainResult, train

__all__ = ['REWARD_STREAMS', 'ProductEncoder', 'Actor', 'Critic', 'AgentSet', 'level_logits', 'level_log_probs', 'sample_actions', 'gaussian_log_prob', 'level_entropy', 'gaussian_entropy', 'exposure_array', 'LearnedPolicy', 'CHECKPOINT_FORMAT', 'CHECKPOINT_VERSION', 'CheckpointError', 'load_checkpoint', 'ConfigError', 'TrainConfig', 'config_docs', 'PRESETS', 'config_for', 'step_size', 'DISTANCES', 'TrackingError', 'tracking_error', 'curve_tracking_error', 'Stationarity', 'stationarity', 'IterateStationarity', 'iterate_stationarity', 'LinearTwoTimescale', 'ExamplePath', 'two_timescale_example', 'ROLES', 'FEATURE_CLIP', 'N_REPLENISHER', 'N_RECOMMENDER', 'N_SEGMENT', 'N_SEGMENT_DYNAMIC', 'STATIC_KEYS', 'N_FULL', 'VIEW_FEATURES', 'ScenarioEncoding', 'TrainingDivergedError', 'Learner', 'Constant', 'Decaying', 'Schedule', 'constant', 'decaying', 'as_schedule', 'scaled', 'ScheduleVerdict', 'ScheduleReport', 'check_schedule', 'fit_schedule', 'TrainResult', 'train']
