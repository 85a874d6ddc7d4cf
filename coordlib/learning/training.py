"""Training the multi-timescale multi-agent learner and its baselines (MODEL.md section 6).

The algorithm itself, one iteration top to bottom, is :mod:`coordlib.learning.mtma`.

Named configurations (:data:`PRESETS`, :func:`config_for`) are the baselines of MODEL.md
section 6: ``mtma``, ``single_timescale``, ``independent``, ``siloed``, ``centralized``
(and ``siloed_cost``, the siloed learners with the operating-cost KPI).

The trained actors are evaluated as a :class:`coordlib.learning.policy.LearnedPolicy` by
:func:`coordlib.evaluate`, deterministically by default (the most likely order-up-to level,
the exposure softmax of the mean logits; ``eval_deterministic=False`` samples as in training).

Checkpoints hold the networks, the optimizers, every random state, the simulator copies'
state and the learning curve, so a resumed run ends exactly where an uninterrupted run with
the same configuration ends. They are read with ``torch.load(weights_only=True)``: loading
runs no code.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import sys
import textwrap
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pandas as pd
import torch

from ..common.files import FolderBusyError, FolderLock, atomic_write, atomic_write_json
from ..model import scenarios
from ..model.evaluation import evaluate, mean_ci
from .checkpoints import CheckpointError, check_resume, load_checkpoint
from .config import PRESET_DOCS, PRESETS, ConfigError, TrainConfig, config_docs, config_for
from .mtma import Learner, TrainingDivergedError
from .policy import LearnedPolicy
from .runs import comparison, evaluation_seed


# ---- the training run ---------------------------------------------------------------------
@dataclass
class TrainResult:
    """What :func:`train` returns."""

    policy: LearnedPolicy
    """the trained actors as a coordlib policy (evaluated in ``summary``)"""
    learner: Learner
    """the final state: networks, optimizers, iterates (``learner.parameters_of``)"""
    curve: pd.DataFrame
    """the learning curve, one row per iteration"""
    summary: dict
    """evaluation (mean profit per period and 95% CI), training time, speed, configuration"""
    out_dir: Optional[Path] = None
    """where curve.csv, checkpoint.pt and summary.json were written (None: nowhere)"""


def train(scenario, config: Optional[TrainConfig] = None, out_dir=None, progress: bool = True,
          resume=False, init_from=None, callback: Optional[Callable] = None,
          evaluate_policy: bool = True) -> TrainResult:
    """Train a learner configuration on a scenario and evaluate it with :func:`coordlib.evaluate`.

    Parameters
    ----------
    scenario : Scenario or str
        the model (MODEL.md), or a shipped scenario's name.
    config : TrainConfig
        hyperparameters; default ``config_for("mtma")``.
    out_dir : path, optional
        where to write ``curve.csv`` (the learning curve), ``checkpoint.pt`` (every
        ``checkpoint_every`` iterations and at the end) and ``summary.json``.
    progress : bool
        show a progress bar with the rollout profit per period and steps per second.
    resume : bool or path
        continue from ``out_dir/checkpoint.pt`` (True) or from the given checkpoint; the
        result is the same as an uninterrupted run with the same configuration.
    init_from : path, Learner or state dict, optional
        start the networks from these weights (e.g. to train one agent against a frozen one).
    callback : callable, optional
        ``callback(learner, row)`` after every iteration (``row`` is the curve's new row).
    evaluate_policy : bool
        evaluate the trained policy (True) or leave ``summary`` without the evaluation.
    """
    scenario = scenarios.get(scenario)
    config = config_for("mtma") if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(config).__name__}")
    out_dir = Path(out_dir) if out_dir is not None else None
    check_device(config.device)
    # one training run writes in a folder at a time, until its summary is written
    with run_lock(out_dir) if out_dir is not None else contextlib.nullcontext():
        checkpoint = out_dir / "checkpoint.pt" if out_dir is not None else None
        state = None
        if resume:
            source = checkpoint if resume is True else Path(resume)
            if source is None:
                raise ValueError("resume=True needs out_dir (or pass the checkpoint's path)")
            state = load_checkpoint(source)
            check_resume(state, scenario, config, source)
        learner = Learner(scenario, config, init_from=init_from)
        if state is not None:
            learner.load_state_dict(state)

        # deferred: the progress bar loads only when one is shown
        from tqdm.auto import tqdm
        bar = tqdm(total=config.iterations, initial=min(learner.iteration, config.iterations),
                   disable=not progress, desc=f"{config.name} on {scenario.name}", unit="it",
                   dynamic_ncols=True)
        try:
            while learner.iteration < config.iterations:
                row = learner.iterate()
                bar.update(1)
                bar.set_postfix(profit=f"{row['profit']:.2f}", steps_s=f"{row['steps_per_s']:.0f}")
                if callback is not None:
                    callback(learner, row)
                if checkpoint is not None and (learner.iteration % config.checkpoint_every == 0
                                               or learner.iteration == config.iterations):
                    learner.save(checkpoint)
                    _write_curve(learner, out_dir)
        finally:
            bar.close()

        curve = pd.DataFrame(learner.curve)
        policy = learner.policy()
        steps = int(curve["env_steps"].iloc[-1]) if len(curve) else 0
        summary = {"run_id": learner.run_id,
                   "scenario": scenario.name, "config": config.name, "seed": config.seed,
                   "iterations": learner.iteration, "env_steps": steps,
                   "train_seconds": learner.wall_time,
                   "steps_per_second": steps / learner.wall_time if learner.wall_time else None,
                   "parameters": learner.agents.parameter_count(),
                   "settings": config.to_dict()}
        if evaluate_policy:
            frame = evaluate(scenario, policy, replications=config.eval_replications,
                             periods=config.eval_periods, warmup=config.eval_warmup,
                             seed=config.eval_seed)
            mean, lo, hi = mean_ci(frame["profit"])
            summary.update(profit=mean, profit_ci_low=lo, profit_ci_high=hi,
                           evaluation=dict(replications=config.eval_replications,
                                           periods=config.eval_periods, warmup=config.eval_warmup,
                                           seed=config.eval_seed,
                                           deterministic=config.eval_deterministic))
        if out_dir is not None:
            _write_curve(learner, out_dir)
            atomic_write_json(out_dir / "summary.json", summary, indent=2)
        return TrainResult(policy, learner, curve, summary, out_dir)


def seeded_run(scenario, config: str = "mtma", seed: int = 0, iterations: int = 300,
               out_dir=None, **overrides) -> TrainResult:
    """The learner run of every experiment and of the learner-quality panel: the preset
    ``config`` (:data:`PRESETS`) with ``seed``, trained ``iterations`` iterations and evaluated on
    the seed's own stream (:func:`coordlib.learning.runs.evaluation_seed`, unless ``overrides``
    set ``eval_seed``); ``overrides`` change any other :class:`TrainConfig` field."""
    config = config_for(config, seed=int(seed), iterations=int(iterations),
                        **{"eval_seed": evaluation_seed(seed), **overrides})
    return train(scenario, config, out_dir=out_dir, progress=False)


CUDA_INSTALL = ("pip install torch --index-url https://download.pytorch.org/whl/cu121 (pick the "
                "CUDA version of your driver at https://pytorch.org/get-started/locally/)")


def run_lock(out_dir) -> FolderLock:
    """The lock of a run folder (:class:`coordlib.common.files.FolderLock`): a second training
    run into the same folder is refused, naming the first."""
    return FolderLock(out_dir, RUN_LOCK, "another training run", hint="give this one its own "
                      "--out (out_dir)")


RUN_LOCK = ".train.lock"
"""The lock file of a run folder (it stays, empty, after the run)."""


def check_device(device: str) -> None:
    """Raise a ConfigError in one line when torch cannot train on ``device`` here."""
    kind = torch.device(device).type
    if kind == "cuda" and not torch.backends.cuda.is_built():
        raise ConfigError(f"TrainConfig.device: {device!r}, but this torch "
                          f"({torch.__version__}) is a CPU-only build without CUDA; install a "
                          f"CUDA build: {CUDA_INSTALL}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"TrainConfig.device: {device!r}, but torch sees no CUDA device "
                          "(no GPU, or no driver); use --device cpu")
    try:
        torch.Generator(device)
        torch.zeros(1, device=device) + 1
    except (RuntimeError, AssertionError, ValueError) as exc:
        raise ConfigError(f"TrainConfig.device: cannot train on {device!r} here: "
                          f"{' '.join(str(exc).split())}") from None


def _write_curve(learner: Learner, out_dir: Path) -> None:
    curve = pd.DataFrame(learner.curve)
    atomic_write(out_dir / "curve.csv", lambda handle: curve.to_csv(handle, index=False))


# ---- command line -------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """Errors in one line: the usage of some fifty options would bury the message."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (--help lists the options)\n")


class _Formatter(argparse.HelpFormatter):
    """Wraps each line of a help text on its own, so a help text can hold a list."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=34)

    def _split_lines(self, text, width):
        lines = []
        for part in text.splitlines():
            indent = part[:len(part) - len(part.lstrip())]     # a list item: hang by 2
            indent += "  " if indent else ""
            lines += textwrap.wrap(part, width, subsequent_indent=indent,
                                   break_on_hyphens=False) or [""]
        return lines


def train_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m coordlib train``: the run's options, then one option per
    :class:`TrainConfig` field, generated from the field's declaration (type, meaning, unit,
    default, choices): ``--lr-fast 0.002``, ``--memory/--no-memory``, ``--frozen NAME ...``."""
    parser = _Parser(
        prog="coordlib train", formatter_class=_Formatter,
        usage="%(prog)s --scenario NAME --out DIR [--config PRESET] [--FIELD VALUE ...] "
              "[--set FIELD=VALUE ...]",
        description="Train a learner configuration (MTMA or a baseline) on a scenario; write "
                    "curve.csv, checkpoint.pt and summary.json to --out.")
    run = parser.add_argument_group("the run")
    run.add_argument("--scenario", required=True, help="a shipped scenario's name or a YAML path")
    run.add_argument("--out", required=True, help="output folder")
    presets = "\n".join(
        f"  {name}: {PRESET_DOCS[name]}"
        + (f" ({', '.join(f'{k}={v}' for k, v in PRESETS[name].items())})" if PRESETS[name]
           else "") for name in PRESETS)
    run.add_argument("--config", default="mtma", choices=list(PRESETS), metavar="PRESET",
                     help="named configuration (default mtma); each differs from mtma only in "
                          "what its name says:\n" + presets.replace("%", "%%"))
    run.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    run.add_argument("--overwrite", action="store_true",
                     help="train afresh into a non-empty --out, replacing the run there")
    run.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                     help="set any TrainConfig field (repeatable; applied after the options "
                          "below, kept for compatibility); a tuple as NAME,NAME. Each field's "
                          "meaning, unit and default: 'TrainConfig fields' below (--lr-fast is "
                          "FIELD lr_fast)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    fields = parser.add_argument_group(
        "TrainConfig fields", "One option per field: its meaning [unit] and default (mtma's; a "
        "field not given keeps the value of the --config preset).")
    hints = typing.get_type_hints(TrainConfig)
    docs = config_docs()
    for f in dataclasses.fields(TrainConfig):
        kind, choices = hints[f.name], f.metadata["check"].choices
        option, doc = "--" + f.name.replace("_", "-"), docs[f.name].replace("%", "%%")
        if kind is bool:
            fields.add_argument(option, dest=f.name, action=argparse.BooleanOptionalAction,
                                default=None, help=doc)
        elif kind is tuple:
            fields.add_argument(option, dest=f.name, nargs="*", choices=choices, default=None,
                                help=f"{doc}; {option} alone: none")
        else:
            fields.add_argument(option, dest=f.name, type=_option_type(f.name), default=None,
                                choices=choices, help=doc,
                                metavar=None if choices else {int: "INT", float: "FLOAT"}
                                .get(kind, "TEXT"))
    return parser


def _option_type(name: str) -> Callable[[str], object]:
    """The argparse ``type`` of a field's option: :func:`_parse_value`, its error in one line."""
    def parse(text):
        try:
            return _parse_value(name, text)
        except ConfigError as exc:
            # argparse names the option: "argument --lr-fast: expected a number (float), ..."
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"TrainConfig.{name}: ")) \
                from None
    return parse


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The configuration of parsed ``train`` arguments: the ``--config`` preset, the field
    options given, then each ``--set FIELD=VALUE``; raises :class:`ConfigError`."""
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                 if getattr(args, f.name, None) is not None}
    if "frozen" in overrides:
        overrides["frozen"] = tuple(overrides["frozen"])
    overrides.update(parse_settings(args.set))
    name = overrides.pop("name", None)
    config = config_for(args.config, **overrides)
    return config if name is None else config.replace(name=name)


def cli(argv) -> int:
    """``python -m coordlib train --scenario tiny --config mtma --seed 0 --out DIR``."""
    args = train_parser().parse_args(argv)
    try:
        out = Path(args.out)
        if args.resume and args.overwrite:
            raise ConfigError("--resume and --overwrite: give one or the other")
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {args.out}: exists and is not a folder")
        config = config_from_args(args)
        with run_lock(out):
            if not (args.resume or args.overwrite) and any(p.name != RUN_LOCK
                                                           for p in out.iterdir()):
                raise ConfigError(f"--out {args.out}: holds an earlier run; --resume continues "
                                  "it, --overwrite replaces it")
            result = train(args.scenario, config, out_dir=args.out,
                           progress=not args.no_progress, resume=args.resume)
    except (ConfigError, CheckpointError, TrainingDivergedError, FolderBusyError,
            ValueError) as exc:
        print(f"coordlib train: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ncoordlib train: interrupted; {_kept(Path(args.out))}", file=sys.stderr)
        return 130
    s = result.summary
    print(f"{s['config']} on {s['scenario']} (seed {s['seed']}): mean profit per period "
          f"{s['profit']:.3f} [95% CI {s['profit_ci_low']:.3f}, {s['profit_ci_high']:.3f}], "
          f"{s['iterations']} iterations, {s['env_steps']} steps in {s['train_seconds']:.1f} s "
          f"({s['steps_per_second']:.0f} steps/s); written to {args.out}")
    print("(evaluated with the deterministic policy; the progress bar showed the profit of the "
          "sampled training policy, which explores and so earns less)"
          if s["evaluation"]["deterministic"] else "(evaluated with the sampled policy)")
    if args.scenario in scenarios.names() and (line := comparison(s["profit"], args.scenario)):
        print(line)
    return 0


def parse_settings(items) -> dict:
    """``FIELD=VALUE`` strings (``--set``) as TrainConfig overrides, each value of its field's
    type; raises :class:`ConfigError` naming the item."""
    settings = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected FIELD=VALUE")
        key = key.strip().replace("-", "_")
        settings[key] = _parse_value(key, text)
    return settings


def _kept(out: Path) -> str:
    """What an interrupted run leaves in ``out``, in words."""
    try:
        iteration = load_checkpoint(out / "checkpoint.pt")["iteration"]
    except CheckpointError:
        return "no checkpoint was written yet"
    return (f"its checkpoint at iteration {iteration} is kept in {out}; --resume continues "
            "from there")


def _parse_value(key: str, text: str):
    """The value of field ``key`` written as ``text`` (``--set`` and the field options)."""
    kinds = typing.get_type_hints(TrainConfig)
    if key not in kinds:
        close = [k for k in kinds if key and key in k][:3] or difflib.get_close_matches(key, kinds)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ConfigError(f"--set: unknown TrainConfig field {key!r}{hint} "
                          "(coordlib train --help lists every field)")
    kind = kinds[key]
    if kind is bool:
        if text.strip().lower() not in ("true", "false", "1", "0"):
            raise ConfigError(f"TrainConfig.{key}: must be true or false, got {text!r}")
        return text.strip().lower() in ("true", "1")
    if kind is tuple:
        return tuple(x.strip() for x in text.split(",") if x.strip())
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            expected = "a whole number (int)" if kind is int else "a number (float)"
            raise ConfigError(f"TrainConfig.{key}: expected {expected}, got {text!r}") from None
    return text
