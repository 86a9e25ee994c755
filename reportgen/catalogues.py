"""The report's words as gettext catalogues: extract them, update the translations, say how complete they are.

The built-in templates and the analyses write English through ``t()`` / ``tn()`` (templates) and ``_()`` /
``ngettext()`` (code). Babel extracts those messages into ``locale/messages.pot``; each language's translations
live in ``locale/<code>/LC_MESSAGES/messages.po``, the files Poedit, Weblate and every translator know. Updating
a ``.po`` from a new ``.pot`` marks a message whose English changed *fuzzy* (Babel's fuzzy matching), and a
fuzzy or missing translation shows in English, with a warning.

A templates folder of a course or a plug-in kind keeps its own ``locale/`` the same way; its messages come
before the built-in ones.
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInputError

DOMAIN = "messages"
TEMPLATE_KEYWORDS = {"t": None, "tn": (1, 2)}
"""The message functions of the templates (see :func:`reportgen.render.translate`)."""
CODE_KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}
"""The message functions of the analyses (see :mod:`reportgen.language`)."""
FIXED_DATE = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
"""Stamped as the catalogues' dates, so extracting twice writes the same bytes."""
PROJECT = "reportgen"
PLURAL_FORMS = {"es": "nplurals=2; plural=(n != 1);"}
"""gettext's two forms, as translators' tools expect them (Babel would give CLDR's third, for millions, in es)."""
HEADER = ("# {language} translations of the reports reportgen writes.\n"
          "# Update with `reportgen translations update`; see the README, \"Translating the report\".")


def locale_folder(templates: Path) -> Path:
    """Where a templates folder keeps its catalogues."""
    return templates / "locale"


def builtin_locale() -> Path:
    """The built-in catalogues, inside the package."""
    return Path(__file__).resolve().parent / "locale"


def po_path(locale: Path, code: str) -> Path:
    """The ``.po`` file of language ``code`` under ``locale``."""
    return locale / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(templates: Path, code: Path | None = None):
    """Every message of the templates under ``templates`` (and of the Python code under ``code``), as a Babel
    catalogue template: one entry per message, with where it is used."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project=PROJECT, creation_date=FIXED_DATE, revision_date=FIXED_DATE, fuzzy=False)
    # The stylesheet and the explorers' script are templates too (report.css writes "page X of Y" through t()).
    jinja = {"extensions": "reportgen.render.SolutionExtension"}
    sources = [(templates, [("**.j2", "jinja2"), ("**.css", "jinja2"), ("**.js", "jinja2")], TEMPLATE_KEYWORDS,
                {"**.j2": jinja, "**.css": jinja, "**.js": jinja})]
    if code is not None:
        sources.append((code, [("**.py", "python")], CODE_KEYWORDS, {}))
    for folder, method_map, keywords, options in sources:
        for filename, lineno, message, comments, context in extract_from_dir(
                str(folder), method_map=method_map, options_map=options, keywords=keywords):
            if not message or (isinstance(message, tuple) and not all(message)):
                continue
            location = (f"{folder.name}/{filename}", lineno)
            catalog.add(message, None, [location], auto_comments=comments, context=context)
    return catalog


def write(catalog, path: Path) -> None:
    """Write ``catalog`` as a ``.pot`` or ``.po`` file at ``path``, the same bytes for the same messages."""
    from babel.messages.pofile import write_po

    from .cache import atomic_write

    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, include_lineno=False, ignore_obsolete=True)
    atomic_write(path, buffer.getvalue())


def read(path: Path, locale: str | None = None):
    """The catalogue in the ``.po`` or ``.pot`` file at ``path`` (a file of the project's own)."""
    return read_bytes(path.read_bytes(), path, locale)


def read_bytes(data: bytes, path: Path, locale: str | None = None):
    """The catalogue in ``data``, read from ``path``; a broken one is bad input, in one line."""
    from babel.messages.pofile import PoFileError, read_po

    try:
        return read_po(io.BytesIO(data), locale=locale, abort_invalid=True)
    except (PoFileError, ValueError, UnicodeDecodeError, IndexError) as exc:
        raise BadInputError(f"{path}: invalid message catalogue ({exc.__class__.__name__}: {exc})") from None


@dataclass(frozen=True)
class Status:
    """How complete one language's catalogue is against its template."""

    path: Path
    total: int
    translated: int
    fuzzy: int
    missing: int

    @property
    def complete(self) -> bool:
        """Every message translated, none fuzzy."""
        return self.translated == self.total

    def line(self) -> str:
        """One line for the terminal."""
        share = 100 * self.translated / self.total if self.total else 100.0
        return (f"{self.path}: {self.translated} of {self.total} messages translated ({share:.0f} %), "
                f"{self.fuzzy} fuzzy, {self.missing} missing")


def status(template, po_file: Path, code: str) -> Status:
    """Count the messages of ``template`` that ``po_file`` translates, marks fuzzy, or lacks."""
    translations = read(po_file, code) if po_file.is_file() else None
    translated = fuzzy = 0
    for message in template:
        if not message.id:
            continue
        found = translations.get(message.id) if translations is not None else None
        if found is None or not _filled(found.string):
            continue
        if found.fuzzy:
            fuzzy += 1
        else:
            translated += 1
    total = sum(1 for message in template if message.id)
    return Status(po_file, total, translated, fuzzy, total - translated - fuzzy)


def own_messages(template, code: str):
    """``template`` less the messages the built-in catalogue of ``code`` already translates: what a templates
    folder of a course or plug-in must translate itself (its catalogue comes first, the built-in one after)."""
    builtin = po_path(builtin_locale(), code)
    known = read(builtin, code) if builtin.is_file() else None
    if known is None:
        return template
    for message in list(template):
        found = known.get(message.id) if message.id else None
        if found is not None and not found.fuzzy and _filled(found.string):
            template.delete(message.id, message.context)
    return template


def update(templates: Path, code: Path | None, locale: Path, languages: tuple[str, ...],
           builtin: bool = True) -> list[Status]:
    """Extract ``messages.pot`` anew and bring every language's ``.po`` up to it (changed English: fuzzy).

    For a templates folder other than the built-in one (``builtin`` false), each language's catalogue holds only
    the messages the built-in catalogue does not translate."""
    template = extract(templates, code)
    write(template, locale / f"{DOMAIN}.pot")
    statuses = []
    for code_ in languages:
        path = po_path(locale, code_)
        wanted = template if builtin else own_messages(extract(templates, code), code_)
        if path.is_file():
            catalog = read(path, code_)
        else:
            catalog = new_catalog(code_)
        catalog.update(wanted, no_fuzzy_matching=False, update_header_comment=False)
        catalog.revision_date = FIXED_DATE
        catalog.fuzzy = False
        write(catalog, path)
        statuses.append(status(wanted, path, code_))
    return statuses


def new_catalog(code: str):
    """An empty catalogue for language ``code``, with the header and plural forms translators expect."""
    from babel import Locale
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale=code, project=PROJECT, creation_date=FIXED_DATE, revision_date=FIXED_DATE, fuzzy=False,
                      header_comment=HEADER.format(language=Locale.parse(code).english_name))
    if code in PLURAL_FORMS:
        catalog.mime_headers = [(name, PLURAL_FORMS[code] if name == "Plural-Forms" else value)
                                for name, value in catalog.mime_headers]
    return catalog


def _filled(string) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)
