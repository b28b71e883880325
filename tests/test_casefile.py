"""Values stored by casefile load back exactly, in reviewable files where possible."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse

from nb2prod.standalone import casefile
from nb2prod.standalone.casefile import load, save, warnings_of

# A deprecation inside pandas would silently turn CSV storage into pickle.
pytestmark = pytest.mark.filterwarnings("error")

TRICKY_FLOATS = [0.1 + 0.2, 1e-300, 5e-324, -0.0, 1.7976931348623157e308, 1 / 3]


class Point:
    """A user class with no reviewable form."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self) -> int:
        return hash((self.x, self.y))


def round_trip(value: object, folder: Path, stem: str = "value") -> tuple[Any, Any]:
    """The descriptor, after a trip through JSON text, and the value it loads."""
    descriptor = json.loads(json.dumps(save(value, folder, stem)))
    return descriptor, load(descriptor, folder)


def assert_same_frame(loaded: Any, original: pd.DataFrame) -> None:
    assert type(loaded) is pd.DataFrame
    assert loaded.equals(original)
    assert list(loaded.dtypes) == list(original.dtypes)
    pd.testing.assert_frame_equal(
        loaded,
        original,
        check_exact=True,
        check_index_type=True,
        check_column_type=True,
    )
    assert list(loaded.index.names) == list(original.index.names)
    assert loaded.columns.name == original.columns.name


def assert_same_series(loaded: Any, original: pd.Series) -> None:
    assert type(loaded) is pd.Series
    assert loaded.equals(original)
    assert loaded.dtype == original.dtype
    assert loaded.name == original.name
    pd.testing.assert_series_equal(
        loaded,
        original,
        check_exact=True,
        check_index_type=True,
        check_series_type=True,
    )


def float_bits(values: Any) -> bytes:
    return np.asarray(values, dtype=np.float64).tobytes()


# Each builds a column of 4 values of one dtype that CSV storage must keep.
COLUMNS: dict[str, Callable[[], pd.Series]] = {
    "float64": lambda: pd.Series([0.1 + 0.2, 1e-300, np.nan, -2.5]),
    "float32": lambda: pd.Series([0.1, 1 / 3, np.nan, 3.4e38], dtype="float32"),
    "int64": lambda: pd.Series([1, -(2**63), 2**63 - 1, 0], dtype="int64"),
    "int32": lambda: pd.Series([1, -(2**31), 2**31 - 1, 0], dtype="int32"),
    "bool": lambda: pd.Series([True, False, True, True]),
    "Int64": lambda: pd.Series([1, None, -3, 2**62], dtype="Int64"),
    "boolean": lambda: pd.Series([True, None, False, True], dtype="boolean"),
    "Float64": lambda: pd.Series([0.1 + 0.2, None, 1e-300, 2.0], dtype="Float64"),
    "str": lambda: pd.Series(["a", "NA", None, 'comma, "quote"\nnewline']),
    "str_with_empty": lambda: pd.Series(["", "None", "nan", " padded "]),
    "object": lambda: pd.Series(["x", "007", None, "1.0"], dtype=object),
    "category": lambda: pd.Series(
        pd.Categorical(["low", None, "high", "low"], ["low", "high"], ordered=True)
    ),
    "category_of_ints": lambda: pd.Series(pd.Categorical([3, 1, None, 3])),
    "category_of_int32": lambda: pd.Series(
        pd.Categorical([3, 1, None, 3], pd.Index([1, 3], dtype="int32"))
    ),
    "datetime_naive": lambda: pd.Series(
        pd.to_datetime(
            ["2024-01-01", "2024-01-01 12:00:00.000000001", None, "1970-01-01"],
            format="ISO8601",
        )
    ).astype("datetime64[ns]"),
    "datetime_aware": lambda: pd.Series(
        pd.to_datetime(
            ["2024-01-01", "2024-07-01 03:00", None, "2024-03-31 02:30"],
            format="ISO8601",
        )
    ).dt.tz_localize("Europe/Paris", nonexistent="shift_forward"),
    "timedelta": lambda: pd.Series(
        pd.to_timedelta(["1 day 5ns", None, "-3s", "0s"])
    ).astype("timedelta64[ns]"),
}


@pytest.mark.parametrize(
    "value",
    [None, True, 0, 2**80, "text", 0.5, [1, "a", None], {"a": [1, {"b": 2.5}]}, []],
)
def test_plain_json_values_are_stored_inline(value: object, tmp_path: Path) -> None:
    descriptor, loaded = round_trip(value, tmp_path / "cases")
    assert descriptor == {"kind": "json", "value": value}
    assert loaded == value and type(loaded) is type(value)
    assert not (tmp_path / "cases").exists()


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ((1, 2), "tuple"),
        ([1, math.nan], "list"),
        ({1: "a"}, "dict"),
        ({"a": (1,)}, "dict"),
    ],
)
def test_values_json_would_change_are_not_json(
    value: object, kind: str, tmp_path: Path
) -> None:
    descriptor, loaded = round_trip(value, tmp_path)
    assert descriptor["kind"] == kind
    assert repr(loaded) == repr(value) and type(loaded) is type(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats(value: float, tmp_path: Path) -> None:
    descriptor, loaded = round_trip(value, tmp_path)
    assert descriptor == {"kind": "float", "value": repr(value)}
    assert type(loaded) is float and repr(loaded) == repr(value)


def test_containers_keep_member_types_keys_and_order(tmp_path: Path) -> None:
    value = {2: (1, np.int8(3)), "b": [np.float32(0.5), (None,)], (1, "k"): {"x": 1}}
    descriptor, loaded = round_trip(value, tmp_path)
    assert descriptor["kind"] == "dict"
    assert list(loaded) == list(value)
    assert repr(loaded) == repr(value)


def test_json_value_is_a_copy(tmp_path: Path) -> None:
    value = {"rows": [1, 2]}
    descriptor = save(value, tmp_path, "value")
    value["rows"].append(3)
    assert descriptor["value"] == {"rows": [1, 2]}


@pytest.mark.parametrize(
    "value",
    [
        *[np.float64(x) for x in TRICKY_FLOATS],
        np.float32(0.1),
        np.float32(np.nan),
        np.float16(1 / 3),
        np.int8(-128),
        np.int64(-(2**63)),
        np.uint64(2**64 - 1),
        np.bool_(False),
        np.complex64(0.1 + 0.2j),
        np.complex128(complex(0.1 + 0.2, -1e-300)),
        np.datetime64("2024-01-01T00:00:00.000000001"),
        np.datetime64("NaT", "ns"),
        np.timedelta64(-5, "ms"),
        np.str_("héllo"),
    ],
)
def test_numpy_scalars_keep_dtype_and_bits(value: np.generic, tmp_path: Path) -> None:
    descriptor, loaded = round_trip(value, tmp_path)
    assert descriptor["kind"] == "numpy_scalar"
    assert descriptor["dtype"] == str(value.dtype)
    assert type(loaded) is type(value) and loaded.dtype == value.dtype
    assert np.array(loaded).tobytes() == np.array(value).tobytes()


def test_numpy_scalar_text_is_exact_and_readable(tmp_path: Path) -> None:
    assert save(np.float32(0.1), tmp_path, "x")["value"] == repr(float(np.float32(0.1)))
    assert save(np.int64(7), tmp_path, "x")["value"] == "7"


@pytest.mark.parametrize(
    "array",
    [
        np.array(TRICKY_FLOATS),
        np.arange(12, dtype=np.int32).reshape(3, 4),
        np.array([[True], [False]]),
        np.array(["a", "bcd"]),
        np.array(["2024-01-01", "NaT"], dtype="datetime64[ns]"),
        np.array(3.5),
        np.empty((0, 3), dtype=np.float32),
    ],
)
def test_arrays_are_stored_as_npy(array: np.ndarray, tmp_path: Path) -> None:
    descriptor, loaded = round_trip(array, tmp_path, "arr")
    assert descriptor == {
        "kind": "ndarray",
        "file": "arr.npy",
        "dtype": str(array.dtype),
        "shape": list(array.shape),
    }
    assert type(loaded) is np.ndarray and loaded.dtype == array.dtype
    assert loaded.shape == array.shape and loaded.tobytes() == array.tobytes()


def test_object_arrays_fall_back_to_pickle(tmp_path: Path) -> None:
    array = np.array([1, "a", None], dtype=object)
    descriptor, loaded = round_trip(array, tmp_path, "arr")
    assert descriptor["kind"] == "pickle" and descriptor["file"] == "arr.pkl"
    assert warnings_of(descriptor) == [
        "stored as pickle: numpy.ndarray has no reviewable form"
    ]
    assert loaded.dtype == object and list(loaded) == list(array)


@pytest.mark.parametrize("dtype", list(COLUMNS))
def test_dataframe_column_round_trips_via_csv(dtype: str, tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": COLUMNS[dtype](), "b": range(4)})
    descriptor, loaded = round_trip(frame, tmp_path, "frame")
    assert descriptor["kind"] == "dataframe" and descriptor["file"] == "frame.csv"
    assert_same_frame(loaded, frame)


@pytest.mark.parametrize("dtype", list(COLUMNS))
def test_series_round_trips_via_csv(dtype: str, tmp_path: Path) -> None:
    series = COLUMNS[dtype]()
    descriptor, loaded = round_trip(series, tmp_path, "series")
    assert descriptor["kind"] == "series" and descriptor["file"] == "series.csv"
    assert_same_series(loaded, series)


@pytest.mark.parametrize("name", [None, "price", 3])
def test_series_keeps_its_name_and_index(name: object, tmp_path: Path) -> None:
    series = pd.Series([1.5, 2.5], index=pd.Index(["x", "y"], name="key"), name=name)
    descriptor, loaded = round_trip(series, tmp_path)
    assert descriptor["kind"] == "series"
    assert_same_series(loaded, series)
    assert type(loaded.name) is type(name)


def test_a_series_named_by_a_tuple_is_pickled_with_a_warning(tmp_path: Path) -> None:
    # JSON has no tuples: the name could not come back as it was.
    series = pd.Series([1.5, 2.5], name=("price", 1))
    descriptor, loaded = round_trip(series, tmp_path)
    assert descriptor == {
        "kind": "pickle",
        "file": "value.pkl",
        "type": "pandas.Series",
        "warning": "stored as pickle: pandas.Series has no reviewable form",
    }
    assert_same_series(loaded, series)
    assert loaded.name == ("price", 1)


INDEXES: dict[str, Callable[[], pd.Index]] = {
    "range": lambda: pd.RangeIndex(4),
    "range_with_step": lambda: pd.RangeIndex(10, 2, -2, name="countdown"),
    "named_int": lambda: pd.Index([7, 3, 9, 1], name="id"),
    "string": lambda: pd.Index(["a", "NA", "", "d"]),
    "datetime": lambda: pd.DatetimeIndex(
        ["2024-01-01", "2024-01-03", "2024-01-02", "2024-01-05"], name="day"
    ),
    "multi": lambda: pd.MultiIndex.from_arrays(
        [["a", "a", "b", "b"], [1, 2, 1, 2]], names=["group", None]
    ),
}


@pytest.mark.parametrize("index", list(INDEXES))
def test_dataframe_index_round_trips(index: str, tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}, index=INDEXES[index]())
    descriptor, loaded = round_trip(frame, tmp_path)
    assert descriptor["kind"] == "dataframe"
    assert_same_frame(loaded, frame)


def test_dataframe_with_every_dtype_keeps_column_order(tmp_path: Path) -> None:
    frame = pd.DataFrame({name: build() for name, build in reversed(COLUMNS.items())})
    frame.columns.name = "feature"
    frame.index = pd.Index([10, 20, 30, 40], name="row")
    descriptor, loaded = round_trip(frame, tmp_path)
    assert descriptor["kind"] == "dataframe"
    assert_same_frame(loaded, frame)
    assert list(loaded.columns) == list(frame.columns)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(),
        pd.DataFrame(columns=["a", "b"]),
        pd.DataFrame(index=pd.Index(["x", "y"], name="k")),
        pd.DataFrame({name: build() for name, build in COLUMNS.items()}).iloc[:0],
    ],
)
def test_empty_dataframes_round_trip(frame: pd.DataFrame, tmp_path: Path) -> None:
    descriptor, loaded = round_trip(frame, tmp_path)
    assert descriptor["kind"] == "dataframe"
    assert_same_frame(loaded, frame)


def test_floats_are_bit_exact_in_dataframes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": TRICKY_FLOATS})
    _, loaded = round_trip(frame, tmp_path)
    assert float_bits(loaded["x"]) == float_bits(TRICKY_FLOATS)


@pytest.mark.parametrize(
    ("name", "header"), [("price", "item,price"), (3, "item,3"), (None, "item,value")]
)
def test_a_series_csv_is_headed_by_its_name(
    name: object, header: str, tmp_path: Path
) -> None:
    series = pd.Series([0.5], index=pd.Index(["apple"], name="item"), name=name)
    save(series, tmp_path, "series")
    assert (tmp_path / "series.csv").read_text().splitlines() == [header, "apple,0.5"]


@pytest.mark.parametrize(
    "columns",
    [
        pd.RangeIndex(2, name="feature"),
        pd.Index(["a", "b"], dtype=object, name="feature"),
        pd.Index([2025, 2024], dtype="int32"),
    ],
    ids=["range", "object", "int32"],
)
def test_column_labels_keep_their_kind_dtype_and_name(
    columns: pd.Index, tmp_path: Path
) -> None:
    frame = pd.DataFrame([[1.0, 2.0]], columns=columns)
    descriptor, loaded = round_trip(frame, tmp_path, "frame")
    assert descriptor["file"] == "frame.csv"
    assert_same_frame(loaded, frame)
    assert type(loaded.columns) is type(columns)
    assert loaded.columns.dtype == columns.dtype


def test_csv_is_readable(tmp_path: Path) -> None:
    frame = pd.DataFrame({"price": [0.1 + 0.2]}, index=pd.Index(["apple"], name="item"))
    save(frame, tmp_path, "frame")
    assert (tmp_path / "frame.csv").read_text().splitlines() == [
        "item,price",
        "apple,0.30000000000000004",
    ]


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(
            [[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")])
        ),
        pd.DataFrame({"mixed": [1, "one"]}),
        pd.DataFrame({"nested": [[1, 2], {"k": 3}]}),
        pd.DataFrame({"when": [pd.Timestamp("2024-01-01"), "later"]}),
        pd.DataFrame({(1, 2): [1]}),
        # JSON has no form for these labels or categories.
        pd.DataFrame({pd.Timestamp("2024-01-01"): [1]}),
        pd.DataFrame({"x": [1]}).rename_axis(columns=pd.Timestamp("2024-01-01")),
        pd.DataFrame({"price": pd.Categorical([Decimal("1.50"), Decimal("2")])}),
    ],
)
def test_frames_csv_cannot_hold_fall_back_to_pickle(
    frame: pd.DataFrame, tmp_path: Path
) -> None:
    descriptor, loaded = round_trip(frame, tmp_path, "frame")
    assert descriptor["kind"] == "pickle"
    assert descriptor["type"] == "pandas.DataFrame"
    assert warnings_of(descriptor) == [
        "stored as pickle: pandas.DataFrame has no reviewable form"
    ]
    assert [path.name for path in tmp_path.iterdir()] == ["frame.pkl"]
    assert_same_frame(loaded, frame)


def test_user_class_falls_back_to_pickle_with_warning(tmp_path: Path) -> None:
    descriptor, loaded = round_trip(Point(1, 2), tmp_path, "point")
    assert descriptor["kind"] == "pickle" and descriptor["file"] == "point.pkl"
    assert descriptor["type"] == f"{__name__}.Point"
    assert warnings_of(descriptor) == [
        f"stored as pickle: {__name__}.Point has no reviewable form"
    ]
    assert loaded == Point(1, 2)


def test_unpicklable_value_raises_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        save((x for x in range(3)), tmp_path, "gen")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "matrix",
    [
        scipy.sparse.csr_matrix(np.eye(3) * 0.1),
        scipy.sparse.csc_array(np.eye(3, dtype=np.float32)),
        scipy.sparse.coo_array(np.eye(2, 4, dtype=np.int64)),
        scipy.sparse.lil_matrix(np.eye(3)),
        scipy.sparse.dok_array(np.eye(3)),
    ],
)
def test_sparse_keeps_format_and_class(matrix: Any, tmp_path: Path) -> None:
    descriptor, loaded = round_trip(matrix, tmp_path, "m")
    assert descriptor["kind"] == "sparse" and descriptor["file"] == "m.npz"
    assert descriptor["format"] == matrix.format
    assert descriptor["array"] == isinstance(matrix, scipy.sparse.sparray)
    assert type(loaded) is type(matrix) and loaded.dtype == matrix.dtype
    assert loaded.shape == matrix.shape and (loaded != matrix).nnz == 0


def test_nested_frames_get_their_own_files(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.5]})
    value = [frame, (2, frame.x), {"k": frame, "p": Point(0, 0)}]
    descriptor, loaded = round_trip(value, tmp_path, "arg")
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "arg_0.csv",
        "arg_1_1.csv",
        "arg_2_0.csv",
        "arg_2_1.pkl",
    ]
    assert_same_frame(loaded[0], frame)
    assert_same_series(loaded[1][1], frame.x)
    assert_same_frame(loaded[2]["k"], frame)
    assert warnings_of(descriptor) == [
        f"stored as pickle: {__name__}.Point has no reviewable form"
    ]


def test_descriptors_are_json_and_relative_so_folders_can_move(tmp_path: Path) -> None:
    value = {
        "frame": pd.DataFrame({"x": [0.1 + 0.2]}),
        "array": np.array([1e-300]),
        "sparse": scipy.sparse.csr_array(np.eye(2)),
        "point": Point(1, 2),
    }
    descriptor = json.loads(json.dumps(save(value, tmp_path / "old", "v")))
    moved = Path(shutil.move(tmp_path / "old", tmp_path / "new"))
    loaded: Any = load(descriptor, moved)
    assert_same_frame(loaded["frame"], value["frame"])
    assert float_bits(loaded["array"]) == float_bits([1e-300])
    assert (loaded["sparse"] != value["sparse"]).nnz == 0
    assert loaded["point"] == Point(1, 2)
    files = [part[1]["file"] for part in descriptor["items"]]
    assert all(Path(name).name == name for name in files)


def test_large_float_frame_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.standard_normal((100_000, 10)), columns=[f"c{i}" for i in range(10)]
    )
    descriptor, loaded = round_trip(frame, tmp_path)
    assert descriptor["kind"] == "dataframe"
    assert_same_frame(loaded, frame)


def test_module_is_standalone_and_imports_libraries_lazily(tmp_path: Path) -> None:
    shutil.copy(casefile.__file__, tmp_path / "casefile.py")
    script = (
        "import pathlib, sys, numpy, casefile\n"
        "folder = pathlib.Path('cases')\n"
        "casefile.save({'a': (1, float('nan'))}, folder, 'plain')\n"
        "casefile.save(numpy.zeros(3), folder, 'array')\n"
        "assert not {'nb2prod', 'pandas', 'scipy'} & set(sys.modules), sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True)
