"""Swapped artifacts: skops with the recorded types, check against the lock (issue 10, item 5)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import skops.io
from conftest import run_cli

from nb2prod.notebook.read import read_notebook
from nb2prod.output import fastcheck
from nb2prod.pipeline import check
from nb2prod.settings import job_for
from notebooks import code, write

PROBE = "from scored import artifacts; print(artifacts.model.__class__.__name__)"


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A notebook with a scikit-learn model (skops) and a DataFrame (joblib), converted."""
    folder = tmp_path_factory.mktemp("trust")
    notebook = write(
        folder / "scored.ipynb",
        code(
            "import numpy as np\nimport pandas as pd\n"
            "from sklearn.linear_model import LogisticRegression\n"
            "x = np.array([[0.0], [1.0], [2.0], [3.0]])\n"
            "model = LogisticRegression().fit(x, [0, 0, 1, 1])\n"
            "weights = pd.DataFrame({'w': [1.0, 2.0]})",
            "nb2prod:artifact",
        ),
        code(
            "def predict(rows: list[list[float]]) -> list[float]:\n"
            "    scale = float(weights['w'].sum())\n"
            "    return [float(p) * scale for p in model.predict_proba(rows)[:, 1]]",
            "nb2prod:predict",
        ),
        code("predict([[0.5], [2.5]])"),
    )
    result = run_cli("convert", notebook)
    assert result.exit_code == 0, result.stdout + result.stderr
    return folder / "scored", result.stderr


def copy_of(package: Path, tmp_path: Path) -> Path:
    """A copy of the package (with its notebook beside it) to attack."""
    subprocess.run(["cp", "-a", str(package), str(tmp_path)], check=True)
    (tmp_path / "scored.ipynb").write_bytes(
        (package.parent / "scored.ipynb").read_bytes()
    )
    return tmp_path / "scored"


def swap(package: Path, name: str, payload: bytes, file: str | None = None) -> None:
    """Replace an artifact and rewrite its manifest entry to match, as an attacker would."""
    folder = package / "src/scored/artifacts"
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    entry = manifest["artifacts"][name]
    entry["file"] = file or entry["file"]
    (folder / entry["file"]).write_bytes(payload)
    entry["sha256"] = hashlib.sha256(payload).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")


class Planted:
    """Unpickling it creates a file: proof that loading ran the attacker's code."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.target}",))


def load_model(package: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=package / "src",
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_model_is_saved_with_skops_and_loads(converted: tuple[Path, str]) -> None:
    package, _ = converted
    folder = package / "src/scored/artifacts"
    manifest = json.loads((folder / "manifest.json").read_text())["artifacts"]
    assert manifest["model"]["format"] == "skops"
    assert (folder / "model.skops").is_file()
    assert "skops" in (package / "pyproject.toml").read_text()
    result = load_model(package)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "LogisticRegression"


def test_a_joblib_fallback_is_named_at_convert_and_in_the_readme(
    converted: tuple[Path, str],
) -> None:
    package, stderr = converted
    assert "artifact 'weights': skops cannot hold a DataFrame" in stderr
    assert "saved with joblib, a pickle" in stderr
    readme = (package / "README.md").read_text()
    assert "`weights`" in readme.split("**Pickles**")[1].split("\n- ")[0]
    assert "integrity check, not a signature" in readme


def test_a_pickle_swapped_in_with_its_manifest_entry_is_refused(
    converted: tuple[Path, str], tmp_path: Path
) -> None:
    package = copy_of(converted[0], tmp_path)
    planted = tmp_path / "PWNED"
    payload = pickle.dumps(Planted(planted))
    swap(package, "model", payload)
    result = load_model(package)
    assert not planted.exists(), "loading the swapped artifact ran its code"
    assert result.returncode == 1
    assert "refusing to load it" in result.stderr
    # Pointing the manifest at a .joblib file does not change how it is loaded.
    swap(package, "model", payload, file="model.joblib")
    result = load_model(package)
    assert not planted.exists(), "loading the swapped artifact ran its code"
    assert result.returncode == 1


def test_a_skops_file_with_another_type_is_refused(
    converted: tuple[Path, str], tmp_path: Path
) -> None:
    package = copy_of(converted[0], tmp_path)
    (package / "src/gadget.py").write_text(
        "import pathlib\n\nclass Gadget:\n"
        "    def __setstate__(self, state):\n"
        "        pathlib.Path(state['target']).touch()\n"
    )
    sys.path.insert(0, str(package / "src"))
    try:
        import gadget

        value = gadget.Gadget()
        value.target = str(tmp_path / "PWNED")  # type: ignore[attr-defined]
        payload = skops.io.dumps(value)
    finally:
        sys.path.remove(str(package / "src"))
        sys.modules.pop("gadget", None)
    swap(package, "model", payload)
    result = load_model(package)
    assert not (tmp_path / "PWNED").exists()
    assert result.returncode == 1
    assert "holds types it did not hold when the notebook saved it" in result.stderr
    assert "gadget.Gadget" in result.stderr


def test_check_compares_artifacts_with_the_lock(
    converted: tuple[Path, str], tmp_path: Path
) -> None:
    package = copy_of(converted[0], tmp_path)
    notebook = tmp_path / "scored.ipynb"
    assert run_cli("check", notebook).exit_code == 0
    folder = package / "src/scored/artifacts"
    file = json.loads((folder / "manifest.json").read_text())["artifacts"]["model"][
        "file"
    ]
    swap(package, "model", (folder / file).read_bytes() + b"\0")
    assert not fastcheck.up_to_date(job_for(notebook), read_notebook(notebook))
    _, stale = check(job_for(notebook), read_notebook(notebook))
    assert [s.path for s in stale] == [
        "src/scored/artifacts/manifest.json",
        f"src/scored/artifacts/{file}",
    ]
    result = run_cli("check", notebook)
    assert result.exit_code == 1
    assert f"src/scored/artifacts/{file}: has SHA-256" in result.stdout
    assert "nb2prod.lock recorded" in result.stdout


@pytest.mark.parametrize(("flag", "docs"), [(None, "None"), ("1", "/docs")])
def test_the_docs_page_and_its_cdn_scripts_are_off_unless_asked_for(
    converted: tuple[Path, str], flag: str | None, docs: str
) -> None:
    package, _ = converted
    env = {k: v for k, v in os.environ.items() if k != "SCORED_DOCS"}
    if flag is not None:
        env["SCORED_DOCS"] = flag
    probe = "from scored.serve import app; print(app.docs_url, app.redoc_url)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=package / "src",
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == docs
    assert "SCORED_DOCS=1" in (package / "README.md").read_text()
