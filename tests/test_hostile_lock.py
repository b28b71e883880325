"""A lock from someone else cannot make nb2prod read, write or delete outside the package.

Each test performs the attack for real: a crafted ``nb2prod.lock`` (or a symbolic
link in the package) and then ``convert --no-execute``, ``check``, ``diff`` and the
JupyterLab save hook, checking that the file outside is untouched and that the
error is one line, exit 1.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from conftest import run_cli
from jupyter_server.services.contents.filemanager import FileContentsManager

from nb2prod.jupyter import post_save_hook, wait
from nb2prod.output.lock import LOCK_NAME, sha256
from notebooks import code, notebook, write

SECRET = "do not touch\n"
CELLS = (code("def score(x: int) -> int:\n    return x + 1", "nb2prod:feature"),)


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A converted notebook, and a file outside its package: (notebook, package, secret)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(SECRET)
    nb = write(tmp_path / "proj" / "scores.ipynb", *CELLS)
    result = run_cli("convert", nb, "--no-execute")
    assert result.exit_code == 0, result.stdout + result.stderr
    return nb, nb.parent / "scores", secret


def plant(package: Path, section: str, entry: str) -> None:
    """Add ``entry`` to the lock's ``section``, hashed as the secret's content."""
    lock = json.loads((package / LOCK_NAME).read_text())
    lock[section][entry] = sha256(SECRET)
    (package / LOCK_NAME).write_text(json.dumps(lock))


def entries(package: Path, secret: Path) -> list[str]:
    """Three ways out: ../.., an absolute path, and a folder that is a symlink."""
    (package / "evil").symlink_to(secret.parent, target_is_directory=True)
    relative = os.path.relpath(secret, package)
    assert relative.startswith("../..")
    return [relative, str(secret), "evil/secret.txt"]


COMMANDS = [
    ("convert", "--no-execute"),
    ("convert", "--no-execute", "--force"),
    ("check",),
    ("diff",),
]


@pytest.mark.parametrize("section", ["files", "recorded"])
def test_a_lock_naming_paths_outside_is_refused_by_every_command(
    project: tuple[Path, Path, Path], section: str
) -> None:
    nb, package, secret = project
    original = (package / LOCK_NAME).read_text()
    for entry in entries(package, secret):
        (package / LOCK_NAME).write_text(original)
        plant(package, section, entry)
        for command in COMMANDS:
            result = run_cli(command[0], nb, *command[1:])
            message = result.stderr.strip()
            assert result.exit_code == 1, (command, entry, result.stdout, message)
            assert "\n" not in message, message
            assert str(package / LOCK_NAME) in message
            assert repr(entry) in message, message
            assert SECRET not in result.stdout + result.stderr
            assert secret.read_text() == SECRET, (command, entry)


def test_the_save_hook_refuses_such_a_lock(
    project: tuple[Path, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    nb, package, secret = project
    manager = FileContentsManager(root_dir=str(nb.parent))
    manager.post_save_hook = post_save_hook
    manager.log = logging.getLogger("test.hostile")
    original = (package / LOCK_NAME).read_text()
    for entry in entries(package, secret):
        (package / LOCK_NAME).write_text(original)
        plant(package, "files", entry)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="test.hostile"):
            manager.save(
                {"type": "notebook", "format": "json", "content": notebook(*CELLS)},
                nb.name,
            )
            assert wait()
        assert secret.read_text() == SECRET, entry
        warnings = [r.getMessage() for r in caplog.records]
        assert any(repr(entry) in w and LOCK_NAME in w for w in warnings), warnings


def test_a_generated_folder_that_is_a_symlink_out_is_not_written_through(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    nb = write(tmp_path / "proj" / "scores.ipynb", *CELLS)
    package = nb.parent / "scores"
    package.mkdir()
    (package / "src").symlink_to(outside, target_is_directory=True)
    result = run_cli("convert", nb, "--no-execute", "--force")
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert "\n" not in message and "symbolic link" in message, message
    assert list(outside.iterdir()) == []
    assert not (package / LOCK_NAME).exists()


def test_a_generated_file_that_is_a_symlink_out_is_not_written_through(
    project: tuple[Path, Path, Path],
) -> None:
    nb, package, secret = project
    readme = package / "README.md"
    readme.unlink()
    readme.symlink_to(secret)
    for command in COMMANDS:
        result = run_cli(command[0], nb, *command[1:])
        assert result.exit_code == 1, (command, result.stdout, result.stderr)
        message = result.stderr.strip()
        assert "\n" not in message and "README.md" in message, message
        assert SECRET not in result.stdout
        assert secret.read_text() == SECRET


def test_a_lock_that_is_a_symlink_out_is_not_read(
    project: tuple[Path, Path, Path],
) -> None:
    nb, package, secret = project
    (package / LOCK_NAME).unlink()
    (package / LOCK_NAME).symlink_to(secret)
    result = run_cli("convert", nb, "--no-execute", "--force")
    assert result.exit_code == 1
    assert "symbolic link" in result.stderr
    assert secret.read_text() == SECRET


def test_a_lock_parameter_that_is_not_a_literal_is_refused(
    project: tuple[Path, Path, Path],
) -> None:
    nb, package, _ = project
    lock = json.loads((package / LOCK_NAME).read_text())
    lock["parameters"]["LIMIT"] = "__import__('os').system('touch P')"
    (package / LOCK_NAME).write_text(json.dumps(lock))
    result = run_cli("convert", nb, "--no-execute")
    assert result.exit_code == 1
    assert "parameters entry 'LIMIT'" in result.stderr


def test_an_ordinary_lock_is_still_accepted(project: tuple[Path, Path, Path]) -> None:
    nb, _, _ = project
    assert run_cli("check", nb).exit_code == 0
    assert run_cli("convert", nb, "--no-execute").exit_code == 0


def test_a_package_folder_that_is_a_symlink_is_not_written_through(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "README.md").write_text(SECRET)
    nb = write(tmp_path / "proj" / "scores.ipynb", *CELLS)
    (nb.parent / "scores").symlink_to(outside, target_is_directory=True)
    for command in COMMANDS:
        result = run_cli(command[0], nb, *command[1:])
        assert result.exit_code == 1, (command, result.stdout, result.stderr)
        message = result.stderr.strip()
        assert "\n" not in message and "symbolic link" in message, message
    assert sorted(p.name for p in outside.iterdir()) == ["README.md"]
    assert (outside / "README.md").read_text() == SECRET
