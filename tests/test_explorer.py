"""The explorers' data: what the instructor HTML embeds for each study, its encoding, determinism and size."""

from __future__ import annotations

import base64
import json

import numpy as np

from reportgen.explorer import HALF_PRECISION, half, single
from reportgen.outcomes import RegressionOutcome
from reportgen.plan import plan_study
from reportgen.render import BUILTIN_TEMPLATES, environment
from reportgen.spec import load_course
from reportgen.studies.prior_explorer import prior_explorer
from reportgen.studies.prior_sampling import PriorOutcome
from reportgen.studies.regression_explorer import curve_steps, losses_after, training_explorers
from reportgen.training.job import checkpoint_steps

from .conftest import EXPERIMENTS

BUDGET = 600_000
"""Bytes the lecture course's explorers (data, markup, style and script) may add to report.html."""


def _regression_outcome(run, rng) -> RegressionOutcome:
    steps, points = run.config.train.steps, run.config.data.test_points
    checkpoints = np.array(checkpoint_steps(steps))
    return RegressionOutcome(status="ok", losses=rng.random(steps).astype(np.float32), train_sse=0.25,
                             train_pred=np.zeros(15, np.float32), test_pred=np.zeros(points, np.float32),
                             parameters=np.zeros(3, np.float32), diverged_at=None, snapshot_steps=checkpoints,
                             snapshots=rng.normal(size=(len(checkpoints), points)).astype(np.float32))


def _prior_outcome(run, rng) -> tuple[PriorOutcome, dict]:
    s = run.config.sampling
    outcome = PriorOutcome(status="ok", x=np.linspace(*s.domain, s.points), exact=True,
                           curves=rng.normal(size=(s.draws, s.points)) * run.config.model.width ** 1.5,
                           spread_x=np.zeros(1), measured_std=np.ones(1), theory_std=np.ones(1))
    return outcome, {"measured_std": 1.5, "theory_std": 1.25, "theory_exact": True}


def _lecture_explorers():
    """Every explorer of the shipped course, built from outcomes of the shapes its runs produce (no training)."""
    rng = np.random.RandomState(0)
    explorers = []
    for study in load_course(EXPERIMENTS).studies:
        runs = plan_study(study)
        if study.kind == "prior":
            outcomes, metrics = zip(*(_prior_outcome(run, rng) for run in runs))
            explorers.append(prior_explorer(study, runs, outcomes, metrics))
        else:
            explorers += training_explorers(study, runs, [_regression_outcome(run, rng) for run in runs]).values()
    return explorers


def test_the_lecture_courses_explorers_fit_the_size_budget_of_the_html():
    explorers = _lecture_explorers()
    assert [e.widget for e in explorers] == ["replay", "replay", "samples", "replay"]
    macros = environment().get_template("explorer.html.j2").make_module({"audience": "instructor"})
    shown = sum(len(str(getattr(macros, e.widget)(e)).encode()) for e in explorers)  # controls, charts and data
    script = sum((BUILTIN_TEMPLATES / name).stat().st_size for name in ("explorer.js", "explorer.css"))
    data = sum(len(e.payload.encode()) for e in explorers)
    assert shown + script <= BUDGET, f"{shown:,} bytes of explorers ({data:,} of data) and {script:,} of script"
    assert data > BUDGET / 2  # not vacuous: the snapshots are most of it


def test_explorer_data_are_deterministic_json_with_sorted_keys_and_nothing_to_close_the_script():
    first, second = _lecture_explorers()[0], _lecture_explorers()[0]
    assert first.payload == second.payload
    text = str(first.payload)
    assert "<" not in text and ">" not in text and "&" not in text
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def test_half_keeps_eleven_significant_bits_and_single_is_exact():
    values = np.array([0.0, -1.5, 3.14159, 1e-6, 65504.0, 1e9, np.nan], dtype=np.float32)
    decoded = np.frombuffer(base64.b64decode(half(values)), dtype="<f2").astype(np.float64)
    finite = np.isfinite(values) & (np.abs(values) <= 65504)
    assert np.all(np.abs(decoded[finite] - values[finite]) <= HALF_PRECISION * np.abs(values[finite]) + 2.0 ** -24)
    assert np.isinf(decoded[5]) and np.isnan(decoded[6])  # out of range: an infinity, clipped by the charts
    assert np.frombuffer(base64.b64decode(single(values)), dtype="<f4").tobytes() == values.tobytes()


def test_loss_curve_samples_every_checkpoint_and_reads_the_loss_of_the_shown_fit():
    checkpoints = checkpoint_steps(10_000)
    steps = curve_steps(10_000, checkpoints)
    assert set(checkpoints) <= set(steps) and steps[0] == 1 and steps[-1] == 10_000 and len(steps) < 70
    losses = np.arange(5, dtype=np.float32)  # losses[k]: measured before step k + 1, i.e. after k steps
    outcome = RegressionOutcome(status="ok", losses=losses, train_sse=0.5, train_pred=np.zeros(1),
                                test_pred=np.zeros(1), parameters=np.zeros(1), diverged_at=None,
                                snapshot_steps=np.array([5]), snapshots=np.zeros((1, 1), np.float32))
    assert list(losses_after(outcome, [1, 4, 5])) == [1.0, 4.0, 0.5]
