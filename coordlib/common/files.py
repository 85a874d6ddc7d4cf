"""Reading and writing files safely: the one atomic writer and the one YAML loader.

Every result, record, checkpoint and README rewrite goes through :func:`atomic_write`: a
temporary file in the same folder, flushed and fsynced, then renamed over the target, so an
interrupted run (Ctrl-C, SIGKILL, power loss) leaves either the old file or the new one,
never half of one. YAML that a user hands in (scenarios, grids, the notebook manifest) is read
by :func:`load_yaml`, which only ever builds plain data (``yaml.safe_load``).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Mapping

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent.parent
"""The ``coordlib`` package folder."""
REPO_DIR = PACKAGE_DIR.parent
"""The repository root (``notebooks/``, ``data/``, ``figures/`` live here)."""


def atomic_write(path, write: Callable, binary: bool = False) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync it, rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt included: never leave the temporary file behind
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` whole or not at all (:func:`atomic_write`)."""
    return atomic_write(path, lambda handle: handle.write(text))


def atomic_write_json(path, data, **dump_kwargs) -> Path:
    """Write ``data`` as JSON (indent 1 unless told otherwise) whole or not at all."""
    dump_kwargs.setdefault("indent", 1)
    return atomic_write(path, lambda handle: json.dump(data, handle, **dump_kwargs))


def load_yaml(path, error: type[Exception] = ValueError, what: str = "file") -> dict:
    """The mapping at the top of the YAML file ``path``; ``error`` names the problem otherwise.

    ``what`` says what the file is in the message (``"scenario file"``, ``"grid file"``).
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(spec, Mapping):
        raise error(f"{path}: expected a mapping at the top level")
    return dict(spec)
