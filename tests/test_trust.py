"""What arrives with a stranger's course is data: nothing fetched, messages filled by name, stores and build
folders believed only under this user's key."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pikepdf
import pytest

from reportgen import language as lang
from reportgen.cache import ResultCache, seal, unseal
from reportgen.outputs import MANIFEST
from reportgen.pdf import render_pdf

from .conftest import CATALOGUE, COURSE, QUICK_STUDY, ROOT, po_text, refuse, run_reportgen, write_files

SECRET = "the builder's private file"
BUILTIN = ROOT / "templates"


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file of the builder's that no course may publish."""
    path = tmp_path / "home" / "id_rsa"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


@pytest.fixture
def listener():
    """A loopback HTTP server that records every path it is asked for."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


def attachments(pdf: bytes, tmp_path: Path) -> list[str]:
    """The names of the files embedded in ``pdf``, as pikepdf lists them."""
    path = tmp_path / "probe.pdf"
    path.write_bytes(pdf)
    with pikepdf.open(path) as document:
        return list(document.attachments)


def quick_course(tmp_path: Path, templates: dict[str, str] | None = None) -> Path:
    """A one-study course that trains in a second, with ``templates`` in its own templates folder."""
    course = write_files(tmp_path / "course", {"course.toml": COURSE + ('templates = "tpl"\n' if templates else ""),
                                               "overfitting.toml": QUICK_STUDY})
    if templates:
        write_files(course / "tpl", templates)
    return course


def with_key(tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of a user whose store key is the file ``name`` (made, 0600, when new)."""
    path = tmp_path / "keys" / name
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(32))
        path.chmod(0o600)
    return {**os.environ, "REPORTGEN_KEY_FILE": str(path)}


# --------------------------------------------------------------------------- nothing outside the page


def test_the_typesetter_neither_attaches_nor_reads_nor_fetches_what_a_page_names(secret, listener, tmp_path):
    url, asked = listener
    page = (f'<html lang="en"><head><title>t</title><link rel="stylesheet" href="{url}/style.css"></head><body>'
            f'<p><a rel="attachment" href="file://{secret}">notes</a></p>'
            f'<p><img src="file://{secret}" alt="a"><img src="{url}/metadata" alt="b"></p>'
            f'<p style="background: url({url}/background)">text</p></body></html>')
    pdf = render_pdf(page)
    assert attachments(pdf, tmp_path) == []
    assert SECRET.encode() not in pdf
    assert asked == []


@pytest.mark.parametrize("markup, problem", [
    ('<a rel="attachment" href="file:///etc/passwd">x</a>', 'rel="attachment"'),
    ('<img src="http://169.254.169.254/latest/meta-data/" alt="x">', "loads a resource from outside the page"),
    ('<link rel="stylesheet" href="https://example.org/x.css">', "loads a resource from outside the page"),
    ('<p style="background: url(file:///etc/passwd)">x</p>', "url(file:///etc/passwd)"),
    ('<style>@import "https://example.org/x.css";</style>', "@import"),
    ('<iframe title="x"></iframe>', "<iframe> embeds another document"),
])
def test_a_template_naming_an_outside_resource_is_refused_before_any_work(tmp_path, markup, problem):
    course = quick_course(tmp_path, {"intro.html.j2": f"<p>intro</p>\n{markup}\n"})
    course.joinpath("overfitting.toml").write_text(QUICK_STUDY.replace("steps = 30", "steps = 1000000"))
    out, cache = tmp_path / "out", tmp_path / "cache"
    for command in (["validate"], ["build", "--out", out, "--cache", cache]):
        line = refuse(*command, "--definitions", course)
        assert line.startswith("Error: template intro.html.j2, line 2: ") and problem in line, line
    assert not out.exists() and not cache.exists()


def test_a_computed_outside_reference_stops_the_build_and_writes_nothing(tmp_path, secret):
    # No literal to spot in advance: the rendered page itself is checked before anything is written.
    template = f'<p>intro</p>\n<img alt="x" src="{{{{ "file://" ~ "{secret}" }}}}">\n'
    course = quick_course(tmp_path, {"intro.html.j2": template})
    out = tmp_path / "out"
    result = run_reportgen("build", "--definitions", course, "--out", out, "--no-cache")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "report.html" in line and "loads a resource from outside the page" in line
    assert not out.exists()


def test_a_link_to_a_paper_is_still_a_link(tmp_path):
    intro = (BUILTIN / "intro.html.j2").read_text() + '<p><a href="https://arxiv.org/abs/1611.03530">a paper</a></p>\n'
    course = quick_course(tmp_path, {"intro.html.j2": intro})
    result = run_reportgen("build", "--definitions", course, "--out", tmp_path / "out", "--no-cache")
    assert result.returncode == 0, result.stderr
    assert 'href="https://arxiv.org/abs/1611.03530"' in (tmp_path / "out" / "report.html").read_text()


# --------------------------------------------------------------------------- messages fill names only


@pytest.mark.parametrize("field", ["{x.join.__globals__}", "{x[0]}", "{x!r}", "{x:>99999}", "{0}"])
def test_a_message_field_that_is_not_a_plain_name_is_refused(field):
    with pytest.raises(lang.MessageError, match="not a plain"):
        lang.fill(f"value {field}", {"x": "a"})
    assert lang.fill("value {x} {{literal}}", {"x": "a"}) == "value a {literal}"


def test_a_template_message_reaching_for_globals_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET", "s3cr3t")
    template = '<p>intro</p>\n<p>{{ t("{x.join.__globals__[t].sys.modules[os].environ[SECRET]}", x="a") }}</p>\n'
    course = quick_course(tmp_path, {"intro.html.j2": template})
    line = refuse("validate", "--definitions", course)
    assert "template intro.html.j2, line 2" in line and "not a plain {name} field" in line
    assert "s3cr3t" not in line


def test_a_catalogue_translation_reaching_for_globals_is_refused_with_its_line(tmp_path):
    catalogue = po_text({"Activities": "Actividades", "Setup": "{x.__class__} Configuración"})
    course = quick_course(tmp_path, {"intro.html.j2": "<p>intro</p>\n", CATALOGUE: catalogue})
    line = refuse("validate", "--definitions", course)
    assert "messages.po, line 10" in line and '"Setup"' in line and "not a plain {name} field" in line


def test_a_translation_naming_a_field_its_message_lacks_is_refused(tmp_path):
    catalogue = po_text({"{n} run": ("{n} ejecución {secret}", "{n} ejecuciones")})
    course = quick_course(tmp_path, {"intro.html.j2": "<p>intro</p>\n", CATALOGUE: catalogue})
    line = refuse("validate", "--definitions", course)
    assert "messages.po, line 7" in line and "{secret} is not a field of the English message" in line


# --------------------------------------------------------------------------- stored results are data


def test_stored_table_cells_are_escaped_but_powers_of_ten_stay(tmp_path):
    from reportgen.render import table_cell

    assert table_cell('<img src=x onerror="alert(1)">') == '&lt;img src=x onerror=&#34;alert(1)&#34;&gt;'
    assert table_cell('<a rel="attachment" href="file:///etc/passwd">x</a>').startswith("&lt;a rel=")
    assert table_cell("1.23 × 10<sup>−5</sup>") == "1.23 × 10<sup>−5</sup>"
    assert table_cell("0.1 ± 2 × 10<sup>−3</sup>") == ('<span class="part">0.1</span> '
                                                       '<span class="part">± 2 × 10<sup>−3</sup></span>')
    assert table_cell(("0.41", "0.42*")) == '0.41<br><span class="predicted">0.42*</span>'
    assert table_cell("10<sup><b>5</b></sup>") == "10&lt;sup&gt;&lt;b&gt;5&lt;/b&gt;&lt;/sup&gt;"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A built one-study course and its store, under the session's key."""
    root = tmp_path_factory.mktemp("trusted")
    course = write_files(root / "course", {"course.toml": COURSE, "overfitting.toml": QUICK_STUDY})
    result = run_reportgen("build", "--definitions", course, "--out", root / "build", "--cache", root / "cache")
    assert result.returncode == 0, result.stderr
    return root


def _copy(built: Path, tmp_path: Path) -> Path:
    shutil.copytree(built, tmp_path / "copy")
    return tmp_path / "copy"


def _analysis_entry(store: Path) -> Path:
    (entry,) = (store / "analysis").glob("*.json")
    return entry


def test_a_resealed_store_entry_is_not_believed_and_its_forgery_never_reaches_the_report(built, tmp_path):
    root = _copy(built, tmp_path)
    entry = _analysis_entry(root / "cache")
    payload = json.loads(unseal(entry.read_bytes()))
    payload["metrics"][0]["test_mse"] = 1.234e-9
    table = next(iter(payload["tables"].values()))
    table["rows"][0][0] = '<a rel="attachment" href="file:///etc/passwd">x</a><img src=x onerror="alert(1)">'
    forger = with_key(tmp_path, "forger")  # resealed as well as anyone without this user's key can
    subprocess.run([os.sys.executable, "-c", "import sys; from reportgen.cache import seal; "
                    "sys.stdout.buffer.write(seal(sys.stdin.buffer.read()))"],
                   input=json.dumps(payload).encode(), stdout=entry.open("wb"), env=forger, check=True)
    course, out = root / "course", root / "build"
    strict = run_reportgen("build", "--definitions", course, "--out", out, "--cache", root / "cache", "--strict",
                           "--force")
    assert strict.returncode == 1 and "not written under this user's key" in strict.stderr, strict.stderr
    result = run_reportgen("build", "--definitions", course, "--out", out, "--cache", root / "cache", "--force")
    assert result.returncode == 0, result.stderr
    html = (out / "report.html").read_text()
    assert "onerror" not in html and "attachment" not in html
    results = json.loads((out / "results.json").read_text())
    assert 1.234e-9 not in [run["metrics"]["test_mse"] for run in results["studies"][0]["runs"]]
    assert attachments((out / "report.pdf").read_bytes(), tmp_path) == []
    assert unseal(entry.read_bytes()) != json.dumps(payload).encode()  # rewritten from the recomputed analysis


def test_an_old_digest_only_entry_is_recomputed_quietly(built, tmp_path):
    import hashlib

    root = _copy(built, tmp_path)
    entry = _analysis_entry(root / "cache")
    body = unseal(entry.read_bytes())
    entry.write_bytes(b"reportgen-entry 1 sha256=%s\n" % hashlib.sha256(body).hexdigest().encode() + body)
    result = run_reportgen("build", "--definitions", root / "course", "--out", root / "build", "--cache",
                           root / "cache", "--force", "--strict")
    assert result.returncode == 0, result.stderr
    assert unseal(entry.read_bytes()) == body


def test_a_team_key_shares_a_store_between_users(tmp_path):
    course = quick_course(tmp_path)
    team = with_key(tmp_path, "team")
    first = {**team, "XDG_CONFIG_HOME": str(tmp_path / "alice")}
    second = {**team, "XDG_CONFIG_HOME": str(tmp_path / "bob")}
    args = ("build", "--definitions", course, "--cache", tmp_path / "store", "--explain")
    assert run_reportgen(*args, "--out", tmp_path / "a", env=first).returncode == 0
    result = run_reportgen(*args, "--out", tmp_path / "b", env=second)
    assert result.returncode == 0, result.stderr
    assert "overfitting: 2 reused, 0 computed" in result.stderr
    stranger = run_reportgen(*args, "--out", tmp_path / "c", env={**os.environ,
                                                                   "XDG_CONFIG_HOME": str(tmp_path / "eve")})
    assert "overfitting: 0 reused, 2 computed" in stranger.stderr, stranger.stderr


@pytest.mark.parametrize("mode", [0o644, 0o660])
def test_a_key_file_others_may_read_is_refused_before_any_work(tmp_path, mode):
    env = with_key(tmp_path, "loose")
    Path(env["REPORTGEN_KEY_FILE"]).chmod(mode)
    course = quick_course(tmp_path)
    result = run_reportgen("build", "--definitions", course, "--out", tmp_path / "out", "--cache",
                           tmp_path / "store", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "readable by no one else (chmod 600)" in result.stderr and "REPORTGEN_KEY_FILE" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "store").exists()


def test_with_no_place_for_a_key_the_build_works_and_says_nothing_will_be_reused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    course = quick_course(tmp_path)
    env = {**os.environ, "XDG_CONFIG_HOME": str(blocker / "config")}
    args = ("build", "--definitions", course, "--out", tmp_path / "out", "--cache", tmp_path / "store")
    result = run_reportgen(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert "cannot keep a key at" in result.stderr and "no later build will reuse" in result.stderr
    again = run_reportgen(*args, "--explain", env=env)
    assert "overfitting: 0 reused, 2 computed" in again.stderr, again.stderr


# --------------------------------------------------------------------------- shipped build folders


def test_a_shipped_build_folder_with_a_matching_manifest_is_out_of_date(built, tmp_path):
    root = _copy(built, tmp_path)
    out = root / "build"
    report = out / "report.html"
    report.write_text(report.read_text().replace("Overfitting", "Forged"))
    manifest = json.loads((out / MANIFEST).read_text())
    import hashlib

    manifest["outputs"]["report.html"] = hashlib.sha256(report.read_bytes()).hexdigest()
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    args = ("--definitions", root / "course", "--out", out)
    check = run_reportgen("check", *args)
    assert check.returncode == 1 and "not written by this user's reportgen" in check.stderr, check.stderr
    build = run_reportgen("build", *args, "--cache", root / "cache", "--strict")
    assert build.returncode == 0, build.stderr
    assert "Forged" not in report.read_text()
    assert run_reportgen("check", *args).returncode == 0


def test_clean_keeps_outputs_a_foreign_manifest_lists(built, tmp_path):
    root = _copy(built, tmp_path)
    out = root / "build"
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["mac"] = "0" * 64
    (out / MANIFEST).write_text(json.dumps(manifest))
    result = run_reportgen("clean", "--out", out, cwd=root)
    assert result.returncode == 0, result.stderr
    assert (out / "report.html").exists() and "proves nothing" in result.stdout + result.stderr


def test_a_forged_publish_marker_moves_and_deletes_nothing(built, tmp_path):
    from reportgen.publish import MARKER, STAGE_INFIX, recover

    root = _copy(built, tmp_path)
    out = root / "build"
    bait = root / f".build{STAGE_INFIX}deadbeef"
    bait.mkdir()
    (bait / "report.html").write_text("someone's file")
    (out / MARKER).write_text(json.dumps({"stage": bait.name, "writes": ["report.html"]}))
    recover(out)
    assert (bait / "report.html").read_text() == "someone's file"
    assert "someone's file" not in (out / "report.html").read_text()


# --------------------------------------------------------------------------- a refused build leaves no trace


def test_a_build_refused_for_its_template_leaves_no_store_behind(tmp_path):
    course = quick_course(tmp_path, {"intro.html.j2": "<p>{% if %}</p>\n"})
    store, out = tmp_path / "store", tmp_path / "out"
    line = refuse("build", "--definitions", course, "--out", out, "--cache", store)
    assert "intro.html.j2" in line
    assert not store.exists() and not out.exists()


def test_sealing_is_keyed(tmp_path, monkeypatch):
    body = b'{"metrics": []}'
    sealed = seal(body)
    assert sealed.startswith(b"reportgen-entry 2 hmac-sha256=") and len(sealed.split(b"\n")[0]) == 94
    assert unseal(sealed) == body
    monkeypatch.setenv("REPORTGEN_KEY_FILE", with_key(tmp_path, "other")["REPORTGEN_KEY_FILE"])
    store = ResultCache(tmp_path / "store")
    (tmp_path / "store" / "index").mkdir(parents=True)
    (tmp_path / "store" / "index" / "s.json").write_bytes(sealed)
    assert store.previous_keys("s") == {} and "not written under this user's key" in store.warnings[0]
