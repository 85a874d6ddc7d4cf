"""A finished training run read back from its folder, and what to hold it against.

``python -m coordlib train --out DIR`` (and :func:`coordlib.learning.training.train` with
``out_dir``) writes ``checkpoint.pt``, ``curve.csv`` and ``summary.json`` into DIR;
:func:`load_run` gives them back as one :class:`TrainedRun`, whose ``policy`` is evaluated by
:func:`coordlib.evaluate` like any other. :func:`reference_profits` reads the optimum g* and
the best heuristic of a shipped scenario from the committed main table (E3);
:func:`evaluation_seed` gives the random stream a run is evaluated on.
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from ..common.files import REPO_DIR
from .agents import AgentSet
from .checkpoints import load_checkpoint
from .policy import LearnedPolicy

MAIN_TABLE = REPO_DIR / "data" / "tables" / "e3_main_table.csv"
"""The main table (E3) of the paper profile, where g* and the heuristics' profits are read."""


@dataclass
class TrainedRun:
    """What :func:`load_run` returns: a trained run's policy and its record."""

    policy: LearnedPolicy
    """the trained actors as a coordlib policy (``coordlib.evaluate(scenario, run.policy, ...)``)"""
    summary: dict
    """``summary.json``: evaluated profit per period and 95% CI, training time, settings
    (empty if the run wrote none)"""
    scenario: str
    """the name of the scenario it was trained on"""
    config: dict
    """its :class:`coordlib.learning.config.TrainConfig`, as a dict"""
    iteration: int
    """iterations trained"""
    path: Path
    """the run folder"""
    curve: Optional[pd.DataFrame] = field(default=None, repr=False)
    """the learning curve up to the checkpoint, one row per iteration (what ``curve.csv``
    holds once the run has written it)"""

    @property
    def profit(self) -> Optional[float]:
        """The evaluated mean profit per period of ``summary.json`` (None if not evaluated)."""
        return self.summary.get("profit")


def load_run(path, deterministic: Optional[bool] = None) -> TrainedRun:
    """The run in folder ``path`` (or its ``checkpoint.pt``): policy, summary, curve, settings.

    ``deterministic`` chooses how the policy acts: the most likely order-up-to level and the
    mean exposure (True) or samples as in training (False); default: the run's own
    ``eval_deterministic``, the setting its summary was evaluated with. Loading runs no code
    (``torch.load(weights_only=True)``). Raises a CheckpointError naming the problem when the
    checkpoint is missing or unreadable. Only files of the checkpoint's own run are read: a
    ``summary.json`` of another run or iteration (a run killed after a checkpoint, before its
    summary) is left out with a warning, and the curve is the checkpoint's.

    >>> run = coordlib.load_run("runs/tm")                           # doctest: +SKIP
    >>> coordlib.evaluate(coordlib.scenarios.get(run.scenario), run.policy, 20, 500, 100, 0)
    """
    path = Path(path)
    folder = path.parent if path.suffix == ".pt" else path
    state = load_checkpoint(path if path.suffix == ".pt" else folder / "checkpoint.pt")
    agents = AgentSet.from_spec(state["spec"])
    agents.load_state_dict(state["agents"])
    config = dict(state["config"])
    det = config.get("eval_deterministic", True) if deterministic is None else bool(deterministic)
    policy = LearnedPolicy(agents, det, name=config.get("name", "learned"))
    summary_file = folder / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    if summary and not _same_run(summary, state):
        warnings.warn(f"{summary_file}: written by another run than {folder / 'checkpoint.pt'} "
                      f"(run {summary.get('run_id')} at iteration {summary.get('iterations')}, "
                      f"the checkpoint: run {state.get('run_id')} at iteration "
                      f"{state['iteration']}; a run killed before its summary?); left out",
                      stacklevel=2)
        summary = {}
    curve = pd.DataFrame(state["curve"])     # the checkpoint's own: curve.csv may lag behind
    return TrainedRun(policy, summary, state["scenario"], config, int(state["iteration"]),
                      folder, curve)


def _same_run(summary: dict, state: dict) -> bool:
    """Whether ``summary.json`` was written by the run and iteration of the checkpoint
    ``state`` (runs saved before run ids have none on either side)."""
    return (summary.get("run_id") == state.get("run_id")
            and summary.get("iterations") == state["iteration"])


def reference_profits(scenario: str, table=MAIN_TABLE) -> dict:
    """The exact optimum g* and the best heuristic firm of shipped scenario ``scenario`` in
    the main table (E3): ``{"g_star": float or None, "best_heuristic": (name, profit) or
    None}``; both None when the table or the scenario is not there."""
    out = {"g_star": None, "best_heuristic": None}
    table = Path(table)
    if not table.is_file():
        return out
    frame = pd.read_csv(table)
    rows = frame[frame["scenario"] == scenario]
    dp = rows[rows["kind"] == "DP"]
    if len(dp) and math.isfinite(float(dp["profit"].iloc[0])):
        out["g_star"] = float(dp["profit"].iloc[0])
    heuristics = rows[rows["kind"] == "heuristic"]
    if len(heuristics):
        best = heuristics.loc[heuristics["profit"].idxmax()]
        out["best_heuristic"] = (str(best["method"]), float(best["profit"]))
    return out


def comparison(profit: float, scenario: str, table=MAIN_TABLE) -> str:
    """One line holding ``profit`` against g* and the best heuristic of the main table (E3),
    or "" when neither is known for ``scenario``."""
    ref = reference_profits(scenario, table)
    parts = []
    if ref["g_star"] is not None:
        g = ref["g_star"]
        parts.append(f"DP optimum g* {g:.3f} (this run {100 * (profit - g) / abs(g):+.2f}%)")
    if ref["best_heuristic"] is not None:
        name, value = ref["best_heuristic"]
        parts.append(f"best heuristic {name} {value:.3f} (this run "
                     f"{100 * (profit - value) / abs(value):+.2f}%)")
    return ("beside: " + "; ".join(parts) + " [main table E3, paper profile]") if parts else ""


def evaluation_seed(seed: int) -> int:
    """The seed of the final evaluation of the learner trained with ``seed``: one stream per
    training seed, independent of the training stream (the simulator is seeded ``seed`` in
    training) and of the other seeds' evaluations, so that the spread of the seeds' evaluated
    profits holds the evaluation noise as well as the training noise
    (:func:`coordlib.experiments.learners.across_seeds`)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be a whole number >= 0, got {seed!r}")
    return int(np.random.SeedSequence([int(seed), 104729]).generate_state(1)[0] % 2**31)
