"""A stranger's course cannot read your files: only regular files, inside the course, of bounded size.

Every case drives the real command line in a subprocess with a timeout (a FIFO that blocks fails the test instead
of hanging it), from a course whose training would take minutes (a refusal that came after training would run
into that timeout), and asserts exit 2, one line naming the file, and nothing written.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import COURSE, refuse, write_files

SPARSE_SIZE = "1500M"
"""A template's target: 1.5 GB that cost no disk, but 3 GB of memory to anyone who reads it whole."""


@pytest.fixture
def templates(slow_course) -> Path:
    """The slow course's own templates folder (``tpl``, named in course.toml), empty."""
    (slow_course / "course.toml").write_text(COURSE.lstrip() + 'templates = "tpl"\n')
    return write_files(slow_course / "tpl", {})


def refused_everywhere(course: Path, tmp_path: Path, commands=("validate", "build")) -> list[str]:
    """Each command's one-line refusal of ``course``, run from ``tmp_path``, which is left without outputs or store."""
    lines = [refuse(command, "--definitions", course, cwd=tmp_path) for command in commands]
    assert not (tmp_path / "build").exists(), sorted((tmp_path / "build").rglob("*"))
    assert list(tmp_path.rglob(".reportgen-cache")) == []
    return lines


# --------------------------------------------------------------------------- definitions


@pytest.mark.parametrize("name", ["pipe.toml", "course.toml"])
def test_a_fifo_definition_is_refused_without_blocking(slow_course, tmp_path, name):
    (slow_course / name).unlink(missing_ok=True)
    os.mkfifo(slow_course / name)
    for line in refused_everywhere(slow_course, tmp_path):
        assert f"{name}: not a regular file (a FIFO); definitions are read only from regular files" in line


@pytest.mark.parametrize("nesting", [
    "x = " + "[" * 10_000 + "]" * 10_000,  # tomllib recurses per array: the stack runs out inside it
    "x = " + "{ a = " * 2_000 + "1" + " }" * 2_000,
    "a" + ".a" * 3_000 + " = 1",  # parsed without recursion, but 3,000 tables deep for whatever walks them
], ids=["arrays", "inline-tables", "dotted-keys"])
def test_deeply_nested_toml_is_one_line(slow_course, tmp_path, nesting):
    (slow_course / "deep.toml").write_text(nesting + "\n")
    for line in refused_everywhere(slow_course, tmp_path):
        assert "deep.toml: " in line and "nested too deeply (more than 32 levels of arrays and tables)" in line


@pytest.mark.parametrize("old, new, expected", [
    ("steps = 1000000", "steps = " + "9" * 5_000,
     "overfitting.toml: line 7, column 9: invalid TOML: expected a 64-bit integer, got one of more than 4,300 digits"),
    ('"model.degree" = [1, 3]', '"model.degree" = [1, 3]\nseeds = [0, ' + "9" * 30 + "]",
     "overfitting.toml: sweep.seeds[1]: expected a 64-bit integer, got one of 30 digits"),
    ("steps = 1000000", 'steps = 1000000\n"a\\nb" = 1',
     r'overfitting.toml: train."a\nb": expected a key of printable characters, got one with U+000A'),
    ('kind = "overfitting"', '"\\u202e\\u0000" = 1\nkind = "overfitting"',
     r'overfitting.toml: "\u202e\u0000": expected a key of printable characters, got one with U+202E'),
], ids=["integer-too-long-to-convert", "integer-beyond-64-bits", "newline-in-key", "invisible-characters-in-key"])
def test_odd_toml_is_one_line_naming_the_key(slow_course, tmp_path, old, new, expected):
    study = slow_course / "overfitting.toml"
    study.write_text(study.read_text().replace(old, new, 1))
    for line in refused_everywhere(slow_course, tmp_path):
        assert line.endswith(expected), line


# --------------------------------------------------------------------------- templates


def test_a_template_linked_to_proc_mem_is_one_line(templates, slow_course, tmp_path):
    (templates / "intro.html.j2").symlink_to("/proc/self/mem")
    for line in refused_everywhere(slow_course, tmp_path):
        assert "template intro.html.j2" in line and "links outside the templates folders (to /proc/" in line


def test_a_template_that_is_a_fifo_is_refused_not_passed_over(templates, slow_course, tmp_path):
    # Jinja would skip it for the built-in template of the same name, quietly not building what the course says.
    os.mkfifo(templates / "intro.html.j2")
    for line in refused_everywhere(slow_course, tmp_path):
        assert "template intro.html.j2" in line and "not a regular file (a FIFO)" in line


def test_a_huge_linked_template_is_refused_before_reading(templates, slow_course, tmp_path):
    subprocess.run(["truncate", "-s", SPARSE_SIZE, templates / "huge.bin"], check=True)
    (templates / "intro.html.j2").symlink_to("huge.bin")  # inside its folder: only the size is wrong
    validate, build = refused_everywhere(slow_course, tmp_path)
    assert "template intro.html.j2" in validate
    # The build hashes every file of the folder first, the target itself among them.
    assert "template huge.bin" in build
    for line in (validate, build):
        assert "file is 1,536,000 KB, over the limit of 16,384 KB" in line


def test_a_fifo_in_a_templates_folder_is_refused_when_hashed(templates, slow_course, tmp_path):
    # No template includes it, but the build hashes the whole folder for its up-to-date check.
    os.mkfifo(templates / "notes.fifo")
    [line] = refused_everywhere(slow_course, tmp_path, commands=("build",))
    assert "template notes.fifo" in line and "not a regular file (a FIFO)" in line


# --------------------------------------------------------------------------- the bibliography and catalogues


@pytest.mark.parametrize("target", ["fifo", "/proc/self/mem"])
def test_a_bibliography_linking_out_of_the_course_is_refused(templates, slow_course, tmp_path, target):
    if target == "fifo":
        target = tmp_path / "elsewhere.toml"
        os.mkfifo(target)
    (templates / "bibliography.toml").symlink_to(target)
    validate, build = refused_everywhere(slow_course, tmp_path)
    assert "tpl/bibliography.toml: links outside its templates folder" in validate
    assert "template bibliography.toml" in build and "links outside the templates folders" in build


def test_a_catalogue_that_is_a_fifo_is_refused(templates, slow_course, tmp_path):
    os.mkfifo(write_files(templates / "locale" / "es" / "LC_MESSAGES", {}) / "messages.po")
    for line in refused_everywhere(slow_course, tmp_path):
        assert "es/LC_MESSAGES/messages.po" in line and "not a regular file (a FIFO)" in line


def test_deeply_nested_bibliography_is_one_line(templates, slow_course, tmp_path):
    (templates / "bibliography.toml").write_text("x = " + "[" * 10_000 + "]" * 10_000 + "\n")
    [line] = refused_everywhere(slow_course, tmp_path, commands=("validate",))
    assert "tpl/bibliography.toml: invalid TOML: nested too deeply" in line
