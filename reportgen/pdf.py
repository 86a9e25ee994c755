"""HTML -> PDF with WeasyPrint (A4, tagged, page numbers from the print stylesheet)."""

from __future__ import annotations

import logging

from .errors import BuildError


def render_pdf(html: str) -> bytes:
    """The PDF of a self-contained HTML document, byte-identical for identical input."""
    import weasyprint

    # WeasyPrint logs every CSS property it ignores; the report's CSS serves browsers too.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        return weasyprint.HTML(string=html, base_url=None).write_pdf(pdf_variant="pdf/ua-1")
    except Exception as exc:  # WeasyPrint surfaces layout failures as many types
        raise BuildError(f"PDF rendering failed: {exc.__class__.__name__}: {exc}") from exc
