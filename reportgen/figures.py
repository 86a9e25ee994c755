"""Matplotlib helpers shared by the studies: deterministic SVG figures in one house style.

Figures are built on ``matplotlib.figure.Figure`` directly, each with its own
SVG canvas attached, never through pyplot or a process-wide backend (importing
reportgen leaves the host's matplotlib backend alone), inside an ``rc_context``
that fixes the SVG hash salt and drops the date, so the same data always give
the same bytes.
"""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from typing import Callable, Iterator

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import Formatter, FuncFormatter, LogLocator, NullLocator, ScalarFormatter

from .formatting import fmt
from .language import _, fixed, number, power_of_ten
from .results import Figure
from .svgslim import slim

TEXT_WIDTH_IN = 6.6
"""Width of the printed text block (A4 with 2 cm margins), so figures print at 100 %."""

STYLE = {
    "svg.hashsalt": "reportgen",
    "svg.fonttype": "none",
    "font.size": 8.5,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "lines.linewidth": 1.3,
    "figure.dpi": 100,
    "savefig.dpi": 200,  # resolution of rasterized artists inside the SVG
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
}

DATA_COLOR = "#222222"
TRUTH_COLOR = "#d62728"
GAP_COLOR = "#bbbbbb"


class LocalFormatter(ScalarFormatter):
    """Matplotlib's linear tick labels (its choice of decimals), written in the current language by Babel."""

    def _format_maybe_minus_and_locale(self, fmt: str, arg: float) -> str:
        decimals = re.fullmatch(r"%1\.(\d+)f", fmt)
        if decimals is None:  # mathtext or TeX formats: left to matplotlib
            return super()._format_maybe_minus_and_locale(fmt, arg)
        return self.fix_minus(fixed(arg, int(decimals.group(1))))


@contextmanager
def figure(nrows: int = 1, ncols: int = 1, height: float = 2.6, **subplot_kw) -> Iterator[tuple[MplFigure, np.ndarray]]:
    """A fresh figure at text width in the house style, its tick labels in the current language; yields
    (figure, 2-D array of axes)."""
    with matplotlib.rc_context(STYLE):
        # No layout engine: to_svg arranges the panels once, from measured decorations (see arrange).
        fig = MplFigure(figsize=(TEXT_WIDTH_IN, height))
        FigureCanvasSVG(fig)  # the figure's own canvas: it prints SVG, and opens no window
        axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
        for ax in axes.flat:
            ax.xaxis.set_major_formatter(LocalFormatter())
            ax.yaxis.set_major_formatter(LocalFormatter())
        yield fig, axes


def to_svg(fig: MplFigure) -> str:
    """Render ``fig`` to byte-stable SVG text, slimmed (see :mod:`reportgen.svgslim`)."""
    return slim(matplotlib_svg(fig))


def matplotlib_svg(fig: MplFigure) -> str:
    """Matplotlib's own SVG of ``fig``, its panels arranged, before slimming."""
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        if fig.get_layout_engine() is None:
            arrange(fig)
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


PAD_PX = 4.0
"""Space between the figure's edge and the decorations next to it, in pixels at figure dpi."""
GAP_PX = 18.0
"""Space between neighbouring panels' decorations, so that shared-axis panels do not touch."""


def arrange(fig: MplFigure) -> None:
    """Place a grid of panels so that every label, title and outside legend fits, in one measuring pass.

    Constrained layout finds the same margins by measuring every axis twice;
    here each panel's overhang (how far its tick labels, axis labels, titles
    and legend reach past its frame) is measured once, and the frames are
    sized from those overhangs, column by column and row by row.
    """
    panels = [ax for ax in fig.axes if ax.get_subplotspec() is not None]
    if not panels or len(panels) != len(fig.axes):
        fig.set_layout_engine("constrained")  # an inset or a colour bar: not a plain grid
        return
    nrows, ncols = panels[0].get_subplotspec().get_gridspec().get_geometry()
    renderer = measuring_renderer(fig)
    for ax in panels:
        _wrap_if_wider(ax.title, renderer, fig.bbox.width / ncols - GAP_PX)
    measured = [(ax, ax.get_subplotspec(), ax.get_window_extent(renderer), *_decorations(ax, renderer))
                for ax in panels]
    width, height = fig.bbox.width, fig.bbox.height
    panel_w = width / ncols
    for _iteration in range(3):  # a centred label wider than its panel widens the margins, which narrows the panel
        left, right = np.zeros(ncols), np.zeros(ncols)
        top, bottom = np.zeros(nrows), np.zeros(nrows)
        for ax, spec, frame, reach, centred in measured:
            spill = max([(w - panel_w) / 2 for w in centred] + [0.0])
            left[spec.colspan.start] = max(left[spec.colspan.start], frame.x0 - reach.x0, spill)
            right[spec.colspan.stop - 1] = max(right[spec.colspan.stop - 1], reach.x1 - frame.x1, spill)
            top[spec.rowspan.start] = max(top[spec.rowspan.start], reach.y1 - frame.y1)
            bottom[spec.rowspan.stop - 1] = max(bottom[spec.rowspan.stop - 1], frame.y0 - reach.y0)
        panel_w = (width - left.sum() - right.sum() - 2 * PAD_PX - GAP_PX * (ncols - 1)) / ncols
    panel_h = (height - top.sum() - bottom.sum() - 2 * PAD_PX - GAP_PX * (nrows - 1)) / nrows
    x0 = PAD_PX + np.cumsum(np.concatenate([[0.0], (left + panel_w + right + GAP_PX)[:-1]])) + left
    y_top = height - PAD_PX - np.cumsum(np.concatenate([[0.0], (top + panel_h + bottom + GAP_PX)[:-1]])) - top
    for ax, spec, *_measures in measured:
        c0, c1, r0, r1 = spec.colspan.start, spec.colspan.stop - 1, spec.rowspan.start, spec.rowspan.stop - 1
        x1 = x0[c1] + panel_w
        y0 = y_top[r1] - panel_h
        ax.set_position([x0[c0] / width, y0 / height, (x1 - x0[c0]) / width, (y_top[r0] - y0) / height])


def measuring_renderer(fig: MplFigure) -> RendererAgg:
    """A renderer that measures ``fig``'s text (the SVG backend uses the same font metrics), attached to no canvas:
    measuring leaves the figure's own SVG canvas in place."""
    width, height = fig.bbox.size
    return RendererAgg(int(width), int(height), fig.dpi)


def _decorations(ax, renderer):
    """The box around a panel's frame and what is drawn outside it, and the widths of its centred labels.

    Tick labels are formatted and measured as text rather than laid out as
    ticks: a fraction of the cost, and the same extent (the tests compare it
    with what is drawn).
    """
    from matplotlib.transforms import Bbox

    frame = ax.get_window_extent(renderer)
    x0, y0, x1, y1 = frame.extents
    points = ax.figure.dpi / 72.0
    yaxis, xaxis = ax.yaxis, ax.xaxis
    if yaxis.get_tick_params()["labelleft"]:
        labels = _tick_labels(yaxis)
        size = yaxis.get_tick_params().get("labelsize", matplotlib.rcParams["ytick.labelsize"])
        widest = max((_extent(renderer, label, size)[0] for label in labels), default=0.0)
        x0 -= (matplotlib.rcParams["ytick.major.size"] + matplotlib.rcParams["ytick.major.pad"]) * points + widest
        offset = yaxis.get_major_formatter().get_offset()
        if offset:
            y1 += _extent(renderer, offset, size)[1] + 2 * points
    if yaxis.label.get_text():
        x0 -= yaxis.labelpad * points + _extent(renderer, yaxis.label.get_text(), yaxis.label.get_fontsize())[1]
    if xaxis.get_tick_params()["labelbottom"]:
        size = xaxis.get_tick_params().get("labelsize", matplotlib.rcParams["xtick.labelsize"])
        labels = _tick_labels(xaxis, with_positions=True)
        y0 -= ((matplotlib.rcParams["xtick.major.size"] + matplotlib.rcParams["xtick.major.pad"]) * points
               + max((_extent(renderer, label, size)[1] for label, _ in labels), default=0.0))
        for label, position in labels:  # end labels may reach past the frame's sides
            half = _extent(renderer, label, size)[0] / 2
            pixel = ax.transData.transform((position, 0.0))[0]
            x0, x1 = min(x0, pixel - half), max(x1, pixel + half)
    if xaxis.label.get_text():
        y0 -= xaxis.labelpad * points + _extent(renderer, xaxis.label.get_text(), xaxis.label.get_fontsize())[1]
    for title in (ax.title, ax._left_title, ax._right_title):
        if title.get_text():
            y1 = max(y1, frame.y1 + matplotlib.rcParams["axes.titlepad"] * points
                     + _extent(renderer, title.get_text(), title.get_fontsize())[1])
    boxes = [Bbox.from_extents(x0, y0, x1, y1)]
    if ax.get_legend() is not None:
        boxes.append(ax.get_legend().get_window_extent(renderer))
    centred = [_extent(renderer, text.get_text(), text.get_fontsize())[0]
               for text in (ax.title, ax.xaxis.label) if text.get_text()]
    return Bbox.union(boxes), centred


def _wrap_if_wider(text, renderer, room: float) -> None:
    """Break a title that is wider than its panel can be into two lines, at the space nearest its middle."""
    words = text.get_text()
    if " " not in words or "\n" in words or _extent(renderer, words, text.get_fontsize())[0] <= room:
        return
    spaces = [i for i, char in enumerate(words) if char == " "]
    middle = min(spaces, key=lambda i: abs(i - len(words) / 2))
    text.set_text(words[:middle] + "\n" + words[middle + 1:])


def _tick_labels(axis, with_positions: bool = False) -> list:
    """The labels an axis will draw (major and labelled minor ticks inside its view), as text."""
    low, high = sorted(axis.get_view_interval())
    out = []
    for locator, formatter in ((axis.get_major_locator(), axis.get_major_formatter()),
                               (axis.get_minor_locator(), axis.get_minor_formatter())):
        locations = [loc for loc in locator() if low <= loc <= high]
        labels = formatter.format_ticks(locations) if locations else []
        out += [(label, loc) for label, loc in zip(labels, locations) if label]
    return out if with_positions else [label for label, _ in out]


def _extent(renderer, text: str, size) -> tuple[float, float]:
    """Width and height in pixels of ``text`` (one line or several) at font ``size`` (points or a name)."""
    from matplotlib.font_manager import FontProperties

    font = FontProperties(size=size)
    # A line is at least as tall as "lp", as matplotlib lays out text: an "x" alone still takes a full line.
    line_height = renderer.get_text_width_height_descent("lp", font, ismath=False)[1]
    lines = [(w, max(h, line_height)) for w, h, _d in
             (renderer.get_text_width_height_descent(line, font, ismath=False) for line in text.split("\n"))]
    spacing = 1.2 if len(lines) > 1 else 1.0  # matplotlib Text's default line spacing
    return max(w for w, _ in lines), sum(h for _, h in lines) * spacing


def ordered_colors(n: int) -> list:
    """``n`` colours along a perceptually ordered map, for a swept quantity."""
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.0, 0.85, max(n, 1))]


MARKERS = ("s", "^", "D", "v", "P", "X", "*", "h")
"""Markers that tell the curves of a sequence apart where colour does not (colour-vision deficiency, grey print);
no circle, which marks the training data."""


def sequence_style(i: int, n: int, points: int) -> dict:
    """Plot keywords for curve ``i`` of ``n`` along an ordered quantity: its colour on the ordered map and its own
    marker, every so many of its ``points``, staggered so that neighbouring curves' markers do not sit together."""
    every = max(1, points // 7)
    return {"color": ordered_colors(n)[i], "marker": MARKERS[i % len(MARKERS)], "ms": 3.2,
            "markevery": (i * every // max(n, 1) % every, every)}


def categorical_colors(n: int) -> list:
    """``n`` distinguishable colours for unordered categories."""
    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def shade_gap(ax, gap: tuple[float, float] | None) -> None:
    """Shade the interval where training points were removed."""
    if gap is not None:
        ax.axvspan(gap[0], gap[1], color=GAP_COLOR, alpha=0.35, lw=0, label=_("gap in the data"))


def shade_beyond(ax, x_test: np.ndarray, x_train: np.ndarray) -> None:
    """Hatch the ends of the evaluation grid that lie beyond the training inputs: extrapolation."""
    spans = [(x_test.min(), x_train.min()), (x_train.max(), x_test.max())]
    for i, (low, high) in enumerate(span for span in spans if span[1] > span[0]):
        ax.axvspan(low, high, facecolor="none", edgecolor=GAP_COLOR, hatch="////", lw=0,
                   label=_("beyond the data") if i == 0 else None)


def data_limits(values: np.ndarray, margin: float = 0.35) -> tuple[float, float]:
    """Y limits around the data, so that wild fits leave the frame instead of flattening the plot."""
    lo, hi = float(np.min(values)), float(np.max(values))
    pad = (hi - lo) * margin
    return lo - pad, hi + pad


def log_scale(ax, x: bool = True, y: bool = True) -> None:
    """Log axes where the plotted data allow it (a study whose runs all diverged has nothing to show)."""
    points = [np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
              for line in ax.get_lines() if line.get_visible()]
    points = np.concatenate(points) if points else np.empty((0, 2))
    drawable = points[np.isfinite(points).all(axis=1)]
    for wanted, set_scale, axis, values in ((x, ax.set_xscale, ax.xaxis, drawable[:, 0]),
                                            (y, ax.set_yscale, ax.yaxis, drawable[:, 1])):
        positive = values[values > 0]
        if wanted and positive.size:
            set_scale("log")
            _log_ticks(axis, float(np.log10(positive.max() / positive.min())))


MINOR_TICKS_BELOW_DECADES = 2.0
"""A log axis spanning fewer decades gets labelled minor ticks: its powers of ten alone are too few to read."""


def _log_ticks(axis, decades: float) -> None:
    # Labels as plain text (10⁻³): matplotlib's mathtext labels cost a parse each and three text runs in the SVG.
    axis.set_major_formatter(FuncFormatter(lambda value, _: power_label(value)))
    if decades >= MINOR_TICKS_BELOW_DECADES:
        axis.set_minor_locator(NullLocator())  # unlabelled minor ticks on a wide axis say nothing the grid does not
    else:
        axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
        axis.set_minor_formatter(FuncFormatter(lambda value, _: power_label(value)))


def powers_of_ten(axis) -> None:
    """Label a linear axis whose values may run to 10⁴ or beyond (or below 10⁻³) with each tick's own power of ten
    (2×10⁴), as the log axes are, instead of matplotlib's offset label (a "1e4" at the axis end)."""
    axis.set_major_formatter(PowerFormatter())


class PowerFormatter(Formatter):
    """Linear tick labels that write powers of ten on every tick of an axis whose largest tick reaches 10⁴ (or
    whose ticks are all below 10⁻³), and plain numbers otherwise: one style per axis."""

    scientific = False

    def set_locs(self, locs) -> None:
        """Choose the axis's style from the ticks it will label."""
        super().set_locs(locs)
        largest = max((abs(v) for v in locs if np.isfinite(v)), default=0.0)
        self.scientific = largest >= 1e4 or 0 < largest < 1e-3

    def __call__(self, value, pos=None) -> str:
        """The label of one tick."""
        return linear_label(value, self.scientific)


def linear_label(value: float, scientific: bool | None = None) -> str:
    """A linear tick label: ``0``, ``0,5``, ``250`` as numbers, ``−2×10⁴`` and ``5×10⁻⁴`` with a power of ten
    (by default outside [10⁻³, 10⁴))."""
    if value == 0 or not np.isfinite(value):
        return "0" if value == 0 else ""
    rounded = float(f"{value:.3g}")
    if not (scientific if scientific is not None else not 1e-3 <= abs(rounded) < 1e4):
        return number(int(rounded) if rounded == int(rounded) else rounded)
    exponent = int(np.floor(np.log10(abs(rounded))))
    mantissa = float(f"{abs(rounded) / 10.0 ** exponent:.3g}")
    written = power_of_ten(exponent) if mantissa == 1 else \
        f"{number(int(mantissa) if mantissa == int(mantissa) else mantissa)}×{power_of_ten(exponent)}"
    return ("−" if rounded < 0 else "") + written


def power_label(value: float) -> str:
    """A log-axis tick label: ``10³`` for powers of ten, ``2×10⁻⁴`` or ``20`` for the others (``0,5`` in es)."""
    if value <= 0 or not np.isfinite(value):
        return ""
    exponent = int(np.floor(np.log10(value) + 1e-9))
    mantissa = value / 10.0 ** exponent
    if abs(mantissa - round(mantissa)) > 1e-6:
        return number(float(f"{value:.6g}"))
    mantissa = round(mantissa)
    if mantissa == 1:
        return power_of_ten(exponent)
    if -2 <= exponent < 0:
        return number(round(mantissa * 10.0 ** exponent, -exponent))
    if 0 <= exponent <= 3:
        return str(mantissa * 10 ** exponent)
    return f"{mantissa}×{power_of_ten(exponent)}"


ROWS_PER_CURVE = 11
"""Rows a data table gives a curve drawn through many points (evenly spaced along it); fewer points are all listed."""
UNLABELLED_CURVES = 2
"""Unlabelled curves of a panel (random draws) listed in its table: the first few stand for the rest..."""
ROWS_PER_DRAW = 5
"""...at this many points each (a figure of sixteen panels of draws would otherwise outweigh its drawing)."""
UNLISTED = "_values:"
"""Label prefix of a curve that the legend leaves out (matplotlib skips labels starting with ``_``) but the plotted
values name: see :func:`unlisted`."""


def unlisted(name: str) -> str:
    """A label for a curve the legend leaves out and the plotted-values table names ``name``."""
    return UNLISTED + name


def values_only(ax, x, y, name: str) -> None:
    """Values the plotted-values table lists under ``name`` that the figure does not draw as a curve (optima
    below the axis drawn as arrows, the ends of bars): a hidden line that leaves the axes' limits alone."""
    from matplotlib.lines import Line2D

    ax.add_artist(Line2D(np.asarray(x, dtype=float), np.asarray(y, dtype=float), visible=False, label=unlisted(name)))


def plotted_values(fig: MplFigure, listed_elsewhere: tuple[str, ...] = ()) -> tuple[dict, ...]:
    """The values ``fig`` plots, as small tables for a screen reader: per panel and per shared x, one column per
    curve (its legend label, or its :func:`unlisted` name), with the ends of its error bars where it has them; a
    curve of many points sampled at ``ROWS_PER_CURVE`` points along it; horizontal reference lines (a noise floor)
    as one table of values per panel. Curves labelled as in ``listed_elsewhere`` (the training data, which the data
    figure lists) are left out, and so are hidden curves the table does not name."""
    from matplotlib.container import ErrorbarContainer

    tables = []
    for ax in fig.axes:
        caps: set = set()
        bars: dict = {}
        names: dict = {}
        for container in ax.containers:
            if isinstance(container, ErrorbarContainer) and container.lines[0] is not None:
                line, caplines, columns_of_bars = container.lines
                caps.update(caplines)
                names[line] = _name(container.get_label())
                segments = columns_of_bars[-1].get_segments() if columns_of_bars else []
                # One bar per point, or none listed (a diverged run's point has no bar to pair with it).
                if len(segments) == len(line.get_xdata()) and all(np.ndim(seg) == 2 for seg in segments):
                    bars[line] = [(float(np.min(seg[:, 1])), float(np.max(seg[:, 1]))) for seg in segments]
        panel = _panel_name(ax)
        lines, references = [], []
        for line in ax.get_lines():
            name = names.get(line) or _name(line.get_label())
            if line in caps or len(line.get_xdata()) == 0 or line.get_label() in listed_elsewhere \
                    or not (line.get_visible() or name):
                continue
            if line.get_transform() is not ax.transData:  # axhline: x spans the axes, y is the value
                if name:
                    references.append([name, plain_number(float(np.asarray(line.get_ydata(), float)[0]))])
                continue
            lines.append((line, name))
        named = [(line, name) for line, name in lines if name] or \
            [(line, _("draw {n}", n=i + 1)) for i, (line, _name_) in enumerate(lines[:UNLABELLED_CURVES])]
        groups: list[tuple[np.ndarray, list]] = []
        for line, label in named:
            x = np.asarray(line.get_xdata(), dtype=float)
            for shared_x, members in groups:
                if shared_x.shape == x.shape and np.array_equal(shared_x, x):
                    members.append((line, label))
                    break
            else:
                groups.append((x, [(line, label)]))
        ticks = _named_ticks(ax.xaxis)
        sampled = ROWS_PER_CURVE if any(name for _line, name in lines) else ROWS_PER_DRAW
        for x, members in groups:
            rows = np.unique(np.linspace(0, len(x) - 1, sampled).round().astype(int)) \
                if len(x) > sampled + 5 else np.arange(len(x))
            # Whole x values (widths, steps) as whole numbers; anything else to three digits.
            whole = all(float(x[i]).is_integer() and abs(x[i]) < 1e15 for i in rows)
            shown = [ticks.get(float(x[i]), number(int(x[i])) if whole else plain_number(x[i])) for i in rows]
            columns, values = [ax.get_xlabel() or "x"], [shown]
            for line, label in members:
                y = np.asarray(line.get_ydata(), dtype=float)
                columns.append(label)
                values.append([plain_number(y[i]) for i in rows])
                if line in bars:
                    columns += [_("{curve}: 95 % interval, from", curve=label), _("to")]
                    values += [[plain_number(bars[line][i][0]) for i in rows],
                               [plain_number(bars[line][i][1]) for i in rows]]
            # A panel whose curves do not share their x gets a table per x: each named by its curves, too.
            curves = ", ".join(label for _line, label in members)
            title = panel if len(groups) == 1 else ": ".join(filter(None, [panel, curves]))
            tables.append({"title": title, "columns": columns, "rows": [list(row) for row in zip(*values)]})
        if references:
            tables.append({"title": ": ".join(filter(None, [panel, _("reference lines")])),
                           "columns": [_("line"), ax.get_ylabel() or _("value")], "rows": references})
    return tuple(tables)


def _name(label: str | None) -> str | None:
    """The name a curve's label gives it in the plotted values: its legend text, or its :func:`unlisted` name."""
    if not label:
        return None
    if label.startswith(UNLISTED):
        return label[len(UNLISTED):]
    return None if label.startswith("_") else label


def _panel_name(ax) -> str:
    """A panel's title; in a grid of several rows, with its column's title and its row's label (a grid labels
    only its top row and left column)."""
    spec = ax.get_subplotspec()
    if spec is None or spec.get_gridspec().nrows < 2:
        return ax.get_title().replace("\n", " ")
    row, column = spec.rowspan.start, spec.colspan.start
    place = {(a.get_subplotspec().rowspan.start, a.get_subplotspec().colspan.start): a for a in ax.figure.axes
             if a.get_subplotspec() is not None}
    parts = [place[(0, column)].get_title() if (0, column) in place else "",
             place[(row, 0)].get_ylabel() if (row, 0) in place else ""]
    return ", ".join(part.replace("\n", " ") for part in parts if part)


def _named_ticks(axis) -> dict[float, str]:
    """Positions that carry a fixed tick label (categories placed at made-up positions), and their labels: read
    from the drawn labels, since ``set_xticks(positions, labels)`` wraps them in a function formatter."""
    from matplotlib.ticker import FixedLocator

    if not isinstance(axis.get_major_locator(), FixedLocator):
        return {}
    return {float(loc): label.get_text() for loc, label in zip(axis.get_majorticklocs(), axis.get_majorticklabels())
            if label.get_text()}


def plain_number(value: float, digits: int = 3) -> str:
    """A value to ``digits`` significant digits as plain text in the current language, for tables of plotted
    values and alt text: a power of ten as 2,5 × 10⁻⁵ (superscript digits, read as a number, not "e minus 5")."""
    if not np.isfinite(value):
        return "—"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return str(fmt(float(value), digits, html=False)).replace("-", "−")
    exponent = int(np.floor(np.log10(abs(value))))
    return f"{fixed(value / 10.0 ** exponent, digits - 1).replace('-', '−')} × {power_of_ten(exponent)}"


def plot(draw: Callable[[np.ndarray], None], *, id: str, caption: str, alt: str, nrows: int = 1, ncols: int = 1,
         height: float = 2.6, **subplot_kw) -> Figure:
    """A finished :class:`Figure`: ``draw(axes)`` draws on a fresh figure's axes (a 2-D array, ``nrows`` by
    ``ncols``) in the house style; its SVG and its tables of plotted values come from what ``draw`` drew.

    ``id`` labels it in the document (``fig-<study>-<name>``); ``caption`` says what it shows and ``alt`` what it
    finds, in numbers, for readers who cannot see it.
    """
    with figure(nrows, ncols, height, **subplot_kw) as (fig, axes):
        draw(axes)
        return Figure(id=id, caption=caption, alt=alt, svg=to_svg(fig), values=plotted_values(fig))
