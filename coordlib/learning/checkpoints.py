"""Training checkpoints: their format, loading one safely (``torch.load(weights_only=True)``),
and checking that one belongs to the run that resumes it (:func:`check_resume`): the same
scenario, by content (``scenario_spec``), the same configuration, a consistent iteration count.
"""
from __future__ import annotations

import dataclasses
import pickle
import zipfile
from pathlib import Path

import torch

from ..model.scenario import Scenario
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
    changed = [f for f in _RUN_FIELDS_THAT_MUST_MATCH if getattr(saved, f) != getattr(config, f)]
    if changed:
        raise CheckpointError(f"{source}: written with a different configuration: "
                              + ", ".join(f"{f} = {getattr(saved, f)!r} there, "
                                          f"{getattr(config, f)!r} here" for f in changed))
    if state["iteration"] > config.iterations:
        raise CheckpointError(f"{source}: already at iteration {state['iteration']}, beyond the "
                              f"{config.iterations} iterations asked for")
