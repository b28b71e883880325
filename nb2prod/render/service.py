"""Render the files that serve, batch-score and test the package against the notebook."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from nb2prod.plan.planner import PackagePlan
from nb2prod.plan.serving import ServingPlan
from nb2prod.standalone import casefile, compare
from nb2prod.standalone.compare import Tolerance

#: Requirements serving adds to the package (FastAPI, its server, its models).
SERVING_REQUIREMENTS = ("fastapi>=0.110", "uvicorn>=0.29", "pydantic>=2.6")
#: What the serving tests add (FastAPI's TestClient runs on httpx).
SERVING_TEST_REQUIREMENTS = ("httpx>=0.27",)
#: Largest request body served by default, in bytes.
MAX_BODY_BYTES = 1_000_000
#: numpy's integer dtypes: a request value outside its column's range is refused, as
#: pandas would silently wrap it around when casting the frame.
_INT_DTYPE = re.compile(r"(u?)int(8|16|32|64)")
#: The tool's standalone modules shipped (copied) into every package's tests.
_SHIPPED = {"tests/_compare.py": compare, "tests/_cases.py": casefile}
#: The `spark` extra of a package whose predict takes a DataFrame (spark.py);
#: [sql] brings pyarrow, which mapInPandas needs.
SPARK_REQUIREMENT = "pyspark[sql]>=4.3.0"
#: Spark SQL types (pyspark.sql.types names) of the contract's value types.
_SPARK_TYPES = {
    "int": "LongType()",
    "float": "DoubleType()",
    "bool": "BooleanType()",
    "str": "StringType()",
    "datetime": "TimestampType()",
}


def service_files(
    env: jinja2.Environment,
    common: Mapping[str, str],
    plan: PackagePlan,
    serving: ServingPlan | None,
    libraries: list[str],
    notebook_hash: str,
) -> dict[str, str]:
    """Provenance, golden tests and their helpers; serving, batch and Spark when possible."""
    tolerance = Tolerance()
    numbers = {"rtol": repr(tolerance.rtol), "atol": repr(tolerance.atol)}
    src = f"src/{plan.package}"
    files = {
        f"{src}/_provenance.py": env.get_template("_provenance.py.j2").render(
            common, notebook_hash=notebook_hash
        ),
        "tests/test_recorded_calls.py": env.get_template(
            "test_recorded_calls.py.j2"
        ).render(common, **numbers),
    }
    files.update(_shipped_copies())
    spark = _spark_context(serving) if plan.predict else None
    if serving is None or plan.predict is None:
        return files
    context = {
        **common,
        **numbers,
        "predict": plan.predict.name,
        "serving": serving,
        "example": repr(serving.example),
        "example_output": repr(serving.example_output),
        "libraries": libraries,
        "has_artifacts": bool(plan.artifacts),
        "max_body_bytes": MAX_BODY_BYTES,
        "row_bytes": _row_bytes(serving),
        "field_types": [_pydantic(f.annotation, f.dtype) for f in serving.fields],
        "item_type": _pydantic(serving.item),
        **_wrong_value(serving),
        **_bad_numbers(serving),
        "required_field": next(
            (f.column for f in serving.fields if not f.optional), ""
        ),
    }
    files[f"{src}/serve.py"] = env.get_template("serve.py.j2").render(context)
    files["tests/test_serve.py"] = env.get_template("test_serve.py.j2").render(context)
    if serving.kind != "scalar":
        files[f"{src}/batch.py"] = env.get_template("batch.py.j2").render(context)
    if spark is not None:
        files[f"{src}/spark.py"] = env.get_template("spark.py.j2").render(
            context, **spark
        )
    return files


def _shipped_copies() -> dict[str, str]:
    """compare.py and casefile.py, so the package's tests need no nb2prod."""
    note = "# Copied by nb2prod from {name}: the package's tests use it as `nb2prod verify` does.\n"
    return {
        target: note.format(name=module.__name__.replace(".", "/") + ".py")
        + Path(str(module.__file__)).read_text("utf-8")
        for target, module in _SHIPPED.items()
    }


def _spark_context(serving: ServingPlan | None) -> dict[str, Any] | None:
    """What spark.py.j2 needs, or None when there is no spark.py to render.

    spark.py is written when predict takes a DataFrame and its result has a Spark
    type: an array, series or list of a column type (the `prediction` column), or
    a DataFrame whose recorded example gives its columns' types.
    """
    if serving is None or serving.kind != "dataframe":
        return None
    columns = [
        (f.column, f.annotation.split(" |")[0], not f.optional) for f in serving.fields
    ]
    if serving.output_kind == "dataframe":
        output = _frame_output(serving.example_output)
        if output is None:
            return None
        return {
            "spark_columns": columns,
            "spark_output_columns": output,
            "spark_prediction": "",
        }
    if serving.output_kind not in ("array", "series", "list"):
        return None  # a single value for the whole frame is no column
    prediction = _spark_type(serving.output.removeprefix("list[").removesuffix("]"))
    if prediction is None:
        return None
    return {
        "spark_columns": columns,
        "spark_output_columns": [],
        "spark_prediction": prediction,
    }


def _spark_type(annotation: str) -> str | None:
    """The Spark type of one value annotated so (``float | None``, ``list[int]``)."""
    annotation = annotation.removesuffix(" | None")
    if annotation.startswith("list[") and annotation.endswith("]"):
        item = _spark_type(annotation[len("list[") : -1])
        return f"ArrayType(T.{item})" if item else None
    return _SPARK_TYPES.get(annotation)


def _frame_output(rows: Any) -> list[tuple[str, str]] | None:
    """Columns and Spark types of a DataFrame result, from its recorded example rows.

    The example is JSON: a column whose recorded values are all missing is taken
    as a float (as pandas holds missing values), and datetimes, which JSON holds as
    text, have no Spark type here; then None.
    """
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
        return None
    columns = []
    for name in rows[0]:
        values = [row.get(name) for row in rows if row.get(name) is not None]
        kinds = {type(value) for value in values}
        if kinds == {bool}:
            spark_type = _SPARK_TYPES["bool"]
        elif kinds == {int}:
            spark_type = _SPARK_TYPES["int"]
        elif kinds <= {int, float}:
            spark_type = _SPARK_TYPES["float"]
        elif kinds == {str} and not any(_is_timestamp(value) for value in values):
            spark_type = _SPARK_TYPES["str"]
        else:
            return None
        columns.append((str(name), spark_type))
    return columns


def _is_timestamp(text: str) -> bool:
    """True for the ISO text JSON holds a recorded date or time as."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _pydantic(annotation: str, dtype: str = "") -> str:
    """serve.py's annotation of a contract type: its numbers bounded.

    ``int`` becomes ``Int`` (an int64) or the range of the column's narrower integer
    dtype, ``float`` becomes ``Float`` (finite), and ``float | None`` (a column the
    notebook had missing values in) ``FloatOrMissing``, where NaN is a missing value.
    """
    found = _INT_DTYPE.fullmatch(dtype.lower())
    integer = "Int"
    if found and found[0] != "int64":
        bits = int(found[2])
        low, high = (
            (0, 2**bits - 1) if found[1] else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        )
        integer = f"Annotated[int, Field(ge={low}, le={high})]"
    annotation = re.sub(r"\bfloat \| None\b", "FloatOrMissing", annotation)
    annotation = re.sub(r"\bfloat\b", "Float", annotation)
    return re.sub(r"\bint\b", integer, annotation)


def _row_bytes(serving: ServingPlan) -> int:
    """Bytes of the smallest row (or item) the contract accepts, with its comma.

    A body of N bytes holds at most N // this many rows: the default row limit, so
    that a request of valid rows is never refused for its row count alone.
    """
    if serving.kind == "dataframe":
        row = {
            f.column: "" if f.annotation.startswith("str") else 0
            for f in serving.fields
            if not f.optional
        }
        text = json.dumps(row, separators=(",", ":"), ensure_ascii=False)
        return len(text.encode("utf-8")) + 1
    return 3 if serving.item.startswith(("str", "list", "dict", "tuple")) else 2


def _bad_numbers(serving: ServingPlan) -> dict[str, Any]:
    """A number field the contract bounds and JSON numbers it refuses, for the 422 test."""
    bad = {
        "Float": ["NaN", "Infinity", "-Infinity", "1e400"],
        "Int": [str(2**63), str(-(2**63) - 1), "1e400"],
    }
    if serving.kind == "dataframe":
        for field in serving.fields:
            kind = _pydantic(field.annotation, field.dtype)
            if kind in bad and not field.optional:
                return {"number_field": field.column, "bad_numbers": bad[kind]}
    elif serving.kind != "scalar" and _pydantic(serving.item) in bad:
        return {"number_field": "inputs", "bad_numbers": bad[_pydantic(serving.item)]}
    return {"number_field": "", "bad_numbers": []}


def _wrong_value(serving: ServingPlan) -> dict[str, Any]:
    """A value of the wrong type for one field, for the 422 test."""
    if serving.kind == "dataframe":
        required = [field for field in serving.fields if not field.optional]
        for field in required:
            base = field.annotation.split(" |")[0]
            if base in ("int", "float", "bool"):
                return {
                    "wrong_field": field.column,
                    "wrong_value": repr("not a number"),
                }
        for field in required:
            if field.annotation.split(" |")[0] == "str":
                return {"wrong_field": field.column, "wrong_value": "123"}
        return {"wrong_field": "", "wrong_value": None}
    base = serving.item.split(" |")[0]
    if base in ("int", "float", "bool"):
        return {"wrong_field": "inputs", "wrong_value": repr("not a number")}
    if base == "str":
        return {"wrong_field": "inputs", "wrong_value": "123"}
    return {"wrong_field": "", "wrong_value": None}
