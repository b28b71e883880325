"""What the replay through the interfaces shares: the recorded cases, JSON forms of
values, and one report entry per interface (see :mod:`nb2prod.standalone.interface_child`).

Standard library and :mod:`nb2prod.standalone` only at module level: it runs in the
package's interpreter, wherever the package runs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import casefile
from .compare import Comparison, Tolerance, compare

#: The name of the extra column put first in every batch and Spark input file.
EXTRA = "nb2prod_extra"
#: Characters of a server's or command's output kept in a report.
TAIL = 2000


@dataclass(frozen=True)
class Case:
    """One recorded predict call: its folder name, input and result."""

    name: str
    value: Any
    expected: Any


class Failed(Exception):
    """An interface could not be used at all (server never up, command failed)."""


def load_cases(folder: Path) -> tuple[list[Case], list[str]]:
    """The cases of one positional argument, and notes on the others."""
    cases, notes = [], []
    for case_file in sorted(folder.glob("*/case.json")):
        case = json.loads(case_file.read_text("utf-8"))
        name = case_file.parent.name
        if len(case["args"]) != 1 or case["kwargs"]:
            notes.append(f"call {name}: not one positional argument; not sent")
            continue
        value = casefile.load(case["args"][0], case_file.parent)
        cases.append(Case(name, value, casefile.load(case["result"], case_file.parent)))
    return cases, notes


def plain(value: Any) -> Any:
    """``value`` as JSON holds it, as a client sends it: frames as records, NaN as null."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):
        value = value.to_dict("records")
    elif hasattr(value, "tolist"):
        value = value.tolist()
    elif hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is not None and type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def alike(expected: Any, actual: Any) -> Any:
    """``actual`` with integral floats as ints where ``expected`` has an int (a CSV
    column with a missing value reads as floats), and lists of lists as such."""
    if isinstance(expected, list) and isinstance(actual, list):
        return [alike(e, a) for e, a in zip(expected, actual, strict=False)] + actual[
            len(expected) :
        ]
    if isinstance(expected, dict) and isinstance(actual, dict):
        return {k: alike(expected.get(k), v) for k, v in actual.items()}
    if (
        type(expected) is int
        and type(actual) is float
        and actual.is_integer()
        and actual == expected
    ):
        return int(actual)
    return actual


def located(where: str) -> str:
    """``[17]['p']`` as ``row 17, column 'p'``."""
    if not where.startswith("["):
        return where
    index, _, rest = where[1:].partition("]")
    if not index.isdigit():
        return where
    if rest.startswith("[") and rest.endswith("]"):
        return f"row {index}, column {rest[1:-1]}"
    return f"row {index}{rest}"


def entry(interface: str) -> dict[str, Any]:
    """An empty report of one interface."""
    return {
        "interface": interface,
        "calls": [],
        "skipped": "",
        "error": "",
        "seconds": 0.0,
    }


def record(
    report: dict[str, Any], case: Case, outcome: Comparison | str, rows: int
) -> None:
    """Add one call's outcome (a comparison, or a failure's text) to ``report``."""
    if isinstance(outcome, str):
        outcome = Comparison(False, "", outcome)
    where = located(outcome.where)
    report["calls"].append(
        {
            "case": case.name,
            "rows": rows,
            "equal": outcome.equal,
            "where": where,
            "detail": outcome.detail,
            "max_abs": outcome.max_abs,
            "max_rel": outcome.max_rel,
        }
    )


def rows_of(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 1


def compared(expected: Any, actual: Any, tolerance: Tolerance) -> Comparison:
    """Compare as JSON would carry both (numbers, strings, null for missing)."""
    wanted = plain(expected)
    return compare(wanted, alike(wanted, plain(actual)), tolerance)
