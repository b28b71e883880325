"""Replay the recorded predict inputs through every interface the package has.

Besides the direct call (:mod:`nb2prod.run.replay`), a package answers over HTTP
(``<package>.serve``, a real uvicorn process on a loopback port), in batch
(``python -m <package>.batch`` through a CSV and a Parquet file whose columns come in
another order after an extra one) and on Spark (``<package>.spark``, when pyspark and
Java are there). :func:`replay_interfaces` runs :mod:`nb2prod.standalone.interface_child` (a copy, as the replay runs its child) with
the package's interpreter and reports, per interface, each call's comparison with
what the notebook's predict returned.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod.errors import Nb2ProdError
from nb2prod.run.child import run_child, tolerance_options
from nb2prod.settings import INTERFACES
from nb2prod.standalone.compare import Tolerance

#: Seconds the server gets to answer /health (artifacts load before it does).
SERVER_TIMEOUT = 120.0
#: Seconds the whole replay through the interfaces may take.
TIMEOUT = 1800.0


@dataclass(frozen=True)
class InterfaceCall:
    """One recorded call sent through one interface."""

    #: The case folder under ``tests/cases/<predict>/`` (``002``).
    case: str
    #: Rows (or items) sent.
    rows: int
    #: True when the answer equals the recorded result within the tolerance.
    equal: bool
    #: Where the first difference is (``row 17``), if any.
    where: str = ""
    #: What differs, or why the call failed.
    detail: str = ""
    #: Largest absolute difference.
    max_abs: float = 0.0
    #: Largest relative difference.
    max_rel: float = 0.0


@dataclass(frozen=True)
class InterfaceReport:
    """How the recorded predict calls came out through one interface."""

    #: ``HTTP``, ``HTTP columns``, ``batch CSV``, ``batch Parquet`` or ``Spark``.
    interface: str
    #: One entry per call sent.
    calls: tuple[InterfaceCall, ...] = ()
    #: Why the interface was not run (``not run (pyspark not installed)``), or "".
    skipped: str = ""
    #: Why no call could be made (the server never answered), or "".
    error: str = ""
    #: Seconds the interface took.
    seconds: float = 0.0
    #: Calls that could not be sent (not one positional argument).
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when not run, or every call sent was equal."""
        return not self.error and all(call.equal for call in self.calls)

    @property
    def status(self) -> str:
        """``equivalent``, ``mismatch`` or the reason it was not run."""
        if self.skipped:
            return self.skipped
        return "equivalent" if self.ok else "mismatch"

    @property
    def mismatches(self) -> tuple[str, ...]:
        """Each difference, naming the interface and where: ``HTTP: call 002 row 17: ...``."""
        if self.error:
            return (f"{self.interface}: {self.error}",)
        return tuple(
            f"{self.interface}: call {call.case}"
            + (f" {call.where}" if call.where else "")
            + f": {call.detail}"
            for call in self.calls
            if not call.equal
        )


def spark_can_run() -> bool:
    """Whether a Spark replay can run where nb2prod does: pyspark installed beside it and
    java on PATH. A clean environment gets the package's spark extra only then, so that
    only those who use Spark wait for pyspark to install; the others' reports say why
    Spark was not run."""
    return importlib.util.find_spec("pyspark") is not None and bool(
        shutil.which("java")
    )


def replay_interfaces(
    python: Path,
    site: Path,
    package: str,
    predict: str,
    cases: Path,
    tolerance: Tolerance,
    interfaces: tuple[str, ...] = INTERFACES,
    *,
    clean: bool = False,
) -> tuple[InterfaceReport, ...]:
    """Send predict's recorded inputs under ``cases/<predict>`` through the package in
    importable from ``site`` (its ``src``, or where a clean environment installed it)
    with the interpreter ``python`` (``clean``: a clean environment's, which must not
    see nb2prod's site-packages): one report per interface.

    Raises :class:`Nb2ProdError` when the child process itself fails (not when an
    interface does: that is a report with an error).
    """
    calls = cases / predict
    if not interfaces or not calls.is_dir():
        return ()
    options = [
        *tolerance_options(tolerance), "--only", ",".join(interfaces),
        "--timeout", repr(SERVER_TIMEOUT),
    ]  # fmt: skip
    try:
        data = run_child(
            "interface_child", [package, predict, str(calls.resolve())], options,
            site, f"replaying {package}'s calls through its interfaces", python,
            clean=clean, timeout=TIMEOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise Nb2ProdError(
            f"replaying {package}'s calls through its interfaces took over "
            f"{TIMEOUT:g} s; skip them with --interfaces direct"
        ) from None
    return tuple(_report(entry) for entry in data)


def _report(entry: dict[str, Any]) -> InterfaceReport:
    return InterfaceReport(
        interface=entry["interface"],
        calls=tuple(InterfaceCall(**call) for call in entry["calls"]),
        skipped=entry["skipped"],
        error=entry["error"],
        seconds=float(entry["seconds"]),
        notes=tuple(entry.get("notes", ())),
    )
