"""The page side of ``reportgen serve``: the script injected into served pages, and the news it listens to.

The script is added to a page as it is sent, never to the built bytes, and
needs no browser extension: it opens an ``EventSource`` on :data:`EVENTS`
(Server-Sent Events), reloads the page when a rebuild gives other pages,
and shows a bad save's error over the last good page until the next good
one. It is one IIFE that defines no global and draws its bar and error
panel in a shadow root, so the report's own scripts and styles neither see
it nor are touched by it.
"""

from __future__ import annotations

import html
import json
import re

EVENTS = "/__reportgen/events"
"""The Server-Sent Events endpoint the injected script listens to."""

SCRIPT = r"""(() => {
  const me = document.currentScript;
  const build = me.dataset.build;
  const host = document.createElement('reportgen-serve');
  const root = host.attachShadow({mode: 'open'});
  root.innerHTML = `<style>
    :host { all: initial; }
    [hidden] { display: none !important; }
    .bar { position: fixed; right: .5rem; bottom: .5rem; z-index: 2147483647; padding: .2rem .6rem;
      font: 13px/1.6 system-ui, sans-serif; color: #fff; background: rgba(40, 40, 40, .85); border-radius: .3rem; }
    .bar a { color: #9cf; margin-left: .6rem; }
    .error { position: fixed; left: 0; right: 0; top: 0; z-index: 2147483647; margin: 0; padding: .8rem 1rem;
      max-height: 50vh; overflow: auto; white-space: pre-wrap; font: 14px/1.45 ui-monospace, monospace;
      color: #fff; background: #a01616; box-shadow: 0 2px 8px rgba(0, 0, 0, .4); }
    @media print { .bar, .error { display: none !important; } }
  </style><pre class="error" role="alert" hidden></pre>
  <div class="bar"><span class="state">reportgen serve</span><a class="pdf" target="_blank">PDF</a></div>`;
  const problem = root.querySelector('.error');
  const state = root.querySelector('.state');
  const pdf = root.querySelector('.pdf');
  pdf.href = location.pathname.replace(/\.html$/, '.pdf');
  pdf.hidden = !build;
  document.body.append(host);
  const events = new EventSource(me.dataset.events);
  const words = {building: 'rebuilding\u2026', ready: 'reportgen serve', error: 'error: last good page shown'};
  events.onmessage = (message) => {
    const news = JSON.parse(message.data);
    if (news.state === 'ready' && news.build !== build) {
      events.close();
      location.reload();
      return;
    }
    state.textContent = words[news.state] || news.state;
    problem.hidden = news.state !== 'error';
    problem.textContent = news.state === 'error'
      ? news.error + '\n\n(The page below is the last good build; it reloads on the next good save.)' : '';
  };
  events.onerror = () => { state.textContent = 'reportgen serve: disconnected, retrying\u2026'; };
  addEventListener('pagehide', () => events.close());
})();"""

_BODY_END = re.compile(rb"</body\s*>", re.I)

WAITING_PAGE = ('<!DOCTYPE html>\n<html lang="en">\n<meta charset="utf-8">\n<title>reportgen serve</title>\n'
                '<body>\n<p>No good build yet: the first one is running or has failed (see the terminal). '
                'This page reloads when one succeeds.</p>\n</body>\n</html>\n').encode()
"""What a report's address shows before any build has succeeded."""


def script_tag(build: str) -> bytes:
    """The reload script, told which build its page shows (empty: none yet)."""
    return (f'<script data-events="{EVENTS}" data-build="{html.escape(build, quote=True)}">'
            f'{SCRIPT}</script>\n').encode()


def inject(page: bytes, build: str) -> bytes:
    """``page`` with the reload script added before its last ``</body>`` (or at its end, without one)."""
    ends = list(_BODY_END.finditer(page))
    at = ends[-1].start() if ends else len(page)
    return page[:at] + script_tag(build) + page[at:]


def message(state: str, build: str, error: str | None = None) -> bytes:
    """One Server-Sent Event: the server's state (building, ready or error), its last good build, the error."""
    return f"data: {json.dumps({'state': state, 'build': build, 'error': error})}\n\n".encode()
