"""Polynomials judged by region, beside their closed forms; every claim of the two studies flips with its data."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import numpy as np
import pytest
import torch

from reportgen.data import make_dataset, penalty_weight, polynomial_features, polynomial_map, region_errors
from reportgen.execute import AnalysisUnit, analysis_payload
from reportgen.outcomes import RegressionOutcome
from reportgen.plan import plan_study
from reportgen.results import StudyResult
from reportgen.schema import DataSpec
from reportgen.spec import load_course
from reportgen.train import train_runs

from .conftest import polynomial_job, write_files
from .support import render_section

# --------------------------------------------------------------------------- regions of the test grid


def test_region_masks_follow_the_lecture_recipe():
    data = make_dataset(DataSpec())
    regions = data.regions()
    assert {name: int(mask.sum()) for name, mask in regions.items()} == {"inside": 123, "gap": 57, "outside": 20}
    assert data.gaps == ((8 / 19, 14 / 19),)
    gap_x = data.x_test[regions["gap"]]
    assert gap_x.min() > 8 / 19 and gap_x.max() < 14 / 19
    assert (data.x_test[regions["outside"]] < 0).sum() == 10 and (data.x_test[regions["outside"]] > 1).sum() == 10
    assert not (regions["inside"] & regions["gap"]).any() and (regions["inside"] | regions["gap"]
                                                               | regions["outside"]).all()


def test_two_runs_of_removed_indices_make_two_gaps_and_removed_ends_make_no_gap():
    two = make_dataset(DataSpec(removed=(3, 4, 12, 13, 14)))
    assert two.gaps == ((2 / 19, 5 / 19), (11 / 19, 15 / 19))
    assert two.regions()["gap"].sum() == ((two.x_test > 2 / 19) & (two.x_test < 5 / 19)).sum() + (
        (two.x_test > 11 / 19) & (two.x_test < 15 / 19)).sum()
    ends = make_dataset(DataSpec(removed=(0, 1)))
    assert ends.gaps == () and ends.regions()["gap"].sum() == 0
    assert ends.regions()["outside"].sum() == (ends.x_test < 2 / 19).sum() + (ends.x_test > 1).sum()
    assert np.isnan(region_errors(ends.f_test, ends)["mse_gap"])


def test_a_grid_inside_the_data_has_no_outside_region():
    data = make_dataset(DataSpec(test_domain=(0.0, 1.0), test_points=50))
    errors = region_errors(data.f_test + 0.1, data)
    assert np.isnan(errors["mse_outside"])
    assert errors["mse_inside"] == pytest.approx(0.01) and errors["mse_gap"] == pytest.approx(0.01)


# --------------------------------------------------------------------------- closed forms


def test_least_squares_is_the_minimum_of_the_training_sse():
    data = make_dataset(DataSpec())
    fit = polynomial_map(data.x_train, data.y_train, 3, 0.0)
    features = polynomial_features(data.x_train, 3)
    target = data.y_train.astype(np.float32).astype(np.float64)
    assert np.allclose(features.T @ (features @ fit.parameters - target), 0, atol=1e-9)  # normal equations
    assert fit.train_sse == pytest.approx(1.148451847, rel=1e-8)


def test_map_solution_is_stationary_for_adams_coupled_decay():
    """∇SSE + weight_decay·θ = 0 at the closed form: the objective coupled Adam descends, λ = weight_decay/2."""
    data = make_dataset(DataSpec())
    for decay in (1e-3, 0.1, 1.0):
        fit = polynomial_map(data.x_train, data.y_train, 100, decay)
        features = polynomial_features(data.x_train, 100)
        target = data.y_train.astype(np.float32).astype(np.float64)
        gradient = 2 * features.T @ (features @ fit.parameters - target) + decay * fit.parameters
        assert np.abs(gradient).max() < 1e-8 * max(1.0, np.abs(fit.parameters).max())
        assert penalty_weight(decay) == decay / 2


def test_torch_adam_adds_weight_decay_times_theta_to_the_gradient():
    """The fact the MAP relation rests on: torch's Adam decays coupled (not AdamW's decoupled shrink)."""
    theta = torch.nn.Parameter(torch.tensor([2.0]))
    optimizer = torch.optim.Adam([theta], lr=0.1, weight_decay=0.5)
    theta.grad = torch.tensor([0.0])
    optimizer.step()
    coupled = torch.nn.Parameter(torch.tensor([2.0]))
    reference = torch.optim.Adam([coupled], lr=0.1)
    coupled.grad = torch.tensor([0.5 * 2.0])
    reference.step()
    assert torch.equal(theta.data, coupled.data)


def test_converged_adam_runs_equal_the_closed_form_map(lecture_data):
    """Trained with the lecture's recipe for long enough, coupled weight decay lands on ridge with λ = wd/2."""
    jobs = [polynomial_job(lecture_data, degree=10, seed=seed, steps=20_000, weight_decay=decay)
            for decay in (0.1, 1.0) for seed in (0, 1)]
    outcomes = train_runs(jobs)
    for job, outcome in zip(jobs, outcomes):
        fit = polynomial_map(lecture_data.x_train, lecture_data.y_train, 10, job.train.weight_decay)
        trained = outcome.parameters.astype(np.float64)
        assert np.linalg.norm(trained - fit.parameters) / np.linalg.norm(fit.parameters) < 5e-3
        assert outcome.train_sse == pytest.approx(fit.train_sse, rel=5e-3)
        wrong = polynomial_map(lecture_data.x_train, lecture_data.y_train, 10, 2 * job.train.weight_decay)
        assert np.linalg.norm(trained - wrong.parameters) > 10 * np.linalg.norm(trained - fit.parameters)


# --------------------------------------------------------------------------- claims flip with their data


OVERFITTING = '''
kind = "overfitting"
title = "Overfitting"
[model]
kind = "polynomial"
degree = 3
[train]
steps = 10
[sweep]
"model.degree" = [1, 3, 12]
seeds = [0, 1, 2]
'''

REGULARIZATION = '''
kind = "regularization"
title = "Regularization"
[model]
kind = "polynomial"
degree = 12
[train]
steps = 10
[sweep]
"train.weight_decay" = [0.0, 0.01, 1.0]
seeds = [0, 1, 2]
'''


def _study(tmp_path: Path, name: str, text: str):
    course = write_files(tmp_path / name, {"course.toml": f'title = "T"\ndate = 2026-01-02\nstudies = ["{name}"]\n',
                                           f"{name}.toml": text})
    return load_course(course).studies[0]


def _outcome(run, sse: float, prediction: np.ndarray, parameters: np.ndarray) -> RegressionOutcome:
    steps = run.config.train.steps
    return RegressionOutcome(status="ok", losses=np.linspace(2 * sse, sse, steps).astype(np.float32),
                             train_sse=sse, train_pred=np.zeros(15), test_pred=prediction.astype(np.float32),
                             parameters=parameters.astype(np.float32), diverged_at=None,
                             snapshot_steps=np.array([steps]), snapshots=prediction[None].astype(np.float32))


def _section(study, outcomes) -> tuple[str, StudyResult]:
    """The study's instructor section as a reader sees it (formulas as their LaTeX), and its result."""
    runs = plan_study(study)
    payload, drawings = analysis_payload(AnalysisUnit(study, tuple(runs), tuple(outcomes), "en"))
    assert not drawings
    result = StudyResult.from_payload(study, tuple(runs), payload)
    html = render_section(result)
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split()), result


def _overfitting(tmp_path, sse_by_degree, error_by_degree, spread=1e-4):
    """The overfitting section for outcomes whose fit is the target plus a constant offset per degree."""
    study = _study(tmp_path, "overfitting", OVERFITTING)
    outcomes = []
    for run in plan_study(study):
        data = make_dataset(run.config.data)
        degree = run.config.model.degree
        offset = np.sqrt(error_by_degree[degree]) * (1 + spread * run.seed)
        outcomes.append(_outcome(run, sse_by_degree[degree] * (1 + spread * run.seed), data.f_test + offset,
                                 np.zeros(degree + 1)))
    return _section(study, outcomes)


def test_training_error_that_rises_with_degree_is_said_to_rise_and_flips(tmp_path):
    rising, result = _overfitting(tmp_path / "a", {1: 2.0, 3: 1.0, 12: 1.5}, {1: 0.1, 3: 0.01, 12: 0.05})
    assert "Training error does not simply fall as the degree grows" in rising
    assert "rises from 1.00 at degree 3 to 1.50 at degree 12" in rising
    assert result.facts["series"][0]["train_sse_rises"] is True
    falling, result = _overfitting(tmp_path / "b", {1: 2.0, 3: 1.0, 12: 0.5}, {1: 0.1, 3: 0.01, 12: 0.05})
    assert "Training error falls as the degree grows" in falling and "does not simply fall" not in falling
    assert result.facts["series"][0]["train_sse_rises"] is False


def test_a_best_degree_within_the_seed_spread_is_not_called_clearly_best(tmp_path):
    clear, _ = _overfitting(tmp_path / "a", {1: 2.0, 3: 1.0, 12: 0.5}, {1: 0.1, 3: 0.01, 12: 0.05})
    assert "lowest at degree 3 (0.0100), clearly below the next best, degree 12" in clear
    close, result = _overfitting(tmp_path / "b", {1: 2.0, 3: 1.0, 12: 0.5}, {1: 0.1, 3: 0.0100, 12: 0.0101},
                                 spread=0.2)
    assert "is within the spread over seeds" in close and "clearly below the next best" not in close
    assert result.facts["series"][0]["best_inside"]["decisive"] is False


def test_extrapolation_that_dominates_the_whole_grid_error_is_named_and_flips(tmp_path):
    study = _study(tmp_path / "a", "overfitting", OVERFITTING)

    def outcomes(blow_up: float):
        made = []
        for run in plan_study(study):
            data = make_dataset(run.config.data)
            prediction = data.f_test + 0.05
            if run.config.model.degree == 12:
                prediction = prediction + blow_up * data.regions()["outside"]
            made.append(_outcome(run, 1.0 / run.config.model.degree, prediction, np.zeros(3)))
        return made

    wild, result = _section(study, outcomes(100.0))
    assert "that number measures extrapolation, not generalization" in wild
    assert result.facts["series"][0]["extrapolation_dominates"] is True
    tame, result = _section(study, outcomes(0.0))
    assert "measures extrapolation" not in tame and result.facts["series"][0]["extrapolation_dominates"] is False


def test_a_flexible_fit_that_goes_wild_in_the_gap_is_said_to_and_flips(tmp_path):
    wild, result = _overfitting(tmp_path / "a", {1: 2.0, 3: 1.0, 12: 0.5}, {1: 0.1, 3: 0.01, 12: 5.0})
    assert "The most flexible fit goes wild in the gap" in wild
    calm, _ = _overfitting(tmp_path / "b", {1: 2.0, 3: 1.0, 12: 0.5}, {1: 0.1, 3: 0.01, 12: 0.012})
    assert "The most flexible fit does not go wild in the gap" in calm


def _regularization(tmp_path, converged: bool):
    study = _study(tmp_path, "regularization", REGULARIZATION)
    outcomes = []
    for run in plan_study(study):
        data = make_dataset(run.config.data)
        fit = polynomial_map(data.x_train, data.y_train, 12, run.config.train.weight_decay)
        parameters = fit.parameters if converged or run.config.train.weight_decay == 0 else fit.parameters * 0.5
        outcomes.append(_outcome(run, fit.train_sse, fit.predict(data.x_test), parameters))
    return _section(study, outcomes)


def test_runs_on_the_map_solution_are_said_to_reach_it_and_runs_away_from_it_are_not(tmp_path):
    reached, result = _regularization(tmp_path / "a", converged=True)
    assert "The runs with weight decay 0.01 and 1.0 reached it" in reached
    assert "still on their way" not in reached
    assert result.facts["series"][0]["reached_map"] == [0.01, 1.0]
    assert all(m["map_distance"] < 1e-6 for m in result.metrics if m["map_norm"] < 1e3)
    away, result = _regularization(tmp_path / "b", converged=False)
    assert "The runs with weight decay 0.01 and 1.0 were still on their way" in away and "reached it" not in away
    assert result.facts["series"][0]["on_the_way"] == [0.01, 1.0]


def test_the_regularization_handout_does_not_give_away_the_prior_variance(tmp_path):
    study = _study(tmp_path, "regularization", REGULARIZATION)
    runs = plan_study(study)
    outcomes = []
    for run in runs:
        data = make_dataset(run.config.data)
        fit = polynomial_map(data.x_train, data.y_train, 12, run.config.train.weight_decay)
        outcomes.append(_outcome(run, fit.train_sse, fit.predict(data.x_test), fit.parameters))
    payload, _ = analysis_payload(AnalysisUnit(study, tuple(runs), tuple(outcomes), "en"))
    result = StudyResult.from_payload(study, tuple(runs), payload)
    for audience, shown in (("student", False), ("instructor", True)):
        html = render_section(result, audience)
        assert ("\\sigma^2/\\lambda" in html) is shown, audience
        assert "sum of squared errors, weight decay" not in html  # the swept decay is not stated as one value
