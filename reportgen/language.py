"""Languages: the words and the number formatting of an edition.

A report is written in one language at a time: its analysis (captions, alt
text, table headers, figure labels and ticks) and its rendering run inside
``speaking(code)``. Within it, :func:`_` translates a message, :func:`number`
and :func:`fixed` write numbers as that language's readers expect (Babel's
locale data: a decimal comma for Spanish), and :class:`Text` shows the
definitions' own text in that language.

Messages are English text (the message id, as in gettext) looked up in the
gettext catalogues ``<templates folder>/locale/<code>/LC_MESSAGES/messages.po``
along the template search path, then the built-in one (see
:mod:`reportgen.catalogues`): the first folder that translates a message
wins, so a course or a plug-in kind can add or reword messages without
copying the built-in catalogue.
"""

from __future__ import annotations

import math
import os
import re
import string
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from babel import Locale
from babel.numbers import format_decimal
from markupsafe import Markup, escape

from .coursefiles import FIXED_LIMIT, read_course_file
from .errors import BadInputError
from .messages import one_of, show


@dataclass(frozen=True)
class Language:
    """A language reportgen writes: how it is named, marked and how it writes numbers."""

    code: str
    """ISO 639-1 code: the html ``lang``, the definitions' keys, the file names' suffix, the templates' folder."""
    locale: str
    """Babel's locale for numbers (es_CL: decimal comma, point between thousands)."""
    separator: str
    """Between the items of a list or interval: a comma cannot part numbers once it is their decimal mark."""
    group_from: int
    """The smallest whole number written with a thousands separator (Chile groups four digits too: 5.000 pasos,
    as CLDR's es_CL does, so that 5.000 and 10.000 in one sentence look alike)."""
    contractions: tuple[tuple[str, str], ...] = ()
    """Words that merge when text is assembled from pieces ("de el" is "del"): applied to spoken formulas."""


LANGUAGES = {
    "en": Language("en", "en", ", ", 1_000),
    "es": Language("es", "es_CL", "; ", 1_000, contractions=(("de el", "del"), ("a el", "al"))),
}
"""Every language reportgen writes, the default first."""

DEFAULT = "en"


def language(code: str) -> Language:
    """The language called ``code``; bad input when reportgen does not write it."""
    if code not in LANGUAGES:
        raise BadInputError(f"language {show(code)}: expected one of {one_of(LANGUAGES)}")
    return LANGUAGES[code]


@dataclass(frozen=True)
class Catalogue:
    """The messages of one language, merged along the template search path (the first folder wins)."""

    language: Language
    messages: Mapping[str, str | tuple[str, str]] = field(default_factory=dict)
    files: tuple[Path, ...] = ()
    """The message files read, first first (what a cache key that depends on the words must cover)."""
    untranslated: tuple[str, ...] = ()
    """Messages a catalogue lists fuzzy or without a translation: they show in English, with a warning."""

    def get(self, message: str) -> str | tuple[str, str] | None:
        """The translation of ``message``, or None (English needs none: its messages are their own ids)."""
        return self.messages.get(message)


def catalogue(code: str, folders: Iterable[Path] = ()) -> Catalogue:
    """The catalogue of ``code`` from the ``locale/`` of ``folders`` (template folders), then the built-in one."""
    from .catalogues import builtin_locale, locale_folder, po_path

    messages: dict[str, str | tuple[str, str]] = {}
    files: list[Path] = []
    untranslated: list[str] = []
    for locale, inside in [*((locale_folder(Path(f)), Path(f)) for f in folders), (builtin_locale(), builtin_locale())]:
        path = po_path(locale, code)
        # lexists, not is_file: a FIFO or a dangling link named messages.po is refused, not passed over.
        if not os.path.lexists(path):
            continue
        files.append(path)
        for message, translation, line in _read_po(path, inside, code):
            if translation is None:
                if message not in messages:
                    untranslated.append(message)
                continue
            _check_fields(path, message, translation, line)
            messages.setdefault(message, translation)
    return Catalogue(language(code), messages, tuple(files),
                     tuple(dict.fromkeys(m for m in untranslated if m not in messages)))


def _read_po(path: Path, folder: Path, code: str) -> Iterator[tuple[str, str | tuple[str, str] | None, int]]:
    """Each message of a ``.po`` file: its English (the singular, for a counted one), its translation (None when
    fuzzy or empty: it shows in English) and its line."""
    from .catalogues import read_bytes

    catalog = read_bytes(read_course_file(path, folder, FIXED_LIMIT, "message catalogues", name=str(path),
                                          folder="its templates folder"), path, code)
    for entry in catalog:
        if not entry.id:
            continue  # the header
        english = entry.id[0] if isinstance(entry.id, tuple) else entry.id
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(forms):
            yield english, None, entry.lineno
        elif isinstance(entry.id, tuple):
            yield english, (forms[0], forms[-1]), entry.lineno
        else:
            yield english, forms[0], entry.lineno


def _check_fields(path: Path, message: str, translation: str | tuple[str, str], line: int) -> None:
    """Refuse a message or translation with a field that is not a plain name, or a name the message lacks."""
    try:
        allowed = set(fields(message)) | {"n"}  # a counted message always has its count
        for version in (translation,) if isinstance(translation, str) else translation:
            unknown = [name for name in fields(version) if name not in allowed]
            if unknown:
                raise MessageError(f"field {{{unknown[0]}}} is not a field of the English message")
    except MessageError as exc:
        raise BadInputError(f"{path}, line {line}: {show(message)}: {exc}") from None


_SPEAKING: ContextVar[Catalogue] = ContextVar("speaking", default=Catalogue(LANGUAGES[DEFAULT]))


@contextmanager
def speaking(code: str, folders: Iterable[Path] = ()) -> Iterator[Catalogue]:
    """Write in language ``code`` inside the block (messages from ``folders``, then the built-in ones)."""
    token = _SPEAKING.set(catalogue(code, folders))
    try:
        yield _SPEAKING.get()
    finally:
        _SPEAKING.reset(token)


def current() -> Language:
    """The language being written."""
    return _SPEAKING.get().language


class MessageError(ValueError):
    """A message whose fields are not plain ``{name}`` fields."""


def fields(message: str) -> list[str]:
    """The names of ``message``'s fields, in order; MessageError for any field that is not a plain ``{name}``.

    Python's format fields reach attributes and items (``{x.__globals__}``, ``{x[0]}``): a message from a course's
    catalogue or template would read the builder's memory through them. Messages are data, so only names fill.
    """
    try:
        parsed = list(string.Formatter().parse(message))
    except ValueError as exc:
        raise MessageError(f"malformed field ({exc}); write a literal brace as {{{{ or }}}}") from None
    names = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            whole = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise MessageError(f"field {{{whole}}} is not a plain {{name}} field (no attributes, items, "
                               "conversions or formats)")
        names.append(name)
    return names


def fill(message: str, values: Mapping[str, Any], quote: Callable[[Any], str] = str,
         literal: Callable[[str], str] = str) -> str:
    """``message`` with each ``{name}`` replaced by ``quote(values[name])`` and its text passed through
    ``literal``; only plain name fields, as :func:`fields` checks (the sandbox-safe ``str.format``)."""
    fields(message)
    out = []
    for text, name, _spec, _conversion in string.Formatter().parse(message):
        out.append(literal(text))
        if name is not None:
            if name not in values:
                raise MessageError(f"field {{{name}}} of message {message!r} has no value")
            out.append(quote(values[name]))
    return "".join(out)


def translation(message: str) -> str:
    """``message`` in the current language, its fields left to fill."""
    found = _SPEAKING.get().get(message)
    return found if isinstance(found, str) else message


def _(message: str, **values: Any) -> str:
    """``message`` in the current language, its ``{name}`` fields filled from ``values``."""
    text = translation(message)
    return fill(text, values) if values else text


def plural(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for the count ``n``, translated, its fields left to fill."""
    found = _SPEAKING.get().get(singular)
    forms = found if isinstance(found, tuple) else (singular, plural)
    return forms[0 if Locale.parse(current().locale).plural_form(abs(n)) == "one" else 1]


def ngettext(singular: str, plural_: str, n: int, **values: Any) -> str:
    """The singular or plural message for the count ``n``, translated; ``{n}`` and ``values`` filled in."""
    return fill(plural(singular, plural_, n), {"n": number(n), **values})


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(exponent: int) -> str:
    """``10⁻⁸``: superscript digits, plain text, so that HTML, alt text and figure labels all read it alike."""
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def number(value: Any, grouping: bool = True, power: Callable[[int], str] = power_of_ten) -> str:
    """A value as written in the definitions (all its digits), in the current language: 0,1 and 10.000 in es;
    a float Python writes with an exponent (below 10⁻⁴, from 10¹⁶) as ``10⁻⁸`` or ``2,5 × 10⁻⁵``, its power of
    ten written by ``power``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, float) and "e" in repr(value):
        mantissa, exponent = repr(value).split("e")
        written = power(int(exponent))
        if abs(float(mantissa)) == 1:
            return ("−" if value < 0 else "") + written
        return f"{number(float(mantissa))} × {written}"
    exponent = Decimal(repr(value)).as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0  # 0.0 keeps its decimal, as written
    pattern = ("#,##0" if grouping and abs(value) >= current().group_from else "0") + (
        "." + "0" * decimals if decimals else "")
    return format_decimal(Decimal(repr(value)), format=pattern, locale=current().locale,
                          decimal_quantization=False).replace("-", "−")


def fixed(value: float, decimals: int) -> str:
    """``value`` with exactly ``decimals`` decimals (no thousands separator), in the current language."""
    pattern = "0." + "0" * decimals if decimals > 0 else "0"
    return format_decimal(Decimal(repr(float(value))), format=pattern, locale=current().locale,
                          group_separator=False)


def _written(values: Iterable[Any]) -> list[str]:
    return [number(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v) for v in values]


def _keeping_markup(join: Callable[[Iterable[Any]], str]) -> Callable[[Iterable[Any]], str]:
    """``join`` made markup-aware: when an item is markup (a formatted number with its power of ten, a macro's
    output), the other items are escaped and the result is markup, so a template never double-escapes one."""
    def joined(values: Iterable[Any]) -> str:
        values = list(values)
        if not any(isinstance(v, Markup) for v in values):
            return join(values)
        return Markup(join([v if isinstance(v, Markup) else escape(v) if isinstance(v, str) else v
                            for v in values]))
    joined.__doc__ = join.__doc__
    return joined


def _parting(items: list[str]) -> str:
    """What parts ``items``: a comma, unless an item holds a comma itself (0,1 in Spanish), then a semicolon."""
    return "; " if any("," in item for item in items) else ", "


@_keeping_markup
def listing(values: Iterable[Any]) -> str:
    """Numbers (or words) one after the other (the values of a set or a sweep): ``1, 3, 5`` in every language,
    ``0,1; 0,3`` where the decimal mark is a comma."""
    items = _written(values)
    return _parting(items).join(items)


@_keeping_markup
def conjoined(values: Iterable[Any]) -> str:
    """Numbers or words as a sentence lists them: ``1, 3 and 5`` (Babel's CLDR list patterns), ``1, 3 y 5``;
    ``0,1; 0,3 y 1,0`` where the decimal mark is a comma."""
    from babel.lists import format_list

    items = _written(values)
    if current().code == "es" and len(items) > 1 and re.match(r"(?i)h?i(?!e)", items[-1]):
        # Spanish writes "e", not "y", before a word that starts with the sound i: "ReLU e identidad".
        return _parting(items).join(items[:-1]) + " e " + items[-1]
    if len(items) < 2 or _parting(items) == ", ":
        return format_list(items, locale=current().locale) if items else ""
    last = format_list(["", ""], locale=current().locale)  # the words between the last two items: " y ", " and "
    return "; ".join(items[:-1]) + last.strip(",") + items[-1] if last.startswith(" ") else "; ".join(items)


def long_date(iso: str) -> str:
    """An ISO date as the current language writes it in prose: ``November 29, 2026``, ``29 de noviembre de 2026``."""
    import datetime as _dt

    from babel.dates import format_date

    return format_date(_dt.date.fromisoformat(iso), format="long", locale=current().locale)


@dataclass(frozen=True)
class Text:
    """Text of the definitions in one or more languages: ``"…"`` or ``{en = "…", es = "…"}``."""

    versions: tuple[tuple[str, str], ...]
    """(language code, text) in the order the definition gives them."""
    written: bool = False
    """True when the definition gave a table of languages rather than one string."""

    @classmethod
    def of(cls, value: "str | Mapping[str, str] | Text") -> "Text":
        """A Text from one string (every language) or a table of languages."""
        if isinstance(value, Text):
            return value
        if isinstance(value, str):
            return cls(((DEFAULT, value),))
        return cls(tuple(value.items()), written=True)

    def has(self, code: str) -> bool:
        """Whether this text is given in ``code`` (a single string counts for every language)."""
        return not self.written or code in dict(self.versions)

    def get(self, code: str) -> str:
        """The text in ``code``; else English; else the first language given."""
        versions = dict(self.versions)
        return versions.get(code) or versions.get(DEFAULT) or self.versions[0][1]

    def as_data(self) -> str | dict[str, str]:
        """As the definition wrote it: a string, or a table of languages (what results.json records)."""
        return dict(self.versions) if self.written else self.versions[0][1]

    def __str__(self) -> str:
        return self.get(current().code)

    def __html__(self) -> str:
        # As templates print any text of the definitions: escaped, backslashes included (never typeset).
        return str(escape(str(self))).replace("\\", "&#92;")

    def __bool__(self) -> bool:
        return any(text for _, text in self.versions)


class TextError(ValueError):
    """A text field's problem, pinned to the language key it is about (``title.es``)."""

    def __init__(self, loc: tuple[str, ...], message: str):
        super().__init__(message)
        self.loc = loc


def parse_text(value: Any, required: bool = False) -> Text:
    """A definition's text field: a string, or a table of languages; a ValueError names what is wrong."""
    if isinstance(value, Text):
        return value
    if isinstance(value, str):
        if required and not value:
            raise ValueError("expected a non-empty string, got \"\"")
        return Text.of(value)
    if isinstance(value, dict) and value:
        for code, text in value.items():
            if code not in LANGUAGES:
                raise TextError((code,), f"unknown language {show(code)} (expected {one_of(LANGUAGES)})")
            if not isinstance(text, str) or (required and not text):
                raise TextError((code,), f"expected a{' non-empty' if required else ''} string, got {show(text)}")
        return Text.of(value)
    raise ValueError(f"expected a string or a table of languages such as {{en = \"…\", es = \"…\"}}, "
                     f"got {show(value)}")
