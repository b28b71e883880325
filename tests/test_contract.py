"""The data contract learned from all the data, served over HTTP and in batch.

Held-in notebooks (tests/contract_notebooks.py) are converted with execution once;
their generated packages are then exercised for real: the served app through
FastAPI's TestClient, `python -m <pkg>.batch` as a process on real files.
"""

from __future__ import annotations

import importlib
import json
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

pytestmark = pytest.mark.slow

BUILDERS = {
    "lead_scoring": contract_notebooks.leads,
    "ticket_router": contract_notebooks.tickets,
    "sensor_model": contract_notebooks.sensors,
    "matrix_model": contract_notebooks.matrix,
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every held-in notebook converted with execution, into one folder."""
    folder = tmp_path_factory.mktemp("contract")
    out = folder / "packages"
    for build in BUILDERS.values():
        result = run_cli("convert", build(folder / "notebooks"), "--out", out)
        assert result.exit_code == 0, result.stdout + result.stderr
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
