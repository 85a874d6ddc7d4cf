"""The results store: expensive runs (training, DP, sweeps) kept on disk, keyed by what made them.

A result's key is a hash of its configuration (a JSON-able dict) and of the code version (the
sources of ``coordlib`` and the shipped scenarios), so a notebook re-runs in seconds when
nothing it depends on has changed, and recomputes as soon as the code or the configuration
does. Files are written atomically (temporary file, then rename): an interrupted run leaves
no half-written result. Each stored result carries its provenance.
"""
from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..common import machine
from ..common.files import PACKAGE_DIR, REPO_DIR, atomic_write_text, data_file_key

DEFAULT_CACHE = REPO_DIR / "build" / "cache"
TRACKED_PACKAGES = ("numpy", "scipy", "pandas", "torch", "sympy", "gymnasium", "pettingzoo",
                    "papermill", "seaborn", "matplotlib", "dask", "distributed")


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the library sources and the shipped scenarios (what every result depends on)."""
    digest = hashlib.sha256()
    files = [(PACKAGE_DIR.parent, p) for p in sorted(PACKAGE_DIR.rglob("*.py"))] + [
        (REPO_DIR, p) for p in sorted((REPO_DIR / "data" / "scenarios").glob("*.yaml"))]
    for root, path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def config_hash(config: dict, version: str | None = None) -> str:
    """The key of a result: sha256 of the canonical JSON of ``config`` and the code version;
    a value that names a data file (a scenario's YAML) counts by the file's content
    (:func:`coordlib.common.files.data_file_key`)."""
    text = json.dumps(data_file_key(config), sort_keys=True, default=_jsonable)
    return hashlib.sha256(f"{text}|{version or code_version()}".encode()).hexdigest()[:20]


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serializable in a result configuration: {type(value).__name__}")


GENERATED = ("figures", "data/tables", "data/provenance", "data/benchmarks", "notebooks/executed",
             "README.md", "RESULTS.md")
"""What the result runs write into the repository (reproduce, bench): a change there does not
make the code that produces results differ from the commit."""


@lru_cache(maxsize=1)
def git_revision() -> str:
    """The git revision of the repository, with ``+dirty`` when a tracked file other than the
    results (:data:`GENERATED`) differs from it: a paper run rewrites its own outputs as it goes
    and stays at its commit."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR, text=True,
                             capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                *(f":(exclude){path}" for path in GENERATED)],
                               cwd=REPO_DIR, text=True, capture_output=True, timeout=10).stdout
        return (rev or "unknown") + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(config: dict | None = None, seeds=None) -> dict:
    """Configuration, seeds, package versions, git revision and code version of a result, and
    the machine that computed it (:func:`coordlib.common.machine.description`: CPU model and
    count, operating system, Python and torch; no host name, user name or path)."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {"config": config, "seeds": seeds, "git_revision": git_revision(),
            "code_version": code_version(), "python": platform.python_version(),
            "machine": machine.description(), "packages": versions}


class ResultStore:
    """Results of expensive runs under ``root/<kind>/<key>.json``.

    ``store.cached(kind, config, compute)`` returns the stored value when one exists for this
    configuration and code version, else calls ``compute()`` (which must return something
    JSON-able: a dict, a list, or a DataFrame, stored as records) and stores it.
    """

    def __init__(self, root=None, enabled: bool = True):
        self.root = Path(root) if root is not None else DEFAULT_CACHE
        self.enabled = enabled
        self.hits = self.misses = 0

    def path(self, kind: str, config: dict) -> Path:
        return self.root / kind / f"{config_hash(config)}.json"

    def load(self, kind: str, config: dict):
        path = self.path(kind, config)
        if not (self.enabled and path.is_file()):
            return None
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is recomputed, never trusted
        if not isinstance(record, dict) or "value" not in record:
            return None  # an entry of the wrong shape is recomputed too
        value = record["value"]
        if record.get("type") == "frame":
            return (pd.DataFrame(value["records"]) if isinstance(value, dict) and "records" in value
                    else None)
        return value

    def save(self, kind: str, config: dict, value: Any) -> Path:
        path = self.path(kind, config)
        if isinstance(value, pd.DataFrame):
            record = {"type": "frame", "value": {"records": value.to_dict("records")}}
        else:
            record = {"type": "json", "value": value}
        record["provenance"] = provenance(config)
        atomic_write_text(path, json.dumps(record, default=_jsonable, indent=1))
        return path

    def cached(self, kind: str, config: dict, compute: Callable[[], Any]):
        value = self.load(kind, config)
        if value is not None:
            self.hits += 1
            return value
        self.misses += 1
        value = compute()
        if self.enabled:
            self.save(kind, config, value)
        return value
