"""The science: the lecture's data recipe, least squares, and the prior's spread."""

from __future__ import annotations

import numpy as np
import torch

from reportgen.data import least_squares_sse, make_dataset
from reportgen.schema import DataSpec
from reportgen.studies.prior_draws import prior_variance, sample_functions
from reportgen.studies.prior_sampling import PriorMLPSpec
from reportgen.train import train_runs

from .conftest import polynomial_job


def test_default_data_reproduces_the_lecture_recipe_exactly():
    # The lecture's own cell, verbatim in substance: global seed, grid, deletion, then noise.
    np.random.seed(0)
    x = np.linspace(0, 1, num=20)
    x_test = np.linspace(-0.05, 1.05, num=200)
    x = np.delete(x, slice(9, 14))
    y = x * np.sin(10 * x) + 0.1 * np.random.randn(len(x))

    data = make_dataset(DataSpec())
    assert np.array_equal(data.x_train, x)
    assert np.array_equal(data.y_train, y)
    assert np.array_equal(data.x_test, x_test)
    assert data.gap == (x[8], x[9])


def test_noise_levels_scale_the_same_draws():
    low, high = make_dataset(DataSpec(noise=0.1)), make_dataset(DataSpec(noise=0.3))
    assert np.allclose(high.y_train - high.f_train, 3 * (low.y_train - low.f_train))


def test_least_squares_sse_is_the_minimum_over_polynomials(lecture_data):
    best = least_squares_sse(lecture_data.x_train, lecture_data.y_train, 3)
    x = lecture_data.x_train.astype(np.float32).astype(np.float64)
    y = lecture_data.y_train.astype(np.float32).astype(np.float64)
    coef = np.polyfit(x, y, 3)
    assert abs(((np.polyval(coef, x) - y) ** 2).sum() - best) < 1e-10
    perturbed = coef + 1e-3
    assert ((np.polyval(perturbed, x) - y) ** 2).sum() > best


def test_trained_low_degree_polynomials_reach_the_least_squares_optimum(lecture_data):
    jobs = [polynomial_job(lecture_data, degree, seed=seed, steps=10_000) for degree in (1, 2, 3) for seed in (0, 1)]
    for job, run in zip(jobs, train_runs(jobs)):
        optimum = least_squares_sse(lecture_data.x_train, lecture_data.y_train, job.model.degree)
        assert abs(run.train_sse - optimum) / optimum < 1e-4, (job.model.degree, run.train_sse, optimum)


def test_wide_network_prior_spread_matches_theory_within_sampling_error():
    model = PriorMLPSpec(kind="mlp", width=1000, depth=1, activation="sigmoid")
    x = np.array([-4.0, -1.0, 0.0, 2.5])
    draws = 3000
    values = sample_functions(model, x, draws, torch.Generator().manual_seed(11))
    measured = values.std(axis=0, ddof=1)
    predicted = np.sqrt(prior_variance(model, x))
    # The sample standard deviation of n Gaussian draws has relative standard error 1/sqrt(2(n-1)).
    tolerance = 4 / np.sqrt(2 * (draws - 1))
    assert np.all(np.abs(measured / predicted - 1) < tolerance), measured / predicted


def test_prior_variance_has_closed_forms_for_identity_and_relu():
    x = np.array([0.0, 1.0, -3.0])
    identity = PriorMLPSpec(kind="mlp", width=7, depth=1, activation="identity", weight_std=2.0, bias_std=0.5)
    q1 = 0.25 + 4 * x ** 2
    assert np.allclose(prior_variance(identity, x), 0.25 + 7 * 4 * q1)
    relu = identity.model_copy(update={"activation": "relu"})
    assert np.allclose(prior_variance(relu, x), 0.25 + 7 * 4 * q1 / 2)


def test_sigmoid_second_moment_quadrature_agrees_with_monte_carlo():
    model = PriorMLPSpec(kind="mlp", width=1, depth=1, activation="sigmoid", weight_std=5.0, bias_std=5.0)
    z = np.random.RandomState(0).randn(2_000_000) * np.sqrt(25 + 25 * 4.0)
    monte_carlo = 25 + 25 * np.mean((1 / (1 + np.exp(-z))) ** 2)
    assert abs(prior_variance(model, np.array([2.0]))[0] / monte_carlo - 1) < 2e-3


def test_sampling_at_points_draws_the_same_distribution_as_sampling_weights():
    from reportgen.studies.prior_draws import sample_at_points

    x = np.array([-4.0, 0.0, 1.5])
    draws = 8000
    for activation, depth in (("relu", 2), ("tanh", 3)):
        model = PriorMLPSpec(kind="mlp", width=20, depth=depth, activation=activation)
        direct = sample_functions(model, x, draws, torch.Generator().manual_seed(0))
        conditional = sample_at_points(model, x, draws, torch.Generator().manual_seed(1))
        # Two independent sample standard deviations: relative difference within ~4 standard errors
        # (heavy tails of deep ReLU networks widen the error, hence the kurtosis factor).
        kurtosis = np.mean(direct ** 4, axis=0) / np.mean(direct ** 2, axis=0) ** 2
        tolerance = 4 * np.sqrt((kurtosis - 1) / (4 * draws) * 2)
        ratio = conditional.std(axis=0) / direct.std(axis=0)
        assert np.all(np.abs(ratio - 1) < tolerance), (activation, depth, ratio, tolerance)
