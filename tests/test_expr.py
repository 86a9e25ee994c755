"""The safe target-expression parser: NumPy-exact evaluation, clear refusals, and nothing ever executed."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.expr import ExpressionError, parse_expression

X = np.linspace(-0.05, 1.05, 200)


@pytest.mark.parametrize("source, numpy", [
    ("x * sin(10 * x)", lambda x: x * np.sin(10 * x)),
    ("pi * x", lambda x: np.pi * x),
    ("exp(-x ** 2 / 2)", lambda x: np.exp(-x ** 2 / 2)),
    ("x ** 3 - 2 * x ** 2 + 0.5", lambda x: x ** 3 - 2 * x ** 2 + 0.5),
    ("-x + -(-x) + +x", lambda x: -x + -(-x) + +x),
    ("2 ** -x", lambda x: 2 ** -x),
    ("cos(2 * pi * x) / e", lambda x: np.cos(2 * np.pi * x) / np.e),
    ("sqrt(abs(x)) * tanh(x) - sign(x)", lambda x: np.sqrt(np.abs(x)) * np.tanh(x) - np.sign(x)),
    ("1.5", lambda x: np.full_like(x, 1.5)),
])
def test_expression_evaluates_exactly_like_numpy(source: str, numpy) -> None:
    """The tree walk gives the very floats NumPy gives for the same formula."""
    result = parse_expression(source)(X)
    assert result.dtype == np.float64
    assert result.shape == X.shape
    np.testing.assert_array_equal(result, numpy(X))


def test_division_by_zero_and_overflow_give_inf_instead_of_raising() -> None:
    """Constants are NumPy floats, so 1/0 and 10**400 follow IEEE rules like the rest of the array maths."""
    x = np.array([1.0])
    assert parse_expression("1 / 0")(x)[0] == np.inf
    assert parse_expression("10 ** 10 ** 10")(x)[0] == np.inf


@pytest.mark.parametrize("source, named", [
    ("__import__('os').system('echo hi')", "attribute access"),
    ("x.__class__", "attribute access 'x.__class__'"),
    ("(lambda: x)()", "lambda"),
    ("x[0]", "subscript 'x[0]'"),
    ("[v for v in x]", "comprehension"),
    ("'abc'", "string 'abc'"),
    ("x if x > 0 else 0", "conditional expression"),
    ("x > 0", "comparison 'x > 0'"),
    ("(x, x)", "tuple"),
    ("f'{x}'", "f-string"),
    ("(y := x)", "assignment"),
    ("x and 1", "'and'/'or'"),
    ("gamma(x)", "unknown function 'gamma'"),
    ("sine(x)", "did you mean 'sin'?"),
    ("open('f')", "unknown function 'open'"),
    ("y * x", "unknown name 'y'"),
    ("sin", "'sin' is a function"),
    ("sin(x, x)", "sin() takes exactly one argument, got 2"),
    ("sin(x=1)", "sin() takes exactly one argument"),
    ("x ^ 2", "operator '^' is not allowed (use ** for powers)"),
    ("x // 2", "operator '//'"),
    ("True * x", "constant True"),
    ("1j * x", "constant 1j"),
    ("x *", "not a valid expression"),
    ("", "empty"),
    ("-" * 200 + "x", "nested more than"),
    ("x + " * 400 + "x", "at most 1000 characters"),
])
def test_refused_expression_names_the_offending_construct(source: str, named: str) -> None:
    """Everything outside numbers, x, pi, e, + - * / ** and the listed functions is refused by name."""
    with pytest.raises(ExpressionError) as caught:
        parse_expression(source)
    assert named in str(caught.value)


@pytest.mark.parametrize("template", [
    "__import__('pathlib').Path({path!r}).touch()",
    "open({path!r}, 'w')",
    "[open({path!r}, 'w') for _ in x]",
    "(lambda: open({path!r}, 'w'))()",
    "x.__class__.__base__.__subclasses__() and open({path!r}, 'w')",
])
def test_refused_expression_is_never_executed(template: str, tmp_path) -> None:
    """Parsing a hostile expression runs none of it: the file it would create does not appear."""
    marker = tmp_path / "executed"
    with pytest.raises(ExpressionError):
        parse_expression(template.format(path=str(marker)))
    assert not marker.exists()
