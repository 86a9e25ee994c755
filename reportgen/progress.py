"""Progress on stderr: live bars on a terminal, plain lines in logs (CI), nothing when quiet.

tqdm draws the bars: it handles terminal width, rates and redraws, and
degrades to nothing we would have to maintain.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

from .errors import printable


class Reporter:
    """Where a build tells the user what it is doing."""

    def __init__(self, mode: str = "lines", stream: TextIO | None = None):
        if mode not in ("bar", "lines", "quiet"):
            raise ValueError(f"unknown progress mode {mode!r}")
        self.mode = mode
        self.stream = stream or sys.stderr

    @classmethod
    def for_terminal(cls, quiet: bool) -> "Reporter":
        """Bars when stderr is a terminal, lines when it is not, nothing when ``quiet``."""
        if quiet:
            return cls("quiet")
        return cls("bar" if sys.stderr.isatty() else "lines")

    def line(self, text: str) -> None:
        """One line of news (above the bar, if one is drawn); a course's text in it cannot drive the terminal."""
        if self.mode == "quiet":
            return
        text = printable(text)
        if self.mode == "bar":
            from tqdm import tqdm

            tqdm.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    @contextmanager
    def bar(self, label: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
        """A progress bar over ``total`` units; yields the function that advances it."""
        if self.mode != "bar" or total <= 0:
            yield lambda _: None
            return
        from tqdm import tqdm

        with tqdm(total=total, desc=label, unit=unit, unit_scale=True, file=self.stream, leave=False,
                  dynamic_ncols=True) as progress:
            yield progress.update
