"""In a real browser: headless Chromium opens the tiny course's report.html from a local server, offline.

Chromium is driven with the DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON messages ending in a
NUL byte, Chromium reads fd 3 and writes fd 4), so no websocket library is needed.

The network is fenced: the page is served by ``http.server`` on 127.0.0.1 (ephemeral port), which logs every request;
every other address goes to a second local server set as Chromium's proxy, which refuses everything, and host
names resolve to nothing. Chromium itself still asks Google for things in the background whatever the flags
(sign-in's ListAccounts, GCM check-in, ...); those land in the proxy, never on the network. What the *page* requested,
anywhere, is read from the DevTools Network events of its own tab.
"""

from __future__ import annotations

import base64
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
from pathlib import Path

import pytest

from .test_build import reportgen

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's "
                                                          "chromium package)")

# The flags of the issue, no extensions, and the DevTools pipe (the profile and the network fence come per run).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions",
                  "--remote-debugging-pipe"]

VIEWPORTS = {  # name: Emulation.setDeviceMetricsOverride parameters
    "laptop": {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    "phone": {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True},
}

# Every image: where it is (nearest id), its natural size, and whether it decodes (and if not, why).
IMAGES_JS = """(async () => {
  const images = [...document.images];
  const decoded = await Promise.allSettled(images.map(img => img.decode()));
  return images.map((img, i) => ({
    index: i, className: img.className, alt: img.alt.slice(0, 80), src: img.getAttribute('src').slice(0, 40),
    inside: (img.closest('[id]') || {}).id || null,
    complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    decodeError: decoded[i].status === 'rejected' ? String(decoded[i].reason) : null,
  }));
})()"""

# How wide the page is, and the elements that stick out of the viewport (not counting those inside a scroller).
# The viewport is the initial containing block (clientWidth, the device width): in mobile emulation Chromium widens
# window.innerWidth to fit an overflowing page, so innerWidth alone would hide the overflow.
OVERFLOW_JS = """(() => {
  const limit = document.documentElement.clientWidth + 1;
  const clipped = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
  const right = el => { const box = el.getBoundingClientRect();  // of the box, or of its content if that spills
    return getComputedStyle(el).overflowX === 'visible' ? Math.max(box.right, box.left + el.scrollWidth) : box.right; };
  const describe = el => '<' + el.tagName.toLowerCase() + (el.id ? ' id=' + el.id : '')
    + (el.className ? ' class=' + el.className : '') + '> reaches ' + Math.round(right(el)) + ' px';
  const culprits = [...document.body.querySelectorAll('*')]
    .filter(el => right(el) > limit && !clipped(el)).slice(0, 10).map(describe);
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          clientWidth: document.documentElement.clientWidth, culprits};
})()"""


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


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The tiny course built by the real command: the folder holding report.html."""
    from .conftest import TINY_COURSE

    root = tmp_path_factory.mktemp("browser-course")
    definitions = root / "experiments"
    definitions.mkdir()
    for name, text in TINY_COURSE.items():
        (definitions / name).write_text(text.lstrip())
    result = reportgen("build", "--definitions", definitions, "--out", root / "build", "--cache", root / "cache",
                       "--quiet")
    assert result.returncode == 0, result.stderr
    return root / "build"


def test_report_loads_offline_with_every_image_decoded_and_no_console_error(report, tmp_path):
    html = (report / "report.html").read_text()
    assert html.count("<img ") >= 40  # figures, displayed and inline equations: all data: URIs

    with RecordingServer(report) as server, RecordingServer() as proxy:
        page_url = f"{server.url}/report.html"
        fence = [f"--proxy-server={proxy.url}",  # every address but 127.0.0.1 goes to a local dead end
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
        browser = Chromium(CHROMIUM, tmp_path / "profile", tmp_path / "chromium.log", fence)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"}, timeout=60)["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(f"{domain}.enable", session=session)
            browser.send("Network.setCacheDisabled", {"cacheDisabled": True}, session=session)  # one load per width
            problems = [problem for name, metrics in VIEWPORTS.items()
                        for problem in open_at_width(browser, session, page_url, name, metrics, tmp_path)]
        finally:
            browser.close()

    if server.requests != [("GET", "/report.html")] * len(VIEWPORTS):  # the page, once per width, and nothing else
        problems.append(f"the server got {server.requests}")
    # proxy.requests holds what Chromium itself tried to reach in the background; it never left the machine.
    assert not problems, "\n".join(problems)


def open_at_width(browser: Chromium, session: str, page_url: str, name: str, metrics: dict, tmp_path: Path) -> list:
    """Load the page in a viewport of ``metrics``, screenshot it, and return what is wrong with it."""
    problems = []
    start = len(browser.events)
    browser.send("Emulation.setDeviceMetricsOverride", metrics, session=session)
    navigation = browser.send("Page.navigate", {"url": page_url}, session=session)
    assert "errorText" not in navigation, f"{name}: {navigation['errorText']}"
    browser.wait_for("Page.loadEventFired", session, start)

    images = evaluate(browser, session, IMAGES_JS)
    assert len(images) >= 40, f"{name}: only {len(images)} images in the page"
    broken = [image for image in images if image["decodeError"] or not (
        image["complete"] and image["naturalWidth"] > 0 and image["naturalHeight"] > 0)]
    if broken:
        problems.append(f"{name}: {len(broken)} of {len(images)} images not loaded and decoded: {json.dumps(broken)}")

    layout = evaluate(browser, session, OVERFLOW_JS)
    widened = layout["innerWidth"] != metrics["width"]  # what mobile emulation does to fit a page that overflows
    if name == "phone" and (layout["scrollWidth"] > layout["innerWidth"] + 1 or widened):
        problems.append(f"{name}: horizontal overflow, the page is {layout['scrollWidth']} px wide in a "
                        f"{metrics['width']} px viewport (innerWidth {layout['innerWidth']}); sticking out: "
                        f"{layout['culprits']}")

    png = base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
    (tmp_path / f"report-{name}.png").write_bytes(png)
    scale = metrics["deviceScaleFactor"]
    assert png_size(png) == (metrics["width"] * scale, metrics["height"] * scale), name

    # Last, so that anything logged while the page was inspected counts too.
    events = browser.events[start:]
    if errors := console_errors(events):
        problems.append(f"{name}: console errors: {errors}")
    requested = {e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"}
    if elsewhere := sorted(url[:100] for url in requested if url != page_url and not url.startswith("data:")):
        problems.append(f"{name}: the page requested {elsewhere}")
    return problems


def evaluate(browser: Chromium, session: str, expression: str):
    """The value of a JavaScript expression in the page (awaited if it is a promise)."""
    result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True},
                          session=session)
    assert "exceptionDetails" not in result, result["exceptionDetails"]
    return result["result"]["value"]


# --------------------------------------------------------------------------- the explorers, driven as a reader would

EXPLORER = "#explorer-overfitting"
PICK = {"model.degree": 12, "data.noise": 0.3, "seed": 1, "step": 25}
"""The run and step the reader picks (the step snaps to the nearest checkpoint)."""

STATE_JS = """(() => {
  const root = document.querySelector('%s');
  const chart = name => { const svg = root.querySelector('svg[data-role=' + name + ']');
    return {scale: JSON.parse(svg.dataset.scale), d: svg.querySelector('path.' + name).getAttribute('d')}; };
  const slider = root.querySelector('[data-role=step]');
  return {hidden: root.hidden, fit: chart('fit'), loss: chart('loss'), step: Number(slider.value),
          readout: root.querySelector('[data-role=readout]').textContent,
          degree: root.querySelector('select[data-axis="0"]').value, focused: document.activeElement.dataset.role
                  || document.activeElement.tagName};
})()""" % EXPLORER


def _set(browser, session, selector: str, value: int, event: str) -> None:
    evaluate(browser, session, f"""(() => {{ const e = document.querySelector('{EXPLORER} {selector}');
      e.value = '{value}'; return e.dispatchEvent(new Event('{event}')); }})()""")


def _press(browser, session, selector: str, key: str, code: int, text: str = "") -> None:
    """Focus ``selector`` in the explorer and press ``key`` on the keyboard (real key events, not DOM calls)."""
    evaluate(browser, session, f"document.querySelector('{EXPLORER} {selector}').focus() || true")
    for kind in ("keyDown" if text else "rawKeyDown", "keyUp"):
        browser.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code,
                                                **({"text": text} if text and kind == "keyDown" else {})},
                     session=session)


def _points(path: str) -> list[tuple[float, float]]:
    import re

    return [(float(x), float(y)) for x, y in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", path)]


def _to_data(points, scale) -> tuple[list[float], list[float]]:
    """Map pixel coordinates back to data through the chart's recorded (linear) scales."""
    (x_domain, x_range, _), (y_domain, y_range, _) = scale["x"], scale["y"]
    invert = lambda p, d, r: d[0] + (p - r[0]) / (r[1] - r[0]) * (d[1] - d[0])  # noqa: E731
    return [invert(x, x_domain, x_range) for x, _ in points], [invert(y, y_domain, y_range) for _, y in points]


@pytest.fixture(scope="module")
def explorer_session(report, tmp_path_factory):
    """The tiny course's report in Chromium behind the network fence, used through its overfitting explorer:
    pick a run, scrub, press keys, play. Returns what the page showed at each stage, and what it logged and asked."""
    root = report.parent
    observed = {}
    profile = tmp_path_factory.mktemp("explorer-browser")
    with RecordingServer(report) as server, RecordingServer() as proxy:
        page_url = f"{server.url}/report.html"
        browser = Chromium(CHROMIUM, profile / "profile", profile / "chromium.log",
                           [f"--proxy-server={proxy.url}", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"}, timeout=60)["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                browser.send(f"{domain}.enable", session=session)
            start = len(browser.events)
            browser.send("Page.navigate", {"url": page_url}, session=session)
            browser.wait_for("Page.loadEventFired", session, start)
            observed["loaded"] = evaluate(browser, session, STATE_JS)

            observed["run"], observed["checkpoint"] = _recorded_run(root)
            data = json.loads(evaluate(browser, session, f"document.querySelector('{EXPLORER} script').textContent"))
            for i, axis in enumerate(data["axes"]):
                _set(browser, session, f'select[data-axis="{i}"]', axis["values"].index(PICK[axis["key"]]), "change")
            _set(browser, session, "select[data-seed]", data["seeds"].index(PICK["seed"]), "change")
            _set(browser, session, "[data-role=step]", observed["checkpoint"], "input")
            observed["picked"] = evaluate(browser, session, STATE_JS)

            _press(browser, session, "[data-role=step]", "ArrowLeft", 37)
            observed["step_key"] = evaluate(browser, session, STATE_JS)
            _press(browser, session, 'select[data-axis="0"]', "ArrowUp", 38)
            observed["degree_key"] = evaluate(browser, session, STATE_JS)

            _press(browser, session, "[data-role=play]", "Enter", 13, "\r")
            before = observed["degree_key"]["step"]
            # Until the replay moves on (or 20 s, for a loaded machine): a bounded wait, not a timing.
            evaluate(browser, session, f"""new Promise(done => {{ const slider = document.querySelector(
              '{EXPLORER} [data-role=step]'); const t0 = Date.now(); (function wait() {{
              if (Number(slider.value) > {before} || Date.now() - t0 > 20000) done(true);
              else setTimeout(wait, 50); }})(); }})""")
            observed["played"] = evaluate(browser, session, STATE_JS)
            _press(browser, session, "[data-role=play]", "Enter", 13, "\r")  # pause again

            observed["prior"] = evaluate(browser, session, """(() => { const root = document.querySelector(
              '#explorer-prior'); return {hidden: root.hidden, draws: root.querySelectorAll('path.draw').length,
              readout: root.querySelector('[data-role=readout]').textContent}; })()""")
            events = browser.events[start:]
        finally:
            browser.close()
    observed["errors"] = console_errors(events)
    observed["requested"] = sorted({e["params"]["request"]["url"] for e in events
                                    if e["method"] == "Network.requestWillBeSent"
                                    and not e["params"]["request"]["url"].startswith("data:")} - {page_url})
    observed["served"] = server.requests
    return observed


def _recorded_run(root: Path):
    """The picked run's outcome, read from the result store the report was built from, and the checkpoint index."""
    from reportgen.cache import ResultCache
    from reportgen.plan import plan_study
    from reportgen.spec import load_course

    study = next(s for s in load_course(root / "experiments").studies if s.id == "overfitting")
    run = next(r for r in plan_study(study) if r.seed == PICK["seed"]
               and dict(r.params) == {"model.degree": PICK["model.degree"], "data.noise": PICK["data.noise"]})
    outcome = ResultCache(root / "cache").get(run.key)
    assert outcome is not None, "the picked run is not in the result store"
    steps = list(outcome.snapshot_steps)
    return outcome, min(range(len(steps)), key=lambda i: abs(steps[i] - PICK["step"]))


def test_explorer_plots_the_recorded_snapshot_of_the_picked_run_and_step(explorer_session):
    import numpy as np

    from reportgen.explorer import HALF_PRECISION

    outcome, k = explorer_session["run"], explorer_session["checkpoint"]
    picked = explorer_session["picked"]
    assert explorer_session["loaded"]["hidden"] is False  # the script showed it
    assert picked["step"] == k
    step = int(outcome.snapshot_steps[k])
    assert f"After {step} of 60 Adam steps" in picked["readout"]
    xs, ys = _to_data(_points(picked["fit"]["d"]), picked["fit"]["scale"])
    recorded = outcome.snapshots[k].astype(np.float64)
    assert len(ys) == len(recorded) == 200
    (lo, hi) = picked["fit"]["scale"]["y"][0]
    span = hi - lo
    inside = (recorded > lo - span) & (recorded < hi + span)  # points further out are drawn at that bound, clipped
    assert inside.sum() > 150
    pixel = span / 218 * 1e-3  # coordinates are written to 1/1000 of a pixel (the plot is 218 units high)
    error = np.abs(np.array(ys) - np.clip(recorded, lo - span, hi + span))
    assert np.all(error <= HALF_PRECISION * np.abs(recorded) + pixel + 2.0 ** -24), error.max()
    assert not np.array_equal(outcome.snapshots[k], outcome.snapshots[-1])  # a mid-training fit, not the final one


def test_explorer_keyboard_scrubs_and_picks_and_play_advances_the_loss_curve(explorer_session):
    picked, step_key = explorer_session["picked"], explorer_session["step_key"]
    degree_key, played = explorer_session["degree_key"], explorer_session["played"]
    # ArrowLeft on the slider: one checkpoint back, a shorter loss curve and a new readout.
    assert step_key["step"] == picked["step"] - 1 and step_key["focused"] == "step"
    assert len(_points(step_key["loss"]["d"])) < len(_points(picked["loss"]["d"]))
    assert step_key["readout"] != picked["readout"]
    # ArrowUp on the degree list: the next lower degree, another run's fit.
    assert int(degree_key["degree"]) == int(step_key["degree"]) - 1
    assert degree_key["fit"]["d"] != step_key["fit"]["d"] and degree_key["readout"] != step_key["readout"]
    # Enter on Play: the replay moves on, the loss curve grows.
    assert played["step"] > degree_key["step"]
    assert len(_points(played["loss"]["d"])) > len(_points(degree_key["loss"]["d"]))
    # The prior's explorer shows the chosen configuration's draws and its spread beside theory.
    prior = explorer_session["prior"]
    assert prior["hidden"] is False and prior["draws"] == 3 and "predicted" in prior["readout"]


def test_explorers_log_no_console_error_and_request_nothing(explorer_session):
    assert explorer_session["errors"] == []
    assert explorer_session["requested"] == []
    assert explorer_session["served"] == [("GET", "/report.html")]
