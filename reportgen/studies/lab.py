"""The built-in kinds' sections of the lab notebooks: the setup as code, the TODO cells, the solutions' runs.

A kind that can be run in a notebook gives a ``lab`` object (one of these classes); :mod:`reportgen.notebooks`
asks it for a study's :class:`LabSection` and lays out the cells around it. Words go through ``_()`` in the
language being spoken; the code comes from :mod:`.labcode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..labcode import (
    DATA,
    MLP,
    POLYNOMIAL,
    PRIOR_MLP,
    PRIOR_TOOLS,
    REGRESSION_TOOLS,
    SHOW,
    TRAIN,
    Code,
    fill,
    literal,
    numpy_expression,
    targets_table,
)
from ..language import _

DATA_NAMES = {"seed": "data_seed"}
"""Variables of the data cell named otherwise than their definition field (the run's seed is ``seed``)."""
REGRESSION_METRICS = ["train_sse", "mse_inside", "mse_gap", "mse_outside"]
"""What the report's regression tables compare, mean over seeds: the columns of the solutions' comparison."""


@dataclass(frozen=True)
class LabSection:
    """What a study's notebook section holds beyond its words and activities."""

    setup: list[tuple[str, str]]
    """The setup cells, in order: (``markdown`` or ``code``, source)."""
    todo: str
    """The code of each activity's TODO cell: the values to change, then the plumbing that runs them."""
    runs: str
    """The solutions' code that reproduces every run into ``results[study_id]``."""
    compare: str
    """The solutions' code that prints the report's comparison of those runs."""


@dataclass(frozen=True)
class RegressionLab:
    """A polynomial or an MLP trained on the lecture's data, one model at a time."""

    more: str | None = None
    """The tools' function adding the metrics the kind's analysis adds to every run (closed forms, ...)."""
    tools: str = field(default=REGRESSION_TOOLS, repr=False)
    """The solutions' helpers, written once per notebook."""

    def section(self, study) -> LabSection:
        """The study's setup, TODO and runs cells."""
        base = study.base
        model = base.model
        fields = (["model.degree"] if model.kind == "polynomial" else
                  ["model.width", "model.depth", "model.activation"])
        fields += [key for key, _values in study.axes if key not in fields and key != "data.target"]
        fields += [key for key in ["data.noise"] if key not in fields]  # every study's activities may vary it
        fields += [key for key in ["train.weight_decay"] if key not in fields]
        build = "Polynomial(degree)" if model.kind == "polynomial" else "MLP(width, depth, activation)"
        run = (f"x, y = make_data()\ntorch.manual_seed(seed)\nmodel = {build}\n"
               "losses = train(model, x, y, lr, steps, weight_decay)\nshow(model, x, y, losses)")
        call = f"reproduce(base, params, seed{', ' + self.more if self.more else ''})"
        return LabSection(setup=regression_setup(base), todo=todo_cell(knobs(study, fields), run),
                          runs=runs_cell(study, call),
                          compare=compare_cell(study, REGRESSION_METRICS, ["mse_inside", "mse_gap"]))


@dataclass(frozen=True)
class PriorLab:
    """Functions drawn from a network with Gaussian weights."""

    @property
    def tools(self) -> str:
        """The solutions' helpers: the report's sampling and the variance recursion."""
        return PRIOR_TOOLS

    def section(self, study) -> LabSection:
        """The study's setup, TODO and runs cells."""
        model, sampling = study.base.model, study.base.sampling
        setup = [("markdown", "### " + _("Setup") + "\n\n"
                  + _("Every weight and every bias of the network is drawn from a zero-mean Gaussian before any "
                      "training:") + "\n\n"
                  + r"$$w \sim \mathcal{N}(0, \sigma_w^2), \qquad b \sim \mathcal{N}(0, \sigma_b^2)$$"),
                 ("code", f"weight_std = {literal(model.weight_std)}\nbias_std = {literal(model.bias_std)}\n"
                          f"draws = {sampling.draws}\nprior_domain = {literal(tuple(sampling.domain))}\n"
                          f"prior_points = {sampling.points}\n\nwidth = {model.width}\ndepth = {model.depth}\n"
                          f"activation = {literal(model.activation)}\n\n\n{PRIOR_MLP}")]
        fields = ["model.width", "model.depth", "model.activation"]
        fields += [key for key, _values in study.axes if key not in fields and key.startswith("model.")]
        todo = todo_cell(knobs(study, fields), "draw_prior(width, depth, activation, seed)")
        return LabSection(setup=setup, todo=todo, runs=runs_cell(study, "reproduce_prior(base, params, seed)"),
                          compare=compare_cell(study, ["measured_std", "theory_std", "ratio"], []))


def regression_setup(base) -> list[tuple[str, str]]:
    """The data, the model and the training of a regression study, as Markdown and code cells."""
    d, model, t = base.data, base.model, base.train
    cells = [("markdown", "### " + _("Setup") + "\n\n"
              + _("The data are noisy values of a target function at the training inputs:") + "\n\n"
              + r"$$y_n = f(x_n) + \varepsilon_n, \qquad \varepsilon_n \sim \mathcal{N}(0, \sigma^2)$$" + "\n\n"
              + _("The cell below makes them as the lecture does, with the values of this study's definition.")),
             ("code", fill(DATA, seed=d.seed, points=d.points, domain=tuple(d.domain), removed=list(d.removed),
                           noise=d.noise, test_points=d.test_points, test_domain=tuple(d.test_domain),
                           target=Code(numpy_expression(d.target)), target_label=_("target f(x)"),
                           data_label=_("training data")))]
    if model.kind == "polynomial":
        formula = r"$$\hat y(x) = b + \sum_{k=1}^{M} w_k\, x^k$$"
        code = f"{POLYNOMIAL}\n\n\ndegree = {model.degree}"
    else:
        formula = r"$$\hat y(x) = b + \sum_{j=1}^{N_h} w_j\, g(b_j + v_j x)$$"
        code = f"{MLP}\n\n\nwidth = {model.width}\ndepth = {model.depth}\nactivation = {literal(model.activation)}"
    cells += [("markdown", _("The model, as a PyTorch module:") + "\n\n" + formula), ("code", code),
              ("markdown", _("Training minimizes the sum of squared errors with Adam, full batch, as in the lecture:")
               + "\n\n" + r"$$\mathcal{L}(\theta) = \sum_{n=1}^{N} \big(y_n - \hat y(x_n; \theta)\big)^2$$"),
              ("code", f"lr = {literal(t.lr)}\nsteps = {t.steps}\nweight_decay = {literal(t.weight_decay)}\n\n\n"
                       + fill(TRAIN, betas=tuple(t.betas), eps=t.eps) + "\n\n\n"
                       + fill(SHOW, target_label=_("target f(x)"), data_label=_("training data"),
                              fit_label=_("fit"), step_label=_("Adam step"), loss_label=_("training SSE"),
                              region_labels=[_("MSE inside the data"), _("MSE in the gap"),
                                             _("MSE beyond the data")]))]
    return cells


def knobs(study, fields: list[str]) -> list[tuple[str, Any, tuple]]:
    """(variable, value, values the sweep tries) for each of ``fields`` (dotted keys), then the seed."""
    swept = dict(study.axes)
    found = []
    for key in fields:
        section, name = key.split(".", 1)
        value = getattr(getattr(study.base, section), name)
        variable = DATA_NAMES.get(name, name) if section == "data" else name
        found.append((variable, value, tuple(swept.get(key, ()))))
    return [*found, ("seed", study.seeds[0], tuple(study.seeds))]


def todo_cell(values: list[tuple[str, Any, tuple]], run: str) -> str:
    """A TODO cell: one line per value to change (with the values the study tries), then the plumbing."""
    lines = ["# TODO: " + _("change a value below and run this cell again.")]
    for variable, value, tried in values:
        line = f"{variable} = {literal(value)}"
        if len(tried) > 1:
            line += "  # " + _("the study tries {values}", values=", ".join(literal(v) for v in tried))
        lines.append(line)
    return "\n".join(lines) + "\n\n" + run


def runs_cell(study, call: str) -> str:
    """Every run of the study: its definition's values, sweep and seeds, and ``call`` for each point and seed."""
    sections = [name for name in ("data", "model", "train", "sampling") if name in type(study.base).model_fields]
    base = study.base.model_dump(mode="python", include=set(sections))
    lines = []
    if "data" in base:
        lines.append(targets_table([base["data"]["target"], *dict(study.axes).get("data.target", ())]))
    lines.append("base = {\n" + "\n".join(f"    {literal(name)}: {literal(values)}," for name, values in base.items())
                 + "\n}")
    lines.append("sweep = [\n" + "\n".join(f"    {literal(dict(point.params))}," for point in study.points) + "\n]")
    lines.append(f"seeds = {literal(list(study.seeds))}")
    lines.append(f"results[{literal(study.id)}] = [{call} for params in sweep for seed in seeds]")
    return "\n".join(lines)


def compare_cell(study, metrics: list[str], lowest: list[str]) -> str:
    """The report's comparison: each setting's mean over seeds of ``metrics`` with its interval, and per data set
    (errors on different data are not compared) the lowest of ``lowest`` against the next best."""
    within = [key for key, _values in study.axes if key.startswith("data.")]
    return f"compare(results[{literal(study.id)}], {literal(metrics)}, {literal(lowest)}, within={literal(within)})"
