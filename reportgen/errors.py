"""The one exception tree of reportgen.

Every error a user can cause derives from :class:`ReportgenError`, a
``click.ClickException``, so the command line prints one clean line and exits
with the documented status instead of a traceback.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import click

# Control characters (Unicode category Cc: C0, DEL, C1) and the bidirectional overrides and isolates: text that
# can move the cursor, clear the screen, retitle the window or reorder what a line seems to say.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character and bidi override spelled as an escape (``\\x1b``, ``\\u202e``)."""
    return _UNPRINTABLE.sub(lambda found: ascii(found.group())[1:-1], text)


def printable_lines(text: str) -> str:
    """:func:`printable` line by line: a message's own line breaks stay."""
    return "\n".join(printable(line) for line in text.split("\n"))


class ReportgenError(click.ClickException):
    """Base of every error reportgen raises on purpose; exit status 1."""

    exit_code = 1

    def format_message(self) -> str:
        """Return the message as printed after ``Error:``, a course's text in it unable to drive the terminal."""
        return printable_lines(self.message)


class BadInputError(ReportgenError):
    """The user's input (definitions, options, templates) is wrong; exit status 2."""

    exit_code = 2


class SpecError(BadInputError):
    """One or more definition files are invalid; carries every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def format_message(self) -> str:
        """List every problem on its own line."""
        problems = [printable(p) for p in self.problems]  # each one line, whatever a key or value holds
        if len(problems) == 1:
            return problems[0]
        head = f"{len(problems)} problems in the definitions:"
        return "\n".join([head] + [f"  {p}" for p in problems])


class BuildError(ReportgenError):
    """The build itself failed (not the user's input); exit status 1."""


class Interrupted(ReportgenError):
    """The user pressed Ctrl-C; exit status 130, as a shell reports a command ended by SIGINT."""

    exit_code = 130


def ending(exc: BaseException) -> str:
    """How ``exc`` ended the code that raised it, for a message: ``called sys.exit(0)``, ``raised ValueError: …``."""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r})"
    return f"raised {exc.__class__.__name__}: {exc}" if str(exc) else f"raised {exc.__class__.__name__}"


@contextmanager
def contained(what: str) -> Iterator[None]:
    """Run a plug-in's code so that an exit it attempts (``sys.exit``, any BaseException but Ctrl-C) is a
    BuildError saying ``what`` did it: it must not end reportgen as if it had succeeded, with nothing written."""
    try:
        yield
    except (KeyboardInterrupt, Exception):
        raise  # Ctrl-C stays Ctrl-C; an ordinary exception keeps its traceback for the plug-in's author
    except BaseException as exc:
        raise BuildError(f"{what} {ending(exc)}") from None
