"""Reading and writing files safely: the one atomic writer and the one YAML loader.

Every result, record, checkpoint and README rewrite goes through :func:`atomic_write`: a
temporary file in the same folder, flushed and fsynced, then renamed over the target, so an
interrupted run (Ctrl-C, SIGKILL, power loss) leaves either the old file or the new one,
never half of one. YAML that a user hands in (scenarios, grids, the notebook manifest) is read
by :func:`load_yaml`, which only ever builds plain data (``yaml.safe_load``), refuses duplicate
keys, files over :data:`YAML_MAX_BYTES` and documents whose anchors and aliases would expand
past :data:`YAML_MAX_NODES` nodes. JSON is always standard: NaN and infinity are written as
``null`` (:func:`json_safe`).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import stat
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

import yaml

try:
    import fcntl
except ImportError:  # not on POSIX: folders are not locked
    fcntl = None

PACKAGE_DIR = Path(__file__).resolve().parent.parent
"""The ``coordlib`` package folder."""
REPO_ENV = "COORDLIB_REPO"
"""The environment variable that names the repository when coordlib is installed elsewhere."""


def _repository() -> Path:
    """Where ``notebooks/``, ``data/`` and ``figures/`` are: the package's parent in a clone (an
    editable install, or run from the clone); for an installed copy (``pip install .``), the
    folder ``COORDLIB_REPO`` names, else the nearest folder at or above the working directory
    holding ``notebooks/manifest.yaml`` (a notebook opened in a clone); else the package's parent,
    and whatever needs the repository says it is not there."""
    if (PACKAGE_DIR.parent / "notebooks" / "manifest.yaml").is_file():
        return PACKAGE_DIR.parent
    if os.environ.get(REPO_ENV):
        return Path(os.environ[REPO_ENV]).expanduser().resolve()
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        if (folder / "notebooks" / "manifest.yaml").is_file():
            return folder
    return PACKAGE_DIR.parent


REPO_DIR = _repository()
"""The repository root (``notebooks/``, ``data/``, ``figures/`` live here; see :func:`_repository`)."""
YAML_MAX_BYTES = 4 * 2**20
"""The largest YAML file :func:`load_yaml` reads (the shipped ``large`` scenario is 12 KB)."""
YAML_MAX_NODES = 1_000_000
"""The most nodes a YAML document may hold once its aliases are expanded (an anchor bomb of a
few hundred bytes expands to billions)."""


DATA_FILE_SUFFIXES = (".yaml", ".yml")
"""The suffixes of the data files a parameter may name (scenarios, grids)."""


def data_file_key(value):
    """``value`` with every string that names an existing data file (:data:`DATA_FILE_SUFFIXES`)
    replaced by ``{"file": value, "sha256": <its content's hash>}``, in lists and mappings too:
    what a cache keyed by parameters must hold, so that a file rewritten under the same name is
    a new key."""
    if isinstance(value, str) and value.endswith(DATA_FILE_SUFFIXES) and Path(value).is_file():
        return {"file": value, "sha256": file_digest(value)}
    if isinstance(value, Mapping):
        return {k: data_file_key(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [data_file_key(v) for v in value]
    return value


def file_digest(path) -> str:
    """The SHA-256 of a file's bytes (hex)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def atomic_write(path, write: Callable, binary: bool = False) -> Path:
    """Call ``write(handle)`` on a temporary file beside ``path``, fsync it, rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb" if binary else "w") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:  # KeyboardInterrupt included: never leave the temporary file behind
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _mode_for(path: Path) -> int:
    """The permissions a plain ``open(path, "w")`` would leave: the file's own if it exists,
    else 0o666 less the umask (a temporary file starts private, 0o600)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_UMASK


def _umask() -> int:
    mask = os.umask(0o022)    # reading the umask sets it: set it back at once
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` whole or not at all (:func:`atomic_write`)."""
    return atomic_write(path, lambda handle: handle.write(text))


def json_safe(value):
    """``value`` with every NaN or infinite float replaced by None, so that it is standard JSON
    (``json.dump`` would write the non-standard ``NaN``/``Infinity``, which strict readers
    reject); containers are copied, everything else is passed through."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def atomic_write_json(path, data, **dump_kwargs) -> Path:
    """Write ``data`` as standard JSON (:func:`json_safe`; indent 1 unless told otherwise)
    whole or not at all."""
    dump_kwargs.setdefault("indent", 1)
    data = json_safe(data)
    return atomic_write(path, lambda handle: json.dump(data, handle, allow_nan=False,
                                                      **dump_kwargs))


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it (tens of times faster), else PyYAML's; the
constructor, which builds the data, is PyYAML's safe one either way."""


class _StrictLoader(_SAFE_LOADER):
    """``yaml.SafeLoader`` that refuses duplicate keys and documents whose aliases expand past
    :data:`YAML_MAX_NODES` nodes (checked on the node graph, before anything is built)."""

    def construct_document(self, node):
        _check_expanded_size(node)
        return super().construct_document(node)

    def __init__(self, stream):
        super().__init__(stream)
        self._checked: set[int] = set()

    def construct_mapping(self, node, deep=False):
        # each mapping's own keys, once, before merge keys (<<) are flattened into it: a key
        # written twice is refused wherever it stands (one line or several); a key that
        # overrides a merged one is not a duplicate
        if id(node) not in self._checked:
            self._checked.add(id(node))
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node)
                except TypeError:      # an unhashable key: the constructor reports it
                    continue
                if first is not key_node:
                    where = f"line {first.start_mark.line + 1}, column {first.start_mark.column + 1}"
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at {where})",
                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _check_expanded_size(root) -> None:
    """Count the nodes of the document with every alias expanded, without expanding it."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = (node.value if isinstance(node, yaml.SequenceNode) else
                    [n for pair in node.value for n in pair]
                    if isinstance(node, yaml.MappingNode) else [])
        if children_done or not children:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > YAML_MAX_NODES:
                raise yaml.YAMLError(f"the document holds more than {YAML_MAX_NODES:,} "
                                     "values once its aliases (*name) are expanded; a scenario "
                                     "that large is built in Python (Scenario.from_dict, "
                                     "coordlib.model.families)")
        else:
            if id(node) in open_nodes:
                raise yaml.YAMLError("an alias refers to a node that contains it (recursive "
                                     "data)")
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)


def load_yaml(path, error: type[Exception] = ValueError, what: str = "file") -> dict:
    """The mapping at the top of the YAML file ``path``; ``error`` names the problem otherwise.

    ``what`` says what the file is in the message (``"scenario file"``, ``"grid file"``).
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    size = path.stat().st_size
    if size > YAML_MAX_BYTES:
        raise error(f"{path}: {size:,} bytes, more than a {what} may hold "
                    f"({YAML_MAX_BYTES:,} bytes)")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read it as text ({exc})") from None
    try:
        spec = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{where}: not valid YAML ({' '.join(problem.split())})") from None
    except RecursionError:
        raise error(f"{path}: not valid YAML (nested too deep)") from None
    if not isinstance(spec, Mapping):
        raise error(f"{path}: expected a mapping at the top level")
    return dict(spec)


class FolderBusyError(RuntimeError):
    """Another process is writing in the folder (:class:`FolderLock`)."""


class FolderLock:
    """An exclusive lock on an output folder (``folder / name``), held by the one process that
    writes there until its last file is written: two runs never mix their files in one folder.

    ``flock`` locks die with their process, so a killed run never leaves the folder locked.
    ``wait``: wait for the other process to finish, else raise ``error`` at once, naming the
    holder, ``what`` it is and the ``hint``. Re-entrant within a thread: a function that
    locks a folder its caller already holds goes ahead (another thread waits or is refused,
    as another process is).
    """

    _held: dict = {}          # (lock file, thread) -> depth, in this process

    def __init__(self, folder, name: str = ".lock", what: str = "another run",
                 error: type[Exception] = FolderBusyError, hint: str = "", wait: bool = False):
        self.path = Path(folder) / name
        self.what, self.error, self.hint, self.wait = what, error, hint, wait
        self.handle, self.nested = None, False

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = self._key()
        if key in FolderLock._held:
            FolderLock._held[key] += 1
            self.nested = True
            return self
        if fcntl is not None:
            self.handle = open(self.path, "a+")
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
            except OSError:
                self.handle.seek(0)
                holder = self.handle.read().strip() or "another process"
                self.handle.close()
                raise self.error(f"{self.path.parent}: {self.what} is writing in this folder "
                                 f"({holder})" + (f"; {self.hint}" if self.hint else "")) from None
            self.handle.seek(0)
            self.handle.truncate()
            since = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {since}")
            self.handle.flush()
        FolderLock._held[key] = 1
        return self

    def _key(self) -> tuple:
        return self.path.resolve(), threading.get_ident()

    def holds(self) -> bool:
        """Whether this thread holds the lock."""
        return self._key() in FolderLock._held

    def __exit__(self, *exc):
        key = self._key()
        if self.nested:
            FolderLock._held[key] -= 1
            return
        FolderLock._held.pop(key, None)
        if self.handle is not None:
            self.handle.truncate(0)
            self.handle.close()       # closing releases the lock
