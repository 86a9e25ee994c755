"""Small text helpers for messages: values as TOML spells them, suggestions, articles."""

from __future__ import annotations

import datetime as _dt
import difflib
import json
from typing import Any


def did_you_mean(name: str, options) -> str:
    """`` (did you mean 'degree'?)`` for the closest of ``options``, or nothing when none is close."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def one_of(options) -> str:
    """Options quoted and comma-separated: 'a', 'b', 'c'."""
    return ", ".join(f"'{o}'" for o in options)


def article(word: str) -> str:
    """The indefinite article for ``word``."""
    return "an" if word[:1] in "aeiou" else "a"


def lower_first(text: str) -> str:
    """``text`` with its first letter in lower case (for a message continued after a colon)."""
    return text[:1].lower() + text[1:]


def show_number(value: Any) -> str:
    """A bound as a person writes it: 0 rather than 0.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return show(value)


def show(value: Any) -> str:
    """A value as it would be written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # TOML's basic strings escape like JSON
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (_dt.date, _dt.time)):  # also datetime, a date subclass
        return value.isoformat()
    return str(value)
