"""The wheel carries the vocabulary and templates: a non-editable install converts."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
from conftest import REPO, SAMPLES

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with nb2prod installed from its wheel."""
    work = tmp_path_factory.mktemp("wheel")
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--wheel-dir", work / "dist", REPO, cwd=work,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("nb2prod-*.whl"))
    env = work / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    install = run(
        python, "-m", "pip", "install", "--no-deps", "--quiet", wheel, cwd=work
    )
    assert install.returncode == 0, install.stderr
    # The dependencies come from the test environment (no network needed), appended
    # after the venv's own site-packages so that the wheel's nb2prod wins.
    purelib = run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=work
    )
    deps = Path(sysconfig.get_path("purelib"))
    (Path(purelib.stdout.strip()) / "test_deps.pth").write_text(f"{deps}\n")
    return env


def test_installed_wheel_converts_a_sample(installed: Path, tmp_path: Path) -> None:
    where = run(
        installed / "bin" / "python",
        "-c",
        "import nb2prod; print(nb2prod.__file__)",
        cwd=tmp_path,
    )
    assert str(installed) in where.stdout, where.stdout + where.stderr
    notebook = SAMPLES / "churn_classification.ipynb"
    result = run(
        installed / "bin" / "nb2prod",
        "convert",
        notebook,
        "--no-execute",
        "--out",
        tmp_path,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (
        tmp_path / "churn_classification/src/churn_classification/predict.py"
    ).is_file()
    vocabulary = run(installed / "bin" / "nb2prod", "tags", cwd=tmp_path)
    assert "nb2prod:artifact" in vocabulary.stdout
