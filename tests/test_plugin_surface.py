"""``reportgen.plugin`` is the whole API of a kind: public names only, each documented, and no second way in."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys

import reportgen.plugin as plugin

from .conftest import ROOT

GUIDE = ROOT / "docs" / "writing-a-kind.md"
ALIASES = ("PositiveFloat", "NonNegativeFloat")
"""Annotated types: documented in the guide, as they carry no docstring of their own."""


def test_every_name_the_plugin_api_exports_is_public_defined_elsewhere_and_documented():
    guide = GUIDE.read_text()
    for name in plugin.__all__:
        value = getattr(plugin, name)
        # `_` is gettext's conventional name for "translate", the one underscore a kind author expects.
        assert name == "_" or not name.startswith("_"), name
        assert f"`{name}" in guide, f"{name} is not in {GUIDE.name}"
        if name not in ALIASES:
            assert inspect.getdoc(value), f"{name} has no docstring"
            home = importlib.import_module(value.__module__)
            assert getattr(home, name) is value and not value.__name__.startswith("__")


def test_every_field_of_a_kind_is_documented_in_its_docstring_and_the_guide():
    source = inspect.getsource(plugin.Kind)
    guide = GUIDE.read_text()
    for field in plugin.Kind.__dataclass_fields__:
        assert f"    {field}:" in source and f"`{field}`" in guide, field
    body = ast.parse(source).body[0].body
    documented = {node.target.id for node, after in zip(body, body[1:])
                  if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr)}
    assert documented == set(plugin.Kind.__dataclass_fields__)


def test_importing_the_plugin_api_loads_neither_torch_nor_matplotlib():
    # A kind's module imports it for Kind: listing or validating a course must stay fast.
    probe = "import sys, reportgen.plugin; print(sorted({'torch', 'matplotlib'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "[]\n"
    assert plugin.plot.__module__ == "reportgen.figures"
