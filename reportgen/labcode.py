"""The code cells of the lab notebooks: plain PyTorch in the lecture's style, filled with a definition's values.

What a cell computes must match what the sweep trainer computes for the same run (see docs/trainer.md, "Exactness of
the batched trainer"): the data as ``reportgen.data.make_dataset`` makes them (the legacy NumPy seed, deletion,
then noise), the initial weights as ``torch.manual_seed(seed)`` followed by building the module (what
``reportgen.training.parameters.initial_parameters`` reproduces), and the lecture's training loop. The
metrics follow ``reportgen.studies.regression.regression_metrics`` and ``prior_analysis._metrics``. No cell
imports reportgen: a student runs the notebook with NumPy, PyTorch and matplotlib alone.
"""

from __future__ import annotations

import ast
import json
import re
from string import Template
from typing import Any, Iterable

from . import language as lang
from .expr import CONSTANTS, FUNCTIONS, parse_expression
from .stats import _T975
from .words import N_

IMPORTS = """\
import numpy as np
import torch
import matplotlib.pyplot as plt

ACTIVATIONS = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU,
               "identity": torch.nn.Identity}"""

POLYNOMIAL = """\
class Polynomial(torch.nn.Module):
    def __init__(self, degree):
        super().__init__()
        self.degree = degree
        self.linear = torch.nn.Linear(degree, 1, bias=True)

    def forward(self, x):
        phi = torch.stack([x[:, 0] ** (k + 1) for k in range(self.degree)], dim=1)
        return self.linear(phi)"""

MLP = """\
class MLP(torch.nn.Module):
    def __init__(self, width, depth, activation):
        super().__init__()
        sizes = [1] + [width] * depth
        self.hidden = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.output = torch.nn.Linear(width, 1)
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x):
        for layer in self.hidden:
            x = self.activation(layer(x))
        return self.output(x)"""

TRAIN = """\
def train(model, x, y, lr, steps, weight_decay, betas=$betas, eps=$eps):
    x_torch = torch.from_numpy(x.astype("float32")).unsqueeze(1)
    y_torch = torch.from_numpy(y.astype("float32")).unsqueeze(1)
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    losses = np.zeros(steps, dtype=np.float32)
    for k in range(steps):
        optimizer.zero_grad()
        loss = criterion(y_torch, model(x_torch))
        loss.backward()
        optimizer.step()
        losses[k] = loss.item()
    return losses"""

DATA = """\
data_seed = $seed
points = $points
domain = $domain
removed = $removed
noise = $noise
test_points = $test_points
test_domain = $test_domain
f = lambda x: $target


def make_data():
    np.random.seed(data_seed)
    x = np.linspace(domain[0], domain[1], num=points)
    x = np.delete(x, removed)
    y = f(x) + noise * np.random.randn(len(x))
    return x, y


def region_masks(x_test):
    #: regions
    grid, kept = np.linspace(domain[0], domain[1], num=points), np.delete(np.arange(points), removed)
    gap = np.zeros(len(x_test), bool)
    for a, b in zip(kept[:-1], kept[1:]):
        if b - a > 1:
            gap |= (x_test > grid[a]) & (x_test < grid[b])
    within = (x_test >= grid[kept].min()) & (x_test <= grid[kept].max())
    return within & ~gap, gap, ~within


x_test = np.linspace(test_domain[0], test_domain[1], num=test_points)
x, y = make_data()
fig, ax = plt.subplots(figsize=(7, 3), tight_layout=True)
ax.plot(x_test, f(x_test), "k--", label=$target_label)
ax.scatter(x, y, s=14, label=$data_label)
ax.set_xlabel("x")
ax.legend()
plt.show()"""

SHOW = """\
def show(model, x, y, losses):
    with torch.no_grad():
        fit = model(torch.from_numpy(x_test.astype("float32")).unsqueeze(1))[:, 0].numpy()
    fig, ax = plt.subplots(1, 2, figsize=(9, 3), tight_layout=True)
    ax[0].plot(x_test, f(x_test), "k--", label=$target_label)
    ax[0].scatter(x, y, s=14, label=$data_label)
    ax[0].plot(x_test, fit, label=$fit_label)
    low, high = min(y.min(), f(x_test).min()), max(y.max(), f(x_test).max())
    ax[0].set_ylim(low - 0.5 * (high - low), high + 0.5 * (high - low))
    ax[0].set_xlabel("x")
    ax[0].legend()
    ax[1].loglog(np.arange(1, len(losses) + 1), losses)
    ax[1].set_xlabel($step_label)
    ax[1].set_ylabel($loss_label)
    plt.show()
    error = (fit - f(x_test)) ** 2
    for name, mask in zip($region_labels, region_masks(x_test)):
        if mask.any():
            print(f"{name}: {error[mask].mean():.4g}")"""

PRIOR_MLP = """\
class PriorMLP(torch.nn.Module):
    def __init__(self, width, depth, activation, weight_std, bias_std):
        super().__init__()
        sizes = [1] + [width] * depth
        self.hidden = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.output = torch.nn.Linear(width, 1)
        self.activation = ACTIVATIONS[activation]()
        for layer in [*self.hidden, self.output]:
            torch.nn.init.normal_(layer.weight, 0.0, weight_std)
            torch.nn.init.normal_(layer.bias, 0.0, bias_std)

    def forward(self, x):
        for layer in self.hidden:
            x = self.activation(layer(x))
        return self.output(x)


def draw_prior(width, depth, activation, seed=0):
    torch.manual_seed(seed)
    x_prior = np.linspace(prior_domain[0], prior_domain[1], num=prior_points)[:, None].astype("float32")
    fig, ax = plt.subplots(figsize=(7, 3), tight_layout=True)
    for i in range(draws):
        model = PriorMLP(width, depth, activation, weight_std, bias_std)
        with torch.no_grad():
            ax.plot(x_prior[:, 0], model(torch.from_numpy(x_prior))[:, 0].numpy())
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    plt.show()"""

# --------------------------------------------------------------------------- the solutions' tools

SOLUTION_TOOLS = """\
results = {}


def configure(base, params):
    config = {section: dict(values) for section, values in base.items()}
    for key, value in params.items():
        section, field = key.split(".", 1)
        config[section][field] = value
    return config


def over_seeds(runs, metric):
    #: over_seeds
    values = [run["metrics"][metric] for run in runs if run["status"] == "ok" and run["metrics"][metric] is not None]
    if not values:
        return float("nan"), float("nan")
    n = len(values)
    half = t975(n - 1) * float(np.std(values, ddof=1)) / np.sqrt(n) if n > 1 else float("nan")
    return float(np.mean(values)), half


def compare(runs, metrics, lowest, within=()):
    #: compare
    settings = {}
    for run in runs:
        settings.setdefault(tuple(run["params"].items()), []).append(run)
    names = {setting: ", ".join(f"{key}={value}" for key, value in setting) or "-" for setting in settings}
    width = max(len(name) for name in names.values())
    print(" " * width, *(f"{metric:>22}" for metric in metrics))
    for setting, group in settings.items():
        cells = [over_seeds(group, metric) for metric in metrics]
        print(f"{names[setting]:<{width}}", *(f"{mean:10.4g} ± {half:<9.2g}" for mean, half in cells))
    groups = {}
    for setting in settings:
        groups.setdefault(tuple((k, v) for k, v in setting if k in within), []).append(setting)
    for data_set, members in groups.items():
        where = ", ".join(f"{key}={value}" for key, value in data_set)
        for metric in lowest:
            cells = ((over_seeds(settings[s], metric), names[s]) for s in members)
            ranked = sorted(cell for cell in cells if not np.isnan(cell[0][0]))
            if not ranked:
                continue
            ((mean, half), name), rest = ranked[0], ranked[1:]
            line = f"{where + ': ' if where else ''}lowest mean {metric}: {name} ({mean:.4g} ± {half:.2g})"
            if rest:
                (next_mean, next_half), next_name = rest[0]
                clear = mean + half < next_mean - next_half
                line += (f", clearly below the next best, {next_name} ({next_mean:.4g} ± {next_half:.2g})" if clear
                         else f", but {next_name} ({next_mean:.4g} ± {next_half:.2g}) is within the spread over seeds")
            print(line)


def t975(df):
    #: t975
    table = $t975
    if df <= len(table):
        return table[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)"""

REGRESSION_TOOLS = """\
def run_data(target, points, domain, removed, noise, seed, test_points, test_domain):
    f = TARGETS[target]
    np.random.seed(seed)
    grid = np.linspace(domain[0], domain[1], num=points)
    x = np.delete(grid, list(removed))
    y = f(x) + noise * np.random.randn(len(x))
    x_test = np.linspace(test_domain[0], test_domain[1], num=test_points)
    return {"x": x, "y": y, "x_test": x_test, "f_test": f(x_test), "regions": regions(grid, removed, x, x_test)}


def regions(grid, removed, x, x_test):
    gone, in_gap, i = set(removed), np.zeros(len(x_test), bool), 0
    while i < len(grid):
        if i not in gone:
            i += 1
            continue
        start = i
        while i in gone:
            i += 1
        if start > 0 and i < len(grid):
            in_gap |= (x_test > grid[start - 1]) & (x_test < grid[i])
    within = (x_test >= x.min()) & (x_test <= x.max())
    return {"inside": within & ~in_gap, "gap": in_gap, "outside": ~within}


def region_errors(prediction, data, prefix=""):
    error = (np.asarray(prediction, np.float64) - data["f_test"]) ** 2
    return {f"{prefix}mse_{name}": float(error[mask].mean()) if mask.any() else None
            for name, mask in data["regions"].items()}


def run_metrics(model, data, losses):
    with torch.no_grad():
        train_fit = model(torch.from_numpy(data["x"].astype("float32")).unsqueeze(1))[:, 0]
        test_fit = model(torch.from_numpy(data["x_test"].astype("float32")).unsqueeze(1))[:, 0].numpy()
    y = torch.from_numpy(data["y"].astype("float32"))
    parameters = torch.cat([p.detach().flatten() for p in model.parameters()]).numpy().astype(np.float64)
    error = (test_fit.astype(np.float64) - data["f_test"]) ** 2
    metrics = {"train_sse": float(((train_fit - y) ** 2).sum()), "test_mse": float(error.mean()),
               **region_errors(test_fit, data), "final_loss": float(losses[-1]),
               "weight_norm": float(np.sqrt(np.sum(parameters ** 2))), "n_parameters": int(parameters.size)}
    finite = all(v is None or np.isfinite(v) for v in metrics.values()) and np.isfinite(losses).all()
    return ("ok" if finite else "diverged"), metrics, parameters, test_fit


def features(x, degree):
    #: features
    x32 = np.asarray(x).astype(np.float32).astype(np.float64)
    return np.column_stack([x32 ** k for k in range(1, degree + 1)] + [np.ones_like(x32)])


def closed_form(data, degree, weight_decay):
    #: closed_form
    phi, target = features(data["x"], degree), data["y"].astype(np.float32).astype(np.float64)
    penalty = weight_decay / 2
    if penalty > 0:
        rows = np.vstack([phi, np.sqrt(penalty) * np.eye(phi.shape[1])])
        coef = np.linalg.lstsq(rows, np.concatenate([target, np.zeros(phi.shape[1])]), rcond=None)[0]
    else:
        coef = np.linalg.lstsq(phi, target, rcond=None)[0]
    return coef, float(((phi @ coef - target) ** 2).sum()), features(data["x_test"], degree) @ coef


def least_squares_metrics(config, data, parameters, test_fit):
    coef, sse, prediction = closed_form(data, config["model"]["degree"], 0.0)
    return {"lstsq_sse": sse, **region_errors(prediction, data, "lstsq_")}


def map_metrics(config, data, parameters, test_fit):
    coef, sse, prediction = closed_form(data, config["model"]["degree"], config["train"]["weight_decay"])
    distance = np.linalg.norm(parameters - coef) / np.linalg.norm(coef)
    return {"map_train_sse": sse, "map_norm": float(np.linalg.norm(coef)), "map_distance": float(distance),
            **region_errors(prediction, data, "map_")}


def range_metrics(config, data, parameters, test_fit):
    deviation = np.abs(np.asarray(test_fit, np.float64) - data["f_test"])
    regions = data["regions"]
    within = regions["inside"] | regions["gap"]
    return {"mse_range": float(np.mean(deviation[within] ** 2)) if within.any() else None,
            "gap_max_deviation": float(np.max(deviation[regions["gap"]])) if regions["gap"].any() else None,
            "outside_max_deviation": float(np.max(deviation[regions["outside"]])) if regions["outside"].any()
            else None}


def reproduce(base, params, seed, more=None):
    config = configure(base, params)
    data, model, training = run_data(**config["data"]), config["model"], config["train"]
    torch.manual_seed(seed)
    if model["kind"] == "polynomial":
        net = Polynomial(model["degree"])
    else:
        net = MLP(model["width"], model["depth"], model["activation"])
    losses = train(net, data["x"], data["y"], training["lr"], training["steps"], training["weight_decay"],
                   tuple(training["betas"]), training["eps"])
    status, metrics, parameters, test_fit = run_metrics(net, data, losses)
    if more is not None:
        metrics.update(more(config, data, parameters, test_fit))
    return {"params": params, "seed": seed, "status": status, "metrics": metrics}"""

PRIOR_TOOLS = """\
PRIOR_ACTIVATIONS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "identity": lambda z: z}


def sample_functions(model, x, draws, generator):
    activation = PRIOR_ACTIVATIONS[model["activation"]]
    h = torch.from_numpy(np.asarray(x, dtype=np.float32)).view(1, -1, 1).expand(draws, -1, -1)
    sizes = [1] + [model["width"]] * model["depth"] + [1]
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weight = torch.randn(draws, fan_in, fan_out, generator=generator) * model["weight_std"]
        bias = torch.randn(draws, 1, fan_out, generator=generator) * model["bias_std"]
        z = torch.baddbmm(bias, h, weight) if fan_in > 1 else torch.addcmul(bias, h, weight)
        h = z if layer == len(sizes) - 2 else activation(z)
    return h[:, :, 0].double().numpy()


def sample_at_points(model, x, draws, generator):
    #: covariance
    activation, points = PRIOR_ACTIVATIONS[model["activation"]], len(x)
    sw, sb = model["weight_std"], model["bias_std"]
    h = torch.from_numpy(np.asarray(x, dtype=np.float64)).view(1, -1, 1).expand(draws, -1, -1)
    sizes = [1] + [model["width"]] * model["depth"] + [1]
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if fan_in < points:
            weight = torch.randn(draws, fan_in, fan_out, generator=generator, dtype=torch.float64) * sw
            bias = torch.randn(draws, 1, fan_out, generator=generator, dtype=torch.float64) * sb
            z = bias + h * weight if fan_in == 1 else torch.baddbmm(bias, h, weight)
        else:
            covariance = sw ** 2 * h @ h.transpose(1, 2) + sb ** 2
            eigenvalues, eigenvectors = torch.linalg.eigh(covariance)
            root = eigenvectors * eigenvalues.clamp(min=0).sqrt().unsqueeze(1)
            z = root @ torch.randn(draws, points, fan_out, generator=generator, dtype=torch.float64)
        h = z if layer == len(sizes) - 2 else activation(z)
    return h[:, :, 0].numpy()


def second_moment(activation, variance):
    #: second_moment
    variance = np.asarray(variance, dtype=np.float64)
    if activation in ("relu", "identity"):
        return (0.5 if activation == "relu" else 1.0) * variance
    g = np.tanh if activation == "tanh" else (lambda z: 0.5 * (1 + np.tanh(z / 2)))
    degenerate = variance <= 0
    sigma = np.sqrt(np.where(degenerate, 1.0, variance))[..., None]
    gaussian_scale = sigma * np.linspace(-12.0, 12.0, 2401)
    activation_scale = np.broadcast_to(np.linspace(-40.0, 40.0, 3201), gaussian_scale.shape[:-1] + (3201,))
    z = np.sort(np.concatenate([gaussian_scale, activation_scale], axis=-1), axis=-1)
    density = np.exp(-0.5 * (z / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return np.where(degenerate, g(0.0) ** 2, np.trapezoid(g(z) ** 2 * density, z, axis=-1))


def prior_variance(model, x):
    sw2, sb2 = model["weight_std"] ** 2, model["bias_std"] ** 2
    q = sb2 + sw2 * np.asarray(x, dtype=np.float64) ** 2
    for _ in range(model["depth"]):
        q = sb2 + model["width"] * sw2 * second_moment(model["activation"], q)
    return q


def reproduce_prior(base, params, seed):
    config = configure(base, params)
    model, sampling = config["model"], config["sampling"]
    spread_draws = max(sampling["spread_draws"], sampling["spread_units"] // model["width"])
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        x = np.linspace(sampling["domain"][0], sampling["domain"][1], sampling["points"])
        curves = sample_functions(model, x, sampling["draws"], generator)
        spread_x = np.linspace(sampling["domain"][0], sampling["domain"][1], sampling["spread_points"])
        values = sample_at_points(model, spread_x, spread_draws, generator)
    measured = float(np.sqrt(np.mean(values.std(axis=0, ddof=1) ** 2)))
    theory = float(np.sqrt(np.mean(np.sqrt(prior_variance(model, spread_x)) ** 2)))  # the report's rounding
    exact = model["depth"] == 1 or model["activation"] in ("relu", "identity")
    #: spread_interval
    terms = np.mean((values - values.mean(axis=0)) ** 2, axis=1)
    n = len(terms)
    half = t975(n - 1) * np.std(terms, ddof=1) / np.sqrt(n)
    low, high = np.sqrt(max(terms.mean() - half, 0.0) * n / (n - 1)), np.sqrt((terms.mean() + half) * n / (n - 1))
    metrics = {"measured_std": measured, "theory_std": theory, "ratio": measured / theory, "theory_exact": exact,
               "draws_std": float(np.std(curves)), "spread_draws": spread_draws, "measured_low": float(low),
               "measured_high": float(high)}
    return {"params": params, "seed": seed, "status": "ok", "metrics": metrics}
"""


def fill(template: str, **values: Any) -> str:
    """``template`` with each ``$name`` replaced by the Python literal of ``values[name]`` (strings given as
    code are passed as :class:`Code`)."""
    return Template(template).substitute({k: v if isinstance(v, Code) else literal(v) for k, v in values.items()})


class Code(str):
    """Source text to insert as it is, not as a string literal."""


def literal(value: Any) -> str:
    """A definition's value as a Python literal: the same number back when the cell runs (``repr`` round-trips
    floats), tuples and lists as such."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # double quotes, as the cells' own strings; valid Python
    return repr(value)


def numpy_expression(target: str) -> str:
    """A safe target expression (``x * sin(10 * x)``) as NumPy code (``x * np.sin(10 * x)``): the functions and
    constants of :mod:`reportgen.expr`, each NumPy's own, so the values are the same bits."""
    parse_expression(target)  # refuses anything outside the whitelist, as the build already has

    class ToNumpy(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in FUNCTIONS or node.id in CONSTANTS:
                return ast.copy_location(ast.Attribute(value=ast.Name("np", ast.Load()), attr=node.id,
                                                       ctx=ast.Load()), node)
            return node

    tree = ToNumpy().visit(ast.parse(target.strip(), mode="eval"))
    return ast.unparse(ast.fix_missing_locations(tree))


def targets_table(targets: Iterable[str]) -> str:
    """``TARGETS = {...}``: each target expression of a study, as written, to its NumPy function."""
    lines = [f"    {literal(t)}: lambda x: {numpy_expression(t)}," for t in dict.fromkeys(targets)]
    return "TARGETS = {\n" + "\n".join(lines) + "\n}"


COMMENTS = {
    'regions': N_(
        'Inside the training inputs, in a gap the removed points leave, and beyond the data: judged apart.'),
    'over_seeds': N_(
        "Mean over the seeds and the half-width of its 95 % interval (Student's t), as the report gives them."),
    'compare': N_(
        "Each setting's mean and 95 % interval; per data set, the lowest mean, and whether it is clearly below "
        "the next best."),
    't975': N_(
        "Student's t at 97.5 %: a table to 30 degrees of freedom, a series in 1 / df beyond."),
    'features': N_(
        'x, x^2, ..., x^degree, then 1: in float64, from the float32 inputs the network sees.'),
    'closed_form': N_(
        "The minimizer of SSE + (weight_decay / 2) * |theta|^2, where Adam's coupled weight decay converges."),
    'covariance': N_(
        'Where a layer has as many inputs as there are points, its pre-activations are drawn through their '
        'covariance.'),
    'second_moment': N_(
        'E[g(z)^2] for z ~ N(0, variance): exact for relu and the identity, else by the trapezoid rule.'),
    'spread_interval': N_(
        "The measured variance is the mean of per-draw terms times n / (n - 1): its 95 % t interval gives the "
        "spread's."),
}
"""The comments of the code cells, by the name a cell marks them with (``#: name``): prose for the reader, so the
catalogues translate them (the code stays code)."""
_COMMENT_MARK = re.compile(r"^([ ]*)#: (\w+)$", re.M)


def localized_comments(source: str) -> str:
    """``source`` with each ``#: name`` line as the comment :data:`COMMENTS` names, in the current language."""
    return _COMMENT_MARK.sub(lambda m: f"{m.group(1)}# {lang.translation(COMMENTS[m.group(2)])}", source)


def solution_tools() -> str:
    """The helpers every solutions notebook defines, the t quantiles of the report's intervals filled in."""
    return fill(SOLUTION_TOOLS, t975=list(_T975))
