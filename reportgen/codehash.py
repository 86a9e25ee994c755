"""Which source files a piece of code is made of, found from its imports, and their hash.

Cache keys cover the code that made an entry. Listing those files by hand
goes stale the day someone adds a module; reading the ``import`` statements
of a module, and of the modules they name, does not.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from .pyparse import parse

OWN_PACKAGE = __name__.split(".")[0]


def module_closure(name: str) -> list[Path]:
    """Source files of module ``name`` and of every module it imports, at any depth, from its own top-level
    package or from reportgen (libraries are covered by their versions instead), sorted."""
    return sorted(set(_closure(name).values()))


def module_names(name: str) -> tuple[str, ...]:
    """The names of the modules in :func:`module_closure` of ``name``, sorted: what a worker running its code
    imports from those packages."""
    return tuple(sorted(_closure(name)))


@lru_cache(maxsize=None)
def _closure(name: str) -> dict[str, Path]:
    roots = {name.split(".")[0], OWN_PACKAGE}
    found: dict[str, Path] = {}
    pending = [name]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        path = _source(current)
        if path is None:
            continue
        found[current] = path
        pending += [current.rsplit(".", depth)[0] for depth in range(1, current.count(".") + 1)]  # its packages
        is_package = path.name == "__init__.py"
        for imported in _imports(path, current, is_package):
            if imported.split(".")[0] in roots and imported not in found:
                pending.append(imported)
    return found


def files_digest(paths: list[Path]) -> str:
    """A short hash of the files' names and contents (names relative to their package, so any install agrees)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.parent.name}/{path.name}".encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _source(name: str) -> Path | None:
    """The file of module ``name``, found on disk without importing it (importing could load torch)."""
    root, _, rest = name.partition(".")
    folder = _package_folder(root)
    if folder is None:
        return None
    base = folder.joinpath(*rest.split(".")) if rest else folder
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=None)
def _package_folder(root: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(root)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=None)
def _imports(path: Path, module: str, is_package: bool) -> tuple[str, ...]:
    """Absolute names of the modules ``path`` imports, including ``from pkg import submodule``.

    A name taken from a module that only passes it on (``reportgen.plugin``) counts as taken from the module that
    defines it: a kind that imports ``Kind`` from the plug-in API depends on the registry, not on everything the
    API re-exports. Once per file and process: kinds share most of their closures, and a no-op rebuild hashes
    every kind's.
    """
    names = []
    for node in _statements(parse(path.read_bytes(), filename=str(path)).body):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, is_package)
            # Homes are looked for in the packages whose code is hashed: a library's own re-exports do not matter.
            hashed = source.split(".")[0] in (OWN_PACKAGE, module.split(".")[0])
            homes = {_home(source, alias.name) for alias in node.names if alias.name != "*"} if hashed else set()
            names += sorted(homes) if homes and source not in homes else [source]
            # ``from . import cache`` names a module, not an attribute; find_spec tells which.
            names += [f"{source}.{alias.name}" for alias in node.names if alias.name != "*"]
    return tuple(names)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute name of the module a ``from … import`` statement of ``module`` reads."""
    if not node.level:
        return node.module or ""
    package = module if is_package else module.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _home(module: str, name: str) -> str:
    """The module that defines ``name`` as ``module`` offers it: ``module`` itself, unless it imports the name
    from another module at its top level (also for type checkers only), then that module's home."""
    source = _relayed(module).get(name)
    return module if source is None else _home(source, name)


@lru_cache(maxsize=None)
def _relayed(module: str) -> dict[str, str]:
    """The names ``module`` imports at its top level (under ``if TYPE_CHECKING:`` too), each with the module it
    takes it from; read once per module and process."""
    path = _source(module)
    if path is None:
        return {}
    found = {}
    for node in parse(path.read_bytes(), filename=str(path)).body:
        nodes = node.body if isinstance(node, ast.If) and _type_checking(node) else [node]
        for statement in nodes:
            if isinstance(statement, ast.ImportFrom):
                source = _absolute(statement, module, path.name == "__init__.py")
                found.update({alias.name: source for alias in statement.names if alias.asname is None})
    return found


def _type_checking(node: ast.If) -> bool:
    """Whether ``node`` is ``if TYPE_CHECKING:``: imports only a type checker reads."""
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(nodes) -> Iterator[ast.AST]:
    """Every statement that can run, nested ones included (function bodies, branches, handlers), but not those
    under ``if TYPE_CHECKING:``: imports are statements, so the expressions, most of a module's nodes, need not be
    visited."""
    for node in nodes:
        yield node
        if isinstance(node, ast.If) and _type_checking(node):
            yield from _statements(node.orelse)
            continue
        for block in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, block, ())
            if isinstance(children, list):
                yield from _statements(children)
