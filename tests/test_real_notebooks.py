"""Tags are the only edit a notebook needs: magics, directives, estimators, `tags`.

The notebooks here are written the way data scientists write them: session magics
at the top of cells, ``%%time`` cells, comments above the code, a model returned by
a feature function.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from notebooks import code, md, write

SESSION = (
    "%load_ext autoreload\n%autoreload 2\n%matplotlib inline\n\nimport numpy as np"
)
SHARED = """\
%matplotlib inline
%config InlineBackend.figure_format = 'retina'
%precision 3
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

%time SCALE = 2.0
SEED = 0"""
LOG_FEE = """\
%%time
# nb2prod: feature
# Monthly fee, log-transformed and scaled
def log_fee(fee: float) -> float:
    return float(np.log1p(fee) * SCALE)"""
MAKE_MODEL = """\
# nb2prod: feature
def make_model(c: float) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, random_state=SEED))"""
FIT_MODEL = """\
def fit_model(c: float) -> LogisticRegression:
    features = np.array([[0.0, 1.0], [1.0, 0.4], [2.0, 0.3], [3.0, 0.0]])
    labels = np.array([0, 0, 1, 1])
    return LogisticRegression(C=c).fit(features, labels)"""
EXPLORE = """\
%%time
for fee in (10.0, 25.0):
    print(log_fee(fee))
model = make_model(1.0)
fitted = fit_model(0.5)
fitted.coef_"""


def churn(folder: Path) -> Path:
    """Magics in shipped cells, a directive under %%time, features returning models."""
    return write(
        folder / "churn.ipynb",
        md("# Churn model\nExploration first; the tagged cells ship."),
        code(SESSION),
        code(SHARED, "nb2prod:export"),
        code(LOG_FEE),
        code(MAKE_MODEL),
        code(FIT_MODEL, "nb2prod:feature"),
        code(EXPLORE),
    )


# --- item 3: harmless magics anywhere; item 4: directives under cell magics -------


def test_session_magics_are_dropped_with_a_note_at_their_line(tmp_path: Path) -> None:
    notebook = churn(tmp_path)

    result = run_cli("convert", notebook, "--no-execute", "--out", tmp_path / "out")

    assert result.exit_code == 0, result.stderr
    for line, magic in ((1, "%matplotlib"), (2, "%config"), (3, "%precision")):
        assert (
            f"churn.ipynb: cell 3 [id c3], line {line}, col 1: warning: line magic "
            f"{magic} only changes what the notebook displays; it is dropped"
        ) in result.stderr
    assert (
        "cell 3 [id c3], line 9, col 1: warning: line magic %time measures the "
        "statement, which runs in the notebook; the magic is dropped, the statement ships"
    ) in result.stderr
    assert "cell 4 [id c4], line 1, col 1: warning: cell magic %%time" in result.stderr
    package = tmp_path / "out" / "churn" / "src" / "churn"
    common = (package / "common.py").read_text()
    assert "SCALE = 2.0\nSEED = 0\n" in common
    for path in package.glob("*.py"):
        assert "%" not in path.read_text(), path.name


def test_a_directive_under_a_cell_magic_ships_the_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # the table on one line per cell
    notebook = churn(tmp_path)

    result = run_cli("convert", notebook, "--no-execute", "--out", tmp_path / "out")

    assert result.exit_code == 0, result.stderr
    features = (tmp_path / "out/churn/src/churn/features.py").read_text()
    assert "# Monthly fee, log-transformed and scaled\ndef log_fee(" in features
    assert "def make_model(" in features
    tags = run_cli("tags", notebook)
    assert tags.exit_code == 0, tags.stdout + tags.stderr
    assert "nb2prod:feature (comment)" in tags.stdout
    assert "log_fee" in tags.stdout


def test_behaviour_changing_magics_stay_errors_at_their_line(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code(
            "%matplotlib inline\n!pip install lightgbm\n%pylab inline\n"
            "%run helpers.py\nimport numpy as np\nRATE = 0.5",
            "nb2prod:export",
        ),
        code("# nb2prod: feature\ndef f(x: float) -> float:\n    return x * RATE"),
        code("f(2.0)"),
    )

    result = run_cli("convert", notebook, "--no-execute", "--out", tmp_path / "out")

    assert result.exit_code == 1
    assert (
        "cell 1 [id c1], line 2, col 1: error: shell command cannot ship: it runs a "
        "shell command"
    ) in result.stderr
    assert (
        "hint: move it to an untagged cell; the package declares its dependencies"
        in result.stderr
    )
    assert (
        "line 3, col 1: error: line magic %pylab cannot ship: it imports numpy and "
        "matplotlib names into the notebook"
    ) in result.stderr
    assert "line 4, col 1: error: line magic %run cannot ship" in result.stderr
    assert "3 errors" in result.stderr
    assert not (tmp_path / "out").exists()


# --- item 7: `nb2prod tags` tells the truth -----------------------------------------


def test_tags_shows_unresolved_names_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    notebook = write(
        tmp_path / "nb.ipynb",
        code("import pandas as pd\nraw = pd.DataFrame({'fee': [1.0, 2.0]})"),
        code(
            "# nb2prod: export\ndef fee_ratio(fee: float) -> float:\n"
            "    return fee / float(raw.fee.median())"
        ),
        code(
            "%%time\n# nb2prod: feature\ndef f(x: float) -> float:\n    return x - FEE"
        ),
        code("f(1.0)"),
    )

    result = run_cli("tags", notebook)

    assert result.exit_code == 1, result.stdout
    output = result.stdout + result.stderr
    assert "nothing shipped code uses" not in output
    assert "cell 2 [id c2], line 3, col 24: error: name 'raw'" in result.stderr
    assert "cell 3 [id c3], line 4, col 16: error: name 'FEE'" in result.stderr
    assert "cell 3 [id c3], line 1, col 1: warning: cell magic %%time" in result.stderr
    assert result.stderr.rstrip().endswith("2 errors, 1 warning")
    # The table still lists each tagged cell, with its problems.
    rows = {line.split()[1]: line for line in result.stdout.splitlines()[4:-1]}
    assert "nothing shipped code uses" not in result.stdout
    assert rows["2"].rstrip(" │").endswith("1 error")
    assert rows["3"].rstrip(" │").endswith("1 error, 1 warning")


def test_tags_shows_syntax_errors_and_dropped_magics(tmp_path: Path) -> None:
    notebook = write(
        tmp_path / "nb.ipynb",
        code("%matplotlib inline\nimport math", "nb2prod:export"),
        code(
            "def area(r: float) -> float:\n    return math.pi * r **", "nb2prod:feature"
        ),
    )

    result = run_cli("tags", notebook)

    assert result.exit_code == 1
    assert "cell 2 [id c2], line 2" in result.stderr
    assert "syntax error" in result.stderr
    assert "cell 1 [id c1], line 1, col 1: warning: line magic %matplotlib" in (
        result.stderr
    )


def test_tags_exits_0_with_warnings_only(tmp_path: Path) -> None:
    result = run_cli("tags", churn(tmp_path))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "warning: line magic %matplotlib" in result.stderr
    assert "error" not in result.stderr


# --- item 6: a feature returning an estimator converts with "equivalent" ----------


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The churn notebook converted once with a kernel: the package and the output."""
    folder = tmp_path_factory.mktemp("churn")
    notebook = churn(folder)
    result = run_cli("convert", notebook, "--out", folder / "out")
    assert result.exit_code == 0, result.stdout + result.stderr
    return folder / "out" / "churn", result.stdout


def test_estimators_returned_by_features_are_equivalent(
    executed: tuple[Path, str],
) -> None:
    package, stdout = executed
    assert "equivalent: every recorded call matches" in stdout
    for function in ("make_model", "fit_model", "log_fee"):
        assert list((package / "tests" / "cases" / function).iterdir()), function


def test_generated_tests_compare_estimators_by_value(
    executed: tuple[Path, str],
) -> None:
    import subprocess
    import sys

    package, _ = executed
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_recorded_calls.py"],
        cwd=package,
        env={"PYTHONPATH": str(package / "src"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
