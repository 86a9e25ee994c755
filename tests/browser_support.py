"""Headless Chromium for the browser tests: the DevTools protocol over a pipe, and a fenced network.

Chromium is driven with the DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON messages ending in a
NUL byte, Chromium reads fd 3 and writes fd 4), so no websocket library is needed.

The network is fenced: the page is served by ``http.server`` on 127.0.0.1 (ephemeral port), which logs every request;
every other address goes to a second local server set as Chromium's proxy, which refuses everything, and host
names resolve to nothing. Chromium itself still asks Google for things in the background whatever the flags
(sign-in's ListAccounts, GCM check-in, ...); those land in the proxy, never on the network. What the *page* requested,
anywhere, is read from the DevTools Network events of its own tab.
"""

from __future__ import annotations

import http.server
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

# The flags of the issue, no extensions, and the DevTools pipe (the profile and the network fence come per run).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
                  "--remote-debugging-pipe"]


class DevToolsError(RuntimeError):
    """Chromium answered a command with an error, or did not answer in time."""


class Chromium:
    """Headless Chromium and its DevTools pipe: send a command, wait for its reply or an event; every wait bounded.

    All reading happens in ``_pump``, on the caller's thread: it reads what Chromium wrote, splits it at NUL bytes,
    files replies by id and appends events (``{"method", "params", "sessionId"}``) to ``self.events``.
    """

    def __init__(self, executable: str, profile: Path, log: Path, extra_flags: list[str] = ()):
        to_chromium_read, self._to_chromium = os.pipe()
        self._from_chromium, from_chromium_write = os.pipe()
        # Chromium wants the pipe on fds 3 and 4. It is handed to a shell as stdin and stdout; the shell moves it
        # to 3 and 4, points stdin at /dev/null and stdout at the log, and execs the launcher (which execs Chromium).
        command = ["/bin/sh", "-c", 'exec "$@" 3<&0 4>&1 0</dev/null 1>&2', "sh", executable,
                   f"--user-data-dir={profile}", *CHROMIUM_FLAGS, *extra_flags, "about:blank"]
        self._log = log
        with open(log, "wb") as output:
            self.process = subprocess.Popen(command, stdin=to_chromium_read, stdout=from_chromium_write, stderr=output,
                                            start_new_session=True)
        os.close(to_chromium_read)  # Chromium holds its ends; ours see EOF when it exits
        os.close(from_chromium_write)
        self._buffer = b""
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        """Send one command and return its result."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_chromium, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise DevToolsError(f"Chromium has gone (exit status {self._exit_status()}); could not send {method}\n"
                                f"{self.log_tail()}") from None
        deadline = time.monotonic() + timeout
        while self._next_id not in self._replies:
            self._pump(deadline, f"the reply to {method}")
        reply = self._replies.pop(self._next_id)
        if "error" in reply:
            raise DevToolsError(f"{method} failed: {reply['error']}")
        return reply["result"]

    def wait_for(self, method: str, session: str | None = None, start: int = 0, timeout: float = 30) -> dict:
        """The first event ``method`` of ``session`` at or after index ``start`` of ``self.events``."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[start:]:
                if event["method"] == method and event.get("sessionId") == session:
                    return event["params"]
            start = len(self.events)
            self._pump(deadline, f"the event {method}")

    def _pump(self, deadline: float, waiting_for: str) -> None:
        """Read what Chromium has written, waiting until ``deadline`` at most."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self._from_chromium], [], [], remaining)[0]:
            raise DevToolsError(f"timed out waiting for {waiting_for}\n{self.log_tail()}")
        chunk = os.read(self._from_chromium, 1 << 20)
        if not chunk:
            raise DevToolsError(f"Chromium closed the pipe (exit status {self._exit_status()}) while waiting for "
                                f"{waiting_for}\n{self.log_tail()}")
        *messages, self._buffer = (self._buffer + chunk).split(b"\0")
        for raw in messages:
            message = json.loads(raw)
            if "id" in message:
                self._replies[message["id"]] = message
            else:
                self.events.append(message)

    def _exit_status(self) -> int | str:
        try:
            return self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "none yet"

    def log_tail(self, lines: int = 20) -> str:
        return "Chromium's output ends with:\n" + "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        """Ask Chromium to quit, then kill its process group (renderers included) whatever happened."""
        try:
            if self.process.poll() is None:
                try:
                    self.send("Browser.close", timeout=5)
                except (DevToolsError, OSError):
                    pass
                try:
                    self.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.close(self._to_chromium)
            os.close(self._from_chromium)
            self.process.wait(timeout=10)


class RecordingServer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 (ephemeral port), in a thread, that records every request line it gets.

    It serves ``folder``; without one it refuses everything (502), which makes it a dead-end proxy.
    """

    def __init__(self, folder: Path | None = None):
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(folder or os.devnull), **kwargs)

            def send_head(self):
                if folder is None:
                    self.send_error(502, "offline")
                    return None
                return super().send_head()

            def do_CONNECT(self):  # a proxied https request
                self.send_error(502, "offline")

            def log_request(self, code="-", size="-"):  # called for every answer, errors included
                server.requests.append((self.command, self.path))

            def log_message(self, format, *args):  # keep the test output quiet
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # Chromium hanging up on the proxy is no news
            super().handle_error(request, client_address)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)


def console_errors(events: list[dict]) -> list[str]:
    """console.error calls, uncaught exceptions and error-level log entries (failed loads among them)."""
    errors = []
    for event in events:
        method, params = event["method"], event["params"]
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            errors.append(f"console.{params['type']}: "
                          + " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(f"exception: {details.get('exception', {}).get('description', details['text'])}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            errors.append(f"log ({entry['source']}): {entry['text']} {entry.get('url', '')}".rstrip())
    return errors


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", data[:16]
    return struct.unpack(">II", data[16:24])


def evaluate(browser: Chromium, session: str, expression: str):
    """The value of a JavaScript expression in the page (awaited if it is a promise)."""
    result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                          session=session)
    assert "exceptionDetails" not in result, result["exceptionDetails"]
    return result["result"]["value"]


@contextmanager
def fenced_tab(folder: Path, profile: Path) -> Iterator[tuple[Chromium, str, RecordingServer]]:
    """Chromium with one tab attached (Page, Runtime, Log and Network enabled) behind the network fence, and the
    server of ``folder``: yields (browser, session, server); the page of ``name`` is at ``server.url + "/" + name``."""
    with RecordingServer(folder) as server, RecordingServer() as proxy:
        browser = Chromium(CHROMIUM, profile / "profile", profile / "chromium.log",
                           [f"--proxy-server={proxy.url}", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"}, timeout=60)["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(f"{domain}.enable", session=session)
            yield browser, session, server
        finally:
            browser.close()


def load(browser: Chromium, session: str, url: str) -> None:
    """Navigate the tab to ``url`` and wait for its load event."""
    start = len(browser.events)
    navigation = browser.send("Page.navigate", {"url": url}, session=session)
    assert "errorText" not in navigation, f"{url}: {navigation['errorText']}"
    browser.wait_for("Page.loadEventFired", session, start)
