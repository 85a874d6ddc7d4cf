"""Training checkpoints: their format, and loading one safely (``torch.load(weights_only=True)``)."""
from __future__ import annotations

import dataclasses
import pickle
import zipfile
from pathlib import Path

import torch

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
    return state
