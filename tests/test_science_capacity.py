"""The capacity section says what its numbers show: each claim is a computed fact, and its sentence flips with it.

The runs' outcomes are constructed, not trained: each fit is the noiseless target plus a constant offset per region,
so its test error inside the data, in the gap and beyond is exactly the square of that offset, and each claim can be
put on either side of its threshold.
"""

from __future__ import annotations

import math
import re
from html import unescape

import numpy as np
import pytest

from reportgen.data import make_dataset, polynomial_map, region_errors
from reportgen.formatting import fmt_pm
from reportgen.language import speaking
from reportgen.outcomes import RegressionOutcome
from reportgen.plan import plan_study
from reportgen.schema import DataSpec
from reportgen.spec import load_course
from reportgen.stats import Interval, interval
from reportgen.studies.capacity_analysis import analyze, panel_title, relation
from reportgen.studies.regression import dataset_of, noise_floor

from .conftest import write_files
from .support import render_section

FIT = {"train": 0.07, "inside": 0.008, "gap": 0.003, "outside": 0.01}
"""A good fit: below the noise floor (15 × 0.1² = 0.15), as close to the target in the gap as inside."""
RIGID = {"train": 2.0, "inside": 0.08, "gap": 0.2, "outside": 0.6}
"""One unit: far above the floor, and worse in the gap (where the target swings) than inside."""
WIDER = {"train": 0.06, "inside": 0.02, "gap": 0.01, "outside": 0.02}
"""Clearly worse than FIT over the data's range, but no overshoot."""
WILD = {"train": 0.002, "inside": 0.01, "gap": 0.4, "outside": 0.03}
"""Far below the floor and overshooting in the gap, like two hidden layers of 10 units."""


def course(folder, depths=(1, 2), seeds=(0, 1, 2), activation: str = "tanh", extra: str = ""):
    """A capacity study of widths 1, 5 and 10 (nothing is trained: the outcomes are built by :func:`outcomes`)."""
    files = {
        "course.toml": 'title = "Capacity"\nstudies = ["capacity"]\n',
        "capacity.toml": f'''
kind = "capacity"
title = "Capacity"
[model]
kind = "mlp"
activation = "{activation}"
{extra}
[train]
steps = 50
[sweep]
"model.width" = [1, 5, 10]
"model.depth" = {list(depths)}
seeds = {list(seeds)}
''',
    }
    return load_course(write_files(folder, files)).studies[0]


def outcome(run, errors: dict[str, float], seed_scale: float) -> RegressionOutcome:
    """The target plus a constant offset per region: region MSEs ``errors`` times ``seed_scale``."""
    data = dataset_of(run)
    regions = data.regions()
    pred = data.f_test.copy()
    for region in ("inside", "gap", "outside"):
        pred[regions[region]] += math.sqrt(errors[region] * seed_scale)
    train = errors["train"] * seed_scale
    losses = np.geomspace(20.0, train, 50).astype(np.float32)
    return RegressionOutcome(status="ok", losses=losses, train_sse=train, train_pred=data.f_train.copy(),
                             test_pred=pred, parameters=np.zeros(run.config.model.width * 3 + 1, np.float32),
                             diverged_at=None, snapshot_steps=np.zeros(0, np.int64),
                             snapshots=np.zeros((0, len(pred)), np.float32))


def outcomes(runs, table: dict, spread: float = 0.02, spread_of: dict | None = None):
    """Outcomes from ``table[(width, depth)]`` (else ``table[width]``), each seed scaled by 1 + spread × (seed − 1)
    (``spread_of`` may give a configuration its own spread)."""
    out = []
    for run in runs:
        model = run.config.model
        key = (model.width, model.depth) if (model.width, model.depth) in table else model.width
        jitter = (spread_of or {}).get(key, spread)
        out.append(outcome(run, table[key], 1 + jitter * (run.seed - 1)))
    return out


def study_result(study, table, language="en", **kw):
    runs = plan_study(study)
    with speaking(language):
        return analyze(study, runs, outcomes(runs, table, **kw))


def rendered(result, audience="instructor", language="en") -> str:
    """The study's section as a reader sees it (tags dropped, image alt text kept)."""
    html = render_section(result, audience, language)
    html = re.sub(r'<img[^>]*\balt="([^"]*)"[^>]*>', lambda m: f" {m.group(1)} ", html)
    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return course(tmp_path_factory.mktemp("capacity"))


BASE = {1: RIGID, 5: FIT, 10: WIDER}


# ---------------------------------------------------------------- comparisons


def test_relation_is_lower_only_beyond_both_intervals_and_unknown_without_a_spread():
    assert relation(interval([1.0, 1.1, 1.2]), interval([2.0, 2.1, 2.2])) == "lower"
    assert relation(interval([2.0, 2.1, 2.2]), interval([1.0, 1.1, 1.2])) == "higher"
    assert relation(interval([1.0, 1.5, 2.0]), interval([1.4, 1.9, 2.4])) == "within"
    assert relation(interval([1.0]), interval([2.0, 2.1, 2.2])) == "unknown"
    assert relation(Interval(0.5, 0.0, 1), interval([1.0, 1.1, 1.2])) == "lower"  # a closed form has no spread


# ---------------------------------------------------------------- "best" and "lower" against the seed spread


def test_best_width_is_claimed_lower_only_when_beyond_the_seed_spread(study):
    clear = study_result(study, BASE)
    s = clear.facts["series"][0]
    assert s["best"]["width"] == 5 and s["clearly_lowest"] and not s["within"]
    text = rendered(clear)
    assert "comes with 5 units, lower than with any other width beyond the spread over seeds" in text

    # 10 units as good as 5 on average, but with a wide spread: the same mean ranking, now within the spread.
    close = study_result(study, {1: RIGID, 5: FIT, 10: {**FIT, "inside": 0.0081, "gap": 0.0031}},
                         spread_of={10: 0.4})
    s = close.facts["series"][0]
    assert s["best"]["width"] == 5 and not s["clearly_lowest"] and [o["width"] for o in s["within"]] == [10]
    text = rendered(close)
    assert "lower than with any other width" not in text
    assert "comes with 5 units, but its difference from 10 units" in text and "is within the spread over seeds" in text


def test_best_width_sentence_flips_in_spanish_too(study):
    assert "menor que con cualquier otro ancho más allá de la dispersión entre semillas" in rendered(
        study_result(study, BASE, "es"), language="es")
    close = study_result(study, {1: RIGID, 5: FIT, 10: {**FIT, "inside": 0.0081, "gap": 0.0031}}, "es",
                         spread_of={10: 0.4})
    text = rendered(close, language="es")
    assert "pero su diferencia con 10 unidades" in text and "menor que con cualquier otro ancho" not in text


def test_one_seed_claims_no_ranking_and_tables_show_no_interval(tmp_path):
    single = course(tmp_path / "one", seeds=(0,))
    result = study_result(single, BASE)
    assert result.facts["seeds"] == 1
    assert all(o["relation"] == "unknown" for o in result.facts["series"][0]["others"])
    text = rendered(result)
    assert "with one seed there is no spread over seeds to tell whether another seed would rank the widths" in text
    assert "beyond the spread" not in text.split("Why depth matters")[0].replace(
        "No network ends below", "")  # nothing is claimed beyond a spread that one seed cannot show
    for table in result.tables.values():
        assert "one seed" in table.caption and not any("±" in str(cell) for row in table.rows for cell in row)


def test_tables_give_mean_and_95_percent_interval_over_seeds(study):
    result = study_result(study, BASE)
    (row,) = [r for r in result.tables["errors"].rows if r[:2] == ("1", "5")]
    train = interval([FIT["train"] * (1 + 0.02 * (seed - 1)) for seed in (0, 1, 2)])
    assert row[3] == fmt_pm(train.mean, train.half_width)  # the 95 % t half-width, not the standard deviation
    for table in result.tables.values():
        assert "mean and 95 % interval over 3 seeds (Student's t)" in table.caption


# ---------------------------------------------------------------- the noise floor


def test_noise_floor_is_the_noise_drawn_into_the_points_and_each_configuration_is_placed_against_it(study,
                                                                                                      tmp_path):
    result = study_result(study, BASE)
    facts = result.facts
    floor = noise_floor(make_dataset(DataSpec()))
    assert facts["noise_floor"] == pytest.approx(floor) and floor == pytest.approx(0.17726, abs=1e-5)
    by = {(c["width"], c["depth"]): c for c in facts["configurations"]}
    assert by[5, 1]["floor_ratio"] == pytest.approx(FIT["train"] / floor)
    assert by[5, 1]["floor"] == "lower" and by[1, 1]["floor"] == "higher"
    noisier = study_result(course(tmp_path / "noisy", extra="[data]\nnoise = 0.2"), BASE)
    assert noisier.facts["noise_floor"] == pytest.approx(noise_floor(make_dataset(DataSpec(noise=0.2))))


def test_noise_floor_sentence_matches_the_best_network(study):
    below = rendered(study_result(study, BASE))
    assert "The noise floor, 0.177, is the training SSE the noiseless target itself scores" in below
    assert "its expectation is n σ² = 15 × 0.1² = 0.150" in below
    assert "one hidden layer of 5 units" in below
    assert "ends at 0.395 times the floor, below it beyond the spread" in below
    assert "it too fits some of the noise" in below

    # The best network now trains above the floor: no sentence may call it below.
    above = rendered(study_result(study, {1: RIGID, 5: {**FIT, "train": 0.3}, 10: {**WIDER, "train": 0.3}}))
    assert "ends at 1.69 times the floor, above it beyond the spread over seeds" in above
    assert "it too fits some of the noise" not in above


def test_far_below_the_floor_is_said_only_of_networks_that_are(study):
    calm = study_result(study, BASE)
    assert calm.facts["far_below_floor"] == []
    assert "No network ends below 0.1 times the floor beyond the spread over seeds." in rendered(calm)
    wild = study_result(study, {**BASE, (10, 2): WILD})
    assert [(c["width"], c["depth"]) for c in wild.facts["far_below_floor"]] == [(10, 2)]
    assert ("Only the network with two hidden layers of 10 units ends below 0.1 times the floor (its training SSE is "
            "0.0113 times the floor), and it "
            "overshoots in the gap") in rendered(wild)


# ---------------------------------------------------------------- the gap


def test_gap_overshoot_is_a_fact_with_its_size_and_flips_when_the_gap_is_fitted(study):
    wild = study_result(study, {**BASE, (10, 2): WILD})
    (record,) = wild.facts["overshoot"]
    assert (record["width"], record["depth"]) == (10, 2) and record["gap_against_inside"] == "higher"
    assert record["gap_ratio"] == pytest.approx(WILD["gap"] / WILD["inside"])
    first = math.sqrt(WILD["gap"] * (1 + 0.02 * (0 - 1)))  # seed 0, the one drawn solid
    assert record["gap_max_deviation"]["first"] == pytest.approx(first)
    text = rendered(wild)
    assert "With two hidden layers of 10 units, the training SSE falls to" in text
    gap = interval(WILD["gap"] * (1 + 0.02 * (seed - 1)) for seed in (0, 1, 2))
    assert (f"the fit overshoots in the gap: its error there, {fmt_pm(gap.mean, gap.half_width)}, is 40.0 times its "
            "error inside the data") in text
    assert f"it strays up to {first:.3f} from the target in the gap" in text
    assert f"overshoots in the gap: up to {first:.3f} from the target in the first seed" in wild.figures["fits"].alt

    calm = study_result(study, BASE)
    assert calm.facts["overshoot"] == []
    text = rendered(calm)
    assert "overshoot" not in text.replace("No network that trains below", "")
    assert "No network that trains below the noise floor errs more in the gap than inside the data" in text
    assert "overshoots" not in calm.figures["fits"].alt
    assert "In the first seed, the fits that end below the noise floor stray up to" in calm.figures["fits"].alt


def test_gap_worse_but_above_the_floor_is_rigidity_not_overshoot(study):
    result = study_result(study, BASE)
    rigid = [(c["width"], c["depth"]) for c in result.facts["gap_worse_above_floor"]]
    assert rigid == [(1, 1), (1, 2)] and result.facts["overshoot"] == []
    assert ("The networks with one hidden layer of 1 unit and two hidden layers of 1 unit also err more in the gap "
            "than inside, but their training SSE is above the floor") in rendered(result)


def test_an_overshoot_says_when_only_the_seed_by_seed_ratio_separates_the_errors(study):
    # Seeds far apart (×0.5, ×1, ×1.5): the gap and inside intervals overlap, while every seed's ratio is 40.
    spread = study_result(study, {**BASE, (10, 2): WILD}, spread_of={(10, 2): 0.5})
    (record,) = spread.facts["overshoot"]
    assert record["gap_against_inside_unpaired"] == "within"
    assert record["gap_ratio_paired"]["low"] == pytest.approx(40.0)
    assert ("Compared seed by seed, the gap error is 40.0 to 40.0 times the error inside (95 % interval of the "
            "ratio): higher, although the two errors' own intervals overlap.") in rendered(spread)
    tight = study_result(study, {**BASE, (10, 2): WILD})
    assert tight.facts["overshoot"][0]["gap_against_inside_unpaired"] == "higher"
    text = rendered(tight)
    assert "Compared seed by seed, the gap error is" in text and "intervals overlap" not in text


def test_a_network_straddling_the_floor_that_errs_more_in_the_gap_is_named_as_such(study):
    straddle = {"train": 0.17, "inside": 0.01, "gap": 0.1, "outside": 0.03}  # floor 0.177; seeds ×0.5 to ×1.5
    result = study_result(study, {**BASE, (10, 2): straddle}, spread_of={(10, 2): 0.5})
    (record,) = result.facts["gap_worse_at_floor"]
    assert (record["width"], record["depth"], record["floor"]) == (10, 2, "within")
    assert result.facts["overshoot"] == [] and record not in result.facts["flexible_steady"]
    assert ("With two hidden layers of 10 units, the training SSE, 0.170 ± 0.21, straddles the floor (0.177) over "
            "seeds, and the error in the gap") in rendered(result)
    assert "(two hidden layers of 10 units, whose seeds straddle the floor)" in result.figures["fits"].alt
    even = study_result(study, {**BASE, (10, 2): {**straddle, "gap": 0.01}}, spread_of={(10, 2): 0.5})
    assert even.facts["gap_worse_at_floor"] == [] and "straddles the floor" not in rendered(even)


def test_gap_overshoot_flips_in_spanish(study):
    wild = rendered(study_result(study, {**BASE, (10, 2): WILD}, "es"), language="es")
    assert "Con dos capas ocultas de 10 unidades, la SSE de entrenamiento baja a" in wild
    assert "el ajuste se pasa de la función objetivo en el hueco" in wild
    calm = rendered(study_result(study, BASE, "es"), language="es")
    assert "se dispara" not in calm and "Ninguna red que entrene bajo el umbral de ruido" in calm


# ---------------------------------------------------------------- figures' alt text follows the drawn seed


def test_loss_alt_text_says_wider_ends_lower_only_where_the_first_seed_does(study):
    falling = study_result(study, BASE)
    assert "With one hidden layer, the first seed ends at 1.96, 0.0686, and 0.0588 for 1, 5, and 10 units: lower " \
           "with every added unit." in falling.figures["losses"].alt
    # Seed 0 of 10 units ends above 5 units: the drawn curves contradict "wider is lower".
    rising = study_result(study, {1: RIGID, 5: FIT, 10: {**WIDER, "train": 0.09}})
    assert "for 1, 5, and 10 units: not lower with every added unit" in rising.figures["losses"].alt
    assert "wider networks reach lower training error" not in rising.figures["losses"].alt


def test_figures_draw_every_seed_and_say_so(study):
    result = study_result(study, BASE)
    for name in ("fits", "losses"):
        assert "the first seed solid, the other 2 faint" in result.figures[name].caption


# ---------------------------------------------------------------- the depth in panel titles


def test_depth_ten_is_titled_ten_hidden_layers(tmp_path):
    assert panel_title((("model.depth", 1),)) == "one hidden layer"
    assert panel_title((("model.depth", 2),)) == "two hidden layers"
    assert panel_title((("model.depth", 10),)) == "10 hidden layers"
    assert panel_title((("model.depth", 11),)) == "11 hidden layers"
    assert panel_title((("model.depth", 10), ("data.noise", 0.3))) == "10 hidden layers, noise 0.3"
    with speaking("es"):
        assert [panel_title((("model.depth", d),)) for d in (1, 2, 10, 11)] == \
            ["una capa oculta", "dos capas ocultas", "10 capas ocultas", "11 capas ocultas"]
    deep = study_result(course(tmp_path / "deep", depths=(1, 10)), BASE)
    svg = deep.figures["fits"].svg
    assert "10 hidden layers" in svg and "one hidden layer" in svg and "layer0" not in svg
    assert [s["title"] for s in deep.facts["series"]] == ["one hidden layer", "10 hidden layers"]


# ---------------------------------------------------------------- activity 3: network against polynomial


def _least_squares_best(data):
    """The least-squares polynomial of degree 1 to 10 with the lowest test MSE over the data's range, by hand."""
    regions = data.regions()
    within = regions["inside"] | regions["gap"]
    scored = []
    for degree in range(1, 11):
        prediction = polynomial_map(data.x_train, data.y_train, degree, 0.0).predict(data.x_test)
        scored.append((float(np.mean((prediction - data.f_test)[within] ** 2)), degree, prediction))
    _, degree, prediction = min(scored, key=lambda item: item[:2])
    return degree, region_errors(prediction, data)


def test_polynomial_side_is_the_closed_form_least_squares_fit(study):
    result = study_result(study, BASE)
    p = result.facts["polynomial"]
    degree, errors = _least_squares_best(dataset_of(plan_study(study)[0]))
    assert p["degree"] == degree and p["degrees"] == list(range(1, 11))
    for region in ("inside", "gap", "outside"):
        assert p[f"mse_{region}"] == pytest.approx(errors[f"mse_{region}"])
    text = rendered(result)
    assert "the least-squares polynomial of each degree from 1 to 10, not one trained with Adam" in text
    assert f"has degree {degree} ({degree + 1} coefficients, against the network's 16 parameters)" in text


def test_activity_three_answer_flips_with_which_is_better_in_the_gap(study):
    degree, errors = _least_squares_best(dataset_of(plan_study(study)[0]))
    poly_gap = errors["mse_gap"]
    network_better = study_result(study, {**BASE, 5: {**FIT, "gap": poly_gap / 10}})
    assert network_better.facts["versus"]["better_in_gap"] == "network"
    assert "In the gap, then, the best network behaves better than the least-squares polynomial." in rendered(
        network_better)
    poly_better = study_result(study, {**BASE, 5: {**FIT, "gap": poly_gap * 3}, 10: {**WIDER, "gap": poly_gap * 5}})
    assert poly_better.facts["versus"]["better_in_gap"] == "polynomial"
    assert "In the gap, then, the least-squares polynomial behaves better than the best network." in rendered(
        poly_better)
    tied = study_result(study, {**BASE, 5: {**FIT, "gap": poly_gap}}, spread_of={5: 0.5})
    assert tied.facts["versus"]["better_in_gap"] == "within"
    assert "In the gap, then, neither behaves better beyond the spread over seeds." in rendered(tied)


def test_extrapolation_lesson_is_stated_only_when_the_numbers_show_it(study, tmp_path):
    bounded = study_result(study, BASE)
    assert bounded.facts["versus"]["outside"] == "higher" and bounded.facts["polynomial"]["outside_grows_with_degree"]
    assert "a polynomial grows without bound away from its data, while a sum of tanh units levels off" in rendered(
        bounded)
    # The network extrapolates worse than the polynomial: no word of levelling off.
    worse = study_result(study, {**BASE, 5: {**FIT, "outside": 5.0}})
    assert worse.facts["versus"]["outside"] == "lower" and not worse.facts["versus"]["network_levels_off"]
    assert "levels off" not in rendered(worse)
    # ReLU networks do not saturate: the same numbers do not make them level off.
    relu = study_result(course(tmp_path / "relu", activation="relu"), BASE)
    assert not relu.facts["versus"]["network_levels_off"] and "levels off" not in rendered(relu)


# ---------------------------------------------------------------- editions and determinism


def test_student_handout_gives_no_answer(study):
    result = study_result(study, {**BASE, (10, 2): WILD})
    student = rendered(result, audience="student")
    assert "Which behaves better in the gap? And beyond the data?" in student
    for answer in ("overshoot", "noise floor", "least-squares polynomial", "spread over seeds", "behaves better than",
                   "levels off", "times the floor"):
        assert answer not in student, answer
    instructor = rendered(result)
    assert "least-squares polynomial" in instructor and "overshoots" in instructor


def test_same_outcomes_give_the_same_facts_figures_and_words(study):
    first, second = study_result(study, {**BASE, (10, 2): WILD}), study_result(study, {**BASE, (10, 2): WILD})
    assert first.facts == second.facts
    assert {k: f.svg for k, f in first.figures.items()} == {k: f.svg for k, f in second.figures.items()}
    assert rendered(first) == rendered(second)
