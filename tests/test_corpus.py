"""Every corpus notebook goes through `tags`, `convert --no-execute` and `check`.

Whatever the notebook, nb2prod answers with exit 0 or 1, never a traceback or an
internal error; a failure names the notebook (and the cell, for a problem inside
one) and writes nothing; a success writes a package that compiles and that `check`
finds up to date.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from conftest import Run, run_cli
from corpus import CASES, Case

from nb2prod import naming

#: A located diagnostic line: ``nb.ipynb: cell 3 [id c3], line 2: error: ...``.
_LOCATED = re.compile(r"^(?P<place>\S.*?): (?P<severity>error|warning): ", re.M)


@pytest.fixture(autouse=True, scope="module")
def _cached_distributions() -> Iterator[None]:
    """Scan installed distributions once for the module, not once per command.

    ``naming`` asks ``importlib.metadata`` which distribution owns the package name on
    every generation (~0.4 s here); the answer cannot change during the run.
    """
    with pytest.MonkeyPatch.context() as patch:
        cached = functools.cache(packages_distributions)
        patch.setattr(naming, "packages_distributions", cached, raising=False)
        yield


def _assert_sane(run: Run, case: Case, command: str) -> None:
    """Exit 0 or 1, no traceback, and a failure that names the notebook."""
    output = run.stdout + run.stderr
    context = f"{command} {case.file_name} -> {run.exit_code}\n{output[:3000]}"
    assert run.exit_code in (0, 1), context
    assert "Traceback" not in output, context
    assert "internal error" not in output, context
    if run.exit_code == 1:
        assert case.file_name in run.stderr, context
        for match in _LOCATED.finditer(run.stderr):
            place = match.group("place").removeprefix("error: ")
            assert place.startswith(case.file_name), context


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


def _assert_compiles(package: Path) -> None:
    """Every generated Python file is Python this interpreter accepts."""
    for path in sorted(package.rglob("*.py")):
        text = path.read_text("utf-8")
        try:
            compile(text, str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            pytest.fail(
                f"generated {path.relative_to(package)} does not compile: {exc!r}"
            )


@pytest.mark.parametrize("case", CASES)
def test_corpus_notebook(case: Case, tmp_path: Path) -> None:
    notebook = tmp_path / case.file_name
    notebook.write_bytes(case.build())
    out = tmp_path / "out"

    tags = run_cli("tags", notebook)
    _assert_sane(tags, case, "tags")
    assert _files(tmp_path) == {Path(case.file_name)}, "tags wrote files"

    convert = run_cli("convert", notebook, "--no-execute", "--out", out)
    _assert_sane(convert, case, "convert --no-execute")
    output = convert.stdout + convert.stderr
    context = f"convert {case.file_name} -> {convert.exit_code}\n{output[:3000]}"
    if case.convert_exit is not None:
        assert convert.exit_code == case.convert_exit, context
    for text in case.expect:
        assert text in output, context
    for text in case.refuse:
        assert text not in output, context

    if convert.exit_code != 0:
        if case.cell is not None:
            assert f"cell {case.cell}" in convert.stderr, context
        assert not out.exists(), f"a failed convert wrote {sorted(_files(out))}"
        assert _files(tmp_path) == {
            Path(case.file_name)
        }, "a failed convert wrote files"
        return

    packages = [p for p in out.iterdir()]
    assert len(packages) == 1 and packages[0].is_dir(), sorted(_files(out))
    assert not packages[0].name.startswith("."), "a temporary folder was left"
    _assert_compiles(packages[0])

    check = run_cli("check", notebook, "--out", out)
    _assert_sane(check, case, "check")
    assert check.exit_code == 0, f"check after convert:\n{check.stdout}{check.stderr}"
