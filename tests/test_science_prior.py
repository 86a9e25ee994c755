"""The prior study's science and its claims: predicted slopes from the stated recursion, the recursion's exactness
checked by Monte Carlo, and the prose choosing each sentence from a fact computed by the analysis (so that a
sentence flips when the data flip, in English and in Spanish)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from reportgen.language import speaking
from reportgen.plan import plan_study
from reportgen.results import Drawing, Figure, StudyResult
from reportgen.spec import load_course
from reportgen.studies.prior_analysis import analyze, turning_points
from reportgen.studies.prior_draws import sample_functions
from reportgen.studies.prior_sampling import (
    PriorMLPSpec,
    PriorOutcome,
    exact_recursion,
    predicted_slope,
    prior_variance,
    second_moment,
)

from .conftest import write_files
from .support import render_section

LECTURE_WIDTHS = [1, 10, 100, 1000]
SPREAD_X = np.linspace(-5.0, 5.0, 11)


# ------------------------------------------------------------------------------------------------ the theory


@pytest.mark.parametrize("activation, expected", [("sigmoid", 0.42), ("tanh", 0.45)])
def test_predicted_slope_of_bounded_activations_is_below_one_half_over_widths_1_to_1000(activation, expected):
    """The recursion with the lecture's sigma_b = sigma_w = 5 predicts 0.42 and 0.45, not 0.5: the bias floor."""
    model = PriorMLPSpec(kind="mlp", activation=activation, depth=1)
    assert predicted_slope(model, SPREAD_X, LECTURE_WIDTHS) == pytest.approx(expected, abs=0.005)
    # Without biases the same formula gives exactly the square root of the width.
    unbiased = model.model_copy(update={"bias_std": 0.0})
    assert predicted_slope(unbiased, SPREAD_X, LECTURE_WIDTHS) == pytest.approx(0.5, abs=1e-9)
    # Bounded activations saturate: depth leaves the slope where it is.
    deep = model.model_copy(update={"depth": 3})
    assert abs(predicted_slope(deep, SPREAD_X, LECTURE_WIDTHS) - expected) < 0.02


@pytest.mark.parametrize("activation", ["relu", "identity"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_predicted_slope_of_relu_and_identity_is_half_the_depth(activation, depth):
    model = PriorMLPSpec(kind="mlp", activation=activation, depth=depth)
    assert predicted_slope(model, SPREAD_X, LECTURE_WIDTHS) == pytest.approx(depth / 2, abs=0.01)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
@pytest.mark.parametrize("variance", [25.0, 650.0, 5000.0, 1e6])
def test_second_moment_of_bounded_activations_is_accurate_at_large_variance(activation, variance):
    """Gauss-Hermite with 200 nodes was 3 % off at variance 650; a fine trapezoid rule is the reference."""
    g = {"tanh": np.tanh, "sigmoid": lambda z: 0.5 * (1 + np.tanh(z / 2))}[activation]
    sigma = math.sqrt(variance)
    z = np.linspace(-40 * sigma, 40 * sigma, 4_000_001)
    reference = np.trapezoid(g(z) ** 2 * np.exp(-0.5 * (z / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi)), z)
    assert second_moment(activation, np.array([variance]))[0] == pytest.approx(reference, rel=1e-4)


@pytest.mark.parametrize("activation, depth, width", [("relu", 3, 1), ("identity", 3, 1), ("relu", 2, 1),
                                                      ("relu", 3, 4), ("identity", 2, 3)])
def test_variance_recursion_is_exact_for_relu_and_identity_at_any_width_and_depth(activation, depth, width):
    """Monte Carlo with weights drawn as the lecture draws them, at widths where the infinite-width limit is far."""
    assert exact_recursion(activation, depth)
    model = PriorMLPSpec(kind="mlp", width=width, depth=depth, activation=activation)
    x = np.array([-4.0, 0.0, 2.5])
    draws = 400_000
    values = np.concatenate([sample_functions(model, x, draws // 4, torch.Generator().manual_seed(seed))
                             for seed in range(4)])
    centred = values - values.mean(axis=0)
    measured = np.mean(centred ** 2, axis=0)
    predicted = prior_variance(model, x)
    # The sample variance of n draws has relative standard error sqrt((kurtosis - 1) / n); f(x) of narrow ReLU
    # networks is heavy-tailed, so the kurtosis is measured, not assumed Gaussian.
    kurtosis = np.mean(centred ** 4, axis=0) / measured ** 2
    error = np.sqrt((kurtosis - 1) / draws)
    assert np.all(error < 0.05), error  # tight enough to tell an exact recursion from a limit
    assert np.all(np.abs(measured / predicted - 1) < 4 * error), (measured / predicted, error)


def test_recursion_is_exact_for_bounded_activations_with_one_hidden_layer_only():
    assert exact_recursion("tanh", 1) and exact_recursion("sigmoid", 1)
    assert not exact_recursion("tanh", 2) and not exact_recursion("sigmoid", 3)


def test_turning_points_count_direction_changes_beyond_the_tolerance():
    x = np.linspace(-5, 5, 200)
    assert turning_points(np.sin(x), 0.01) == 4
    assert turning_points(np.tanh(x), 0.01) == 0
    assert turning_points(np.sin(x) + 1e-4 * np.sin(60 * x), 0.01) == 4  # ripples below the tolerance
    assert turning_points(np.zeros(10), 0.0) == 0


# ------------------------------------------------------------------------------------ claims flip with the data

COURSE = {
    "course.toml": '''
title = "Prior claims"
authors = ["Test Author"]
date = 2026-01-02
studies = ["prior"]
''',
    "prior.toml": '''
kind = "prior"
title = "Prior"
[model]
kind = "mlp"
[sampling]
draws = 6
spread_draws = 400
spread_units = 2000
spread_points = 5
points = 60
[sweep]
"model.width" = [1, 10, 100]
"model.activation" = ["tanh", "relu"]
"model.depth" = [1, 2]
''',
}


@pytest.fixture(scope="module")
def prior_runs(tmp_path_factory):
    """The study and its runs: tanh and relu, widths 1 to 100, one and two hidden layers."""
    folder = write_files(tmp_path_factory.mktemp("prior-claims") / "experiments", COURSE)
    study = next(s for s in load_course(folder).studies if s.id == "prior")
    return study, plan_study(study)


def _curve(model, x, k, depth_bends=True, narrow_flat=True):
    """A drawn function of a chosen shape: a line for one unit, flat for one unit behind more layers (if
    ``narrow_flat``), otherwise a sine whose turning points grow with the width (and with the depth if
    ``depth_bends``)."""
    if model.width == 1:
        return np.full_like(x, 3.0 + k) if model.depth > 1 and narrow_flat else (k + 1) * x
    frequency = 0.4 * math.log10(model.width) * (model.depth if depth_bends else 1)
    return 10 * np.sin(frequency * x + 0.3 * k)


def _outcomes(runs, factor=lambda model: 1.0, heavy=lambda model: False, **shapes) -> list[PriorOutcome]:
    """Outcomes with the exact predictions, the measured spread ``factor(model)`` times the prediction (its
    per-draw terms scattered like a chi-square with 8 degrees of freedom, a tight interval, or where ``heavy``
    like the sixth power of a normal), and chosen curves."""
    rng = np.random.default_rng(0)
    outcomes = []
    for run in runs:
        model, s = run.config.model, run.config.sampling
        spread_x = np.linspace(*s.domain, s.spread_points)
        theory = np.sqrt(prior_variance(model, spread_x))
        variance = float(np.mean(theory ** 2)) * factor(model) ** 2
        n = s.spread_draws_at(model.width)
        scatter = rng.standard_normal(n) ** 6 if heavy(model) else rng.chisquare(8, n)
        x = np.linspace(*s.domain, s.points)
        outcomes.append(PriorOutcome(
            status="ok", x=x, curves=np.array([_curve(model, x, k, **shapes) for k in range(s.draws)]),
            spread_x=spread_x, measured_std=np.full(len(spread_x), math.sqrt(variance)), theory_std=theory,
            exact=exact_recursion(model.activation, model.depth),
            spread_terms=scatter / scatter.mean() * variance * (n - 1) / n))
    return outcomes


def _section(prior_runs, outcomes, language: str, audience: str = "instructor") -> tuple[dict, str]:
    """The facts, and the prior section rendered in ``language`` for ``audience`` (grids of draws as stubs)."""
    study, runs = prior_runs
    with speaking(language):
        result = analyze(study, runs, outcomes)
        figures = {name: Figure(id=f"fig-{name}", caption="", alt="", svg="") if isinstance(fig, Drawing) else fig
                   for name, fig in result.figures.items()}
        result = StudyResult(study=result.study, runs=result.runs, statuses=result.statuses, metrics=result.metrics,
                             figures=figures, tables=result.tables, facts=result.facts, explorers=result.explorers)
    return result.facts, " ".join(render_section(result, audience, language).split())


AGREE = {"en": "The measured slopes agree with the predictions: each prediction lies inside",
         "es": "Las pendientes medidas concuerdan con las predichas: cada predicción queda dentro"}
DISAGREE = {"en": "The measured slopes agree with the predictions in 3 of 4 cases",
            "es": "Las pendientes medidas concuerdan con las predichas en 3 de 4 casos"}


@pytest.mark.parametrize("language", ["en", "es"])
def test_slope_sentence_flips_when_a_measured_slope_leaves_its_prediction(prior_runs, language):
    facts, text = _section(prior_runs, _outcomes(prior_runs[1]), language)
    assert facts["slopes_agree"] == facts["slopes_checked"] == 4
    assert AGREE[language] in text and DISAGREE[language] not in text

    # relu with two hidden layers now grows like width^0.2 faster than predicted.
    steeper = _outcomes(prior_runs[1], lambda m: m.width ** 0.2 if (m.activation, m.depth) == ("relu", 2) else 1.0)
    facts, text = _section(prior_runs, steeper, language)
    wrong = [s for s in facts["slopes"] if s["agrees"] is False]
    assert [(s["activation"], s["depth"]) for s in wrong] == [("relu", 2)]
    assert wrong[0]["measured"] == pytest.approx(wrong[0]["predicted"] + 0.2, abs=1e-9)
    assert not wrong[0]["low"] <= wrong[0]["predicted"] <= wrong[0]["high"]
    assert DISAGREE[language] in text and AGREE[language] not in text
    assert {"en": "relu with 2 hidden layers, measured", "es": "ReLU y 2 capas ocultas: medida"}[language] in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_matches_theory_only_where_the_prediction_lies_inside_the_measured_interval(prior_runs, language):
    facts, text = _section(prior_runs, _outcomes(prior_runs[1]), language)
    exact = facts["spread"]["exact"]
    assert exact["inside"] == exact["checked"] == 9 and exact["misses"] == []  # tanh with one layer, relu
    matches = {"en": "the measured spread matches the theory in every configuration",
               "es": "la dispersión medida concuerda con la teoría en todas las configuraciones"}[language]
    assert matches in text
    assert {"en": "passes through the bar of every dot", "es": "pasa por la barra de todos los puntos"}[language] in \
        facts_alt(prior_runs, _outcomes(prior_runs[1]), language)

    # One exact configuration measures half its prediction: relu, two hidden layers, width 1.
    low = _outcomes(prior_runs[1], lambda m: 0.5 if (m.activation, m.depth, m.width) == ("relu", 2, 1) else 1.0)
    facts, text = _section(prior_runs, low, language)
    exact = facts["spread"]["exact"]
    assert exact["inside"] == 8 and [(c["activation"], c["depth"], c["width"]) for c in exact["misses"]] == [
        ("relu", 2, 1)]
    assert matches not in text
    assert {"en": "outside for relu with 2 hidden layers at width 1 (measured",
            "es": "fuera con ReLU, 2 capas ocultas y ancho 1 (medida"}[language] in text
    assert {"en": "no more misses than the", "es": "no son más fallos que los"}[language] in text
    alt = facts_alt(prior_runs, low, language)
    assert {"en": "passes through the bar of 11 of 12 dots; the farthest from it, relu with 2 hidden layers at "
                  "width 1, measures 0.50 times the prediction",
            "es": "pasa por la barra de 11 de 12 puntos; el más alejado, ReLU con 2 capas ocultas y ancho 1, mide "
                  "0,50 veces la predicción"}[language] in alt
    assert "†" in "".join(str(cell) for row in _table(prior_runs, low, language).rows for cell in row)


def facts_alt(prior_runs, outcomes, language: str) -> str:
    """The alt text of the spread-against-width figure."""
    study, runs = prior_runs
    with speaking(language):
        return analyze(study, runs, outcomes).figures["spread"].alt


def _table(prior_runs, outcomes, language: str):
    study, runs = prior_runs
    with speaking(language):
        return analyze(study, runs, outcomes).tables["spread"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_depth_claims_follow_the_turning_points_and_flat_draws_the_draws_show(prior_runs, language):
    bends = {"en": "Depth composes these shapes where there are units to compose",
             "es": "La profundidad compone estas formas donde hay unidades que componer"}[language]
    no_bends = {"en": "depth adds no turning points to",
                "es": "la profundidad no agrega cambios de dirección a las redes"}[language]
    flattens = {"en": "depth flattens instead of bending: 12 of 12 draws",
                "es": "la profundidad aplana en vez de doblar: 12 de 12 muestras"}[language]
    facts, text = _section(prior_runs, _outcomes(prior_runs[1]), language)
    assert facts["shapes"]["deeper_more"] == ["tanh", "relu"] and facts["shapes"]["flat_narrow_total"]["flat"] == 12
    assert bends in text and flattens in text and no_bends not in text

    facts, text = _section(prior_runs, _outcomes(prior_runs[1], depth_bends=False, narrow_flat=False), language)
    assert facts["shapes"]["deeper_more"] == [] and facts["shapes"]["flat_narrow_total"]["flat"] == 0
    assert bends not in text and "flattens" not in text and "aplana" not in text and no_bends in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_heavy_tails_are_claimed_only_where_the_largest_draws_hold_most_of_the_variance(prior_runs, language):
    claim = {"en": "networks are heavy-tailed", "es": "tienen colas pesadas"}[language]
    facts, text = _section(prior_runs, _outcomes(prior_runs[1]), language)
    assert facts["tails"]["heavy"] == [] and claim not in text

    narrow_relu = _outcomes(prior_runs[1], heavy=lambda m: (m.activation, m.width) == ("relu", 1))
    facts, text = _section(prior_runs, narrow_relu, language)
    assert [(row["activation"], row["depth"]) for row in facts["tails"]["heavy"]] == [("relu", 1), ("relu", 2)]
    assert facts["tails"]["heaviest"]["share"] > 2 * facts["tails"]["gaussian"]
    assert claim in text
    assert {"en": "of the 2,000 relu draws hold", "es": "de las 2.000 muestras con ReLU concentra"}[language] in text
    assert {"en": "narrow networks get more draws here (2,000 at width 1, 400 at width 100)",
            "es": "las redes angostas reciben más muestras (2.000 con ancho 1; 400 con ancho 100)"}[language] in text


def test_draws_caption_notes_growing_scales_only_where_the_measured_spread_grows(prior_runs):
    study, runs = prior_runs
    note = "the measured spread grows with width in every row"
    # The measured spread of relu with two hidden layers falls with width (its prediction grows like the width).
    falling = _outcomes(runs, lambda m: m.width ** -1.5 if (m.activation, m.depth) == ("relu", 2) else 1.0)
    with speaking("en"):
        grows, falls = analyze(study, runs, _outcomes(runs)), analyze(study, runs, falling)
        assert [row["grows"] for row in grows.facts["scales_grow"]] == [True, True]
        assert [row["grows"] for row in falls.facts["scales_grow"]] == [True, False]
        assert note in grows.figures["draws_depth2"]().caption
        assert note in falls.figures["draws_depth1"]().caption and note not in falls.figures["draws_depth2"]().caption


def test_growth_with_depth_is_explained_by_how_the_second_moment_grows(prior_runs):
    facts, text = _section(prior_runs, _outcomes(prior_runs[1]), "en")
    growth = {row["activation"]: row for row in facts["growth"]["rows"]}
    assert growth["relu"]["moment"] == "proportional" and growth["relu"]["exponent"] == pytest.approx(1.0)
    assert growth["tanh"]["moment"] == "saturating" and growth["tanh"]["exponent"] < 0.1
    assert growth["relu"]["ratio"] == pytest.approx(2.0, abs=0.05)  # slope 1.0 with two layers against 0.5
    assert facts["growth"]["compounding"] == ["relu"] and facts["growth"]["depth_free"] == ["tanh"]
    assert "For relu, \\(\\mathbb{E}[g(z)^2]\\) is proportional to \\(q\\)" in text
    assert "For tanh, \\(\\mathbb{E}[g(z)^2]\\) hardly grows with \\(q\\)" in text
    assert "0.5 predicted" not in text and "against 0.5" not in text


def test_student_handout_states_the_theory_but_no_finding(prior_runs):
    outcomes = _outcomes(prior_runs[1])
    facts, student = _section(prior_runs, outcomes, "en", audience="student")
    _, instructor = _section(prior_runs, outcomes, "en")
    assert "exact at every width and depth" in student and "What happens when you add more hidden layers?" in student
    for finding in ("Results", "turn on average", "matches the theory", "predicted slope", "flattens",
                    AGREE["en"], "fig-prior-spread", "tab-prior-slopes"):
        assert finding in instructor, finding
        assert finding not in student, finding
    for slope in facts["slopes"]:
        assert f"{slope['measured']:.2f} (" not in student


def test_facts_are_plain_data_that_survive_the_analysis_cache(prior_runs):
    study, runs = prior_runs
    outcomes = _outcomes(runs)
    with speaking("en"):
        result = analyze(study, runs, outcomes)
        again = analyze(study, runs, outcomes)
    text = json.dumps(result.facts, allow_nan=False, sort_keys=True)
    assert text == json.dumps(again.facts, allow_nan=False, sort_keys=True)
    assert json.loads(text) == json.loads(json.dumps(result.facts))  # string keys, lists: the same after JSON
    stored = StudyResult.from_payload(study, tuple(runs), json.loads(json.dumps(
        {**result.to_payload(), "figures": {}})))
    assert stored.facts == json.loads(text)
