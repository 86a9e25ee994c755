"""Progress: bars on a terminal, plain lines in logs, nothing when quiet."""

from __future__ import annotations

import io

from reportgen.build import BuildOptions, build
from reportgen.progress import Reporter

COURSE = {
    "course.toml": 'title = "P"\ndate = 2026-01-01\nstudies = ["overfitting"]\n',
    "overfitting.toml": 'kind = "overfitting"\ntitle = "O"\n[model]\nkind = "polynomial"\n[train]\nsteps = 1200\n'
                        '[sweep]\n"model.degree" = [1, 2]\n',
}


def _build(tmp_path, mode: str) -> str:
    definitions = tmp_path / mode / "experiments"
    definitions.mkdir(parents=True)
    for name, text in COURSE.items():
        (definitions / name).write_text(text)
    stream = io.StringIO()
    build(BuildOptions(definitions=definitions, out=tmp_path / mode / "out", cache=tmp_path / mode / "cache"),
          Reporter(mode, stream))
    return stream.getvalue()


def test_terminal_shows_bars_for_training_and_rendering(tmp_path):
    text = _build(tmp_path, "bar")
    assert "training:" in text and "rendering:" in text
    assert "2.40k/2.40k" in text  # 2 runs x 1,200 steps, counted as the trainer reports them
    assert "2.00/2.00" in text  # HTML and PDF


def test_logs_get_plain_lines_without_bars(tmp_path):
    text = _build(tmp_path, "lines")
    assert "overfitting: 2 computed, 0 reused" in text and "rendering the instructor edition (PDF)" in text
    assert "\r" not in text and "%|" not in text


def test_quiet_prints_nothing(tmp_path):
    assert _build(tmp_path, "quiet") == ""
