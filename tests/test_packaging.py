"""The project's set-up: environment.yml agrees with pyproject.toml; the CLI and CI are wired;
the wheel ships the package and its scenarios and runs the README's quickstart on its own."""
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import tomllib
import yaml

import coordlib
from coordlib import scenarios

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    return m.group(1).lower().replace("_", "-"), m.group(3).replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = dict(_split(r) for r in project["dependencies"] + extras["test"] + extras["docs"]
                  + extras["site"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = {}
    for dep in env["dependencies"]:
        for item in (dep["pip"] if isinstance(dep, dict) else [dep]):
            name, spec = _split(item)
            if name in ("python", "pip"):
                continue
            listed[CONDA_NAMES.get(name, name)] = spec
    assert listed == wanted


def test_constraints_pin_the_cpu_torch_and_every_dependency():
    pins = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().split()
                if "==" in line)
    pins = {k.lower().replace("_", "-"): v for k, v in pins.items()}
    assert pins["torch"] == "2.13.0"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for req in (project["dependencies"] + extras["test"] + extras["docs"] + extras["bench"]
                + extras["site"]):
        assert _split(req)[0] in pins, f"{req} is not pinned in constraints.txt"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make reproduce" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_command_line_lists_commands_and_rejects_unknown_ones():
    run = lambda *a: subprocess.run([sys.executable, "-m", "coordlib", *a], capture_output=True,
                                    text=True, cwd=ROOT)
    ok = run("--help")
    assert ok.returncode == 0 and "reproduce" in ok.stdout and "train" in ok.stdout
    bad = run("fly")
    assert bad.returncode == 2 and "unknown command 'fly'" in bad.stderr
    listing = run("scenarios")
    assert listing.returncode == 0 and "tiny-margin" in listing.stdout


# ---- the wheel --------------------------------------------------------------------------------
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_wheel_lists_every_subpackage_and_ships_the_scenarios():
    setuptools = PYPROJECT["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "coordlib").rglob("__init__.py")}
    mapped = setuptools["package-dir"]
    assert set(setuptools["packages"]) == on_disk | set(mapped)
    assert mapped == {"coordlib.model.scenario_data": "data/scenarios"}
    assert setuptools["package-data"]["coordlib.model.scenario_data"] == ["*.yaml"]
    # where an installed wheel puts them is where the library looks without a checkout
    assert scenarios.PACKAGED_SCENARIO_DIR == Path(scenarios.__file__).parent / "scenario_data"
    assert sorted(p.stem for p in (ROOT / "data" / "scenarios").glob("*.yaml")) == scenarios.names()


def test_python_versions_are_declared_and_agree():
    project = PYPROJECT["project"]
    low = tuple(int(x) for x in project["requires-python"].removeprefix(">=").split("."))
    versions = [tuple(int(x) for x in c.rsplit(" :: ", 1)[1].split("."))
                for c in project["classifiers"] if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert versions and min(versions) == low
    assert sys.version_info[:2] >= low
    assert project["version"] == coordlib.__version__


def test_license_and_citation():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["version"] == coordlib.__version__ and cff["license"] == "MIT"
    paper = cff["preferred-citation"]
    assert paper["identifiers"][0]["value"] == "arXiv:2510.04272"
    assert [a["family-names"] for a in paper["authors"]] == ["Jiang", "Han", "Peng", "Zhang"]
    assert paper["title"].startswith("Closing the Loop")


def _quickstart() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Five minutes with the library", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_runs_the_quickstart(tmp_path):
    """pip wheel, a venv without this repository or its site-packages, the README snippet."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "--quiet", str(ROOT), "-w", str(wheels)], check=True, timeout=600)
    (wheel,) = wheels.glob("coordlib-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-c",
                    str(ROOT / "constraints.txt"), str(wheel)], check=True, timeout=1800)
    script = tmp_path / "quickstart.py"
    script.write_text(_quickstart() + "\nprint('FROM', coordlib.__file__)\n"
                      "print('SCENARIOS', ' '.join(coordlib.scenarios.names()))\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run([str(python), str(script)], capture_output=True, text=True,
                         cwd=tmp_path, env=clean, timeout=600)
    assert out.returncode == 0, out.stderr
    origin = next(line for line in out.stdout.splitlines() if line.startswith("FROM"))
    assert str(env_dir) in origin and str(ROOT) not in origin
    listed = next(line for line in out.stdout.splitlines() if line.startswith("SCENARIOS"))
    assert listed.split()[1:] == scenarios.names()
    assert out.stdout.count("base-stock") == 2                    # the two summaries


@pytest.mark.slow
def test_api_reference_builds_without_warnings(tmp_path):
    pytest.importorskip("pdoc")
    from coordlib.pipeline import docs

    assert docs.build(tmp_path) == []
    assert (tmp_path / "index.html").is_file()
    page = (tmp_path / "coordlib" / "envs.html").read_text()       # the names of envs.__all__
    assert "from_gymnasium" in page and "NormalizedCoordinationEnv" in page
    docstrings = re.findall(r'<div class="docstring">(.*?)</div>', page, re.S)
    assert docstrings and not any(re.search(r":(func|class|mod):`", d) for d in docstrings)


def test_sphinx_roles_become_code_spans():
    from coordlib.pipeline.docs import markdown_roles

    assert markdown_roles("see :func:`~coordlib.envs.adapters.from_gymnasium`") == \
        "see `from_gymnasium`"
    assert markdown_roles(":mod:`coordlib.envs` and :class:`text <coordlib.Scenario>`") == \
        "`coordlib.envs` and `coordlib.Scenario`"
