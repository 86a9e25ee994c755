"""Publishing: a kill never mixes two reports, the user's own files survive, and what a kill leaves is removed.

Kills are real SIGKILLs of a child Python process that wraps
``reportgen.publish.exchange`` (the atomic swap) to kill itself just before
or just after it; nothing in the product code knows about tests.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reportgen.build import staleness
from reportgen.errors import BuildError
from reportgen.outputs import MANIFEST
from reportgen.publish import MARKER, STAGE_INFIX, publish

from .conftest import OUTPUTS, in_mount_namespace, run_reportgen

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers


def version(n: int, size: int = 2000) -> dict[str, bytes]:
    """The outputs of build number ``n``, ``size`` bytes each: every line says which build wrote it."""
    lines = {name: f"{name} of build {n}\n".encode() for name in OUTPUTS}
    return {name: (line * (size // len(line) + 1))[:size] for name, line in lines.items()}


def write_version(out: Path, n: int, size: int = 2000) -> None:
    publish(out, version(n, size), f"digest-{n}", extras={"build-info.json": f'{{"build": {n}}}\n'.encode()})


def whole_build(out: Path) -> str:
    """The digest of the one build every output in ``out`` comes from; fails on a mixed folder."""
    manifest = json.loads((out / MANIFEST).read_text())
    present = [name for name in OUTPUTS if (out / name).exists()]
    assert sorted(present) == sorted(manifest["outputs"]), f"outputs {present} but manifest {manifest['outputs']}"
    for name in present:
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == manifest["outputs"][name], \
            f"{name} is not from the build the manifest describes"
    builds = {(out / name).read_text().split("of build ")[1].split()[0] for name in present}
    builds.add(str(json.loads((out / "build-info.json").read_text())["build"]))
    assert builds == {manifest["inputs"].removeprefix("digest-")}, f"outputs of builds {builds} side by side"
    return manifest["inputs"]


def litter(out: Path) -> list[str]:
    """Whatever a publish leaves that is neither an output nor the user's: stage folders, markers, temporaries."""
    found = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}{STAGE_INFIX}")]
    if out.is_dir():
        found += [p.name for p in out.iterdir() if p.name == MARKER or p.name.endswith(".tmp")]
    return found


def add_user_entries(out: Path) -> dict[str, bytes]:
    """The user's own files and a subfolder in the output folder; what each should still hold."""
    (out / "notes.txt").write_text("my notes\n")
    (out / "img").mkdir()
    (out / "img" / "logo.svg").write_text("<svg/>\n")
    (out / "img" / "deep").mkdir()
    (out / "img" / "deep" / "x.txt").write_text("x\n")
    (out / ".hidden").write_text("mine too\n")
    return {"notes.txt": b"my notes\n", "img/logo.svg": b"<svg/>\n", "img/deep/x.txt": b"x\n",
            ".hidden": b"mine too\n"}


def assert_user_entries(out: Path, expected: dict[str, bytes]) -> None:
    for name, data in expected.items():
        assert (out / name).read_bytes() == data, name


def python(code: str, *args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


KILL_AROUND_EXCHANGE = """
    import os, signal, sys
    import reportgen.publish as publish

    original = publish.exchange

    def exchange(a, b):
        if sys.argv[1] == "before_swap":
            os.kill(os.getpid(), signal.SIGKILL)
        original(a, b)
        os.kill(os.getpid(), signal.SIGKILL)

    publish.exchange = exchange
"""


# --------------------------------------------------------------------------- killed publishes


@pytest.mark.parametrize("when", ["before_swap", "after_swap"])
def test_publish_killed_around_the_swap_leaves_one_whole_report_and_clean_leaves_no_litter(tmp_path, when):
    out = tmp_path / "docs"
    out.mkdir()
    user = add_user_entries(out)
    write_version(out, 1)
    killed = python(KILL_AROUND_EXCHANGE + """
    from pathlib import Path
    from tests.test_publish import write_version
    write_version(Path(sys.argv[2]), 2)
    """, when, out, cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    assert whole_build(out) == ("digest-1" if when == "before_swap" else "digest-2")
    assert litter(out), "the kill left nothing to recover: it did not happen where this test means it to"
    # The user's files never leave the folder; their subfolders join the new one before the swap.
    assert_user_entries(out, {k: v for k, v in user.items() if when == "after_swap" or "/" not in k})

    result = run_reportgen("clean", "--out", out)
    assert result.returncode == 0, result.stderr
    assert litter(out) == []
    assert not any((out / name).exists() for name in (*OUTPUTS, MANIFEST, "build-info.json"))
    assert_user_entries(out, user)


@pytest.fixture(scope="module")
def small_course(tmp_path_factory):
    """A one-study course, built once into ``first`` with a warm store."""
    root = tmp_path_factory.mktemp("small")
    assert run_reportgen("init", root / "course").returncode == 0
    args = ["--definitions", root / "course", "--cache", root / "cache", "--jobs", "1", "--set", "train.steps=200"]
    result = run_reportgen("build", "--out", root / "first", "--quiet", *args)
    assert result.returncode == 0, result.stderr
    return root, args


@pytest.mark.parametrize("when", ["before_swap", "after_swap"])
def test_build_killed_around_the_swap_leaves_one_whole_report_and_the_next_build_no_litter(small_course, tmp_path,
                                                                                           when):
    root, args = small_course
    out = tmp_path / "build"
    shutil.copytree(root / "first", out)
    user = add_user_entries(out)
    second = [*map(str, args), "--set", "overfitting.title=The second build"]
    killed = python(KILL_AROUND_EXCHANGE + """
    from reportgen.cli import main
    main(["build", "--out", sys.argv[2], "--quiet", *sys.argv[3:]])
    """, when, out, *second)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert litter(out)
    title_shown = "The second build" in (out / "report.html").read_text()
    assert title_shown == (when == "after_swap")
    whole_report(out)

    result = run_reportgen("build", "--out", out, *second)
    assert result.returncode == 0, result.stderr
    assert ("up to date" in result.stderr) == (when == "after_swap")  # the swapped report is complete and current
    assert litter(out) == []
    assert "The second build" in (out / "report.html").read_text()
    whole_report(out)
    assert_user_entries(out, user)


def whole_report(out: Path) -> None:
    """Every output of a real build matches the manifest beside it."""
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["outputs"]) == sorted(OUTPUTS)
    for name in OUTPUTS:
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == manifest["outputs"][name], name


def test_publish_killed_during_file_by_file_renames_is_not_taken_as_up_to_date_and_leaves_no_temporaries(tmp_path):
    out = tmp_path / "build"
    write_version(out, 1)
    killed = python("""
    import errno, os, signal, sys
    from pathlib import Path
    import reportgen.publish as publish

    def unsupported(a, b):
        raise OSError(errno.EINVAL, "Invalid argument")

    renames = []
    original = os.replace

    def replace(a, b):
        renames.append(b)
        if len(renames) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        original(a, b)

    publish.exchange, os.replace = unsupported, replace
    from tests.test_publish import write_version
    write_version(Path(sys.argv[1]), 2)
    """, out, cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert any(p.name.endswith(".tmp") for p in out.iterdir())
    for digest in ("digest-1", "digest-2"):
        assert staleness(out, digest, OUTPUTS) == f"{out / MANIFEST}: no record of a previous build"

    result = run_reportgen("clean", "--out", out)
    assert result.returncode == 0, result.stderr
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())
    assert litter(out) == []


# --------------------------------------------------------------------------- the user's files


def test_user_files_subfolders_and_permissions_in_the_output_folder_survive_a_publish(tmp_path):
    out = tmp_path / "docs"
    out.mkdir()
    user = add_user_entries(out)
    (out / "link").symlink_to("notes.txt")
    os.chmod(out, 0o750)
    inode = (out / "notes.txt").stat().st_ino
    write_version(out, 1)
    write_version(out, 2)
    assert whole_build(out) == "digest-2"
    assert_user_entries(out, user)
    assert (out / "notes.txt").stat().st_ino == inode  # the same file, not a copy
    assert os.readlink(out / "link") == "notes.txt"
    assert (out.stat().st_mode & 0o7777) == 0o750
    assert litter(out) == []


def test_a_file_the_user_creates_during_the_publish_is_moved_into_the_new_folder(tmp_path, monkeypatch):
    import reportgen.publish as module

    out = tmp_path / "docs"
    write_version(out, 1)
    original = module.exchange

    def exchange(a, b):
        (out / "written meanwhile.txt").write_text("new\n")  # after the stage took the user's files
        (out / "made meanwhile").mkdir()
        original(a, b)

    monkeypatch.setattr(module, "exchange", exchange)
    write_version(out, 2)
    assert (out / "written meanwhile.txt").read_text() == "new\n"
    assert (out / "made meanwhile").is_dir()
    assert whole_build(out) == "digest-2"
    assert litter(out) == []


def test_recovery_leaves_a_stage_like_folder_without_the_marker_alone(tmp_path):
    out = tmp_path / "docs"
    write_version(out, 1)
    lookalike = tmp_path / f".docs{STAGE_INFIX}mine"
    lookalike.mkdir()
    (lookalike / "report.pdf").write_text("not reportgen's\n")
    (out / ".notes.abcd1234.tmp").write_text("a temporary of the user's own\n")
    write_version(out, 2)
    assert run_reportgen("clean", "--out", out).returncode == 0
    assert (lookalike / "report.pdf").read_text() == "not reportgen's\n"
    assert (out / ".notes.abcd1234.tmp").exists()


# --------------------------------------------------------------------------- failures and the fallback


@pytest.mark.parametrize("mode", ["swap", "file-by-file"])
def test_disk_full_fails_in_one_line_and_leaves_the_previous_report_and_no_litter(tmp_path, mode, mount_namespace):
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "fill.py"
    script.write_text(textwrap.dedent("""
        import json, sys
        from pathlib import Path
        from reportgen.errors import BuildError
        from tests.test_publish import litter, whole_build, write_version

        out = Path(sys.argv[1]) / "build"
        if sys.argv[2] == "file-by-file":  # a folder reached through a symbolic link is never swapped
            (out.parent / "real").mkdir()
            out.symlink_to("real")
        write_version(out, 1, size=20_000)
        before = {p.name: p.read_bytes().hex() for p in out.iterdir()}
        try:
            write_version(out, 2, size=60_000)  # the first output fits, the second does not
            error = None
        except BuildError as exc:
            error = {"message": exc.format_message(), "exit": exc.exit_code}
        print(json.dumps({"error": error, "same": before == {p.name: p.read_bytes().hex() for p in out.iterdir()},
                          "whole": whole_build(out), "litter": litter(out)}))
    """))
    mount_then_run = 'mount -t tmpfs -o size=200k tmpfs "$1" && exec "$2" "$3" "$1" "$4"'
    run = in_mount_namespace(mount_namespace, mount_then_run, disk, sys.executable, script, mode, timeout=120,
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    state = json.loads(run.stdout)
    assert state["error"] is not None, "the tiny disk did not fill up"
    assert state["error"]["exit"] == 1
    message = state["error"]["message"]
    assert re.fullmatch(rf"{re.escape(str(disk))}/build/(report\.pdf|results\.json): cannot write: "
                        "No space left on device", message), message  # one line: the file, then why
    assert state["same"] and state["whole"] == "digest-1"
    assert state["litter"] == []
    assert not any(disk.iterdir()), "the tmpfs leaked out of its mount namespace"


def test_a_write_error_names_the_file_and_leaves_the_previous_report_and_user_files(tmp_path, monkeypatch):
    import reportgen.publish as module

    out = tmp_path / "docs"
    out.mkdir()
    user = add_user_entries(out)
    write_version(out, 1)
    original = module._write

    def failing(path, data):
        if path.name == "report.pdf":
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))
        original(path, data)

    monkeypatch.setattr(module, "_write", failing)
    with pytest.raises(BuildError) as raised:
        write_version(out, 2)
    assert raised.value.format_message() == f"{out / 'report.pdf'}: cannot write: File too large"
    assert whole_build(out) == "digest-1"
    assert_user_entries(out, user)  # the subfolder the stage had taken is back
    assert litter(out) == []


def test_without_rename_exchange_publish_renames_file_by_file_after_deleting_the_manifest(tmp_path, monkeypatch):
    import reportgen.publish as module

    out = tmp_path / "docs"
    out.mkdir()
    user = add_user_entries(out)
    write_version(out, 1)

    def unsupported(a, b):
        raise OSError(errno.EINVAL, "Invalid argument")

    renamed: list[tuple[str, bool]] = []
    original = os.replace

    def replace(source, target):
        renamed.append((Path(target).name, (out / MANIFEST).exists()))
        original(source, target)

    monkeypatch.setattr(module, "exchange", unsupported)
    monkeypatch.setattr(os, "replace", replace)
    write_version(out, 2)
    monkeypatch.undo()
    assert renamed[-1] == (MANIFEST, False)
    assert all(not manifest_present for _, manifest_present in renamed), renamed
    assert sorted(name for name, _ in renamed) == sorted([*OUTPUTS, MANIFEST, "build-info.json"])
    assert whole_build(out) == "digest-2"
    assert_user_entries(out, user)
    assert litter(out) == []


def test_publish_into_a_new_folder_creates_it_whole(tmp_path):
    out = tmp_path / "a" / "b"
    write_version(out, 1)
    assert whole_build(out) == "digest-1"
    assert (out.stat().st_mode & 0o777) == (0o777 & ~_umask())
    assert litter(out) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
