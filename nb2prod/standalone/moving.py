"""The behavioural diff's child: the previous recorded calls against the new package.

Like :mod:`.replaying`, it runs from a copy of this folder with only the standard
library and its siblings at import (:func:`nb2prod.run.behaviour.compare_with`
starts it), and counts per function the calls whose output moved, by how much,
and for labels (booleans, integers, strings) how many flipped.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from . import casefile
from .compare import Comparison, Tolerance, compare
from .replaying import run_as_child


def moved_all(package: str, cases: Path, tolerance: Tolerance) -> list[dict[str, Any]]:
    """In the child: every previous case against the new package, per function."""
    results: dict[str, dict[str, Any]] = {}
    for case_file in sorted(cases.glob("*/*/case.json")):
        case = json.loads(case_file.read_text("utf-8"))
        name = str(case["function"])
        entry = results.setdefault(
            name,
            {"function": name, "calls": 0, "changed": 0, "max_abs": 0.0,
             "max_rel": 0.0, "labels": 0, "flipped": 0, "error": ""},
        )  # fmt: skip
        entry["calls"] += 1
        try:
            expected = casefile.load(case["result"], case_file.parent)
            function = getattr(
                importlib.import_module(f"{package}.{case['module']}"), name
            )
            args = [casefile.load(d, case_file.parent) for d in case["args"]]
            kwargs = {
                k: casefile.load(d, case_file.parent) for k, d in case["kwargs"].items()
            }
            actual = function(*args, **kwargs)
        except Exception as exc:  # a gone or failing function: every call moved
            entry["changed"] += 1
            entry["error"] = entry["error"] or f"{type(exc).__name__}: {exc}"
            continue
        outcome: Comparison = compare(expected, actual, tolerance)
        entry["changed"] += 0 if outcome.equal else 1
        entry["max_abs"] = max(entry["max_abs"], outcome.max_abs)
        entry["max_rel"] = max(entry["max_rel"], outcome.max_rel)
        counted = _flips(expected, actual)
        if counted is not None:
            entry["labels"] += counted[0]
            entry["flipped"] += counted[1]
    return [results[name] for name in sorted(results)]


def _flips(expected: object, actual: object) -> tuple[int, int] | None:
    """(labels, flipped) when both are labels of one shape (bool, int, text)."""
    try:
        import numpy as np
    except ImportError:
        return None
    try:
        old, new = np.asarray(expected), np.asarray(actual)
    except Exception:
        return None
    if old.shape != new.shape or old.size == 0:
        return None
    if not (_labels(old) and _labels(new)):
        return None
    return int(old.size), int(np.count_nonzero(old.ravel() != new.ravel()))


def _labels(values: Any) -> bool:
    kind = values.dtype.kind
    if kind in "biuUS":
        return True
    if kind == "O":
        return all(isinstance(v, str | bool | int) for v in values.ravel().tolist())
    return False


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child process."""
    run_as_child(moved_all, argv)


if __name__ == "__main__":
    main()
