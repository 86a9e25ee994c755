"""A stranger's course folder: sandboxed templates, refusals before any work, bounded sizes, user text as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reportgen.errors import BadInputError
from reportgen.render import render_html

from .conftest import (
    COURSE,
    QUICK_STUDY,
    REFUSAL_TIMEOUT,
    REPORTGEN,
    SLOW_STUDY,
    in_mount_namespace,
    refuse,
    run_reportgen,
    write_files,
)
from .support import pdf_text


def assert_nothing_written(root: Path, out: Path, cache: Path) -> None:
    """No output folder, and no cache entry: nothing was trained or rendered."""
    assert not out.exists(), sorted(out.rglob("*"))
    entries = [p for p in cache.rglob("*") if p.is_file() and not p.name.startswith(".")] if cache.exists() else []
    assert entries == []


# --------------------------------------------------------------------------- templates cannot reach Python


@pytest.mark.parametrize("expression", [
    'cycler.__init__.__globals__.os.popen("id").read()',
    "''.__class__.__mro__[1].__subclasses__()",
    "course | attr('__class__')",
    "course['__class__']",
])
def test_template_reaching_for_python_is_refused_before_any_work(slow_course, tmp_path, expression):
    (slow_course / "course.toml").write_text(COURSE.lstrip() + 'templates = "tpl"\n')
    write_files(slow_course / "tpl", {"intro.html.j2": f"<p>{{{{ {expression} }}}}</p>\n"})
    out, cache = tmp_path / "out", tmp_path / "cache"
    for command in (["validate"], ["build", "--out", out, "--cache", cache]):
        line = refuse(*command, "--definitions", slow_course)
        assert "template intro.html.j2, line 1" in line and "sandboxed" in line
    assert_nothing_written(slow_course, out, cache)


def test_sandbox_stops_an_attribute_computed_while_rendering(tmp_path):
    # No literal name to spot in advance: the sandbox itself must refuse it.
    write_files(tmp_path / "tpl", {"report.html.j2": '{% set name = "__cla" ~ "ss__" %}\n<p>{{ course[name] }}</p>\n'})
    with pytest.raises(BadInputError) as error:
        render_html({"course": "x", "bibliography": []}, [tmp_path / "tpl"])
    assert "template report.html.j2, line 2" in error.value.message
    assert "SecurityError" in error.value.message and "unsafe" in error.value.message


def test_jinja_helpers_that_reach_python_are_not_offered(tmp_path):
    write_files(tmp_path / "tpl", {"report.html.j2": "<p>{{ lipsum() }}</p>\n"})
    with pytest.raises(BadInputError, match="lipsum"):
        render_html({"bibliography": []}, [tmp_path / "tpl"])


@pytest.mark.parametrize("folder", ["/etc", "../elsewhere", "tpl/../../elsewhere"])
def test_course_templates_folder_must_lie_inside_the_course(slow_course, tmp_path, folder):
    (slow_course / "course.toml").write_text(COURSE.lstrip() + f'templates = "{folder}"\n')
    line = refuse("validate", "--definitions", slow_course)
    assert "course.toml: templates: expected a folder inside the course folder" in line
    assert "--templates" in line


def test_command_line_may_name_a_templates_folder_anywhere(slow_course, tmp_path):
    elsewhere = write_files(tmp_path / "elsewhere", {"intro.html.j2": "<p>mine</p>\n"})
    result = run_reportgen("validate", "--definitions", slow_course, "--templates", elsewhere)
    assert result.returncode == 0, result.stderr


def test_template_syntax_error_is_refused_before_any_training(slow_course, tmp_path):
    write_files(tmp_path / "tpl", {"studies/overfitting.html.j2": "<p>{% if %}</p>\n"})
    out, cache = tmp_path / "out", tmp_path / "cache"
    line = refuse("build", "--definitions", slow_course, "--templates", tmp_path / "tpl", "--out", out,
                  "--cache", cache)
    assert "template studies/overfitting.html.j2, line 1" in line
    assert_nothing_written(slow_course, out, cache)


def test_missing_study_template_is_refused_before_any_training(slow_course, tmp_path):
    broken = write_files(tmp_path / "tpl", {"report.html.j2": '{% include "studies/nothing.html.j2" %}\n'})
    out, cache = tmp_path / "out", tmp_path / "cache"
    line = refuse("build", "--definitions", slow_course, "--templates", broken, "--out", out, "--cache", cache)
    assert "template studies/nothing.html.j2 not found" in line
    assert_nothing_written(slow_course, out, cache)


# --------------------------------------------------------------------------- the output folder, checked first


def test_output_path_naming_a_file_is_refused_before_any_training(slow_course, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    cache = tmp_path / "cache"
    line = refuse("build", "--definitions", slow_course, "--out", blocker, "--cache", cache)
    assert str(blocker) in line and "names a file" in line
    line = refuse("build", "--definitions", slow_course, "--out", blocker / "sub", "--cache", cache)
    assert str(blocker / "sub") in line and "is a file" in line
    assert blocker.read_text() == "mine"
    assert_nothing_written(slow_course, tmp_path / "none", cache)


def test_read_only_output_folder_is_refused_before_any_training(slow_course, tmp_path, mount_namespace):
    out, cache = tmp_path / "out", tmp_path / "cache"
    out.mkdir()
    (out / "report.html").write_text("previous")
    # A read-only mount binds root too, as CI runs.
    result = in_mount_namespace(mount_namespace, 'mount --bind -o ro "$1" "$1" && shift && exec "$@"', out,
                                *REPORTGEN, "build", "--definitions", slow_course,
                                "--out", out, "--cache", cache, timeout=REFUSAL_TIMEOUT)
    assert result.returncode == 2, result.stderr
    assert "read-only file system" in result.stderr and str(out) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (out / "report.html").read_text() == "previous"


# --------------------------------------------------------------------------- bounded work


def _sweep_course(tmp_path: Path, study: str) -> Path:
    return write_files(tmp_path / "course", {"course.toml": COURSE, "overfitting.toml": study})


def test_billion_run_sweep_is_refused_without_expanding_it(tmp_path):
    degrees = ", ".join(map(str, range(1, 401)))
    noises = ", ".join(str(v / 1000) for v in range(1000))
    rates = ", ".join(str(v / 1000 + 0.001) for v in range(1000))
    study = QUICK_STUDY.replace('"model.degree" = [1, 3]', f'"model.degree" = [{degrees}]\n"data.noise" = [{noises}]\n'
                                f'"train.lr" = [{rates}]\nseeds = [0, 1, 2]')
    course = _sweep_course(tmp_path, study)
    line = refuse("validate", "--definitions", course)
    assert "overfitting.toml: sweep: expands to 1,200,000,000 runs" in line
    assert "400 model.degree × 1,000 data.noise × 1,000 train.lr × 3 seeds" in line
    assert "limit of 10,000" in line and "max_runs in course.toml or --max-runs" in line


def test_run_limit_is_raised_by_course_toml_or_the_command_line(tmp_path):
    study = QUICK_STUDY.replace('"model.degree" = [1, 3]', '"model.degree" = [1, 2, 3, 4]\nseeds = [0, 1, 2]')
    course = _sweep_course(tmp_path, study)
    assert "12 runs" in refuse("validate", "--definitions", course, "--max-runs", "11")
    assert run_reportgen("validate", "--definitions", course, "--max-runs", "12").returncode == 0
    (course / "course.toml").write_text(COURSE.lstrip() + "max_runs = 11\n")
    assert "limit of 11" in refuse("validate", "--definitions", course)
    assert run_reportgen("validate", "--definitions", course, "--max-runs", "20").returncode == 0


@pytest.mark.parametrize("study", [
    '''
kind = "prior"
title = "Prior"
[model]
kind = "mlp"
width = 100000
depth = 10
''',
    '''
kind = "capacity"
title = "Capacity"
[model]
kind = "mlp"
width = 100000
depth = 10
''',
], ids=["prior", "capacity"])
def test_study_asking_for_absurd_memory_is_refused_with_its_estimate(tmp_path, study):
    course = write_files(tmp_path / "course", {"course.toml": COURSE.replace("overfitting", "wide"),
                                               "wide.toml": study})
    line = refuse("validate", "--definitions", course)
    match = re.search(r"needs an estimated ([\d,.]+) (TB|GB)", line)
    assert match, line
    assert float(match.group(1).replace(",", "")) * (1000 if match.group(2) == "TB" else 1) > 100
    assert "limit of 4,096 MB" in line and "max_memory_mb in course.toml or --max-memory-mb" in line


def test_huge_definition_file_is_refused_before_it_is_parsed(tmp_path):
    course = _sweep_course(tmp_path, "# " + "x" * (10 * 1024 * 1024) + "\n" + QUICK_STUDY)
    line = refuse("validate", "--definitions", course)
    assert "overfitting.toml: file is 10,240 KB, over the limit of 1,024 KB" in line
    assert "max_file_kb" in line and "--max-file-kb" in line
    assert run_reportgen("validate", "--definitions", course, "--max-file-kb", "20000").returncode == 0


def test_sweep_values_equal_by_value_are_refused(tmp_path):
    course = _sweep_course(tmp_path, QUICK_STUDY + '"data.noise" = [0, 0.0]\n')
    line = refuse("validate", "--definitions", course)
    assert "sweep.data.noise[1]: expected distinct values, got 0.0 again" in line


# --------------------------------------------------------------------------- small ones


def test_definition_saved_with_a_byte_order_mark_is_read(tmp_path):
    course = _sweep_course(tmp_path, QUICK_STUDY)
    path = course / "overfitting.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = run_reportgen("validate", "--definitions", course)
    assert result.returncode == 0, result.stderr


def test_characters_no_font_has_warn_and_fail_under_strict_before_training(slow_course, tmp_path):
    (slow_course / "overfitting.toml").write_text(SLOW_STUDY.replace('title = "Overfitting"',
                                                                      'title = "Overfitting 🎓 过拟合"'))
    out, cache = tmp_path / "out", tmp_path / "cache"
    result = run_reportgen("build", "--definitions", slow_course, "--out", out, "--cache", cache, "--strict",
                           timeout=REFUSAL_TIMEOUT)
    assert result.returncode == 1, result.stderr
    assert ("overfitting.toml: title: '合' (U+5408), '拟' (U+62DF), '过' (U+8FC7), '🎓' (U+1F393) in no installed "
            "font" in result.stderr)
    assert "empty box" in result.stderr
    assert_nothing_written(slow_course, out, cache)


# --------------------------------------------------------------------------- user text is text


def test_user_text_that_looks_like_report_markup_is_shown_as_text(tmp_path):
    long_comment = "".join(f"# line {i}: padding for a long file, see \\ref{{fig:x}} and \\(x^2\\)\n"
                           for i in range(400))
    course = _sweep_course(tmp_path, "# see \\ref{fig:x} and \\cite{hornik1989} and \\(x^2\\)\n" + long_comment
                           + QUICK_STUDY)
    out = tmp_path / "out"
    title = r"See \ref{fig-nothing} \(\frac{1}{\) \cite{nobody}"
    result = run_reportgen("build", "--definitions", course, "--out", out, "--cache", tmp_path / "cache",
                           "--set", f"overfitting.title={title}", "--set", "overfitting.summary=\\[ \\]")
    assert result.returncode == 0, result.stderr
    html = (out / "report.html").read_text()
    assert html.count(r"See &#92;ref{fig-nothing} &#92;(&#92;frac{1}{&#92;) &#92;cite{nobody}") >= 2
    listing = html.split('<h3 id="definition-overfitting">', 1)[1].split("</pre>", 1)[0]
    assert "# see &#92;ref{fig:x} and &#92;cite{hornik1989} and &#92;(x^2&#92;)" in listing
    assert "<img" not in listing and 'class="cite"' not in listing
    # The long file is shortened in the listing, and the note gives the whole file's hash.
    source = (course / "overfitting.toml").read_bytes()
    import hashlib

    assert "line 399" not in listing and "line 100" in listing
    assert hashlib.sha256(source.decode().encode()).hexdigest() in html
    text = pdf_text(out / "report.pdf")
    assert r"See \ref{fig-nothing} \(\frac{1}{\) \cite{nobody}" in text


# --------------------------------------------------------------------------- links out of the course


def test_definition_linking_outside_the_course_is_refused_not_listed(slow_course, tmp_path):
    secret = tmp_path / "secret.toml"
    secret.write_text('kind = "overfitting"\ntitle = "token = s3cr3t"\n')
    (slow_course / "leak.toml").symlink_to(secret)
    line = refuse("validate", "--definitions", slow_course)
    assert "leak.toml: links outside the definitions folder" in line


def test_template_linking_outside_its_folder_is_refused_not_included(slow_course, tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    templates = write_files(slow_course / "tpl", {"intro.html.j2": '<p>{% include "key.j2" %}</p>\n'})
    (templates / "key.j2").symlink_to(secret)
    (slow_course / "course.toml").write_text(COURSE.lstrip() + 'templates = "tpl"\n')
    line = refuse("build", "--definitions", slow_course, "--out", tmp_path / "out", "--cache", tmp_path / "cache")
    assert "template key.j2" in line and "links outside the templates folders" in line
    assert not (tmp_path / "out").exists()


def test_course_templates_folder_that_links_outside_the_course_is_refused(slow_course, tmp_path):
    elsewhere = write_files(tmp_path / "elsewhere", {"intro.html.j2": "<p>not the course's</p>\n"})
    (slow_course / "tpl").symlink_to(elsewhere)
    (slow_course / "course.toml").write_text(COURSE.lstrip() + 'templates = "tpl"\n')
    line = refuse("validate", "--definitions", slow_course)
    assert "templates folder links outside the course" in line and "--templates" in line
