"""In a real browser: headless Chromium opens the tiny course's report.html from a local server, offline.

Chromium and the network fence are in ``browser_support``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from .browser_support import CHROMIUM, Chromium, RecordingServer, console_errors, evaluate, fenced_tab, load, png_size
from .conftest import run_reportgen

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's "
                                                          "chromium package)")

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


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """The tiny course built by the real command: the folder holding report.html."""
    from .conftest import TINY_COURSE

    root = tmp_path_factory.mktemp("browser-course")
    definitions = root / "experiments"
    definitions.mkdir()
    for name, text in TINY_COURSE.items():
        (definitions / name).write_text(text.lstrip())
    result = run_reportgen("build", "--definitions", definitions, "--out", root / "build", "--cache", root / "cache",
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
    if metrics["mobile"] and (layout["scrollWidth"] > layout["innerWidth"] + 1 or widened):
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


# --------------------------------------------------------------------------- the explorers, driven as a reader would

EXPLORER = "#explorer-overfitting"
PICK = {"model.degree": 12, "data.noise": 0.3, "seed": 1, "step": 25}
"""The run and step the reader picks (the step snaps to the nearest checkpoint)."""

STATE_JS = """(() => {
  const root = document.querySelector('%s');
  const chart = name => { const svg = root.querySelector('svg[data-role=' + name + ']');
    return {scale: JSON.parse(svg.dataset.scale), d: svg.querySelector('path.' + name).getAttribute('d')}; };
  const slider = root.querySelector('[data-role=step]'), play = root.querySelector('[data-role=play]');
  return {hidden: root.hidden, fit: chart('fit'), loss: chart('loss'), step: Number(slider.value),
          play: {label: play.textContent, pressed: play.getAttribute('aria-pressed')},
          status: root.querySelector('[data-role=status]').textContent, announced: window.announced || 0,
          names: {fit: root.querySelector('svg[data-role=fit]').getAttribute('aria-label'),
                  loss: root.querySelector('svg[data-role=loss]').getAttribute('aria-label')},
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
    with fenced_tab(report, profile) as (browser, session, server):
        page_url = f"{server.url}/report.html"
        start = len(browser.events)
        load(browser, session, page_url)
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

        # Count what the live region says from here on: nothing while the replay runs, once when it stops.
        evaluate(browser, session, f"""(() => {{ window.announced = 0; new MutationObserver(() => window.announced++)
          .observe(document.querySelector('{EXPLORER} [data-role=status]'), {{childList: true, characterData: true,
          subtree: true}}); return true; }})()""")
        _press(browser, session, "[data-role=play]", "Enter", 13, "\r")
        before = observed["degree_key"]["step"]
        # Until the replay moves on (or 20 s, for a loaded machine): a bounded wait, not a timing.
        evaluate(browser, session, f"""new Promise(done => {{ const slider = document.querySelector(
          '{EXPLORER} [data-role=step]'); const t0 = Date.now(); (function wait() {{
          if (Number(slider.value) > {before} || Date.now() - t0 > 20000) done(true);
          else setTimeout(wait, 50); }})(); }})""")
        observed["played"] = evaluate(browser, session, STATE_JS)
        _press(browser, session, "[data-role=play]", "Enter", 13, "\r")  # pause again
        observed["stopped"] = evaluate(browser, session, STATE_JS)

        observed["prior"] = evaluate(browser, session, """(() => { const root = document.querySelector(
          '#explorer-prior'); return {hidden: root.hidden, draws: root.querySelectorAll('path.draw').length,
          readout: root.querySelector('[data-role=readout]').textContent}; })()""")
        events = browser.events[start:]
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


def test_explorer_announces_a_move_and_a_stop_but_not_each_frame_and_names_what_its_charts_show(explorer_session):
    degree_key, played, stopped = (explorer_session[k] for k in ("degree_key", "played", "stopped"))
    # A new degree from the keyboard is said once, in the words of the readout.
    assert degree_key["status"] == degree_key["readout"]
    # While the replay runs, frames go by silently; stopping says where it stopped.
    assert played["step"] > degree_key["step"] and played["announced"] == 0
    assert stopped["announced"] >= 1 and stopped["status"] == stopped["readout"] != degree_key["status"]
    # Play shows its state one way: pressed while playing, its name unchanged.
    assert (played["play"]["pressed"], stopped["play"]["pressed"]) == ("true", "false")
    assert played["play"]["label"] == stopped["play"]["label"] == degree_key["play"]["label"] == "Play"
    # Each chart's name says what it shows now: the setting and the step.
    for state in (degree_key, stopped):
        step = state["readout"].split(" of ")[0].removeprefix("After ")
        assert f"after {step} of" in state["names"]["fit"] and "Degree " in state["names"]["fit"]
        assert f"up to step {step}" in state["names"]["loss"] and "Seed " in state["names"]["loss"]
    assert degree_key["names"]["fit"] != stopped["names"]["fit"]


def test_explorers_log_no_console_error_and_request_nothing(explorer_session):
    assert explorer_session["errors"] == []
    assert explorer_session["requested"] == []
    assert explorer_session["served"] == [("GET", "/report.html")]


# --------------------------------------------------------------------------- reflow at 320 CSS pixels (WCAG 1.4.10)

NARROW = {"width": 320, "height": 640, "deviceScaleFactor": 2, "mobile": True}

# Captions inside a horizontal scroller that scrolls (they would scroll out of view with the table), tables wider than
# the screen that no keyboard-focusable scroller holds, and every visible table.
REFLOW_JS = """(() => {
  const scroller = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return p; } return null; };
  const shown = el => el.getClientRects().length > 0;
  const name = el => '<' + el.tagName.toLowerCase() + '> ' + el.textContent.trim().slice(0, 50);
  const width = document.documentElement.clientWidth;
  const captions = [...document.querySelectorAll('caption, .table-caption, figcaption')].filter(shown)
    .filter(c => { const s = scroller(c); return s && s.scrollWidth > s.clientWidth + 1; }).map(name);
  const tables = [...document.querySelectorAll('table')].filter(shown);
  const stuck = tables.filter(t => t.getBoundingClientRect().width > width + 1)
    .filter(t => { const s = scroller(t); return !s || s.tabIndex < 0; }).map(name);
  return {captions, stuck, tables: tables.length};
})()"""

ZOOM_JS = """(() => {
  const frame = document.querySelector('.figure-image'); frame.focus();
  const result = {focused: document.activeElement === frame, width: frame.querySelector('img').getBoundingClientRect()
    .width, scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth};
  frame.blur();
  result.after = frame.querySelector('img').getBoundingClientRect().width;
  return result;
})()"""


def test_every_edition_reflows_at_320_css_pixels(tiny_editions, tmp_path):
    from .conftest import EDITIONS

    problems = []
    with fenced_tab(tiny_editions, tmp_path) as (browser, session, server):
        browser.send("Emulation.setDeviceMetricsOverride", NARROW, session=session)
        for name in EDITIONS:
            load(browser, session, f"{server.url}/{name}")
            layout = evaluate(browser, session, OVERFLOW_JS)
            if layout["scrollWidth"] > layout["clientWidth"] + 1 or layout["innerWidth"] != NARROW["width"]:
                problems.append(f"{name}: the page is {layout['scrollWidth']} px wide at 320 px; sticking out: "
                                f"{layout['culprits']}")
            reflow = evaluate(browser, session, REFLOW_JS)
            assert reflow["tables"] >= 1, name
            if reflow["captions"]:
                problems.append(f"{name}: captions that scroll out of view with their table: {reflow['captions']}")
            if reflow["stuck"]:
                problems.append(f"{name}: tables wider than the screen with no focusable scroller: {reflow['stuck']}")
            zoom = evaluate(browser, session, ZOOM_JS)
            # Fitted to the screen, opened (focused: a tap or Tab) at its drawn width, scrolled within its frame.
            if not (zoom["focused"] and zoom["after"] <= 320 and zoom["width"] >= 600
                    and zoom["scrollWidth"] <= zoom["clientWidth"] + 1):
                problems.append(f"{name}: a figure does not open at full size in place: {zoom}")
    assert not problems, "\n".join(problems)


# Per table: the tallest body row with an exponent and the tallest without one.
ROWS_JS = """[...document.querySelectorAll('table')].map(table => {
  const rows = [...table.tBodies].flatMap(body => [...body.rows]);
  const height = list => Math.max(0, ...list.map(row => row.getBoundingClientRect().height));
  return {id: table.id, with: height(rows.filter(r => r.querySelector('sup'))),
          without: height(rows.filter(r => !r.querySelector('sup')))};
}).filter(t => t.with > 0 && t.without > 0)"""


def test_exponents_in_table_cells_do_not_make_their_rows_taller(report, tmp_path):
    with fenced_tab(report, tmp_path) as (browser, session, server):
        browser.send("Emulation.setDeviceMetricsOverride", VIEWPORTS["laptop"], session=session)
        load(browser, session, f"{server.url}/report.html")
        tables = evaluate(browser, session, ROWS_JS)
    assert tables, "no table mixes rows with and without exponents"
    assert all(t["with"] <= t["without"] + 0.5 for t in tables), tables
