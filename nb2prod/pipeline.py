"""The stages of nb2prod, called in order: read → select → analyse → plan → render → write."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from nb2prod import __version__
from nb2prod.analysis import CellAnalysis, analyse
from nb2prod.dependencies import Dependency, resolve
from nb2prod.errors import ConversionError, Diagnostic, NotebookError, Severity
from nb2prod.formatting import format_files
from nb2prod.lock import LOCK_NAME, Lock, read_lock, sha256
from nb2prod.naming import package_name
from nb2prod.plan import PackagePlan, make_plan
from nb2prod.reading import DEFAULT_MAX_BYTES, read_notebook
from nb2prod.render import RenderInput, render
from nb2prod.tagging import Selection, select
from nb2prod.vocabulary import Role, load_vocabulary
from nb2prod.writing import Fate, WriteReport, plan_changes, write

TAG_HINT = (
    "tag a cell in JupyterLab (property inspector → Cell Tags, e.g. nb2prod:export), "
    "or make `# nb2prod: export` its first line; `nb2prod tags` lists the tags"
)


@dataclass(frozen=True)
class Options:
    """What the user asked for."""

    #: The notebook file.
    notebook: Path
    #: The folder that holds the package folder; None for the notebook's folder.
    out: Path | None = None
    #: The package name; None to derive it from the notebook's file name.
    name: str | None = None
    #: Overwrite files edited since generation.
    force: bool = False
    #: Refuse notebook files larger than this.
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class Generated:
    """A package generated in memory."""

    #: The plan it was rendered from.
    plan: PackagePlan
    #: Where it belongs on disk.
    folder: Path
    #: Every generated file by relative path, the lock excluded.
    files: dict[str, str]
    #: The lock recording them.
    lock: Lock
    #: Warnings from every stage.
    warnings: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class StaleFile:
    """A file on disk that is not what the notebook generates now."""

    #: Path relative to the package folder.
    path: str
    #: A unified diff from disk to the generated content.
    diff: str


def generate(options: Options) -> Generated:
    """Generate the package in memory, writing nothing.

    1. read the notebook (nbformat) and give each code cell its role;
    2. analyse every code cell with libcst;
    3. plan the package: modules, imports, API, artifacts, tests;
    4. resolve dependencies, reusing versions the lock already records;
    5. render the templates and format the Python with black;
    6. record every file's hash in the lock.
    """
    vocabulary = load_vocabulary()
    notebook = read_notebook(options.notebook, options.max_bytes)
    selection = select(notebook, vocabulary)
    _require_shipping_cells(selection)
    cells = [analyse(notebook, cell) for cell in selection.cells]
    package = package_name(options.notebook, options.name)
    folder = (options.out or options.notebook.parent) / package
    plan = make_plan(notebook, cells, package, vocabulary, selection.diagnostics)
    previous = read_lock(folder)
    locked = previous.dependencies if previous else {}
    runtime, unknown = resolve(_runtime_modules(plan), locked, package)
    tests, unknown_tests = resolve(_test_modules(plan), locked, package)
    tests = [d for d in tests if d not in runtime]
    files = format_files(
        render(
            RenderInput(
                plan, tuple(runtime), tuple(tests), _notebook_ref(options, folder)
            )
        )
    )
    lock = Lock(
        nb2prod_version=__version__,
        notebook=Path(os.path.relpath(options.notebook, folder)).as_posix(),
        notebook_hash=notebook.source_hash,
        files={path: sha256(text) for path, text in files.items()},
        dependencies={
            d.distribution: d.version for d in [*runtime, *tests] if d.version
        },
    )
    warnings = tuple(d for d in plan.diagnostics if d.severity is Severity.WARNING)
    return Generated(
        plan, folder, files, lock, warnings + _unknown(options, unknown + unknown_tests)
    )


def convert_static(options: Options) -> tuple[Generated, WriteReport]:
    """Generate the package and write it; the lock is written last."""
    generated = generate(options)
    report = plan_changes(
        generated.folder, generated.files, read_lock(generated.folder), options.force
    )
    write(report, generated.lock)
    return generated, report


def check(options: Options) -> tuple[Generated, list[StaleFile]]:
    """Files on disk that differ from what the notebook generates now."""
    generated = generate(options)
    previous = read_lock(generated.folder)
    expected = {**generated.files, LOCK_NAME: generated.lock.text()}
    obsolete = set(previous.files) - set(expected) if previous else set()
    stale = []
    for path in sorted(set(expected) | obsolete):
        on_disk = _read(generated.folder / path)
        wanted = expected.get(path)
        if on_disk != wanted:
            stale.append(StaleFile(path, unified_diff(path, on_disk, wanted)))
    return generated, stale


def diff(options: Options) -> tuple[Generated, WriteReport, str]:
    """What ``convert`` would change, as one unified diff; writes nothing."""
    generated = generate(options)
    report = plan_changes(
        generated.folder, generated.files, read_lock(generated.folder), True
    )
    texts = [
        unified_diff(c.path, c.old, c.new)
        for c in report.changes
        if c.fate in (Fate.CREATED, Fate.UPDATED, Fate.REMOVED)
    ]
    return generated, report, "".join(texts)


def unified_diff(path: str, old: str | None, new: str | None) -> str:
    """A git-style unified diff of one file; '' when equal."""
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        (new or "").splitlines(keepends=True),
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}" if new is not None else "/dev/null",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def analyse_cells(options: Options) -> tuple[Selection, list[CellAnalysis]]:
    """Read and analyse the notebook's cells, for ``nb2prod tags``."""
    notebook = read_notebook(options.notebook, options.max_bytes)
    selection = select(notebook, load_vocabulary())
    return selection, [analyse(notebook, cell) for cell in selection.cells]


class UntaggedNotebookError(NotebookError):
    """The notebook has no nb2prod tag at all (``check`` skips such notebooks)."""


def require_tags(selection: Selection) -> None:
    """Raise for bad tags, or when no cell is tagged."""
    if any(d.severity is Severity.ERROR for d in selection.diagnostics):
        raise ConversionError(list(selection.diagnostics))
    if not selection.tagged:
        raise UntaggedNotebookError(
            selection.notebook.path, "no cell has an nb2prod tag", TAG_HINT
        )


def artifact_names(
    path: Path, selection: Selection, cells: list[CellAnalysis]
) -> set[str]:
    """The artifact names shipped code reads; empty when planning fails."""
    try:
        plan = make_plan(selection.notebook, cells, "package", load_vocabulary())
    except ConversionError:
        return set()
    return {name for name, _ in plan.artifacts}


def _require_shipping_cells(selection: Selection) -> None:
    require_tags(selection)
    if not any(c.role is not None and c.role.ships_code for c in selection.tagged):
        raise NotebookError(
            selection.notebook.path,
            "no cell ships code: tag at least one cell nb2prod:export, nb2prod:feature "
            "or nb2prod:predict",
            TAG_HINT,
        )


def _runtime_modules(plan: PackagePlan) -> list[str]:
    # The artifacts loader reads joblib files.
    return [*plan.runtime_modules, *(["joblib"] if plan.artifacts else [])]


def _test_modules(plan: PackagePlan) -> list[str]:
    # Test fixtures are joblib files too.
    fixtures = any(test.fixtures for test in plan.tests)
    return ["pytest", *plan.test_modules, *(["joblib"] if fixtures else [])]


def _notebook_ref(options: Options, folder: Path) -> str:
    return Path(os.path.relpath(options.notebook, folder.parent)).as_posix()


def _unknown(options: Options, modules: list[str]) -> tuple[Diagnostic, ...]:
    from nb2prod.errors import Location, warning

    return tuple(
        warning(
            f"no installed distribution provides the module '{module}'; "
            "add it to the package's dependencies by hand",
            Location(options.notebook),
        )
        for module in sorted(set(modules))
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text("utf-8")
    except (
        FileNotFoundError,
        IsADirectoryError,
        NotADirectoryError,
        UnicodeDecodeError,
    ):
        return None


__all__ = ["Dependency", "Generated", "Options", "Role", "StaleFile"]
