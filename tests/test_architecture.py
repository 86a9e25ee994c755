"""The import graph of ``reportgen/``: no cycle, no import back up the layers, every name taken from its home.

Imports are read from the source (module level, inside functions and under ``TYPE_CHECKING`` alike), so what is
checked is what a reader sees, not what one run happened to import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT, write_files

DATA_MODEL = ("model", "results", "outputs", "outcomes", "schema")
"""The leaf records the registry, the loader, the planner and the studies build on."""
ABOVE_THE_DATA_MODEL = ("kinds", "spec", "plan", "execute", "build", "render", "editions", "serve", "cli")
"""Modules that use the data model, which it must never import (directly or through another module)."""
PUBLIC_FACES = ("plugin", "train")
"""Modules whose job is to re-export: the plug-in API, and the trainer's face over its parts."""


def modules(package: Path) -> dict[str, Path]:
    """Every module of ``package`` by dotted name (a package by its own name)."""
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """Each import statement of module ``name`` that reaches a module of ``known``: (module, names, line)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            names = [alias.name for alias in node.names]
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
            if target in known and len(submodules) < len(names):
                found.append((target, [n for n in names if f"{target}.{n}" not in known], node.lineno))
            found += [(module, [], node.lineno) for module in submodules]
        elif isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names if alias.name in known]
    return [(module, names, line) for module, names, line in found if module != name]


def graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports."""
    known = modules(package)
    return {name: {module for module, _, _ in imports(name, path, known)} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(edges[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def closure(edges: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, at any depth."""
    seen, pending = set(), [start]
    while pending:
        for other in edges[pending.pop()] - seen:
            seen.add(other)
            pending.append(other)
    return seen


@pytest.fixture(scope="module")
def reportgen_graph() -> dict[str, set[str]]:
    return graph(ROOT / "reportgen")


def test_no_module_of_reportgen_is_in_an_import_cycle(reportgen_graph):
    assert cycles(reportgen_graph) == []


def test_the_cycle_check_finds_a_cycle_made_by_an_import_inside_a_function(tmp_path):
    package = write_files(tmp_path / "pkg", {
        "__init__.py": "", "a.py": "from .b import thing\n", "c.py": "",
        "b.py": "from . import c\n\ndef thing():\n    from .a import other\n    return other\n",
    })
    assert cycles(graph(package)) == [["pkg.a", "pkg.b"]]


def test_the_data_model_imports_nothing_that_uses_it(reportgen_graph):
    reached = {f"reportgen.{name}": closure(reportgen_graph, f"reportgen.{name}") for name in DATA_MODEL}
    upward = {name: sorted(found & {f"reportgen.{above}" for above in ABOVE_THE_DATA_MODEL})
              for name, found in reached.items()}
    assert upward == {name: [] for name in reached}


def test_the_core_never_imports_a_built_in_kind(reportgen_graph):
    # The built-in kinds are plug-ins like any other, found through their entry points.
    core = {name: edges for name, edges in reportgen_graph.items() if not name.startswith("reportgen.studies")}
    assert {name: sorted(m for m in edges if m.startswith("reportgen.studies")) for name, edges in core.items()
            if any(m.startswith("reportgen.studies") for m in edges)} == {}


def test_every_name_is_imported_from_the_module_that_defines_it():
    known = modules(ROOT / "reportgen")
    defined = {name: _defined_names(path) for name, path in known.items()}
    relayed = []
    for name, path in known.items():
        for module, names, line in imports(name, path, known):
            if module.rpartition(".")[2] in PUBLIC_FACES:
                continue
            relayed += [f"{path.relative_to(ROOT)}:{line}: {n} from {module}" for n in names
                        if n not in defined[module]]
    assert relayed == []


def _defined_names(path: Path) -> set[str]:
    """The names a module defines at top level (functions, classes, assignments), not those it imports."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names
