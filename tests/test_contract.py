"""The data contract learned from all the data, served over HTTP and in batch.

Held-in notebooks (tests/contract_notebooks.py) are converted with execution once;
their generated packages are then exercised for real: the served app through
FastAPI's TestClient, `python -m <pkg>.batch` as a process on real files.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import contract_notebooks
import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from fastapi.testclient import TestClient
from test_spark import spark_missing

pytestmark = pytest.mark.slow

BUILDERS = {
    "lead_scoring": contract_notebooks.leads,
    "ticket_router": contract_notebooks.tickets,
    "sensor_model": contract_notebooks.sensors,
    "matrix_model": contract_notebooks.matrix,
    "ticket_series": contract_notebooks.ticket_series,
}

#: The notebooks whose predict() takes a frame: their requests may be column-wise too.
FRAMES = ("lead_scoring", "matrix_model")


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every held-in notebook converted with execution, into one folder, and proven
    where the package runs: in its clean environment, over HTTP and in batch."""
    folder = tmp_path_factory.mktemp("contract")
    out = folder / "packages"
    for name, build in BUILDERS.items():
        report = folder / f"{name}.json"
        result = run_cli(
            "convert", build(folder / "notebooks"), "--out", out, "--json", report,
            "--isolation", "venv", "--interfaces", "http,batch",
        )  # fmt: skip
        assert result.exit_code == 0, result.stdout + result.stderr
        proof = json.loads(report.read_text("utf-8"))
        assert proof["ok"] and proof["environment"] == "in a clean environment"
        statuses = {i["interface"]: i["status"] for i in proof["interfaces"]}
        columns = ("HTTP columns",) if name in FRAMES else ()
        assert statuses == dict.fromkeys(
            ("HTTP", *columns, "batch CSV", "batch Parquet"), "equivalent"
        ), (name, proof["interfaces"])
    return out


def _forget(name: str) -> None:
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


@pytest.fixture(scope="module")
def modules(converted: Path) -> Iterator[dict[str, tuple[ModuleType, ModuleType]]]:
    """Each package's serve and predict modules, imported in this process."""
    found = {}
    for name in BUILDERS:
        _forget(name)
        sys.path.insert(0, str(converted / name / "src"))
        try:
            found[name] = (
                importlib.import_module(f"{name}.serve"),
                importlib.import_module(f"{name}.predict"),
            )
        finally:
            sys.path.remove(str(converted / name / "src"))
    yield found
    for name in BUILDERS:
        _forget(name)


def post(serve: ModuleType, body: dict[str, Any]) -> tuple[int, Any]:
    with TestClient(serve.app) as client:
        response = client.post("/predict", json=body)
    return response.status_code, response.json()


def contract_of(converted: Path, name: str) -> dict[str, Any]:
    lock = json.loads((converted / name / "nb2prod.lock").read_text("utf-8"))
    contract: dict[str, Any] = lock["contract"]
    return contract


def test_the_contract_requires_only_the_columns_predict_reads(
    converted: Path, modules: dict[str, tuple[ModuleType, ModuleType]]
) -> None:
    columns = {
        c["name"]: c for c in contract_of(converted, "lead_scoring")["input"]["columns"]
    }
    read = {name for name, column in columns.items() if column.get("read")}
    assert read == {"visits", "spend", "region"}
    # nulls only after row 100 (the rows a case keeps) still make the column nullable
    assert columns["spend"]["nullable"] and columns["region"]["nullable"]
    assert columns["region"]["categories"] == ["east", "north", "south"]
    serve, _ = modules["lead_scoring"]
    row = {"visits": 3, "spend": 10.0, "region": "north"}  # no id, no label
    status, answer = post(serve, {"rows": [row]})
    assert status == 200, answer
    status, answer = post(serve, {"rows": [{"visits": 3, "region": "north"}]})
    assert status == 422
    assert answer["detail"][0]["loc"] == ["body", "rows", 0, "spend"]


def test_a_request_null_in_every_row_is_the_notebooks_missing_value(
    modules: dict[str, tuple[ModuleType, ModuleType]],
) -> None:
    serve, module = modules["lead_scoring"]
    rows = [
        {"visits": 3, "spend": 10.0, "region": None},
        {"visits": 30, "spend": None, "region": None},
    ]
    status, answer = post(serve, {"rows": rows})
    assert status == 200, answer
    # the notebook's frame: region of dtype str, its missing values NaN
    frame = pd.DataFrame(rows).astype({"spend": "float64", "region": "str"})
    expected = module.predict(frame)
    np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-12)


def test_integer_columns_take_whole_floats_and_refuse_fractions(
    modules: dict[str, tuple[ModuleType, ModuleType]],
) -> None:
    serve, _ = modules["lead_scoring"]
    row = {"visits": 5.0, "spend": 1.0, "region": "east"}
    assert post(serve, {"rows": [row]})[0] == 200
    status, answer = post(serve, {"rows": [{**row, "visits": 5.1}]})
    assert status == 422
    assert answer["detail"][0]["type"] == "int_from_float"
    assert answer["detail"][0]["loc"] == ["body", "rows", 0, "visits"]


def test_integer_column_names_are_served(
    modules: dict[str, tuple[ModuleType, ModuleType]],
) -> None:
    serve, module = modules["matrix_model"]
    rows = [{"0": 0.5, "1": -1.0, "2": 0.25}, {"0": -2.0, "1": 0.0, "2": -0.5}]
    status, answer = post(serve, {"rows": rows})
    assert status == 200, answer
    expected = module.predict(pd.DataFrame([[0.5, -1.0, 0.25], [-2.0, 0.0, -0.5]]))
    assert answer["predictions"] == expected.tolist()


def test_a_2d_array_has_a_contract_with_its_width(
    modules: dict[str, tuple[ModuleType, ModuleType]],
) -> None:
    serve, module = modules["sensor_model"]
    # the notebook called predict with integer counts, then with floats
    status, answer = post(serve, {"inputs": [[1, 2, 5.1], [0, 0, 0]]})
    assert status == 200, answer
    expected = module.predict(np.array([[1, 2, 5.1], [0, 0, 0]]))
    np.testing.assert_allclose(answer["predictions"], expected, rtol=1e-12)
    status, answer = post(serve, {"inputs": [[1, 2]]})
    assert status == 422
    assert answer["detail"][0]["type"] == "too_short"
    assert answer["detail"][0]["loc"] == ["body", "inputs", 0]


def batch(
    converted: Path, name: str, *args: str | Path
) -> subprocess.CompletedProcess[str]:
    """`python -m NAME.batch ARGS` in a process, with the package on its path."""
    environment = {**os.environ, "PYTHONPATH": str(converted / name / "src")}
    return subprocess.run(
        [sys.executable, "-m", f"{name}.batch", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        timeout=120,
    )


def test_batch_refuses_a_file_without_saying_which_column_holds_the_texts(
    converted: Path, modules: dict[str, tuple[ModuleType, ModuleType]], tmp_path: Path
) -> None:
    texts = ["refund my money", "the app crashes", "cannot log in"]
    source, target = tmp_path / "tickets.csv", tmp_path / "scored.csv"
    pd.DataFrame({"ticket_id": [7, 8, 9], "text": texts}).to_csv(source, index=False)
    refused = batch(converted, "ticket_router", source, target)
    assert refused.returncode == 2, refused.stderr
    assert "ticket_id, text" in refused.stderr and "--column" in refused.stderr
    assert "Traceback" not in refused.stderr and not target.exists()
    result = batch(converted, "ticket_router", source, target, "--column", "text")
    assert result.returncode == 0, result.stderr
    _, module = modules["ticket_router"]
    scored = pd.read_csv(target)
    assert scored["prediction"].tolist() == module.predict(texts)
    assert scored["ticket_id"].tolist() == [7, 8, 9]


def test_batch_reads_the_column_named_as_the_notebooks_series(
    converted: Path, modules: dict[str, tuple[ModuleType, ModuleType]], tmp_path: Path
) -> None:
    texts = ["refund my money", "the app crashes"]
    source, target = tmp_path / "tickets.csv", tmp_path / "scored.csv"
    pd.DataFrame({"ticket_id": [7, 8], "text": texts}).to_csv(source, index=False)
    result = batch(converted, "ticket_series", source, target)
    assert result.returncode == 0, result.stderr
    _, module = modules["ticket_series"]
    expected = module.predict(pd.Series(texts, name="text")).tolist()
    assert pd.read_csv(target)["prediction"].tolist() == expected


def test_batch_maps_the_columns_of_a_2d_array_input(
    converted: Path, modules: dict[str, tuple[ModuleType, ModuleType]], tmp_path: Path
) -> None:
    values = np.array([[1.0, 2.0, 3.0], [4.0, 0.5, 6.0]])
    frame = pd.DataFrame({"id": [1, 2], "a": values[:, 0], "b": values[:, 1]})
    frame["c"] = values[:, 2]
    source, target = tmp_path / "readings.csv", tmp_path / "scored.csv"
    frame.to_csv(source, index=False)
    refused = batch(converted, "sensor_model", source, target)
    assert refused.returncode == 2, refused.stderr
    assert "id, a, b, c" in refused.stderr and "--column" in refused.stderr
    assert "Traceback" not in refused.stderr
    columns = ["--column", "a", "--column", "b", "--column", "c"]
    result = batch(converted, "sensor_model", source, target, *columns)
    assert result.returncode == 0, result.stderr
    _, module = modules["sensor_model"]
    scored = pd.read_csv(target)
    np.testing.assert_allclose(scored["prediction"], module.predict(values), rtol=1e-12)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_batch_finds_the_frames_columns_by_name(
    converted: Path,
    modules: dict[str, tuple[ModuleType, ModuleType]],
    tmp_path: Path,
    suffix: str,
) -> None:
    # another order, an extra column first, no id nor label, region null everywhere
    frame = pd.DataFrame(
        {
            "note": ["x", "y", "z"],
            "region": [None, None, None],
            "spend": [10.5, None, 300.0],
            "visits": [3, 30, 12],
        }
    )
    source, target = tmp_path / f"leads{suffix}", tmp_path / f"scored{suffix}"
    if suffix == ".csv":
        frame.to_csv(source, index=False)
    else:
        frame.to_parquet(source, index=False)
    result = batch(converted, "lead_scoring", source, target, "--chunk-size", "2")
    assert result.returncode == 0, result.stderr
    scored = pd.read_csv(target) if suffix == ".csv" else pd.read_parquet(target)
    assert list(scored.columns) == [*frame.columns, "prediction"]
    _, module = modules["lead_scoring"]
    notebook_frame = frame[["visits", "spend", "region"]].astype(
        {"visits": "int64", "spend": "float64", "region": "str"}
    )
    expected = module.predict(notebook_frame)
    np.testing.assert_allclose(scored["prediction"], expected, rtol=1e-12)


def test_batch_never_scores_rows_that_break_the_contract(
    converted: Path, modules: dict[str, tuple[ModuleType, ModuleType]], tmp_path: Path
) -> None:
    source, target = tmp_path / "leads.csv", tmp_path / "scored.csv"
    source.write_text(
        "visits,spend,region\n3,10.5,north\n2.5,1,east\nten,4,south\n,4,south\n"
        "8,2,north\n",
        "utf-8",
    )
    failed = batch(converted, "lead_scoring", source, target)
    assert failed.returncode == 1, failed.stderr
    assert "3 of 5 rows break predict()'s data contract" in failed.stderr
    assert "visits: 1 row(s) not a whole number (row 2)" in failed.stderr
    assert "visits: 1 row(s) not a number (row 3)" in failed.stderr
    assert "visits: 1 row(s) missing (row 4)" in failed.stderr
    assert "--rejects" in failed.stderr and not target.exists()
    rejects = tmp_path / "rejects.csv"
    result = batch(converted, "lead_scoring", source, target, "--rejects", rejects)
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(rejects)["reason"].tolist() == [
        "visits: not a whole number",
        "visits: not a number",
        "visits: missing",
    ]
    scored = pd.read_csv(target)
    _, module = modules["lead_scoring"]
    good = pd.DataFrame({"visits": [3, 8], "spend": [10.5, 2.0]})
    good["region"] = pd.Series(["north", "north"], dtype="str")
    expected = module.predict(good)
    np.testing.assert_allclose(scored["prediction"], expected, rtol=1e-12)


def test_batch_reads_integer_column_names(
    converted: Path, modules: dict[str, tuple[ModuleType, ModuleType]], tmp_path: Path
) -> None:
    values = pd.DataFrame([[0.5, -1.0, 0.25], [-2.0, 0.0, -0.5]])
    source, target = tmp_path / "matrix.csv", tmp_path / "scored.csv"
    values.to_csv(source, index=False)  # a header of 0,1,2
    result = batch(converted, "matrix_model", source, target)
    assert result.returncode == 0, result.stderr
    _, module = modules["matrix_model"]
    assert pd.read_csv(target)["prediction"].tolist() == module.predict(values).tolist()


@pytest.fixture(scope="module")
def spark_commands(
    converted: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, int, str]]:
    """`python -m lead_scoring.spark` on one Parquet file, without and with --rejects,
    side by side (each starts its own JVM): a missing visits in row 3, columns in
    another order, an extra one first, no id nor label."""
    missing = spark_missing()
    if missing is not None:
        pytest.fail(missing)
    folder = tmp_path_factory.mktemp("contract_spark")
    frame = pd.DataFrame(
        {
            "note": ["x", "y", "z", "w"],
            "region": ["north", None, "east", "south"],
            "spend": [10.5, None, 1.0, 4.0],
            "visits": pd.array([3, 30, None, 8], dtype="Int64"),
        }
    )
    frame.to_parquet(folder / "leads.parquet", index=False)
    environment = {k: v for k, v in os.environ.items() if k != "PYSPARK_PYTHON"}
    environment["PYTHONPATH"] = str(converted / "lead_scoring" / "src")
    runs = {"fail": [], "rejects": ["--rejects", "rejects"]}
    started = {}
    for name, extra in runs.items():
        command = [
            sys.executable, "-m", "lead_scoring.spark", "../leads.parquet", "out",
            "--master", "local[1]", *extra,
        ]  # fmt: skip
        (folder / name).mkdir()
        started[name] = subprocess.Popen(
            command,
            cwd=folder / name,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    done = {}
    for name, process in started.items():
        try:
            output, _ = process.communicate(timeout=240)
        finally:
            process.kill()
        done[name] = (folder / name, process.returncode, output)
    return done


def test_spark_reports_rows_that_break_the_contract(
    spark_commands: dict[str, tuple[Path, int, str]],
) -> None:
    folder, returncode, output = spark_commands["fail"]
    assert returncode == 1, output
    assert "1 row(s) break predict()'s data contract" in output
    assert "visits: 1 row(s) missing" in output
    assert "'note': 'z'" in output and "--rejects" in output
    assert not (folder / "out").exists()


def test_spark_maps_columns_by_name_and_writes_rejects(
    spark_commands: dict[str, tuple[Path, int, str]],
    modules: dict[str, tuple[ModuleType, ModuleType]],
) -> None:
    folder, returncode, output = spark_commands["rejects"]
    assert returncode == 0, output
    rejected = pd.read_parquet(folder / "rejects")
    assert rejected["note"].tolist() == ["z"]
    assert rejected["reason"].tolist() == ["visits: missing"]
    scored = pd.read_parquet(folder / "out").sort_values("note")
    _, module = modules["lead_scoring"]
    frame = pd.DataFrame(
        {"visits": [8, 3, 30], "spend": [4.0, 10.5, None]}  # rows w, x, y
    )
    frame["region"] = pd.Series(["south", "north", None], dtype="str")
    expected = module.predict(frame)
    np.testing.assert_allclose(scored["prediction"], expected, rtol=1e-12)
