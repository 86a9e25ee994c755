"""The ``noisefloor`` kind: the training SSE of the noiseless target (the noise floor) against its mean, n σ²."""

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import PositiveFloat, PositiveInt
from reportgen.plugin import Kind, StudyFields, Table, _, assemble, conjoined, fmt, fmt_pm, interval, number, plot


class NoiseFloorFile(StudyFields):
    """``points`` training inputs with Gaussian noise of standard deviation ``noise``; the lecture's: 15 and 0.1."""

    kind: Literal["noisefloor"]
    noise: PositiveFloat = 0.1
    points: PositiveInt = 15


def draw(config: NoiseFloorFile, seed: int) -> dict:
    """Fresh Gaussian noise of standard deviation ``noise`` on ``points`` inputs: its sum of squares."""
    return {"sse": float(np.sum((config.noise * np.random.default_rng(seed).standard_normal(config.points)) ** 2))}


def analyze(study, runs, outcomes):
    """Per level: the mean SSE, its 95 % interval and the closed form n σ², as facts, a table and a figure."""
    sse, levels = {}, []
    for run, outcome in zip(runs, outcomes):
        sse.setdefault((run.config.noise, run.config.points), []).append(outcome["sse"])
    for (sigma, n), values in sse.items():
        ci, closed = interval(values), n * sigma ** 2  # ci.low and ci.high are NaN with one seed: never inside
        levels.append(dict(sigma=sigma, closed=closed, mean=ci.mean, half=ci.half_width, ratio=ci.mean / closed,
                           inside=ci.low <= closed <= ci.high, draws=[x / closed for x in values]))
    draws = np.array([[(v["sigma"], x) for x in v["draws"]] for v in levels])  # [level, seed]: σ, SSE / n σ²
    facts = {"levels": levels, "inside": sum(v["inside"] for v in levels), "low": float(draws[..., 1].min()),
             "high": float(draws[..., 1].max()), "same": bool(np.allclose(draws[..., 1], draws[0, :, 1]))}
    def plotted(axes):
        axes[0, 0].axhline(1, ls="--", color="#d62728", label=_("closed form n σ²"))
        axes[0, 0].plot(*draws.reshape(-1, 2).T, ".", color="#999999", label=_("single draws"))
        axes[0, 0].errorbar(*np.array([(v["sigma"], v["ratio"], v["half"] / v["closed"]) for v in levels]).T, fmt="o",
                            capsize=3, color="#222222", label=_("mean, 95 % interval"))
        axes[0, 0].set(xlabel=_("noise level σ"), ylabel=_("SSE / n σ²"))
        axes[0, 0].legend(frameon=False)
    said = {"sigmas": conjoined(v["sigma"] for v in levels), **{k: fmt(facts[k], html=False) for k in ("low", "high")},
            "inside": facts["inside"], "ratios": conjoined(fmt_pm(v["ratio"], v["half"] / v["closed"]) for v in levels)}
    figure = plot(plotted, id=f"fig-{study.id}-floor", caption=_("The SSE of the noise divided by n σ²: each seed's "
                  "draw (dots), their mean with its 95 % interval, and the closed form at 1 (dashed)."),
                  alt=_("At σ = {sigmas}, the mean SSE is {ratios} times n σ² (95 % intervals): 1 lies inside "
                        "{inside} of them, and single draws range from {low} to {high} times n σ².", **said))
    table = Table(id=f"tab-{study.id}-floor", columns=(_("σ"), _("n σ²"), _("mean SSE"), _("inside")),
                  caption=_("The mean SSE of the noise over the seeds with its 95 % interval, and the closed form."),
                  rows=tuple((number(v["sigma"]), fmt(v["closed"]), fmt_pm(v["mean"], v["half"]),
                              "—" if np.isnan(v["half"]) else _("yes") if v["inside"] else _("no")) for v in levels),
                  numeric=(True, True, True, False))
    return assemble(study, runs, outcomes, outcomes, {"floor": figure}, {"floor": table}, facts)


KIND = Kind(name="noisefloor", schema=NoiseFloorFile, run="reportgen_noisefloor.kind:draw",
            analysis="reportgen_noisefloor.kind:analyze", template="studies/noisefloor.html.j2",
            templates=Path(__file__).parent / "templates")
