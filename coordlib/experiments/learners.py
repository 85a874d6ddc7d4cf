"""Learner runs for E3-E8: train a configuration and evaluate it, as cached sweeps.

:func:`train_evaluate` is one run (the sweep's job); :func:`learner_sweep` runs every
(scenario, configuration, seed) once per code version (:func:`coordlib.pipeline.sweep.cached_sweep`);
:func:`learning_curves`, :func:`across_seeds` and :func:`load_policy` read the runs back.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..common.files import DATA_FILE_SUFFIXES, data_file_key
from ..learning.agents import AgentSet
from ..learning.checkpoints import load_checkpoint
from ..learning.policy import LearnedPolicy
from ..learning.training import seeded_run
from ..model.evaluation import mean_ci
from ..pipeline.sweep import cache_folder, cached_sweep
from .parameters import iterations_by_scenario, per_scenario_values


# ---- learners: training runs as sweeps (E3-E8) -------------------------------------------------
def run_name(scenario: str, config: str, seed: int, overrides: dict | None = None) -> str:
    """The folder name of one training run: scenario, configuration, seed, overrides' hash.

    A scenario given as a path (or any name that is not a plain file name) is named by its
    stem and a hash of the path and the file's content, so the run stays inside the folder it
    is named under, and a rewritten file gets a run of its own."""

    tag = f"-{settings_digest(overrides)}" if overrides else ""
    return f"{_scenario_label(str(scenario))}--{config}--s{seed}{tag}"


def _scenario_label(scenario: str) -> str:
    if _PLAIN_NAME.fullmatch(scenario) and not scenario.endswith(DATA_FILE_SUFFIXES):
        return scenario
    digest = settings_digest({"scenario": data_file_key(scenario)})
    stem = re.sub(r"[^A-Za-z0-9_.=-]+", "_", Path(scenario).stem).strip("._") or "scenario"
    return f"{stem[:40]}-{digest}"


_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.= -]{0,79}")


def train_evaluate(scenario="tiny", config: str = "mtma", seed: int = 0, iterations: int = 300,
                   runs_dir=None, **overrides) -> dict:
    """Train one learner configuration and evaluate it: the experiment behind E3-E8.

    ``config`` names a preset of :data:`coordlib.learning.config.PRESETS`; ``overrides`` change
    :class:`coordlib.learning.config.TrainConfig` fields (e.g. ``timescale_ratio``). The
    trained policy is evaluated on its own stream, :func:`coordlib.learning.runs.evaluation_seed` (``seed``), unless
    ``overrides`` set ``eval_seed``. When ``runs_dir`` is given, the run's learning curve,
    checkpoint and summary are written to ``runs_dir / run_name(...)``. Returns flat metrics:
    the evaluated mean profit per period with its 95% CI across the evaluation's replications,
    ``profit_se`` (its standard error), ``evaluated_replications``, ``evaluation_stream``, training time,
    environment steps, steps per second, parameter count.
    """

    return run_metrics(train_run(scenario, config, seed, iterations, runs_dir, **overrides))


def train_run(scenario="tiny", config: str = "mtma", seed: int = 0, iterations: int = 300,
              runs_dir=None, label: str | None = None, **overrides):
    """The training of :func:`train_evaluate`: its :class:`coordlib.learning.training.TrainResult`
    (the learner included, to train on from there). ``scenario`` is a name or a Scenario;
    the run's folder under ``runs_dir`` is named after ``label`` (default: the scenario's
    name)."""
    label = label or (scenario if isinstance(scenario, str) else scenario.name)
    out = None if runs_dir is None else Path(runs_dir) / run_name(label, config, seed, overrides)
    return seeded_run(scenario, config, seed, iterations, out, **overrides)


def run_metrics(result) -> dict:
    """The flat metrics of :func:`train_evaluate` from a :class:`~coordlib.learning.training.TrainResult`."""
    cfg, s = result.learner.config, result.summary
    n = int(cfg.eval_replications)
    se = (float(s["profit_ci_high"]) - float(s["profit"])) / stats.t.ppf(0.975, n - 1) \
        if n > 1 else float("nan")
    return {"profit": float(s["profit"]), "profit_lo": float(s["profit_ci_low"]),
            "profit_hi": float(s["profit_ci_high"]), "profit_se": se,
            "evaluated_replications": n, "evaluation_stream": int(cfg.eval_seed),
            "train_seconds": float(s["train_seconds"]),
            "env_steps": int(s["env_steps"]), "steps_per_second": float(s["steps_per_second"]),
            "parameters": int(s["parameters"])}


def settings_digest(settings: dict) -> str:
    """A short name for one set of TrainConfig overrides (in the names of sweep folders)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]


def learner_sweep(name: str, scenarios, configs, seeds, iterations, cache_dir,
                  axes: dict | None = None, workers: int = 2, scheduler=None,
                  progress: bool = False, settings: dict | None = None) -> pd.DataFrame:
    """Train every (scenario, configuration, seed, axes value) with :mod:`coordlib.pipeline.sweep`.

    ``iterations`` is one count for every scenario or a mapping scenario -> count (see
    :func:`iterations_by_scenario`); ``settings``: TrainConfig overrides of every run (e.g.
    ``{"n_envs": 16}``), each value one for every scenario or, the same way, a mapping scenario
    -> value (``{"n_envs": {"tiny": 64, "medium": 16}}``). Runs in parallel local processes (or on a Dask cluster
    given ``scheduler``); results and runs (curves, checkpoints) are kept under ``cache_dir``
    in a folder named after the sweep, the iteration count and the code version
    (``NAME-300it-VERSION``), so a re-run with unchanged code trains nothing. Returns one
    row per run (see :func:`coordlib.pipeline.sweep.collect`), with its ``iterations``,
    ``overrides`` (the run's TrainConfig overrides, JSON) and ``run_dir`` (its folder).
    """
    scenarios = list(scenarios)
    counts = iterations_by_scenario(iterations, scenarios)
    per_scenario = {k: per_scenario_values(k, v, scenarios) for k, v in (settings or {}).items()}
    groups: dict[tuple, list] = {}           # one sweep per iteration count and settings
    for s in scenarios:
        fixed = {k: v[s] if isinstance(v, dict) else v for k, v in per_scenario.items()}
        key = (counts[s] if isinstance(counts, dict) else counts, json.dumps(fixed, sort_keys=True))
        groups.setdefault(key, []).append(s)
    return pd.concat([_learner_sweep(name, group, configs, seeds, count, cache_dir, axes,
                                     workers, scheduler, progress, json.loads(fixed))
                      for (count, fixed), group in groups.items()], ignore_index=True)


def _learner_sweep(name, scenarios, configs, seeds, iterations, cache_dir, axes, workers,
                   scheduler, progress, settings) -> pd.DataFrame:

    name = f"{name}-{iterations}it" + (f"-{settings_digest(settings)}" if settings else "")
    root = cache_folder(cache_dir, "learners", name)
    grid = {"name": name, "experiment": train_evaluate,
            "fixed": {"iterations": int(iterations), "runs_dir": str(root / "runs"),
                      **settings},
            "axes": {"scenario": list(scenarios), "config": list(configs), **(axes or {})},
            "seeds": [int(s) for s in seeds]}
    frame = cached_sweep(grid, root, workers, scheduler, progress)
    frame["runs_dir"] = str(root / "runs")
    overrides = [{**settings, **{k: _plain(row[k]) for k in (axes or {})}}
                 for _, row in frame.iterrows()]
    frame["overrides"] = [json.dumps(o, sort_keys=True) for o in overrides]
    frame["run_dir"] = [str(root / "runs" / run_name(row["scenario"], row["config"],
                                                      int(row["seed"]), o or None))
                        for (_, row), o in zip(frame.iterrows(), overrides)]
    return frame


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def learning_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """The learning curves (``curve.csv``) of the runs of :func:`learner_sweep`, stacked.

    Adds the run's ``scenario``, ``config``, ``seed`` and overrides (settings, axes) to every
    row.
    """
    frames = []
    for row in runs.itertuples():
        curve = pd.read_csv(Path(row.run_dir) / "curve.csv")
        curve["scenario"], curve["config"], curve["seed"] = row.scenario, row.config, row.seed
        for k, v in json.loads(row.overrides).items():
            curve[k] = v
        frames.append(curve)
    return pd.concat(frames, ignore_index=True)


def across_seeds(runs: pd.DataFrame, by=("scenario", "config"), column: str = "profit",
                 confidence: float = 0.95) -> pd.DataFrame:
    """Mean of ``column`` over seeds with a t-interval that holds evaluation noise.

    Each run is one training seed whose policy was evaluated with R replications on its own
    stream (:func:`coordlib.learning.runs.evaluation_seed`): a two-level design, seeds x replications. The seed means
    are then independent and their spread holds both the training noise and the evaluation
    noise (Var = sigma_seed^2 + sigma_rep^2 / R), so the t-interval across seed means is the
    interval of the two-level design (balanced, as every run has the same R). With a handful
    of seeds that spread is itself uncertain (two degrees of freedom for three seeds), and
    it can come out below the evaluation noise alone, sigma_rep^2 / (S R), which the
    replications measure well: given each run's ``profit_se``, the half-width is the larger
    of the two t-intervals (across seeds; the pooled replications, S (R - 1) degrees of
    freedom). With a single seed the interval is the run's own, across its replications, and
    misses the training noise. ``interval`` says which: ``"S seeds x R replications"`` or
    ``"R replications (1 seed)"``, in the heuristics' words (``"replications"``).
    """

    rows = []
    for key, g in runs.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        reps = g["evaluated_replications"].iloc[0] if "evaluated_replications" in g else None
        if "evaluation_stream" in g and g["evaluation_stream"].nunique() < len(g):
            raise ValueError(f"across_seeds: the runs of {dict(zip(by, key))} share an "
                             "evaluation stream; their spread would miss the evaluation noise")
        if len(g) == 1 and f"{column}_lo" in g:
            mean, lo, hi = (float(g[c].iloc[0]) for c in (column, f"{column}_lo",
                                                           f"{column}_hi"))
            interval = f"{reps} replications (1 seed)" if reps else "replications (1 seed)"
        else:
            mean, lo, hi = mean_ci(g[column], confidence)
            if f"{column}_se" in g and reps and reps > 1 and len(g) > 1:
                pooled = float(np.sqrt(np.mean(np.square(g[f"{column}_se"])) / len(g)))
                half = stats.t.ppf(0.5 + confidence / 2, len(g) * (reps - 1)) * pooled
                lo, hi = min(lo, mean - half), max(hi, mean + half)
            interval = f"{len(g)} seeds x {reps} replications" if reps else f"{len(g)} seeds"
        rows.append({**dict(zip(by, key)), "seeds": len(g), column: mean,
                     f"{column}_lo": lo, f"{column}_hi": hi, "interval": interval,
                     "train_seconds": float(g["train_seconds"].mean())
                     if "train_seconds" in g else float("nan")})
    return pd.DataFrame(rows)


def run_dirs(runs: pd.DataFrame) -> pd.Series:
    """The folder of each run of :func:`learner_sweep` (curve.csv, checkpoint.pt, summary.json)."""
    return runs["run_dir"]


def load_policy(run_dir, deterministic: bool | None = None):
    """The trained actors of a run folder's ``checkpoint.pt`` as a :class:`LearnedPolicy`.

    Returns ``(policy, scenario_name)``; ``deterministic`` defaults to the run's
    ``eval_deterministic`` (the setting its evaluation used).
    """

    state = load_checkpoint(Path(run_dir) / "checkpoint.pt")
    agents = AgentSet.from_spec(state["spec"])
    agents.load_state_dict(state["agents"])
    config = state["config"]
    det = config.get("eval_deterministic", True) if deterministic is None else deterministic
    return LearnedPolicy(agents, det, name=config.get("name", "learned")), state["scenario"]
