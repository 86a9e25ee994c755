"""The ``noisefloor`` kind: the training SSE of the noiseless target (the noise floor) against its mean, n σ²."""

from pathlib import Path
from typing import Literal

import numpy as np

from reportgen.plugin import (DataSpec, Kind, StudyFields, Table, _, assemble, conjoined, fmt, fmt_pm, interval,
                              make_dataset, number, plot)


class NoiseFloorFile(StudyFields):
    """A noise-floor study: the lecture's data recipe, whose ``data.noise`` the sweep varies."""

    kind: Literal["noisefloor"]
    data: DataSpec = DataSpec()


def draw(config: NoiseFloorFile, seed: int) -> dict:
    """Fresh Gaussian noise of standard deviation ``data.noise`` on the training inputs: its sum of squares."""
    noise = config.data.noise * np.random.default_rng(seed).standard_normal(len(make_dataset(config.data).x_train))
    return {"sse": float(np.sum(noise ** 2)), "points": len(noise)}


def analyze(study, runs, outcomes):
    """Per noise level: the mean SSE, its 95 % interval and the closed form n σ², as facts, a table and a figure."""
    n, sse = outcomes[0]["points"], {}
    for run, outcome in zip(runs, outcomes):
        sse.setdefault(run.config.data.noise, []).append(outcome["sse"])
    levels = []
    for sigma, values in sse.items():
        found, closed = interval(values), n * sigma ** 2
        mean, half = found.mean, found.half_width  # NaN with a single seed: no interval
        levels.append({"sigma": sigma, "mean": mean, "half": half, "closed": closed,
                       "inside": bool(abs(mean - closed) <= half), "ratio": mean / closed if closed else np.nan})
    facts = {"levels": levels, "seeds": len(study.seeds), "points": n, "inside": sum(v["inside"] for v in levels),
             "same_ratio": bool(np.allclose([v["ratio"] for v in levels], levels[0]["ratio"]))}
    grid = np.linspace(0, max(sse), 100)
    def plotted(axes):
        axes[0, 0].plot(grid, n * grid ** 2, "--", color="#d62728", label=_("closed form n σ²"))
        axes[0, 0].errorbar(list(sse), [v["mean"] for v in levels], [v["half"] for v in levels], fmt="o", capsize=3,
                            color="#222222", label=_("mean SSE over the seeds, 95 % interval"))
        axes[0, 0].set(xlabel=_("noise level σ"), ylabel=_("sum of squared noise"))
        axes[0, 0].legend(frameon=False)
    listed = {key: conjoined(fmt(v[key], html=False) for v in levels) for key in ("mean", "closed")}
    figure = plot(plotted, id=f"fig-{study.id}-floor", caption=_("The mean SSE of the noise over the seeds, with its "
                  "95 % interval, against the closed form n σ² (dashed)."), alt=_("At σ = {sigmas}, the mean SSE is "
                  "{mean}, against {closed} by the closed form.", sigmas=conjoined(sse), **listed))
    table = Table(id=f"tab-{study.id}-floor", columns=(_("σ"), _("n σ²"), _("mean SSE"), _("inside")),
                  caption=_("The mean SSE of the noise over the seeds with its 95 % interval, and the closed form."),
                  rows=tuple((number(v["sigma"]), fmt(v["closed"]), fmt_pm(v["mean"], v["half"]),
                              _("yes") if v["inside"] else _("no")) for v in levels), numeric=(True, True, True, False))
    return assemble(study, runs, outcomes, outcomes, {"floor": figure}, {"floor": table}, facts)


KIND = Kind(name="noisefloor", schema=NoiseFloorFile, run="reportgen_noisefloor.kind:draw",
            analysis="reportgen_noisefloor.kind:analyze", template="studies/noisefloor.html.j2",
            templates=Path(__file__).parent / "templates")
