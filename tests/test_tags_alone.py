"""Tags alone, end to end with a real kernel (issue 12, items 1, 2 and 5): a notebook
written as data scientists write it (data loaded beside the constants, a median and a
table learned from a training split, a helpers.py beside it) converts with tags only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli

from notebooks import code, write

HELPERS = (
    "import numpy as np\n\n\n"
    "def normalise_city(name):\n"
    "    return str(np.char.strip(np.str_(name))).title()\n"
)


def _notebook(folder: Path) -> Path:
    rows = ["area,city,price"] + [
        f"{'' if i % 7 == 0 else 40 + 3 * i},{[' paris', 'lyon ', 'Nice'][i % 3]},"
        f"{100 + (37 * i) % 800}"
        for i in range(60)
    ]
    (folder / "houses.csv").write_text("\n".join(rows) + "\n")
    (folder / "helpers.py").write_text(HELPERS)
    return write(
        folder / "houses.ipynb",
        code(
            "import numpy as np\nimport pandas as pd\n"
            "from helpers import normalise_city\n\n"
            'FEATURES = ["area", "city"]\n'
            'df = pd.read_csv("houses.csv")\n'
            'X, y = df[FEATURES], df["price"]\n'
            "print(df.shape)",
            "nb2prod:export",
        ),
        code("train = df.sample(frac=0.8, random_state=0)\ntrain.describe()"),
        code(
            "AREA_MEDIAN = float(train.area.median())\n"
            'CITY_PRICE = train.groupby("city").price.mean().round(2).to_dict()\n'
            'PRICE_TABLE = train.groupby("city").price.describe()\n'
            "np.random.seed(0)",
            "nb2prod:export",
        ),
        code(
            "def features(frame: pd.DataFrame) -> pd.DataFrame:\n"
            "    out = frame[FEATURES].copy()\n"
            '    out["area"] = out["area"].fillna(AREA_MEDIAN)\n'
            '    out["city"] = out["city"].map(normalise_city)\n'
            "    return out",
            "nb2prod:feature",
        ),
        code(
            "def predict(frame: pd.DataFrame) -> np.ndarray:\n"
            "    f = features(frame)\n"
            '    base = f["city"].map(CITY_PRICE).fillna(PRICE_TABLE["mean"].mean())\n'
            '    return (base * f["area"] / AREA_MEDIAN).to_numpy()',
            "nb2prod:predict",
        ),
        code("predict(df.head(20))"),
    )


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The notebook converted once, executed: its folder and the CLI's output."""
    folder = tmp_path_factory.mktemp("tags-alone")
    notebook = _notebook(folder)
    result = run_cli("convert", notebook)
    assert result.exit_code == 0, result.stdout + result.stderr
    return folder, result.stdout, result.stderr


def test_only_what_shipped_code_needs_ships_and_importing_reads_no_data(
    converted: tuple[Path, str, str], tmp_path: Path
) -> None:
    folder, stdout, stderr = converted
    assert "equivalent: every recorded call matches" in stdout
    common = (folder / "houses/src/houses/common.py").read_text()
    assert "read_csv" not in common and "df" not in common.split('"""')[-1]
    assert "cell 3 [id c3], line 4" in stderr and "np.random.seed(0)" in stderr
    # A fresh process elsewhere, without houses.csv: the package still imports and runs.
    script = (
        "import pandas as pd, houses\n"
        "frame = pd.DataFrame({'area': [50.0, None], 'city': [' paris', 'Nice']})\n"
        "print(houses.predict(frame).round(2).tolist())"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(folder / "houses/src")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)) == 2


def test_learned_values_ship_as_literals_or_artifacts_and_are_listed(
    converted: tuple[Path, str, str],
) -> None:
    folder, stdout, _ = converted
    common = (folder / "houses/src/houses/common.py").read_text()
    lock = json.loads((folder / "houses/nb2prod.lock").read_text())
    median = lock["learned"]["AREA_MEDIAN"]
    assert median["expression"] == "AREA_MEDIAN = float(train.area.median())"
    assert f"AREA_MEDIAN = {median['literal']}\n" in common
    assert "#     AREA_MEDIAN = float(train.area.median())" in common
    assert "CITY_PRICE = {" in common
    assert lock["learned"]["PRICE_TABLE"]["artifact"] is True
    assert "PRICE_TABLE = artifacts.PRICE_TABLE" in common
    assert (folder / "houses/src/houses/artifacts/PRICE_TABLE.joblib").is_file()
    assert "learned AREA_MEDIAN = " in " ".join(stdout.split())
    # check and --no-execute use the values the lock recorded
    notebook = folder / "houses.ipynb"
    assert run_cli("check", notebook).exit_code == 0
    again = run_cli("convert", notebook, "--no-execute")
    assert again.exit_code == 0, again.stderr
    assert "learned AREA_MEDIAN" in again.stdout and "unchanged" in again.stdout
    assert "created" not in again.stdout and "updated" not in again.stdout


def test_helpers_beside_the_notebook_ship_and_check_notices_a_change(
    converted: tuple[Path, str, str], tmp_path: Path
) -> None:
    folder, _, _ = converted
    src = folder / "houses/src/houses"
    assert "from .helpers import normalise_city" in (src / "features.py").read_text()
    assert (src / "helpers.py").read_text().endswith(HELPERS)
    assert '"numpy' in (folder / "houses/pyproject.toml").read_text()
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "helpers.py").write_text(HELPERS.replace(".title()", ".upper()"))
    changed = run_cli("check", copy / "houses.ipynb")
    assert changed.exit_code == 1
    assert "src/houses/helpers.py" in changed.stdout and ".upper()" in changed.stdout
