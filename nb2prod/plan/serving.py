"""Decide the serving schema of the package from predict's recorded data contract."""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from dataclasses import dataclass
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
#: dtypes a request column is cast to (others stay as pandas reads them).
_CAST = ("int", "uint", "float", "bool", "datetime")


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


@dataclass(frozen=True)
class ServingPlan:
    """What serve.py and batch.py need."""

    #: ``dataframe``, ``series``, ``list``, ``array`` or ``scalar``.
    kind: str
    #: The fields of one row (DataFrame input).
    fields: tuple[FieldPlan, ...]
    #: dtypes to cast request columns to, by column.
    dtypes: tuple[tuple[str, str], ...]
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

    @property
    def uses_datetime(self) -> bool:
        """True when a field is a datetime."""
        return any("datetime" in f.annotation for f in self.fields)


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
    dtypes: tuple[tuple[str, str], ...] = ()
    if source["kind"] == "dataframe":
        fields = tuple(_field(i, column) for i, column in enumerate(source["columns"]))
        dtypes = tuple(  # a column the request may leave out stays as pandas reads it
            (c["name"], c["dtype"])
            for c in source["columns"]
            if c["dtype"].lower().startswith(_CAST) and not c.get("optional")
        )
    example = contract.get("example")
    body = {"rows": example} if source["kind"] == "dataframe" else {"inputs": example}
    if source["kind"] == "scalar":
        body = {"input": example}
    return ServingPlan(
        kind=source["kind"],
        fields=fields,
        dtypes=dtypes,
        item=_item(source),
        output=_output(result),
        output_kind=result["kind"],
        example=body,
        example_output=contract.get("example_output"),
    )


def _field(index: int, column: Mapping[str, Any]) -> FieldPlan:
    name = column["name"]
    plain = (
        name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
    )
    attribute = name if plain and name not in _RESERVED else f"column_{index}"
    annotation = _FIELD_TYPES.get(column["type"], "str")
    optional = bool(column.get("optional"))
    if column.get("nullable") or optional:
        annotation += " | None"
    return FieldPlan(
        name, attribute, annotation, optional, str(column.get("dtype", ""))
    )


def _item(source: Mapping[str, Any]) -> str:
    if source["kind"] in ("series", "array"):
        item = _FIELD_TYPES.get(source.get("type", "float"), "str")
        if source["kind"] == "array" and source.get("ndim", 1) == 2:
            return f"list[{item}]"
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


def _json_type(annotation: str) -> str:
    """An annotation pydantic can validate from JSON; library types become Any."""
    if any(
        part in annotation
        for part in ("pandas.", "numpy.", "scipy.", "datetime.", "decimal.")
    ):
        return "Any"
    return annotation
