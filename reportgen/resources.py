"""References in HTML and CSS text that would make a browser or the typesetter fetch something outside the page.

The report is one self-contained file: every image is a ``data:`` URI. A
template that names ``file:///home/you/.ssh/id_rsa`` as an image, a
stylesheet or a ``rel=attachment`` link would publish the builder's file in
the PDF; one that names ``http://169.254.169.254/…`` would make a CI runner
request its cloud's credentials. Templates are refused for such references
before any work; the typesetter fetches only ``data:`` URIs whatever a page
says (:mod:`reportgen.pdf`), so a reference computed at render time reaches
nothing either.
"""

from __future__ import annotations

import re

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
_TAG = re.compile(r"<([a-zA-Z][\w:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>?", re.S)
_ATTRIBUTE = re.compile(r"([\w:-]+)\s*=\s*(\"[^\"]*\"?|'[^']*'?|[^\s\"'>]*)", re.S)
_CSS_URL = re.compile(r"url\(\s*([\"']?)([^\"')]*)", re.I)
_CSS_IMPORT = re.compile(r"@import\b", re.I)
_DATA_VALUE = re.compile(r"(?<==)\"data:[^\"]*\"", re.I)

FETCHED_ATTRIBUTES = {"src", "srcset", "poster", "data", "background", "xlink:href", "action", "formaction"}
"""Attributes whose URL a browser or WeasyPrint loads by itself, whatever the element."""
FETCHED_HREF = {"link", "image", "use", "feimage", "script", "base"}
"""Elements whose ``href`` is loaded rather than followed."""
EMBEDDING = {"iframe", "frame", "object", "embed", "applet", "portal"}
"""Elements that embed another document."""


def external_references(text: str) -> list[tuple[str, int]]:
    """Each reference in ``text`` (HTML with CSS) to something outside the page, with its line (1 = first)."""
    found = []
    for tag in _TAG.finditer(text):
        name = tag.group(1).lower()
        problems = [f"<{name}> embeds another document"] if name in EMBEDDING else []
        for attribute in _ATTRIBUTE.finditer(tag.group(2)):
            key, value = attribute.group(1).lower(), attribute.group(2).strip("\"'").strip()
            if key == "rel" and "attachment" in value.lower().split():
                problems.append("rel=\"attachment\" embeds the file a link names")
            fetched = key in FETCHED_ATTRIBUTES or (key == "href" and name in FETCHED_HREF)
            if fetched and not _inline(value):
                problems.append(f"<{name} {key}=\"{value[:60]}\"> loads a resource from outside the page")
        if problems:  # counting lines for every tag of a 2 MB page would cost more than the scan itself
            line = text.count("\n", 0, tag.start()) + 1
            found += [(problem, line) for problem in problems]
    # A data: URI is the page's own content: the url(#clip) inside an SVG it holds refers within that image.
    text = _DATA_VALUE.sub('""', text)
    for match in _CSS_URL.finditer(text):
        if not _inline(match.group(2).strip()):
            found.append((f"url({match.group(2)[:60]}) loads a resource from outside the page",
                          text.count("\n", 0, match.start()) + 1))
    for match in _CSS_IMPORT.finditer(text):
        found.append(("@import loads a stylesheet from outside the page", text.count("\n", 0, match.start()) + 1))
    return sorted(found, key=lambda item: item[1])


def _inline(value: str) -> bool:
    """True for what the page holds itself (a ``data:`` URI, a fragment) or a value filled in at render time."""
    return value == "" or value.lower().startswith(("data:", "#", "{{", "${"))


def without_scripts(html: str) -> str:
    """``html`` with its ``<script>`` elements removed (their text is code and data, not markup)."""
    return _SCRIPT.sub("", html)
