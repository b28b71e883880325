"""Run the instrumented notebook with papermill and collect what it recorded."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.analysis.cells import CellAnalysis
from nb2prod.errors import Nb2ProdError, NotebookRunError
from nb2prod.plan.planner import PackagePlan
from nb2prod.run.instrument import CELL_NUMBER, INJECTED, instrument
from nb2prod.settings import RunOptions

#: Called after each code cell ran, with (cells done, cells in all).
Progress = Callable[[int, int], None]

_LAUNCH = (sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Recording:
    """What one instrumented run of the notebook recorded."""

    #: Folder with ``cases/``, ``fixtures/``, ``artifacts/`` and ``recording.json``.
    folder: Path
    #: The executed copy of the instrumented notebook.
    executed: Path
    #: How often each recorded function was called.
    calls: dict[str, int]
    #: How many calls of each function were stored as cases.
    stored: dict[str, int]
    #: Values the recorder could not store.
    warnings: tuple[str, ...]
    #: Versions of the libraries whose objects the artifacts hold.
    libraries: dict[str, str]
    #: Wall time of the run.
    seconds: float
    #: Per function, the annotations its calls showed (positional, keywords, returns).
    signatures: dict[str, Any]
    #: The data contract of the predict function (input, output, examples).
    contract: dict[str, Any]
    #: How each artifact was saved: its file, format (skops or joblib) and, for
    #: skops, the types it holds beyond skops' own trusted ones.
    artifacts: dict[str, Any] = field(default_factory=dict)
    #: Each learned value: ``{"literal": text}``, or ``{"artifact": true}`` when it
    #: was saved with the artifacts.
    learned: dict[str, Any] = field(default_factory=dict)


def execute(
    plan: PackagePlan,
    cells: Sequence[CellAnalysis],
    folder: Path,
    options: RunOptions,
    progress: Progress | None = None,
) -> Recording:
    """Run the notebook's instrumented copy in ``folder``; the user's file is only read."""
    import nbformat  # these are slow to import, and only runs need them
    import papermill
    from papermill.exceptions import PapermillExecutionError

    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "instrumented.ipynb"
    executed = folder / f"{plan.notebook.path.stem}.executed.ipynb"
    notebook = instrument(plan, cells, folder / "recorded", options.limits)
    nbformat.write(notebook, str(source))  # type: ignore[no-untyped-call]
    total = sum(1 for cell in notebook.cells if cell.cell_type == "code")
    started = time.perf_counter()
    with _kernel(options.kernel) as kernel_name, _quiet_after_interrupt():
        try:
            papermill.execute_notebook(
                str(source),
                str(executed),
                parameters=dict(options.parameters),
                kernel_name=kernel_name,
                progress_bar=False,
                request_save_on_cell_execute=False,
                cwd=str(plan.notebook.path.parent.resolve()),
                execution_timeout=options.cell_timeout,
                on_cell_executed=_progress_hook(progress, total),
            )
        except PapermillExecutionError as exc:
            raise _run_error(plan, executed, exc) from None
        except Exception as exc:  # the kernel could not start, or died
            raise Nb2ProdError(
                f"{plan.notebook.path.name}: the notebook could not run: "
                f"{type(exc).__name__}: {_first_line(exc)}"
            ) from None
    return _recording(folder / "recorded", executed, time.perf_counter() - started)


def _progress_hook(progress: Progress | None, total: int) -> Callable[..., None] | None:
    if progress is None:
        return None
    done = [0]

    def hook(**_: Any) -> None:
        done[0] += 1
        progress(done[0], total)

    return hook


@contextmanager
def _quiet_after_interrupt() -> Iterator[None]:
    """Once Ctrl-C arrives, drop papermill's log (nbclient logs through it).

    The interrupt leaves nbclient's cell task waiting on a kernel that papermill
    then shuts down, and the task logs "Kernel died while waiting for execute
    reply" on the way out; the CLI's one line says what happened. Nothing changes
    where Ctrl-C is ignored (a background job) or off the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield
        return
    interrupted = threading.Event()

    def interrupt(number: int, frame: Any) -> None:
        interrupted.set()
        signal.default_int_handler(number, frame)

    def drop(_: logging.LogRecord) -> bool:
        return not interrupted.is_set()

    log = logging.getLogger("papermill")
    log.addFilter(drop)
    signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        log.removeFilter(drop)


@contextmanager
def _kernel(name: str | None) -> Iterator[str]:
    """The kernel to run: ``name``, or one that runs this very Python environment."""
    if name is not None:
        yield name
        return
    with tempfile.TemporaryDirectory(prefix="nb2prod-kernel-") as root:
        spec = Path(root) / "kernels" / "nb2prod-python"
        spec.mkdir(parents=True)
        kernel = {
            # The kernel's own log means nothing to users: start-up warnings (e.g. about
            # transport), and the ZMQ traceback it logs when Ctrl-C stops nb2prod
            # while a cell runs. The notebook's own errors come back as outputs.
            "argv": [*_LAUNCH, "--IPKernelApp.log_level=CRITICAL"],
            "display_name": "nb2prod (this environment)",
            "language": "python",
        }
        (spec / "kernel.json").write_text(json.dumps(kernel), "utf-8")
        previous = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [root, previous]))
        try:
            yield "nb2prod-python"
        finally:
            if previous is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = previous


def _run_error(plan: PackagePlan, executed: Path, exc: Any) -> NotebookRunError:
    """Name the user's cell that raised, not a position in the instrumented copy."""
    traceback = _ANSI.sub("", "\n".join(exc.traceback or []))
    where = plan.notebook.path.name
    cell = _failed_cell(executed)
    if cell is not None and INJECTED in cell.metadata.get("tags", []):
        message = f"{where}: nb2prod's recorder failed: {exc.ename}: {exc.evalue}"
    else:
        number = cell.metadata.get(CELL_NUMBER) if cell is not None else None
        read = plan.notebook.cells[number - 1] if isinstance(number, int) else None
        place = f"cell {number}" + (f" [id {read.id}]" if read and read.id else "")
        message = f"{where}: {place}: the notebook raised {exc.ename}: {exc.evalue}"
    kept = _keep(executed)
    copy = f"the executed copy is {kept}; " if kept else ""
    hint = f"\n  hint: {copy}--debug shows the kernel's traceback"
    return NotebookRunError(message + hint, traceback)


def _keep(executed: Path) -> Path | None:
    """Copy the executed notebook out of the run folder, which is about to go."""
    try:
        handle, name = tempfile.mkstemp(
            prefix=f"{executed.name.removesuffix('.executed.ipynb')}.",
            suffix=".executed.ipynb",
        )
        with os.fdopen(handle, "wb") as kept:
            kept.write(executed.read_bytes())
    except OSError:
        return None
    return Path(name)


def _failed_cell(executed: Path) -> Any:
    """The cell of the executed copy whose output is an error."""
    import nbformat

    try:
        notebook = nbformat.read(str(executed), as_version=4)  # type: ignore[no-untyped-call]
    except (OSError, ValueError):
        return None
    for cell in notebook.cells:
        outputs = cell.get("outputs", [])
        if any(output.get("output_type") == "error" for output in outputs):
            return cell
    return None


def _recording(folder: Path, executed: Path, seconds: float) -> Recording:
    summary = json.loads((folder / "recording.json").read_text("utf-8"))
    return Recording(
        folder=folder,
        executed=executed,
        calls={str(k): int(v) for k, v in summary["calls"].items()},
        stored={str(k): int(v) for k, v in summary["stored"].items()},
        warnings=tuple(summary["warnings"]),
        libraries={str(k): str(v) for k, v in summary["libraries"].items()},
        seconds=seconds,
        signatures=summary.get("signatures", {}),
        contract=summary.get("contract", {}),
        artifacts=summary.get("artifacts", {}),
        learned=summary.get("learned", {}),
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


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
