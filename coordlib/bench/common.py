"""Timing and reporting helpers shared by every benchmark section: side-by-side rounds, rows, formatting."""
from __future__ import annotations

import importlib
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from ..common.files import REPO_DIR
from ..common.machine import cpu_model

DEFAULT_OUT = REPO_DIR / "data" / "benchmarks"
MET = ("yes", "no", "void", "n/a", "skipped")
"""Values of a row's ``met``: target met, not met, comparison void (the two systems disagree,
so their speeds cannot be compared), no target (a figure reported as is), section skipped."""
ROW_FIELDS = ("section", "measured", "ours", "reference", "ratio", "target", "met", "note",
              "machine", "command")


# ---- machinery ----------------------------------------------------------------------------------
def machine() -> str:
    """Cores and CPU model of this machine, as one line."""
    return f"{os.cpu_count()} cores, {cpu_model()}"


def side_by_side(*functions: Callable[[], object], rounds: int = 5,
                 min_seconds: float = 0.05) -> tuple[float, ...]:
    """Seconds per call of each function, timed in alternating rounds (median of rounds).

    Each round calls one function repeatedly for at least ``min_seconds``; the functions take
    turns round by round, so slow phases of a shared machine fall on all of them.
    """
    if not functions:
        raise ValueError("side_by_side: give at least one function to time")
    if int(rounds) < 1 or not min_seconds >= 0:
        raise ValueError(f"side_by_side: need rounds >= 1 and min_seconds >= 0, got "
                         f"{rounds!r} and {min_seconds!r}")

    def one_round(fn):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                return elapsed / calls

    for fn in functions:  # warm caches and allocators
        fn()
    seconds = [[] for _ in functions]
    for _ in range(int(rounds)):
        for fn, record in zip(functions, seconds):
            record.append(one_round(fn))
    return tuple(float(np.median(s)) for s in seconds)


class Unavailable(Exception):
    """A section cannot run here: its module is not written yet, or an optional peer is missing."""


def require(module: str, *attributes: str, install: str = ""):
    """Import ``module`` and check it has ``attributes``, or raise :class:`Unavailable` saying why."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        hint = f" (install it: {install})" if install else ""
        raise Unavailable(f"{module} is not available yet{hint}: {exc}") from None
    missing = [a for a in attributes if not hasattr(mod, a)]
    if missing:
        raise Unavailable(f"{module} is not available yet: it has no {', '.join(missing)}")
    return mod


def row(section: str, measured: str, ours: str, reference: str, ratio: float, target: str,
        met: str, note: str = "") -> dict:
    """One summary row; ``machine`` and ``command`` are filled in by :func:`coordlib.bench.report.run_sections`."""
    if met not in MET:
        raise ValueError(f"row: met must be one of {MET}, got {met!r}")
    return {"section": section, "measured": measured, "ours": ours, "reference": reference,
            "ratio": float(ratio) if ratio is not None else float("nan"), "target": target,
            "met": met, "note": note, "machine": "", "command": ""}


def skipped_row(section: str, reason: str, measured: str = "") -> dict:
    """The row of a figure that cannot be measured yet, saying why."""
    return row(section, measured or f"{section}: not available yet", "-", "-", float("nan"), "-",
               "skipped", reason)


def yes_no(condition: bool) -> str:
    return "yes" if condition else "no"


def fmt(value: float, unit: str = "", digits: int = 3) -> str:
    """A number with ``digits`` significant digits and its unit, e.g. ``3.2e+06 periods/s``."""
    if value is None or not np.isfinite(value):
        text = "n/a"
    elif value != 0 and (abs(value) >= 10 ** (digits + 2) or abs(value) < 10 ** -(digits)):
        text = f"{value:.{digits - 1}e}"
    else:
        text = f"{value:.{digits}g}"
    return f"{text} {unit}".strip()


def fmt_ci(mean: float, lo: float, hi: float, digits: int = 4) -> str:
    return f"{mean:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}]"


def difference_ci(a, b, confidence: float = 0.95) -> tuple[float, float, float]:
    """mean(a) - mean(b) with a Welch t-interval (independent samples, unequal variances)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        raise ValueError("difference_ci: need at least two values on each side")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    diff = float(a.mean() - b.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * se
    return diff, diff - half, diff + half


@dataclass
class SectionResult:
    """What a section returns: its detail table, its summary rows and any further tables."""

    table: pd.DataFrame
    rows: list
    extra: dict = field(default_factory=dict)
    """further tables, name -> DataFrame, written as ``<name>.csv``"""
