"""HTML -> PDF with WeasyPrint (A4, tagged PDF/UA-1, page numbers from the print stylesheet), its structure tree
completed by :mod:`reportgen.pdftags`."""

from __future__ import annotations

import logging
import os
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

    # WeasyPrint logs every CSS property it ignores; the report's CSS serves browsers too.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # Only data: URIs, the page's own images: a course's template must not make the build read the builder's files
    # (file:, attachments from rel=attachment links) or reach the network (http:, a cloud's metadata address).
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    try:
        with _source_date_epoch(epoch):
            document = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(
                pdf_variant="pdf/ua-1")
    except Exception as exc:  # WeasyPrint surfaces layout failures as many types
        raise BuildError(f"PDF rendering failed: {exc.__class__.__name__}: {exc}") from exc
    return complete(document, html)


@contextmanager
def _source_date_epoch(epoch: int) -> Iterator[None]:
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(previous if previous is not None else epoch)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
