"""Type inference, predict's data contract, the serving schema and annotations."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from typing import Any

import black
import libcst as cst
import numpy as np
import pandas as pd

from nb2prod.analysis.cells import ImportBinding
from nb2prod.plan.serving import serving_plan
from nb2prod.render.annotate import Annotator
from nb2prod.render.service import _pydantic, _row_bytes
from nb2prod.standalone import contract
from nb2prod.standalone.valuetypes import describe, merge


def test_describe_names_types_as_users_import_them() -> None:
    assert describe(pd.DataFrame({"a": [1]})) == "pandas.DataFrame"
    assert describe(pd.Series([1.0])) == "pandas.Series"
    assert describe(np.zeros(3)) == "numpy.ndarray"
    assert describe(np.float64(1.5)) == "float"
    assert describe(np.int32(1)) == "int"
    assert describe(["a", "b"]) == "list[str]"
    assert describe([1, 2.5]) == "list[float]"
    assert describe({"a": [1]}) == "dict[str, list[int]]"
    assert describe((1, "x")) == "tuple[int, str]"
    assert describe(object()) == "Any"


def test_merge_simplifies_unions() -> None:
    assert merge(["int", "float"]) == "float"
    assert merge(["str", "None"]) == "str | None"
    assert merge(["a.A", "b.B", "c.C", "d.D"]) == "Any"
    assert merge([]) == "Any"


def test_contract_of_a_frame_merges_calls() -> None:
    first = contract.describe(pd.DataFrame({"id": ["a"], "x": [1.0], "n": [1]}))
    second = contract.describe(pd.DataFrame({"x": [None], "n": [2]}))
    merged = contract.merge(first, second)
    columns = {c["name"]: c for c in merged["columns"]}
    assert columns["id"]["optional"] is True
    assert columns["x"]["nullable"] is True and columns["x"]["type"] == "float"
    assert columns["n"] == {
        "name": "n",
        "dtype": "int64",
        "type": "int",
        "nullable": False,
        "min": 1,  # the range covers both calls
        "max": 2,
    }


def test_contract_summarises_every_row_and_widens_ints_mixed_with_floats() -> None:
    frame = pd.DataFrame({"n": range(300), "city": ["a", "b"] * 150})
    frame.loc[250, "city"] = None  # a missing value far below the rows a case keeps
    described = contract.describe(frame)
    columns = {c["name"]: c for c in described["columns"]}
    assert described["rows"] == 300
    assert columns["n"]["min"] == 0 and columns["n"]["max"] == 299
    assert columns["city"]["nullable"] is True
    assert columns["city"]["categories"] == ["a", "b"]
    assert columns["city"]["missing"] == "nan"
    floats = contract.describe(pd.DataFrame({"n": [0.5], "city": ["c"]}))
    merged = {c["name"]: c for c in contract.merge(described, floats)["columns"]}
    assert (merged["n"]["type"], merged["n"]["dtype"]) == ("float", "float64")
    assert merged["n"]["min"] == 0
    assert merged["city"]["categories"] == ["a", "b", "c"]
    counts = contract.describe(np.array([[1, 2, 3]]))
    assert counts["width"] == 3 and counts["type"] == "int"
    assert contract.merge(counts, contract.describe(np.ones((2, 3))))["type"] == "float"
    lists = contract.describe([[1, 2], [3, 4]])
    assert (lists["type"], lists["width"]) == ("list[int]", 2)
    assert (
        contract.merge(lists, contract.describe([[0.5, 1.0]]))["type"] == "list[float]"
    )
    numbered = contract.describe(pd.DataFrame(np.zeros((1, 2))))
    assert [c.get("label") for c in numbered["columns"]] == [0, 1]


def test_ablation_finds_the_columns_predict_reads() -> None:
    frame = pd.DataFrame(
        {"id": [1, 2, 3], "x": [1.0, 2.0, 3.0], "label": [0, 1, 0], "y": [4, 5, 6]}
    )

    def predict(data: pd.DataFrame) -> np.ndarray:
        features = data.drop(columns=["id", "label"])  # the label must be there
        return np.asarray(features["x"] * 2 + features["y"].fillna(0))

    assert contract.ablate(predict, frame) == [False, True, False, True]
    assert contract.ablate(predict, frame, limit=2) is None


def test_example_is_plain_json() -> None:
    frame = pd.DataFrame(
        {"x": [1.5, float("nan")], "when": pd.to_datetime(["2024-01-01", None])}
    )
    assert contract.example(frame) == [
        {"x": 1.5, "when": "2024-01-01T00:00:00"},
        {"x": None, "when": None},
    ]
    assert contract.example(np.array([1, 2, 3, 4])) == [1, 2, 3]


def test_serving_plan_from_a_frame_contract() -> None:
    frame = pd.DataFrame({"age": [30], "income": [None], "class": ["a"], "2nd": [1.0]})
    plan = serving_plan(
        {
            "input": contract.describe(frame),
            "output": contract.describe(np.array([0.5])),
            "example": contract.example(frame),
            "example_output": [0.5],
        }
    )
    assert plan is not None
    fields = {f.column: (f.attribute, f.annotation) for f in plan.fields}
    assert fields["age"] == ("age", "int")
    assert fields["income"][1] == "str | None"  # an all-missing object column
    assert fields["class"] == ("column_2", "str")  # a keyword gets an alias
    assert fields["2nd"] == ("column_3", "float")
    assert plan.output == "list[float | None]"
    assert plan.example == {"rows": contract.example(frame)}


def test_served_numbers_are_bounded_by_the_notebook_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "small": np.array([1], dtype="uint8"),
            "big": [2**40],
            "price": [1.5],
            "gap": [np.nan],
            "name": ["a"],
        }
    )
    plan = serving_plan(
        {
            "input": contract.describe(frame),
            "output": contract.describe(np.array([0.5])),
            "example": contract.example(frame),
        }
    )
    assert plan is not None
    types = {f.column: _pydantic(f.annotation, f.dtype) for f in plan.fields}
    # pandas would wrap 300 around to 44 in a uint8 column: the request is refused.
    assert types["small"] == "Annotated[int, Field(ge=0, le=255)]"
    assert types["big"] == "Int"
    assert types["price"] == "Float"
    assert types["gap"] == "FloatOrMissing"  # the notebook had NaN there
    assert types["name"] == "str"
    # the smallest valid row: {"small":0,"big":0,"price":0,"gap":0,"name":""} and a comma
    assert _row_bytes(plan) == len('{"small":0,"big":0,"price":0,"gap":0,"name":""},')


def test_serving_plan_for_texts() -> None:
    plan = serving_plan(
        {
            "input": contract.describe(["a", "b"]),
            "output": contract.describe(["x", "y"]),
            "example": ["a"],
            "example_output": ["x"],
        }
    )
    assert plan is not None
    assert (plan.kind, plan.item, plan.output) == ("list", "str", "list[str]")
    assert plan.example == {"inputs": ["a"]}


def test_no_serving_without_a_contract() -> None:
    assert serving_plan({}) is None


def annotate(
    source: str, signatures: dict[str, object], imports: list[ImportBinding]
) -> str:
    node = cst.parse_statement(textwrap.dedent(source))
    assert isinstance(node, cst.FunctionDef)
    annotator = Annotator(imports, frozenset(), signatures)  # type: ignore[arg-type]
    annotated = annotator.function(node)
    needed = sorted(f"{b.module or ''}:{b.imported}" for b in annotator.needed.values())
    code = black.format_str(
        cst.Module(body=[annotated]).code, mode=black.Mode(line_length=200)
    )
    return code.strip() + "\n" + ",".join(needed)


def test_annotations_come_from_calls_defaults_and_keep_the_users() -> None:
    pandas = ImportBinding("pd", None, "pandas", "pd", 0, 1)
    result = annotate(
        """
        def f(frame, scale=1.0, *, label: str = "x", **extra):
            return frame
        """,
        {
            "f": {
                "positional": ["pandas.DataFrame"],
                "keywords": {},
                "returns": "numpy.ndarray",
            }
        },
        [pandas],
    )
    assert result.splitlines()[0] == (
        'def f(frame: pd.DataFrame, scale: float = 1.0, *, label: str = "x", '
        "**extra: Any) -> np.ndarray:"
    )
    assert result.splitlines()[-1] == ":numpy,typing:Any"


def test_private_functions_are_left_alone() -> None:
    assert annotate("def _f(x):\n    return x\n", {}, []).startswith("def _f(x):")


# --- from mutation testing of standalone/contract.py ------------------------------


def test_each_kind_of_value_has_its_description() -> None:
    assert contract.describe(pd.Series([1.0, None, 3.0], name="score")) == {
        "kind": "series",
        "name": "score",
        "dtype": "float64",
        "type": "float",
        "nullable": True,
        "min": 1.0,
        "max": 3.0,
    }
    assert contract.describe(np.array([1.0, np.nan])) == {
        "kind": "array",
        "ndim": 1,
        "type": "float",
        "nullable": True,
    }
    assert contract.describe(np.array([[1.0, 2.0]])) == {
        "kind": "array",
        "ndim": 2,
        "type": "float",
        "nullable": False,
        "width": 2,
    }
    assert contract.describe(1.5) == {"kind": "scalar", "type": "float"}
    # A width only for a list of lists: tuples are records, not rows of features.
    assert contract.describe([(1, 2), (3, 4)]) == {
        "kind": "list",
        "type": "tuple[int, int]",
    }


def test_frames_of_pandas_2_are_frames_and_other_libraries_are_not() -> None:
    # pandas 2 defines its classes in pandas.core.frame and pandas.core.series.
    old_frame: Any = type(
        "DataFrame", (pd.DataFrame,), {"__module__": "pandas.core.frame"}
    )
    old_series: Any = type("Series", (pd.Series,), {"__module__": "pandas.core.series"})
    assert contract.describe(old_frame({"a": [1]}))["kind"] == "dataframe"
    assert contract.describe(old_series([1.0], name="s"))["kind"] == "series"
    # The same class names in polars or cupy are neither pandas nor numpy.
    for module, name in [
        ("polars", "DataFrame"),
        ("polars", "Series"),
        ("cupy", "ndarray"),
    ]:
        other = type(name, (), {"__module__": module})()
        assert contract.describe(other) == {"kind": "scalar", "type": "Any"}


def test_each_column_describes_what_its_values_looked_like() -> None:
    frame = pd.DataFrame(
        {
            "flag": [True, False, True],
            "when": pd.to_datetime(["2024-01-01", None, "2024-01-02"]),
            "city": pd.Series(["b", None, "a"], dtype=object),
            "tags": [["x"], ["y"], ["x"]],  # unhashable: no categories
            "gone": pd.Series([None, None, None], dtype="str"),
            0: [1, 2, 3],
            0.5: [1.0, 2.0, 3.0],
        }
    )
    assert contract.describe(frame)["columns"] == [
        {"name": "flag", "dtype": "bool", "type": "bool", "nullable": False},
        {
            "name": "when",
            "dtype": str(frame["when"].dtype),
            "type": "datetime",
            "nullable": True,
        },
        {
            "name": "city",
            "dtype": "object",
            "type": "str",
            "nullable": True,
            "missing": "None",
            "categories": ["a", "b"],
        },
        {"name": "tags", "dtype": "object", "type": "str", "nullable": False},
        {
            "name": "gone",
            "dtype": "str",
            "type": "str",
            "nullable": True,
            "missing": "nan",
        },
        # Integer labels keep the frame's own key, the one serving maps back to.
        {
            "name": "0",
            "dtype": "int64",
            "type": "int",
            "nullable": False,
            "label": 0,
            "min": 1,
            "max": 3,
        },
        {
            "name": "0.5",
            "dtype": "float64",
            "type": "float",
            "nullable": False,
            "min": 1.0,
            "max": 3.0,
        },
    ]


def test_a_text_column_lists_at_most_twenty_categories() -> None:
    twenty = [f"c{i:02}" for i in range(20)]
    described = contract.describe(
        pd.DataFrame({"twenty": [*twenty, "c00"], "more": [*twenty, "c20"]})
    )
    twenty_column, more_column = described["columns"]
    assert twenty_column["categories"] == twenty
    assert "categories" not in more_column


def _column(merged: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in merged["columns"] if c["name"] == name]
    return found


def test_merged_frame_columns_cover_both_calls() -> None:
    ints = contract.describe(pd.DataFrame({"n": [5, 6], "x": [1.0, 2.0]}))
    floats = contract.describe(
        pd.DataFrame({"n": [1.5, None], "x": [np.nan, np.nan], "new": ["a", "b"]})
    )
    merged = contract.merge(ints, floats)
    assert _column(merged, "n") == {
        "name": "n",
        "dtype": "float64",
        "type": "float",
        "nullable": True,
        "min": 1.5,
        "max": 6,
    }
    # No range when one call had no value at all.
    assert _column(merged, "x") == {
        "name": "x",
        "dtype": "float64",
        "type": "float",
        "nullable": True,
    }
    assert _column(merged, "new") == {**_column(floats, "new"), "optional": True}
    # Floats of another dtype stay so when integers come after them.
    narrow = contract.describe(pd.DataFrame({"n": pd.Series([0.5], dtype="float32")}))
    assert _column(contract.merge(narrow, ints), "n")["dtype"] == "float32"


def test_merged_text_columns_keep_the_notebooks_missing_marker_and_few_categories() -> (
    None
):
    def texts(*values: str | None, dtype: str = "object") -> dict[str, Any]:
        return contract.describe(pd.DataFrame({"city": pd.Series(values, dtype=dtype)}))

    complete = texts("a", "b")
    assert (
        _column(contract.merge(complete, texts("c", None)), "city")["missing"] == "None"
    )
    nan_marked = texts("a", None, dtype="str")
    assert (
        _column(contract.merge(nan_marked, texts("c", None)), "city")["missing"]
        == "nan"
    )
    eighteen = [f"c{i:02}" for i in range(18)]
    merged = _column(contract.merge(complete, texts(*eighteen)), "city")
    assert merged["categories"] == ["a", "b", *eighteen]  # twenty: still listed
    assert "categories" not in _column(
        contract.merge(complete, texts(*eighteen, "z")), "city"
    )
    many = [f"c{i:02}" for i in range(25)]
    assert "categories" not in _column(contract.merge(complete, texts(*many)), "city")


def test_merged_series_arrays_and_lists_cover_both_calls() -> None:
    full = contract.describe(pd.Series([1.0, 2.0], name="s"))
    holes = contract.describe(pd.Series([None, 3.0], name="s"))
    expected = {**full, "nullable": True, "max": 3.0}
    assert contract.merge(full, holes) == expected
    assert contract.merge(holes, full) == expected
    wide = contract.describe(np.ones((2, 3)))
    assert contract.merge(wide, contract.describe(np.zeros((1, 3))))["width"] == 3
    assert "width" not in contract.merge(wide, contract.describe(np.zeros((1, 4))))
    flat = contract.describe(np.ones(3))
    assert contract.merge(flat, wide) == flat
    rows = contract.describe([[1, 2]])
    assert contract.merge(rows, contract.describe([[3, 4]])) == rows
    assert contract.merge(rows, contract.describe([[3, 4, 5]])) == {
        "kind": "list",
        "type": "list[int]",
    }
    numbers = contract.describe([1, 2])
    assert contract.merge(numbers, rows) == {"kind": "list", "type": "Any"}
    assert contract.merge(contract.describe([0.5]), numbers)["type"] == "float"
    assert contract.merge(numbers, contract.describe(["a"]))["type"] == "Any"


def test_example_keeps_the_first_rows_as_plain_json() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "price": [Decimal("1.5")] * 5,
        }
    )
    assert contract.example(frame) == [
        {"n": 1, "price": "1.5"},
        {"n": None, "price": "1.5"},
        {"n": 3, "price": "1.5"},
    ]
    assert contract.example(pd.Series([1, 2, 3, 4])) == [1, 2, 3]
    assert contract.example([1, 2, 3, 4]) == [1, 2, 3]
    assert contract.example(({"a": np.int64(1), 2: None},)) == [{"a": 1, "2": None}]
    assert contract.example(np.float64(0.5)) == 0.5


def test_ablation_counts_a_column_whose_absence_raises_as_read() -> None:
    frame = pd.DataFrame({"n": [1, 2], "x": [1.0, 2.0], "unused": [0, 0], "m": [3, 4]})

    def predict(data: pd.DataFrame) -> np.ndarray:
        # Integer casts raise on a missing value; x is read but changes nothing.
        total = data["n"].astype("int64") + data["m"].astype("int64")
        return np.asarray(total + data["x"].fillna(0) * 0)

    reads = [True, False, False, True]
    assert contract.ablate(predict, frame) == reads
    assert contract.ablate(predict, frame, limit=4) == reads
    assert contract.ablate(predict, frame, limit=3) is None
    assert contract.ablate(predict, frame.head(1)) == reads
    assert contract.ablate(predict, frame.head(0)) is None


def test_a_text_array_with_a_missing_value_is_served_nullable() -> None:
    # Found by mutation testing: only float arrays could be nullable, so the service
    # refused a null the notebook itself had passed in a text or datetime array.
    for missing in (None, float("nan"), pd.NA, pd.NaT):
        texts = np.array(["a", missing], dtype=object)
        assert contract.describe(texts)["nullable"] is True
        plan = serving_plan(
            {
                "input": contract.describe(texts),
                "output": contract.describe(np.array([0.5])),
                "example": contract.example(texts),
            }
        )
        assert plan is not None and plan.item == "str | None"
    assert contract.describe(np.array(["a", "b"], dtype=object))["nullable"] is False
    days = np.array(["2024-01-01", "NaT"], dtype="datetime64[D]")
    assert contract.describe(days)["nullable"] is True
    assert contract.describe(np.array([1, 2]))["nullable"] is False


def test_a_text_column_records_the_notebooks_own_missing_marker() -> None:
    frame = pd.DataFrame(
        {
            "nan": pd.Series(["a", None], dtype="str"),
            "none": pd.Series(["a", None], dtype=object),
            "na": pd.Series(["a", None], dtype="string"),
            "nat": pd.Series(["a", pd.NaT], dtype=object),
        }
    )
    markers = [c["missing"] for c in contract.describe(frame)["columns"]]
    assert markers == ["nan", "None", "NA", "NaT"]
    assert contract.example(pd.Series(["a", pd.NA, pd.NaT], dtype=object)) == [
        "a",
        None,
        None,
    ]
