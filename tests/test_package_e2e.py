"""End to end, with real processes: every sample converted, installed and exercised.

The three sample notebooks are converted (with execution), their packages installed
non-editable into one fresh virtual environment, and then, with that environment's
Python and from outside the packages' sources: their own tests pass, mypy is clean,
`<dist>-serve` answers the recorded calls over HTTP as the notebook did and refuses
bad requests by naming the problem, and `python -m <pkg>.batch` scores a CSV as a
direct call of predict() does.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import math
import re
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pandas as pd
import pytest
from conftest import SAMPLES, import_replay, run_cli
from pydantic import TypeAdapter
from servers import ServerFailed, free_port, served

from nb2prod.standalone.interface_http import columns_body

pytestmark = pytest.mark.slow

NAMES = sorted(notebook.stem for notebook in SAMPLES.glob("*.ipynb"))
#: Seconds a server gets to answer GET /health after it starts.
STARTUP_SECONDS = 20.0
#: Rows of the CSV the batch tests score.
BATCH_ROWS = 5_000


def run(
    *args: str | Path, cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


@dataclass(frozen=True)
class Env:
    """The fresh virtual environment the packages are installed in."""

    root: Path
    work: Path  # a cwd outside every package's src folder

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def script(self, name: str) -> Path:
        return self.root / "bin" / name


@dataclass(frozen=True)
class Package:
    """One generated package, with the helpers its own tests use."""

    name: str
    root: Path
    dist: str
    serve: ModuleType  # the generated serve module: EXAMPLE, Row, to_json
    cases: ModuleType  # tests/_replay/casefile.py
    compare: ModuleType  # tests/_replay/compare.py

    @property
    def takes_rows(self) -> bool:
        """True when predict() takes a DataFrame (the request carries "rows")."""
        return "rows" in self.serve.EXAMPLE

    def case_files(self) -> list[Path]:
        return sorted((self.root / "tests" / "cases" / "predict").glob("*/case.json"))

    def recorded(self) -> list[tuple[Any, Any]]:
        """(first argument, result) of every recorded predict() call."""
        calls = []
        for case_file in self.case_files():
            case = json.loads(case_file.read_text("utf-8"))
            folder = case_file.parent
            calls.append(
                (
                    self.cases.load(case["args"][0], folder),
                    self.cases.load(case["result"], folder),
                )
            )
        return calls

    def body(self, data: Any) -> dict[str, Any]:
        """The request body for predict(data), built as tests/test_serve.py does."""
        if self.takes_rows:
            return {"rows": self.serve.to_json(data.to_dict("records"))}
        return {"inputs": self.serve.to_json(data)}

    def assert_equal(self, expected: Any, actual: Any) -> None:
        outcome = self.compare.compare(expected, actual, self.compare.Tolerance())
        assert outcome.equal, f"{outcome.where}: {outcome.detail}"


def forget(name: str) -> None:
    """Drop module ``name`` and its submodules from sys.modules."""
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def import_serve(name: str, src: Path) -> ModuleType:
    forget(name)  # this run's package, not one another test imported
    sys.path.insert(0, str(src))
    try:
        return importlib.import_module(f"{name}.serve")
    finally:
        sys.path.remove(str(src))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All samples converted with execution, into one folder."""
    out = tmp_path_factory.mktemp("e2e_packages")
    for notebook in sorted(SAMPLES.glob("*.ipynb")):
        result = run_cli("convert", notebook, "--out", out)
        assert result.exit_code == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def packages(converted: Path) -> Iterator[dict[str, Package]]:
    """The generated packages' serve modules and test helpers, in this process."""
    found = {}
    for name in NAMES:
        root = converted / name
        project = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
        dist = project["project"]["name"]
        assert project["project"]["scripts"][f"{dist}-serve"] == f"{name}.serve:main"
        replay = import_replay(f"_e2e_{name}_replay", root)
        found[name] = Package(
            name=name,
            root=root,
            dist=dist,
            serve=import_serve(name, root / "src"),
            cases=replay[0],
            compare=replay[1],
        )
    yield found
    for name in NAMES:
        for module in (name, f"_e2e_{name}_replay"):
            forget(module)


@pytest.fixture(scope="module")
def creating_venv(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """`python -m venv` (with pip), started first so that it overlaps the conversions."""
    root = tmp_path_factory.mktemp("e2e_venv") / "venv"
    process = subprocess.Popen(
        [sys.executable, "-m", "venv", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield root, process
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def env(
    creating_venv: tuple[Path, subprocess.Popen[str]],
    converted: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Env:
    """One fresh venv with the three packages installed from their folders."""
    root, creation = creating_venv
    stdout, stderr = creation.communicate(timeout=300)
    assert creation.returncode == 0, f"{stdout}\n{stderr}"
    assert (root / "bin" / "pip").is_file()
    work = tmp_path_factory.mktemp("e2e_work")
    environment = Env(root=root, work=work)
    purelib = run(
        environment.python,
        "-c",
        "import sysconfig; print(sysconfig.get_path('purelib'))",
        cwd=work,
    )
    assert purelib.returncode == 0, output(purelib)
    # The dependencies (and hatchling, to build without isolation) come from the test
    # environment: no network. The .pth line comes after the venv's own site-packages,
    # so the installed packages win.
    deps = Path(sysconfig.get_path("purelib"))
    (Path(purelib.stdout.strip()) / "test_deps.pth").write_text(f"{deps}\n")
    install = run(
        environment.python, "-m", "pip", "install", "--no-deps",
        "--no-build-isolation", "--quiet", "--disable-pip-version-check",
        *(converted / name for name in NAMES), cwd=work,
    )  # fmt: skip
    assert install.returncode == 0, output(install)
    return environment


def test_packages_are_imported_from_the_venv(env: Env) -> None:
    probe = "; ".join(
        f"import {name}, {name}.serve; print({name}.__file__)" for name in NAMES
    )
    result = run(env.python, "-c", probe, cwd=env.work)
    assert result.returncode == 0, output(result)
    files = [Path(line) for line in result.stdout.split()]
    assert len(files) == len(NAMES)
    for name, file in zip(NAMES, files, strict=True):
        assert file.is_relative_to(env.root), file
        assert file.parent.name == name
        assert file.parent.parent.name == "site-packages", file


def side_by_side(
    commands: list[tuple[list[str | Path], Path]], logs: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Run (command, cwd) pairs at the same time; their output goes through files."""
    started = []
    for i, (command, cwd) in enumerate(commands):
        out, err = logs / f"{i}.out", logs / f"{i}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(
                [str(a) for a in command], cwd=cwd, stdout=stdout, stderr=stderr
            )
        started.append((command, process, out, err))
    finished = []
    for command, process, out, err in started:
        try:
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        finished.append(
            subprocess.CompletedProcess(
                command, process.returncode, out.read_text(), err.read_text()
            )
        )
    return finished


@dataclass(frozen=True)
class Checks:
    tests: subprocess.CompletedProcess[str]
    types: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def checks(
    env: Env, converted: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Checks]:
    """Each package's own tests and mypy, with the venv's Python, side by side."""
    done = {}
    # One mypy cache for the three runs (one after the other): the libraries are
    # analysed once.
    cache = tmp_path_factory.mktemp("mypy_cache")
    for name in NAMES:
        root = converted / name
        tests: list[str | Path] = [
            env.python, "-m", "pytest", root / "tests", "-q", "-p", "no:cacheprovider"
        ]  # fmt: skip
        types: list[str | Path] = [
            env.python, "-m", "mypy", "--cache-dir", cache, root / "src"
        ]  # fmt: skip
        logs = tmp_path_factory.mktemp(f"checks_{name}")
        ran = side_by_side([(tests, env.work), (types, root)], logs)
        done[name] = Checks(tests=ran[0], types=ran[1])
    return done


@pytest.mark.parametrize("name", NAMES)
def test_generated_tests_pass(checks: dict[str, Checks], name: str) -> None:
    result = checks[name].tests
    assert result.returncode == 0, output(result)
    assert re.search(r"\d+ passed", result.stdout), result.stdout
    assert "failed" not in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_generated_package_type_checks(checks: dict[str, Checks], name: str) -> None:
    result = checks[name].types
    assert result.returncode == 0, output(result)
    assert "Success: no issues found" in result.stdout


# Serving


@dataclass(frozen=True)
class Server:
    url: str
    package: Package
    client: httpx.Client


@contextmanager
def serving(
    env: Env, package: Package, *options: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`<dist>-serve` running on a free loopback port, stopped on exit."""
    port = free_port()
    command = [env.script(f"{package.dist}-serve"), "--port", str(port), *options]
    log = env.work / f"{package.name}-{port}.log"
    try:
        with served(command, port, log, seconds=STARTUP_SECONDS, cwd=env.work) as up:
            yield up
    except ServerFailed as failure:
        pytest.fail(str(failure))


@pytest.fixture(scope="module", params=NAMES)
def server(
    request: pytest.FixtureRequest, env: Env, packages: dict[str, Package]
) -> Iterator[Server]:
    """One sample's server with the default limits, and a client for it."""
    package = packages[request.param]
    with (
        serving(env, package) as (url, _),
        httpx.Client(base_url=url, timeout=30.0) as client,
    ):
        yield Server(url, package, client)


def test_health(server: Server) -> None:
    response = server.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_recorded_predict_calls_over_http(server: Server) -> None:
    package = server.package
    recorded = package.recorded()
    assert recorded, "no recorded predict() calls"
    for data, result in recorded:
        bodies = [package.body(data)]
        if package.takes_rows:
            bodies.append(columns_body(data))  # the same call, as the proof sends it
        for body in bodies:
            response = server.client.post("/predict", json=body)
            assert response.status_code == 200, response.text
            package.assert_equal(
                package.serve.to_json(result), response.json()["predictions"]
            )


def test_a_missing_field_is_422_naming_it(server: Server) -> None:
    package = server.package
    if package.takes_rows:
        required = [
            name
            for name, field in package.serve.Row.model_fields.items()
            if field.is_required()
        ]
        assert required, "the Row model has no required column"
        missing = required[0]
        row = dict(package.serve.EXAMPLE["rows"][0])
        del row[missing]
        body: dict[str, Any] = {"rows": [row]}
    else:
        missing, body = "inputs", {}
    response = server.client.post("/predict", json=body)
    assert response.status_code == 422, response.text
    assert missing in response.text


def numeric_fields(row_model: Any) -> list[str]:
    """Required fields of the Row model typed int or float (possibly optional)."""
    return [
        name
        for name, field in row_model.model_fields.items()
        if field.is_required()
        and re.fullmatch(r"(int|float)( \| None)?", _annotation(field.annotation))
    ]


def _annotation(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


def test_a_wrong_type_is_422_naming_the_field(server: Server) -> None:
    package = server.package
    if package.takes_rows:
        fields = numeric_fields(package.serve.Row)
        assert fields, "the Row model has no int or float column"
        wrong = fields[0]
        row = dict(package.serve.EXAMPLE["rows"][0])
        row[wrong] = "not a number"
        body: dict[str, Any] = {"rows": [row]}
    else:
        wrong = "inputs"
        body = {"inputs": [*package.serve.EXAMPLE["inputs"][:1], 123]}
    response = server.client.post("/predict", json=body)
    assert response.status_code == 422, response.text
    assert wrong in response.text


def test_malformed_json_is_422(server: Server) -> None:
    response = server.client.post(
        "/predict",
        content=b'{"rows": [{not json',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "json" in response.text.lower()


def test_a_body_over_the_default_limit_is_413(server: Server) -> None:
    response = server.client.post(
        "/predict",
        content=b" " * 1_000_001,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert "1000000 bytes" in response.text


def test_metadata(server: Server, env: Env) -> None:
    package = server.package
    response = server.client.get("/metadata")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["package"] == package.name
    assert metadata["notebook"] == f"{package.name}.ipynb"
    assert re.fullmatch(r"[0-9a-f]{64}", metadata["notebook_hash"])
    # The hashes are those of the artifact files the venv holds.
    folder = env_package_dir(env, package.name) / "artifacts"
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))["artifacts"]
    assert metadata["artifacts"], "no artifacts listed"
    assert set(metadata["artifacts"]) == set(manifest)
    for name, sha256 in metadata["artifacts"].items():
        assert re.fullmatch(r"[0-9a-f]{64}", sha256)
        digest = hashlib.sha256((folder / manifest[name]["file"]).read_bytes())
        assert sha256 == digest.hexdigest(), name
    libraries = metadata["libraries"]
    assert {"numpy", "pandas"} <= set(libraries)
    assert all(isinstance(v, str) and v for v in libraries.values()), libraries


def env_package_dir(env: Env, name: str) -> Path:
    return next(env.root.glob(f"lib/python*/site-packages/{name}"))


def test_docs_and_openapi_example(server: Server) -> None:
    # FastAPI's /docs page loads scripts from a public CDN: off unless asked for.
    assert server.client.get("/docs").status_code == 404
    assert server.client.get("/redoc").status_code == 404
    schema = server.client.get("/openapi.json").json()
    schemas = schema["components"]["schemas"]
    examples = schemas["PredictRequest"]["examples"]
    assert server.package.serve.EXAMPLE in examples
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]
    shapes = body["application/json"]["schema"]
    if not server.package.takes_rows:
        assert shapes == {"$ref": "#/components/schemas/PredictRequest"}
        assert "ColumnsRequest" not in schemas
        return
    assert shapes["oneOf"] == [
        {"$ref": "#/components/schemas/PredictRequest"},
        {"$ref": "#/components/schemas/ColumnsRequest"},
    ]
    columns = schemas["ColumnsRequest"]["properties"]["columns"]["$ref"]
    fields = schemas[columns.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {
        field.alias or name
        for name, field in server.package.serve.Row.model_fields.items()
    }
    assert all(field["type"] == "array" for field in fields.values())


# Hostile requests: each attack performed against the generated server


def invalid_body(package: Package, size: int = 800_000) -> bytes:
    """About ``size`` bytes of rows (or items) that each break the contract."""
    if package.takes_rows:
        row = dict(package.serve.EXAMPLE["rows"][0])
        for name in numeric_fields(package.serve.Row):
            row[package.serve.Row.model_fields[name].alias or name] = "x"
        required = [
            field.alias or name
            for name, field in package.serve.Row.model_fields.items()
            if field.is_required()
        ]
        del row[required[-1]]  # a missing column: FastAPI used to echo the whole row
        item = json.dumps(row, separators=(",", ":"))
        key = "rows"
    else:
        item, key = "{}", "inputs"  # not a text
    count = (size - 20) // (len(item) + 1)
    return f'{{"{key}":[{",".join([item] * count)}]}}'.encode()


def invalid_columns(package: Package, size: int = 800_000) -> bytes:
    """About ``size`` bytes of columns whose every value breaks the contract."""
    fields = package.serve.Row.model_fields
    names = [fields[name].alias or name for name in numeric_fields(package.serve.Row)]
    framing = len('{"columns":{}}') + sum(len(name) + 6 for name in names)
    count = (size - framing) // (4 * len(names))  # "x", per column
    columns = {name: ["x"] * count for name in names}
    return json.dumps({"columns": columns}, separators=(",", ":")).encode()


def test_a_large_invalid_request_is_bounded_and_health_keeps_answering(
    server: Server,
) -> None:
    bodies = [invalid_body(server.package)]
    if server.package.takes_rows:
        bodies.append(invalid_columns(server.package))
    for body in bodies:
        assert 790_000 < len(body) <= 800_000, len(body)
        bounded_while_health_answers(server, body)


def bounded_while_health_answers(server: Server, body: bytes) -> None:
    """An invalid ``body`` gets a 422 of at most 20 problems and 100 KB, and /health
    answers while it is processed."""
    answer: dict[str, httpx.Response] = {}

    def send() -> None:
        answer["response"] = server.client.post(
            "/predict", content=body, headers={"content-type": "application/json"}
        )

    sender = threading.Thread(target=send)
    health: list[float] = []
    with httpx.Client(base_url=server.url, timeout=30.0) as prober:
        prober.get("/health")  # connected before the large request is sent
        sender.start()
        while sender.is_alive():
            started = time.perf_counter()
            assert prober.get("/health").status_code == 200
            health.append(time.perf_counter() - started)
            time.sleep(0.01)
        sender.join()
    response = answer["response"]
    assert response.status_code == 422, response.text[:500]
    assert len(response.content) <= 100_000, len(response.content)
    problems = response.json()["detail"]
    assert 1 <= len(problems) <= 20
    assert all("input" not in problem for problem in problems)
    assert response.json()["error_count"] >= len(problems)
    # The old server stalled /health for the whole request (15 s to over a minute); the
    # 200 ms goal is benchmarks/serving.py's, this bound only allows a loaded CI machine.
    assert health and max(health) < 5.0, health


def churn_client(packages: dict[str, Package]) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(packages["churn_classification"].serve.app)


NUMBERS = [
    ("monthly_charges", "NaN"),
    ("monthly_charges", "Infinity"),
    ("monthly_charges", "-Infinity"),
    ("monthly_charges", "1e400"),
    ("tenure_months", str(2**63)),
    ("tenure_months", str(-(2**63) - 1)),
    ("total_charges", "Infinity"),  # nullable: NaN is missing, infinity is not
]


@pytest.mark.parametrize(("field", "token"), NUMBERS)
def test_a_number_out_of_the_contract_is_422_naming_the_field(
    packages: dict[str, Package], field: str, token: str
) -> None:
    row = {**packages["churn_classification"].serve.EXAMPLE["rows"][0], field: "@"}
    columns = {name: [value, value] for name, value in row.items()}
    columns[field] = [1, "@"]
    bodies = [
        (["body", "rows", 0, field], json.dumps({"rows": [row]})),
        (["body", "columns", field, 1], json.dumps({"columns": columns})),
    ]
    with churn_client(packages) as client:
        for located, body in bodies:
            response = client.post(
                "/predict",
                content=body.replace('"@"', token),
                headers={"content-type": "application/json"},
            )
            assert response.status_code == 422, response.text
            assert response.json()["detail"][0]["loc"] == located


def test_nan_in_a_column_the_notebook_had_missing_values_in_is_missing(
    packages: dict[str, Package],
) -> None:
    row = dict(packages["churn_classification"].serve.EXAMPLE["rows"][0])
    answers = []
    with churn_client(packages) as client:
        for token in ("NaN", "null"):
            body = json.dumps({"rows": [{**row, "total_charges": "@"}]})
            response = client.post(
                "/predict",
                content=body.replace('"@"', token),
                headers={"content-type": "application/json"},
            )
            assert response.status_code == 200, response.text
            answers.append(response.json())
    assert answers[0] == answers[1]


def test_a_failing_predict_is_a_json_500_logged_with_its_request_id(
    packages: dict[str, Package],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    package = packages["churn_classification"]

    def failing(frame: Any) -> Any:
        raise ValueError("secret: /srv/model internals")

    monkeypatch.setattr(package.serve, "predict", failing)
    with churn_client(packages) as client, caplog.at_level("ERROR"):
        response = client.post(
            "/predict", json=package.serve.EXAMPLE, headers={"x-request-id": "abc-1"}
        )
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "request_id": "abc-1"}
    assert response.headers["x-request-id"] == "abc-1"
    assert "secret" not in response.text
    [record] = [r for r in caplog.records if "abc-1" in r.getMessage()]
    assert record.exc_info is not None and "secret" in str(record.exc_info[1])


#: What predict() may return (Python source, evaluated in the server), and the
#: status and predictions of the answer: as the standard library's json wrote them
#: before pydantic-core did. NaN is null; infinity, and what json.dumps had no form
#: for (even what pydantic-core would write: a set, Decimal, UUID), are a 500.
ANSWERS = [
    ("np.array([0.5, np.nan, 1.0])", 200, [0.5, None, 1.0]),
    ("np.float64('nan')", 200, None),
    ("np.array([1, 2], dtype=np.int64)", 200, [1, 2]),
    ("np.array([0.1], dtype=np.float32)", 200, [0.10000000149011612]),
    ("pd.Series([True, False])", 200, [True, False]),
    ("pd.DataFrame({'a': [1.5, np.nan], 0: ['x', None]})", 200,
     [{"a": 1.5, "0": "x"}, {"a": None, "0": None}]),
    ("{1: np.int64(3), None: 'x', 2.5: [np.nan]}", 200,
     {"1": 3, "None": "x", "2.5": [None]}),
    ("pd.Timestamp('2024-01-02 03:04:05.123456', tz='UTC')", 200,
     "2024-01-02T03:04:05.123456+00:00"),
    ("pd.NaT", 200, "NaT"),
    ("(1, 2.5, None, 1e-7, 2**70)", 200, [1, 2.5, None, 1e-7, 2**70]),
    ("'\\u00e9\\u2028\\U0001F600'", 200, "\u00e9\u2028\U0001F600"),
    ("np.array([np.inf])", 500, None),
    ("{'x': [1.0, -np.inf]}", 500, None),
    ("pd.NA", 500, None),
    ("{1, 2}", 500, None),
    ("decimal.Decimal('1.5')", 500, None),
    ("uuid.UUID(int=1)", 500, None),
    ("'\\ud800'", 500, None),
]  # fmt: skip
#: A server of the churn package whose predict() returns ANSWERS[support_calls].
ANSWERING = """\
import decimal, sys, uuid
import numpy as np, pandas as pd, uvicorn
from churn_classification import serve
RESULTS = [{results}]
serve.predict = lambda frame: RESULTS[int(frame["support_calls"].iloc[0])]
uvicorn.run(serve.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


def test_predictions_are_written_as_json_as_before(
    env: Env, packages: dict[str, Package]
) -> None:
    script = ANSWERING.format(results=", ".join(source for source, _, _ in ANSWERS))
    port = free_port()
    command = [env.python, "-c", script, str(port)]
    row = dict(packages["churn_classification"].serve.EXAMPLE["rows"][0])
    found = []
    try:
        with (
            served(
                command,
                port,
                env.work / "answers.log",
                seconds=STARTUP_SECONDS,
                cwd=env.work,
            ),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
        ):
            for index in range(len(ANSWERS)):
                body = {"rows": [{**row, "support_calls": index}]}
                response = client.post("/predict", json=body)
                assert response.headers["content-type"] == "application/json"
                answer = response.json()
                found.append(
                    (response.status_code, answer.get("predictions"))
                    if response.status_code == 200
                    else (response.status_code, None)
                )
    except ServerFailed as failure:
        pytest.fail(str(failure))
    expected = [(status, predictions) for _, status, predictions in ANSWERS]
    assert found == expected


#: A server of the churn package whose predict() answers, per row, whether it ran
#: on the event loop's thread; with "through" as its second argument, a middleware
#: is added to the app.
WHERE = """\
import sys, threading
import uvicorn
from churn_classification import serve

def predict(frame):
    return [threading.current_thread() is threading.main_thread()] * len(frame)

class Through:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-through", b"1")]
            await send(message)

        await self.app(scope, receive, sending)

serve.predict = predict
if sys.argv[2:] == ["through"]:
    serve.app.add_middleware(Through)
uvicorn.run(serve.app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


@contextmanager
def where_server(env: Env, *args: str) -> Iterator[httpx.Client]:
    port = free_port()
    command = [env.python, "-c", WHERE, str(port), *args]
    log = env.work / f"where-{port}.log"
    try:
        with (
            served(command, port, log, seconds=STARTUP_SECONDS, cwd=env.work),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
        ):
            yield client
    except ServerFailed as failure:
        pytest.fail(str(failure))


def test_predict_never_runs_on_the_event_loop(
    env: Env, packages: dict[str, Package]
) -> None:
    """A predict() that blocks, calls asyncio.run() or keeps thread-local state must
    behave for one row as for many: every request is scored in a worker thread."""
    serve = packages["churn_classification"].serve
    row = serve.EXAMPLE["rows"][0]
    with where_server(env) as client:
        for rows in ([row], [row] * 200):
            response = client.post("/predict", json={"rows": rows})
            assert response.status_code == 200, response.text
            assert response.json()["predictions"] == [False] * len(rows)


#: Requests (body, headers) the fast POST /predict and FastAPI's route must answer
#: alike: valid, invalid, malformed, over the body limit (declared and chunked).
def alike_requests(serve: ModuleType) -> list[tuple[Any, dict[str, str]]]:
    row = serve.EXAMPLE["rows"][0]
    json_type = {"content-type": "application/json"}

    def chunked() -> Iterator[bytes]:
        yield b'{"rows": ['
        for _ in range(3):
            yield b" " * 400_000

    return [
        (json.dumps({"rows": [row, row]}).encode(), {**json_type, "x-request-id": "r-1"}),
        (json.dumps({"rows": [{**row, "tenure_months": "x"}]}).encode(), json_type),
        (json.dumps({"rows": [{}] * 30}).encode(), {"x-request-id": "bad id!"}),
        (json.dumps({"rows": []}).encode(), json_type),
        (json.dumps([1]).encode(), json_type),
        (b'{"rows": [{not json', json_type),
        (b" " * 1_000_001, json_type),
        (chunked, json_type),
    ]  # fmt: skip


def test_post_predict_answers_as_fastapis_route_does(
    env: Env, packages: dict[str, Package]
) -> None:
    """Without middleware POST /predict skips FastAPI's routing; once a middleware
    is added, the route answers, through it: the same statuses, bodies and headers."""
    serve = packages["churn_classification"].serve
    answers = []
    for args in ((), ("through",)):
        with where_server(env, *args) as client:
            found = []
            for content, headers in alike_requests(serve):
                body = content() if callable(content) else content
                response = client.post("/predict", content=body, headers=headers)
                request_id = response.headers.get("x-request-id")
                found.append(
                    (
                        response.status_code,
                        response.content,
                        response.headers.get("content-type"),
                        request_id if request_id == "r-1" else len(request_id or ""),
                        response.headers.get("x-through"),
                    )
                )
            answers.append(found)
    fast, routed = answers
    assert [a[-1] for a in fast] == [None] * len(fast)
    assert [a[-1] for a in routed] == ["1"] * len(routed)  # the middleware ran
    assert [a[:-1] for a in fast] == [a[:-1] for a in routed]
    statuses = [a[0] for a in fast]
    assert statuses == [200, 422, 422, 422, 422, 422, 413, 413]
    assert fast[0][3] == "r-1" and fast[2][3] == 32  # a new id for a bad one


def test_a_body_validated_whole_is_answered_as_one_parsed_then_validated(
    packages: dict[str, Package], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bodies up to WHOLE_BODY_BYTES are validated straight from their JSON; an invalid
    one falls back to parsing and validating slices of rows, which names the problems:
    every answer is the one the slices give."""
    serve = packages["churn_classification"].serve
    row = json.dumps(serve.EXAMPLE["rows"][0])

    def with_value(column: str, token: str) -> str:
        return row.replace(f'"{column}": ', f'"{column}": {token}, "_": ', 1)

    bodies = [
        f'{{"rows": [{row}], "extra": 1}}',
        f'{{"rows": [{row}], "rows": [{with_value("tenure_months", "1e400")}]}}',
        f'{{"rows": [{with_value("monthly_charges", "NaN")}]}}',
        f'{{"rows": [{with_value("total_charges", "NaN")}]}}',
        f'{{"rows": [{with_value("tenure_months", str(2**63))}]}}',
        f'{{"rows": [{with_value("tenure_months", "3.0")}, {row}]}}',
        f'{{"rows": [{row}, 1, {{}}]}}',
        f'{{"rows": [{row}]',
        f'{{"rows": [{",".join([row] * 1000)}]}}',
        '{"rows": []}',
    ]
    assert len(bodies[-2]) <= serve.WHOLE_BODY_BYTES  # 1,000 rows, in one pass
    whole = [serve.answer(body.encode(), "id") for body in bodies]
    monkeypatch.setattr(serve, "WHOLE_BODY_BYTES", 0)
    sliced = [serve.answer(body.encode(), "id") for body in bodies]
    assert whole == sliced
    statuses = [status for status, _ in whole]
    assert statuses == [200, 422, 422, 200, 422, 200, 422, 422, 200, 422]
    monkeypatch.setattr(serve, "WHOLE_BODY_BYTES", len(bodies[-2]))
    monkeypatch.setattr(serve, "MAX_ROWS", 999)  # more rows than allowed: refused
    status, answer = serve.answer(bodies[-2].encode(), "id")
    assert status == 422 and b"at most 999 rows per request, not 1000" in answer


def test_columns_validated_whole_are_answered_as_columns_validated_in_slices(
    packages: dict[str, Package], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A column-oriented body up to WHOLE_BODY_BYTES is validated straight from its
    JSON too: every answer, 200 or 422, is the one the slower path gives."""
    serve = packages["churn_classification"].serve
    example = serve.EXAMPLE["rows"][0]
    one = {name: [value] for name, value in example.items()}
    thousand = {name: [value] * 1000 for name, value in example.items()}
    unread = {k: v for k, v in one.items() if k not in ("customer_id", "churned")}
    bodies = [
        {"columns": one, "extra": 1},
        {"columns": {**one, "extra": [1, 2]}},
        {"columns": thousand},
        {"columns": unread},
        {"columns": {**one, "total_charges": [None]}},
        {"columns": {**one, "tenure_months": [3.0]}},
        {"columns": {**one, "tenure_months": [1, 2]}},
        {"columns": {**one, "tenure_months": [3.5], "monthly_charges": ["x"]}},
        {"columns": {**one, "contract": "monthly"}},
        {"columns": {k: v for k, v in one.items() if k != "contract"}},
        {"columns": {name: [] for name in one}},
        {"columns": []},
        {"columns": one, "rows": [example]},
    ]
    encoded = [json.dumps(body).encode() for body in bodies]
    assert len(encoded[2]) <= serve.WHOLE_BODY_BYTES  # 1,000 rows, in one pass
    whole = [serve.answer(body, "id") for body in encoded]
    monkeypatch.setattr(serve, "WHOLE_BODY_BYTES", 0)
    sliced = [serve.answer(body, "id") for body in encoded]
    assert whole == sliced
    statuses = [status for status, _ in whole]
    assert statuses == [200, 200, 200, 200, 200, 200] + [422] * 7
    problems = [json.loads(answer)["detail"] for _, answer in whole[6:]]
    assert [[p["type"] for p in found] for found in problems] == [
        ["columns_length"],
        ["int_from_float", "float_parsing"],
        ["list_type"],
        ["missing"],
        ["too_short"],
        ["dict_type"],
        ["rows_and_columns"],
    ]
    assert problems[1][0]["loc"] == ["body", "columns", "tenure_months", 0]
    assert problems[3][0]["loc"] == ["body", "columns", "contract"]
    # The same rows as rows or as columns: the same answer.
    rows = json.dumps({"rows": [example] * 1000}).encode()
    assert serve.answer(rows, "id") == whole[2]
    monkeypatch.setattr(serve, "MAX_ROWS", 999)  # more rows than allowed: refused
    status, answer = serve.answer(encoded[2], "id")
    assert status == 422 and b"at most 999 rows per request, not 1000" in answer


def test_the_served_frame_is_the_one_every_column_cast_gave(
    packages: dict[str, Package],
) -> None:
    """to_frame casts only the columns pandas did not read as their dtype, from rows
    validated into dicts, not Row objects: the frame is the one Row objects with
    every column cast gave, dtypes and all, nulls and left-out columns included."""
    package = packages["churn_classification"]
    serve = package.serve
    rows = [row for data, _ in package.recorded() for row in package.body(data)["rows"]]
    example = serve.EXAMPLE["rows"][0]
    rows += [{**example, "total_charges": None}, {**example, "churned": 1.0}]
    unread = {k: v for k, v in example.items() if k not in ("customer_id", "churned")}
    rows += [unread, {**unread, "customer_id": "c-1"}]  # optional columns left out
    fields = serve.Row.model_fields
    as_rows = TypeAdapter(list[serve.Row])
    for part in (rows, rows[:1], rows[-2:], rows[-1:], [unread] * 3):
        records = [
            row.model_dump(by_alias=True) for row in as_rows.validate_python(part)
        ]
        names = [field.alias or name for name, field in fields.items()]
        every_column_cast = (
            pd.DataFrame.from_records(records, columns=names)
            .set_axis(serve.COLUMNS, axis=1)
            .astype(serve.DTYPES)
        )
        served = serve.to_frame(serve.ITEM_LIST.validate_python(part))
        pd.testing.assert_frame_equal(served, every_column_cast)
        names = {key for row in part for key in row}
        columns = {name: [row.get(name) for row in part] for name in names}
        status, _ = serve.answer(json.dumps({"columns": columns}).encode(), "id")
        assert status == 200
        sent = serve.parse(json.dumps({"columns": columns}).encode())
        pd.testing.assert_frame_equal(serve.columns_frame(sent), every_column_cast)


#: `<dist>-serve` options of the hardened server, small enough to hit in a test.
HARDENED = {
    "--max-body-bytes": "2000",
    "--max-rows": "5",
    "--limit-concurrency": "3",
    "--timeout-keep-alive": "1",
    "--timeout-headers": "1",
    "--max-header-bytes": "4096",
}


@pytest.fixture(scope="module")
def hardened(env: Env, packages: dict[str, Package]) -> Iterator[Server]:
    """The churn server with every limit set small from its options."""
    package = packages["churn_classification"]
    options = [part for pair in HARDENED.items() for part in pair]
    with (
        serving(env, package, *options) as (url, _),
        httpx.Client(base_url=url, timeout=30.0) as client,
    ):
        yield Server(url, package, client)


def test_the_max_body_bytes_option_is_honoured(hardened: Server) -> None:
    rows = hardened.package.serve.EXAMPLE["rows"]
    small = {"rows": rows[:1]}
    large = {"rows": rows * 10}
    assert len(json.dumps(large)) > 2000 > len(json.dumps(small))
    assert hardened.client.post("/predict", json=small).status_code == 200
    response = hardened.client.post("/predict", json=large)
    assert response.status_code == 413, response.text
    assert "2000 bytes" in response.text


def test_a_chunked_body_over_the_limit_is_413(hardened: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"rows": ['
        for _ in range(6):
            yield b" " * 500

    response = hardened.client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert "2000 bytes" in response.text


def test_the_max_rows_option_is_honoured(hardened: Server) -> None:
    row = hardened.package.serve.EXAMPLE["rows"][0]
    assert hardened.client.post("/predict", json={"rows": [row] * 5}).status_code == 200
    response = hardened.client.post("/predict", json={"rows": [{}] * 6})
    assert response.status_code == 422, response.text
    assert "at most 5 rows per request, not 6" in response.text
    columns = {name: [value] * 5 for name, value in row.items()}
    answer = hardened.client.post("/predict", json={"columns": columns})
    assert answer.status_code == 200, answer.text
    six = {name: [1] * 6 for name in row}  # refused before its values are read
    response = hardened.client.post("/predict", json={"columns": six})
    assert response.status_code == 422, response.text
    assert "at least 1 and at most 5 rows per request, not 6" in response.text


def closed_after(connection: socket.socket, trickle: bytes = b"") -> float:
    """Seconds until the server closes the connection, sending ``trickle`` meanwhile."""
    started = time.monotonic()
    connection.settimeout(0.25)
    while time.monotonic() - started < 10:
        try:
            if connection.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except ConnectionResetError:
            return time.monotonic() - started
        if trickle:
            try:
                connection.sendall(trickle)
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - started
    return math.inf


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def test_slow_headers_and_idle_connections_are_closed(hardened: Server) -> None:
    with connect(hardened.url) as trickling, connect(hardened.url) as idle:
        trickling.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        assert closed_after(trickling, b"x-slow: 1\r\n") < 3  # --timeout-headers 1
        assert closed_after(idle) < 3
    with connect(hardened.url) as keep_alive:
        keep_alive.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        assert b"200 OK" in keep_alive.recv(65536)
        assert closed_after(keep_alive) < 3  # --timeout-keep-alive 1
    with connect(hardened.url) as second:  # the next request's headers are timed too
        second.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        assert b"200 OK" in second.recv(65536)
        second.sendall(b"GET /health HTTP/1.1\r\n")
        assert closed_after(second, b"x-slow: 1\r\n") < 3


def test_connections_past_the_concurrency_limit_get_503(hardened: Server) -> None:
    with connect(hardened.url), connect(hardened.url):
        time.sleep(0.2)  # both accepted: with this request, 3 connections
        response = httpx.get(f"{hardened.url}/health")
    assert response.status_code == 503, response.text
    assert hardened.client.get("/health").status_code == 200


def test_headers_over_max_header_bytes_are_refused(hardened: Server) -> None:
    # Headers still arriving are held up to --max-header-bytes (4096), then refused.
    with connect(hardened.url) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nhost: x\r\nx-big: ")
        for _ in range(6):
            connection.sendall(b"a" * 1000)
            time.sleep(0.05)
        assert connection.recv(65536).startswith(b"HTTP/1.1 400 ")
    assert httpx.get(f"{hardened.url}/health", headers={"x-ok": "a" * 1000}).is_success


def test_a_body_arriving_with_its_headers_is_not_counted_as_headers(
    server: Server,
) -> None:
    """Only a request's line and headers count against --max-header-bytes (16 KB by
    default), also when a large body arrives in the same read as they do."""
    body = json.dumps(server.package.body(server.package.recorded()[0][0])).encode()
    body += b" " * max(0, 100_000 - len(body))  # JSON allows trailing whitespace
    head = f"POST /predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    with connect(server.url) as connection:
        connection.sendall(head.encode() + body)
        assert connection.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_requests_are_logged_one_by_one_unless_no_access_log(
    env: Env, packages: dict[str, Package]
) -> None:
    """uvicorn's access log, on by default, costs about 0.1 ms a request: it can be
    turned off. Its lines reach the log when the server stops (stdout is a file)."""
    package = packages["churn_classification"]
    logs = {}
    for options in ((), ("--no-access-log",)):
        with serving(env, package, *options) as (url, _):
            answer = httpx.post(f"{url}/predict", json=package.serve.EXAMPLE)
            assert answer.status_code == 200, answer.text
        port = url.rpartition(":")[2]
        logs[options] = (env.work / f"{package.name}-{port}.log").read_text("utf-8")
    assert '"POST /predict HTTP/1.1" 200' in logs[()]
    assert "Application startup complete" in logs[("--no-access-log",)]
    assert "/predict" not in logs[("--no-access-log",)]


def test_serve_help_documents_the_limits(
    env: Env, packages: dict[str, Package]
) -> None:
    script = env.script(f"{packages['churn_classification'].dist}-serve")
    result = run(script, "--help", cwd=env.work)
    assert result.returncode == 0, output(result)
    help_text = " ".join(result.stdout.split())
    for option in HARDENED:
        assert option in help_text
    assert "(default: 64)" in help_text  # --limit-concurrency
    assert "--access-log, --no-access-log" in help_text
    refused = run(script, "--max-rows", "0", cwd=env.work)
    assert refused.returncode == 2
    assert "--max-rows: must be positive, not 0" in refused.stderr


# Batch

DIRECT = """\
import json, sys
import pandas as pd
from {name}.predict import predict
from {name}.serve import to_json
frame = pd.read_csv(sys.argv[1])
data = frame if {rows} else frame.iloc[:, 0].tolist()
print(json.dumps(to_json(predict(data))))
"""


def batch_input(package: Package) -> pd.DataFrame:
    """About BATCH_ROWS rows: the recorded predict() inputs, repeated."""
    if package.takes_rows:
        base = pd.concat([data for data, _ in package.recorded()], ignore_index=True)
    else:
        texts = [text for data, _ in package.recorded() for text in data]
        base = pd.DataFrame({"text": texts})
    repeats = math.ceil(BATCH_ROWS / len(base))
    return pd.concat([base] * repeats, ignore_index=True)


def direct_predictions(env: Env, package: Package, path: Path) -> Any:
    script = DIRECT.format(name=package.name, rows=package.takes_rows)
    result = run(env.python, "-c", script, path, cwd=env.work)
    assert result.returncode == 0, output(result)
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", NAMES)
def test_batch_scores_as_predict_does(
    env: Env, packages: dict[str, Package], name: str, tmp_path: Path
) -> None:
    package = packages[name]
    frame = batch_input(package)
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    result = run(env.python, "-m", f"{name}.batch", source, target,
                 "--chunk-size", "1000", cwd=env.work)  # fmt: skip
    assert result.returncode == 0, output(result)
    assert re.search(r"scored 1,000 rows \(\d+%\)", result.stderr), result.stderr
    assert f"scored {len(frame):,} rows into {target}" in result.stderr
    scored = pd.read_csv(target)
    assert len(scored) == len(frame)
    assert list(scored.columns) == [*frame.columns, "prediction"]
    assert scored["prediction"].notna().all()
    package.assert_equal(
        direct_predictions(env, package, source), scored["prediction"].tolist()
    )


def test_batch_reads_texts_as_text(
    env: Env, packages: dict[str, Package], tmp_path: Path
) -> None:
    package = packages["ticket_triage_text"]
    texts = [package.serve.EXAMPLE["inputs"][0], "N/A", "404", "null"]
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"text": texts}).to_csv(source, index=False)
    result = run(env.python, "-m", "ticket_triage_text.batch", source, target,
                 "--chunk-size", "1", cwd=env.work)  # fmt: skip
    assert result.returncode == 0, output(result)
    scored = pd.read_csv(target, keep_default_na=False, dtype=str)
    assert scored["text"].tolist() == texts
    probe = (
        "import json, sys; from ticket_triage_text.predict import predict; "
        "print(json.dumps(predict(json.loads(sys.argv[1]))))"
    )
    direct = run(env.python, "-c", probe, json.dumps(texts), cwd=env.work)
    assert direct.returncode == 0, output(direct)
    assert scored["prediction"].tolist() == json.loads(direct.stdout)
