"""Overrides of definition fields: named profiles in ``course.toml`` and ``--set`` on the command line.

An override is ``[study.]section.field = value``. With a study id in front it
changes that study only; without one it changes every study that has the
field (``train.steps`` reaches the regression studies, not the prior one).
``sweep.<field>`` and ``sweep.seeds`` replace a sweep list. Overridden files
are then validated like any other, and a problem with an overridden value
names the override, not the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

from .coursefiles import check_document
from .language import Text, parse_text


@dataclass(frozen=True)
class Override:
    """One field set from outside its definition file."""

    source: str
    """Where the override was given, for messages: ``--set overfitting.train.steps=100``."""
    study: str | None
    """The study it targets, or None for every study that has the field."""
    path: str
    """Dotted key inside the study file, e.g. ``train.steps`` or ``sweep.seeds``."""
    value: Any


def parse_assignment(text: str, study_ids: set[str]) -> Override:
    """Parse ``--set [study.]key=value``; the value is read as TOML, or taken as a plain string."""
    source = f"--set {text}"
    key, sep, raw_value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"{source}: expected [study.]section.field=value")
    try:
        value = tomllib.loads(f"value = {raw_value.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw_value.strip()  # e.g. --set overfitting.data.target=x*cos(x)
    except (RecursionError, ValueError):  # nested past tomllib's stack, or an integer of thousands of digits
        raise ValueError(f"{source}: value is nested too deeply or too long to read") from None
    check_document({"value": value}, source)
    return from_key(source, key, value, study_ids)


def from_key(source: str, key: str, value: Any, study_ids: set[str]) -> Override:
    """An override from a dotted key whose first part may name a study."""
    head, _, rest = key.partition(".")
    if head in study_ids and rest:
        return Override(source=source, study=head, path=rest, value=as_tuples(value))
    return Override(source=source, study=None, path=key, value=as_tuples(value))


def profile_overrides(name: str, table: dict[str, Any], study_ids: set[str]) -> tuple[Text, list[Override]]:
    """A profile's description (text, per language if a table) and its overrides, from ``[profiles.<name>]``
    of course.toml; a ValueError when the description is neither a string nor a table of languages."""
    description = parse_text(table.get("description", ""))
    overrides = []
    for key, value in flatten({k: v for k, v in table.items() if k != "description"}).items():
        overrides.append(from_key(f"course.toml: profiles.{name}.{key}", key, value, study_ids))
    return description, overrides


def apply(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of a study file's table with the field at ``path`` replaced (``sweep.*`` replaces a sweep list)."""
    if path.startswith("sweep."):
        sweep = raw.get("sweep", {})
        flat = flatten(sweep) if isinstance(sweep, dict) else {}
        return raw | {"sweep": flat | {path[len("sweep."):]: value}}
    return set_path(raw, path, value)


def set_path(raw: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of a nested table with the value at ``dotted`` replaced, creating tables on the way."""
    head, _, rest = dotted.partition(".")
    if not rest:
        return raw | {head: value}
    inner = raw.get(head, {})
    return raw | {head: set_path(inner if isinstance(inner, dict) else {}, rest, value)}


def flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """A nested table as one level of dotted keys: ``{"model": {"degree": 3}}`` -> ``{"model.degree": 3}``."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def as_tuples(value: Any) -> Any:
    """TOML arrays as tuples, at any depth, so that strict tuple fields accept them and models stay hashable."""
    if isinstance(value, dict):
        return {k: as_tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(as_tuples(v) for v in value)
    return value
