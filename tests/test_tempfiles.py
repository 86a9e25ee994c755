"""One rule names reportgen's temporary files and recognises them: the store, the publish and its recovery, the key
and the kernels all go through it, and a look-alike of the user's is never taken for one."""

from __future__ import annotations

import os
import re
from pathlib import Path

from reportgen import tempfiles
from reportgen.cache import _temporary, stage
from reportgen.publish import is_litter

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"


def test_a_temporary_file_is_named_after_its_target_and_recognised_as_such(tmp_path):
    handle, path = tempfiles.create(tmp_path / "report.html")
    os.close(handle)
    assert path.parent == tmp_path and re.fullmatch(r"\.report\.html\.[a-z0-9_]{8}\.tmp", path.name)
    assert tempfiles.staged_for(path.name) == "report.html"
    assert os.stat(path).st_mode & 0o077 == 0  # private until written in full
    for stranger in (".notes.abcd.tmp", "report.html.abcd1234.tmp", ".report.html.abcd1234.bak", ".report.html"):
        assert tempfiles.staged_for(stranger) is None


def test_what_stage_leaves_is_litter_to_the_publish_and_part_of_a_store(tmp_path):
    staged = stage(tmp_path / "report.pdf", b"half a pdf")
    assert tempfiles.staged_for(staged.name) == "report.pdf"
    assert is_litter(staged.name) and _temporary(staged.name)
    # The same shape for a file reportgen does not write: the user's, never deleted by a recovery.
    assert not is_litter(".notes.abcd1234.tmp")
    assert not is_litter(".report.pdf.abcd.tmp") and not _temporary(".report.pdf.abcd.tmp")


def test_a_probe_is_recognised_and_leaves_nothing(tmp_path):
    tempfiles.probe(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert tempfiles.is_probe(tempfiles.PROBE_PREFIX + "k1ll3d_x") and is_litter(tempfiles.PROBE_PREFIX + "k1ll3d_x")
    assert not tempfiles.is_probe(tempfiles.PROBE_PREFIX + "mine")


def test_no_other_module_names_a_temporary_file_of_its_own():
    makers = re.compile(r"""mkstemp\(|NamedTemporaryFile\(|["']\.tmp["']""")
    found = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
             if makers.search(path.read_text(encoding="utf-8"))}
    assert found <= {"tempfiles.py"}, found
