"""Whether a learner's answer to a self-check is right: a number within its tolerance, a choice, an
expression equal to the expected one, or a short phrase.

What a learner types is hostile text: it is parsed, never evaluated by Python. Arithmetic is read
with `ast` into a small tree of numbers, the variables a check names and a few functions, then
computed in floats (no huge integers, no attribute or call of anything else). An expression is
equal to the expected one when both agree at fixed sample points, so `2*x`, `x+x` and `x*2` all
count. Written math is accepted as people type it: `√5`, `π`, `×`, `−`, `^`, `11,897`.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_TYPED = 200  # characters of an answer read at all
_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sqrt": math.sqrt, "exp": math.exp, "log": math.log, "ln": math.log, "sin": math.sin, "cos": math.cos,
    "tan": math.tan, "abs": abs,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}
_OPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b,
}
_WRITTEN = {"√": "sqrt", "π": "pi", "×": "*", "·": "*", "÷": "/", "−": "-", "–": "-", "^": "**"}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_SAMPLES = (0.7, 1.3, 1.9, 2.6, 3.1)  # where expressions are compared (positive: log and sqrt are defined)


class Unreadable(ValueError):
    """An answer that is not the kind of answer the check asks for; its message is for the learner."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one attempt: right or not, and what to tell a learner whose answer could not be read."""

    right: bool
    unreadable: str = ""


def _normal(typed: str) -> str:
    text = typed.strip()
    if len(text) > MAX_TYPED:
        raise Unreadable(f"That answer is longer than {MAX_TYPED} characters.")
    for written, python in _WRITTEN.items():
        text = text.replace(written, python)
    text = re.sub(r"sqrt\s*(\d+(?:\.\d+)?|[a-z])", r"sqrt(\1)", text)  # √5 → sqrt(5)
    text = re.sub(r"(\d)\s*(?!e\d)([a-z(])", r"\1*\2", text)  # 2x, 2√2, 3(x+1); 1e5 stays a number
    return re.sub(r"\)\s*([a-z(\d])", r")*\1", text)  # (x+1)(x-1), (x+1)2


def _tree(text: str, variables: Sequence[str]) -> ast.expr:
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise Unreadable("That is not a number or formula I can read: try digits, + - * / ^ and sqrt( ).") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in _CONSTANTS and node.id not in variables \
                and node.id not in _FUNCTIONS:
            raise Unreadable(f"'{node.id}' is not part of this question"
                             + (f" (use {', '.join(variables)})." if variables else "."))
        if not isinstance(node, ast.expr | ast.operator | ast.unaryop | ast.expr_context):
            raise Unreadable("That is not a number or formula I can read.")
    return tree


def _value(node: ast.expr, at: dict[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in at:
            return at[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _value(node.operand, at)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        result = _OPS[type(node.op)](_value(node.left, at), _value(node.right, at))
        if isinstance(result, complex):
            raise ValueError("complex")
        return result
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS \
            and len(node.args) == 1 and not node.keywords:
        return float(_FUNCTIONS[node.func.id](_value(node.args[0], at)))
    raise Unreadable("That is not a number or formula I can read.")


def evaluate(typed: str, variables: Sequence[str] = (), at: dict[str, float] | None = None) -> float:
    """The value of a typed number or formula (at the given values of its variables)."""
    tree = _tree(_normal(typed), variables)
    try:
        value = _value(tree, at or {})
    except (ArithmeticError, ValueError) as e:
        if isinstance(e, Unreadable):
            raise
        raise Unreadable("That formula has no value (a division by zero, or a number too large).") from None
    if not math.isfinite(value):
        raise Unreadable("That formula has no finite value.")
    return value


def _close(a: float, b: float, tolerance: float = 0.0) -> bool:
    return abs(a - b) <= max(tolerance, 1e-9 * max(1.0, abs(a), abs(b)))


def number(typed: str, expected: float, tolerance: float = 0.0) -> Verdict:
    """A number (or arithmetic that makes one: `sqrt(5)`, `3/4`) within `tolerance` of `expected`."""
    try:
        return Verdict(_close(evaluate(typed), expected, tolerance))
    except Unreadable as e:
        return Verdict(False, str(e))


def expression(typed: str, expected: str, variables: Sequence[str] = ()) -> Verdict:
    """A formula equal to `expected` at every sample point where `expected` has a value."""
    try:
        _tree(_normal(typed), variables)
    except Unreadable as e:
        return Verdict(False, str(e))
    compared = 0
    for i, x in enumerate(_SAMPLES):
        at = {v: x + 0.37 * j for j, v in enumerate(variables)} if variables else {}
        try:
            want = evaluate(expected, variables, at)
        except Unreadable:
            continue
        try:
            got = evaluate(typed, variables, at)
        except Unreadable:
            return Verdict(False)
        if not _close(got, want, 1e-6 * max(1.0, abs(want))):
            return Verdict(False)
        compared += 1
        if not variables and i == 0:
            break
    return Verdict(compared > 0)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[.!?;:,]+$", "", text.strip()).casefold().split())


def phrase(typed: str, expected: str, accept: Sequence[str] = ()) -> Verdict:
    """A short word or phrase, compared without case, outer spaces or a final full stop."""
    if len(typed) > MAX_TYPED:
        return Verdict(False, f"That answer is longer than {MAX_TYPED} characters.")
    return Verdict(_words(typed) in {_words(a) for a in (expected, *accept)})


def choice(picked: int | None, expected: int) -> Verdict:
    """One of the offered choices, by its place in the list."""
    if picked is None:
        return Verdict(False, "Pick one of the answers first.")
    return Verdict(picked == expected)
