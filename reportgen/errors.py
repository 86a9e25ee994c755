"""The one exception tree of reportgen.

Every error a user can cause derives from :class:`ReportgenError`, a
``click.ClickException``, so the command line prints one clean line and exits
with the documented status instead of a traceback.
"""

from __future__ import annotations

import click


class ReportgenError(click.ClickException):
    """Base of every error reportgen raises on purpose; exit status 1."""

    exit_code = 1

    def format_message(self) -> str:
        """Return the message as printed after ``Error:``."""
        return self.message


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
        if len(self.problems) == 1:
            return self.problems[0]
        head = f"{len(self.problems)} problems in the definitions:"
        return "\n".join([head] + [f"  {p}" for p in self.problems])


class BuildError(ReportgenError):
    """The build itself failed (not the user's input); exit status 1."""
