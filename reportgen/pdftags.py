"""What WeasyPrint leaves undone in a PDF/UA structure tree, completed after typesetting with pikepdf.

WeasyPrint 70 tags the report from its HTML (Kozea/WeasyPrint #2482 collects
what it does not do yet). This pass, run on its output, makes the tagged PDF
read as the page does:

- a formula's picture (alt text marked by :data:`reportgen.mathsvg.FORMULA_MARK`)
  is a ``/Formula`` whose ``/Alt`` is the formula in words;
- running headers and "page N of M" (page margin boxes, which WeasyPrint tags
  under a ``/NonStruct`` that the document does not list) become
  ``/Artifact /Pagination`` content, and the table of contents' leader dots
  ``/Artifact /Layout``;
- ``/BBox`` attributes, written in CSS pixels from the top, are put in PDF
  points through the transformation in force where the element is drawn;
- each line ends with a space in the tagged text (a space glyph after its last
  glyph), so text read in tag order does not join the last word of a line to
  the first of the next; a hyphen that breaks a word at a line end gets an
  empty ``/ActualText``, so that the word reads whole;
- a ``/Link`` nested in another (an ``a::after`` with the target's page number)
  is merged into it, and every link's ``/Contents`` says where it goes in words
  ("Figure 2, page 6"), in the document's language; links are printable.

The output is as deterministic as its input (same bytes for the same PDF).
"""

from __future__ import annotations

import html
import re
import zlib
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pikepdf

from . import language as lang
from .mathsvg import FORMULA_MARK

LINE_END_KEEPS = set(" \u00a0-\u2010\u2011\u2013\u2014\u00ad/")
"""A line that ends in one of these needs no space after it: a space already, or a hyphen or dash that joins."""
HYPHENS = {"\u2010", "\u00ad"}
"""What WeasyPrint draws where it hyphenates a word (``hyphenate-character``, U+2010 by default)."""

_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")
_LINK = re.compile(r'<a\b[^>]*?\bhref="([^"]+)"[^>]*>(.*?)</a>', re.S)
_TAG = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r"<(script|style|math)\b.*?</\1>", re.S)
_WORD = re.compile(r"\w+")
_LAST_WORD = re.compile(r"\w+$")
_FIRST_WORD = re.compile(r"^\w+")


@dataclass
class Font:
    """What this pass needs of a font: its codes' text (ToUnicode), widths, and the code of its space if any."""

    text: dict[bytes, str]
    widths: dict[int, float]
    default_width: float = 1000.0
    space: bytes | None = None
    seen: dict[bytes, list[tuple[bytes, str, float]]] = field(default_factory=dict)

    def width(self, code: bytes) -> float:
        """The advance of ``code`` in thousandths of the font size."""
        return self.widths.get(int.from_bytes(code, "big"), self.default_width)

    def glyphs(self, written: bytes) -> list[tuple[bytes, str, float]]:
        """The two-byte codes of a hex string as the stream writes it (``0024``: Identity-H, as WeasyPrint embeds
        every font), each with its text and advance (cached)."""
        found = self.seen.get(written)
        if found is None:
            codes = bytes.fromhex(written.decode())
            found = self.seen[written] = [(codes[k:k + 2], self.text.get(codes[k:k + 2], ""),
                                           self.width(codes[k:k + 2])) for k in range(0, len(codes) - 1, 2)]
        return found


@dataclass
class Run:
    """The text drawn in one marked-content sequence (one WeasyPrint text box)."""

    mcid: int
    x: float
    y: float
    size: float = 0.0
    font: Font | None = None
    end: float = 0.0
    """Where the text stops, in the same coordinates as ``x``."""
    text: str = ""
    last: tuple[int, int] | None = None
    """Where the last text-showing operation's array lies in the stream (from ``[`` to ``]``)."""


@dataclass
class Page:
    """One page's content stream and what was found in it; changes are kept as splices until written."""

    number: int
    data: bytes
    runs: dict[int, Run] = field(default_factory=dict)
    openings: dict[int, tuple[int, int]] = field(default_factory=dict)
    """MCID -> where its ``/Tag <</MCID n>> BDC`` lies in the stream."""
    matrices: dict[int, tuple[float, ...]] = field(default_factory=dict)
    """MCID -> the transformation in force at its BDC."""
    edits: list[tuple[int, int, bytes]] = field(default_factory=list)
    forced_ends: set[int] = field(default_factory=set)
    """MCIDs whose text must end with a space though the line goes on (a link's label before its page number)."""

    def splice(self, start: int, end: int, replacement: bytes) -> None:
        """Replace ``data[start:end]`` when the page is written."""
        self.edits.append((start, end, replacement))

    def edited(self) -> bytes:
        """The stream with every splice made."""
        out, at = [], 0
        for start, end, replacement in sorted(self.edits):
            out += [self.data[at:start], replacement]
            at = end
        return b"".join(out) + self.data[at:]


_NUMBER = rb"-?(?:\d+\.?\d*|\.\d+)"
_OPERATOR = re.compile(rb"(Tm|Tf|TJ|cm|BDC|BMC|EMC)(?=\s)|(?<=\n)([qQ])(?=\n)")
_SAVE = re.compile(rb"(?<=\n)q(?=\n)")
_RESTORE = re.compile(rb"(?<=\n)Q(?=\n)")
_MARKED = re.compile(rb"/(\w+)\s*<<\s*/MCID\s+(\d+)\s*>>\s*$")
_ITEM = re.compile(rb"<([0-9A-Fa-f]*)>|(" + _NUMBER + rb")")


def complete(document: bytes, page: str = "") -> bytes:
    """The PDF ``document`` (WeasyPrint's PDF/UA-1 output) with its structure tree completed as described above;
    ``page`` is the HTML it was typeset from (what its links say, which words it holds)."""
    with pikepdf.open(BytesIO(document)) as pdf:
        tree = pdf.Root.get("/StructTreeRoot")
        if tree is None:
            return document
        code = str(pdf.Root.get("/Lang", lang.DEFAULT)).split("-")[0]
        with lang.speaking(code if code in lang.LANGUAGES else lang.DEFAULT):
            _complete(pdf, tree, Source(link_labels(page), *_words(page)))
        out = BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()


@dataclass(frozen=True)
class Source:
    """What the HTML tells about its PDF: its links' words, and its words to tell a line break between two words
    from one inside a word (a URL or a hash broken anywhere)."""

    labels: dict[str, str]
    words: frozenset[str]
    long_words: tuple[str, ...]

    def inside_word(self, before: str, after: str) -> bool:
        """Whether a line that ends with ``before`` and one that starts with ``after`` part a word of the page."""
        head, tail = _LAST_WORD.search(before), _FIRST_WORD.match(after)
        if head is None or tail is None:
            return False
        joined = head.group(0) + tail.group(0)
        if head.group(0) in self.words and tail.group(0) in self.words:
            return False  # two words of the page: "in" + "to" stays "in to"
        return joined in self.words or any(joined in word for word in self.long_words)


def _words(page: str) -> tuple[frozenset[str], tuple[str, ...]]:
    text = html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", page)))
    words = frozenset(_WORD.findall(text))
    return words, tuple(word for word in words if len(word) >= 16)


def _complete(pdf: Any, tree: Any, source: Source) -> None:
    nums = tree.ParentTree.Nums
    parents = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
    reachable = _reachable(tree)
    page_numbers = {page.objgen: i for i, page in enumerate(pdf.pages)}
    fonts: dict[tuple[int, int], Font] = {}
    pages = []
    for number, page in enumerate(pdf.pages):
        parsed = _parse(pdf, page, number, fonts)
        owners = parents.get(number, pikepdf.Array())
        _mark_artifacts(parsed, owners, reachable)
        pages.append(parsed)
    _retag_formulas_and_boxes(tree, pages, page_numbers)
    _merge_links(pdf, tree, parents, pages, page_numbers)
    _describe_links(pdf, _destinations(pdf, page_numbers), source.labels)
    for parsed in pages:
        _space_line_ends(parsed, source)
        if parsed.edits:
            # Compressed here at zlib's level 3: 15 times faster than its default on 1.5 MB of figures, for content
            # streams 13 % larger (4 % of the lecture's report.pdf).
            pdf.pages[parsed.number].Contents = pdf.make_stream(zlib.compress(parsed.edited(), 3),
                                                                Filter=pikepdf.Name.FlateDecode)


def _kids(element: Any) -> list:
    kids = element.get("/K")
    if kids is None:
        return []
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _reachable(tree: Any) -> set[tuple[int, int]]:
    """The structure elements the document lists, by object number."""
    found: set[tuple[int, int]] = set()
    stack = _kids(tree)
    while stack:
        element = stack.pop()
        if isinstance(element, pikepdf.Dictionary) and "/S" in element and element.objgen not in found:
            found.add(element.objgen)
            stack.extend(_kids(element))
    return found


def _font(pdf: Any, resource: Any, cache: dict) -> Font | None:
    """A font's ToUnicode map, widths and space code (cached by object)."""
    if resource is None:
        return None
    if resource.objgen in cache:
        return cache[resource.objgen]
    text: dict[bytes, str] = {}
    if "/ToUnicode" in resource:
        cmap = resource.ToUnicode.read_bytes()
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
            codes = _HEX.findall(block)
            for source, target in zip(codes[0::2], codes[1::2]):
                text[bytes.fromhex(source.decode())] = bytes.fromhex(target.decode()).decode("utf-16-be", "replace")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
            for low, high, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[[^\]]*\])",
                                                block):
                first, last = int(low, 16), int(high, 16)
                targets = _HEX.findall(target)
                for offset in range(last - first + 1):
                    if target.startswith(b"["):
                        value = bytes.fromhex(targets[offset].decode()) if offset < len(targets) else b""
                    else:
                        start = bytes.fromhex(targets[0].decode())
                        value = start[:-2] + (int.from_bytes(start[-2:], "big") + offset).to_bytes(2, "big")
                    text[(first + offset).to_bytes(len(low) // 2, "big")] = value.decode("utf-16-be", "replace")
    widths: dict[int, float] = {}
    default = 1000.0
    descendants = resource.get("/DescendantFonts")
    if descendants is not None and len(descendants):
        cid_font = descendants[0]
        default = float(cid_font.get("/DW", 1000))
        entries = list(cid_font.get("/W", []))
        i = 0
        while i < len(entries):
            if i + 1 < len(entries) and isinstance(entries[i + 1], pikepdf.Array):
                for offset, width in enumerate(entries[i + 1]):
                    widths[int(entries[i]) + offset] = float(width)
                i += 2
            else:
                for cid in range(int(entries[i]), int(entries[i + 1]) + 1):
                    widths[cid] = float(entries[i + 2])
                i += 3
    space = next((code for code, char in sorted(text.items()) if char == " "), None)
    cache[resource.objgen] = found = Font(text, widths, default, space)
    return found


def _multiply(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    """The matrix product a × b of two PDF matrices (a applied first)."""
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


def _parse(pdf: Any, page: Any, number: int, fonts: dict) -> Page:
    """The page's marked-content sequences: each one's BDC, matrix and text run.

    A scan of the stream for the few operators this pass reads, not a full parse: WeasyPrint writes text as
    hex strings in TJ arrays and no inline images, and the figures' path data is most of the stream.
    """
    contents = page.Contents
    data = (b"\n".join(part.read_bytes() for part in contents) if isinstance(contents, pikepdf.Array)
            else contents.read_bytes())
    parsed = Page(number, data)
    resources = page.get("/Resources", {})
    font_resources = resources.get("/Font", {}) if resources else {}
    matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    saved: list[tuple[float, ...]] = []
    current: list[int | None] = []
    font: Font | None = None
    size = 0.0
    run: Run | None = None
    position = 0
    while (match := _OPERATOR.search(data, position)) is not None:
        position = match.end()
        operator = match.group(1) or match.group(2)
        start = match.start()
        # pydyf writes an operation's operands on its line; a BDC's tag and properties on the two lines before.
        line = data.rfind(b"\n", 0, start) + 1
        if operator == b"TJ":
            if run is None or font is None or run.mcid not in current:
                continue
            opening = data.index(b"[", line)
            closing = data.rindex(b"]", opening, start) + 1
            run.font, run.size, run.last = font, size, (opening, closing)
            advance, text = 0.0, []
            for written, adjustment in _ITEM.findall(data, opening, closing):
                if adjustment:
                    advance -= float(adjustment)
                    continue
                for _code, char, width in font.glyphs(written):
                    text.append(char)
                    advance += width
            run.text += "".join(text)
            run.end += advance * size / 1000
        elif operator == b"Tm":
            values = [float(v) for v in data[line:start].split()]
            mcid = next((m for m in reversed(current) if m is not None), None)
            if mcid is None:
                run = None
            elif mcid not in parsed.runs:
                run = parsed.runs[mcid] = Run(mcid, values[4], values[5], end=values[4])
            else:
                run = parsed.runs[mcid]
        elif operator == b"Tf":
            name, value = data[line:start].split()[-2:]
            font = _font(pdf, font_resources.get(name.decode()), fonts)
            size = float(value)
        elif operator == b"cm":
            matrix = _multiply(tuple(float(v) for v in data[line:start].split()), matrix)
        elif operator == b"q":
            saved.append(matrix)
        elif operator == b"Q":
            matrix = saved.pop() if saved else matrix
        elif operator == b"BDC":
            tag_line = data.rfind(b"\n", 0, max(data.rfind(b"\n", 0, line - 1), 0)) + 1
            marked = _MARKED.search(data, tag_line, start)
            if marked is None:
                current.append(None)
                continue
            mcid = int(marked.group(2))
            current.append(mcid)
            parsed.openings[mcid] = (marked.start(), match.end())
            parsed.matrices[mcid] = matrix
            if marked.group(1) in (b"Figure", b"Formula"):
                position = _past_picture(data, position)
        elif operator == b"BMC":
            current.append(None)
        elif operator == b"EMC" and current:
            current.pop()
    return parsed


def _past_picture(data: bytes, start: int) -> int:
    """Where to scan on after a picture's BDC: at its EMC when nothing between is marked and every q has its Q (so
    the picture leaves the matrix as it found it), else at ``start``. A figure's drawing is most of a stream."""
    end = data.find(b"\nEMC", start)
    if end < 0 or data.find(b"BDC", start, end) >= 0 or data.find(b"BMC", start, end) >= 0:
        return start
    if len(_SAVE.findall(data, start, end + 1)) != len(_RESTORE.findall(data, start, end + 1)):
        return start
    return end + 1


def _mark_artifacts(page: Page, owners: Any, reachable: set) -> None:
    """Content whose structure element the document does not list (page margins) as pagination artifacts."""
    height = _page_height(page)
    for mcid in list(page.openings):
        owner = owners[mcid] if mcid < len(owners) else None
        if not isinstance(owner, pikepdf.Dictionary) or owner.objgen in reachable:
            continue
        run = page.runs.get(mcid)
        top = run is not None and height is not None and run.y < height / 2
        _to_artifact(page, mcid, owners, b"<</Type /Pagination /Subtype /%s>>" % (b"Header" if top else b"Footer"))


def _page_height(page: Page) -> float | None:
    """The page's height in the coordinates its text is placed in (WeasyPrint's CSS pixels, y downwards)."""
    matrix = next(iter(page.matrices.values()), None)
    if matrix is None or not matrix[0]:
        return None
    return abs(matrix[5] / matrix[3]) if matrix[3] else None


def _retag_formulas_and_boxes(tree: Any, pages: list[Page], page_numbers: dict) -> None:
    """Formula pictures as /Formula with their words as /Alt; every /BBox in PDF points."""
    stack = _kids(tree)
    while stack:
        element = stack.pop()
        if not isinstance(element, pikepdf.Dictionary) or "/S" not in element:
            continue
        stack.extend(_kids(element))
        alt = element.get("/Alt")
        if element.S == "/Figure" and alt is not None and str(alt).startswith(FORMULA_MARK):
            element.S = pikepdf.Name.Formula
            element.Alt = pikepdf.String(str(alt)[len(FORMULA_MARK):])
        attributes = element.get("/A")
        if attributes is None:
            continue
        for owner in attributes if isinstance(attributes, pikepdf.Array) else [attributes]:
            if isinstance(owner, pikepdf.Dictionary) and "/BBox" in owner:
                matrix = _matrix_of(element, pages, page_numbers)
                if matrix is not None:
                    owner.BBox = pikepdf.Array([round(v, 3) for v in _transform_box(owner.BBox, matrix)])


def _matrix_of(element: Any, pages: list[Page], page_numbers: dict) -> tuple[float, ...] | None:
    """The transformation in force where ``element``'s first marked content is drawn."""
    page = element.get("/Pg")
    if page is None or page.objgen not in page_numbers:
        return None
    mcid = next((int(k) for k in _kids(element) if isinstance(k, int)), None)
    return pages[page_numbers[page.objgen]].matrices.get(mcid) if mcid is not None else None


def _transform_box(box: Any, matrix: tuple[float, ...]) -> list[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    corners = [(x * matrix[0] + y * matrix[2] + matrix[4], x * matrix[1] + y * matrix[3] + matrix[5])
               for x in (x1, x2) for y in (y1, y2)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return [min(xs), min(ys), max(xs), max(ys)]


def _merge_links(pdf: Any, tree: Any, parents: dict, pages: list[Page], page_numbers: dict) -> None:
    """Fold each /Link nested in a /Link into it (leader dots become artifacts)."""
    nums = tree.ParentTree.Nums
    annotation_keys = {int(nums[i]): i + 1 for i in range(0, len(nums), 2) if int(nums[i]) >= len(pages)}
    page_objects = [page.obj for page in pdf.pages]
    stack = [(kid, None) for kid in _kids(tree)]
    while stack:
        element, parent = stack.pop()
        if not isinstance(element, pikepdf.Dictionary) or "/S" not in element:
            continue
        if element.S == "/Link":
            _fold(element, parents, pages, page_numbers, page_objects, nums, annotation_keys)
            continue
        stack.extend((kid, element) for kid in _kids(element))


def _page_of(element: Any, page_numbers: dict, default: int | None = None) -> int | None:
    page = element.get("/Pg")
    return page_numbers.get(page.objgen, default) if page is not None else default


def _fold(link: Any, parents: dict, pages: list[Page], page_numbers: dict, page_objects: list, nums: Any,
          annotation_keys: dict[int, int]) -> None:
    """Move the content and annotations of the links inside ``link`` into it."""
    number = _page_of(link, page_numbers)
    label = [int(k) for k in _kids(link) if isinstance(k, int)]
    kids: list = []
    annotations: set = set()

    def take(element: Any, at: int | None, nested: bool) -> None:
        for kid in _kids(element):
            if isinstance(kid, pikepdf.Dictionary) and kid.get("/S") == "/Link":
                if label and number is not None:
                    pages[number].forced_ends.add(label[-1])  # "Introduction" + "3": a space between
                take(kid, _page_of(kid, page_numbers, at), True)
            elif isinstance(kid, int) and nested and at is not None:
                run = pages[at].runs.get(int(kid))
                if run is not None and run.text and not run.text.strip(". \u00a0"):
                    _to_artifact(pages[at], int(kid), parents.get(at), b"<</Type /Layout>>")  # leader dots
                    continue
                parents[at][int(kid)] = link
                kids.append(kid if at == number else
                            pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=page_objects[at], MCID=kid))
            elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/OBJR":
                if kid.Obj.objgen in annotations:
                    continue
                annotations.add(kid.Obj.objgen)
                key = annotation_keys.get(int(kid.Obj.get("/StructParent", -1)))
                if key is not None:
                    nums[key] = link
                kids.append(kid)
            else:
                if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                    kid.P = link
                kids.append(kid)

    take(link, number, False)
    link.K = pikepdf.Array(kids)


def _to_artifact(page: Page, mcid: int, owners: Any, properties: bytes) -> None:
    """Mark the content of ``mcid`` an artifact with ``properties`` and take it out of the structure tree."""
    span = page.openings.pop(mcid, None)
    if span is None:
        return
    page.splice(*span, b"/Artifact " + properties + b" BDC")
    if owners is not None and mcid < len(owners):
        owners[mcid] = None
    page.runs.pop(mcid, None)


def _destinations(pdf: Any, page_numbers: dict) -> dict[str, int]:
    """Named destination -> 1-based page number."""
    found: dict[str, int] = {}
    names = pdf.Root.get("/Names")
    if names is None or "/Dests" not in names:
        return found
    for name, destination in pikepdf.NameTree(names.Dests).items():
        target = destination.get("/D") if isinstance(destination, pikepdf.Dictionary) else destination
        if isinstance(target, pikepdf.Array) and len(target) and target[0].objgen in page_numbers:
            found[str(name)] = page_numbers[target[0].objgen] + 1
    return found


def link_labels(page: str) -> dict[str, str]:
    """What each link of an HTML page says, by target (``#fig-x`` as ``fig-x``, or its URL): its text, tags dropped.
    The first link to a target names it (reportgen writes every link to one target alike: "Figure 2")."""
    labels: dict[str, str] = {}
    for target, inside in _LINK.findall(page):
        text = " ".join(html.unescape(_TAG.sub("", inside)).split())
        if text:
            labels.setdefault(html.unescape(target).removeprefix("#"), text)
    return labels


def _describe_links(pdf: Any, destinations: dict[str, int], labels: dict[str, str]) -> None:
    """Each link annotation's /Contents in words: "Figure 2, page 6", "Equation 3, page 5", or its text."""
    for page in pdf.pages:
        for annotation in page.get("/Annots", []):
            if annotation.get("/Subtype") != "/Link":
                continue
            target = annotation.get("/Dest")
            action = annotation.get("/A")
            if target is None and action is not None:
                target = action.get("/D") if action.get("/S") == "/GoTo" else action.get("/URI")
            name = str(target).removeprefix("/") if isinstance(target, (pikepdf.String, pikepdf.Name)) else ""
            label = labels.get(name, "")
            words = label or name
            if name in destinations:
                at = lang.number(destinations[name])
                digits = "".join(ch for ch in label if ch.isdigit())
                # reportgen's own anchors: eq- for numbered equations ("(3)"), ref- for bibliography entries ("13")
                if name.startswith("eq-") and digits:
                    words = lang._("Equation {number}, page {page}", number=digits, page=at)
                elif name.startswith("ref-") and digits:
                    words = lang._("Reference {number}, page {page}", number=digits, page=at)
                else:
                    words = lang._("{label}, page {page}", label=label or name, page=at)
            if words:
                annotation.Contents = pikepdf.String(words)
            annotation.F = 4  # Print: a link is part of the page on paper too (ISO 14289-1 7.18.1)


def _space_line_ends(page: Page, source: Source) -> None:
    """A space glyph after the last glyph of each line; an empty /ActualText over a hyphen that breaks a word.

    A line broken inside a word (a URL or a hash, which the stylesheet lets break anywhere) gets no space.
    """
    runs = [run for run in sorted(page.runs.values(), key=lambda r: page.openings[r.mcid])
            if run.last is not None and run.text]
    for run, following in zip(runs, runs[1:] + [None]):
        if (run.mcid not in page.forced_ends and following is not None and following.x >= run.end - 1
                and abs(following.y - run.y) < 2 * max(run.size, 1)):
            continue  # the next run goes on along the same line (or is a superscript of it)
        last = run.text[-1]
        start, end = run.last  # the TJ array, "[" to "]"
        if last in HYPHENS:
            body = page.data[start + 1:end - 1]
            cut = body.rindex(b"<")
            closing = body.index(b">", cut)
            head, hyphen = body[cut + 1:closing - 4], body[closing - 4:closing]  # the hyphen is the last code
            page.splice(start, end, b"[" + body[:cut] + (b"<" + head + b">" if head else b"")
                        + b"] TJ\n/Span <</ActualText ()>> BDC\n[<" + hyphen + b">" + body[closing + 1:] + b"]")
            page.splice(end + _after_tj(page.data, end), end + _after_tj(page.data, end), b"\nEMC")
        elif (last not in LINE_END_KEEPS and run.font is not None and run.font.space is not None
              and not (following is not None and source.inside_word(run.text, following.text))):
            page.splice(end - 1, end - 1, b"<" + run.font.space.hex().encode() + b">")


def _after_tj(data: bytes, end: int) -> int:
    """How far the TJ operator that follows an array ending at ``end`` reaches past it."""
    return data.index(b"TJ", end) + 2 - end
