"""convert and verify with a real kernel: artifacts, recorded calls, replay, failures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES, run_cli

from nb2prod.output.lock import sha256
from notebooks import code, md, write

NOTEBOOKS = sorted(SAMPLES.glob("*.ipynb"))
#: The samples' bytes before any test of this module converted them.
BEFORE = {notebook: notebook.read_bytes() for notebook in NOTEBOOKS}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Every sample converted once with execution: package folder and CLI output."""
    out = tmp_path_factory.mktemp("executed")
    results = {}
    for notebook in NOTEBOOKS:
        result = run_cli(
            "convert", notebook, "--out", out, "--json", out / f"{notebook.stem}.json"
        )
        assert result.exit_code == 0, result.stdout + result.stderr
        results[notebook.stem] = (out / notebook.stem, result.stdout)
    return results


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_convert_proves_equivalence(
    converted: dict[str, tuple[Path, str]], notebook: Path
) -> None:
    package, stdout = converted[notebook.stem]
    assert "equivalent: every recorded call matches" in stdout
    report = json.loads((package.parent / f"{notebook.stem}.json").read_text())
    assert report["ok"] is True
    names = {f["function"] for f in report["functions"]}
    assert "predict" in names
    assert all(
        f["calls"] >= 1 and f["equal"] == f["calls"] for f in report["functions"]
    )
    assert str(package / "src") in report["package_file"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_artifacts_cases_and_fixtures_are_saved(
    converted: dict[str, tuple[Path, str]], notebook: Path
) -> None:
    package, _ = converted[notebook.stem]
    manifest = json.loads(
        (package / f"src/{notebook.stem}/artifacts/manifest.json").read_text()
    )
    assert manifest["artifacts"], "every sample has artifacts"
    for entry in manifest["artifacts"].values():
        saved = package / f"src/{notebook.stem}/artifacts" / entry["file"]
        assert sha256(saved.read_bytes()) == entry["sha256"], entry["file"]
    assert "scikit-learn" in manifest["libraries"]
    assert list((package / "tests/cases/predict").glob("*/case.json"))
    assert list((package / "tests/fixtures").glob("test_cell_*/*.joblib"))
    pyproject = (package / "pyproject.toml").read_text()
    assert f'"scikit-learn=={manifest["libraries"]["scikit-learn"]}"' in pyproject
    lock = json.loads((package / "nb2prod.lock").read_text())
    assert any(path.startswith("tests/cases/") for path in lock["recorded"])
    assert (package / "build" / f"{notebook.stem}.executed.ipynb").is_file()


def test_check_passes_after_an_executed_convert(
    converted: dict[str, tuple[Path, str]],
) -> None:
    package, _ = converted["churn_classification"]
    result = run_cli(
        "check", SAMPLES / "churn_classification.ipynb", "--out", package.parent
    )
    assert result.exit_code == 0, result.stdout


def test_convert_no_execute_after_a_run_keeps_what_the_run_recorded(
    converted: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    package, _ = converted["churn_classification"]
    copy = tmp_path / "churn_classification"
    shutil.copytree(package, copy)
    recorded = json.loads((copy / "nb2prod.lock").read_text())["recorded"]
    assert any(path.startswith("tests/fixtures/") for path in recorded)
    assert any(path.endswith("manifest.json") for path in recorded)
    notebook = SAMPLES / "churn_classification.ipynb"
    result = run_cli("convert", notebook, "--no-execute", "--out", tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "removed" not in result.stdout
    for path, digest in recorded.items():
        assert sha256((copy / path).read_bytes()) == digest, path
    assert json.loads((copy / "nb2prod.lock").read_text())["recorded"] == recorded
    assert run_cli("check", notebook, "--out", tmp_path).exit_code == 0


def test_the_users_notebook_is_not_modified(
    converted: dict[str, tuple[Path, str]],
) -> None:
    # BEFORE was read when this module was imported, before the fixture ran them.
    assert {notebook: notebook.read_bytes() for notebook in NOTEBOOKS} == BEFORE


def test_verify_fails_on_a_changed_line_naming_the_function(
    converted: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    package, _ = converted["diabetes_regression"]
    copy = tmp_path / "diabetes_regression"
    shutil.copytree(package, copy)
    predict = copy / "src/diabetes_regression/predict.py"
    text = predict.read_text()
    line = "return np.clip(raw, PREDICTION_FLOOR, None)"
    assert line in text
    predict.write_text(
        text.replace(line, "return np.clip(raw * 1.001, PREDICTION_FLOOR, None)")
    )
    result = run_cli("verify", SAMPLES / "diabetes_regression.ipynb", "--out", tmp_path)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "not equivalent" in result.stdout
    assert "mismatch: predict, call tests/cases/predict/001" in result.stdout
    assert "expected" in result.stdout


def test_verify_passes_on_the_package_as_converted(
    converted: dict[str, tuple[Path, str]],
) -> None:
    package, _ = converted["ticket_triage_text"]
    before = {p: p.read_bytes() for p in package.rglob("*") if p.is_file()}
    result = run_cli(
        "verify", SAMPLES / "ticket_triage_text.ipynb", "--out", package.parent
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "equivalent: every recorded call matches" in result.stdout
    assert "not equivalent" not in result.stdout
    after = {p: p.read_bytes() for p in package.rglob("*") if p.is_file()}
    assert before == after


def test_tampered_artifact_is_refused_at_load(
    converted: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    package, _ = converted["churn_classification"]
    copy = tmp_path / "churn_classification"
    shutil.copytree(package, copy)
    artifact = copy / "src/churn_classification/artifacts/model.joblib"
    artifact.write_bytes(artifact.read_bytes()[:-10])
    probe = "from churn_classification import artifacts; artifacts.model"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=copy / "src",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "ArtifactError: artifact 'model': model.joblib has SHA-256" in result.stderr
    assert "refusing to load it" in result.stderr


# ---- small notebooks: parameters, failures, never-called functions ----


def scaled(path: Path, feature_call: str = "scale([1.0, 2.0])") -> Path:
    return write(
        path,
        code("FACTOR = 2", "parameters"),
        md("Multiply by the factor."),
        code(
            "def scale(values: list[float]) -> list[float]:\n    return [v * FACTOR for v in values]",
            "nb2prod:feature",
        ),
        code(feature_call),
    )


def test_parameter_reaches_the_run_and_the_config(tmp_path: Path) -> None:
    notebook = scaled(tmp_path / "scaling.ipynb")
    result = run_cli("convert", notebook, "-p", "FACTOR", "3")
    assert result.exit_code == 0, result.stdout + result.stderr
    package = tmp_path / "scaling"
    assert "FACTOR: int = 3" in (package / "src/scaling/config.py").read_text()
    case = json.loads((package / "tests/cases/scale/001/case.json").read_text())
    assert case["result"] == {"kind": "json", "value": [3.0, 6.0]}
    assert run_cli("check", notebook).exit_code == 0  # the lock remembers the override


def test_a_cell_that_raises_is_one_clear_error(tmp_path: Path) -> None:
    notebook = scaled(
        tmp_path / "broken.ipynb",
        feature_call="scale([1.0])\nraise ValueError('bad data')",
    )
    result = run_cli("convert", notebook)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: broken.ipynb: cell 4 [id c4]: the notebook raised ValueError: bad data"
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "broken").exists()


def test_a_function_never_called_is_an_error(tmp_path: Path) -> None:
    notebook = scaled(tmp_path / "uncalled.ipynb", feature_call="x = 1")
    result = run_cli("convert", notebook)
    assert result.exit_code == 1
    assert (
        "uncalled.ipynb: cell 3 [id c3], line 1: error: feature function 'scale' was never called"
        in result.stderr
    )
    assert "call scale(...) once in an untagged cell" in result.stderr


def test_an_artifact_holding_a_shipped_function_loads_in_the_package(
    tmp_path: Path,
) -> None:
    notebook = write(
        tmp_path / "transform.ipynb",
        code(
            "import numpy as np\n\ndef double(x):\n    return np.asarray(x) * 2",
            "nb2prod:export",
        ),
        code(
            "from sklearn.preprocessing import FunctionTransformer\n"
            "transformer = FunctionTransformer(double)",
            "nb2prod:artifact",
        ),
        code(
            "def predict(rows: list[list[float]]):\n    return transformer.transform(rows)",
            "nb2prod:predict",
        ),
        code("predict([[1.0], [2.0]])"),
    )
    result = run_cli("convert", notebook)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "equivalent: every recorded call matches" in result.stdout
    assert "not equivalent" not in result.stdout


def test_comment_form_parameters_cell_takes_p_values(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "commented.ipynb",
        code("# nb2prod: parameters\nFACTOR = 2"),
        code(
            "def scale(values: list[float]) -> list[float]:\n    return [v * FACTOR for v in values]",
            "nb2prod:feature",
        ),
        code("scale([1.0])"),
    )
    result = run_cli("convert", notebook, "-p", "FACTOR", "5")
    assert result.exit_code == 0, result.stdout + result.stderr
    case = json.loads(
        (tmp_path / "commented/tests/cases/scale/001/case.json").read_text()
    )
    assert case["result"]["value"] == [5.0]


def test_bad_p_usage_is_exit_2(tmp_path: Path) -> None:
    notebook = scaled(tmp_path / "scaling.ipynb")
    result = run_cli("convert", notebook, "-p", "FACTOR")
    assert result.exit_code == 2
    assert "parameters are given as -p NAME VALUE" in result.stderr
