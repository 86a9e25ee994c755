"""HTML -> PDF with WeasyPrint (A4, tagged PDF/UA-1, page numbers from the print stylesheet), its structure tree
completed by :mod:`reportgen.pdftags`."""

from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from typing import Iterator

from .errors import BuildError
from .mathsvg import for_print
from .resources import without_scripts


def render_pdf(html: str, epoch: int = 0) -> bytes:
    """The PDF of a self-contained HTML document, byte-identical for identical input.

    ``epoch`` (seconds) stands in for "now" wherever a library would stamp
    the clock into the file: fontTools writes it into every embedded font.
    """
    import weasyprint

    from .pdftags import complete

    # Scripts do nothing in a PDF; the explorers' data would only cost parsing time. WeasyPrint reads no MathML:
    # a formula's picture carries its words instead.
    html = for_print(without_scripts(html))

    # Only data: URIs, the page's own images: a course's template must not make the build read the builder's files
    # (file:, attachments from rel=attachment links) or reach the network (http:, a cloud's metadata address).
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    try:
        with _typesetting(epoch):
            document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(
                pdf_variant="pdf/ua-1")
    except Exception as exc:  # WeasyPrint surfaces layout failures as many types
        raise BuildError(f"PDF rendering failed: {exc.__class__.__name__}: {exc}") from exc
    return complete(document, html)


QUIET_LOGGERS = ("weasyprint", "fontTools")
"""Loggers held at ERROR while typesetting: WeasyPrint logs every CSS property it ignores (the report's CSS serves
browsers too), fontTools every table it subsets."""

_TYPESETTING = threading.Lock()
"""One typesetting at a time per process (serve renders PDFs on a thread): the state below is the process's."""


@contextmanager
def _typesetting(epoch: int) -> Iterator[None]:
    """The process-wide state WeasyPrint reads, set for one rendering and restored after it, even on failure: the
    quiet loggers, and ``SOURCE_DATE_EPOCH`` (the caller's own wins), which fontTools stamps into every embedded
    font and which no argument of WeasyPrint's reaches."""
    with _TYPESETTING:
        loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
        levels = [logger.level for logger in loggers]
        previous = os.environ.get("SOURCE_DATE_EPOCH")
        try:
            for logger in loggers:
                logger.setLevel(logging.ERROR)
            os.environ["SOURCE_DATE_EPOCH"] = previous if previous is not None else str(epoch)
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
            if previous is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)
