"""Type inference, predict's data contract, the serving schema and annotations."""

from __future__ import annotations

import textwrap

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
