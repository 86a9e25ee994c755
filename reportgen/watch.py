"""What a build reads, and news of its changes: the definitions, course.toml and every template folder.

The template folders are the ones a build searches (``--templates``, the
course's own, plug-in kinds', the built-in ones); the bibliography lives in
them. watchfiles (inotify on Linux) reports the changes. Each folder is
watched on its own, not recursively, so a result store, an output folder or a
virtual environment kept inside a course folder costs no watch at all.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# What editors and tools write beside a file while saving it: hidden files (vim's .x.swp, emacs' .#x, our own
# .x.tmp), backups (x~) and vim's probe that a folder is writable (4913).
_LITTER = re.compile(r"^\.|~$|\.sw[a-p]$|^4913$|^__pycache__$")


@dataclass(frozen=True)
class WatchSet:
    """The files a build reads, as folders to watch and a test for each path a change names."""

    definitions: Path
    """The definitions folder: a build reads the ``*.toml`` files directly in it."""
    templates: tuple[Path, ...]
    """The template search folders: a build may read any file below them."""

    def folders(self) -> list[Path]:
        """Every folder to watch: the definitions folder, and each template folder with its subfolders."""
        found = {self.definitions: None}
        for root in self.templates:
            found.setdefault(root, None)
            for folder in sorted(root.rglob("*")):
                if folder.is_dir() and not any(_LITTER.search(part) for part in folder.relative_to(root).parts):
                    found.setdefault(folder, None)
        return [folder for folder in found if folder.is_dir()]

    def reads(self, path: Path) -> bool:
        """Whether a change to ``path`` can change what a build reads."""
        if _LITTER.search(path.name):
            return False
        if path.parent == self.definitions and path.suffix == ".toml":
            return True
        return any(path.is_relative_to(root) for root in self.templates)


def watch_set(definitions: Path, template_folders: list[Path]) -> WatchSet:
    """What a build of the definitions in ``definitions``, with these template search folders, reads."""
    from .catalogues import builtin_locale
    from .render import template_dirs

    # The built-in catalogues too: a translator editing messages.po sees the page in their words on each save.
    folders = [*template_dirs(template_folders), builtin_locale()]
    return WatchSet(definitions=definitions.resolve(), templates=tuple(dict.fromkeys(f.resolve() for f in folders)))


def changes(watched: WatchSet, stop: threading.Event) -> Iterator[list[Path]]:
    """Batches of changed files a build reads, until ``stop`` is set (or Ctrl-C).

    The first batch comes as soon as the watcher is live, empty if nothing has changed yet: a build made after it
    misses no save, even one made while it runs.
    """
    import watchfiles

    live = False
    # step: a batch closes 30 ms after its last change, so one save (write, rename, chmod) is one rebuild.
    # rust_timeout with yield_on_timeout: the watcher says within 0.2 s that it is live.
    for batch in watchfiles.watch(*watched.folders(), watch_filter=lambda _, path: watched.reads(Path(path)),
                                  recursive=False, step=30, rust_timeout=200, yield_on_timeout=True,
                                  stop_event=stop):
        # A file made and removed within one batch (the temporary file of `sed -i` or of an atomic save) is no news.
        added = {path for change, path in batch if change == watchfiles.Change.added}
        changed = sorted({Path(path) for _, path in batch if path not in added or Path(path).exists()})
        if changed or not live:
            live = True
            yield changed
