"""In the package's interpreter: send each recorded predict input through the package's
HTTP server, its batch command and Spark, and compare each answer with the recorded one.

:mod:`nb2prod.run.interfaces` starts ``python -m nb2prod.standalone.interface_child`` with the
package's ``src`` on the path; this writes one JSON entry per interface. It imports
only the standard library, :mod:`nb2prod.standalone` and its sibling ``interface_*``
modules at module level (pandas when it loads the cases), as it runs wherever the
package runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .compare import Tolerance
from .interface_common import Case, entry, load_cases
from .interface_files import batch, spark
from .interface_http import http


def timed(run: Callable[[], Any]) -> Any:
    started = time.monotonic()
    result = run()
    for report in result if isinstance(result, list) else [result]:
        report["seconds"] = report["seconds"] or time.monotonic() - started
    return result


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child process."""
    parser = argparse.ArgumentParser(
        prog="python -m nb2prod.standalone.interface_child"
    )
    parser.add_argument("package")
    parser.add_argument("predict")
    parser.add_argument("cases", type=Path, help="the folder of predict's cases")
    parser.add_argument("output", type=Path)
    parser.add_argument("--rtol", type=float, default=Tolerance.rtol)
    parser.add_argument("--atol", type=float, default=Tolerance.atol)
    parser.add_argument("--only", default="http,batch,spark")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    tolerance = Tolerance(rtol=args.rtol, atol=args.atol)
    cases, notes = load_cases(args.cases)
    if cases:
        reports = through(args.package, args.predict, cases, tolerance, args)
    else:  # nothing to send: say so for each interface, start nothing
        reports = [
            {**entry(name), "skipped": "not run (no recorded call of one argument)"}
            for name in ("HTTP", "batch CSV", "batch Parquet", "Spark")
        ]
    for report in reports:
        report["notes"] = notes
    args.output.write_text(json.dumps(reports, indent=2), "utf-8")


def through(
    package: str,
    predict: str,
    cases: list[Case],
    tolerance: Tolerance,
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    """The reports of the interfaces ``args.only`` names, in their order.

    The server and Spark mostly wait (a process start, a JVM start): they run beside
    the batch files, in threads, so that the slowest sets the time.
    """
    only, timeout = set(args.only.split(",")), args.timeout
    parameter = _parameter(package, predict)
    with (
        tempfile.TemporaryDirectory(prefix="nb2prod-interfaces-") as folder,
        ThreadPoolExecutor(max_workers=2) as threads,
    ):
        work = Path(folder)
        served = spun = None
        if "http" in only:
            served = threads.submit(
                timed, lambda: http(package, cases, tolerance, timeout)
            )
        if "spark" in only:
            spun = threads.submit(
                timed, lambda: spark(package, parameter, cases, tolerance, work)
            )
        scored = []
        if "batch" in only:
            scored = timed(lambda: batch(package, parameter, cases, tolerance, work))
        return [
            *(served.result() if served else []),
            *scored,
            *([spun.result()] if spun else []),
        ]


def _parameter(package: str, predict: str) -> str:
    """The name of predict's first parameter: the column a list or array input gets."""
    import inspect

    try:
        function = getattr(importlib.import_module(f"{package}.predict"), predict)
        return next(iter(inspect.signature(function).parameters), "input")
    except Exception:  # the package does not import: every interface will say so
        return "input"


if __name__ == "__main__":
    main()
