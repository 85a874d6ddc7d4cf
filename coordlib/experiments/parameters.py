"""The checked parameters of every notebook: each wrong one raises :class:`ParameterError` naming it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..learning.config import PRESETS
from ..model.scenario import ScenarioError
from ..model.scenarios import get as get_scenario
from ..pipeline.reproduce import PROFILES


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
    number >= 0), ``seeds`` (list of them, or a count >= 1), ``scenario``/``scenarios``
    (shipped names or YAML paths), counts such as ``replications``, ``periods``,
    ``iterations`` (whole numbers >= 1), ``warmup`` (>= 0, below ``periods``), and folders
    ending in ``_dir`` (created).
    """
    out = dict(params)
    profile = params.get("profile")
    if profile is not None and profile not in PROFILES:
        raise ParameterError(f"profile: unknown profile {profile!r}; choose one of "
                             f"{', '.join(PROFILES)}")
    if "seed" in params:
        _whole("seed", params["seed"], 0)
    if "seeds" in params:
        seeds = params["seeds"]
        if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
            _whole("seeds", seeds, 1)
            out["seeds"] = list(range(int(seeds)))
        elif isinstance(seeds, (list, tuple)) and seeds:
            for s in seeds:
                _whole("seeds", s, 0)
            out["seeds"] = [int(s) for s in seeds]
        else:
            raise ParameterError(f"seeds: expected a count >= 1 or a non-empty list of seeds, "
                                 f"got {seeds!r}")
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
    for key in ("replications", "periods", "n_mc", "envs"):
        if key in params:
            _whole(key, params[key], 1)
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
    if scenarios is not None and not isinstance(scenarios, str):
        missing = [s for s in scenarios if s not in iterations]
        extra = [s for s in iterations if s not in scenarios]
        if missing or extra:
            raise ParameterError(
                "iterations: a mapping needs one count per scenario"
                + (f"; missing {missing}" if missing else "")
                + (f"; not in scenarios {extra}" if extra else ""))
    return {str(k): int(v) for k, v in iterations.items()}


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


def _resolve(profile, defaults: dict, given: dict) -> dict:

    if profile not in PROFILES:
        raise ParameterError(f"profile: unknown profile {profile!r}; choose one of "
                             f"{', '.join(PROFILES)}")
    out = dict(given)
    for key, value in defaults[profile].items():
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
