"""Safe target expressions such as ``x * sin(10 * x)``.

Expressions are parsed with :mod:`ast` and checked against a whitelist of
node types and NumPy functions, then evaluated by walking the tree. Nothing
is ever passed to ``eval``, so a definition file cannot run code.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .messages import did_you_mean
from .pyparse import parse

FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "tanh": np.tanh,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "arctan": np.arctan,
    "sign": np.sign,
}
CONSTANTS = {"pi": np.float64(np.pi), "e": np.float64(np.e)}
MAX_LENGTH = 1000
"""Longest accepted source text; a target is one line of mathematics."""
MAX_DEPTH = 100
"""Deepest accepted nesting, so that checking and evaluating never exhaust the Python stack."""

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_SYMBOLS = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.Invert: "~", ast.Not: "not",
}
# What a user would call each refused construct; anything else is named by its AST class.
_CONSTRUCTS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.Compare: "comparison",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment",
    ast.JoinedStr: "f-string",
    ast.Starred: "starred expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


class ExpressionError(ValueError):
    """A target expression uses something outside the whitelist."""


@dataclass(frozen=True)
class Expression:
    """A validated expression in the single variable ``x``."""

    source: str
    tree: ast.Expression

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluate the expression elementwise on ``x`` (float64)."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            value = _evaluate(self.tree.body, x)
        return np.broadcast_to(np.asarray(value, dtype=np.float64), x.shape).copy()


def parse_expression(source: str) -> Expression:
    """Parse and check ``source``; raise ExpressionError naming what is not allowed."""
    text = source.strip()
    if not text:
        raise ExpressionError("expected an expression in x, got an empty string")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expected at most {MAX_LENGTH} characters, got {len(text)}")
    try:
        tree = parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression ({exc.msg})") from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    _check(tree.body, text, depth=0)
    return Expression(source=source, tree=tree)


def allowed() -> str:
    """Everything an expression may use, for error messages and documentation."""
    return f"x, numbers, {', '.join(CONSTANTS)}, + - * / ** and {', '.join(FUNCTIONS)}"


def _check(node: ast.AST, text: str, depth: int) -> None:
    """Refuse ``node`` unless it and everything under it is on the whitelist."""
    if depth > MAX_DEPTH:
        raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, ast.BinOp):
        _check_operator(node.op)
        _check(node.left, text, depth + 1)
        _check(node.right, text, depth + 1)
    elif isinstance(node, ast.UnaryOp):
        _check_operator(node.op)
        _check(node.operand, text, depth + 1)
    elif isinstance(node, ast.Constant):
        _check_number(node.value)
    elif isinstance(node, ast.Name):
        _check_name(node.id)
    elif isinstance(node, ast.Call):
        _check_call(node, text, depth)
    else:
        construct = _CONSTRUCTS.get(type(node), f"'{type(node).__name__}'")
        raise ExpressionError(f"{construct} {_segment(node, text)!r} is not allowed; use {allowed()}")


def _check_operator(op: ast.AST) -> None:
    if type(op) in _BINARY or type(op) in _UNARY:
        return
    symbol = _SYMBOLS.get(type(op), type(op).__name__)
    hint = " (use ** for powers)" if symbol == "^" else ""
    raise ExpressionError(f"operator '{symbol}' is not allowed{hint}; use + - * / **")


def _check_number(value: object) -> None:
    # bool is an int subclass, and complex numbers are numbers, but neither is a real-valued constant.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        what = "string" if isinstance(value, (str, bytes)) else "constant"
        raise ExpressionError(f"{what} {value!r} is not allowed; only real numbers may appear as constants")
    try:
        float(value)
    except OverflowError:
        raise ExpressionError(f"the number {str(value)[:20]}... is too large") from None


def _check_name(name: str) -> None:
    if name == "x" or name in CONSTANTS:
        return
    if name in FUNCTIONS:
        raise ExpressionError(f"'{name}' is a function; call it as {name}(...)")
    raise ExpressionError(f"unknown name '{name}'{did_you_mean(name, ['x', *CONSTANTS])}; "
                          f"use x, {', '.join(CONSTANTS)} or a function call")


def _check_call(node: ast.Call, text: str, depth: int) -> None:
    if not isinstance(node.func, ast.Name):
        _check(node.func, text, depth + 1)  # names the construct: attribute access, lambda, ...
        raise ExpressionError(f"calling {_segment(node.func, text)!r} is not allowed")
    name = node.func.id
    if name not in FUNCTIONS:
        raise ExpressionError(f"unknown function '{name}'{did_you_mean(name, FUNCTIONS)}; "
                              f"use one of {', '.join(FUNCTIONS)}")
    if len(node.args) != 1 or node.keywords:
        given = len(node.args) + len(node.keywords)
        raise ExpressionError(f"{name}() takes exactly one argument, got {given}")
    _check(node.args[0], text, depth + 1)


def _segment(node: ast.AST, text: str) -> str:
    """The source text of ``node``, as the user wrote it."""
    return ast.get_source_segment(text, node) or ast.unparse(node)


def _evaluate(node: ast.AST, x: np.ndarray):
    """Walk a checked tree; NumPy scalars make 1/0 and 10**400 give inf instead of raising."""
    if isinstance(node, ast.Constant):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        return x if node.id == "x" else CONSTANTS[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, x), _evaluate(node.right, x))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, x))
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](_evaluate(node.args[0], x))
    raise ExpressionError(f"'{type(node).__name__}' is not allowed")  # unreachable after _check
