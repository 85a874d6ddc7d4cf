"""The project's set-up: environment.yml agrees with pyproject.toml; the CLI and CI are wired."""
import re
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", requirement)
    return m.group(1).lower().replace("_", "-"), m.group(3).replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
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
    for req in project["dependencies"] + project["optional-dependencies"]["test"]:
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
