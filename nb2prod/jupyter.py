"""Keep the package in sync when JupyterLab saves a tagged notebook.

In ``jupyter_server_config.py``::

    from nb2prod.jupyter import post_save_hook
    c.FileContentsManager.post_save_hook = post_save_hook

Saving is never slowed or broken: a notebook without nb2prod tags costs one read
of its file, regeneration (static, no kernel) runs on a background thread, and a
problem is logged with its cell and line, never raised.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path
from typing import Any

from nb2prod.errors import Nb2ProdError, UntaggedNotebookError
from nb2prod.output.writing import Fate
from nb2prod.pipeline import convert_static
from nb2prod.settings import job_for

_pending: queue.Queue[tuple[Path, logging.Logger | logging.LoggerAdapter[Any]]] = (
    queue.Queue()
)
_lock = threading.Lock()
_worker: threading.Thread | None = None


def post_save_hook(
    model: dict[str, Any], os_path: str, contents_manager: Any, **_: Any
) -> None:
    """Queue the regeneration of the package of a saved, tagged notebook."""
    log = getattr(contents_manager, "log", None) or logging.getLogger("nb2prod")
    try:
        if model.get("type") != "notebook" or not os_path.endswith(".ipynb"):
            return
        path = Path(os_path)
        if b"nb2prod" not in path.read_bytes():
            return  # no tag in either form: nothing to keep in sync
        _pending.put((path, log))
        _ensure_worker()
    except Exception as exc:  # a save hook must never break saving
        log.warning("nb2prod: %s: %s", os_path, exc)


def wait(timeout: float = 30.0) -> bool:
    """Wait until every queued regeneration is done; False on timeout (for tests)."""
    done = threading.Event()

    def drained() -> None:
        _pending.join()
        done.set()

    threading.Thread(target=drained, daemon=True).start()
    return done.wait(timeout)


def regenerate(path: Path, log: logging.Logger | logging.LoggerAdapter[Any]) -> None:
    """Regenerate one notebook's package statically, logging what happened."""
    try:
        # The same resolution as the CLI's: [tool.nb2prod] applies here too.
        generated, written = convert_static(job_for(path))
    except UntaggedNotebookError:
        return
    except Nb2ProdError as exc:
        log.warning("nb2prod: %s", exc)
        return
    except Exception as exc:  # a bug in nb2prod must not reach the server
        log.error(
            "nb2prod: internal error on %s: %s: %s", path, type(exc).__name__, exc
        )
        return
    for diagnostic in generated.warnings:
        log.warning("nb2prod: %s", diagnostic)
    changed = [c.path for c in written.changes if c.fate is not Fate.UNCHANGED]
    if changed:
        log.info("nb2prod: %s: %s", written.folder, ", ".join(changed))


def _ensure_worker() -> None:
    global _worker
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(
                target=_work, name="nb2prod-save-hook", daemon=True
            )
            _worker.start()


def _work() -> None:
    while True:
        path, log = _pending.get()
        try:
            if not _superseded(path):
                regenerate(path, log)
        finally:
            _pending.task_done()


def _superseded(path: Path) -> bool:
    """True when a later save of the same notebook is already queued."""
    with _pending.mutex:
        return any(queued == path for queued, _ in _pending.queue)
