"""The memory one training iteration holds, checked before the first one allocates it."""
from __future__ import annotations

import os

import torch

from ..model.scenario import Scenario
from .agents import TRACE_RATES, AgentSet
from .config import TrainConfig
from .features import N_SEGMENT, N_SEGMENT_DYNAMIC, VIEW_FEATURES


def training_bytes(agents: AgentSet, scenario: Scenario, config: TrainConfig) -> int:
    """An estimate of the memory one iteration holds: the rollout's stored features (every
    view the networks read, traces included, float32) and the activations of one minibatch's
    forward and backward pass. Linear in N x copies x periods."""
    K = scenario.n_segments
    stored = sum(VIEW_FEATURES[v] * (1 + len(TRACE_RATES) if v in agents.traced_views else 1)
                 for v in agents.views if v != "segment")
    stored += K * N_SEGMENT_DYNAMIC if "segment" in agents.views else 0
    reference = config.architecture == "reference"
    hidden = config.hidden * (4 if reference else 1)
    pairs = K * (N_SEGMENT if reference else N_SEGMENT_DYNAMIC)    # the reference concatenates
    activations = (len(agents.actors) + len(agents.critics)) * 8 * hidden + 3 * pairs
    rows = config.n_envs * config.rollout_length * scenario.n_products
    return int(4 * rows * (stored + activations / config.minibatches + 16))


LARGE_ITERATION = 32 * 2 ** 20
"""From this estimate of an iteration's memory on (bytes), the learner's process keeps freed
blocks for reuse (:func:`coordlib.common.memory.keep_freed_memory`): its tensors are then
large enough that glibc would return each one to the operating system when it is freed."""


def check_memory(needed: int, device: torch.device) -> None:
    """Raise MemoryError, naming what to lower, when ``needed`` bytes are not free on ``device``
    (nothing is checked where the free memory cannot be read)."""
    if device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0]
    else:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return
    if needed > free:
        raise MemoryError(f"training needs about {needed / 2 ** 30:.1f} GiB per iteration "
                          f"(n_envs x rollout_length x N products), {free / 2 ** 30:.1f} GiB "
                          f"is free on {device}: lower n_envs or rollout_length, or raise "
                          "minibatches")
