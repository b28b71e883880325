"""Tolerant comparison of numpy arrays, sparse matrices and pandas objects.

Imported by :mod:`compare` only for such values, so numpy and pandas stay optional.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .compare import (
    EQUAL,
    EXACTLY,
    MAX_LISTED,
    Comparison,
    Tolerance,
    combine,
    compare,
    difference_text,
    dtypes_text,
    show,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_Comparator = Callable[[Any, Any, Tolerance], Comparison]


def comparator_for(value: object) -> _Comparator:
    """The comparator of a numpy array, a scipy.sparse matrix or a pandas object."""
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(value):
        return _compare_sparse
    pandas = sys.modules.get("pandas")
    if pandas is not None:
        if isinstance(value, pandas.DataFrame):
            return _compare_frames
        if isinstance(value, pandas.Series):
            return _compare_series
        if isinstance(value, pandas.Index):
            return _compare_indexes
    return _compare_arrays


# numpy and scipy.sparse


def _compare_arrays(
    expected: NDArray[Any], actual: NDArray[Any], tolerance: Tolerance
) -> Comparison:
    import numpy as np

    if expected.shape != actual.shape:
        detail = f"expected shape {expected.shape}, got {actual.shape}"
        return Comparison(False, "shape", detail)
    if expected.dtype != actual.dtype:
        return Comparison(False, "dtype", dtypes_text(expected.dtype, actual.dtype))
    if expected.dtype.kind == "O":
        return combine(
            (_position(index), compare(expected[index], actual[index], tolerance))
            for index in np.ndindex(expected.shape)
        )
    same = _same_elements(expected, actual, tolerance)
    result = _first_difference(
        same,
        expected.flat,
        actual.flat,
        lambda i: _position(np.unravel_index(i, expected.shape)),
    )
    return _with_differences(result, expected, actual)


def _position(index: tuple[Any, ...]) -> str:
    return f"[{', '.join(str(i) for i in index)}]" if index else ""


def _same_elements(
    expected: NDArray[Any], actual: NDArray[Any], tolerance: Tolerance
) -> NDArray[np.bool_]:
    import numpy as np

    if expected.dtype.kind in "fc":
        close = np.isclose(
            actual, expected, rtol=tolerance.rtol, atol=tolerance.atol, equal_nan=True
        )
        return np.asarray(close, dtype=bool)
    same = np.asarray(expected == actual, dtype=bool)
    if expected.dtype.kind in "mM":
        same |= np.isnat(expected) & np.isnat(actual)
    return same


def _first_difference(
    same: NDArray[np.bool_], expected: Any, actual: Any, where: Callable[[int], str]
) -> Comparison:
    """The first element that differs (in flat C order), and how many do."""
    import numpy as np

    if same.all():
        return EQUAL
    first = int(np.argmin(same))  # argmin of booleans is the first False
    count = same.size - int(np.count_nonzero(same))
    text = difference_text(expected[first], actual[first])
    detail = f"{text}; {count} of {same.size} elements differ"
    return Comparison(False, where(first), detail)


def _with_differences(
    result: Comparison, expected: NDArray[Any], actual: NDArray[Any]
) -> Comparison:
    """The result with max_abs and max_rel over the finite pairs of inexact arrays."""
    import numpy as np

    if expected.dtype.kind not in "fc":
        return result
    finite = np.isfinite(expected) & np.isfinite(actual)
    differences = np.abs(actual[finite] - expected[finite])
    scale = np.abs(expected[finite])
    relative = differences[scale != 0] / scale[scale != 0]
    max_abs = float(differences.max(initial=0.0))
    return replace(result, max_abs=max_abs, max_rel=float(relative.max(initial=0.0)))


def _compare_sparse(expected: Any, actual: Any, tolerance: Tolerance) -> Comparison:
    import numpy as np

    if expected.shape != actual.shape:
        detail = f"expected shape {expected.shape}, got {actual.shape}"
        return Comparison(False, "shape", detail)
    expected, actual = expected.tocsr(), actual.tocsr()
    # Only entries stored on either side can differ; |e| + |a| stores exactly
    # those, so the comparison never densifies the matrices.
    rows, columns = (abs(expected) + abs(actual)).nonzero()
    expected_values = np.asarray(expected[rows, columns]).ravel()
    actual_values = np.asarray(actual[rows, columns]).ravel()
    same = _same_elements(expected_values, actual_values, tolerance)
    result = _first_difference(
        same, expected_values, actual_values, lambda i: f"[{rows[i]}, {columns[i]}]"
    )
    return _with_differences(result, expected_values, actual_values)


# pandas


def _compare_frames(expected: Any, actual: Any, tolerance: Tolerance) -> Comparison:
    difference = (
        _labels_difference(expected.columns, actual.columns, "columns", "columns")
        or _labels_difference(expected.index, actual.index, "index", "index")
        or _dtypes_difference(expected, actual)
    )
    if difference:
        return difference
    return combine(
        (
            f"column {show(name)}",
            _compare_values(expected.iloc[:, i], actual.iloc[:, i], tolerance),
        )
        for i, name in enumerate(expected.columns)
    )


def _dtypes_difference(expected: Any, actual: Any) -> Comparison | None:
    columns = zip(expected.columns, expected.dtypes, actual.dtypes, strict=True)
    for name, expected_dtype, actual_dtype in columns:
        if expected_dtype != actual_dtype:
            detail = dtypes_text(expected_dtype, actual_dtype)
            return Comparison(False, f"column {show(name)} dtype", detail)
    return None


def _compare_series(expected: Any, actual: Any, tolerance: Tolerance) -> Comparison:
    if expected.name != actual.name:
        detail = f"expected name {show(expected.name)}, got {show(actual.name)}"
        return Comparison(False, "name", detail)
    difference = _labels_difference(expected.index, actual.index, "index", "index")
    if difference:
        return difference
    if expected.dtype != actual.dtype:
        return Comparison(False, "dtype", dtypes_text(expected.dtype, actual.dtype))
    return _compare_values(expected, actual, tolerance)


def _compare_indexes(expected: Any, actual: Any, tolerance: Tolerance) -> Comparison:
    return _labels_difference(expected, actual, "", "labels") or EQUAL


def _labels_difference(
    expected: Any, actual: Any, where: str, noun: str
) -> Comparison | None:
    """How two pandas Indexes differ in values or order, or None when they do not."""
    if expected.equals(actual):
        return None
    return Comparison(
        False, where, _labels_text(noun, expected.tolist(), actual.tolist())
    )


def _labels_text(noun: str, expected: list[object], actual: list[object]) -> str:
    if max(len(expected), len(actual)) <= MAX_LISTED:
        return f"expected {noun} {show(expected)}, got {show(actual)}"
    if len(expected) != len(actual):
        return f"expected {len(expected)} {noun}, got {len(actual)}"
    pairs = enumerate(zip(expected, actual, strict=True))
    at = next((i for i, (e, a) in pairs if not compare(e, a, EXACTLY).equal), 0)
    shown = f"expected {show(expected[at])}, got {show(actual[at])}"
    return f"{noun} differ at position {at}: {shown}"


def _compare_values(expected: Any, actual: Any, tolerance: Tolerance) -> Comparison:
    """Element-wise values of two Series whose index and dtype are equal."""
    from pandas.api.types import is_complex_dtype, is_float_dtype

    def row(position: int) -> str:
        return f"row {show(expected.index[position])}"

    if is_float_dtype(expected.dtype) or is_complex_dtype(expected.dtype):
        expected_values, actual_values = _numbers(expected), _numbers(actual)
        same = _same_elements(expected_values, actual_values, tolerance)
        result = _first_difference(same, expected_values, actual_values, row)
        return _with_differences(result, expected_values, actual_values)
    same = _exactly_same(expected, actual)
    return _first_difference(same, expected.iloc, actual.iloc, row)


def _numbers(series: Any) -> NDArray[Any]:
    import numpy as np

    return np.asarray(series.to_numpy(na_value=np.nan))


def _exactly_same(expected: Any, actual: Any) -> NDArray[np.bool_]:
    import numpy as np

    both_missing = expected.isna().to_numpy() & actual.isna().to_numpy()
    equal = (expected == actual).fillna(False).to_numpy(dtype=bool)
    return np.asarray(equal | both_missing, dtype=bool)
