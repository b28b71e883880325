"""The package in memory: prepare (select → analyse → plan), then decide and render.

:func:`prepare` needs only the notebook; :func:`render_package` also needs the
:class:`RunFacts`, which come either from a run that just happened or from the
lock the last run left. Each runs once per command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nb2prod import __version__
from nb2prod.analysis.cache import analysed_all
from nb2prod.analysis.cells import CellAnalysis, Kind, hydrate
from nb2prod.analysis.entries import trim
from nb2prod.errors import (
    ConversionError,
    Diagnostic,
    Location,
    NotebookError,
    Severity,
    UntaggedNotebookError,
    warning,
)
from nb2prod.notebook.read import Notebook
from nb2prod.notebook.tags import Selection, select
from nb2prod.notebook.vocabulary import Role, load_vocabulary
from nb2prod.output.fastcheck import fingerprint
from nb2prod.output.lock import Lock, read_lock, sha256
from nb2prod.plan.artifacts import SavedArtifact, saved_artifacts
from nb2prod.plan.dependencies import (
    Dependency,
    refuse_shadowing,
    rendered_imports,
    resolve,
)
from nb2prod.plan.learned import learned_entries, learned_values, with_learned_artifacts
from nb2prod.plan.local_modules import find_local_modules
from nb2prod.plan.naming import package_name
from nb2prod.plan.pickled import saved_modules
from nb2prod.plan.planner import PackagePlan, make_plan
from nb2prod.plan.serving import ServingPlan, serving_plan, spark_plan
from nb2prod.render.formatting import format_files
from nb2prod.render.model import RenderInput
from nb2prod.render.package import render
from nb2prod.run.execute import Recording, recorded_files
from nb2prod.settings import DEFAULT_TOLERANCE, Job, settings_for
from nb2prod.standalone.compare import Tolerance

TAG_HINT = (
    "tag a cell in JupyterLab (property inspector → Cell Tags, e.g. nb2prod:export), "
    "or make `# nb2prod: export` its first line; `nb2prod tags` lists the tags"
)


@dataclass(frozen=True)
class RunFacts:
    """What a notebook run established, from the run itself or from the lock it left."""

    #: Per function, the annotations its calls showed (positional, keywords, returns).
    signatures: Mapping[str, Any]
    #: The data contract of the predict function (input, output, examples).
    contract: Mapping[str, Any]
    #: Exact versions of the libraries whose objects the artifacts hold.
    pinned: Mapping[str, str]
    #: ``-p NAME VALUE`` overrides of the run, as Python literals.
    parameters: Mapping[str, str]
    #: The tolerance the package's tests and ``verify`` compare with.
    tolerance: Tolerance
    #: SHA-256 of every file the run saved, by path in the package.
    recorded: Mapping[str, str]
    #: How each artifact was saved (file, format, trusted types).
    artifacts: Mapping[str, Any]
    #: Those files' contents when the run just happened; None leaves the files on disk.
    saved: Mapping[str, bytes] | None = None
    #: Values learned from the notebook's data: per name ``{"literal": text}`` or
    #: ``{"artifact": true}``; from a lock, also the ``expression`` that computed it.
    learned: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_lock(cls, lock: Lock | None, job: Job) -> RunFacts:
        """The last run's facts, with the parameters and tolerance the job gives."""
        if lock is None:
            lock = Lock(nb2prod_version="", notebook="", notebook_hash="")
        return cls(
            signatures=lock.signatures,
            contract=lock.contract,
            pinned=lock.pinned,
            parameters=lock.parameters if job.parameters is None else job.parameters,
            tolerance=job.tolerance or lock.tolerance or DEFAULT_TOLERANCE,
            recorded=lock.recorded,
            artifacts=lock.artifacts,
            learned=lock.learned,
        )

    def with_run(self, recording: Recording, package: str) -> RunFacts:
        """These facts updated by a run that just happened; its files replace the last's."""
        saved = recorded_files(recording, package)
        return replace(
            self,
            signatures=recording.signatures,
            contract=recording.contract,
            pinned=recording.libraries,
            artifacts=recording.artifacts,
            recorded={path: sha256(data) for path, data in saved.items()},
            saved=saved,
            learned=recording.learned,
        )


@dataclass(frozen=True)
class Prepared:
    """A notebook selected, analysed and planned: everything that needs no run."""

    #: What was asked.
    job: Job
    #: The tagged cells and the content hash of what generation reads.
    selection: Selection
    #: Every code cell, analysed.
    cells: tuple[CellAnalysis, ...]
    #: The package plan, before the run's facts.
    plan: PackagePlan
    #: The lock on disk, if any.
    previous: Lock | None
    #: Warnings from selecting and planning.
    warnings: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Generated:
    """A package generated in memory."""

    #: What it was generated from.
    prepared: Prepared
    #: The final plan (the job's parameters applied).
    plan: PackagePlan
    #: Every file by relative path (bytes for files saved from a run), lock excluded.
    files: dict[str, str | bytes]
    #: The lock recording them.
    lock: Lock
    #: Warnings from every stage.
    warnings: tuple[Diagnostic, ...]
    #: Files nb2prod wrote last time that this generation may replace or remove.
    known: dict[str, str]

    @property
    def folder(self) -> Path:
        """Where the package belongs on disk."""
        return self.prepared.job.folder


def prepare(job: Job, notebook: Notebook) -> Prepared:
    """Select, analyse and plan the notebook read for ``job``: each code cell's role
    (tags from ``cell_tags/``, bad tags refused), its analysis (cached on disk), then
    the package's modules, imports, API, artifacts, tests and config.
    """
    vocabulary = load_vocabulary()
    selection = select(notebook, vocabulary)
    _require_shipping_cells(selection)
    package_name(job.notebook, job.requested_name)  # a valid name, or a clear error
    refuse_shadowing(job.package, job.notebook, job.requested_name is not None)
    cells = _with_nodes_where_needed(analysed_all(notebook, selection.cells))
    local = find_local_modules(notebook, cells)
    plan = make_plan(
        notebook, list(cells), job.package, vocabulary, selection.diagnostics, local
    )
    warnings = tuple(d for d in plan.diagnostics if d.severity is Severity.WARNING)
    return Prepared(job, selection, cells, plan, read_lock(job.folder), warnings)


def render_package(prepared: Prepared, facts: RunFacts) -> Generated:
    """Decide what the run's facts imply, render once, and record it all in the lock.

    1. apply the parameters to the config;
    2. decide serving, Spark and the run-time modules from predict's contract;
    3. resolve dependencies, reusing versions the lock records, pinning the
       libraries that wrote artifacts;
    4. render the templates and format the Python with black;
    5. add the files the run saved, and record every hash in the lock.
    """
    job, previous = prepared.job, prepared.previous
    plan, unused = _with_parameters(prepared.plan, facts.parameters)
    learned = learned_values(plan, facts.learned, facts.artifacts, job.notebook)
    plan = with_learned_artifacts(plan, learned)
    serving = serving_plan(facts.contract) if plan.predict else None
    saved = saved_artifacts([name for name, _ in plan.artifacts], facts.artifacts)
    locked = previous.dependencies if previous else {}
    owners = previous.modules if previous else {}
    loaded, fixtures = saved_modules(facts.saved, facts.recorded, job.folder, owners)
    needed = [*_runtime_modules(plan, saved, serving), *loaded]
    needed_tests = [*_test_modules(plan), *fixtures]
    # Recorded once, like versions: check must not depend on who runs it.
    python = (previous.python if previous else "") or _running_python()
    for _ in range(2):  # once more when the rendered code imports more than planned
        runtime, unknown = resolve(needed, locked, job.package, facts.pinned, owners)
        tests, unknown_tests = resolve(needed_tests, locked, job.package, None, owners)
        tests = [
            d for d in tests if d.distribution not in {r.distribution for r in runtime}
        ]
        rendered = render(
            RenderInput(
                plan=plan,
                dependencies=tuple(runtime),
                test_dependencies=tuple(tests),
                notebook_ref=_relative(job.notebook, job.folder.parent),
                notebook_hash=prepared.selection.tagged_hash,
                signatures=facts.signatures,
                serving=serving,
                spark=spark_plan(serving),
                tolerance=facts.tolerance,
                python=python,
                artifacts=saved,
                learned=learned,
                regenerate=regenerate_options(job),
            )
        )
        files: dict[str, str | bytes] = dict(format_files(rendered))
        imported = rendered_imports(files, job.package, plan.modules, owners)
        if not (more := sorted(set(imported) - set(needed))):
            break
        needed += more
    lock = replace(
        _lock(prepared, facts, files, [*runtime, *tests], python, saved),
        learned=learned_entries(plan, learned),
        sources={
            _relative(m.path, job.folder): sha256(m.text) for m in plan.local_modules
        },
    )
    files.update(facts.saved or {})
    warnings = prepared.warnings + _unknown(job, unknown + unknown_tests)
    warnings += _unused(job, unused)
    known = dict(previous.files) if previous else {}
    if previous and facts.saved is not None:  # the new run's files replace the last's
        known.update(previous.recorded)
    trim(job.cache_bytes)  # after the last store (black's), when anything was stored
    return Generated(prepared, plan, files, lock, warnings, known)


def _lock(
    prepared: Prepared,
    facts: RunFacts,
    files: Mapping[str, str | bytes],
    dependencies: list[Dependency],
    python: str,
    saved: Mapping[str, SavedArtifact],
) -> Lock:
    job = prepared.job
    return Lock(
        nb2prod_version=__version__,
        notebook=_relative(job.notebook, job.folder),
        notebook_hash=prepared.selection.content_hash,
        generator=fingerprint(),
        files={path: sha256(text) for path, text in files.items()},
        dependencies={d.distribution: d.version for d in dependencies if d.version},
        modules={m: d.distribution for d in dependencies for m in d.modules},
        python=python,
        recorded=dict(facts.recorded),
        pinned=dict(sorted(facts.pinned.items())),
        parameters=dict(facts.parameters),
        signatures=dict(facts.signatures),
        contract=dict(facts.contract),
        tolerance=facts.tolerance,
        artifacts={
            name: {"format": s.format, "trusted": list(s.trusted)}
            for name, s in saved.items()
        },
    )


def regenerate_options(job: Job) -> tuple[str, ...]:
    """The options ``convert`` needs to make this package again, run from the folder
    that holds it: ``--out .`` and ``--name`` unless the defaults (or the project's
    [tool.nb2prod] table) give the same. Derived from the job, never from the working
    folder, so ``check`` renders the same text wherever it runs."""
    settings = settings_for(job.notebook)
    options: list[str] = []
    default_out = settings.out or job.notebook.parent
    if job.folder.parent.resolve() != default_out.resolve():
        options += ["--out", "."]
    if job.requested_name is not None and job.requested_name != settings.name:
        options += ["--name", job.requested_name]
    return tuple(options)


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


def analyse_cells(notebook: Notebook) -> tuple[Selection, list[CellAnalysis]]:
    """Select and analyse the notebook's cells, for ``nb2prod tags``."""
    selection = select(notebook, load_vocabulary())
    return selection, analysed_all(notebook, selection.cells)


def require_tags(selection: Selection) -> None:
    """Raise for bad tags, or when no cell is tagged."""
    if any(d.severity is Severity.ERROR for d in selection.diagnostics):
        raise ConversionError(list(selection.diagnostics))
    if not selection.tagged:
        raise UntaggedNotebookError(
            selection.notebook.path, "no cell has an nb2prod tag", TAG_HINT
        )


def _with_parameters(
    plan: PackagePlan, overrides: Mapping[str, str]
) -> tuple[PackagePlan, list[str]]:
    config = tuple(
        replace(c, literal=overrides[c.name]) if c.name in overrides else c
        for c in plan.config
    )
    unused = sorted(set(overrides) - {c.name for c in plan.config})
    return replace(plan, config=config), unused


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
    plan: PackagePlan, saved: Mapping[str, SavedArtifact], serving: ServingPlan | None
) -> list[str]:
    # Artifacts load with skops/joblib, batch reads with pandas, arrays serve as numpy.
    return [
        *plan.runtime_modules,
        *sorted({s.format for s in saved.values()}),
        *(["pandas"] if serving else []),
        *(["numpy"] if serving and serving.kind == "array" else []),
    ]


def _test_modules(plan: PackagePlan) -> list[str]:
    # Test fixtures are joblib files too.
    fixtures = any(test.fixtures for test in plan.tests)
    return ["pytest", *plan.test_modules, *(["joblib"] if fixtures else [])]


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def _unknown(job: Job, modules: list[str]) -> tuple[Diagnostic, ...]:
    return tuple(
        warning(
            f"no installed distribution provides the module '{module}'; "
            "add it to the package's dependencies by hand",
            Location(job.notebook),
        )
        for module in sorted(set(modules))
    )


def _unused(job: Job, names: list[str]) -> tuple[Diagnostic, ...]:
    return tuple(
        warning(
            f"-p {name}: the parameters cell has no literal assignment of '{name}'",
            Location(job.notebook),
        )
        for name in names
    )
