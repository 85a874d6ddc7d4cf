"""Bad input never gives a wrong number, loses a run or runs code: a corpus of hostile inputs.

Each case feeds one bad input to the CLI, the Python API, a sweep or a checkpoint and checks
that it is handled as specified: refused with a clear message naming the problem (the CLI: one
line on stderr, exit code 2, no traceback), or, where the input is legal, handled right (the DP
cache keyed by content, ``--set name=...``). A case's probe returns None when it is handled,
raises :class:`Silent` when the input was accepted or gave a wrong result, and raises anything
else (:class:`Crash` for a misleading message) when it crashed.
``python tests/bad_inputs_census.py`` counts the outcomes over the corpus.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import dask
import numpy as np
import pytest
import torch
import yaml

import coordlib
from coordlib.cli import main
from coordlib.common import files
from coordlib.envs.parallel import parallel_env
from coordlib.envs.vector import CoordinationVectorEnv
from coordlib.exact import dp
from coordlib.experiments import e3_main_table
from coordlib.learning import checkpoints
from coordlib.learning.checkpoints import CheckpointError
from coordlib.learning.config import ConfigError, config_for
from coordlib.learning.training import train
from coordlib.model.families import family_scenario
from coordlib.model.scenario import Scenario, ScenarioError, random_scenario
from coordlib.model.simulator import Simulator
from coordlib.model.variants import scenario_variant
from coordlib.pipeline import sweep
from coordlib.pipeline.results import ResultStore
from coordlib.pipeline.sweep import SweepError

TINY = coordlib.scenarios.get("tiny").to_dict()


class Silent(AssertionError):
    """The bad input was accepted, or gave a wrong number."""


class Crash(AssertionError):
    """Refused, but with a message that does not name the problem."""


@dataclass(frozen=True)
class Case:
    id: str
    probe: Callable[[Path], None]
    """does the bad thing in a fresh folder; None when handled (see the module doc)"""
    needs: Callable[[], bool] = lambda: True
    """whether the case applies on this machine"""


def refuses(types, fragment: str, action: Callable, *args, **kwargs) -> None:
    """``action`` must raise one of ``types`` with ``fragment`` in its message."""
    try:
        action(*args, **kwargs)
    except types as exc:
        if fragment.lower() not in str(exc).lower():
            raise Crash(f"refused, but the message does not say {fragment!r}: "
                        f"{type(exc).__name__}: {exc}") from exc
        return
    raise Silent(f"accepted; expected {fragment!r}")


def cli(*argv) -> tuple[int, str]:
    """``python -m coordlib ARGV`` in this process: (exit code, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code
    return rc, err.getvalue()


def cli_refuses(fragment: str, *argv) -> None:
    """The command exits with code 2 and one line on stderr that says ``fragment``."""
    rc, err = cli(*argv)
    if rc == 0:
        raise Silent(f"exit code 0; expected a refusal saying {fragment!r}")
    lines = [line for line in err.splitlines() if line.strip()]
    if rc != 2 or "Traceback" in err or len(lines) != 1 or fragment.lower() not in err.lower():
        raise Crash(f"exit code {rc}, stderr {err[-600:]!r}; expected one line saying "
                    f"{fragment!r}")


def scenario_with(section: str | None, **changes) -> dict:
    spec = copy.deepcopy(TINY)
    (spec[section] if section else spec).update(changes)
    return spec


def from_dict_refuses(fragment: str, section, **changes):
    return lambda tmp: refuses(ScenarioError, fragment, Scenario.from_dict,
                               scenario_with(section, **changes))


def yaml_file_refuses(fragment: str, text: str):
    def probe(tmp):
        path = tmp / "bad.yaml"
        path.write_text(text)
        refuses(ScenarioError, fragment, Scenario.from_yaml, path)
    return probe


# ---- scenarios ------------------------------------------------------------------------------
def _huge_n(tmp):
    n = 200_000
    spec = {"products": {k: [1] * n for k in ("price", "unit_cost", "holding_cost",
                                              "lost_sale_penalty", "capacity", "max_order")},
            "segments": {"arrival_rate": [1], "attraction": [[1] * n]}}
    refuses(ScenarioError, "GiB", Scenario.from_dict, spec)


# eight levels of nine aliases inside a valid field: 43 million numbers from 340 bytes
ANCHOR_BOMB = "products:\n  price: [&a [1, 1, 1, 1, 1, 1, 1, 1, 1]" + "".join(
    f", &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefg", "bcdefgh")) + "]\n"


def _bomb(tmp):
    path = tmp / "bomb.yaml"
    path.write_text(ANCHOR_BOMB)
    refuses(ScenarioError, "values once its aliases (*name) are expanded", Scenario.from_yaml, path)


def _oversized_file(tmp):
    path = tmp / "big.yaml"
    path.write_text("description: '" + "x" * (files.YAML_MAX_BYTES + 10) + "'\n")
    refuses(ScenarioError, "bytes", Scenario.from_yaml, path)


SCENARIO_CASES = [
    Case("scenario-arrival-rate-1e19", from_dict_refuses("at most", "segments",
                                                         arrival_rate=[1e19])),
    Case("scenario-arrival-rate-1e20", from_dict_refuses("at most", "segments",
                                                         arrival_rate=[1e20])),
    Case("scenario-capacity-2**62", lambda tmp: refuses(ScenarioError, "capacity: must be at most",
         Scenario.from_dict, {**scenario_with("products", capacity=[2**62] * 2,
                                              max_order=[2**62] * 2),
                              "initial_on_hand": [2**62] * 2})),
    Case("scenario-price-1e308", from_dict_refuses("price: must be at most", "products",
                                                   price=[1e308, 10])),
    Case("scenario-price-boolean", from_dict_refuses("expected numbers", "products",
                                                     price=[True, 10])),
    Case("scenario-price-string", from_dict_refuses("expected numbers", "products",
                                                    price=["10", 10])),
    Case("scenario-review-period-boolean", from_dict_refuses("review_period", None,
                                                             review_period=True)),
    Case("scenario-lead-time-1e12", from_dict_refuses("lead_time: must be at most", "products",
                                                      lead_time=[10**12, 1])),
    Case("scenario-n-200000-memory", _huge_n),
    Case("scenario-yaml-anchor-bomb", _bomb),
    Case("scenario-yaml-oversized-file", _oversized_file),
    Case("scenario-yaml-duplicate-key", yaml_file_refuses(
        "duplicate key 'price'", yaml.safe_dump(TINY).replace(
            "products:\n", "products:\n  price: [1, 1]\n", 1))),
    Case("scenario-yaml-duplicate-key-one-line", yaml_file_refuses(
        "duplicate key 'price'", yaml.safe_dump(TINY).replace(
            "products:\n", "products:\n  zz: {price: [10, 10], price: [1000, 1000]}\n", 1))),
    Case("scenario-yaml-boolean-price", yaml_file_refuses(
        "expected numbers", yaml.safe_dump(TINY).replace("- 10.0\n", "- yes\n", 1))),
    Case("scenario-yaml-recursive-alias", yaml_file_refuses("recursive", "a: &a [1, *a]\n")),
]


# ---- the simulator and the PettingZoo environment ---------------------------------------------
def _sim(batch_size=2, **changes):
    return Simulator(Scenario.from_dict(scenario_with(None, **changes)), batch_size, seed=0)


def _parallel(tmp, actions, reset=True):
    env = parallel_env("tiny")
    if reset:
        env.reset(seed=0)
    return env.step(actions)


GOOD_ACTIONS = {"replenisher": np.array([1, 1]), "recommender": np.zeros((1, 2))}

SIMULATOR_CASES = [
    Case("simulator-fractional-batch-size", lambda tmp: refuses(
        ValueError, "whole number", Simulator, coordlib.scenarios.get("tiny"), 2.5)),
    Case("simulator-step-orders-batch-mismatch", lambda tmp: refuses(
        ScenarioError, "orders: expected shape", _sim().step, np.ones((3, 2), int),
        np.full((1, 2), 0.5))),
    Case("simulator-step-exposure-batch-mismatch", lambda tmp: refuses(
        ScenarioError, "exposure: expected shape", _sim().step, np.ones(2, int),
        np.full((3, 1, 2), 0.5))),
    Case("simulator-set-state-batch-mismatch", lambda tmp: refuses(
        ValueError, "on_hand must have shape", _sim().set_state, np.ones((3, 2), int))),
    Case("simulator-set-state-negative-backlog", lambda tmp: refuses(
        ValueError, "backlog must not be negative", _sim(backlog=True).set_state, [1, 1],
        backlog=[-1, 0])),
    Case("simulator-set-state-negative-t", lambda tmp: refuses(
        ValueError, "t must be", _sim().set_state, [1, 1], t=-1)),
    Case("simulator-set-state-fractional-stock", lambda tmp: refuses(
        ValueError, "whole numbers", _sim().set_state, [1.5, 1])),
    Case("pettingzoo-step-before-reset", lambda tmp: refuses(
        RuntimeError, "before reset", _parallel, tmp, GOOD_ACTIONS, reset=False)),
    Case("pettingzoo-list-of-actions", lambda tmp: refuses(
        TypeError, "expected a dict", _parallel, tmp, list(GOOD_ACTIONS.values()))),
    Case("pettingzoo-unknown-agent", lambda tmp: refuses(
        KeyError, "unknown agent", _parallel, tmp, {**GOOD_ACTIONS, "auditor": 1})),
]


# ---- training and checkpoints -----------------------------------------------------------------
FAST = dict(iterations=2, n_envs=2, minibatches=1, rollout_length=2, epochs=1, hidden=8,
            eval_replications=2, eval_periods=5, eval_warmup=1, checkpoint_every=1)
FAST_ARGS = [f"--{k.replace('_', '-')}={v}" for k, v in FAST.items()] + ["--no-progress"]
_RUNS: dict = {}


def trained_run(tmp: Path) -> Path:
    """A copy, in ``tmp``, of a two-iteration run on tiny (trained once per process)."""
    if "tiny" not in _RUNS:
        _RUNS["folder"] = tempfile.TemporaryDirectory(prefix="coordlib-bad-inputs-")
        root = Path(_RUNS["folder"].name) / "tiny"
        train("tiny", config_for("mtma", **FAST), out_dir=root, progress=False,
              evaluate_policy=False)
        _RUNS["tiny"] = root
    return Path(shutil.copytree(_RUNS["tiny"], tmp / "run"))


def _resume_other_content_same_name(tmp):
    run = trained_run(tmp)
    other = tmp / "other" / "tiny.yaml"          # tiny-margin's numbers under tiny's name
    coordlib.scenarios.get("tiny-margin").replace(name="tiny").to_yaml(other)
    refuses(CheckpointError, "another scenario", train, str(other),
            config_for("mtma", **{**FAST, "iterations": 3}), out_dir=run, progress=False,
            resume=True, evaluate_policy=False)


def _resume_other_n(tmp):
    run = trained_run(tmp)
    three = random_scenario(3, 1, seed=1, name="tiny")
    refuses(CheckpointError, "another scenario", train, three,
            config_for("mtma", **{**FAST, "iterations": 3}), out_dir=run, progress=False,
            resume=True, evaluate_policy=False)


def _edited_checkpoint(tmp, edit):
    run = trained_run(tmp)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    edit(state)
    torch.save(state, run / "checkpoint.pt")
    return run


def _checkpoint_missing_keys(tmp):
    run = _edited_checkpoint(tmp, lambda state: state.pop("optimizers"))
    refuses(CheckpointError, "missing optimizers", checkpoints.load_checkpoint,
            run / "checkpoint.pt")


def _checkpoint_absurd_iteration(tmp):
    run = _edited_checkpoint(tmp, lambda state: state.update(iteration=10**9))
    refuses(CheckpointError, "iteration 1000000000", train, "tiny",
            config_for("mtma", **{**FAST, "iterations": 3}), out_dir=run, progress=False,
            resume=True, evaluate_policy=False)


def _train_into_earlier_run(tmp):
    run = trained_run(tmp)
    before = (run / "checkpoint.pt").read_bytes()
    cli_refuses("--resume", "train", "--scenario", "tiny", "--out", run, *FAST_ARGS)
    if (run / "checkpoint.pt").read_bytes() != before:
        raise Silent("the earlier run's checkpoint was overwritten")


def _set_name(tmp):
    rc, err = cli("train", "--scenario", "tiny", "--out", tmp / "run", "--set", "name=foo",
                  *FAST_ARGS)
    if rc != 0:
        raise Crash(f"exit code {rc}: {err[-400:]}")
    summary = json.loads((tmp / "run" / "summary.json").read_text())
    if summary["config"] != "foo":
        raise Silent(f"--set name=foo gave config {summary['config']!r}")


TRAINING_CASES = [
    Case("train-resume-other-scenario-same-name", _resume_other_content_same_name),
    Case("train-resume-other-n", _resume_other_n),
    Case("checkpoint-missing-keys", _checkpoint_missing_keys),
    Case("checkpoint-claims-1e9-iterations", _checkpoint_absurd_iteration),
    Case("train-cli-non-empty-out", _train_into_earlier_run),
    Case("train-cli-set-name", _set_name),
    Case("train-cli-device-cuda-on-cpu-torch", lambda tmp: cli_refuses(
        "CUDA build", "train", "--scenario", "tiny", "--out", tmp / "run", "--device", "cuda",
        *FAST_ARGS), needs=lambda: not torch.backends.cuda.is_built()),
    Case("train-cli-set-device-meta", lambda tmp: cli_refuses(
        "meta", "train", "--scenario", "tiny", "--out", tmp / "run", "--set", "device=meta",
        *FAST_ARGS)),
    Case("config-lr-fast-1e9", lambda tmp: refuses(ConfigError, "lr_fast", config_for, "mtma",
                                                   lr_fast=1e9)),
    Case("config-slow-step-size-above-1", lambda tmp: refuses(
        ConfigError, "timescale_ratio", config_for, "mtma", lr_fast=0.5, timescale_ratio=1e6)),
]


# ---- the DP, its cache, and evaluate ----------------------------------------------------------
SMALL_DP = dict(capacity=[3, 3], max_order=[3, 3])


def _dp_cache_keyed_by_content(tmp):
    """Two custom files both named tiny.yaml, with different margins: each gets its own g*."""
    gains = []
    for i, price in enumerate(([10, 10], [10, 5.5])):
        s = Scenario.from_dict(scenario_with("products", price=price, **SMALL_DP,
                                             unit_cost=[5, 5])
                               | {"initial_on_hand": [1, 1]})
        path = tmp / str(i) / "tiny.yaml"
        s.to_yaml(path)
        table = e3_main_table.dp_gains([str(path)], exposure_grid=3, cache_dir=tmp / "cache")
        exact = dp.solve(Scenario.from_yaml(path), exposure_grid=3).gain
        gains.append(exact)
        if not math.isclose(table["gain"].iloc[0], exact, rel_tol=1e-9, abs_tol=1e-9):
            raise Silent(f"cached g* {table['gain'].iloc[0]:.4f}, true {exact:.4f}")
    assert gains[0] != gains[1]


DP_CASES = [
    Case("dp-cache-keyed-by-content-not-name", _dp_cache_keyed_by_content),
    Case("dp-solve-max-iter-0", lambda tmp: refuses(
        ScenarioError, "max_iter", dp.solve, Scenario.from_dict(scenario_with(
            "products", **SMALL_DP) | {"initial_on_hand": [1, 1]}), exposure_grid=3,
        max_iter=0)),
    Case("dp-cli-max-iter-0", lambda tmp: cli_refuses("--max-iter", "dp", "--max-iter", "0",
                                                      "--max-inventory", "2")),
    Case("evaluate-cli-missing-scenario-file", lambda tmp: cli_refuses(
        "not found", "evaluate", "--scenario", tmp / "missing.yaml")),
    Case("evaluate-cli-unknown-scenario", lambda tmp: cli_refuses(
        "unknown scenario", "evaluate", "--scenario", "no-such-scenario")),
    Case("evaluate-cli-warmup-not-below-periods", lambda tmp: cli_refuses(
        "--warmup", "evaluate", "--periods", "50", "--warmup", "50")),
    Case("evaluate-cli-zero-replications", lambda tmp: cli_refuses(
        "--replications", "evaluate", "--replications", "0")),
    Case("result-cache-entry-of-the-wrong-shape", lambda tmp: _wrong_shape_cache(tmp)),
]


def _wrong_shape_cache(tmp):
    store = ResultStore(tmp)
    config = {"probe": 1}
    store.path("kind", config).parent.mkdir(parents=True)
    store.path("kind", config).write_text("[1, 2, 3]")
    value = store.cached("kind", config, lambda: {"recomputed": True})
    if value != {"recomputed": True}:
        raise Silent(f"a damaged cache entry was returned: {value!r}")


# ---- sweeps -----------------------------------------------------------------------------------
RELEASE = threading.Event()
STARTED = threading.Event()


def blocking_job(x, seed):
    """A sweep experiment that waits until the test releases it."""
    STARTED.set()
    RELEASE.wait(30)
    return {"value": float(x)}


def exiting_job(x, seed):
    """A sweep experiment that calls sys.exit on x = 1."""
    if x == 1:
        sys.exit(3)
    return {"value": float(x)}


def _grid(**changes):
    return {"name": "g", "experiment": "test_bad_inputs.blocking_job", "axes": {"x": [1]},
            **changes}


def _two_sweeps_one_folder(tmp):
    out = tmp / "out"
    RELEASE.clear()
    STARTED.clear()
    first = threading.Thread(target=sweep.run_sweep, args=(_grid(), out),
                             kwargs=dict(workers=0, progress=False))
    first.start()
    try:
        assert STARTED.wait(30)
        in_flight = out / "jobs" / ".abc.json.x.tmp"      # the running sweep's record, mid-write
        in_flight.write_text("{}")
        other = _grid(name="h", axes={"x": [2, 3]})
        refuses(SweepError, "another sweep", sweep.run_sweep, other, out, workers=0,
                progress=False)
        if not in_flight.exists():
            raise Silent("the second sweep deleted the running sweep's temporary file")
    finally:
        RELEASE.set()
        first.join(30)
    if json.loads((out / "sweep.json").read_text())["grid"]["name"] != "g":
        raise Silent("sweep.json holds the other sweep's grid")


def _sys_exit_in_a_job(tmp):
    grid = {"name": "g", "experiment": "test_bad_inputs.exiting_job", "axes": {"x": [1, 2]}}
    try:
        report = sweep.run_sweep(grid, tmp / "out", workers=0, progress=False)
    except SystemExit as exc:
        raise Silent(f"the sweep stopped with exit code {exc.code}, the other job never ran") \
            from None
    errors = list((tmp / "out" / "jobs").glob("*.error.json"))
    if report.finished != 1 or len(report.failed) != 1 or len(errors) != 1:
        raise Silent(f"{report}")
    assert "SystemExit" in json.loads(errors[0].read_text())["error"]


def _grid_file(tmp, spec) -> Path:
    path = tmp / "grid.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _module_beside_the_grid(tmp, *extra):
    """A grid naming a function of a .py beside it (the working directory is on sys.path)."""
    marker = tmp / "ran"
    (tmp / "bi_planted.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n"
                                       "def run(x, seed):\n    return {{'v': 1.0}}\n")
    grid = _grid_file(tmp, {"name": "g", "experiment": "bi_planted.run", "axes": {"x": [1]}})
    sys.path.insert(0, str(tmp))
    try:
        rc, err = cli("sweep", grid, "--out", tmp / "out", "--workers", "0", "--no-progress",
                      *extra)
    finally:
        sys.path.remove(str(tmp))
        sys.modules.pop("bi_planted", None)
    if marker.exists():
        raise Silent(f"the grid's module ran (exit code {rc})")
    if rc != 2 or "--module" not in err:
        raise Crash(f"exit code {rc}: {err[-400:]}")


def _notebook_parameter_name(tmp):
    (tmp / "n.ipynb").write_text("{}")
    refuses(SweepError, "identifiers", sweep.Grid.from_dict,
            {"notebook": {"path": str(tmp / "n.ipynb"),
                          "parameters": {"x = __import__('os').system('id') #": 1}}})


def _unreachable_scheduler(tmp):
    # distributed registers its config defaults at import: import it before setting one of
    # them, or leaving the context would delete every default distributed added inside it
    import distributed  # noqa: F401
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        refuses(SweepError, "cannot reach", sweep.run_sweep, _grid(), tmp / "out",
                scheduler="tcp://127.0.0.1:9", progress=False)


SWEEP_CASES = [
    Case("sweep-two-sweeps-one-folder", _two_sweeps_one_folder),
    Case("sweep-job-calls-sys-exit", _sys_exit_in_a_job),
    Case("sweep-axis-name-is-code", lambda tmp: refuses(
        SweepError, "identifiers", sweep.Grid.from_dict,
        _grid(axes={"__import__('os').system('id')": [1]}))),
    Case("sweep-fixed-name-is-code", lambda tmp: refuses(
        SweepError, "identifiers", sweep.Grid.from_dict,
        _grid(fixed={"a; import os": 1}))),
    Case("sweep-notebook-parameter-name-is-code", _notebook_parameter_name),
    Case("sweep-list-imports-the-grid-module", lambda tmp: _module_beside_the_grid(tmp, "--list")),
    Case("sweep-runs-an-unregistered-module", lambda tmp: _module_beside_the_grid(tmp)),
    Case("sweep-grid-name-escapes-build-sweeps", lambda tmp: refuses(
        SweepError, "name", sweep.Grid.from_dict, _grid(name="../../.."))),
    Case("sweep-seeds-count-too-large", lambda tmp: refuses(
        SweepError, "at most", sweep.Grid.from_dict, _grid(seeds={"count": 2_000_000}))),
    Case("sweep-malformed-scheduler", lambda tmp: cli_refuses(
        "scheduler", "sweep", _grid_file(tmp, {"name": "g", "experiment": "evaluate_heuristic",
                                               "fixed": {"scenario": "tiny"}}),
        "--out", tmp / "out", "--scheduler", "not an address", "--no-progress")),
    Case("sweep-unreachable-scheduler", _unreachable_scheduler),
    Case("sweep-grid-yaml-duplicate-key", lambda tmp: refuses(
        SweepError, "duplicate key", sweep.load_grid, _write(tmp / "g.yaml",
                                                             "name: a\nname: b\n"))),
    Case("json-nan-written-as-standard-json", lambda tmp: _strict_json(tmp)),
]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _strict_json(tmp):
    files.atomic_write_json(tmp / "x.json", {"profit_ci_low": float("nan"), "v": [math.inf]})

    def refuse(name):
        raise ValueError(name)
    try:
        json.loads((tmp / "x.json").read_text(), parse_constant=refuse)
    except ValueError as exc:
        raise Silent(f"non-standard JSON constant {exc} written") from None


# ---- sizes and generators: checked before anything is allocated -------------------------------
def _grid_refused(fragment: str, spec: dict):
    def probe(tmp):
        path = _grid_file(tmp, {"name": "g", "experiment": "evaluate_heuristic",
                                "fixed": {"scenario": "tiny", "periods": 20, "warmup": 2,
                                          "replications": 2}, **spec})
        for extra in ([], ["--list"]):
            cli_refuses(fragment, "sweep", path, "--out", tmp / "out", "--workers", "0",
                        "--no-progress", *extra)
        if (tmp / "out" / "jobs").is_dir() and any((tmp / "out" / "jobs").iterdir()):
            raise Silent("a job ran before the grid was refused")
    return probe


def _firm():
    return coordlib.policies.firm(coordlib.scenarios.get("tiny"), "siloed")


SIZE_CASES = [
    Case("random-scenario-n-100000", lambda tmp: refuses(
        ScenarioError, "GiB", random_scenario, 100_000, 1)),
    Case("family-scenario-n-1e8", lambda tmp: refuses(
        ScenarioError, "GiB", family_scenario, n_products=10**8)),
    Case("vector-env-1e11-copies", lambda tmp: refuses(
        ScenarioError, "num_envs = 100000000000: needs", CoordinationVectorEnv, "tiny",
        num_envs=10**11)),
    Case("evaluate-1e10-replications", lambda tmp: refuses(
        ScenarioError, "replications = 10000000000: needs", coordlib.evaluate,
        coordlib.scenarios.get("tiny"), _firm(), 10**10, 20, 2)),
    Case("evaluate-1e13-periods", lambda tmp: refuses(
        ValueError, "product-periods, more than", coordlib.evaluate,
        coordlib.scenarios.get("tiny"), _firm(), 2, 10**13, 2)),
    Case("evaluate-cli-1e10-replications", lambda tmp: cli_refuses(
        "needs", "evaluate", "--scenario", "tiny", "--replications", "10000000000")),
    Case("evaluate-nan-replications", lambda tmp: refuses(
        ValueError, "replications: must be a whole number", coordlib.evaluate,
        coordlib.scenarios.get("tiny"), _firm(), float("nan"), 20, 2)),
    *[Case(f"random-scenario-{name}-{value!r}", lambda tmp, name=name, value=value: refuses(
        ScenarioError, f"random_scenario: {name}: must be a whole number",
        random_scenario, **{"n_products": 3, "n_segments": 1, name: value}))
      for name, value in (("n_products", -1), ("n_products", 2.5), ("n_products", float("nan")),
                          ("n_products", "3"), ("n_segments", float("inf")),
                          ("seed", True), ("max_lead_time", 10**12))],
    *[Case(f"family-{name}-{value!r}", lambda tmp, name=name, value=value: refuses(
        ScenarioError, f"family recipe: {name}", family_scenario, **{name: value}))
      for name, value in (("n_products", "100"), ("lift", float("nan")), ("lift", "x"),
                          ("demand_level", float("inf")), ("price_range", 5),
                          ("lead_times", [0, "a"]), ("n_segments", 2.5))],
    *[Case(f"variant-{factor}-{value!r}", lambda tmp, factor=factor, value=value: refuses(
        ScenarioError, f"scenario_variant: {factor}: must be a finite number",
        scenario_variant, "tiny", factor, value))
      for factor, value in (("lift", "x"), ("lift", float("nan")),
                            ("arrival_scale", float("inf")))],
    Case("grid-misspelt-axis", _grid_refused("did you mean lift?", {"axes": {"lfit": [1, 2]}})),
    Case("grid-misspelt-fixed", _grid_refused(
        "did you mean replications", {"fixed": {"scenario": "tiny", "replicatons": 2}})),
    Case("grid-bad-value", _grid_refused("lift: must not be negative",
                                         {"axes": {"lift": [1, -1]}})),
]

CASES = (SCENARIO_CASES + SIMULATOR_CASES + TRAINING_CASES + DP_CASES + SWEEP_CASES
         + SIZE_CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_handled(case, tmp_path):
    if not case.needs():
        pytest.skip("does not apply on this machine")
    case.probe(tmp_path)


def test_the_corpus_is_not_vacuous(tmp_path):
    # the helpers tell an accepted input and a misleading message from a clear refusal
    with pytest.raises(Silent):
        refuses(ValueError, "x", lambda: None)
    with pytest.raises(Crash):
        refuses(ValueError, "capacity", lambda: int("a"))
    with pytest.raises(Silent):
        cli_refuses("anything", "scenarios")
    assert len({c.id for c in CASES}) == len(CASES)


SLEEPER = """
import os, time
def run(x, seed):
    open(os.path.join({folder!r}, f"worker-{{os.getpid()}}"), "w").close()
    time.sleep(120)
    return {{"v": 1.0}}
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.is_file() and "\nState:\tZ" in status.read_text())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_workers_die_with_a_killed_sweep(tmp_path):
    (tmp_path / "bi_sleeper.py").write_text(SLEEPER.format(folder=str(tmp_path)))
    grid = _grid_file(tmp_path, {"name": "g", "experiment": "bi_sleeper.run",
                                 "axes": {"x": [1, 2]}})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    driver = subprocess.Popen([sys.executable, "-m", "coordlib", "sweep", str(grid), "--out",
                               str(tmp_path / "out"), "--workers", "2", "--no-progress",
                               "--module", "bi_sleeper"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600      # a guard against a hang, not a speed test
        while len(list(tmp_path.glob("worker-*"))) < 2:
            assert driver.poll() is None and time.monotonic() < deadline, "no worker started"
            time.sleep(0.05)
        workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]
        driver.kill()                                  # SIGKILL: no chance to clean up
        driver.wait(120)
        deadline = time.monotonic() + 120
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = [pid for pid in workers if _alive(pid)]
        for pid in alive:
            os.kill(pid, signal.SIGKILL)
        assert not alive, f"workers {alive} outlived their killed sweep"
    finally:
        if driver.poll() is None:
            driver.kill()


def test_a_key_written_twice_on_one_line_is_refused_and_a_merge_override_is_not(tmp_path):
    from coordlib.common.files import load_yaml
    path = tmp_path / "m.yaml"
    path.write_text("smoke: {replications: 4, periods: 120, replications: 40}\n")
    with pytest.raises(ValueError, match="duplicate key 'replications' \\(first at line 1, "
                                         "column 9\\)"):
        load_yaml(path)
    path.write_text("base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 5}\n")
    assert load_yaml(path) == {"base": {"x": 1, "y": 2}, "use": {"x": 1, "y": 5}}


def test_written_files_get_the_permissions_a_plain_write_would(tmp_path):
    import os
    import stat

    from coordlib.common import files
    umask = os.umask(0o077)
    os.umask(umask)
    assert files._UMASK == umask
    fresh = files.atomic_write_text(tmp_path / "table.csv", "a\n")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    kept = tmp_path / "kept.csv"
    kept.write_text("x")
    kept.chmod(0o640)
    files.atomic_write_text(kept, "y")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "y"
