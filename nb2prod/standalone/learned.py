"""Write a value the notebook learned from its data as a Python literal, when it is small.

Runs in the kernel (the recorder) and in nb2prod (which checks what a lock holds),
so it needs only the standard library. Plain values are ``None``, bools, ints,
finite floats, strings, and lists, tuples, sets and dicts of them; numpy scalars
count as the Python number they hold. Anything else, or anything longer than
:data:`MAX_LITERAL` characters, is no literal: it is saved as an artifact.
"""

from __future__ import annotations

import math
from typing import Any

#: The longest literal written into generated code; longer values are artifacts.
MAX_LITERAL = 2000
_MAX_DEPTH = 20


class _NotPlain(Exception):
    """The value has no short, plain literal."""


def literal(value: Any, limit: int = MAX_LITERAL) -> str | None:
    """The value's literal (stable: sets sorted), or None when it has none."""
    budget = [limit]
    try:
        return _text(value, 0, budget)
    except (_NotPlain, RecursionError):
        return None


def _text(value: Any, depth: int, budget: list[int]) -> str:
    if depth > _MAX_DEPTH:
        raise _NotPlain
    text = _scalar(value)
    if text is None:
        text = _container(value, depth, budget)
    budget[0] -= len(text)
    if budget[0] < 0:
        raise _NotPlain
    return text


def _scalar(value: Any) -> str | None:
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        item = getattr(value, "item", None)
        value = item() if callable(item) else value
        if type(value).__module__ == "numpy":
            raise _NotPlain
    if value is None or isinstance(value, bool):
        return repr(value if value is None else bool(value))
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        number = float(value)
        if not math.isfinite(number):
            raise _NotPlain  # nan and inf have no literal
        return repr(number)
    if isinstance(value, str):
        return repr(str(value))
    return None


def _container(value: Any, depth: int, budget: list[int]) -> str:
    kind = type(value)
    if kind is list or kind is tuple:
        items = [_text(item, depth + 1, budget) for item in value]
        if kind is tuple:
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        return f"[{', '.join(items)}]"
    if kind is set:
        if not value:
            return "set()"
        return "{" + ", ".join(sorted(_text(i, depth + 1, budget) for i in value)) + "}"
    if kind is dict:
        pairs = [
            f"{_text(k, depth + 1, budget)}: {_text(v, depth + 1, budget)}"
            for k, v in value.items()
        ]
        return "{" + ", ".join(pairs) + "}"
    raise _NotPlain
