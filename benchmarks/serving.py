"""What serving and batch scoring add to a generated package's predict().

In one run it:
  * converts the churn sample (or uses --package DIR, a generated package folder);
  * times predict() called directly (in this process, the package importable from
    DIR/src) and through HTTP (the package's serve.main running uvicorn on a free
    loopback port; requests sent with one persistent httpx.Client) on a single-row
    and a 1,000-row input (for a frame, sent as rows and again as columns), and
    prints the medians and the HTTP overhead (the calls
    interleaved, so that each meets the same load; the HTTP ones sent by httpx and
    again by the standard library's http.client, which costs the client less); and, on
    Linux, the CPU time per call of this process (direct) and of the server
    (/proc/PID/stat), which a loaded machine disturbs less than wall time;
  * serves the package again with predict() stubbed (it answers at once) and prints
    the server's CPU time and the wall time per request: the request path alone,
    the figure a loaded machine disturbs least, and what each row beyond the first
    adds to it (which does not depend on the model);
  * writes a 1,000,000-row CSV built from the recorded predict() rows, once, then
    times `python -m <pkg>.batch` on it against a child process that reads it with
    pd.read_csv, calls predict() on the whole frame and writes the same output;
    each child's peak RSS comes from os.wait4. The batch also scores the file's
    first 100,000 rows: its peak should not grow with the file;
  * sends the server two 800 KB invalid requests (rows that each break the contract,
    within the row limit; and empty rows, past it) and measures the 422's size, the
    latency of GET /health polled while each is processed, and the growth of the
    server's peak RSS (Linux: /proc/PID/clear_refs resets the peak, VmHWM reads it).

    python benchmarks/serving.py [--package DIR] [--rows 1000000] [--runs 1] [--no-batch]

Targets: HTTP overhead <= 2 ms median per single-row request, <= 20 % of the direct
call at 1,000 rows; batch <= 1.3x the
direct call; batch memory bounded by the chunk size, not the file; an invalid 800 KB
request answered in <= 100 KB, /health in < 200 ms meanwhile, server peak memory
growth <= 100 MB.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import importlib.util
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pandas as pd

from nb2prod.standalone.interface_http import columns_body

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # servers.py: shared with the tests
from servers import ServerFailed, convert_sample, free_port, served  # noqa: E402

#: Targets printed next to the figures.
HTTP_OVERHEAD_MS = 2.0
HTTP_OVERHEAD_RATIO = 0.2
BATCH_RATIO = 1.3
#: The batch's peak on the whole file may exceed its peak on a tenth of it by this.
MEMORY_GROWTH = 1.25
#: Bounds on an 800 KB invalid request: its answer, /health meanwhile, server memory.
ERROR_BODY_BYTES = 100_000
HEALTH_MS = 200.0
SERVER_GROWTH_BYTES = 100 * 2**20

DIRECT = """\
import sys, time
import pandas as pd
from {name}.predict import predict
started = time.perf_counter()
frame = pd.read_csv(sys.argv[1])
read = time.perf_counter()
data = frame if {rows} else frame.iloc[:, 0].tolist()
result = predict(data)
predicted = time.perf_counter()
frame.assign(prediction=list(result)).to_csv(sys.argv[2], index=False)
done = time.perf_counter()
print(f"read {{read - started:.2f}} s, predict {{predicted - read:.2f}} s, "
      f"write {{done - predicted:.2f}} s", file=sys.stderr)
"""


@dataclass(frozen=True)
class Package:
    """A generated package, imported in this process from its src folder."""

    root: Path
    name: str
    predict: Callable[[Any], Any]
    serve: ModuleType
    cases: ModuleType

    @property
    def takes_rows(self) -> bool:
        return "rows" in self.serve.EXAMPLE

    @property
    def env(self) -> dict[str, str]:
        """The environment of a child process that imports the package."""
        return {**os.environ, "PYTHONPATH": str(self.root / "src")}

    def recorded_inputs(self) -> pd.DataFrame:
        """The first argument of every recorded predict() call, as one frame."""
        parts = []
        for case_file in sorted(
            (self.root / "tests" / "cases" / "predict").glob("*/case.json")
        ):
            case = json.loads(case_file.read_text("utf-8"))
            data = self.cases.load(case["args"][0], case_file.parent)
            parts.append(data if self.takes_rows else pd.DataFrame({"text": data}))
        if not parts:
            sys.exit(f"{self.root}: no recorded predict() calls in tests/cases")
        return pd.concat(parts, ignore_index=True)

    def argument(self, frame: pd.DataFrame) -> Any:
        """What predict() takes, from rows of the recorded frame."""
        return frame if self.takes_rows else frame.iloc[:, 0].tolist()

    def body(self, frame: pd.DataFrame, shape: str = "rows") -> bytes:
        """The POST /predict body for those rows, as the generated tests build it
        (``shape`` "columns": a frame's values column by column)."""
        if self.takes_rows and shape == "columns":
            content = columns_body(frame)
        elif self.takes_rows:
            content = {"rows": self.serve.to_json(frame.to_dict("records"))}
        else:
            content = {"inputs": self.serve.to_json(self.argument(frame))}
        return json.dumps(content).encode()


def load_package(root: Path) -> Package:
    serves = sorted((root / "src").glob("*/serve.py"))
    if len(serves) != 1:
        sys.exit(f"{root}: expected one src/<package>/serve.py, found {len(serves)}")
    name = serves[0].parent.name
    sys.path.insert(0, str(root / "src"))
    serve = importlib.import_module(f"{name}.serve")
    predict = importlib.import_module(f"{name}.predict").predict
    sys.path.insert(0, str(root / "tests"))  # the package's copied helpers: _replay
    cases = importlib.import_module("_replay.casefile")
    return Package(root, name, predict, serve, cases)


def repeated(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    copies = math.ceil(rows / len(frame))
    return pd.concat([frame] * copies, ignore_index=True).iloc[:rows]


#: Put before serve.main() by --stub: predict() answers at once, so the server's
#: time is the request path's alone (reading, parsing, validation, frame, JSON).
STUB = (
    "serve.predict = lambda data: "
    "[0.5] * len(data) if hasattr(data, '__len__') else 0.5; "
)


@contextmanager
def serving(
    package: Package, log: Path, stub: bool = False
) -> Iterator[tuple[str, int]]:
    """The package's serve.main (uvicorn) on a free port; stopped on exit."""
    port = free_port()
    start = (
        f"from {package.name} import serve; {STUB if stub else ''}"
        f"serve.main(['--port', '{port}'])"
    )
    command = [sys.executable, "-c", start]
    try:
        with served(command, port, log, seconds=30, env=package.env) as (url, process):
            yield url, process.pid
    except ServerFailed as failure:
        sys.exit(str(failure))


def cpu_ms(action: Callable[[], object], calls: int, pid: int | None) -> float | None:
    """Mean CPU time per call of ``action``: this process's, or the process ``pid``'s."""
    before = _cpu_seconds(pid)
    if before is None:
        return None
    for _ in range(calls):
        action()
    after = _cpu_seconds(pid)
    return None if after is None else (after - before) / calls * 1000


def _cpu_seconds(pid: int | None) -> float | None:
    """User and system CPU time of this process, or of ``pid`` (Linux: /proc)."""
    if pid is None:
        return time.process_time()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime, fields 14 and 15 of proc(5), count every thread's ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: One measurement: rows per request, calls, and the request's shape (rows, columns).
Plan = list[tuple[int, int, str]]


@dataclass(frozen=True)
class Latency:
    rows: int
    calls: int
    shape: str
    direct_ms: float
    http_ms: float
    #: Mean CPU time per call of the direct call and of the server; None off Linux.
    direct_cpu_ms: float | None = None
    server_cpu_ms: float | None = None
    #: Median time of POST /predict sent with the standard library's http.client.
    plain_ms: float | None = None

    @property
    def overhead_ms(self) -> float:
        return self.http_ms - self.direct_ms

    @property
    def plain_overhead_ms(self) -> float | None:
        return None if self.plain_ms is None else self.plain_ms - self.direct_ms

    @property
    def cpu_overhead_ms(self) -> float | None:
        if self.direct_cpu_ms is None or self.server_cpu_ms is None:
            return None
        return self.server_cpu_ms - self.direct_cpu_ms


def latencies(
    package: Package, frame: pd.DataFrame, plan: Plan, log: Path
) -> list[Latency]:
    """Median direct and HTTP times for each (rows, calls) of the plan, then the
    CPU time per call of each, measured in a second pass."""
    found = []
    with (
        serving(package, log) as (url, pid),
        httpx.Client(base_url=url, timeout=60) as client,
    ):
        headers = {"content-type": "application/json"}
        for rows, calls, shape in plan:
            part = frame.iloc[:rows]
            argument, body = package.argument(part), package.body(part, shape)
            expected = package.serve.to_json(package.predict(argument))
            answer = client.post("/predict", content=body, headers=headers)
            if answer.status_code != 200 or answer.json()["predictions"] != expected:
                sys.exit(f"POST /predict answered {answer.status_code}: {answer.text}")

            def direct(argument: Any = argument) -> None:
                package.predict(argument)

            def http(body: bytes = body) -> None:
                client.post("/predict", content=body, headers=headers)

            def plain_http(body: bytes = body) -> None:
                plain.request("POST", "/predict", body, headers)
                plain.getresponse().read()

            # A new connection for each size: the server closes an idle one.
            with keep_alive(url) as plain:
                direct_ms, http_ms, plain_ms = interleaved(
                    [direct, http, plain_http], calls
                )
            found.append(
                Latency(
                    rows,
                    calls,
                    shape,
                    direct_ms,
                    http_ms,
                    cpu_ms(direct, calls, None),
                    cpu_ms(http, calls, pid),
                    plain_ms,
                )
            )
    return found


def interleaved(
    actions: list[Callable[[], object]], calls: int, warmup: int = 3
) -> list[float]:
    """Median milliseconds of each action, called in turn ``calls`` times: on a
    shared machine, load changes within a run, and each action meets the same."""
    for _ in range(warmup):
        for action in actions:
            action()
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(calls):
        for action, taken in zip(actions, times, strict=True):
            started = time.perf_counter()
            action()
            taken.append(time.perf_counter() - started)
    return [statistics.median(taken) * 1000 for taken in times]


@contextmanager
def keep_alive(url: str) -> Iterator[http.client.HTTPConnection]:
    """One standard-library HTTP connection, kept alive, without Nagle's delay."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.connect()
    assert connection.sock is not None
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        yield connection
    finally:
        connection.close()


@dataclass(frozen=True)
class RequestPath:
    """POST /predict with predict() stubbed: the server's CPU and the wall time per
    request, the best of three rounds, sent over one http.client connection."""

    rows: int
    calls: int
    shape: str
    server_cpu_ms: float | None
    wall_ms: float


def request_path(
    package: Package, frame: pd.DataFrame, plan: Plan, log: Path
) -> list[RequestPath]:
    found = []
    with serving(package, log, stub=True) as (url, pid):
        headers = {"content-type": "application/json"}
        for rows, calls, shape in plan:
            body = package.body(frame.iloc[:rows], shape)
            with keep_alive(url) as plain:

                def post(body: bytes = body) -> None:
                    plain.request("POST", "/predict", body, headers)
                    answer = plain.getresponse()
                    answer.read()
                    if answer.status != 200:
                        sys.exit(f"POST /predict (stubbed) answered {answer.status}")

                cpus, walls = [], []
                for _ in range(3):
                    started = time.perf_counter()
                    cpus.append(cpu_ms(post, calls, pid))
                    walls.append((time.perf_counter() - started) / calls * 1000)
            known = [cpu for cpu in cpus if cpu is not None]
            found.append(
                RequestPath(rows, calls, shape, min(known, default=None), min(walls))
            )
    return found


@dataclass(frozen=True)
class InvalidRequest:
    """One invalid request sent to the server while /health is polled."""

    label: str
    body_bytes: int
    status: int
    answer_bytes: int
    seconds: float
    health_ms: list[float]
    #: Growth of the server's peak RSS over its RSS before; None off Linux.
    growth_bytes: int | None

    @property
    def worst_health_ms(self) -> float:
        return max(self.health_ms, default=0.0)


def invalid_bodies(package: Package, size: int = 800_000) -> list[tuple[str, bytes]]:
    """Two ~``size``-byte requests: rows that each break the contract, empty rows."""
    key = "rows" if package.takes_rows else "inputs"
    bodies = []
    if package.takes_rows:
        row = dict(package.serve.EXAMPLE["rows"][0])
        fields = package.serve.Row.model_fields
        required = [f.alias or n for n, f in fields.items() if f.is_required()]
        for name, field in fields.items():
            if getattr(field.annotation, "__name__", "") in ("int", "float"):
                row[field.alias or name] = "x"
        del row[required[-1]]
        bodies.append(("bad rows, within the row limit", _repeat(key, row, size)))
    bodies.append((f"empty {key}", _repeat(key, {}, size)))
    return bodies


def _repeat(key: str, item: Any, size: int) -> bytes:
    text = json.dumps(item, separators=(",", ":"))
    count = (size - 20) // (len(text) + 1)
    return f'{{"{key}":[{",".join([text] * count)}]}}'.encode()


def send_invalid(url: str, pid: int, label: str, body: bytes) -> InvalidRequest:
    """POST one invalid body; poll /health meanwhile; the server's memory growth."""
    before = _reset_peak(pid)
    answer: dict[str, Any] = {}

    def send() -> None:
        started = time.perf_counter()
        with httpx.Client(timeout=120) as client:
            answer["response"] = client.post(
                f"{url}/predict",
                content=body,
                headers={"content-type": "application/json"},
            )
        answer["seconds"] = time.perf_counter() - started

    health = []
    with httpx.Client(base_url=url, timeout=60) as prober:
        prober.get("/health")
        sender = threading.Thread(target=send)
        sender.start()
        while sender.is_alive():
            started = time.perf_counter()
            prober.get("/health")
            health.append((time.perf_counter() - started) * 1000)
            time.sleep(0.005)
        sender.join()
    peak = _status(pid, "VmHWM")
    growth = None if before is None or peak is None else max(0, peak - before)
    response = answer["response"]
    return InvalidRequest(
        label,
        len(body),
        response.status_code,
        len(response.content),
        answer["seconds"],
        health,
        growth,
    )


def _reset_peak(pid: int) -> int | None:
    """Reset the process's peak RSS (Linux); its RSS now, in bytes."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return None
    return _status(pid, "VmRSS")


def _status(pid: int, key: str) -> int | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) * 1024
    return None


def invalid_requests(package: Package, log: Path) -> list[InvalidRequest]:
    with serving(package, log) as (url, pid):
        return [
            send_invalid(url, pid, label, body)
            for label, body in invalid_bodies(package)
        ]


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_bytes: int


def run_measured(command: list[str], env: dict[str, str], log: Path) -> Measured:
    """Run a child to completion; its wall time and its own peak RSS."""
    with log.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{log.read_text()}")
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return Measured(seconds, usage.ru_maxrss * scale)


def summary(runs: list[Measured]) -> Measured:
    return Measured(
        statistics.median(r.seconds for r in runs), max(r.peak_bytes for r in runs)
    )


def same_predictions(package: Package, first: Path, second: Path) -> None:
    compare = importlib.import_module("_replay.compare")
    expected = pd.read_csv(first, usecols=["prediction"])["prediction"].to_numpy()
    actual = pd.read_csv(second, usecols=["prediction"])["prediction"].to_numpy()
    outcome = compare.compare(expected, actual, compare.Tolerance())
    if not outcome.equal:
        sys.exit(
            f"batch and direct outputs differ at {outcome.where}: {outcome.detail}"
        )


def mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


@dataclass(frozen=True)
class Batch:
    """The batch and direct runs on the CSV."""

    rows: int
    chunk_size: int
    batched: Measured
    direct: Measured
    small: Measured
    direct_split: str


def measure_batch(
    package: Package, frame: pd.DataFrame, args: argparse.Namespace, work: Path
) -> Batch:
    """`python -m <pkg>.batch` against a direct predict() on the same CSV."""
    started = time.perf_counter()
    source, small = work / "in.csv", work / "in_small.csv"
    frame.to_csv(source, index=False)
    frame.iloc[: args.rows // 10].to_csv(small, index=False)
    written = time.perf_counter() - started
    print(f"wrote {len(frame):,} rows to {source.name} in {written:.1f} s", flush=True)

    def batch(path: Path, out: Path) -> list[str]:
        return [
            sys.executable, "-m", f"{package.name}.batch", str(path), str(out),
            "--chunk-size", str(args.chunk_size),
        ]  # fmt: skip

    direct_command = [
        sys.executable, "-c",
        DIRECT.format(name=package.name, rows=package.takes_rows),
        str(source), str(work / "direct.csv"),
    ]  # fmt: skip
    batch_runs, direct_runs = [], []
    for _ in range(args.runs):
        batch_runs.append(
            run_measured(
                batch(source, work / "batch.csv"), package.env, work / "batch.log"
            )
        )
        direct_runs.append(
            run_measured(direct_command, package.env, work / "direct.log")
        )
    batched_small = run_measured(
        batch(small, work / "batch_small.csv"), package.env, work / "small.log"
    )
    same_predictions(package, work / "direct.csv", work / "batch.csv")
    return Batch(
        len(frame),
        args.chunk_size,
        summary(batch_runs),
        summary(direct_runs),
        batched_small,
        (work / "direct.log").read_text().strip(),
    )


Row = tuple[str, str, str, bool | None]


def batch_report(done: Batch) -> list[Row]:
    batched, direct, small = done.batched, done.direct, done.small
    print(f"batch vs direct on {done.rows:,} rows (chunk size {done.chunk_size:,})")
    print(f"  batch    {batched.seconds:7.2f} s   peak {mib(batched.peak_bytes)}")
    print(
        f"  direct   {direct.seconds:7.2f} s   peak {mib(direct.peak_bytes)}"
        f"   ({done.direct_split})"
    )
    print(
        f"  batch on {done.rows // 10:,} rows {small.seconds:.2f} s   "
        f"peak {mib(small.peak_bytes)}"
    )
    print("  outputs: the batch's predictions equal the direct call's")
    ratio = batched.seconds / direct.seconds
    growth = batched.peak_bytes / small.peak_bytes
    return [
        (
            "batch / direct time",
            f"{ratio:.2f}x",
            f"<= {BATCH_RATIO:g}x",
            ratio <= BATCH_RATIO,
        ),
        (
            "batch peak, whole file / tenth",
            f"{growth:.2f}x",
            f"<= {MEMORY_GROWTH:g}x (chunk-bound)",
            growth <= MEMORY_GROWTH,
        ),
        (
            "batch peak / direct peak",
            f"{batched.peak_bytes / direct.peak_bytes:.2f}x",
            "-",
            None,
        ),
    ]


def invalid_report(sent: list[InvalidRequest]) -> list[Row]:
    print("800 KB invalid requests (GET /health polled meanwhile)")
    rows: list[Row] = []
    for request in sent:
        growth = "n/a" if request.growth_bytes is None else mib(request.growth_bytes)
        print(
            f"  {request.label}: {request.body_bytes:,} bytes -> {request.status}, "
            f"{request.answer_bytes:,} bytes in {request.seconds * 1000:.0f} ms; "
            f"/health worst {request.worst_health_ms:.1f} ms over "
            f"{len(request.health_ms)} polls; server peak growth {growth}"
        )
        rows += [
            (
                f"422 size, {request.label}",
                f"{request.answer_bytes / 1000:.1f} KB",
                f"<= {ERROR_BODY_BYTES // 1000} KB",
                request.answer_bytes <= ERROR_BODY_BYTES and request.status == 422,
            ),
            (
                "  /health worst latency meanwhile",
                f"{request.worst_health_ms:.1f} ms",
                f"< {HEALTH_MS:g} ms",
                request.worst_health_ms < HEALTH_MS,
            ),
            (
                "  server peak memory growth",
                growth,
                f"<= {mib(SERVER_GROWTH_BYTES)}",
                (
                    None
                    if request.growth_bytes is None
                    else request.growth_bytes <= SERVER_GROWTH_BYTES
                ),
            ),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--package", type=Path, help="a generated package folder")
    parser.add_argument("--rows", type=int, default=1_000_000, help="CSV rows")
    parser.add_argument("--single", type=int, default=200, help="single-row calls")
    parser.add_argument("--thousand", type=int, default=20, help="1,000-row calls")
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=1, help="batch and direct runs")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nb2prod-serving-") as temporary:
        work = Path(temporary)
        root = (args.package or convert_sample(work)).resolve()
        package = load_package(root)
        recorded = package.recorded_inputs()
        frame = repeated(recorded, args.rows)
        print(
            f"package {package.name} ({root}); {len(recorded)} recorded rows; "
            f"python {sys.version.split()[0]}, {os.cpu_count()} cpus",
            flush=True,
        )
        plan: Plan = [(1, args.single, "rows"), (1000, args.thousand, "rows")]
        if package.takes_rows:
            plan.append((1000, args.thousand, "columns"))
        timed = latencies(package, frame, plan, work / "server.log")
        # /proc counts CPU in ticks (10 ms): enough calls to resolve 0.05 ms.
        many: Plan = [(rows, max(calls, 200), shape) for rows, calls, shape in plan]
        stubbed = request_path(package, frame, many, work / "stubbed.log")
        sent = invalid_requests(package, work / "invalid.log")
        batched = None if args.no_batch else measure_batch(package, frame, args, work)

    single, thousand = timed[:2]
    print()
    print("predict() direct vs POST /predict (medians)")
    for latency in timed:
        print(
            f"  {latency.rows:>5} {latency.shape:<7} x {latency.calls:<4} direct "
            f"{latency.direct_ms:8.2f} ms   http {latency.http_ms:8.2f} ms   "
            f"overhead {latency.overhead_ms:7.2f} ms"
        )
        if latency.plain_ms is not None:
            print(
                f"  {'':>5}   http.client instead of httpx:       "
                f"http {latency.plain_ms:8.2f} ms   "
                f"overhead {latency.plain_overhead_ms:7.2f} ms"
            )
        if latency.cpu_overhead_ms is not None:
            print(
                f"  {'':>5}   CPU per call:  direct {latency.direct_cpu_ms:8.2f} ms   "
                f"server {latency.server_cpu_ms:8.2f} ms   "
                f"overhead {latency.cpu_overhead_ms:7.2f} ms"
            )
    print("the request path alone: predict() stubbed, http.client (best of 3 rounds)")
    for path in stubbed:
        cpu = "n/a" if path.server_cpu_ms is None else f"{path.server_cpu_ms:.2f} ms"
        print(
            f"  {path.rows:>5} {path.shape:<7} x {path.calls:<4} server CPU {cpu:>8} per request"
            f"   wall {path.wall_ms:6.2f} ms"
        )
    rows: list[Row] = [
        (
            "HTTP overhead, 1 row (median)",
            f"{single.overhead_ms:.2f} ms",
            f"<= {HTTP_OVERHEAD_MS:g} ms",
            single.overhead_ms <= HTTP_OVERHEAD_MS,
        ),
        (
            "  the same, client http.client",
            f"{single.plain_overhead_ms:.2f} ms",
            f"<= {HTTP_OVERHEAD_MS:g} ms",
            (single.plain_overhead_ms or 0) <= HTTP_OVERHEAD_MS,
        ),
        (
            "HTTP overhead, 1,000 rows (median)",
            f"{thousand.overhead_ms:.2f} ms",
            "-",
            None,
        ),
        (
            "  the same, over the direct call",
            f"{thousand.overhead_ms / thousand.direct_ms:.0%}",
            f"<= {HTTP_OVERHEAD_RATIO:.0%}",
            thousand.overhead_ms <= HTTP_OVERHEAD_RATIO * thousand.direct_ms,
        ),
        (
            "  the same, client http.client",
            f"{(thousand.plain_overhead_ms or 0) / thousand.direct_ms:.0%}",
            f"<= {HTTP_OVERHEAD_RATIO:.0%}",
            (thousand.plain_overhead_ms or 0)
            <= HTTP_OVERHEAD_RATIO * thousand.direct_ms,
        ),
    ]
    for latency in timed[2:]:
        rows.append(
            (
                f"HTTP overhead, 1,000 {latency.shape}, over direct",
                f"{latency.overhead_ms / latency.direct_ms:.0%}",
                f"<= {HTTP_OVERHEAD_RATIO:.0%}",
                latency.overhead_ms <= HTTP_OVERHEAD_RATIO * latency.direct_ms,
            )
        )
    for latency in timed:
        if latency.cpu_overhead_ms is not None:
            rows.append(
                (
                    f"server CPU over direct, {latency.rows:,} {latency.shape} (mean)",
                    f"{latency.cpu_overhead_ms:.2f} ms",
                    "-",
                    None,
                )
            )
    for path in stubbed:
        if path.server_cpu_ms is not None:
            rows.append(
                (
                    f"request path alone, {path.rows:,} {path.shape} (server CPU)",
                    f"{path.server_cpu_ms:.2f} ms",
                    "-",
                    None,
                )
            )
    direct_cpu = {t.rows: t.direct_cpu_ms for t in timed}
    one_row = next((p.server_cpu_ms for p in stubbed if p.rows == 1), None)
    for path in stubbed:
        predict_cpu = direct_cpu.get(path.rows)
        if path.rows > 1 and path.server_cpu_ms is not None and predict_cpu:
            rows.append(
                (
                    f"  over predict()'s CPU, {path.rows:,} {path.shape}",
                    f"{path.server_cpu_ms / predict_cpu:.0%}",
                    f"<= {HTTP_OVERHEAD_RATIO:.0%}",
                    path.server_cpu_ms <= HTTP_OVERHEAD_RATIO * predict_cpu,
                )
            )
        if path.rows > 1 and path.server_cpu_ms is not None and one_row is not None:
            # What a row adds to a request, whatever the model: the cost that a
            # ratio to a fast predict() magnifies.
            per_row_us = (path.server_cpu_ms - one_row) / (path.rows - 1) * 1000
            rows.append(
                (
                    f"  per row beyond the first, {path.shape}",
                    f"{per_row_us:.2f} us",
                    "-",
                    None,
                )
            )
    rows += invalid_report(sent)
    if batched is not None:
        rows += batch_report(batched)
    print()
    print(f"{'figure':<44} {'measured':>10}   {'target':<26} met")
    for label, measured, target, met in rows:
        verdict = "-" if met is None else ("yes" if met else "NO")
        print(f"{label:<44} {measured:>10}   {target:<26} {verdict}")


if __name__ == "__main__":
    main()
