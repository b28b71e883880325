"""One pass, one source of truth: the notebook is read once, options resolve once and
reach everything they decide (the run, the replay, the generated tests, the lock)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from nb2prod.jupyter import regenerate
from nb2prod.output.lock import read_lock
from nb2prod.settings import job_for
from notebooks import code, md, write

_opened: list[Path] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], str | Path):
        _opened.append(Path(args[0]).resolve())


sys.addaudithook(
    _audit
)  # audit hooks cannot be removed: this one records only on demand


@contextmanager
def opens_of(path: Path) -> Iterator[list[Path]]:
    """The times ``path`` is opened (by this process) inside the block."""
    global _opened
    _opened = []
    seen: list[Path] = []
    try:
        yield seen
    finally:
        seen.extend(p for p in _opened if p == path.resolve())
        _opened = None


def scaling(path: Path) -> Path:
    return write(
        path,
        code("FACTOR = 2", "parameters"),
        md("Multiply by the factor."),
        code(
            "def scale(values: list[float]) -> list[float]:\n"
            "    return [v * FACTOR / 3 for v in values]",
            "nb2prod:feature",
        ),
        code("scale([1.0, 2.0])"),
    )


def tolerance_in_tests(package: Path) -> str:
    text = (package / "tests/test_recorded_calls.py").read_text()
    return next(line for line in text.splitlines() if line.startswith("TOLERANCE"))


def test_convert_reads_the_notebook_once_and_the_tolerance_reaches_everything(
    tmp_path: Path,
) -> None:
    notebook = scaling(tmp_path / "scaling.ipynb")
    report = tmp_path / "report.json"
    with opens_of(notebook) as opened:
        result = run_cli(
            "convert", notebook, "--rtol", "0.001", "--atol", "1e-05", "--json", report
        )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert len(opened) == 1, f"the notebook was opened {len(opened)} times"
    package = tmp_path / "scaling"
    # The replay compared with it ...
    assert json.loads(report.read_text())["tolerance"] == {"rtol": 0.001, "atol": 1e-05}
    # ... and so do the package's own tests, and the lock keeps it for later commands.
    assert (
        tolerance_in_tests(package) == "TOLERANCE = Tolerance(rtol=0.001, atol=1e-05)"
    )
    lock = read_lock(package)
    assert lock is not None and lock.tolerance is not None
    assert (lock.tolerance.rtol, lock.tolerance.atol) == (0.001, 1e-05)
    assert run_cli("check", notebook).exit_code == 0
    result = run_cli("convert", notebook, "--no-execute")
    assert result.exit_code == 0, result.stderr
    assert (
        tolerance_in_tests(package) == "TOLERANCE = Tolerance(rtol=0.001, atol=1e-05)"
    )
    result = run_cli("verify", notebook, "--json", report)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert json.loads(report.read_text())["tolerance"] == {"rtol": 0.001, "atol": 1e-05}


def test_the_project_tolerance_reaches_the_tests_and_check_notices_a_change(
    tmp_path: Path,
) -> None:
    notebook = scaling(tmp_path / "scaling.ipynb")
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.nb2prod]\nrtol = 0.01\n")
    assert run_cli("convert", notebook, "--no-execute").exit_code == 0
    assert tolerance_in_tests(tmp_path / "scaling") == (
        "TOLERANCE = Tolerance(rtol=0.01, atol=1e-12)"
    )
    assert run_cli("check", notebook).exit_code == 0
    config.write_text("[tool.nb2prod]\nrtol = 0.02\n")
    result = run_cli("check", notebook)
    assert result.exit_code == 1
    assert "rtol=0.02" in result.stdout


def test_the_save_hook_honours_the_project_table(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notebook = scaling(tmp_path / "nb" / "scaling.ipynb")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nb2prod]\nout = "packages"\nmax-size = 0.0001\n'
    )
    log = logging.getLogger("test.one_pass")
    with caplog.at_level(logging.WARNING, logger="test.one_pass"):
        regenerate(notebook, log)
    assert "over the 104 bytes limit" in caplog.text
    assert not (tmp_path / "packages").exists()
    (tmp_path / "pyproject.toml").write_text('[tool.nb2prod]\nout = "packages"\n')
    regenerate(notebook, log)
    assert (tmp_path / "packages/scaling/src/scaling/features.py").is_file()


def test_one_rule_names_the_package_folder(tmp_path: Path) -> None:
    notebook = scaling(tmp_path / "01 Scaling v2.ipynb")
    job = job_for(notebook, out=tmp_path / "out")
    assert (job.package, job.folder) == ("scaling_v2", tmp_path / "out/scaling_v2")
    assert (
        run_cli(
            "convert", notebook, "--no-execute", "--out", tmp_path / "out"
        ).exit_code
        == 0
    )
    assert (job.folder / "nb2prod.lock").is_file()
    assert run_cli("check", notebook, "--out", tmp_path / "out").exit_code == 0
