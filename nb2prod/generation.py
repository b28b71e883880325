"""Generate a package in memory: read → select → analyse → plan → render → format."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod import __version__
from nb2prod.analysis.cache import analysed
from nb2prod.analysis.cells import CellAnalysis, Kind, hydrate
from nb2prod.errors import (
    ConversionError,
    Diagnostic,
    Location,
    NotebookError,
    Severity,
    UntaggedNotebookError,
    warning,
)
from nb2prod.notebook.read import read_notebook
from nb2prod.notebook.tags import Selection, select
from nb2prod.notebook.vocabulary import Role, load_vocabulary
from nb2prod.options import Options
from nb2prod.output.fastcheck import fingerprint
from nb2prod.output.lock import Lock, read_lock, sha256
from nb2prod.plan.artifacts import SavedArtifact, saved_artifacts
from nb2prod.plan.dependencies import resolve
from nb2prod.plan.naming import package_name
from nb2prod.plan.planner import PackagePlan, make_plan
from nb2prod.plan.serving import serving_plan
from nb2prod.render.formatting import format_files
from nb2prod.render.package import RenderInput, render
from nb2prod.run.execute import Recording

TAG_HINT = (
    "tag a cell in JupyterLab (property inspector → Cell Tags, e.g. nb2prod:export), "
    "or make `# nb2prod: export` its first line; `nb2prod tags` lists the tags"
)


@dataclass(frozen=True)
class Generated:
    """A package generated in memory."""

    #: The plan it was rendered from.
    plan: PackagePlan
    #: Every code cell, analysed.
    cells: tuple[CellAnalysis, ...]
    #: Where it belongs on disk.
    folder: Path
    #: Every file by relative path (bytes for files saved from a run), lock excluded.
    files: dict[str, str | bytes]
    #: The lock recording them.
    lock: Lock
    #: The lock on disk before, if any.
    previous: Lock | None
    #: Warnings from every stage.
    warnings: tuple[Diagnostic, ...]
    #: True when ``files`` holds the files of a new notebook run.
    from_run: bool

    @property
    def known(self) -> dict[str, str]:
        """Files nb2prod wrote last time that this generation may replace or remove."""
        if self.previous is None:
            return {}
        if not self.from_run:  # the last run's files stay as they are
            return dict(self.previous.files)
        return {**self.previous.files, **self.previous.recorded}


def generate(options: Options, recording: Recording | None = None) -> Generated:
    """Generate the package in memory, writing nothing.

    1. read the notebook (nbformat) and give each code cell its role;
    2. analyse every code cell with libcst;
    3. plan the package: modules, imports, API, artifacts, tests, config;
    4. resolve dependencies, reusing versions the lock records, pinning the
       libraries that wrote artifacts;
    5. render the templates and format the Python with black;
    6. add the files a notebook run saved, and record every hash in the lock.
    """
    vocabulary = load_vocabulary()
    notebook = read_notebook(options.notebook, options.max_bytes)
    selection = select(notebook, vocabulary)
    notebook = selection.notebook  # with the hash of what generation reads
    _require_shipping_cells(selection)
    cells = _with_nodes_where_needed([analysed(notebook, c) for c in selection.cells])
    package = package_name(options.notebook, options.name)
    folder = (options.out or options.notebook.parent) / package
    previous = read_lock(folder)
    plan = make_plan(notebook, list(cells), package, vocabulary, selection.diagnostics)
    overrides = _overrides(options, previous)
    plan, unused = _with_parameters(plan, overrides)
    pinned = (
        dict(recording.libraries)
        if recording
        else dict(previous.pinned if previous else {})
    )
    locked = previous.dependencies if previous else {}
    signatures = (
        recording.signatures if recording else (previous.signatures if previous else {})
    )
    contract = (
        recording.contract if recording else (previous.contract if previous else {})
    )
    saved = saved_artifacts(
        [name for name, _ in plan.artifacts],
        recording.artifacts if recording else (previous.artifacts if previous else {}),
    )
    modules = _runtime_modules(plan, contract, saved)
    owners = previous.modules if previous else {}
    runtime, unknown = resolve(modules, locked, package, pinned, owners)
    tests, unknown_tests = resolve(_test_modules(plan), locked, package, owners=owners)
    tests = [
        d for d in tests if d.distribution not in {r.distribution for r in runtime}
    ]
    # Recorded once, like versions: check must not depend on who runs it.
    python = (previous.python if previous else "") or _running_python()
    rendered = render(
        RenderInput(
            plan,
            tuple(runtime),
            tuple(tests),
            _notebook_ref(options, folder),
            signatures,
            contract,
            python,
            saved,
        )
    )
    files: dict[str, str | bytes] = dict(format_files(rendered))
    generated_hashes = {path: sha256(text) for path, text in files.items()}
    if recording is not None:
        run_files = recorded_files(recording, package)
        files.update(run_files)
        recorded = {path: sha256(data) for path, data in run_files.items()}
    else:
        recorded = previous.recorded if previous else {}
    lock = Lock(
        nb2prod_version=__version__,
        notebook=Path(os.path.relpath(options.notebook, folder)).as_posix(),
        notebook_hash=notebook.source_hash,
        generator=fingerprint(),
        files=generated_hashes,
        dependencies={
            d.distribution: d.version for d in [*runtime, *tests] if d.version
        },
        modules={m: d.distribution for d in [*runtime, *tests] for m in d.modules},
        python=python,
        recorded=recorded,
        pinned={k: v for k, v in sorted(pinned.items())},
        parameters=dict(overrides),
        signatures=dict(signatures),
        contract=dict(contract),
        artifacts={
            name: {"format": s.format, "trusted": list(s.trusted)}
            for name, s in saved.items()
        },
    )
    warnings = tuple(d for d in plan.diagnostics if d.severity is Severity.WARNING)
    warnings += _unknown(options, unknown + unknown_tests) + _unused(options, unused)
    return Generated(
        plan, cells, folder, files, lock, previous, warnings, recording is not None
    )


def _running_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _with_nodes_where_needed(cells: list[CellAnalysis]) -> tuple[CellAnalysis, ...]:
    """Re-parse the cells whose code the renderer rewrites (a cache hit has no nodes).

    Rewritten are: test cells (they become functions), public functions that lack
    annotations, and statements reading a name an artifact cell assigns.
    """
    artifacts = {
        name
        for cell in cells
        if cell.cell.role is Role.ARTIFACT
        for statement in cell.statements
        for name in statement.binds
    }
    return tuple(
        hydrate(cell) if _rewritten(cell, artifacts) else cell for cell in cells
    )


def _rewritten(cell: CellAnalysis, artifacts: set[str]) -> bool:
    if cell.cell.role is Role.TEST:
        return True
    return any(
        (s.kind is Kind.FUNCTION and not s.annotated and not s.binds[0].startswith("_"))
        or any(use.name in artifacts for use in s.uses)
        for s in cell.statements
    )


def recorded_files(recording: Recording, package: str) -> dict[str, bytes]:
    """The files a run saved, by their path in the package."""
    places = {
        "artifacts": f"src/{package}/artifacts",
        "cases": "tests/cases",
        "fixtures": "tests/fixtures",
    }
    files: dict[str, bytes] = {}
    for folder, target in places.items():
        root = recording.folder / folder
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if path.is_file():
                files[f"{target}/{path.relative_to(root).as_posix()}"] = (
                    path.read_bytes()
                )
    return files


def analyse_cells(options: Options) -> tuple[Selection, list[CellAnalysis]]:
    """Read and analyse the notebook's cells, for ``nb2prod tags``."""
    notebook = read_notebook(options.notebook, options.max_bytes)
    selection = select(notebook, load_vocabulary())
    return selection, [analysed(notebook, cell) for cell in selection.cells]


def require_tags(selection: Selection) -> None:
    """Raise for bad tags, or when no cell is tagged."""
    if any(d.severity is Severity.ERROR for d in selection.diagnostics):
        raise ConversionError(list(selection.diagnostics))
    if not selection.tagged:
        raise UntaggedNotebookError(
            selection.notebook.path, "no cell has an nb2prod tag", TAG_HINT
        )


def artifact_names(selection: Selection, cells: list[CellAnalysis]) -> set[str]:
    """The artifact names shipped code reads; empty when planning fails."""
    try:
        plan = make_plan(selection.notebook, cells, "package", load_vocabulary())
    except ConversionError:
        return set()
    return {name for name, _ in plan.artifacts}


def _overrides(options: Options, previous: Lock | None) -> dict[str, str]:
    if options.parameters is not None:
        return dict(options.parameters)
    return dict(previous.parameters) if previous else {}


def _with_parameters(
    plan: PackagePlan, overrides: Mapping[str, str]
) -> tuple[PackagePlan, list[str]]:
    config = tuple(
        dataclasses.replace(c, literal=overrides[c.name]) if c.name in overrides else c
        for c in plan.config
    )
    unused = sorted(set(overrides) - {c.name for c in plan.config})
    return dataclasses.replace(plan, config=config), unused


def _require_shipping_cells(selection: Selection) -> None:
    require_tags(selection)
    if not any(c.role is not None and c.role.ships_code for c in selection.tagged):
        raise NotebookError(
            selection.notebook.path,
            "no cell ships code: tag at least one cell nb2prod:export, nb2prod:feature "
            "or nb2prod:predict",
            TAG_HINT,
        )


def _runtime_modules(
    plan: PackagePlan, contract: Mapping[str, Any], saved: Mapping[str, SavedArtifact]
) -> list[str]:
    # The artifacts loader reads skops and joblib files; batch scoring reads with pandas.
    batch = plan.predict is not None and serving_plan(contract) is not None
    return [
        *plan.runtime_modules,
        *sorted({s.format for s in saved.values()}),
        *(["pandas"] if batch else []),
    ]


def _test_modules(plan: PackagePlan) -> list[str]:
    # Test fixtures are joblib files too.
    fixtures = any(test.fixtures for test in plan.tests)
    return ["pytest", *plan.test_modules, *(["joblib"] if fixtures else [])]


def _notebook_ref(options: Options, folder: Path) -> str:
    return Path(os.path.relpath(options.notebook, folder.parent)).as_posix()


def _unknown(options: Options, modules: list[str]) -> tuple[Diagnostic, ...]:
    return tuple(
        warning(
            f"no installed distribution provides the module '{module}'; "
            "add it to the package's dependencies by hand",
            Location(options.notebook),
        )
        for module in sorted(set(modules))
    )


def _unused(options: Options, names: list[str]) -> tuple[Diagnostic, ...]:
    return tuple(
        warning(
            f"-p {name}: the parameters cell has no literal assignment of '{name}'",
            Location(options.notebook),
        )
        for name in names
    )
