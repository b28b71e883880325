"""The JupyterLab save hook, through a real jupyter_server FileContentsManager.save."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.services.contents.filemanager import FileContentsManager

from nb2prod.jupyter import post_save_hook, wait
from notebooks import code, notebook


@pytest.fixture
def contents(tmp_path: Path) -> FileContentsManager:
    manager = FileContentsManager(root_dir=str(tmp_path))
    manager.post_save_hook = post_save_hook
    manager.log = logging.getLogger("test.jupyter")
    return manager


def save(manager: FileContentsManager, path: str, *cells: Any) -> None:
    manager.save(
        {"type": "notebook", "format": "json", "content": notebook(*cells)}, path
    )


def test_saving_a_tagged_notebook_regenerates_its_package(
    contents: FileContentsManager, tmp_path: Path
) -> None:
    save(
        contents,
        "scores.ipynb",
        code("def score(x: int) -> int:\n    return x + 1", "nb2prod:feature"),
    )
    assert wait()
    features = tmp_path / "scores/src/scores/features.py"
    assert "return x + 1" in features.read_text()
    save(
        contents,
        "scores.ipynb",
        code("def score(x: int) -> int:\n    return x + 2", "nb2prod:feature"),
    )
    assert wait()
    assert "return x + 2" in features.read_text()


#: Opens of ``.ipynb`` files for reading: (path, thread), while a test listens.
_READS: list[tuple[str, int]] | None = None


def _listen(event: str, args: tuple[Any, ...]) -> None:
    if _READS is None or event != "open" or not str(args[0]).endswith(".ipynb"):
        return
    if isinstance(args[1], str) and "r" in args[1]:
        _READS.append((str(args[0]), threading.get_ident()))


def test_untagged_notebooks_cost_one_read_and_no_regeneration(
    contents: FileContentsManager, tmp_path: Path
) -> None:
    # Not a wall-clock bound (flaky on a loaded runner): who reads the file.
    global _READS
    sys.addaudithook(_listen)  # audit hooks cannot be removed; _READS gates it
    _READS = []
    try:
        save(contents, "eda.ipynb", code("x = 1"))
        assert wait()
        reads = list(_READS)
    finally:
        _READS = None
    notebook_reads = [r for r in reads if r[0].endswith("/eda.ipynb")]
    # Jupyter reads it once for the checkpoint, the hook once; no worker thread does.
    assert len(notebook_reads) == 2
    assert {thread for _, thread in notebook_reads} == {threading.get_ident()}
    assert sorted(
        p.name for p in tmp_path.iterdir() if p.name != ".ipynb_checkpoints"
    ) == ["eda.ipynb"]


def test_a_bad_notebook_is_logged_with_its_cell_and_line_and_still_saves(
    contents: FileContentsManager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="test.jupyter"):
        save(
            contents,
            "broken.ipynb",
            code("def f():\n    return missing", "nb2prod:feature"),
        )
        assert wait()
    assert (tmp_path / "broken.ipynb").is_file()
    assert not (tmp_path / "broken").exists()
    assert (
        "broken.ipynb: cell 1 [id c1], line 2, col 12: error: name 'missing'"
        in caplog.text
    )
