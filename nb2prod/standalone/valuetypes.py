"""Type expressions for the values a function was called with (runs in the kernel too).

``describe`` names a value's type as an annotation in terms of importable names
(``pandas.DataFrame``, ``list[str]``); ``merge`` joins what several calls saw into
one annotation. Only the standard library is imported here.
"""

from __future__ import annotations

from collections.abc import Iterable

#: How many items of a container are looked at to name its item type.
SAMPLE = 50
#: More alternatives than this in a union say nothing useful: ``Any``.
MAX_UNION = 3

#: Classes named by where users import them from, not where they are defined.
_PANDAS = {"DataFrame", "Series", "Index", "RangeIndex", "Timestamp"}
_PUBLIC_NAMES = {
    "numpy.ndarray": "numpy.ndarray",
    "datetime.datetime": "datetime.datetime",
    "datetime.date": "datetime.date",
    "decimal.Decimal": "decimal.Decimal",
}
_SCALARS = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    bytes: "bytes",
    complex: "complex",
}


def describe(value: object) -> str:
    """An annotation for ``value``'s type; ``Any`` when nothing better is known."""
    if value is None:
        return "None"
    for kind, name in _SCALARS.items():
        if type(value) is kind:
            return name
    if isinstance(value, list | set | frozenset):
        items = (
            merge(describe(item) for item in list(value)[:SAMPLE]) if value else "Any"
        )
        return f"{type(value).__name__}[{items}]"
    if isinstance(value, tuple):
        if not value or len(value) > SAMPLE:
            return "tuple[Any, ...]"
        return f"tuple[{', '.join(describe(item) for item in value)}]"
    if isinstance(value, dict):
        if not value:
            return "dict[Any, Any]"
        keys = merge(describe(k) for k in list(value)[:SAMPLE])
        values = merge(describe(v) for v in list(value.values())[:SAMPLE])
        return f"dict[{keys}, {values}]"
    return _class_name(value)


def _class_name(value: object) -> str:
    kind = type(value)
    qualified = f"{kind.__module__}.{kind.__qualname__}"
    if qualified in _PUBLIC_NAMES:
        return _PUBLIC_NAMES[qualified]
    if kind.__module__.split(".")[0] == "pandas" and kind.__name__ in _PANDAS:
        return (
            "pandas.Index"
            if kind.__name__ == "RangeIndex"
            else f"pandas.{kind.__name__}"
        )
    if kind.__module__ == "numpy":  # numpy scalars behave as Python numbers
        for base, name in ((bool, "bool"), (int, "int"), (float, "float")):
            if _numpy_kind(value, base):
                return name
    if kind.__module__.startswith("scipy.sparse"):
        return (
            "scipy.sparse.spmatrix"
            if "matrix" in kind.__name__
            else "scipy.sparse.sparray"
        )
    return "Any"


def _numpy_kind(value: object, base: type) -> bool:
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "kind", "")
    return {bool: kind == "b", int: kind in "iu" and kind != "", float: kind == "f"}[
        base
    ]


def merge(types: Iterable[str]) -> str:
    """One annotation covering every type seen: a union, simplified."""
    seen = sorted(set(types))
    if not seen or "Any" in seen:
        return "Any"
    if "int" in seen and "float" in seen:
        seen.remove("int")  # an int is acceptable where a float is expected
    optional = "None" in seen and len(seen) > 1
    rest = [t for t in seen if t != "None"]
    if len(rest) > MAX_UNION:
        return "Any"
    return (
        " | ".join(rest + (["None"] if optional else []))
        if optional
        else " | ".join(seen)
    )
