"""The checked parameters of every notebook: each wrong one raises :class:`ParameterError` naming it.

Every notebook runs :func:`begin` in its first code cell and :func:`resolve` in the cell after its
``parameters`` cell: the parameters are declared with types in that cell, filled from the
profile's budget in ``notebooks/manifest.yaml`` where left None, and a name the cell does not
declare stops the run. :func:`check_parameters` then checks each one by its meaning.
"""
from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..common.files import REPO_DIR
from ..learning.config import PRESETS
from ..model.scenario import ScenarioError
from ..model.scenarios import get as get_scenario
from ..pipeline import reproduce


class ParameterError(ValueError):
    """A notebook parameter is wrong (the message names it)."""


@dataclass(frozen=True)
class Parameters:
    """A notebook's checked parameters (attribute access; folders created)."""

    values: dict

    def __getattr__(self, name):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def check_parameters(**params) -> Parameters:
    """Validate a notebook's ``parameters`` cell; raise :class:`ParameterError` naming the culprit.

    Known names are checked by their meaning: ``profile`` (smoke or paper), ``seed`` (whole
    number >= 0), ``seeds`` (list of them, a count >= 1, or a mapping scenario -> list;
    :func:`seeds_by_scenario`), ``scenario``/``scenarios``
    (shipped names or YAML paths), counts such as ``replications``, ``periods``,
    ``iterations`` (whole numbers >= 1), ``warmup`` (>= 0, below ``periods``), and folders
    ending in ``_dir`` (created).
    """
    out = dict(params)
    profile = params.get("profile")
    if profile is not None:
        reproduce.check_profile(profile, error=ParameterError)
    if "seed" in params:
        _whole("seed", params["seed"], 0)
    if "seeds" in params:
        seeds = params["seeds"]
        out["seeds"] = seeds_by_scenario(seeds, params.get("scenarios"))
    for key in ("scenario", "scenarios"):
        if key in params:
            values = params[key] if key == "scenarios" else [params[key]]
            if isinstance(values, str) or not values:
                raise ParameterError(f"{key}: expected a non-empty list of scenario names")
            for v in values:
                try:
                    get_scenario(v)
                except ScenarioError as exc:
                    raise ParameterError(f"{key}: {exc}") from None
    for key in ("replications", "periods", "n_mc"):
        if key in params:
            _whole(key, params[key], 1)
    if "envs" in params:                 # simulator copies: one count, or one per scenario
        envs = per_scenario_values("n_envs", params["envs"], params.get("scenarios"))
        for name, count in (envs.items() if isinstance(envs, dict) else [("", envs)]):
            _whole(f"n_envs[{name!r}]" if name else "envs", count, 1)
    if "iterations" in params:
        out["iterations"] = iterations_by_scenario(params["iterations"],
                                                   out.get("scenarios", params.get("scenarios")))
    if "warmup" in params:
        _whole("warmup", params["warmup"], 0)
        if "periods" in params and params["warmup"] >= params["periods"]:
            raise ParameterError(f"warmup ({params['warmup']}) must be below periods "
                                 f"({params['periods']})")
    for key, value in params.items():
        if key.endswith("_dir"):
            Path(value).mkdir(parents=True, exist_ok=True)
    return Parameters(out)


def iterations_by_scenario(iterations, scenarios=None):
    """Check ``iterations``: one count for every scenario, or a mapping scenario -> count.

    A mapping must name every scenario of ``scenarios`` (when given) and nothing else; it
    lets the cheap instances train longer than the expensive ones in one experiment. Returns
    the count or the mapping (with plain ``int`` values).
    """
    if not isinstance(iterations, dict):
        _whole("iterations", iterations, 1)
        return int(iterations)
    for name, count in iterations.items():
        _whole(f"iterations[{name!r}]", count, 1)
    _names_every_scenario("iterations", "one count", iterations, scenarios)
    return {str(k): int(v) for k, v in iterations.items()}


def per_scenario_values(name: str, value, scenarios=None):
    """One value for every scenario, or a mapping scenario -> value that names every scenario
    of ``scenarios`` (when given) and nothing else (e.g. more simulator copies on the small
    instances than on the large ones); returned as given, a mapping with string keys."""
    if not isinstance(value, dict):
        return value
    _names_every_scenario(name, "one value", value, scenarios)
    return {str(k): v for k, v in value.items()}


def seeds_by_scenario(seeds, scenarios=None):
    """Check ``seeds``: one list (or count) for every scenario, or a mapping scenario -> list
    that names every scenario of ``scenarios`` (when given) and nothing else (e.g. fewer seeds
    on the largest instance). Returns the list, or the mapping of lists."""
    if not isinstance(seeds, dict):
        return _seed_list("seeds", seeds)
    out = {str(k): _seed_list(f"seeds[{k!r}]", v) for k, v in seeds.items()}
    _names_every_scenario("seeds", "one list", seeds, scenarios)
    return out


def _seed_list(name, seeds) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        _whole(name, seeds, 1)
        return list(range(int(seeds)))
    if isinstance(seeds, (list, tuple)) and seeds:
        for s in seeds:
            _whole(name, s, 0)
        return [int(s) for s in seeds]
    raise ParameterError(f"{name}: expected a count >= 1 or a non-empty list of seeds, "
                         f"got {seeds!r}")


def _names_every_scenario(name, what, mapping, scenarios):
    if scenarios is None or isinstance(scenarios, str):
        return
    missing = [s for s in scenarios if s not in mapping]
    extra = [s for s in mapping if s not in scenarios]
    if missing or extra:
        raise ParameterError(
            f"{name}: a mapping needs {what} per scenario"
            + (f"; missing {missing}" if missing else "")
            + (f"; not in scenarios {extra}" if extra else ""))


def _whole(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(f"{name}: expected a whole number >= {low}, got {value!r}")


def check_learners(configs, workers: int = 2) -> None:
    """Check a notebook's ``configs`` (names of :data:`coordlib.learning.config.PRESETS`) and ``workers``."""

    if isinstance(configs, str) or not isinstance(configs, (list, tuple)) or not configs:
        raise ParameterError(f"configs: expected a non-empty list of configuration names, "
                             f"got {configs!r}")
    for c in configs:
        if c not in PRESETS:
            raise ParameterError(f"configs: unknown configuration {c!r}; known: "
                                 f"{', '.join(PRESETS)}")
    _whole("workers", workers, 1)


def with_budget(notebook_id: str, profile: str, given: dict) -> dict:
    """``given`` with every value left None (or missing) that the manifest's budget of
    ``profile`` for notebook ``notebook_id`` sets taken from it
    (:func:`coordlib.pipeline.reproduce.budget`): what :func:`resolve` does in the notebook, for a
    settings function called from Python (:func:`coordlib.experiments.e2_dp_structure.e2_settings`)."""
    reproduce.check_profile(profile, error=ParameterError)
    out = dict(given)
    for key, value in reproduce.budget(notebook_id, profile).items():
        if out.get(key) is None:
            out[key] = value
    return out


def _check_cap(name, value):

    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < 1):
        raise ParameterError(f"{name}: expected None (no cap) or a whole number >= 1, "
                             f"got {value!r}")


def _check_values(name, values, whole: bool = False, low: float = 0.0, empty: bool = True):

    kinds = (int, np.integer) if whole else (int, float, np.integer, np.floating)
    if (isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__")
            or (not empty and len(values) == 0)
            or not all(isinstance(v, kinds) and not isinstance(v, bool) and v >= low
                       for v in values)):
        raise ParameterError(f"{name}: expected a {'non-empty ' if not empty else ''}list of "
                             f"{'whole ' if whole else ''}numbers >= {low:g}, got {values!r}")


# --- a notebook's parameters: declared, typed, filled from the profile ------------------------

NAMES_BEFORE = "__names_before_parameters__"
"""Where :func:`begin` keeps the names a notebook holds before its ``parameters`` cell."""
RESOLVED = "__parameters_resolved__"
"""Set by :func:`resolve` once it has passed: the names a notebook makes after it are its own."""
_KERNEL_NAMES = re.compile(r"_{1,3}|_i{1,3}|_i?\d+|__annotations__|__annotate__")
"""Names the kernel itself adds as cells run (IPython's input and output history)."""


SMOKE_CAVEAT = ("*Smoke profile: a tiny budget that checks that the notebook runs, so the "
                "reading below is not a result; the paper profile's is in RESULTS.md.*\n\n")
"""What a reading of a notebook run at the smoke profile opens with (:func:`caveat`)."""


def caveat(profile: str) -> str:
    """The line a notebook's verdict or reading opens with at ``profile``: :data:`SMOKE_CAVEAT`
    at any profile but ``paper``, nothing at ``paper``."""
    return "" if profile == "paper" else SMOKE_CAVEAT


def begin(namespace: dict) -> None:
    """Remember the names ``namespace`` holds now: call it in the cell before the ``parameters`` cell,
    so that :func:`resolve` can tell a parameter passed from outside from the notebook's own names."""
    namespace.pop(RESOLVED, None)
    namespace[NAMES_BEFORE] = frozenset(namespace) | {NAMES_BEFORE}


def resolve(notebook_id: str, namespace: dict) -> dict:
    """Check and complete a notebook's parameters in ``namespace`` (the notebook's ``globals()``).

    Call it in the cell after the ``parameters`` cell (papermill injects its values between the
    two), so that a run from papermill, from Jupyter or through ``coordlib reproduce`` does the
    same work:

    1. a name set from outside that the ``parameters`` cell does not declare (with a type
       annotation) is refused, naming it and the declared ones (a misspelled ``-p profle paper``
       stops the notebook instead of running at the defaults);
    2. a parameter left None takes the budget of ``profile`` for notebook ``notebook_id`` in
       ``notebooks/manifest.yaml`` (:func:`coordlib.pipeline.reproduce.budget`, the values
       ``coordlib reproduce`` passes); a value given explicitly wins;
    3. the folders ``figures_dir``, ``tables_dir`` and ``cache_dir`` left None are the profile's
       (:class:`coordlib.pipeline.reproduce.Layout`: ``figures/`` and ``data/tables/`` for
       ``paper``, ``build/<profile>/`` otherwise); a relative folder is taken from the repository
       root, never the working directory, and only ``paper`` may write into the committed folders;
    4. every value is checked against its annotation.

    Run again in the same kernel (a reader changes a value in the ``parameters`` cell and reruns
    it and this cell), the names the notebook's later cells made are not taken for parameters:
    step 1 checks only the first run, which is the one papermill injects into.

    The completed values are written back into ``namespace``; the return value shows them
    (folders relative to the repository root).
    """
    annotations = _annotations(namespace)
    declared = [name for name in annotations if not name.startswith("_")]
    if NAMES_BEFORE not in namespace:
        raise ParameterError("run the notebook from its first cell: parameters.begin(globals()) "
                             "must run before the parameters cell")
    before = namespace[NAMES_BEFORE]
    unknown = [] if namespace.get(RESOLVED) else sorted(
        name for name in namespace
        if name not in before and name not in annotations and not _KERNEL_NAMES.fullmatch(name))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}; this notebook's parameters are: "
                             f"{', '.join(declared)}")
    profile = reproduce.check_profile(namespace.get("profile"), error=ParameterError)
    budget = reproduce.budget(notebook_id, profile)
    undeclared = sorted(set(budget) - set(declared))
    if undeclared:
        raise ParameterError(f"notebooks/manifest.yaml: {notebook_id} {profile} names "
                             f"parameter(s) {undeclared} that the notebook does not declare; its "
                             f"parameters are: {', '.join(declared)}")
    values = {name: namespace.get(name) for name in declared}
    for name, value in budget.items():
        if values[name] is None:
            values[name] = value
    layout = reproduce.Layout.for_profile(profile)
    for name, folder in (("figures_dir", layout.figures), ("tables_dir", layout.tables),
                         ("cache_dir", layout.cache)):
        if name in values:
            values[name] = _folder(name, values[name], folder, profile)
    for name in declared:
        if not _fits(values[name], annotations[name]):
            raise ParameterError(f"{name}: expected {_type_name(annotations[name])}, got "
                                 f"{values[name]!r} ({type(values[name]).__name__})")
    namespace.update(values)
    namespace[RESOLVED] = True
    return {name: _shown(value) for name, value in values.items()}


def _annotations(namespace: dict) -> dict:
    if "__annotations__" in namespace:
        return dict(namespace["__annotations__"])
    annotate = namespace.get("__annotate__")  # lazily evaluated annotations (Python 3.14)
    return dict(annotate(1)) if callable(annotate) else {}


def _folder(name: str, value, default: Path, profile: str) -> str:
    if value is None:
        return str(default)
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise ParameterError(f"{name}: expected a folder (a path string), got {value!r}")
    path = Path(value)
    path = (path if path.is_absolute() else REPO_DIR / path).resolve()
    if profile != "paper":
        for committed in reproduce.committed_folders():
            if path == committed or path.is_relative_to(committed):
                raise ParameterError(
                    f"{name}: {value!r} is inside {committed.relative_to(REPO_DIR)}/, which only "
                    f"the paper profile writes; profile {profile!r} writes under "
                    f"build/{profile}/ (leave {name} None)")
    return str(path)


def _fits(value, annotation) -> bool:
    """Whether ``value`` has the type ``annotation`` names (element types are left to the checks
    of each parameter's meaning)."""
    if annotation is typing.Any:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_fits(value, a) for a in typing.get_args(annotation))
    kind = origin or annotation
    if kind is float:
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    return isinstance(value, kind) if isinstance(kind, type) else True


def _type_name(annotation) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _shown(value):
    if isinstance(value, str) and Path(value).is_absolute() and Path(value).is_relative_to(REPO_DIR):
        return str(Path(value).relative_to(REPO_DIR)) or "."
    return value
