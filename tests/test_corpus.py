"""Every corpus notebook goes through `tags`, `convert --no-execute` and `check`.

Whatever the notebook, nb2prod answers with exit 0 or 1, never a traceback or an
internal error; a failure names the notebook (and the cell, for a problem inside
one) and writes nothing; a success writes a package that compiles, imports, passes
the case's smoke test, and that `check` finds up to date.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Run, run_cli
from corpus import CASES, Case

#: A located diagnostic line: ``nb.ipynb: cell 3 [id c3], line 2: error: ...``.
_LOCATED = re.compile(r"^(?P<place>\S.*?): (?P<severity>error|warning): ", re.M)


def _context(run: Run, case: Case, command: str) -> str:
    output = run.stdout + run.stderr
    return (
        f"nb2prod {command} {case.file_name} -> exit {run.exit_code}\n{output[:3000]}"
    )


def _assert_sane(run: Run, case: Case, command: str) -> None:
    """Exit 0 or 1, no traceback, and a failure that names the notebook."""
    output = run.stdout + run.stderr
    context = _context(run, case, command)
    assert run.exit_code in (0, 1), context
    assert "Traceback" not in output, context
    assert "internal error" not in output, context
    if run.exit_code == 1:
        assert case.file_name in run.stderr, context
    for match in _LOCATED.finditer(run.stderr):  # every diagnostic has a place
        place = match.group("place").removeprefix("error: ")
        assert place.startswith(case.file_name), context


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


def _assert_compiles(package: Path) -> None:
    """Every generated Python file is Python this interpreter accepts."""
    for path in sorted(package.rglob("*.py")):
        try:
            compile(path.read_text("utf-8"), str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            pytest.fail(
                f"generated {path.relative_to(package)} does not compile: {exc}"
            )


def _assert_imports(package: Path, smoke: str) -> None:
    """The package imports in a fresh interpreter, and its smoke test passes."""
    (name,) = [p.name for p in (package / "src").iterdir() if p.is_dir()]
    script = f"import {name} as package\n{smoke}\n"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=package / "src",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"import {name}, then:\n{smoke}\n{done.stderr[-2000:]}"


@pytest.mark.parametrize("case", CASES)
def test_corpus_notebook(case: Case, tmp_path: Path) -> None:
    notebook = tmp_path / case.file_name
    notebook.write_bytes(case.build())
    out = tmp_path / "out"

    tags = run_cli("tags", notebook)
    _assert_sane(tags, case, "tags")
    assert _files(tmp_path) == {Path(case.file_name)}, "tags wrote files"

    convert = run_cli("convert", notebook, "--no-execute", "--out", out)
    command = f"convert --no-execute --out {out}"
    _assert_sane(convert, case, command)
    output = convert.stdout + convert.stderr
    context = _context(convert, case, command)
    if case.convert_exit is not None:
        assert convert.exit_code == case.convert_exit, context
    # `tags` runs convert's analysis: it fails exactly when convert does.
    assert tags.exit_code == convert.exit_code, _context(tags, case, "tags")
    for text in case.expect:
        assert text in output, context
    for text in case.refuse:
        assert text not in output, context

    if convert.exit_code != 0:
        if case.cell is not None:
            assert f"cell {case.cell}" in convert.stderr, context
        assert not out.exists(), f"a failed convert wrote {sorted(_files(out))}"
        assert _files(tmp_path) == {Path(case.file_name)}, "a failed convert wrote"
        return

    packages = list(out.iterdir())
    assert len(packages) == 1, f"expected one package folder: {sorted(_files(out))}"
    package = packages[0]
    assert package.is_dir() and not package.name.startswith("."), package.name
    _assert_compiles(package)
    _assert_imports(package, case.smoke)

    check = run_cli("check", notebook, "--out", out)
    _assert_sane(check, case, "check")
    assert check.exit_code == 0, _context(check, case, "check")
