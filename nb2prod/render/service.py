"""Render the files that serve, batch-score and test the package against the notebook."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from nb2prod.plan.serving import ServingPlan
from nb2prod.render.model import RenderInput
from nb2prod.standalone import arrays, casefile, compare, objects, tables

#: Requirements serving adds to the package (FastAPI, its server, its models).
SERVING_REQUIREMENTS = ("fastapi>=0.110", "uvicorn>=0.29", "pydantic>=2.6")
#: What the serving tests add (FastAPI's TestClient runs on httpx).
SERVING_TEST_REQUIREMENTS = ("httpx>=0.27",)
#: Largest request body served by default, in bytes.
MAX_BODY_BYTES = 1_000_000
#: The folder of the package's tests that holds copies of nb2prod's comparators
#: and case files, so that its golden tests need no nb2prod.
SHIPPED_FOLDER = "tests/_replay"
#: The standalone modules copied there (they import only each other, relatively).
_SHIPPED = (compare, arrays, casefile, objects, tables)
#: The `spark` extra of a package whose predict takes a DataFrame (spark.py);
#: [sql] brings pyarrow, which mapInPandas needs.
SPARK_REQUIREMENT = "pyspark[sql]>=4.3.0"


def service_files(
    env: jinja2.Environment, common: Mapping[str, str], data: RenderInput
) -> dict[str, str]:
    """Provenance, golden tests and their helpers; serving, batch and Spark when decided."""
    plan, serving = data.plan, data.serving
    numbers = {"rtol": repr(data.tolerance.rtol), "atol": repr(data.tolerance.atol)}
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
        "example": repr(serving.example),
        "example_output": repr(serving.example_output),
        "libraries": [d.distribution for d in data.dependencies],
        "has_artifacts": bool(plan.artifacts),
        "max_body_bytes": MAX_BODY_BYTES,
        **_wrong_value(serving),
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
