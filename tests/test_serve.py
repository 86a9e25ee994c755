"""reportgen serve: the real command serves the tiny course's capacity study, rebuilds on saves, reloads, stops.

One server is shared by the module (one cold build); every test leaves the files as it found them and waits for
the rebuild its edit causes, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from reportgen.discover import builtin_templates
from reportgen.livereload import EVENTS
from reportgen.watch import watch_set

from .browser_support import CHROMIUM, Chromium, console_errors, evaluate
from .conftest import REPORTGEN, TINY_COURSE, run_reportgen, write_files

STUDY = "capacity"  # the tiny course's quickest study to compute
SCRIPT = re.compile(rb'<script data-events="[^"]*" data-build="[^"]*">.*?</script>\n', re.S)


class Served:
    """A ``reportgen serve`` process on a free port, its stderr read line by line in a thread."""

    def __init__(self, root: Path, *args: str, cache: Path | None = None, command: list[str] | None = None):
        command = command or [*REPORTGEN, "serve", STUDY, "--definitions", "experiments", "--cache",
                              str(cache or root / "cache"), "--port", "0", *args]
        self.process = subprocess.Popen(command, cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.url = re.search(r"serving (http://\S+) ", self.wait_for("serving ")).group(1)
        self.host, self.port = urlsplit(self.url).hostname, urlsplit(self.url).port
        self.netloc = urlsplit(self.url).netloc
        """The Host header a browser sends for the address serve printed."""

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix: str, start: int = 0, timeout: float = 120) -> str:
        """The first line of stderr from index ``start`` on that starts with ``prefix``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := next((line for line in self.lines[start:] if line.startswith(prefix)), None):
                return found
            if self.process.poll() is not None:  # gone: give the reader a moment for its last lines
                deadline = min(deadline, time.monotonic() + 1)
            time.sleep(0.02)
        raise AssertionError(f"no line {prefix!r} from serve (exit status {self.process.poll()}):\n"
                             + "\n".join(self.lines))

    def get(self, path: str) -> tuple[int, dict, bytes]:
        """Status, headers and body of a GET."""
        return self.request("GET", path, self.netloc)

    def request(self, method: str, path: str, *hosts: str) -> tuple[int, dict, bytes]:
        """Status, headers and body of a request with these Host headers (none: no Host header)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            connection.putrequest(method, path, skip_host=True)
            for host in hosts:
                connection.putheader("Host", host)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def stop(self) -> tuple[int, str]:
        """Ctrl-C as a terminal sends it (to the process group); the exit status and the whole stderr."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        status = self.process.wait(timeout=30)
        time.sleep(0.1)
        return status, "\n".join(self.lines)


class Events:
    """The server's event stream, as a client reads it: one parsed message at a time."""

    def __init__(self, served: Served):
        self._connection = http.client.HTTPConnection(served.host, served.port, timeout=120)
        self._connection.request("GET", EVENTS)
        self._response = self._connection.getresponse()
        assert self._response.getheader("Content-Type") == "text/event-stream"
        self.headers = dict(self._response.getheaders())
        self._messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.current = self.next()  # the state, sent as soon as a client connects

    def _read(self) -> None:
        try:
            for line in self._response:
                if line.startswith(b"data: "):
                    self._messages.put(json.loads(line[6:]))
        except (OSError, ValueError):
            pass

    def next(self, timeout: float = 120) -> dict:
        return self._messages.get(timeout=timeout)

    def after_save(self) -> dict:
        """The first state after a rebuild starts that is not 'building'."""
        while (news := self.next())["state"] == "building":
            pass
        return news

    def close(self) -> None:
        self._connection.close()


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A folder with the tiny course in experiments/ and a copy of the built-in intro template in tpl/."""
    root = tmp_path_factory.mktemp("serve")
    write_files(root / "experiments", TINY_COURSE)
    write_files(root / "tpl", {"intro.html.j2": (builtin_templates() / "intro.html.j2").read_text()})
    return root


@pytest.fixture(scope="module")
def served(course) -> Served:
    server = Served(course, "--templates", "tpl")
    server.wait_for("rebuilt")
    yield server
    server.stop()


@pytest.fixture
def events(served):
    stream = Events(served)
    yield stream
    stream.close()


@pytest.fixture
def edit(course, served):
    """Change a file of the course by a function of its text; afterwards, put it back and wait for that rebuild."""
    originals: dict[Path, str] = {}

    def change(name: str, how) -> None:
        path = course / name
        originals.setdefault(path, path.read_text())
        path.write_text(how(path.read_text()))

    yield change
    restore = {path: text for path, text in originals.items() if path.read_text() != text}
    if restore:
        stream, start = Events(served), len(served.lines)
        for path, text in restore.items():
            path.write_text(text)
        assert stream.after_save()["state"] == "ready"
        served.wait_for("rebuilt", start)  # so that the next test's lines start after this rebuild's
        stream.close()


def without_script(page: bytes) -> bytes:
    """The served page less the one reload script serve adds to it."""
    assert len(SCRIPT.findall(page)) == 1, "the served page should carry exactly one reload script"
    return SCRIPT.sub(b"", page)


def exchange(served: Served, request: str) -> tuple[int, dict, bytes]:
    """Status, headers and body of a raw ``request`` as sent on the wire (a client would drop a HEAD's body)."""
    with socket.create_connection((served.host, served.port), timeout=30) as connection:
        connection.sendall(request.encode())
        reply = b"".join(iter(lambda: connection.recv(65536), b""))  # a stream that does not end times out here
    head, _, body = reply.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return int(status.split()[1]), dict(line.split(": ", 1) for line in lines), body


def listening_addresses(pid: int) -> list[str]:
    """The local addresses of the TCP sockets process ``pid`` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, size in (("tcp", 4), ("tcp6", 16)):
        for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address = bytes.fromhex(fields[1].split(":")[0])
                # /proc prints each 32-bit word in host (little-endian) order.
                words = b"".join(address[i:i + 4][::-1] for i in range(0, size, 4))
                found.append(socket.inet_ntop(socket.AF_INET if size == 4 else socket.AF_INET6, words))
    return found



def test_serves_the_report_on_loopback_only_and_sends_the_root_to_it(served):
    assert served.host == "127.0.0.1"
    addresses = listening_addresses(served.process.pid)
    assert addresses == ["127.0.0.1"], f"serve listens on {addresses}"

    status, headers, page = served.get("/report.html")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-store"  # a reload must not show a cached page
    assert b"<h2" in page and b"Capacity" in page
    status, headers, _ = served.get("/")
    assert (status, headers["Location"]) == (302, "/report.html")
    assert served.get("/results.json")[0] == 404


def test_served_page_is_the_built_report_plus_one_script_and_its_pdf_link_serves_the_built_pdf(served, course):
    assert sorted(p.name for p in course.iterdir()) == ["cache", "experiments", "tpl"]  # serve wrote no outputs
    _, _, page = served.get("/report.html")
    status, headers, pdf = served.get("/report.pdf")  # what the page's PDF link asks for
    assert status == 200 and headers["Content-Type"] == "application/pdf"

    built = run_reportgen("build", STUDY, "--definitions", "experiments", "--cache", "cache", "--templates", "tpl",
                          "--out", "build", "--quiet", cwd=course)
    assert built.returncode == 0, built.stderr
    report = (course / "build" / "report.html").read_bytes()
    for trace in (b"EventSource", b"data-events", b"reportgen-serve", EVENTS.encode()):
        assert trace not in report, f"the built report carries {trace!r}"
    assert without_script(page) == report  # the same bytes as build's, with the script added and nothing else
    assert pdf == (course / "build" / "report.pdf").read_bytes()  # rendered from the page without its script


def test_template_edit_rerenders_without_computing_and_signals_a_reload(served, events, edit):
    before = events.current["build"]
    start = len(served.lines)
    edit("tpl/intro.html.j2", lambda text: text.replace(INTRO_HEADING, INTRO_HEADING + "\n<p>Edited prose.</p>"))
    news = events.after_save()
    assert news["state"] == "ready" and news["build"] != before, news  # what makes an open page reload
    assert re.fullmatch(r"rebuilt in [\d.]+ s \(0 runs computed\): tpl/intro\.html\.j2",
                        served.wait_for("rebuilt", start))
    assert b"<p>Edited prose.</p>" in served.get("/report.html")[2]


def test_definition_edit_recomputes_only_what_it_changed(served, events, edit):
    start = len(served.lines)
    edit(f"experiments/{STUDY}.toml",
         lambda text: text.replace('title = "Capacity"', 'title = "Capacity, fewer steps"')
                          .replace("steps = 40", "steps = 30"))
    assert events.after_save()["state"] == "ready"
    assert re.match(r"rebuilt in [\d.]+ s \(8 runs computed\)", served.wait_for("rebuilt", start)), served.lines
    assert b"Capacity, fewer steps" in served.get("/report.html")[2]


INTRO_HEADING = '{{ t("Introduction") }}</h2>'
"""Where the tests insert prose into a copy of the built-in introduction."""

ANSWERED = ("/", "/report.html", "/report.pdf", "/results.json", EVENTS)  # the stream last: old code streamed it


def test_serve_refuses_a_foreign_host_header(served):
    for hosts in (("evil.example",), (f"evil.example:{served.port}",), (), (served.netloc, served.netloc)):
        for path in ANSWERED:
            status, headers, body = served.request("GET", path, *hosts)
            assert (status, headers.get("Content-Type")) == (403, "text/plain; charset=utf-8"), (hosts, path)
            assert body.endswith(b": serve answers only to localhost, 127.0.0.1, [::1] and the --host it was given "
                                 b"(a guard against DNS rebinding)\n"), body
    assert served.request("GET", "/", "evil.example")[2].startswith(b"Host 'evil.example' is not a name of this")
    assert served.request("GET", "/")[2].startswith(b"no Host header: ")
    assert served.request("HEAD", "/report.html", "evil.example")[0] == 403


def test_serve_accepts_loopback_host_headers_and_not_their_lookalikes(served):
    port = served.port
    for host in ("localhost", f"localhost:{port}", f"LocalHost:{port}", "127.0.0.1", f"127.0.0.1:{port}",
                 f"127.8.9.10:{port}", "[::1]", f"[::1]:{port}"):
        status, headers, _ = served.request("GET", "/", host)
        assert (status, headers.get("Location")) == (302, "/report.html"), host
    for host in ("localhost.evil.example", f"127.0.0.1.nip.io:{port}", "app.localhost", "[::2]", "evil.example:127",
                 f"127.0.0.1:{port}@evil.example", "127.0.0.1 evil.example"):
        assert served.request("GET", "/", host)[0] == 403, host


def test_serve_answers_head_like_get_without_a_body(served, events):
    def same(headers: dict) -> dict:
        return {name: value for name, value in headers.items() if name != "Date"}

    for path in ANSWERED[:-1]:
        status, headers, body = exchange(served, f"HEAD {path} HTTP/1.1\r\nHost: {served.netloc}\r\n\r\n")
        got = served.get(path)
        assert (status, same(headers), body) == (got[0], same(got[1]), b""), path
        assert headers.get("Content-Length") == got[1].get("Content-Length")  # that of the body not sent
    # The event stream answers its headers and ends: no stream (exchange would time out), no body.
    status, headers, body = exchange(served, f"HEAD {EVENTS} HTTP/1.1\r\nHost: {served.netloc}\r\n\r\n")
    assert (status, same(headers), body) == (200, same(events.headers), b"")


def test_every_answer_says_nosniff(served, events):
    answers = {path: served.get(path)[1] for path in ANSWERED[:-1]}  # redirect, html, pdf, text
    answers |= {EVENTS: events.headers, "refused": served.request("GET", "/", "evil.example")[1],
                "HEAD": served.request("HEAD", "/report.html", served.netloc)[1],
                "POST": served.request("POST", "/", served.netloc)[1]}  # http.server's own 501
    assert {name: headers.get("X-Content-Type-Options") for name, headers in answers.items()} == dict.fromkeys(
        answers, "nosniff")


def test_serve_on_all_addresses_accepts_each_address_and_still_no_other_name(course, served):
    everywhere = Served(course, "--host", "0.0.0.0", cache=course / "cache")  # the store is full: a quick build
    try:
        everywhere.wait_for("rebuilt")
        port = everywhere.port
        for host in (f"0.0.0.0:{port}", f"192.0.2.7:{port}", f"[2001:db8::7]:{port}", "localhost", "127.0.0.1"):
            assert everywhere.request("GET", "/", host)[0] == 302, host  # an address cannot be rebound
        for host in ("evil.example", f"{socket.gethostname()}.evil.example:{port}"):
            assert everywhere.request("GET", "/", host)[0] == 403, host
    finally:
        everywhere.stop()


BAD_SAVES = {  # what breaks, and how the error line starts
    "TOML": (f"experiments/{STUDY}.toml", lambda text: text.replace("[train]", "[train"),
             f"experiments/{STUDY}.toml: line "),
    "template": ("tpl/intro.html.j2", lambda text: text + "{% if %}\n", "template intro.html.j2, line "),
    "refused definition": (f"experiments/{STUDY}.toml", lambda text: text.replace("steps = 40", "steps = 0"),
                           f"experiments/{STUDY}.toml: train.steps: expected an integer >= 1, got 0"),
}


@pytest.mark.parametrize("kind", BAD_SAVES)
def test_bad_save_shows_its_error_keeps_the_last_good_page_and_recovers(served, events, course, kind):
    name, breaking, error = BAD_SAVES[kind]
    path, good = course / name, served.get("/report.html")[2]
    original, start = path.read_text(), len(served.lines)
    try:
        path.write_text(breaking(original))
        news = events.after_save()
        assert news["state"] == "error" and news["error"].startswith(error), news
        assert news["build"] == events.current["build"]  # no new page: an open one stays, under the error
        assert served.wait_for("error: ", start).startswith(f"error: {error}")
        assert served.get("/report.html")[2] == good
    finally:
        start = len(served.lines)
        path.write_text(original)
    assert events.after_save() == {"state": "ready", "build": events.current["build"], "error": None}
    assert served.wait_for("rebuilt", start).startswith("rebuilt, no page changed, in ")
    assert served.get("/report.html")[2] == good


# The page's own inline script, as the report's explorer will have: it must still run beside serve's.
OWN_SCRIPT = "<script>document.documentElement.dataset.own = (() => 'ran')();</script>"
SERVE_STATE_JS = """(() => {
  const host = document.querySelector('reportgen-serve');
  const error = host && host.shadowRoot.querySelector('.error');
  return {own: document.documentElement.dataset.own || null, text: document.body.innerText,
          error: error && !error.hidden ? error.textContent : null,
          pdf: host && host.shadowRoot.querySelector('a.pdf').getAttribute('href'),
          leaked: ['me', 'build', 'host', 'root', 'events', 'problem', 'state', 'pdf', 'words']
            .filter(name => name in window)};
})()"""


def wait_in_page(browser, session, test, timeout: float = 60) -> dict:
    """The page's serve state once ``test`` holds for it (polled: a reload replaces the document)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = evaluate(browser, session, SERVE_STATE_JS)
        except AssertionError:  # evaluated while the page was being replaced
            state = None
        if state is not None and test(state):
            return state
        assert time.monotonic() < deadline, f"the page did not get there: {state}"
        time.sleep(0.05)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium package)")
def test_open_page_reloads_in_chromium_on_a_save_and_shows_a_bad_one(served, events, edit, tmp_path):
    edit("tpl/intro.html.j2", lambda text: text.replace(INTRO_HEADING, INTRO_HEADING + "\n" + OWN_SCRIPT))
    assert events.after_save()["state"] == "ready"
    browser = Chromium(CHROMIUM, tmp_path / "profile", tmp_path / "chromium.log")
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"}, timeout=60)["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", {"url": served.url}, session=session)
        state = wait_in_page(browser, session, lambda s: s["own"] == "ran" and s["pdf"] is not None)
        assert state["pdf"] == "/report.pdf" and state["leaked"] == [] and state["error"] is None
        mark = len(browser.events)

        edit("tpl/intro.html.j2", lambda text: text.replace(INTRO_HEADING, INTRO_HEADING + "\n<p>Saved.</p>"))
        state = wait_in_page(browser, session, lambda s: "Saved." in s["text"])  # no hand on the browser
        # A real reload: a new document's load event (it may follow the new text by a moment), no hand on the browser.
        browser.wait_for("Page.loadEventFired", session, start=mark, timeout=30)
        assert state["own"] == "ran"

        edit("tpl/intro.html.j2", lambda text: text + "{% if %}\n")
        state = wait_in_page(browser, session, lambda s: s["error"] is not None)
        assert state["error"].startswith("template intro.html.j2, line ") and "Saved." in state["text"]
        edit("tpl/intro.html.j2", lambda text: text.replace("{% if %}\n", ""))
        wait_in_page(browser, session, lambda s: s["error"] is None)
    finally:
        browser.close()
    assert console_errors(browser.events) == []


def test_with_pdf_the_pdf_is_rendered_after_the_build_and_ctrl_c_then_stops_cleanly(course, served):
    idle = Served(course, "--pdf", cache=course / "cache")  # the shared server has filled the store: a quick build
    idle.wait_for("rebuilt")
    rendered = idle.wait_for("rendered")
    assert re.fullmatch(r"rendered report\.pdf in [\d.]+ s", rendered)  # before anyone asked for it
    status, headers, pdf = idle.get("/report.pdf")
    assert status == 200 and pdf.startswith(b"%PDF-")
    assert [line for line in idle.lines if line.startswith("rendered")] == [rendered]  # served, not rendered again
    children = idle.process.pid
    status, stderr = idle.stop()
    assert status == 0 and "Traceback" not in stderr and stderr.endswith("stopped"), stderr
    with pytest.raises(ProcessLookupError):
        os.killpg(children, 0)  # nothing is left of its process group


def test_ctrl_c_while_computing_stops_its_workers_too(tmp_path):
    write_files(tmp_path / "experiments", TINY_COURSE)
    busy = Served(tmp_path, "--jobs", "2")  # an empty store: it is training when the signal comes
    time.sleep(1.0)
    status, stderr = busy.stop()
    assert status == 0 and "Traceback" not in stderr and stderr.endswith("stopped"), stderr
    deadline = time.monotonic() + 10
    while True:  # a worker that outlived its parent would still be in the group
        try:
            os.killpg(busy.process.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a worker process outlived serve"
        time.sleep(0.1)


BYSTANDER = """
import multiprocessing, signal, sys, time
from pathlib import Path
from reportgen.build import BuildOptions
from reportgen.serve import ServeOptions, serve

def linger(ready):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a worker of anyone's would: only a terminate ends it
    ready.set()
    time.sleep(600)

if __name__ == "__main__":
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    bystander = context.Process(target=linger, args=(ready,), daemon=True)
    bystander.start()
    ready.wait(60)
    serve(BuildOptions(definitions=Path("experiments"), studies=(sys.argv[1],), cache=Path(sys.argv[2])),
          ServeOptions(port=0))
    print(f"bystander alive: {bystander.is_alive()}", file=sys.stderr, flush=True)
"""


def test_stopping_serve_spares_child_processes_it_did_not_start(course, served):
    # serve run from a caller's own Python process: a child of the caller's is not serve's to end.
    caller = Served(course, command=[sys.executable, "-c", BYSTANDER, STUDY, str(course / "cache")])
    caller.wait_for("rebuilt")  # the store is full: a quick build
    status, stderr = caller.stop()
    assert status == 0 and "Traceback" not in stderr, stderr
    assert stderr.endswith("stopped\nbystander alive: True"), stderr


def test_student_preview_computes_no_run_as_the_student_build(tmp_path, capsys):
    from reportgen.build import BuildOptions
    from reportgen.progress import Reporter
    from reportgen.serve import Preview, Session

    write_files(tmp_path / "experiments", TINY_COURSE)
    options = BuildOptions(definitions=tmp_path / "experiments", studies=(STUDY,), cache=tmp_path / "store",
                           audience="student")
    session = Session(options, Preview(), Reporter("quiet"))  # the rebuild serve runs on a save, in this process
    assert session.rebuild()
    assert re.fullmatch(r"rebuilt in [\d.]+ s \(0 runs computed\)\n", capsys.readouterr().err)
    assert list(session.preview.pages) == ["report-student.html"] and not (tmp_path / "store").exists()


def test_busy_port_foreign_host_and_missing_course_are_refused_before_anything_is_written(course, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refusals = {
            ("--port", str(port)): f"--port: port {port} is in use; name another with --port N, or --port 0",
            ("--port", "0", "--host", "192.0.2.1"): "--host 192.0.2.1: cannot listen there",  # TEST-NET-1
            ("--port", "0", "--host", "no-such-host.invalid"): "--host no-such-host.invalid: not an address",
            ("--port", "0", "--definitions", tmp_path / "none"): f"{tmp_path / 'none'}: definitions folder not found",
        }
        for args, message in refusals.items():
            result = run_reportgen("serve", "--definitions", course / "experiments", "--cache", tmp_path / "store",
                                   *args, cwd=tmp_path, timeout=60)
            assert result.returncode == 2 and result.stderr.startswith(f"Error: {message}"), result.stderr
    assert list(tmp_path.iterdir()) == []  # not even the result store


def test_watches_the_definitions_and_every_template_folder_a_build_searches(tmp_path):
    from reportgen.build import BuildOptions, load
    from reportgen.catalogues import builtin_locale

    definitions = write_files(tmp_path / "course", {**TINY_COURSE, "course.toml": TINY_COURSE["course.toml"]
                                                    + 'templates = "own"\n', "own/bibliography.toml": ""})
    given = write_files(tmp_path / "given", {"studies/capacity.html.j2": ""})
    _, _, folders = load(BuildOptions(definitions=definitions, templates=(given,)))
    watched = watch_set(definitions, folders)

    locale = builtin_locale().resolve()
    assert watched.folders() == [definitions.resolve(), given.resolve(), given.resolve() / "studies",
                                 (definitions / "own").resolve(), builtin_templates().resolve(),
                                 builtin_templates().resolve() / "studies", locale, locale / "es",
                                 locale / "es" / "LC_MESSAGES"]
    read = [definitions / "course.toml", definitions / "capacity.toml", given / "studies" / "capacity.html.j2",
            definitions / "own" / "bibliography.toml", builtin_templates() / "report.css",
            builtin_templates() / "studies" / "capacity.html.j2", locale / "es" / "LC_MESSAGES" / "messages.po"]
    unread = [definitions / ".reportgen-cache" / "x.toml", definitions / "notes.txt", given / ".intro.html.j2.swp",
              given / "intro.html.j2~", given / "4913", definitions / ".course.toml.1a2b3c4d.tmp"]
    assert [path for path in read if not watched.reads(path.resolve())] == []
    assert [path for path in unread if watched.reads(path.resolve())] == []
