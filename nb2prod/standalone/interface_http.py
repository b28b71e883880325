"""HTTP: the recorded predict inputs POSTed to a real uvicorn server of
``<package>.serve`` on a free loopback port, as a client sends them."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import IO, Any

from .compare import Tolerance
from .interface_common import (
    TAIL,
    Case,
    Failed,
    compared,
    entry,
    plain,
    record,
    rows_of,
)


def free_port() -> int:
    """A port the system just gave out on 127.0.0.1 (free until someone else binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def server(package: str, timeout: float) -> Iterator[str]:
    """``python -m <package>.serve`` on a free port until healthy; stopped on exit."""
    with tempfile.TemporaryFile() as output:
        for attempt in range(3):
            port = free_port()
            command = [sys.executable, "-m", f"{package}.serve"]
            command += ["--host", "127.0.0.1", "--port", str(port)]
            process = subprocess.Popen(
                command,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            try:
                url = f"http://127.0.0.1:{port}"
                if wait_healthy(process, url, timeout):
                    yield url
                    return
                said = _tail(output)
                if "address already in use" in said.lower() and attempt < 2:
                    continue  # another process took the port meanwhile: another one
                raise Failed(
                    f"the server exited with code {process.returncode} before answering "
                    f"/health:\n{said}"
                    if process.poll() is not None
                    else f"the server did not answer /health within {timeout:g} s:\n{said}"
                )
            finally:
                stop(process)
        raise Failed("no free port on 127.0.0.1 after three tries")  # pragma: no cover


def wait_healthy(process: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    return False


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(output: IO[bytes]) -> str:
    output.seek(0)
    text = output.read().decode("utf-8", "replace").strip()
    return text[-TAIL:]


def body(value: Any) -> dict[str, Any]:
    """The request a client sends for ``value``, as test_serve.py and the README show."""
    if hasattr(value, "columns"):
        return {"rows": plain(value)}
    if isinstance(value, list | tuple) or hasattr(value, "tolist"):
        return {"inputs": plain(value)}
    return {"input": plain(value)}


def columns_body(frame: Any) -> dict[str, Any]:
    """The column-oriented request for a frame: each column's values, in row order."""
    return {"columns": {str(name): plain(frame[name]) for name in frame.columns}}


def post(url: str, payload: dict[str, Any]) -> tuple[int, Any]:
    data = json.dumps(payload, allow_nan=False).encode("utf-8")
    request = urllib.request.Request(
        f"{url}/predict", data, {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")[:TAIL]


def http(
    package: str, cases: list[Case], tolerance: Tolerance, timeout: float
) -> list[dict[str, Any]]:
    """The reports of ``HTTP`` (a request of rows, or of items) and, when predict was
    called with frames, ``HTTP columns`` (the same frames sent column by column)."""
    rows_report = entry("HTTP")
    frames = [case for case in cases if hasattr(case.value, "columns")]
    reports = [rows_report, *([entry("HTTP columns")] if frames else [])]
    if importlib.util.find_spec(f"{package}.serve") is None:
        rows_report["skipped"] = "not run (the package has no serve module)"
        return [rows_report]
    try:
        with server(package, timeout) as url:
            for case in cases:
                send(url, case, body(case.value), rows_report, tolerance)
            for case in frames:
                send(url, case, columns_body(case.value), reports[1], tolerance)
    except (Failed, OSError) as failed:  # never up, or could not be started
        rows_report["error"] = str(failed)  # one server: one failure to report
        return [rows_report]
    return reports


def send(
    url: str,
    case: Case,
    payload: dict[str, Any],
    report: dict[str, Any],
    tolerance: Tolerance,
) -> None:
    """POST one case's request and record in ``report`` how its answer compares."""
    rows = rows_of(case.value)
    try:
        status, answer = post(url, payload)
        if status != 200:
            record(report, case, f"status {status}: {answer}", rows)
            return
        actual = answer["predictions"]
    except Exception as exc:  # no answer, or not JSON, or no predictions
        record(report, case, f"{type(exc).__name__}: {exc}"[:TAIL], rows)
        return
    record(report, case, compared(case.expected, actual, tolerance), rows)
