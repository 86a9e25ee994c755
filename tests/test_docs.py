"""The docs: mkdocs builds them with --strict (a broken link or anchor fails), every command they show is run here or
marked not run with a reason, and the README stays the instructors' short guide.

The convention (docs/contributing.md, "These docs"): shell commands live in fenced blocks marked ``sh``, one command a
line; output and usage live in ``text`` blocks, where a line starting with ``$ `` is a command too; a block that is not
run carries ``<!-- not run here: REASON -->`` on the line just above its fence.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from .conftest import ROOT, TINY_COURSE, write_files

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

README_MOST_LINES = 340
"""The README is the instructors' guide, about 300 lines; everything else belongs in docs/."""

SHELL = {"sh", "console", "bash", "shell"}
"""Info strings of blocks whose lines are commands."""

NOT_RUN = re.compile(r"^<!--\s*not run here:(.*?)-->\s*$")
FENCE = re.compile(r"^(```+)\s*(\S*)")

SAFE_PROGRAMS = {"reportgen", "cd", "head", "chmod", "ls", "cat"}
"""What a block that is run may call: reportgen, and tools that only read, or write inside the course folder."""


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: Path
    line: int  # of the opening fence, from 1
    info: str
    lines: tuple[str, ...]
    not_run: str | None  # the reason of its marker, if it has one

    def where(self) -> str:
        """The page and line, for a failure message."""
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, in order."""
    found, lines, i = [], page.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith(opening.group(1)))
        marker = NOT_RUN.match(lines[i - 1]) if i else None
        found.append(Block(page, i + 1, opening.group(2), tuple(lines[i + 1:end]),
                           marker.group(1).strip() if marker else None))
        i = end + 1
    return found


def prose(page: Path) -> str:
    """``page`` without its fenced blocks."""
    return re.sub(r"^(```+).*?^\1[ \t]*$", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)


def commands(block: Block) -> list[str]:
    """The command lines of a shell block: continuation lines joined, comment lines and blank lines left out."""
    joined = "\n".join(block.lines).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def programs(command: str) -> list[str]:
    """The programs a command line calls (the first word of each part between &&, ||, ; and |), after VAR=value."""
    called = []
    for part in re.split(r"&&|\|\||;|\|", command.split(" #")[0]):
        words = [w for w in shlex.split(part) if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
        if words:
            called.append(words[0])
    return called


ALL_BLOCKS = [block for page in PAGES for block in blocks(page)]
RUN_BLOCKS = [b for b in ALL_BLOCKS if b.info in SHELL and b.not_run is None]

# --------------------------------------------------------------------------- the convention itself


def test_every_fenced_block_names_its_language():
    unnamed = [block.where() for block in ALL_BLOCKS if not block.info]
    assert not unnamed, f"name the language of these blocks (sh for commands, text for output): {unnamed}"


def test_every_not_run_marker_gives_its_reason_just_above_a_block():
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if line.lstrip().startswith("<!--") and "not run here" in line:
                marker = NOT_RUN.match(line)
                assert marker and marker.group(1).strip(), f"{page.name}:{i + 1}: <!-- not run here: REASON -->"
                assert i + 1 < len(lines) and FENCE.match(lines[i + 1]), \
                    f"{page.name}:{i + 1}: a not-run marker belongs on the line just above a block's fence"
                for named in re.findall(r"(?:tests|benchmarks)/[\w/]+\.py|\.ci/run", marker.group(1)):
                    assert (ROOT / named).is_file(), f"{page.name}:{i + 1}: the reason names {named}, which is gone"


def test_a_block_that_is_run_calls_only_reportgen_and_harmless_tools():
    for block in RUN_BLOCKS:
        for command in commands(block):
            unsafe = [p for p in programs(command) if p not in SAFE_PROGRAMS]
            assert not unsafe, (f"{block.where()}: {command!r} calls {unsafe}: mark the block "
                                "<!-- not run here: REASON --> or run only reportgen")


def test_the_docs_show_commands_that_are_run_and_commands_that_are_not():
    # The checks below must have something to bite on: a README with every block marked would pass them vacuously.
    readme_run = [c for b in RUN_BLOCKS if b.page == README for c in commands(b)]
    assert any(c.startswith("reportgen build") for c in readme_run), readme_run
    assert any(b.not_run and "SLURM" in b.not_run for b in ALL_BLOCKS), "the SLURM example must stay marked"


# --------------------------------------------------------------------------- running them


def course_folder(root: Path) -> Path:
    """The tiny course's overfitting and capacity studies, with a quick profile and an empty my-templates/: the
    folder every documented command runs from."""
    course = TINY_COURSE["course.toml"].replace('"regularization", "prior", ', "")
    assert 'studies = ["overfitting", "capacity"]' in course
    folder = write_files(root / "course", {
        "course.toml": course + '\n[profiles.quick]\ndescription = "smoke run"\n"train.steps" = 20\n'
                                '"sweep.seeds" = [0]\n',
        "overfitting.toml": TINY_COURSE["overfitting.toml"], "capacity.toml": TINY_COURSE["capacity.toml"]})
    (folder / "my-templates").mkdir()
    return folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A course folder, and an environment whose ``reportgen`` is this interpreter's."""
    root = tmp_path_factory.mktemp("docs-commands")
    shim = root / "bin" / "reportgen"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m reportgen "$@"\n')
    shim.chmod(0o755)
    (root / "runner").mkdir()
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}", "RUNNER_TEMP": str(root / "runner")}
    return course_folder(root), env


def test_every_command_of_the_docs_runs_in_a_course_folder(workspace):
    """Each line of every sh block that is not marked, in page order, from the top of the course folder."""
    folder, env = workspace
    failures, seen = [], set()
    for block in RUN_BLOCKS:
        for command in commands(block):
            if command in seen:
                continue
            seen.add(command)
            done = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
                                  timeout=300)
            if done.returncode != 0:
                failures.append(f"{block.where()}: {command}\n  exit {done.returncode}: {done.stderr.strip()[-800:]}")
    assert seen, "no command was run"
    assert not failures, "\n".join(failures)


def inline_commands(page: Path) -> list[str]:
    """The reportgen command lines of ``page``'s prose (code spans) and its text blocks' ``$ `` lines, but those
    that hold a placeholder (``DIR``, ``N``, ``…``)."""
    spans = [" ".join(span.split()) for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", prose(page))]
    shown = [line[2:] for block in blocks(page) if block.info == "text" for line in block.lines
             if line.startswith("$ ")]
    return [c for c in spans + shown
            if c.startswith("reportgen ") and not re.search(r"\b[A-Z][A-Z_]*\b|…|\.\.\.|\[", c)]


def parse(words: list[str]) -> None:
    """Parse ``reportgen WORDS`` as the command line would (options, choices, callbacks), running nothing."""
    from reportgen.cli import main

    command, context = main, click.Context(main, info_name="reportgen")
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        found = command.get_command(context, words[0])
        if found is None:
            raise click.UsageError(f"no command {words[0]!r}")
        context, command, words = click.Context(found, info_name=words[0], parent=context), found, words[1:]
    try:
        command.make_context(context.info_name, list(words), parent=context.parent)
    except click.exceptions.Exit as stop:  # --help
        assert stop.exit_code == 0


def test_every_reportgen_command_in_prose_and_transcripts_parses(workspace, monkeypatch):
    folder, _ = workspace
    monkeypatch.chdir(folder)  # where a command finds its course, as the reader's would
    checked, failures = 0, []
    for page in PAGES:
        for command in inline_commands(page):
            try:
                parse(shlex.split(command)[1:])
                checked += 1
            except click.ClickException as error:
                failures.append(f"{page.relative_to(ROOT)}: `{command}`: {error.format_message()}")
    assert checked >= 10, checked
    assert not failures, "\n".join(failures)


def test_an_option_that_does_not_exist_fails_the_parse(workspace, monkeypatch):
    monkeypatch.chdir(workspace[0])
    parse(["build", "--audience", "all", "--strict"])
    with pytest.raises(click.ClickException, match="--no-such-option"):
        parse(["build", "--no-such-option"])
    with pytest.raises(click.ClickException):
        parse(["build", "--audience", "everyone"])


# --------------------------------------------------------------------------- mkdocs


def mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of ``config`` into ``site``."""
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", config,
                           "--site-dir", site], capture_output=True, text=True, timeout=120)


def test_the_docs_build_with_mkdocs_strict(tmp_path):
    built = mkdocs(ROOT / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr
    for page in DOCS.glob("*.md"):
        target = "index.html" if page.stem == "index" else f"{page.stem}/index.html"
        assert (tmp_path / "site" / target).is_file(), target


def test_a_broken_link_or_anchor_fails_the_strict_docs_build(tmp_path):
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(DOCS, tmp_path / "docs")
    with (tmp_path / "docs" / "index.md").open("a", encoding="utf-8") as index:
        index.write("\n[gone](no-such-page.md) and [moved](trainer.md#no-such-section)\n")
    built = mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert built.returncode != 0
    assert "no-such-page.md" in built.stderr and "no-such-section" in built.stderr, built.stderr


# --------------------------------------------------------------------------- the README


def test_the_readme_stays_under_340_lines():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MOST_LINES, f"README.md has {lines} lines: move what is not for instructors to docs/"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of ``page``'s headings."""
    return {github_anchor(m) for m in re.findall(r"^#+ (.*)$", prose(page), re.M)}


def test_every_link_of_the_readme_reaches_a_file_and_its_section():
    links = re.findall(r"\]\(([^)\s]+)\)", prose(README))
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        if re.match(r"^[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = (ROOT / path) if path else README
        assert target.exists(), f"README.md links to {path}, which does not exist"
        if anchor:
            assert anchor in anchors(target), f"README.md links to {link}: {target.name} has no such section"
