"""A calculator tool that evaluates arithmetic safely: the expression is parsed, never executed.

Only numbers, ``+ - * / // % **``, unary signs, parentheses, the constants in
:data:`CONSTANTS` and the functions in :data:`FUNCTIONS` are accepted; any other name,
attribute, subscript or call is refused with a ``ValueError`` naming it. Exponents are bounded
so ``9 ** 9 ** 9`` is refused instead of eating the CPU.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Annotated, Any

import pydantic

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_EXPONENT",
    "MAX_LENGTH",
    "MAX_RESULT_BITS",
    "calculator",
    "evaluate",
]

Number = int | float

MAX_LENGTH = 500
MAX_EXPONENT = 1000
MAX_RESULT_BITS = 4096

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _round(x: Number, ndigits: int | None = None) -> Number:
    if ndigits is not None and not isinstance(ndigits, int):
        raise ValueError(f"round() takes a whole number of digits, got {ndigits!r}")
    return round(x) if ndigits is None else round(x, ndigits)


FUNCTIONS: dict[str, Callable[..., Number]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": _round,
    "floor": math.floor,
    "ceil": math.ceil,
    "log": math.log,
    "min": min,
    "max": max,
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_SYMBOLS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}


def evaluate(expression: str) -> Number:
    """The value of an arithmetic ``expression``; ``ValueError`` for anything else."""
    if len(expression) > MAX_LENGTH:
        raise ValueError(
            f"expression is {len(expression)} characters long; the limit is {MAX_LENGTH}"
        )
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {exc.msg}: {expression!r}") from None
    result = _eval(tree.body)
    if isinstance(result, float) and not math.isfinite(result):
        raise ValueError(f"the result is not a finite number ({result})")
    return result


def _check_size(value: Any) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_RESULT_BITS:
        raise ValueError(f"an intermediate result is larger than {MAX_RESULT_BITS} bits")
    number: Number = value
    return number


def _eval(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"only numbers are allowed, got the constant {value!r}")
        return value
    if isinstance(node, ast.BinOp):
        operation = _BINARY.get(type(node.op))
        if operation is None:
            symbol = _SYMBOLS.get(type(node.op), type(node.op).__name__)
            raise ValueError(f"the operator {symbol!r} is not allowed; use + - * / // % **")
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _check_size(operation(left, right))
    if isinstance(node, ast.UnaryOp):
        unary = _UNARY.get(type(node.op))
        if unary is None:
            raise ValueError(f"the unary operator {type(node.op).__name__} is not allowed")
        return _check_size(unary(_eval(node.operand)))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ValueError(f"unknown name {node.id!r}; allowed constants: {', '.join(CONSTANTS)}")
    if isinstance(node, ast.Call):
        return _call(node)
    if isinstance(node, ast.Attribute):
        raise ValueError(f"attribute access ('.{node.attr}') is not allowed")
    raise ValueError(f"{type(node).__name__} is not allowed in an arithmetic expression")


def _call(node: ast.Call) -> Number:
    name = node.func.id if isinstance(node.func, ast.Name) else None
    if name is None or name not in FUNCTIONS:
        shown = name or ast.unparse(node.func)
        raise ValueError(
            f"calling {shown!r} is not allowed; allowed functions: {', '.join(FUNCTIONS)}"
        )
    if node.keywords:
        raise ValueError(f"{name}() takes positional arguments only")
    arguments = [_eval(argument) for argument in node.args]
    try:
        return FUNCTIONS[name](*arguments)
    except TypeError as exc:
        raise ValueError(f"{name}(): {exc}") from None


def _check_power(base: Number, exponent: Number) -> None:
    if abs(exponent) > MAX_EXPONENT:
        raise ValueError(f"exponent {exponent} is too large; the limit is {MAX_EXPONENT}")
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        bits = base.bit_length() * exponent
        if bits > MAX_RESULT_BITS:
            raise ValueError(
                f"{base} ** {exponent} would have about {bits} bits; the limit is {MAX_RESULT_BITS}"
            )


Expression = Annotated[
    str,
    pydantic.Field(
        min_length=1,
        max_length=MAX_LENGTH,
        description="arithmetic, e.g. '2 * (3 + 4) ** 2 / sqrt(16)'",
    ),
]


def calculator(expression: Expression) -> float | int:
    """Evaluate an arithmetic expression (+ - * / // % **, parentheses, sqrt, abs, round...)."""
    return evaluate(expression)
