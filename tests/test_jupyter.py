"""The JupyterLab save hook, through a real jupyter_server FileContentsManager.save."""

from __future__ import annotations

import logging
import time
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


def test_untagged_notebooks_cost_almost_nothing(
    contents: FileContentsManager, tmp_path: Path
) -> None:
    started = time.perf_counter()
    save(contents, "eda.ipynb", code("x = 1"))
    assert wait()
    assert time.perf_counter() - started < 1.0
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
