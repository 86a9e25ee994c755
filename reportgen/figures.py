"""Matplotlib helpers shared by the studies: deterministic SVG figures in one house style.

Figures are built on ``matplotlib.figure.Figure`` directly, never through
pyplot's global state, inside an ``rc_context`` that fixes the SVG hash salt
and drops the date, so the same data always give the same bytes.
"""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from typing import Iterator

import matplotlib

matplotlib.use("Agg")  # never open a window, whatever the environment says

import numpy as np  # noqa: E402
from matplotlib.figure import Figure as MplFigure  # noqa: E402
from matplotlib.ticker import ScalarFormatter  # noqa: E402

from .language import _, fixed  # noqa: E402

from .studies.base import Figure  # noqa: E402,F401  (re-exported: the record figures produce)

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
        fig = MplFigure(figsize=(TEXT_WIDTH_IN, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
        for ax in axes.flat:
            ax.xaxis.set_major_formatter(LocalFormatter())
            ax.yaxis.set_major_formatter(LocalFormatter())
        yield fig, axes


def to_svg(fig: MplFigure) -> str:
    """Render ``fig`` to byte-stable SVG text."""
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def ordered_colors(n: int) -> list:
    """``n`` colours along a perceptually ordered map, for a swept quantity."""
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.0, 0.85, max(n, 1))]


def categorical_colors(n: int) -> list:
    """``n`` distinguishable colours for unordered categories."""
    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def shade_gap(ax, gap: tuple[float, float] | None) -> None:
    """Shade the interval where training points were removed."""
    if gap is not None:
        ax.axvspan(gap[0], gap[1], color=GAP_COLOR, alpha=0.35, lw=0, label=_("gap in the data"))


def data_limits(values: np.ndarray, margin: float = 0.35) -> tuple[float, float]:
    """Y limits around the data, so that wild fits leave the frame instead of flattening the plot."""
    lo, hi = float(np.min(values)), float(np.max(values))
    pad = (hi - lo) * margin
    return lo - pad, hi + pad


def log_scale(ax, x: bool = True, y: bool = True) -> None:
    """Log axes where the plotted data allow it (a study whose runs all diverged has nothing to show)."""
    points = [np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
              for line in ax.get_lines()]
    points = np.concatenate(points) if points else np.empty((0, 2))
    drawable = points[np.isfinite(points).all(axis=1)]
    if x and np.any(drawable[:, 0] > 0):
        ax.set_xscale("log")
    if y and np.any(drawable[:, 1] > 0):
        ax.set_yscale("log")
