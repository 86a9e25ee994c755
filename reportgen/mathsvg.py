"""LaTeX -> SVG at build time (ziamath), so HTML and PDF show the same equations without JavaScript.

Prose marks math as in LaTeX: ``\\( ... \\)`` inline, ``\\[ ... \\]`` displayed,
``\\label{eq:name}`` inside a display to number it and ``\\eqref{eq:name}`` to
refer to it. :func:`typeset_math` replaces them in rendered HTML.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from .errors import BadInputError
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


@dataclass(frozen=True)
class MathImage:
    """One rendered formula and the box it occupies relative to the text baseline."""

    svg: str
    width_em: float
    height_em: float
    depth_em: float
    """How far the formula reaches below the baseline."""

    def img(self, alt: str, display: bool) -> str:
        """An ``<img>`` tag with the SVG as a data URI, sized in em.

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
    return f'{head}<path d="{" ".join(parts)}"/></svg>' if parts else svg


def typeset_math(text: str) -> str:
    """Replace LaTeX delimiters in rendered HTML with numbered SVG equations and links."""
    numbers: dict[str, int] = {}

    def display(match: re.Match) -> str:
        source = html.unescape(match.group(1)).strip()
        label = _LABEL.search(source)
        source = _LABEL.sub("", source).strip()
        image = render_latex(source, display=True).img(alt=_readable(source), display=True)
        if label is None:
            return f'<div class="equation">{image}</div>'
        number = numbers.setdefault(label.group(1), len(numbers) + 1)
        anchor = _anchor(label.group(1))
        return (f'<div class="equation numbered" id="{anchor}">{image}'
                f'<span class="eqno">({number})</span></div>')

    def inline(match: re.Match) -> str:
        source = html.unescape(match.group(1)).strip()
        image = render_latex(source, display=False).img(alt=_readable(source), display=False)
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


def _readable(source: str) -> str:
    """The formula's LaTeX as its alt text, without the braces that only set a sign or a decimal comma."""
    return source.replace("{-}", "-").replace("{,}", ",")


def _anchor(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", label)
