"""Validators no one here wrote, on every HTML edition of the tiny course: axe-core in Chromium, the Nu HTML Checker.

Both come from npm, pinned in ``tests/a11y/package-lock.json`` (``npm ci --ignore-scripts`` in ``tests/a11y``; the
Nu checker runs on the machine's Java). Without them the tests skip, except where ``CI`` is set: there a missing
validator fails the run, since ``.ci/run`` installs them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .browser_support import CHROMIUM, Chromium, console_errors, evaluate, fenced_tab, load
from .conftest import EDITIONS, ROOT

VALIDATORS = ROOT / "tests" / "a11y" / "node_modules"
AXE = VALIDATORS / "axe-core" / "axe.min.js"
VNU = VALIDATORS / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = shutil.which("java")

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
"""The rule sets axe runs: WCAG 2.0 and 2.1 at levels A and AA, and Deque's best practices."""

PAGED_MEDIA_CSS = {
    # The print stylesheet's CSS Generated Content for Paged Media, which WeasyPrint typesets and the Nu checker's
    # CSS validator does not know: running headers (string-set, string()) and PDF bookmarks.
    "CSS: “bookmark-level”: Property “bookmark-level” doesn't exist.",
    "CSS: “string-set”: Property “string-set” doesn't exist.",
    "CSS: “content”: “string(section)” is not a “content” value.",
}
"""Nu checker errors that are not errors: exact messages."""


def require(present: bool, what: str) -> None:
    """Skip without ``what`` on a developer's machine; fail in CI (``CI`` set), which must have installed it."""
    if present:
        return
    message = f"{what} is missing: run `npm ci --ignore-scripts` in tests/a11y (and install Java), as .ci/run does"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


# --------------------------------------------------------------------------- the Nu HTML Checker

def nu_errors(files: list[Path]) -> list[str]:
    """The Nu HTML Checker's errors on ``files`` (its known paged-media CSS ones left out), one line each."""
    run = subprocess.run([JAVA, "-jar", str(VNU), "--format", "json", "--exit-zero-always", *map(str, files)],
                         capture_output=True, text=True, timeout=300)
    messages = json.loads(run.stderr)["messages"]
    return [f"{Path(m.get('url', '?')).name}:{m.get('lastLine', '?')}: {m['message']} [{m.get('extract', '')!r}]"
            for m in messages if m["type"] in ("error", "non-document-error") and m["message"] not in PAGED_MEDIA_CSS]


def test_every_html_edition_passes_the_nu_html_checker(tiny_editions):
    require(VNU.is_file(), "the Nu HTML Checker (npm vnu-jar)")
    require(JAVA is not None, "Java (Debian default-jre-headless)")
    errors = nu_errors([tiny_editions / name for name in EDITIONS])
    assert not errors, "\n".join(errors)


def test_the_nu_checker_exemptions_are_only_css_it_does_not_know(tiny_editions):
    """Each exempt message is one the checker really gives on our pages, so none hides a real error unnoticed."""
    require(VNU.is_file() and JAVA is not None, "the Nu HTML Checker and Java")
    run = subprocess.run([JAVA, "-jar", str(VNU), "--format", "json", "--exit-zero-always",
                          str(tiny_editions / "report.html")], capture_output=True, text=True, timeout=300)
    given = {m["message"] for m in json.loads(run.stderr)["messages"]}
    assert PAGED_MEDIA_CSS <= given
    assert all(message.startswith("CSS: ") for message in PAGED_MEDIA_CSS)


# --------------------------------------------------------------------------- axe-core in Chromium

AXE_RUN_JS = """axe.run(document, {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations']})
  .then(result => result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary.split('\\n').slice(1, 3)
      .join(' '))})))""" % json.dumps(AXE_TAGS)

def axe_violations(browser: Chromium, session: str, axe_source: str) -> list[str]:
    """axe's violations on the page as it is now, one line each (injected from node_modules, not fetched)."""
    if not evaluate(browser, session, "typeof axe !== 'undefined'"):
        evaluate(browser, session, axe_source + "\n;true")
    return [f"{v['id']} ({v['impact']}): {v['help']}: {v['nodes']}" for v in evaluate(browser, session, AXE_RUN_JS)]


def press(browser: Chromium, session: str, selector: str, key: str, code: int, text: str = "") -> None:
    """Focus ``selector`` and press ``key`` on the keyboard (real key events, not DOM calls)."""
    evaluate(browser, session, f"document.querySelector({json.dumps(selector)}).focus() || true")
    for kind in ("keyDown" if text else "rawKeyDown", "keyUp"):
        browser.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code,
                                                **({"text": text} if text and kind == "keyDown" else {})},
                     session=session)


def use_explorers(browser: Chromium, session: str) -> int:
    """Use every replay explorer as a keyboard user would: a step back, Play, wait for a step, Play again (stop);
    and a new value in every explorer's first list. Returns how many explorers were used."""
    used = evaluate(browser, session, "document.querySelectorAll('.explorer:not([hidden])').length")
    for i in range(used):
        root = "#" + evaluate(browser, session, f"document.querySelectorAll('.explorer:not([hidden])')[{i}].id")
        press(browser, session, f"{root} select", "ArrowDown", 40)
        if evaluate(browser, session, f"!!document.querySelector('{root} [data-role=play]')"):
            press(browser, session, f"{root} [data-role=step]", "ArrowLeft", 37)
            before = evaluate(browser, session, f"Number(document.querySelector('{root} [data-role=step]').value)")
            press(browser, session, f"{root} [data-role=play]", "Enter", 13, "\r")
            # Until the replay moves on (or 20 s, for a loaded machine): a bounded wait, not a timing.
            evaluate(browser, session, f"""new Promise(done => {{ const slider = document.querySelector(
              '{root} [data-role=step]'); const t0 = Date.now(); (function wait() {{
              if (Number(slider.value) !== {before} || Date.now() - t0 > 20000) done(true);
              else setTimeout(wait, 50); }})(); }})""")
            press(browser, session, f"{root} [data-role=play]", "Enter", 13, "\r")
    return used


@pytest.fixture(scope="module")
def axe_results(tiny_editions, tmp_path_factory) -> dict[str, list[str]]:
    """axe's violations on each edition as loaded, with every <details> open, and (instructor editions) after
    using its explorers; plus the console errors. Keyed by "edition: stage"."""
    require(CHROMIUM is not None, "Chromium")
    require(AXE.is_file(), "axe-core (npm axe-core)")
    axe_source = AXE.read_text(encoding="utf-8")
    results = {}
    with fenced_tab(tiny_editions, tmp_path_factory.mktemp("a11y-browser")) as (browser, session, server):
        for name in EDITIONS:
            start = len(browser.events)
            load(browser, session, f"{server.url}/{name}")
            results[f"{name}: as loaded"] = axe_violations(browser, session, axe_source)
            evaluate(browser, session, "document.querySelectorAll('details').forEach(d => d.open = true) || true")
            results[f"{name}: every <details> open"] = axe_violations(browser, session, axe_source)
            if "student" not in name:
                results[f"{name}: explorers used"] = [f"only {n} explorers shown"] if (
                    n := use_explorers(browser, session)) < 2 else []
                results[f"{name}: explorers used"] += axe_violations(browser, session, axe_source)
            results[f"{name}: console"] = console_errors(browser.events[start:])
    return results


def test_every_html_edition_has_no_axe_violation_as_loaded(axe_results):
    found = {stage: v for stage, v in axe_results.items() if stage.endswith("as loaded") and v}
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def test_no_axe_violation_with_every_figure_data_table_open(axe_results):
    found = {stage: v for stage, v in axe_results.items() if stage.endswith("<details> open") and v}
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def test_no_axe_violation_after_using_the_explorers_by_keyboard(axe_results):
    stages = [stage for stage in axe_results if stage.endswith("explorers used")]
    assert len(stages) == 2  # both instructor editions
    found = {stage: axe_results[stage] for stage in stages if axe_results[stage]}
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


def test_axe_runs_from_the_page_without_console_errors(axe_results):
    found = {stage: v for stage, v in axe_results.items() if stage.endswith("console") and v}
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


# --------------------------------------------------------------------------- figures, for readers who do not see them

def figures_of(html: str) -> dict[str, dict]:
    """Each figure of a page: its alt text and how many tables of plotted values it folds under it."""
    import html as markup
    import re

    found = {}
    for match in re.finditer(r'<figure id="([^"]+)".*?</figure>', html, re.S):
        body = match.group(0)
        found[match.group(1)] = {"alt": markup.unescape(re.search(r'<img [^>]*alt="([^"]*)"', body).group(1)),
                                 "values": body.count('<table class="values">')}
    return found


def test_every_figure_states_a_number_in_its_alt_text_and_folds_its_plotted_values(tiny_editions):
    import re

    for name, decimal in (("report.html", "."), ("report.es.html", ",")):
        figures = figures_of((tiny_editions / name).read_text(encoding="utf-8"))
        assert len(figures) >= 9, name
        for ident, figure in figures.items():
            # A measured value, written as the edition writes numbers (0.0173; 0,0173), not only counts.
            assert re.search(rf"\d\{decimal}\d", figure["alt"]), (name, ident, figure["alt"])
            assert figure["values"] >= 1, (name, ident)


def test_the_training_data_are_drawn_once_and_later_studies_refer_to_that_figure(tiny_editions):
    html = (tiny_editions / "report.html").read_text(encoding="utf-8")
    assert [ident for ident in figures_of(html) if ident.endswith("-data")] == ["fig-overfitting-data"]
    for study in ("regularization", "capacity"):  # trained on the data overfitting's figure shows at noise 0.1
        section = html.split(f'<section class="study" id="{study}"', 1)[1].split("</section>", 1)[0]
        assert 'This study trains on the data of <a class="xref" href="#fig-overfitting-data">Figure 1</a>' in section
