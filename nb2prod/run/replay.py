"""Replay recorded calls against the package in a fresh process and compare.

The parent (:func:`replay`) starts ``python -m nb2prod.run.replay`` with only the
package's ``src`` folder added to the path, so the calls run against the package,
never against the notebook's namespace.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb2prod.errors import Nb2ProdError
from nb2prod.standalone import casefile
from nb2prod.standalone.compare import Tolerance, compare

if TYPE_CHECKING:  # not at run time: the replay child imports this module
    from nb2prod.run.interfaces import InterfaceReport


@dataclass(frozen=True)
class Mismatch:
    """The first call of a function whose result differs."""

    #: The case folder, relative to the cases folder (``predict/003``).
    case: str
    #: Where in the value the difference is.
    where: str
    #: What differs.
    detail: str


@dataclass(frozen=True)
class FunctionReport:
    """How one function's recorded calls replayed."""

    #: The function.
    function: str
    #: Its module in the package.
    module: str
    #: Calls replayed.
    calls: int
    #: Calls whose result was equal.
    equal: int
    #: Largest absolute difference over all calls.
    max_abs: float
    #: Largest relative difference over all calls.
    max_rel: float
    #: The first mismatch, if any.
    mismatch: Mismatch | None = None
    #: Notes from the comparators (e.g. compared with ==).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of replaying every recorded call."""

    #: One entry per function, sorted by name.
    functions: tuple[FunctionReport, ...]
    #: The tolerances used.
    tolerance: Tolerance
    #: Where the package was imported from.
    package_file: str = ""
    #: Calls that were not stored and so not replayed, by function.
    not_stored: dict[str, int] = field(default_factory=dict)
    #: Predict's calls through HTTP, batch and Spark (:mod:`nb2prod.run.interfaces`).
    interfaces: tuple[InterfaceReport, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every replayed call was equal, directly and through each interface."""
        direct = all(f.equal == f.calls for f in self.functions)
        return direct and all(i.ok for i in self.interfaces)

    def to_json(self) -> str:
        """The report as JSON, for ``--json``."""
        data = asdict(self)
        data["interfaces"] = [
            {**asdict(i), "status": i.status, "mismatches": list(i.mismatches)}
            for i in self.interfaces
        ]
        data["ok"] = self.ok
        return json.dumps(data, indent=2) + "\n"


def replay(src: Path, package: str, cases: Path, tolerance: Tolerance) -> VerifyReport:
    """Replay the cases under ``cases`` against ``package`` found in ``src``."""
    with tempfile.TemporaryDirectory(prefix="nb2prod-replay-") as work:
        output = Path(work) / "report.json"
        # The package first; then this very nb2prod, whose comparators the child runs
        # (a source checkout need not be the nb2prod installed in the environment).
        path = [str(src.resolve()), str(Path(__file__).resolve().parents[2])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
        command = [
            sys.executable, "-m", __name__, package, str(cases.resolve()), str(output),
            "--rtol", repr(tolerance.rtol), "--atol", repr(tolerance.atol),
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0 or not output.is_file():
            raise Nb2ProdError(
                f"replaying the recorded calls against {package} failed:\n{done.stderr.strip()}"
            )
        data = json.loads(output.read_text("utf-8"))
    functions = tuple(
        FunctionReport(
            **{**f, "mismatch": Mismatch(**f["mismatch"]) if f["mismatch"] else None,
               "notes": tuple(f["notes"])}
        )
        for f in data["functions"]
    )  # fmt: skip
    return VerifyReport(functions, tolerance, data["package_file"])


def _replay_all(package: str, cases: Path, tolerance: Tolerance) -> dict[str, Any]:
    """In the child process: call every case and compare (never raises per case)."""
    results: dict[str, dict[str, Any]] = {}
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
        outcome = _replay_one(f"{package}.{module}", case, case_file.parent, tolerance)
        entry["max_abs"] = max(entry["max_abs"], outcome.max_abs)
        entry["max_rel"] = max(entry["max_rel"], outcome.max_rel)
        if outcome.note and outcome.note not in entry["notes"]:
            entry["notes"].append(outcome.note)
        if outcome.equal:
            entry["equal"] += 1
        elif entry["mismatch"] is None:
            relative = case_file.parent.relative_to(cases).as_posix()
            entry["mismatch"] = {
                "case": relative,
                "where": outcome.where,
                "detail": outcome.detail,
            }
    return {
        "package_file": top_file,
        "functions": [results[name] for name in sorted(results)],
    }


def _replay_one(
    module: str, case: dict[str, Any], folder: Path, tolerance: Tolerance
) -> Any:
    from nb2prod.standalone.compare import Comparison

    try:
        function = getattr(importlib.import_module(module), case["function"])
    except Exception as exc:  # the package itself is broken: say so, per call
        return Comparison(False, "", f"importing {module} raised {_brief(exc)}")
    args = [casefile.load(d, folder) for d in case["args"]]
    kwargs = {k: casefile.load(d, folder) for k, d in case["kwargs"].items()}
    expected = casefile.load(case["result"], folder)
    try:
        actual = function(*args, **kwargs)
    except Exception as exc:
        return Comparison(False, "", f"the package raised {_brief(exc)}")
    return compare(expected, actual, tolerance)


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> None:
    """Entry point of the replay child process."""
    parser = argparse.ArgumentParser(prog="python -m nb2prod.run.replay")
    parser.add_argument("package")
    parser.add_argument("cases", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--rtol", type=float, default=Tolerance.rtol)
    parser.add_argument("--atol", type=float, default=Tolerance.atol)
    args = parser.parse_args(argv)
    tolerance = Tolerance(rtol=args.rtol, atol=args.atol)
    result = _replay_all(args.package, args.cases, tolerance)
    args.output.write_text(json.dumps(result, indent=2), "utf-8")


if __name__ == "__main__":
    main()
