"""Compare objects by value: scikit-learn estimators, and objects without their own ==.

Imported by :mod:`compare` only for such values. Estimators follow scikit-learn's
convention, duck-typed: ``get_params(deep=False)`` gives the constructor's
parameters, and public attributes whose names end in ``_`` are what fitting learned.
Other objects whose == is identity (a fitted tree, a RandomState) compare by what
pickle would store of them, which is how the notebook's value was recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .compare import (
    MAX_LISTED,
    Comparison,
    Tolerance,
    combine,
    compare,
    compare_with_eq,
    membership_text,
)

_Comparator = Callable[[Any, Any, Tolerance], Comparison]


def comparator_for(value: object) -> _Comparator:
    """The comparator of an estimator, or of an object whose == is identity."""
    if callable(getattr(value, "get_params", None)):
        return _compare_estimators
    return _compare_states


def _compare_estimators(expected: Any, actual: Any, tolerance: Tolerance) -> Comparison:
    """Equal parameters (``get_params(deep=False)``), then equal fitted attributes."""
    try:
        params = expected.get_params(deep=False), actual.get_params(deep=False)
    except Exception:  # a get_params of another convention
        return _compare_states(expected, actual, tolerance)
    if params[0].keys() != params[1].keys():
        return Comparison(False, detail=membership_text("parameters", *params))
    fitted = _fitted(expected), _fitted(actual)
    if fitted[0].keys() != fitted[1].keys():
        return Comparison(False, detail=_fitted_text(expected, *fitted))
    return combine(
        [
            *_pairs("parameter", params[0], params[1], tolerance),
            *_pairs("fitted attribute", fitted[0], fitted[1], tolerance),
        ]
    )


def _pairs(
    noun: str,
    expected: Mapping[str, object],
    actual: Mapping[str, object],
    tolerance: Tolerance,
) -> list[tuple[str, Comparison]]:
    return [
        (f"{noun} {name}", compare(value, actual[name], tolerance))
        for name, value in expected.items()
    ]


def _fitted(estimator: object) -> dict[str, object]:
    """What fitting learned: public attributes whose names end with an underscore."""
    names = getattr(estimator, "__dict__", {})
    return {
        name: value
        for name, value in names.items()
        if name.endswith("_") and not name.startswith("_")
    }


def _fitted_text(
    estimator: object, expected: Mapping[str, object], actual: Mapping[str, object]
) -> str:
    name = type(estimator).__name__
    if not actual:
        return f"expected a fitted {name} ({_names(expected)}), got an unfitted one"
    if not expected:
        return f"expected an unfitted {name}, got a fitted one ({_names(actual)})"
    return membership_text("fitted attributes", expected, actual)


def _names(items: Iterable[str]) -> str:
    listed = sorted(items)
    shown = ", ".join(listed[:MAX_LISTED])
    return shown + (", ..." if len(listed) > MAX_LISTED else "")


def _compare_states(expected: Any, actual: Any, tolerance: Tolerance) -> Comparison:
    """Equal when pickle would store equal arguments and state; else ==."""
    if expected is actual:
        return Comparison(True)
    try:
        reduced = _reduced(expected), _reduced(actual)
    except Exception:  # pickle cannot take it apart: identity is all there is
        return compare_with_eq(expected, actual, tolerance)
    if reduced[0] is None or reduced[1] is None:
        return compare_with_eq(expected, actual, tolerance)
    try:
        return combine(
            [
                ("arguments", compare(reduced[0][0], reduced[1][0], tolerance)),
                ("state", compare(reduced[0][1], reduced[1][1], tolerance)),
            ]
        )
    except RecursionError:  # an object that holds itself
        return compare_with_eq(expected, actual, tolerance)


def _reduced(value: object) -> tuple[object, object] | None:
    """The arguments and state pickle stores of ``value``, or None (a global)."""
    reduced = value.__reduce_ex__(4)
    if not isinstance(reduced, tuple):
        return None
    arguments = tuple(a for a in reduced[1] if not isinstance(a, type))
    state = reduced[2] if len(reduced) > 2 else None
    return arguments, state
