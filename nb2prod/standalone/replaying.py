"""The replay child: call every recorded case against the package and compare.

It runs in a fresh process, in the package's clean environment when there is one,
so it may import only the standard library and its sibling modules: the parent
(:mod:`nb2prod.run.replay`) copies this folder to a temporary place and starts
``python -m <copy>.replaying PACKAGE CASES OUTPUT``. Nothing of nb2prod is on the
path there, so a dependency the package forgot is missing, as it would be after
``pip install``.
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import casefile
from .compare import Comparison, Tolerance, compare


def replay_all(package: str, cases: Path, tolerance: Tolerance) -> dict[str, Any]:
    """Call every case and compare; never raises per case."""
    results: dict[str, dict[str, Any]] = {}
    missing: list[dict[str, str]] = []
    try:
        top_file = str(getattr(importlib.import_module(package), "__file__", ""))
    except Exception:  # reported per call below
        top_file = ""
    for case_file in sorted(cases.glob("*/*/case.json")):
        case = json.loads(case_file.read_text("utf-8"))
        name, module = case["function"], case["module"]
        entry = results.setdefault(
            name,
            {"function": name, "module": module, "calls": 0, "equal": 0, "max_abs": 0.0,
             "max_rel": 0.0, "mismatch": None, "notes": []},
        )  # fmt: skip
        entry["calls"] += 1
        relative = case_file.parent.relative_to(cases).as_posix()
        outcome, absent = _replay_one(f"{package}.{module}", case, case_file.parent)
        if absent is not None:
            missing.append({"case": relative, **absent})
        if not isinstance(outcome, Comparison):
            outcome = compare(outcome[0], outcome[1], tolerance)
        entry["max_abs"] = max(entry["max_abs"], outcome.max_abs)
        entry["max_rel"] = max(entry["max_rel"], outcome.max_rel)
        if outcome.note and outcome.note not in entry["notes"]:
            entry["notes"].append(outcome.note)
        if outcome.equal:
            entry["equal"] += 1
        elif entry["mismatch"] is None:
            entry["mismatch"] = {
                "case": relative,
                "where": outcome.where,
                "detail": outcome.detail,
            }
    return {
        "package_file": top_file,
        "functions": [results[name] for name in sorted(results)],
        "missing": missing,
    }


def _replay_one(
    module: str, case: Mapping[str, Any], folder: Path
) -> tuple[Comparison | tuple[object, object], dict[str, str] | None]:
    """The comparison, or the (expected, actual) pair to compare; and a missing module."""
    try:
        function = getattr(importlib.import_module(module), case["function"])
    except Exception as exc:  # the package itself is broken: say so, per call
        failed = f"importing {module} raised {_brief(exc)}"
        return Comparison(False, "", failed), _absent(exc, f"importing {module}")
    values: list[object] = []
    named = [(str(i), d) for i, d in enumerate(case["args"])]
    named += [(k, d) for k, d in case["kwargs"].items()]
    for _, descriptor in [*named, ("result", case["result"])]:
        try:
            values.append(casefile.load(descriptor, folder))
        except Exception as exc:  # a case file needs a module the package lacks
            what = f"loading {_file_of(descriptor)}"
            return Comparison(False, "", f"{what} raised {_brief(exc)}"), _absent(
                exc, what, _file_of(descriptor)
            )
    *inputs, expected = values
    positional = inputs[: len(case["args"])]
    keywords = dict(zip(case["kwargs"], inputs[len(case["args"]) :], strict=True))
    try:
        actual = function(*positional, **keywords)
    except Exception as exc:
        failed = f"the package raised {_brief(exc)}"
        return Comparison(False, "", failed), _absent(
            exc, f"calling {case['function']}"
        )
    return (expected, actual), None


def _file_of(descriptor: Mapping[str, Any]) -> str:
    """The first file a descriptor names, else its kind."""
    if "file" in descriptor:
        return str(descriptor["file"])
    for child in descriptor.get("items", ()):
        for part in child if isinstance(child, list) else [child]:
            if isinstance(part, Mapping) and (found := _file_of(part)) != part["kind"]:
                return found
    return str(descriptor["kind"])


def _absent(exc: BaseException, during: str, file: str = "") -> dict[str, str] | None:
    """What is missing, when ``exc`` (or what caused it) is a missing module."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ModuleNotFoundError) and seen.name:
            return {
                "module": seen.name.partition(".")[0],
                "error": _brief(seen),
                "during": during,
                "file": file,
            }
        seen = seen.__cause__ or seen.__context__
    return None


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_as_child(
    run: Callable[[str, Path, Tolerance], Any], argv: list[str] | None = None
) -> None:
    """A child's entry point: ``PACKAGE CASES OUTPUT [--rtol R] [--atol A]``, the
    JSON of ``run(package, cases, tolerance)`` written to OUTPUT."""
    parser = argparse.ArgumentParser()
    parser.add_argument("package")
    parser.add_argument("cases", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--rtol", type=float, default=Tolerance.rtol)
    parser.add_argument("--atol", type=float, default=Tolerance.atol)
    args = parser.parse_args(argv)
    tolerance = Tolerance(rtol=args.rtol, atol=args.atol)
    result = run(args.package, args.cases, tolerance)
    args.output.write_text(json.dumps(result, indent=2), "utf-8")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the replay child process."""
    run_as_child(replay_all, argv)


if __name__ == "__main__":
    main()
