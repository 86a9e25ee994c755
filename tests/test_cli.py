"""The command line: help, list, validate, clean, and a fast start that never loads torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import EXPERIMENTS
from .test_build import reportgen

HEAVY = ("torch", "matplotlib", "weasyprint")


@pytest.mark.parametrize("command", [[], ["build"], ["list"], ["validate"], ["clean"]])
def test_every_command_explains_its_options(command):
    result = reportgen(*command, "--help")
    assert result.returncode == 0
    assert "Usage: reportgen" in result.stdout
    if command:
        assert "--definitions" in result.stdout


def test_build_help_names_its_options():
    text = reportgen("build", "--help").stdout
    for option in ("--out", "--cache", "--no-cache", "--quiet", "--timings", "STUDIES"):
        assert option in text


@pytest.mark.parametrize("args", [["--help"], ["list", "--definitions", str(EXPERIMENTS)],
                                  ["validate", "--definitions", str(EXPERIMENTS)],
                                  ["check", "--definitions", str(EXPERIMENTS), "--out", "no-such-build-folder"]])
def test_fast_commands_do_not_import_torch_matplotlib_or_weasyprint(args):
    probe = ("import sys\nfrom reportgen.cli import main\n"
             "try:\n    main(args=sys.argv[1:], prog_name='reportgen')\nexcept SystemExit:\n    pass\n"
             f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])\n")
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60)
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


def test_list_shows_id_kind_title_and_run_count():
    result = reportgen("list", "--definitions", EXPERIMENTS)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "kind", "runs", "title"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(rows) == ["overfitting", "regularization", "prior", "capacity"]
    assert [rows[s][2] for s in rows] == ["36", "18", "48", "24"]
    assert "Overfitting: polynomial degree and noise" in result.stdout


def test_validate_accepts_the_shipped_definitions():
    result = reportgen("validate", "--definitions", EXPERIMENTS)
    assert result.returncode == 0
    assert "4 studies, 126 runs" in result.stdout


def test_python_dash_m_is_the_same_program():
    via_module = reportgen("list", "--definitions", EXPERIMENTS).stdout
    via_script = subprocess.run([sys.executable, "-c", "from reportgen.cli import main; main()", "list",
                                 "--definitions", str(EXPERIMENTS)], capture_output=True, text=True).stdout
    assert via_module == via_script


def test_clean_removes_outputs_and_with_cache_the_store(tmp_path):
    out, cache = tmp_path / "build", tmp_path / "store"
    out.mkdir()
    cache.mkdir()
    for name in ("report.html", "report.pdf", "results.json"):
        (out / name).write_text("x")
    (cache / "entry").write_text("x")
    assert reportgen("clean", "--out", out).returncode == 0
    assert not out.exists() and cache.exists()
    assert reportgen("clean", "--out", out, "--cache", "--cache-dir", cache).returncode == 0
    assert not cache.exists()
