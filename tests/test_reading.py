"""Tests for nb2prod.notebook.read: notebook files into frozen Cell and Notebook values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from nbformat.v4 import new_output

from nb2prod.errors import NotebookError
from nb2prod.notebook.read import read_notebook
from notebooks import code, md, write


def _write_json(path: Path, raw: Any) -> Path:
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def _v45(*cells: dict[str, Any], language: str = "python") -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": language,
            },
        },
        "cells": list(cells),
    }


def _code_cell(source: Any, cell_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": cell_id,
        "cell_type": "code",
        "source": source,
        "metadata": extra.pop("metadata", {}),
        "outputs": [],
        "execution_count": extra.pop("execution_count", None),
    }


def _read_error(path: Path, **kwargs: Any) -> str:
    with pytest.raises(NotebookError) as info:
        read_notebook(path, **kwargs)
    return str(info.value)


# --- valid notebooks -------------------------------------------------------------


def _valid_notebook(tmp_path: Path) -> Path:
    return _write_json(
        tmp_path / "valid.ipynb",
        _v45(
            _code_cell(
                ["import os\r\n", "x = 1\r\n", "y = 2"],
                "first",
                metadata={"tags": ["nb2prod:feature", "hide-input"]},
                execution_count=7,
            ),
            {
                "id": "second",
                "cell_type": "markdown",
                "source": "# Title",
                "metadata": {},
            },
            {"id": "third", "cell_type": "raw", "source": "raw text", "metadata": {}},
            _code_cell("z = 3", "fourth"),
        ),
    )


def test_cells_are_numbered_from_one(tmp_path: Path) -> None:
    nb = read_notebook(_valid_notebook(tmp_path))

    assert [cell.number for cell in nb.cells] == [1, 2, 3, 4]


def test_cell_ids_come_from_the_file(tmp_path: Path) -> None:
    nb = read_notebook(_valid_notebook(tmp_path))

    assert [cell.id for cell in nb.cells] == ["first", "second", "third", "fourth"]


def test_cell_kinds_are_kept(tmp_path: Path) -> None:
    nb = read_notebook(_valid_notebook(tmp_path))

    assert [cell.kind for cell in nb.cells] == ["code", "markdown", "raw", "code"]


def test_tags_are_read_in_order(tmp_path: Path) -> None:
    nb = read_notebook(_valid_notebook(tmp_path))

    assert nb.cells[0].tags == ("nb2prod:feature", "hide-input")
    assert nb.cells[3].tags == ()


def test_source_list_is_joined_and_crlf_normalised(tmp_path: Path) -> None:
    nb = read_notebook(_valid_notebook(tmp_path))

    assert nb.cells[0].source == "import os\nx = 1\ny = 2"


def test_execution_count_is_kept(tmp_path: Path) -> None:
    nb = read_notebook(_valid_notebook(tmp_path))

    assert nb.cells[0].execution_count == 7
    assert nb.cells[3].execution_count is None


def test_path_is_the_one_given(tmp_path: Path) -> None:
    path = _valid_notebook(tmp_path)

    assert read_notebook(path).path == path


def test_notebook_written_by_helpers_reads_back(tmp_path: Path) -> None:
    path = write(tmp_path / "nb.ipynb", md("# Intro"), code("x = 1", "nb2prod:export"))

    nb = read_notebook(path)

    assert [(c.number, c.id, c.kind, c.source, c.tags) for c in nb.cells] == [
        (1, "c1", "markdown", "# Intro", ()),
        (2, "c2", "code", "x = 1", ("nb2prod:export",)),
    ]


# --- older formats ---------------------------------------------------------------


def _v40_notebook(tmp_path: Path) -> Path:
    return _write_json(
        tmp_path / "old.ipynb",
        {
            "nbformat": 4,
            "nbformat_minor": 0,
            "metadata": {},
            "cells": [
                {
                    "cell_type": "code",
                    "source": "x = 1",
                    "metadata": {"tags": ["nb2prod:export"]},
                    "outputs": [],
                    "execution_count": None,
                },
                {"cell_type": "markdown", "source": "notes", "metadata": {}},
            ],
        },
    )


def test_nbformat_4_0_cells_have_no_ids(tmp_path: Path) -> None:
    nb = read_notebook(_v40_notebook(tmp_path))

    assert [cell.id for cell in nb.cells] == [None, None]
    assert [cell.kind for cell in nb.cells] == ["code", "markdown"]
    assert nb.cells[0].tags == ("nb2prod:export",)


def test_nbformat_4_0_source_hash_is_stable_across_reads(tmp_path: Path) -> None:
    path = _v40_notebook(tmp_path)
    first = read_notebook(path).source_hash
    raw = json.loads(path.read_text())
    raw["cells"][0]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "1"}
    ]
    raw["cells"][0]["execution_count"] = 3
    with_outputs = _write_json(tmp_path / "run.ipynb", raw)
    raw["cells"][0]["source"] = "x = 2"
    edited = _write_json(tmp_path / "edited.ipynb", raw)

    # The upgrade to 4.5 must not invent random cell ids that change the hash.
    assert read_notebook(path).source_hash == first
    assert read_notebook(with_outputs).source_hash == first
    assert read_notebook(edited).source_hash != first


def test_nbformat_3_notebook_is_upgraded(tmp_path: Path) -> None:
    path = _write_json(
        tmp_path / "v3.ipynb",
        {
            "nbformat": 3,
            "nbformat_minor": 0,
            "metadata": {},
            "worksheets": [
                {
                    "cells": [
                        {
                            "cell_type": "code",
                            "input": "x = 1",
                            "language": "python",
                            "outputs": [],
                            "metadata": {},
                        }
                    ]
                }
            ],
        },
    )

    nb = read_notebook(path)

    assert len(nb.cells) == 1
    cell = nb.cells[0]
    assert (cell.number, cell.id, cell.kind, cell.source, cell.tags) == (
        1,
        None,
        "code",
        "x = 1",
        (),
    )


# --- files that are not Python notebooks -----------------------------------------


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text('{"nbformat": 4,\n "cells": [}', encoding="utf-8")

    message = _read_error(path)

    assert "broken.ipynb" in message
    assert "not valid JSON" in message
    assert "line 2" in message


@pytest.mark.parametrize("text", ["[1, 2]", '{"a": 1}'])
def test_json_that_is_not_a_notebook_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "data.ipynb"
    path.write_text(text, encoding="utf-8")

    message = _read_error(path)

    assert "data.ipynb" in message
    assert "not a Jupyter notebook" in message


def test_r_kernel_notebook_is_refused(tmp_path: Path) -> None:
    path = _write_json(
        tmp_path / "r.ipynb", _v45(_code_cell("x <- 1", "a"), language="R")
    )

    message = _read_error(path)

    assert "R notebook" in message


def test_r_kernel_notebook_written_by_helpers_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "r.ipynb", code("x <- 1"), language="R")

    assert "R notebook" in _read_error(path)


def test_notebook_without_cells_is_refused(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "empty.ipynb", _v45())

    assert "no cells" in _read_error(path)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    message = _read_error(tmp_path / "absent.ipynb")

    assert "absent.ipynb" in message
    assert "no such file" in message


def test_file_over_max_bytes_is_refused(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "big.ipynb", _v45(_code_cell("x" * 2**20, "a")))

    message = _read_error(path, max_bytes=2**20)

    assert "big.ipynb" in message
    assert "1.0 MiB limit" in message


def test_file_at_max_bytes_is_read(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "nb.ipynb", _v45(_code_cell("x = 1", "a")))

    nb = read_notebook(path, max_bytes=path.stat().st_size)

    assert nb.cells[0].source == "x = 1"


def test_size_error_shows_a_small_limit_truthfully(tmp_path: Path) -> None:
    path = _write_json(tmp_path / "nb.ipynb", _v45(_code_cell("x = 1", "a")))

    message = _read_error(path, max_bytes=100)

    assert "0 MiB" not in message


# --- source_hash -----------------------------------------------------------------


def _hash_of(tmp_path: Path, *cells: Any) -> str:
    return read_notebook(write(tmp_path / "nb.ipynb", *cells)).source_hash


def test_source_hash_ignores_outputs_and_execution_counts(tmp_path: Path) -> None:
    plain = _hash_of(tmp_path, code("print(1)", "nb2prod:export"))
    executed = code("print(1)", "nb2prod:export")
    executed.execution_count = 12
    executed.outputs = [new_output("stream", name="stdout", text="1\n")]

    assert _hash_of(tmp_path, executed) == plain


def test_source_hash_changes_with_a_tag(tmp_path: Path) -> None:
    before = _hash_of(tmp_path, code("x = 1", "nb2prod:export"))
    after = _hash_of(tmp_path, code("x = 1", "nb2prod:feature"))

    assert before != after


def test_source_hash_changes_with_a_source(tmp_path: Path) -> None:
    before = _hash_of(tmp_path, code("x = 1", "nb2prod:export"))
    after = _hash_of(tmp_path, code("x = 2", "nb2prod:export"))

    assert before != after
