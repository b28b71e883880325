"""Golden cases: a notebook in tests/golden/<case>/notebook.txt and the package it gives.

Regenerate the expected files after an intended change with:

    NB2PROD_UPDATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

import nb2prod
from nb2prod.notebook.read import read_notebook
from nb2prod.output.lock import Lock
from nb2prod.pipeline import generate
from nb2prod.settings import job_for
from notebooks import from_percent

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "notebook.txt").is_file())
UPDATE = os.environ.get("NB2PROD_UPDATE_GOLDEN") == "1"

#: Versions written into the expected pyproject files, whatever is installed here.
PINNED = {
    "joblib": "1.4.0",
    "numpy": "2.0.0",
    "pandas": "2.2.0",
    "pytest": "8.0.0",
    "scikit-learn": "1.5.0",
    "skops": "0.16.0",
}


def generate_case(case: str, tmp_path: Path) -> dict[str, str]:
    """Generate the package of one golden case in memory."""
    path = tmp_path / f"{case}.ipynb"
    nbformat.write(
        from_percent((GOLDEN / case / "notebook.txt").read_text()), str(path)
    )
    # Versions recorded in a lock win over installed ones: pin them for stable output.
    (tmp_path / case).mkdir()
    seed = Lock("0", "", "", files={}, dependencies=PINNED)
    (tmp_path / case / "nb2prod.lock").write_text(seed.text())
    return generate(job_for(path), read_notebook(path)).files


#: Modules every package's tests get as verbatim copies of nb2prod's own; checked
#: against their source here rather than stored once more per case.
SHIPPED = {
    f"tests/_replay/{name}": name
    for name in ("compare.py", "arrays.py", "casefile.py", "objects.py", "tables.py")
}
TOOL = Path(nb2prod.__file__).parent / "standalone"


@pytest.mark.parametrize("case", CASES)
def test_golden_package(case: str, tmp_path: Path) -> None:
    files = generate_case(case, tmp_path)
    for path, source in SHIPPED.items():
        copy = files.pop(path)
        assert isinstance(copy, str)
        assert copy.startswith("# Copied by nb2prod from nb2prod/")
        assert copy.endswith((TOOL / source).read_text("utf-8"))
    assert files.pop("tests/_replay/__init__.py").startswith('"""nb2prod')
    expected_dir = GOLDEN / case / "expected"
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for relative, text in files.items():
            target = expected_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    expected = {
        p.relative_to(expected_dir).as_posix(): p.read_text("utf-8")
        for p in sorted(expected_dir.rglob("*"))
        if p.is_file()
    }
    assert sorted(files) == sorted(expected), "regenerate with NB2PROD_UPDATE_GOLDEN=1"
    for relative, text in files.items():
        assert text == expected[relative], (
            f"{case}/{relative} differs; if the change is intended, regenerate with "
            "NB2PROD_UPDATE_GOLDEN=1 pytest tests/test_golden.py"
        )
