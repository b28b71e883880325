"""Stable provenance: untagged cells moving around change nothing under ``src/``.

The package is rendered without a run (as ``convert --no-execute`` does), which is
all that provenance depends on.
"""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path
from typing import Any

from conftest import run_cli

from nb2prod.notebook.read import read_notebook
from nb2prod.pipeline import generate
from nb2prod.settings import job_for
from notebooks import code, md, write

PARAMETERS = "THRESHOLD = 0.4\n"
LOAD = "import pandas as pd\n\nframe = pd.DataFrame({'x': [1.0, 2.0]})"
EXPORT = (
    "SCALE = 2.5\n\n\n"
    "def scaled(value: float) -> float:\n"
    "    return value * SCALE\n"
)
PREDICT = "def predict(value: float) -> bool:\n    return scaled(value) >= THRESHOLD\n"
TEST = "assert predict(1.0)\n"


def cells(export: str = EXPORT) -> list[Any]:
    return [
        code(PARAMETERS, "parameters", cell_id="params"),
        code(LOAD, cell_id="load-data"),
        md("## Scaling", cell_id="about-scaling"),
        code(export, "nb2prod:export", cell_id="scale"),
        code("frame.describe()", cell_id="look"),
        code(PREDICT, "nb2prod:predict", cell_id="decide"),
        code(TEST, "nb2prod:test", cell_id="check-1"),
    ]


def package(tmp_path: Path, name: str, notebook_cells: list[Any]) -> dict[str, str]:
    path = write(tmp_path / name / "scaler.ipynb", *notebook_cells)
    files = generate(job_for(path), read_notebook(path)).files
    return {p: t for p, t in files.items() if isinstance(t, str)}


def src(files: dict[str, str]) -> dict[str, str]:
    return {p: t for p, t in files.items() if p.startswith("src/")}


def test_untagged_cells_inserted_deleted_or_moved_leave_src_unchanged(
    tmp_path: Path,
) -> None:
    before = package(tmp_path, "before", cells())
    assert "# --- From cell id scale (nb2prod:export) ---" in (
        before["src/scaler/common.py"]
    )
    assert "def test_cell_check_1(" in before["tests/test_notebook_cells.py"]
    inserted = cells()
    inserted.insert(0, code("print('hello')", cell_id="new-first"))
    # Not between a markdown cell and the cell below it: that markdown documents
    # the cell in its module only while it sits right above it.
    inserted.insert(5, code("frame.head()", cell_id="new-middle"))
    deleted = [c for c in cells() if c.id != "look"]
    moved = cells()
    moved.insert(6, moved.pop(4))  # "look" after the predict cell
    for name, variant in (("ins", inserted), ("del", deleted), ("mov", moved)):
        after = package(tmp_path, name, variant)
        assert src(after) == src(before), name
        for path in ("tests/test_notebook_cells.py", "README.md", ".gitattributes"):
            assert after[path] == before[path], (name, path)


def test_one_character_in_a_shipped_constant_is_a_two_line_diff(
    tmp_path: Path,
) -> None:
    before = src(package(tmp_path, "before", cells()))
    after = src(package(tmp_path, "after", cells(EXPORT.replace("2.5", "3.5"))))
    assert before.keys() == after.keys()
    changed = [
        line
        for path in before
        for line in difflib.unified_diff(
            before[path].splitlines(), after[path].splitlines(), n=0, lineterm=""
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    # The constant's line and the tagged cells' hash in _provenance.py: one each way.
    assert len(changed) == 4, changed
    assert "+SCALE = 3.5" in changed
    assert sum(line.startswith("+") for line in changed) <= 2


def test_gitattributes_collapse_the_machinery_and_readme_names_the_logic(
    tmp_path: Path,
) -> None:
    notebook = write(tmp_path / "scaler.ipynb", *cells())
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0, result.stderr
    root = tmp_path / "scaler"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    paths = [
        "src/scaler/common.py",
        "src/scaler/predict.py",
        "src/scaler/config.py",
        "tests/test_notebook_cells.py",
        "pyproject.toml",
        "src/scaler/_provenance.py",
        "src/scaler/artifacts/model.skops",
        "nb2prod.lock",
        "tests/_replay/compare.py",
        "tests/cases/predict/001/case.json",
        "tests/fixtures/test_cell_check_1/frame.joblib",
        "tests/test_recorded_calls.py",
    ]
    shown = subprocess.run(
        ["git", "check-attr", "linguist-generated", "--", *paths],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    generated = [line.split(":")[0] for line in shown if line.endswith(": true")]
    assert generated == paths[5:]
    readme = (root / "README.md").read_text()
    review = readme.split("## Review", 1)[1].split("##", 1)[0]
    assert [line[3:-1] for line in review.splitlines() if line.startswith("- `")] == [
        "src/scaler/common.py",
        "src/scaler/config.py",
        "src/scaler/predict.py",
        "tests/test_notebook_cells.py",
    ]
