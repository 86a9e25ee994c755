"""Equations for screen readers: MathML as their accessible form, and words (not LaTeX) as their text, in the
edition's language."""

from __future__ import annotations

import html
import re

import pytest

from reportgen.catalogues import builtin_locale, po_path, read
from reportgen.discover import builtin_templates
from reportgen.language import speaking
from reportgen.mathspeech import speak
from reportgen.mathsvg import FORMULA_MARK, for_print, typeset_math

from .conftest import EDITIONS

LEFTOVER = re.compile(r"[\\{}^_&$]")
"""What spoken words must never hold: a LaTeX command, a brace, a script mark, an alignment mark."""

FORMULA = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


@pytest.mark.parametrize(("latex", "english", "spanish"), [
    (r"x^k", "x to the power k", "x elevado a k"),
    (r"\sigma_b^2", "sigma sub b squared", "sigma sub b al cuadrado"),
    (r"\hat y(x) = b + \sum_{k=1}^{M} w_k\, x^k,",
     "y hat of x equals b plus the sum for k from 1 to M of w sub k x to the power k",
     "y gorro de x es igual a b más la suma para k desde 1 hasta M de w sub k x elevado a k"),
    (r"g(z) = \frac{1}{1 + e^{-z}}",
     "g of z equals the fraction with numerator 1 and denominator 1 plus e to the power negative z",
     "g de z es igual a la fracción con numerador 1 y denominador 1 más e elevado a menos z"),
    (r"\lambda \lVert\theta\rVert^2", "lambda the norm of theta, squared", "lambda la norma de theta, al cuadrado"),
    (r"[{-}0{,}05;\ 1{,}05]", "the interval from negative 0,05 to 1,05", "el intervalo de menos 0,05 a 1,05"),
    (r"\varepsilon_n \sim \mathcal{N}(0, \sigma^2)",
     "epsilon sub n is distributed as a Gaussian with mean 0 and variance sigma squared",
     "épsilon sub n se distribuye como una gaussiana de media 0 y varianza sigma al cuadrado"),
    (r"\mathcal{N}", "script N", "N caligráfica"),
    (r"\operatorname{Var} f(x) = \mathbb{E}\big[g(z)^2\big]",
     "the variance of f of x equals the expectation of the square of g of z",
     "la varianza de f de x es igual a la esperanza del cuadrado de g de z"),
    (r"h = g(b + w x)", "h equals g of open parenthesis b plus w x close parenthesis",
     "h es igual a g de abre paréntesis b más w x cierra paréntesis"),
    (r"1/\sqrt{N_h}", "1 over the square root of N sub h", "1 sobre la raíz cuadrada de N sub h"),
    (r"\min_\theta\; \sum_k \theta_k^2", "the minimum over theta of the sum over k of theta sub k squared",
     "el mínimo sobre theta de la suma sobre k de theta sub k al cuadrado"),
    (r"j = 1, \dots, N_h", "j equals 1, and so on up to N sub h", "j es igual a 1, y así hasta N sub h"),
    (r"\begin{aligned} f &= g \\ &= h \end{aligned}", "f equals g, equals h", "f es igual a g, es igual a h"),
])
def test_formulas_read_as_words_in_each_language(latex, english, spanish):
    with speaking("en"):
        assert speak(latex) == english
    with speaking("es"):
        assert speak(latex) == spanish


def test_an_unknown_command_reads_as_its_name_never_as_latex():
    with speaking("en"):
        assert speak(r"\foo{x} \\ y") == "foo x, y"


def _template_formulas() -> list[str]:
    """Every formula the built-in templates and catalogues write, Jinja fields filled with a number."""
    templates = builtin_templates()
    sources = [path.read_text(encoding="utf-8") for path in sorted(templates.rglob("*.j2"))]
    catalogue = read(po_path(builtin_locale(), "es"), "es")
    for message in catalogue:
        for text in (message.id, message.string):
            sources += [t for t in (text if isinstance(text, tuple) else (text,)) if t]
    found = []
    for source in sources:
        for match in FORMULA.finditer(source.replace("\\\\(", "\\(").replace("\\\\)", "\\)")
                                      .replace("\\\\[", "\\[").replace("\\\\]", "\\]")):
            formula = JINJA.sub("1", match.group(1) or match.group(2))
            found.append(re.sub(r"\\label\{[^}]*\}", "", formula))
    return found


def test_every_formula_of_the_built_in_templates_reads_as_words():
    formulas = _template_formulas()
    assert len(formulas) > 40 and any(r"\sum" in f for f in formulas) and any(r"\frac" in f for f in formulas)
    for code in ("en", "es"):
        with speaking(code):
            leftovers = {f: speak(f) for f in formulas if LEFTOVER.search(speak(f)) or not speak(f).strip()}
        assert not leftovers, f"{code}: {leftovers}"


def test_typeset_formulas_carry_mathml_with_words_and_a_silent_picture():
    with speaking("es"):
        page = typeset_math(r"<p>Si \(x^2\), entonces \[ \hat y(x) = 0{,}5 \label{eq:a} \] y \eqref{eq:a}.</p>")
    images = re.findall(r"<img [^>]*>", page)
    maths = re.findall(r"<math\b[^>]*>.*?</math>", page, re.S)
    assert len(images) == len(maths) == 2
    assert all('alt=""' in image for image in images)  # the picture is silent: the MathML speaks
    assert re.search(r'<math class="visually-hidden" alttext="x al cuadrado"><mrow><msup><mi>x</mi><mn>2</mn>',
                     page)
    assert 'alttext="y gorro de x es igual a 0,5" display="block"' in page
    assert "<mn>0,5</mn>" in page  # a decimal comma stays one number
    assert "&#x" not in page and "stretchy" not in page  # characters as themselves; nothing that only sets a look

    printed = for_print(page)
    assert "<math" not in printed
    assert re.findall(r'alt="([^"]*)"', printed) == [FORMULA_MARK + "x al cuadrado",
                                                     FORMULA_MARK + "y gorro de x es igual a 0,5"]


@pytest.mark.parametrize("name", EDITIONS)
def test_every_equation_of_every_edition_has_mathml_and_words(tiny_editions, name):
    page = (tiny_editions / name).read_text(encoding="utf-8")
    pictures = re.findall(r'<img class="math(?:-display)?" [^>]*>', page)
    maths = re.findall(r'<math class="visually-hidden" alttext="([^"]*)"', page)
    assert len(pictures) == len(maths) > 10
    assert all(' alt=""' in picture for picture in pictures)
    words = [html.unescape(text) for text in maths]
    assert not [w for w in words if LEFTOVER.search(w) or not w.strip()]
    if ".es." in name:
        assert any("es igual a" in w for w in words) and not any(" equals " in w for w in words)
    else:
        assert any(" equals " in w for w in words)
