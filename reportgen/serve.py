"""``reportgen serve``: build the course, serve its HTML on this machine, rebuild and reload on every save.

Where it writes: like ``mkdocs serve``, which builds into a temporary folder
instead of the site folder, serve keeps its pages in memory and writes no
output folder at all, so the report ``reportgen build`` wrote stays as it
was and no reload script can reach a file. The result store is read and
written as by ``build``. A PDF is rendered from the page as built (without
the script), when the page's PDF link asks for it, or after every save with
``--pdf``.

One process stays warm between saves: a study whose definition did not
change keeps its result in memory, so a prose edit (a template, the
bibliography, course.toml's title) only renders the HTML again; a changed
study goes through the result store exactly as in ``build``.

Each save runs build's one pipeline (``build.pipeline``), as mkdocs' serve
calls its ``build()``: the :class:`Session` is its target, which says what
serve keeps in memory, renders and delivers instead of an output folder.
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import re
import signal
import socket
import socketserver
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import click

from . import placement
from .build import BuildOptions, BuildSummary, StudyMemory, Target, check_course_templates, load, pipeline
from .cache import ResultCache
from .editions import Material
from .errors import BadInputError, ReportgenError
from .executors import Executor
from .livereload import EVENTS, WAITING_PAGE, inject, message
from .model import Course
from .outputs import Edition
from .progress import Reporter
from .spec import display_path
from .watch import WatchSet, changes, watch_set

DEFAULT_PORT = 8000
PORT_TRIES = 10
"""Without --port, the first free of 8000 ... 8009 (as Jupyter tries the next ports)."""
KEEPALIVE_S = 15.0
"""How often an idle event stream gets a comment line, which also finds clients that have gone."""


@dataclass(frozen=True)
class ServeOptions:
    """Where ``reportgen serve`` listens and what it does beyond the HTML."""

    host: str = "127.0.0.1"
    port: int | None = None
    """None: :data:`DEFAULT_PORT` or the next free one; 0: any free port."""
    open_browser: bool = False
    pdf: bool = False
    """Render the PDF after every good rebuild, not only when asked for."""


def say(text: str) -> None:
    """One line for the terminal."""
    click.echo(text, err=True)


# --------------------------------------------------------------------------- what is served


class Preview:
    """The served state: the last good pages, the current error, and the news that event streams wait for."""

    def __init__(self) -> None:
        self._news = threading.Condition()
        self.serial = 0
        self.state = "building"
        self.error: str | None = None
        self.build = ""
        """A digest of the last good pages; '' before the first good build."""
        self.pages: dict[str, bytes] = {}
        self.material: Material | None = None
        self.editions: tuple[Edition, ...] = ()
        self.closed = False
        self._pdf_lock = threading.Lock()
        self._pdfs: dict[tuple[str, str], bytes] = {}

    def _announce(self, **fields) -> None:
        with self._news:
            for name, value in fields.items():
                setattr(self, name, value)
            self.serial += 1
            self._news.notify_all()

    def building(self) -> None:
        """A rebuild has started."""
        self._announce(state="building")

    def publish(self, material: Material, chosen: tuple[Edition, ...], pages: dict[str, bytes]) -> None:
        """Serve these pages from now on."""
        self._announce(state="ready", error=None, build=_build_id(pages), pages=pages, material=material,
                       editions=chosen)

    def differs(self, pages: dict[str, bytes]) -> bool:
        """Whether ``pages`` differ from the last good ones (an open page reloads only then)."""
        return _build_id(pages) != self.build

    def fail(self, error: str) -> None:
        """A save broke the build: keep the last good pages, show ``error`` over them."""
        self._announce(state="error", error=error)

    def close(self) -> None:
        """End every event stream."""
        self._announce(closed=True)

    def next_news(self, seen: int, timeout: float) -> tuple[int, bytes | None]:
        """The state as one event once it differs from serial ``seen`` (None after ``timeout`` or on close)."""
        with self._news:
            self._news.wait_for(lambda: self.serial != seen or self.closed, timeout)
            if self.closed or self.serial == seen:
                return seen, None
            return self.serial, message(self.state, self.build, self.error)

    def first_page(self) -> str:
        """The address ``/`` sends a browser to."""
        return (self.editions[0] if self.editions else Edition("instructor")).file_name("html")

    def page(self, name: str) -> bytes | None:
        """The page ``name`` with the reload script; the waiting page before any good build; None if unknown."""
        with self._news:
            pages, build = self.pages, self.build
        if name in pages:
            return inject(pages[name], build)
        return inject(WAITING_PAGE, "") if not pages and name.endswith(".html") else None

    def pdf(self, name: str) -> bytes | None:
        """The PDF ``name`` of the last good build, rendered the first time it is asked for; None if unknown."""
        from .pdf import render_pdf

        with self._news:
            build, material = self.build, self.material
            edition = next((e for e in self.editions if e.file_name("pdf") == name), None)
            html = self.pages.get(edition.file_name("html")) if edition else None
        if html is None:
            return None
        with self._pdf_lock:  # one rendering at a time: a second request for the same PDF waits for the first
            if (build, name) not in self._pdfs:
                start = time.perf_counter()
                rendered = render_pdf(html.decode("utf-8"), epoch=material.course.epoch)
                self._pdfs = {key: pdf for key, pdf in self._pdfs.items() if key[0] == build}  # older builds go
                self._pdfs[(build, name)] = rendered
                say(f"rendered {name} in {time.perf_counter() - start:.1f} s")
            return self._pdfs[(build, name)]

    def render_pdfs(self) -> None:
        """Every PDF of the last good build (for --pdf), one after the other."""
        for edition in self.editions:
            try:
                self.pdf(edition.file_name("pdf"))
            except ReportgenError as exc:
                say(f"error: {exc.format_message()}")


def _build_id(pages: dict[str, bytes]) -> str:
    return hashlib.sha256(b"".join(name.encode() + b"\0" + page for name, page in pages.items())).hexdigest()[:16]


# --------------------------------------------------------------------------- rebuilding


class Session(Target):
    """Serve's target of the build pipeline: the served pages, rebuilt on every save. Each unchanged study's
    execution stays in memory between rebuilds, and templates are checked again only when one may have changed."""

    live = True

    def __init__(self, options: BuildOptions, preview: Preview, reporter: Reporter):
        self.options = options
        self.preview = preview
        self.reporter = reporter
        self.folders: list[Path] = list(options.templates)
        self.memory = StudyMemory()
        self._warned: list[str] = []
        self._checked: tuple | None = None
        """The template folders and study templates last checked, while no template has changed since."""
        self._changed: list[Path] = []
        self._start = 0.0
        """What the rebuild in progress was asked for by, and when it started."""

    def watched(self) -> WatchSet:
        """What the last build read (or, before a good load, what the options name)."""
        return watch_set(self.options.definitions, self.folders)

    def rebuild(self, changed: list[Path] = ()) -> bool:
        """Build the pages again and publish them, or show why not; True when they were published."""
        self._start, self._changed = time.perf_counter(), list(changed)
        self.preview.building()
        try:
            loaded = load(self.options)
            self.folders = loaded[2]
            pipeline(self.options, loaded, self, self.reporter, BuildSummary())
        except ReportgenError as exc:
            self.preview.fail(exc.format_message())
            kept = "still serving the last good page" if self.preview.pages else "no good page yet"
            say(f"error: {exc.format_message()}\n  {kept}; save a fix to rebuild")
            return False
        except Exception as exc:  # a bug, or a plug-in kind's: the server stays up and says what broke
            self.preview.fail(f"internal error: {exc.__class__.__name__}: {exc}")
            say(f"internal error while rebuilding (the last good page stays):\n{traceback.format_exc()}")
            return False
        return True

    def check_templates(self, course: Course, folders: list[Path], languages: tuple[str, ...],
                        audiences: tuple[str, ...]) -> None:
        """Check the templates as build does, unless only definitions changed since they were last checked."""
        checking = (tuple(folders), tuple(sorted({study.template for study in course.studies})), languages,
                    audiences)
        definitions, changed = self.options.definitions.resolve(), self._changed
        if checking == self._checked and changed and all(path.parent == definitions for path in changed):
            return
        self._checked = None
        check_course_templates(course, folders, languages, audiences)
        self._checked = checking

    def executor(self) -> Executor:
        """An executor for this rebuild alone: nothing is reached (nor a worker forked) while only prose changes.

        Leaving it ends its workers, a Ctrl-C included: they are the only processes serve starts and ends.
        """
        return placement.for_build(self.options.scheduler, self.options.jobs)

    def deliver(self, files: dict[str, bytes], material: Material, chosen: tuple[Edition, ...],
                summary: BuildSummary) -> None:
        """Say what the rebuild did, then serve its pages."""
        self._warn(summary.warnings)
        computed = sum(e.trained for study, e in summary.executions.items() if study not in summary.kept)
        changed = self._changed
        what = ", ".join(display_path(path) for path in changed[:3]) + (" ..." if len(changed) > 3 else "")
        different = self.preview.differs(files)
        say(f"{'rebuilt' if different else 'rebuilt, no page changed,'} in {time.perf_counter() - self._start:.2f} s "
            f"({computed} runs computed){': ' + what if what else ''}")
        self.preview.publish(material, chosen, files)  # after the line: the terminal has it when the page reloads

    def _warn(self, warnings: list[str]) -> None:
        """Print the warnings when they differ from the last rebuild's, not on every save."""
        if warnings != self._warned:
            for warning in warnings:
                say(f"warning: {warning}")
        self._warned = warnings


# --------------------------------------------------------------------------- HTTP


HOST = re.compile(r"(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9.-]+))(?::\d{1,5})?", re.IGNORECASE)
"""A Host header: a name or an address (IPv6 in brackets), and maybe a port."""


def host_allowed(header: str, given: str, bound: str) -> bool:
    """Whether Host ``header`` names this server: loopback, the --host ``given`` or the address ``bound``."""
    # A DNS rebinding page reaches serve under the attacker's own name, so only names this machine answers to
    # pass. Any address passes when serve listens on all of them (--host 0.0.0.0): an address cannot be
    # rebound, and a visitor types whichever of the machine's addresses reaches it.
    if not (match := HOST.fullmatch(header)):
        return False
    name = (match["v6"] or match["name"]).lower()
    if name in ("localhost", given.lower()):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    listening = ipaddress.ip_address(bound)
    return address.is_loopback or address == listening or listening.is_unspecified


class _Handler(BaseHTTPRequestHandler):
    preview: Preview  # set on the subclass made per server
    host: str  # what --host gave, set there too
    server_version = "reportgen-serve"

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        path = urlsplit(self.path).path
        if wrong := self._wrong_host():
            self._send(403, "text/plain; charset=utf-8",
                       f"{wrong}: serve answers only to localhost, 127.0.0.1, [::1] and the --host it was given "
                       "(a guard against DNS rebinding)\n".encode())
        elif path == "/":
            self.send_response(302)
            self.send_header("Location", "/" + self.preview.first_page())
            self.end_headers()
        elif path == EVENTS:
            self._events()
        elif path.endswith(".html") and (page := self.preview.page(path[1:])) is not None:
            self._send(200 if self.preview.pages else 503, "text/html; charset=utf-8", page)
        elif path.endswith(".pdf"):
            self._pdf(path[1:])
        else:
            self._send(404, "text/plain; charset=utf-8", f"{path}: not served here\n".encode())

    do_HEAD = do_GET  # the same answer; _send and _events leave out the body

    def end_headers(self) -> None:
        """The headers every answer carries, then the blank line that ends them."""
        # Every answer, http.server's own errors too: no browser may take a served file for another type.
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def _wrong_host(self) -> str | None:
        """Why the request's Host header does not name this server; None when it does."""
        hosts = self.headers.get_all("Host", [])
        if len(hosts) != 1:
            return "more than one Host header" if hosts else "no Host header"
        if not host_allowed(hosts[0], self.host, self.server.server_address[0]):
            return f"Host {hosts[0]!r} is not a name of this server"
        return None

    def _pdf(self, name: str) -> None:
        try:
            pdf = self.preview.pdf(name)
        except ReportgenError as exc:
            self._send(500, "text/plain; charset=utf-8", f"{exc.format_message()}\n".encode())
            return
        if pdf is None:
            self._send(404, "text/plain; charset=utf-8", f"/{name}: no such edition, or no good build yet\n".encode())
        else:
            self._send(200, "application/pdf", pdf)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")  # a reload must fetch the new page
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command == "HEAD":
            return
        seen = -1  # so the current state goes out at once: a page never misses a rebuild made while it loaded
        try:
            self.wfile.write(b"retry: 1000\n\n")
            while not self.preview.closed:
                seen, news = self.preview.next_news(seen, KEEPALIVE_S)
                self.wfile.write(news if news is not None else b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away

    def log_message(self, format: str, *args) -> None:
        pass  # one line per request would bury the rebuild messages


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks the resolver for a fully qualified name, which can take seconds offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def bind(host: str, port: int | None, preview: Preview) -> _Server:
    """A server listening on ``host`` (loopback by default) at ``port``; BadInputError if it cannot."""
    try:
        family = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise BadInputError(f"--host {host}: not an address of this machine ({exc.strerror})") from None
    handler = type("Handler", (_Handler,), {"preview": preview, "host": host})
    server_class = type("Server", (_Server,), {"address_family": family})
    candidates = [port] if port is not None else range(DEFAULT_PORT, DEFAULT_PORT + PORT_TRIES)
    for candidate in candidates:
        try:
            return server_class((host, candidate), handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE and candidate != candidates[-1]:
                continue
            if exc.errno == errno.EADDRINUSE:
                busy = f"port {port} is" if port is not None else f"ports {candidates[0]}-{candidates[-1]} are"
                raise BadInputError(f"--port: {busy} in use; name another with --port N, or --port 0 for "
                                    "any free one") from None
            raise BadInputError(f"--host {host}: cannot listen there ({exc.strerror or exc})") from None
    raise AssertionError("unreachable")


def url(server: _Server, name: str) -> str:
    """The address of page ``name`` on ``server``."""
    host, port = server.server_address[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/{name}"


# --------------------------------------------------------------------------- the loop


def serve(options: BuildOptions, serving: ServeOptions) -> None:
    """Build, serve and watch until Ctrl-C (or SIGTERM); then stop cleanly and return."""
    if not options.definitions.is_dir():
        raise BadInputError(f"{options.definitions}: definitions folder not found")
    preview = Preview()
    server = bind(serving.host, serving.port, preview)  # a busy port fails before anything is written
    try:
        ResultCache(options.cache).check_writable()
    except BadInputError:
        server.server_close()
        raise
    session = Session(options, preview, Reporter.for_terminal(quiet=False))
    stop = threading.Event()
    try:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        with _interruptible():
            say(f"serving {url(server, '')} (Ctrl-C to stop)")
            if not _is_loopback(server):
                say(f"warning: listening on {serving.host}: anyone who can reach this machine can read the report")
            _watch(session, serving, stop, server)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        preview.close()
        server.shutdown()
        server.server_close()
    say("stopped")


def _watch(session: Session, serving: ServeOptions, stop: threading.Event, server: _Server) -> None:
    """Build once the watcher is live, then again on every batch of saves; watch anew when what a build reads
    has changed (and build once more: a save made before the new watcher was live would be missed)."""
    build_now, opened = True, not serving.open_browser
    while not stop.is_set():
        watched = session.watched()
        for changed in changes(watched, stop):
            if not (changed or build_now):
                continue
            build_now = False
            if session.rebuild(changed) and serving.pdf:
                threading.Thread(target=session.preview.render_pdfs, daemon=True).start()
            if not opened:
                import webbrowser

                webbrowser.open(url(server, session.preview.first_page()))
                opened = True
            if session.watched() != watched:
                build_now = True
                break


def _is_loopback(server: _Server) -> bool:
    return ipaddress.ip_address(server.server_address[0]).is_loopback


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM stop serve at once, worker processes of a rebuild in progress included."""

    def interrupt(signum, frame) -> None:
        # Unwinding leaves the rebuild's executor, whose cancel ends its own workers, a unit running on one too.
        # Nothing is ended here: another child of this process (serve run from a caller's) is not serve's to end,
        # and a pool's shutdown may take a lock that the interrupted code holds.
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
