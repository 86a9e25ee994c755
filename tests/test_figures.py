"""Figures and equations: the slimmed SVGs draw what matplotlib and ziamath drew, panels are placed so nothing is
cut, log ticks read well."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from reportgen.figures import figure, log_scale, matplotlib_svg, power_label, to_svg
from reportgen.mathsvg import render_latex
from reportgen.svgslim import slim

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
WIDTH, HEIGHT = 660, 260  # CSS pixels of the figure (6.6 x 2.6 in at 100 per inch)


def busy_figure():
    """Two panels with what the studies draw: a gap, a dashed target, markers, log axes, a legend outside, a raster."""
    x = np.linspace(0, 1, 200)
    with figure(1, 2, height=2.6) as (fig, axes):
        left, right = axes[0]
        left.axvspan(0.4, 0.7, color="#bbbbbb", alpha=0.35, lw=0, label="gap")
        left.plot(x, np.sin(6 * x), "--", color="#d62728", label="target")
        left.scatter(np.linspace(0, 1, 15), np.cos(5 * np.linspace(0, 1, 15)), s=14, color="#222222", label="data")
        left.plot(x, np.cos(3 * x), color="C0", rasterized=True, label="raster")
        left.set_title("noise 0.1")
        left.set_xlabel("x")
        steps = np.geomspace(1, 5000, 200)
        right.plot(steps, 100 / steps, color="C1", label="loss")
        right.plot([1, 10, 100, 1000], [3, 0.5, 0.05, 0.004], "o", color="C2", ms=3.5, label="measured")
        log_scale(right)
        right.set_xlabel("Adam step")
        right.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return matplotlib_svg(fig), fig


def elements(svg: str) -> int:
    return len(ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", svg)).findall(".//*"))


def texts(svg: str) -> list[str]:
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", svg))
    return ["".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_slimmed_svg_keeps_every_text_in_a_fraction_of_the_elements_and_bytes():
    original, _ = busy_figure()
    slimmed = slim(original)
    assert texts(slimmed) == texts(original)
    assert elements(slimmed) * 3 < elements(original)
    assert len(slimmed) < 0.8 * len(original)
    assert "style=" not in slimmed and "<metadata" not in slimmed
    assert slim(original) == slimmed  # deterministic


def test_slimmed_raster_is_a_palette_png_with_the_same_pixels():
    original, _ = busy_figure()
    [before] = re.findall(r'data:image/png;base64,([^"]+)"', original)
    [after] = re.findall(r'data:image/png;base64,([^"]+)"', slim(original))
    from PIL import Image

    old = Image.open(io.BytesIO(base64.b64decode(before)))
    new = Image.open(io.BytesIO(base64.b64decode(after)))
    assert new.mode == "P" and new.size == old.size
    difference = np.abs(np.asarray(old.convert("RGBA"), int) - np.asarray(new.convert("RGBA"), int))
    assert difference.mean() < 1.0 and difference.max() <= 64


def screenshot(tmp_path, svgs: list[str], width: int, height: int) -> list[np.ndarray]:
    """Grey levels of each SVG drawn by Chromium at ``width`` x ``height`` CSS pixels, one above the other."""
    page = tmp_path / "both.html"
    images = "".join(f'<img style="display:block;width:{width}px;height:{height}px" '
                     f'src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">' for svg in svgs)
    page.write_text(f"<!doctype html><body style='margin:0;background:white'>{images}</body>")
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
                    f"--window-size={width},{len(svgs) * height}", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), int)
    return [pixels[i * height:(i + 1) * height] for i in range(len(svgs))]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_slimmed_svg_looks_the_same_in_chromium(tmp_path):
    original, _ = busy_figure()
    top, bottom = screenshot(tmp_path, [original, slim(original)], WIDTH, HEIGHT)
    assert (top < 250).sum() > 5000  # the figure was drawn at all
    difference = np.abs(top - bottom)
    # Coordinates move by at most 1/100 pt: only anti-aliasing at a few edges may differ, and only slightly.
    assert (difference > 64).sum() == 0
    assert (difference > 8).mean() < 0.01


FORMULA = r"\mathrm{Var}\,f(x) = \sigma_b^2 + \frac{N_h\,\sigma_w^2}{\sqrt{1 + x^2}}\,\mathbb{E}\left[g(z)^2\right]"


def test_an_equation_is_one_path_with_a_subpath_per_glyph_contour_and_rule():
    svg = render_latex(FORMULA, display=True).svg
    root = ET.fromstring(svg)
    drawn = [element.tag.split("}")[-1] for element in root.iter()][1:]
    assert drawn == ["path"]
    subpaths = len(re.findall("[Mm]", root.find("{http://www.w3.org/2000/svg}path").get("d")))
    assert subpaths > 30  # about 20 glyphs of one or more contours, the fraction bar and the root's rule


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_an_equation_as_one_path_looks_like_ziamaths_own_drawing(tmp_path):
    import ziamath

    ours = render_latex(FORMULA, display=True)
    ziamath.config.svg2, ziamath.config.precision = True, 3
    theirs = ziamath.Latex(FORMULA, size=16.0, inline=False).svg()
    scale = 4  # drawn large, so that a glyph out of place by a fraction of a pixel would show
    width, height = round(ours.width_em * 16 * scale), round(ours.height_em * 16 * scale)
    mine, reference = screenshot(tmp_path, [ours.svg, theirs], width, height)
    assert (reference < 128).sum() > 0.05 * width * height  # ziamath drew the formula
    difference = np.abs(mine - reference)
    assert (difference > 128).sum() < 0.002 * width * height  # coordinates rounded to 1/100 px, nothing else
    assert (difference > 32).mean() < 0.02


def test_arranged_panels_keep_every_label_and_the_legend_inside_the_figure_without_overlap():
    _, fig = busy_figure()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # positions in this renderer's pixels (the SVG was drawn at 72 per inch)
    renderer = canvas.get_renderer()
    frame = fig.bbox
    left, right = fig.axes
    for ax in (left, right):
        for text in [ax.title, ax.xaxis.label, ax.yaxis.label, *drawn_labels(ax.xaxis), *drawn_labels(ax.yaxis)]:
            if text.get_text() and text.get_visible():
                box = text.get_window_extent(renderer)
                assert frame.x0 - 0.5 <= box.x0 and box.x1 <= frame.x1 + 0.5, text.get_text()
                assert frame.y0 - 0.5 <= box.y0 and box.y1 <= frame.y1 + 0.5, text.get_text()
    legend = right.get_legend().get_window_extent(renderer)
    assert legend.x1 <= frame.x1 + 0.5 and legend.x0 >= right.get_window_extent(renderer).x1 - 0.5
    # The right panel's y tick labels start after the left panel's frame ends.
    first_label = min(t.get_window_extent(renderer).x0 for t in drawn_labels(right.yaxis) if t.get_text())
    assert first_label > left.get_window_extent(renderer).x1


def drawn_labels(axis) -> list:
    """The tick labels matplotlib draws: those of ticks inside the view limits."""
    low, high = sorted(axis.get_view_interval())
    return [tick.label1 for tick in axis.get_major_ticks() if low <= tick.get_loc() <= high]


def test_log_axes_label_powers_of_ten_as_text_and_keep_minor_ticks_only_on_short_axes():
    with figure(1, 2) as (fig, axes):
        wide, short = axes[0]
        wide.plot([1, 1e6], [1e-6, 1])
        short.plot([1, 8], [2, 9])
        log_scale(wide)
        log_scale(short)
        svg = to_svg(fig)
    labels = texts(svg)
    assert "10⁶" in labels and "10⁻⁶" in labels
    assert not any("$" in label or "mathdefault" in label for label in labels)
    assert wide.xaxis.get_minorticklocs().size == 0
    assert {"2", "5"} <= set(labels)  # the short axis: 2 and 5 between 1 and 10 carry the reading


@pytest.mark.parametrize("value, label", [(1000, "10³"), (1e-4, "10⁻⁴"), (1, "10⁰"), (20, "20"), (0.5, "0.5"),
                                          (2e-5, "2×10⁻⁵"), (5e6, "5×10⁶"), (0, "")])
def test_power_label(value, label):
    assert power_label(value) == label


def test_arranged_panels_leave_room_for_axis_labels_wider_than_a_panel():
    with figure(1, 3, height=2.5, sharey=True) as (fig, axes):
        for ax in axes[0]:
            ax.plot([1, 1000], [1, 30])
            log_scale(ax)
            ax.set_xlabel("width (units per hidden layer)")
        matplotlib_svg(fig)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    boxes = [ax.xaxis.label.get_window_extent(canvas.get_renderer()) for ax in axes[0]]
    for a, b in zip(boxes, boxes[1:]):
        assert a.x1 < b.x0, "neighbouring axis labels overlap"
    assert boxes[0].x0 >= 0 and boxes[-1].x1 <= fig.bbox.x1


def test_power_labels_write_a_decimal_comma_in_spanish():
    from reportgen.language import speaking

    with speaking("es"):
        assert [power_label(v) for v in (0.5, 0.02, 1000, 2e-5)] == ["0,5", "0,02", "10³", "2×10⁻⁵"]


def test_a_title_wider_than_its_panel_is_broken_into_two_lines_that_do_not_overlap_the_next():
    long = "training SSE (× = least-squares optimum) of every polynomial"
    with figure(1, 2, height=2.5) as (fig, axes):
        for ax in axes[0]:
            ax.plot([0, 1], [0, 1])
            ax.set_title(long)
        matplotlib_svg(fig)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    left, right = (ax.title.get_window_extent(canvas.get_renderer()) for ax in axes[0])
    assert axes[0][0].get_title().count("\n") == 1 and left.x1 < right.x0
    assert right.x1 <= fig.bbox.x1 and left.y1 <= fig.bbox.y1


def overlapping_texts(fig) -> list[str]:
    """Pairs of drawn texts (titles, axis labels, tick labels, legend entries) whose boxes overlap, and texts that
    reach outside the figure, measured on ``fig`` as drawn (after it was saved)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # positions in this renderer's pixels, every label placed
    renderer = canvas.get_renderer()
    texts = [*fig.texts]
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            texts += [tick.label1 for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]
                      if low <= tick.get_loc() <= high]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    boxes = [(text.get_text().replace("\n", " "), text.get_window_extent(renderer).padded(-0.5))
             for text in texts if text.get_visible() and text.get_text().strip()]
    found = [f"{a!r} overlaps {b!r}" for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:]
             if box_a.overlaps(box_b)]
    frame = fig.bbox.padded(0.5)
    found += [f"{a!r} reaches outside the figure" for a, box in boxes
              if not (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1)]
    return found


def test_no_label_of_any_figure_of_the_four_study_kinds_overlaps_another(tiny_course, tmp_path, monkeypatch):
    """Every figure the studies draw for the tiny course, in both languages, measured as drawn: labels apart, inside."""
    from reportgen import figures
    from reportgen.execute import run_study
    from reportgen.spec import load_course

    drawn = []
    original = figures.matplotlib_svg

    def measured(fig):
        svg = original(fig)
        drawn.append((fig.axes[0].get_title() or fig.axes[0].get_xlabel(), overlapping_texts(fig)))
        return svg

    monkeypatch.setattr(figures, "matplotlib_svg", measured)
    for study in load_course(tiny_course).studies:
        run_study(study, tmp_path / "store", languages=("en", "es"))  # in this process: every figure drawn here
    assert len(drawn) >= 2 * 9
    problems = [f"{name}: {found}" for name, found in drawn if found]
    assert not problems, "\n".join(problems)


def test_plotted_values_list_each_curve_at_sampled_points_and_every_point_of_a_short_series():
    from reportgen.figures import ROWS_PER_CURVE, plotted_values

    x = np.linspace(0.0, 1.0, 201)
    with figure(1, 1) as (fig, axes):
        ax = axes[0][0]
        ax.plot(x, 2 * x, label="fit")
        ax.plot(x, x ** 2, label="target")
        ax.plot([0.0, 0.5, 1.0], [1.5, 0.25, -0.125], "o", label="data")
        ax.set_title("noise 0.1")
        ax.set_xlabel("x")
        tables = plotted_values(fig)
        without_data = plotted_values(fig, listed_elsewhere=("data",))
    curves, points = tables
    assert [t["title"] for t in tables] == ["noise 0.1: fit, target", "noise 0.1: data"]
    assert [t["title"] for t in without_data] == ["noise 0.1"] and without_data[0]["rows"] == curves["rows"]
    assert curves["columns"] == ["x", "fit", "target"] and len(curves["rows"]) == ROWS_PER_CURVE
    assert curves["rows"][0] == ["0", "0", "0"] and curves["rows"][-1] == ["1.00", "2.00", "1.00"]
    assert curves["rows"][5] == ["0.500", "1.00", "0.250"]
    assert points["title"] == "noise 0.1: data" and points["rows"] == [["0", "1.50"], ["0.500", "0.250"],
                                                                        ["1.00", "−0.125"]]


def test_a_linear_axis_of_large_values_labels_each_tick_with_its_power_of_ten_and_no_offset():
    from reportgen.figures import powers_of_ten

    with figure(1, 1) as (fig, axes):
        ax = axes[0][0]
        ax.plot([0, 1], [-3e7, 6e7])
        powers_of_ten(ax.yaxis)
        to_svg(fig)
        labels = [t.get_text() for t in drawn_labels(ax.yaxis) if t.get_text()]
        assert ax.yaxis.get_offset_text().get_text() == ""
    assert labels and all(label == "0" or "×10" in label or label.lstrip("−").startswith("10") for label in labels)
    assert "−2×10⁷" in labels and "4×10⁷" in labels
