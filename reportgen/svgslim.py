"""Lighter SVG from matplotlib: the same picture in fewer, simpler elements.

WeasyPrint spends most of a figure's PDF time visiting elements and parsing
their ``style`` attributes with a CSS tokenizer. Matplotlib writes a group
per tick, per tick mark and per label, one ``<use>`` per marker, a style
attribute on everything and six decimals on every coordinate. This pass
keeps what is painted and how, and drops the rest:

- wrapper groups that carry only an ``id`` nothing refers to;
- the metadata block and comments;
- ``style`` declarations, which become presentation attributes (read
  without a CSS parser); the stylesheet's defaults move to the root, from
  where they inherit;
- runs of ``<use>`` of one marker with one look, which become one path;
- grid lines of one axis, which become one path (they are parallel, so
  merging cannot darken a crossing);
- coordinates beyond 1/100 of a point;
- true-colour rasters (a dense artist drawn ``rasterized=True``), which become
  256-colour palette PNGs: a plot of a few colours and their anti-aliasing
  loses nothing visible and a third of the bytes.

The pass is deterministic: the same SVG text gives the same bytes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
HREF = f"{{{XLINK}}}href"
ET.register_namespace("", SVG)
ET.register_namespace("xlink", XLINK)

_NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")
_COORDINATES = ("d", "x", "y", "x1", "x2", "y1", "y2", "points", "transform", "width", "height")
_TRANSLUCENT = ("opacity", "fill-opacity", "stroke-opacity")
_IDENTITY_ROTATION = re.compile(r"^rotate\(-?0 [-\d.e]+ [-\d.e]+\)$")


def slim(svg: str) -> str:
    """``svg`` (matplotlib's output) with the same drawing in fewer elements and bytes."""
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", svg, count=1))
    for metadata in root.findall(f"{{{SVG}}}metadata"):
        root.remove(metadata)
    _hoist_stylesheet(root)
    referenced = _references(root)
    _rewrite(root, referenced, _definitions(root))
    _drop_unreferenced_definitions(root, _references(root))
    _hoist_font_family(root)
    for image in root.iter(f"{{{SVG}}}image"):
        _repack_raster(image)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _references(root: ET.Element) -> set[str]:
    """Ids that something points at (``url(#id)`` or ``href="#id"``)."""
    found: set[str] = set()
    for element in root.iter():
        for name, value in element.attrib.items():
            if name == HREF and value.startswith("#"):
                found.add(value[1:])
            else:
                found.update(re.findall(r"url\(#([^)]+)\)", value))
    return found


def _definitions(root: ET.Element) -> dict[str, ET.Element]:
    return {element.get("id"): element for element in root.iter() if element.get("id")}


def _hoist_stylesheet(root: ET.Element) -> None:
    """Matplotlib's ``*{...}`` defaults as root attributes: a stylesheet rule would beat presentation attributes."""
    for defs in root.findall(f"{{{SVG}}}defs"):
        for style in defs.findall(f"{{{SVG}}}style"):
            match = re.fullmatch(r"\s*\*\s*\{([^}]*)\}\s*", style.text or "")
            if match is None:
                continue  # not the one rule matplotlib writes: leave it alone
            for name, value in _declarations(match.group(1)).items():
                root.set(name, value)
            defs.remove(style)
        if len(defs) == 0:
            root.remove(defs)


def _declarations(style: str) -> dict[str, str]:
    pairs = (part.split(":", 1) for part in style.split(";") if ":" in part)
    return {name.strip(): value.strip() for name, value in pairs}


def _rewrite(parent: ET.Element, referenced: set[str], definitions: dict[str, ET.Element]) -> None:
    """Flatten, restyle, round and merge the children of ``parent``, depth first."""
    children: list[ET.Element] = []
    for child in list(parent):
        _restyle(child)
        _rewrite(child, referenced, definitions)
        if _tag(child) == "g" and set(child.attrib) <= {"id"} and child.get("id") not in referenced:
            children.extend(child)  # a wrapper that changes nothing about how its children are painted
        else:
            children.append(child)
    if (parent.get("id") or "").startswith("matplotlib.axis"):
        children = _axis_order(children)
    children = _merge_runs(children, definitions)
    parent[:] = children


def _restyle(element: ET.Element) -> None:
    style = element.attrib.pop("style", None)
    if style is not None:
        for name, value in _declarations(style).items():
            element.attrib.setdefault(name, value)
    if _IDENTITY_ROTATION.match(element.get("transform", "")):
        del element.attrib["transform"]
    for name in _COORDINATES:
        if name in element.attrib and not (name in ("width", "height") and _tag(element) == "svg"):
            element.set(name, _NUMBER.sub(_rounded, element.get(name)))


def _rounded(match: re.Match) -> str:
    return _short(float(match.group()))


def _short(value: float) -> str:
    """A coordinate to 1/100 of a point, without trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _axis_order(children: list[ET.Element]) -> list[ET.Element]:
    """Grid lines, then tick marks, then labels: they never overlap, so painting them grouped looks the same."""
    grid = [c for c in children if _tag(c) == "path" and c.get("clip-path")]
    marks = [c for c in children if _tag(c) == "use"]
    rest = [c for c in children if c not in grid and c not in marks]
    merged = _merge_paths(grid)
    return merged + marks + rest


def _merge_paths(paths: list[ET.Element]) -> list[ET.Element]:
    """Consecutive paths that differ only in their outline, as one path."""
    out: list[ET.Element] = []
    for path in paths:
        previous = out[-1] if out else None
        if previous is not None and _look(previous, "d") == _look(path, "d"):
            previous.set("d", previous.get("d").rstrip() + " " + path.get("d").strip())
        else:
            out.append(path)
    return out


def _look(element: ET.Element, *besides: str) -> tuple:
    return tuple(sorted((k, v) for k, v in element.attrib.items() if k not in besides))


def _merge_runs(children: list[ET.Element], definitions: dict[str, ET.Element]) -> list[ET.Element]:
    """Runs of opaque ``<use>`` of one marker with one look become one path of translated copies."""
    out: list[ET.Element] = []
    run: list[ET.Element] = []

    def flush() -> None:
        marker = definitions.get((run[0].get(HREF) or "#")[1:]) if run else None
        if len(run) > 1 and marker is not None and _tag(marker) == "path" and not _translucent(run[0], marker):
            attributes = {k: v for k, v in run[0].attrib.items() if k not in (HREF, "x", "y")}
            attributes.update({k: v for k, v in marker.attrib.items() if k not in ("id", "d")})
            outline = " ".join(_translated(marker.get("d"), float(u.get("x", 0)), float(u.get("y", 0)))
                               for u in run)
            out.append(ET.Element(f"{{{SVG}}}path", {"d": outline, **attributes}))
        else:
            out.extend(run)
        run.clear()

    for child in children:
        if _tag(child) == "use" and run and _look(child, "x", "y") == _look(run[0], "x", "y"):
            run.append(child)
            continue
        flush()
        if _tag(child) == "use":
            run.append(child)
        else:
            out.append(child)
    flush()
    return out


def _translucent(use: ET.Element, marker: ET.Element) -> bool:
    """Whether overlapping copies would look different merged (they would no longer darken each other)."""
    return any(float(element.get(name, "1")) < 1 for element in (use, marker) for name in _TRANSLUCENT)


def _translated(outline: str, dx: float, dy: float) -> str:
    """A marker outline in absolute commands (M, L, C, Q, Z, as matplotlib writes them) moved by (dx, dy)."""
    tokens = re.findall(r"[A-Za-z]|-?\d+(?:\.\d+)?(?:e-?\d+)?", outline)
    if any(token.isalpha() and token not in "MLCQZz" for token in tokens):
        raise ValueError(f"marker outline with relative or arc commands: {outline[:40]}")
    out, axis = [], 0
    for token in tokens:
        if token.isalpha():
            out.append(token)
            axis = 0
        else:
            out.append(_short(float(token) + (dx if axis == 0 else dy)))
            axis ^= 1
    return " ".join(out)


def _drop_unreferenced_definitions(root: ET.Element, referenced: set[str]) -> None:
    for parent in list(root.iter()):
        for child in list(parent):
            if _tag(child) == "defs":
                for definition in list(child):
                    if definition.get("id") not in referenced:
                        child.remove(definition)
                if len(child) == 0:
                    parent.remove(child)


_PNG_PREFIX = "data:image/png;base64,"


def _repack_raster(image: ET.Element) -> None:
    import base64
    import io

    from PIL import Image

    source = image.get(HREF) or image.get("href") or ""
    if not source.startswith(_PNG_PREFIX):
        return
    picture = Image.open(io.BytesIO(base64.b64decode(source[len(_PNG_PREFIX):])))
    if picture.mode not in ("RGB", "RGBA"):
        return
    buffer = io.BytesIO()
    picture.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(buffer, format="PNG", optimize=True)
    image.set(HREF if image.get(HREF) else "href", _PNG_PREFIX + base64.b64encode(buffer.getvalue()).decode())


def _hoist_font_family(root: ET.Element) -> None:
    """The most common font family once, on the root, from where text inherits it."""
    families: dict[str, int] = {}
    for element in root.iter():
        if "font-family" in element.attrib:
            families[element.get("font-family")] = families.get(element.get("font-family"), 0) + 1
    if not families:
        return
    common = max(sorted(families), key=families.__getitem__)
    root.set("font-family", common)
    for element in root.iter():
        if element is not root and element.get("font-family") == common:
            del element.attrib["font-family"]


_PATH_DATA = re.compile(r'\bd="([^"]*)"')
_URI_SAFE = "/=:.,-;+()'!*~_"
"""What a data URI carries as it is; everything else (space, quotes, <, >, #, %) is percent-encoded."""


def data_uri(svg: str) -> str:
    """An SVG as a ``data:`` URI, percent-encoded rather than base64: SVG is text, so its bytes mostly travel as
    they are (a third fewer than base64). Path data loses the spaces a comma or a command letter makes
    redundant first, since each space costs three bytes in a URI."""
    from urllib.parse import quote

    return "data:image/svg+xml," + quote(_PATH_DATA.sub(_tight_path, svg), safe=_URI_SAFE)


def _tight_path(match: re.Match) -> str:
    data = re.sub(r"([A-Za-z]) ", r"\1", match.group(1))  # "M 1 2" -> "M1 2"
    data = re.sub(r" (?=[A-Za-z])", "", data)  # "2 L" -> "2L"
    data = re.sub(r"(?<=[\d.]) (?=-?[\d.])", ",", data)  # "1 2" -> "1,2"
    return f'd="{data}"'
