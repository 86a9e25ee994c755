"""LaTeX -> SVG at build time (ziamath), so HTML and PDF show the same equations without JavaScript.

Prose marks math as in LaTeX: ``\\( ... \\)`` inline, ``\\[ ... \\]`` displayed,
``\\label{eq:name}`` inside a display to number it and ``\\eqref{eq:name}`` to
refer to it. :func:`typeset_math` replaces them in rendered HTML.

The SVG is the picture (an ``<img alt="">``); the accessible form is the MathML
that ziamath drew it from, in a visually hidden ``<math>`` whose ``alttext``
reads the formula in words (:mod:`reportgen.mathspeech`). WeasyPrint does not
read MathML, so :func:`for_print` gives the picture those words as its alt
text, marked so that the PDF's structure tree can tag it a Formula.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from .errors import BadInputError
from .mathspeech import speak
from .svgslim import data_uri

BASE_PX = 16.0
"""Font size the SVGs are drawn at; sizes are then given in em so equations follow the text size."""

_DISPLAY = re.compile(r"\\\[(.+?)\\\]", re.S)
_INLINE = re.compile(r"\\\((.+?)\\\)([.,;:!?)]*)", re.S)
_LABEL = re.compile(r"\\label\{([^}]+)\}")
_PATH = re.compile(r'<path d="([^"]*)" fill="black" />')
_RECT = re.compile(r'<rect x="([-\d.]+)" y="([-\d.]+)" width="([-\d.]+)" height="([-\d.]+)" fill="black" />')
_OPEN = re.compile(r"<svg\b[^>]*>")
_EQREF = re.compile(r"\\eqref\{([^}]+)\}")
_FORMULA = re.compile(r'<img class="(math(?:-display)?)" src="([^"]*)" alt="" style="([^"]*)">'
                      r'<math\b[^>]*? alttext="([^"]*)"[^>]*>.*?</math>', re.S)
_CHARACTER = re.compile(r"&#x([0-9A-Fa-f]+);")
_DECIMAL_COMMA = re.compile(r"<mn>(\d+)</mn><mrow><mo>,</mo></mrow><mn>(\d+)</mn>")
_PRESENTATION = re.compile(r' (?:xmlns|stretchy|minsize|maxsize|rowspacing|columnspacing|columnalign|displaystyle)'
                           r'="[^"]*"|<mtext>\xa0</mtext>|<mspace [^>]*/>')

FORMULA_MARK = "\ue000"
"""Starts the alt text of a formula's picture in the HTML given to WeasyPrint (a private-use character no text
holds), so that :mod:`reportgen.pdftags` tags that picture a Formula; it never reaches the PDF."""


@dataclass(frozen=True)
class MathImage:
    """One rendered formula and the box it occupies relative to the text baseline."""

    svg: str
    width_em: float
    height_em: float
    depth_em: float
    """How far the formula reaches below the baseline."""

    def img(self, alt: str, display: bool) -> str:
        """An ``<img>`` tag with the SVG as a data URI, sized in em (``alt=""``: a picture whose words are
        elsewhere, as in :func:`formula`).

        Inline formulas get an exact height and sit on the text baseline;
        displayed ones give only their width, so that on a narrow screen
        they shrink in proportion instead of overflowing.
        """
        uri = data_uri(self.svg)
        if display:
            css_class, style = "math-display", f"width:{self.width_em:.3f}em"
        else:
            css_class = "math"
            style = f"width:{self.width_em:.3f}em;height:{self.height_em:.3f}em;vertical-align:{-self.depth_em:.3f}em"
        return f'<img class="{css_class}" src="{uri}" alt="{html.escape(alt, quote=True)}" style="{style}">'


@lru_cache(maxsize=None)
def render_latex(latex: str, display: bool) -> MathImage:
    """Render one formula; raise BadInputError naming the formula if ziamath cannot."""
    import ziamath

    # Each glyph as a path in place, not a <symbol> and a <use>: the SVG can then be one path.
    ziamath.config.svg2 = False
    ziamath.config.precision = 2
    try:
        math = ziamath.Latex(latex, size=BASE_PX, inline=not display)
        svg = _one_path(math.svg())
    except Exception as exc:  # ziamath raises many types for malformed LaTeX
        raise BadInputError(f"cannot typeset the formula {latex!r}: {exc}") from None
    match = re.search(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"', svg)
    if match is None:
        raise BadInputError(f"cannot typeset the formula {latex!r}: no viewBox in the SVG")
    _, top, width, height = (float(v) for v in match.groups())
    depth = height + top  # top is negative: the baseline is at y = 0
    return MathImage(svg=svg, width_em=width / BASE_PX, height_em=height / BASE_PX, depth_em=depth / BASE_PX)


def _one_path(svg: str) -> str:
    """The formula as a single black path: glyphs and rules (fraction bars, roots) are its subpaths.

    WeasyPrint draws a formula of one element many times faster than one of
    an element per glyph, and the HTML is smaller. Glyph outlines of one font
    wind the same way and rules are drawn clockwise like them, so where two
    overlap, the non-zero fill rule keeps both filled.
    """
    opening = _OPEN.search(svg)
    if opening is None:
        return svg
    body = svg[opening.end():svg.rindex("</svg>")]
    parts = [match.group(1).strip() for match in _PATH.finditer(body)]
    for x, y, width, height in _RECT.findall(body):
        parts.append(f"M {x} {y} h {width} v {height} h -{width} Z")
    leftover = _RECT.sub("", _PATH.sub("", body)).strip()
    if leftover:  # something this flattening does not know: keep ziamath's own drawing
        return svg
    head = opening.group(0).replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    return f'{head}<path d="{_relative(" ".join(parts))}"/></svg>' if parts else svg


_PATH_TOKEN = re.compile(r"[MLQZhv]|-?\d*\.?\d+")
_ARITY = {"M": 2, "L": 2, "Q": 4, "Z": 0, "h": 1, "v": 1}


def _relative(path: str) -> str:
    """The same outline in relative commands (``l``, ``h``, ``v``, ``q``), lines of no length dropped.

    ziamath writes absolute coordinates to 1/100 px; the offsets between them are exact in hundredths, so the
    shape is unchanged and the path about two fifths shorter (each formula is drawn wherever it is used).
    """
    tokens = _PATH_TOKEN.findall(path)
    out: list[str] = []
    x = y = start_x = start_y = 0
    previous = ""
    i = 0

    def emit(command: str, *values: int) -> None:
        nonlocal previous
        numbers = ""
        for value in values:
            text = _hundredths(value)
            numbers += text if not numbers or text.startswith("-") else "," + text
        # A command repeats implicitly (after an m, pairs are lines: so an m is always written).
        if command != previous or command == "m":
            out.append(command + numbers)
        else:
            out.append(numbers if numbers.startswith("-") else "," + numbers)
        previous = command

    while i < len(tokens):
        command = tokens[i]
        values = [round(float(v) * 100) for v in tokens[i + 1:i + 1 + _ARITY[command]]]
        i += 1 + _ARITY[command]
        if command == "M":
            if out:
                emit("m", values[0] - x, values[1] - y)
            else:
                out.append("M" + _hundredths(values[0]) + "," + _hundredths(values[1]))
                previous = "M"
            x, y = start_x, start_y = values
        elif command == "L":
            dx, dy = values[0] - x, values[1] - y
            if dx and dy:
                emit("l", dx, dy)
            elif dx:
                emit("h", dx)
            elif dy:
                emit("v", dy)
            x, y = values
        elif command == "Q":
            emit("q", values[0] - x, values[1] - y, values[2] - x, values[3] - y)
            x, y = values[2], values[3]
        elif command == "h":
            emit("h", values[0])
            x += values[0]
        elif command == "v":
            emit("v", values[0])
            y += values[0]
        else:
            out.append("z")
            previous = "z"
            x, y = start_x, start_y
    return "".join(out)


def _hundredths(value: int) -> str:
    """``value`` hundredths as SVG writes a number at its shortest: 1.5, .52, -.48, 13."""
    sign, value = ("-" if value < 0 else ""), abs(value)
    whole, fraction = divmod(value, 100)
    text = (str(whole) if whole else "") + (f".{fraction:02d}".rstrip("0") if fraction else "")
    return sign + (text or "0")


@lru_cache(maxsize=None)
def mathml(latex: str, display: bool) -> str:
    """The MathML ziamath draws ``latex`` from, without what only sets its look: a screen reader's form of it."""
    from ziamath.tex import tex2mml

    markup = tex2mml(latex, inline=not display)
    markup = _CHARACTER.sub(lambda m: chr(int(m.group(1), 16)) if chr(int(m.group(1), 16)) not in "<>&\"'"
                            else m.group(0), markup)
    markup = _PRESENTATION.sub("", markup.replace(' display="inline"', ""))
    # An accent as its spacing character: a combining one would start a text run (the Nu checker warns).
    markup = markup.replace("<mo>\u0302</mo>", "<mo>^</mo>").replace("<mo>\u0303</mo>", "<mo>~</mo>")
    return _DECIMAL_COMMA.sub(r"<mn>\1,\2</mn>", markup).replace("<mi>;</mi>", "<mo>;</mo>")


def formula(latex: str, display: bool) -> str:
    """A formula as HTML: its picture, and its MathML with its words as ``alttext`` for screen readers."""
    image = render_latex(latex, display=display).img(alt="", display=display)
    words = html.escape(speak(latex), quote=True)
    return image + mathml(latex, display).replace("<math", f'<math class="visually-hidden" alttext="{words}"', 1)


def for_print(page: str) -> str:
    """The HTML for WeasyPrint: each formula's MathML dropped and its words made its picture's (marked) alt text."""
    return _FORMULA.sub(lambda m: f'<img class="{m.group(1)}" src="{m.group(2)}" alt="{FORMULA_MARK}{m.group(4)}" '
                                  f'style="{m.group(3)}">', page)


def typeset_math(text: str) -> str:
    """Replace LaTeX delimiters in rendered HTML with numbered SVG equations and links."""
    numbers: dict[str, int] = {}

    def display(match: re.Match) -> str:
        source = html.unescape(match.group(1)).strip()
        label = _LABEL.search(source)
        source = _LABEL.sub("", source).strip()
        image = formula(source, display=True)
        if label is None:
            return f'<div class="equation">{image}</div>'
        number = numbers.setdefault(label.group(1), len(numbers) + 1)
        anchor = _anchor(label.group(1))
        return (f'<div class="equation numbered" id="{anchor}">{image}'
                f'<span class="eqno">({number})</span></div>')

    def inline(match: re.Match) -> str:
        source = html.unescape(match.group(1)).strip()
        image = formula(source, display=False)
        # Keep punctuation that follows a formula on its line.
        return f'<span class="nowrap">{image}{match.group(2)}</span>' if match.group(2) else image

    text = _DISPLAY.sub(display, text)
    text = _INLINE.sub(inline, text)

    def reference(match: re.Match) -> str:
        label = match.group(1)
        if label not in numbers:
            raise BadInputError(f"\\eqref{{{label}}} refers to no labelled equation")
        return f'<a class="eqref" href="#{_anchor(label)}">({numbers[label]})</a>'

    return _EQREF.sub(reference, text)


def _anchor(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", label)
