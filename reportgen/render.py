"""The one Jinja environment, its filters, and the passes that number figures, tables and equations."""

from __future__ import annotations

import os
import posixpath
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import jinja2
import jinja2.bccache
import jinja2.ext
import jinja2.nodes
import jinja2.parser
import jinja2.runtime
import jinja2.sandbox
from markupsafe import Markup, escape

from . import language as lang
from .coursefiles import FIXED_LIMIT, parse_toml, read_course_text
from .discover import builtin_templates
from .errors import BadInputError
from .formatting import fmt
from .mathsvg import typeset_math
from .resources import external_references, without_scripts
from .same_data import data_shown_before

BUILTIN_TEMPLATES = builtin_templates()

_FLOAT = re.compile(r'<(figure|table) [^>]*id="((?:fig|tab)-[^"]+)"')
_REF = re.compile(r"\\ref\{([^}]+)\}")
_CITE = re.compile(r"\\cite\{([^}]+)\}")
_NUMBER_SLOT = re.compile(r'<span class="float-number" data-for="([^"]+)"></span>')


def template_dirs(extra: list[Path] | None = None) -> list[Path]:
    """Search path: the user's folders first, then the built-in templates."""
    return [*(extra or []), BUILTIN_TEMPLATES]


def search_path(extra: list[Path] | None = None, language: str = lang.DEFAULT) -> list[Path]:
    """Where templates in ``language`` are looked for: each folder's ``<language>/`` just before the folder.

    A translated template sits beside the one it translates, so a course that
    restyles a study in its own folder keeps its restyling in every language.
    """
    return [path for folder in template_dirs(extra) for path in (folder / language, folder)]


class SolutionExtension(jinja2.ext.Extension):
    """``{% solution %} … {% endsolution %}``: content for the instructor edition only.

    Results, fits, numbers and discussion go inside; the student edition
    renders nothing in their place. One construct, so a template author
    cannot forget a second condition somewhere else.
    """

    tags = {"solution"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        """Parse the block up to ``endsolution``."""
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endsolution",), drop_needle=True)
        call = self.call_method("_render", [jinja2.nodes.ContextReference()])
        return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    @staticmethod
    def _render(context: jinja2.runtime.Context, caller) -> str:
        return caller() if context.get("audience", "instructor") == "instructor" else ""


class ConfinedLoader(jinja2.FileSystemLoader):
    """A file loader that reads no template from outside its folders, whatever a symbolic link says.

    A course folder's ``tpl/notes.j2`` linking to ``~/.ssh/id_rsa`` would otherwise put that file into the
    report of whoever builds the course.
    """

    def get_source(self, environment: jinja2.Environment, template: str):
        """The template's source, read only from a regular file of bounded size inside the search folders."""
        pieces = jinja2.loaders.split_template_path(template)
        for folder in self.searchpath:
            filename = os.path.normpath(posixpath.join(folder, *pieces))
            # Not os.path.isfile, as Jinja asks: a FIFO or a device named like a template is refused, not passed
            # over for the built-in template of that name.
            if os.path.exists(filename) and not os.path.isdir(filename):
                break
        else:
            raise jinja2.TemplateNotFound(template)
        # A link to another search folder is fine (a course may reuse a built-in template); one out of them all
        # is not, nor a FIFO (it would block), /proc/self/mem (it cannot be read) or a gigabyte file.
        source = read_course_text(Path(filename), [Path(folder) for folder in self.searchpath], FIXED_LIMIT,
                                  "templates", name=f"template {template} ({filename})",
                                  folder="the templates folders", encoding=self.encoding)
        mtime = os.path.getmtime(filename)

        def uptodate() -> bool:
            try:
                return os.path.getmtime(filename) == mtime
            except OSError:
                return False

        return source, filename, uptodate


def names(authors: str | list[str]) -> str:
    """``{{ entry.authors | names }}``: a list of names joined as the edition's language joins them (the last
    with its "and"); a string as it is."""
    if isinstance(authors, str) or len(authors) == 1:
        return authors if isinstance(authors, str) else authors[0]
    return f"{', '.join(authors[:-1])} {lang._('and')} {authors[-1]}"


def as_text(value: Any) -> Any:
    """Escape a value for the page, backslashes included, so user text is never read as report markup.

    Math, ``\\ref`` and ``\\cite`` are resolved in the rendered page; a title or a
    definition's source that spelled them would otherwise be typeset, or fail the build.
    Trusted markup (:class:`Markup`, e.g. ``ref()`` and formatted numbers) passes unchanged.
    """
    if isinstance(value, lang.Text):
        value = str(value)  # in the language being written
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return Markup(str(escape(value)).replace("\\", "&#92;"))


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates in memory, by file and source checksum: a process that renders again (``serve``, a build
    of two editions) compiles only the templates whose source changed."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Fill ``bucket`` when this file was compiled before (Jinja checks the source checksum)."""
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Keep what was just compiled."""
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


def translate(message: str, **values: Any) -> Markup:
    """``t("English", name=value)`` in templates: the message in the edition's language, values as text.

    Messages are plain text (escaped, but math and ``\\ref`` in them work, as in templates); values are
    escaped like any other text, so a title passed in is never read as markup.
    """
    return _filled(lang.translation(message), values)


def translate_count(singular: str, plural: str, n: int, **values: Any) -> Markup:
    """``tn("{n} run", "{n} runs", n)`` in templates: the form for the count ``n``, translated."""
    return _filled(lang.plural(singular, plural, n), {"n": lang.number(n), **values})


_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\w)([^*<>]+?)(?<=[\w.])\*(?![\w*])")


def _filled(message: str, values: dict[str, Any]) -> Markup:
    """A message as markup: its text escaped, ``*words*`` in it set in italics (a Latin or foreign term, as a
    translator marks it), its plain ``{name}`` fields filled with values escaped as text."""
    return Markup(lang.fill(message, values, quote=lambda value: str(escape(as_text(value))),
                            literal=lambda text: _EMPHASIS.sub(r"<i>\1</i>", str(escape(text)))))


def _per_language(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose result depends on the language being written: passed the context, so that Jinja never
    folds it into a constant when it compiles a template (compiled templates are shared by every language)."""
    @jinja2.pass_context
    def filtered(context: jinja2.runtime.Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        return function(value, *args, **kwargs)
    filtered.__doc__ = function.__doc__
    return filtered


_HTML_POWER = re.compile(r"<sup>([^<]*)</sup>")
_ESCAPED_POWER = re.compile(r"&lt;sup&gt;(−?[0-9]{1,4})&lt;/sup&gt;")


def table_cell(cell: str | tuple[str, str]) -> Markup:
    """``{{ cell | cell }}``: a table cell escaped as text, but for the powers of ten :func:`fmt` writes; a
    (value, prediction) pair as the value over the prediction."""
    if isinstance(cell, (tuple, list)):
        value, prediction = cell
        return Markup(f'{table_cell(value)}<br><span class="predicted">{table_cell(prediction)}</span>')
    parts = [_ESCAPED_POWER.sub(r"<sup>\1</sup>", str(escape(part))) for part in str(cell).split(" ± ")]
    if len(parts) == 1:
        return Markup(parts[0])
    # A mean and its interval may part between them on a narrow page, never inside either.
    return Markup(" ".join(f'<span class="part">{"± " if i else ""}{part}</span>' for i, part in enumerate(parts)))


def in_math(value: Any) -> str:
    """``{{ value | math }}``: a number written for LaTeX inside ``\\( \\)``, in the current language."""
    text = value if isinstance(value, str) else lang.number(value, grouping=False, power=_latex_power)
    text = _HTML_POWER.sub(r"^{\1}", text)  # what the num filter writes as HTML: 1.23 × 10<sup>5</sup>
    if text.startswith("−"):  # a sign, not a subtraction: ziamath would space a bare minus as a binary operator
        text = "{-}" + text[1:]
    # LaTeX reads a bare comma as punctuation and spaces it; {,} is a decimal comma.
    return text.replace("×", "\\times").replace("−", "-").replace(",", "{,}")


def _latex_power(exponent: int) -> str:
    return f"10^{{{exponent}}}"


GLOBALS = ("range", "namespace")
"""Jinja's default globals that templates may use; ``cycler``, ``joiner`` and ``lipsum`` are dropped."""


def environment(extra: list[Path] | None = None, language: str = lang.DEFAULT) -> jinja2.Environment:
    """The sandboxed Jinja environment every template, built-in or user, is rendered in."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        extensions=[SolutionExtension],
        loader=ConfinedLoader([str(p) for p in search_path(extra, language)]),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=as_text,
        bytecode_cache=_COMPILED,
    )
    env.globals = {name: env.globals[name] for name in GLOBALS}
    filters = {"num": lambda value, digits=3: Markup(fmt(value, digits)), "number": lang.number, "fixed": lang.fixed,
               "listing": lang.listing, "conjoined": lang.conjoined, "long_date": lang.long_date, "names": names,
               "math": in_math, "cell": table_cell}
    env.filters.update({name: _per_language(function) for name, function in filters.items()})
    env.globals["t"] = translate
    env.globals["separator"] = lambda: lang.current().separator  # between the items of a list
    env.globals["tn"] = translate_count
    # A value of the definitions shown in the edition's words where the catalogue has them (sigmoide), else as given:
    # data, never a message with fields to fill.
    env.globals["word"] = lambda value: lang.translation(str(value))
    # \\ref{…} to a figure or table object, so prose never spells out ids that depend on the study's file name.
    env.globals["ref"] = lambda item: Markup(f"\\ref{{{item.id}}}")
    env.globals["data_shown_before"] = data_shown_before
    return env


def load_bibliography(extra: list[Path] | None = None) -> list[dict[str, Any]]:
    """The entries of ``bibliography.toml`` from the template search path, in file order."""
    for folder in template_dirs(extra):
        path = folder / "bibliography.toml"
        # lexists, not is_file: a FIFO or a dangling link named bibliography.toml is refused, not passed over.
        if os.path.lexists(path):
            text = read_course_text(path, folder, FIXED_LIMIT, "bibliographies", name=str(path),
                                    folder="its templates folder")
            table = parse_toml(text, str(path))
            entries = table.get("entry", [])
            _check_entries(path, entries)
            return _grouped(path, entries, table.get("group", []))
    return []


def _grouped(path: Path, entries: list[dict[str, Any]], groups: Any) -> list[dict[str, Any]]:
    """The entries in reading-list order: each ``[[group]]``'s (its ``title`` a heading, per language), then the
    rest; each entry gains ``group``, its heading or None. Citations are numbered in this order."""
    if not isinstance(groups, list) or not all(isinstance(group, dict) for group in groups):
        raise BadInputError(f"{path}: group: expected [[group]] tables, got {groups!r}")
    by_key = {entry["key"]: entry for entry in entries}
    placed: dict[str, str] = {}
    ordered = []
    for i, group in enumerate(groups):
        unknown = sorted(set(group) - {"title", "entries"})
        if unknown:
            raise BadInputError(f"{path}: group[{i}].{unknown[0]}: unknown key (expected 'title', 'entries')")
        try:
            title = lang.parse_text(group.get("title"), required=True)
        except ValueError as exc:
            where = ".".join(("title", *getattr(exc, "loc", ())))
            raise BadInputError(f"{path}: group[{i}].{where}: {exc}") from None
        keys = group.get("entries")
        if not isinstance(keys, list) or not keys or not all(isinstance(key, str) for key in keys):
            raise BadInputError(f"{path}: group[{i}].entries: expected a list of entry keys, got {keys!r}")
        for j, key in enumerate(keys):
            if key not in by_key:
                raise BadInputError(f"{path}: group[{i}].entries[{j}]: no entry has key {key!r}")
            if key in placed:
                raise BadInputError(f"{path}: group[{i}].entries[{j}]: {key!r} is already in group {placed[key]}")
            placed[key] = str(i)
            ordered.append({**by_key[key], "group": title})
    return ordered + [{**entry, "group": None} for entry in entries if entry["key"] not in placed]


BIBLIOGRAPHY_FIELDS = {"key": str, "year": int, "title": str, "venue": str, "url": str}


def _check_entries(path: Path, entries: Any) -> None:
    """Refuse a bibliography whose entries lack a field the references list prints."""
    if not isinstance(entries, list) or not entries:
        raise BadInputError(f"{path}: entry: expected one or more [[entry]] tables, got {entries!r}")
    for i, entry in enumerate(entries):
        authors = entry.get("authors") if isinstance(entry, dict) else None
        if not (isinstance(authors, str) and authors) and not (
                isinstance(authors, list) and authors and all(isinstance(a, str) and a for a in authors)):
            raise BadInputError(f"{path}: entry[{i}].authors: expected a list of names (or one string), "
                                f"got {authors!r}")
        for name, kind in BIBLIOGRAPHY_FIELDS.items():
            if not isinstance(entry.get(name), kind) or isinstance(entry.get(name), bool) or entry.get(name) == "":
                expected = "an integer" if kind is int else "a non-empty string"
                raise BadInputError(f"{path}: entry[{i}].{name}: expected {expected}, got {entry.get(name)!r}")


_UNSAFE_ATTRIBUTES = (jinja2.sandbox.UNSAFE_FUNCTION_ATTRIBUTES | jinja2.sandbox.UNSAFE_METHOD_ATTRIBUTES
                      | {"gi_frame", "gi_code", "cr_frame", "cr_code", "ag_code", "ag_frame", "mro"})


def check_templates(extra: list[Path] | None, entries: list[str], languages: tuple[str, ...] = (lang.DEFAULT,)) -> None:
    """Find and parse every template the report will include in each of ``languages``, before any work; refuse
    unsafe ones.

    Follows ``include``, ``import`` and ``extends`` with literal names from
    ``report.html.j2`` and ``entries`` (the partial of each study kind), and
    reads the bibliography and each language's messages. A
    template that reaches for a private attribute (``__class__``,
    ``__globals__``, …) is refused here, naming its line, rather than left to
    the sandbox to stop mid-render.
    """
    load_bibliography(extra)
    for code in languages:
        lang.catalogue(code, extra or [])
        env = environment(extra, code)
        pending, seen = ["report.html.j2", *entries], set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            with _template_errors(extra):
                source, filename, _ = env.loader.get_source(env, name)
                tree = env.parse(source, name, filename)
            for node in tree.find_all((jinja2.nodes.Include, jinja2.nodes.Import, jinja2.nodes.FromImport,
                                       jinja2.nodes.Extends)):
                if isinstance(node.template, jinja2.nodes.Const) and isinstance(node.template.value, str):
                    pending.append(node.template.value)
            for attribute, line in _reached_attributes(tree):
                if attribute.startswith("_") or attribute in _UNSAFE_ATTRIBUTES:
                    raise BadInputError(f"template {name}, line {line}: attribute '{attribute}' is out of reach: "
                                        "templates are sandboxed and see only the report's data")
            for problem, line in [*_message_problems(tree), *_literal_references(tree)]:
                raise BadInputError(f"template {name}, line {line}: {problem}")


def _message_problems(tree: jinja2.nodes.Template) -> list[tuple[str, int]]:
    """Each message given literally to ``t()`` or ``tn()`` whose fields are not plain ``{name}`` fields."""
    found = []
    for call in tree.find_all(jinja2.nodes.Call):
        if isinstance(call.node, jinja2.nodes.Name) and call.node.name in ("t", "tn"):
            for arg in call.args[:2 if call.node.name == "tn" else 1]:
                if isinstance(arg, jinja2.nodes.Const) and isinstance(arg.value, str):
                    try:
                        lang.fields(arg.value)
                    except lang.MessageError as exc:
                        found.append((f"message {arg.value!r}: {exc}", call.lineno))
    return found


def _literal_references(tree: jinja2.nodes.Template) -> list[tuple[str, int]]:
    """Each reference to a resource outside the page in a template's literal text, with its template line."""
    found = []
    for data in tree.find_all(jinja2.nodes.TemplateData):
        found += [(f"{problem}: the report holds everything it shows (images as data: URIs)",
                   data.lineno + line - 1) for problem, line in external_references(data.data)]
    return found


def _reached_attributes(tree: jinja2.nodes.Template) -> list[tuple[str, int]]:
    """Every attribute name a template spells literally: ``x.name``, ``x["name"]`` and ``x | attr("name")``."""
    found = [(node.attr, node.lineno) for node in tree.find_all(jinja2.nodes.Getattr)]
    for node in tree.find_all(jinja2.nodes.Getitem):
        if isinstance(node.arg, jinja2.nodes.Const) and isinstance(node.arg.value, str):
            found.append((node.arg.value, node.lineno))
    for node in tree.find_all(jinja2.nodes.Filter):
        if node.name == "attr" and node.args and isinstance(node.args[0], jinja2.nodes.Const):
            found.append((str(node.args[0].value), node.lineno))
    return found


def render_html(context: dict[str, Any], extra: list[Path] | None = None, language: str = lang.DEFAULT) -> str:
    """Render ``report.html.j2`` in ``language`` and resolve math, numbering, cross-references and citations."""
    text = render_template(environment(extra, language), context, extra, language)
    references = external_references(without_scripts(text))
    if references:
        problem, line = references[0]
        raise BadInputError(f"report.html, line {line}: {problem}, from a value a template printed "
                            "(the report holds everything it shows: images as data: URIs)")
    text = typeset_math(text)
    text = number_floats(text)
    return cite(text, context.get("bibliography", []))


def render_template(env: jinja2.Environment, context: dict[str, Any], extra: list[Path] | None,
                    language: str = lang.DEFAULT) -> str:
    """``report.html.j2`` rendered in ``env``, as the templates wrote it; an error in any template is one line
    naming it and its line, and the template and line that called it."""
    try:
        with _template_errors(extra):
            return env.get_template("report.html.j2").render(**context)
    except (jinja2.TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
        frames = _template_frames(exc, [folder.resolve() for folder in search_path(extra, language)])
        raise BadInputError(f"{_where(frames)}: {exc.__class__.__name__}: {exc} {_search_path(extra)}") from None


def _search_path(extra: list[Path] | None) -> str:
    return f"(search path: {', '.join(map(str, template_dirs(extra)))})"


@contextmanager
def _template_errors(extra: list[Path] | None) -> Iterator[None]:
    """A syntax error or a missing template as one line naming the template, and where templates are looked for."""
    try:
        yield
    except jinja2.TemplateSyntaxError as exc:
        raise BadInputError(f"template {exc.name or exc.filename}, line {exc.lineno}: {exc.message} "
                            f"{_search_path(extra)}") from None
    except jinja2.TemplateNotFound as exc:
        raise BadInputError(f"template {exc.name} not found {_search_path(extra)}") from None


def _template_frames(exc: BaseException, folders: list[Path]) -> list[tuple[str, int, bool]]:
    """The templates (named as in the search path) and lines an error passed through, outermost first, each
    with whether it was inside a macro."""
    found: list[tuple[str, int, bool]] = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        filename = Path(code.co_filename).resolve()
        for folder in folders:
            if filename.is_relative_to(folder):
                # Jinja names the frames it rewrites by what ran there: a macro's body is neither the top-level
                # code nor a block, and keeps the plain name "template".
                found.append((filename.relative_to(folder).as_posix(), tb.tb_lineno, code.co_name == "template"))
                break
        tb = tb.tb_next
    return found


def _where(frames: list[tuple[str, int, bool]]) -> str:
    """``template T, line N``: the innermost template of an error and, when that is inside a macro, the line of
    another template that called it, so that the author of the call finds it too."""
    if not frames:
        return "template"
    name, line, in_macro = frames[-1]
    caller = next(((other, at) for other, at, _ in reversed(frames) if other != name), None) if in_macro else None
    return f"template {name}, line {line}" + (f" (called from {caller[0]}, line {caller[1]})" if caller else "")


def number_floats(text: str) -> str:
    """Number figures and tables in document order; fill their labels and every ``\\ref{id}``."""
    numbers: dict[str, str] = {}
    counts = {"fig": 0, "tab": 0}
    for _, ident in _FLOAT.findall(text):
        kind = ident[:3]
        if ident not in numbers:
            counts[kind] += 1
            word = lang._("Figure") if kind == "fig" else lang._("Table")  # not in an f-string: extraction reads it
            numbers[ident] = f"{word} {counts[kind]}"
    text = _NUMBER_SLOT.sub(lambda m: numbers.get(m.group(1), ""), text)

    def reference(match: re.Match) -> str:
        ident = match.group(1)
        if ident not in numbers:
            raise BadInputError(f"\\ref{{{ident}}} refers to no figure or table in the report")
        return f'<a class="xref" href="#{ident}">{numbers[ident]}</a>'

    return _REF.sub(reference, text)


def cite(text: str, bibliography: list[dict[str, Any]]) -> str:
    """Replace ``\\cite{key,key}`` with numbered links into the bibliography."""
    order = {entry["key"]: i + 1 for i, entry in enumerate(bibliography)}

    def replace(match: re.Match) -> str:
        links = []
        for key in (k.strip() for k in match.group(1).split(",")):
            if key not in order:
                raise BadInputError(f"\\cite{{{key}}} names no entry of bibliography.toml")
            links.append(f'<a class="cite" href="#ref-{key}">{order[key]}</a>')
        return "[" + ", ".join(links) + "]"  # citation numbers are whole: a comma parts them in every language

    return _CITE.sub(replace, text)
