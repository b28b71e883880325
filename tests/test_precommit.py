"""The pre-commit hooks, run by the real pre-commit tool against this checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from notebooks import code, write

pytestmark = pytest.mark.slow


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def try_repo(repo: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo` of this checkout's nb2prod-check on ``files``."""
    command = [
        sys.executable,
        "-m",
        "pre_commit",
        "try-repo",
        str(REPO),
        "nb2prod-check",
    ]
    env = {**os.environ, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home")}
    return subprocess.run(
        [*command, "--files", *files],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with a tagged notebook, its package, and an untagged notebook."""
    repo = tmp_path_factory.mktemp("precommit") / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    write(
        repo / "scores.ipynb",
        code("def score(x: int) -> int:\n    return x + 1", "nb2prod:feature"),
    )
    write(repo / "eda.ipynb", code("x = 1"))
    assert run_cli("convert", repo / "scores.ipynb", "--no-execute").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "notebook and package")
    return repo


def test_hook_passes_when_the_package_is_in_sync(repository: Path) -> None:
    result = try_repo(repository, "scores.ipynb", "eda.ipynb")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_hook_fails_with_the_diff_when_a_tagged_cell_changed(repository: Path) -> None:
    notebook = repository / "scores.ipynb"
    original = notebook.read_text()
    data = json.loads(original)
    data["cells"][0]["source"] = "def score(x: int) -> int:\n    return x + 2"
    notebook.write_text(json.dumps(data))
    try:
        result = try_repo(repository, "scores.ipynb")
    finally:
        notebook.write_text(original)
    assert result.returncode == 1
    assert "Failed" in result.stdout
    assert "+    return x + 2" in result.stdout
    assert "Fix with: nb2prod convert scores.ipynb" in result.stdout
