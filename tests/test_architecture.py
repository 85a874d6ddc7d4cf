"""The package's shape: layers that import only downward, no cycles, no hidden imports.

Data flows one way (model -> policies -> {theory, exact, learning, envs} -> experiments), the
pipeline imports no science module, and an import inside a function is allowed only for a
heavy optional dependency, never for a module of the package (those hide cycles).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "coordlib"

# what each part of the package may import from the others (besides itself)
ALLOWED = {
    "common": set(),
    "model": {"common"},
    "policies": {"common", "model"},
    "envs": {"common", "model"},
    "theory": {"common", "model", "policies"},
    "exact": {"common", "model", "policies"},
    "learning": {"common", "model", "policies"},
    "pipeline": {"common"},
    "experiments": {"common", "model", "policies", "envs", "theory", "exact", "learning",
                    "pipeline"},
    "bench": {"common", "model", "policies", "envs", "theory", "exact", "learning", "pipeline"},
}
TOP_LEVEL = {"__init__", "__main__", "cli"}   # the package's front door may import any part


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(text: str, name: str, is_package: bool):
    """(target module, line, inside a function) for every in-package import of a module."""
    package = name if is_package else name.rsplit(".", 1)[0]
    tree = ast.parse(text)
    in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef,
                                                                   ast.AsyncFunctionDef))
                   for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "coordlib" or target.startswith("coordlib."):
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                for t in names:
                    yield t, node.lineno, id(node) in in_function
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("coordlib"):
                    yield alias.name, node.lineno, id(node) in in_function


def _imports_of(path: Path):
    return _imports(path.read_text(), _module_name(path), path.name == "__init__.py")


def _violations(text: str, name: str, is_package: bool = False) -> list[str]:
    """What breaks the layering in one module's source (empty when nothing does)."""
    here = _part(name)
    out = []
    for target, line, inside in _imports(text, name, is_package):
        where = f"{name}:{line} imports {target}"
        if inside:
            out.append(f"{where} inside a function: import it at the top of the module")
        elif here not in TOP_LEVEL and _part(target) != here \
                and _part(target) not in ALLOWED[here]:
            out.append(f"{where}: {here} may import only {sorted(ALLOWED[here])}")
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_the_package_is_a_known_layer():
    parts = {_part(_module_name(p)) for p in MODULES}
    assert parts <= set(ALLOWED) | TOP_LEVEL, parts - set(ALLOWED) - TOP_LEVEL


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_downward_and_never_inside_a_function(path):
    problems = _violations(path.read_text(), _module_name(path), path.name == "__init__.py")
    assert not problems, "\n".join(problems)


def test_the_layer_check_refuses_an_upward_or_hidden_import():
    upward = _violations("from ..learning import config\n", "coordlib.model.scenario")
    assert upward and "model may import only ['common']" in upward[0]
    hidden = _violations("def f():\n    from .simulator import Simulator\n",
                         "coordlib.model.scenario")
    assert hidden and "inside a function" in hidden[0]
    assert _violations("from ..common import files\n", "coordlib.model.scenario") == []


def _find_cycle(graph: dict) -> list | None:
    """A cycle of the module graph, or None; a package importing its own modules is no cycle."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_between_modules():
    modules = {_module_name(p): p for p in MODULES}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for target, _, _ in _imports_of(path):
            while target not in modules and "." in target:   # `from pkg import name`
                target = target.rsplit(".", 1)[0]
            if target != name and target in modules:
                targets.add(target)
        graph[name] = targets
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"p": {"p.x"}, "p.x": {"q"}, "q": set()}) is None


def _undeclared_deferred_imports(text: str) -> list[int]:
    """Lines of imports inside functions that lack a ``# deferred: reason`` line above them."""
    lines = text.splitlines()
    tree = ast.parse(text)
    out = []
    for f in ast.walk(tree):
        if not isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(f):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                j = node.lineno - 2             # a comment may cover a block of imports
                while j >= 0 and lines[j].strip().startswith(("import ", "from ")):
                    j -= 1
                if j < 0 or not lines[j].strip().startswith("# deferred:"):
                    out.append(node.lineno)
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_deferred_import_says_why(path):
    lines = _undeclared_deferred_imports(path.read_text())
    assert not lines, f"{path.relative_to(PACKAGE.parent)}: imports inside functions at lines " \
                      f"{lines} need a '# deferred: reason' comment (or move them to the top)"


def test_the_deferred_import_check_is_not_vacuous():
    assert _undeclared_deferred_imports("def f():\n    import torch\n") == [2]
    assert _undeclared_deferred_imports("def f():\n    # deferred: heavy\n    import torch\n") == []
    assert _undeclared_deferred_imports("def f():\n    x = 1\n    import a\n    import b\n") == [3, 4]
