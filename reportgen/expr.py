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
CONSTANTS = {"pi": np.pi, "e": np.e}
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


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
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression ({exc.msg})") from None
    for node in ast.walk(tree):
        _check(node)
    return Expression(source=source, tree=tree)


def _check(node: ast.AST) -> None:
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.Load)
    if isinstance(node, tuple(_BINARY) + tuple(_UNARY)):
        return
    if not isinstance(node, allowed):
        raise ExpressionError(f"'{type(node).__name__}' is not allowed; use x, numbers, + - * / ** and {_names()}")
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
        raise ExpressionError(f"operator '{type(node.op).__name__}' is not allowed")
    if isinstance(node, ast.UnaryOp) and type(node.op) not in _UNARY:
        raise ExpressionError(f"operator '{type(node.op).__name__}' is not allowed")
    if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
        raise ExpressionError(f"constant {node.value!r} is not a number")
    if isinstance(node, ast.Name) and node.id != "x" and node.id not in CONSTANTS and node.id not in FUNCTIONS:
        raise ExpressionError(f"unknown name '{node.id}'; use x, {', '.join(CONSTANTS)} or {_names()}")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError(f"only these functions may be called: {_names()}")
        if len(node.args) != 1 or node.keywords:
            raise ExpressionError(f"{node.func.id}() takes exactly one argument")


def _names() -> str:
    return ", ".join(FUNCTIONS)


def _evaluate(node: ast.AST, x: np.ndarray):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id == "x":
            return x
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ExpressionError(f"'{node.id}' is a function; call it as {node.id}(...)")
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, x), _evaluate(node.right, x))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, x))
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](_evaluate(node.args[0], x))
    raise ExpressionError(f"'{type(node).__name__}' is not allowed")  # unreachable after _check
