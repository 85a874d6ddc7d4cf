"""Sweeps: one experiment run over a grid of parameters x seeds, locally or on a Dask cluster.

The experiments of MODEL.md section 7 (E3 across scenarios, E5 across timescale settings, E7
across sizes, E9 across lift beta, lead time L, margin spread and demand rate lambda) each run
one experiment many times. A *grid* names the experiment, its fixed parameters, the parameter
axes (their cartesian product) and the seeds; every combination is one *job*. A grid file::

    name: lift-lead-time
    experiment: evaluate_heuristic        # a registered name, or a dotted path "pkg.mod.func"
    fixed: {scenario: tiny-margin, replications: 20, periods: 500, warmup: 100}
    axes:
      policy: [siloed, coordinated]
      lift: [0.5, 1, 2, 4]                # beta_k, broadcast over segments
      lead_time: [0, 1, 2]                # L_i, broadcast over products
    seeds: 10                             # 0..9; or a list [3, 7], or {start: 100, count: 5}

An experiment is any importable function ``f(**parameters, seed=seed)`` that returns a flat
dict of numbers (its metrics); a grid built in Python gives the function itself (the experiment
modules do: a reader follows the call), which the workers import by its dotted path. Instead of
``experiment``, ``notebook: {path: ..., parameters: {...}}`` runs a notebook with papermill,
passing the job's parameters, ``seed`` and ``sweep_result_path``: the notebook may write a JSON
dict of metrics to that path.

Jobs run in parallel local processes by default (a process pool; no service is started), or
on a Dask cluster given its scheduler address (``tcp://HOST:PORT``, ``DASK_SCHEDULER_ADDRESS``),
a ``distributed.Client`` or a cluster object (``LocalCluster``, dask-jobqueue's
``SLURMCluster``). Every worker needs coordlib and the experiment's module importable.

The output folder holds ``sweep.json`` (the grid and its job ids), ``jobs/<id>.json`` (one
result per finished job), ``jobs/<id>.error.json`` (the error and traceback of a failed job),
``notebooks/<id>.ipynb`` (executed notebooks) and, after :func:`collect`, ``results.csv``.
A job's id is a hash of its experiment, parameters and seed, so re-running a sweep skips the
finished jobs and retries the failed ones, and a grid extended by new values or seeds reuses
the jobs it shares with the old one. Every file is written whole (temporary file, then
``os.replace``): an interrupted sweep (Ctrl-C, a killed process) leaves no half-written file.
The id does not cover the code version: after changing an experiment, use a new folder.

A grid is data: it never makes code run by itself. Parameter names must be Python identifiers
(a notebook sweep writes them into the notebook); from the command line, the experiment must
be a registered name (:data:`EXPERIMENTS`) or a function of a module named with ``--module``,
and a notebook runs only with ``--notebook``;
``--list`` imports nothing; a grid's name cannot leave ``build/sweeps``. One sweep at a time
runs in a folder (a lock, released when the sweep ends or dies), and local worker processes end
with the sweep that started them, even when it is killed.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import importlib
import inspect
import itertools
import json
import keyword
import multiprocessing
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Optional

import numpy as np
import pandas as pd

from ..common.files import (
    FolderLock,
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    data_file_key,
    load_yaml,
)
from ..common.machine import available_cpus
from ..common.stats import mean_ci
from .execution import execute_notebook
from .results import code_version


class SweepError(ValueError):
    """A grid, a job or a sweep folder is not usable; the message names the problem."""


# ---- experiments ---------------------------------------------------------------------------
EXPERIMENTS: dict[str, str] = {
    "evaluate_heuristic": "coordlib.experiments.e10_sweeps.evaluate_heuristic",
}
"""Short names of experiments, mapped to their dotted paths (any importable function works)."""


def register_experiment(name: str, target: str) -> None:
    """Let grids name the function at dotted path ``target`` by the short ``name``.

    Only the dotted path travels to the workers, so a registration made in the driving
    process is enough.
    """
    if not isinstance(target, str) or not target:
        raise SweepError(f"register_experiment: target must be a dotted path, got {target!r}")
    EXPERIMENTS[name] = target


# ---- grids and jobs ------------------------------------------------------------------------
GRID_KEYS = {"name", "description", "experiment", "notebook", "fixed", "axes", "seeds"}
RESERVED = {"job_id", "experiment", "seed", "elapsed_s"}
"""Column names of the results table that neither parameters nor metrics may take."""
MAX_JOBS = 1_000_000
"""The most jobs (axes' product x seeds) one grid may expand to."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def _check_parameter_name(name, where: str) -> None:
    """A parameter name is a Python identifier: notebooks receive it as a variable."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise SweepError(f"{where}: parameter names must be Python identifiers (letters, digits, "
                         f"underscores; not a keyword), got {name!r}")


def _plain(value, where: str):
    """``value`` as plain JSON data (numpy scalars and arrays converted), or a SweepError."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    raise SweepError(f"{where}: a parameter must be a number, string, bool, list or mapping, "
                     f"got {type(value).__name__}")


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def job_id(experiment: str, parameters: Mapping, seed: int) -> str:
    """The job's id: 16 hex digits of the SHA-256 of (experiment, parameters, seed). A parameter
    that names a data file (a scenario's YAML) counts by the file's content
    (:func:`coordlib.common.files.data_file_key`): rewrite the file and its jobs are new."""
    text = _canonical({"experiment": experiment, "parameters": data_file_key(parameters),
                       "seed": int(seed)})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Job:
    """One run of the experiment: ``experiment(**parameters, seed=seed)``."""

    id: str
    experiment: str
    """the experiment's dotted path, or ``notebook:PATH`` (PATH as written in the grid)"""
    parameters: dict
    seed: int
    target: str
    """what the worker runs: the dotted path, or the notebook's absolute path"""
    kernel: Optional[str] = None
    """the notebook's Jupyter kernel (None: the one in its metadata)"""


def resolve(target: str) -> Callable:
    """The function at a dotted path (``pkg.mod.func`` or ``pkg.mod:func``) or a short name."""
    path = EXPERIMENTS.get(target, target)
    if ":" in path:
        module_name, _, attr = path.partition(":")
        candidates = [(module_name, attr.split(".") if attr else [])]
    else:
        parts = path.split(".")
        candidates = [(".".join(parts[:i]), parts[i:]) for i in range(len(parts) - 1, 0, -1)]
    errors = []
    for module_name, attrs in candidates:
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # only "this module does not exist" means: try a shorter prefix
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                errors.append(str(exc))
                continue
            raise
        try:
            for attr in attrs:
                obj = getattr(obj, attr)
        except AttributeError:
            raise SweepError(f"experiment {target!r}: module {module_name!r} has no "
                             f"{'.'.join(attrs)!r}") from None
        if not callable(obj):
            raise SweepError(f"experiment {target!r}: {path} is not callable")
        return obj
    known = ", ".join(sorted(EXPERIMENTS))
    raise SweepError(f"experiment {target!r}: cannot import it "
                     f"({'; '.join(errors) or 'no module'}); give a dotted path "
                     f"'package.module.function' or a registered name ({known})")


def _dotted_path(target) -> str:
    if callable(target):
        module, qualname = getattr(target, "__module__", None), getattr(target, "__qualname__", "")
        if not module or "<" in qualname:
            raise SweepError(f"experiment {target!r}: must be a module-level function "
                             "(workers import it by name)")
        return f"{module}.{qualname}"
    if not isinstance(target, str) or not target.strip():
        raise SweepError(f"experiment: expected a dotted path or a registered name, got {target!r}")
    return EXPERIMENTS.get(target, target)


def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _seeds(spec) -> list[int]:
    """The seeds of a grid: a count n (0..n-1), a list, or ``{start, count}``; default [0]."""
    if spec is None:
        return [0]
    if isinstance(spec, Mapping):
        if set(spec) - {"start", "count"} or "count" not in spec:
            raise SweepError(f"seeds: a mapping needs 'count' (and optionally 'start'), "
                             f"got {dict(spec)}")
        start, count = spec.get("start", 0), spec["count"]
        if not (_whole(start) and _whole(count)):
            raise SweepError(f"seeds: start and count must be whole numbers, got {dict(spec)}")
        if count < 1:
            raise SweepError(f"seeds: count must be at least 1, got {count}")
        if count > MAX_JOBS:
            raise SweepError(f"seeds: count must be at most {MAX_JOBS:,}, got {count:,}")
        seeds = list(range(int(start), int(start) + int(count)))
    elif _whole(spec):
        if spec < 1:
            raise SweepError(f"seeds: the number of seeds must be at least 1, got {spec}")
        if spec > MAX_JOBS:
            raise SweepError(f"seeds: the number of seeds must be at most {MAX_JOBS:,}, "
                             f"got {spec:,}")
        seeds = list(range(int(spec)))
    elif isinstance(spec, (list, tuple)):
        if len(spec) > MAX_JOBS:
            raise SweepError(f"seeds: at most {MAX_JOBS:,} seeds, got {len(spec):,}")
        if not spec or not all(_whole(s) for s in spec):
            raise SweepError(f"seeds: expected a non-empty list of whole numbers, got {list(spec)}")
        seeds = [int(s) for s in spec]
    else:
        raise SweepError("seeds: expected a count, a list of seeds or {start, count}, "
                         f"got {spec!r}")
    if min(seeds) < 0:
        raise SweepError(f"seeds: must not be negative, got {min(seeds)}")
    if len(set(seeds)) != len(seeds):
        raise SweepError(f"seeds: repeated values in {seeds}")
    return seeds


@dataclass(frozen=True)
class Grid:
    """A sweep: ``experiment`` (or ``notebook``) over ``axes`` (cartesian product) x ``seeds``.

    Build it with :meth:`from_dict` or :func:`load_grid`; :meth:`jobs` lists the jobs in
    order (the first axis varies slowest, seeds fastest).
    """

    experiment: str
    """dotted path of the experiment function, or ``notebook:PATH``"""
    fixed: dict = field(default_factory=dict)
    axes: dict = field(default_factory=dict)
    seeds: tuple = (0,)
    name: str = "sweep"
    description: str = ""
    notebook: Optional[dict] = None
    """``{"path": absolute path, "kernel": name or None}`` for a notebook sweep"""

    @classmethod
    def from_dict(cls, spec: Mapping, base_dir=None, modules=None,
                  import_experiment: bool = True, notebooks: bool = False) -> "Grid":
        """Validate a grid given in the YAML layout (see the module docstring).

        ``base_dir``: the folder a relative notebook path is taken from (default: the
        working directory). ``modules``: when given, the experiment must be a registered name
        (or its dotted path) or a function of one of these modules (``--module``); None allows
        any importable function (a grid built in Python). ``notebooks``: with ``modules`` given,
        whether the grid may run a notebook (a notebook is code: ``--notebook`` on the command
        line). ``import_experiment=False`` checks the grid without importing the experiment
        (nor checking its signature).
        """
        if not isinstance(spec, Mapping):
            raise SweepError(f"grid: expected a mapping, got {type(spec).__name__}")
        unknown = set(spec) - GRID_KEYS
        if unknown:
            raise SweepError(f"grid: unknown keys {sorted(unknown)}; allowed: {sorted(GRID_KEYS)}")
        if not isinstance(spec.get("fixed") or {}, Mapping):
            raise SweepError("fixed: expected a mapping of parameter names to values")
        fixed = _plain(dict(spec.get("fixed") or {}), "fixed")
        notebook = None
        if ("experiment" in spec) == ("notebook" in spec):
            raise SweepError("grid: give exactly one of 'experiment' (a function) or 'notebook'")
        if "notebook" in spec:
            nb = spec["notebook"]
            nb = {"path": nb} if isinstance(nb, str) else nb
            if not isinstance(nb, Mapping) or "path" not in nb:
                raise SweepError("notebook: expected a path, or a mapping with 'path' "
                                 "(and optionally 'parameters', 'kernel')")
            bad = set(nb) - {"path", "parameters", "kernel"}
            if bad:
                raise SweepError(f"notebook: unknown keys {sorted(bad)}; "
                                 "allowed: path, parameters, kernel")
            written = str(nb["path"])
            path = Path(written)
            if not path.is_absolute():
                path = Path(base_dir or os.getcwd()) / path
            if not path.is_file():
                raise SweepError(f"notebook: file not found: {path}")
            if modules is not None and not notebooks:
                raise SweepError(f"notebook {written!r}: a grid file runs a notebook's code only "
                                 "when the command line allows it: --notebook")
            nb_parameters = _plain(dict(nb.get("parameters") or {}), "notebook.parameters")
            for key, value in nb_parameters.items():
                if key in fixed:
                    raise SweepError(f"notebook.parameters.{key}: also given in 'fixed'")
                fixed[key] = value
            experiment = f"notebook:{written}"
            notebook = {"path": str(path.resolve()), "kernel": nb.get("kernel")}
        else:
            experiment = _dotted_path(spec["experiment"])
        axes_spec = spec.get("axes") or {}
        if not isinstance(axes_spec, Mapping):
            raise SweepError("axes: expected a mapping of parameter names to lists of values")
        axes = {}
        for name in fixed:
            _check_parameter_name(name, "fixed" if name in (spec.get("fixed") or {})
                                  else "notebook.parameters")
        for name, values in axes_spec.items():
            _check_parameter_name(name, "axes")
            if not isinstance(values, (list, tuple)) or len(values) == 0:
                raise SweepError(f"axes.{name}: expected a non-empty list of values, "
                                 f"got {values!r}")
            values = _plain(list(values), f"axes.{name}")
            texts = [_canonical(v) for v in values]
            if len(set(texts)) != len(texts):
                raise SweepError(f"axes.{name}: repeated values in {values}")
            if name in fixed:
                where = "'fixed' or 'notebook.parameters'" if notebook else "'fixed'"
                raise SweepError(f"axes.{name}: also given as a fixed parameter (in {where})")
            axes[str(name)] = values
        for name in [*fixed, *axes]:
            if name in RESERVED:
                raise SweepError(f"parameter {name!r}: reserved name (seeds go under 'seeds'); "
                                 f"reserved: {sorted(RESERVED)}")
        name = spec.get("name", "sweep")
        if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
            raise SweepError(f"name: letters, digits, '.', '_' and '-' only, not starting with "
                             f"'.' and without '..' (it names a folder), got {name!r}")
        seeds = tuple(_seeds(spec.get("seeds")))
        total = len(seeds)
        for values in axes.values():
            total *= len(values)
        if total > MAX_JOBS:
            raise SweepError(f"grid: expands to {total:,} jobs (axes x seeds), more than "
                             f"{MAX_JOBS:,}")
        if notebook is None and modules is not None:
            _check_trusted(experiment, spec["experiment"], modules)
        grid = cls(experiment=experiment, fixed=fixed, axes=axes, seeds=seeds, name=name,
                   description=str(spec.get("description", "")), notebook=notebook)
        if notebook is None and (import_experiment or experiment in EXPERIMENTS.values()):
            grid._check_signature()     # a registered experiment is coordlib's: --list checks it
            grid._check_jobs()
        return grid

    def _check_jobs(self) -> None:
        """Fail before any job runs if one would fail on its parameters alone: each distinct
        parameter set goes through the experiment's ``check_parameters`` (a function attribute,
        where it has one), and the first problem is named with the job's parameters."""
        check = getattr(resolve(self.experiment), "check_parameters", None)
        if check is None:
            return
        seen = set()
        for job in self.jobs():
            key = _canonical(job.parameters)
            if key in seen:
                continue
            seen.add(key)
            try:
                check(**job.parameters)
            except (ValueError, TypeError, KeyError) as exc:
                raise SweepError(f"grid: the job {key} would fail: {exc}") from None

    def _check_signature(self) -> None:
        """Fail before any job runs if the function cannot take the grid's parameters."""
        function = resolve(self.experiment)
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):  # builtins without a signature: let the jobs tell
            return
        names = [*self.fixed, *self.axes, "seed"]
        try:
            signature.bind(**{n: None for n in names})
        except TypeError as exc:
            raise SweepError(f"experiment {self.experiment}: cannot take the grid's parameters "
                             f"{names}: {exc}") from None

    def to_dict(self) -> dict:
        """The grid in the YAML layout (for the sweep folder's record)."""
        out = {"name": self.name, "description": self.description}
        if self.notebook is None:
            out["experiment"] = self.experiment
        else:
            out["notebook"] = {"path": self.experiment.split(":", 1)[1],
                               "kernel": self.notebook["kernel"]}
        out.update(fixed=self.fixed, axes=self.axes, seeds=list(self.seeds))
        return out

    def jobs(self) -> list[Job]:
        """Every job of the grid, in order: the first axis varies slowest, the seed fastest."""
        names = list(self.axes)
        target = self.notebook["path"] if self.notebook else self.experiment
        kernel = self.notebook["kernel"] if self.notebook else None
        out = []
        for combo in itertools.product(*(self.axes[n] for n in names)):
            parameters = {**self.fixed, **dict(zip(names, combo))}
            for seed in self.seeds:
                out.append(Job(job_id(self.experiment, parameters, seed), self.experiment,
                               parameters, int(seed), target, kernel))
        return out

    def __len__(self) -> int:
        return int(np.prod([len(v) for v in self.axes.values()], dtype=int)) * len(self.seeds)


def _check_trusted(experiment: str, written, modules) -> None:
    """Refuse an experiment that is neither registered nor in a module named by the user."""
    if written in EXPERIMENTS or experiment in EXPERIMENTS.values():
        return
    module = experiment.partition(":")[0] if ":" in experiment else experiment.rpartition(".")[0]
    if any(module == m or module.startswith(m + ".") for m in modules):
        return
    raise SweepError(f"experiment {written!r}: not a registered experiment "
                     f"({', '.join(sorted(EXPERIMENTS))}); a grid file names code to run only "
                     f"with the module on the command line: --module {module or written}")


def load_grid(grid, modules=None, import_experiment: bool = True,
              notebooks: bool = False) -> Grid:
    """A :class:`Grid` from a YAML path, a dict in the YAML layout, or a Grid passed through.

    A notebook path in a YAML file is taken relative to the working directory. ``modules``,
    ``import_experiment`` and ``notebooks``: see :meth:`Grid.from_dict`.
    """
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, Mapping):
        return Grid.from_dict(grid, modules=modules, import_experiment=import_experiment,
                              notebooks=notebooks)
    if isinstance(grid, (str, Path)):
        path = Path(grid)
        spec = load_yaml(path, SweepError, "grid file")
        spec.setdefault("name", path.stem)
        return Grid.from_dict(spec, modules=modules, import_experiment=import_experiment,
                              notebooks=notebooks)
    raise SweepError(f"grid: expected a YAML path, a mapping or a Grid, got {type(grid).__name__}")


# ---- running one job (on a worker) ----------------------------------------------------------
def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _check_metrics(job: Job, metrics) -> dict:
    if not isinstance(metrics, Mapping):
        raise SweepError(f"experiment {job.experiment} returned {type(metrics).__name__}; "
                         "expected a flat dict of numbers")
    out = {}
    for key, value in metrics.items():
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, (int, float)) or not isinstance(key, str):
            raise SweepError(f"experiment {job.experiment} returned {key!r}: {value!r}; "
                             "expected a flat dict of numbers (str -> int, float or bool)")
        if key in RESERVED or key in job.parameters:
            raise SweepError(f"experiment {job.experiment} returned metric {key!r}, which is "
                             "also a parameter or a reserved column name")
        out[key] = value
    return out


def _run_notebook(job: Job, record: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="coordlib-sweep-") as tmp:
        result_path = Path(tmp) / "result.json"
        output = Path(tmp) / "executed.ipynb"
        parameters = {**job.parameters, "seed": job.seed, "sweep_result_path": str(result_path)}
        try:
            execute_notebook(job.target, output, parameters, cwd=Path(job.target).parent,
                             kernel_name=job.kernel)
        finally:
            if output.is_file():
                record["notebook"] = output.read_text()
        return json.loads(result_path.read_text()) if result_path.is_file() else {}


def run_job(job: Job) -> dict:
    """Run one job and return its record; an error in the experiment becomes an error record.

    A result record holds ``id``, ``experiment``, ``parameters``, ``seed``, ``metrics``,
    ``elapsed_s``, ``host``, ``pid`` and ``finished_at``; an error record has ``error`` (type
    and message) and ``traceback`` instead of ``metrics``.
    """
    record = {"id": job.id, "experiment": job.experiment, "parameters": job.parameters,
              "seed": job.seed, "host": socket.gethostname(), "pid": os.getpid()}
    start = time.perf_counter()
    try:
        if job.experiment.startswith("notebook:"):
            metrics = _run_notebook(job, record)
        else:
            metrics = resolve(job.target)(**job.parameters, seed=job.seed)
        record["metrics"] = _check_metrics(job, metrics)
        record["status"] = "finished"
        record["finished_at"] = _now()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # recorded, never raised: a job's failure (even sys.exit)
        record["status"] = "failed"  # must not stop the others
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc()
        record["failed_at"] = _now()
    record["elapsed_s"] = time.perf_counter() - start
    return record


def _failure_record(job: Job, exc: BaseException, context: str) -> dict:
    """The record of a job whose worker did not return (it died, or the cluster lost it)."""
    return {"id": job.id, "experiment": job.experiment, "parameters": job.parameters,
            "seed": job.seed, "status": "failed",
            "error": f"{type(exc).__name__}: {exc} ({context})",
            # the exception only: the pool re-raises one object for every pending job, so its
            # traceback grows by a frame per job and says nothing about the job itself
            "traceback": "".join(traceback.format_exception_only(exc)), "failed_at": _now()}


# ---- the sweep folder -----------------------------------------------------------------------
def _result_path(out_dir: Path, jid: str) -> Path:
    return out_dir / "jobs" / f"{jid}.json"


def _error_path(out_dir: Path, jid: str) -> Path:
    return out_dir / "jobs" / f"{jid}.error.json"


def _read_record(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _is_finished(out_dir: Path, job: Job) -> bool:
    record = _read_record(_result_path(out_dir, job.id))
    return bool(record) and record.get("id") == job.id and "metrics" in record


def _save(out_dir: Path, record: dict) -> None:
    """Store a job's record: its result (clearing an old error) or its error."""
    jid = record["id"]
    notebook = record.pop("notebook", None)
    if notebook is not None:
        atomic_write_text(out_dir / "notebooks" / f"{jid}.ipynb", notebook)
    if record.get("status") == "finished":
        atomic_write_json(_result_path(out_dir, jid), record)
        _error_path(out_dir, jid).unlink(missing_ok=True)
    else:
        atomic_write_json(_error_path(out_dir, jid), record)


def _clean_temporary_files(out_dir: Path) -> None:
    """Remove what a process killed between writing and renaming left (SIGKILL, power loss)."""
    for folder in (out_dir, out_dir / "jobs", out_dir / "notebooks"):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def _sweep_lock(out_dir, wait: bool = False) -> FolderLock:
    """One sweep at a time in a folder, until its results are collected (:class:`FolderLock`)."""
    return FolderLock(out_dir, ".sweep.lock", "another sweep", SweepError,
                      "wait for it, or give this one its own --out", wait=wait)


# ---- executors ------------------------------------------------------------------------------
def _ignore_sigint() -> None:
    # Ctrl-C reaches the whole process group; only the driving process handles it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_init(parent: int) -> None:
    """Set up a local worker: Ctrl-C is the driver's to handle, and the worker ends with the
    driver, even when that is killed (SIGKILL leaves it no chance to stop its workers)."""
    _ignore_sigint()
    try:
        # deferred: Linux's prctl, through ctypes, only in worker processes
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass                                                          # not Linux: the watcher

    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="coordlib-parent-watch", daemon=True).start()
    if os.getppid() != parent:        # the driver died before the watch began
        os._exit(1)


WORKER_DIED = ("a worker process died while this job was pending or running: out of memory, "
               "killed, or, when the sweep is started from a script, no "
               "`if __name__ == \"__main__\":` guard around it (workers are spawned and import "
               "the script); run the sweep again to retry it")


def _run_local(jobs, workers: int, on_record: Callable) -> None:
    if workers == 0:  # in this process, one after another: for debugging
        for job in jobs:
            on_record(job, run_job(job))
        return
    executor = cf.ProcessPoolExecutor(max_workers=min(workers, len(jobs)),
                                      mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_worker_init, initargs=(os.getpid(),))
    interrupted = False
    try:
        futures = {executor.submit(run_job, job): job for job in jobs}
        for future in cf.as_completed(futures):
            job = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # BrokenProcessPool: a worker died while this job was queued
                record = _failure_record(job, exc, WORKER_DIED)
            on_record(job, record)
    except BaseException:
        interrupted = True
        for process in list(getattr(executor, "_processes", {}).values()):
            process.terminate()  # running jobs are abandoned; their results were never written
        raise
    finally:
        executor.shutdown(wait=not interrupted, cancel_futures=True)


_ADDRESS = re.compile(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+")


def _scheduler_address(scheduler):
    """What to connect to: the argument, else DASK_SCHEDULER_ADDRESS; None means local."""
    if isinstance(scheduler, str) and scheduler == "local":
        return None
    if scheduler is not None:
        return _checked_address(scheduler, "scheduler")
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        return _checked_address(address, "DASK_SCHEDULER_ADDRESS")
    # deferred: Dask loads only when a scheduler is given
    import dask

    address = dask.config.get("scheduler-address", None)
    return None if address is None else _checked_address(address, "dask's scheduler-address")


def _checked_address(address, where: str):
    """A scheduler address as written, or a SweepError; clients and clusters pass through."""
    if isinstance(address, str) and not _ADDRESS.fullmatch(address.strip()):
        raise SweepError(f"{where} {address!r}: expected a Dask scheduler address such as "
                         "tcp://HOST:8786, or 'local'")
    return address.strip() if isinstance(address, str) else address


def _describe(scheduler) -> str:
    if isinstance(scheduler, str):
        return scheduler
    address = getattr(scheduler, "scheduler_address", None)          # a cluster object
    if address is None:
        address = getattr(getattr(scheduler, "scheduler", None), "address", None)  # a Client
    return str(address or scheduler)


def _run_dask(jobs, scheduler, on_record: Callable) -> None:
    # deferred: Dask loads only when a scheduler is given
    from distributed import Client, as_completed

    if isinstance(scheduler, Client):
        client, owned = scheduler, False
    else:
        try:
            client, owned = Client(scheduler), True  # an address or a cluster object
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {_describe(scheduler)}: "
                             f"{' '.join(str(exc).split())}") from None
    futures = {}
    try:
        for job in jobs:
            futures[client.submit(run_job, job, pure=False)] = job
        for future in as_completed(list(futures)):
            job = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # KilledWorker, lost connection, cancelled
                record = _failure_record(job, exc, "the Dask cluster did not return this job; "
                                         "run the sweep again to retry it")
            on_record(job, record)
            future.release()
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        if owned:
            client.close()


# ---- the sweep ------------------------------------------------------------------------------
@dataclass
class SweepReport:
    """What a call to :func:`run_sweep` did."""

    out_dir: Path
    total: int
    """jobs in the grid"""
    skipped: int
    """jobs finished by an earlier run, not run again"""
    finished: int
    """jobs with a result now (earlier runs included)"""
    failed: list
    """ids of the jobs that failed in this run (see ``jobs/<id>.error.json``)"""
    elapsed_s: float
    backend: str

    @property
    def ok(self) -> bool:
        return self.finished == self.total

    def __str__(self) -> str:
        text = (f"{self.finished} of {self.total} jobs finished ({self.skipped} from earlier "
                f"runs), {len(self.failed)} failed, {self.elapsed_s:.1f} s on {self.backend}")
        if self.failed:
            text += f"; errors in {self.out_dir / 'jobs'}/<id>.error.json"
        return text


def run_sweep(grid, out_dir, scheduler=None, workers: Optional[int] = None,
              progress: bool = True) -> SweepReport:
    """Run every unfinished job of ``grid``, storing one record per job in ``out_dir``.

    Parameters
    ----------
    grid : Grid, mapping or path
        the sweep (see the module docstring for the layout).
    out_dir : path
        the sweep folder; jobs already finished there are skipped, failed ones retried.
    scheduler : str, distributed.Client or cluster, optional
        a Dask scheduler address ``tcp://HOST:PORT``, a client or a cluster object; default
        ``DASK_SCHEDULER_ADDRESS`` (or dask's ``scheduler-address`` setting), and when neither
        is set, local processes; ``"local"`` forces local processes.
    workers : int, optional
        local processes (default: the CPUs available); 0 runs the jobs in this process, one
        after another. Ignored on a Dask cluster, which has its own workers.
    progress : bool
        show a progress bar with finished, failed and remaining jobs.

    Ctrl-C stops the sweep (pending jobs are cancelled, running local jobs terminated) and
    raises KeyboardInterrupt; every stored file is complete, and the next run resumes.
    """
    # deferred: the progress bar loads only when one is shown
    from tqdm import tqdm

    grid = load_grid(grid)
    out_dir = Path(out_dir)
    if workers is not None and (isinstance(workers, bool) or int(workers) != workers
                                or workers < 0):
        raise SweepError(f"workers: must be a whole number >= 0, got {workers!r}")
    address = _scheduler_address(scheduler)
    (out_dir / "jobs").mkdir(parents=True, exist_ok=True)
    with _sweep_lock(out_dir):
        return _run_locked(grid, out_dir, address, workers, progress, tqdm)


def _run_locked(grid: Grid, out_dir: Path, address, workers, progress: bool, tqdm) -> "SweepReport":
    """:func:`run_sweep` once the folder is locked: no other sweep writes there meanwhile."""
    _clean_temporary_files(out_dir)       # left by a killed process: nobody else writes here
    jobs = grid.jobs()
    atomic_write_json(out_dir / "sweep.json", {"grid": grid.to_dict(),
                                               "jobs": [job.id for job in jobs]})
    todo = []
    for job in jobs:
        if not _is_finished(out_dir, job):
            todo.append(job)
        else:  # an error left by an earlier attempt whose retry was interrupted mid-save
            _error_path(out_dir, job.id).unlink(missing_ok=True)
    skipped = len(jobs) - len(todo)
    n_workers = available_cpus() if workers is None else int(workers)
    backend = (f"Dask at {_describe(address)}" if address is not None
               else (f"{n_workers} local processes" if n_workers else "this process"))
    failed: list[str] = []
    counts = {"finished": skipped}
    bar = tqdm(total=len(jobs), initial=skipped, desc=grid.name, unit="job",
               disable=not progress, file=sys.stderr)
    bar.set_postfix({"finished": skipped, "failed": 0, "remaining": len(todo)})

    def on_record(job: Job, record: dict) -> None:
        _save(out_dir, record)
        if record.get("status") == "finished":
            counts["finished"] += 1
        else:
            failed.append(job.id)
        bar.set_postfix({"finished": counts["finished"], "failed": len(failed),
                         "remaining": len(jobs) - counts["finished"] - len(failed)}, refresh=False)
        bar.update(1)

    start = time.perf_counter()
    try:
        if todo:
            if address is not None:
                _run_dask(todo, address, on_record)
            else:
                _run_local(todo, n_workers, on_record)
    finally:
        bar.close()
    return SweepReport(out_dir=out_dir, total=len(jobs), skipped=skipped,
                       finished=counts["finished"], failed=failed,
                       elapsed_s=time.perf_counter() - start, backend=backend)


# ---- results --------------------------------------------------------------------------------
def _cell(value):
    """A parameter value as a table cell: lists and mappings as their JSON text."""
    return _canonical(value) if isinstance(value, (list, dict)) else value


def cache_folder(cache_dir, kind: str, name: str) -> Path:
    """Where a cached sweep lives: ``cache_dir/kind/<name>-<code version>``.

    The code version (:func:`coordlib.pipeline.results.code_version`) is in the name, so a
    re-run with unchanged code finds every job done and a change of code starts afresh.
    """
    return Path(cache_dir) / kind / f"{name}-{code_version()}"


def cached_sweep(grid, root, workers: Optional[int] = 2, scheduler=None,
                 progress: bool = False) -> pd.DataFrame:
    """Run ``grid`` into ``root`` (see :func:`cache_folder`) and return :func:`collect` of it.

    Jobs already finished there are not run again. Raises :class:`SweepError` naming up to
    three of the failed jobs' error records when any job failed.
    """
    with _sweep_lock(root, wait=True):    # another process's sweep here: wait for it to end
        report = run_sweep(grid, root, scheduler=scheduler, workers=workers, progress=progress)
        if report.failed:
            errors = sorted((Path(root) / "jobs").glob("*.error.json"))
            raise SweepError(f"{len(report.failed)} job(s) of sweep {load_grid(grid).name!r} "
                             f"failed; see {[str(e) for e in errors[:3]]}")
        return collect(root)


def collect(out_dir, write_csv: bool = True, all_jobs: bool = False) -> pd.DataFrame:
    """The sweep's results as one tidy table, one row per finished job.

    Columns: ``job_id``, ``experiment``, the parameters (list values as JSON text), ``seed``,
    the metrics and ``elapsed_s``. Rows follow the grid's order. Only the jobs of the grid last
    run in ``out_dir`` are read (``all_jobs=True``: every result in the folder); missing or
    failed jobs are left out with a warning. ``df.attrs`` holds the ``parameters`` and
    ``metrics`` column names (what :func:`aggregate` groups and averages). With
    ``write_csv``, the table is also written to ``out_dir/results.csv``.
    """
    out_dir = Path(out_dir)
    manifest = _read_record(out_dir / "sweep.json")
    if all_jobs or manifest is None:
        if not (out_dir / "jobs").is_dir():
            raise SweepError(f"collect: {out_dir} is not a sweep folder (no jobs/ inside)")
        ids = sorted(p.name[:-5] for p in (out_dir / "jobs").glob("*.json")
                     if not p.name.endswith(".error.json"))
    else:
        ids = manifest["jobs"]
    rows, parameters, metrics, missing, failed = [], {}, {}, 0, 0
    for jid in ids:
        record = _read_record(_result_path(out_dir, jid))
        if not record or "metrics" not in record:
            missing += 1
            failed += _error_path(out_dir, jid).is_file()
            continue
        row = {"job_id": jid, "experiment": record["experiment"]}
        row.update({k: _cell(v) for k, v in record["parameters"].items()})
        row["seed"] = record["seed"]
        row.update(record["metrics"])
        row["elapsed_s"] = record.get("elapsed_s", float("nan"))
        parameters.update(dict.fromkeys(record["parameters"]))
        metrics.update(dict.fromkeys(record["metrics"]))
        rows.append(row)
    if missing:
        warnings.warn(f"collect: {missing} of {len(ids)} jobs in {out_dir} have no result "
                      f"({failed} failed: see jobs/<id>.error.json); run the sweep again",
                      stacklevel=2)
    columns = ["job_id", "experiment", *parameters, "seed", *metrics, "elapsed_s"]
    frame = pd.DataFrame(rows, columns=columns)
    if write_csv:
        atomic_write(out_dir / "results.csv", lambda f: frame.to_csv(f, index=False))
    frame.attrs["parameters"] = list(parameters)
    frame.attrs["metrics"] = list(metrics)
    return frame


def t_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """The two ends of the Student-t interval of the mean (seaborn's ``errorbar=`` callable)."""
    return mean_ci(values, confidence)[1:]


def aggregate(frame: pd.DataFrame, by=None, metrics=None, confidence: float = 0.95) -> pd.DataFrame:
    """Per configuration: the number of seeds ``n`` and each metric's mean with its t-interval.

    ``by`` defaults to every parameter column (``frame.attrs["parameters"]``, set by
    :func:`collect`), ``metrics`` to every metric. Each metric ``m`` gives columns ``m``
    (the mean over seeds), ``m_lo`` and ``m_hi`` (the ``confidence`` Student-t interval of
    :func:`coordlib.model.evaluation.mean_ci`; NaN with one seed). Rows keep the grid's order.
    """
    by = list(frame.attrs.get("parameters", []) if by is None else
              ([by] if isinstance(by, str) else by))
    metrics = list(frame.attrs.get("metrics", []) if metrics is None else
                   ([metrics] if isinstance(metrics, str) else metrics))
    if not metrics:
        raise SweepError("aggregate: no metrics to average; pass metrics=[...] (a table read "
                         "from CSV has no record of which columns are metrics)")
    absent = [c for c in [*by, *metrics] if c not in frame.columns]
    if absent:
        raise SweepError(f"aggregate: columns {absent} not in the table; "
                         f"it has {list(frame.columns)}")
    rows = []
    groups = frame.groupby(by, sort=False, dropna=False) if by else [((), frame)]
    for key, group in groups:
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row["n"] = len(group)
        for m in metrics:
            row[m], row[f"{m}_lo"], row[f"{m}_hi"] = mean_ci(group[m], confidence)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "n", *(f"{m}{s}" for m in metrics
                                                   for s in ("", "_lo", "_hi"))])


def paired_difference(frame: pd.DataFrame, axis: str, treatment, baseline,
                      metrics=None, by=None) -> pd.DataFrame:
    """Treatment minus baseline, job by job: rows equal in every other parameter and the seed.

    With common seeds the two share their random numbers, so the difference (for instance
    the value of coordination, ``axis="policy"``, ``treatment="coordinated"``,
    ``baseline="siloed"``) has a far tighter interval than the two means apart. The result
    has the other parameters, ``seed`` and one column per metric, and ``attrs`` for
    :func:`aggregate`. ``by`` (default: every parameter but ``axis``, from ``frame.attrs``)
    names the columns that, with the seed, pair the rows.
    """
    if axis not in frame.columns:
        raise SweepError(f"paired_difference: no column {axis!r} in the table")
    if by is None and "parameters" not in frame.attrs:
        raise SweepError("paired_difference: say which columns pair the rows (by=[...]); "
                         "this table has no record of its parameters")
    parameters = list(frame.attrs["parameters"] if by is None else
                      ([by] if isinstance(by, str) else by))
    metrics = list(frame.attrs.get("metrics", []) if metrics is None else
                   ([metrics] if isinstance(metrics, str) else metrics))
    keys = [p for p in parameters if p != axis] + ["seed"]
    treated = frame[frame[axis] == treatment].set_index(keys)[metrics]
    base = frame[frame[axis] == baseline].set_index(keys)[metrics]
    if treated.empty or base.empty:
        raise SweepError(f"paired_difference: no rows with {axis} = {treatment!r} or {baseline!r}")
    common = treated.index[treated.index.isin(base.index)]
    unpaired = len(treated) + len(base) - 2 * len(common)
    if unpaired:
        warnings.warn(f"paired_difference: {unpaired} rows have no partner and are left out",
                      stacklevel=2)
    out = (treated.loc[common] - base.loc[common]).reset_index()
    out.attrs["parameters"] = [k for k in keys if k != "seed"]
    out.attrs["metrics"] = metrics
    return out


# ---- command line ---------------------------------------------------------------------------
def cli(argv) -> int:
    """``python -m coordlib sweep GRID.yaml [--out DIR] [--scheduler ADDR] [--workers N]``."""
    parser = argparse.ArgumentParser(
        prog="coordlib sweep",
        description="Run an experiment over a grid of parameters x seeds (locally, or on a Dask "
                    "cluster), then write results.csv and summary.csv in the output folder.",
        epilog="A re-run skips finished jobs and retries failed ones. Grid layout: see "
               "data/sweeps/*.yaml and the docstring of coordlib.pipeline.sweep.")
    parser.add_argument("grid", help="the grid YAML file")
    parser.add_argument("--out", help="output folder (default: build/sweeps/<grid name>)")
    parser.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:PORT "
                        "(default: $DASK_SCHEDULER_ADDRESS; unset or 'local': local processes)")
    parser.add_argument("--workers", type=int, help="local processes (default: the CPUs; "
                        "0: in this process)")
    parser.add_argument("--metric", help="metric shown in the printed summary (default: "
                        "profit, or the first one)")
    parser.add_argument("--list", action="store_true",
                        help="list the jobs and their state; run (and import) nothing")
    parser.add_argument("--module", action="append", default=[], metavar="MODULE",
                        help="a module whose functions the grid may name as its experiment "
                        "(repeatable); without it, only registered experiments run")
    parser.add_argument("--notebook", action="store_true",
                        help="allow a grid that runs a notebook (its code runs in every job); "
                             "without it, such a grid is refused")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        grid = load_grid(args.grid, modules=tuple(args.module),
                         import_experiment=not args.list, notebooks=args.notebook)
    except SweepError as exc:
        print(f"coordlib sweep: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out) if args.out else Path("build") / "sweeps" / grid.name
    if args.list:
        for job in grid.jobs():
            state = ("finished" if _is_finished(out_dir, job) else
                     "failed" if _error_path(out_dir, job.id).is_file() else "to do")
            print(f"{job.id}  {state:<8}  seed={job.seed}  {_canonical(job.parameters)}")
        return 0
    try:
        with _sweep_lock(out_dir):           # held until results.csv and summary.csv are written
            return _run_and_summarize(grid, out_dir, args)
    except SweepError as exc:
        print(f"coordlib sweep: {exc}", file=sys.stderr)
        return 2


def _run_and_summarize(grid: Grid, out_dir: Path, args) -> int:
    try:
        report = run_sweep(grid, out_dir, scheduler=args.scheduler, workers=args.workers,
                           progress=not args.no_progress)
    except KeyboardInterrupt:
        done = sum(_is_finished(out_dir, job) for job in grid.jobs())
        print(f"\ncoordlib sweep: interrupted; {done} of {len(grid)} jobs finished and kept. "
              "Run the same command again to resume.", file=sys.stderr)
        return 130
    except SweepError as exc:
        print(f"coordlib sweep: {exc}", file=sys.stderr)
        return 2
    print(report)
    for jid in report.failed:
        record = _read_record(_error_path(out_dir, jid)) or {}
        print(f"  failed {jid}: {record.get('error', '?')}", file=sys.stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the failures were just listed
        frame = collect(out_dir)
    if frame.empty:
        return 1
    summary = aggregate(frame)
    atomic_write(out_dir / "summary.csv", lambda f: summary.to_csv(f, index=False))
    metrics = frame.attrs["metrics"]
    metric = args.metric or ("profit" if "profit" in metrics else metrics[0])
    if metric not in metrics:
        print(f"coordlib sweep: unknown metric {metric!r}; metrics: {metrics}", file=sys.stderr)
        return 2
    shown = summary[[*frame.attrs["parameters"], "n", metric, f"{metric}_lo", f"{metric}_hi"]]
    varying = [c for c in frame.attrs["parameters"] if shown[c].nunique(dropna=False) > 1]
    print(shown.drop(columns=[c for c in frame.attrs["parameters"] if c not in varying])
          .to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"results: {out_dir / 'results.csv'}  summary: {out_dir / 'summary.csv'}")
    return 0 if report.ok else 1
