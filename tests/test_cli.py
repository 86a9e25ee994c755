"""The command line: help, list, validate, clean, and a fast start that never loads torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import EXPERIMENTS, run_reportgen

HEAVY = ("torch", "matplotlib", "weasyprint")


@pytest.mark.parametrize("command", [[], ["build"], ["list"], ["validate"], ["clean"]])
def test_every_command_explains_its_options(command):
    result = run_reportgen(*command, "--help")
    assert result.returncode == 0
    assert "Usage: reportgen" in result.stdout
    if command:
        assert "--definitions" in result.stdout


def test_build_help_names_its_options():
    text = run_reportgen("build", "--help").stdout
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
    result = run_reportgen("list", "--definitions", EXPERIMENTS)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "kind", "runs", "title"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(rows) == ["overfitting", "regularization", "prior", "capacity"]
    assert [rows[s][2] for s in rows] == ["36", "18", "48", "24"]
    assert "Overfitting: polynomial degree and noise" in result.stdout


def test_validate_accepts_the_shipped_definitions():
    result = run_reportgen("validate", "--definitions", EXPERIMENTS)
    assert result.returncode == 0
    assert "4 studies, 126 runs" in result.stdout


def test_python_dash_m_is_the_same_program():
    via_module = run_reportgen("list", "--definitions", EXPERIMENTS)
    via_script = subprocess.run([sys.executable, "-c", "from reportgen.cli import main; main()", "list",
                                 "--definitions", str(EXPERIMENTS)], capture_output=True, text=True)
    # Both must succeed: two crashes with the same (empty) output are not the same program.
    assert via_module.returncode == 0 and via_script.returncode == 0, via_module.stderr + via_script.stderr
    assert "overfitting" in via_module.stdout
    assert via_module.stdout == via_script.stdout


def built_outputs(out: Path) -> dict[str, bytes]:
    """Outputs written by reportgen's own publish, manifest and build-info included; their bytes."""
    from reportgen.publish import publish

    files = {"report.html": b"<html>report</html>\n", "report.pdf": b"%PDF-1.7 report\n", "results.json": b"{}\n"}
    publish(out, files, "inputs", extras={"build-info.json": b"{}\n"})
    return files


def a_store(folder: Path) -> Path:
    """A result store as the store makes it: its marker file at the root."""
    from reportgen.cache import STORE_MARKER

    (folder / "ab").mkdir(parents=True)
    (folder / "ab" / "abcd.npz").write_bytes(b"entry")
    (folder / STORE_MARKER).write_text("")
    return folder


def test_clean_removes_what_reportgen_wrote_and_with_cache_a_marked_store(tmp_path):
    out, cache = tmp_path / "build", a_store(tmp_path / "store")
    built_outputs(out)
    result = run_reportgen("clean", "--out", out)
    assert result.returncode == 0, result.stderr
    assert not out.exists() and cache.exists()
    built_outputs(out)
    result = run_reportgen("clean", "--out", out, "--cache", "--cache-dir", cache)
    assert result.returncode == 0, result.stderr
    assert not out.exists() and not cache.exists()


def test_clean_in_a_folder_reportgen_never_built_keeps_the_users_files_and_says_so(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    mine = {"report.pdf": b"my own report", "results.json": b"[1, 2]", "build-info.json": b"{}", "index.md": b"# me"}
    for name, data in mine.items():
        (docs / name).write_bytes(data)
    result = run_reportgen("clean", "--out", "docs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {p.name: p.read_bytes() for p in docs.iterdir()} == mine
    for name in ("report.pdf", "results.json", "build-info.json"):
        assert f"kept docs/{name}: not written by reportgen (no manifest entry)" in result.stdout
    assert "kept 1 other entry in docs: index.md" in result.stdout


def test_clean_keeps_an_output_changed_since_reportgen_wrote_it(tmp_path):
    out = tmp_path / "docs"
    built_outputs(out)
    (out / "report.html").write_text("<html>edited by hand</html>\n")
    (out / "notes.txt").write_text("mine\n")
    result = run_reportgen("clean", "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"kept {out / 'report.html'}: changed since reportgen wrote it" in result.stdout
    assert (out / "report.html").read_text() == "<html>edited by hand</html>\n"
    assert (out / "notes.txt").read_text() == "mine\n"
    assert not (out / "report.pdf").exists() and not (out / "results.json").exists()
    # The manifest stays with the output it describes: a second clean still knows that file was reportgen's.
    assert (out / ".reportgen-manifest.json").exists()
    assert f"kept {out / 'report.html'}: changed since" in run_reportgen("clean", "--out", out).stdout


def test_clean_cache_refuses_a_folder_that_is_not_a_result_store_and_deletes_nothing(tmp_path):
    out, folder = tmp_path / "build", tmp_path / "photos"
    files = built_outputs(out)
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"jpeg")
    result = run_reportgen("clean", "--out", out, "--cache", "--cache-dir", folder)
    assert result.returncode == 2
    assert result.stderr.strip() == f"Error: {folder}: not a reportgen result store (no .reportgen-store file in " \
                                    "it); left it as it is"
    assert (folder / "holiday.jpg").read_bytes() == b"jpeg"
    assert {name: (out / name).read_bytes() for name in files} == files


def test_clean_removes_the_stage_and_temporary_files_of_a_killed_build(tmp_path):
    from reportgen.publish import MARKER, marker_bytes

    out = tmp_path / "build"
    built_outputs(out)
    (out / "notes.txt").write_text("mine\n")
    (out / ".report.pdf.k1ll3d_x.tmp").write_bytes(b"half a pdf")
    stage = tmp_path / ".build.reportgen-stage-0badf00d"
    stage.mkdir()
    (stage / MARKER).write_bytes(marker_bytes(stage.name, ["report.pdf"]))  # as a killed publish of ours left it
    (stage / "report.pdf").write_bytes(b"a whole new pdf")
    (stage / "figures").mkdir()  # the user's subfolder, taken into the stage just before the kill
    (stage / "figures" / "a.svg").write_text("<svg/>")
    result = run_reportgen("clean", "--out", out)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"]
    assert sorted(p.name for p in out.iterdir()) == ["figures", "notes.txt"]
    assert (out / "figures" / "a.svg").read_text() == "<svg/>"
