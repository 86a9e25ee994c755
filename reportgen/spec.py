"""Definition files -> frozen, validated models.

``experiments/course.toml`` names the course and the order of its studies;
every other ``experiments/*.toml`` defines one study. Validation collects
every problem in every file and raises one :class:`SpecError` listing them
all, each as ``experiments/x.toml: sweep.model.degree[2]: expected an
integer >= 1, got 0``.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from . import kinds
from .coursefiles import parse_toml, read_course_text
from .errors import BadInputError, SpecError
from .language import Text
from .limits import Limits
from .messages import article, did_you_mean, lower_first, one_of, show, show_number
from .model import Course, Point, Study
from .overrides import Override, apply, as_tuples, flatten, parse_assignment, profile_overrides, set_path
from .schema import _MODEL_TAGS, CourseFile, StudyFields

# --------------------------------------------------------------------------- loading


def load_course(root: str | os.PathLike, profile: str | None = None, assignments: tuple[str, ...] = (),
                limits: Limits = Limits()) -> Course:
    """Read and validate ``root/course.toml`` and every study file; raise SpecError listing all problems.

    ``profile`` names a ``[profiles.<name>]`` table of course.toml and
    ``assignments`` are ``--set [study.]key=value`` strings; both override
    fields of the study files before they are validated. ``limits`` given on
    the command line take precedence over course.toml's.
    """
    root = Path(root)
    if not root.is_dir():
        raise SpecError([f"{root}: definitions folder not found"])
    problems: list[str] = []
    course_path = root / "course.toml"
    known_files = {p.stem for p in root.glob("*.toml")} - {"course"}
    # course.toml itself is read under the command line's limits and the defaults; the studies under its own too.
    course_file = _load_course_file(course_path, known_files, problems, limits.merged(None))
    limits = limits.merged(course_file)
    description, overrides = _overrides(course_file, profile, assignments, known_files, problems)
    used: set[Override] = set()
    studies: dict[str, Study] = {}
    for path in sorted(root.glob("*.toml")):
        if path.name == "course.toml":
            continue
        raw = _read_toml(path, problems, limits)
        if raw is not None:
            study = _validate_overridden(path, raw, overrides, used, problems, limits)
            if study is not None:
                studies[study.id] = study
    for override in overrides:
        if override not in used:
            where = f"study '{override.study}'" if override.study else "any study"
            every = set().union(*(_override_paths(kinds.get(name).schema) for name in kinds.names()))
            problems.append(f"{override.source}: {override.path}: no such field in {where}"
                            f"{did_you_mean(override.path, every)}")
    if problems or course_file is None:
        # A study-less override with a bad value fails the same way in every study it reaches: say it once.
        raise SpecError(list(dict.fromkeys(problems)))
    order = course_file.studies if course_file.studies is not None else tuple(sorted(studies))
    unlisted = sorted(set(studies) - set(order))
    return Course(
        title=course_file.title,
        subtitle=course_file.subtitle,
        authors=course_file.authors,
        date=_course_date(course_file.date),
        studies=tuple(studies[i] for i in order),
        root=root,
        audience=course_file.audience,
        languages=course_file.chosen_languages,
        templates=(root / course_file.templates) if course_file.templates else None,
        profile=profile,
        profile_description=description,
        overrides=tuple(o.source for o in overrides),
        warnings=tuple(f"{display_path(root / (i + '.toml'))}: not listed in course.toml studies, so not built"
                       for i in unlisted),
    )


def _overrides(course_file: "CourseFile | None", profile: str | None, assignments: tuple[str, ...],
               study_ids: set[str], problems: list[str]) -> tuple[Text, list[Override]]:
    """The overrides of the chosen profile followed by those of ``--set``."""
    description, overrides = Text.of(""), []
    if profile is not None and course_file is not None:
        if profile not in course_file.profiles:
            known = sorted(course_file.profiles)
            problems.append(f"--profile {profile}: course.toml defines no such profile "
                            f"({one_of(known) or 'it defines none'}){did_you_mean(profile, known)}")
        else:
            try:
                description, overrides = profile_overrides(profile, course_file.profiles[profile], study_ids)
            except ValueError as exc:
                where = ".".join(("description", *getattr(exc, "loc", ())))
                problems.append(f"course.toml: profiles.{profile}.{where}: {exc}")
    for text in assignments:
        try:
            overrides.append(parse_assignment(text, study_ids))
        except ValueError as exc:
            problems.append(str(exc))
    return description, overrides


def _validate_overridden(path: Path, raw: dict, overrides: list[Override], used: set[Override],
                         problems: list[str], limits: Limits) -> "Study | None":
    """Apply the overrides that reach this study, validate it, and blame problems on their overrides."""
    kind = kinds.find(raw["kind"]) if isinstance(raw.get("kind"), str) else None
    fields = _override_paths(kind.schema) if kind is not None else set()
    applied = []
    for override in overrides:
        if override.study not in (None, path.stem):
            continue
        if override.path not in fields:
            if override.study is not None:
                used.add(override)  # reported here, with a suggestion, rather than as unmatched
                problems.append(f"{override.source}: {override.path}: no such field in {path.stem}.toml"
                                f"{did_you_mean(override.path, fields)}")
            continue
        raw = apply(raw, override.path, override.value)
        used.add(override)
        applied.append(override)
    before = len(problems)
    study = _validate_study(path, raw, problems, limits)
    where = display_path(path)
    for i in range(before, len(problems)):
        for override in applied:
            for lead in (f"{where}: {override.path}:", f"{where}: {override.path}[", f"{where}: {override.path}."):
                if problems[i].startswith(lead):
                    problems[i] = f"{override.source}: {problems[i][len(where) + 2:]}"
    return study


def _override_paths(schema: type[BaseModel]) -> set[str]:
    """Every dotted key an override may set in a study of this schema."""
    leaves = _leaf_paths(schema)
    return {"title", "summary", *leaves, "sweep.seeds", *(f"sweep.{leaf}" for leaf in leaves)}


def _load_course_file(path: Path, known_files: set[str], problems: list[str], limits: Limits) -> CourseFile | None:
    """Validate course.toml, including that it names existing study files, each once."""
    where = display_path(path)
    raw = _read_toml(path, problems, limits)
    if raw is None:
        return None
    raw.pop("__source__")
    course_file, found = _validate(CourseFile, raw)
    problems.extend(f"{where}: {key}: {message}" for key, message in found)
    if course_file is None:
        return None
    if course_file.studies is None:
        if not known_files:
            problems.append(f"{where}: studies: expected at least one study file beside course.toml, got none")
        return course_file
    if not course_file.studies:
        problems.append(f"{where}: studies: expected at least one study, got []")
    seen: set[str] = set()
    for i, study_id in enumerate(course_file.studies):
        if study_id in seen:
            problems.append(f"{where}: studies[{i}]: expected distinct study ids, got {show(study_id)} again")
        elif study_id not in known_files:
            options = one_of(sorted(known_files)) or "none found"
            problems.append(f"{where}: studies[{i}]: expected a study file beside course.toml ({options}), "
                            f"got {show(study_id)}: no file {study_id}.toml{did_you_mean(study_id, known_files)}")
        seen.add(study_id)
    return course_file


def _course_date(value: str | _dt.date | None) -> str:
    epoch = source_date_epoch()  # checked even for a dated course: the PDF's timestamps read it too
    if isinstance(value, _dt.date):
        return value.isoformat()
    if value:
        return value
    if epoch is not None:
        return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).date().isoformat()
    return ""


LAST_EPOCH = 253_402_300_799
"""9999-12-31 23:59:59 UTC: the last second a date with a four-digit year can name."""


def source_date_epoch() -> int | None:
    """SOURCE_DATE_EPOCH in seconds, None when unset or empty; any other value that is not a whole number of
    seconds since 1970 is bad input, as reproducible-builds.org asks, not a date silently taken from elsewhere."""
    text = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > LAST_EPOCH:
        raise BadInputError(f"SOURCE_DATE_EPOCH: expected a whole number of seconds since 1970, got {text!r}")
    return int(text)


def display_path(path: Path) -> str:
    """A path as the user should read it: relative to the working folder when possible."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_toml(path: Path, problems: list[str], limits: Limits) -> dict | None:
    """One definition file as a table (with its text under ``__source__``); None with the problem recorded."""
    where = display_path(path)
    try:
        # The provenance appendix prints every definition: a link out of the course would publish its target.
        text = read_course_text(path, path.parent, limits, "definitions", name=where, folder="the definitions folder")
        raw = parse_toml(text, where)
    except BadInputError as exc:
        problems.append(exc.message)
        return None
    return as_tuples(raw) | {"__source__": text}


MAX_ID = 64
"""Longest study id: it names files (the result store's index), anchors and figure references in the report."""


def _usable_id(stem: str) -> bool:
    # Others fail only after the training: a quote or '<' breaks the report's figure references, a long name the
    # store's file names; a dot makes --set STUDY.KEY ambiguous and a leading '-' reads as an option.
    return 0 < len(stem) <= MAX_ID and not stem.startswith("-") and all(c.isalnum() or c in "_-" for c in stem)


def _validate_study(path: Path, raw: dict, problems: list[str], limits: Limits) -> Study | None:
    """Validate one study file and expand its sweep; on any problem, record it and return None."""
    where = display_path(path)
    source = raw.pop("__source__")
    if not _usable_id(path.stem):
        problems.append(f"{where}: the file's name is the study's id, {show(path.stem)}: expected at most "
                        f"{MAX_ID} letters, digits, '_' and '-', not starting with '-'")
        return None
    name = raw.get("kind")
    installed = kinds.names()
    if name is None:
        problems.append(f"{where}: kind: required key is missing (one of the installed kinds {one_of(installed)})")
        return None
    kind = kinds.find(name) if isinstance(name, str) else None
    if kind is None:
        problems.append(f"{where}: kind: expected one of the installed kinds {one_of(installed)}, got {show(name)}"
                        f"{did_you_mean(str(name), installed)}")
        return None
    schema = kind.schema
    before = len(problems)
    raw, model_ok = _with_model_kind(raw, schema, name, where, problems)
    sweep_raw = raw.get("sweep", {})
    base_raw = {k: v for k, v in raw.items() if k != "sweep"}
    base, found = _validate(schema, base_raw)
    problems.extend(f"{where}: {key}: {message}" for key, message in found)
    axes: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    seeds: tuple[int, ...] = (0,)
    if not isinstance(sweep_raw, dict):
        problems.append(f"{where}: sweep: expected a table, got {show(sweep_raw)}")
    elif (too_many := limits.runs_problem(*_sweep_size(sweep_raw))) is not None:
        # Counted before a single value is checked: a billion-run sweep is refused, not expanded.
        problems.append(f"{where}: sweep: {too_many}")
    elif model_ok:  # without a usable model every swept value would repeat the model's problem
        axes, seeds = _validate_sweep(schema, base_raw, sweep_raw, set(found), where, problems)
    if base is None or len(problems) > before:
        return None
    points = _expand(schema, base_raw, axes, where, problems)
    if len(problems) > before:
        return None
    too_big = _memory_problem(kind, points, len(seeds), limits)
    if too_big:
        problems.append(f"{where}: {too_big}")
        return None
    return Study(id=path.stem, path=where, kind=name, title=base.title, summary=base.summary, base=base,
                 axes=axes, seeds=seeds, points=points, source=source, template=kind.template)


def _memory_problem(kind, points: tuple["Point", ...], seeds: int, limits: Limits) -> str | None:
    """Why the study's estimated memory is refused, or None: runs computed together add up."""
    estimates = [point.config.memory_estimate() for point in points]
    if kind.batched:
        return limits.memory_problem(sum(estimates) * seeds, f"computing its {len(points) * seeds:,} runs together")
    largest = max(range(len(points)), key=estimates.__getitem__)
    shown = ", ".join(f"{k} = {show(v)}" for k, v in points[largest].params) or "its configuration"
    return limits.memory_problem(estimates[largest], f"computing its largest run ({shown})")


def _with_model_kind(raw: dict, schema: type[BaseModel], kind: str, where: str,
                     problems: list[str]) -> tuple[dict, bool]:
    """Default ``model.kind`` from the model the kind's schema names, and insist it matches.

    Returns the study with its model kind filled in, and whether the model can be trusted. A wrong or
    malformed model is reported here and replaced by a stand-in, so the rest of the file is still checked.
    """
    model = raw.get("model")
    expected = _model_tag(schema)
    if expected is None:
        return raw, True  # the kind has no single model kind to insist on
    if model is None:
        # A required table is reported by pydantic; a default one leaves the sweep as trustworthy as the rest.
        return raw, not schema.model_fields["model"].is_required()
    if not isinstance(model, dict):
        problems.append(f"{where}: model: expected a table, got {show(model)}")
        return raw | {"model": {"kind": expected}}, False
    given = model.get("kind", expected)
    if given != expected:
        problems.append(f"{where}: model.kind: expected '{expected}' for {article(kind)} {kind} study, "
                        f"got {show(given)}")
        return raw | {"model": {"kind": expected}}, False
    return raw | {"model": model | {"kind": expected}}, True


def _model_tag(schema: type[BaseModel]) -> str | None:
    """The ``kind`` tag of the one model class a schema's ``model`` field takes, if it takes exactly one."""
    field = schema.model_fields.get("model")
    model = _unwrap(field.annotation) if field is not None else None
    if not (isinstance(model, type) and issubclass(model, BaseModel) and "kind" in model.model_fields):
        return None
    tags = [tag for tag in get_args(model.model_fields["kind"].annotation) if isinstance(tag, str)]
    return tags[0] if len(tags) == 1 else None


def _validate(schema: type[BaseModel], raw: dict) -> tuple[Any, list[tuple[str, str]]]:
    """Validate ``raw``; return the model (None if invalid) and every problem as (dotted key, message)."""
    try:
        return schema.model_validate(raw), []
    except ValidationError as exc:
        return None, [_problem(error, schema) for error in exc.errors()]


def _problem(error: dict, schema: type[BaseModel]) -> tuple[str, str]:
    """One pydantic error as (dotted key, message), placed at the key a cross-field check names."""
    cause = (error.get("ctx") or {}).get("error")
    loc = tuple(error["loc"]) + tuple(getattr(cause, "loc", ()))
    return _dotted(loc), _explain(error | {"loc": loc}, schema)


def _validate_sweep(schema, base_raw, sweep_raw, known, where, problems):
    """Check every swept key and value; return the axes and the seeds.

    ``known`` holds the problems already reported for the file's own values: a swept value that leaves
    them in place must not report them again, once per value.
    """
    flat = flatten(sweep_raw)
    seeds: tuple[int, ...] = (0,)
    axes = []
    sweepable = _leaf_paths(schema)
    for key, values in flat.items():
        loc = f"sweep.{key}"
        if not isinstance(values, tuple):
            problems.append(f"{where}: {loc}: expected a list of values, got {show(values)}")
            continue
        if not values:
            problems.append(f"{where}: {loc}: expected a non-empty list, got []")
            continue
        if key == "seeds":
            bad = [(i, v) for i, v in enumerate(values) if isinstance(v, bool) or not isinstance(v, int) or v < 0]
            for i, v in bad:
                problems.append(f"{where}: {loc}[{i}]: expected an integer >= 0, got {show(v)}")
            if len(set(values)) != len(values):
                problems.append(f"{where}: {loc}: expected distinct seeds, got {show(values)}")
            seeds = values
            continue
        if key not in sweepable:
            problems.append(f"{where}: {loc}: unknown field '{key}'{did_you_mean(key, [*sweepable, 'seeds'])}")
            continue
        repeated = _first_repeat(values)
        if repeated is not None:
            problems.append(f"{where}: {loc}[{repeated}]: expected distinct values, got {show(values[repeated])} "
                            f"again in {show(values)}")
        for i, value in enumerate(values):
            _, found = _validate(schema, set_path(base_raw, key, value))
            for inner, message in found:
                if inner == key or inner.startswith(key + "["):
                    problems.append(f"{where}: {loc}[{i}]: {message}")
                elif (inner, message) not in known:
                    # The value is fine on its own but breaks another key (data.points vs data.removed).
                    problems.append(f"{where}: {loc}[{i}] = {show(value)}: {inner}: {message}")
        axes.append((key, values))
    return tuple(axes), tuple(seeds)


def _sweep_size(sweep_raw: dict) -> tuple[list[tuple[str, int]], int]:
    """The length of each swept list and the number of seeds, read without validating or expanding."""
    lengths = [(key, len(values)) for key, values in flatten(sweep_raw).items()
               if isinstance(values, tuple) and key != "seeds"]
    seeds = sweep_raw.get("seeds")
    return lengths, len(seeds) if isinstance(seeds, tuple) and seeds else 1


def _first_repeat(values: tuple) -> int | None:
    """Index of the first value equal to an earlier one (0 and 0.0 are equal; True and 1 are not)."""
    seen = set()
    for i, value in enumerate(values):
        key = (type(value) is bool, value)
        if key in seen:
            return i
        seen.add(key)
    return None


def _expand(schema, base_raw, axes, where, problems) -> tuple[Point, ...]:
    """Cartesian product of the axes, each point validated as a whole."""
    keys = [k for k, _ in axes]
    points = []
    for combo in itertools.product(*(values for _, values in axes)):
        raw = base_raw
        for key, value in zip(keys, combo):
            raw = set_path(raw, key, value)
        config, found = _validate(schema, raw)
        if config is None:
            shown = ", ".join(f"{k} = {show(v)}" for k, v in zip(keys, combo))
            problems.extend(f"{where}: sweep ({shown}): {key}: {message}" for key, message in found)
            continue
        points.append(Point(params=tuple(zip(keys, combo)), config=config))
    return tuple(points)


def _leaf_paths(schema: type[BaseModel]) -> list[str]:
    """Dotted paths of every field a sweep may vary."""
    paths = []
    for name, field in schema.model_fields.items():
        if name in StudyFields.model_fields:
            continue
        sub = _submodel(field.annotation)
        if sub is None:
            paths.append(name)
        else:
            paths.extend(f"{name}.{p}" for p in sub.model_fields if p != "kind")
    return paths


def _submodel(annotation) -> type[BaseModel] | None:
    candidates = [annotation, *getattr(annotation, "__args__", ())]
    for c in candidates:
        if isinstance(c, type) and issubclass(c, BaseModel):
            return c
        for inner in getattr(c, "__args__", ()):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _annotation_at(schema: type[BaseModel], loc: tuple) -> Any:
    """The declared type of the key at ``loc`` (a pydantic error location), or None if it cannot be followed."""
    current: Any = schema
    for item in loc:
        current = _unwrap(current)
        if isinstance(item, int):
            args = get_args(current)
            if get_origin(current) is not tuple or not args:
                return None
            current = args[0] if args[-1] is Ellipsis else args[min(item, len(args) - 1)]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(item))
            if field is None:
                return None
            current = field.annotation
        elif item in _MODEL_TAGS:  # pydantic names the member of the model union it tried
            current = _MODEL_TAGS[item]
        else:
            return None
    return _unwrap(current)


def _unwrap(annotation: Any) -> Any:
    """``Annotated[int, ...]`` -> ``int`` and ``X | None`` -> ``X``."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    members = [a for a in get_args(annotation) if a is not type(None)]
    if type(None) in get_args(annotation) and len(members) == 1:
        return _unwrap(members[0])
    return annotation


# --------------------------------------------------------------------------- messages


def _dotted(loc: tuple) -> str:
    """A pydantic location as the key path the user wrote: ``sweep.model.degree[2]``."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        elif item in _MODEL_TAGS and parts and parts[-1] == "model":
            continue  # pydantic names the union member; the user only wrote `model`
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def _explain(error: dict, schema: type[BaseModel]) -> str:
    """One pydantic error as the user should read it: what was expected, and what was given."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    annotation = _annotation_at(schema, error["loc"])
    if kind == "missing":
        return "required table is missing" if _submodel(annotation) else "required key is missing"
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        return f"unknown key '{name}'{did_you_mean(name, _siblings(schema, error['loc']))}"
    if kind in _BOUNDS:
        limit = next(iter(ctx.values()))
        # The noun follows the declared type: noise = -1 is a bad number, not a bad integer.
        noun = "an integer" if annotation is int else "a number"
        return f"expected {noun} {_BOUNDS[kind]} {show_number(limit)}, got {show(given)}"
    if kind == "finite_number":
        return f"expected a finite number, got {show(given)}"
    if kind in ("int_type", "int_from_float"):
        return f"expected an integer, got {show(given)}"
    if kind == "float_type":
        return f"expected a number, got {show(given)}"
    if kind == "string_type":
        return f"expected a string, got {show(given)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {show(given)}"
    if kind == "string_too_short":
        return f"expected a non-empty string, got {show(given)}"
    if kind in ("too_short", "too_long"):
        expected = ctx.get("min_length", ctx.get("max_length"))
        return f"expected a list of {expected} values, got {show(given)}"
    if kind == "literal_error":
        options = [o for o in get_args(annotation) if isinstance(o, str)] if get_origin(annotation) is Literal else []
        hint = did_you_mean(given, options) if isinstance(given, str) else ""
        return f"expected {ctx.get('expected', '')}, got {show(given)}{hint}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a table, got {show(given)}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{lower_first(error['msg'])}, got {show(given)}"


def _siblings(schema: type[BaseModel], loc: tuple) -> list[str]:
    """Field names next to the unknown key at ``loc``, for the did-you-mean."""
    model = _annotation_at(schema, loc[:-1])
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    names = [name for name in model.model_fields if name != "kind"]
    if model is schema and "kind" in schema.model_fields:
        names.append("sweep")  # a study's sweep table is read before pydantic sees the file
    return names
