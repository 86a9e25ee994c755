"""Study kinds are plug-ins: one registry, found through entry points; the core names no kind."""

from __future__ import annotations

import ast
import re
from importlib import metadata
from pathlib import Path

import pytest

from reportgen import kinds
from reportgen.codehash import files_digest, module_closure

from .conftest import ROOT, run_reportgen, write_files
from .support import course_using, fake_distribution

BUILT_IN = ("capacity", "overfitting", "prior", "regularization")
SCHEMA = (
    "from typing import Literal\nfrom reportgen.plugin import Kind, StudyFields\n\n"
    "class BrokenFile(StudyFields):\n    kind: Literal['broken']\n\n"
)
"""The head of a one-module plug-in: its schema, then a KIND that each test gets wrong in one way."""
KIND_NAME = re.compile(r"\b(overfitting|regularization|prior|capacity)\b", re.I)


def test_built_in_kinds_register_through_the_public_entry_point_group():
    points = {p.name: p.value for p in metadata.entry_points(group="reportgen.study_kinds") if p.name in BUILT_IN}
    assert points == {name: f"reportgen.studies.{name}:KIND" for name in BUILT_IN}
    for name in BUILT_IN:
        kind = kinds.get(name)
        assert kind.name == name and kinds.kind_problem(kind, name) is None


def _core_sources() -> list[Path]:
    """reportgen's modules outside the built-in kinds' own package, and the report's shared templates."""
    package = ROOT / "reportgen"
    modules = [p for p in package.rglob("*.py") if "studies" not in p.relative_to(package).parts]
    shared = [p for p in (ROOT / "templates").glob("*.j2")]
    return modules + shared


def _names_in_python(path: Path) -> list[tuple[int, str]]:
    """Kind names a module spells in code: string literals equal to one, identifiers containing one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in BUILT_IN:
            found.append((node.lineno, repr(node.value)))
        elif isinstance(node, (ast.Name, ast.Attribute, ast.alias, ast.ClassDef, ast.FunctionDef)):
            name = getattr(node, "id", None) or getattr(node, "attr", None) or getattr(node, "name", "")
            if KIND_NAME.search(re.sub(r"(?<!^)(?=[A-Z])", " ", name).replace("_", " ")):
                found.append((getattr(node, "lineno", 0), name))
    return found


def test_no_core_module_or_shared_template_names_a_study_kind():
    offenders = []
    for path in _core_sources():
        if path.suffix == ".py":
            offenders += [f"{path.name}:{line}: {name}" for line, name in _names_in_python(path)]
        else:
            # A template may mention the words in prose; what it must not do is compare or include by kind.
            for line_no, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(r"""kind\s*(==|!=|is)|["'](overfitting|regularization|prior|capacity)["']""", line):
                    offenders.append(f"{path.name}:{line_no}: {line.strip()[:80]}")
    assert offenders == []


def test_the_scan_would_catch_a_kind_named_in_core_code(tmp_path):
    # Not vacuous: the same scan flags the patterns the core used to have.
    sample = tmp_path / "sample.py"
    sample.write_text('if kind == "prior":\n    schema = PriorStudyFile\n')
    assert [name for _, name in _names_in_python(sample)] == ["'prior'", "PriorStudyFile"]


def test_unknown_kind_is_refused_with_a_suggestion_over_the_installed_kinds(tmp_path):
    course = write_files(tmp_path / "c", {"course.toml": 'title = "T"\nstudies = ["s"]\n',
                                          "s.toml": 'kind = "capacty"\ntitle = "S"\n'})
    result = run_reportgen("validate", "--definitions", course)
    assert result.returncode == 2
    assert "s.toml: kind: expected one of the installed kinds 'capacity', 'overfitting'" in result.stderr
    assert "got \"capacty\" (did you mean 'capacity'?)" in result.stderr


def test_plug_in_that_fails_to_import_is_one_line_naming_it(tmp_path):
    env = fake_distribution(tmp_path / "site", "import a_module_that_is_not_there\n")
    course = course_using(tmp_path, "broken")
    out = tmp_path / "out"
    result = run_reportgen("build", "--definitions", course, "--out", out, env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "study kind 'broken' cannot be loaded (plug-in brokenkind, entry point broken = brokenkind:KIND)" in lines[0]
    assert "ModuleNotFoundError" in lines[0]
    assert not out.exists()


@pytest.mark.parametrize("source, problem", [
    ("class Half:\n    name = 'broken'\n\nKIND = Half()\n", "expected a reportgen.plugin.Kind, got Half"),
    (SCHEMA + "KIND = Kind(name='broken', schema=BrokenFile, analysis='brokenkind:f', template='t.html.j2')\n",
     "it names no run function (run = \"module:function\") and does not override compute"),
    (SCHEMA + "KIND = Kind(name='broken', schema=BrokenFile, run='brokenkind.f', analysis='brokenkind:f', "
              "template='t.html.j2')\n", "run: expected \"module:function\", got 'brokenkind.f'"),
    (SCHEMA + "KIND = Kind(name='broken', schema=BrokenFile, run='nowhere_at_all:f', analysis='brokenkind:f', "
              "template='t.html.j2')\n", "run: no module nowhere_at_all is installed"),
])
def test_plug_in_that_is_not_a_usable_kind_is_one_line_naming_what_is_wrong(tmp_path, source, problem):
    env = fake_distribution(tmp_path / "site", source)
    course = course_using(tmp_path, "broken")
    result = run_reportgen("validate", "--definitions", course, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "study kind 'broken' is not a usable kind (plug-in brokenkind" in result.stderr
    assert result.stderr.strip().endswith(problem)


def test_installed_plug_in_kinds_are_listed_without_importing_them(tmp_path):
    env = fake_distribution(tmp_path / "site", "raise SystemExit('imported')\n")
    course = course_using(tmp_path, "capacty")
    result = run_reportgen("validate", "--definitions", course, env=env)
    # The broken plug-in is offered as a name, and nothing imported it: no course uses it.
    assert "'broken', 'capacity'" in result.stderr and "imported" not in result.stderr


def test_code_hash_follows_imports_so_no_file_list_is_kept_by_hand(tmp_path, monkeypatch):
    write_files(tmp_path, {"mykind/__init__.py": "", "mykind/analysis.py": "from . import helpers\n",
                           "mykind/helpers.py": "from .deep import thing\n", "mykind/deep.py": "thing = 1\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    files = module_closure("mykind.analysis")
    assert {p.name for p in files if "mykind" in p.parts} == {"__init__.py", "analysis.py", "helpers.py", "deep.py"}
    before = files_digest(files)
    (tmp_path / "mykind" / "deep.py").write_text("thing = 2\n")
    assert files_digest(files) != before


def test_analysis_key_covers_the_kind_module_and_what_it_imports():
    from reportgen.plan import analysis_code_version, code_version

    analysis = {p.name for p in kinds.code_files(kinds.get("overfitting").analysis_module)}
    assert {"overfitting_analysis.py", "regression.py", "figures.py", "results.py"} <= analysis
    computing = {p.name for p in kinds.code_files(kinds.get("overfitting").compute_module)}
    assert {"trained.py", "schedule.py", "data.py", "expr.py"} <= computing
    assert "figures.py" not in computing  # redrawing a figure must not retrain
    # Kinds that train the same models share their runs' code, hence their cached runs.
    assert code_version(kinds.get("overfitting")) == code_version(kinds.get("capacity"))
    assert analysis_code_version(kinds.get("overfitting")) != analysis_code_version(kinds.get("capacity"))


@pytest.mark.parametrize("name", BUILT_IN)
def test_a_fully_cached_kind_loads_without_torch(name):
    import subprocess
    import sys

    probe = f"import sys; from reportgen import kinds; kinds.get({name!r}); print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"


def test_a_name_taken_from_the_plugin_api_is_hashed_with_the_module_that_defines_it(tmp_path, monkeypatch):
    write_files(tmp_path, {"leankind/__init__.py": "",
                           "leankind/runs.py": "from reportgen.plugin import Kind, make_dataset\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    names = {p.relative_to(p.parent.parent).as_posix() for p in kinds.code_files("leankind.runs")}
    # The registry and the data recipe, not the API's other homes: editing a figure helper recomputes no run.
    assert {"reportgen/kinds.py", "reportgen/data.py"} <= names
    assert not names & {"reportgen/plugin.py", "reportgen/figures.py", "reportgen/results.py", "reportgen/render.py"}

