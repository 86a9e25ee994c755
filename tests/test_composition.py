"""The printed pages of the tiny course, measured: no hole before a float, no word split across pages.

Each page is rendered in grey at low resolution (poppler's ``pdftoppm``) and measured by how far down its text
block the ink reaches; sections start on a new page (their level-1 bookmarks say where), so only a page that ends
a section, and the last page, may stay short.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from .support import poppler

PAGE_MM, TOP_MM, BOTTOM_MM = 297, 20, 22
"""A4 and the page margins of report.css's @page: the running header and page number stay out of the count."""
HALF = 0.5


def page_fill(pdf: Path) -> list[float]:
    """For each page, the share of its text block's height down to the lowest ink (text, figure, rule)."""
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="pages-"))
    poppler("pdftoppm", "-r", "30", "-gray", pdf, folder / "page")
    fills = []
    for image in sorted(folder.glob("page-*.pgm"), key=lambda p: int(p.stem.split("-")[-1])):
        grey = np.asarray(Image.open(image), dtype=float)
        top, bottom = (round(grey.shape[0] * mm / PAGE_MM) for mm in (TOP_MM, PAGE_MM - BOTTOM_MM))
        inked = np.nonzero((grey[top:bottom] < 200).any(axis=1))[0]
        fills.append((inked[-1] + 1) / (bottom - top) if len(inked) else 0.0)
    shutil.rmtree(folder)
    return fills


def section_starts(pdf: Path) -> set[int]:
    """Indices of the pages where a level-1 bookmark (a section, on a new page) points."""
    import pikepdf

    with pikepdf.open(pdf) as document:
        pages = {page.objgen: i for i, page in enumerate(document.pages)}
        with document.open_outline() as outline:
            starts = set()
            for item in outline.root:
                destination = item.destination if item.destination is not None else item.action.get("/D")
                if isinstance(destination, pikepdf.Array) and len(destination):
                    starts.add(pages[destination[0].objgen])
    return starts


def holes(pdf: Path) -> list[str]:
    """Pages less than half full that neither end a section nor end the document."""
    fills, starts = page_fill(pdf), section_starts(pdf)
    return [f"page {i + 1} is {fill:.0%} full" for i, fill in enumerate(fills[:-1])
            if fill < HALF and i + 1 not in starts]


@pytest.mark.parametrize("edition", ["report.pdf", "report.es.pdf", "report-student.pdf", "report-student.es.pdf"])
def test_no_page_is_left_half_empty_before_a_figure_or_table(tiny_editions, edition):
    pdf = tiny_editions / edition
    assert len(section_starts(pdf)) >= 6  # contents, introduction, four studies, ...: the measure has its anchors
    found = holes(pdf)
    assert not found, found


def test_the_measure_finds_a_hole_left_before_a_figure(tmp_path):
    """A page whose figure did not fit: half of it empty, then the figure alone on the next page."""
    from weasyprint import HTML

    tall = '<div style="height: 200mm; background: #000"></div>'
    html = (f"<style>@page {{ size: A4; margin: {TOP_MM}mm 18mm {BOTTOM_MM}mm }} h2 {{ bookmark-level: 1 }}</style>"
            f"<h2>Section</h2><p>{'Words. ' * 150}</p><figure style='break-inside: avoid'>{tall}</figure>")
    HTML(string=html).write_pdf(tmp_path / "hole.pdf")
    found = holes(tmp_path / "hole.pdf")
    assert len(found) == 1 and found[0].startswith("page 1 is "), found


def test_no_word_is_split_across_pages(tiny_editions):
    for edition in ("report.pdf", "report.es.pdf"):
        text = poppler("pdftotext", "-layout", tiny_editions / edition, "-")
        split = []
        for number, page in enumerate(text.split("\f")[:-1], start=1):
            body = [line.strip() for line in page.splitlines() if line.strip()][:-1]  # less "page N of M"
            if body and body[-1][-1] in "-\u2010\u00ad" and body[-1][-2:-1].isalpha():
                split.append(f"{edition} page {number}: {body[-1][-40:]!r}")
        assert not split, split
