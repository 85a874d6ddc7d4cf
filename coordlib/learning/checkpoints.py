"""Training checkpoints: what one holds (:func:`learner_state`: everything a
:class:`coordlib.learning.mtma.Learner` needs to go on exactly), writing it atomically,
loading one safely (``torch.load(weights_only=True)``), restoring a learner from it
(:func:`restore_learner`), and checking that one belongs to the run that resumes it
(:func:`check_resume`): the same scenario, by content (``scenario_spec``), the same
configuration, a consistent iteration count.
"""
from __future__ import annotations

import dataclasses
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..common.files import atomic_write
from ..model.scenario import Scenario
from ..model.simulator import Observation, Simulator
from .config import TrainConfig

CHECKPOINT_FORMAT = "coordlib-checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read, or does not belong to this scenario and configuration."""


_RUN_FIELDS_THAT_MUST_MATCH = tuple(
    f.name for f in dataclasses.fields(TrainConfig)
    if f.name not in ("name", "iterations", "checkpoint_every", "device", "threads",
                      "eval_replications", "eval_periods", "eval_warmup", "eval_seed",
                      "eval_deterministic"))


REQUIRED_KEYS = ("format", "version", "config", "scenario", "spec", "iteration", "wall_time",
                 "average_reward", "agents", "optimizers", "generator", "memory", "simulator",
                 "curve")
"""What every checkpoint holds (``scenario_spec``, the scenario's content, is checked on resume)."""


def load_checkpoint(path) -> dict:
    """Read a checkpoint safely (``torch.load(weights_only=True)``: no code runs) and check it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError,
            OSError, KeyError) as exc:
        raise CheckpointError(f"{path}: not a readable coordlib checkpoint (corrupt or "
                              f"truncated file?): {exc}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a coordlib checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: checkpoint version {state.get('version')}, "
                              f"this coordlib reads version {CHECKPOINT_VERSION}")
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: not a complete coordlib checkpoint, missing "
                              f"{', '.join(missing)}")
    iteration, curve = state["iteration"], state["curve"]
    if not isinstance(curve, list) or isinstance(iteration, bool) or not isinstance(
            iteration, int) or iteration != len(curve):
        raise CheckpointError(f"{path}: claims iteration {iteration!r} but its learning curve "
                              f"has {len(curve) if isinstance(curve, list) else '?'} rows "
                              "(one per iteration): damaged or edited")
    return state


def _differences(there, here, where: str = "") -> list[str]:
    """Where two scenario dicts differ, as 'field: X in the checkpoint, Y here'."""
    if isinstance(there, dict) and isinstance(here, dict):
        out = []
        for key in [*there, *(k for k in here if k not in there)]:
            out += _differences(there.get(key), here.get(key), f"{where}.{key}" if where else key)
        return out
    return [] if there == here else [f"{where}: {there!r} in the checkpoint, {here!r} here"]


def _config_changes(saved: TrainConfig, config: TrainConfig) -> str:
    """The fields that change a run and differ, as 'f = X there, Y here, ...' ('' if none)."""
    return ", ".join(f"{f} = {getattr(saved, f)!r} there, {getattr(config, f)!r} here"
                     for f in _RUN_FIELDS_THAT_MUST_MATCH
                     if getattr(saved, f) != getattr(config, f))


def check_resume(state: dict, scenario: Scenario, config: TrainConfig, source) -> None:
    """Refuse to resume from ``state`` (read from ``source``) a run on another scenario (by
    content, not name), with another configuration, or past the iterations asked for."""
    spec = state.get("scenario_spec")
    if not isinstance(spec, dict):
        raise CheckpointError(f"{source}: holds no record of its scenario's content, so it "
                              "cannot be checked against this run; train afresh (--overwrite)")
    ignore = ("name", "description")
    differ = _differences({k: v for k, v in spec.items() if k not in ignore},
                          {k: v for k, v in scenario.to_dict().items() if k not in ignore})
    if differ:
        there = state.get("scenario")
        which = (f"checkpoint is for scenario {there!r}, not {scenario.name!r}"
                 if there != scenario.name else
                 f"checkpoint is for another scenario than {scenario.name!r} (same name, other "
                 "content)")
        raise CheckpointError(f"{source}: {which}: " + "; ".join(differ[:4])
                              + (f"; and {len(differ) - 4} more" if len(differ) > 4 else ""))
    try:
        saved = TrainConfig.from_dict(state["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: its configuration is not valid: {exc}") from None
    changed = _config_changes(saved, config)
    if changed:
        raise CheckpointError(f"{source}: written with a different configuration: {changed}")
    if state["iteration"] > config.iterations:
        raise CheckpointError(f"{source}: already at iteration {state['iteration']}, beyond the "
                              f"{config.iterations} iterations asked for")


# ---- a learner's state ------------------------------------------------------------------------
def learner_state(learner) -> dict:
    """Everything needed to continue ``learner`` exactly: networks, optimizers, RNGs, the
    simulator copies, the memory, the average rewards and the curve (CPU tensors)."""
    return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "config": learner.config.to_dict(), "scenario": learner.scenario.name,
            "scenario_spec": learner.scenario.to_dict(),
            "spec": learner.agents.spec, "iteration": learner.iteration,
            "run_id": learner.run_id,
            "wall_time": learner.wall_time,
            "average_reward": {k: v.cpu() for k, v in learner.average_reward.items()},
            "agents": {k: v.detach().cpu() for k, v in learner.agents.state_dict().items()},
            "optimizers": {g: o.state_dict() for g, o in learner.optimizers.items()},
            "generator": learner.generator.get_state().cpu(),
            "memory": {k: v.detach().cpu() for k, v in learner.memory.items()},
            "simulator": _simulator_state(learner.sim, learner.observation),
            "curve": learner.curve}


def write_checkpoint(path, state: dict) -> Path:
    """Write ``state`` to ``path`` atomically (a partial write never replaces a good file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda handle: torch.save(state, handle), binary=True)
    return path


def restore_learner(learner, state: dict) -> None:
    """Put ``learner`` in the state :func:`learner_state` saved; the configuration must agree on
    every field that changes the run, and the scenario's name must be the same."""
    changed = _config_changes(TrainConfig.from_dict(state["config"]), learner.config)
    if changed:
        raise CheckpointError(f"checkpoint was written with a different configuration: {changed}")
    if state["scenario"] != learner.scenario.name:
        raise CheckpointError(f"checkpoint is for scenario {state['scenario']!r}, "
                              f"not {learner.scenario.name!r}")
    device = learner.device
    learner.agents.load_state_dict(state["agents"])
    for g, o in learner.optimizers.items():
        o.load_state_dict(state["optimizers"][g])
    learner.generator.set_state(state["generator"])     # a CPU ByteTensor on every device
    learner.memory = {k: v.to(device) for k, v in state["memory"].items()}
    learner.observation = _restore_simulator(learner.sim, state["simulator"])
    learner.iteration, learner.wall_time = int(state["iteration"]), float(state["wall_time"])
    learner.run_id = state.get("run_id", learner.run_id)     # checkpoints before run ids: none
    learner.average_reward = {k: v.to(device) for k, v in state["average_reward"].items()}
    learner.curve = [dict(row) for row in state["curve"]]


_OBSERVATION_ARRAYS = ("on_hand", "pipeline", "availability", "backlog", "last_sales",
                       "last_lost_sales", "last_customers", "last_demand")


def _simulator_state(sim: Simulator, observation: Observation) -> dict:
    """The simulator copies' state through public attributes: the observation and the RNG."""
    return {"t": observation.t, "review": observation.review, "rng": sim.rng.bit_generator.state,
            **{k: torch.from_numpy(np.ascontiguousarray(getattr(observation, k)))
               for k in _OBSERVATION_ARRAYS}}


def _restore_simulator(sim: Simulator, state: dict) -> Observation:
    arrays = {k: state[k].numpy().copy() for k in _OBSERVATION_ARRAYS}
    sim.set_state(arrays["on_hand"], arrays["pipeline"], arrays["backlog"], t=int(state["t"]))
    sim.rng.bit_generator.state = state["rng"]
    # last period's flows enter only the observation, not the dynamics: rebuild it as saved
    return Observation(int(state["t"]), *(arrays[k] for k in _OBSERVATION_ARRAYS),
                       bool(state["review"]))
