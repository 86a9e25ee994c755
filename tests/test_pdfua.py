"""PDF/UA that holds: every PDF edition of the tiny course read with pikepdf as a screen reader reads it (the
structure tree in order, the text of its marked content), and checked against veraPDF's PDF/UA-1 rules
(page-validation, a reimplementation that needs no JVM).

The reading here is this file's own (qpdf's content parser, the fonts' ToUnicode maps), not reportgen's.
"""

from __future__ import annotations

import html
import re

import pikepdf
import pytest

from reportgen.mathsvg import FORMULA_MARK

from .support import visible_text

PDFS = ["report.pdf", "report.es.pdf", "report-student.pdf", "report-student.es.pdf"]
"""The PDF editions of a course built with --audience all --lang all (``tiny_editions``)."""

BLOCKS = {"/Document", "/Part", "/Art", "/Sect", "/Div", "/P", "/H1", "/H2", "/H3", "/H4", "/H5", "/H6", "/L", "/LI",
          "/Lbl", "/LBody", "/Table", "/THead", "/TBody", "/TR", "/TH", "/TD", "/Caption", "/BlockQuote"}
"""Elements a reader ends a line after; inline ones (/Span, /Link, /NonStruct for <em>) run on."""

_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")


# --------------------------------------------------------------------------- reading a tagged PDF

def _to_unicode(font) -> dict[int, str]:
    table: dict[int, str] = {}
    if font is None or "/ToUnicode" not in font:
        return table
    cmap = font.ToUnicode.read_bytes()
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        codes = _HEX.findall(block)
        for source, target in zip(codes[0::2], codes[1::2]):
            table[int(source, 16)] = bytes.fromhex(target.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, target in re.findall(rb"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
            for offset in range(int(high, 16) - int(low, 16) + 1):
                table[int(low, 16) + offset] = chr(int(target, 16) + offset)
    return table


def marked_texts(pdf) -> dict[tuple[int, int], str]:
    """(page index, MCID) -> the text its marked content shows, an /ActualText standing for what it covers."""
    texts: dict[tuple[int, int], str] = {}
    for number, page in enumerate(pdf.pages):
        fonts = {name: _to_unicode(font) for name, font in page.Resources.get("/Font", {}).items()}
        table: dict[int, str] = {}
        stack: list[tuple[int | None, str | None]] = []
        for operands, operator in pikepdf.parse_content_stream(page, "BDC BMC EMC Tf TJ Tj"):
            op = str(operator)
            if op == "BDC":
                properties = operands[1] if isinstance(operands[1], pikepdf.Dictionary) else {}
                mcid = int(properties["/MCID"]) if "/MCID" in properties else None
                actual = str(properties["/ActualText"]) if "/ActualText" in properties else None
                stack.append((mcid, actual))
                if mcid is not None:
                    texts[(number, mcid)] = ""
                owner = next((m for m, _ in reversed(stack) if m is not None), None)
                if actual is not None and owner is not None:
                    texts[(number, owner)] += actual
            elif op == "BMC":
                stack.append((None, None))
            elif op == "EMC":
                stack.pop()
            elif op == "Tf":
                table = fonts.get(str(operands[0]), {})
            else:
                owner = next((m for m, _ in reversed(stack) if m is not None), None)
                if owner is None or any(actual is not None for _, actual in stack):
                    continue
                for item in operands[0] if op == "TJ" else [operands[0]]:
                    if isinstance(item, pikepdf.String):
                        data = bytes(item)
                        texts[(number, owner)] += "".join(table.get(int.from_bytes(data[i:i + 2], "big"), "")
                                                          for i in range(0, len(data), 2))
    return texts


def kids(element) -> list:
    """An element's /K as a list."""
    found = element.get("/K")
    if found is None:
        return []
    return list(found) if isinstance(found, pikepdf.Array) else [found]


def elements(pdf):
    """Every structure element the document lists, with its parent, in reading order."""
    stack = [(kid, None) for kid in reversed(kids(pdf.Root.StructTreeRoot))]
    while stack:
        element, parent = stack.pop()
        if isinstance(element, pikepdf.Dictionary) and "/S" in element:
            yield element, parent
            stack.extend((kid, element) for kid in reversed(kids(element)))


def reading(pdf) -> str:
    """The document read in tag order: marked content, the /Alt of figures and formulas, a line per block."""
    texts = marked_texts(pdf)
    pages = {page.objgen: i for i, page in enumerate(pdf.pages)}
    out: list[str] = []

    def visit(element, page: int) -> None:
        page = pages.get(element.Pg.objgen, page) if "/Pg" in element else page
        if element.S in ("/Figure", "/Formula"):
            out.append(f" {element.get('/Alt', '')} ")
            return
        block = str(element.S) in BLOCKS
        out.append("\n" if block else "")
        for kid in kids(element):
            if isinstance(kid, int):
                out.append(texts.get((page, kid), ""))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                out.append(texts.get((pages[kid.Pg.objgen], int(kid.MCID)), ""))
            elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                visit(kid, page)
        out.append("\n" if block else "")

    for kid in kids(pdf.Root.StructTreeRoot):
        visit(kid, 0)
    return "".join(out)


@pytest.fixture(scope="module")
def documents(tiny_editions) -> dict[str, dict]:
    """Each PDF edition opened, with its HTML and its text read in tag order."""
    found = {}
    for name in PDFS:
        pdf = pikepdf.open(tiny_editions / name)
        found[name] = {"pdf": pdf, "html": (tiny_editions / name.replace(".pdf", ".html")).read_text("utf-8"),
                       "reading": reading(pdf), "bytes": (tiny_editions / name).read_bytes()}
    yield found
    for document in found.values():
        document["pdf"].close()


# --------------------------------------------------------------------------- the rules

@pytest.mark.parametrize("name", PDFS)
def test_equations_are_formulas_with_their_words_as_alt(documents, name):
    document = documents[name]
    tags = [element for element, _ in elements(document["pdf"])]
    formulas = [element for element in tags if element.S == "/Formula"]
    spoken = [html.unescape(words) for words in re.findall(r'<math [^>]*alttext="([^"]*)"', document["html"])]
    assert len(formulas) == len(spoken) > 10  # every equation of the page, none left a /Figure
    alts = [str(element.Alt) for element in formulas]
    assert alts == spoken  # the same words as the HTML's MathML, in the same order
    assert not [alt for alt in alts if re.search(r"[\\{}^_]", alt) or FORMULA_MARK in alt]
    assert not [e for e in tags if e.S == "/Figure" and FORMULA_MARK in str(e.get("/Alt", ""))]
    assert ("es igual a" if ".es." in name else "equals") in " ".join(alts)


@pytest.mark.parametrize("name", PDFS)
def test_running_headers_and_page_numbers_are_pagination_artifacts(documents, name):
    pdf = documents[name]["pdf"]
    listed = {element.objgen for element, _ in elements(pdf)}
    nums = pdf.Root.StructTreeRoot.ParentTree.Nums
    owners = [nums[i + 1] for i in range(0, len(nums), 2)]
    orphans = [owner for entry in owners for owner in (entry if isinstance(entry, pikepdf.Array) else [entry])
               if isinstance(owner, pikepdf.Dictionary) and owner.objgen not in listed]
    assert not orphans  # no marked content belongs to an element the document does not list
    total = len(pdf.pages)
    for number, page in enumerate(pdf.pages[1:], start=1):  # the title page has no running header or number
        pagination = [operands[1] for operands, operator in pikepdf.parse_content_stream(page, "BDC")
                      if operands[0] == "/Artifact" and isinstance(operands[1], pikepdf.Dictionary)
                      and operands[1].get("/Type") == "/Pagination"]
        assert {str(p.Subtype) for p in pagination} >= {"/Footer"}, f"page {number + 1}"
    footer = re.compile(rf"\b(?:page|página) \d+ (?:of|de) {total}\b")
    assert not footer.search(documents[name]["reading"])  # "page 3 of 15" is not read as part of the text
    assert not [e for e, parent in elements(pdf) if e.S == "/NonStruct" and parent is None]


@pytest.mark.parametrize("name", PDFS)
def test_boxes_are_in_points_inside_their_page(documents, name):
    pdf = documents[name]["pdf"]
    boxes = 0
    for element, _ in elements(pdf):
        attributes = element.get("/A")
        for owner in attributes if isinstance(attributes, pikepdf.Array) else [attributes] if attributes else []:
            if "/BBox" not in owner:
                continue
            x1, y1, x2, y2 = (float(v) for v in owner.BBox)
            left, bottom, right, top = (float(v) for v in element.Pg.MediaBox)
            assert left <= x1 < x2 <= right and bottom <= y1 < y2 <= top, (element.S, [x1, y1, x2, y2])
            boxes += 1
    assert boxes > 10


def _words(text: str) -> set[str]:
    return {word.lower() for word in re.findall(r"\w+", text)}


@pytest.mark.parametrize("name", PDFS)
def test_text_read_in_tag_order_holds_only_the_pages_words(documents, name):
    """No two words joined across a line end ("arule"), no word left in pieces by hyphenation ("regres sion")."""
    document = documents[name]
    page = document["html"]
    alternatives = " ".join(html.unescape(a) for a in re.findall(r' alt(?:text)?="([^"]*)"', page))
    # The words the print stylesheet adds: a cross-reference's page number ("on page 6").
    generated = "on page en la página"
    known = _words(visible_text(re.sub(r"<math\b.*?</math>", "", page, flags=re.S)) + " " + alternatives
                   + " " + generated)
    read = document["reading"]
    strangers = sorted({w for w in re.findall(r"\w+", read) if w.lower() not in known and not w.isdigit()})
    assert not strangers, strangers
    assert "\u2010" not in read  # a hyphen put in by hyphenation is not read


def _actual_texts(pdf) -> int:
    return sum(1 for page in pdf.pages for operands, _ in pikepdf.parse_content_stream(page, "BDC")
               if isinstance(operands[1], pikepdf.Dictionary) and "/ActualText" in operands[1])


def test_hyphenated_words_and_urls_broken_anywhere_read_whole(tmp_path):
    """The report's print stylesheet does not hyphenate; a course's own may, and a URL breaks where it must."""
    from reportgen.pdf import render_pdf

    url = "https://example.org/generalization/overparameterized/regularization.html"
    page = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title></head>'
            '<body style="width: 9em; hyphens: auto; font-size: 14px">'
            "<p>Regularization improves generalization of overparameterized polynomial regressions "
            "considerably, unquestionably and incomprehensibly.</p>"
            f'<p style="overflow-wrap: anywhere; hyphens: manual"><a href="{url}">{url}</a></p></body></html>')
    with pikepdf.open(__import__("io").BytesIO(render_pdf(page))) as pdf:
        read = reading(pdf)
        assert _actual_texts(pdf) >= 3  # words were hyphenated, each hyphen covered
    assert "\u2010" not in read
    words = re.findall(r"\w+", read)
    assert set(words) <= set(re.findall(r"\w+", visible_text(page))), words
    assert "incomprehensibly" in words and "regularization" in words


@pytest.mark.parametrize("name", PDFS)
def test_links_say_where_they_go_in_words_and_nest_nowhere(documents, name):
    pdf = documents[name]["pdf"]
    spanish = ".es." in name
    for element, parent in elements(pdf):
        if element.S != "/Link":
            continue
        assert parent.S != "/Link"
        ancestor = parent
        while ancestor is not None and "/S" in ancestor:
            assert ancestor.S != "/Link"
            ancestor = ancestor.get("/P")
        inside = kids(element)
        assert any(isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR" for k in inside)
        assert any(isinstance(k, int) or (isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/MCR")
                   or (isinstance(k, pikepdf.Dictionary) and "/S" in k) for k in inside)  # never empty
    contents = [str(a.Contents) for p in pdf.pages for a in p.get("/Annots", []) if a.get("/Subtype") == "/Link"]
    assert contents and all(contents)
    internal = [c for c in contents if not c.startswith("http")]
    page_word = "página" if spanish else "page"
    assert internal and all(re.search(rf", {page_word} \d+$", c) for c in internal), internal
    assert not [c for c in internal if re.fullmatch(r"[a-z]+(?:-[\w-]+)?", c)]  # no anchor ids
    figure = "Figura" if spanish else "Figure"
    assert any(re.fullmatch(rf"{figure} \d+, {page_word} \d+", c) for c in contents)
    assert any(re.fullmatch(rf"{'Ecuación' if spanish else 'Equation'} \d+, {page_word} \d+", c)
               for c in contents)


@pytest.mark.parametrize("name", PDFS)
def test_no_list_item_holds_a_div(documents, name):
    """PDF/UA-1 (ISO 32000 14.8.4.3.3): an /LI holds /Lbl and /LBody; a student's answer box is no /Div in it."""
    offenders = [parent for element, parent in elements(documents[name]["pdf"])
                 if element.S == "/Div" and parent is not None and parent.S == "/LI"]
    assert not offenders


@pytest.mark.parametrize("name", PDFS)
def test_every_pdf_passes_verapdf_pdf_ua_1_rules(documents, name):
    page = pytest.importorskip("page", reason="page-validation (pip install -e '.[test]') is not installed")
    report = page.validate_pdf_bytes(documents[name]["bytes"], profile="ua1")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures][:20]


def test_completing_the_tree_gives_the_same_bytes_each_time(tiny_editions):
    """Cheap to check on what WeasyPrint wrote: the completed PDF depends on nothing but its input."""
    from reportgen.pdf import render_pdf

    page = (tiny_editions / "report-student.html").read_text(encoding="utf-8")
    first = render_pdf(page, epoch=0)
    assert render_pdf(page, epoch=0) == first
    assert first.startswith(b"%PDF-1.7")
