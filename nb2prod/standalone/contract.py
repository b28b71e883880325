"""The data contract of ``predict``: what its input and output looked like in the notebook.

Runs in the kernel (standard library only at import). ``describe`` summarises a
whole value, every row of it (not only the rows a recorded case keeps): columns,
dtypes, nullability, numeric ranges, categories when few, the notebook's marker of
a missing string, the width of a 2-D input. ``merge`` joins the descriptions of
several calls; ``ablate`` finds the columns predict reads; ``example`` keeps a few
rows as JSON for the OpenAPI docs and the README. The package's serving schema,
batch command and Spark job are generated from the one description.

The contract is hand-written rather than a pandera schema: the same JSON drives
pydantic (HTTP), pandas (batch) and Spark, the package then needs no further
dependency, and this module can run in any kernel with the standard library alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .compare import compare
from .valuetypes import describe as describe_type

#: Rows kept as the example request.
EXAMPLE_ROWS = 3
#: A text column with at most this many distinct values lists them as categories.
MAX_CATEGORIES = 20
#: Frames with more columns than this are not ablated: every column is required.
MAX_ABLATED_COLUMNS = 100


def describe(value: Any) -> dict[str, Any]:
    """What serving needs to know about one input or output value, over all its rows."""
    kind = type(value)
    if kind.__module__.split(".")[0] == "pandas" and kind.__name__ == "DataFrame":
        return {
            "kind": "dataframe",
            "rows": len(value),
            "columns": [
                _column(name, value.iloc[:, index])
                for index, name in enumerate(value.columns)
            ],
        }
    if kind.__module__.split(".")[0] == "pandas" and kind.__name__ == "Series":
        return {"kind": "series", **_column(value.name, value)}
    if kind.__module__ == "numpy" and kind.__name__ == "ndarray":
        described = {
            "kind": "array",
            "ndim": int(value.ndim),
            "type": _numpy_type(value.dtype),
            "nullable": _has_missing(value),
        }
        if value.ndim == 2:
            described["width"] = int(value.shape[1])
        return described
    if isinstance(value, list | tuple):
        item = describe_type(list(value)).removeprefix("list[").removesuffix("]")
        described = {"kind": "list", "type": item}
        widths = {len(v) for v in value if isinstance(v, list | tuple)}
        if len(widths) == 1 and item.startswith("list["):
            described["width"] = widths.pop()
        return described
    return {"kind": "scalar", "type": describe_type(value)}


def merge(first: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """A description covering two calls.

    A column nullable in either call is nullable; a column that one call's frame
    lacked is optional; integers in one call and floats in another make floats.
    """
    if first.get("kind") != other.get("kind"):
        return first
    if first["kind"] == "dataframe":
        return {**first, "columns": _merge_columns(first["columns"], other["columns"])}
    if first["kind"] in ("series", "array"):
        merged = _merge_numbers(first, other)
        merged["nullable"] = bool(first.get("nullable") or other.get("nullable"))
        if first.get("width") != other.get("width"):
            merged.pop("width", None)
        return merged
    if first["kind"] == "list":
        merged = {**first, "type": _wider(first["type"], other["type"])}
        if first.get("width") != other.get("width"):
            merged.pop("width", None)
        return merged
    return first


def ablate(
    function: Callable[[Any], Any], frame: Any, limit: int = MAX_ABLATED_COLUMNS
) -> list[bool] | None:
    """For each column of ``frame``, whether ``function`` reads it.

    A column is read when ``function`` raises or answers differently once every
    value of that column is missing (as a request that leaves the column out
    gets it). None when ``function`` fails on ``frame`` itself, or the frame has
    more than ``limit`` columns: then every column counts as read.
    """
    if len(frame.columns) > limit or len(frame) == 0:
        return None
    try:
        baseline = function(frame.copy())
    except Exception:
        return None
    reads = []
    for index in range(len(frame.columns)):
        trial = frame.copy()
        trial.isetitem(index, float("nan"))
        try:
            result = function(trial)
        except Exception:
            reads.append(True)
            continue
        reads.append(not compare(baseline, result).equal)
    return reads


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
            continue
        joined = _merge_numbers(column, match)
        joined["nullable"] = bool(column["nullable"] or match["nullable"])
        if "categories" in column:
            categories = sorted(
                {*column["categories"], *match.get("categories", [])}, key=str
            )
            if "categories" in match and len(categories) <= MAX_CATEGORIES:
                joined["categories"] = categories
            else:
                joined.pop("categories")
        if column.get("missing") != match.get("missing") and match.get("missing"):
            joined["missing"] = column.get("missing") or match["missing"]
        merged.append(joined)
    merged += [{**c, "optional": True} for c in other if c["name"] not in ours]
    return merged


def _merge_numbers(first: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """``first`` with the type, dtype and range covering ``other``'s numbers too."""
    merged = dict(first)
    if {first.get("type"), other.get("type")} == {"int", "float"}:
        merged["type"] = "float"
        if "dtype" in first:
            merged["dtype"] = first["dtype"] if first["type"] == "float" else "float64"
    for key, pick in (("min", min), ("max", max)):
        if key in first and key in other:
            merged[key] = pick(first[key], other[key])
        else:
            merged.pop(key, None)
    return merged


def _wider(first: str, other: str) -> str:
    """The item type covering both: ``list[int]`` and ``list[float]`` give the floats."""
    if first == other:
        return first
    if first.replace("int", "float") == other.replace("int", "float"):
        return first.replace("int", "float")
    return "Any"


def _column(name: Any, column: Any) -> dict[str, Any]:
    """One column (or a Series): its type and what its values looked like."""
    value_type = _numpy_type(column.dtype)
    missing = column.isna()
    described: dict[str, Any] = {
        "name": str(name),
        "dtype": str(column.dtype),
        "type": value_type,
        "nullable": bool(missing.any()),
    }
    label = _plain(name)
    if not isinstance(name, str) and type(label) is int:
        described["label"] = label  # the frame's own key: 0, not "0"
    present = column[~missing]
    if value_type in ("int", "float") and len(present):
        described["min"] = _plain(present.min())
        described["max"] = _plain(present.max())
    if value_type == "str":
        if bool(missing.any()):
            described["missing"] = _marker(column[missing].iloc[0])
        try:
            distinct = present.unique()
        except TypeError:  # unhashable values: no categories
            distinct = []
        if 0 < len(distinct) <= MAX_CATEGORIES and all(
            isinstance(v, str) for v in distinct
        ):
            described["categories"] = sorted(distinct)
    return described


def _has_missing(array: Any) -> bool:
    """Whether a numpy array holds a missing value: NaN, NaT, or None or NA in text."""
    kind = array.dtype.kind
    if kind in "fmM":
        return bool((array != array).any())  # NaN and NaT differ from themselves
    if kind == "O":
        return any(_is_missing(v) for v in array.flat)
    return False


def _is_missing(value: Any) -> bool:
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return type(value) is float and math.isnan(value)


def _marker(value: Any) -> str:
    """The notebook's marker of a missing value: ``nan``, ``NA``, ``NaT`` or ``None``."""
    if value is None:
        return "None"
    name = type(value).__name__
    return {"NAType": "NA", "NaTType": "NaT"}.get(name, "nan")


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
