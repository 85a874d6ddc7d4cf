"""Regenerate every table and figure: the notebooks of ``notebooks/manifest.yaml``, in order.

``python -m coordlib reproduce --profile paper`` (what ``make reproduce`` runs) executes each
notebook with papermill, in dependency order, with the parameters of the chosen profile:

- ``paper``: figures to ``figures/``, tables to ``data/tables/``, executed notebooks (outputs
  included) to ``notebooks/executed/`` and one provenance record per notebook (parameters,
  seconds, artifacts, seeds, package versions, code version) to ``data/provenance/``; these
  are committed, so a reader sees every result without running anything. After the run the
  results blocks of README.md and RESULTS.md (between ``<!-- results:start -->`` and ``<!-- results:end -->``)
  is rewritten from the manifest's ``readme`` list (:func:`update_readme`).
- ``smoke``: the same notebooks at a tiny budget, everything under ``build/smoke/`` (figures/,
  tables/, notebooks/; ignored by git); no provenance record and no README change.

Each run prints every notebook's status and seconds as it finishes and ends with a table of
all of them (:func:`summary`); the record of the last successful run of each notebook (its
cache key, parameters and seconds) is kept in ``build/<profile>/stamps/``.

The manifest is the one place where the profiles (:func:`profiles`) and a notebook's budget
(:func:`budget`) are set: this command passes the budget, and a notebook run from papermill or
Jupyter fills the same values in by itself (:func:`coordlib.experiments.parameters.resolve`), so
all three do the same work (this command also sets ``workers``, the processes a notebook runs at
once: :data:`WORKERS`). A manifest
parameter that the notebook's ``parameters`` cell does not declare fails that notebook before
it runs; parameter names must be Python identifiers and values plain data, since papermill
writes them into the notebook as code.

A notebook whose source, parameters and library code are unchanged since its last successful
run, and whose artifacts and executed notebook still hold what that run wrote (their SHA-256 is
in the stamp), is not executed again (status ``cached``); ``--force`` runs it anyway. A run
that starts removes the stamp, so one cut short is never taken for done. Ctrl-C stops at once,
in one line naming what finished (kept) and what was cut short. Expensive runs inside
the notebooks go through :class:`coordlib.pipeline.results.ResultStore` (``build/cache/``), so a figure
notebook re-runs in seconds when nothing it depends on has changed. A notebook that fails is
reported with its error; the others still run (those that depend on it are skipped), and the
command exits non-zero.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import keyword
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..common.files import (
    REPO_DIR,
    REPO_ENV,
    FolderLock,
    atomic_write_text,
    file_digest,
    load_yaml,
)
from ..common.help import HelpFormatter, plain
from .execution import execute_notebook
from .results import code_version, provenance
from .sweep import available_cpus

NOTEBOOK_DIR = REPO_DIR / "notebooks"
MANIFEST = NOTEBOOK_DIR / "manifest.yaml"
PAPER = "paper"
"""The profile of the committed results (:class:`Layout`); the manifest must name it."""


class ReproduceError(ValueError):
    """A problem with the manifest or the command line (named in the message)."""


@dataclass
class Entry:
    """One notebook of the manifest."""

    id: str
    path: str
    title: str
    parameters: dict
    artifacts: list
    depends_on: list = field(default_factory=list)


@dataclass
class Outcome:
    entry: Entry
    status: str  # regenerated, cached, failed, skipped
    seconds: float = 0.0
    error: str = ""


def _load_spec(path: Path) -> dict:
    if not Path(path).is_file() and Path(path) == MANIFEST:
        raise ReproduceError(f"manifest not found: {path}; the notebooks live in coordlib's "
                             f"repository: run from a clone (or a folder inside it), or set "
                             f"{REPO_ENV} to the clone")
    spec = load_yaml(path, ReproduceError, "manifest")
    if not isinstance(spec, dict) or not isinstance(spec.get("notebooks", []), list):
        raise ReproduceError("manifest: expected a mapping with a list `notebooks`")
    return spec


def profiles(path: Path = MANIFEST) -> dict[str, dict]:
    """The manifest's ``profiles``, checked: profile name -> its settings (``jobs``: notebooks
    :func:`reproduce` runs at once by default). The names are those a notebook's ``parameters``
    may give a budget for and ``--profile`` accepts; :data:`PAPER` must be one of them."""
    return _profiles(_load_spec(path))


def _profiles(spec: dict) -> dict[str, dict]:
    found = spec.get("profiles")
    if not isinstance(found, dict) or not found:
        raise ReproduceError("manifest: expected a mapping `profiles` of profile names to their "
                             f"settings (jobs), got {found!r}")
    for name, settings in found.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ReproduceError(f"manifest: profile name {name!r} is not a plain name (letters, "
                                 "digits, underscores; it names the folder build/<profile>/)")
        jobs = settings.get("jobs") if isinstance(settings, dict) else None
        if not isinstance(settings, dict) or set(settings) != {"jobs"} or isinstance(jobs, bool) \
                or not isinstance(jobs, int) or jobs < 1:
            raise ReproduceError(f"manifest: profile {name}: expected {{jobs: N}} with a whole "
                                 f"number N >= 1 (notebooks run at once), got {settings!r}")
    if PAPER not in found:
        raise ReproduceError(f"manifest: profiles {sorted(found)} lack {PAPER!r}, the profile of "
                             "the committed results")
    return {name: dict(settings) for name, settings in found.items()}


def check_profile(profile, path: Path = MANIFEST, error=None) -> str:
    """``profile`` if the manifest names it; else ``error`` (default :class:`ReproduceError`)
    with a one-line message naming the profiles there are."""
    known = profiles(path)
    if not isinstance(profile, str) or profile not in known:
        raise (error or ReproduceError)(f"profile: unknown profile {profile!r}; choose one of "
                                        f"{', '.join(known)}")
    return profile


def load_manifest(path: Path = MANIFEST) -> list[Entry]:
    """The manifest's notebooks, checked: unique ids, existing files, known dependencies, and
    budgets only for the manifest's profiles (:func:`profiles`)."""
    spec = _load_spec(path)
    known = _profiles(spec)
    entries = []
    for raw in spec.get("notebooks", []):
        if not isinstance(raw, dict):
            raise ReproduceError(f"manifest: notebook entry {raw!r} is not a mapping")
        missing = {"id", "path", "title"} - set(raw)
        if missing:
            raise ReproduceError(f"manifest: entry {raw.get('id', raw)} lacks {sorted(missing)}")
        entry = Entry(str(raw["id"]), str(raw["path"]), str(raw["title"]),
                      raw.get("parameters") or {}, raw.get("artifacts") or [],
                      raw.get("depends_on") or [])
        _check_entry_shape(entry)
        entries.append(entry)
    ids = [e.id for e in entries]
    if len(set(ids)) != len(ids):
        raise ReproduceError(f"manifest: duplicate ids in {ids}")
    for e in entries:
        if not (NOTEBOOK_DIR / e.path).is_file():
            raise ReproduceError(f"manifest: {e.id}: notebook {e.path} not found in {NOTEBOOK_DIR}")
        unknown = set(e.depends_on) - set(ids)
        if unknown:
            raise ReproduceError(f"manifest: {e.id} depends on unknown {sorted(unknown)}")
        bad = set(e.parameters) - set(known)
        if bad:
            raise ReproduceError(f"manifest: {e.id}: unknown profile(s) {sorted(bad)}")
    return _in_dependency_order(entries)


def _check_entry_shape(e: Entry) -> None:
    """Lists where lists belong, and parameter names that are Python identifiers with plain
    data as values: papermill pastes each ``name = value`` into the notebook as code, so a name
    is the one place where data could become code."""
    for key in ("artifacts", "depends_on"):
        value = getattr(e, key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ReproduceError(f"manifest: {e.id}: {key} must be a list of strings, got {value!r}")
    if not isinstance(e.parameters, dict):
        raise ReproduceError(f"manifest: {e.id}: parameters must map a profile to its parameters, "
                             f"got {e.parameters!r}")
    for profile, values in e.parameters.items():
        if values is None:
            e.parameters[profile] = values = {}
        if not isinstance(values, dict):
            raise ReproduceError(f"manifest: {e.id}: parameters of {profile!r} must be a mapping "
                                 f"name -> value, got {values!r}")
        for name, value in values.items():
            if (not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name)
                    or name.startswith("_")):
                raise ReproduceError(f"manifest: {e.id}: parameter name {name!r} is not a Python "
                                     f"identifier (letters, digits, underscores; not a keyword)")
            if not _plain(value):
                raise ReproduceError(f"manifest: {e.id}: parameter {name}: {value!r} is not plain "
                                     f"data (numbers, strings, booleans, null, lists, mappings)")
    names = {profile: set(values) for profile, values in e.parameters.items()}
    if len({frozenset(v) for v in names.values()}) > 1:
        every = set.union(*names.values())
        gaps = {p: sorted(every - v) for p, v in names.items() if every - v}
        raise ReproduceError(f"manifest: {e.id}: every profile must name the same parameters; "
                             f"missing {gaps}")


def _plain(value) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def budget(notebook_id: str, profile: str, manifest: Path = MANIFEST) -> dict:
    """The parameters that ``profile`` gives notebook ``notebook_id`` in the manifest: what
    ``coordlib reproduce`` passes, and what the notebook fills in by itself
    (:func:`coordlib.experiments.parameters.resolve`) when run from papermill or Jupyter."""
    check_profile(profile, manifest)
    entries = {e.id: e for e in load_manifest(manifest)}
    if notebook_id not in entries:
        raise ReproduceError(f"manifest: no notebook {notebook_id!r}; known: {', '.join(entries)}")
    return dict(entries[notebook_id].parameters.get(profile, {}))


def _in_dependency_order(entries: list[Entry]) -> list[Entry]:
    by_id, done, order = {e.id: e for e in entries}, set(), []

    def visit(e, trail=()):
        if e.id in done:
            return
        if e.id in trail:
            raise ReproduceError(f"manifest: dependency cycle {' -> '.join(trail + (e.id,))}")
        for d in e.depends_on:
            visit(by_id[d], trail + (e.id,))
        done.add(e.id)
        order.append(e)

    for e in entries:
        visit(e)
    return order


@dataclass(frozen=True)
class Layout:
    """Where a profile's outputs go."""

    figures: Path
    tables: Path
    notebooks: Path
    stamps: Path
    cache: Path
    provenance: Path | None = None

    @classmethod
    def for_profile(cls, profile: str, root: Path = REPO_DIR) -> "Layout":
        if profile == PAPER:
            return cls(root / "figures", root / "data" / "tables", root / "notebooks" / "executed",
                       root / "build" / "paper" / "stamps", root / "build" / "cache",
                       root / "data" / "provenance")
        base = root / "build" / profile
        return cls(base / "figures", base / "tables", base / "notebooks", base / "stamps",
                   root / "build" / "cache")

    def artifact(self, name: str) -> Path:
        """``figures/x.png`` and ``tables/x.csv`` resolve to this profile's folders."""
        head, _, rest = name.partition("/")
        folder = {"figures": self.figures, "tables": self.tables}.get(head)
        if folder is None:
            raise ReproduceError(f"manifest: artifact {name!r} must start with figures/ or tables/")
        return folder / rest


def committed_folders(root: Path = REPO_DIR) -> tuple:
    """The folders that only the ``paper`` profile writes: they hold the committed results."""
    paper = Layout.for_profile(PAPER, root)
    return (paper.figures, paper.tables, paper.notebooks, paper.provenance)


def notebook_parameters(entry: Entry, profile: str, layout: Layout) -> dict:
    """What papermill passes: the profile, its folders (relative to the repository root when
    inside it, as the notebook itself would choose them) and the manifest's budget."""
    params = {"profile": profile, "figures_dir": _from_root(layout.figures),
              "tables_dir": _from_root(layout.tables), "cache_dir": _from_root(layout.cache)}
    params.update(entry.parameters.get(profile, {}))
    return params


def _from_root(folder: Path) -> str:
    folder = Path(folder).resolve()
    return str(folder.relative_to(REPO_DIR)) if folder.is_relative_to(REPO_DIR) else str(folder)


def check_declared(entry: Entry, params: dict, declared: dict | None = None) -> str:
    """An error naming the parameters that ``entry``'s notebook does not declare in its
    ``parameters`` cell (papermill would only warn and run at the defaults), or "".
    ``declared``: the notebook's parameters as :func:`declared_parameters` gives them (read
    here when None)."""
    declared = declared_parameters(entry) if declared is None else declared
    unknown = sorted(set(params) - set(declared))
    if not unknown:
        return ""
    return (f"unknown parameter(s) {unknown} for {entry.path}; its parameters are: "
            f"{', '.join(declared)}")


def declared_parameters(entry: Entry) -> dict:
    """The parameters that ``entry``'s notebook declares (papermill's reading of its cell)."""
    # deferred: papermill takes seconds to import; only a run that executes a notebook needs it
    import papermill

    return papermill.inspect_notebook(str(NOTEBOOK_DIR / entry.path))


def _key(entry: Entry, params: dict, layout: Layout) -> str:
    """Changes with the notebook, its parameters, the library code and the runs of the
    notebooks it depends on (a ledger re-runs when a table it reads was regenerated)."""
    upstream = [_stamp_key(layout.stamps / f"{d}.json") for d in entry.depends_on]
    text = (json.dumps(params, sort_keys=True) + (NOTEBOOK_DIR / entry.path).read_text()
            + json.dumps(upstream))
    return hashlib.sha256((text + code_version()).encode()).hexdigest()[:20]


def _record(path: Path) -> dict:
    """A stamp or provenance record; an empty dict when it is missing, unreadable or not a
    mapping (such a record counts as none)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _stamp_key(path: Path) -> str:
    return str(_record(path).get("key", ""))


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_DIR)) if path.is_relative_to(REPO_DIR) else str(path)


def _up_to_date(stamp: dict, key: str, files: list[Path]) -> bool:
    """Whether a notebook's last run still stands: its stamp has this cache key, and every file
    it wrote (artifacts and the executed notebook) is there with the content it wrote."""
    digests = stamp.get("sha256")
    if stamp.get("key") != key or not isinstance(digests, dict):
        return False
    return all(p.is_file() and digests.get(_shown(p)) == file_digest(p) for p in files)


def run_notebook(entry: Entry, profile: str, layout: Layout, force: bool = False,
                 workers: int | None = None) -> Outcome:
    """Execute one notebook with papermill (or report it cached). ``workers``: its parallel
    processes (:data:`WORKERS`), passed when the notebook declares that parameter and the
    manifest does not set it; None leaves the notebook's default."""
    params = notebook_parameters(entry, profile, layout)
    declared = declared_parameters(entry)
    undeclared = check_declared(entry, params, declared)
    if undeclared:
        return Outcome(entry, "failed", error=undeclared)
    key = _key(entry, params, layout)
    if workers is not None and WORKERS not in params and WORKERS in declared:
        params = {**params, WORKERS: workers}
    stamp = layout.stamps / f"{entry.id}.json"
    output = layout.notebooks / Path(entry.path).name
    artifacts = [layout.artifact(a) for a in entry.artifacts]
    if not force and _up_to_date(_record(stamp), key, [*artifacts, output]):
        return Outcome(entry, "cached")
    stamp.unlink(missing_ok=True)        # a run cut short leaves no stamp to trust
    for folder in (layout.figures, layout.tables, layout.notebooks):
        folder.mkdir(parents=True, exist_ok=True)
    started = _now()
    start = time.perf_counter()
    try:
        execute_notebook(NOTEBOOK_DIR / entry.path, output, params, cwd=NOTEBOOK_DIR)
    except Exception as exc:  # papermill wraps the cell's error; keep going with the others
        return Outcome(entry, "failed", time.perf_counter() - start, _short_error(exc))
    seconds = time.perf_counter() - start
    relative_paths(output)
    missing = [str(p) for p in artifacts if not p.is_file()]
    if missing:
        return Outcome(entry, "failed", seconds, f"artifacts not written: {missing}")
    record = {"key": key, "notebook": entry.path, "parameters": params, "seconds": seconds,
              "started": started, "finished": _now(),
              "artifacts": [_shown(p) for p in artifacts],
              **provenance(params)}
    # the stamp holds what the run wrote, by content: a file rewritten since is not cached
    stamp_record = {**record, "sha256": {_shown(p): file_digest(p) for p in [*artifacts, output]}}
    atomic_write_text(stamp, json.dumps(stamp_record, indent=1))
    if layout.provenance is not None:
        atomic_write_text(layout.provenance / f"{entry.id}.json", json.dumps(record, indent=1))
    return Outcome(entry, "regenerated", seconds)


def relative_paths(notebook: Path) -> None:
    """Write the paths papermill records in an executed notebook's metadata (its input and
    output) relative to the repository, so a committed notebook does not carry the folder of
    the machine that ran it."""
    # deferred: as papermill is, only a run that executes a notebook needs it
    import nbformat

    document = nbformat.read(notebook, as_version=nbformat.NO_CONVERT)
    record = document.get("metadata", {}).get("papermill", {})
    changed = False
    for key in ("input_path", "output_path"):
        value = record.get(key)
        if isinstance(value, str) and Path(value).is_absolute():
            path = Path(value).resolve()
            if path.is_relative_to(REPO_DIR):
                record[key] = str(path.relative_to(REPO_DIR))
                changed = True
    if changed:
        atomic_write_text(notebook, nbformat.writes(document))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _short_error(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    lines = [ln for ln in text if ln.strip()]
    return " | ".join(lines[-3:]) if lines else type(exc).__name__


def expected_seconds(entry: Entry, layout: Layout) -> float:
    """The seconds of the notebook's last recorded run for this profile (its provenance record,
    else its stamp; 0 without either)."""
    for folder in (layout.provenance, layout.stamps):
        if folder is None:
            continue
        seconds = _record(folder / f"{entry.id}.json").get("seconds")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
            return float(seconds)
    return 0.0


def start_order(entries: list[Entry], layout: Layout) -> list[Entry]:
    """``entries`` by the expected seconds of the longest chain each one heads (its own and
    those of the notebooks that wait on it, :func:`expected_seconds`), longest first, the
    manifest's order among equals: with a few notebooks at a time, starting the long chains
    first keeps the last hour from being one long notebook running alone. The run still
    starts a notebook only once what it depends on has finished."""
    own = {e.id: expected_seconds(e, layout) for e in entries}
    waiting = {e.id: [d.id for d in entries if e.id in d.depends_on] for e in entries}
    chain: dict = {}

    def length(key):
        if key not in chain:
            chain[key] = own[key] + max((length(d) for d in waiting[key]), default=0.0)
        return chain[key]

    rank = {e.id: i for i, e in enumerate(entries)}
    return sorted(entries, key=lambda e: (-length(e.id), rank[e.id]))


WORKERS = "workers"
"""The notebook parameter that sets a notebook's parallel processes (training runs, sweep
jobs). Reproduce gives each notebook that declares it, unless the manifest sets it, its share
of the CPUs (:func:`worker_share`): processes beyond the cores cost CPU time (the
``learner-speed`` section of ``coordlib bench`` measures it: twice as many one-thread
learners as CPUs against as many as CPUs). It changes no result except the timings that some
tables report (every job has its own seed), so it is not part of a notebook's cache key."""


def worker_share(jobs: int, cpus: int | None = None) -> int:
    """Processes per notebook (:data:`WORKERS`) when ``jobs`` notebooks run at once on ``cpus`` CPUs
    (default: this process's): an equal share, at least one."""
    return max(1, (available_cpus() if cpus is None else cpus) // jobs)


def reproduce(profile: str = "paper", only=None, force: bool = False, manifest: Path = MANIFEST,
              root: Path = REPO_DIR, echo=print, jobs: int | None = None) -> list[Outcome]:
    """Run the manifest's notebooks for ``profile``; ``only`` restricts to some ids.

    ``root`` is where the profile's folders are (the repository; a temporary folder in tests).
    ``jobs``: notebooks run at once (default: the profile's ``jobs`` in the manifest,
    :func:`profiles`); a notebook starts
    once every notebook it ``depends_on`` has finished, and is skipped if one failed. Of the
    notebooks ready to start, the one heading the longest chain of expected seconds starts
    first (:func:`start_order`).
    Outcomes come back in the manifest's order.
    """
    check_profile(profile, manifest)
    jobs = profiles(manifest)[profile]["jobs"] if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ReproduceError(f"jobs: a whole number >= 1, got {jobs!r}")
    entries = load_manifest(manifest)
    if only:
        unknown = set(only) - {e.id for e in entries}
        if unknown:
            raise ReproduceError(f"--only: unknown notebook id(s) {sorted(unknown)}; known: "
                                 f"{', '.join(e.id for e in entries)}")
        entries = [e for e in entries if e.id in set(only)]
    layout = Layout.for_profile(profile, Path(root))
    # one reproduce per profile at a time: two would write the same notebooks and tables
    with FolderLock(Path(root) / "build" / profile, ".reproduce.lock",
                    f"another reproduce --profile {profile}", ReproduceError,
                    "wait for it to finish"):
        workers = worker_share(min(jobs, len(entries)))
        selected = {e.id for e in entries}
        outcomes: dict = {}
        failed: set = set()
        pending = start_order(entries, layout)
        running: dict = {}
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            while pending or running:
                for entry in list(pending):
                    needs = [d for d in entry.depends_on if d in selected]
                    blocked = [d for d in needs if d in failed]
                    if blocked:
                        pending.remove(entry)
                        outcomes[entry.id] = Outcome(entry, "skipped",
                                                     error=f"depends on failed {blocked}")
                        failed.add(entry.id)
                        echo(f"[{len(outcomes)}/{len(entries)}] {entry.id}: skipped "
                             f"(depends on failed {blocked})")
                    elif len(running) < jobs and all(d in outcomes for d in needs):
                        pending.remove(entry)
                        echo(f"      start {entry.id} {entry.path}: {entry.title} ...")
                        running[pool.submit(run_notebook, entry, profile, layout, force,
                                            workers)] = entry
                if not running:
                    if pending:                 # nothing runs and nothing can start: a cycle
                        raise ReproduceError(f"notebooks wait on each other: "
                                             f"{[e.id for e in pending]}")
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    entry = running.pop(future)
                    outcome = future.result()
                    outcomes[entry.id] = outcome
                    if outcome.status in ("failed", "skipped"):
                        failed.add(entry.id)
                    echo(f"[{len(outcomes)}/{len(entries)}] {entry.id} {outcome.status} in "
                         f"{outcome.seconds:.1f} s" + (f": {outcome.error}" if outcome.error else ""))
        except KeyboardInterrupt:
            # Ctrl-C: no wait for the notebooks still running (their kernels got the signal too);
            # what finished stays, the interrupted ones have no stamp and run again next time
            pool.shutdown(wait=False, cancel_futures=True)
            done = sorted(i for i, o in outcomes.items() if o.status in ("regenerated", "cached"))
            raise Interrupted(done, sorted(e.id for e in running.values())) from None
        pool.shutdown()
        ordered = [outcomes[e.id] for e in entries]
        echo(summary(ordered, layout))
        if profile == PAPER:
            items = load_readme_items(manifest)
            for page in PAGES:
                path = Path(root) / page
                shown = [i for i in items if i.get("page", RESULTS_PAGE) == page]
                if path.is_file() and update_readme(path, shown, layout,
                                                    timing=page == RESULTS_PAGE):
                    echo(f"updated the results block of {path}")
        return ordered


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
RESULTS_PAGE = "RESULTS.md"
PAGES = ("README.md", RESULTS_PAGE)
"""The pages whose results blocks a paper run rewrites: the README shows the claims ledger in
brief, RESULTS.md every table and figure of the manifest's ``readme`` list (an item's ``page``
says where it goes; default RESULTS.md)."""


def load_readme_items(path: Path = MANIFEST) -> list[dict]:
    """The manifest's ``readme`` list: the tables and figures the results blocks show (:data:`PAGES`)."""
    items = load_yaml(path, ReproduceError, "manifest").get("readme") or []
    for item in items:
        if not isinstance(item, dict) or "title" not in item or not ({"table", "figure"} & set(item)):
            raise ReproduceError(f"manifest: readme item {item!r} needs a title and a table or figure")
        if item.get("page", RESULTS_PAGE) not in PAGES:
            raise ReproduceError(f"manifest: readme item {item['title']!r}: page "
                                 f"{item['page']!r}, not one of {', '.join(PAGES)}")
        if "anchors" in item and item["anchors"] not in (item.get("columns") or []):
            raise ReproduceError(f"manifest: readme item {item['title']!r}: anchors "
                                 f"{item['anchors']!r} is not one of its columns "
                                 f"{item.get('columns')}")
    return items


def update_readme(readme: Path, items: list[dict], layout: Layout, timing: bool = True) -> bool:
    """Rewrite the results block of a page (README.md, RESULTS.md) from the regenerated tables
    and figures.

    Only artifacts that exist are shown; each is read from the files the notebooks wrote,
    so the page's numbers are always those of the last paper run. ``timing``: open the block
    with the sentence on what the paper run took (:func:`run_time_text`). Returns whether the
    page changed.
    """
    readme = Path(readme).resolve()
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    parts = []
    for item in items:
        if "table" in item and item.get("columns"):
            path = layout.artifact(item["table"])
            if path.is_file():
                full = path.with_suffix(".md")
                link = full.relative_to(readme.parent) if full.is_relative_to(readme.parent) else full
                table = compact_table(path, item["columns"], item.get("count"),
                                      item.get("anchors"), str(link))
                parts.append(f"**{item['title']}** (rules and evidence: [{full.name}]({link}))"
                             f"\n\n{table}\n")
        elif "table" in item:
            path = layout.artifact(item["table"]).with_suffix(".md")
            if path.is_file():
                link = path.relative_to(readme.parent) if path.is_relative_to(readme.parent) else path
                parts.append(f"**{item['title']}** ([{path.name}]({link}))\n\n"
                             f"{path.read_text().strip()}\n")
        else:
            path = layout.artifact(item["figure"])
            if path.is_file():
                link = path.relative_to(readme.parent) if path.is_relative_to(readme.parent) else path
                parts.append(f"**{item['title']}**\n\n![{item['title']}]({link})\n")
        if item.get("note") and parts:
            parts[-1] += f"\n{item['note'].strip()}\n"
    if not parts:
        return False
    opening = (["Regenerated by `make reproduce` (paper profile); provenance of each artifact "
                "in `data/provenance/`." + run_time_text(layout), ""] if timing else [""])
    block = "\n".join([README_START, *opening] + parts + [README_END])
    head, rest = text.split(README_START, 1)
    new = head + block + rest.split(README_END, 1)[1]
    if new == text:
        return False
    atomic_write_text(readme, new)
    return True


def compact_table(path: Path, columns: list, count: str | None = None,
                  anchors: str | None = None, full_page: str = "") -> str:
    """Some columns of a CSV table as Markdown, each cell on one line (a table that fits a
    screen); ``count``: a first line counting the rows by that column's values, in the order
    they first appear (``3 partly, 1 supported``); ``anchors``: a column whose cells link to
    the anchor of the same name in ``full_page`` (the table in full: each claim's id to its
    rule and evidence, ``claims.md#C1``)."""
    # deferred: only the paper run's last step renders a table; the command starts without pandas
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReproduceError(f"manifest: readme columns {missing} are not in {path.name} "
                             f"(its columns: {', '.join(frame.columns)})")

    def cell(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|")

    def linked(column: str, text: str) -> str:
        return f"[{cell(text)}]({full_page}#{cell(text)})" if column == anchors else cell(text)

    lines = [f"| {' | '.join(columns)} |", f"|{'---|' * len(columns)}"]
    lines += [f"| {' | '.join(linked(c, row[c]) for c in columns)} |" for _, row in frame.iterrows()]
    head = ""
    if count:
        tally = frame[count].value_counts(sort=False)
        head = "Verdicts: " + ", ".join(f"{n} {value}" for value, n in tally.items()) + ".\n\n"
    return head + "\n".join(lines)


def run_time_text(layout: Layout) -> str:
    """The README's sentence on the time the paper results take, from the provenance records
    of the last paper run of every notebook (empty when there are none).

    When every record has its start and finish time, shares one code version and the records
    span no more time than their own seconds add up to (so they are one run, notebooks side by
    side), the sentence gives that span: the wall time of the run. Otherwise it gives the sum
    of the notebooks' own times, and says so."""
    folder = layout.provenance
    paths = sorted(folder.glob("*.json")) if folder is not None and folder.is_dir() else []
    records = [r for r in map(_record, paths) if isinstance(r.get("seconds"), (int, float))]
    seconds = {r.get("notebook"): float(r["seconds"]) for r in records}
    if not seconds:
        return ""
    versions = {r.get("code_version") for r in records}
    slowest = ", ".join(f"{name} {sec / 60:.0f} min"
                        for name, sec in sorted(seconds.items(), key=lambda kv: -kv[1])[:3])
    plural = "s" if len(versions) != 1 else ""
    total = sum(seconds.values())
    span = _span(records)
    if span is not None and len(versions) == 1 and span <= total + 60:
        return (f" The last paper run took {span / 60:.0f} minutes of wall time on the machine "
                f"that ran it, notebooks side by side (their own times add up to "
                f"{total / 60:.0f} minutes; slowest: {slowest}), from one code version.")
    return (f" The notebooks' last paper runs took {total / 60:.0f} minutes of wall time added "
            f"up notebook by notebook, on the machine that ran them (notebooks that reuse "
            f"another's cached runs count only their own part; slowest: {slowest}), from "
            f"{len(versions)} code version{plural}.")


def _span(records) -> float | None:
    """Seconds from the first start to the last finish of ``records``; None if one lacks them."""
    try:
        starts = [datetime.fromisoformat(r["started"]) for r in records]
        ends = [datetime.fromisoformat(r["finished"]) for r in records]
    except (KeyError, TypeError, ValueError):
        return None
    return (max(ends) - min(starts)).total_seconds()


def summary(outcomes: list[Outcome], layout: Layout) -> str:
    lines = ["", "| notebook | status | seconds | artifact |", "| --- | --- | --- | --- |"]
    for o in outcomes:
        names = o.entry.artifacts or ["(none)"]
        for i, a in enumerate(names):
            lead = (f"| {o.entry.id} {o.entry.path} | {o.status} | {o.seconds:.1f} "
                    if i == 0 else "| | | ")
            lines.append(f"{lead}| {a} |")
    total = sum(o.seconds for o in outcomes)
    counts = {s: sum(o.status == s for o in outcomes)
              for s in ("regenerated", "cached", "failed", "skipped")}
    lines.append("")
    lines.append(f"{total:.1f} s in all; " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return "\n".join(lines)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`reproduce`: the notebooks that had finished and those cut short."""

    def __init__(self, finished: list, cut: list):
        super().__init__(finished, cut)
        self.finished, self.cut = finished, cut


def cli(argv) -> int:
    parser = argparse.ArgumentParser(prog="coordlib reproduce", description=plain(__doc__),
                                     formatter_class=HelpFormatter)
    parser.add_argument("--profile", required=True,
                        help="a profile of notebooks/manifest.yaml; smoke: every notebook at a "
                             "tiny budget into build/smoke/ (minutes); paper: the committed results (hours; rewrites "
                             "figures/, data/tables/, notebooks/executed/ and the README's "
                             "results), so it is never a default")
    parser.add_argument("--only", action="append", default=[],
                        help="comma-separated notebook ids of notebooks/manifest.yaml, e.g. "
                             "E1,E3 (or the option repeated); default: all")
    parser.add_argument("--jobs", type=int, default=None,
                        help="notebooks run at once (default: the profile's jobs in "
                             "notebooks/manifest.yaml); each gets an equal share of the CPUs as "
                             "its parallel processes")
    parser.add_argument("--force", action="store_true",
                        help="run notebooks even if their cached results are up to date")
    args = parser.parse_args(argv)
    only = [s.strip() for part in args.only for s in part.split(",") if s.strip()] or None
    if args.only and not only:
        print(f"coordlib reproduce: --only: no notebook id in {args.only!r}; give ids of "
              "notebooks/manifest.yaml, e.g. --only E1,E3", file=sys.stderr)
        return 2
    try:
        outcomes = reproduce(args.profile, only, args.force, jobs=args.jobs)
    except ReproduceError as exc:
        print(f"coordlib reproduce: {exc}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        print(f"\ncoordlib reproduce: interrupted; finished and kept: "
              f"{', '.join(stop.finished) or 'none'}; cut short (they run again next time): "
              f"{', '.join(stop.cut) or 'none'}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)      # at once: a normal exit would wait for the notebooks still running
    return 1 if any(o.status in ("failed", "skipped") for o in outcomes) else 0
