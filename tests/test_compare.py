"""Tolerant comparison of recorded (expected) and recomputed (actual) values."""

from __future__ import annotations

import ast
import datetime
import math
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import nb2prod.standalone.compare
from nb2prod.standalone.compare import Comparison, Tolerance, compare

# Boundaries that are exact in binary floating point: atol + rtol * |2.0| == 1.0.
EXACT_EDGE = Tolerance(rtol=0.25, atol=0.5)


# Defaults and the module itself


def test_defaults() -> None:
    assert Tolerance() == Tolerance(rtol=1e-9, atol=1e-12)
    assert compare(1, 1) == Comparison(True)


def test_module_is_standalone() -> None:
    tree = ast.parse(Path(nb2prod.standalone.compare.__file__).read_text())
    top_level = [
        node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    modules = [
        alias.name
        for node in top_level
        if isinstance(node, ast.Import)
        for alias in node.names
    ] + [node.module or "" for node in top_level if isinstance(node, ast.ImportFrom)]
    assert all(
        name.split(".")[0] in sys.stdlib_module_names | {"__future__"}
        for name in modules
    )


def test_works_without_numpy_or_pandas() -> None:
    script = (
        "import importlib.util, sys\n"
        "for name in ('numpy', 'pandas', 'scipy'):\n"
        "    sys.modules[name] = None\n"
        f"spec = importlib.util.spec_from_file_location('compare', {nb2prod.standalone.compare.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['compare'] = module\n"
        "spec.loader.exec_module(module)\n"
        "assert module.compare({'a': [1.0, float('nan')]}, {'a': [1.0, float('nan')]}).equal\n"
        "assert not module.compare(1.0, 2.0).equal\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


# Scalars


def test_type_mismatch() -> None:
    assert compare(1.0, "1.0") == Comparison(False, "", "expected float, got str")
    assert compare(1.0, 1).detail == "expected float, got int"
    assert compare(1.0, 1 + 0j).detail == "expected float, got complex"


def test_bool_is_not_int() -> None:
    result = compare(True, 1)
    assert not result.equal
    assert result.detail == "expected bool, got int"
    assert not compare(0, False).equal


def test_python_and_numpy_numbers_of_one_kind_compare() -> None:
    assert compare(0.5, np.float64(0.5)).equal
    assert compare(np.float32(0.5), 0.5).equal
    assert compare(3, np.int64(3)).equal
    assert compare(np.int32(3), 3).equal
    assert compare(True, np.bool_(True)).equal
    assert not compare(np.int64(3), 4).equal
    assert compare(np.float64(1.0), np.int64(1)).detail == "expected float64, got int64"
    assert compare(True, np.int64(1)).detail == "expected bool, got int64"


def test_float_difference_detail() -> None:
    result = compare(0.5, 0.5000001)
    assert not result.equal
    assert result.where == ""
    assert (
        result.detail == "expected 0.5, got 0.5000001 (abs diff 1e-07, rel diff 2e-07)"
    )
    assert result.max_abs == pytest.approx(1e-7)
    assert result.max_rel == pytest.approx(2e-7)


def test_numpy_scalars_are_shown_as_numbers() -> None:
    assert compare(np.float64(0.5), np.float64(0.75)).detail.startswith(
        "expected 0.5, got 0.75 "
    )


def test_float_within_default_tolerance() -> None:
    result = compare(1.0, 1.0 + 1e-10)
    assert result.equal
    assert result.detail == ""
    assert result.max_abs == pytest.approx(1e-10)
    assert not compare(1.0, 1.0 + 1e-8).equal


def test_absolute_tolerance_near_zero() -> None:
    assert compare(0.0, 1e-13).equal
    result = compare(0.0, 1e-11)
    assert not result.equal
    assert result.detail == "expected 0.0, got 1e-11 (abs diff 1e-11)"
    assert result.max_rel == 0.0


def test_tolerance_boundary_is_inclusive() -> None:
    assert compare(2.0, 3.0, EXACT_EDGE).equal
    assert compare(2.0, 1.0, EXACT_EDGE).equal
    assert not compare(2.0, math.nextafter(3.0, math.inf), EXACT_EDGE).equal


def test_relative_tolerance_is_relative_to_expected() -> None:
    # |3 - 2| = 1 <= 0.5 * |2| but not <= 0.5 * |3|.
    assert compare(2.0, 3.0, Tolerance(rtol=0.5, atol=0.0)).equal
    assert not compare(3.0, 2.0, Tolerance(rtol=0.3, atol=0.0)).equal


def test_custom_tolerance() -> None:
    loose = Tolerance(rtol=1e-3)
    assert compare(1000.0, 1000.5, loose).equal
    assert not compare(1000.0, 1002.0, loose).equal
    assert not compare(1000.0, 1000.5).equal


def test_nan_scalars() -> None:
    assert compare(math.nan, math.nan).equal
    assert compare(math.nan, np.float64(np.nan)).equal
    result = compare(math.nan, 1.0)
    assert not result.equal
    assert result.detail == "expected nan, got 1.0"
    assert (result.max_abs, result.max_rel) == (0.0, 0.0)
    assert not compare(1.0, math.nan).equal


def test_infinities() -> None:
    assert compare(math.inf, math.inf).equal
    assert compare(-math.inf, -math.inf).equal
    assert not compare(math.inf, -math.inf).equal
    assert not compare(math.inf, 1e308).equal
    assert not compare(1e308, math.inf).equal
    assert not compare(math.inf, math.nan).equal


def test_negative_zero_equals_zero() -> None:
    assert compare(-0.0, 0.0).equal
    assert compare(0.0, np.float64(-0.0)).equal


def test_complex() -> None:
    assert compare(1 + 1j, 1 + 1j + 1e-12).equal
    assert compare(np.complex128(1 + 1j), 1 + 1j).equal
    assert compare(complex(math.nan, 0), complex(math.nan, 0)).equal
    result = compare(1 + 1j, 1 + 2j)
    assert not result.equal
    assert result.max_abs == pytest.approx(1.0)
    assert result.max_rel == pytest.approx(1 / math.sqrt(2))


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("price", "prices"),
        (b"\x00\x01", b"\x00\x02"),
        (3, 4),
        (10**30, 10**30 + 1),
        (True, False),
        (datetime.date(2024, 1, 1), datetime.date(2024, 1, 2)),
        (datetime.datetime(2024, 1, 1), datetime.datetime(2024, 1, 1, 0, 0, 0, 1)),
        (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01 00:00:00.000000001")),
        (pd.Timedelta(1, "s"), pd.Timedelta(2, "s")),
        (np.datetime64("2024-01-01"), np.datetime64("2024-01-02")),
    ],
)
def test_exact_values(expected: object, actual: object) -> None:
    assert compare(expected, expected).equal
    result = compare(expected, actual)
    assert not result.equal
    assert result.detail.startswith("expected ")


def test_exact_detail_shows_both_values() -> None:
    assert compare("price", "prices").detail == "expected 'price', got 'prices'"
    assert compare(3, 4).detail == "expected 3, got 4"


def test_none() -> None:
    assert compare(None, None).equal
    assert compare(None, 0).detail == "expected NoneType, got int"


def test_missing_dates_are_equal() -> None:
    assert compare(pd.NaT, pd.NaT).equal
    assert compare(np.datetime64("NaT"), np.datetime64("NaT")).equal
    assert not compare(pd.Timestamp("2024-01-01"), pd.NaT).equal


def test_timestamp_and_datetime_are_different_types() -> None:
    result = compare(pd.Timestamp("2024-01-01"), datetime.datetime(2024, 1, 1))
    assert result.detail == "expected Timestamp, got datetime"


def test_long_text_shows_an_excerpt() -> None:
    expected = "lorem ipsum " * 50
    actual = expected[:300] + "X" + expected[301:]
    result = compare(expected, actual)
    assert not result.equal
    assert result.detail.startswith(
        "text differs at character 300 (lengths 600 and 600)"
    )
    assert "X" in result.detail
    assert len(result.detail) < 400


# numpy arrays


def test_equal_arrays() -> None:
    values = np.array([[1.0, np.nan], [np.inf, -0.0]])
    assert compare(values, values.copy()).equal
    assert compare(np.arange(5), np.arange(5)).equal
    assert compare(np.array(["a", "b"]), np.array(["a", "b"])).equal


def test_array_shape_mismatch() -> None:
    result = compare(np.zeros(3), np.zeros(4))
    assert (result.equal, result.where) == (False, "shape")
    assert result.detail == "expected shape (3,), got (4,)"


def test_array_dtype_mismatch() -> None:
    result = compare(np.arange(3, dtype=np.int64), np.arange(3, dtype=np.int32))
    assert (result.equal, result.where) == (False, "dtype")
    assert result.detail == "expected dtype int64, got int32"


def test_array_first_difference_and_count() -> None:
    expected = np.zeros((2, 4))
    actual = expected.copy()
    actual[1, 3] = 0.5
    actual[1, 2] = 0.25
    result = compare(expected, actual)
    assert not result.equal
    assert result.where == "[1, 2]"
    assert (
        result.detail
        == "expected 0.0, got 0.25 (abs diff 0.25); 2 of 8 elements differ"
    )


def test_array_nan_positions_must_match() -> None:
    result = compare(np.array([1.0, np.nan, 3.0]), np.array([1.0, 2.0, 3.0]))
    assert (result.equal, result.where) == (False, "[1]")
    assert result.detail.startswith("expected nan, got 2.0")
    assert compare(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])).equal


def test_array_infinities() -> None:
    assert compare(np.array([np.inf, -np.inf]), np.array([np.inf, -np.inf])).equal
    assert not compare(np.array([np.inf]), np.array([-np.inf])).equal
    assert not compare(np.array([np.inf]), np.array([1e308])).equal


def test_array_tolerance_boundary() -> None:
    expected = np.array([2.0, 2.0])
    assert compare(expected, np.array([3.0, 1.0]), EXACT_EDGE).equal
    above = np.array([1.0, math.nextafter(3.0, math.inf)])
    result = compare(expected, above, EXACT_EDGE)
    assert (result.equal, result.where) == (False, "[1]")
    assert compare(np.array([1000.0]), np.array([1000.5]), Tolerance(rtol=1e-3)).equal


def test_array_max_abs_and_max_rel() -> None:
    expected = np.array([1.0, 2.0, 0.0, 4.0, np.nan])
    actual = np.array([1.1, 2.0, 0.05, 3.0, np.nan])
    result = compare(expected, actual)
    assert not result.equal
    assert result.where == "[0]"
    assert result.max_abs == pytest.approx(1.0)  # 4.0 -> 3.0
    assert result.max_rel == pytest.approx(0.25)  # 4.0 -> 3.0; 0.0 is left out


def test_array_maxima_are_reported_when_equal() -> None:
    result = compare(np.array([1.0, 2.0]), np.array([1.0 + 1e-10, 2.0]))
    assert result.equal
    assert result.max_abs == pytest.approx(1e-10)
    assert result.max_rel == pytest.approx(1e-10)


def test_complex_arrays() -> None:
    expected = np.array([1 + 1j, np.nan + 0j])
    assert compare(expected, expected.copy()).equal
    result = compare(expected, np.array([1 + 1.5j, np.nan + 0j]))
    assert (result.equal, result.where) == (False, "[0]")
    assert result.max_abs == pytest.approx(0.5)


def test_integer_arrays_are_exact() -> None:
    result = compare(np.array([1, 2, 3]), np.array([1, 2, 4]))
    assert (result.equal, result.where) == (False, "[2]")
    assert result.detail == "expected 3, got 4; 1 of 3 elements differ"
    assert (result.max_abs, result.max_rel) == (0.0, 0.0)
    huge = np.array([2**62])
    assert not compare(huge, huge + 1).equal


def test_datetime_arrays_treat_nat_as_equal() -> None:
    values = np.array(["2024-01-01", "NaT"], dtype="datetime64[D]")
    assert compare(values, values.copy()).equal
    shifted = np.array(["2024-01-02", "NaT"], dtype="datetime64[D]")
    assert compare(values, shifted).where == "[0]"


def test_object_arrays_compare_element_wise() -> None:
    expected = np.array([1.0, "a", [1, 2]], dtype=object)
    assert compare(expected, np.array([1.0 + 1e-12, "a", [1, 2]], dtype=object)).equal
    result = compare(expected, np.array([1.0, "a", [1, 3]], dtype=object))
    assert (result.equal, result.where) == (False, "[2][1]")


def test_zero_dimensional_arrays() -> None:
    assert compare(np.array(1.5), np.array(1.5)).equal
    result = compare(np.array(1.5), np.array(2.5))
    assert (result.equal, result.where) == (False, "")


def test_dense_is_not_a_list() -> None:
    assert compare(np.array([1.0]), [1.0]).detail == "expected ndarray, got list"


def test_a_million_floats_compare_quickly() -> None:
    expected = np.random.default_rng(0).normal(size=1_000_000)
    result = compare(expected, expected * (1 + 1e-12))
    assert result.equal
    assert 0 < result.max_rel < 1e-11
    actual = expected.copy()
    actual[999_999] += 1.0
    assert compare(expected, actual).where == "[999999]"


# pandas


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"x": [1.0, np.nan, 3.0], "n": [1, 2, 3], "s": ["a", None, "c"]},
        index=[10, 20, 30],
    )


def test_equal_frames_with_nan() -> None:
    assert compare(frame(), frame()).equal


def test_frame_columns_in_another_order() -> None:
    result = compare(frame()[["x", "n"]], frame()[["n", "x"]])
    assert (result.equal, result.where) == (False, "columns")
    assert result.detail == "expected columns ['x', 'n'], got ['n', 'x']"


def test_frame_missing_column() -> None:
    result = compare(frame(), frame().drop(columns="s"))
    assert (result.equal, result.where) == (False, "columns")


def test_frame_index_in_another_order() -> None:
    result = compare(frame(), frame().iloc[[2, 1, 0]])
    assert (result.equal, result.where) == (False, "index")
    assert result.detail == "expected index [10, 20, 30], got [30, 20, 10]"


def test_frame_long_index_reports_first_position() -> None:
    expected = pd.DataFrame({"x": range(100)})
    actual = expected.set_axis([*range(50), 99, *range(51, 99), 50])
    result = compare(expected, actual)
    assert result.where == "index"
    assert result.detail == "index differ at position 50: expected 50, got 99"


def test_frame_column_dtype() -> None:
    expected = pd.DataFrame({"x": [1.0, 2.0]})
    actual = pd.DataFrame({"x": pd.array([1, 2], dtype="Int64")})
    result = compare(expected, actual)
    assert (result.equal, result.where) == (False, "column 'x' dtype")
    assert result.detail == "expected dtype float64, got Int64"


def test_frame_category_dtypes_show_their_categories() -> None:
    expected = pd.DataFrame({"c": pd.Categorical(["a", "b"])})
    actual = pd.DataFrame({"c": pd.Categorical(["a", "c"])})
    result = compare(expected, actual)
    assert result.where == "column 'c' dtype"
    assert "['a', 'b']" in result.detail
    assert "['a', 'c']" in result.detail


def test_frame_first_value_difference() -> None:
    actual = frame()
    actual.loc[30, "x"] = 3.5
    actual.loc[20, "n"] = 7
    result = compare(frame(), actual)
    assert (result.equal, result.where) == (False, "column 'x', row 30")
    assert result.detail == (
        "expected 3.0, got 3.5 (abs diff 0.5, rel diff 0.167); 1 of 3 elements differ"
    )


def test_frame_nan_against_number() -> None:
    actual = frame()
    actual.loc[20, "x"] = 2.0
    result = compare(frame(), actual)
    assert (result.equal, result.where) == (False, "column 'x', row 20")


def test_frame_non_float_columns_are_exact() -> None:
    actual = frame()
    actual.loc[30, "s"] = "C"
    result = compare(frame(), actual)
    assert (result.equal, result.where) == (False, "column 's', row 30")
    assert result.detail.startswith("expected 'c', got 'C'")


def test_frame_tolerance_and_maxima_over_all_float_columns() -> None:
    expected = pd.DataFrame({"a": [1.0, 2.0], "b": [10.0, 0.0], "n": [1, 2]})
    actual = pd.DataFrame(
        {"a": [1.0, 2.0 + 1.5e-9], "b": [10.0 + 5e-9, 0.0], "n": [1, 2]}
    )
    result = compare(expected, actual)
    assert result.equal
    assert result.max_abs == pytest.approx(5e-9)  # column b
    assert result.max_rel == pytest.approx(7.5e-10)  # column a
    assert not compare(expected, actual, Tolerance(rtol=1e-10)).equal


def test_frame_nullable_columns_treat_na_as_equal() -> None:
    expected = pd.DataFrame(
        {
            "i": pd.array([1, None], dtype="Int64"),
            "f": pd.array([0.5, None], dtype="Float64"),
            "t": pd.to_datetime(["2024-01-01", None]),
            "c": pd.Categorical(["a", None]),
        }
    )
    assert compare(expected, expected.copy()).equal
    actual = expected.copy()
    actual.loc[1, "i"] = 3
    assert compare(expected, actual).where == "column 'i', row 1"


def test_series() -> None:
    expected = pd.Series([1.0, np.nan, 3.0], index=["a", "b", "c"], name="price")
    assert compare(expected, expected.copy()).equal
    assert compare(expected, expected.rename("cost")).where == "name"
    assert compare(expected, expected.iloc[::-1]).where == "index"
    assert compare(expected, expected.astype("float32")).where == "dtype"
    actual = expected.copy()
    actual["b"] = 2.0
    result = compare(expected, actual)
    assert (result.equal, result.where) == (False, "row 'b'")
    assert result.detail.startswith("expected nan, got 2.0")


def test_series_tolerance_and_maxima() -> None:
    expected = pd.Series([2.0, 4.0])
    result = compare(expected, pd.Series([2.0, 4.0 + 4e-9]))
    assert result.equal
    assert result.max_rel == pytest.approx(1e-9)
    assert compare(expected, pd.Series([3.0, 3.0]), EXACT_EDGE).equal


def test_index() -> None:
    assert compare(pd.Index(["a", "b"]), pd.Index(["a", "b"])).equal
    result = compare(pd.Index(["a", "b"]), pd.Index(["b", "a"]))
    assert (result.equal, result.where) == (False, "")
    assert result.detail == "expected labels ['a', 'b'], got ['b', 'a']"
    assert not compare(pd.Index([1.0]), pd.Index([1.0 + 1e-12])).equal


# Containers


def test_dict_values_by_key() -> None:
    assert compare({"a": 1.0, "b": [1, 2]}, {"b": [1, 2], "a": 1.0}).equal
    result = compare({"price": 1.0}, {"price": 1.5})
    assert (result.equal, result.where) == (False, "['price']")


def test_dict_missing_and_extra_keys() -> None:
    result = compare({"a": 1, "b": 2}, {"a": 1, "c": 3})
    assert (result.equal, result.where) == (False, "")
    assert result.detail == "missing keys ['b'], extra keys ['c']"
    assert compare({"a": 1}, {}).detail == "missing keys ['a']"
    assert compare({}, {1: 2}).detail == "extra keys [1]"


def test_nested_paths() -> None:
    expected = {"rows": [[1, 2], [3, 4], [5, 6]], "meta": {"a": [0.0, 1.0, 2.0, 3.0]}}
    rows = [[1, 2], [3, 4], [7, 6]]
    actual = {"rows": rows, "meta": {"a": [0.0, 1.0, 2.0, 3.5]}}
    result = compare(expected, actual)
    assert (result.equal, result.where) == (False, "['rows'][2][0]")
    assert result.max_abs == pytest.approx(0.5)
    rows[2][0] = 5
    assert compare(expected, actual).where == "['meta']['a'][3]"


def test_paths_into_arrays_and_frames() -> None:
    result = compare({"arr": np.zeros(2)}, {"arr": np.zeros(3)})
    assert result.where == "['arr'], shape"
    actual = frame()
    actual.loc[10, "n"] = 0
    assert (
        compare({"df": frame()}, {"df": actual}).where == "['df'], column 'n', row 10"
    )


def test_other_mappings() -> None:
    assert compare(OrderedDict(a=1), OrderedDict(a=1)).equal
    assert compare(OrderedDict(a=1), OrderedDict(a=2)).where == "['a']"
    assert not compare({"a": 1}, OrderedDict(a=1)).equal


def test_list_and_tuple() -> None:
    assert compare([1, 2.0, "x"], [1, 2.0, "x"]).equal
    assert compare((1, 2), (1, 2)).equal
    result = compare([1, 2], (1, 2))
    assert (result.equal, result.detail) == (False, "expected list, got tuple")


def test_list_items() -> None:
    result = compare([0, 1, 2, 3], [0, 1, 2, 4])
    assert (result.equal, result.where) == (False, "[3]")
    assert result.detail == "expected 3, got 4"


def test_list_lengths() -> None:
    result = compare([1, 2], [1, 2, 3])
    assert (result.equal, result.where) == (False, "")
    assert result.detail == "expected 2 items, got 3; first extra item: 3"
    assert (
        compare([1, 2], [1]).detail == "expected 2 items, got 1; first missing item: 2"
    )


def test_first_difference_is_reported_and_maxima_cover_all_items() -> None:
    result = compare([1.0, "a", 10.0], [1.5, "b", 12.0])
    assert result.where == "[0]"
    assert result.max_abs == pytest.approx(2.0)
    assert result.max_rel == pytest.approx(0.5)


def test_sets() -> None:
    assert compare({1, 2}, {2, 1}).equal
    assert compare(frozenset({"a"}), frozenset({"a"})).equal
    result = compare({1, 2}, {1, 3})
    assert not result.equal
    assert result.detail == "missing elements [2], extra elements [3]"
    assert not compare({1}, frozenset({1})).equal


# scipy.sparse


def test_sparse_equal_across_formats() -> None:
    dense = np.array([[0.0, 1.0, 0.0], [np.nan, 0.0, 2.0]])
    assert compare(sp.csr_matrix(dense), sp.csc_matrix(dense)).equal
    assert compare(sp.csr_array(dense), sp.coo_array(dense)).equal


def test_sparse_difference() -> None:
    expected = sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 2.0]]))
    actual = sp.csr_matrix(np.array([[0.0, 1.0], [0.5, 2.0]]))
    result = compare(expected, actual)
    assert (result.equal, result.where) == (False, "[1, 0]")
    assert (
        result.detail == "expected 0.0, got 0.5 (abs diff 0.5); 1 of 3 elements differ"
    )
    assert result.max_abs == pytest.approx(0.5)


def test_sparse_tolerance_and_explicit_zeros() -> None:
    expected = sp.csr_matrix(np.array([[2.0, 0.0]]))
    assert compare(expected, sp.csr_matrix(np.array([[3.0, 0.0]])), EXACT_EDGE).equal
    with_explicit_zero = sp.csr_matrix(([2.0, 0.0], ([0, 0], [0, 1])), shape=(1, 2))
    assert compare(expected, with_explicit_zero).equal
    nan = sp.csr_matrix(np.array([[np.nan, 0.0]]))
    assert compare(nan, nan.copy()).equal
    assert not compare(nan, expected).equal


def test_sparse_shape() -> None:
    result = compare(sp.eye(3, format="csr"), sp.eye(4, format="csr"))
    assert (result.equal, result.where) == (False, "shape")
    assert result.detail == "expected shape (3, 3), got (4, 4)"


def test_dense_against_sparse() -> None:
    result = compare(np.eye(2), sp.csr_matrix(np.eye(2)))
    assert not result.equal
    assert result.detail == "expected ndarray, got csr_matrix"


# Anything else


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.cents == self.cents

    def __repr__(self) -> str:
        return f"Money({self.cents})"


class Vector:
    def __init__(self, *items: int) -> None:
        self.items = items

    def __eq__(self, other: object) -> list[bool]:  # type: ignore[override]
        assert isinstance(other, Vector)
        return [a == b for a, b in zip(self.items, other.items, strict=True)]


class Explosive:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("cannot compare")


def test_fallback_uses_eq_with_a_note() -> None:
    result = compare(Money(5), Money(5))
    assert result.equal
    assert result.note == "compared with == (no dedicated comparator for Money)"
    result = compare(Money(5), Money(6))
    assert not result.equal
    assert result.detail == "expected Money(5), got Money(6)"
    assert result.note == "compared with == (no dedicated comparator for Money)"


def test_fallback_note_propagates_from_containers() -> None:
    result = compare({"a": [Money(1), Money(2)]}, {"a": [Money(1), Money(2)]})
    assert result.equal
    assert result.note == "compared with == (no dedicated comparator for Money)"


def test_fallback_reduces_array_like_results() -> None:
    assert compare(Vector(1, 2), Vector(1, 2)).equal
    assert not compare(Vector(1, 2), Vector(1, 3)).equal


def test_fallback_when_eq_raises() -> None:
    result = compare(Explosive(), Explosive())
    assert not result.equal
    assert result.detail == "== failed: RuntimeError: cannot compare"
    assert "Explosive" in result.note


def test_fallback_singletons() -> None:
    assert compare(pd.NA, pd.NA).equal


# scikit-learn estimators: by parameters and fitted attributes, never identity


def _data() -> tuple[np.ndarray, np.ndarray]:
    features = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 0.1], [3.0, 0.0]])
    return features, np.array([0, 0, 1, 1])


def test_equal_unfitted_estimators_are_equal() -> None:
    from sklearn.linear_model import LogisticRegression

    result = compare(LogisticRegression(C=0.5), LogisticRegression(C=0.5))

    assert result.equal, result
    assert result.note == ""


def test_unfitted_estimators_differ_by_a_named_parameter() -> None:
    from sklearn.linear_model import LogisticRegression

    result = compare(LogisticRegression(C=0.5), LogisticRegression(C=2.0))

    assert not result.equal
    assert result.where == "parameter C"
    assert result.detail == "expected 0.5, got 2.0 (abs diff 1.5, rel diff 3)"


def test_fitted_estimators_compare_their_learned_attributes() -> None:
    from sklearn.linear_model import LogisticRegression

    features, labels = _data()
    expected = LogisticRegression().fit(features, labels)
    same = LogisticRegression().fit(features.copy(), labels.copy())
    other = LogisticRegression().fit(features * 2, labels)

    assert expected is not same
    assert compare(expected, same).equal
    result = compare(expected, other)
    assert not result.equal
    assert result.where.startswith("fitted attribute "), result
    assert result.detail.startswith("expected ")


def test_fitted_against_unfitted_names_what_is_missing() -> None:
    from sklearn.preprocessing import StandardScaler

    features, _ = _data()
    result = compare(StandardScaler().fit(features), StandardScaler())

    assert not result.equal
    assert result.detail.startswith("expected a fitted StandardScaler (mean_, ")
    assert result.detail.endswith("got an unfitted one")


def test_a_tolerance_applies_to_fitted_numbers() -> None:
    from sklearn.preprocessing import StandardScaler

    features, _ = _data()
    expected = StandardScaler().fit(features)
    actual = StandardScaler().fit(features)
    actual.mean_ = actual.mean_ + 1e-12

    assert not compare(expected, actual, Tolerance(rtol=0.0, atol=0.0)).equal
    assert compare(expected, actual, Tolerance(rtol=1e-9, atol=1e-9)).equal


def test_pipelines_compare_their_steps_recursively() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels = _data()

    def fitted(c: float) -> object:
        return make_pipeline(StandardScaler(), LogisticRegression(C=c)).fit(
            features, labels
        )

    assert compare(fitted(1.0), fitted(1.0)).equal
    result = compare(fitted(1.0), fitted(3.0))
    assert not result.equal
    assert result.where.startswith("parameter steps[1][1], parameter C"), result


def test_different_estimator_classes_differ_by_type() -> None:
    from sklearn.linear_model import LinearRegression, LogisticRegression

    result = compare(LogisticRegression(), LinearRegression())

    assert result.detail == "expected LogisticRegression, got LinearRegression"


def test_random_states_compare_by_state() -> None:
    from sklearn.ensemble import RandomForestClassifier

    features, labels = _data()

    def forest(seed: int) -> object:
        model = RandomForestClassifier(
            n_estimators=3, random_state=np.random.RandomState(seed)
        )
        return model.fit(features, labels)

    assert compare(forest(0), forest(0)).equal
    assert not compare(forest(0), forest(1)).equal


class _Box:
    """A plain class: its == is identity."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights


def test_objects_without_their_own_eq_compare_by_state() -> None:
    assert compare(_Box([1.0, 2.0]), _Box([1.0, 2.0])).equal
    result = compare(_Box([1.0, 2.0]), _Box([1.0, 2.5]))
    assert not result.equal
    assert result.where == "state['weights'][1]"


def test_an_object_that_holds_itself_does_not_recurse_forever() -> None:
    expected, actual = _Box([]), _Box([])
    expected.weights.append(expected)
    actual.weights.append(actual)

    assert not compare(expected, actual).equal


# Found by mutation testing: each behaviour below had no test that noticed it broken


def test_numpy_complex64_is_a_complex_number() -> None:
    # complex128 subclasses complex; complex64 does not and must still be a number.
    assert compare(np.complex64(1 + 2j), 1 + 2j).equal
    result = compare(np.complex64(1 + 2j), complex(1, 3))
    assert result.detail == "expected (1+2j), got (1+3j) (abs diff 1, rel diff 0.447)"


def test_numpy_timedeltas_compare_exactly_and_missing_ones_are_equal() -> None:
    second, missing = np.timedelta64(1, "s"), np.timedelta64("NaT")
    assert compare(second, np.timedelta64(1000, "ms")) == Comparison(True)
    assert compare(missing, np.timedelta64("NaT")) == Comparison(True)
    result = compare(second, np.timedelta64(2, "s"))
    assert (result.equal, result.note) == (False, "")


def test_one_missing_date_is_not_equal_to_a_date() -> None:
    missing, day = np.datetime64("NaT"), np.datetime64("2024-01-01")
    assert not compare(missing, day).equal
    assert not compare(day, missing).equal


class _Model:
    """Has get_params and an == that cannot tell models apart."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def get_params(self, deep: bool = False) -> dict[str, object]:
        return {"depth": self.depth}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Model)

    __hash__ = object.__hash__


def test_anything_with_get_params_compares_by_parameters_despite_its_eq() -> None:
    assert compare(_Model(3), _Model(3)).equal
    result = compare(_Model(3), _Model(4))
    assert (result.equal, result.detail) == (False, "expected 3, got 4")


def test_the_tolerance_reaches_items_of_lists_and_dicts() -> None:
    loose = Tolerance(rtol=0.1, atol=0.0)
    assert compare([1.0], [1.05], loose).equal
    assert compare({"a": 1.0}, {"a": 1.05}, loose).equal
    assert compare((1.0, {"b": [2.0]}), (1.0, {"b": [2.1]}), loose).equal


class _Grid:
    """== gives a 2-D boolean array, as numpy-backed containers do."""

    def __init__(self, *rows: list[int]) -> None:
        self.rows = np.array(rows)

    def __eq__(self, other: object) -> Any:
        assert isinstance(other, _Grid)
        return self.rows == other.rows

    __hash__ = object.__hash__


def test_an_eq_giving_a_2d_array_is_reduced_with_all() -> None:
    assert compare(_Grid([1, 2], [3, 4]), _Grid([1, 2], [3, 4])).equal
    assert not compare(_Grid([1, 2], [3, 4]), _Grid([1, 2], [3, 5])).equal


def test_results_of_equality_fallbacks_are_whole() -> None:
    note = "compared with == (no dedicated comparator for Money)"
    assert compare(Money(1), Money(1)) == Comparison(True, note=note)
    assert compare(Explosive(), Explosive()).equal is False
    assert compare({1}, {2}).equal is False


def test_notes_from_several_types_are_joined() -> None:
    result = compare([Money(1), Vector(1)], [Money(1), Vector(1)])
    assert result.note == (
        "compared with == (no dedicated comparator for Money); "
        "compared with == (no dedicated comparator for Vector)"
    )


def test_a_text_element_against_another_type_shows_both() -> None:
    result = compare(pd.Series(["abc"], dtype=object), pd.Series([1], dtype=object))
    assert result.detail.startswith("expected 'abc', got 1;")


def test_long_text_details() -> None:
    # Up to 80 characters both texts are shown whole (a repr of 80 is not clipped).
    short = "a" * 78
    assert compare(short, short[:-1] + "b").detail == (
        f"expected {short!r}, got {short[:-1] + 'b'!r}"
    )
    edge = "a" * 80
    assert compare(edge, edge[:-1] + "b").detail.startswith("expected 'aaa")
    # Longer: the first difference with 20 characters either side...
    text = "0123456789" * 10
    assert compare(text, text[:5] + "X" + text[6:]).detail == (
        "text differs at character 5 (lengths 100 and 100): "
        f"expected {text[:25]!r}, got {text[:5] + 'X' + text[6:25]!r}"
    )
    # ...or where the shorter text ends.
    assert compare(text, text + "tail").detail == (
        "text differs at character 100 (lengths 100 and 104): "
        f"expected {text[80:]!r}, got {(text + 'tail')[80:120]!r}"
    )


def test_values_longer_than_80_characters_are_clipped() -> None:
    result = compare({"a" * 100}, {"b" * 100})
    assert result.detail == (
        "missing elements ['" + "a" * 75 + "..., extra elements ['" + "b" * 75 + "..."
    )


# Estimators and objects by value (standalone/objects.py), from mutation testing


class _Estimator:
    """scikit-learn's convention, duck-typed: parameters, and fitted names ending _."""

    def __init__(self, **params: object) -> None:
        self._params = params

    def get_params(self, deep: bool = True) -> dict[str, object]:
        assert deep is False, "compared with get_params(deep=False)"
        return dict(self._params)

    def fitted(self, **learned: object) -> _Estimator:
        for name, value in learned.items():
            setattr(self, name, value)
        return self


def test_estimators_with_other_parameters_name_them() -> None:
    result = compare(_Estimator(a=1, b=2), _Estimator(a=1, c=3))
    assert result == Comparison(
        False, detail="missing parameters ['b'], extra parameters ['c']"
    )


def test_fitted_and_unfitted_estimators_name_the_fitted_attributes() -> None:
    many = {f"w{i:02}_": i for i in range(12)}
    fitted = _Estimator(a=1).fitted(**many)
    assert compare(fitted, _Estimator(a=1)).detail == (
        "expected a fitted _Estimator (w00_, w01_, w02_, w03_, w04_, w05_, w06_, w07_, "
        "w08_, w09_, ...), got an unfitted one"
    )
    assert compare(_Estimator(a=1), _Estimator(a=1).fitted(coef_=1)).detail == (
        "expected an unfitted _Estimator, got a fitted one (coef_)"
    )
    other = _Estimator(a=1).fitted(coef_=1, bias_=2)
    assert compare(_Estimator(a=1).fitted(coef_=1), other).detail == (
        "extra fitted attributes ['bias_']"
    )


def test_only_public_names_ending_in_an_underscore_are_fitted() -> None:
    expected = _Estimator(a=1).fitted(_cache_=1, seen=2, coef_=[1.0])
    actual = _Estimator(a=1).fitted(_cache_=9, seen=8, coef_=[1.0])
    assert compare(expected, actual).equal
    result = compare(expected, _Estimator(a=1).fitted(coef_=[1.5]))
    assert (result.where, result.detail) == (
        "fitted attribute coef_[0]",
        "expected 1.0, got 1.5 (abs diff 0.5, rel diff 0.5)",
    )
    assert compare(expected, actual, Tolerance(rtol=0.0, atol=0.0)).equal


class _OtherConvention:
    """get_params that takes no deep argument: compared by its state instead."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def get_params(self) -> dict[str, object]:
        return {}


def test_a_get_params_of_another_convention_falls_back_to_the_state() -> None:
    assert compare(_OtherConvention(1.0), _OtherConvention(1.0)).equal
    result = compare(_OtherConvention(1.0), _OtherConvention(2.0))
    assert (result.equal, result.where) == (False, "state['weight']")


def test_the_same_object_and_globals_compare_by_identity() -> None:
    box = _Box([1.0])
    assert compare(box, box) == Comparison(True)
    # A function reduces to its name (a global): == then, noted.
    assert compare(test_defaults, test_defaults) == Comparison(True)
    result = compare(test_defaults, test_none)
    assert (result.equal, result.note) == (
        False,
        "compared with == (no dedicated comparator for function)",
    )


class _Pair:
    """Pickled by its arguments alone (a 2-tuple from __reduce__)."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def __reduce__(self) -> tuple[object, ...]:
        return (_Pair, (self.low, self.high))


class _Labelled:
    """Pickled by arguments and a state (a 3-tuple from __reduce__)."""

    def __init__(self, value: float, label: str = "") -> None:
        self.value, self.label = value, label

    def __reduce__(self) -> tuple[object, ...]:
        return (_Labelled, (self.value,), {"label": self.label})


def test_objects_compare_by_the_arguments_and_state_pickle_stores() -> None:
    assert compare(_Pair(1.0, 2.0), _Pair(1.0, 2.0)).equal
    result = compare(_Pair(1.0, 2.0), _Pair(1.0, 2.5))
    assert (result.where, result.detail) == (
        "arguments[1]",
        "expected 2.0, got 2.5 (abs diff 0.5, rel diff 0.25)",
    )
    assert compare(_Pair(1.0, 2.0), _Pair(1.0, 2.5), Tolerance(rtol=0.5)).equal
    result = compare(_Labelled(1.0, "a"), _Labelled(1.0, "b"))
    assert (result.where, result.detail) == ("state['label']", "expected 'a', got 'b'")
    assert compare(_Labelled(1.0, "a"), _Labelled(1.5, "a"), Tolerance(rtol=0.5)).equal


class _Unpicklable:
    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("cannot pickle")

    def __repr__(self) -> str:
        return "<unpicklable>"


def test_objects_pickle_cannot_take_apart_fall_back_to_identity() -> None:
    result = compare(_Unpicklable(), _Unpicklable())
    assert (result.equal, result.detail) == (
        False,
        "expected <unpicklable>, got <unpicklable>",
    )


class _Slotted:
    __slots__ = ("depth",)

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def get_params(self, deep: bool = True) -> dict[str, object]:
        return {"depth": self.depth}


def test_an_estimator_without_a_dict_has_no_fitted_attributes() -> None:
    assert compare(_Slotted(2), _Slotted(2)).equal
    assert not compare(_Slotted(2), _Slotted(3)).equal


def test_ten_fitted_names_are_listed_whole_and_the_result_is_false() -> None:
    ten = {f"w{i}_": i for i in range(10)}
    result = compare(_Estimator(a=1).fitted(**ten), _Estimator(a=1))
    assert result.equal is False
    assert result.detail == (
        "expected a fitted _Estimator (w0_, w1_, w2_, w3_, w4_, w5_, w6_, w7_, w8_, "
        "w9_), got an unfitted one"
    )


class _Named:
    """Pickled as a global name (__reduce__ gives a string): only identity is left."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def test_objects_pickled_by_name_compare_by_identity_naming_both() -> None:
    result = compare(_Named("a"), _Named("a"))
    assert (result.equal, result.detail) == (False, "expected <a>, got <a>")
    assert result.note == "compared with == (no dedicated comparator for _Named)"


def test_the_tolerance_reaches_an_objects_state() -> None:
    assert compare(_Box([1.0]), _Box([1.2]), Tolerance(rtol=0.5)).equal
    assert not compare(_Box([1.0]), _Box([1.2])).equal


# numpy and pandas values (standalone/arrays.py), from mutation testing


def test_series_differ_by_name_dtype_or_index_first() -> None:
    assert compare(pd.Series([1], name="a"), pd.Series([1], name="b")) == Comparison(
        False, "name", "expected name 'a', got 'b'"
    )
    assert compare(
        pd.Series([1], dtype="int64"), pd.Series([1], dtype="int32")
    ) == Comparison(False, "dtype", "expected dtype int64, got int32")
    assert compare(
        pd.Series([1, 2], index=[0, 1]), pd.Series([1, 2], index=[0, 5])
    ) == Comparison(False, "index", "expected index [0, 1], got [0, 5]")


def test_missing_times_in_arrays_are_equal_only_to_missing_times() -> None:
    dates = np.array(["2024-01-01", "NaT"], dtype="datetime64[D]")
    nothing = np.array(["NaT", "NaT"], dtype="datetime64[D]")
    assert not compare(dates, nothing).equal
    assert not compare(nothing, dates).equal
    spans = np.array([1, "NaT"], dtype="timedelta64[s]")
    assert compare(spans, spans.copy()) == Comparison(True)


def test_array_maxima_leave_out_infinities() -> None:
    result = compare(np.array([1.0, np.inf]), np.array([1.5, np.inf]))
    assert (result.max_abs, result.max_rel) == (0.5, 0.5)


def test_the_tolerance_reaches_elements_of_object_arrays() -> None:
    loose = Tolerance(rtol=0.1)
    expected = np.array([1.0, "a"], dtype=object)
    assert compare(expected, np.array([1.05, "a"], dtype=object), loose).equal
    assert not compare(expected, np.array([1.05, "a"], dtype=object)).equal
