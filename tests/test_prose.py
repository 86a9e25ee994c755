"""The prose states the recipe the definitions give, not the lecture's defaults typed by hand."""

from __future__ import annotations

import pytest

from .conftest import TINY_COURSE, run_reportgen, write_files
from .support import section, text_with_formulas


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    """The tiny course built with another recipe: 30 points, learning rate 0.005, noise 0.2, seed 7, a wider grid."""
    root = tmp_path_factory.mktemp("prose")
    course = write_files(root / "course", TINY_COURSE)
    out = root / "out"
    result = run_reportgen("build", "--definitions", course, "--out", out, "--cache", root / "cache",
                           "--set", "data.points=30", "--set", "train.lr=0.005", "--set", "overfitting.train.steps=70",
                           "--set", "regularization.train.steps=70", "--set", "capacity.train.steps=50",
                           "--set", "data.seed=7", "--set", "data.test_points=150", "--set", "data.removed=[3, 4]",
                           "--set", "capacity.model.activation=sigmoid")
    assert result.returncode == 0, result.stderr
    return (out / "report.html").read_text()


def test_introduction_states_the_changed_data_recipe(changed):
    intro = text_with_formulas(section(changed, "introduction"))
    assert "30 equally spaced inputs" in intro
    assert "the 2 with indices 3 and 4 are deleted" in intro and "the 28 that remain" in intro
    assert "seeded with 7" in intro and "grid of 150 points" in intro
    assert "x * sin(10 * x)" in intro
    for lecture_default in ("Twenty", "fifteen", "indices 9", "200 points", "seeded with 0"):
        assert lecture_default not in intro, lecture_default


def test_introduction_states_training_per_study_where_studies_differ(changed):
    intro = text_with_formulas(section(changed, "introduction"))
    assert "learning rate 0.005" in intro and "learning rate 0.01" not in intro
    assert "(betas 0.9 and 0.999, epsilon 10⁻⁸)" in intro  # eps = 1e-8 as written, not 0.00000001
    assert "70 steps (Overfitting; Regularization) and 50 steps (Capacity)" in intro
    assert "10,000" not in intro and "5,000" not in intro


def test_study_sections_state_their_own_recipe(changed):
    capacity = text_with_formulas(section(changed, "capacity"))
    assert "learning rate 0.005" in capacity and "for 50 steps" in capacity
    assert "sigmoid hidden units" in capacity and "Explore the solutions with 1 and 3 units" in capacity
    assert "5,000" not in capacity and "tanh hidden units" not in capacity
    for study in ("overfitting", "regularization", "capacity"):
        setup = text_with_formulas(changed.split(f'id="{study}-setup"', 1)[1].split("</dl>", 1)[0])
        assert "30 equally spaced inputs" in setup and "indices 3, 4 removed (28 left)" in setup
        assert "NumPy seed 7" in setup and "test grid of 150 points" in setup
        assert "learning rate 0.005" in setup
