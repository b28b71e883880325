"""[tool.nb2prod] in the project's pyproject.toml: where packages go, defaults, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from nb2prod.errors import ProjectConfigError
from nb2prod.settings import settings_for
from notebooks import code, write


def project(root: Path, table: str) -> Path:
    (root / "pyproject.toml").write_text(f'[project]\nname = "repo"\n\n{table}\n')
    notebook = write(
        root / "analysis" / "churn.ipynb",
        code("def score(x: int) -> int:\n    return x + 1", "nb2prod:feature"),
    )
    return notebook


def test_no_table_means_no_settings(tmp_path: Path) -> None:
    notebook = write(tmp_path / "nb.ipynb", code("x = 1"))
    assert settings_for(notebook).source is None


def test_defaults_and_per_notebook_settings(tmp_path: Path) -> None:
    notebook = project(
        tmp_path,
        '[tool.nb2prod]\nout = "packages"\nmax-calls = 3\n'
        '[tool.nb2prod.notebooks."analysis/churn.ipynb"]\nname = "churn_model"\nrtol = 1e-6\n',
    )
    settings = settings_for(notebook)
    assert settings.out == tmp_path / "packages"
    assert (settings.name, settings.max_calls, settings.rtol) == (
        "churn_model",
        3,
        1e-6,
    )
    assert settings.override(name="other", out=None).name == "other"


def test_check_and_convert_find_the_package_with_no_flags(tmp_path: Path) -> None:
    notebook = project(
        tmp_path,
        '[tool.nb2prod]\nout = "packages"\n'
        '[tool.nb2prod.notebooks."analysis/churn.ipynb"]\nname = "churn_model"\n',
    )
    assert run_cli("convert", notebook, "--no-execute").exit_code == 0
    assert (tmp_path / "packages/churn_model/src/churn_model/features.py").is_file()
    result = run_cli("check", notebook)
    assert result.exit_code == 0
    assert "up to date" in result.stdout


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "[tool.nb2prod]\nmax_calls = 3\n",
            "unknown key 'max_calls'; did you mean 'max-calls'?",
        ),
        (
            '[tool.nb2prod]\nmax-calls = "three"\n',
            "'max-calls' must be an integer, not 'three'",
        ),
        ("[tool.nb2prod]\nmax-rows = 0\n", "'max-rows' must be at least 1"),
        (
            '[tool.nb2prod.notebooks."analysis/churn.ipynb"]\nnmae = "x"\n',
            "unknown key 'nmae'; did you mean 'name'?",
        ),
        ("[tool.nb2prod]\nrtol = true\n", "'rtol' must be a number, not True"),
    ],
)
def test_a_bad_table_is_a_clear_error_naming_the_key(
    tmp_path: Path, table: str, message: str
) -> None:
    notebook = project(tmp_path, table)
    with pytest.raises(ProjectConfigError, match=r"pyproject\.toml: "):
        settings_for(notebook)
    result = run_cli("check", notebook)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_max_size_limits_the_notebook_file(tmp_path: Path) -> None:
    notebook = project(tmp_path, "[tool.nb2prod]\nmax-size = 0.0001\n")
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 1
    assert "over the 104 bytes limit" in result.stderr
    assert not (tmp_path / "analysis" / "churn").exists()
