"""The commands' work: convert, check, diff, verify and tags, each a short run of stages."""

from __future__ import annotations

import dataclasses
import difflib
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nb2prod.errors import (
    ConversionError,
    Diagnostic,
    Location,
    Nb2ProdError,
    NotebookError,
    Severity,
    UntaggedNotebookError,
    error,
)
from nb2prod.generation import Generated, Prepared, RunFacts, prepare, render_package
from nb2prod.notebook.read import Notebook, read_notebook
from nb2prod.output.lock import LOCK_NAME, sha256
from nb2prod.output.paths import contained
from nb2prod.output.writing import (
    Fate,
    WriteReport,
    plan_changes,
    refuse_edited,
    require_writable,
    write,
)
from nb2prod.plan.planner import PackagePlan
from nb2prod.run import behaviour
from nb2prod.run.behaviour import BehaviourDiff
from nb2prod.run.environment import clean_environment
from nb2prod.run.execute import Progress, Recording, execute
from nb2prod.run.interfaces import replay_interfaces, spark_can_run
from nb2prod.run.replay import VerifyReport, replay
from nb2prod.settings import Job
from nb2prod.standalone.compare import Tolerance


@dataclass(frozen=True)
class StaleFile:
    """A file on disk that is not what the notebook generates now."""

    #: Path relative to the package folder.
    path: str
    #: A unified diff from disk to the generated content.
    diff: str


@dataclass(frozen=True)
class Proof:
    """A package written (or found) and the replay of the notebook's calls against it."""

    #: The notebook selected, analysed and planned.
    prepared: Prepared
    #: What was generated and written (None for verify, which renders nothing).
    generated: Generated | None
    #: What happened to each file (None for verify, which writes nothing).
    written: WriteReport | None
    #: What the notebook run recorded.
    recording: Recording
    #: The replay.
    report: VerifyReport
    #: What changed against the package convert replaced (None: verify, first convert).
    behaviour: BehaviourDiff | None = None

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """Warnings from every stage that ran."""
        return self.generated.warnings if self.generated else self.prepared.warnings


def convert_static(job: Job) -> tuple[Generated, WriteReport]:
    """Generate the package from the notebook and the last run's lock, and write it."""
    generated = generate(job, read_notebook(job.notebook, job.max_bytes))
    report = plan_changes(generated.folder, generated.files, generated.known, job.force)
    write(report, generated.lock)
    return generated, report


def generate(job: Job, notebook: Notebook) -> Generated:
    """The package in memory, from the notebook and what the lock says of the last run."""
    prepared = prepare(job, notebook)
    return render_package(prepared, RunFacts.from_lock(prepared.previous, job))


def convert(job: Job, progress: Progress | None = None) -> Proof:
    """Run the notebook, write the package with what it recorded, replay and compare.

    1. read the notebook once; select, analyse and plan it;
    2. refuse early when files the lock records were edited since (unless --force);
    3. run an instrumented copy of that same read with papermill (in a temporary folder);
    4. require a recorded call of every feature and predict function;
    5. render the package once, with the run's facts (artifacts, cases, fixtures,
       pinned versions, contract); write everything, the lock last;
    6. replay the recorded calls against the written package in a fresh process,
       in its clean environment unless ``--isolation none``, then predict's
       through its interfaces (HTTP, batch, Spark) in that same environment.
    """
    prepared = prepare(job, read_notebook(job.notebook, job.max_bytes))
    require_writable(job.folder)
    refuse_edited(job.folder, prepared.previous, job.force)
    before = RunFacts.from_lock(prepared.previous, job)
    # Read before the run overwrites them: the old code, artifacts and cases.
    old = behaviour.before(job.folder, job.package) if prepared.previous else None
    with _run_folder(job.folder) as folder:
        recording = _run(prepared, folder, before, progress)
        generated = render_package(prepared, before.with_run(recording, job.package))
        written = plan_changes(
            generated.folder, generated.files, generated.known, job.force
        )
        write(written, generated.lock)
        keep_executed(recording, generated.folder)
    with ThreadPoolExecutor(max_workers=1) as pool:  # two child processes at once
        moving = None
        if old is not None:
            moving = pool.submit(
                behaviour.compare_with, old, job.folder, job.package, before.tolerance
            )
        report = replay_in(prepared, job.folder / "tests" / "cases", before.tolerance)
        moved = moving.result() if moving is not None else None
    return Proof(prepared, generated, written, recording, report, moved)


def verify(job: Job, progress: Progress | None = None) -> Proof:
    """Run the notebook again and replay its calls against the package on disk.

    Nothing is rendered or written: the package on disk is what is checked.
    """
    prepared = prepare(job, read_notebook(job.notebook, job.max_bytes))
    if prepared.previous is None:
        raise Nb2ProdError(
            f"{job.folder}: no package generated by nb2prod here; "
            f"run `nb2prod convert {job.notebook}` first"
        )
    facts = RunFacts.from_lock(prepared.previous, job)
    with _run_folder(job.folder) as folder:
        recording = _run(prepared, folder, facts, progress)
        keep_executed(recording, job.folder)  # for build/review.html
        report = replay_in(prepared, recording.folder / "cases", facts.tolerance)
    return Proof(prepared, None, None, recording, report)


def replay_in(prepared: Prepared, cases: Path, tolerance: Tolerance) -> VerifyReport:
    """Replay ``cases`` against the package on disk, where ``job.isolation`` says (in
    its clean environment, built or reused, or with nb2prod's own Python): the direct
    calls, and predict's through the package's interfaces (HTTP, batch, Spark)."""
    job = prepared.job
    if job.isolation == "none":
        python, src = Path(sys.executable), job.folder / "src"
        return _replay_both(prepared, cases, tolerance, python, src, clean=False)
    spark = "spark" in job.interfaces and spark_can_run()
    keep = job.cache_environments
    with clean_environment(job.folder, spark=spark, keep=keep) as environment:
        return _replay_both(
            prepared, cases, tolerance, environment.python, environment.site,
            clean=True,
        )  # fmt: skip


def _replay_both(
    prepared: Prepared,
    cases: Path,
    tolerance: Tolerance,
    python: Path,
    site: Path,
    *,
    clean: bool,
) -> VerifyReport:
    """The direct calls and the interfaces' replayed side by side, by ``python`` with
    the package importable from ``site``: two child processes that spend most of
    their time importing, so the second costs little on a second core."""
    job, predict = prepared.job, prepared.plan.predict
    with ThreadPoolExecutor(max_workers=1) as pool:
        through = None
        if predict is not None and job.interfaces:
            through = pool.submit(
                replay_interfaces, python, site, job.package, predict.name, cases,
                tolerance, job.interfaces, clean=clean,
            )  # fmt: skip
        report = replay(
            site, job.package, cases, tolerance, python, clean=clean, folder=job.folder
        )
        interfaces = through.result() if through is not None else ()
    return dataclasses.replace(report, interfaces=interfaces)


@dataclass(frozen=True)
class Inspection:
    """What ``convert`` would say about a notebook before running it."""

    #: Every located problem and warning, errors included, in notebook order.
    diagnostics: tuple[Diagnostic, ...]
    #: The artifact names shipped code reads; empty when planning failed.
    artifacts: frozenset[str]
    #: A problem with the notebook as a whole (no cell ships code), or None.
    refusal: NotebookError | None = None
    #: The plan, for what each statement ships; None when planning failed.
    plan: PackagePlan | None = None

    @property
    def failed(self) -> bool:
        """True when ``convert`` would stop."""
        errors = (d for d in self.diagnostics if d.severity is Severity.ERROR)
        return self.refusal is not None or any(errors)


def inspect(job: Job, notebook: Notebook) -> Inspection:
    """``nb2prod tags``: :func:`prepare` as ``convert`` runs it, keeping every problem."""
    try:
        prepared = prepare(job, notebook)
    except ConversionError as exc:
        return Inspection(_in_order(exc.diagnostics), frozenset())
    except NotebookError as exc:
        if isinstance(exc, UntaggedNotebookError):
            raise
        return Inspection((), frozenset(), exc)
    artifacts = frozenset(name for name, _ in prepared.plan.artifacts)
    return Inspection(_in_order(prepared.warnings), artifacts, plan=prepared.plan)


def _in_order(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    def key(diagnostic: Diagnostic) -> tuple[int, int]:
        where = diagnostic.location
        return (where.cell or 0, where.line or 0)

    return tuple(sorted(diagnostics, key=key))


def check(job: Job, notebook: Notebook) -> tuple[Generated, list[StaleFile]]:
    """Files on disk that differ from what the notebook generates now."""
    generated = generate(job, notebook)
    expected: dict[str, str | bytes] = {
        **generated.files,
        LOCK_NAME: generated.lock.text(),
    }
    previous = generated.prepared.previous
    obsolete = set(previous.files) - set(expected) if previous else set()
    stale = []
    for path in sorted(set(expected) | obsolete):
        on_disk = _read(contained(generated.folder, path))
        wanted = expected.get(path)
        if on_disk != wanted:
            stale.append(
                StaleFile(path, unified_diff(path, _text(on_disk), _text(wanted)))
            )
    return generated, stale + _changed_since_run(generated)


def _changed_since_run(generated: Generated) -> list[StaleFile]:
    """Files the last run saved (artifacts, cases, fixtures) that are not what it saved.

    Their manifest cannot tell: whoever swaps a file can rewrite its entry too. The
    lock recorded each file's hash when the notebook ran.
    """
    stale = []
    for path, digest in sorted(generated.lock.recorded.items()):
        on_disk = _read(contained(generated.folder, path))
        found = None if on_disk is None else sha256(on_disk)
        if found != digest:
            what = "is missing" if found is None else f"has SHA-256 {found}"
            stale.append(
                StaleFile(
                    path,
                    f"{path}: {what}, but nb2prod.lock recorded {digest} when the "
                    "notebook ran\n",
                )
            )
    return stale


def diff(job: Job) -> tuple[Generated, WriteReport, str]:
    """What ``convert --no-execute`` would change, as one unified diff; writes nothing."""
    generated = generate(job, read_notebook(job.notebook, job.max_bytes))
    report = plan_changes(generated.folder, generated.files, generated.known, True)
    texts = [
        unified_diff(c.path, _text(c.old), _text(c.new))
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


def keep_executed(recording: Recording, folder: Path) -> Path:
    """Keep the executed notebook under the package's build folder, for debugging."""
    target = contained(folder, f"build/{recording.executed.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(recording.executed, target)
    return target


def _run(
    prepared: Prepared, folder: Path, facts: RunFacts, progress: Progress | None
) -> Recording:
    """Run the notebook with the facts' parameters; every public function must be called."""
    run = prepared.job.run_options(facts.parameters)
    recording = execute(prepared.plan, prepared.cells, folder, run, progress)
    _require_calls(prepared.plan, recording)
    return recording


def _require_calls(plan: PackagePlan, recording: Recording) -> None:
    problems = []
    for function in plan.public:
        if recording.calls.get(function.name):
            continue
        cell = function.cell.cell.cell
        line = next(
            s.first_line
            for s in function.cell.statements
            if s.binds[:1] == (function.name,)
        )
        problems.append(
            error(
                f"{function.role.value} function '{function.name}' was never called while "
                "the notebook ran, so nothing proves the package computes the same",
                Location(plan.notebook.path, cell.number, cell.id, line),
                f"call {function.name}(...) once in an untagged cell after its definition",
            )
        )
    if problems:
        raise ConversionError(problems)


@contextmanager
def _run_folder(package: Path) -> Iterator[Path]:
    # In the system's temporary folder: what a killed run leaves behind (recorded
    # data included) never lands beside, or inside, a package that gets committed.
    with tempfile.TemporaryDirectory(prefix=f"nb2prod-{package.name}.run-") as folder:
        yield Path(folder)


def _text(content: str | bytes | None) -> str | None:
    if isinstance(content, bytes):
        return f"<{len(content)} bytes>\n"
    return content


def _read(path: Path) -> str | bytes | None:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data
