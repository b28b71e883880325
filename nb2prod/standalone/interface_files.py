"""Batch and Spark: the recorded predict inputs written as CSV and Parquet files with
the columns in another order and an extra column first, scored by ``<package>.batch``
and ``<package>.spark``, and the output files' predictions compared."""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
import runpy
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .compare import Tolerance
from .interface_common import (
    EXTRA,
    TAIL,
    Case,
    Failed,
    compared,
    entry,
    record,
)


def as_file(value: Any, name: str) -> tuple[Any, list[str]]:
    """``value`` as a table a user would score: columns reversed, an id column first.

    With the ``--column`` arguments that name the value's columns when predict does
    not take a frame (batch maps a frame's columns by name on its own).
    """
    import pandas as pd

    if hasattr(value, "columns"):
        frame = value[list(reversed(value.columns))].reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
    elif hasattr(value, "ndim") and value.ndim == 2:
        frame = pd.DataFrame(
            value, columns=[f"{name}_{j}" for j in range(value.shape[1])]
        )
    else:
        frame = pd.DataFrame({getattr(value, "name", None) or name: list(value)})
    extra = EXTRA
    while extra in frame.columns:
        extra += "_"
    named = [] if hasattr(value, "columns") else [str(c) for c in frame.columns]
    frame.insert(0, extra, [f"id-{i}" for i in range(len(frame))])
    return frame, [argument for column in named for argument in ("--column", column)]


def run_module(module: str, argv: list[str]) -> tuple[int, str]:
    """``python -m module ARGV`` in this process: its exit code and what it printed."""
    saved_argv, saved_err = sys.argv, sys.stderr
    sys.argv, sys.stderr = [module, *argv], io.StringIO()
    code = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        code = (
            exit_.code
            if isinstance(exit_.code, int)
            else (0 if exit_.code is None else 1)
        )
    except Exception:
        code = 1
        traceback.print_exc()
    finally:
        said = sys.stderr.getvalue()
        sys.argv, sys.stderr = saved_argv, saved_err
    return code, said.replace("\r", "\n").strip()[-TAIL:]


def last_line(text: str) -> str:
    """The last line a command printed: its error, without the traceback above it."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(nothing printed)"


def predictions(output: Any, expected: Any) -> Any:
    """What to compare with ``expected`` in an output table."""
    if hasattr(expected, "columns"):
        return output[[str(c) for c in expected.columns if str(c) in output.columns]]
    if "prediction" not in output.columns:
        raise Failed(f"no prediction column in the output: {list(output.columns)}")
    return output["prediction"]


def batch(
    package: str, parameter: str, cases: list[Case], tolerance: Tolerance, work: Path
) -> list[dict[str, Any]]:
    import pandas as pd

    reports = []
    module = f"{package}.batch"
    found = importlib.util.find_spec(module) is not None
    for suffix, label in (("csv", "batch CSV"), ("parquet", "batch Parquet")):
        report = entry(label)
        reports.append(report)
        if not found:
            report["skipped"] = "not run (the package has no batch module)"
            continue
        if suffix == "parquet" and importlib.util.find_spec("pyarrow") is None:
            report["skipped"] = "not run (pyarrow not installed)"
            continue
        started = time.monotonic()
        for case in cases:
            source, target = (
                work / f"in-{case.name}.{suffix}",
                work / f"out-{case.name}.{suffix}",
            )
            frame, columns = as_file(case.value, parameter)
            if suffix == "csv":
                frame.to_csv(source, index=False)
            else:
                frame.to_parquet(source, index=False)
            code, said = run_module(module, [str(source), str(target), *columns])
            if code != 0:
                record(report, case, f"exit {code}: {last_line(said)}", len(frame))
                continue
            read = pd.read_csv if suffix == "csv" else pd.read_parquet
            try:
                actual = predictions(read(target), case.expected)
            except Exception as exc:  # no output file, or no predictions in it
                text = (
                    str(exc)
                    if isinstance(exc, Failed)
                    else f"{type(exc).__name__}: {exc}"
                )
                record(report, case, f"the output file: {text}"[:TAIL], len(frame))
                continue
            record(report, case, compared(case.expected, actual, tolerance), len(frame))
        report["seconds"] = time.monotonic() - started
    return reports


def spark(
    package: str, parameter: str, cases: list[Case], tolerance: Tolerance, work: Path
) -> dict[str, Any]:
    report = entry("Spark")
    if importlib.util.find_spec(f"{package}.spark") is None:
        report["skipped"] = "not run (the package has no Spark module)"
        return report
    # java first: without it, a clean environment is not given pyspark either.
    if shutil.which("java") is None:
        report["skipped"] = "not run (no java on PATH)"
        return report
    if importlib.util.find_spec("pyspark") is None:
        report["skipped"] = "not run (pyspark not installed)"
        return report
    import pandas as pd
    from pyspark.sql import SparkSession

    module = importlib.import_module(f"{package}.spark")
    # Spark's Python workers run this interpreter, which has the package and pandas.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    try:
        session = (
            SparkSession.builder.master("local[1]")
            .appName(f"nb2prod-{package}")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .getOrCreate()
        )
    except Exception as exc:  # Java too old, no memory...: say so, fail the interface
        report["error"] = f"Spark did not start: {type(exc).__name__}: {exc}"[:TAIL]
        return report
    try:
        for case in cases:
            source, target = (
                work / f"spark-{case.name}.parquet",
                work / f"spark-{case.name}",
            )
            frame, _ = as_file(case.value, parameter)
            frame.to_parquet(source, index=False)
            try:
                scored = module.score(module.read(session, str(source), "parquet"))
                module.write(scored, str(target), "parquet", True)
                parts = sorted(target.glob("part-*.parquet"))
                output = pd.concat(
                    [pd.read_parquet(p) for p in parts], ignore_index=True
                )
                actual = predictions(output, case.expected)
            except Exception as exc:
                # The package's Spark path failed: say so, per call.
                record(
                    report, case, f"{type(exc).__name__}: {str(exc)[:TAIL]}", len(frame)
                )
                continue
            record(report, case, compared(case.expected, actual, tolerance), len(frame))
    finally:
        session.stop()
    return report
