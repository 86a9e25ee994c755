"""Process-wide state (matplotlib's backend, log levels, the environment, torch's thread count) is set only for the
block that needs it and given back after it; and each such setting is made in one place."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"


def _sources() -> dict[str, str]:
    return {str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}


def test_importing_reportgen_and_drawing_a_figure_leave_matplotlibs_backend_alone():
    probe = ("import sys, matplotlib\n"
             "from reportgen.figures import figure, to_svg\n"
             "with figure(1, 2) as (fig, axes):\n"
             "    axes[0, 0].plot([0, 1], [1, 2], label='a line')\n"
             "    axes[0, 0].legend()\n"
             "    axes[0, 1].set_title('a title')\n"
             "svg = to_svg(fig)\n"
             "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules, type(fig.canvas).__name__,\n"
             "      svg.lstrip().startswith('<svg'))\n")
    environment = {**os.environ, "MPLBACKEND": "svg"}  # the host's choice: reportgen must not switch it to Agg
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["svg", "False", "FigureCanvasSVG", "True"]


def test_typesetting_quiets_the_loggers_and_sets_the_epoch_only_while_it_runs(monkeypatch):
    from reportgen.pdf import QUIET_LOGGERS, _typesetting

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.INFO)
        with _typesetting(86_400):
            assert [logger.level for logger in loggers] == [logging.ERROR] * len(loggers)
            assert os.environ["SOURCE_DATE_EPOCH"] == "86400"
        assert [logger.level for logger in loggers] == [logging.INFO] * len(loggers)
        assert "SOURCE_DATE_EPOCH" not in os.environ
        with pytest.raises(RuntimeError), _typesetting(0):
            raise RuntimeError("a failed rendering")
        assert [logger.level for logger in loggers] == [logging.INFO] * len(loggers)
        assert "SOURCE_DATE_EPOCH" not in os.environ
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234")  # the caller's own epoch wins, and stays
        with _typesetting(0):
            assert os.environ["SOURCE_DATE_EPOCH"] == "1234"
        assert os.environ["SOURCE_DATE_EPOCH"] == "1234"
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def test_rendering_a_pdf_gives_the_log_levels_and_the_environment_back(monkeypatch):
    from reportgen.pdf import QUIET_LOGGERS, render_pdf

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    before = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    page = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
            '<style>p { unknown-property: 1 }</style></head><body><p>Scoped.</p></body></html>')
    assert render_pdf(page, epoch=86_400).startswith(b"%PDF")
    assert {name: logging.getLogger(name).level for name in QUIET_LOGGERS} == before
    assert "SOURCE_DATE_EPOCH" not in os.environ


def test_torch_threads_sets_the_count_for_the_block_and_gives_the_previous_one_back():
    import torch

    from reportgen.threads import torch_threads

    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), torch_threads(1):
            raise RuntimeError("a failed chunk")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_training_and_sampling_leave_torchs_thread_count_as_they_found_it(lecture_data):
    import torch

    from reportgen.studies.prior_draws import sample
    from reportgen.studies.prior_sampling import PriorStudyFile
    from reportgen.training.schedule import train_runs

    from .conftest import polynomial_job

    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        train_runs([polynomial_job(lecture_data, 3, steps=5)])
        assert torch.get_num_threads() == 2
        config = PriorStudyFile.model_validate({"kind": "prior", "title": "Prior", "model": {"kind": "mlp"},
                                                "sampling": {"draws": 2, "spread_draws": 4, "points": 5}})
        sample(config, 0)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("setting, allowed", [
    (r"torch\.set_num_threads\(", {"threads.py"}),
    (r"matplotlib\.use\(", set()),
    # pyplot only in the lab notebooks' code: text for students, never run by reportgen.
    (r"import matplotlib\.pyplot|from matplotlib import pyplot", {"labcode.py"}),
    # SOURCE_DATE_EPOCH while typesetting, restored; OMP_NUM_THREADS in a fresh worker process, which is its own.
    (r"os\.environ\[[^\]]+\]\s*=(?!=)", {"pdf.py", "executors.py"}),
])
def test_process_wide_settings_are_made_in_one_place_only(setting, allowed):
    found = {name for name, text in _sources().items() if re.search(setting, text)}
    assert found <= allowed, found
