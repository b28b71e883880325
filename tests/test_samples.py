"""Every shipped sample notebook converts into a clean package (no kernel)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES, run_cli

NOTEBOOKS = sorted(SAMPLES.glob("*.ipynb"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All samples converted once, into one folder."""
    out = tmp_path_factory.mktemp("samples")
    for notebook in NOTEBOOKS:
        result = run_cli("convert", notebook, "--no-execute", "--out", out)
        assert result.exit_code == 0, result.stderr
    return out


def test_there_are_three_samples() -> None:
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_sample_package_is_black_and_ruff_clean(
    converted: Path, notebook: Path
) -> None:
    package = converted / notebook.stem
    black = subprocess.run(
        [sys.executable, "-m", "black", "--check", "--quiet", "."],
        cwd=package,
        check=False,
    )
    assert black.returncode == 0
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--quiet", "."],
        cwd=package,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_sample_package_imports(converted: Path, notebook: Path) -> None:
    package = converted / notebook.stem
    name = notebook.stem
    probe = f"import {name}; print(sorted({name}.__all__))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=package / "src",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "predict" in result.stdout


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_sample_is_stable_and_checks_clean(converted: Path, notebook: Path) -> None:
    again = run_cli("convert", notebook, "--no-execute", "--out", converted)
    assert again.exit_code == 0
    assert "unchanged" in again.stdout and "updated" not in again.stdout
    assert run_cli("check", notebook, "--out", converted).exit_code == 0


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_editing_a_tagged_cell_makes_check_fail(
    converted: Path, notebook: Path, tmp_path: Path
) -> None:
    copy = tmp_path / notebook.name
    shutil.copy(notebook, copy)
    data = json.loads(copy.read_text())
    cell = next(
        c for c in data["cells"] if "nb2prod:predict" in c["metadata"].get("tags", [])
    )
    source = "".join(cell["source"])
    cell["source"] = source.replace("def predict(", "def predict(  # reviewed\n    ", 1)
    copy.write_text(json.dumps(data))
    result = run_cli("check", copy, "--out", converted)
    assert result.exit_code == 1
    assert "# reviewed" in result.stdout


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_cached_and_fresh_generation_agree(
    notebook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nb2prod.notebook.read import read_notebook
    from nb2prod.pipeline import generate
    from nb2prod.settings import job_for

    monkeypatch.setenv("NB2PROD_CACHE_DIR", str(tmp_path / "cache"))
    cold = generate(job_for(notebook, out=tmp_path), read_notebook(notebook)).files
    warm = generate(job_for(notebook, out=tmp_path), read_notebook(notebook)).files
    monkeypatch.setenv("NB2PROD_NO_CACHE", "1")
    fresh = generate(job_for(notebook, out=tmp_path), read_notebook(notebook)).files
    assert cold == warm == fresh
    assert any((tmp_path / "cache").rglob("*")), "the cache was written"
