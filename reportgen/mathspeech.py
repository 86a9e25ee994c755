"""LaTeX -> spoken words, the text alternative of an equation in the edition's language.

Covers what the report's formulas use: numbers (a decimal comma written
``{,}``), letters and Greek letters, sub- and superscripts, hats, fractions,
square roots, sums and minima with limits, norms, intervals, function
application, relations and the usual operators, ``\\text``, ``\\mathcal``,
``\\mathbb``, ``\\operatorname`` and ``aligned``. Sizing (``\\big``,
``\\left``) and spacing commands are silent. Every word goes through the
gettext catalogues, so a Spanish edition reads Spanish. A command it does not
know is read as its name, never as LaTeX.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import language as lang
from .words import N_

_TOKEN = re.compile(r"\\text\{[^{}]*\}|\\[A-Za-z]+|\\.|\d+(?:\.\d+)?|\{,\}|\{-\}|[A-Za-z]|\S", re.S)

GREEK = {
    "alpha": N_("alpha"), "beta": N_("beta"), "gamma": N_("gamma"), "delta": N_("delta"),
    "epsilon": N_("epsilon"), "varepsilon": N_("epsilon"), "zeta": N_("zeta"), "eta": N_("eta"),
    "theta": N_("theta"), "kappa": N_("kappa"), "lambda": N_("lambda"), "mu": N_("mu"), "nu": N_("nu"),
    "xi": N_("xi"), "pi": N_("pi"), "rho": N_("rho"), "sigma": N_("sigma"), "tau": N_("tau"), "phi": N_("phi"),
    "varphi": N_("phi"), "chi": N_("chi"), "psi": N_("psi"), "omega": N_("omega"),
    "Gamma": N_("capital gamma"), "Delta": N_("capital delta"), "Theta": N_("capital theta"),
    "Lambda": N_("capital lambda"), "Sigma": N_("capital sigma"), "Phi": N_("capital phi"),
    "Omega": N_("capital omega"),
}
"""Greek letters by command name, as read aloud."""

OPERATORS = {
    "+": N_("plus"), "-": N_("minus"), "\\pm": N_("plus or minus"), "\\cdot": N_("times"), "\\times": N_("times"),
    "/": N_("over"), "=": N_("equals"), "\\sim": N_("is distributed as"), "\\approx": N_("is approximately"),
    "<": N_("is less than"), ">": N_("is greater than"), "\\le": N_("is at most"), "\\leq": N_("is at most"),
    "\\ge": N_("is at least"), "\\geq": N_("is at least"), "\\ne": N_("is not equal to"),
    "\\neq": N_("is not equal to"), "\\in": N_("in"), "\\to": N_("tends to"), "\\propto": N_("is proportional to"),
    "\\infty": N_("infinity"), "\\partial": N_("partial"), "\\nabla": N_("gradient of"),
}
"""Operators, relations and symbols read as words."""

NAMED_FUNCTIONS = {"Var": N_("the variance of"), "Cov": N_("the covariance of"), "exp": N_("the exponential of"),
                   "log": N_("the logarithm of"), "ln": N_("the natural logarithm of"), "sin": N_("the sine of"),
                   "cos": N_("the cosine of"), "tanh": N_("the hyperbolic tangent of"),
                   "relu": N_("ReLU of"), "E": N_("the expectation of")}
"""Operators written as words (``\\operatorname{Var}``, ``\\mathrm{relu}``, ``\\mathbb{E}``, ``\\exp``), with "of"."""

LIMIT_OPERATORS = {
    "\\sum": (N_("the sum for {index} from {start} to {end} of"), N_("the sum over {index} of"), N_("the sum of")),
    "\\prod": (N_("the product for {index} from {start} to {end} of"), N_("the product over {index} of"),
               N_("the product of")),
    "\\min": (None, N_("the minimum over {index} of"), N_("the minimum of")),
    "\\max": (None, N_("the maximum over {index} of"), N_("the maximum of")),
}
"""Operators with limits: read with a range (``_{k=1}^{M}``), with an index alone (``_\\theta``), and bare."""

SILENT = {"\\big", "\\Big", "\\bigg", "\\Bigg", "\\left", "\\right", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr",
          "\\,", "\\;", "\\:", "\\!", "\\ ", "\\quad", "&", "\\displaystyle", "\\nonumber", "\\limits"}
"""Sizing and spacing: not read."""
PAUSES = {"\\qquad", "\\\\", ",", ";"}
"""Read as a pause (a comma): wide space between clauses, a new line of an aligned display, punctuation."""
OPENING = {"(": ")", "[": "]", "\\{": "\\}", "\\lVert": "\\rVert", "\\|": "\\|", "|": "|", "\\lvert": "\\rvert",
           "\\langle": "\\rangle"}
"""Delimiters that open a group, and what closes it."""
FONTS = {"\\mathcal": N_("script {letter}"), "\\mathbb": N_("blackboard {letter}"), "\\mathbf": N_("bold {letter}"),
         "\\boldsymbol": N_("bold {letter}"), "\\mathit": "{letter}"}
"""Letters in another alphabet, read with its name (``\\mathrm`` and ``\\text`` read as they are)."""
ACCENTS = {"\\hat": N_("{base} hat"), "\\widehat": N_("{base} hat"), "\\bar": N_("{base} bar"),
           "\\overline": N_("{base} bar"), "\\tilde": N_("{base} tilde"), "\\widetilde": N_("{base} tilde"),
           "\\dot": N_("{base} dot"), "\\vec": N_("vector {base}")}
"""Accents over a letter."""


@dataclass
class Node:
    """One piece of a parsed formula: a ``kind`` (word, number, operator, pause, group, fence, frac, sqrt, accent,
    function, limits, text), its words or children, and its sub- and superscript."""

    kind: str
    text: str = ""
    children: list["Node"] = field(default_factory=list)
    parts: list[list["Node"]] = field(default_factory=list)
    sub: list["Node"] | None = None
    sup: list["Node"] | None = None


def speak(latex: str) -> str:
    """The formula ``latex`` as words in the current language (spaces and punctuation tidied)."""
    tokens = _tokens(latex)
    nodes = _parse(tokens, 0, None)[0]
    text = " ".join(_say_all(nodes))
    text = re.sub(r"\s+", " ", text)
    for words, merged in lang.current().contractions:  # pieces put "de" before "el cuadrado"
        text = re.sub(rf"\b{words}\b", merged, text)
    text = re.sub(r"\s+([,;.])", r"\1", text)
    text = re.sub(r"([,;])(\s*[,;])+", r"\1", text)
    return text.strip(" ,;")


def _tokens(latex: str) -> list[str]:
    """Tokens, with a number written with a decimal comma (``0{,}05``) kept as one number."""
    raw = _TOKEN.findall(latex)
    merged: list[str] = []
    i = 0
    while i < len(raw):
        token = raw[i]
        if (token == "{,}" and merged and merged[-1][-1:].isdigit() and i + 1 < len(raw) and raw[i + 1][:1].isdigit()):
            merged[-1] += "," + raw[i + 1]
            i += 2
            continue
        merged.append(token)
        i += 1
    return merged


def _parse(tokens: list[str], i: int, closing: str | None) -> tuple[list[Node], int]:
    """Nodes from ``tokens[i:]`` up to ``closing`` (``}``, a fence's closing delimiter, or the end)."""
    nodes: list[Node] = []
    while i < len(tokens):
        token = tokens[i]
        if closing is not None and token == closing:
            return nodes, i + 1
        if token == "}":  # unbalanced: stop this group
            return nodes, i + 1
        node, i = _atom(tokens, i)
        if node is None:
            continue
        i = _scripts(tokens, i, node)
        nodes.append(node)
    return nodes, i


def _argument(tokens: list[str], i: int) -> tuple[list[Node], int]:
    """A command's argument: a braced group or a single token."""
    while i < len(tokens) and tokens[i] in ("\\,", "\\;", "\\ ", "\\!"):
        i += 1
    if i >= len(tokens):
        return [], i
    if tokens[i] == "{":
        return _parse(tokens, i + 1, "}")
    node, i = _atom(tokens, i)
    return ([node] if node else []), i


def _raw_argument(tokens: list[str], i: int) -> tuple[str, int]:
    """A command's argument as its source text (``\\text{for example}``, ``\\operatorname{Var}``)."""
    if i < len(tokens) and tokens[i] == "{":
        depth, j = 1, i + 1
        while j < len(tokens) and depth:
            depth += {"{": 1, "}": -1}.get(tokens[j], 0)
            j += 1
        return "".join(t if not t.startswith("\\") else t[1:] for t in tokens[i + 1:j - 1]), j
    return (tokens[i].lstrip("\\"), i + 1) if i < len(tokens) else ("", i)


def _scripts(tokens: list[str], i: int, node: Node) -> int:
    """Attach the ``_`` and ``^`` that follow ``node``."""
    while i < len(tokens) and tokens[i] in ("_", "^"):
        mark = tokens[i]
        script, i = _argument(tokens, i + 1)
        if mark == "_":
            node.sub = script
        else:
            node.sup = script
    return i


def _atom(tokens: list[str], i: int) -> tuple[Node | None, int]:
    """One node starting at ``tokens[i]`` (None for a silent token), and where the next one starts."""
    token = tokens[i]
    i += 1
    if token.startswith("\\text{"):
        return Node("text", text=token[len("\\text{"):-1]), i
    if token == "{":
        children, i = _parse(tokens, i, "}")
        return Node("group", children=children), i
    if token in ("\\begin", "\\end", "\\label"):  # an environment's name, a label: not read
        return None, _raw_argument(tokens, i)[1]
    if token in SILENT:
        return None, i
    if token in PAUSES:
        return Node("pause", text=token), i
    if token in OPENING:
        closing = OPENING[token]
        inside, i = _parse(tokens, i, closing)
        return Node("fence", text=token, children=inside), i
    if token in (")", "]", "\\}", "\\rVert", "\\rvert", "\\rangle"):
        return None, i  # a closing delimiter without its opening: silent
    if token == "\\frac" or token == "\\dfrac" or token == "\\tfrac":
        top, i = _argument(tokens, i)
        bottom, i = _argument(tokens, i)
        return Node("frac", parts=[top, bottom]), i
    if token == "\\sqrt":
        inside, i = _argument(tokens, i)
        return Node("sqrt", children=inside), i
    if token in ACCENTS:
        inside, i = _argument(tokens, i)
        return Node("accent", text=ACCENTS[token], children=inside), i
    if token in ("\\text", "\\mathrm", "\\operatorname", "\\textrm", "\\textit"):
        text, i = _raw_argument(tokens, i)
        if token in ("\\mathrm", "\\operatorname") and text in NAMED_FUNCTIONS:
            return Node("function", text=NAMED_FUNCTIONS[text]), i
        return Node("text" if token.startswith("\\text") else "word", text=text), i
    if token in FONTS:
        text, i = _raw_argument(tokens, i)
        if token == "\\mathbb" and text in NAMED_FUNCTIONS:
            return Node("function", text=NAMED_FUNCTIONS[text]), i
        if token == "\\mathcal" and text == "N":  # read by its parameters where it has them: see _say_all
            return Node("normal", text=lang._(FONTS[token], letter=text)), i
        return Node("word", text=lang._(FONTS[token], letter=text) if "{letter}" in FONTS[token] else text), i
    if token in LIMIT_OPERATORS:
        return Node("limits", text=token), i
    name = token[1:]
    if token.startswith("\\") and name in NAMED_FUNCTIONS:
        return Node("function", text=NAMED_FUNCTIONS[name]), i
    if token.startswith("\\") and name in GREEK:
        return Node("word", text=lang.translation(GREEK[name])), i
    if token in ("\\dots", "\\ldots", "\\cdots"):
        return Node("dots"), i
    if token in OPERATORS:
        return Node("operator", text=token), i
    if token == "{-}":
        return Node("operator", text="-"), i
    if token[:1].isdigit():
        return Node("number", text=token), i
    if token.startswith("\\"):
        return Node("word", text=name), i  # unknown command: its name, never a backslash
    if token in "^_":
        return None, i
    return Node("word", text=token), i


def _applies(node: Node) -> bool:
    """Whether a fence right after ``node`` holds its argument (``f(x)``, ``\\hat y(x)``, ``\\mathcal{N}(0, 1)``)."""
    if node.sup is not None:
        return False
    if node.kind == "word":
        return not node.text[:1].isdigit()
    return node.kind == "accent"


def _say_all(nodes: list[Node]) -> list[str]:
    """Words for a sequence of nodes."""
    words: list[str] = []
    i = 0
    while i < len(nodes):
        node = nodes[i]
        following = nodes[i + 1] if i + 1 < len(nodes) else None
        if node.kind == "normal" and following is not None and following.kind == "fence" and following.sup is None:
            parts = _split_at_commas(following.children)
            if len(parts) == 2:  # N(mean, variance): a screen reader user hears what it is, not "script N"
                mean, variance = (" ".join(_say_all(part)) for part in parts)
                words.append(lang._("a Gaussian with mean {mean} and variance {variance}",
                                    mean=mean, variance=variance))
                i += 2
                continue
        if (following is not None and following.kind == "fence" and following.text in ("(", "[")
                and _applies(node)):
            argument = _inside(following)
            if _has_operator(following.children):  # "g of b plus c" would read as g(b) + c: say where it ends
                argument = lang._("open parenthesis {inside} close parenthesis", inside=argument)
            applied = lang._("{function} of {argument}", function=_say(node), argument=argument)
            # g(z)^2 is "the square of g of z": "g of z, squared" after an expectation reads as (E[g(z)])^2.
            words.append(_raised(applied, following.sup) if following.sup is not None else applied)
            i += 2
            continue
        if node.kind == "function" and following is not None and following.kind == "fence" and node.sup is None:
            applied = f"{_say(node)} {_inside(following)}"  # "the variance of" has its "of"
            words.append(_raised(applied, following.sup) if following.sup is not None else applied)
            i += 2
            continue
        if node.kind == "dots" and following is not None and following.kind == "pause" and following.text == ",":
            words.append(_say(node))
            i += 2
            continue
        if node.kind == "operator" and node.text == "-" and (not words or words[-1] in (",",) or
                                                                (i > 0 and nodes[i - 1].kind == "operator")):
            words.append(lang._("negative"))
            i += 1
            continue
        words.append(_say(node))
        i += 1
    return [w for w in words if w]


def _split_at_commas(nodes: list[Node]) -> list[list[Node]]:
    """A fence's contents split at its own commas (``0, \\sigma^2`` into ``0`` and ``\\sigma^2``)."""
    parts: list[list[Node]] = [[]]
    for node in nodes:
        if node.kind == "pause" and node.text == ",":
            parts.append([])
        else:
            parts[-1].append(node)
    return parts


def _has_operator(nodes: list[Node]) -> bool:
    """Whether a sequence holds a binary operator or relation at its own level (not inside a group)."""
    return any(node.kind == "operator" for node in nodes[1:])


def _raised(base: str, exponent: list[Node]) -> str:
    """``base`` raised to ``exponent``, the power said first: "the square of g of z"."""
    said = " ".join(_say_all(exponent))
    if said == "2":
        return lang._("the square of {base}", base=base)
    if said == "3":
        return lang._("the cube of {base}", base=base)
    return lang._("{base}, to the power {exponent}", base=base, exponent=said)


def _inside(fence: Node) -> str:
    return " ".join(_say_all(fence.children))


def _scripts_of(node: Node) -> str:
    """A script attached to a closing delimiter, read after the group: ", squared"."""
    if node.sup is None:
        return ""
    return ", " + _power_words(node.sup)


def _power_words(exponent: list[Node]) -> str:
    """``squared``, ``cubed`` or ``to the power …``."""
    said = " ".join(_say_all(exponent))
    if said == "2":
        return lang._("squared")
    if said == "3":
        return lang._("cubed")
    return lang._("to the power {exponent}", exponent=said)


def _say(node: Node) -> str:
    """Words for one node, its scripts included."""
    kind = node.kind
    if kind == "limits":
        return _say_limits(node)
    if kind == "fence":
        base = _say_fence(node)
        return base + _scripts_of(node) if node.sup is not None else base
    if kind == "group":
        base = " ".join(_say_all(node.children))
    elif kind in ("word", "number", "text", "normal"):
        base = node.text
    elif kind == "function":
        base = lang.translation(node.text)
    elif kind == "operator":
        base = lang.translation(OPERATORS[node.text])
    elif kind == "pause":
        base = ","
    elif kind == "dots":
        base = lang._("and so on up to")
    elif kind == "frac":
        top, bottom = (" ".join(_say_all(part)) for part in node.parts)
        simple = all(len(part) == 1 and part[0].kind in ("word", "number") and part[0].sub is None
                     and part[0].sup is None for part in node.parts)
        base = (lang._("{numerator} over {denominator}", numerator=top, denominator=bottom) if simple else
                lang._("the fraction with numerator {numerator} and denominator {denominator}",
                       numerator=top, denominator=bottom))
    elif kind == "sqrt":
        base = lang._("the square root of {radicand}", radicand=" ".join(_say_all(node.children)))
    elif kind == "accent":
        base = lang._(node.text, base=" ".join(_say_all(node.children)))
    else:
        base = node.text
    if node.sub is not None:
        base = lang._("{base} sub {index}", base=base, index=" ".join(_say_all(node.sub)))
    if node.sup is not None:
        base = f"{base} {_power_words(node.sup)}"
    return base


def _say_fence(node: Node) -> str:
    """A delimited group: a norm, a closed interval, a set, or a parenthesised expression."""
    inside = _inside(node)
    if node.text in ("\\lVert", "\\|"):
        return lang._("the norm of {argument}", argument=inside)
    if node.text in ("|", "\\lvert"):
        return lang._("the absolute value of {argument}", argument=inside)
    if node.text == "\\{":
        return lang._("the set {members}", members=inside)
    separators = [n for n in node.children if n.kind == "pause" and n.text in (",", ";")]
    if node.text == "[" and len(separators) == 1:
        at = node.children.index(separators[0])
        start, end = (" ".join(_say_all(part)) for part in (node.children[:at], node.children[at + 1:]))
        return lang._("the interval from {start} to {end}", start=start, end=end)
    return lang._("open parenthesis {inside} close parenthesis", inside=inside)


def _say_limits(node: Node) -> str:
    """``\\sum_{k=1}^{M}`` as "the sum for k from 1 to M of"; ``\\min_\\theta`` as "the minimum over theta of"."""
    ranged, over, bare = LIMIT_OPERATORS[node.text]
    sub = node.sub or []
    equals = next((j for j, n in enumerate(sub) if n.kind == "operator" and n.text == "="), None)
    if ranged is not None and equals is not None and node.sup is not None:
        return lang._(ranged, index=" ".join(_say_all(sub[:equals])), start=" ".join(_say_all(sub[equals + 1:])),
                      end=" ".join(_say_all(node.sup)))
    if sub:
        return lang._(over, index=" ".join(_say_all(sub)))
    return lang.translation(bare)
