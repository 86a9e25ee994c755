"""A tool that travels: a course folder builds where it stands, and a wheel builds the lecture with no checkout."""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from reportgen.build import default_cache
from reportgen.discover import builtin_templates, find_definitions, lecture_definitions

from .conftest import EXPERIMENTS, OUTPUTS, ROOT, run_reportgen

TEMPLATES = ROOT / "templates"
LECTURE_STUDIES = ["overfitting", "regularization", "prior", "capacity"]


def one_line(text: str) -> str:
    """The only line of ``text``; fails when there are more."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def shipped_definitions() -> dict[str, bytes]:
    """The checkout's lecture definitions, by file name."""
    return {path.name: path.read_bytes() for path in sorted(EXPERIMENTS.glob("*.toml"))}


# --------------------------------------------------------------------------- a course folder that builds in place


def test_init_writes_a_course_that_validates_builds_and_cleans_where_it_stands(tmp_path):
    init = run_reportgen("init", "course", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "build it with: cd course && reportgen build" in init.stdout
    course = tmp_path / "course"
    assert sorted(p.name for p in course.iterdir()) == [".gitignore", "course.toml", "overfitting.toml"]
    assert {"build/", ".reportgen-cache/"} <= set((course / ".gitignore").read_text().splitlines())

    validate = run_reportgen("validate", cwd=course)
    assert validate.returncode == 0, validate.stderr
    assert "1 studies, 6 runs" in validate.stdout
    fast = ("--set", "train.steps=30")
    build = run_reportgen("build", *fast, "--quiet", cwd=course)
    assert build.returncode == 0, build.stderr
    for name in OUTPUTS:
        assert (course / "build" / name).is_file(), name
    assert (course / ".reportgen-cache").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["course"], "nothing lands beside the course folder"
    check = run_reportgen("check", *fast, cwd=course)
    assert check.returncode == 0, check.stderr

    clean = run_reportgen("clean", "--cache", cwd=course)
    assert clean.returncode == 0, clean.stderr
    assert not (course / "build").exists() and not (course / ".reportgen-cache").exists()


@pytest.mark.parametrize("command", ["build", "check", "list", "validate"])
def test_a_command_where_there_is_no_course_exits_2_with_one_line_and_writes_nothing(tmp_path, command):
    result = run_reportgen(command, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_line(result.stderr)
    assert "no course.toml here or in ./experiments" in line
    assert "reportgen init DIR" in line and "--definitions" in line
    assert list(tmp_path.iterdir()) == []


def test_the_definitions_are_course_toml_here_before_experiments_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_definitions() is None
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "course.toml").write_text("")
    assert find_definitions() == Path("experiments")
    (tmp_path / "course.toml").write_text("")
    assert find_definitions() == Path(".")


def test_the_store_lands_inside_a_course_built_in_place_and_beside_its_definitions_otherwise(tmp_path, monkeypatch):
    (tmp_path / "course").mkdir()
    monkeypatch.chdir(tmp_path / "course")
    assert default_cache(Path(".")) == (tmp_path / "course" / ".reportgen-cache").resolve()
    monkeypatch.chdir(tmp_path)
    assert default_cache(Path("course")) == (tmp_path / ".reportgen-cache").resolve()
    monkeypatch.chdir(ROOT)
    assert default_cache(Path("experiments")) == ROOT.resolve() / ".reportgen-cache"
    assert default_cache(None) == ROOT.resolve() / ".reportgen-cache"


# --------------------------------------------------------------------------- init


def test_init_lecture_writes_byte_identical_copies_of_the_shipped_definitions(tmp_path):
    result = run_reportgen("init", "lecture", "--lecture", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "lecture"
    assert {p.name: p.read_bytes() for p in sorted(folder.glob("*.toml"))} == shipped_definitions()
    assert sorted(p.name for p in folder.iterdir()) == sorted([".gitignore", *shipped_definitions()])
    validate = run_reportgen("validate", cwd=folder)
    assert validate.returncode == 0 and "4 studies, 126 runs" in validate.stdout, validate.stderr


@pytest.mark.parametrize("flags", [[], ["--lecture"]], ids=["minimal", "lecture"])
def test_init_refuses_a_folder_that_is_not_empty_and_touches_nothing(tmp_path, flags):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("mine")
    result = run_reportgen("init", folder, *flags)
    assert result.returncode == 2
    assert "not empty (holds todo.txt); choose an empty folder" in one_line(result.stderr)
    assert [p.name for p in folder.iterdir()] == ["todo.txt"] and (folder / "todo.txt").read_text() == "mine"


def test_init_accepts_a_folder_that_holds_only_a_git_repository(tmp_path):
    (tmp_path / "course" / ".git").mkdir(parents=True)
    result = run_reportgen("init", "course", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "course" / "course.toml").is_file()


# --------------------------------------------------------------------------- the wheel


def test_pyproject_lists_every_subpackage_of_the_checkout():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "reportgen").rglob("__init__.py")}
    missing = found - listed
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml: the wheel lacks them"


def test_the_checkout_finds_its_own_templates_and_lecture():
    assert builtin_templates() == TEMPLATES and lecture_definitions() == EXPERIMENTS


def _source_copy(destination: Path) -> Path:
    # Build from a copy: an in-tree build writes build/ and *.egg-info into the checkout, and build/ is the report's.
    def ignore(folder: str, names: list[str]) -> set[str]:
        junk = {".git", ".venv", "__pycache__", ".pytest_cache", ".reportgen-cache"}
        if Path(folder) == ROOT:
            junk |= {"build", "dist"}
        return {name for name in names if name in junk or name.endswith(".egg-info")}

    shutil.copytree(ROOT, destination, ignore=ignore)
    return destination


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from the checkout's files, offline, with the setuptools of this environment."""
    root = tmp_path_factory.mktemp("wheel")
    source = _source_copy(root / "source")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--wheel-dir", root / "dist", source], check=True, capture_output=True, timeout=300)
    (built,) = (root / "dist").glob("reportgen-*.whl")
    return built


def test_the_wheel_ships_every_module_template_lecture_file_and_kernel(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"reportgen/{p.relative_to(ROOT / 'reportgen').as_posix()}" for p in (ROOT / "reportgen").rglob("*")
                if p.is_file() and p.suffix in {".py", ".c", ".h", ".po", ".pot"} and "__pycache__" not in p.parts}
    expected |= {f"reportgen/templates/{p.relative_to(TEMPLATES).as_posix()}" for p in TEMPLATES.rglob("*")
                 if p.is_file()}
    expected |= {f"reportgen/lecture/{name}" for name in shipped_definitions()}
    assert not expected - names, f"missing from the wheel: {sorted(expected - names)}"
    assert not {n for n in names if n.startswith(("templates/", "experiments/"))}, "data outside the package"


def _fresh_environment(folder: Path) -> tuple[Path, dict[str, str]]:
    """A new virtual environment at ``folder`` that resolves reportgen's dependencies from this one, not reportgen."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", folder], check=True, timeout=120)
    python = folder / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # A path in a .pth file is only appended to sys.path: this environment's own .pth files (the editable install
    # of the checkout among them) are not run, and the fresh site-packages comes first.
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (Path(site) / "_reportgen_test_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    env["PYTHONNOUSERSITE"] = "1"
    return Path(site), env


def test_the_installed_wheel_builds_the_lecture_quick_profile_with_no_checkout(wheel, tmp_path):
    site, env = _fresh_environment(tmp_path / "fresh")
    python, reportgen = tmp_path / "fresh" / "bin" / "python", tmp_path / "fresh" / "bin" / "reportgen"
    subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
                    "--no-index", wheel], check=True, capture_output=True, timeout=300, env=env)
    where = subprocess.run([python, "-c", "import reportgen.discover as d; print(d.__file__); "
                            "print(d.builtin_templates()); print(d.lecture_definitions())"],
                           check=True, capture_output=True, text=True, cwd=tmp_path, env=env).stdout.split()
    package = site.resolve() / "reportgen"
    assert [Path(p).resolve() for p in where] == [package / "discover.py", package / "templates", package / "lecture"]

    init = subprocess.run([reportgen, "init", "c", "--lecture"], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=60)
    assert init.returncode == 0, init.stderr
    course = tmp_path / "c"
    build = subprocess.run([reportgen, "build", "--profile", "quick", "--quiet"], capture_output=True, text=True,
                           cwd=course, env=env, timeout=300)
    assert build.returncode == 0, build.stderr
    for name in OUTPUTS:
        assert (course / "build" / name).is_file(), name
    assert (course / ".reportgen-cache").is_dir()
    results = json.loads((course / "build" / "results.json").read_text())
    assert [study["id"] for study in results["studies"]] == LECTURE_STUDIES
    report = (course / "build" / "report.html").read_text()
    for study in LECTURE_STUDIES:
        title = tomllib.loads((EXPERIMENTS / f"{study}.toml").read_text())["title"]
        title = title["en"] if isinstance(title, dict) else title  # the English edition of a bilingual title
        assert html.escape(title) in report, title
