"""The reproduction pipeline: manifest checks, caching, failure isolation, provenance."""
import dataclasses
import json
import re
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from coordlib.common import machine
from coordlib.experiments import parameters
from coordlib.pipeline import reproduce
from coordlib.pipeline.results import ResultStore, config_hash

QUICK = {"scenarios": ["tiny"], "replications": 2, "periods": 40, "warmup": 5}


def _manifest(tmp_path, entries):
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump({"profiles": reproduce.profiles(), "notebooks": entries}))
    return path


def _quickstart(id_, params, depends_on=()):
    return {"id": id_, "path": "00_quickstart.ipynb", "title": "quickstart",
            "depends_on": list(depends_on), "parameters": {"smoke": params},
            "artifacts": ["tables/e0_quickstart.csv"]}


def test_manifest_notebooks_exist_and_are_ordered_by_dependency():
    entries = reproduce.load_manifest()
    assert entries, "the manifest lists no notebook"
    seen = set()
    for e in entries:
        assert set(e.depends_on) <= seen
        seen.add(e.id)


@pytest.mark.parametrize("entries, message", [
    ([{"id": "A", "path": "missing.ipynb", "title": "x"}], "not found"),
    ([{"id": "A", "path": "00_quickstart.ipynb", "title": "x", "depends_on": ["Z"]}],
     "unknown ['Z']"),
    ([{"id": "A", "path": "00_quickstart.ipynb", "title": "x"}] * 2, "duplicate ids"),
    ([{"id": "A", "path": "00_quickstart.ipynb", "title": "x", "depends_on": ["B"]},
      {"id": "B", "path": "00_quickstart.ipynb", "title": "x", "depends_on": ["A"]}], "cycle"),
    ([{"id": "A", "path": "00_quickstart.ipynb", "title": "x", "parameters": {"papr": {}}}],
     "unknown profile"),
    # a parameter name is pasted into the notebook as code: only identifiers pass
    ([{"id": "A", "path": "00_quickstart.ipynb", "title": "x",
       "parameters": {"smoke": {"x = __import__('os').system('true'); y": 1}}}], "not a Python identifier"),
    ([{"id": "A", "path": "00_quickstart.ipynb", "title": "x",
       "parameters": {"smoke": {"class": 1}}}], "not a Python identifier"),
    ([{"id": "A", "path": "00_quickstart.ipynb", "title": "x",
       "parameters": {"smoke": {"seed": 0}, "paper": {"seed": 0, "periods": 9}}}],
     "every profile must name the same parameters"),
    ([{"id": "A", "path": "00_quickstart.ipynb", "title": "x", "parameters": {"smoke": [1]}}],
     "must be a mapping"),
    ([{"id": "A", "path": "00_quickstart.ipynb", "title": "x", "depends_on": "B"}],
     "depends_on must be a list"),
    (["not an entry"], "is not a mapping"),
])
def test_manifest_errors_name_the_problem(tmp_path, entries, message):
    with pytest.raises(reproduce.ReproduceError, match=message.replace("[", r"\[").replace("]", r"\]")):
        reproduce.load_manifest(_manifest(tmp_path, entries))


def test_unknown_profile_and_unknown_only_are_refused():
    with pytest.raises(reproduce.ReproduceError, match="unknown profile 'papr'"):
        reproduce.reproduce("papr")
    with pytest.raises(reproduce.ReproduceError, match="unknown notebook id"):
        reproduce.reproduce("smoke", only=["E99"])


def test_a_wrong_parameter_fails_its_notebook_only_and_caching_skips_unchanged_ones(tmp_path):
    manifest = _manifest(tmp_path, [
        _quickstart("good", QUICK),
        _quickstart("bad", {**QUICK, "scenarios": ["tiny", "no-such-scenario"]}),
        _quickstart("after-bad", QUICK, depends_on=["bad"]),
    ])
    lines = []
    first = {o.entry.id: o for o in reproduce.reproduce("smoke", manifest=manifest, root=tmp_path,
                                                 echo=lines.append)}
    assert first["good"].status == "regenerated"
    assert first["bad"].status == "failed"
    assert "no-such-scenario" in first["bad"].error and "scenarios" in first["bad"].error
    assert first["after-bad"].status == "skipped"
    table = tmp_path / "build" / "smoke" / "tables" / "e0_quickstart.csv"
    assert set(pd.read_csv(table)["scenario"]) == {"tiny"}
    executed = tmp_path / "build" / "smoke" / "notebooks" / "00_quickstart.ipynb"
    record = json.loads(executed.read_text())["metadata"]["papermill"]
    assert record["input_path"] == "notebooks/00_quickstart.ipynb"     # no machine's folder
    stamp = json.loads((tmp_path / "build" / "smoke" / "stamps" / "good.json").read_text())
    assert stamp["parameters"]["replications"] == 2 and stamp["packages"]["numpy"]
    assert "git_revision" in stamp and "code_version" in stamp
    assert stamp["machine"] == machine.description()
    again = {o.entry.id: o.status for o in reproduce.reproduce("smoke", manifest=manifest, root=tmp_path,
                                                        only=["good"], echo=lines.append)}
    assert again == {"good": "cached"}
    forced = reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, only=["good"], force=True,
                          echo=lines.append)
    assert forced[0].status == "regenerated"
    assert any("1 regenerated" in line for line in lines)
    # an artifact or the executed notebook rewritten since (another budget run by hand, a run
    # killed half-way) is not trusted: the notebook runs again
    for changed in (table, executed):
        changed.write_text(changed.read_text() + " ")
        rerun = reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, only=["good"],
                                    echo=lines.append)
        assert rerun[0].status == "regenerated", changed
    # a run that starts removes the stamp of the last one
    stamp_path = tmp_path / "build" / "smoke" / "stamps" / "bad.json"
    stamp_path.write_text(json.dumps({"key": "stale"}))
    reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, only=["bad"], echo=lines.append)
    assert not stamp_path.exists()


def test_check_parameters_names_the_wrong_parameter(tmp_path):
    with pytest.raises(parameters.ParameterError, match="profile: unknown profile 'papr'"):
        parameters.check_parameters(profile="papr")
    with pytest.raises(parameters.ParameterError, match="seeds"):
        parameters.check_parameters(seeds=-2)
    with pytest.raises(parameters.ParameterError, match="scenarios: unknown scenario 'nope'"):
        parameters.check_parameters(scenarios=["nope"])
    with pytest.raises(parameters.ParameterError, match="warmup"):
        parameters.check_parameters(periods=10, warmup=10)
    p = parameters.check_parameters(seeds=3, figures_dir=str(tmp_path / "f"))
    assert p.seeds == [0, 1, 2] and (tmp_path / "f").is_dir()


def test_result_store_recomputes_only_when_the_configuration_changes(tmp_path):
    store, calls = ResultStore(tmp_path), []

    def compute():
        calls.append(1)
        return pd.DataFrame({"profit": [1.0, 2.0]})

    a = store.cached("demo", {"seed": 0}, compute)
    b = store.cached("demo", {"seed": 0}, compute)
    store.cached("demo", {"seed": 1}, compute)
    assert len(calls) == 2 and a.equals(b)
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    path = store.path("demo", {"seed": 0})
    record = json.loads(path.read_text())
    assert record["provenance"]["config"] == {"seed": 0}
    path.write_text("{ half a file")          # a damaged entry is recomputed, not trusted
    store.cached("demo", {"seed": 0}, compute)
    assert len(calls) == 3
    assert not list(tmp_path.rglob("*.tmp"))


def test_readme_results_block_is_rewritten_from_the_regenerated_tables(tmp_path):
    layout = reproduce.Layout.for_profile("paper", tmp_path)
    layout.tables.mkdir(parents=True)
    (layout.tables / "t.md").write_text("| a |\n| --- |\n| 1.234 |\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{reproduce.README_START}\nold\n{reproduce.README_END}\nafter\n")
    items = [{"title": "T", "table": "tables/t.csv"}, {"title": "F", "figure": "figures/none.png"}]
    assert reproduce.update_readme(readme, items, layout)
    text = readme.read_text()
    assert "| 1.234 |" in text and "old" not in text and "none.png" not in text
    assert text.startswith("intro\n") and text.endswith("after\n")
    assert not reproduce.update_readme(readme, items, layout)  # unchanged the second time
    assert reproduce.load_readme_items()  # the shipped manifest's items are well formed
    layout.provenance.mkdir(parents=True)
    for name, seconds, version in (("a.ipynb", 600, "v1"), ("b.ipynb", 1800, "v2"),
                                   ("c.ipynb", 60, "v2")):
        (layout.provenance / f"{name}.json").write_text(json.dumps(
            {"notebook": name, "seconds": seconds, "code_version": version}))
    (layout.provenance / "broken.json").write_text("{ half")
    assert reproduce.update_readme(readme, items, layout)
    assert ("took 41 minutes of wall time added up notebook by notebook" in readme.read_text()
            and "slowest: b.ipynb 30 min, a.ipynb 10 min, c.ipynb 1 min), from 2 code versions"
            in readme.read_text())
    # one run, two notebooks side by side: the span from first start to last finish
    for name, seconds, start, end in (("a.ipynb", 600, "10:00:00", "10:10:00"),
                                      ("b.ipynb", 1800, "10:00:00", "10:30:00"),
                                      ("c.ipynb", 60, "10:10:00", "10:11:00")):
        (layout.provenance / f"{name}.json").write_text(json.dumps(
            {"notebook": name, "seconds": seconds, "code_version": "v2",
             "started": f"2026-01-01T{start}+00:00", "finished": f"2026-01-01T{end}+00:00"}))
    assert reproduce.update_readme(readme, items, layout)
    assert ("took 30 minutes of wall time on the machine that ran it, notebooks side by side "
            "(their own times add up to 41 minutes" in readme.read_text())
    # records of runs days apart are not one run: their times are added up
    (layout.provenance / "c.ipynb.json").write_text(json.dumps(
        {"notebook": "c.ipynb", "seconds": 60, "code_version": "v2",
         "started": "2026-01-03T10:10:00+00:00", "finished": "2026-01-03T10:11:00+00:00"}))
    assert reproduce.update_readme(readme, items, layout)
    assert "41 minutes of wall time added up notebook by notebook" in readme.read_text()


def test_a_parameter_the_notebook_does_not_declare_fails_it_before_it_runs(tmp_path):
    manifest = _manifest(tmp_path, [_quickstart("typo", {**QUICK, "replicatons": 2})])
    outcome, = reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, echo=lambda _: None)
    assert outcome.status == "failed" and outcome.seconds == 0
    assert "unknown parameter(s) ['replicatons']" in outcome.error
    assert "replications" in outcome.error            # the declared ones are listed
    assert not (tmp_path / "build" / "smoke" / "stamps" / "typo.json").exists()


def test_budget_is_the_manifests_and_reproduce_passes_it_with_the_profiles_folders(tmp_path):
    entry = next(e for e in reproduce.load_manifest() if e.id == "E3")
    assert reproduce.budget("E3", "paper") == entry.parameters["paper"]
    params = reproduce.notebook_parameters(entry, "paper", reproduce.Layout.for_profile("paper"))
    assert params["figures_dir"] == "figures" and params["tables_dir"] == "data/tables"
    assert {k: params[k] for k in entry.parameters["paper"]} == entry.parameters["paper"]
    outside = reproduce.notebook_parameters(entry, "smoke",
                                            reproduce.Layout.for_profile("smoke", tmp_path))
    assert outside["figures_dir"] == str(tmp_path / "build" / "smoke" / "figures")
    with pytest.raises(reproduce.ReproduceError, match="no notebook 'E99'"):
        reproduce.budget("E99", "paper")


def test_a_notebook_is_not_cached_once_a_notebook_it_depends_on_has_run_again(tmp_path):
    entry = next(e for e in reproduce.load_manifest() if e.id == "E12")
    layout = reproduce.Layout.for_profile("smoke", tmp_path)
    params = reproduce.notebook_parameters(entry, "smoke", layout)
    before = reproduce._key(entry, params, layout)
    layout.stamps.mkdir(parents=True)
    (layout.stamps / "E3.json").write_text(json.dumps({"key": "new"}))
    assert reproduce._key(entry, params, layout) != before
    (layout.stamps / "E3.json").write_text("[1, 2]")   # a stamp of the wrong shape counts as none
    assert reproduce._key(entry, params, layout) == before


def test_parallel_notebooks_wait_for_what_they_depend_on(tmp_path, monkeypatch):
    import threading
    import time

    manifest = _manifest(tmp_path, [_quickstart("a", QUICK), _quickstart("b", QUICK),
                                    _quickstart("c", QUICK, depends_on=["a"])])
    events, lock = [], threading.Lock()

    def fake(entry, profile, layout, force=False, workers=None):
        with lock:
            events.append(("start", entry.id))
        time.sleep(0.2 if entry.id == "a" else 0.05)
        with lock:
            events.append(("end", entry.id))
        return reproduce.Outcome(entry, "regenerated", 0.1)

    monkeypatch.setattr(reproduce, "run_notebook", fake)
    out = reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, echo=lambda _: None,
                              jobs=2)
    assert [o.entry.id for o in out] == ["a", "b", "c"]
    assert events[:2] == [("start", "a"), ("start", "b")]          # two at once
    assert events.index(("start", "c")) > events.index(("end", "a"))
    with pytest.raises(reproduce.ReproduceError, match="jobs"):
        reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, jobs=0)


def test_the_longest_chain_of_last_runs_seconds_starts_first(tmp_path, monkeypatch):
    manifest = _manifest(tmp_path, [_quickstart("a", QUICK), _quickstart("b", QUICK),
                                    _quickstart("c", QUICK, depends_on=["a"]),
                                    _quickstart("d", QUICK)])
    layout = reproduce.Layout.for_profile("smoke", tmp_path)
    layout.stamps.mkdir(parents=True)
    for id_, seconds in (("a", 5.0), ("b", 100.0), ("c", 200.0)):
        (layout.stamps / f"{id_}.json").write_text(json.dumps({"seconds": seconds}))
    (layout.stamps / "d.json").write_text("[1, 2]")      # unreadable: expected 0 s
    entries = reproduce.load_manifest(manifest)
    assert [reproduce.expected_seconds(e, layout) for e in entries] == [5.0, 100.0, 200.0, 0.0]
    # a heads a + c = 205 s, more than b's 100 s; d is last
    assert [e.id for e in reproduce.start_order(entries, layout)] == ["a", "c", "b", "d"]
    started = []

    def fake(entry, profile, layout, force=False, workers=None):
        started.append(entry.id)
        return reproduce.Outcome(entry, "regenerated", 0.1)

    monkeypatch.setattr(reproduce, "run_notebook", fake)
    out = reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, echo=lambda _: None,
                              jobs=1)
    assert started == ["a", "c", "b", "d"]
    assert [o.entry.id for o in out] == ["a", "b", "c", "d"]   # reported in the manifest's order


def test_each_notebook_gets_its_share_of_the_cpus_as_workers(tmp_path, monkeypatch):
    assert [reproduce.worker_share(jobs, cpus=2) for jobs in (1, 2, 3)] == [2, 1, 1]
    assert reproduce.worker_share(2, cpus=16) == 8
    given = []
    monkeypatch.setattr(reproduce, "worker_share", lambda jobs: 10 + jobs)
    monkeypatch.setattr(reproduce, "run_notebook",
                        lambda entry, profile, layout, force=False, workers=None:
                        given.append(workers) or reproduce.Outcome(entry, "regenerated", 0.1))
    manifest = _manifest(tmp_path, [_quickstart("a", QUICK), _quickstart("b", QUICK)])
    reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, echo=lambda _: None, jobs=2)
    assert given == [12, 12]
    given.clear()                           # one notebook selected: it runs alone, all CPUs
    reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, echo=lambda _: None, jobs=2,
                        only=["a"])
    assert given == [11]


def test_the_profiles_and_their_jobs_are_the_manifests(tmp_path, monkeypatch):
    profiles = reproduce.profiles()
    for entry in reproduce.load_manifest():       # every notebook has a budget for each profile
        assert sorted(entry.parameters) == sorted(profiles), entry.id
    path = tmp_path / "m.yaml"
    for spec, message in [({}, "expected a mapping `profiles`"),
                          ({"profiles": {"smoke": {"jobs": 2}}}, "lack 'paper'"),
                          ({"profiles": {"paper": {"jobs": 0}}}, "whole number N >= 1"),
                          ({"profiles": {"paper": {"jobs": 2, "seeds": 3}}}, "expected {jobs: N}"),
                          ({"profiles": {"pa per": {"jobs": 2}}}, "not a plain name")]:
        path.write_text(yaml.safe_dump({**spec, "notebooks": []}))
        with pytest.raises(reproduce.ReproduceError, match=re.escape(message)):
            reproduce.load_manifest(path)
    # the default number of notebooks at once is the profile's jobs (each gets its CPU share)
    path.write_text(yaml.safe_dump({"profiles": {"paper": {"jobs": 1}, "smoke": {"jobs": 3}},
                                    "notebooks": [_quickstart(i, QUICK) for i in "abcd"]}))
    shares = []
    monkeypatch.setattr(reproduce, "worker_share", lambda jobs: shares.append(jobs) or 1)
    monkeypatch.setattr(reproduce, "run_notebook",
                        lambda entry, profile, layout, force=False, workers=None:
                        reproduce.Outcome(entry, "regenerated", 0.1))
    reproduce.reproduce("smoke", manifest=path, root=tmp_path, echo=lambda _: None)
    assert shares == [3]
    with pytest.raises(reproduce.ReproduceError, match="profile: unknown profile 'tiny'"):
        reproduce.reproduce("tiny", manifest=path, root=tmp_path, echo=lambda _: None)


def test_workers_reach_only_a_notebook_that_declares_them_and_leave_its_key(tmp_path,
                                                                            monkeypatch):
    import papermill

    layout = reproduce.Layout.for_profile("smoke", tmp_path)
    entries = {e.id: e for e in reproduce.load_manifest()}
    passed = {}

    def execute(source, output, parameters, **kw):      # writes the artifacts, runs nothing
        entry = next(e for e in entries.values() if source.endswith(e.path))
        passed[entry.id] = parameters
        for artifact in entry.artifacts:
            layout.artifact(artifact).parent.mkdir(parents=True, exist_ok=True)
            layout.artifact(artifact).write_text("x")
        nbformat.write(nbformat.v4.new_notebook(), output)   # the executed notebook

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    for id_ in ("E3", "E0"):
        assert reproduce.run_notebook(entries[id_], "smoke", layout, workers=1).status \
            == "regenerated"
    assert passed["E3"]["workers"] == 1                 # 03_main_table declares ``workers``
    assert "workers" not in passed["E0"]                # 00_quickstart does not
    budget = reproduce.notebook_parameters(entries["E3"], "smoke", layout)
    assert {k: v for k, v in passed["E3"].items() if k != "workers"} == budget
    # another share of the CPUs changes no result, so the notebook stays cached
    assert reproduce.run_notebook(entries["E3"], "smoke", layout, workers=2).status == "cached"
    # a manifest that sets ``workers`` itself keeps its value
    pinned = dataclasses.replace(entries["E3"], parameters={
        "smoke": {**entries["E3"].parameters["smoke"], "workers": 3}})
    reproduce.run_notebook(pinned, "smoke", layout, force=True, workers=1)
    assert passed["E3"]["workers"] == 3


def test_only_repeated_on_the_command_line_adds_up(monkeypatch):
    asked = []
    monkeypatch.setattr(reproduce, "reproduce",
                        lambda profile, only, force, jobs=None: asked.append(only) or [])
    assert reproduce.cli(["--profile", "smoke", "--only", "E3,E4", "--only", "E6"]) == 0
    assert asked == [["E3", "E4", "E6"]]


def test_ctrl_c_ends_reproduce_in_one_line_without_waiting_for_running_notebooks(
        tmp_path, monkeypatch, capsys):
    import threading

    release = threading.Event()
    monkeypatch.setattr(reproduce, "run_notebook",
                        lambda entry, *a, **k: release.wait(60) and reproduce.Outcome(entry, "cached"))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(reproduce, "wait", interrupted)
    manifest = _manifest(tmp_path, [_quickstart("a", QUICK), _quickstart("b", QUICK)])
    try:
        with pytest.raises(reproduce.Interrupted) as stop:
            reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, echo=lambda _: None)
        assert stop.value.finished == [] and stop.value.cut == ["a", "b"]
    finally:
        release.set()
    # the command line says it in one line and exits at once with 130
    monkeypatch.setattr(reproduce, "reproduce", lambda *a, **k: (_ for _ in ()).throw(
        reproduce.Interrupted(["E0"], ["E3"])))
    monkeypatch.setattr(reproduce.os, "_exit", lambda code: (_ for _ in ()).throw(SystemExit(code)))
    with pytest.raises(SystemExit) as code:
        reproduce.cli(["--profile", "smoke"])
    assert code.value.code == 130
    err = capsys.readouterr().err.strip()
    assert err == ("coordlib reproduce: interrupted; finished and kept: E0; cut short (they run "
                   "again next time): E3")


def test_two_reproduce_runs_of_one_profile_never_run_at_once(tmp_path):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from coordlib.common.files import FolderLock\n"
        "with FolderLock(sys.argv[1], '.reproduce.lock'):\n"
        "    print('held', flush=True); time.sleep(600)"),
        str(tmp_path / "build" / "smoke")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        manifest = _manifest(tmp_path, [_quickstart("good", QUICK)])
        with pytest.raises(reproduce.ReproduceError,
                           match="another reproduce --profile smoke is writing in this folder"):
            reproduce.reproduce("smoke", manifest=manifest, root=tmp_path, echo=lambda _: None)
    finally:
        holder.kill()
        holder.wait()


def test_a_compact_readme_table_keeps_its_columns_on_one_line_each_and_counts_verdicts(tmp_path):
    layout = reproduce.Layout.for_profile("paper", tmp_path)
    layout.tables.mkdir(parents=True)
    pd.DataFrame({"claim": ["C1", "C2", "C3"], "rule": ["long\nrule", "r", "r"],
                  "verdict": ["partly", "supported", "partly"],
                  "abstract": ['"a | b"', "x", "y"]}).to_csv(layout.tables / "claims.csv",
                                                           index=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"{reproduce.README_START}\n{reproduce.README_END}\n")
    items = [{"title": "Ledger", "table": "tables/claims.csv",
              "columns": ["claim", "abstract", "verdict"], "count": "verdict"}]
    assert reproduce.update_readme(readme, items, layout)
    text = readme.read_text()
    assert "Verdicts: 2 partly, 1 supported." in text
    assert '| C1 | "a \\| b" | partly |' in text and "long" not in text
    with pytest.raises(reproduce.ReproduceError, match=r"readme columns \['rules'\]"):
        reproduce.update_readme(readme, [{**items[0], "columns": ["rules"]}], layout)


def test_readme_items_name_a_known_page_and_the_readme_holds_the_ledger_in_brief(tmp_path):
    items = reproduce.load_readme_items()
    assert [i["title"] for i in items if i.get("page") == "README.md"] == [
        "Claims ledger (E12): each claim of the abstract and its verdict"]
    manifest = tmp_path / "m.yaml"
    manifest.write_text(yaml.safe_dump({"notebooks": [], "readme": [
        {"title": "T", "table": "tables/t.csv", "page": "INDEX.md"}]}))
    with pytest.raises(reproduce.ReproduceError, match="page 'INDEX.md', not one of README.md"):
        reproduce.load_readme_items(manifest)
    manifest.write_text(yaml.safe_dump({"notebooks": [], "readme": [
        {"title": "T", "table": "tables/t.csv", "columns": ["claim"], "anchors": "verdict"}]}))
    with pytest.raises(reproduce.ReproduceError, match="anchors 'verdict' is not one of its columns"):
        reproduce.load_readme_items(manifest)
    table = tmp_path / "t.csv"                 # an anchors column links each cell to its anchor
    table.write_text("claim,verdict\nC1,partly\nC2,supported\n")
    assert reproduce.compact_table(table, ["claim", "verdict"], anchors="claim",
                                   full_page="t.md").splitlines()[2:] == [
        "| [C1](t.md#C1) | partly |", "| [C2](t.md#C2) | supported |"]


def test_provenance_names_the_machine_by_cpu_os_python_and_torch_not_by_host_user_or_path():
    import getpass
    import platform
    import re
    import socket
    from importlib import metadata

    from coordlib.common.files import REPO_DIR
    from coordlib.pipeline.results import provenance

    text = provenance({"seed": 0})["machine"]
    assert text == machine.description()
    assert machine.cpu_model() in text and f"{machine.available_cpus()} CPUs" in text
    assert platform.system() in text and f"Python {platform.python_version()}" in text
    assert f"torch {metadata.version('torch')}" in text
    for name in (socket.gethostname(), getpass.getuser()):    # as a word: "vm" is in "kvm"
        assert not re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", text), name
    for folder in (Path.home(), REPO_DIR, Path.cwd()):
        assert str(folder) not in text
    assert "/" not in text.replace("GNU/Linux", "")       # no path of any kind


def test_a_run_that_rewrites_its_results_stays_at_its_commit_and_a_code_edit_is_dirty(
        tmp_path, monkeypatch):
    from coordlib.pipeline import results

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    for name in ("coordlib/model.py", "figures/e0.png", "data/tables/e0.csv", "README.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("first\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    monkeypatch.setattr(results, "REPO_DIR", tmp_path)
    revision = results.git_revision.__wrapped__      # the cached value is the repository's
    clean = revision()
    assert clean and not clean.endswith("+dirty") and clean != "unknown"
    for name in ("figures/e0.png", "data/tables/e0.csv", "README.md"):
        (tmp_path / name).write_text("rewritten by a run\n")
    assert revision() == clean
    (tmp_path / "coordlib/model.py").write_text("edited\n")
    assert revision() == clean + "+dirty"
