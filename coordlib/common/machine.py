"""The machine a result was computed on, described without naming it: CPU model and count,
operating system, Python and torch versions (for provenance records and benchmark rows; no
host name, user name or path)."""
from __future__ import annotations

import os
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what :mod:`platform` says)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def operating_system() -> str:
    """The operating system: its release name where it has one (``Debian GNU/Linux 12
    (bookworm)``), then the kernel and the architecture (``Linux 6.1.0 x86_64``)."""
    try:
        name = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except (OSError, AttributeError):
        name = ""
    kernel = f"{platform.system()} {platform.release()} {platform.machine()}".strip()
    return f"{name}, {kernel}" if name else kernel


@lru_cache(maxsize=1)
def description() -> str:
    """One line: CPU model and count (those this process may use, of those there are), operating
    system, Python and torch versions, e.g. ``AMD EPYC 7B13, 2 CPUs (of 16); Debian GNU/Linux 12
    (bookworm), Linux 6.1.0 x86_64; Python 3.11.7; torch 2.3.0+cpu``."""
    usable, total = available_cpus(), os.cpu_count() or available_cpus()
    count = f"{usable} CPUs" + (f" (of {total})" if total != usable else "")
    try:
        torch = f"torch {metadata.version('torch')}"
    except metadata.PackageNotFoundError:
        torch = "no torch"
    return (f"{cpu_model()}, {count}; {operating_system()}; "
            f"Python {platform.python_version()}; {torch}")
