"""Render the files that serve, batch-score and test the package against the notebook."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from nb2prod.plan.serving import ServingPlan
from nb2prod.render.model import RenderInput
from nb2prod.standalone import arrays, casefile, compare, objects, tables

#: Requirements serving adds to the package: FastAPI, its server and the HTTP/1.1
#: parser serve.py runs it on, its models, and the two libraries serve.py imports that
#: pydantic brings (its core, for JSON; typing-extensions, for TypedDict on 3.11).
SERVING_REQUIREMENTS = (
    "fastapi>=0.110",
    "uvicorn>=0.29",
    "httptools>=0.6",
    "pydantic>=2.6",
    "pydantic-core>=2.16",
    "typing-extensions>=4.6.1",
)
#: What serve.py imports for a DataFrame besides pandas: a request's number columns
#: become numpy arrays. Declared unless the notebook's code already declares numpy.
FRAME_REQUIREMENT = "numpy>=1.26"
#: What the serving tests add (FastAPI's TestClient runs on httpx).
SERVING_TEST_REQUIREMENTS = ("httpx>=0.27",)
#: Largest request body served by default, in bytes.
MAX_BODY_BYTES = 1_000_000
#: numpy's integer dtypes: a request value outside its column's range is refused, as
#: pandas would silently wrap it around when casting the frame.
_INT_DTYPE = re.compile(r"(u?)int(8|16|32|64)")
#: The folder of the package's tests that holds copies of nb2prod's comparators
#: and case files, so that its golden tests need no nb2prod.
SHIPPED_FOLDER = "tests/_replay"
#: The standalone modules copied there (they import only each other, relatively).
_SHIPPED = (compare, arrays, casefile, objects, tables)
#: The `spark` extra of a package whose predict takes a DataFrame (spark.py);
#: [sql] brings pyarrow, which mapInPandas needs.
SPARK_REQUIREMENT = "pyspark[sql]>=4.3.0"
#: The `parquet` extra of a package with batch scoring: .parquet files need pyarrow.
PARQUET_REQUIREMENT = "pyarrow>=15"


def serving_requirements(data: RenderInput) -> tuple[str, ...]:
    """The requirements serving adds to the package's dependencies."""
    if data.serving is None:
        return ()
    declared = {d.distribution.lower() for d in data.dependencies}
    if data.serving.kind == "dataframe" and "numpy" not in declared:
        return (*SERVING_REQUIREMENTS, FRAME_REQUIREMENT)
    return SERVING_REQUIREMENTS


def service_files(
    env: jinja2.Environment, common: Mapping[str, str], data: RenderInput
) -> dict[str, str]:
    """Provenance, golden tests and their helpers; serving, batch and Spark when decided."""
    plan, serving = data.plan, data.serving
    numbers = {"rtol": data.tolerance.rtol, "atol": data.tolerance.atol}
    src = f"src/{plan.package}"
    files = {
        f"{src}/_provenance.py": env.get_template("_provenance.py.j2").render(
            common, notebook_hash=data.notebook_hash
        ),
        "tests/test_recorded_calls.py": env.get_template(
            "test_recorded_calls.py.j2"
        ).render(common, **numbers),
    }
    files.update(_shipped_copies())
    if serving is None or plan.predict is None:
        return files
    context = {
        **common,
        **numbers,
        "predict": plan.predict.name,
        "serving": serving,
        "example": serving.example,
        "example_output": serving.example_output,
        "libraries": [d.distribution for d in data.dependencies],
        "has_artifacts": bool(plan.artifacts),
        "max_body_bytes": MAX_BODY_BYTES,
        "row_bytes": _row_bytes(serving),
        "field_types": [_pydantic(f.annotation, f.dtype) for f in serving.fields],
        "item_type": _item_type(serving),
        **_batch_type(serving),
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
    if data.spark is not None:
        files[f"{src}/spark.py"] = env.get_template("spark.py.j2").render(
            context,
            spark_columns=data.spark.columns,
            spark_output_columns=data.spark.output_columns,
            spark_prediction=data.spark.prediction,
        )
    return files


def _shipped_copies() -> dict[str, str]:
    """The comparators and case files, verbatim, so the package's tests need no nb2prod."""
    note = "# Copied by nb2prod from {name}: the package's tests use it as `nb2prod verify` does.\n"
    files = {
        f"{SHIPPED_FOLDER}/__init__.py": '"""nb2prod\'s comparators and case files, '
        'copied: the golden tests replay the notebook\'s calls with them."""\n'
    }
    for module in _SHIPPED:
        source = Path(str(module.__file__))
        files[f"{SHIPPED_FOLDER}/{source.name}"] = note.format(
            name=module.__name__.replace(".", "/") + ".py"
        ) + source.read_text("utf-8")
    return files


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


def _batch_type(serving: ServingPlan) -> dict[str, Any]:
    """The type of the values batch.py reads for a predict that takes no frame."""
    item = (
        serving.item.removeprefix("list[").removesuffix("]")
        if serving.width
        else serving.item
    )
    base = item.split(" |")[0]
    kind = base if base in ("int", "float", "bool", "str", "datetime") else "any"
    return {"batch_type": kind, "batch_nullable": "| None" in item}


def _item_type(serving: ServingPlan) -> str:
    """serve.py's annotation of one item: a 2-D input's rows hold exactly its width."""
    item = _pydantic(serving.item)
    if serving.width is None:
        return item
    width = serving.width
    return f"Annotated[{item}, Field(min_length={width}, max_length={width})]"


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
                return {"wrong_field": field.column, "wrong_value": "not a number"}
        for field in required:
            if field.annotation.split(" |")[0] == "str":
                return {"wrong_field": field.column, "wrong_value": 123}
        return {"wrong_field": "", "wrong_value": None}
    base = serving.item.split(" |")[0]
    if base in ("int", "float", "bool"):
        return {"wrong_field": "inputs", "wrong_value": "not a number"}
    if base == "str":
        return {"wrong_field": "inputs", "wrong_value": 123}
    return {"wrong_field": "", "wrong_value": None}
