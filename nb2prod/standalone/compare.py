"""Tolerant comparison of a value recorded in a notebook with the value a package computed."""

from __future__ import annotations

import cmath
import contextlib
import datetime
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Any

_MAX_SHOWN = 80  # characters of one value's repr in a detail
MAX_LISTED = 10  # labels listed in full when columns or indexes differ
_CONTEXT = 20  # characters shown either side of the first difference in long text
_PYTHON_NUMBERS = {bool: "bool", int: "int", float: "float", complex: "complex"}
#: Types compared by the arrays module (numpy, pandas), by module and class name.
_ARRAY_TYPES = (
    ("numpy", "ndarray"),
    ("pandas", "DataFrame"),
    ("pandas", "Series"),
    ("pandas", "Index"),
)
_EXACT_TYPES = (
    str,
    bytes,
    type(None),
    datetime.date,
    datetime.time,
    datetime.timedelta,
)


@dataclass(frozen=True)
class Tolerance:
    """Numbers are close when |actual - expected| <= atol + rtol * |expected|."""

    rtol: float = 1e-9
    atol: float = 1e-12


@dataclass(frozen=True)
class Comparison:
    """Whether two values are equal and, if not, where and how they first differ.

    max_abs and max_rel span every floating-point or complex number compared with
    the tolerance where both sides are finite, whether or not the values are equal.
    """

    equal: bool
    where: str = ""
    detail: str = ""
    max_abs: float = 0.0
    max_rel: float = 0.0
    note: str = ""


EQUAL = Comparison(True)
EXACTLY = Tolerance(rtol=0.0, atol=0.0)
_Comparator = Callable[[Any, Any, Tolerance], Comparison]


def compare(
    expected: object, actual: object, tolerance: Tolerance = Tolerance()
) -> Comparison:
    """Compare what the notebook recorded with what the package computed."""
    kind = _kind(expected)
    if kind != _kind(actual):
        names = type(expected).__name__, type(actual).__name__
        return Comparison(False, detail=f"expected {names[0]}, got {names[1]}")
    return _comparator_for(kind, expected)(expected, actual, tolerance)


def _kind(value: object) -> str | type[object]:
    """Numbers of one kind compare across Python and numpy; other values need one type."""
    # Builtins first: long lists of floats are compared one element at a time.
    if type(value) in _PYTHON_NUMBERS:
        return _PYTHON_NUMBERS[type(value)]
    if isinstance(value, bool) or _is_a(value, "numpy", "bool_"):
        return "bool"
    if isinstance(value, int) or _is_a(value, "numpy", "integer"):
        return "int"
    if isinstance(value, float) or _is_a(value, "numpy", "floating"):
        return "float"
    if isinstance(value, complex) or _is_a(value, "numpy", "complexfloating"):
        return "complex"
    if _is_sparse(value):
        return "sparse"
    return type(value)


def _is_a(value: object, module: str, name: str) -> bool:
    # A value can only belong to a class whose module is loaded: looking in
    # sys.modules keeps numpy and pandas optional and never imports them.
    cls = getattr(sys.modules.get(module), name, None)
    return isinstance(cls, type) and isinstance(value, cls)


def _is_sparse(value: object) -> bool:
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(value))


def _comparator_for(kind: str | type[object], value: object) -> _Comparator:
    if kind in ("float", "complex"):
        return _compare_numbers
    if kind in ("bool", "int") or _is_exact(value):
        return _compare_exact
    if kind == "sparse" or any(
        _is_a(value, module, name) for module, name in _ARRAY_TYPES
    ):
        from . import arrays  # imports numpy or pandas, which the value's type loaded

        return arrays.comparator_for(value)
    if isinstance(value, Mapping):
        return _compare_mappings
    if isinstance(value, list | tuple):
        return _compare_sequences
    if isinstance(value, AbstractSet):
        return _compare_sets
    if callable(getattr(value, "get_params", None)) or not _has_eq(value):
        from . import objects  # estimators, and objects without their own ==

        return objects.comparator_for(value)
    return compare_with_eq


def _has_eq(value: object) -> bool:
    """False for instances whose == is object's identity (classes excluded)."""
    return isinstance(value, type) or type(value).__eq__ is not object.__eq__


def _is_exact(value: object) -> bool:
    return (
        isinstance(value, _EXACT_TYPES)
        or _is_a(value, "numpy", "datetime64")
        or _is_a(value, "numpy", "timedelta64")
    )


# Scalars


def _compare_numbers(
    expected: complex, actual: complex, tolerance: Tolerance
) -> Comparison:
    # complex() takes every width of numpy float and complex to double precision.
    close = _close(complex(expected), complex(actual), tolerance)
    max_abs, max_rel = _differences(complex(expected), complex(actual))
    detail = "" if close else difference_text(expected, actual)
    return Comparison(close, detail=detail, max_abs=max_abs, max_rel=max_rel)


def _close(expected: complex, actual: complex, tolerance: Tolerance) -> bool:
    if cmath.isnan(expected) or cmath.isnan(actual):
        return cmath.isnan(expected) and cmath.isnan(actual)
    if cmath.isinf(expected) or cmath.isinf(actual):
        return expected == actual
    return abs(actual - expected) <= tolerance.atol + tolerance.rtol * abs(expected)


def _differences(expected: complex, actual: complex) -> tuple[float, float]:
    """Absolute and relative difference, both 0.0 unless both numbers are finite."""
    if not (cmath.isfinite(expected) and cmath.isfinite(actual)):
        return 0.0, 0.0
    difference = abs(actual - expected)
    return difference, (difference / abs(expected) if expected else 0.0)


def _compare_exact(
    expected: object, actual: object, tolerance: Tolerance
) -> Comparison:
    # NaT, the missing date, is the one value here that does not equal itself.
    both_missing = expected != expected and actual != actual
    if expected == actual or both_missing:
        return EQUAL
    return Comparison(False, detail=difference_text(expected, actual))


def compare_with_eq(
    expected: object, actual: object, tolerance: Tolerance
) -> Comparison:
    note = f"compared with == (no dedicated comparator for {type(expected).__name__})"
    try:
        # Singletons such as pandas.NA are themselves, yet == gives NA, not True.
        equal = expected is actual or _truth(expected == actual)
    except Exception as error:
        detail = f"== failed: {type(error).__name__}: {error}"
        return Comparison(False, detail=_clip(detail), note=note)
    detail = "" if equal else difference_text(expected, actual)
    return Comparison(equal, detail=detail, note=note)


def _truth(result: object) -> bool:
    """Reduce the result of == to a bool: array-likes are equal when all elements are."""
    reduce_all = getattr(result, "all", None)
    if callable(reduce_all):
        return bool(reduce_all())
    if isinstance(result, Iterable):
        return all(result)
    return bool(result)


# Containers


def _compare_sequences(
    expected: Sequence[object], actual: Sequence[object], tolerance: Tolerance
) -> Comparison:
    if len(expected) != len(actual):
        return Comparison(False, detail=_length_text(expected, actual))
    pairs = enumerate(zip(expected, actual, strict=True))
    return combine((f"[{i}]", compare(e, a, tolerance)) for i, (e, a) in pairs)


def _length_text(expected: Sequence[object], actual: Sequence[object]) -> str:
    text = f"expected {len(expected)} items, got {len(actual)}"
    shorter = min(len(expected), len(actual))
    if len(actual) > shorter:
        return f"{text}; first extra item: {show(actual[shorter])}"
    return f"{text}; first missing item: {show(expected[shorter])}"


def _compare_mappings(
    expected: Mapping[object, object],
    actual: Mapping[object, object],
    tolerance: Tolerance,
) -> Comparison:
    if expected.keys() != actual.keys():
        return Comparison(False, detail=membership_text("keys", expected, actual))
    return combine(
        (f"[{show(key)}]", compare(value, actual[key], tolerance))
        for key, value in expected.items()
    )


def _compare_sets(
    expected: AbstractSet[object], actual: AbstractSet[object], tolerance: Tolerance
) -> Comparison:
    if expected == actual:
        return EQUAL
    return Comparison(False, detail=membership_text("elements", expected, actual))


def membership_text(
    noun: str, expected: Collection[object], actual: Collection[object]
) -> str:
    missing = [item for item in expected if item not in actual]
    extra = [item for item in actual if item not in expected]
    found = (("missing", missing), ("extra", extra))
    return ", ".join(f"{how} {noun} {show(items)}" for how, items in found if items)


def combine(parts: Iterable[tuple[str, Comparison]]) -> Comparison:
    """The first difference, its path prefixed, with maxima and notes over all parts."""
    first = EQUAL
    max_abs = max_rel = 0.0
    notes: dict[str, None] = {}
    for path, part in parts:
        if first.equal and not part.equal:
            first = replace(part, where=_join(path, part.where))
        max_abs, max_rel = max(max_abs, part.max_abs), max(max_rel, part.max_rel)
        if part.note:
            notes[part.note] = None
    return replace(first, max_abs=max_abs, max_rel=max_rel, note="; ".join(notes))


def _join(path: str, where: str) -> str:
    if not where or where.startswith("["):
        return path + where
    return f"{path}, {where}"


# Details


def difference_text(expected: object, actual: object) -> str:
    """'expected X, got Y', with the differences of numbers or an excerpt of long text."""
    kind = _kind(expected)
    if kind in ("float", "complex") and _kind(actual) == kind:
        return _numbers_text(expected, actual)
    if isinstance(expected, str | bytes) and isinstance(actual, str | bytes):
        return _text_difference(expected, actual)
    return f"expected {show(expected)}, got {show(actual)}"


def dtypes_text(expected: object, actual: object) -> str:
    names = str(expected), str(actual)
    if names[0] == names[1]:  # e.g. two "category" dtypes with other categories
        names = show(expected), show(actual)
    return f"expected dtype {names[0]}, got {names[1]}"


def _numbers_text(expected: Any, actual: Any) -> str:
    text = f"expected {_number(expected)}, got {_number(actual)}"
    abs_diff, rel_diff = _differences(complex(expected), complex(actual))
    if not abs_diff:
        return text
    if not rel_diff:
        return f"{text} (abs diff {abs_diff:.3g})"
    return f"{text} (abs diff {abs_diff:.3g}, rel diff {rel_diff:.3g})"


def _number(value: Any) -> str:
    return repr(complex(value) if _kind(value) == "complex" else float(value))


def _text_difference(expected: str | bytes, actual: str | bytes) -> str:
    if max(len(expected), len(actual)) <= _MAX_SHOWN:
        return f"expected {show(expected)}, got {show(actual)}"
    shorter = min(len(expected), len(actual))
    pairs = enumerate(zip(expected, actual, strict=False))
    at = next((i for i, (e, a) in pairs if e != a), shorter)
    start, end = max(at - _CONTEXT, 0), at + _CONTEXT
    shown = f"expected {show(expected[start:end])}, got {show(actual[start:end])}"
    lengths = f"lengths {len(expected)} and {len(actual)}"
    return f"text differs at character {at} ({lengths}): {shown}"


def show(value: object) -> str:
    numpy = sys.modules.get("numpy")
    # numpy 2 shows scalars as np.float64(0.5); the legacy style shows 0.5.
    legacy = numpy.printoptions(legacy="1.25") if numpy else contextlib.nullcontext()
    with legacy:
        return _clip(repr(value))


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
