"""Decide the serving schema of the package from predict's recorded data contract."""

from __future__ import annotations

import ast
import keyword
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Names pydantic models already use; a column named so gets an alias.
_RESERVED = frozenset(
    {
        "model_config",
        "model_fields",
        "copy",
        "dict",
        "json",
        "schema",
        "construct",
        "validate",
        "fields",
    }
)
#: Column types as pydantic field annotations.
_FIELD_TYPES = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "str",
    "datetime": "datetime",
}
#: dtypes a request column is cast to (others stay as pandas reads them); casting to
#: pandas' string dtypes also turns a missing value into the dtype's own marker.
_CAST = ("int", "uint", "float", "bool", "datetime", "str", "string")
#: The Python expression of each marker of a missing value a text column may hold.
_MARKERS = {"nan": 'float("nan")', "NA": "pd.NA", "None": "None", "NaT": "pd.NaT"}
#: Spark SQL types (pyspark.sql.types names) of the contract's value types.
_SPARK_TYPES = {
    "int": "LongType()",
    "float": "DoubleType()",
    "bool": "BooleanType()",
    "str": "StringType()",
    "datetime": "TimestampType()",
}


@dataclass(frozen=True)
class FieldPlan:
    """One column of a DataFrame input, as a pydantic field."""

    #: The column name.
    column: str
    #: The attribute name on the model (differs when the column is not an identifier).
    attribute: str
    #: The annotation, e.g. ``float | None``.
    annotation: str
    #: True when some call's frame lacked the column: the field may be left out.
    optional: bool = False
    #: The column's dtype in the notebook (``int32``, ``float64``...): bounds its values.
    dtype: str = ""
    #: The column's key in the notebook's frame: ``column``, or an integer such as 0.
    label: str | int = ""
    #: The contract's value type: ``int``, ``float``, ``bool``, ``str`` or ``datetime``.
    kind: str = "str"
    #: True when missing values are allowed (the notebook's data had some).
    nullable: bool = False
    #: True when predict gave the same answers with the column missing (an id, a label).
    unread: bool = False


@dataclass(frozen=True)
class ServingPlan:
    """What serve.py and batch.py need."""

    #: ``dataframe``, ``series``, ``list``, ``array`` or ``scalar``.
    kind: str
    #: The fields of one row (DataFrame input).
    fields: tuple[FieldPlan, ...]
    #: dtypes to cast request columns to, by column (its key in the frame).
    dtypes: tuple[tuple[str | int, str], ...]
    #: Annotation of one input item (list, array, series) or of the input (scalar).
    item: str
    #: Annotation of the response's ``predictions``.
    output: str
    #: ``dataframe``, ``series``, ``list``, ``array`` or ``scalar``: how to turn the result into JSON.
    output_kind: str
    #: A request body recorded from the notebook.
    example: Any
    #: What the notebook's predict returned for it.
    example_output: Any
    #: Text columns of dtype object and the notebook's marker of a missing value in
    #: each (a Python expression): a request's null becomes it, not None.
    missing: tuple[tuple[str | int, str], ...] = ()
    #: Values in each item of a 2-D input (a row of an array or a list of lists).
    width: int | None = None
    #: The name the notebook's Series had, or its column's name.
    name: str = ""

    @property
    def uses_datetime(self) -> bool:
        """True when a field is a datetime."""
        return any("datetime" in f.annotation for f in self.fields)

    @property
    def relabels(self) -> bool:
        """True when a column's key in the frame is not its JSON name (``0``)."""
        return any(f.label != f.column for f in self.fields)

    @property
    def renames(self) -> bool:
        """True when a column's key in the frame is not its row model's attribute."""
        return any(f.label != f.attribute for f in self.fields)

    @property
    def read_fields(self) -> tuple[FieldPlan, ...]:
        """The fields predict reads: the columns a row must have."""
        return tuple(f for f in self.fields if not f.optional)


def serving_plan(contract: Mapping[str, Any]) -> ServingPlan | None:
    """The schema, or None when predict's input has no JSON form (or never ran)."""
    source = contract.get("input")
    result = contract.get("output")
    if (
        not source
        or not result
        or source.get("kind") not in ("dataframe", "series", "list", "array", "scalar")
    ):
        return None
    fields: tuple[FieldPlan, ...] = ()
    dtypes: tuple[tuple[str | int, str], ...] = ()
    if source["kind"] == "dataframe":
        fields = tuple(_field(i, column) for i, column in enumerate(source["columns"]))
        dtypes = tuple(  # a column predict does not read stays as pandas reads it
            (field.label, field.dtype)
            for field in fields
            if field.dtype.lower().startswith(_CAST) and not field.optional
        )
    example = contract.get("example")
    body = {"rows": example} if source["kind"] == "dataframe" else {"inputs": example}
    if source["kind"] == "scalar":
        body = {"input": example}
    missing = tuple(
        (field.label, _MARKERS.get(column.get("missing", "nan"), 'float("nan")'))
        for field, column in zip(fields, source.get("columns", []), strict=False)
        if column["type"] == "str"
        and column["dtype"] == "object"
        and not field.optional
    )
    width = source.get("width")
    return ServingPlan(
        kind=source["kind"],
        fields=fields,
        dtypes=dtypes,
        item=_item(source),
        output=_output(result),
        output_kind=result["kind"],
        example=body,
        example_output=contract.get("example_output"),
        missing=missing,
        width=width if isinstance(width, int) and width > 0 else None,
        name=str(source.get("name") or "") if source["kind"] == "series" else "",
    )


@dataclass(frozen=True)
class SparkPlan:
    """What spark.py needs: predict's input columns and its result's Spark types."""

    #: Input columns as (name, value type, required).
    columns: tuple[tuple[str, str, bool], ...]
    #: The result's columns and Spark types, when predict returns a DataFrame.
    output_columns: tuple[tuple[str, str], ...]
    #: The Spark type of the ``prediction`` column, when predict returns one value a row.
    prediction: str


def spark_plan(serving: ServingPlan | None) -> SparkPlan | None:
    """What spark.py needs, or None when the package gets no spark.py (nor its extra).

    spark.py is written when predict takes a DataFrame and its result has a Spark
    type: an array, series or list of a column type (the `prediction` column), or
    a DataFrame whose recorded example gives its columns' types.
    """
    if serving is None or serving.kind != "dataframe":
        return None
    columns = tuple(
        (f.column, f.annotation.split(" |")[0], not f.optional) for f in serving.fields
    )
    if serving.output_kind == "dataframe":
        output = _frame_output(serving.example_output)
        if output is None:
            return None
        return SparkPlan(columns, tuple(output), "")
    if serving.output_kind not in ("array", "series", "list"):
        return None  # a single value for the whole frame is no column
    prediction = _spark_type(serving.output.removeprefix("list[").removesuffix("]"))
    if prediction is None:
        return None
    return SparkPlan(columns, (), prediction)


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


def _field(index: int, column: Mapping[str, Any]) -> FieldPlan:
    name = column["name"]
    plain = (
        name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
    )
    attribute = name if plain and name not in _RESERVED else f"column_{index}"
    annotation = _FIELD_TYPES.get(column["type"], "str")
    # optional: some call's frame lacked the column, or predict does not read it
    optional = bool(column.get("optional")) or column.get("read") is False
    if column.get("nullable") or optional:
        annotation += " | None"
    label = column.get("label", name)
    return FieldPlan(
        column=name,
        attribute=attribute,
        annotation=annotation,
        optional=optional,
        dtype=str(column.get("dtype", "")),
        label=label if type(label) is int else name,
        kind=str(column["type"]) if column["type"] in _FIELD_TYPES else "str",
        nullable=bool(column.get("nullable")),
        unread=column.get("read") is False,
    )


def _item(source: Mapping[str, Any]) -> str:
    if source["kind"] in ("series", "array"):
        item = _FIELD_TYPES.get(source.get("type", "float"), "str")
        if source["kind"] == "array" and source.get("ndim", 1) == 2:
            nullable = source.get("nullable") and item == "float"
            return f"list[{item} | None]" if nullable else f"list[{item}]"
        return f"{item} | None" if source.get("nullable") or item == "float" else item
    return _json_type(source.get("type", "Any"))


def _output(result: Mapping[str, Any]) -> str:
    kind = result["kind"]
    if kind == "dataframe":
        return "list[dict[str, Any]]"
    if kind in ("series", "array"):
        item = _FIELD_TYPES.get(result.get("type", "float"), "str")
        if kind == "array" and result.get("ndim", 1) == 2:
            item = f"list[{item} | None]" if item == "float" else f"list[{item}]"
        elif item == "float":
            item = "float | None"  # NaN becomes null in JSON
        return f"list[{item}]"
    if kind == "list":
        return f"list[{_json_type(result.get('type', 'Any'))}]"
    return _json_type(result.get("type", "Any"))


#: The only syntax an annotation from a recording (or a lock) may use: names,
#: attributes, subscripts, ``|``, tuples and lists of them, None and ``...``.
_ANNOTATION_NODES = (
    ast.Expression,
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Tuple,
    ast.List,
    ast.BinOp,
    ast.BitOr,
    ast.Load,
)


def is_annotation(text: str) -> bool:
    """True when ``text`` is a plain type annotation: it cannot call or compute anything.

    Annotations recorded in the kernel, or read back from a lock someone else may
    have written, are written into the package as code, and pydantic evaluates
    them: anything else (a call, a string to evaluate later) is refused.
    """
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return all(
        isinstance(node, _ANNOTATION_NODES)
        or (isinstance(node, ast.Constant) and node.value in (None, ...))
        for node in ast.walk(tree)
    )


def _json_type(annotation: object) -> str:
    """An annotation pydantic can validate from JSON; library types become Any."""
    if not isinstance(annotation, str) or not is_annotation(annotation):
        return "Any"
    if any(
        part in annotation
        for part in ("pandas.", "numpy.", "scipy.", "datetime.", "decimal.")
    ):
        return "Any"
    return annotation
