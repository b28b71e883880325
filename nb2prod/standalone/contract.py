"""The data contract of ``predict``: what its input and output looked like in the notebook.

Runs in the kernel (standard library only at import). ``describe`` turns a value
into a JSON description the package's serving schema is generated from; ``merge``
joins the descriptions of several calls; ``example`` keeps a few rows as JSON for
the OpenAPI docs and the README.
"""

from __future__ import annotations

import math
from typing import Any

from .valuetypes import describe as describe_type

#: Rows kept as the example request.
EXAMPLE_ROWS = 3


def describe(value: Any) -> dict[str, Any]:
    """What serving needs to know about one input or output value."""
    kind = type(value)
    if kind.__module__.split(".")[0] == "pandas" and kind.__name__ == "DataFrame":
        return {
            "kind": "dataframe",
            "columns": [_column(name, value[name]) for name in value.columns],
        }
    if kind.__module__.split(".")[0] == "pandas" and kind.__name__ == "Series":
        return {"kind": "series", **_column(value.name, value)}
    if kind.__module__ == "numpy" and kind.__name__ == "ndarray":
        return {
            "kind": "array",
            "ndim": int(value.ndim),
            "type": _numpy_type(value.dtype),
        }
    if isinstance(value, list | tuple):
        items = describe_type(list(value))
        return {"kind": "list", "type": items.removeprefix("list[").removesuffix("]")}
    return {"kind": "scalar", "type": describe_type(value)}


def merge(first: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """A description covering two calls.

    A column nullable in either call is nullable; a column that one call's frame
    lacked is optional.
    """
    if first.get("kind") != other.get("kind"):
        return first
    if first["kind"] == "dataframe":
        return {**first, "columns": _merge_columns(first["columns"], other["columns"])}
    if first["kind"] == "series":
        return {**first, "nullable": first["nullable"] or other.get("nullable", False)}
    return first


def _merge_columns(
    first: list[dict[str, Any]], other: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    theirs = {c["name"]: c for c in other}
    ours = {c["name"] for c in first}
    merged = []
    for column in first:
        match = theirs.get(column["name"])
        if match is None:
            merged.append({**column, "optional": True})
        else:
            nullable = column["nullable"] or match["nullable"]
            merged.append({**column, "nullable": nullable})
    merged += [{**c, "optional": True} for c in other if c["name"] not in ours]
    return merged


def example(value: Any, rows: int = EXAMPLE_ROWS) -> Any:
    """The first ``rows`` rows (or items) of a value, as plain JSON."""
    kind = type(value).__name__
    if kind == "DataFrame":
        return [
            {str(k): _plain(v) for k, v in row.items()}
            for row in value.head(rows).to_dict("records")
        ]
    if kind in ("Series", "ndarray"):
        return _plain(value[:rows].tolist())
    if isinstance(value, list | tuple):
        return _plain(list(value[:rows]))
    return _plain(value)


def _column(name: Any, column: Any) -> dict[str, Any]:
    return {
        "name": str(name),
        "dtype": str(column.dtype),
        "type": _numpy_type(column.dtype),
        "nullable": bool(column.isna().any()),
    }


def _numpy_type(dtype: Any) -> str:
    kind = getattr(dtype, "kind", "O")
    return {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "datetime"}.get(
        kind, "str"
    )


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN to None, timestamps to ISO text."""
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
