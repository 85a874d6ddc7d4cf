"""The notebooks: typed parameters filled from the manifest by profile, unknown names refused,
folders from the repository root, figures shown inline; every notebook runs in the smoke profile."""
import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import nbformat
import papermill
import pytest

from coordlib.common.files import REPO_DIR
from coordlib.experiments import claims, parameters
from coordlib.pipeline import reproduce

ENTRIES = reproduce.load_manifest()
FOLDERS = ("figures_dir", "tables_dir", "cache_dir")


def _cells(entry):
    nb = nbformat.read(reproduce.NOTEBOOK_DIR / entry.path, 4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    return nb.cells, index


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_parameters_are_typed_and_the_manifest_budget_fills_the_ones_left_none(entry):
    cells, index = _cells(entry)
    code_before = [c for c in cells[:index] if c.cell_type == "code"]
    assert len(code_before) == 1 and "parameters.begin(globals())" in code_before[0].source
    assert cells[index + 1].source.startswith(f'parameters.resolve("{entry.id}", globals())')
    declared = papermill.inspect_notebook(str(reproduce.NOTEBOOK_DIR / entry.path))
    untyped = [n for n, p in declared.items() if p["inferred_type_name"] == "None"]
    assert not untyped, f"parameters without a type annotation: {untyped}"
    assert {"profile", *FOLDERS} <= set(declared)
    assert declared["profile"]["default"] == '"smoke"'
    for name in FOLDERS:
        assert declared[name]["default"] == "None", f"{name} must default to the profile's folder"
    for profile, budget in entry.parameters.items():
        for name in budget:
            assert name in declared, f"manifest {profile} names {name}, not a parameter"
            assert declared[name]["default"] == "None", (
                f"{name} is set by the manifest, so the notebook must leave it None")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_every_cell_has_its_own_id(entry):
    with open(reproduce.NOTEBOOK_DIR / entry.path) as f:
        ids = [cell.get("id") for cell in json.load(f)["cells"]]
    assert None not in ids, f"a cell of {entry.path} has no id"
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    assert not repeated, f"cell ids used twice in {entry.path}: {repeated}"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_figure_cells_show_the_figure_not_a_dict_of_paths(entry):
    cells, _ = _cells(entry)
    for cell in cells:
        last = cell.source.rstrip().splitlines()[-1:] if cell.cell_type == "code" else []
        if last and "save_figure(" in last[0] and not last[0].startswith(" "):
            assert last[0].endswith(";"), f"the cell's value would print paths: {last[0]}"


def test_importing_reporting_keeps_the_kernels_backend():
    code = "import coordlib.pipeline.reporting, matplotlib; print(matplotlib.get_backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "MPLBACKEND": "svg"})
    assert out.stdout.strip() == "svg"


def _namespace(**values):
    """A notebook's globals after begin(), the parameters cell and papermill's injected cell."""
    ns = {"In": [], "get_ipython": None}
    parameters.begin(ns)
    annotations = {"profile": str, "replications": typing.Optional[int],
                   "periods": typing.Optional[int], "warmup": typing.Optional[int],
                   "scenarios": list, "seed": int, **{f: typing.Optional[str] for f in FOLDERS}}
    ns["__annotations__"] = annotations
    ns.update(profile="smoke", replications=None, periods=None, warmup=None,
              scenarios=["tiny"], seed=0, **dict.fromkeys(FOLDERS))
    ns.update({"_i3": "", "_3": None})  # the kernel's history names are not parameters
    ns.update(values)
    return ns


def test_resolve_fills_the_profiles_budget_and_an_explicit_value_wins():
    paper = reproduce.budget("E0", "paper")
    ns = _namespace(profile="paper", periods=77)
    shown = parameters.resolve("E0", ns)
    assert ns["replications"] == paper["replications"] and ns["warmup"] == paper["warmup"]
    assert ns["periods"] == 77
    assert Path(ns["figures_dir"]) == REPO_DIR / "figures"
    assert Path(ns["tables_dir"]) == REPO_DIR / "data" / "tables"
    assert shown["figures_dir"] == "figures"           # shown relative to the repository root
    smoke = _namespace()
    parameters.resolve("E0", smoke)
    assert smoke["replications"] == reproduce.budget("E0", "smoke")["replications"]
    assert Path(smoke["figures_dir"]) == REPO_DIR / "build" / "smoke" / "figures"
    assert Path(smoke["cache_dir"]) == REPO_DIR / "build" / "cache"


def test_resolve_refuses_unknown_and_mistyped_parameters():
    with pytest.raises(parameters.ParameterError,
                       match=r"unknown parameter\(s\) \['profle'\].*profile, replications"):
        parameters.resolve("E0", _namespace(profle="paper"))
    with pytest.raises(parameters.ParameterError, match=r"replications: expected Optional\[int\]"):
        parameters.resolve("E0", _namespace(replications="10"))
    with pytest.raises(parameters.ParameterError, match="profile: unknown profile 'papr'"):
        parameters.resolve("E0", _namespace(profile="papr"))
    ns = _namespace()
    del ns[parameters.NAMES_BEFORE]
    with pytest.raises(parameters.ParameterError, match="parameters.begin"):
        parameters.resolve("E0", ns)


def test_folders_come_from_the_repository_root_and_only_paper_writes_committed_ones():
    ns = _namespace(figures_dir="build/elsewhere/figs")
    parameters.resolve("E0", ns)
    assert Path(ns["figures_dir"]) == REPO_DIR / "build" / "elsewhere" / "figs"
    for name, folder in (("figures_dir", "figures"), ("tables_dir", "data/tables"),
                         ("tables_dir", str(REPO_DIR / "data" / "tables" / "sub"))):
        with pytest.raises(parameters.ParameterError, match="only the paper profile writes"):
            parameters.resolve("E0", _namespace(**{name: folder}))
    ns = _namespace(profile="paper", tables_dir="data/tables")
    parameters.resolve("E0", ns)
    assert Path(ns["tables_dir"]) == REPO_DIR / "data" / "tables"


def test_the_ledger_runs_after_every_experiment_whose_tables_it_reads():
    by_id = {e.id: e for e in ENTRIES}
    written = {a for d in by_id["E12"].depends_on for a in by_id[d].artifacts}
    for claim in claims.CLAIMS:
        for table in claim.tables:
            assert f"tables/{table}.csv" in written, f"{claim.key} reads {table}"


LEDGER_NOTEBOOK = str(reproduce.NOTEBOOK_DIR / "12_claims.ipynb")


def test_a_misspelled_parameter_stops_the_notebook_in_the_kernel(tmp_path):
    """The real sequence: begin, the parameters cell, papermill's injected cell, resolve."""
    with pytest.raises(papermill.PapermillExecutionError,
                       match=r"unknown parameter\(s\) \['profle'\]"):
        papermill.execute_notebook(LEDGER_NOTEBOOK, str(tmp_path / "bad.ipynb"),
                                   kernel_name="python3", parameters={"profle": "paper"},
                                   progress_bar=False)


@pytest.mark.slow
def test_the_ledger_notebook_writes_the_ledger_where_it_is_told(tmp_path):
    source = LEDGER_NOTEBOOK
    out = tmp_path / "good.ipynb"
    papermill.execute_notebook(source, str(out), kernel_name="python3", progress_bar=False,
                               parameters={"tables_dir": str(tmp_path / "tables")})
    ledger = (tmp_path / "tables" / "claims.csv").read_text()
    assert ledger.count("not yet measured") == len(claims.CLAIMS)  # no experiment tables there
    resolved = nbformat.read(out, 4).cells[4].outputs[0]["data"]["text/plain"]
    assert "'profile': 'smoke'" in resolved and json.dumps(str(tmp_path / "tables"))[1:-1] in resolved


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_notebook_runs_in_the_smoke_profile_and_shows_its_figures(entry, tmp_path):
    layout = reproduce.Layout.for_profile("smoke", tmp_path)
    outcome = reproduce.run_notebook(entry, "smoke", layout, force=True)
    assert outcome.status == "regenerated", outcome.error
    for artifact in entry.artifacts:
        assert layout.artifact(artifact).stat().st_size > 0
    nb = nbformat.read(layout.notebooks / Path(entry.path).name, 4)
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.outputs)
    figures = sum(a.startswith("figures/") for a in entry.artifacts)
    assert images >= figures


def test_a_reader_changes_a_parameter_and_reruns_its_cells_in_the_same_kernel():
    ns = _namespace()
    parameters.resolve("E0", ns)
    # the rest of the notebook ran: its own names now sit in the namespace
    ns.update(pd=object(), plt=object(), chosen=["tiny"], Markdown=str)
    ns.update(replications=8)                       # the parameters cell, edited and rerun
    parameters.resolve("E0", ns)
    assert ns["replications"] == 8
    # a fresh run from the first cell checks injected names again
    parameters.begin(ns)
    ns["profle"] = "paper"
    with pytest.raises(parameters.ParameterError, match="unknown parameter\\(s\\) \\['profle'\\]"):
        parameters.resolve("E0", ns)


def test_an_installed_copy_finds_the_repository_it_is_run_from(tmp_path, monkeypatch):
    from coordlib.common import files

    monkeypatch.setattr(files, "PACKAGE_DIR", tmp_path / "site-packages" / "coordlib")
    monkeypatch.delenv(files.REPO_ENV, raising=False)
    monkeypatch.chdir(REPO_DIR / "notebooks")             # Jupyter opened in a clone
    assert files._repository() == REPO_DIR
    monkeypatch.setenv(files.REPO_ENV, str(tmp_path))
    assert files._repository() == tmp_path
    monkeypatch.delenv(files.REPO_ENV)
    monkeypatch.chdir(tmp_path)                           # nowhere near a clone
    assert files._repository() == tmp_path / "site-packages"
    monkeypatch.setattr(reproduce, "MANIFEST", tmp_path / "notebooks" / "manifest.yaml")
    with pytest.raises(reproduce.ReproduceError, match="run from a clone .* or set "
                                                       "COORDLIB_REPO"):
        reproduce.load_manifest(reproduce.MANIFEST)


def test_in_jupyter_a_parameter_changed_and_its_cells_rerun_after_run_all(tmp_path):
    # what a class does: Run All, then edit the parameters cell and rerun it and the next one
    from nbclient import NotebookClient

    nb = nbformat.read(REPO_DIR / "notebooks" / "00_quickstart.ipynb", as_version=4)
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells[params].source += ("\nfigures_dir = {f!r}\ntables_dir = {t!r}\ncache_dir = {c!r}"
                                .format(f=str(tmp_path / "f"), t=str(tmp_path / "t"),
                                        c=str(tmp_path / "c")))
    client = NotebookClient(nb, kernel_name="python3", timeout=1200,
                            resources={"metadata": {"path": str(REPO_DIR / "notebooks")}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        nb.cells[params].source += "\nreplications = 3"
        client.execute_cell(nb.cells[params], params)
        resolved = client.execute_cell(nb.cells[params + 1], params + 1)
    errors = [o for o in resolved.outputs if o.output_type == "error"]
    assert not errors, errors
    shown = "".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                    for o in resolved.outputs)
    assert "'replications': 3" in shown


def test_a_notebook_runs_on_a_kernel_over_local_sockets_without_the_tcp_warning(tmp_path, capfd):
    from coordlib.pipeline.execution import execute_notebook
    notebook = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    notebook.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("import os\nprint(x + 1, os.getcwd())")]
    source, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(notebook, source)
    execute_notebook(source, out, {"x": 41}, cwd=tmp_path)
    printed = nbformat.read(out, 4).cells[-1].outputs[0]["text"]
    assert printed.split() == ["42", str(tmp_path)]
    assert "running over TCP" not in capfd.readouterr().err
