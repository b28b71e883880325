"""Which generated files carry the notebook's logic, and which are machinery.

A reviewer of a notebook change reads the first kind; the package's
``.gitattributes`` marks the second ``linguist-generated=true`` so that hosting
tools (GitHub, GitLab) collapse them in a pull request's diff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Modules of ``src/<package>/`` rendered from templates alone: they call the
#: notebook's functions but hold none of its logic.
MACHINERY_MODULES = ("_provenance.py", "serve.py", "batch.py", "spark.py")
#: Test files and folders the package's tests need but a reviewer does not read.
MACHINERY_TESTS = (
    "tests/_replay/",
    "tests/cases/",
    "tests/fixtures/",
    "tests/test_recorded_calls.py",
    "tests/test_serve.py",
    "tests/conftest.py",
)


@dataclass(frozen=True)
class Marks:
    """The generated files split for review."""

    #: Files holding the notebook's own code (its functions, constants, tests).
    logic: tuple[str, ...]
    #: ``.gitattributes`` patterns of the files a reviewer need not read.
    machinery: tuple[str, ...]


def review_marks(paths: Iterable[str], package: str) -> Marks:
    """Split ``paths`` (the rendered files) into logic and machinery patterns.

    Recorded cases, fixtures and artifacts are written after rendering: their
    folders are marked whether or not this run made any.
    """
    known = set(paths)
    src = f"src/{package}/"
    machinery = [f"{src}{n}" for n in MACHINERY_MODULES if f"{src}{n}" in known]
    machinery += [f"{src}artifacts/", "nb2prod.lock"]
    machinery += [p for p in MACHINERY_TESTS if p.endswith("/") or p in known]
    logic = sorted(
        path
        for path in known
        if (path.startswith(src) and path.endswith(".py"))
        and path[len(src) :] not in (*MACHINERY_MODULES, "__init__.py")
        and not path.startswith(f"{src}artifacts/")
    )
    logic += [p for p in ("tests/test_notebook_cells.py",) if p in known]
    patterns = [f"{p}**" if p.endswith("/") else p for p in machinery]
    return Marks(tuple(logic), tuple(patterns))
